"""Client-side rate limits and the shared backoff of bulk calls (sans-IO: no sleeping).

:class:`RateLimiter` answers one question, "may a request of ``tokens`` tokens start at
``now``, and if not, in how many seconds?", for three constraints at once:

``rpm``     requests per minute, paced evenly: starts are at least ``60 / rpm`` seconds apart
            (a provider enforces its per-minute limit over shorter windows, so a burst of a
            whole minute's budget at once is what gets a 429)
``tpm``     tokens per minute over a sliding 60-second window: the estimates of the requests
            started in the last minute, each corrected by :meth:`settle` with the usage its reply
            reported; a request bigger than the whole budget still starts, alone, when the window
            is empty (the provider has the final word on it)
pause       the shared backoff: after a 429 every worker waits until the server's
            ``Retry-After`` (else an exponential backoff of consecutive 429s), not only the one
            that was refused

The clock is injected (``clock=``, seconds, monotonic) and every method also takes ``now``, so
the state machine is tested without sleeping. The I/O layer (``llmunified._sync._bulk``) sleeps
for what :meth:`RateLimiter.delay` says, and only it. One driver uses a limiter (no lock).
"""
from __future__ import annotations
import time
from collections import deque
from typing import Any, Callable, Deque, Optional

from .errors import ValidationError

__all__ = ["RateLimiter", "check_positive"]

#: the window of the per-minute limits, in seconds
MINUTE = 60.0


def check_positive(name: str, value: Any, *, integer: bool = False, optional: bool = True) -> Any:
    """``value`` if it is a positive number (an int with ``integer``), else ValidationError;
    None passes when ``optional``."""
    if value is None and optional:
        return None
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or not value > 0 or value != value:
        what = "a positive int" if integer else "a positive number"
        raise ValidationError(f"{name} must be {what}{' or None' if optional else ''}, got {value!r}")
    return value


class _Entry:
    """One started request in the token window: when it started and its tokens (estimated,
    then what the reply reported)."""

    __slots__ = ("at", "tokens", "gone")

    def __init__(self, at: float, tokens: int) -> None:
        self.at = at
        self.tokens = tokens
        self.gone = False  # left the window


class RateLimiter:
    """Requests-per-minute and tokens-per-minute budgets with one shared backoff.

    >>> limiter = RateLimiter(rpm=120, clock=lambda: 0.0)
    >>> limiter.delay(now=0.0)
    0.0
    >>> ticket = limiter.acquire(now=0.0)
    >>> limiter.delay(now=0.0)      # the next start is half a second later
    0.5

    ``rate_limited(now, retry_after)`` records a 429 and returns the pause every request now
    waits (the server's ``retry_after`` when it gave one, else ``initial_backoff`` doubled for
    each 429 in a row, up to ``max_backoff``); ``succeeded()`` ends such a run of 429s.
    """

    def __init__(self, rpm: Optional[float] = None, tpm: Optional[float] = None, *,
                 clock: Callable[[], float] = time.monotonic, window: float = MINUTE,
                 initial_backoff: float = 1.0, max_backoff: float = 60.0) -> None:
        self.rpm = check_positive("rpm", rpm)
        self.tpm = check_positive("tpm", tpm)
        self.clock = clock
        self.window = window
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.interval = window / rpm if rpm else 0.0
        self._next_start = float("-inf")  # rpm pacing: the earliest next start
        self._ledger: Deque[_Entry] = deque()  # tpm: requests started within the window
        self._used = 0  # the tokens of the ledger's entries
        self.paused_until = float("-inf")
        self.limited_in_a_row = 0  # consecutive 429s (the backoff's exponent)
        self.pauses = 0  # how many shared pauses were started

    def __repr__(self) -> str:
        return f"RateLimiter(rpm={self.rpm!r}, tpm={self.tpm!r})"

    def _now(self, now: Optional[float]) -> float:
        return self.clock() if now is None else now

    def _expire(self, now: float) -> None:
        ledger = self._ledger
        horizon = now - self.window
        while ledger and ledger[0].at <= horizon:
            entry = ledger.popleft()
            entry.gone = True
            self._used -= entry.tokens

    def tokens_in_window(self, now: Optional[float] = None) -> int:
        """The tokens of the requests started within the last window."""
        self._expire(self._now(now))
        return self._used

    def delay(self, tokens: int = 0, now: Optional[float] = None) -> float:
        """Seconds until a request of ``tokens`` (estimated) tokens may start: 0.0 for now."""
        now = self._now(now)
        wait = max(self.paused_until - now, self._next_start - now, 0.0)
        if self.tpm is not None:
            self._expire(now)
            over = self._used + tokens - self.tpm
            if over > 0 and self._ledger:
                # wait until enough of the oldest entries leave the window (or all of them: a
                # request bigger than the budget goes alone)
                freed = 0
                for entry in self._ledger:
                    freed += entry.tokens
                    if freed >= over:
                        break
                wait = max(wait, entry.at + self.window - now)
        return wait

    def acquire(self, tokens: int = 0, now: Optional[float] = None) -> Any:
        """Record a request starting at ``now`` (after :meth:`delay` said 0); the returned ticket
        goes to :meth:`settle` once the reply says what it really used."""
        now = self._now(now)
        if self.interval:
            self._next_start = max(self._next_start, now) + self.interval
        if self.tpm is None:
            return None
        entry = _Entry(now, max(int(tokens), 0))
        self._ledger.append(entry)
        self._used += entry.tokens
        return entry

    def settle(self, ticket: Any, tokens: Optional[int]) -> None:
        """Correct a started request's token estimate with what its reply reported (``None``:
        keep the estimate)."""
        if ticket is None or tokens is None:
            return
        tokens = max(int(tokens), 0)
        if not ticket.gone:
            self._used += tokens - ticket.tokens
        ticket.tokens = tokens

    def pause(self, seconds: float, now: Optional[float] = None) -> float:
        """Nothing starts for ``seconds`` from ``now`` (a later pause already set stands).
        Returns the time the pause ends."""
        now = self._now(now)
        until = now + max(seconds, 0.0)
        if until > self.paused_until:
            if self.paused_until <= now:
                self.pauses += 1
            self.paused_until = until
        return self.paused_until

    def rate_limited(self, retry_after: Optional[float] = None, now: Optional[float] = None) -> float:
        """A request was answered 429: pause every request (the server's ``retry_after``, else
        the backoff of this run of 429s); returns the seconds from ``now`` the pause lasts."""
        now = self._now(now)
        self.limited_in_a_row += 1
        if retry_after is not None and retry_after > 0:
            wait = min(float(retry_after), self.max_backoff * 10)
        else:
            wait = min(self.initial_backoff * (2 ** (self.limited_in_a_row - 1)), self.max_backoff)
        return self.pause(wait, now) - now

    def succeeded(self) -> None:
        """A request went through: a later 429 starts the backoff from the beginning."""
        self.limited_in_a_row = 0
