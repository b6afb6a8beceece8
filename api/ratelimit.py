"""Login throttling: a small in-memory sliding window of failed logins, per username and per client IP.

Only failures count, so a user who logs in correctly any number of times is never slowed; once a key has
LIMIT failures inside WINDOW seconds, further attempts for it are refused (429 with Retry-After) until the
oldest failure leaves the window. A successful login clears the username's failures (not the IP's: one IP
guessing many accounts stays throttled). One limiter per app instance (kept on `app.state`), so each API
process, and each test's app, starts fresh; several replicas each keep their own count.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

# Defaults; a Settings object may override them with fields of these names (read with getattr).
LOGIN_FAILURES_PER_USER = 10
LOGIN_FAILURES_PER_IP = 30
LOGIN_WINDOW_SECONDS = 300.0
MAX_KEYS = 100_000  # memory bound: past it, keys whose window has passed are dropped (then the oldest)


class SlidingWindow:
    """Failures per key within the last `window` seconds."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic):
        self.limit, self.window, self.clock = limit, window, clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _live(self, key: str, now: float) -> deque[float] | None:
        hits = self._hits.get(key)
        if hits is None:
            return None
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if not hits:
            del self._hits[key]
            return None
        return hits

    def retry_after(self, key: str) -> float:
        """Seconds until `key` may try again; 0 when it may now."""
        with self._lock:
            now = self.clock()
            hits = self._live(key, now)
            if hits is None or len(hits) < self.limit:
                return 0.0
            return max(hits[-self.limit] + self.window - now, 0.001)

    def hit(self, key: str) -> None:
        with self._lock:
            now = self.clock()
            hits = self._live(key, now)
            if hits is None:
                if len(self._hits) >= MAX_KEYS:
                    self._prune(now)
                hits = self._hits[key] = deque()
            hits.append(now)
            while len(hits) > self.limit:  # older hits no longer matter to the answer
                hits.popleft()

    def clear(self, key: str) -> None:
        with self._lock:
            self._hits.pop(key, None)

    def _prune(self, now: float) -> None:
        for key in list(self._hits):
            self._live(key, now)
        while len(self._hits) >= MAX_KEYS:
            self._hits.pop(next(iter(self._hits)))


class LoginLimiter:
    """Failed logins per username and per client address."""

    def __init__(self, per_user: int = LOGIN_FAILURES_PER_USER, per_ip: int = LOGIN_FAILURES_PER_IP,
                 window: float = LOGIN_WINDOW_SECONDS, clock: Callable[[], float] = time.monotonic):
        self.users = SlidingWindow(per_user, window, clock)
        self.ips = SlidingWindow(per_ip, window, clock)

    @staticmethod
    def _user_key(username: str) -> str:
        return username.strip().lower()[:60]

    def retry_after(self, username: str, ip: str) -> int:
        """Whole seconds the caller must wait before this attempt may be checked; 0 to go ahead."""
        wait = max(self.users.retry_after(self._user_key(username)), self.ips.retry_after(ip))
        return math.ceil(wait) if wait > 0 else 0

    def failed(self, username: str, ip: str) -> None:
        self.users.hit(self._user_key(username))
        self.ips.hit(ip)

    def succeeded(self, username: str) -> None:
        self.users.clear(self._user_key(username))


def login_limiter(app: Any) -> LoginLimiter:
    """The app's limiter, made on first use with the limits its settings name (or the defaults here)."""
    state = app.state
    limiter: LoginLimiter | None = getattr(state, "login_limiter", None)
    if limiter is None:
        settings = getattr(state, "settings", None)
        limiter = LoginLimiter(
            per_user=int(getattr(settings, "login_failures_per_user", LOGIN_FAILURES_PER_USER)),
            per_ip=int(getattr(settings, "login_failures_per_ip", LOGIN_FAILURES_PER_IP)),
            window=float(getattr(settings, "login_window_seconds", LOGIN_WINDOW_SECONDS)))
        state.login_limiter = limiter
    return limiter


def client_ip(request: Any) -> str:
    """The peer address as the server saw it (a proxy's X-Forwarded-For is not trusted: a client could
    name any address in it and so escape the per-IP limit)."""
    client = getattr(request, "client", None)
    return client.host if client is not None and client.host else "unknown"
