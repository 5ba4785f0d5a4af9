"""Retry policy: one immutable value holding configuration and state (sans-IO).

The I/O loop asks ``policy.delay_for(error)``: ``None`` means raise, a number means sleep that
long and try again with ``policy.increment()``.
"""
import email.utils
import random
import time
from dataclasses import dataclass, replace
from typing import Callable, Mapping, Optional

from .errors import LLMError

__all__ = ["RetryPolicy", "parse_retry_after", "parse_should_retry"]


@dataclass(frozen=True)
class RetryPolicy:
    """How llmunified retries failed calls. Defaults match the official OpenAI/Anthropic SDKs.

    ``max_retries``       retries after the first attempt (2: at most three attempts)
    ``initial_delay``     first backoff in seconds, doubled each retry ...
    ``max_delay``         ... up to this cap
    ``jitter``            each backoff is multiplied by ``1 - jitter * random()``
    ``max_server_delay``  a server's ``retry-after`` is obeyed when ``0 < value <= this``;
                          otherwise the backoff applies
    ``attempt``           retries already used (state; ``increment()`` returns a new policy)

    What is retried: errors whose ``retryable`` is true, i.e. connection errors, timeouts, 408,
    409, 429 and 5xx (529 included), unless the server said ``x-should-retry: false``; and
    anything the server marked ``x-should-retry: true``. A stream is never retried once its
    content has started reaching the caller.

    ``RetryPolicy(max_retries=0)`` turns retries off.
    """

    max_retries: int = 2
    initial_delay: float = 0.5
    max_delay: float = 8.0
    jitter: float = 0.25
    max_server_delay: float = 60.0
    attempt: int = 0

    def __post_init__(self) -> None:
        if min(self.max_retries, self.initial_delay, self.max_delay, self.max_server_delay, self.attempt) < 0:
            raise ValueError("RetryPolicy values must not be negative")
        if not 0 <= self.jitter <= 1:
            raise ValueError("RetryPolicy.jitter must be between 0 and 1")

    def delay_for(self, error: LLMError, rand: Callable[[], float] = random.random) -> Optional[float]:
        """Seconds to wait before retrying after ``error``, or None to give up."""
        if self.attempt >= self.max_retries or not error.retryable:
            return None
        server = error.retry_after
        if server is not None and 0 < server <= self.max_server_delay:
            return server
        backoff = min(self.initial_delay * (2 ** self.attempt), self.max_delay)
        return backoff * (1 - self.jitter * rand())

    def increment(self) -> "RetryPolicy":
        """The policy after one more retry."""
        return replace(self, attempt=self.attempt + 1)


def parse_retry_after(headers: Mapping[str, str], now: Optional[float] = None) -> Optional[float]:
    """Seconds the server asked us to wait: ``retry-after-ms``, then ``retry-after`` as seconds,
    then as an HTTP date. Headers must have lower-case keys."""
    value = headers.get("retry-after-ms")
    if value:
        try:
            return float(value) / 1000.0
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None:
        return None
    return parsed.timestamp() - (time.time() if now is None else now)


def parse_should_retry(headers: Mapping[str, str]) -> Optional[bool]:
    """The server's ``x-should-retry`` verdict, if it gave one."""
    value = headers.get("x-should-retry")
    if value == "true":
        return True
    if value == "false":
        return False
    return None
