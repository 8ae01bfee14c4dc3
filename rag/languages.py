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
        "date": r"^\W*when\b|\bwhen (?:was|were|is|did|does|will|do|are)\b|\b(?:what|which) (?:date|day|year|month)\b|\bdeadline\b|\bsince when\b",
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
        "money": r"价格|多少钱|费用|租金(?!补贴|补助|减免|优惠)|成本|工资|薪资|注册资本|电价|地价|生产总值|GDP|产值|营业额|多少元|多少万",
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
        "money": r"가격|비용|임대료(?! ?보조| ?지원| ?감면)|임차료|요금|임금|급여|자본금|전기료|땅값|지가|GDP|총생산|매출",
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
    rows = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]
    header, body = rows[0], rows[1:]
    langs = header[1:]
    terms = []
    for row in body:
        forms = {lang: tuple(v.strip() for v in cell.split(" ; ") if v.strip()) for lang, cell in zip(langs, row[1:])}
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
