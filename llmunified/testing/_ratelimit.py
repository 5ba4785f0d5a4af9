"""A rate-limited model for the emulator: a request budget per window, answered 429 beyond it.

``Emulator(default_reply=RateLimit(requests=5, window=1.0))`` (or ``emu.default_reply = ...``)
answers at most ``requests`` chat requests per ``window`` seconds (a fixed window starting with
the first request, as providers' per-minute buckets do); any more get HTTP 429 with
``Retry-After`` (seconds until the window ends, or ``retry_after`` if given) and the
``x-ratelimit-*`` headers of the OpenAI dialect's shape. Within budget it answers like the
emulator's default (``"You said: ..."``) or ``reply`` (a Reply or a callable of the request).

``refused`` lists when each 429 was sent and ``answered`` when each request got through
(``time.monotonic()``), for tests of clients that must back off.
"""
import math
import threading
import time
from typing import Any, Callable, List, Optional, Union

from ._reply import Reply
from ._request import RecordedRequest

__all__ = ["RateLimit"]


class RateLimit:
    """A reply source for :class:`~llmunified.testing.Emulator` enforcing a request budget."""

    def __init__(self, requests: int, window: float = 60.0, *, retry_after: Optional[float] = None,
                 reply: Union[None, Reply, Callable[[RecordedRequest], Reply]] = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if requests < 1 or window <= 0:
            raise ValueError("RateLimit needs requests >= 1 and window > 0")
        self.requests = requests
        self.window = window
        self.retry_after = retry_after
        self.reply = reply
        self.clock = clock
        self._lock = threading.Lock()
        self._start: Optional[float] = None
        self._count = 0
        self.refused: List[float] = []
        self.answered: List[float] = []

    def __repr__(self) -> str:
        return f"RateLimit({self.requests} per {self.window}s)"

    def __call__(self, request: RecordedRequest) -> Reply:
        with self._lock:
            now = self.clock()
            if self._start is None or now >= self._start + self.window:
                self._start, self._count = now, 0
            left = self._start + self.window - now
            if self._count >= self.requests:
                self.refused.append(now)
                wait = self.retry_after if self.retry_after is not None else left
                return Reply(status=429, error="Rate limit reached for requests (emulated): "
                             f"{self.requests} per {self.window:g}s. Please try again in {wait:.3f}s.",
                             error_code="rate_limit_exceeded",
                             headers={"retry-after": f"{wait:.3f}", "retry-after-ms": str(int(math.ceil(wait * 1000))),
                                      "x-ratelimit-limit-requests": str(self.requests),
                                      "x-ratelimit-remaining-requests": "0",
                                      "x-ratelimit-reset-requests": f"{left:.3f}s"})
            self._count += 1
            self.answered.append(now)
            remaining = self.requests - self._count
        if self.reply is None:
            dialect = request._dialect
            text = dialect.last_user_text(request.json) if dialect is not None else ""
            answer = Reply(text="You said: " + text)
        elif isinstance(self.reply, Reply):
            answer = self.reply
        else:
            answer = self.reply(request)
        answer.headers = dict(answer.headers, **{"x-ratelimit-limit-requests": str(self.requests),
                                                 "x-ratelimit-remaining-requests": str(remaining)})
        return answer
