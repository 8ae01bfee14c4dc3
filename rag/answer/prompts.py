"""Prompts: the text templates the language model is given, kept as plain files a staff member
can read (``rag/data/prompts/*.txt``), with ``{name}`` fields filled in by the code:

  * ``system.txt``: the system turn of every answer;
  * ``answer.txt``: the user turn of an answer: numbered passages, the grounding rules (in the
    user turn: rules only in the system turn let a small model invent rates), the question;
    ``answer_rules_first.txt`` the same with the rules first (a constant prefix: llama.cpp keeps
    what it read of the last prompt and reads only from the first token that differs), and
    ``answer_compact.txt`` each title once and the rules in fewer words (setting ``prompt_template``);
  * ``rewrite.txt``: a follow-up as one standalone English query, from the conversation;
  * ``question.txt``: a first question in Chinese or Korean, translated into English (the
    search query, and the meaning given to the model beside the question as asked; a plain
    translation kept the questions' form better than the rewrite did: 46 Chinese/Korean
    questions of eval/questions.jsonl read side by side);
  * ``translate.txt``: one verified sentence into the investor's language.
A file's last line break is not part of the prompt. Changing a prompt changes answers: judge it
with ``python -m eval run`` and ``eval compare`` (eval/README.md).

``answer_prompt`` puts an answer's prompt together (step 4 of ``Assistant.ask_stream``): the
numbered passages under their document titles (``answer_compact``: each title once, above its
passages), their text cut to what matters to the question with ``prompt_compression``
(``compress.py``), the rules, the question and its meaning;
``fit_answer_prompt`` makes it fit the model's context.
"""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path

from ..config import Settings
from ..generation.base import Generator, Prompt
from ..search.retrieval import Hit
from .languages import language

log = logging.getLogger(__name__)

PROMPTS_DIR = Path(__file__).parent.parent / "data" / "prompts"


@cache
def template(name: str) -> str:
    """The template ``name`` (file ``name.txt``), without its final line break."""
    text = (PROMPTS_DIR / f"{name}.txt").read_text(encoding="utf-8")
    return text[:-1] if text.endswith("\n") else text


def render(name: str, **fields: str) -> str:
    return template(name).format(**fields)


def answer_prompt(
    question: str, standalone: str, hits: list[Hit], lang: str, settings: Settings, texts: list[str] | None = None
) -> Prompt:
    """The prompt of an answer in ``lang`` from the numbered passages ``hits`` (their ``texts``
    when given: the passages compressed to what matters to the question, ``compress.py``)."""
    texts = texts or [h.chunk.text for h in hits]
    compact = settings.prompt_template == "answer_compact"
    blocks = _passages(hits, texts, grouped=compact)
    # a follow-up's search query ends with the question itself (for BM25); say it once
    meaning = standalone[: -len(question)].strip() if standalone.endswith(question) else standalone
    asked = question if meaning in ("", question) else f"{question}\n(Meaning: {meaning})"
    own = language(lang)
    user = render(
        settings.prompt_template,
        passages=blocks,
        language=own.name,
        sentences="4",
        question=asked,
        answer_in=own.answer_in,
    )
    return Prompt(
        messages=[{"role": "system", "content": template("system")}, {"role": "user", "content": user}],
        # the extractive backend matches sentences against this: the investor's own words when
        # they are English (a follow-up names what is new), else the English rewrite
        question=question if lang == "en" else standalone,
        passages=[h.chunk.text for h in hits],
        max_tokens=settings.max_new_tokens,
        temperature=settings.temperature,
    )


def fit_answer_prompt(
    question: str,
    standalone: str,
    hits: list[Hit],
    lang: str,
    generator: Generator,
    settings: Settings,
    texts: list[str] | None = None,
) -> tuple[Prompt, list[Hit]]:
    """The prompt, made to fit the model's context with room for the answer: a long question
    is cut first, then the weakest passages are left out (they are not cited then either)."""
    budget = settings.llm_context - settings.max_new_tokens - 64  # chat template and margin
    texts = texts or [h.chunk.text for h in hits]

    def size(p: Prompt) -> int:
        return prompt_tokens(p, generator)

    prompt = answer_prompt(question, standalone, hits, lang, settings, texts)
    if size(prompt) <= budget:
        return prompt, hits
    question, standalone = _cut(question, 600), _cut(standalone, 300)
    prompt = answer_prompt(question, standalone, hits, lang, settings, texts)
    while size(prompt) > budget and len(hits) > 1:
        hits, texts = hits[:-1], texts[:-1]
        prompt = answer_prompt(question, standalone, hits, lang, settings, texts)
    log.info("prompt cut to fit %d tokens: %d passages", budget, len(hits))
    return prompt, hits


def prompt_tokens(prompt: Prompt, generator: Generator) -> int:
    """The prompt's length in the model's tokens (each message's text, and a little for its role)."""
    return sum(generator.count_tokens(m["content"]) + 8 for m in prompt.messages)


def _passages(hits: list[Hit], texts: list[str], grouped: bool) -> str:
    """The numbered passages, each under its document's heading, or (``grouped``: the compact
    prompt) each document's heading once with its passages below it, numbered by rank as always."""
    numbered = list(enumerate(zip(hits, texts, strict=True), start=1))
    if not grouped:
        return "\n\n".join(f"[{i}] {_heading(h)}\n{t}" for i, (h, t) in numbered)
    docs: dict[str, list] = {}
    for i, (h, t) in numbered:
        docs.setdefault(h.chunk.doc_id, []).append((i, h, t))
    return "\n\n".join(
        _heading(group[0][1]) + "\n" + "\n".join(f"[{i}] {t}" for i, _, t in group) for group in docs.values()
    )


def _heading(hit: Hit) -> str:
    """A passage's heading in the prompt: its document's title and, when the title does not say
    it, what the document is about (a fact in the middle of an article is about its zone)."""
    about = hit.chunk.about
    return f"({hit.chunk.title})" + (f" (about: {about})" if about else "")


def _cut(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[:chars].rsplit(" ", 1)[0] + " …"
