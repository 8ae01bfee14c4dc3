"""Ratings: thumbs up / down on each answer in the chat (``Chatbot.like``) plus an optional
comment, stored by ``rag.store.feedback`` (SQLite, or PostgreSQL with ``feedback_url``); the public
``/feedback`` endpoint does the same for API clients. The rating also goes to the answer's entry in
the question log (through the entry key kept in the chat turn). A store that cannot be written
says so in the page; answers are never affected.
"""

from __future__ import annotations

import logging
import math

import gradio as gr

from ..store import FeedbackUnavailable
from .startup import Runtime
from .texts import chat_texts

log = logging.getLogger(__name__)


class Ratings:
    """The rating callbacks over the feedback store (see the module docstring)."""

    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self.store = runtime.store.feedback

    def _record(self, session: dict, turn_index: int, rating: str) -> tuple[int, str]:
        turns = session["turns"]
        t = _texts(session)
        if not turns:
            raise gr.Error(t["nothing_to_rate"])
        if turn_index < 0:
            turn_index += len(turns)
        if not 0 <= turn_index < len(turns) or turns[turn_index].get("answer") is None:
            raise gr.Error(t["no_such_answer"])
        turn = turns[turn_index]
        a = turn["answer"]
        try:
            return self._store_rating(session, turn, a, rating)
        except FeedbackUnavailable as e:
            log.warning("rating not stored: %s", e)
            raise gr.Error(t["feedback_unavailable"]) from None

    def _store_rating(self, session: dict, turn: dict, a: dict, rating: str) -> tuple[int, str]:
        if turn.get("feedback_id"):
            self.store.update(turn["feedback_id"], rating=rating)
        else:
            turn["feedback_id"] = self.store.add(
                rating=rating,
                question=turn["question"],
                answer=a.get("answer", ""),
                citations=a.get("citations") or a.get("related") or [],
                backend=a.get("backend", ""),
                model=a.get("model", ""),
                standalone_question=a.get("standalone_question", ""),
                abstained=bool(a.get("abstained")),
                language=a.get("language") or turn.get("lang", ""),
            )
        if turn.get("log_entry") and self.runtime.question_log is not None:
            self.runtime.question_log.rate(turn["log_entry"], rating)
        session["last_feedback"] = turn["feedback_id"]
        t = chat_texts(turn.get("lang", "en"))
        return turn["feedback_id"], t["thanks_up" if rating == "up" else "thanks_down"]

    def on_like(self, session: dict, data: gr.LikeData):
        """Thumbs on an answer in the chat: store the rating at once, offer a comment box."""
        if data.liked is True:
            rating = "up"
        elif data.liked is False:
            rating = "down"
        else:  # the thumb was taken back: keep what was stored, hide the comment box
            return session, gr.update(visible=False), ""
        index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        _, thanks = self._record(session, int(index) // 2, rating)
        return session, gr.update(visible=True, value=""), thanks

    def on_comment(self, comment: str, session: dict):
        fid = session.get("last_feedback")
        t = _texts(session)
        if not fid:
            raise gr.Error(t["rate_first"])
        try:
            self.store.update(fid, comment=(comment or "").strip()[:2000])
        except FeedbackUnavailable as e:
            log.warning("comment not stored: %s", e)
            raise gr.Error(t["feedback_unavailable"]) from None
        lang = next((t.get("lang", "en") for t in session["turns"] if t.get("feedback_id") == fid), "en")
        return session, gr.update(visible=False, value=""), chat_texts(lang)["comment_saved"]

    def api_feedback(self, rating: str, comment: str, turn: float | None, session: dict):
        """API: rate answer ``turn`` (1-based; 0 or empty = the latest) 'up' or 'down', with a comment."""
        rating = (rating or "").strip().lower()
        if rating not in ("up", "down"):
            raise gr.Error("rating must be 'up' or 'down'")
        if turn is not None and not (isinstance(turn, (int, float)) and math.isfinite(turn) and turn >= 0):
            raise gr.Error("turn must be a whole number: 1 for the first answer, 0 for the latest")
        n = int(turn or 0)
        fid, thanks = self._record(session, n - 1 if n > 0 else -1, rating)
        if comment and comment.strip():
            try:
                self.store.update(fid, comment=comment.strip()[:2000])
            except FeedbackUnavailable as e:
                log.warning("comment not stored: %s", e)
                raise gr.Error(_texts(session)["feedback_unavailable"]) from None
        return session, f"{thanks} (feedback #{fid})"


def _texts(session: dict) -> dict:
    """The chat texts in the language of the conversation's latest question."""
    turns = session.get("turns") or []
    return chat_texts(turns[-1].get("lang", "en") if turns else "en")
