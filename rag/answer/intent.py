"""Intent: what a question asks for, and whether a verified answer sentence gives it.

A true sentence is not an answer unless it answers what was asked. Run after the grounding
check (``rag.answer.grounding``) on every kept sentence, with deterministic rules (cues per language in
``rag.answer.languages``):

* ``analyse(question)`` reads the question's *shape* (``yesno``: may the answer open with Yes or
  No?), what it *wants* (``figure`` with the kinds of figure, ``who``, ``where``, or nothing in
  particular) and its *focus* (its content words, stemmed; Chinese/Korean as character bigrams;
  zone names and investor filler left out, since every passage is about a zone);
* ``delivers(intent, sentence, cited)``: a sentence delivers a figure question only when it
  states a figure of the kind asked for (a percentage for a rate, an amount of money for a price,
  a phone number for a phone number, ...) that appears in the passages it cites; a who-question
  needs a person or organisation named there, a where-question a place;
* ``addresses(intent, sentence, evidence)``: the sentence, or the passage sentence supporting it,
  contains one of the question's focus terms;
* ``reshape(sentence, intent)``: a bare "Yes,"/"No," opening a sentence is dropped when the
  question was not a yes/no question.
The pipeline (``rag.answer.verify``) drops sentences that miss the focus and abstains when no kept
sentence delivers what a figure, who or where question asks for, whatever the model wrote.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from ..glossary import terms_in
from ..text import MONTH_NAMES, detect_language, keyword_tokens, split_sentences
from .grounding import CITATION, claims, iso_dates, normalise, supports
from .languages import ENGLISH, LANGUAGES, Language, language

# kinds of figure a question can ask for; "count" and "amount" are weak (any plain number or
# amount) and give way to a specific kind asked in the same question
FIGURE_KINDS = ("percent", "money", "phone", "email", "url", "date", "area", "duration", "count", "amount", "address")
# what answers a question asking for a contact: a way to reach someone, not a name
CONTACT_KINDS = ("phone", "email", "url", "address")
_WEAK = {"count", "amount"}


@dataclass(frozen=True)
class Intent:
    lang: str = "en"
    yesno: bool = False  # a yes/no question: the answer may open with Yes or No
    wants: str = ""  # "figure", "contact", "who", "where" or "" (nothing in particular)
    figures: tuple[str, ...] = ()  # with wants == "figure": the kinds asked for (any one delivers)
    focus: frozenset[str] = field(default_factory=frozenset)  # terms an answer sentence must address
    names: tuple[str, ...] = ()  # names the question itself states (not an answer to "who")
    lists: bool = False  # asks for a list ("which fields ..."): every item the passage gives

    @property
    def wants_label(self) -> str:
        """What the question wants, in words (for logs and the removed-sentence reasons)."""
        if self.wants == "figure":
            return "figure of the kind asked for (" + " or ".join(self.figures) + ")"
        labels = {
            "who": "person or organisation",
            "where": "place",
            "contact": "contact (phone, e-mail, website, address)",
        }
        return labels.get(self.wants, "answer")

    def to_json(self) -> dict:
        return {
            "yesno": self.yesno,
            "wants": self.wants,
            "figures": list(self.figures),
            "focus": sorted(self.focus),
            "lists": self.lists,
        }


# --- the question ------------------------------------------------------------------------------

# words that name no focus (rag.answer.languages): every passage is about a zone, and investors
# describe themselves; Chinese and Korean ones are cut from the text before it is split into
# character bigrams, longest first
_GENERIC = frozenset(ENGLISH.no_focus)
_GENERIC_CJK = sorted(
    (w for lang in LANGUAGES.values() if lang.code != "en" for w in lang.no_focus), key=len, reverse=True
)


def analyse(question: str, standalone: str = "", readings: tuple[str, ...] = (), lang: str | None = None) -> Intent:
    """The shape, wanted content and focus of ``question`` (``standalone``: its English rewrite,
    which adds focus terms the English documents can contain; ``readings``: the query translated
    into the language of other documents, which adds focus terms those can contain; ``lang``: the
    question's language, when the caller has detected it)."""
    lang = lang or detect_language(question)
    table = language(lang)
    asked = _asked_part(question, lang)
    low = asked.lower()
    figures = [kind for kind, cue in table.figures.items() if re.search(cue, low, re.I)]
    if any(k not in _WEAK for k in figures):
        figures = [k for k in figures if k not in _WEAK]
    elif "count" in figures:  # "how many ..." is more specific than "how much"
        figures = ["count"]
    kinds_of = re.search(table.kinds_of, low)
    if figures:
        wants = "figure"
    elif re.search(table.contact, low, re.I):  # "who should I contact" wants a phone or an address, not a name
        wants = "contact"
    elif kinds_of:  # "what kinds of companies ..." asks for kinds, not for names
        wants = ""
    elif re.search(table.who, low, re.I):
        wants = "who"
    elif re.search(table.where, low, re.I):
        wants = "where"
    else:
        wants = ""
    return Intent(
        lang=lang,
        yesno=_is_yesno(asked, table),
        wants=wants,
        figures=tuple(figures),
        focus=frozenset(focus_terms(question, lang).union(focus_terms(standalone), *map(focus_terms, readings))),
        names=tuple(c for c in claims(f"{question} {standalone}") if _is_name_claim(c)),
        lists=not figures and re.search(table.list_cue, low, re.I) is not None,
    )


def _asked_part(question: str, lang: str) -> str:
    """The sentence that asks ("We make IGBT modules. Does the zone want them?" -> the second)."""
    spans = [s.text for s in split_sentences(question.strip())] or [question]
    asking = [s for s in spans if s.rstrip().endswith(("?", "？"))]
    return (asking[-1] if asking else spans[-1]).strip()


def _is_yesno(asked: str, table: Language) -> bool:
    if table.code == "en":
        return re.search(table.yesno, asked, re.I) is not None and re.search(table.wh, asked, re.I) is None
    return re.search(table.wh, asked) is None and re.search(table.yesno, asked) is not None


def focus_terms(text: str, lang: str | None = None) -> set[str]:
    """Content words of a question: stemmed English words and Chinese/Korean character bigrams,
    without zone names, question words and investor filler; a Chinese or Korean glossary term
    also counts by its English name (新药 -> "new drugs"). ``lang``: the text's, if known."""
    lang = lang or detect_language(text)
    english = []
    for term in terms_in(text, lang):  # zone names are no focus; a policy term counts in English too
        if lang == "en":
            continue
        if term.kind == "zone":
            for form in term.forms.get(lang, ()):
                text = text.replace(form, " ")
        else:
            english.append(term.preferred("en"))
    text = " ".join([text, *english])
    for word in _GENERIC_CJK:
        text = text.replace(word, " ")
    out: set[str] = set()
    for token in keyword_tokens(text):
        token = re.sub(r"'s$", "", token)
        if token.isascii():
            if token in _GENERIC or token.isdigit() or len(token) < 2:
                continue
            out.add(_stem(token))
        elif len(token) == 2:
            out.add(token)
    return out


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer  # PyStemmer: the Snowball stemmers

    return Stemmer.Stemmer("english")


def _stem(word: str) -> str:
    return _stemmer().stemWord(word.lower())


def _term_matches(term: str, words: set[str], text: str) -> bool:
    if not term.isascii():
        return term in text  # a Chinese/Korean bigram
    if term in words:
        return True
    # compounds and derived forms: "health" addresses "healthcare", "agenc" addresses "agencies"
    return len(term) >= 5 and any(w.startswith(term) or (len(w) >= 5 and term.startswith(w)) for w in words)


def addresses(intent: Intent, sentence: str, evidence: str = "") -> bool:
    """Whether the sentence, or the passage sentence it rests on (``evidence``), contains one of
    the question's focus terms. A question with no focus terms ("What does the zone offer?")
    is addressed by any supported sentence."""
    if not intent.focus:
        return True
    for text in (sentence, evidence):
        if not text:
            continue
        low = CITATION.sub("", text).lower()
        words = {_stem(t) for t in keyword_tokens(low) if t.isascii()}
        if any(_term_matches(term, words, low) for term in intent.focus):
            return True
    return False


def focus_share(intent: Intent, text: str) -> float:
    """Share of the question's focus terms that ``text`` contains, counting only the terms written
    in its script (an English passage cannot hold a Chinese bigram); 0 when there are none."""
    low = CITATION.sub("", text).lower()
    ascii_text = detect_language(low) == "en"
    terms = [t for t in intent.focus if t.isascii() == ascii_text]
    if not terms:
        return 0.0
    words = {_stem(t) for t in keyword_tokens(low) if t.isascii()}
    return sum(_term_matches(t, words, low) for t in terms) / len(terms)


# --- the answer --------------------------------------------------------------------------------

_NUM = r"\d+(?:[.,]\d+)*"
_CN_NUM = r"[零〇一二两三四五六七八九十百千万亿]+"
_EN_NUM = (
    r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty|"
    r"hundred|thousand|million|billion|dozen)"
)
_FIGURES: dict[str, re.Pattern] = {
    "percent": re.compile(rf"{_NUM}\s*(?:%|％|percent\b|per cent\b|퍼센트)|百分之{_CN_NUM}", re.I),
    "money": re.compile(
        rf"[$¥￥€£₩]\s*{_NUM}"
        rf"|{_NUM}(?:\s*(?:thousand|million|billion|k|m|bn))?"
        r"\s*(?:yuan|rmb|cny|usd|us dollars?|dollars?|won|krw|euros?)\b"
        rf"|\b(?:rmb|cny|usd|krw|us\$)\s*{_NUM}"
        rf"|(?:{_NUM}|{_CN_NUM})\s*(?:万|亿)?\s*(?:元|美元|韩元|人民币)"
        rf"|{_NUM}\s*(?:만|억)?\s*(?:원|위안|달러)",
        re.I,
    ),
    "phone": re.compile(r"(?<![\d-])(?:\+?\d{1,3}[\s-]?)?(?:\(?0?\d{2,4}\)?[\s-]?)?\d{3,4}[\s-]?\d{4}(?![\d-])"),
    "email": re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"),
    "url": re.compile(r"https?://\S+|\bwww\.\S+", re.I),
    # a street address: "No. 1888 Renmin Street", "3188 Boxue Road"; 人民大街1888号; 보학로 123
    "address": re.compile(
        r"\b(?:No\.\s*)?\d+[A-Za-z-]*,?\s+(?:[A-Z][\w'-]*\s+){0,4}(?:Road|Street|Avenue|Boulevard|Lane|Rd|St|Ave)\b"
        r"|[\u4e00-\u9fff]{1,12}(?:路|街|大道|大街)\s*\d+\s*号|[\uac00-\ud7af]{1,10}(?:로|길)\s*\d+",
    ),
    "date": re.compile(
        r"\b\d{4}-\d{2}-\d{2}\b|\b(?:19|20)\d{2}\b"
        rf"|\b(?:{MONTH_NAMES})\s+\d{{1,2}}(?:st|nd|rd|th)?\b"
        rf"|\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:{MONTH_NAMES})\b"
        rf"|(?:\d{{1,2}}|{_CN_NUM})\s*月\s*(?:\d{{1,2}}|{_CN_NUM})\s*[日号]|\d{{4}}\s*年|\d{{1,2}}\s*월\s*\d{{1,2}}\s*일|\d{{4}}\s*년",
        re.I,
    ),
    "area": re.compile(
        rf"(?:{_NUM}|{_CN_NUM})\s*(?:square\s+(?:metres?|meters?|kilometres?|kilometers?|km|miles?)\b|sq\.?\s*(?:m|km|ft)\b"
        r"|m2\b|m²|km2\b|km²|㎡|㎢|hectares?\b|ha\b|acres?\b|mu\b|平方米|平方公里|平方千米|公顷|亩|제곱미터|제곱킬로미터|헥타르|평\b)",
        re.I,
    ),
    "duration": re.compile(
        rf"(?:{_NUM}|{_EN_NUM})[\s-]*(?:working\s+|business\s+|calendar\s+)?(?:days?|weeks?|months?|years?|hours?)\b"
        rf"|(?<!\d)(?:\d{{1,3}}|{_CN_NUM})\s*(?:个)?(?:工作)?(?:天|日|周|个月|年内|年|小时)|(?<!\d)\d{{1,3}}\s*(?:일|주|개월|년|시간)",
        re.I,
    ),
}


def figures_in(sentence: str) -> dict[str, list[str]]:
    """The figures a sentence states, by kind (``count`` and ``amount`` included)."""
    body = iso_dates(CITATION.sub("", sentence))
    found = {kind: [m.group().strip() for m in pattern.finditer(body)] for kind, pattern in _FIGURES.items()}
    # a count is a number that is no date, year, name part ("5G") or phone number
    rest = body
    for kind in ("date", "phone", "email", "url", "address"):
        for text in found[kind]:
            rest = rest.replace(text, " ")
    counts = [m.group() for m in re.finditer(rf"(?<![A-Za-z0-9_.]){_NUM}(?![A-Za-z0-9_.%-]|\.\d)", rest)]
    counts += [m.group() for m in re.finditer(rf"\b{_EN_NUM}\b(?! of\b)", rest, re.I)]
    counts += [m.group() for m in re.finditer(rf"{_CN_NUM}\s*(?:家|个|名|所|项|座|개|곳|명)", rest)]
    found["count"] = counts
    found["amount"] = found["money"] + found["percent"] + found["area"] + found["duration"] + counts
    return {kind: values for kind, values in found.items() if values}


def _figure_supported(figure: str, cited: str) -> bool:
    """A stated figure is found in the cited passages: its numbers (any formatting, dates in
    any spelling), or the figure itself when it has no digits (五十万元, "two years")."""
    numbers = [c for c in claims(figure) if not _is_name_claim(c)]
    if numbers:
        return all(supports(cited, n) for n in numbers)
    return normalise(figure) in normalise(cited)


# an answer sentence names an organisation or a place (rag.answer.languages): Latin-script names are
# matched one by one, a Chinese or Korean sentence as a whole
_ORG_WORDS = re.compile(ENGLISH.org_words, re.I)
_PLACE_WORDS = re.compile(ENGLISH.place_words, re.I)
_CJK_WHO = re.compile("|".join(lang.org_words for lang in LANGUAGES.values() if lang.code != "en"))
_CJK_WHERE = re.compile("|".join(lang.place_words for lang in LANGUAGES.values() if lang.code != "en"))


def _is_name_claim(claim: str) -> bool:
    return any(c.isalpha() for c in claim) and not re.fullmatch(r"[\d.%-]+", claim)


def delivers(intent: Intent, sentence: str, cited: str, lang: str | None = None) -> bool:
    """Whether ``sentence`` (already grounded) states what the question wants, found in the
    passages it cites (``cited``). A question that wants nothing in particular is delivered by
    any sentence. ``lang``: the sentence's language, if known."""
    if not intent.wants:
        return True
    body = CITATION.sub("", sentence)
    if intent.wants in ("figure", "contact"):
        stated = figures_in(body)
        kinds = intent.figures if intent.wants == "figure" else CONTACT_KINDS
        return any(_figure_supported(f, cited) for kind in kinds for f in stated.get(kind, []))
    asked = {n.lower() for n in intent.names}
    names = [
        n
        for n in claims(body)
        if _is_name_claim(n) and n not in asked and not any(n in a for a in asked) and supports(cited, n)
    ]
    if intent.wants == "who":
        people = [n for n in names if _ORG_WORDS.search(n) or len(n.split()) >= 2]
        if people:
            return True
    else:  # where
        if any(_PLACE_WORDS.search(n) for n in names):
            return True
    if (lang or detect_language(body)) != "en":  # a Chinese or Korean sentence names people and places in its script
        return (_CJK_WHO if intent.wants == "who" else _CJK_WHERE).search(body) is not None
    return False


# --- the shape -----------------------------------------------------------------------------------


def opens_with_yes_no(text: str, lang: str | None = None) -> bool:
    """Whether an answer opens with a bare Yes or No (in its own language)."""
    text = CITATION.sub("", text or "").strip()
    table = language(lang or detect_language(text))
    return bool(table.yes_no_opening) and re.match(table.yes_no_opening, text, re.I) is not None


def reshape(sentence: str, intent: Intent, lang: str | None = None) -> str:
    """The sentence as an answer about the zone, in the shape of the question: without what it
    says about the passage ("According to the passage, ...", "The passage states that ...": an
    investor never saw a passage), and without a leading "Yes,"/"No," when the question was not a
    yes/no question (the rest kept as written, capitalised). ``lang``: the sentence's language."""
    table = language(lang or detect_language(sentence))
    m = re.match(table.yes_no_opening, sentence, re.I) if table.yes_no_opening else None
    opening, rest = (sentence[: m.end()], sentence[m.end() :].lstrip()) if m else ("", sentence)
    lead = re.match(table.meta_lead, rest, re.I) if table.meta_lead else None
    if lead and lead.end() < len(rest):
        rest = _unquoted(rest[lead.end() :])
        rest = rest if opening and intent.yesno else rest[:1].upper() + rest[1:]
    if intent.yesno and opening:
        return f"{opening.rstrip()} {rest}" if rest else opening.rstrip()
    return rest[:1].upper() + rest[1:] if rest else ""


def about_the_passage(sentence: str, lang: str | None = None) -> bool:
    """Whether the sentence still talks about "the passage" rather than the zone."""
    table = language(lang or detect_language(sentence))
    return bool(table.meta) and re.search(table.meta, CITATION.sub("", sentence), re.I) is not None


_QUOTED = re.compile(r'^["“”\'‘’「『](.+?)["“”\'‘’」』]((?:\s*\[\d+(?:\s*[,，、]\s*\d+)*\])*\s*[.。!?！？]?)$')


def _unquoted(text: str) -> str:
    """A sentence that is one quotation ("\"Focus on ...\" [1].") as the words quoted."""
    m = _QUOTED.match(text.strip())
    return f"{m.group(1).rstrip()}{m.group(2)}" if m else text
