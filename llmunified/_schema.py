"""JSON Schema checking and validation (sans-IO): tool definitions, tool-call arguments, structured outputs.

What lives here, and nowhere else:

- :func:`check_schema` — is a dict a valid JSON Schema (Draft 2020-12 unless it declares another
  ``$schema``)? The error names where the schema came from and the part that is wrong.
- :func:`validate_tools` — tool names, uniqueness and parameter schemas, checked before anything is
  sent. Tool ``parameters`` must have ``"type": "object"`` at the root: Anthropic's ``input_schema``
  requires it and OpenAI's function parameters are always objects, so a schema that only lists
  ``properties`` is rejected rather than guessed at.
- :func:`validate` / :func:`validator_for` — validation of a value (tool-call arguments, structured
  output) against a schema, with validators compiled once per schema and cached.
  :func:`validate_arguments` is the tool loop's entry point (it undoes the ``null``-for-absent
  convention of strict mode first).
- :func:`strip_optional_nulls`, :func:`accepts_null`, :func:`make_nullable` — the ``null``-for-absent
  convention of strict mode, both ways.

Rewriting a schema into a provider's dialect (``rewrite``, ``DIALECTS``, ``strict_ok``) lives in
:mod:`llmunified._schema_dialects`, which builds on the schema walking helpers here
(:func:`map_subschemas`, :func:`resolve_local_ref`, :func:`json_pointer`).

``jsonschema`` is imported only inside functions, on first need: ``import llmunified`` stays light.
Common schemas (types, properties, required, enums, bounds, anyOf, ...) are validated by a small
compiled checker; jsonschema is only asked to explain a failure or to validate the keywords the
checker does not implement, so the answer is always jsonschema's.
"""
from __future__ import annotations
import copy
import json
import numbers
import operator
import re
import threading
from typing import (Any, Callable, Dict, FrozenSet, Iterator, List, Optional, Sequence, Sized, Tuple,
                    Type, Union)

from ._lru import LRU
from .errors import ValidationError

__all__ = [
    "TOOL_NAME_PATTERN",
    "check_schema",
    "validate_tools",
    "validator_for",
    "compiled_schema",
    "compile_strip",
    "ArgumentsCheck",
    "validate",
    "validate_arguments",
    "strip_optional_nulls",
    "accepts_null",
    "make_nullable",
    "canonical",
]

#: tool (and structured-output) names every provider accepts
TOOL_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")

_CACHE_SIZE = 512
_MESSAGE_LIMIT = 300  # characters of one validation message (jsonschema quotes whole instances)

#: a location in a JSON document: keys and array indices from the root
JSONPath = Tuple[Union[str, int], ...]


# --------------------------------------------------------------------------------------------
# small shared helpers (the schema walking ones are shared with _schema_dialects)


def canonical(schema: Any, *, where: str = "schema") -> str:
    """The schema as canonical JSON (sorted keys): the cache key, and a JSON-ness check."""
    try:
        return json.dumps(schema, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{where}: not a JSON document ({exc})") from None


def _path_text(prefix: str, parts: Sequence[Union[str, int]]) -> str:
    out = [prefix]
    for p in parts:
        if isinstance(p, int):
            out.append(f"[{p}]")
        elif re.match(r"^[A-Za-z_$][A-Za-z0-9_$-]*$", p):
            out.append(f".{p}")
        else:
            out.append(f"[{json.dumps(p, ensure_ascii=False)}]")
    return "".join(out)


def json_pointer(parts: Sequence[Union[str, int]]) -> str:
    """The JSON Pointer (RFC 6901) of a path, e.g. ``("properties", "a/b")`` -> ``/properties/a~1b``."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _short(text: str) -> str:
    return text if len(text) <= _MESSAGE_LIMIT else text[: _MESSAGE_LIMIT - 3] + "..."


# Where subschemas live (2020-12, plus draft-7 spellings so refs and rewrites see them too).
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_SCHEMA_ONE = ("additionalProperties", "items", "contains", "not", "if", "then", "else", "propertyNames",
               "unevaluatedItems", "unevaluatedProperties", "contentSchema", "additionalItems")
_SCHEMA_LISTS = ("prefixItems", "allOf", "anyOf", "oneOf")


#: a direct subschema: (keyword, name or index inside the keyword's value or None, subschema)
_Child = Tuple[str, Union[str, int, None], Any]


def _children(node: Dict[str, Any]) -> Iterator[_Child]:
    """Every direct subschema of a schema node, with where it sits (see :data:`_Child`)."""
    for key in _SCHEMA_MAPS:
        value = node.get(key)
        if isinstance(value, dict):
            for name, sub in value.items():
                yield key, name, sub
    for key in _SCHEMA_ONE:
        if key in node:
            value = node[key]
            if isinstance(value, list) and key in ("items", "additionalItems"):  # draft-7 tuple form
                for i, sub in enumerate(value):
                    yield key, i, sub
            else:
                yield key, None, value
    for key in _SCHEMA_LISTS:
        value = node.get(key)
        if isinstance(value, list):
            for i, sub in enumerate(value):
                yield key, i, sub
    deps = node.get("dependencies")  # draft 7: schema or list of names
    if isinstance(deps, dict):
        for name, sub in deps.items():
            if isinstance(sub, (dict, bool)):
                yield "dependencies", name, sub


def _relative(key: str, name: Union[str, int, None]) -> JSONPath:
    return (key,) if name is None else (key, name)


def map_subschemas(node: Dict[str, Any], fn: Callable[[Any, JSONPath], Any]) -> Dict[str, Any]:
    """A copy of ``node`` with each direct subschema replaced by ``fn(sub, relative_path)``."""
    out = dict(node)
    for key, name, sub in list(_children(node)):
        new = fn(sub, _relative(key, name))
        if name is None:
            out[key] = new
        else:
            container = out[key]
            if container is node[key]:  # copy each container once before writing into it
                container = out[key] = list(container) if isinstance(container, list) else dict(container)
            container[name] = new
    return out


def resolve_local_ref(root: Any, ref: str) -> Tuple[bool, Any]:
    """``(found, target)`` of a same-document ``$ref`` (``#``, ``#/json/pointer`` or ``#anchor``)."""
    if not ref.startswith("#"):
        return False, None
    fragment = ref[1:]
    if fragment == "":
        return True, root
    if not fragment.startswith("/"):
        found = _find_anchor(root, fragment)
        return (found is not None), found
    from urllib.parse import unquote

    node = root
    for token in fragment[1:].split("/"):
        token = unquote(token).replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return False, None
    return True, node


def _find_anchor(node: Any, name: str) -> Any:
    if not isinstance(node, dict):
        return None
    if node.get("$anchor") == name:
        return node
    for _key, _name, sub in _children(node):
        found = _find_anchor(sub, name)
        if found is not None:
            return found
    return None


# --------------------------------------------------------------------------------------------
# checking schemas


_DRAFTS = {
    "json-schema.org/draft/2020-12/schema": "Draft202012Validator",
    "json-schema.org/draft/2019-09/schema": "Draft201909Validator",
    "json-schema.org/draft-07/schema": "Draft7Validator",
    "json-schema.org/draft-06/schema": "Draft6Validator",
    "json-schema.org/draft-04/schema": "Draft4Validator",
}

_checked: "LRU[bool]" = LRU(_CACHE_SIZE)  # canonical JSON -> True for schemas known to be valid


def _draft(schema: Any, where: str) -> str:
    declared = schema.get("$schema") if isinstance(schema, dict) else None
    if declared is None:
        return "Draft202012Validator"
    if not isinstance(declared, str):
        raise ValidationError(f"{_path_text(where, ['$schema'])}: must be a URI string, got {declared!r}")
    key = re.sub(r"^https?://", "", declared).rstrip("#")
    name = _DRAFTS.get(key)
    if name is None:
        raise ValidationError(
            f"{_path_text(where, ['$schema'])}: unknown JSON Schema dialect {declared!r}; "
            "leave $schema out (Draft 2020-12 is assumed) or name a published draft")
    return name


def _validator_class(name: str) -> Any:
    import jsonschema

    return getattr(jsonschema, name)


def check_schema(schema: Any, *, where: str = "schema") -> None:
    """Raise :class:`ValidationError` unless ``schema`` is a valid JSON Schema.

    Checked against the Draft 2020-12 meta-schema (or the draft its ``$schema`` names), with
    ``pattern`` regexes compiled, and every same-document ``$ref`` resolved. Remote references
    (``https://...``) are refused: the library never fetches schemas. The message starts with
    ``where`` followed by the path of the bad part, e.g.
    ``tool 'get_weather': parameters.properties.city.type: 'strin' is not valid under any of the
    given schemas``; the error's ``pointer`` attribute is the JSON Pointer of that part.
    """
    if not isinstance(schema, (dict, bool)):
        raise ValidationError(f"{where}: a JSON Schema must be a dict (or true/false), got {type(schema).__name__}")
    key = canonical(schema, where=where)
    if _checked.get(key):
        return
    cls = _validator_class(_draft(schema, where))
    from jsonschema.exceptions import best_match

    checker = getattr(cls, "FORMAT_CHECKER", None)
    meta = cls(cls.META_SCHEMA, format_checker=checker)
    error = best_match(meta.iter_errors(schema))
    if error is not None:
        raise _schema_error(where, list(error.absolute_path), error.message)
    _check_refs(schema, schema, [], where)
    _checked.put(key, True)


def _schema_error(where: str, parts: List[Union[str, int]], message: str) -> ValidationError:
    pointer = json_pointer(parts)
    text = f"{_path_text(where, parts)}: {_short(message)}"
    if parts:
        text += f" (JSON pointer {pointer})"
    err = ValidationError(text)
    err.pointer = pointer  # type: ignore[attr-defined]
    return err


def _check_refs(root: Any, node: Any, parts: List[Union[str, int]], where: str) -> None:
    if not isinstance(node, dict):
        return
    ref = node.get("$ref")
    if isinstance(ref, str):
        if not ref.startswith("#"):
            raise _schema_error(where, parts + ["$ref"], f"remote reference {ref!r} is not supported; "
                                "put the definition in $defs and refer to it as '#/$defs/<name>'")
        ok, _target = resolve_local_ref(root, ref)
        if not ok:
            raise _schema_error(where, parts + ["$ref"], f"reference {ref!r} does not resolve inside the schema")
    for key, name, sub in _children(node):
        _check_refs(root, sub, parts + list(_relative(key, name)), where)


#: the attribute a Tool object gets once its definition is known valid: the (name, description,
#: parameters) objects that were checked, so a later check of the same, unchanged tool is three
#: identity comparisons (no canonical JSON dump, no cache lookup)
CHECKED_MARK = "_llm_checked_definition"


def validate_tools(tools: Sequence[Any]) -> None:
    """Check tool definitions before a request is built.

    Each name must match ``^[a-zA-Z0-9_-]{1,64}$`` and be unique; ``parameters`` must be a valid
    JSON Schema whose root is ``{"type": "object", ...}``. Every path that sends tools calls this
    (complete, stream, extract, run, ChatSession). A tool object found valid is marked, so
    sending it again costs three identity comparisons; assigning a new ``name``,
    ``description`` or ``parameters`` checks it again. (Editing the ``parameters`` dict in
    place after the tool was first sent is not seen: build a new Tool instead.) Valid schemas
    are also cached by content, for tools rebuilt on every call (dicts).
    """
    seen = set()
    for index, tool in enumerate(tools):
        name = getattr(tool, "name", None)
        description = getattr(tool, "description", "")
        params = getattr(tool, "parameters", None)
        mark = getattr(tool, CHECKED_MARK, None)
        if not (mark is not None and mark[0] is name and mark[1] is description and mark[2] is params):
            _check_tool(index, name, description, params)
            try:
                object.__setattr__(tool, CHECKED_MARK, (name, description, params))
            except (AttributeError, TypeError):  # a tool type without a __dict__: checked every time
                pass
        if name in seen:
            raise ValidationError(f"tool {name!r}: tool names must be unique in a request; {name!r} appears twice")
        seen.add(name)


def _check_tool(index: int, name: Any, description: Any, params: Any) -> None:
    if not isinstance(name, str) or not TOOL_NAME_PATTERN.match(name):
        raise ValidationError(
            f"tool {name!r} (tools[{index}]): name must be 1-64 letters, digits, '_' or '-' "
            "(^[a-zA-Z0-9_-]{1,64}$)")
    if description is not None and not isinstance(description, str):
        raise ValidationError(f"tool {name!r}: description must be a string, got {type(description).__name__}")
    where = f"tool {name!r}: parameters"
    if not isinstance(params, dict):
        raise ValidationError(f"{where}: must be a JSON Schema dict, got {type(params).__name__}")
    check_schema(params, where=where)
    if params.get("type") != "object":
        raise _schema_error(where, ["type"], f"the root must be an object schema with \"type\": \"object\" "
                            f"(got type {params.get('type')!r}); tool arguments are always a JSON object")


# --------------------------------------------------------------------------------------------
# validating values


class _Compiled:
    """A schema's validators: the fast checker (when the schema allows it) and jsonschema's."""

    __slots__ = ("schema", "draft", "fast", "_validator", "_lock")

    def __init__(self, schema: Any, draft: str) -> None:
        self.schema = schema
        self.draft = draft
        self.fast = _compile_fast(schema) if draft == "Draft202012Validator" else None
        self._validator: Any = None
        self._lock = threading.Lock()

    @property
    def validator(self) -> Any:
        if self._validator is None:
            with self._lock:
                if self._validator is None:
                    # Format checking stays off: it is an annotation in 2020-12, and most of its
                    # checkers need optional packages, so "on" would mean different things on
                    # different machines.
                    self._validator = _validator_class(self.draft)(self.schema)
        return self._validator

    def errors(self, value: Any) -> List[str]:
        fast = self.fast
        if fast is not None and fast(value):
            return []
        found: Dict[Tuple[Tuple[Tuple[int, Union[str, int]], ...], str], str] = {}
        for error in self.validator.iter_errors(value):
            path = list(error.absolute_path)
            message = error.message
            if error.context:
                best = _closest(error)
                message += f" (closest: {_path_text('$', list(best.absolute_path))}: {best.message})"
            key = tuple((1, p) if isinstance(p, int) else (0, p) for p in path)
            found.setdefault((key, message), f"{_path_text('$', path)}: {_short(message)}")
        return [found[k] for k in sorted(found)]


def _closest(error: Any) -> Any:
    """The sub-error of an anyOf/oneOf failure that got deepest into the value: usually the branch
    the value was meant for (jsonschema's best_match prefers shallow errors, e.g. "not null")."""
    leaves: List[Any] = []
    pending = list(error.context)
    while pending:
        sub = pending.pop(0)
        if sub.context:
            pending.extend(sub.context)
        else:
            leaves.append(sub)
    return max(leaves, key=lambda e: len(e.absolute_path))


_compiled: "LRU[_Compiled]" = LRU(_CACHE_SIZE)


def _compile(schema: Any, where: str = "schema") -> _Compiled:
    key = canonical(schema, where=where)
    hit = _compiled.get(key)
    if hit is not None:
        return hit
    check_schema(schema, where=where)
    return _compiled.put(key, _Compiled(copy.deepcopy(schema), _draft(schema, where)))


def compiled_schema(schema: Any, where: str = "schema") -> _Compiled:
    """The compiled, cached validators of ``schema``: ``compiled_schema(s).errors(v)`` is
    ``validate(s, v)``. Keep it to validate many values against one schema without the cache
    lookup (a canonical JSON dump of the schema) each time."""
    return _compile(schema, where)


def validator_for(schema: Any) -> Any:
    """The compiled jsonschema validator for ``schema`` (cached: the same object every time)."""
    return _compile(schema).validator


def validate(schema: Any, value: Any) -> List[str]:
    """Validation errors of ``value`` against ``schema``, as readable lines; ``[]`` when valid.

    Each line is ``<JSONPath of the bad value>: <message>``, e.g. ``$.days: 'two' is not of type
    'integer'``; lines are sorted by path, then message. An invalid ``schema`` raises
    :class:`ValidationError`.
    """
    return _compile(schema).errors(value)


def validate_arguments(schema: Dict[str, Any], arguments: Any) -> Tuple[Any, List[str]]:
    """``(arguments, errors)`` for a tool call: what the tool loop runs before calling a tool.

    Strict mode (see :func:`~llmunified._schema_dialects.rewrite`) makes optional properties required-and-nullable, so a
    model may send ``null`` meaning "not given"; such nulls are dropped first (see
    :func:`strip_optional_nulls`), then the result is validated against the tool's own schema.
    """
    arguments = strip_optional_nulls(schema, arguments)
    return arguments, validate(schema, arguments)


# The fast checker: the common keywords, compiled to closures. Any keyword it does not implement
# makes it step aside for the whole schema. Its semantics follow jsonschema's Draft 2020-12 (the
# differential test in tests/core/test_schema.py keeps them in step).

_FAST_KEYWORDS = frozenset({
    "type", "properties", "required", "additionalProperties", "items", "enum", "const", "minimum", "maximum",
    "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "pattern", "minItems", "maxItems",
    "minProperties", "maxProperties", "anyOf", "allOf", "oneOf", "not",
})
#: every keyword jsonschema's Draft202012Validator acts on that the fast checker leaves to it
_SLOW_KEYWORDS = frozenset({
    "$ref", "$dynamicRef", "contains", "dependentRequired", "dependentSchemas", "if", "multipleOf",
    "patternProperties", "prefixItems", "propertyNames", "unevaluatedItems", "unevaluatedProperties",
    "uniqueItems", "then", "else", "minContains", "maxContains", "$recursiveRef", "dependencies",
    "additionalItems",
})

_Check = Callable[[Any], bool]


def _is_number(v: Any) -> bool:
    return isinstance(v, numbers.Number) and not isinstance(v, bool)


_TYPE_CHECKS: Dict[str, _Check] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool))
    or (isinstance(v, float) and v.is_integer()),
    "number": _is_number,
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "null": lambda v: v is None,
}


def _json_equal(a: Any, b: Any) -> bool:
    """JSON equality as jsonschema defines it for enum/const: ``true != 1``, ``1 == 1.0``."""
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (list, dict)) or isinstance(b, (list, dict)):
        return False
    return a == b


class _NotFast(Exception):
    pass


def _compile_fast(schema: Any) -> Optional[_Check]:
    try:
        return _fast(schema)
    except _NotFast:
        return None


#: numeric bounds: keyword -> comparison of the value with the bound (numbers only)
_NUMBER_BOUNDS: Dict[str, Callable[[Any, Any], bool]] = {
    "minimum": operator.ge, "maximum": operator.le, "exclusiveMinimum": operator.gt, "exclusiveMaximum": operator.lt,
}
#: size bounds: keyword -> (the JSON type it applies to, comparison of its length with the bound)
_SIZE_BOUNDS: Dict[str, Tuple[Type[Sized], Callable[[int, int], bool]]] = {
    "minLength": (str, operator.ge), "maxLength": (str, operator.le),
    "minItems": (list, operator.ge), "maxItems": (list, operator.le),
    "minProperties": (dict, operator.ge), "maxProperties": (dict, operator.le),
}


def _always(v: Any) -> bool:
    return True


def _never(v: Any) -> bool:
    return False


def _number_bound(compare: Callable[[Any, Any], bool], bound: Any) -> _Check:
    def check(v: Any) -> bool:  # not a number (bool is not one): the bound does not apply
        return not isinstance(v, numbers.Number) or isinstance(v, bool) or compare(v, bound)
    return check


def _size_bound(kind: Type[Sized], compare: Callable[[int, int], bool], bound: int) -> _Check:
    def check(v: Any) -> bool:
        return not isinstance(v, kind) or compare(len(v), bound)
    return check


def _pattern(rx: "re.Pattern[str]") -> _Check:
    def check(v: Any) -> bool:
        return not isinstance(v, str) or rx.search(v) is not None
    return check


def _string_enum(options: FrozenSet[str]) -> _Check:
    def check(v: Any) -> bool:
        return isinstance(v, str) and v in options
    return check


def _json_enum(options: Sequence[Any]) -> _Check:
    def check(v: Any) -> bool:
        return any(_json_equal(v, o) for o in options)
    return check


def _const(const: Any) -> _Check:
    def check(v: Any) -> bool:
        return _json_equal(v, const)
    return check


def _array_items(item: _Check) -> _Check:
    def check(v: Any) -> bool:
        if isinstance(v, list):
            for x in v:
                if not item(x):
                    return False
        return True
    return check


def _object(props: Dict[str, _Check], required: Tuple[str, ...], extra: Optional[_Check],
            typed: bool = False) -> _Check:
    """The object keywords; ``typed``: also ``"type": "object"`` (a non-object fails)."""
    def check(v: Any) -> bool:
        if not isinstance(v, dict):
            return not typed
        for name in required:
            if name not in v:
                return False
        for name, value in v.items():
            sub = props.get(name)
            if sub is None:
                if extra is not None and not extra(value):
                    return False
            elif not sub(value):
                return False
        return True
    return check


def _any_of(checks: Tuple[_Check, ...]) -> _Check:
    def check(v: Any) -> bool:
        for c in checks:
            if c(v):
                return True
        return False
    return check


def _all_of(checks: Tuple[_Check, ...]) -> _Check:
    def check(v: Any) -> bool:
        for c in checks:
            if not c(v):
                return False
        return True
    return check


def _one_of(checks: Tuple[_Check, ...]) -> _Check:
    def check(v: Any) -> bool:
        return sum(1 for c in checks if c(v)) == 1
    return check


def _not(negated: _Check) -> _Check:
    def check(v: Any) -> bool:
        return not negated(v)
    return check


def _fast(schema: Any) -> _Check:
    if schema is True:
        return _always
    if schema is False:
        return _never
    if not isinstance(schema, dict):
        raise _NotFast
    checks: List[_Check] = []
    for key in schema:
        if key in _SLOW_KEYWORDS:
            raise _NotFast
    if "$defs" in schema or "definitions" in schema:
        raise _NotFast  # refs into them are slow anyway; keep the rule simple

    t = schema.get("type")
    props = schema.get("properties")
    required = schema.get("required")
    extra = schema.get("additionalProperties", True)
    object_keywords = props is not None or required or extra is not True
    if t is not None and not (t == "object" and object_keywords):  # else the object check has it
        if isinstance(t, str):
            checks.append(_TYPE_CHECKS[t])
        else:
            checks.append(_any_of(tuple(_TYPE_CHECKS[x] for x in t)))

    if "enum" in schema:
        options = list(schema["enum"])
        if all(isinstance(o, str) for o in options):
            checks.append(_string_enum(frozenset(options)))
        else:
            checks.append(_json_enum(options))
    if "const" in schema:
        checks.append(_const(schema["const"]))

    for key, compare in _NUMBER_BOUNDS.items():
        if key in schema:
            checks.append(_number_bound(compare, schema[key]))
    for key, (kind, measure) in _SIZE_BOUNDS.items():
        if key in schema:
            checks.append(_size_bound(kind, measure, schema[key]))
    if "pattern" in schema:
        checks.append(_pattern(re.compile(schema["pattern"])))
    if "items" in schema:
        checks.append(_array_items(_fast(schema["items"])))

    if object_keywords:
        checks.insert(0, _object({name: _fast(sub) for name, sub in (props or {}).items()}, tuple(required or ()),
                                 None if extra is True else _fast(extra), typed=t == "object"))

    for key, combine in (("anyOf", _any_of), ("allOf", _all_of), ("oneOf", _one_of)):
        if key in schema:
            checks.append(combine(tuple(_fast(s) for s in schema[key])))
    if "not" in schema:
        checks.append(_not(_fast(schema["not"])))

    if not checks:
        return _always
    if len(checks) == 1:
        return checks[0]
    return _all_of(tuple(checks))


# --------------------------------------------------------------------------------------------
# strict-mode nulls


def accepts_null(schema: Any, root: Any, depth: int = 0) -> bool:
    """Conservatively: may ``null`` be valid here? (True when unsure.)"""
    if schema is True or not isinstance(schema, dict) or depth > 32:
        return schema is not False
    if "$ref" in schema:
        ok, target = resolve_local_ref(root, schema["$ref"])
        if ok and not accepts_null(target, root, depth + 1):
            return False
    t = schema.get("type")
    if isinstance(t, str) and t != "null":
        return False
    if isinstance(t, list) and "null" not in t:
        return False
    if "enum" in schema and None not in schema["enum"]:
        return False
    if "const" in schema and schema["const"] is not None:
        return False
    for key in ("anyOf", "oneOf"):
        if key in schema and not any(accepts_null(s, root, depth + 1) for s in schema[key]):
            return False
    if "allOf" in schema and not all(accepts_null(s, root, depth + 1) for s in schema["allOf"]):
        return False
    return True


def make_nullable(node: Any, root: Any) -> Any:
    """A schema accepting what ``node`` accepts, plus ``null``."""
    if node is True or accepts_null(node, root):
        return node
    if node is False:
        return {"type": "null"}
    t = node.get("type")
    simple = isinstance(t, (str, list)) and not any(k in node for k in ("anyOf", "oneOf", "allOf", "$ref", "const"))
    kinds = [t] if isinstance(t, str) else list(t or [])
    if simple and not ({"object", "array"} & set(kinds)):
        out = dict(node)
        out["type"] = kinds + ["null"]
        if "enum" in out:
            out["enum"] = list(out["enum"]) + [None]
        return out
    if "anyOf" in node and set(node) <= {"anyOf", "description", "title"}:
        out = dict(node)
        out["anyOf"] = list(node["anyOf"]) + [{"type": "null"}]
        return out
    inner = {k: v for k, v in node.items() if k not in ("description", "title")}
    out = {k: node[k] for k in ("description", "title") if k in node}
    out["anyOf"] = [inner, {"type": "null"}]
    return out



def _json_kind_ok(value: Any, schema: Any) -> bool:
    t = schema.get("type") if isinstance(schema, dict) else None
    if t is None:
        return True
    kinds = [t] if isinstance(t, str) else t
    return any(_TYPE_CHECKS[k](value) for k in kinds if k in _TYPE_CHECKS)


def strip_optional_nulls(schema: Any, value: Any) -> Any:
    """``value`` with ``null`` removed where it can only mean "absent".

    A ``null`` for a property that is optional in ``schema`` and whose own schema rejects
    ``null`` is invalid as it stands; strict mode (every property required, optional ones
    nullable) produces exactly these. Dropping them never turns a valid document invalid.
    Walks ``properties``, ``items``, ``prefixItems``, ``additionalProperties``, local ``$ref``
    and, for ``anyOf``/``oneOf``, the first branch whose type fits the value.
    """
    return _strip(value, schema, schema, 0)


def _strip(value: Any, schema: Any, root: Any, depth: int) -> Any:
    if not isinstance(schema, dict) or depth > 64 or not isinstance(value, (dict, list)):
        return value
    if "$ref" in schema:
        ok, target = resolve_local_ref(root, schema["$ref"])
        if ok:
            value = _strip(value, target, root, depth + 1)
    for key in ("anyOf", "oneOf"):
        for branch in schema.get(key) or ():
            if isinstance(branch, dict) and _json_kind_ok(value, branch) and (
                    not isinstance(value, dict) or not branch.get("properties")
                    or set(value) <= set(branch["properties"])):
                value = _strip(value, branch, root, depth + 1)
                break
    for branch in schema.get("allOf") or ():
        value = _strip(value, branch, root, depth + 1)
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        required = set(schema.get("required") or ())
        out = {}
        for name, item in value.items():
            sub = props.get(name, extra if name not in props else None)
            if item is None and name in props and name not in required and not accepts_null(sub, root):
                continue
            out[name] = _strip(item, sub, root, depth + 1) if sub is not None else item
        return out
    prefix = schema.get("prefixItems") or []
    items = schema.get("items")
    out_list = []
    for i, item in enumerate(value):
        sub = prefix[i] if i < len(prefix) else items
        out_list.append(_strip(item, sub, root, depth + 1) if isinstance(sub, dict) else item)
    return out_list


# Compiled once per schema (the tool loop keeps one per tool): the same answers as
# strip_optional_nulls + validate, without walking the schema's keywords or dumping it as the
# cache key on every call.


class _StripNode:
    """One subschema of :func:`strip_optional_nulls`, its keywords read in advance."""

    __slots__ = ("combines", "ref", "any_of", "one_of", "all_of", "props", "extra", "prefix", "items")

    def __init__(self) -> None:
        self.combines = False  # has $ref, anyOf, oneOf or allOf
        self.ref: Optional[_StripNode] = None
        # (type checks or None for "no type", property names or None, branch)
        self.any_of: List[Tuple[Optional[Tuple[_Check, ...]], Optional[FrozenSet[str]], _StripNode]] = []
        self.one_of: List[Tuple[Optional[Tuple[_Check, ...]], Optional[FrozenSet[str]], _StripNode]] = []
        self.all_of: List[_StripNode] = []
        self.props: Dict[str, Tuple[Optional[_StripNode], bool]] = {}  # name -> (subschema, null means absent)
        self.extra: Optional[_StripNode] = None
        self.prefix: List[Optional[_StripNode]] = []
        self.items: Optional[_StripNode] = None

    def strip(self, value: Any, depth: int) -> Any:
        if depth > 64 or not isinstance(value, (dict, list)):
            return value
        depth += 1
        if self.combines:
            if self.ref is not None:
                value = self.ref.strip(value, depth)
            for branches in (self.any_of, self.one_of):
                for kinds, names, branch in branches:
                    if (kinds is None or any(check(value) for check in kinds)) and (
                            names is None or not isinstance(value, dict) or value.keys() <= names):
                        value = branch.strip(value, depth)
                        break
            for node in self.all_of:
                value = node.strip(value, depth)
        if isinstance(value, dict):
            props = self.props
            extra = self.extra
            out = {}
            for name, item in value.items():
                entry = props.get(name)
                if entry is None:
                    out[name] = item if extra is None else extra.strip(item, depth)
                    continue
                sub, null_is_absent = entry
                if item is None and null_is_absent:
                    continue
                out[name] = item if sub is None else sub.strip(item, depth)
            return out
        prefix = self.prefix
        items = self.items
        if not prefix:
            return list(value) if items is None else [items.strip(item, depth) for item in value]
        out_list = []
        for i, item in enumerate(value):
            sub = prefix[i] if i < len(prefix) else items
            out_list.append(item if sub is None else sub.strip(item, depth))
        return out_list


_COMBINING = ("$ref", "anyOf", "oneOf", "allOf")
_NOT_LEAF = _COMBINING + ("properties", "additionalProperties", "prefixItems", "items")


def _leaf(schema: Dict[str, Any]) -> bool:
    """True for a subschema that stripping may treat as "leave the value as it is": its type
    excludes objects and arrays (a valid value is a scalar, which stripping never changes) and
    nothing in it looks inside a value (so an invalid object or array would only be copied)."""
    t = schema.get("type")
    if isinstance(t, str):
        kinds = (t,)
    elif isinstance(t, list):
        kinds = tuple(t)
    else:
        return False
    return "object" not in kinds and "array" not in kinds and not any(k in schema for k in _NOT_LEAF)


class _StripCompiler:
    def __init__(self, root: Any) -> None:
        self.root = root
        self.nodes: Dict[int, _StripNode] = {}  # id(subschema) -> its node; $ref cycles meet here

    def node(self, schema: Any) -> Optional[_StripNode]:
        if not isinstance(schema, dict):
            return None  # strip_optional_nulls leaves the value as it is
        if _leaf(schema):
            return None
        known = self.nodes.get(id(schema))
        if known is not None:
            return known
        node = self.nodes[id(schema)] = _StripNode()
        node.combines = any(k in schema for k in _COMBINING)
        root = self.root
        if "$ref" in schema:
            ok, target = resolve_local_ref(root, schema["$ref"])
            if ok:
                node.ref = self.node(target)
        for key, branches in (("anyOf", node.any_of), ("oneOf", node.one_of)):
            for branch in schema.get(key) or ():
                if not isinstance(branch, dict):
                    continue
                t = branch.get("type")
                kinds = None if t is None else tuple(
                    _TYPE_CHECKS[k] for k in ([t] if isinstance(t, str) else t) if k in _TYPE_CHECKS)
                names = frozenset(branch["properties"]) if branch.get("properties") else None
                sub = self.node(branch)
                assert sub is not None
                branches.append((kinds, names, sub))
        for branch in schema.get("allOf") or ():
            sub = self.node(branch)
            if sub is not None:
                node.all_of.append(sub)
        props = schema.get("properties") or {}
        required = set(schema.get("required") or ())
        for name, sub_schema in props.items():
            null_is_absent = name not in required and not accepts_null(sub_schema, root)
            node.props[name] = (self.node(sub_schema), null_is_absent)
        node.extra = self.node(schema.get("additionalProperties"))
        node.prefix = [self.node(sub_schema) for sub_schema in schema.get("prefixItems") or []]
        node.items = self.node(schema.get("items"))
        return node


def compile_strip(schema: Any) -> Callable[[Any], Any]:
    """:func:`strip_optional_nulls` for one schema, compiled: ``compile_strip(s)(v)`` equals
    ``strip_optional_nulls(s, v)`` (an object or array where the schema only admits scalars, which
    validation refuses either way, is returned as it is rather than copied)."""
    try:
        node = _StripCompiler(schema).node(schema)
    except Exception:  # a schema check_schema would refuse: walk it the slow way, as before
        return lambda value: strip_optional_nulls(schema, value)
    if node is None:
        return lambda value: value
    return lambda value: node.strip(value, 0)


class ArgumentsCheck:
    """:func:`validate_arguments` for one tool schema, compiled once:
    ``ArgumentsCheck(s)(arguments)`` is ``validate_arguments(s, arguments)``."""

    __slots__ = ("_strip", "_compiled")

    def __init__(self, schema: Dict[str, Any]) -> None:
        self._compiled = _compile(schema)
        # the compiled validators hold a copy of the schema: strip against the same copy
        self._strip = compile_strip(self._compiled.schema)

    def __call__(self, arguments: Any) -> Tuple[Any, List[str]]:
        arguments = self._strip(arguments)
        return arguments, self._compiled.errors(arguments)

