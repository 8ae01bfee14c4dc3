"""Rendering: what the investor's browser is sent of a conversation, as safe HTML and markdown.

Every question, answer, passage and notice is HTML-escaped (and markdown-escaped) before it
reaches the page, so a document containing ``<script>`` shows the text; every kind of line
break becomes ``<br>`` inside a source, so a source stays one HTML block and markdown in a
document (a link, an image) stays text. A turn of the conversation is a dict (question,
language, text so far, notice, and once answered the page record of its ``Answer``:
``page_record``); ``render_chat`` turns the turns into the Chatbot's messages: the answer, then
its numbered sources under the "Sources" heading of the turn's language (title, publisher, date,
link, the passage with the supporting sentences in ``<mark>``), or related reading under its
heading when the assistant abstained.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from ..answer.records import Answer
from ..answer.verify import supporting_spans
from ..search.retrieval import Hit
from ..text import split_sentences
from .texts import chat_texts


def _heading(text: str) -> str:
    """A heading inside the assistant's message (the answer, then its sources or related reading)."""
    return f"\n\n**{md_text(text)}**"


_MD_ESCAPE = re.compile(r"([\\`*_{}\[\]#|~$!])")
_MD_LINE_START = re.compile(r"(?m)^(\s*)([-+]|\d+[.)])(\s)")


# every line break a browser's markdown parser may see: CR, LF, CRLF, VT, FF, NEL, the Unicode
# line and paragraph separators (a lone "\r\r" would otherwise end a source's HTML block)
_LINE_BREAKS = re.compile(r"\r\n?|[\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")


# brackets as character references inside HTML: they show the same, and form no markdown link even
# if an HTML block ever ended early (CommonMark never reads a reference as markdown syntax)
_HTML_MD = str.maketrans({"[": "&#91;", "]": "&#93;"})


def one_kind_of_line_break(text: str) -> str:
    return _LINE_BREAKS.sub("\n", text or "")


def _html_escape(text: str) -> str:
    return html.escape(one_kind_of_line_break(text), quote=True).translate(_HTML_MD)


def md_text(text: str) -> str:
    """Plain text made safe to put in a markdown message: HTML-escaped, markdown inert."""
    s = html.escape(one_kind_of_line_break(text), quote=False)
    s = _MD_ESCAPE.sub(r"\\\1", s)
    return _MD_LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2) + m.group(3), s)


def html_text(text: str) -> str:
    """Plain text as HTML (escaped; line breaks kept, blank lines collapsed)."""
    return re.sub(r"(?:\s*\n\s*)+", "<br>", _html_escape(text).strip())


def safe_url(url: str) -> str | None:
    url = (url or "").strip()
    return url if re.match(r"^https?://[^\s\"'<>]+$", url, re.I) else None


def highlighted(text: str, spans) -> str:
    """The passage as escaped HTML with the given (start, end) spans wrapped in <mark>."""
    text = text or ""
    merged: list[list[int]] = []
    for start, end in sorted((max(0, int(a)), min(len(text), int(b))) for a, b in spans or []):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, pos = [], 0
    for start, end in merged:
        out.append(html_text_keep(text[pos:start]))
        out.append("<mark>" + html_text_keep(text[start:end]) + "</mark>")
        pos = end
    out.append(html_text_keep(text[pos:]))
    return "".join(out).strip()


def html_text_keep(text: str) -> str:
    """Like html_text but without trimming (pieces of one passage)."""
    return re.sub(r"(?:[ \t]*\n[ \t]*)+", "<br>", _html_escape(text))


def render_citation(c: dict, t: dict | None = None) -> str:
    """One numbered source as one line of HTML (no blank lines: it stays one markdown HTML block);
    ``t``: the chat texts of the question's language (the "about" label)."""
    link = _linked(c)
    meta = [c.get("publisher") or "", c.get("date") or ""]
    if c.get("page"):
        meta.append(f"p. {c['page']}")
    meta_html = " · ".join(html_text(m) for m in meta if m)
    passage = highlighted(c.get("text", ""), c.get("highlights") or [])
    lines = [x for x in c.get("translated") or [] if x]
    if lines:  # the supporting sentences in the investor's language, the passage as written one click away
        t = t or chat_texts("en")
        passage = (
            "".join(f'<div class="rag-translated">{html_text(x)}</div>' for x in lines)
            + f'<details class="rag-original"><summary>{html_text(t["original"])}</summary>{passage}</details>'
        )
    about = c.get("about") or ""
    about_html = html_text((t or chat_texts("en"))["about"].format(subject=about)) if about else ""
    block = (
        f'<div class="rag-source" data-n="{int(c.get("n", 0))}">'
        f'<div class="rag-source-head">[{int(c.get("n", 0))}] {link}</div>'
        + (f'<div class="rag-source-meta">{meta_html}</div>' if meta_html else "")
        + (f'<div class="rag-source-about">{about_html}</div>' if about_html else "")
        + f'<blockquote class="rag-passage">{passage}</blockquote></div>'
    )
    return block.replace("\n", " ")  # none is left; the whole source on one line whatever happens


def render_answer(turn: dict) -> str:
    """The assistant message of one turn: notice, answer text, then sources or related reading."""
    lang = turn.get("lang", "en")
    t = chat_texts(lang)
    parts = []
    if turn.get("notice"):
        parts.append(f'<div class="rag-notice">ⓘ {html_text(turn["notice"])}</div>')
    if turn.get("text"):
        parts.append(md_text(turn["text"]))
    elif turn.get("answer") is None:
        parts.append(f"*{md_text(turn.get('waiting') or t['searching'])}*")
    body = "\n\n".join(parts)
    answer = turn.get("answer")
    if not answer:
        return body + render_found(turn.get("found") or [], t)
    if answer.get("abstained"):
        related = answer.get("related") or []
        if related:
            note = f'<div class="rag-note">{html_text(t["related_note"])}</div>'
            body += _heading(t["related"]) + "\n\n" + note
            body += "".join(render_citation(c, t) for c in related)
    elif answer.get("citations"):
        if answer.get("curated"):
            body += f'\n\n<div class="rag-note rag-curated">✓ {html_text(t["curated_note"])}</div>'
        if answer.get("source_language") and answer.get("source_answer"):
            # the translation is marked as such, the verified answer one click away
            src_lang = answer["source_language"]
            source = t["source_answer"].format(lang=t["lang_names"].get(src_lang, src_lang))
            body += (
                f'\n\n<div class="rag-note">{html_text(t["translated_note"])}</div>'
                f'<details class="rag-source-answer"><summary>{html_text(source)}</summary>'
                f'<div lang="{html.escape(src_lang, quote=True)}">{html_text(answer["source_answer"])}</div></details>'
            )
        body += _heading(t["sources"]) + "\n\n" + "".join(render_citation(c, t) for c in answer["citations"])
    return body


def found_sources(hits: list[Hit], question: str) -> list[dict]:
    """What a first search found, for the page while the answer is written: each passage's title,
    what it is about, its link, and its sentence sharing the most words with the question."""
    out = []
    for h in hits:
        c = h.chunk
        spans = supporting_spans(c.text, [question])
        sentence = c.text[spans[0][0] : spans[0][1]] if spans else (split_sentences(c.text) or [None])[0]
        text = sentence if isinstance(sentence, str) else (sentence.text if sentence else c.text[:200])
        out.append({"n": h.rank, "title": c.title, "about": c.about, "source": c.source, "sentence": text})
    return out


def render_found(found: list[dict], t: dict) -> str:
    """The sources found so far, collapsed, under the answer being written (one HTML block)."""
    if not found:
        return ""
    items = "".join(
        f'<div class="rag-found-item"><span class="rag-source-head">{_linked(f)}</span>'
        f' <span class="rag-found-sentence">{html_text(f.get("sentence", ""))}</span></div>'
        for f in found
    )
    summary = html_text(t["found"].format(n=len(found)))
    return f'\n\n<details class="rag-found"><summary>{summary}</summary>{items}</details>'


def _linked(c: dict) -> str:
    title = html_text(c.get("title") or c.get("doc_id") or "")
    url = safe_url(c.get("source", ""))
    if not url:
        return title
    return f'<a href="{html.escape(url, quote=True)}" target="_blank" rel="noopener noreferrer">{title}</a>'


def render_chat(turns: list[dict]) -> list[dict]:
    """The Chatbot value: exactly two messages per turn (user, assistant)."""
    messages = []
    for turn in turns:
        messages.append({"role": "user", "content": md_text(turn["question"])})
        messages.append({"role": "assistant", "content": render_answer(turn)})
    return messages


def raw_history(turns: list[dict]) -> list[dict]:
    """What the assistant sees of the conversation: questions and answer texts, no sources
    (nor turns the server refused: a busy server is no part of the conversation)."""
    history = []
    for turn in turns:
        if turn.get("answer") is None or turn["answer"].get("busy"):
            continue
        history.append({"role": "user", "content": turn["question"]})
        history.append({"role": "assistant", "content": turn["answer"].get("answer", "")})
    return history


def new_session() -> dict:
    return {"turns": [], "notices": [], "last_feedback": None}


def page_record(answer: Answer, public: Callable[[str], str]) -> dict:
    """The answer as the page and the public ``/ask`` API get it: no removed sentences, notices
    without server paths or addresses (``public``). The one way an answer becomes a page dict."""
    record = answer.to_json()
    record.pop("removed", None)
    record["notices"] = [public(n) for n in record.get("notices") or []]
    return record


# the answer and its numbered sources in one assistant message (the assistant itself is given the
# answer texts alone: ``raw_history``); where an English message splits into the two
SOURCES_SEPARATOR = _heading(chat_texts("en")["sources"])
