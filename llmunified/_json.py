"""The JSON of the hot paths.

Encoding: every request body is written by :func:`encode_body` (compact UTF-8 JSON); a
conversation's messages encoded before are spliced in as text (:class:`WireMessages`, made by
``llmunified._wirecache``, which loads only for a history long enough to keep).

Decoding (reply bodies, stream events): ``orjson`` when it is
installed (the ``fast`` extra, ``pip install llmunified[fast]``) and has paid for its import, the
standard library otherwise, with the same result either way.

``orjson`` parses a reply three to four times faster than ``json.loads``, but it does not read
every text the same: it refuses ``NaN``/``Infinity``, out-of-range numbers and lone surrogate
escapes (which ``json`` accepts), and it reads integers of more than 64 bits as floats. So it is
given only texts without a run of 19 or more digits (where a big integer could hide; such a text
goes to ``json``), and a text it refuses goes to ``json``, which gives its value or raises its
``ValueError``. Everything else it reads exactly as ``json`` does (tests/core/test_json.py
compares them on generated documents).

When it is imported: importing ``orjson`` also imports ``uuid``, ``platform``, ``dataclasses`` and
``inspect``, about 8 ms in a program that has not loaded them (a plain ``requests`` script) and
about 2 ms where ``asyncio`` and ``aiohttp`` have. It saves about 2-3 µs per reply or stream event.
So, like renting skis until the rent paid would have bought them, ``json`` decodes the first
texts (:data:`SWITCH_AFTER_COLD` or :data:`SWITCH_AFTER_WARM` of them), and ``orjson`` is imported
once they would have paid for it: a short script never pays the import, a long-running program
pays it once and wins from then on (an OpenAI-compatible stream's events are counted a network
read at a time, see :func:`reader`). When the program has imported ``orjson`` already, it is
used from the first text.

``LLMUNIFIED_JSON=json`` in the environment keeps the standard library even when ``orjson`` is
installed; ``LLMUNIFIED_JSON=orjson`` uses it from the first text (the standard library still
when it is not installed). The choice is made on first use, so ``import llmunified`` never
imports ``orjson``.
"""
from __future__ import annotations
import json
import os
import sys
from typing import Any, Callable, List, Optional

__all__ = ["fast_loads", "fast_loads_bytes", "backend", "encode_json", "encode_body", "WireMessages",
           "will_use_orjson", "std_loads", "reader", "SWITCH_AFTER_COLD", "SWITCH_AFTER_WARM"]

#: every digit byte made "0", the other bytes kept: a text has a run of 19 digits (long enough
#: for an integer beyond 64 bits, which orjson would make a float) when its translation holds
#: 19 zeros (two C passes over the bytes; a regular expression takes several times longer)
_DIGITS_AS_ZERO = bytes(48 if 48 <= i <= 57 else i for i in range(256))
_LONG_DIGITS = b"0" * 19

_Loads = Callable[[bytes], Any]

#: texts decoded by ``json`` before ``orjson`` is imported, when the modules it imports are not
#: loaded yet (~8 ms of imports / ~2.5 µs saved per text)
SWITCH_AFTER_COLD = 3000
#: the same when they are (``inspect`` and ``uuid``, as after ``import aiohttp``: ~2 ms)
SWITCH_AFTER_WARM = 800
_FOREVER = 1 << 62  # a countdown that never ends: json for good

_resolved: Optional[_Loads] = None  # orjson.loads, once chosen
_left = 0  # texts json decodes before the next decision (0: decide at the next text)
_started = False
#: the choice is final (orjson in use, or json for good): a reader chosen now stays right, so a
#: stream decoder need not ask :func:`reader` again for every network read
settled = False


def _decide() -> Optional[_Loads]:
    """Called when the countdown ends: on the first text, choose how many ``json`` decodes first;
    after them, import ``orjson`` (``None``: ``json`` for now, or for good)."""
    global _resolved, _left, _started, settled
    if not _started:
        _started = True
        setting = os.environ.get("LLMUNIFIED_JSON", "").strip().lower()
        if setting == "json":
            _left = _FOREVER
            settled = True
            return None
        if setting != "orjson" and "orjson" not in sys.modules:
            warm = "inspect" in sys.modules and "uuid" in sys.modules
            _left = (SWITCH_AFTER_WARM if warm else SWITCH_AFTER_COLD) - 1  # this text is the first
            return None
    try:
        import orjson
    except ImportError:
        _left = _FOREVER
        settled = True
        return None
    _resolved = orjson.loads
    settled = True
    return _resolved


def _counted() -> Optional[_Loads]:
    """Before ``orjson`` is in use: count this text down, deciding when the count is out (None:
    ``json`` reads it)."""
    global _left
    if _left > 0:
        _left -= 1
        return None
    return _decide()


def fast_loads(text: str) -> Any:
    """The value of the JSON ``text`` read by ``orjson``, or ``NotImplemented`` when the caller
    must read it with ``json`` (no orjson or not yet, a text that might read differently, or one
    orjson refuses: ``json`` then gives the same value, or the error)."""
    loads = _resolved or _counted()
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
    loads = _resolved or _counted()
    if loads is None:
        return NotImplemented
    if _LONG_DIGITS in data.translate(_DIGITS_AS_ZERO):
        return NotImplemented
    try:
        return loads(data)
    except ValueError:  # orjson.JSONDecodeError (invalid UTF-8 too): the caller decides
        return NotImplemented


_scan_once = json.JSONDecoder().scan_once  # type: ignore[attr-defined]  # public, missing from typeshed


def std_loads(text: Any) -> Any:
    """``json.loads`` of one reply's or stream event's text (or of its UTF-8 bytes, read as the
    SSE rules read them: an invalid byte is U+FFFD), without ``json.loads``' per-call wrappers
    (two regular-expression whitespace scans, a decoder lookup): the C scanner reads the value
    directly. A text it does not take as is (leading whitespace, trailing data, invalid JSON)
    goes to ``json.loads``, which gives the same value or raises the same ``ValueError``."""
    if text.__class__ is bytes:
        text = text.decode("utf-8", "replace")
    try:
        obj, end = _scan_once(text, 0)
    except StopIteration:
        return json.loads(text)
    if end != len(text) and text[end:].strip():
        return json.loads(text)
    return obj


def reader(count: int) -> Callable[[bytes], Any]:
    """What reads the JSON of the next ``count`` texts, given as bytes (a network read's stream
    events), counted at once towards the switch to ``orjson``: :func:`fast_loads_bytes` once
    orjson is in use (``NotImplemented``: read that text with :func:`std_loads`), else
    :func:`std_loads`. Choosing once per read spares each event a call."""
    global _left
    if _resolved is not None:
        return fast_loads_bytes
    if _left >= count:
        _left -= count
        return std_loads
    _left = 0
    return std_loads if _decide() is None else fast_loads_bytes


def backend() -> str:
    """``"orjson"`` or ``"json"``: the decoder :func:`fast_loads` uses now (``json`` while the
    first texts are decoded, see the module's docstring)."""
    return "json" if _resolved is None else "orjson"


def will_use_orjson() -> bool:
    """Whether ``orjson`` decodes now or will once it pays (installed, and not refused by
    ``LLMUNIFIED_JSON=json``): what the ``fast`` extra gives this process."""
    if _resolved is not None:
        return True
    if os.environ.get("LLMUNIFIED_JSON", "").strip().lower() == "json":
        return False
    from importlib.util import find_spec

    return find_spec("orjson") is not None


# ---- encoding ------------------------------------------------------------------------------

def _make_encode_json() -> Callable[[Any], str]:
    """``json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode``: the same text and
    the same errors (a value containing itself is json's ValueError), with less per-call set-up
    (``encode`` goes through ``iterencode``, which looks up its settings and defines a float
    formatter on every call before making the C encoder this calls directly)."""
    encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # no C accelerator (another Python implementation): json's own path
        return encoder.encode
    default, strings, join = encoder.default, json.encoder.encode_basestring, "".join

    def encode_json(obj: Any) -> str:
        # a fresh dict of the containers being encoded each time: the circular-reference check
        return join(make({}, default, strings, None, ":", ",", False, False, True)(obj, 0))

    return encode_json


#: the encoder of every request body: compact, UTF-8, exactly ``json.dumps(obj,
#: ensure_ascii=False, separators=(",", ":"))``
encode_json: Callable[[Any], str] = _make_encode_json()


#: Below this many messages a request is encoded plainly, with no bookkeeping: encoding a short
#: history costs less than tracking it, and one-off calls (the common case) stay at raw speed.
MIN_MESSAGES = 32


class WireMessages(list):
    """A codec's encoded ``messages``: the list of wire entries (equal to the plain encoding)
    that also knows their JSON text (see :func:`encode_body`)."""

    __slots__ = ("_chunks", "_entries")

    def __init__(self) -> None:
        super().__init__()
        self._chunks: List[Any] = []  # llmunified._wirecache._Chunk
        self._entries = 0  # len(self) when built: a list changed since is encoded as it is

    def fragments(self) -> Optional[List[Any]]:
        """The JSON text of the entries in pieces to join with ``,`` (None when the list was
        changed after it was built)."""
        if self._entries != len(self):
            return None
        return [d for d in (c.data() for c in self._chunks) if d]


# A string no body contains: it marks where the messages go in the rest of the body's JSON.
_MARK = "\x00llmunified-wire-messages-7f3c1e9a5b2d4c68\x00"
_MARK_JSON = encode_json(_MARK)


def encode_body(body: Any) -> bytes:
    """``body`` as compact UTF-8 JSON, exactly as
    ``json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()`` writes it; the JSON
    text of a :class:`WireMessages` value at its top level is spliced in, not made again."""
    if body.__class__ is dict:
        for key, value in body.items():
            if value.__class__ is WireMessages:
                fragments = value.fragments()
                if fragments is None:
                    break
                rest = dict(body)
                rest[key] = _MARK
                head, found, tail = encode_json(rest).partition(_MARK_JSON)
                if not found or _MARK_JSON in tail:  # the mark occurs elsewhere: no shortcut
                    break
                pieces = [head.encode() + b"["]
                for fragment in fragments:
                    pieces.append(fragment)
                    pieces.append(b",")
                if fragments:
                    pieces.pop()
                pieces.append(b"]" + tail.encode())
                return b"".join(pieces)
    return encode_json(body).encode()
