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
from typing import (Annotated, Any, Callable, Dict, List, Literal, Optional, Set, Tuple, Type, Union, get_args,
                    get_origin, get_type_hints)

from ._docstrings import parse_docstring
from ._lru import LRU
from ._schema import accepts_null, compiled_schema, make_nullable
from .errors import ValidationError

__all__ = ["schema_for_type", "convert_value", "compile_converter", "Converter", "is_class", "accepts_none",
           "SchemaBuilder", "resolve_annotations", "with_default", "UNION_TYPES"]

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


def _member_schema(tp: Any, ns: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    try:
        return _cached_schema(tp)
    except TypeError:  # unhashable annotation metadata
        return schema_for_type(tp, namespace=ns)


@functools.lru_cache(maxsize=256)
def _cached_schema(tp: Any) -> Dict[str, Any]:
    return schema_for_type(tp)


def convert_value(value: Any, tp: Any, *, path: str = "$", namespace: Optional[Dict[str, Any]] = None) -> Any:
    """``value`` (decoded JSON, already valid for ``schema_for_type(tp)``) as an instance of ``tp``:
    dataclasses built from dicts, Enums from values, tuples/sets from lists, dates from ISO
    strings, whole floats to int. Raises :class:`ValidationError` naming the JSON path."""
    if namespace is None:  # the usual case (structured output): compiled once per annotation
        try:
            convert = _converters.get(tp)
        except TypeError:  # unhashable annotation metadata
            return compile_converter(tp)(value, path)
        if convert is None:
            convert = _converters.put(tp, compile_converter(tp))
        return convert(value, path)
    return compile_converter(tp, namespace)(value, path)


_converters: "LRU[Converter]" = LRU(256)


#: a compiled conversion: ``(value, path) -> converted value``
Converter = Callable[[Any, str], Any]


def compile_converter(tp: Any, namespace: Optional[Dict[str, Any]] = None) -> Converter:
    """``convert_value`` for one annotation, compiled: ``compile_converter(tp, ns)(value, path)`` is
    ``convert_value(value, tp, path=path, namespace=ns)``, minus the work that depends only on
    ``tp``. Keep the result to convert many values (a tool keeps one per parameter).

    Compiling never fails: what ``convert_value`` would refuse (an unsupported annotation, a
    dataclass whose annotations do not resolve) is refused when a value reaches it. A dataclass's
    annotations are resolved on its first conversion and kept by the converter."""
    raw = _Compiler(namespace).compile(tp)

    def convert(value: Any, path: str = "$") -> Any:
        try:
            return raw(value, path)
        except ValidationError:
            raise
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            raise ValidationError(f"{path}: cannot convert {value!r} to {_type_name(tp)}: {exc}") from None

    return convert


def _identity(value: Any, path: str) -> Any:
    return value


def _expect_null(value: Any, path: str) -> Any:
    if value is not None:
        raise ValidationError(f"{path}: expected null, got {value!r}")
    return None


class _Compiler:
    """One compilation: the namespace for string annotations and the dataclasses already compiled
    (so recursive dataclasses share one converter)."""

    def __init__(self, ns: Optional[Dict[str, Any]]) -> None:
        self.ns = ns
        self.dataclasses: Dict[type, Converter] = {}

    def compile(self, tp: Any) -> Converter:
        if tp is Any or tp is object:
            return _identity
        if tp is None or tp is type(None):
            return _expect_null
        supertype = getattr(tp, "__supertype__", None)
        if supertype is not None:
            return self.compile(supertype)
        origin = get_origin(tp)
        args = get_args(tp)
        if origin is Annotated:
            return self.compile(args[0])
        if origin is Literal:
            return self.literal(args)
        if origin in UNION_TYPES:
            return self.union(tp, args)
        if is_class(tp):
            if issubclass(tp, enum.Enum):
                enum_cls = tp
                return lambda value, path: enum_cls(value)
            cls: type = tp
            if dataclasses.is_dataclass(cls):
                return self.dataclass(cls)
            scalar = self.scalar(cls)
            if scalar is not None:
                return scalar
        container = origin or tp
        if container in _DICT_ORIGINS:
            return self.mapping(args)
        if container is tuple:
            return self.fixed_tuple(tp, args)
        if container in _LIST_ORIGINS or container in _SET_ORIGINS:
            return self.array(container, args)
        name = _type_name(tp)

        def unsupported(value: Any, path: str) -> Any:
            raise ValidationError(f"{path}: cannot convert to unsupported type {name}")

        return unsupported

    def literal(self, args: Tuple[Any, ...]) -> Converter:
        members = [a for a in args if isinstance(a, enum.Enum)]
        if not members:
            return _identity

        def convert(value: Any, path: str) -> Any:
            for a in members:
                if a.value == value:
                    return a
            return value

        return convert

    def union(self, tp: Any, args: Tuple[Any, ...]) -> Converter:
        nullable = type(None) in args
        members = [a for a in args if a is not type(None)]
        if len(members) == 1:
            only = self.compile(members[0])
            if not nullable:
                return only

            def optional(value: Any, path: str) -> Any:
                if value is None:
                    return None
                return only(value, path)

            return optional
        ns = self.ns
        name = _type_name(tp)
        # (annotation, converter, its schema's compiled validator once known)
        choices: List[List[Any]] = [[m, self.compile(m), None] for m in members]

        def convert(value: Any, path: str) -> Any:
            if value is None and nullable:
                return None
            for choice in choices:
                checker = choice[2]
                if checker is None:  # the schema is built on first need, as convert_value always did
                    checker = choice[2] = compiled_schema(_member_schema(choice[0], ns))
                if not checker.errors(value):
                    return choice[1](value, path)
            raise ValidationError(f"{path}: {value!r} matches none of {name}")

        return convert

    def scalar(self, tp: type) -> Optional[Converter]:
        if tp is bool or issubclass(tp, str):
            def exact(value: Any, path: str) -> Any:
                return value if type(value) is tp else tp(value)

            return exact
        if issubclass(tp, int):
            def integer(value: Any, path: str) -> Any:
                if isinstance(value, float):
                    if not value.is_integer():
                        raise ValidationError(f"{path}: {value!r} is not an integer")
                    value = int(value)
                return value if type(value) is tp else tp(value)

            return integer
        if issubclass(tp, float):
            return lambda value, path: float(value) if type(value) is not tp else value
        if issubclass(tp, datetime.datetime):
            def moment(value: Any, path: str) -> Any:
                text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value  # 3.9/3.10 fromisoformat
                return tp.fromisoformat(text)

            return moment
        if issubclass(tp, (datetime.date, datetime.time)):
            return lambda value, path: tp.fromisoformat(value)
        if issubclass(tp, uuid.UUID):
            return lambda value, path: tp(value)
        return None

    def mapping(self, args: Tuple[Any, ...]) -> Converter:
        item = self.compile(args[1] if args else Any)

        def convert(value: Any, path: str) -> Any:
            if not isinstance(value, dict):
                raise ValidationError(f"{path}: expected an object, got {value!r}")
            if item is _identity:
                return dict(value)
            return {k: item(v, f"{path}.{k}") for k, v in value.items()}

        return convert

    def fixed_tuple(self, tp: Any, args: Tuple[Any, ...]) -> Converter:
        def expect_array(value: Any, path: str) -> None:
            if not isinstance(value, (list, tuple)):
                raise ValidationError(f"{path}: expected an array, got {value!r}")

        if _empty_tuple(tp, args):
            def empty(value: Any, path: str) -> Any:
                expect_array(value, path)
                return ()

            return empty
        if not args:
            def any_tuple(value: Any, path: str) -> Any:
                expect_array(value, path)
                return tuple(value)

            return any_tuple
        if len(args) == 2 and args[1] is Ellipsis:
            item = self.compile(args[0])

            def homogeneous(value: Any, path: str) -> Any:
                expect_array(value, path)
                return tuple(item(v, f"{path}[{i}]") for i, v in enumerate(value))

            return homogeneous
        items = [self.compile(a) for a in args]

        def fixed(value: Any, path: str) -> Any:
            expect_array(value, path)
            if len(value) != len(items):
                raise ValidationError(f"{path}: expected {len(items)} items, got {len(value)}")
            return tuple(c(v, f"{path}[{i}]") for i, (v, c) in enumerate(zip(value, items)))

        return fixed

    def array(self, container: Any, args: Tuple[Any, ...]) -> Converter:
        item = self.compile(args[0] if args else Any)
        make: Callable[[List[Any]], Any] = (frozenset if container is frozenset else
                                            set if container in _SET_ORIGINS else list)

        def convert(value: Any, path: str) -> Any:
            if not isinstance(value, (list, tuple)):
                raise ValidationError(f"{path}: expected an array, got {value!r}")
            if item is _identity:
                items = list(value)
            else:
                items = [item(v, f"{path}[{i}]") for i, v in enumerate(value)]
            return items if make is list else make(items)

        return convert

    def dataclass(self, cls: type) -> Converter:
        known = self.dataclasses.get(cls)
        if known is not None:
            return known
        # [(init name, JSON key, converter, required)], made on the first conversion: the
        # annotations are resolved then, as convert_value always did (one assignment: threads
        # racing through it each build the same list)
        state: List[Optional[List[Tuple[str, str, Converter, bool]]]] = [None]

        def prepare() -> List[Tuple[str, str, Converter, bool]]:
            hints = resolve_annotations(cls, self.ns, f"dataclass {cls.__name__}")
            found = []
            for f in dataclasses.fields(cls):
                if not f.init:
                    continue
                required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
                found.append((f.name, _json_name(cls, f), self.compile(hints.get(f.name, f.type)), required))
            state[0] = found
            return found

        def convert(value: Any, path: str) -> Any:
            if isinstance(value, cls):
                return value
            if not isinstance(value, dict):
                raise ValidationError(f"{path}: expected an object for {cls.__name__}, got {value!r}")
            fields = state[0]
            if fields is None:
                fields = prepare()
            kwargs = {}
            for name, key, field_convert, required in fields:
                if key in value:
                    kwargs[name] = field_convert(value[key], f"{path}.{key}")
                elif required:
                    raise ValidationError(f"{path}: missing required field {key!r} of {cls.__name__}")
            try:
                return cls(**kwargs)
            except Exception as exc:  # the dataclass's own __post_init__ validation
                raise ValidationError(f"{path}: {cls.__name__}({', '.join(kwargs)}) failed: {exc}") from None

        self.dataclasses[cls] = convert
        return convert
