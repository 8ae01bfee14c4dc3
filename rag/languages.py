"""Languages: every per-language table of the assistant, in one place.

The documents are English (Chinese ones will follow); investors ask in English, Chinese or
Korean. Everything that differs by the investor's language lives here, one ``Language`` entry
per language, so adding a language is one entry here (plus its test):
  * how the prompt names the language, and the prompt's last line written in it (a small model
    told "answer in Korean" in English tends to answer in English);
  * the default abstention message;
  * the question cues ``rag.intent`` reads: what makes a question yes/no, who, where, or a
    request for a figure (a rate, a price, a date ...);
  * openings that are a bare "yes" or "no".
``GLOSSARY`` (read from ``rag/data/glossary.tsv``, which staff can edit) holds zone names,
organisations and policy terms in each language; the question rewrite, the relevance check and
the translation check use it.
``UI_LABELS`` and ``CHAT_TEXTS`` are the web page's labels and the texts inside chat messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Language:
    code: str
    name: str  # as the prompt names it
    answer_in: str  # the prompt's last line, in the language itself
    abstain: str  # the default abstention message
    # question cues (regular expressions, matched case-insensitively on the question)
    wh: str  # any question word: a question holding one is not a plain yes/no question
    yesno: str  # a yes/no question (checked only when ``wh`` does not match)
    who: str  # asks for a person or an organisation
    where: str  # asks for a place
    figures: dict[str, str] = field(default_factory=dict)  # figure kind -> cue (see rag.intent.FIGURE_KINDS)
    yes_no_opening: str = ""  # an answer opening with a bare yes or no ("Yes," "是的，" "네,")
    untranslated: str = ""  # shown after a sentence left in the documents' language (its translation failed the check)
    # a sentence saying the documents do not answer: the answer check cuts it (rag.grounding)
    refusal: str = ""
    # the evaluation's own, broader reading of an answer's first sentence as a refusal (eval.metrics);
    # kept apart from ``refusal`` so the judge does not share the pipeline's blind spots
    refusal_eval: tuple[str, ...] = ()


_ORG_EN = (
    r"company|companies|organi[sz]ations?|agenc(?:y|ies)|departments?|bureaus?|offices?|institutions?|"
    r"universit(?:y|ies)|firms?|enterprises?|persons?|people|officials?|bod(?:y|ies)|authorit(?:y|ies)|"
    r"ministr(?:y|ies)|commissions?|committees?|leaders?|director|head|chamber"
)
# "which zones ..." asks for named zones; "what industrial parks ..." asks for kinds of parks (no place cue)
_PLACE_EN = r"zones?|districts?|cit(?:y|ies)|provinces?|countr(?:y|ies)|regions?|locations?|places?|address"

ENGLISH = Language(
    code="en",
    name="English",
    answer_in="Answer (in English, citing passages like [1]):",
    abstain="The documents I have do not answer this question.",
    untranslated="(shown in the documents' language: its translation did not pass the check)",
    refusal=(
        r"do(?:es)? not (?:say|mention|contain|provide|specify|include|state)|no information"
        r"|not (?:mentioned|specified|provided|stated)|cannot (?:find|answer)|not in the (?:passages|documents)"
    ),
    refusal_eval=(
        r"\bdo(?:es)? not (?:answer|say|mention|contain|cover|provide|include|specify|state)",
        r"\b(?:no|not any) (?:information|details?|mention)\b",
        r"\bnot (?:mentioned|specified|stated|covered|provided|available|found)\b",
        r"\b(?:cannot|can't|can not|unable to) (?:answer|find|tell|help|provide)",
        r"\bi (?:do not|don't) know\b",
    ),
    wh=r"^\W*(?:what|which|who|whom|whose|where|when|why|how|tell me|describe|list|name|explain)\b",
    yesno=r"^\W*(?:is|are|was|were|do|does|did|can|could|will|would|should|shall|may|might|has|have|had|must)\b",
    who=rf"\bwho(?:m|se)?\b|\bwhich (?:[\w&'-]+ ){{0,3}}(?:{_ORG_EN})\b|\bwhat (?:{_ORG_EN})\b",
    where=rf"\bwhere\b|\bwhich (?:[\w&'-]+ ){{0,3}}(?:{_PLACE_EN})\b|\bwhat (?:{_PLACE_EN})\b|\bin which\b",
    figures={
        "percent": r"\b(?:rates?|percentages?|percent|per cent|proportion|ratio)\b|%",
        "money": (
            r"\b(?:prices?|costs?|fees?|charges?|salar(?:y|ies)|wages?|tariffs?|gdp|revenue|turnover|output value"
            r"|registered capital|minimum capital|yuan|rmb|usd|dollars?)\b"
            r"|\b(?:rents? (?:for|per|is|of)|the rent|monthly rent|rental (?:price|cost|rate|fee)s?)\b"
            r"|how much .*\b(?:cost|pay|spend|charge|rent)"
        ),
        "phone": r"\b(?:phone|telephone|hotline|fax|mobile number|contact number)\b",
        "email": r"\be-?mail\b",
        "url": r"\b(?:website|web site|url|web address|homepage)\b",
        "date": (
            r"^\W*when\b|\bwhen (?:was|were|is|did|does|will|do|are)\b|\b(?:what|which) (?:date|day|year|month)\b"
            r"|\bdeadline\b|\bsince when\b"
        ),
        "area": (
            r"(?<!per )\b(?:square (?:metres?|meters?|kilometres?|kilometers?)|hectares?|acres?|sq\.? ?km|km2|km²)\b"
            r"|\bhow (?:big|large)\b|\b(?:total |land |floor )?area of\b|\bsize of\b"
        ),
        "duration": (
            r"\bhow long\b|\bhow many (?:working |business )?(?:days|weeks|months|years|hours)\b|\bhow soon\b"
            r"|\b(?:length|duration|period) of\b|\btime (?:limit|frame)\b"
        ),
        "count": r"\bhow many\b|(?<!phone )(?<!telephone )(?<!contact )\bnumber of\b",
        "amount": r"\bhow much\b",
    },
    yes_no_opening=r"^\W*(?:yes|no)\b[\s,.!:;—-]*",
)

CHINESE = Language(
    code="zh",
    name="Chinese (简体中文)",
    answer_in="请用简体中文回答，每句话后用 [1] 这样的编号注明出处：",
    abstain="现有文件没有回答这个问题。",
    wh=r"什么|哪|谁|几|多少|怎么|怎样|如何|为什么|为何|何时|何地|啥",
    yesno=r"吗\W*$|是否|能否|可否|有没有|是不是|会不会|能不能|可不可以|有无|允许.*吗",
    who=r"谁|哪位|何人|哪(?:个|家|所)?(?:部门|机构|单位|公司|企业|大学|组织|领导|官员)",
    where=r"哪里|哪儿|在哪|哪(?:个|一)?(?:区|开发区|园区|城市|省|国家|地方|个国家)|位于|地址|地点",
    figures={
        "percent": r"税率|比例|百分之|利率|费率|比率|占比|率是多少|率为多少",
        "money": (
            r"价格|多少钱|费用|租金(?!补贴|补助|减免|优惠)|成本|工资|薪资|注册资本|电价|地价"
            r"|生产总值|GDP|产值|营业额|多少元|多少万"
        ),
        "phone": r"电话|热线|传真",
        "email": r"邮箱|电子邮件",
        "url": r"网站|网址",
        "date": r"什么时候|何时|哪天|哪一天|哪年|哪一年|几月|几号|日期",
        "area": r"面积|多大|平方公里|平方米|公顷|占地",
        "duration": r"多长时间|多久|几天|多少天|期限|几个月|几年|多少年",
        "count": r"多少家|多少个|几家|几个|数量|多少名|多少人|多少所",
        "amount": r"多少",
    },
    yes_no_opening=r"^\W*(?:是的|是|对|不是|不|没有)[，,。！!：:\s]+",
    untranslated="（此句为文件原文语言：译文未通过核对）",
    refusal=r"未提及|没有提及|没有提供|未提供|无法回答|不包含|文件中没有",
    refusal_eval=(
        r"没有(?:提到|提及|涉及|说明|相关|包含|找到|信息|回答)|未(?:提及|提到|说明|涉及|包含)|无法(?:回答|找到|提供)|不知道",
    ),
)

KOREAN = Language(
    code="ko",
    name="Korean (한국어)",
    answer_in="한국어로 답하고, 각 문장 뒤에 [1]처럼 출처 번호를 적으십시오:",
    abstain="보유한 문서에는 이 질문에 대한 답이 없습니다.",
    wh=r"무엇|뭐|뭔|무슨|어떤|어떻게|어느|누구|누가|언제|어디|왜|얼마|몇",
    yesno=r"(?:나요|까요|니까|는지|가요|죠|어요|아요|해요|돼요|니)\W*$",  # not "...주세요" (a request)
    who=r"누구|누가|어느 (?:기관|회사|기업|대학|부서|단체|조직)|어떤 사람",
    where=r"어디|어느 (?:지역|구역|도시|나라|국가|개발구|단지|곳)|위치|주소",
    figures={
        "percent": r"세율|비율|퍼센트|이율|요율|금리",
        "money": (
            r"가격|비용|임대료(?! ?보조| ?지원| ?감면)|임차료|요금|임금|급여|자본금|전기료"
            r"|땅값|지가|GDP|총생산|매출"
        ),
        "phone": r"전화|연락처|팩스",
        "email": r"이메일|메일 주소",
        "url": r"웹사이트|홈페이지|사이트 주소",
        "date": r"언제|날짜|며칠에|몇 월|몇 년도|연도",
        "area": r"면적|크기|넓이|평방|제곱미터|제곱킬로미터|헥타르",
        "duration": r"얼마나 걸|기간|며칠|몇 일|몇 개월|몇 년 걸|얼마 동안",
        "count": r"몇 개|몇 곳|몇 명|몇 개사|개수|몇 군데",
        "amount": r"얼마",
    },
    yes_no_opening=r"^\W*(?:네|예|아니요|아니오|아뇨)[,，.!\s]+",
    untranslated="(번역이 검증을 통과하지 못해 문서 원문 언어로 표시합니다)",
    refusal=r"언급되어 있지 않|나와 있지 않|정보가 없|알 수 없",
    refusal_eval=(r"(?:없습니다|않습니다|알 수 없|찾을 수 없|언급되지|나와 있지|포함되어 있지)",),
)

LANGUAGES: dict[str, Language] = {lang.code: lang for lang in (ENGLISH, CHINESE, KOREAN)}


def language(code: str) -> Language:
    """The table for ``code``; English for a language without one."""
    return LANGUAGES.get(code, ENGLISH)


# --- the glossary: zone names and policy terms in every language ---------------------------------


@dataclass(frozen=True)
class Term:
    kind: str  # "zone" (a zone or place), "name" (an organisation) or "term" (a policy term)
    forms: dict[str, tuple[str, ...]]  # language -> spellings, the preferred one first

    def preferred(self, lang: str) -> str:
        return self.forms[lang][0]


GLOSSARY_FILE = Path(__file__).with_name("data") / "glossary.tsv"


def _read_glossary(path: Path) -> tuple[Term, ...]:
    rows = [
        line.split("\t") for line in path.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")
    ]
    header, body = rows[0], rows[1:]
    langs = header[1:]
    terms = []
    for row in body:
        cells = zip(langs, row[1:], strict=False)  # a row may leave its last languages empty
        forms = {lang: tuple(v.strip() for v in cell.split(" ; ") if v.strip()) for lang, cell in cells}
        terms.append(Term(row[0].strip(), {k: v for k, v in forms.items() if v}))
    return tuple(terms)


GLOSSARY: tuple[Term, ...] = _read_glossary(GLOSSARY_FILE)


def terms_in(text: str, lang: str) -> list[Term]:
    """Glossary terms whose ``lang`` spelling occurs in ``text``, longest spelling first, each
    occurrence counted once (a longer term hides the shorter ones inside it)."""
    found: list[Term] = []
    rest = text.lower() if lang == "en" else text
    spellings = sorted(
        ((form, term) for term in GLOSSARY for form in term.forms.get(lang, ())), key=lambda ft: -len(ft[0])
    )
    for form, term in spellings:
        key = form.lower() if lang == "en" else form
        if key and key in rest:
            if term not in found:
                found.append(term)
            rest = rest.replace(key, " ")
    return found


def to_english(text: str) -> str:
    """Chinese and Korean glossary spellings in ``text`` replaced by their English ones."""
    for lang in ("zh", "ko"):
        spellings = sorted(((f, t) for t in GLOSSARY for f in t.forms.get(lang, ())), key=lambda ft: -len(ft[0]))
        for form, term in spellings:
            if form in text and "en" in term.forms:
                text = text.replace(form, f" {term.preferred('en')} ")
    return " ".join(text.split())


# --- the web page: labels (the browser's language picks one) and texts inside chat messages ------
# (the question's language picks one); rag.webapp and rag.staff_ui show them, English is the fallback

UI_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "rag_title": "Changchun Investment Assistant",
        "rag_intro": (
            "## Changchun Investment Assistant\n"
            "Ask about investing in the **Jingyue High-tech Zone** and the **China-ROK International "
            "Cooperation Demonstration Zone**. Answers come only from the official documents the zones "
            "have published, with numbered sources. English, 中文 and 한국어 questions are welcome."
        ),
        "rag_tab_chat": "Ask",
        "rag_tab_staff": "Staff",
        "rag_chatbot": "Conversation",
        "rag_chat_placeholder": "Ask a question, or pick an example below.",
        "rag_question": "Your question",
        "rag_question_placeholder": "e.g. Which industries does the China-ROK zone support?",
        "rag_send": "Send",
        "rag_clear": "New conversation",
        "rag_examples": "Example questions",
        "rag_comment": "Comment on your rating (optional)",
        "rag_comment_placeholder": "What was wrong or useful?",
        "rag_comment_send": "Send comment",
        "rag_staff_password": "Staff password",
        "rag_documents": "Indexed documents",
        "rag_refresh": "Show documents",
        "rag_add_documents": "Add documents",
        "rag_upload_files": "Documents to add",
        "rag_doc_title": "Title",
        "rag_doc_publisher": "Publisher",
        "rag_doc_date": "Date (YYYY-MM-DD)",
        "rag_doc_url": "Original URL",
        "rag_replace": "Replace a document of the same name",
        "rag_upload": "Upload and index",
        "rag_remove_choice": "Document to remove",
        "rag_remove": "Remove and re-index",
        "rag_reindex": "Re-index now",
    },
    "zh": {
        "rag_title": "长春投资助手",
        "rag_intro": (
            "## 长春投资助手\n"
            "咨询在**净月高新技术产业开发区**和**中韩（长春）国际合作示范区**投资的问题。"
            "回答只依据各园区发布的官方文件，并附编号来源。可用中文、English 或 한국어 提问。"
        ),
        "rag_tab_chat": "提问",
        "rag_tab_staff": "工作人员",
        "rag_chatbot": "对话",
        "rag_chat_placeholder": "请输入问题，或选择下方的示例。",
        "rag_question": "您的问题",
        "rag_question_placeholder": "例如：中韩示范区支持哪些产业？",
        "rag_send": "发送",
        "rag_clear": "新对话",
        "rag_examples": "示例问题",
        "rag_comment": "评价说明（可选）",
        "rag_comment_placeholder": "哪里有误或有帮助？",
        "rag_comment_send": "提交说明",
        "rag_staff_password": "工作人员密码",
        "rag_documents": "已索引文件",
        "rag_refresh": "显示文件",
        "rag_add_documents": "添加文件",
        "rag_upload_files": "要添加的文件",
        "rag_doc_title": "标题",
        "rag_doc_publisher": "发布机构",
        "rag_doc_date": "日期（YYYY-MM-DD）",
        "rag_doc_url": "原文链接",
        "rag_replace": "替换同名文件",
        "rag_upload": "上传并索引",
        "rag_remove_choice": "要删除的文件",
        "rag_remove": "删除并重新索引",
        "rag_reindex": "立即重新索引",
    },
    "ko": {
        "rag_title": "창춘 투자 도우미",
        "rag_intro": (
            "## 창춘 투자 도우미\n"
            "**징웨 하이테크 산업개발구**와 **중한(창춘) 국제협력시범구** 투자에 대해 질문하세요. "
            "답변은 각 구역이 발표한 공식 문서만을 근거로 하며 번호가 매겨진 출처를 함께 보여 줍니다. "
            "한국어, English, 中文 질문 모두 가능합니다."
        ),
        "rag_tab_chat": "질문",
        "rag_tab_staff": "직원",
        "rag_chatbot": "대화",
        "rag_chat_placeholder": "질문을 입력하거나 아래 예시를 선택하세요.",
        "rag_question": "질문",
        "rag_question_placeholder": "예: 중한 시범구는 어떤 산업을 지원하나요?",
        "rag_send": "보내기",
        "rag_clear": "새 대화",
        "rag_examples": "예시 질문",
        "rag_comment": "평가 의견 (선택)",
        "rag_comment_placeholder": "무엇이 틀렸거나 유용했나요?",
        "rag_comment_send": "의견 보내기",
        "rag_staff_password": "직원 비밀번호",
        "rag_documents": "색인된 문서",
        "rag_refresh": "문서 보기",
        "rag_add_documents": "문서 추가",
        "rag_upload_files": "추가할 문서",
        "rag_doc_title": "제목",
        "rag_doc_publisher": "발행 기관",
        "rag_doc_date": "날짜 (YYYY-MM-DD)",
        "rag_doc_url": "원문 URL",
        "rag_replace": "같은 이름의 문서 교체",
        "rag_upload": "업로드 및 색인",
        "rag_remove_choice": "삭제할 문서",
        "rag_remove": "삭제 후 다시 색인",
        "rag_reindex": "지금 다시 색인",
    },
}

CHAT_TEXTS: dict[str, dict] = {
    "en": {
        "searching": "Searching the documents…",
        "preparing": "Preparing the documents",
        "sources": "",
        "related": "",
        "related_note": "The closest passages found; they do not answer the question.",
        "failed": "Sorry, something went wrong while answering ({error}). Please try again.",
        "unavailable": "The assistant could not start: {error}",
        "thanks_up": "Thank you for your feedback. You can add a comment below.",
        "thanks_down": "Thank you: this answer will be reviewed. You can say what was wrong below.",
        "comment_saved": "Thank you, your comment was saved.",
        "translated_note": "Machine translated; every sentence was checked for its figures, names and terms.",
        "source_answer": "The answer as written ({lang})",
        "lang_names": {"en": "English", "zh": "Chinese", "ko": "Korean"},
        # waiting for the language model (rag.serving.ModelLine), and refusals of a busy server
        "queued": "Waiting for the assistant: {ahead} ahead of you, about {seconds} s",
        "queued_no_estimate": "Waiting for the assistant: {ahead} ahead of you",
        "busy": "The assistant is busy right now. Please try again in a minute.",
        "one_at_a_time": "Please wait for the answer to your previous question, then ask this one again.",
        "too_many": "You have several questions waiting already. Please wait for their answers, then ask again.",
    },
    "zh": {
        "searching": "正在检索文件…",
        "preparing": "正在准备文件",
        "sources": " · 来源",
        "related": " · 相关阅读",
        "related_note": "以下是最接近的段落，但它们没有回答这个问题。",
        "failed": "抱歉，回答时出错（{error}），请重试。",
        "unavailable": "助手无法启动：{error}",
        "thanks_up": "感谢您的反馈。您可以在下方补充说明。",
        "thanks_down": "谢谢：这条回答将被复核。您可以在下方说明问题所在。",
        "comment_saved": "谢谢，您的说明已保存。",
        "translated_note": "机器翻译：每句的数字、名称和术语均已核对。",
        "source_answer": "查看原文答案（{lang}）",
        "lang_names": {"en": "英文", "zh": "中文", "ko": "韩文"},
        "queued": "正在排队：前面还有 {ahead} 个问题，约 {seconds} 秒",
        "queued_no_estimate": "正在排队：前面还有 {ahead} 个问题",
        "busy": "助手现在很忙，请一分钟后再试。",
        "one_at_a_time": "请等上一个问题回答完毕后，再提这个问题。",
        "too_many": "您已有多个问题在等待回答。请等它们回答完毕后再提问。",
    },
    "ko": {
        "searching": "문서를 검색하는 중…",
        "preparing": "문서를 준비하는 중",
        "sources": " · 출처",
        "related": " · 관련 자료",
        "related_note": "가장 가까운 단락이지만 질문에 대한 답은 아닙니다.",
        "failed": "죄송합니다. 답변 중 오류가 발생했습니다 ({error}). 다시 시도해 주세요.",
        "unavailable": "도우미를 시작할 수 없습니다: {error}",
        "thanks_up": "의견 감사합니다. 아래에 설명을 덧붙일 수 있습니다.",
        "thanks_down": "감사합니다. 이 답변은 검토됩니다. 아래에 무엇이 잘못되었는지 적어 주세요.",
        "comment_saved": "감사합니다. 의견이 저장되었습니다.",
        "translated_note": "기계 번역: 문장마다 숫자, 이름, 용어를 검증했습니다.",
        "source_answer": "원문 답변 보기 ({lang})",
        "lang_names": {"en": "영어", "zh": "중국어", "ko": "한국어"},
        "queued": "대기 중: 앞에 {ahead}개의 질문, 약 {seconds}초",
        "queued_no_estimate": "대기 중: 앞에 {ahead}개의 질문",
        "busy": "도우미가 지금 바쁩니다. 1분 후에 다시 시도해 주세요.",
        "one_at_a_time": "이전 질문의 답변을 기다린 후 이 질문을 다시 해 주세요.",
        "too_many": "이미 여러 질문이 답변을 기다리고 있습니다. 답변을 받은 후 다시 질문해 주세요.",
    },
}


def chat_texts(code: str) -> dict:
    """The texts inside chat messages for the question's language ``code`` (English if none)."""
    return CHAT_TEXTS.get(code, CHAT_TEXTS["en"])
