"""Nothing English that a Chinese or Korean investor reads by accident (issue 18): every message
key of the page's texts, the chat's texts and the pipeline's language table exists in every
language, with the same fields to fill in, and reads in its own language."""

from __future__ import annotations

import re
import string

import pytest

from rag.answer.languages import LANGUAGES
from rag.text import detect_language
from rag.web.texts import CHAT_TEXTS, UI_LABELS

# what the pipeline itself says to an investor, per language (rag.answer.languages)
PIPELINE_MESSAGES = ("abstain", "untranslated", "model_unavailable", "model_failed", "quoted")


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _readable(text: str) -> str:
    """The text without its fields, names of other languages and Latin product names."""
    text = re.sub(r"\{[^}]*\}", " ", text)
    return re.sub(r"\b(?:English|中文|한국어|YYYY-MM-DD|URL|CSV|API)\b", " ", text)


@pytest.mark.parametrize("table", [CHAT_TEXTS, UI_LABELS], ids=["chat texts", "page labels"])
def test_every_key_in_every_language_with_the_same_fields(table):
    keys = set(table["en"])
    for lang in ("zh", "ko"):
        assert set(table[lang]) == keys, f"{lang}: missing {keys - set(table[lang])}, extra {set(table[lang]) - keys}"
        for key, english in table["en"].items():
            text = table[lang][key]
            if isinstance(english, str):
                assert text.strip() or not english.strip(), f"{lang}.{key} is empty"
                assert _fields(text) == _fields(english), f"{lang}.{key}: fields differ from English"


@pytest.mark.parametrize("table", [CHAT_TEXTS, UI_LABELS], ids=["chat texts", "page labels"])
@pytest.mark.parametrize("lang", ["zh", "ko"])
def test_chinese_and_korean_texts_read_in_their_language(table, lang):
    english = []
    for key, text in table[lang].items():
        if isinstance(text, str) and re.search(r"[A-Za-z]{3}|[\u4e00-\u9fff\uac00-\ud7af]", _readable(text)):
            if detect_language(_readable(text)) != lang:
                english.append((key, text))
    assert not english


@pytest.mark.parametrize("field", PIPELINE_MESSAGES)
def test_the_pipeline_says_everything_in_every_language(field):
    for code, table in LANGUAGES.items():
        text = getattr(table, field)
        assert text.strip(), f"{code}.{field} is empty"
        assert detect_language(text) == code, f"{code}.{field} is not in its language: {text}"
