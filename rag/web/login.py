"""Staff login: the staff-password check behind the staff tab (constant-time, a log line per
failure, lockout per client). Nothing here knows about Gradio: ``rag.web.staff`` calls
``check_password`` with the client's address before any staff action.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time
from collections import deque

from ..config import Settings, staff_password_problem

log = logging.getLogger(__name__)

DEFAULT_CLIENT = "default"


class _FailedLogins:
    """Times of recent failed staff logins per client, in this process."""

    MAX_CLIENTS = 10_000  # beyond this, clients with no recent failure are forgotten

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_client: dict[str, deque[float]] = {}

    def _recent(self, client: str, window_s: float, now: float) -> deque[float]:
        times = self._by_client.get(client, deque())
        while times and times[0] <= now - window_s:
            times.popleft()
        return times

    def locked_for(self, client: str, max_failures: int, window_s: float, now: float) -> float:
        """Seconds until ``client`` may try again (0: it may now)."""
        with self._lock:
            times = self._recent(client, window_s, now)
            if len(times) < max_failures:
                return 0.0
            return times[-max_failures] + window_s - now

    def add(self, client: str, window_s: float, now: float) -> int:
        """Record one failure; returns the client's failures within the window."""
        with self._lock:
            if len(self._by_client) >= self.MAX_CLIENTS:
                for c in [c for c, t in self._by_client.items() if not t or t[-1] <= now - window_s]:
                    del self._by_client[c]
            times = self._by_client.setdefault(client, self._recent(client, window_s, now))
            times.append(now)
            return len(times)

    def clear(self, client: str) -> None:
        with self._lock:
            self._by_client.pop(client, None)


_failed_logins = _FailedLogins()
_MAX_FAILURES = Settings.model_fields["staff_max_failures"].default
_LOCKOUT_S = Settings.model_fields["staff_lockout_s"].default


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


def check_password(
    given: str | None,
    expected: str | None,
    client: str | None = None,
    *,
    max_failures: int = _MAX_FAILURES,
    lockout_s: float = _LOCKOUT_S,
) -> bool:
    """Whether ``given`` is the staff password. Never sleeps.

    ``client`` identifies who is trying (the caller passes e.g. the remote address, or a
    session id); failed tries are counted per client, under ``DEFAULT_CLIENT`` when none is
    given (then every caller shares one count, and a guesser locks real staff out too).
    After ``max_failures`` failures within ``lockout_s`` seconds the client is refused, right
    password or not, until the oldest of them is ``lockout_s`` old (``lockout_remaining``
    says how long). A success clears the client's failures. Each failure and each refusal
    is logged with the client, never with the password. An empty try is refused without
    counting. No configured password, or one ``rag.config`` refuses (blank, short), means
    nobody is staff. The comparison is constant-time (over SHA-256 digests, so the length
    does not show either).
    """
    if not expected or staff_password_problem(expected) or not given:
        return False
    client = client or DEFAULT_CLIENT
    now = time.monotonic()
    wait = _failed_logins.locked_for(client, max_failures, lockout_s, now)
    if wait > 0:
        log.warning(
            "staff login refused for client %s: locked out for %.0f s more after %d failed tries",
            client,
            wait,
            max_failures,
        )
        return False
    if hmac.compare_digest(_digest(given), _digest(expected)):
        _failed_logins.clear(client)
        return True
    n = _failed_logins.add(client, lockout_s, now)
    log.warning("staff login failed for client %s (%d of %d allowed in %.0f s)", client, n, max_failures, lockout_s)
    return False


def lockout_remaining(
    client: str | None = None, *, max_failures: int = _MAX_FAILURES, lockout_s: float = _LOCKOUT_S
) -> float:
    """Seconds until ``client`` may try the staff password again (0: it may now)."""
    return _failed_logins.locked_for(client or DEFAULT_CLIENT, max_failures, lockout_s, time.monotonic())
