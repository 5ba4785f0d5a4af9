"""The one JSON Schema module (sans-IO): tool definitions, tool-call arguments, structured outputs.

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
- :func:`rewrite` — a schema translated into a provider's dialect by table-driven rules
  (:data:`DIALECTS`), reporting every change in ``notes`` and whether meaning was kept
  (``lossless``); :meth:`Rewritten.restore` maps a value produced under the rewritten schema
  back to the original shape.

``jsonschema`` is imported only inside functions, on first need: ``import llmunified`` stays light.
Common schemas (types, properties, required, enums, bounds, anyOf, ...) are validated by a small
compiled checker; jsonschema is only asked to explain a failure or to validate the keywords the
checker does not implement, so the answer is always jsonschema's.
"""
import copy
import json
import numbers
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

from .errors import ValidationError

__all__ = [
    "TOOL_NAME_PATTERN",
    "check_schema",
    "validate_tools",
    "validator_for",
    "validate",
    "validate_arguments",
    "strip_optional_nulls",
    "rewrite",
    "strict_ok",
    "Rewritten",
    "RuleContext",
    "Rule",
    "DIALECTS",
    "OPENAI_STRICT_FORMATS",
]

#: tool (and structured-output) names every provider accepts
TOOL_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")

_CACHE_SIZE = 512
_MESSAGE_LIMIT = 300  # characters of one validation message (jsonschema quotes whole instances)

JSONPath = Tuple[Union[str, int], ...]


# --------------------------------------------------------------------------------------------
# small shared helpers


class _LRU:
    """A small thread-safe LRU map; values are computed outside the lock (a race costs a
    duplicate computation, never a wrong answer)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._data: "OrderedDict[Any, Any]" = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        with self._lock:
            try:
                value = self._data[key]
            except KeyError:
                return None
            self._data.move_to_end(key)
            return value

    def put(self, key: Any, value: Any) -> Any:
        with self._lock:
            existing = self._data.get(key)
            if existing is not None:
                self._data.move_to_end(key)
                return existing  # keep the first: callers may rely on object identity
            self._data[key] = value
            if len(self._data) > self._size:
                self._data.popitem(last=False)
            return value

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


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


def _pointer(parts: Sequence[Union[str, int]]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _short(text: str) -> str:
    return text if len(text) <= _MESSAGE_LIMIT else text[: _MESSAGE_LIMIT - 3] + "..."


# Where subschemas live (2020-12, plus draft-7 spellings so refs and rewrites see them too).
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_SCHEMA_ONE = ("additionalProperties", "items", "contains", "not", "if", "then", "else", "propertyNames",
               "unevaluatedItems", "unevaluatedProperties", "contentSchema", "additionalItems")
_SCHEMA_LISTS = ("prefixItems", "allOf", "anyOf", "oneOf")


def _children(node: Dict[str, Any]) -> Iterator[Tuple[JSONPath, Any]]:
    """(relative path, subschema) for every direct subschema of a schema node."""
    for key in _SCHEMA_MAPS:
        value = node.get(key)
        if isinstance(value, dict):
            for name, sub in value.items():
                yield (key, name), sub
    for key in _SCHEMA_ONE:
        if key in node:
            value = node[key]
            if isinstance(value, list) and key in ("items", "additionalItems"):  # draft-7 tuple form
                for i, sub in enumerate(value):
                    yield (key, i), sub
            else:
                yield (key,), value
    for key in _SCHEMA_LISTS:
        value = node.get(key)
        if isinstance(value, list):
            for i, sub in enumerate(value):
                yield (key, i), sub
    deps = node.get("dependencies")  # draft 7: schema or list of names
    if isinstance(deps, dict):
        for name, sub in deps.items():
            if isinstance(sub, (dict, bool)):
                yield ("dependencies", name), sub


def _map_children(node: Dict[str, Any], fn: Callable[[Any, JSONPath], Any]) -> Dict[str, Any]:
    """A copy of ``node`` with each direct subschema replaced by ``fn(sub, relative_path)``."""
    out = dict(node)
    for rel, sub in list(_children(node)):
        new = fn(sub, rel)
        if len(rel) == 1:
            out[rel[0]] = new
        else:
            key, name = rel
            container = out[key]
            if container is node[key]:  # copy each container once before writing into it
                container = out[key] = list(container) if isinstance(container, list) else dict(container)
            container[name] = new
    return out


def _resolve_local(root: Any, ref: str) -> Tuple[bool, Any]:
    """Resolve a same-document ``$ref`` (``#``, ``#/json/pointer`` or ``#anchor``)."""
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
    for _rel, sub in _children(node):
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

_checked = _LRU(_CACHE_SIZE)  # canonical JSON -> True for schemas known to be valid


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
    pointer = _pointer(parts)
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
        ok, _target = _resolve_local(root, ref)
        if not ok:
            raise _schema_error(where, parts + ["$ref"], f"reference {ref!r} does not resolve inside the schema")
    for rel, sub in _children(node):
        _check_refs(root, sub, parts + list(rel), where)


def validate_tools(tools: Sequence[Any]) -> None:
    """Check tool definitions before a request is built.

    Each name must match ``^[a-zA-Z0-9_-]{1,64}$`` and be unique; ``parameters`` must be a valid
    JSON Schema whose root is ``{"type": "object", ...}``. Valid schemas are cached, so checking
    the same tools on every call costs one canonical JSON dump and a cache lookup per tool.
    """
    seen = set()
    for index, tool in enumerate(tools):
        name = getattr(tool, "name", None)
        if not isinstance(name, str) or not TOOL_NAME_PATTERN.match(name):
            raise ValidationError(
                f"tool {name!r} (tools[{index}]): name must be 1-64 letters, digits, '_' or '-' "
                "(^[a-zA-Z0-9_-]{1,64}$)")
        if name in seen:
            raise ValidationError(f"tool {name!r}: tool names must be unique in a request; {name!r} appears twice")
        seen.add(name)
        description = getattr(tool, "description", "")
        if description is not None and not isinstance(description, str):
            raise ValidationError(f"tool {name!r}: description must be a string, got {type(description).__name__}")
        params = getattr(tool, "parameters", None)
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
        found = {}
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


_compiled = _LRU(_CACHE_SIZE)


def _compile(schema: Any, where: str = "schema") -> _Compiled:
    key = canonical(schema, where=where)
    hit = _compiled.get(key)
    if hit is not None:
        return hit
    check_schema(schema, where=where)
    return _compiled.put(key, _Compiled(copy.deepcopy(schema), _draft(schema, where)))


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

    Strict mode (see :func:`rewrite`) makes optional properties required-and-nullable, so a
    model may send ``null`` meaning "not given"; such nulls are dropped first (see
    :func:`strip_optional_nulls`), then the result is validated against the tool's own schema.
    """
    arguments = strip_optional_nulls(schema, arguments)
    return arguments, validate(schema, arguments)


# The fast checker: the common keywords, compiled to closures. Any keyword it does not implement
# makes it step aside for the whole schema. Its semantics follow jsonschema's Draft 2020-12 (the
# differential test in tests/test_schema.py keeps them in step).

_ANNOTATIONS = frozenset({
    "$schema", "$id", "$comment", "$anchor", "$defs", "definitions", "title", "description", "default",
    "examples", "deprecated", "readOnly", "writeOnly", "format", "contentMediaType", "contentEncoding",
    "$vocabulary",
})
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


def _fast(schema: Any) -> _Check:
    if schema is True:
        return lambda v: True
    if schema is False:
        return lambda v: False
    if not isinstance(schema, dict):
        raise _NotFast
    checks: List[_Check] = []
    for key in schema:
        if key in _SLOW_KEYWORDS:
            raise _NotFast
    if "$defs" in schema or "definitions" in schema:
        raise _NotFast  # refs into them are slow anyway; keep the rule simple

    t = schema.get("type")
    if t is not None:
        if isinstance(t, str):
            checks.append(_TYPE_CHECKS[t])
        else:
            tcs = tuple(_TYPE_CHECKS[x] for x in t)
            checks.append(lambda v, tcs=tcs: any(tc(v) for tc in tcs))

    if "enum" in schema:
        options = list(schema["enum"])
        hashable = [o for o in options if isinstance(o, str)]
        if len(hashable) == len(options):
            option_set = frozenset(hashable)
            checks.append(lambda v, s=option_set: isinstance(v, str) and v in s)
        else:
            checks.append(lambda v, o=options: any(_json_equal(v, x) for x in o))
    if "const" in schema:
        const = schema["const"]
        checks.append(lambda v, c=const: _json_equal(v, c))

    for key, op in (("minimum", lambda v, b: v >= b), ("maximum", lambda v, b: v <= b),
                    ("exclusiveMinimum", lambda v, b: v > b), ("exclusiveMaximum", lambda v, b: v < b)):
        if key in schema:
            bound = schema[key]
            checks.append(lambda v, b=bound, op=op: not _is_number(v) or op(v, b))
    if "minLength" in schema:
        n = schema["minLength"]
        checks.append(lambda v, n=n: not isinstance(v, str) or len(v) >= n)
    if "maxLength" in schema:
        n = schema["maxLength"]
        checks.append(lambda v, n=n: not isinstance(v, str) or len(v) <= n)
    if "pattern" in schema:
        rx = re.compile(schema["pattern"])
        checks.append(lambda v, rx=rx: not isinstance(v, str) or rx.search(v) is not None)
    if "minItems" in schema:
        n = schema["minItems"]
        checks.append(lambda v, n=n: not isinstance(v, list) or len(v) >= n)
    if "maxItems" in schema:
        n = schema["maxItems"]
        checks.append(lambda v, n=n: not isinstance(v, list) or len(v) <= n)
    if "minProperties" in schema:
        n = schema["minProperties"]
        checks.append(lambda v, n=n: not isinstance(v, dict) or len(v) >= n)
    if "maxProperties" in schema:
        n = schema["maxProperties"]
        checks.append(lambda v, n=n: not isinstance(v, dict) or len(v) <= n)
    if "items" in schema:
        item = _fast(schema["items"])
        checks.append(lambda v, item=item: not isinstance(v, list) or all(item(x) for x in v))

    props = schema.get("properties")
    required = schema.get("required")
    extra = schema.get("additionalProperties", True)
    if props is not None or required or extra is not True:
        prop_checks = {name: _fast(sub) for name, sub in (props or {}).items()}
        req = tuple(required or ())
        extra_check = None if extra is True else _fast(extra)

        def check_object(v: Any, prop_checks: Dict[str, _Check] = prop_checks, req: Tuple[str, ...] = req,
                         extra_check: Optional[_Check] = extra_check) -> bool:
            if not isinstance(v, dict):
                return True
            for name in req:
                if name not in v:
                    return False
            for name, value in v.items():
                check = prop_checks.get(name)
                if check is None:
                    if extra_check is not None and not extra_check(value):
                        return False
                elif not check(value):
                    return False
            return True

        checks.append(check_object)

    for key in ("anyOf", "allOf", "oneOf"):
        if key in schema:
            subs = tuple(_fast(s) for s in schema[key])
            if key == "anyOf":
                checks.append(lambda v, subs=subs: any(s(v) for s in subs))
            elif key == "allOf":
                checks.append(lambda v, subs=subs: all(s(v) for s in subs))
            else:
                checks.append(lambda v, subs=subs: sum(1 for s in subs if s(v)) == 1)
    if "not" in schema:
        negated = _fast(schema["not"])
        checks.append(lambda v, negated=negated: not negated(v))

    if not checks:
        return lambda v: True
    if len(checks) == 1:
        return checks[0]
    all_checks = tuple(checks)
    return lambda v: all(c(v) for c in all_checks)


# --------------------------------------------------------------------------------------------
# strict-mode nulls


def _accepts_null(schema: Any, root: Any, depth: int = 0) -> bool:
    """Conservatively: may ``null`` be valid here? (True when unsure.)"""
    if schema is True or not isinstance(schema, dict) or depth > 32:
        return schema is not False
    if "$ref" in schema:
        ok, target = _resolve_local(root, schema["$ref"])
        if ok and not _accepts_null(target, root, depth + 1):
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
        if key in schema and not any(_accepts_null(s, root, depth + 1) for s in schema[key]):
            return False
    if "allOf" in schema and not all(_accepts_null(s, root, depth + 1) for s in schema["allOf"]):
        return False
    return True


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
        ok, target = _resolve_local(root, schema["$ref"])
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
            if item is None and name in props and name not in required and not _accepts_null(sub, root):
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


# --------------------------------------------------------------------------------------------
# dialect rewrites


class RuleContext:
    """What a rewrite rule sees besides the node: where it is, the pass's root, and the log.

    ``path`` is the node's location in the rewritten schema; ``root`` is the schema the pass
    started from (a private copy, never mutated by the walker); ``state`` is scratch space a rule
    may use for the length of one pass; ``restore`` collects names of inverse steps
    (see :data:`_RESTORERS`) that :meth:`Rewritten.restore` applies to produced values.
    """

    def __init__(self, dialect: str, root: Any) -> None:
        self.dialect = dialect
        self.root = root
        self.path: JSONPath = ()
        self.notes: List[str] = []
        self.lossless = True
        self.state: Dict[str, Any] = {}
        self.restore: List[str] = []

    @property
    def where(self) -> str:
        return "#" + _pointer(self.path)

    def note(self, message: str, *, at: Optional[JSONPath] = None) -> None:
        """Record a change that keeps the schema's meaning."""
        text = f"{self.dialect}: {'#' + _pointer(self.path if at is None else at)}: {message}"
        if text not in self.notes:
            self.notes.append(text)

    def lossy(self, message: str, *, at: Optional[JSONPath] = None) -> None:
        """Record a change that loses part of the schema's meaning."""
        self.lossless = False
        self.note(message + " [meaning changed]", at=at)


#: a rewrite rule: ``(schema_node, context) -> replacement node``. Rules run pre-order (a node
#: before its subschemas, which are then walked as the rule left them); a rule may mutate the node
#: it is given (each pass works on a private copy) and returns the node to keep.
Rule = Callable[[Dict[str, Any], RuleContext], Any]


def _walk(node: Any, ctx: RuleContext, rules: Sequence[Rule], path: JSONPath) -> Any:
    if not isinstance(node, dict):
        return node
    for rule in rules:
        ctx.path = path
        node = rule(node, ctx)
        if not isinstance(node, dict):
            return node
    return _map_children(node, lambda sub, rel: _walk(sub, ctx, rules, path + rel))


def _is_object_schema(node: Dict[str, Any]) -> bool:
    t = node.get("type")
    return t == "object" or (isinstance(t, list) and "object" in t) or (t is None and "properties" in node)


def _make_nullable(node: Any, root: Any) -> Any:
    """A schema accepting what ``node`` accepts, plus ``null``."""
    if node is True or _accepts_null(node, root):
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


#: ``format`` values OpenAI strict mode accepts (platform.openai.com/docs/guides/structured-outputs,
#: "Supported properties")
OPENAI_STRICT_FORMATS = frozenset({"date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6",
                                   "uuid"})
# Keywords outside OpenAI's documented strict subset (same page: "Supported properties" lists
# pattern/format, numeric bounds, minItems/maxItems; "not yet supported": allOf, not,
# dependentRequired, dependentSchemas, if/then/else; the older list also named the string length,
# object-size, patternProperties and contains/uniqueItems keywords, still absent from the
# supported list). Dropping them widens what is accepted: the meaning changes.
_STRICT_DROP_LOSSY = ("allOf", "not", "dependentRequired", "dependentSchemas", "if", "then", "else",
                      "minLength", "maxLength", "patternProperties", "unevaluatedProperties", "propertyNames",
                      "minProperties", "maxProperties", "unevaluatedItems", "contains", "minContains",
                      "maxContains", "uniqueItems", "prefixItems", "dependencies", "additionalItems")
# Annotations strict mode rejects (its error: "'default' is not permitted"); validation never
# looked at them, and the strict-nulls restore keeps a function's own default in force.
_STRICT_DROP_ANNOTATIONS = ("default",)


def _strict_keywords(node: Dict[str, Any], ctx: RuleContext) -> Dict[str, Any]:
    for key in _STRICT_DROP_LOSSY:
        if key in node:
            del node[key]
            ctx.lossy(f"removed {key!r} (not supported in strict mode)")
    for key in _STRICT_DROP_ANNOTATIONS:
        if key in node:
            del node[key]
            ctx.note(f"removed {key!r} (not permitted in strict mode; an annotation, validation unchanged)")
    fmt = node.get("format")
    if fmt is not None and fmt not in OPENAI_STRICT_FORMATS:
        del node["format"]
        ctx.note(f"removed format {fmt!r} (strict mode supports only {', '.join(sorted(OPENAI_STRICT_FORMATS))}; "
                 "format is an annotation, validation unchanged)")
    if "oneOf" in node:
        branches = node.pop("oneOf")
        if "anyOf" in node:
            ctx.lossy("removed 'oneOf' beside 'anyOf' (strict mode has no oneOf)")
        else:
            node["anyOf"] = branches
            ctx.lossy("oneOf became anyOf (strict mode has no oneOf; overlapping branches are no longer exclusive)")
    return node


def _strict_ref_siblings(node: Dict[str, Any], ctx: RuleContext) -> Dict[str, Any]:
    # Strict mode rejects keywords next to $ref (the openai SDK's strict helper unravels such refs
    # for the same reason); one-branch anyOf keeps the reference and the sibling annotations.
    if "$ref" in node and len(node) > 1:
        out = {k: v for k, v in node.items() if k != "$ref"}
        out["anyOf"] = [{"$ref": node["$ref"]}] + list(out.get("anyOf", []))
        ctx.note("moved $ref into a one-branch anyOf (strict mode allows no keywords beside $ref)")
        return out
    return node


def _strict_objects(node: Dict[str, Any], ctx: RuleContext) -> Dict[str, Any]:
    if not _is_object_schema(node):
        return node
    props = node.get("properties")
    extra = node.get("additionalProperties", True)
    if extra is not False:
        if isinstance(extra, dict) and extra:
            ctx.lossy("additionalProperties schema (a map with free keys) replaced by false: "
                      "strict mode allows only the listed properties")
        elif "properties" not in node:
            ctx.lossy("free-form object: strict mode allows only listed properties, so it can only be {}")
        else:
            ctx.note("additionalProperties set to false (strict mode requires it)")
        node["additionalProperties"] = False
    if isinstance(props, dict):  # even {}: the openai SDK's strict helper always sends "required"
        required = list(node.get("required") or [])
        props = dict(props)
        for name, sub in props.items():
            if name in required:
                continue
            if sub is True or (isinstance(sub, dict) and not sub):
                ctx.lossy(f"property {name!r} accepts any value; strict mode needs a typed schema",
                          at=ctx.path + ("properties", name))
            props[name] = _make_nullable(sub, ctx.root)
            required.append(name)
            ctx.note(f"optional property {name!r} is now required and nullable (null stands for 'absent')")
            ctx.restore.append("optional-nulls")
        node["properties"] = props
        node["required"] = [n for n in props if n in required] + [n for n in required if n not in props]
    return node


def _strict_typed(node: Dict[str, Any], ctx: RuleContext) -> Dict[str, Any]:
    if not any(k in node for k in ("type", "anyOf", "$ref", "enum", "const")):
        ctx.lossy("schema without a type (any value) is not expressible in strict mode")
    elif node.get("type") == "array" and "items" not in node:
        ctx.lossy("array without 'items' (items of any type) is not expressible in strict mode")
    return node


def _inline_refs(node: Dict[str, Any], ctx: RuleContext) -> Dict[str, Any]:
    for key in ("$defs", "definitions"):
        if key in node:
            del node[key]
            ctx.note(f"removed {key} after inlining its references")
    if "$ref" not in node:
        return node
    # A ref being expanded by an ancestor of this node is a cycle (pre-order walk: the output
    # tree's path prefixes are exactly the ancestors).
    expanded: Dict[JSONPath, set] = ctx.state.setdefault("expanded", {})
    active: set = set()
    for depth in range(len(ctx.path)):
        active |= expanded.get(ctx.path[:depth], set())
    chain: set = set()
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if ref in active or ref in chain:
            raise ValidationError(
                f"schema {ctx.where}: $ref {ref!r} is recursive and cannot be inlined for a provider "
                "that rejects references; use a non-recursive schema with this provider")
        chain.add(ref)
        ok, target = _resolve_local(ctx.root, ref)
        if not ok:
            raise ValidationError(f"schema {ctx.where}: $ref {ref!r} does not resolve inside the schema")
        target = copy.deepcopy(target)
        if target is True:
            target = {}
        elif target is False:
            target = {"not": {}}
        for key in ("$defs", "definitions", "$id", "$schema", "$anchor"):
            target.pop(key, None)
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        clash = [k for k in siblings if k in target and target[k] != siblings[k] and k not in _ANNOTATIONS]
        if clash:  # $ref beside other constraints means "both": keep both
            node = {"allOf": [target, siblings]}
        else:
            target.update(siblings)
            node = target
        ctx.note(f"inlined $ref {ref!r}")
    expanded[ctx.path] = chain
    return node


def _object_root(node: Dict[str, Any], ctx: RuleContext) -> Any:
    if ctx.path != ():
        return node
    if node.get("type") == "object" and not any(k in node for k in ("anyOf", "oneOf", "allOf", "$ref")):
        return node
    hoisted = {k: node[k] for k in ("$schema", "$id", "$defs", "definitions") if k in node}
    inner = {k: v for k, v in node.items() if k not in hoisted}
    inner = _retarget_refs(inner)
    wrapper: Dict[str, Any] = dict(hoisted)
    wrapper.update({"type": "object", "properties": {"value": inner}, "required": ["value"],
                    "additionalProperties": False})
    ctx.note("the root is not an object schema: wrapped as {\"value\": <schema>} (the value is unwrapped on "
             "the way back)")
    ctx.restore.append("unwrap-value")
    return wrapper


def _retarget_refs(node: Any) -> Any:
    """Refs into the old root (other than $defs) must follow it under /properties/value."""
    if not isinstance(node, dict):
        return node
    out = _map_children(node, lambda sub, rel: _retarget_refs(sub))
    ref = out.get("$ref")
    if isinstance(ref, str) and ref.startswith("#") and not ref.startswith(("#/$defs/", "#/definitions/")):
        if ref == "#":
            out["$ref"] = "#/properties/value"
        elif ref.startswith("#/"):
            out["$ref"] = "#/properties/value" + ref[1:]
    return out


#: the dialect table: each row is the rules one pass applies, in order, at every schema node.
#: A new provider dialect is a new row (reusing rules where they fit), not a new branch.
DIALECTS: Dict[str, Tuple[Rule, ...]] = {
    # OpenAI Structured Outputs / strict function calling
    "openai-strict": (_strict_keywords, _strict_ref_siblings, _strict_objects, _strict_typed),
    # providers that reject $ref / $defs
    "inline-refs": (_inline_refs,),
    # providers that need an object at the root of a response schema
    "object-root": (_object_root,),
}


def _unwrap_value(value: Any, schema: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"value"}:
        return value["value"]
    return value


#: inverse steps a pass may register (``ctx.restore``), applied newest first by Rewritten.restore
_RESTORERS: Dict[str, Callable[[Any, Any], Any]] = {
    "optional-nulls": lambda value, schema: strip_optional_nulls(schema, value),
    "unwrap-value": _unwrap_value,
}


@dataclass(frozen=True)
class Rewritten:
    """A schema rewritten for a provider dialect.

    ``notes`` lists every change (``"<dialect>: #/json/pointer: what changed"``); ``lossless`` is
    False when a change altered which documents are accepted (those notes end with
    ``[meaning changed]``). The rewritten ``schema`` is shared by a cache: do not mutate it.
    """

    schema: Any
    notes: List[str]
    lossless: bool
    dialects: Tuple[str, ...] = ()
    #: (restorer name, schema before the pass that needs it), in the order the passes ran
    steps: Tuple[Tuple[str, Any], ...] = field(default=(), repr=False, compare=False)

    def restore(self, value: Any) -> Any:
        """Map a value produced under the rewritten schema back to the original's shape:
        drop strict-mode ``null`` placeholders, unwrap an object-root wrapper."""
        for name, schema in reversed(self.steps):
            value = _RESTORERS[name](value, schema)
        return value


_rewrites = _LRU(_CACHE_SIZE)


def rewrite(schema: Any, dialect: Union[str, Sequence[str]]) -> Rewritten:
    """``schema`` rewritten for one dialect or several applied in order (see :data:`DIALECTS`).

    E.g. ``rewrite(s, ("object-root", "openai-strict"))`` for an OpenAI response format.
    ``inline-refs`` raises :class:`ValidationError` for a recursive reference. The input is not
    modified; results are cached.
    """
    names = (dialect,) if isinstance(dialect, str) else tuple(dialect)
    for name in names:
        if name not in DIALECTS:
            raise ValidationError(f"unknown schema dialect {name!r}; known: {', '.join(sorted(DIALECTS))}")
    key = (canonical(schema), names)
    hit = _rewrites.get(key)
    if hit is not None:
        return hit
    check_schema(schema)
    notes: List[str] = []
    lossless = True
    steps: List[Tuple[str, Any]] = []
    current = copy.deepcopy(schema)
    for name in names:
        before = current
        ctx = RuleContext(name, copy.deepcopy(before))
        current = _walk(copy.deepcopy(before), ctx, DIALECTS[name], ())
        notes.extend(ctx.notes)
        lossless = lossless and ctx.lossless
        for step in dict.fromkeys(ctx.restore):
            steps.append((step, before))
    return _rewrites.put(key, Rewritten(current, notes, lossless, names, tuple(steps)))


def strict_ok(schema: Any) -> bool:
    """True when OpenAI strict mode can carry ``schema`` without changing its meaning: the root is
    an object schema and the ``openai-strict`` rewrite is lossless (then ``strict: true`` is sent)."""
    if not isinstance(schema, dict) or schema.get("type") != "object" or any(
            k in schema for k in ("anyOf", "oneOf", "allOf", "$ref")):
        return False
    return rewrite(schema, "openai-strict").lossless
