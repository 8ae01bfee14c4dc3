"""Answer cache: the same question, asked again of the same index with the same settings, gets
the stored verified answer (with its citations) at once instead of a new model run.

Keyed by the question normalised (invisible characters dropped, case and spacing folded), the
index version (its folder name, so a re-index invalidates every entry), a fingerprint of the
settings that shape answers, and the backend. Only first questions of a conversation are cached
(a follow-up depends on what came before), and only answers the configured backend gave without
a fallback or notice. In memory, per process, least recently used first out.
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
from collections import OrderedDict

from ..text import clean_text

# settings that do not change what an answer says
_NOT_ANSWER_SHAPING = {
    "host",
    "port",
    "feedback_db",
    "feedback_url",
    "staff_password",
    "upload_max_mb",
    "openai_api_key",
    "answer_cache_size",
}


def settings_fingerprint(settings) -> str:
    data = {k: str(v) for k, v in settings.model_dump().items() if k not in _NOT_ANSWER_SHAPING}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def normalise_question(question: str) -> str:
    return " ".join(clean_text(question).casefold().split()).rstrip("?？!！.。 ")


class AnswerCache:
    def __init__(self, size: int = 256):
        self.size = size
        self._entries: OrderedDict[tuple, object] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def key(self, question: str, index_version: str, settings, backend: str) -> tuple:
        return (normalise_question(question), index_version, settings_fingerprint(settings), backend)

    def get(self, key: tuple):
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                self.hits += 1
                return copy.deepcopy(self._entries[key])
            self.misses += 1
            return None

    def __contains__(self, key: tuple) -> bool:
        with self._lock:
            return key in self._entries

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def put(self, key: tuple, answer) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._entries[key] = copy.deepcopy(answer)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
