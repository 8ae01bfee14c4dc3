"""Languages: every per-language table of the assistant, in one place.

The documents are English (Chinese ones will follow); investors ask in English, Chinese or
Korean. Everything that differs by the investor's language lives here, one ``Language`` entry
per language, so adding a language is one entry here (plus its test):
  * how the prompt names the language, and the prompt's last line written in it (a small model
    told "answer in Korean" in English tends to answer in English);
  * the default abstention message;
  * the question cues ``rag.answer.intent`` reads: what makes a question yes/no, who, where, or a
    request for a figure (a rate, a price, a date ...);
  * openings that are a bare "yes" or "no".
  * the words that name no focus in a question, and the words that make an answer sentence name
    an organisation or a place (``rag.answer.intent``);
  * the notices the pipeline gives (the model unavailable, or failed on one question);
  * refusal phrases for the answer check (``rag.answer.grounding``) and for the evaluation.
The glossary of zone names and policy terms is ``rag.glossary``; the web page's own
texts are ``rag.web.texts``.
"""

from __future__ import annotations

from dataclasses import dataclass, field


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
    figures: dict[str, str] = field(default_factory=dict)  # figure kind -> cue (see rag.answer.intent.FIGURE_KINDS)
    yes_no_opening: str = ""  # an answer opening with a bare yes or no ("Yes," "是的，" "네,")
    untranslated: str = ""  # shown after a sentence left in the documents' language (its translation failed the check)
    # a sentence saying the documents do not answer: the answer check cuts it (rag.answer.grounding)
    refusal: str = ""
    # the evaluation's own, broader reading of an answer's first sentence as a refusal (eval.metrics);
    # kept apart from ``refusal`` so the judge does not share the pipeline's blind spots
    refusal_eval: tuple[str, ...] = ()
    # words that name no focus in a question (question words, particles, zone names, investor filler)
    no_focus: tuple[str, ...] = ()
    kinds_of: str = ""  # "what kinds of ..." asks for kinds, not for names
    # an answer sentence names an organisation or person (``org_words``) or a place (``place_words``):
    # English names (Latin-script claims) are matched one by one, other scripts in the whole sentence
    org_words: str = ""
    place_words: str = ""
    # notices: the language model could not be loaded, or failed on this question
    model_unavailable: str = ""
    model_failed: str = ""
    # a question asking for a contact (a phone, an e-mail, a website or an address, not just a name)
    contact: str = ""
    # a question asking for a list ("which fields ..."): the answer lists every item its passage gives
    list_cue: str = ""
    # the answer talking about the passage instead of the zone: ``meta_lead`` is cut from the start of
    # a sentence ("According to the passage, ..."), a sentence still matching ``meta`` is dropped
    meta_lead: str = ""
    meta: str = ""
    quoted: str = ""  # shown before an answer that quotes the documents (no drafted sentence survived)


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
    no_focus=tuple(
        """
        china chinese rok korea korean south changchun jilin jingyue zone zones demonstration
        international high tech high-tech development industrial national area new we our us i my me you
        your company companies business businesses firm firms enterprise enterprises investor investors
        invest investing investment want wants wanted like would need needs needed get set make makes
        made kind kinds sort sorts type types any some other others also besides apart else there here
        please tell know much many long way ways thing things one ones able allowed possible work
        working do doing done go going offer offers provide provides give gives help let say says said
        plan plans planned trying try tries mainly main especially exactly currently recently already
        china-rok when where why what which who how than be been being up about now against itself most
        per into onto over under whether either just still yet even bring brings develop
        support supports supported supporting conduct conducts conducted conducting carry carries carried
        foreign overseas abroad run runs running
        """.split()
    ),
    kinds_of=r"\b(?:what|which) (?:kinds?|sorts?|types?) of\b",
    org_words=(
        r"\b(?:office|bureau|commission|committee|department|ministry|government|university|college|institute|"
        r"cent(?:er|re)|chamber|company|co\.?|ltd\.?|group|corporation|association|agency|council|bank|hospital|"
        r"federation|administration|authority|school|academy|laborator(?:y|ies)|foundation|inc\.?)\b"
    ),
    place_words=(
        r"\b(?:zone|district|area|province|city|park|road|street|county|town|village|region|china|korea\w*|"
        r"rok|changchun|jilin|jingyue|canada\w*|japan\w*|russia\w*|america\w*|beijing|shanghai|seoul|suzhou)\b"
    ),
    model_unavailable=(
        "The language model is unavailable right now, so this answer quotes the most relevant "
        "sentences of the documents instead."
    ),
    model_failed=(
        "The language model failed on this question, so this answer quotes the most relevant "
        "sentences of the documents instead."
    ),
    contact=(
        r"\bcontact(?:s| details| information| person| number)?\b|\bget in touch\b|\breach (?:them|the|someone)\b"
        r"|\bwho (?:do|should|can) i (?:call|ask|talk to|speak to|write to)\b"
    ),
    list_cue=(
        r"\b(?:which|what)(?: \w+){0,2} (?:fields?|industries|industry|sectors?|areas|kinds|types|parks|projects"
        r"|products|drugs|resources|measures|directions|institutions|programmes|programs)\b|\blist\b"
    ),
    meta_lead=(
        r"^(?:(?:according to|as (?:stated|mentioned|described|noted) in|based on)"
        r" (?:the )?(?:(?:provided|given|above|cited) )?(?:passages?|texts?|documents?|information|context)"
        r"(?: \[\d+\])?,?\s+"
        r"|(?:the|this) (?:(?:provided|given|above|cited) )?(?:passages?|texts?|documents?)(?: \[\d+\])?"
        r" (?:clearly |also |only )?(?:states?|says|mentions?|notes?|indicates?|explains?|shows?|describes?"
        r"|suggests?|highlights?|reads?)(?: that)?[:,]?\s*)"
    ),
    meta=r"\b(?:the|this|that|above|provided|given|cited) (?:passages?|texts?)\b|\bin the passages?\b",
    quoted="Quoted from the document:",
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
    no_focus=tuple(
        """
        什么 哪些 哪个 哪里 哪儿 多少 是否 可以 能否 怎么 如何 为什么 我们 你们 公司 企业
        示范区 示范 中韩 长春 净月 高新区 高新 开发区 国际 合作 吉林 园区
        鼓励 发展 支持 推动 促进 建设 计划 提供 设立 需要 主要 开展
        """.split()
    ),
    kinds_of=r"哪些|哪类|什么样",
    org_words=r"局|办公室|委员会|部门|厅|中心|大学|学院|公司|集团|商会|政府|协会|主任|局长|处长|院长|会长|总经理|教授|博士|书记|市长",
    place_words=r"[区市省县镇路园国]",
    model_unavailable="语言模型暂时不可用，因此本回答直接引用文件中最相关的句子。",
    model_failed="语言模型未能回答这个问题，因此本回答直接引用文件中最相关的句子。",
    contact=r"联系|联络|咨询电话|对接|找谁|联系人",
    list_cue=r"哪些|哪几|有什么(?:领域|产业|行业)|什么(?:领域|产业|行业)",
    meta_lead=r"^(?:根据|据|按照)?(?:上述|所给|提供的)?(?:段落|文中|文章|材料|资料|文本|原文)(?:\s*\[\d+\])?(?:中)?(?:提到|指出|表示|说明|显示|所述|记载)?[，,：:]?\s*",
    meta=r"段落|文中|文本中|材料中",
    quoted="以下引自文件原文：",
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
    no_focus=tuple(
        """
        어떤 무엇 무슨 어느 누구 어디 언제 얼마 있나요 있습니까 하나요 인가요 나요 가요 습니까 니까
        시범구 중한 한중 창춘 징웨
        지원 회사 기업 우리 국제협력 국제 협력 추진 육성 계획 설립 제공 에서 으로
        """.split()
    ),
    kinds_of=r"어떤 종류",
    org_words=r"국장|주임|사무소|판공실|위원회|센터|대학|회사|그룹|상공회의소|정부|협회|원장|회장|사장|교수|박사|시장",
    place_words=r"구|시|성|도|로|단지|한국|중국",
    model_unavailable="지금은 언어 모델을 사용할 수 없어, 이 답변은 문서에서 가장 관련 있는 문장을 그대로 인용합니다.",
    model_failed="언어 모델이 이 질문에 답하지 못해, 이 답변은 문서에서 가장 관련 있는 문장을 그대로 인용합니다.",
    contact=r"연락|문의|담당자|연락처|누구에게",
    list_cue=(
        r"어떤 (?:\S+ )?(?:분야|산업|업종|종류|제품|자원|기관|프로젝트|사업)|무슨 (?:분야|산업)|어느 (?:분야|산업)"
    ),
    meta_lead=r"^(?:지문|본문|단락|문단|자료|제시문)(?:\s*\[\d+\])?에 (?:따르면|의하면)[,，]?\s*",
    meta=r"지문|본문|단락|문단|제시문",
    quoted="문서 원문 인용:",
)

LANGUAGES: dict[str, Language] = {lang.code: lang for lang in (ENGLISH, CHINESE, KOREAN)}


def language(code: str) -> Language:
    """The table for ``code``; English for a language without one."""
    return LANGUAGES.get(code, ENGLISH)
