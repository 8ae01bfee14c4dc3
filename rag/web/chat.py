"""The chat turn: one investor question, from the text box to the streamed, rendered answer.

``ChatTurns.respond`` (the page's send button and the public ``/ask`` endpoint) streams the
conversation as it grows: the question at once, then "Searching…" or the question's place in the
line for the model, then the verified answer sentence by sentence with its sources. The assistant
is given the session's own raw history of questions and answer texts (``render.raw_history``),
never the rendered messages, and rewrites follow-ups itself.

Fair serving (``rag.web.serving``, shared through the ``Runtime``): every question starts at
once; ``Assistant.plan`` says whether it needs the language model; those that do wait in a fair
line for the one model slot and see their place and an estimate in the chat turn, the others
(abstentions, the extractive backend) never wait behind them; questions in flight are capped per
client address and per conversation, waits are bounded ("busy, try again in a minute" in the
question's language). Whatever happens, the turn ends with an ``Answer`` (a refused or failed
one included), rendered through ``render.page_record``: the chat never dies on an error. That one
place, ``_ended``, also hands the turn to the question log (``rag.store.questions``: its outcome,
citations, latency from the question's arrival, backend and language; nothing about who asked),
keeping only the entry's random key in the turn for a later rating.
"""

from __future__ import annotations

import logging
import time

import gradio as gr

from ..answer.records import Answer
from ..store.questions import log_entry, new_entry
from ..text import detect_language
from .render import found_sources, new_session, page_record, raw_history, render_chat
from .serving import client_address, session_id
from .startup import Runtime
from .texts import chat_texts

log = logging.getLogger(__name__)


class ChatTurns:
    """The chat's Gradio callbacks over the runtime (see the module docstring)."""

    def __init__(self, runtime: Runtime):
        self.runtime = runtime

    def respond(self, message: str, session: dict, request: gr.Request = None):
        """Stream one answer: yields (chat, session, question box, answer record).

        A question is admitted if its conversation has none in flight and its client fewer than
        ``serve_max_per_client``; one that needs the language model (``Assistant.plan``) then
        waits in the fair line for the model slot, seeing its place and an estimate; the others
        are answered at once, never behind a model answer."""
        question = (message or "").strip()[: self.runtime.settings.max_question_chars]
        session = session or new_session()
        if not question:
            yield render_chat(session["turns"]), session, "", gr.skip()
            return
        lang = detect_language(question)
        t = chat_texts(lang)
        history = raw_history(session["turns"])
        turn = {"question": question, "lang": lang, "text": "", "notice": "", "answer": None}
        turn["started"] = time.perf_counter()
        session["turns"].append(turn)
        yield render_chat(session["turns"]), session, "", gr.skip()

        admission = self.runtime.admission
        client, sid = client_address(request), session_id(request)
        refused = admission.enter(client, sid)
        if refused:
            yield self._ended(turn, session, Answer.refused(question, t[refused], lang))
            return
        try:
            yield from self._answer(question, history, turn, session, t, client)
        finally:
            admission.leave(client, sid)

    def _answer(self, question: str, history: list[dict], turn: dict, session: dict, t: dict, client: str):
        runtime = self.runtime
        while not runtime.ready.wait(0.5):
            frac, msg = runtime.progress
            turn["waiting"] = f"{t['preparing']}: {round(frac * 100)}% ({runtime.public(msg)})"
            yield render_chat(session["turns"]), session, gr.skip(), gr.skip()
        if runtime.error:
            text = t["unavailable"].format(error=runtime.public(runtime.error))
            yield self._ended(turn, session, Answer.failed(question, text, turn["lang"], error="unavailable"))
            return
        try:
            runtime.follow_index()
            plan = runtime.assistant.plan(question, history)
        except Exception as e:  # the search itself failed: said in the chat like any answering failure
            yield self._failed(turn, session, t, e)
            return
        if plan.found:  # what the search found, on screen at once while the answer is written
            turn["found"] = found_sources(plan.found, question)
            yield render_chat(session["turns"]), session, gr.skip(), gr.skip()
        if not plan.needs_model:
            yield from self._stream(question, history, turn, session, t)
            return
        line = runtime.line
        ticket = line.join(client)
        if ticket is None:
            yield self._ended(turn, session, Answer.refused(question, t["busy"], turn["lang"]))
            return
        try:
            while not line.wait(ticket, 1.0 if turn.get("waiting") else 0.05):
                if ticket.waited_s() > line.max_wait_s:
                    yield self._ended(turn, session, Answer.refused(question, t["busy"], turn["lang"]))
                    return
                turn["waiting"] = self._place(ticket, t)
                yield render_chat(session["turns"]), session, gr.skip(), gr.skip()
            turn.pop("waiting", None)
            yield from self._stream(question, history, turn, session, t)
        finally:
            line.leave(ticket)

    def _place(self, ticket, t: dict) -> str:
        """ "n ahead of you, about T s" for a ticket waiting for the model."""
        line = self.runtime.line
        ahead, estimate = line.ahead(ticket), line.estimate_s(ticket)
        if estimate is None:
            return t["queued_no_estimate"].format(ahead=ahead)
        return t["queued"].format(ahead=ahead, seconds=max(5, 5 * round(estimate / 5)))

    def _stream(self, question: str, history: list[dict], turn: dict, session: dict, t: dict):
        final = None
        try:
            for event in self.runtime.assistant.ask_stream(question, history):
                if event.kind == "notice":
                    if event.text and event.text not in session["notices"]:
                        session["notices"].append(event.text)  # said once per conversation
                        turn["notice"] = self.runtime.public(event.text)
                        yield render_chat(session["turns"]), session, gr.skip(), gr.skip()
                elif event.kind == "delta":
                    turn["text"] += event.text
                    yield render_chat(session["turns"]), session, gr.skip(), gr.skip()
                elif event.kind == "final" and event.answer is not None:
                    final = event.answer
        except Exception as e:  # never a dead chat: say what happened, keep the session
            yield self._failed(turn, session, t, e)
            return
        if final is None:
            final = Answer(question=question, answer=turn["text"], abstained=not turn["text"], language=turn["lang"])
        yield self._ended(turn, session, final)

    def _failed(self, turn: dict, session: dict, t: dict, error: Exception):
        log.exception("answering failed for %r", turn["question"])
        text = t["failed"].format(error=error.__class__.__name__)
        return self._ended(turn, session, Answer.failed(turn["question"], text, turn["lang"], error.__class__.__name__))

    def _ended(self, turn: dict, session: dict, answer: Answer):
        """The turn's last update: its answer rendered, the record for ``/ask``. A refused turn
        (busy, one at a time ...) stays out of the history (``render.raw_history``)."""
        turn.pop("waiting", None)
        turn["text"] = answer.answer
        turn["answer"] = page_record(answer, self.runtime.public)
        self._log(turn, answer)
        return render_chat(session["turns"]), session, gr.skip(), turn["answer"]

    def _log(self, turn: dict, answer: Answer) -> None:
        """Queue the turn for the question log (never blocks or raises; ``rag.store.questions``)."""
        writer = self.runtime.question_log
        if writer is None:
            return
        turn["log_entry"] = new_entry()
        writer.record(log_entry(turn["log_entry"], answer, (time.perf_counter() - turn["started"]) * 1000))

    def clear(self):
        return [], new_session(), gr.update(visible=False, value=""), ""
