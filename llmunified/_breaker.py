"""The Router's sans-IO core: a per-entry circuit breaker, the failover decision for an error,
and the order in which a call tries the entries (shared by ``llmunified`` and ``llmunified_async``).

Nothing here sleeps or does I/O. The breaker reads time only through its ``clock`` (a callable
returning seconds, ``time.monotonic`` by default), so tests drive it with a fake clock. Its
lock guards a few field updates and is never held across a call or an ``await``: one breaker is
safe to share between threads, and between tasks of an event loop.
"""
from __future__ import annotations
import threading
import time
from collections import deque
from typing import Any, Callable, Deque, List, Optional, Sequence, Tuple

from .errors import (AuthenticationError, BadRequestError, ConnectionError, ContentFilterError,
                     ContextWindowExceededError, LLMError, OverloadedError, RateLimitError, ServerError, StreamError,
                     TimeoutError, UnsupportedOperationError, ValidationError)

__all__ = ["Breaker", "CLOSED", "OPEN", "HALF_OPEN", "DEFAULT_FAIL_OVER", "decide", "check_fail_over_on",
           "Rotation", "check_rate", "DEFAULT_WINDOW", "DEFAULT_MIN_CALLS"]

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half_open"

#: the errors a Router fails over on by default: the entry is down, slow or saturated
#: (a StreamError only while no content reached the caller), or the prompt is too long for it
#: (only to an entry with a larger context window)
DEFAULT_FAIL_OVER: Tuple[type, ...] = (ConnectionError, TimeoutError, RateLimitError, OverloadedError, ServerError,
                                       StreamError, ContextWindowExceededError)

#: what the Router does after an entry's error (see :func:`decide`)
FAIL_OVER = "fail_over"      # the entry failed: count it on its breaker, try the next entry
LARGER = "larger"            # the prompt is too long here: try an entry with a larger context window
ANSWERED = "answered"        # the entry answered (content filter): try the next entry, the entry is healthy
DISABLE = "disable"          # the entry's credentials are refused: open its breaker, try the next
RAISE = "raise"              # the caller's own mistake, or not worth it: raise it, no failover
SKIP = "skip"                # the entry cannot do this at all (embeddings on Anthropic): try the next


#: the calls a failure rate is measured over by default, and the fewest it is judged on
DEFAULT_WINDOW = 20
DEFAULT_MIN_CALLS = 10


class Breaker:
    """One entry's circuit breaker.

    ``closed``: calls go through; ``failure_threshold`` consecutive failures open it, and so
    does, with ``failure_rate`` set, a share of failures at or above ``failure_rate`` among the
    last ``window`` calls (counted once at least ``min_calls`` calls are in the window: a few
    unlucky first calls do not open it). ``open``:
    calls skip the entry for ``cooldown`` seconds, or for the provider's Retry-After when that
    is longer. Then ``half_open``: exactly one call (the probe) is let through, concurrent
    callers keep skipping the entry; the probe's success closes the breaker, its failure opens
    it again for another cooldown.

    A call asks :meth:`admit` first (False: skip the entry), then reports exactly one of
    :meth:`success`, :meth:`failure` or :meth:`release` (ended without a verdict, e.g.
    interrupted), passing along what :meth:`admit` returned.
    """

    def __init__(self, failure_threshold: int = 3, cooldown: float = 30.0,
                 clock: Optional[Callable[[], float]] = None, *, failure_rate: Optional[float] = None,
                 window: int = DEFAULT_WINDOW, min_calls: Optional[int] = None) -> None:
        if isinstance(failure_threshold, bool) or not isinstance(failure_threshold, int) or failure_threshold < 1:
            raise ValidationError(f"failure_threshold must be a positive int, got {failure_threshold!r}")
        if isinstance(cooldown, bool) or not isinstance(cooldown, (int, float)) or not cooldown >= 0:
            raise ValidationError(f"cooldown must be a number of seconds >= 0, got {cooldown!r}")
        rate, window, min_calls = check_rate(failure_rate, window, min_calls)
        self.failure_threshold = failure_threshold
        self.cooldown = float(cooldown)
        #: the share of failures among the last ``window`` calls that opens the breaker (None: off)
        self.failure_rate = rate
        self.window = window
        self.min_calls = min_calls
        # the outcomes (True: a failure) of the last ``window`` calls while closed, and how many failed
        self._outcomes: Deque[bool] = deque(maxlen=window)
        self._failed_in_window = 0
        self._clock: Callable[[], float] = clock or time.monotonic
        self._lock = threading.Lock()
        self._state = CLOSED
        self._failures = 0          # consecutive failures while closed
        self._until = 0.0           # while open: when the probe may go
        self._probing = False       # half open: the probe is out
        #: the last error the entry failed with (None before any)
        self.last_error: Optional[BaseException] = None
        #: how many times the breaker opened
        self.opened = 0

    # -- reading -------------------------------------------------------------------------------
    @property
    def state(self) -> str:
        """``"closed"``, ``"open"`` or ``"half_open"`` (the cooldown is over: the next call is
        the probe, or the probe is out)."""
        with self._lock:
            if self._state == OPEN and self._clock() >= self._until:
                return HALF_OPEN
            return self._state

    @property
    def failures(self) -> int:
        """Consecutive failures counted while closed."""
        return self._failures

    @property
    def observed_rate(self) -> Optional[float]:
        """The share of failures among the calls in the window (None before any call is in it);
        only kept with ``failure_rate`` set."""
        with self._lock:
            n = len(self._outcomes)
            return self._failed_in_window / n if n else None

    def retry_in(self) -> float:
        """Seconds until an open breaker lets its probe through (0 when it would now)."""
        with self._lock:
            if self._state != OPEN:
                return 0.0
            return max(0.0, self._until - self._clock())

    def available(self) -> bool:
        """Whether :meth:`admit` would let a call through now (without admitting one)."""
        with self._lock:
            if self._state == CLOSED:
                return True
            if self._state == OPEN:
                return self._clock() >= self._until
            return not self._probing

    # -- a call's life -------------------------------------------------------------------------
    def admit(self) -> Optional[bool]:
        """Let a call through: False for a normal call, True for the half-open probe, None when
        the entry is to be skipped (open, or its probe is already out)."""
        if self._state == CLOSED:  # the healthy case, read without the lock: admitting changes nothing
            return False
        with self._lock:
            state = self._state
            if state == CLOSED:
                return False
            if state == OPEN:
                if self._clock() < self._until:
                    return None
                self._state = HALF_OPEN
            elif self._probing:
                return None
            self._probing = True
            return True

    def success(self, probe: Optional[bool] = False) -> None:
        """The entry answered: the breaker closes and its failure count starts again."""
        if not probe and self._failures == 0 and self._state == CLOSED and self.failure_rate is None:
            return  # healthy, nothing to count: as if this call came just before any concurrent change
        with self._lock:
            if probe:
                self._probing = False
            if self._state == OPEN and not probe:
                return  # a call admitted before the breaker opened: the cooldown stands
            if self._state != CLOSED:
                self._reset_window()  # closing: the rate starts again from the calls to come
            elif self.failure_rate is not None:
                self._count(False)
            self._state = CLOSED
            self._failures = 0

    def failure(self, error: Optional[BaseException] = None, probe: Optional[bool] = False) -> None:
        """The entry failed. Closed: one more consecutive failure (the breaker opens at
        ``failure_threshold``). The probe: open again. The cooldown is the error's
        ``retry_after`` when that is longer."""
        with self._lock:
            if error is not None:
                self.last_error = error
            if probe:
                self._probing = False
                self._open(error)
            elif self._state == CLOSED:
                self._failures += 1
                if self._failures >= self.failure_threshold:
                    self._open(error)
                elif self.failure_rate is not None:
                    self._count(True)
                    n = len(self._outcomes)
                    if n >= self.min_calls and self._failed_in_window >= self.failure_rate * n - 1e-9:
                        self._open(error)
            elif self._state == OPEN:
                self._extend(error)  # a call admitted before it opened: only a longer Retry-After counts

    def trip(self, error: Optional[BaseException] = None, probe: Optional[bool] = False) -> None:
        """Open the breaker now, whatever the count (the entry's credentials were refused)."""
        with self._lock:
            if error is not None:
                self.last_error = error
            if probe:
                self._probing = False
            if self._state == OPEN:
                self._extend(error)
            else:
                self._open(error)

    def release(self, probe: Optional[bool] = False) -> None:
        """The call ended without telling anything about the entry (interrupted, cancelled):
        a probe's slot is freed for the next caller; nothing else changes."""
        if probe:
            with self._lock:
                self._probing = False

    def _count(self, failed: bool) -> None:
        """One more call's outcome in the window (the oldest leaves it once it is full)."""
        outcomes = self._outcomes
        if len(outcomes) == outcomes.maxlen and outcomes[0]:
            self._failed_in_window -= 1
        outcomes.append(failed)
        if failed:
            self._failed_in_window += 1

    def _reset_window(self) -> None:
        self._outcomes.clear()
        self._failed_in_window = 0

    def _open(self, error: Optional[BaseException]) -> None:
        self._state = OPEN
        self._failures = 0
        self._reset_window()
        self._until = self._clock() + _cooldown(self.cooldown, error)
        self.opened += 1

    def _extend(self, error: Optional[BaseException]) -> None:
        self._until = max(self._until, self._clock() + _cooldown(self.cooldown, error))

    def __repr__(self) -> str:
        rate = f" rate={self._failed_in_window}/{len(self._outcomes)}" if self.failure_rate is not None else ""
        return f"<Breaker {self.state} failures={self._failures}{rate}>"



def check_rate(failure_rate: Any, window: Any, min_calls: Any) -> Tuple[Optional[float], int, int]:
    """``failure_rate`` / ``window`` / ``min_calls`` checked: (rate or None, window, min_calls);
    ``min_calls`` defaults to ``min(10, window)``."""
    if failure_rate is not None and (isinstance(failure_rate, bool) or not isinstance(failure_rate, (int, float))
                                     or not 0 < failure_rate <= 1):
        raise ValidationError(f"failure_rate must be a number with 0 < failure_rate <= 1 (0.5: half the calls "
                              f"failing opens the breaker), or None to count only consecutive failures; got "
                              f"{failure_rate!r}")
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise ValidationError(f"window must be a positive int (the last calls a failure rate is measured over), "
                              f"got {window!r}")
    if min_calls is None:
        min_calls = min(DEFAULT_MIN_CALLS, window)
    elif isinstance(min_calls, bool) or not isinstance(min_calls, int) or not 1 <= min_calls <= window:
        raise ValidationError(f"min_calls must be an int from 1 to window ({window}): the fewest calls in the "
                              f"window before a failure rate can open the breaker; got {min_calls!r}")
    return (float(failure_rate) if failure_rate is not None else None), window, min_calls


def _cooldown(cooldown: float, error: Optional[BaseException]) -> float:
    """The seconds to stay open: ``cooldown``, or the provider's Retry-After when longer."""
    retry_after = getattr(error, "retry_after", None)
    if isinstance(retry_after, (int, float)) and not isinstance(retry_after, bool) and retry_after > cooldown:
        return float(retry_after)
    return cooldown


def check_fail_over_on(classes: Any) -> Tuple[type, ...]:
    """``fail_over_on`` as a tuple of error classes; caller mistakes are refused (a bad request
    fails the same way on every entry)."""
    if classes is None:
        return DEFAULT_FAIL_OVER
    if isinstance(classes, type):
        classes = (classes,)
    try:
        out = tuple(classes)
    except TypeError:
        raise ValidationError(f"fail_over_on takes error classes, got {classes!r}") from None
    for cls in out:
        if not isinstance(cls, type) or not issubclass(cls, LLMError):
            raise ValidationError(f"fail_over_on takes classes from llmunified.errors, got {cls!r}")
        if issubclass(cls, ValidationError) or (
                issubclass(cls, BadRequestError)
                and not issubclass(cls, (ContextWindowExceededError, ContentFilterError))):
            raise ValidationError(
                f"a Router never fails over on {cls.__name__}: the request itself is at fault and would fail the "
                "same way on every entry (ContextWindowExceededError and ContentFilterError are the exceptions)")
        if issubclass(cls, AuthenticationError):
            raise ValidationError(f"fail_over_on cannot take {cls.__name__}: a refused key always opens that "
                                  "entry's breaker and moves on to the next entry")
    return out


def decide(error: BaseException, fail_over_on: Tuple[type, ...], content: bool = False) -> str:
    """What a Router does after an entry raised ``error``: one of ``fail_over``, ``larger``,
    ``answered``, ``disable``, ``skip`` or ``raise``. ``content``: part of a stream's reply already
    reached the caller (nothing fails over then)."""
    if not isinstance(error, LLMError) or isinstance(error, ValidationError):
        return RAISE  # not the entry's answer: our own validation, an interrupt, a bug
    if isinstance(error, AuthenticationError):
        return DISABLE
    if isinstance(error, UnsupportedOperationError):
        return SKIP  # refused before any request: another entry's provider may have it
    if content:
        return RAISE
    if not isinstance(error, fail_over_on):
        return RAISE
    if isinstance(error, ContextWindowExceededError):
        return LARGER
    if isinstance(error, BadRequestError):  # a content filter, when configured
        return ANSWERED
    return FAIL_OVER


def counts_as_failure(error: BaseException) -> bool:
    """Whether ``error`` says the entry is unwell (for its breaker), whether or not the call fails
    over: down, slow, saturated or broken."""
    return isinstance(error, (ConnectionError, TimeoutError, RateLimitError, OverloadedError, ServerError,
                              StreamError))


class Rotation:
    """The order a call tries ``n`` entries in, by strategy: ``fallback`` (always the given
    order), ``round_robin`` (each call starts one entry further, then the rest in order) and
    ``weighted`` (smooth weighted round robin: over any ``sum(weights)`` consecutive calls, each
    entry comes first exactly ``weight`` times, evenly spread; then the rest in order). Safe to
    share between threads."""

    STRATEGIES = ("fallback", "round_robin", "weighted")

    def __init__(self, n: int, strategy: str = "fallback", weights: Optional[Sequence[float]] = None) -> None:
        if strategy not in self.STRATEGIES:
            raise ValidationError(f"strategy must be one of {', '.join(self.STRATEGIES)}, got {strategy!r}")
        if weights is not None:
            if strategy != "weighted":
                raise ValidationError(f"weights= is for strategy='weighted' (got strategy={strategy!r})")
            weights = list(weights)
            if len(weights) != n:
                raise ValidationError(f"weights has {len(weights)} values for {n} entries: give one per entry")
            for w in weights:
                if isinstance(w, bool) or not isinstance(w, (int, float)) or not w >= 0:
                    raise ValidationError(f"a weight is a number >= 0, got {w!r}")
            if not any(weights):
                raise ValidationError("at least one weight must be above 0")
        elif strategy == "weighted":
            weights = [1.0] * n
        self.strategy = strategy
        self.n = n
        self.weights: Optional[List[float]] = [float(w) for w in weights] if weights is not None else None
        self._lock = threading.Lock()
        self._next = 0
        self._current = [0.0] * n

    def order(self) -> List[int]:
        """The entry indices for the next call, in the order to try them."""
        n = self.n
        if self.strategy == "fallback" or n == 1:
            return list(range(n))
        first = self.first()
        if self.strategy == "round_robin":
            return [(first + i) % n for i in range(n)]
        return [first] + [i for i in range(n) if i != first]

    def first(self) -> int:
        """The entry the next call tries first (round robin: each call starts at the next entry;
        weighted: by weight); the others follow as :meth:`order` gives them."""
        if self.strategy == "fallback" or self.n == 1:
            return 0
        with self._lock:
            if self.strategy == "round_robin":
                first = self._next
                self._next = (first + 1) % self.n
                return first
            return self._pick()

    def _pick(self) -> int:
        weights = self.weights
        assert weights is not None
        current = self._current
        total = 0.0
        best = -1
        for i, w in enumerate(weights):
            current[i] += w
            total += w
            if w > 0 and (best < 0 or current[i] > current[best]):
                best = i
        current[best] -= total
        return best
