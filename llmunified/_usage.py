"""Running usage and cost totals (sans-IO): what a Client, a ChatSession or a Router consumed.

Every ``Client`` keeps one :class:`UsageCounter`; each model call adds to it once (a response,
or a failure), so one client shared by many threads or tasks counts every call exactly once.
``client.usage_totals()`` reads it as a :class:`UsageTotals`.

Adding is cheap on purpose (it runs on every call): a lock-free append to a queue, folded into
the sums under a lock now and then. Folding sums the token counts and files each call's usage
under the price it will be charged at (the registry entry, the price tier its prompt length
selects) without building a :class:`~llmunified.Cost`; the costs are computed when the totals
are read, once per price group. Because a cost is linear in the token counts at
fixed rates, the sum equals the sum of each call's own ``Response.cost``.
"""
from __future__ import annotations
import threading
from collections import deque
from typing import TYPE_CHECKING, Any, Deque, Dict, Iterable, List, Optional, Tuple

if TYPE_CHECKING:  # pragma: no cover
    from ._cost import Cost
    from ._totals import UsageTotals
    from ._types import Usage

__all__ = ["UsageCounter", "FOLD_EVERY"]



#: how many calls may queue up before they are folded into the sums
FOLD_EVERY = 256

#: index of each sum in a price group's list: calls, then the adjusted token sums
_N, _IN, _OUT, _READ, _WRITE, _REASON = range(6)


class UsageCounter:
    """The thread-safe counter behind :class:`UsageTotals` (one per Client / ChatSession).

    Adding is a lock-free append to a queue (``deque.append`` is atomic); the queue is folded
    into the sums under the lock every :data:`FOLD_EVERY` calls and whenever the totals are read,
    so a call pays the filing of its usage once, amortized, and never waits for another."""

    __slots__ = ("_lock", "_pending", "_calls", "_errors", "_retries", "_tokens", "_estimated", "_groups",
                 "_unpriced")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        #: (provider, model, usage or None, calls, retries, errors) not folded in yet
        self._pending: Deque[Tuple[Any, ...]] = deque()
        self._reset()

    def _reset(self) -> None:
        self._calls = 0
        self._errors = 0
        self._retries = 0
        #: input, output, cache read, cache write, reasoning
        self._tokens = [0, 0, 0, 0, 0]
        self._estimated = False
        #: price group -> [prices, registry name, rates, estimated, sums]; see _file
        self._groups: Dict[Any, List[Any]] = {}
        self._unpriced = 0

    # -- adding (the hot path) ----------------------------------------------------------------
    def add(self, provider: Optional[str], model: Optional[str], usage: Optional["Usage"], attempts: int = 1,
            failed: bool = False) -> None:
        """One model call: its usage (None when nothing was billed), the HTTP attempts it took,
        and whether it failed."""
        pending = self._pending
        pending.append((provider, model, usage, 1, attempts - 1, 1 if failed else 0))
        if len(pending) >= FOLD_EVERY:
            self._fold()

    def add_usage(self, provider: Optional[str], model: Optional[str], usage: "Usage") -> None:
        """Tokens billed outside a counted call (none added to ``calls``)."""
        self._pending.append((provider, model, usage, 0, 0, 0))

    def add_parts(self, parts: Iterable[Tuple[Optional[str], Optional[str], "Usage"]], attempts: int = 1,
                  failed: bool = False) -> None:
        """Several billed calls at once (the rounds of a tool loop): each a call; ``failed``
        marks the last one as the one that failed (a loop that raised)."""
        items: List[Tuple[Any, ...]] = [(provider, model, usage, 1, 0, 0) for provider, model, usage in parts]
        items.append((None, None, None, 1 if failed and not items else 0, attempts - 1, 1 if failed else 0))
        self._pending.extend(items)
        if len(self._pending) >= FOLD_EVERY:
            self._fold()

    def _fold(self) -> None:
        """Move the queued calls into the sums."""
        pending = self._pending
        with self._lock:
            while True:
                try:
                    provider, model, usage, calls, retries, errors = pending.popleft()
                except IndexError:
                    return
                self._calls += calls
                self._retries += retries
                self._errors += errors
                if usage is not None:
                    self._file(usage, _filing(provider, model, usage))

    def _file(self, usage: "Usage", filed: Any) -> None:
        """Add ``usage`` (under the lock) to the token sums and to its price group (``filed``:
        what :func:`_filing` said: the group key and its facts, False for nothing to price, None
        for an unknown price)."""
        t = self._tokens
        t[0] += usage.input_tokens
        t[1] += usage.output_tokens
        t[2] += usage.cache_read_tokens
        t[3] += usage.cache_write_tokens
        t[4] += usage.reasoning_tokens
        if usage.estimated:
            self._estimated = True
        if filed is None:
            self._unpriced += 1
            return
        if filed is False:
            return
        key, inp, out, facts = filed
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = facts + [[0, 0, 0, 0, 0, 0]]
        sums = group[4]
        sums[_N] += 1
        sums[_IN] += inp
        sums[_OUT] += out
        sums[_READ] += usage.cache_read_tokens
        sums[_WRITE] += usage.cache_write_tokens
        sums[_REASON] += usage.reasoning_tokens

    def failed(self, error: Any) -> None:
        """A call that failed: counted, with what it billed (a broken stream's partial reply)."""
        response = getattr(error, "response", None)
        usage = getattr(response, "usage", None) if response is not None else None
        self.add(getattr(response, "provider", None) or getattr(error, "provider", None),
                 getattr(response, "model", None), usage, getattr(error, "attempts", 1), failed=True)

    # -- reading ----------------------------------------------------------------------------
    def totals(self, reset: bool = False) -> "UsageTotals":
        """The totals so far (``reset=True``: and start again from zero, atomically)."""
        self._fold()
        with self._lock:
            calls, errors, retries, tokens = self._calls, self._errors, self._retries, list(self._tokens)
            groups = [(g[0], g[1], g[2], g[3], list(g[4])) for g in self._groups.values()]  # a consistent copy
            unpriced, estimated = self._unpriced, self._estimated
            if reset:
                self._reset()
        cost: Optional["Cost"] = None
        for prices, name, rates, group_estimated, sums in groups:
            priced = _group_cost(prices, name, rates, group_estimated, sums)
            if priced is None or (cost is not None and priced.currency != cost.currency):
                unpriced += sums[_N]
            else:
                cost = priced if cost is None else cost + priced
        from ._totals import UsageTotals  # the dataclass loads when totals are first read

        return UsageTotals(calls, errors, retries, tokens[0], tokens[1], tokens[2], tokens[3], tokens[4], cost,
                           unpriced, estimated)


def _filing(provider: Optional[str], model: Optional[str], usage: "Usage") -> Any:
    """Where one call's usage is priced (worked out outside the counter's lock): False when it
    billed no tokens, None when its price is unknown, else (the price group's key, the adjusted
    input and output tokens, [prices, registry name, rates, estimated]).

    Each token is priced once (``llmunified._cost``): the uncached input and the visible output
    are what is left after the cached and reasoning tokens, never below 0 for a provider's
    inconsistent counts; the input and output are adjusted so the group's sums say the same.
    Calls are grouped by the rates they are charged (the tier their prompt length selects),
    which token kinds they have (a missing price matters only for a kind a call has) and whether
    their counts were estimated."""
    inp, out = usage.input_tokens, usage.output_tokens
    read, written, reasoning = usage.cache_read_tokens, usage.cache_write_tokens, usage.reasoning_tokens
    if not (inp or out or read or written or reasoning):
        return False  # nothing billed by tokens (an error status): nothing to price
    found = _prices_for(provider, model) if provider and model else None
    if found is None:
        return None
    prices, name = found
    cached = read + written
    if inp < cached:
        inp = cached
    if out < reasoning:
        out = reasoning
    rates = prices.rates(usage.input_tokens) if prices.tiers else None
    kinds = (inp > cached) | (read > 0) << 1 | (written > 0) << 2 | (out > reasoning) << 3 | (reasoning > 0) << 4
    return (id(prices), rates, kinds, usage.estimated), inp, out, [prices, name, rates, usage.estimated]


def _group_cost(prices: Any, name: str, rates: Optional[Tuple[Any, ...]], estimated: bool, sums: List[int]
                ) -> Optional["Cost"]:
    """The cost of a price group's calls: their summed usage at the group's rates (the tier each
    call's prompt length selected, the same for every call of the group), the request fee per call."""
    from ._dc import replace

    from ._cost import compute
    from ._types import Usage

    if rates is None:  # no tiers: the base rates
        return compute(prices, _group_usage(sums, estimated, Usage), name, requests=sums[_N])
    flat = replace(prices, input=rates[0], output=rates[1], cache_read=rates[2], cache_write=rates[3],
                   reasoning=rates[4], tiers=())
    return compute(flat, _group_usage(sums, estimated, Usage), name, requests=sums[_N])


def _group_usage(sums: List[int], estimated: bool, usage_type: Any) -> "Usage":
    return usage_type(sums[_IN], sums[_OUT], sums[_IN] + sums[_OUT], sums[_READ], sums[_WRITE], sums[_REASON],
                      estimated)


_prices: Any = None


def _prices_for(provider: str, model: str) -> Any:
    global _prices
    if _prices is None:
        from ._models import prices_for

        _prices = prices_for
    return _prices(provider, model)


def __getattr__(name: str) -> Any:
    # ``from llmunified._usage import UsageTotals`` still works; the dataclass loads on first use
    if name == "UsageTotals":
        from ._totals import UsageTotals

        return UsageTotals
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
