"""Messages, responses and chat sessions to and from JSON-ready dicts and files (sans-IO core,
plus two small file helpers: an atomic save and a careful load).

The dataclasses of :mod:`llmunified._types` go through ``dataclasses-json`` (imported on first
use, never by ``import llmunified``). Content parts carry their ``type`` as the discriminator
(``text``, ``image``, ``tool_call``, ``tool_result``, ``thinking``); a message's content keeps
its shape (a string stays a string, a list of parts stays a list), so
``message_from_dict(message_to_dict(m)) == m`` and every field survives, including the ones
equality ignores (``ToolCall.raw_arguments``). Images are stored by reference: the URL, or the
base64 data exactly as given. ``ToolResult.content`` must be JSON (str, number, bool, None,
list, dict).

Decoding is strict: a missing or mistyped field, an unknown part type or an unknown key is a
:class:`SessionFileError` that says where (``messages[3].content[1]``) and what is wrong, never
a KeyError or TypeError. A file from a newer llmunified is a :class:`SessionVersionError`.

Session files::

    {"format": "llmunified.chat", "version": 1, "library": "llmunified 0.1.0",
     "system": "...", "messages": [...], "dropped": [...], "pinned": [0, 3],
     "options": {...}, "meta": {...}}
"""
from __future__ import annotations
import json
import os
import stat
import sys
import tempfile
from dataclasses import MISSING, dataclass, field, fields, is_dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

from ._types import Choice, Citation, ImagePart, Message, Response, TextPart, ThinkingPart, ToolCall, ToolResult, Usage
from ._version import __version__
from .errors import SessionFileError, SessionVersionError, ValidationError

__all__ = [
    "SESSION_FORMAT",
    "SESSION_VERSION",
    "SessionFileError",
    "SessionVersionError",
    "SessionData",
    "part_to_dict",
    "part_from_dict",
    "message_to_dict",
    "message_from_dict",
    "usage_to_dict",
    "usage_from_dict",
    "response_to_dict",
    "response_from_dict",
    "session_to_dict",
    "session_from_dict",
    "dumps",
    "save_atomic",
    "load_file",
    "load_session",
]

SESSION_FORMAT = "llmunified.chat"
#: the newest session file version this library writes and reads (it reads every older one)
SESSION_VERSION = 1

PathLike = Union[str, "os.PathLike[str]"]


@dataclass
class SessionData:
    """A decoded session: what :func:`session_to_dict` was given."""

    system: Optional[str] = None
    messages: List[Message] = field(default_factory=list)
    dropped: List[Message] = field(default_factory=list)
    pinned: List[int] = field(default_factory=list)
    options: Dict[str, Any] = field(default_factory=dict)
    meta: Dict[str, Any] = field(default_factory=dict)
    version: int = SESSION_VERSION


# -- dataclasses-json, loaded on first use -------------------------------------------------------

_MIXIN: Any = None


def _mixin() -> Any:
    global _MIXIN
    if _MIXIN is None:
        from dataclasses_json import DataClassJsonMixin  # noqa: PLC0415 - lazy by design (DESIGN 7)
        _MIXIN = DataClassJsonMixin
    return _MIXIN


def _encode(obj: Any) -> Dict[str, Any]:
    # DataClassJsonMixin's methods work on any dataclass; our types stay plain (no mixin base).
    return _mixin().to_dict(obj, encode_json=False)


def _decode(cls: type, data: Dict[str, Any]) -> Any:
    return _mixin().from_dict.__func__(cls, data, infer_missing=False)


# -- field checks --------------------------------------------------------------------------------
# What each field must hold (checked before decoding, so a bad file never reaches a constructor
# as a wrong type, and dataclasses-json never coerces "5" into 5).
_STR, _OSTR, _BOOL, _INT, _DICT, _ANY = "a string", "a string or null", "true or false", "an integer", \
    "an object", "any JSON value"


def _ok(kind: str, value: Any) -> bool:
    if kind is _STR:
        return isinstance(value, str)
    if kind is _OSTR:
        return value is None or isinstance(value, str)
    if kind is _BOOL:
        return isinstance(value, bool)
    if kind is _INT:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is _DICT:
        return isinstance(value, dict)
    return True


# field -> (kind, required)
_SPECS: Dict[type, Dict[str, Tuple[str, bool]]] = {
    TextPart: {"text": (_STR, True)},
    ImagePart: {"url": (_OSTR, False), "data": (_OSTR, False), "media_type": (_OSTR, False),
                "detail": (_OSTR, False)},
    ToolCall: {"id": (_STR, True), "name": (_STR, True), "arguments": (_DICT, False),
               "raw_arguments": (_OSTR, False), "signature": (_OSTR, False)},
    ToolResult: {"tool_call_id": (_STR, True), "content": (_ANY, False), "name": (_OSTR, False),
                 "is_error": (_BOOL, False)},
    ThinkingPart: {"text": (_STR, False), "signature": (_OSTR, False), "redacted": (_BOOL, False),
                   "data": (_OSTR, False)},
    Usage: {"input_tokens": (_INT, False), "output_tokens": (_INT, False), "total_tokens": (_INT, False),
            "cache_read_tokens": (_INT, False), "cache_write_tokens": (_INT, False),
            "reasoning_tokens": (_INT, False), "estimated": (_BOOL, False)},
}
_PART_TYPES: Dict[str, type] = {"text": TextPart, "image": ImagePart, "tool_call": ToolCall,
                                "tool_result": ToolResult, "thinking": ThinkingPart}
_PART_CLASSES = tuple(_PART_TYPES.values())
_MESSAGE_KEYS = {"role": (_STR, True), "content": (_ANY, False), "name": (_OSTR, False)}
_RESPONSE_KEYS = {"message": (_DICT, True), "finish_reason": (_STR, False), "usage": (_DICT, False),
                  "model": (_OSTR, False), "provider": (_OSTR, False), "id": (_OSTR, False),
                  "raw": (_ANY, False), "headers": (_DICT, False), "parsed": (_ANY, False),
                  "messages": (_ANY, False), "citations": (_ANY, False),
                  "other_choices": (_ANY, False), "label": (_OSTR, False),
                  "pending_tool_calls": (_ANY, False)}


# _check_fields' kinds as isinstance() arguments (None: anything); int excludes bool
_TYPES: Dict[str, Any] = {_STR: str, _OSTR: (str, type(None)), _BOOL: bool, _INT: int, _DICT: dict, _ANY: None}
_QUICK: Dict[int, Any] = {}  # id(spec) -> (allowed keys, [(key, required, types)]); the specs live for good
_QUICK_PARTS: Dict[type, Any] = {}  # part class -> (allowed keys, [(field, types, required, how, default, convert)])


class _Bad(Exception):
    """Internal: a decoding fault at ``where``; turned into SessionFileError at the boundary."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(message)
        self.where = where
        self.message = message


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return {str: "a string", int: "an integer", float: "a number", list: "a list", dict: "an object"}.get(
        type(value), type(value).__name__)


def _check_fields(data: Any, spec: Dict[str, Tuple[str, bool]], where: str, what: str,
                  extra: Sequence[str] = ()) -> None:
    if not isinstance(data, dict):
        raise _Bad(where, f"{what} must be an object, got {_describe(data)}")
    for key, (kind, required) in spec.items():
        if key not in data:
            if required:
                raise _Bad(where, f"{what} has no {key!r}")
            continue
        if not _ok(kind, data[key]):
            raise _Bad(where, f"{what} field {key!r} must be {kind}, got {_describe(data[key])}")
    for key in data:
        if key not in spec and key not in extra:
            raise _Bad(where, f"{what} has an unknown field {key!r} (written by a newer llmunified?)")


def _well_formed(data: Any, spec: Dict[str, Tuple[str, bool]], extra: Sequence[str] = ()) -> bool:
    """What _check_fields accepts, tested quickly (it runs again to say what is wrong)."""
    checks = _QUICK.get(id(spec))
    if checks is None:
        checks = _QUICK[id(spec)] = (frozenset(spec) | frozenset(extra),
                                     [(key, required, _TYPES[kind]) for key, (kind, required) in spec.items()])
    keys, fields_ = checks
    if data.__class__ is not dict or not data.keys() <= keys:
        return False
    for key, required, types in fields_:
        if key in data:
            value = data[key]
            if types is not None and (not isinstance(value, types) or types is int and value.__class__ is bool):
                return False
        elif required:
            return False
    return True


def _build(cls: type, data: Dict[str, Any], where: str, what: str) -> Any:
    try:
        plan = _plan(cls)
        if plan is None:
            return _decode(cls, data)
        kwargs = {}
        for name, how, default, convert in plan:
            if name in data:
                value = data[name]
                kwargs[name] = value if convert is None or value is None else convert(value)
            elif how is _VALUE:
                kwargs[name] = default
            elif how is _FACTORY:
                kwargs[name] = default()
            else:  # pragma: no cover - the checks require it; dataclasses-json fails the same way
                raise KeyError(name)
        return cls(**kwargs)
    except ValidationError as exc:  # the type's own validation (__post_init__)
        raise _Bad(where, f"invalid {what}: {exc.message}") from None
    except (TypeError, ValueError, KeyError, AttributeError) as exc:  # pragma: no cover - pre-checked
        raise _Bad(where, f"invalid {what}: {exc}") from None


# What dataclasses-json's from_dict does with each field, done directly (it costs ~200 us a
# part): per class, (field, how it defaults, the default or its factory, conversion or None)
# for its init fields, when every one of them is of a type whose decoding is simple: str,
# bool, int, float, Any and Optional of those (the value as it is; the checks made sure of its
# type), Dict[str, Any] (a new dict, keys made str). Anything else (another type, an unusual
# default, a decoder or letter case of its own, global decoders) is left to dataclasses-json.
_PLANS: Dict[type, Any] = {}
_PLAIN_TYPES = (str, bool, int, float, Any)
_UNIONS = (Union, getattr(__import__("types"), "UnionType", Union))
_VALUE, _FACTORY, _REQUIRED = "value", "factory", "required"
_Plan = List[Tuple[str, str, Any, Optional[Callable[[Any], Any]]]]


def _str_keyed(value: Dict[Any, Any]) -> Dict[str, Any]:
    return dict(zip(map(str, value), value.values()))


def _plan(cls: type) -> Optional[_Plan]:
    if _global_decoders():
        return None
    plan = _PLANS.get(cls, _PLANS)
    if plan is _PLANS:
        plan = _PLANS[cls] = _make_plan(cls)
    return plan


def _global_decoders() -> bool:
    cfg = sys.modules.get("dataclasses_json.cfg")
    return bool(cfg is not None and getattr(cfg.global_config, "decoders", None))


def _make_plan(cls: type) -> Optional[_Plan]:
    import typing

    if getattr(cls, "dataclass_json_config", None):
        return None
    hints = typing.get_type_hints(cls)
    plan: _Plan = []
    for f in fields(cls):
        if not f.init:
            continue
        own: Any = f.metadata.get("dataclasses_json") if f.metadata else None
        if set(own or ()) - {"exclude"}:
            return None  # a decoder, a field name or a letter case of its own
        tp = hints[f.name]
        args = typing.get_args(tp)
        if tp in _PLAIN_TYPES or (typing.get_origin(tp) in _UNIONS and len(args) == 2 and type(None) in args
                                  and [a for a in args if a is not type(None)][0] in _PLAIN_TYPES):
            convert: Optional[Callable[[Any], Any]] = None
        elif typing.get_origin(tp) is dict and args == (str, Any):
            convert = _str_keyed
        else:
            return None
        if f.default_factory is not MISSING:
            if f.default_factory is not (dict if convert is _str_keyed else list):
                return None
            plan.append((f.name, _FACTORY, f.default_factory, convert))
        elif f.default is MISSING:
            plan.append((f.name, _REQUIRED, None, convert))
        elif convert is None and (f.default is None or type(f.default) in (str, bool, int, float)):
            plan.append((f.name, _VALUE, f.default, convert))
        else:
            return None
    return plan


# -- parts and messages --------------------------------------------------------------------------

def part_to_dict(part: Any) -> Dict[str, Any]:
    """A content part as a dict, ``type`` first."""
    if not isinstance(part, _PART_CLASSES):
        raise ValidationError(f"not a content part: {type(part).__name__}")
    d = _encode(part)
    kind = d.pop("type")
    return {"type": kind, **d}


def _part_from(data: Any, where: str) -> Any:
    if data.__class__ is dict:
        kind = data.get("type")
        cls = _PART_TYPES.get(kind) if kind.__class__ is str else None
        if cls is not None and _well_formed(data, _SPECS[cls], ("type",)):
            return _build(cls, data, where, f"{kind} part")
    if not isinstance(data, dict):
        raise _Bad(where, f"a content part must be an object, got {_describe(data)}")
    kind = data.get("type")
    cls = _PART_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        if "type" not in data:
            raise _Bad(where, "content part has no 'type'")
        raise _Bad(where, f"unknown content part type {kind!r}; known: {', '.join(_PART_TYPES)}")
    _check_fields(data, _SPECS[cls], where, f"{kind} part", extra=("type",))
    return _build(cls, data, where, f"{kind} part")


def part_from_dict(data: Any) -> Any:
    """The inverse of :func:`part_to_dict`; raises :class:`SessionFileError` when malformed."""
    return _guard(lambda: _part_from(data, "part"))


def message_to_dict(message: Message) -> Dict[str, Any]:
    """A message as a dict: ``role``, ``content`` (a string, or a list of part dicts), ``name``."""
    if not isinstance(message, Message):
        raise ValidationError(f"not a Message: {type(message).__name__}")
    content = message.content
    out: Dict[str, Any] = {"role": message.role,
                           "content": content if isinstance(content, str) else [part_to_dict(p) for p in content]}
    if message.name is not None:
        out["name"] = message.name
    return out


def _message_from(data: Any, where: str) -> Message:
    if not _well_formed(data, _MESSAGE_KEYS):
        _check_fields(data, _MESSAGE_KEYS, where, "message")
    content = data.get("content", "")
    if isinstance(content, list):
        content = [_part_from(p, f"{where}.content[{i}]") for i, p in enumerate(content)]
    elif not isinstance(content, str):
        raise _Bad(where, f"message content must be a string or a list of parts, got {_describe(content)}")
    try:
        return Message(data["role"], content, data.get("name"))
    except ValidationError as exc:
        raise _Bad(where, f"invalid message: {exc.message}") from None


_MESSAGE_KEYSET = frozenset(_MESSAGE_KEYS)


def _quick_message(data: Any) -> Optional[Message]:
    """A well-formed message dict decoded, or None: anything else (or anything the types refuse)
    is left to _message_from, which says where and what is wrong."""
    if data.__class__ is not dict or not data.keys() <= _MESSAGE_KEYSET:
        return None
    role = data.get("role")
    name = data.get("name")
    if role.__class__ is not str or name is not None and name.__class__ is not str:
        return None
    content = data.get("content", "")
    if content.__class__ is list:
        parts = []
        for p in content:
            part = _quick_part(p)
            if part is None:
                return None
            parts.append(part)
        content = parts
    elif content.__class__ is not str:
        return None
    try:
        return Message(role, content, name)
    except ValidationError:
        return None


def _quick_part(data: Any) -> Any:
    """A well-formed part dict decoded (as _part_from would), or None."""
    kind = data.get("type") if data.__class__ is dict else None
    cls = _PART_TYPES.get(kind) if kind.__class__ is str else None
    if cls is None:
        return None
    quick = _QUICK_PARTS.get(cls)
    if quick is None:
        plan = _plan(cls)
        if plan is None:
            return None
        spec = _SPECS[cls]
        quick = _QUICK_PARTS[cls] = (frozenset(spec) | {"type"}, [
            (name, _TYPES[spec[name][0]] if name in spec else None, name in spec and spec[name][1], how, default,
             convert) for name, how, default, convert in plan])
    elif _global_decoders():
        return None
    keys, plan_ = quick
    if not data.keys() <= keys:
        return None
    kwargs = {}
    for name, types, required, how, default, convert in plan_:
        if name in data:
            value = data[name]
            if types is not None and (not isinstance(value, types) or types is int and value.__class__ is bool):
                return None
            kwargs[name] = value if convert is None or value is None else convert(value)
        elif required or how is _REQUIRED:
            return None
        else:
            kwargs[name] = default() if how is _FACTORY else default
    try:
        return cls(**kwargs)
    except ValidationError:
        return None


def _messages_from(items: List[Any], key: str) -> List[Message]:
    out = []
    for i, data in enumerate(items):
        message = _quick_message(data)
        out.append(message if message is not None else _message_from(data, f"{key}[{i}]"))
    return out


def message_from_dict(data: Any) -> Message:
    """The inverse of :func:`message_to_dict`; raises :class:`SessionFileError` when malformed."""
    return _guard(lambda: _message_from(data, "message"))


# -- usage and responses -------------------------------------------------------------------------

def usage_to_dict(usage: Usage) -> Dict[str, Any]:
    if not isinstance(usage, Usage):
        raise ValidationError(f"not a Usage: {type(usage).__name__}")
    return _encode(usage)


def _usage_from(data: Any, where: str) -> Usage:
    _check_fields(data, _SPECS[Usage], where, "usage")
    return _build(Usage, data, where, "usage")


def usage_from_dict(data: Any) -> Usage:
    return _guard(lambda: _usage_from(data, "usage"))


def _plain(value: Any) -> Any:
    """A structured-output value as JSON: JSON values as they are, dataclasses as their dict."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if is_dataclass(value) and not isinstance(value, type):
        return _encode(value)
    dump = getattr(value, "model_dump", None)  # pydantic v2 models, should one be used as a type
    if callable(dump):
        return dump(mode="json")
    raise ValidationError(f"cannot save Response.parsed of type {type(value).__name__}: not JSON")


def response_to_dict(response: Response, *, raw: bool = False) -> Dict[str, Any]:
    """A response as a dict. ``raw=True`` also keeps ``raw`` (the provider's decoded JSON) and
    the response ``headers``; equality ignores both, so they are left out by default.

    ``parsed`` (structured output) is kept as JSON: a JSON value round-trips exactly, a typed
    value (a dataclass) comes back as its JSON object - validate it again with the type you
    asked for. ``messages`` (what ``Client.run`` added) is kept when present.
    """
    if not isinstance(response, Response):
        raise ValidationError(f"not a Response: {type(response).__name__}")
    out: Dict[str, Any] = {
        "message": message_to_dict(response.message), "finish_reason": response.finish_reason,
        "usage": usage_to_dict(response.usage), "model": response.model, "provider": response.provider,
        "id": response.id}
    if response.parsed is not None:
        out["parsed"] = _plain(response.parsed)
    if response.messages is not None:
        out["messages"] = [message_to_dict(m) for m in response.messages]
    if response.citations:
        out["citations"] = [{"text": c.text, "start": c.start, "end": c.end, "sources": _plain(c.sources),
                             "type": c.type} for c in response.citations]
    if response.other_choices:  # n > 1: the answers after the first (message / finish_reason)
        out["other_choices"] = [{"index": c.index, "message": message_to_dict(c.message),
                                 "finish_reason": c.finish_reason} for c in response.other_choices]
    if response.label is not None:
        out["label"] = response.label
    if response.pending_tool_calls:  # caller-run tool calls the run stopped at
        out["pending_tool_calls"] = [part_to_dict(call) for call in response.pending_tool_calls]
    if raw:
        out["raw"] = response.raw
        out["headers"] = dict(response.headers or {})
    return out


def _response_from(data: Any, where: str) -> Response:
    _check_fields(data, _RESPONSE_KEYS, where, "response")
    message = _message_from(data["message"], f"{where}.message")
    usage = _usage_from(data["usage"], f"{where}.usage") if "usage" in data else Usage()
    messages = data.get("messages")
    if messages is not None:
        if not isinstance(messages, list):
            raise _Bad(where, f"response field 'messages' must be a list or null, got {_describe(messages)}")
        messages = [_message_from(m, f"{where}.messages[{i}]") for i, m in enumerate(messages)]
    return Response(message, data.get("finish_reason", "stop"), usage, data.get("model"), data.get("provider"),
                    data.get("id"), raw=data.get("raw"), headers=dict(data.get("headers") or {}),
                    parsed=data.get("parsed"), messages=messages,
                    citations=_citations_from(data.get("citations"), where),
                    other_choices=_choices_from(data.get("other_choices"), where), label=data.get("label"),
                    pending_tool_calls=_pending_from(data.get("pending_tool_calls"), where))


def _pending_from(value: Any, where: str) -> List[ToolCall]:
    """``Response.pending_tool_calls`` from their saved list of tool-call parts."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise _Bad(where, f"response field 'pending_tool_calls' must be a list, got {_describe(value)}")
    calls = [_part_from(item, f"{where}.pending_tool_calls[{i}]") for i, item in enumerate(value)]
    for i, call in enumerate(calls):
        if not isinstance(call, ToolCall):
            raise _Bad(f"{where}.pending_tool_calls[{i}]", f"expected a tool_call part, got {type(call).__name__}")
    return calls


def _choices_from(value: Any, where: str) -> List[Choice]:
    """``Response.other_choices`` (n > 1: the answers after the first) from their saved list."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise _Bad(where, f"response field 'other_choices' must be a list, got {_describe(value)}")
    out = []
    for i, item in enumerate(value):
        at = f"{where}.other_choices[{i}]"
        if not isinstance(item, dict) or "message" not in item or set(item) - {"index", "message", "finish_reason"}:
            raise _Bad(at, f"a choice is an object with 'message' and only index, message, finish_reason, "
                       f"got {_describe(item)}")
        index, reason = item.get("index", i + 1), item.get("finish_reason", "stop")
        if isinstance(index, bool) or not isinstance(index, int) or not isinstance(reason, str):
            raise _Bad(at, "a choice's index must be an int and its finish_reason a string")
        out.append(Choice(index, _message_from(item["message"], f"{at}.message"), reason))
    return out


_CITATION_KEYS = ("text", "start", "end", "sources", "type")


def _citations_from(value: Any, where: str) -> List[Citation]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _Bad(where, f"response field 'citations' must be a list, got {_describe(value)}")
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, dict) or not isinstance(item.get("text"), str) or set(item) - set(_CITATION_KEYS):
            raise _Bad(f"{where}.citations[{i}]", f"a citation is an object with 'text' and only {_CITATION_KEYS}, "
                       f"got {_describe(item)}")
        sources = item.get("sources") or []
        if not isinstance(sources, list):
            raise _Bad(f"{where}.citations[{i}]", f"'sources' must be a list, got {_describe(sources)}")
        out.append(Citation(item["text"], item.get("start"), item.get("end"), sources, item.get("type")))
    return out


def response_from_dict(data: Any) -> Response:
    return _guard(lambda: _response_from(data, "response"))


def _guard(fn: Callable[[], Any], path: Optional[str] = None) -> Any:
    try:
        return fn()
    except _Bad as bad:
        raise SessionFileError(bad.message, path=path, where=bad.where) from None


# -- sessions ------------------------------------------------------------------------------------

def session_to_dict(system: Optional[str], messages: Sequence[Message], dropped: Sequence[Message] = (),
                    pinned: Sequence[int] = (), options: Optional[Dict[str, Any]] = None,
                    meta: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """A whole chat session as a JSON-ready dict (``format`` and ``version`` first).

    ``pinned`` are indices into ``messages``; ``options`` are the session's call options and
    ``meta`` anything else worth keeping (model, token calibration...), both JSON values.
    """
    if system is not None and not isinstance(system, str):
        raise ValidationError(f"system must be a string or None, got {type(system).__name__}")
    msgs = list(messages)
    pins = list(pinned)
    for i in pins:
        if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < len(msgs):
            raise ValidationError(f"pinned index {i!r} is not an index into the {len(msgs)} messages")
    for name, value in (("options", options), ("meta", meta)):
        if value is not None and not isinstance(value, dict):
            raise ValidationError(f"{name} must be a dict, got {type(value).__name__}")
    return {
        "format": SESSION_FORMAT,
        "version": SESSION_VERSION,
        "library": f"llmunified {__version__}",
        "system": system,
        "messages": [message_to_dict(m) for m in msgs],
        "dropped": [message_to_dict(m) for m in dropped],
        "pinned": sorted(set(pins)),
        "options": dict(options or {}),
        "meta": dict(meta or {}),
    }


_SESSION_KEYS = {"format": (_STR, True), "version": (_INT, True), "library": (_OSTR, False),
                 "system": (_OSTR, False), "messages": (_ANY, True), "dropped": (_ANY, False),
                 "pinned": (_ANY, False), "options": (_DICT, False), "meta": (_DICT, False)}


def _check_envelope(data: Any, path: Optional[str]) -> int:
    """Format and version, checked before anything else so a newer file says so."""
    if not isinstance(data, dict):
        raise SessionFileError(f"not an llmunified chat session: the top level is {_describe(data)}, "
                               "not an object", path=path)
    if data.get("format") != SESSION_FORMAT:
        found = f"found {data['format']!r}" if "format" in data else "no 'format' field"
        raise SessionFileError(f"not an llmunified chat session: expected \"format\": "
                               f"\"{SESSION_FORMAT}\", {found}", path=path)
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise SessionFileError(f"corrupt session: 'version' must be a positive integer, got {version!r}", path=path)
    if version > SESSION_VERSION:
        lib = data.get("library")
        by = f" ({lib})" if isinstance(lib, str) else ""
        raise SessionVersionError(
            f"this session was written by a newer llmunified{by} in session format version {version}; "
            f"this llmunified ({__version__}) reads versions up to {SESSION_VERSION}. Upgrade llmunified "
            "to load it", version=version, path=path)
    return version


def _session_from(data: Dict[str, Any], version: int) -> SessionData:
    _check_fields(data, _SESSION_KEYS, "session", "session")
    lists = {}
    for key in ("messages", "dropped"):
        value = data.get(key, [])
        if not isinstance(value, list):
            raise _Bad(key, f"must be a list of messages, got {_describe(value)}")
        lists[key] = _messages_from(value, key)
    pinned = data.get("pinned", [])
    if not isinstance(pinned, list):
        raise _Bad("pinned", f"must be a list of message indices, got {_describe(pinned)}")
    n = len(lists["messages"])
    for i, p in enumerate(pinned):
        if isinstance(p, bool) or not isinstance(p, int) or not 0 <= p < n:
            raise _Bad(f"pinned[{i}]", f"{p!r} is not an index into the {n} messages")
    return SessionData(data.get("system"), lists["messages"], lists["dropped"], list(pinned),
                       dict(data.get("options") or {}), dict(data.get("meta") or {}), version)


def session_from_dict(data: Any, *, path: Optional[str] = None) -> SessionData:
    """Decode :func:`session_to_dict`'s output. Raises :class:`SessionVersionError` for a newer
    version and :class:`SessionFileError` for anything malformed (``path`` names the file)."""
    version = _check_envelope(data, path)
    return _guard(lambda: _session_from(data, version), path)


# -- files ---------------------------------------------------------------------------------------

def dumps(data: Any) -> bytes:
    """Strict JSON as UTF-8 bytes (no NaN/Infinity). Lone surrogates in strings, which UTF-8
    cannot encode, are written as ``\\uXXXX`` escapes so they load back unchanged."""
    try:
        text = json.dumps(data, ensure_ascii=False, allow_nan=False, indent=1)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"cannot save: the session holds a value that is not JSON ({exc})") from None
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(data, ensure_ascii=True, allow_nan=False, indent=1).encode("ascii")


# Files this process last wrote or loaded successfully, with their stat stamp: saving over one of
# them again needs no re-validation. Anything else at the target is checked before replacing.
_KNOWN: Dict[str, Tuple[int, int, int, int]] = {}


def _stamp(path: str) -> Optional[Tuple[int, int, int, int]]:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _display(path: PathLike) -> str:
    return os.fspath(path)


def save_atomic(path: PathLike, data: Any, *, overwrite: bool = False) -> None:
    """Write ``data`` as JSON to ``path`` atomically: a temporary file in the same directory,
    flushed to disk, then ``os.replace`` - an interrupted save leaves the old file or the new
    one, never half of either.

    Unless ``overwrite=True``, an existing non-empty file at ``path`` is only replaced when it is
    a readable llmunified chat session of a version this library reads: a corrupt file, a file
    from a newer llmunified, or some other file is left untouched and
    :class:`SessionFileError` / :class:`SessionVersionError` is raised.
    A new file is created readable by its owner only (0600); a replaced file keeps its mode.
    """
    payload = dumps(data)
    shown = _display(path)
    real = os.path.realpath(os.fspath(path))
    existing = None
    try:
        existing = os.stat(real)
    except FileNotFoundError:
        pass
    if existing is not None and not overwrite and existing.st_size > 0 and _stamp(real) != _KNOWN.get(real):
        try:
            data_there = _read_json(real, None)
            session_from_dict(data_there)
        except SessionVersionError as exc:
            raise SessionVersionError(f"refusing to overwrite it: {exc.message}; choose another path or pass "
                                      "overwrite=True", version=exc.version, path=shown) from None
        except SessionFileError as exc:
            raise SessionFileError(
                f"refusing to overwrite it: it is not a readable llmunified chat session ({exc.message}); move "
                "it away, choose another path, or pass overwrite=True", path=shown) from None
    directory = os.path.dirname(real) or "."
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(real) + ".", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        if existing is not None:
            try:
                os.chmod(tmp, stat.S_IMODE(existing.st_mode))
            except OSError:  # pragma: no cover - e.g. a file owned by someone else
                pass
        os.replace(tmp, real)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(directory)
    stamp = _stamp(real)
    if stamp is not None:
        _KNOWN[real] = stamp


def _fsync_dir(directory: str) -> None:
    # Makes the rename itself durable on POSIX; Windows cannot open a directory, and that is fine.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def load_file(path: PathLike) -> Dict[str, Any]:
    """Read a session file's JSON and check its format and version (the messages are checked by
    :func:`session_from_dict`). Never writes to ``path``. OSError (e.g. FileNotFoundError)
    passes through; anything wrong with the content raises :class:`SessionFileError` naming the
    file, or :class:`SessionVersionError` for a newer version."""
    return _read_json(path, _display(path))


def _read_json(path: PathLike, shown: Optional[str]) -> Dict[str, Any]:
    with open(path, "rb") as f:
        raw = f.read()
    if not raw.strip():
        raise SessionFileError("corrupt session file: it is empty", path=shown)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SessionFileError(f"corrupt session file: not UTF-8 text (byte {exc.start})", path=shown) from None
    try:
        # json, not orjson even with the fast extra: a session file is mostly text, which json's
        # C scanner reads as fast, and orjson's guard (a pass for long digit runs over a copy of
        # the bytes) made a 10,000-message file's read 3 ms slower, not faster
        data = json.loads(text)
    except ValueError as exc:
        detail = f"{exc.msg} at line {exc.lineno} column {exc.colno}" if isinstance(exc, json.JSONDecodeError) \
            else str(exc)
        raise SessionFileError(f"corrupt session file: not valid JSON ({detail})", path=shown) from None
    _check_envelope(data, shown)
    return data


def load_session(path: PathLike) -> SessionData:
    """:func:`load_file` then :func:`session_from_dict`; remembers the file as valid so saving
    over it later needs no second check."""
    real = os.path.realpath(os.fspath(path))
    before = _stamp(real)
    data = session_from_dict(load_file(path), path=_display(path))
    if before is not None and before == _stamp(real):
        _KNOWN[real] = before
    return data
