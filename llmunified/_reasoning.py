"""The ``reasoning=`` and ``cache=`` options (sans-IO): their accepted values, and the tables
every codec maps them with.

``reasoning`` takes an effort level, a token budget, or ``False``. Providers take one of two
kinds of control (or only an on/off switch), so each kind is converted to the other with one
documented table:

=========  ===================  =============================================================
level      budget (tokens)      used where an API takes only a budget
=========  ===================  =============================================================
minimal    1,024                Anthropic's smallest allowed budget
low        2,048
medium     8,192
high       24,576               Gemini 2.5 Flash's largest budget
=========  ===================  =============================================================

A budget sent to an API that takes only a level becomes the nearest level, by the geometric
midpoints of that table: up to 4,096 tokens ``low``, up to 16,384 ``medium``, above ``high``
(``minimal`` is never chosen for a budget: few models take it). Each codec documents what it
sends for each value, and what ``False`` does where the API has no off switch.

``cache`` places prompt-caching hints (see :class:`CacheSpec`).
"""
from __future__ import annotations
from ._dc import dataclass
from typing import Any, Optional, Tuple, Union

from .errors import ValidationError

__all__ = ["EFFORTS", "EFFORT_BUDGETS", "Reasoning", "check_reasoning", "budget_for", "effort_for",
           "BREAKPOINTS", "CACHE_TTLS", "CacheSpec", "check_cache"]

#: the effort levels ``reasoning=`` accepts, least to most
EFFORTS: Tuple[str, ...] = ("minimal", "low", "medium", "high")

#: level -> thinking budget in tokens, for APIs that take only a budget (the module docstring)
EFFORT_BUDGETS = {"minimal": 1024, "low": 2048, "medium": 8192, "high": 24576}

#: a budget up to this many tokens is "low", up to the next "medium", else "high"
_LOW_UP_TO = 4096
_MEDIUM_UP_TO = 16384

#: what an Options.reasoning holds once checked: a level, a budget, False (off) or None (unset)
Reasoning = Union[None, bool, str, int]


def check_reasoning(value: Any) -> Reasoning:
    """The checked ``reasoning=`` value: a level from :data:`EFFORTS` (any letter case), a
    positive int token budget, ``False`` or ``None``; anything else is a ValidationError."""
    if value is None or value is False:
        return value
    if value is True:
        raise ValidationError(
            "reasoning=True does not say how much: pass an effort level ('minimal', 'low', 'medium', 'high'), "
            "a token budget (an int such as 4096), or reasoning=False to turn reasoning off")
    if isinstance(value, str):
        level = value.strip().lower()
        if level in EFFORTS:
            return level
        raise ValidationError(f"reasoning={value!r} is not an effort level: use one of {', '.join(map(repr, EFFORTS))}, "
                              "a token budget (an int), or False")
    if isinstance(value, int):
        if value < 1:
            raise ValidationError(f"reasoning={value!r}: a reasoning budget must be a positive number of tokens "
                                  "(use reasoning=False to turn reasoning off)")
        return value
    raise ValidationError(
        f"reasoning must be an effort level ('minimal', 'low', 'medium', 'high'), a token budget (an int) or False, "
        f"got {type(value).__name__} {value!r}")


def budget_for(reasoning: Union[str, int]) -> int:
    """The token budget of a level (:data:`EFFORT_BUDGETS`), or the budget itself."""
    return reasoning if isinstance(reasoning, int) else EFFORT_BUDGETS[reasoning]


def effort_for(reasoning: Union[str, int]) -> str:
    """The level of a budget (nearest by the table's geometric midpoints), or the level itself."""
    if isinstance(reasoning, str):
        return reasoning
    if reasoning <= _LOW_UP_TO:
        return "low"
    if reasoning <= _MEDIUM_UP_TO:
        return "medium"
    return "high"


# -- cache ------------------------------------------------------------------------------------

#: where prompt-caching breakpoints can go, in the order a prompt is cached
BREAKPOINTS: Tuple[str, ...] = ("tools", "system", "conversation")
#: cache lifetimes ``cache={"ttl": ...}`` takes (Anthropic's ``cache_control.ttl``)
CACHE_TTLS: Tuple[str, ...] = ("5m", "1h")

_CACHE_FORMS = ("cache takes True, False, a breakpoint name or a list of them ('tools', 'system', 'conversation'), "
                "or a dict {'breakpoints': [...], 'key': 'a cache key', 'ttl': '5m' or '1h'}")


@dataclass(frozen=True)
class CacheSpec:
    """What ``cache=`` asks for, checked.

    - ``breakpoints``: where explicit cache breakpoints go on providers that take them
      (Anthropic and Claude on Vertex AI): ``"tools"`` (the last tool), ``"system"`` (the
      system prompt), ``"conversation"`` (the latest turn, so a growing conversation reads its
      earlier turns from the cache). ``cache=True`` is all three.
    - ``key``: a cache key grouping requests that share a prefix (OpenAI's
      ``prompt_cache_key``); other providers have none and ignore it.
    - ``ttl``: ``"5m"`` (the default) or ``"1h"``, Anthropic's cache lifetime.
    """

    breakpoints: Tuple[str, ...] = BREAKPOINTS
    key: Optional[str] = None
    ttl: Optional[str] = None


def _breakpoints(value: Any) -> Tuple[str, ...]:
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
        raise ValidationError(f"cache breakpoints must be names from {', '.join(map(repr, BREAKPOINTS))}, got {value!r}")
    unknown = [n for n in names if n not in BREAKPOINTS]
    if unknown:
        raise ValidationError(f"unknown cache breakpoint {unknown[0]!r}: use {', '.join(map(repr, BREAKPOINTS))}. "
                              f"For a cache key write cache={{'key': {unknown[0]!r}}}")
    return tuple(b for b in BREAKPOINTS if b in names)


def check_cache(value: Any) -> Optional[CacheSpec]:
    """The checked ``cache=`` value: a :class:`CacheSpec`, or None for no hints (``False``,
    ``None``)."""
    if value is None or value is False:
        return None
    if value is True:
        return CacheSpec()
    if isinstance(value, CacheSpec):
        return value
    if isinstance(value, (str, list, tuple)):
        return CacheSpec(_breakpoints(value))
    if isinstance(value, dict):
        unknown = [k for k in value if k not in ("breakpoints", "key", "ttl")]
        if unknown:
            raise ValidationError(f"cache has the unknown key {unknown[0]!r}; {_CACHE_FORMS}")
        key = value.get("key")
        if key is not None and (not isinstance(key, str) or not key):
            raise ValidationError(f"cache key must be a non-empty string, got {key!r}")
        ttl = value.get("ttl")
        if ttl is not None and ttl not in CACHE_TTLS:
            raise ValidationError(f"cache ttl must be '5m' or '1h', got {ttl!r}")
        points = _breakpoints(value["breakpoints"]) if value.get("breakpoints") is not None else BREAKPOINTS
        return CacheSpec(points, key, ttl)
    raise ValidationError(f"{_CACHE_FORMS}; got {type(value).__name__} {value!r}")
