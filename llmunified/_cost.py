"""What a call cost (sans-IO): :class:`Cost`, priced from a response's usage and the registry.

A cost is computed, never guessed: when a price the usage needs is unknown (the model is not
in the registry, or it has cache reads and no cache-read price) the answer is ``None``, not 0.
``Usage.input_tokens`` counts cached tokens too and ``output_tokens`` counts reasoning tokens
(see :class:`~llmunified.Usage`), so each token is priced exactly once:

    uncached input = input - cache read - cache write      at the input price
    cache read, cache write                                at their own prices
    visible output = output - reasoning                    at the output price
    reasoning                                              at the reasoning price, else the output price

A price tier (a higher rate above a prompt length, e.g. Gemini 2.5 Pro above 200k tokens)
applies when the request's input tokens exceed its threshold. A response that stands for
several billed calls (the rounds of ``Client.run``, the re-asks of ``extract``) is priced call
by call and summed, so each call's tier is its own.
"""
from __future__ import annotations
from ._dc import dataclass
from typing import TYPE_CHECKING, Any, Iterable, List, Optional, Sequence, Tuple

from .errors import ValidationError

if TYPE_CHECKING:  # pragma: no cover
    from ._models import Prices
    from ._types import Response, Usage

__all__ = ["Cost", "compute", "response_cost", "billed_parts", "bill", "sum_parts"]

#: (provider, model, usage) of one billed call
Part = Tuple[Optional[str], Optional[str], "Usage"]


@dataclass(frozen=True)
class Cost:
    """The price of one or more calls, in ``currency`` (USD for the bundled registry).

    ``total`` is the sum of the parts: ``input`` (uncached input tokens), ``cache_read``,
    ``cache_write``, ``output`` (visible output, reasoning excluded), ``reasoning`` and
    ``request`` (per-request fees). ``date`` is when the prices were published (the registry's
    snapshot date), ``model`` the registry entry priced (``None`` when a sum spans several),
    ``estimated`` True when the token counts were estimates rather than reported.

    Costs add up (``a + b``, ``sum(costs)``) when their currency is the same.
    """

    total: float
    input: float = 0.0
    cache_read: float = 0.0
    cache_write: float = 0.0
    output: float = 0.0
    reasoning: float = 0.0
    request: float = 0.0
    currency: str = "USD"
    date: Optional[str] = None
    model: Optional[str] = None
    estimated: bool = False

    def __add__(self, other: Any) -> "Cost":
        if not isinstance(other, Cost):
            return NotImplemented
        if other.currency != self.currency:
            raise ValidationError(f"cannot add a cost in {other.currency} to one in {self.currency}")
        dates = [d for d in (self.date, other.date) if d]
        return Cost(self.total + other.total, self.input + other.input, self.cache_read + other.cache_read,
                    self.cache_write + other.cache_write, self.output + other.output,
                    self.reasoning + other.reasoning, self.request + other.request, self.currency,
                    min(dates) if dates else None, self.model if self.model == other.model else None,
                    self.estimated or other.estimated)

    def __radd__(self, other: Any) -> "Cost":
        if isinstance(other, int) and other == 0:  # sum(costs) starts from 0
            return self
        return NotImplemented

    def __str__(self) -> str:
        return f"{self.total:.6f} {self.currency}"


def compute(prices: "Prices", usage: "Usage", model: Optional[str] = None, requests: int = 1) -> Optional[Cost]:
    """The cost of one call's ``usage`` at ``prices`` (None when a needed price is unknown).
    ``requests`` counts the per-request fee, if the prices have one."""
    inp = usage.input_tokens
    read = usage.cache_read_tokens
    written = usage.cache_write_tokens
    reasoning = usage.reasoning_tokens
    uncached = inp - read - written
    if uncached < 0:  # a provider's inconsistent counts: never a negative charge
        uncached = 0
    visible = usage.output_tokens - reasoning
    if visible < 0:
        visible = 0
    p_in, p_out, p_read, p_write, p_reason = prices.rates(inp)
    if p_reason is None:
        p_reason = p_out
    total = 0.0
    parts: List[float] = []
    for tokens, price in ((uncached, p_in), (read, p_read), (written, p_write), (visible, p_out),
                          (reasoning, p_reason)):
        if not tokens:
            parts.append(0.0)
            continue
        if price is None:
            return None
        amount = tokens * price / 1e6
        parts.append(amount)
        total += amount
    fee = prices.request * requests if prices.request else 0.0
    total += fee
    return Cost(total, parts[0], parts[1], parts[2], parts[3], parts[4], fee, prices.currency, prices.date, model,
                usage.estimated)


def price_usage(provider: Optional[str], model: Optional[str], usage: "Usage") -> Optional[Cost]:
    if not provider or not model:
        return None
    from ._models import prices_for

    found = prices_for(provider, model)
    if found is None:
        return None
    prices, name = found
    return compute(prices, usage, name)


def sum_parts(parts: Iterable[Part]) -> Optional[Cost]:
    """The summed cost of several billed calls (None when any is unknown, or currencies differ)."""
    total: Optional[Cost] = None
    for provider, model, usage in parts:
        cost = price_usage(provider, model, usage)
        if cost is None:
            return None
        if total is None:
            total = cost
        elif cost.currency != total.currency:
            return None
        else:
            total = total + cost
    return total


def billed_parts(response: "Response") -> Sequence[Part]:
    """The billed calls a response stands for (one, unless it sums several)."""
    billed = response.__dict__.get("_billed")
    if billed is not None:
        return billed
    return ((response.provider, response.model, response.usage),)


def bill(response: "Response", parts: Sequence[Part]) -> None:
    """Record that ``response`` stands for these billed calls (its ``cost`` sums them)."""
    response.__dict__["_billed"] = tuple(parts)


def response_cost(response: "Response") -> Optional[Cost]:
    """What :attr:`Response.cost <llmunified.Response.cost>` returns."""
    billed = response.__dict__.get("_billed")
    if billed is not None:
        return sum_parts(billed)
    return price_usage(response.provider, response.model, response.usage)
