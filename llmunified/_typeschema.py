"""Python types <-> JSON Schema (sans-IO): the schema for an annotation, and values converted back.

The mapping, used for tool parameters and for structured-output targets alike:

==============================  =================================================================
Python annotation               JSON Schema
==============================  =================================================================
``str`` / ``int`` / ``float``   ``{"type": "string" | "integer" | "number" | "boolean"}``
/ ``bool``
``None``                        ``{"type": "null"}``
``Any``                         ``{}`` (any value)
``Optional[X]``, ``Union``,     ``{"type": [..., "null"]}`` when every member is a plain scalar,
``X | Y`` (3.10+)               else ``{"anyOf": [...]}``
``list[X]``, ``List``,          ``{"type": "array", "items": X}``
``Sequence[X]``
``set[X]``, ``frozenset[X]``    ``{"type": "array", "items": X, "uniqueItems": true}``
``tuple[X, ...]``               ``{"type": "array", "items": X}``
``tuple[X, Y]``                 ``{"type": "array", "prefixItems": [X, Y], "minItems": 2,
                                "maxItems": 2}``
``dict[str, X]``, ``Mapping``   ``{"type": "object", "additionalProperties": X}`` (keys must be str)
``Literal["a", "b"]``           ``{"type": "string", "enum": ["a", "b"]}`` (``const`` for one value)
``Enum`` subclass               ``{"type": ..., "enum": [member values]}``
dataclass                       an object schema: one property per init field, required unless
                                it has a default, ``additionalProperties: false``, descriptions
                                from ``field(metadata={"description": ...})`` or the class
                                docstring's ``Attributes:``; recursive dataclasses go to
                                ``$defs`` and are referenced with ``$ref``
``datetime`` / ``date`` /       ``{"type": "string", "format": "date-time" | "date" | "time"}``;
``time``                        values are ISO 8601 strings, converted back with ``fromisoformat``
``uuid.UUID``                   ``{"type": "string", "format": "uuid"}``
``Annotated[X, "text", ...]``   X, with the first string in the metadata as its description
``NewType``                     its base type
==============================  =================================================================

Anything else (``bytes``, ``Decimal``, ``TypeVar``, classes that are not dataclasses, dicts with
non-string keys, ...) raises :class:`~llmunified.errors.ValidationError` naming the parameter or
field and the annotation. Field names follow dataclasses-json's ``letter_case`` settings when a
class uses them, so the schema matches ``to_dict()``.

Values going the other way (tool-call arguments, structured outputs) are converted by
:func:`convert_value` with the same table, so ``type -> schema -> JSON -> value`` round-trips.
"""
import collections.abc as cabc
import copy
import dataclasses
import datetime
import enum
import functools
import json
import re
import sys
import types
import typing
import uuid
from typing import (Annotated, Any, Dict, List, Literal, Optional, Set, Tuple, Type, Union, get_args, get_origin,
                    get_type_hints)

from ._docstrings import parse_docstring
from ._schema import accepts_null, make_nullable, validate
from .errors import ValidationError

__all__ = ["schema_for_type", "convert_value", "is_class", "accepts_none", "SchemaBuilder", "resolve_annotations",
           "with_default", "UNION_TYPES"]

#: the origins of ``Union[...]`` / ``Optional[...]`` and, on 3.10+, of ``X | Y``
UNION_TYPES: Tuple[Any, ...] = (Union,)
if sys.version_info >= (3, 10):
    UNION_TYPES = (Union, types.UnionType)


_SCALARS = {str: "string", int: "integer", float: "number", bool: "boolean"}
_LIST_ORIGINS = (list, cabc.Sequence, cabc.MutableSequence, cabc.Iterable, cabc.Collection)
_SET_ORIGINS = (set, frozenset, cabc.Set, cabc.MutableSet)
_DICT_ORIGINS = (dict, cabc.Mapping, cabc.MutableMapping)
_CONTAINER_ORIGINS = _LIST_ORIGINS + _SET_ORIGINS + (tuple,) + _DICT_ORIGINS
_TIME_FORMATS = ((datetime.datetime, "date-time"), (datetime.date, "date"), (datetime.time, "time"))
_SUPPORTED = ("str, int, float, bool, None, Any, Optional/Union, list/Sequence/set/tuple, dict[str, X], "
              "Literal, Enum, dataclasses, datetime/date/time, UUID")


def is_class(tp: Any) -> bool:
    """A real class: not ``list[int]``, which passes ``isinstance(_, type)`` on Python 3.9/3.10."""
    return isinstance(tp, type) and get_origin(tp) is None


def accepts_none(tp: Any) -> bool:
    """True when the annotation admits ``None`` (``Optional[X]``, ``X | None``, ``Any``, ``None``)."""
    if tp is Any or tp is None or tp is type(None):
        return True
    origin = get_origin(tp)
    if origin is Annotated:
        return accepts_none(get_args(tp)[0])
    return origin in UNION_TYPES and type(None) in get_args(tp)


def _type_name(tp: Any) -> str:
    if is_class(tp):
        return tp.__qualname__ if tp.__module__ == "builtins" else f"{tp.__module__}.{tp.__qualname__}"
    return repr(tp).replace("typing.", "")


# --------------------------------------------------------------------------------------------
# types -> schema


def resolve_annotations(obj: Any, extra_ns: Optional[Dict[str, Any]], where: str) -> Dict[str, Any]:
    """Resolved annotations (string annotations from ``from __future__ import annotations`` too);
    :class:`ValidationError` naming ``where`` when they cannot be resolved."""
    try:
        return get_type_hints(obj, include_extras=True)
    except NameError:
        if extra_ns:
            try:
                return get_type_hints(obj, localns=dict(extra_ns), include_extras=True)
            except NameError:
                pass
        raw = getattr(obj, "__annotations__", {})
        raise ValidationError(
            f"{where}: cannot resolve the annotations {raw!r}; a name they use is not importable from "
            f"{getattr(obj, '__module__', '?')} (types defined inside a function cannot be resolved "
            "with 'from __future__ import annotations')") from None
    except Exception as exc:  # a malformed annotation: say which object, not a typing traceback
        raise ValidationError(f"{where}: cannot evaluate annotations: {exc}") from None


def _class_doc(cls: type) -> str:
    doc = cls.__doc__ or ""
    # dataclasses invent a docstring "Name(field: type, ...)" when there is none
    if doc.startswith(cls.__name__ + "(") and doc.rstrip().endswith(")"):
        return ""
    return doc


def _json_name(cls: type, f: "dataclasses.Field[Any]") -> str:
    """The key dataclasses-json's to_dict() would use for the field (its letter_case settings)."""
    own = (f.metadata.get("dataclasses_json") or {}).get("letter_case") if f.metadata else None
    cls_conf = getattr(cls, "dataclass_json_config", None) or {}
    case = own or (cls_conf.get("letter_case") if isinstance(cls_conf, dict) else None)
    return case(f.name) if callable(case) else f.name


def _jsonable(value: Any) -> Any:
    """A default value as JSON, or raise TypeError/ValueError when it has no JSON form."""
    if isinstance(value, enum.Enum):
        return _jsonable(value.value)
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise TypeError("JSON object keys are strings")
        return {k: _jsonable(v) for k, v in value.items()}
    json.dumps(value, allow_nan=False)
    return value


def _default_schema(value: Any) -> Tuple[bool, Any]:
    try:
        return True, _jsonable(value)
    except (TypeError, ValueError):
        return False, None


class SchemaBuilder:
    """One schema build: shared ``$defs`` and the dataclass stack for recursion.

    ``schema(tp, where)`` may be called for several annotations that share the ``defs``."""

    def __init__(self, defs: Optional[Dict[str, Any]], ns: Optional[Dict[str, Any]]) -> None:
        self.defs: Dict[str, Any] = {} if defs is None else defs
        self.ns = ns
        self.stack: List[type] = []
        self.def_names: Dict[type, str] = {}
        self.recursive: Set[type] = set()

    def fail(self, where: str, tp: Any, why: str = "") -> ValidationError:
        return ValidationError(
            f"{where}: unsupported type annotation {_type_name(tp)}{' (' + why + ')' if why else ''}; "
            f"supported: {_SUPPORTED}")

    def schema(self, tp: Any, where: str) -> Dict[str, Any]:
        if tp is Any or tp is object:
            return {}
        if tp is None or tp is type(None):
            return {"type": "null"}
        if isinstance(tp, (str, typing.ForwardRef)):
            raise ValidationError(f"{where}: the annotation {tp!r} is an unresolved forward reference")
        supertype = getattr(tp, "__supertype__", None)  # typing.NewType
        if supertype is not None:
            return self.schema(supertype, where)
        origin = get_origin(tp)
        args = get_args(tp)
        if origin is Annotated:
            inner = self.schema(args[0], where)
            text = next((a for a in args[1:] if isinstance(a, str)), None)
            if text:
                inner = dict(inner)
                inner["description"] = text
            return inner
        if origin is Literal:
            return self.literal(tp, args, where)
        if origin in UNION_TYPES:
            return self.union(args, where)
        if is_class(tp):
            cls: type = tp
            if issubclass(cls, enum.Enum):
                return self.enum(cls, where)
            if dataclasses.is_dataclass(cls):
                return self.dataclass(cls, where)
            if cls in _SCALARS:  # exact types: bool is an int subclass
                return {"type": _SCALARS[cls]}
            for time_type, fmt in _TIME_FORMATS:
                if issubclass(cls, time_type):
                    return {"type": "string", "format": fmt}
            if issubclass(cls, uuid.UUID):
                return {"type": "string", "format": "uuid"}
            if issubclass(cls, (bytes, bytearray)):
                raise self.fail(where, cls, "JSON has no bytes; take a base64 str")
            for scalar in (str, int, float):  # subclasses such as a custom str type
                if issubclass(cls, scalar):
                    return {"type": _SCALARS[scalar]}
        if tp in (list, tuple, set, frozenset, dict) or origin in _CONTAINER_ORIGINS:
            return self.container(tp, origin or tp, args, where)
        raise self.fail(where, tp)

    def literal(self, tp: Any, args: Tuple[Any, ...], where: str) -> Dict[str, Any]:
        values: List[Any] = []
        for a in args:
            if isinstance(a, enum.Enum):
                a = a.value
            if a is not None and not isinstance(a, (str, int, float, bool)):
                raise self.fail(where, tp, f"Literal value {a!r} is not a JSON scalar")
            values.append(a)
        out: Dict[str, Any] = {}
        kinds = _kinds(values)
        out["type"] = kinds[0] if len(kinds) == 1 else kinds
        if len(values) == 1:
            out["const"] = values[0]
        else:
            out["enum"] = values
        return out

    def union(self, args: Tuple[Any, ...], where: str) -> Dict[str, Any]:
        members = [self.schema(a, where) for a in args]
        if all(set(m) == {"type"} and isinstance(m["type"], str) for m in members):
            kinds: List[str] = []
            for m in members:
                if m["type"] not in kinds:
                    kinds.append(m["type"])
            return {"type": kinds[0] if len(kinds) == 1 else kinds}
        return {"anyOf": members}

    def enum(self, cls: Type[enum.Enum], where: str) -> Dict[str, Any]:
        values = [m.value for m in cls]
        for v in values:
            if v is not None and not isinstance(v, (str, int, float, bool)):
                raise self.fail(where, cls, f"member value {v!r} is not a JSON scalar")
        out: Dict[str, Any] = {}
        kinds = _kinds(values)
        if kinds:
            out["type"] = kinds[0] if len(kinds) == 1 else kinds
        out["enum"] = values
        return out

    def container(self, tp: Any, origin: Any, args: Tuple[Any, ...], where: str) -> Dict[str, Any]:
        if origin in _DICT_ORIGINS:
            out: Dict[str, Any] = {"type": "object"}
            if args:
                key, value = args
                if key is not str and not (is_class(key) and issubclass(key, str)):
                    raise self.fail(where, tp, "JSON object keys are strings; use dict[str, ...]")
                if value is not Any:
                    out["additionalProperties"] = self.schema(value, where)
            return out
        if origin is tuple:
            if _empty_tuple(tp, args):
                return {"type": "array", "maxItems": 0}
            if not args:
                return {"type": "array"}
            if len(args) == 2 and args[1] is Ellipsis:
                return {"type": "array", "items": self.schema(args[0], where)}
            return {"type": "array", "prefixItems": [self.schema(a, where) for a in args],
                    "minItems": len(args), "maxItems": len(args)}
        out = {"type": "array"}
        if args and args[0] is not Any:
            out["items"] = self.schema(args[0], where)
        if origin in _SET_ORIGINS:
            out["uniqueItems"] = True
        return out

    def dataclass(self, cls: type, where: str) -> Dict[str, Any]:
        name = self.def_names.get(cls)
        if name is not None and name in self.defs:
            return {"$ref": f"#/$defs/{name}"}
        if cls in self.stack:
            self.recursive.add(cls)
            return {"$ref": f"#/$defs/{self.def_name(cls)}"}
        self.stack.append(cls)
        try:
            schema = self.dataclass_body(cls, where)
        finally:
            self.stack.pop()
        if cls in self.recursive:
            self.defs[self.def_name(cls)] = copy.deepcopy(schema)
        return schema

    def def_name(self, cls: type) -> str:
        name = self.def_names.get(cls)
        if name is None:
            base = re.sub(r"[^A-Za-z0-9_.-]", "_", cls.__name__)
            taken = set(self.def_names.values()) | set(self.defs)
            name, n = base, 2
            while name in taken:
                name, n = f"{base}_{n}", n + 1
            self.def_names[cls] = name
        return name

    def dataclass_body(self, cls: type, where: str) -> Dict[str, Any]:
        hints = resolve_annotations(cls, self.ns, f"{where} (dataclass {cls.__name__})")
        doc_text, doc_params = parse_docstring(_class_doc(cls))
        props: Dict[str, Any] = {}
        required: List[str] = []
        for f in dataclasses.fields(cls):
            if not f.init:
                continue
            field_where = f"{where}: field {cls.__name__}.{f.name}"
            sub = dict(self.schema(hints.get(f.name, f.type), field_where))
            description = f.metadata.get("description") or doc_params.get(f.name)
            if description:
                sub["description"] = str(description)
            key = _json_name(cls, f)
            if f.default is not dataclasses.MISSING:
                sub = with_default(sub, f.default)
            elif f.default_factory is not dataclasses.MISSING:
                if f.default_factory in (list, dict, tuple):
                    sub = with_default(sub, f.default_factory())
            else:
                required.append(key)
            props[key] = sub
        out: Dict[str, Any] = {"type": "object"}
        if doc_text:
            out["description"] = doc_text
        out["properties"] = props
        if required:
            out["required"] = required
        out["additionalProperties"] = False
        return out


def with_default(schema: Dict[str, Any], default: Any) -> Dict[str, Any]:
    """``schema`` with ``default`` as its ``"default"`` (left out when it has no JSON form); a
    ``None`` default also makes the schema nullable."""
    ok, value = _default_schema(default)
    if not ok:
        return schema
    if value is None and "$ref" not in schema:
        # ``x: int = None`` is the pre-PEP 604 way of writing Optional[int]
        if not accepts_null(schema, schema):
            schema = make_nullable(schema, schema)
    schema = dict(schema)
    schema["default"] = value
    return schema


def _empty_tuple(tp: Any, args: Tuple[Any, ...]) -> bool:
    """``Tuple[()]`` / ``tuple[()]``: its args are ``((),)`` before 3.11 and ``()`` after, like bare
    ``Tuple``."""
    return args == ((),) or (not args and tp is not tuple and tp is not typing.Tuple)


def _kinds(values: List[Any]) -> List[str]:
    """JSON types of the values in first-seen order, "null" last."""
    kinds = list(dict.fromkeys(_json_type(v) for v in values))
    if "integer" in kinds and "number" in kinds:
        kinds.remove("integer")
    return [k for k in kinds if k != "null"] + (["null"] if "null" in kinds else [])


def _json_type(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    return "string"


def schema_for_type(tp: Any, *, defs: Optional[Dict[str, Any]] = None, where: str = "type",
                    namespace: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """The JSON Schema for a Python annotation (see the module docstring for the table).

    ``defs``: a dict that collects ``$defs`` entries for recursive dataclasses (pass one to share
    it between several calls and attach it yourself); when omitted, any entries are attached to
    the returned schema as ``"$defs"``. ``where`` names the annotation in errors (e.g.
    ``"tool 'f': parameter 'x'"``); ``namespace`` helps resolve string annotations.
    """
    builder = SchemaBuilder(defs, namespace)
    schema = builder.schema(tp, where)
    if defs is None and builder.defs:
        schema = dict(schema)
        schema["$defs"] = builder.defs
    return schema


# --------------------------------------------------------------------------------------------
# values -> Python types


def _matches(value: Any, tp: Any, ns: Optional[Dict[str, Any]]) -> bool:
    try:
        schema = _cached_schema(tp)
    except TypeError:  # unhashable annotation metadata
        schema = schema_for_type(tp, namespace=ns)
    return not validate(schema, value)


@functools.lru_cache(maxsize=256)
def _cached_schema(tp: Any) -> Dict[str, Any]:
    return schema_for_type(tp)


def convert_value(value: Any, tp: Any, *, path: str = "$", namespace: Optional[Dict[str, Any]] = None) -> Any:
    """``value`` (decoded JSON, already valid for ``schema_for_type(tp)``) as an instance of ``tp``:
    dataclasses built from dicts, Enums from values, tuples/sets from lists, dates from ISO
    strings, whole floats to int. Raises :class:`ValidationError` naming the JSON path."""
    try:
        return _convert(value, tp, path, namespace)
    except ValidationError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise ValidationError(f"{path}: cannot convert {value!r} to {_type_name(tp)}: {exc}") from None


def _convert(value: Any, tp: Any, path: str, ns: Optional[Dict[str, Any]]) -> Any:
    if tp is Any or tp is object:
        return value
    if tp is None or tp is type(None):
        if value is not None:
            raise ValidationError(f"{path}: expected null, got {value!r}")
        return None
    supertype = getattr(tp, "__supertype__", None)
    if supertype is not None:
        return _convert(value, supertype, path, ns)
    origin = get_origin(tp)
    args = get_args(tp)
    if origin is Annotated:
        return _convert(value, args[0], path, ns)
    if origin is Literal:
        for a in args:
            if isinstance(a, enum.Enum) and a.value == value:
                return a
        return value
    if origin in UNION_TYPES:
        if value is None and type(None) in args:
            return None
        members = [a for a in args if a is not type(None)]
        if len(members) == 1:
            return _convert(value, members[0], path, ns)
        for member in members:
            if _matches(value, member, ns):
                return _convert(value, member, path, ns)
        raise ValidationError(f"{path}: {value!r} matches none of {_type_name(tp)}")
    if is_class(tp):
        if issubclass(tp, enum.Enum):
            return tp(value)
        cls: type = tp
        if dataclasses.is_dataclass(cls):
            return _convert_dataclass(value, cls, path, ns)
        if tp is bool or issubclass(tp, str):
            return value if type(value) is tp else tp(value)
        if issubclass(tp, int):
            if isinstance(value, float):
                if not value.is_integer():
                    raise ValidationError(f"{path}: {value!r} is not an integer")
                value = int(value)
            return value if type(value) is tp else tp(value)
        if issubclass(tp, float):
            return float(value) if type(value) is not tp else value
        if issubclass(tp, datetime.datetime):
            text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value  # 3.9/3.10 fromisoformat
            return tp.fromisoformat(text)
        if issubclass(tp, (datetime.date, datetime.time)):
            return tp.fromisoformat(value)
        if issubclass(tp, uuid.UUID):
            return tp(value)
    container = origin or tp
    if container in _DICT_ORIGINS:
        if not isinstance(value, dict):
            raise ValidationError(f"{path}: expected an object, got {value!r}")
        vt = args[1] if args else Any
        return {k: _convert(v, vt, f"{path}.{k}", ns) for k, v in value.items()}
    if container is tuple:
        if not isinstance(value, (list, tuple)):
            raise ValidationError(f"{path}: expected an array, got {value!r}")
        if _empty_tuple(tp, args):
            return ()
        if not args:
            return tuple(value)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(v, args[0], f"{path}[{i}]", ns) for i, v in enumerate(value))
        if len(value) != len(args):
            raise ValidationError(f"{path}: expected {len(args)} items, got {len(value)}")
        return tuple(_convert(v, a, f"{path}[{i}]", ns) for i, (v, a) in enumerate(zip(value, args)))
    if container in _LIST_ORIGINS or container in _SET_ORIGINS:
        if not isinstance(value, (list, tuple)):
            raise ValidationError(f"{path}: expected an array, got {value!r}")
        it = args[0] if args else Any
        items = [_convert(v, it, f"{path}[{i}]", ns) for i, v in enumerate(value)]
        if container in (frozenset,):
            return frozenset(items)
        if container in _SET_ORIGINS:
            return set(items)
        return items
    raise ValidationError(f"{path}: cannot convert to unsupported type {_type_name(tp)}")


def _convert_dataclass(value: Any, cls: type, path: str, ns: Optional[Dict[str, Any]]) -> Any:
    if isinstance(value, cls):
        return value
    if not isinstance(value, dict):
        raise ValidationError(f"{path}: expected an object for {cls.__name__}, got {value!r}")
    hints = resolve_annotations(cls, ns, f"dataclass {cls.__name__}")
    kwargs = {}
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        key = _json_name(cls, f)
        if key in value:
            kwargs[f.name] = _convert(value[key], hints.get(f.name, f.type), f"{path}.{key}", ns)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ValidationError(f"{path}: missing required field {key!r} of {cls.__name__}")
    try:
        return cls(**kwargs)
    except Exception as exc:  # the dataclass's own __post_init__ validation
        raise ValidationError(f"{path}: {cls.__name__}({', '.join(kwargs)}) failed: {exc}") from None
