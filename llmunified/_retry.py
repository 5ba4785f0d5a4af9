"""Retry policy: one immutable value holding configuration and state (sans-IO).

The I/O loop asks ``policy.delay_for(error)``: ``None`` means raise, a number means sleep that
long and try again with ``policy.increment(delay)``. A stream that fails before any content
reached the caller asks :func:`retryable_before_content` first, then the same policy.
"""
from __future__ import annotations
import email.utils
import random
import time
from ._dc import dataclass, replace
from typing import Any, Callable, Iterable, Mapping, Optional, Tuple

from .errors import APIError, LLMError, StreamConnectionError, StreamTimeoutError

__all__ = ["RetryPolicy", "parse_retry_after", "parse_should_retry", "retryable_before_content", "CONTENT_EVENTS",
           "has_content", "record_attempts"]


@dataclass(frozen=True)
class RetryPolicy:
    """How llmunified retries failed calls. Defaults match the official OpenAI/Anthropic SDKs.

    ``max_retries``       retries after the first attempt (2: at most three attempts)
    ``initial_delay``     first backoff in seconds, doubled each retry ...
    ``max_delay``         ... up to this cap
    ``jitter``            each backoff is multiplied by ``1 - jitter * random()``
    ``max_server_delay``  a server's ``retry-after`` is obeyed when ``0 < value <= this``;
                          otherwise the backoff applies (unless ``max_wait`` says give up)
    ``max_wait``          the most seconds one call may spend waiting between attempts, all
                          waits together (None: no limit but the others). A wait that would go
                          past it is not taken: the error is raised at once, its
                          ``retry_after`` saying what the server asked for. So
                          ``RetryPolicy(max_wait=5)`` fails fast on a 429 asking for 30 s
                          instead of sleeping past what the caller can afford.
    ``attempt``           retries already used (state; ``increment()`` returns a new policy)
    ``waits``             the seconds waited before each of those retries (state)

    What is retried: errors whose ``retryable`` is true, i.e. connection errors, timeouts, 408,
    409, 429 and 5xx (529 included), unless the server said ``x-should-retry: false``; and
    anything the server marked ``x-should-retry: true``. ``retry-after-ms`` / ``retry-after``
    are read from each failed attempt's own reply, never carried over from an earlier one.

    Streams are retried too, under the same policy and budget, as long as no content (text,
    thinking or a tool call: :data:`CONTENT_EVENTS`) has reached the caller: a connection that
    breaks or stalls, an error status, or an in-stream error of a retryable kind (overloaded,
    rate limited, a server error) before the first content event is retried transparently, and
    the caller's ``for event in stream`` only sees the successful attempt. Once content has been
    delivered a stream is never retried: the typed error carries the partial reply.

    Every :class:`~llmunified.Response` and every error says what it took: ``attempts`` (HTTP
    requests made, 1 when nothing was retried) and ``waits`` (the seconds slept before each
    retry).

    ``RetryPolicy(max_retries=0)`` turns retries off.
    """

    max_retries: int = 2
    initial_delay: float = 0.5
    max_delay: float = 8.0
    jitter: float = 0.25
    max_server_delay: float = 60.0
    attempt: int = 0
    max_wait: Optional[float] = None
    waits: Tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if min(self.max_retries, self.initial_delay, self.max_delay, self.max_server_delay, self.attempt) < 0:
            raise ValueError("RetryPolicy values must not be negative")
        if not 0 <= self.jitter <= 1:
            raise ValueError("RetryPolicy.jitter must be between 0 and 1")
        if self.max_wait is not None and (isinstance(self.max_wait, bool) or not self.max_wait >= 0):
            raise ValueError(f"RetryPolicy.max_wait must be None or seconds >= 0, got {self.max_wait!r}")
        if not isinstance(self.waits, tuple):
            object.__setattr__(self, "waits", tuple(self.waits))

    @property
    def waited(self) -> float:
        """Seconds waited so far, all retries together."""
        return sum(self.waits)

    def delay_for(self, error: LLMError, rand: Callable[[], float] = random.random) -> Optional[float]:
        """Seconds to wait before retrying after ``error``, or None to give up."""
        if self.attempt >= self.max_retries or not error.retryable:
            return None
        server = error.retry_after
        if server is not None and 0 < server <= self.max_server_delay:
            delay = server
        else:
            backoff = min(self.initial_delay * (2 ** self.attempt), self.max_delay)
            delay = backoff * (1 - self.jitter * rand())
        if self.max_wait is not None:
            left = self.max_wait - self.waited
            # the server's own wait counts even beyond max_server_delay: retrying sooner than
            # it asked is pointless when the budget cannot cover it
            if delay > left or (server is not None and server > left):
                return None
        return delay

    def increment(self, wait: Optional[float] = None) -> "RetryPolicy":
        """The policy after one more retry (``wait``: the seconds waited before it, recorded in
        ``waits`` and counted against ``max_wait``)."""
        if wait is None:
            return replace(self, attempt=self.attempt + 1)
        return replace(self, attempt=self.attempt + 1, waits=self.waits + (wait,))


#: the stream events that are content: once one has reached the caller a stream is not retried
#: (usage and finish events are not content: they are held back until content or the end)
CONTENT_EVENTS = frozenset({"text", "thinking", "tool_call_start", "tool_call_delta", "tool_call_end"})


def has_content(events: Iterable[Any]) -> bool:
    """True when any of ``events`` is content (see :data:`CONTENT_EVENTS`)."""
    return any(event.type in CONTENT_EVENTS for event in events)


def retryable_before_content(error: LLMError) -> bool:
    """Whether a stream failure that came before any content reached the caller may be retried:
    exactly when the same failure of a plain request would be.

    A stream that stalled or lost its connection is a timeout / connection error of a plain
    call (retryable). An error event inside the 200 stream is retryable when its kind is
    (overloaded, rate limited, a server error: the class's default), unless the stream's reply
    said ``x-should-retry``. Anything else keeps its own verdict (an HTTP error status was
    already judged as for a plain call).
    """
    if isinstance(error, (StreamTimeoutError, StreamConnectionError)):
        return True
    if isinstance(error, APIError) and error.status is None:  # an error event in a 200 stream
        should = parse_should_retry(error.headers)
        return should if should is not None else type(error).default_retryable
    return error.retryable


def record_attempts(target: Any, policy: RetryPolicy) -> Any:
    """Note on a Response or an error how many attempts ``policy``'s call took and its waits
    (nothing to note when there was no retry: the defaults say one attempt, no waits)."""
    if policy.attempt:
        target.attempts = policy.attempt + 1
        target.waits = policy.waits
    return target


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
