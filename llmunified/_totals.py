"""The value of ``client.usage_totals()`` (see ``llmunified._usage`` for how it is counted)."""
from __future__ import annotations
from ._dc import dataclass, own_fields
from typing import Any, Optional

from ._cost import Cost  # at run time too: typing.get_type_hints(UsageTotals) resolves it

__all__ = ["UsageTotals"]


@dataclass(frozen=True)
class UsageTotals:
    """Running totals of the model calls made through a Client (or a ChatSession, a Router).

    ``calls`` counts every model call (each round of a tool loop, each attempt of ``extract``,
    each stream), ``errors`` those that failed (counted in ``calls`` too) and ``retries`` the
    extra HTTP attempts the retry policy made. Token figures are summed as the providers
    reported them (see :class:`~llmunified.Usage`: ``input_tokens`` includes cached tokens,
    ``output_tokens`` includes reasoning). ``cost`` is the sum of the costs that are known (a
    :class:`~llmunified.Cost`, ``None`` when none is); ``unpriced_calls`` counts the calls with
    tokens whose price is unknown (an unknown model, a missing price), which ``cost`` leaves
    out: never a made-up 0. ``estimated`` is True when any figure was estimated.

    Totals add up (``a + b``, ``sum(totals)``).
    """

    calls: int = 0
    errors: int = 0
    retries: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    cost: Optional[Cost] = None
    unpriced_calls: int = 0
    estimated: bool = False

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Any) -> "UsageTotals":
        if not isinstance(other, UsageTotals):
            return NotImplemented
        cost = self.cost
        unpriced = self.unpriced_calls + other.unpriced_calls
        if other.cost is not None:
            if cost is None:
                cost = other.cost
            elif cost.currency == other.cost.currency:
                cost = cost + other.cost
            else:  # a sum over currencies has no meaning: the other side counts as unpriced
                unpriced += other.calls - other.unpriced_calls
        counts = {name: getattr(self, name) + getattr(other, name) for name in _COUNTS}
        return UsageTotals(cost=cost, unpriced_calls=unpriced, estimated=self.estimated or other.estimated,
                           **counts)

    def __radd__(self, other: Any) -> "UsageTotals":
        if isinstance(other, int) and other == 0:  # sum(totals) starts from 0
            return self
        return NotImplemented


_COUNTS = [name for name in own_fields(UsageTotals) if name not in ("cost", "unpriced_calls", "estimated")]
