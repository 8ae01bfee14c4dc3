"""Reading the question: steps 1 to 3 of ``Assistant.ask_stream``, before any answer is drafted.

``QueryReader(retriever, settings)`` takes what it needs and nothing of the pipeline:
  1. ``standalone``: a follow-up or a Chinese/Korean question rewritten by the language model into
     a standalone English search query (the documents are English), names put into English by
     the glossary;
  2. ``read``: the passages for that query, for a translated question also as asked, and for
     documents in yet another language (Chinese notices, an English question) by the query
     translated into it; the reading with the stronger evidence wins (``Reading``);
  3. ``passes_gate``: whether the passages back the question enough to draft an answer at all
     (best cosine ``min_similarity``, share of its keywords ``min_coverage``).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from ..config import Settings
from ..generation.base import Generator, GeneratorError, Prompt
from ..glossary import expand, synonyms, terms_in, to_english
from ..search.retrieval import Hit, Retriever
from ..text import detect_language, drop_cjk, keyword_tokens
from . import prompts
from .grounding import CITATION
from .translation import Translator

log = logging.getLogger(__name__)


@dataclass
class Reading:
    """One reading of the question searched (as asked, rewritten, or translated for documents in
    another language) with the passages it found and their evidence (``evidence``)."""

    query: str
    hits: list[Hit]
    similarity: float
    coverage: float
    lang: str = "en"  # the query's language


class QueryReader:
    """Steps 1-3 over one retriever and the settings (see the module docstring)."""

    def __init__(self, retriever: Retriever, settings: Settings):
        self.retriever = retriever
        self.settings = settings

    def standalone(self, question: str, history: list[dict], generator: Generator, lang: str) -> str:
        """The question as a standalone English query (LLM rewrite; a plain join as fallback)."""
        turns = [(m.get("role"), _plain(m.get("content"))) for m in history if m.get("role") in ("user", "assistant")]
        turns = [(r, c) for r, c in turns if c][-4:]
        if not turns and lang == "en":
            return question
        previous_user = next((c for r, c in reversed(turns) if r == "user"), "")
        fallback = f"{previous_user} {question}".strip()
        if generator.name == "extractive":
            return fallback
        convo = "\n".join(f"{r}: {c[:400]}" for r, c in turns) or "(none)"
        if turns:  # a follow-up: one standalone query from the conversation
            text = prompts.render(
                "rewrite", names=_glossary_hint(f"{question} {convo}"), history=convo, question=question
            )
        else:  # a first question in Chinese or Korean: translated as a question, its form kept
            text = prompts.render("question", names=_glossary_hint(question), question=question)
        prompt = Prompt(messages=[{"role": "user", "content": text}], question=question, max_tokens=60, temperature=0.0)
        try:
            rewritten = generator.generate(prompt).strip().splitlines()[0].strip().strip('"')
        except (GeneratorError, IndexError) as e:
            log.warning("question rewrite failed: %s", e)
            return fallback
        rewritten = english_query(rewritten) if lang != "en" else rewritten
        if not rewritten or len(rewritten) > 300:
            return fallback
        # keep the original words too: BM25 still matches names the rewrite may have dropped
        return rewritten if lang != "en" or not turns else f"{rewritten} {question}"

    def read(
        self, question: str, standalone: str, generator: Generator | None = None, lang: str | None = None
    ) -> Reading:
        """Passages for the standalone query, and the evidence they give (see ``evidence``).

        A question that was translated for the search is also searched as asked: documents in
        the investor's own language (a Chinese notice, say) match the original words, English
        ones the rewrite. Documents in a language neither reading is in (Chinese notices for an
        English or Korean question) are searched by the English query translated into it, when a
        model is there to translate. The reading with the stronger evidence wins; a translated
        reading wins when it passes the evidence gate on its own and its best passage is closer
        (keyword coverage of Chinese bigrams and of English words are not comparable).
        ``lang``: the question's language, when the caller has detected it.
        """
        lang = lang or detect_language(question)
        queries = {standalone: detect_language(standalone)}
        if lang != "en":
            queries.setdefault(question, lang)
        asked = len(queries)
        for other in (
            self.other_languages(set(queries.values())) if generator and generator.name != "extractive" else ()
        ):
            try:  # unchecked: a search query is never shown, and what it finds is checked as always
                translated = Translator(generator).render(standalone, other, queries[standalone])
            except GeneratorError as e:
                log.warning("query translation failed: %s", e)
                continue
            if translated and detect_language(translated) == other:
                queries.setdefault(translated, other)
        found = []
        for query, query_lang in queries.items():
            hits = self.retriever.search(expand(query, query_lang), k=self.settings.top_k)
            found.append(Reading(query, hits, *evidence(query, hits, query_lang), lang=query_lang))
        best = max(found[:asked], key=lambda r: (r.coverage, r.similarity))  # more keywords covered, then closer
        for translated in found[asked:]:
            if translated.similarity > best.similarity and self.passes_gate(translated):
                best = translated
        return best

    def passes_gate(self, reading: Reading) -> bool:
        s = self.settings
        return reading.similarity >= s.min_similarity and reading.coverage >= s.min_coverage

    def other_languages(self, asked: set[str]) -> list[str]:
        """Languages of indexed passages that none of the queries (their languages ``asked``) is written in."""
        return sorted(self.retriever.index.languages - asked)


def evidence(query: str, hits: list[Hit], lang: str | None = None) -> tuple[float, float]:
    """How well the passages back the question: the best cosine similarity of a passage, and
    the share of the question's keywords found in the passages at all. A question about a tax
    rate retrieves passages about the right zone (high similarity) that never say "tax". A
    glossary term counts as found when the passages write it any way the glossary knows ("travel
    agency" / "tourism agencies", "electric cars" / "new energy vehicles")."""
    similarity = max((h.dense_score for h in hits if h.dense_score is not None), default=0.0)
    rest, terms = synonyms(query, lang or detect_language(query))
    units = [{frozenset(keyword_tokens(f)) for f in forms} - {frozenset()} for forms in terms]
    units += [{frozenset([t])} for t in dict.fromkeys(keyword_tokens(rest))]
    units = [u for u in units if u]
    found = set().union(*(keyword_tokens(h.chunk.text) for h in hits)) if hits else set()
    covered = sum(any(alt <= found for alt in unit) for unit in units)
    return similarity, (covered / len(units) if units else 0.0)


def english_query(rewritten: str) -> str:
    """The LLM's English rewrite with names it left in Chinese or Korean put into English, and
    any other Chinese or Korean words dropped: they would count as keywords the English
    documents never contain. (The question as asked is searched separately.)"""
    rewritten = to_english(rewritten)
    return drop_cjk(rewritten) if _LATIN_WORD.search(rewritten) else ""


def _glossary_hint(text: str) -> str:
    """The glossary lines for the Chinese/Korean names in ``text``, for the rewrite prompt."""
    lines = []
    for lang in ("zh", "ko"):
        for term in terms_in(text, lang):
            if "en" in term.forms:
                lines.append(f"{term.preferred(lang)} = {term.preferred('en')}")
    return ("\nNames: " + "; ".join(dict.fromkeys(lines)) + ".\n") if lines else ""


_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


def _plain(content) -> str:
    """Text of a chat message (a string or a list of parts), without citation markers."""
    if isinstance(content, list):
        content = " ".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in content)
    text = str(content or "")
    return CITATION.sub("", text).strip()
