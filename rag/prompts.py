"""Prompts: the text templates the language model is given, kept as plain files a staff member
can read (``rag/data/prompts/*.txt``), with ``{name}`` fields filled in by the code:

  * ``system.txt``: the system turn of every answer;
  * ``answer.txt``: the user turn of an answer: numbered passages, the grounding rules (in the
    user turn: rules only in the system turn let a small model invent rates), the question;
  * ``rewrite.txt``: a follow-up as one standalone English query, from the conversation;
  * ``question.txt``: a first question in Chinese or Korean, translated into English (the
    search query, and the meaning given to the model beside the question as asked; a plain
    translation kept the questions' form better than the rewrite did: 46 Chinese/Korean
    questions of eval/questions.jsonl read side by side);
  * ``translate.txt``: one verified sentence into the investor's language.
A file's last line break is not part of the prompt. Changing a prompt changes answers: judge it
with ``python -m eval run`` and ``eval compare`` (eval/README.md).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

PROMPTS_DIR = Path(__file__).with_name("data") / "prompts"


@cache
def template(name: str) -> str:
    """The template ``name`` (file ``name.txt``), without its final line break."""
    text = (PROMPTS_DIR / f"{name}.txt").read_text(encoding="utf-8")
    return text[:-1] if text.endswith("\n") else text


def render(name: str, **fields: str) -> str:
    return template(name).format(**fields)
