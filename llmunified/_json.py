"""The JSON decoder of the hot paths (reply bodies, stream events): ``orjson`` when it is
installed (the ``fast`` extra, ``pip install llmunified[fast]``), the standard library otherwise,
with the same result either way.

``orjson`` parses a reply three to four times faster than ``json.loads``, but it does not read
every text the same: it refuses ``NaN``/``Infinity``, out-of-range numbers and lone surrogate
escapes (which ``json`` accepts), and it reads integers of more than 64 bits as floats. So it is
given only texts without a run of 19 or more digits (where a big integer could hide; such a text
goes to ``json``), and a text it refuses goes to ``json``, which gives its value or raises its
``ValueError``. Everything else it reads exactly as ``json`` does (tests/core/test_json.py
compares them on generated documents).

``LLMUNIFIED_JSON=json`` in the environment keeps the standard library even when ``orjson`` is
installed. The choice is made on first use, so ``import llmunified`` never imports ``orjson``.
"""
from __future__ import annotations
import os
from typing import Any, Callable, Optional

__all__ = ["fast_loads", "fast_loads_bytes", "backend"]

#: every digit byte made "0", the other bytes kept: a text has a run of 19 digits (long enough
#: for an integer beyond 64 bits, which orjson would make a float) when its translation holds
#: 19 zeros (two C passes over the bytes; a regular expression takes several times longer)
_DIGITS_AS_ZERO = bytes(48 if 48 <= i <= 57 else i for i in range(256))
_LONG_DIGITS = b"0" * 19

_Loads = Callable[[bytes], Any]
_resolved: Optional[_Loads] = None
_chosen = False


def _choose() -> Optional[_Loads]:
    global _resolved, _chosen
    _chosen = True
    if os.environ.get("LLMUNIFIED_JSON", "").strip().lower() == "json":
        return None
    try:
        import orjson
    except ImportError:
        return None
    _resolved = orjson.loads
    return _resolved


def fast_loads(text: str) -> Any:
    """The value of the JSON ``text`` read by ``orjson``, or ``NotImplemented`` when the caller
    must read it with ``json`` (no orjson, a text that might read differently, or one orjson
    refuses: ``json`` then gives the same value, or the error)."""
    loads = _resolved if _chosen else _choose()
    if loads is None:
        return NotImplemented
    data = text.encode("utf-8", "surrogatepass")  # a lone surrogate: orjson refuses, json decides
    if _LONG_DIGITS in data.translate(_DIGITS_AS_ZERO):
        return NotImplemented
    try:
        return loads(data)
    except ValueError:  # orjson.JSONDecodeError: json decides (its value or its error)
        return NotImplemented


def fast_loads_bytes(data: bytes) -> Any:
    """:func:`fast_loads` for a reply's bytes as they came off the wire, without decoding them to
    text and encoding that back (for UTF-8 bytes the round trip gives the same bytes, so orjson
    sees exactly what :func:`fast_loads` would give it). ``NotImplemented`` in the same cases,
    and for bytes that are not UTF-8 (orjson refuses them): the caller's own path decides."""
    loads = _resolved if _chosen else _choose()
    if loads is None or _LONG_DIGITS in data.translate(_DIGITS_AS_ZERO):
        return NotImplemented
    try:
        return loads(data)
    except ValueError:  # orjson.JSONDecodeError (invalid UTF-8 too): the caller decides
        return NotImplemented


def backend() -> str:
    """``"orjson"`` or ``"json"``: the decoder :func:`fast_loads` uses (chosen on first use)."""
    loads = _resolved if _chosen else _choose()
    return "json" if loads is None else "orjson"
