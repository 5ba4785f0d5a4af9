"""Schema dialects (sans-IO): a JSON Schema rewritten for what a provider accepts.

:func:`rewrite` translates a schema into a provider's dialect by table-driven rules
(:data:`DIALECTS`), reporting every change in ``notes`` and whether meaning was kept
(``lossless``); :meth:`Rewritten.restore` maps a value produced under the rewritten schema back
to the original shape. :func:`strict_ok` says whether OpenAI strict mode can carry a schema
unchanged. Checking schemas and validating values is :mod:`llmunified._schema`'s job.
"""
import copy
import math
from ._dc import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Set, Tuple, Union

from ._lru import LRU
from ._schema import (JSONPath, canonical, check_schema, json_pointer, make_nullable, map_subschemas, resolve_local_ref,
                      strip_optional_nulls)
from .errors import ValidationError

__all__ = [
    "rewrite",
    "strict_ok",
    "Rewritten",
    "RuleContext",
    "Rule",
    "DIALECTS",
    "OPENAI_STRICT_FORMATS",
]

_CACHE_SIZE = 512

#: keywords that never affect validation (a clash on one of them is no conflict when inlining)
_ANNOTATIONS = frozenset({
    "$schema", "$id", "$comment", "$anchor", "$defs", "definitions", "title", "description", "default",
    "examples", "deprecated", "readOnly", "writeOnly", "format", "contentMediaType", "contentEncoding",
    "$vocabulary",
})


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
        return "#" + json_pointer(self.path)

    def note(self, message: str, *, at: Optional[JSONPath] = None) -> None:
        """Record a change that keeps the schema's meaning."""
        text = f"{self.dialect}: {'#' + json_pointer(self.path if at is None else at)}: {message}"
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
    return map_subschemas(node, lambda sub, rel: _walk(sub, ctx, rules, path + rel))


def _is_object_schema(node: Dict[str, Any]) -> bool:
    t = node.get("type")
    return t == "object" or (isinstance(t, list) and "object" in t) or (t is None and "properties" in node)


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
            props[name] = make_nullable(sub, ctx.root)
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
    expanded: Dict[JSONPath, Set[str]] = ctx.state.setdefault("expanded", {})
    active: Set[str] = set()
    for depth in range(len(ctx.path)):
        active |= expanded.get(ctx.path[:depth], set())
    chain: Set[str] = set()
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if ref in active or ref in chain:
            raise ValidationError(
                f"schema {ctx.where}: $ref {ref!r} is recursive and cannot be inlined for a provider "
                "that rejects references; use a non-recursive schema with this provider")
        chain.add(ref)
        ok, target = resolve_local_ref(ctx.root, ref)
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
    hoisted: Dict[str, Any] = {k: node[k] for k in ("$schema", "$id", "$defs", "definitions") if k in node}
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
    out = map_subschemas(node, lambda sub, rel: _retarget_refs(sub))
    ref = out.get("$ref")
    if isinstance(ref, str) and ref.startswith("#") and not ref.startswith(("#/$defs/", "#/definitions/")):
        if ref == "#":
            out["$ref"] = "#/properties/value"
        elif ref.startswith("#/"):
            out["$ref"] = "#/properties/value" + ref[1:]
    return out


# -- gemini-openapi: the Gemini API's ``Schema``, a subset of OpenAPI 3.0 ------------------------
# docs/wire.md §5 Request body ("Tools", "Structured output"). The field list is that of the
# Generative Language API's v1beta ``Schema`` message. The dialect writes type names in upper
# case (the API's ``Type`` enum; lower case is accepted too). A change that only narrows what is
# accepted (a closed object, a declared property order) keeps ``lossless``: every value valid
# under the rewrite is valid under the original. Dropping a constraint widens it: lossy.

#: the ``Schema`` fields the Gemini API takes; any other keyword is dropped with a note
_GEMINI_FIELDS = frozenset({
    "type", "format", "title", "description", "nullable", "enum", "items", "properties", "required",
    "propertyOrdering", "minItems", "maxItems", "minProperties", "maxProperties", "minLength", "maxLength",
    "pattern", "minimum", "maximum", "anyOf", "default", "example",
})
#: keywords that constrain values and have no Gemini counterpart: dropping one changes the meaning
#: (allOf, oneOf, const and $ref are translated before this list is consulted; it only backs them up)
_GEMINI_LOSSY = frozenset({
    "multipleOf", "contains", "minContains", "maxContains", "prefixItems", "additionalItems", "unevaluatedItems",
    "not", "if", "then", "else", "patternProperties", "propertyNames", "dependentRequired", "dependentSchemas",
    "dependencies", "unevaluatedProperties", "exclusiveMinimum", "exclusiveMaximum", "allOf", "oneOf", "const",
    "$ref",
})
#: ``format`` values the API acts on, per type; any other format is an annotation and is dropped
_GEMINI_FORMATS = {"string": frozenset({"enum", "date-time"}), "number": frozenset({"float", "double"}),
                   "integer": frozenset({"int32", "int64"})}
_GEMINI_TYPES = {"string": "STRING", "number": "NUMBER", "integer": "INTEGER", "boolean": "BOOLEAN",
                 "array": "ARRAY", "object": "OBJECT"}
_NUMBER_KEYS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "format")
#: keywords that constrain values of one JSON type only (a type list splits them into anyOf branches)
_BY_TYPE: Dict[str, Tuple[str, ...]] = {
    "string": ("minLength", "maxLength", "pattern", "format"),
    "number": _NUMBER_KEYS,
    "integer": _NUMBER_KEYS,
    "array": ("items", "prefixItems", "additionalItems", "minItems", "maxItems", "uniqueItems", "contains",
              "minContains", "maxContains", "unevaluatedItems"),
    "object": ("properties", "required", "additionalProperties", "minProperties", "maxProperties",
               "patternProperties", "propertyNames", "dependentRequired", "dependentSchemas", "dependencies",
               "unevaluatedProperties", "propertyOrdering"),
}
_TYPE_SPECIFIC = frozenset(k for keys in _BY_TYPE.values() for k in keys)
#: allOf branches that disagree on a bound keep the tighter one
_TIGHTER: Dict[str, Callable[[Any, Any], Any]] = {
    "minimum": max, "minLength": max, "minItems": max, "minProperties": max,
    "maximum": min, "maxLength": min, "maxItems": min, "maxProperties": min,
}


def _same(a: Any, b: Any) -> bool:
    return canonical(a) == canonical(b)


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _kind_in(value: Any, kinds: Sequence[str]) -> bool:
    kind = _json_kind(value)
    return kind in kinds or (kind == "integer" and "number" in kinds)


def _type_kinds(t: Any) -> Set[str]:
    kinds = {t} if isinstance(t, str) else set(t)
    if "number" in kinds:
        kinds.add("integer")
    return kinds


def _is_null_schema(node: Any) -> bool:
    if not isinstance(node, dict):
        return False
    rest = set(node) - _ANNOTATIONS
    if rest == {"type"}:
        return node["type"] in ("null", ["null"])
    if rest == {"const"}:
        return node["const"] is None
    if rest == {"enum"}:
        return node["enum"] == [None]
    return False


def _gemini_inline(node: Dict[str, Any], ctx: RuleContext) -> Any:
    # Gemini's Schema has no references: every $ref is inlined first (the whole tree, from the
    # root), so the rules below never meet one.
    if ctx.path != ():
        return node
    inner = RuleContext(ctx.dialect, ctx.root)
    node = _walk(node, inner, (_inline_refs,), ())
    for text in inner.notes:
        if text not in ctx.notes:
            ctx.notes.append(text)
    return node


def _merge_types(a: Any, b: Any) -> Any:
    ka, kb = _type_kinds(a), _type_kinds(b)
    both = ka & kb
    named = [k for k in ("string", "number", "integer", "boolean", "array", "object", "null") if k in both]
    if "number" in named and not ("number" in ka and "number" in kb):
        named.remove("number")  # number with integer: integer
    if "number" in named and "integer" in named:
        named.remove("integer")
    return named[0] if len(named) == 1 else named


def _gemini_all_of(node: Dict[str, Any], ctx: RuleContext) -> Dict[str, Any]:
    branches = node.get("allOf")
    if not isinstance(branches, list):
        return node
    merged = {k: v for k, v in node.items() if k != "allOf"}
    for branch in branches:
        if branch is True or branch == {}:
            continue
        if not isinstance(branch, dict):
            ctx.lossy("allOf with a false branch (no value is valid) is not expressible")
            continue
        for key, value in branch.items():
            if key not in merged or _same(merged[key], value):
                merged[key] = value
            elif key in _ANNOTATIONS:
                continue  # the first one stays; annotations do not validate
            elif key == "properties" and isinstance(value, dict) and isinstance(merged[key], dict):
                props = dict(merged[key])
                for name, sub in value.items():
                    # both constraints on one property: an allOf of its own, merged when it is walked
                    props[name] = {"allOf": [props[name], sub]} if name in props and not _same(props[name], sub) \
                        else sub
                merged[key] = props
            elif key == "required" and isinstance(value, list) and isinstance(merged[key], list):
                merged[key] = list(dict.fromkeys(list(merged[key]) + value))
            elif key in _TIGHTER and all(isinstance(v, (int, float)) for v in (merged[key], value)):
                merged[key] = _TIGHTER[key](merged[key], value)
            elif key == "enum" and isinstance(value, list) and isinstance(merged[key], list):
                merged[key] = [v for v in merged[key] if any(_same(v, w) for w in value)]
            elif key == "type" and isinstance(value, (str, list)) and isinstance(merged[key], (str, list)):
                merged[key] = _merge_types(merged[key], value)
            else:
                ctx.lossy(f"allOf branches disagree on {key!r}; only the first is kept")
    ctx.note("allOf merged into one schema (Gemini has no allOf)")
    return merged


def _gemini_null_branches(node: Dict[str, Any], ctx: RuleContext) -> Dict[str, Any]:
    for key in ("anyOf", "oneOf"):
        branches = node.get(key)
        if not isinstance(branches, list) or not any(_is_null_schema(b) for b in branches):
            continue
        rest = [b for b in branches if not _is_null_schema(b)]
        node["nullable"] = True
        ctx.note(f"the null branch of {key} became nullable")
        if len(rest) == 1 and isinstance(rest[0], dict) and not (set(node) - _ANNOTATIONS - {key, "nullable"}) & set(
                rest[0]):
            # one branch left: it becomes the schema itself (the node's own annotations win)
            merged = dict(rest[0])
            merged.update({k: v for k, v in node.items() if k != key})
            node = _gemini_all_of(merged, ctx)
        elif rest:
            node[key] = rest
        else:
            del node[key]
    return node


def _gemini_const(node: Dict[str, Any], ctx: RuleContext) -> Dict[str, Any]:
    if "const" in node:
        value = node.pop("const")
        enum = node.get("enum")
        node["enum"] = [v for v in enum if _same(v, value)] if isinstance(enum, list) else [value]
        ctx.note("const became a one-value enum")
    return node


def _gemini_type_list(node: Dict[str, Any], ctx: RuleContext) -> Dict[str, Any]:
    t = node.get("type")
    if not isinstance(t, list):
        return node
    kinds = [k for k in dict.fromkeys(t) if isinstance(k, str)]
    if "null" in kinds:
        kinds.remove("null")
        node["nullable"] = True
        ctx.note("'null' in the type list became nullable")
    if "integer" in kinds and "number" in kinds:
        kinds.remove("integer")  # every integer is a number
    if len(kinds) <= 1:
        node["type"] = kinds[0] if kinds else "null"
        return node
    if isinstance(node.get("enum"), list):
        # the enum's own values say which types occur; values of other types never validated
        del node["type"]
        node["enum"] = [v for v in node["enum"] if v is None or _kind_in(v, kinds)]
        ctx.note(f"type list {t!r} dropped beside an enum (the enum values carry their types)")
        return node
    if "anyOf" in node or "oneOf" in node:
        ctx.lossy(f"type list {t!r} beside anyOf/oneOf is not expressible; only {kinds[0]!r} kept")
        node["type"] = kinds[0]
        return node
    branches = []
    for kind in kinds:
        branch: Dict[str, Any] = {"type": kind}
        branch.update({k: node[k] for k in _BY_TYPE.get(kind, ()) if k in node})
        branches.append(branch)
    for key in _TYPE_SPECIFIC:
        node.pop(key, None)
    del node["type"]
    node["anyOf"] = branches
    ctx.note(f"type list {t!r} became anyOf, one branch per type")
    return node


def _disjoint(branches: List[Any]) -> bool:
    """True when no value can match two of ``branches`` (told by their types or enum values)."""
    infos: List[Tuple[Set[str], Optional[List[Any]]]] = []
    for b in branches:
        if not isinstance(b, dict):
            return False
        values = [b["const"]] if "const" in b else b.get("enum")
        if isinstance(values, list):
            infos.append(({_json_kind(v) for v in values}, values))
        elif isinstance(b.get("type"), (str, list)):
            infos.append((_type_kinds(b["type"]), None))
        else:
            return False
    for i, (kinds_a, values_a) in enumerate(infos):
        for kinds_b, values_b in infos[i + 1:]:
            if not kinds_a & kinds_b:
                continue
            if values_a is not None and values_b is not None and \
                    not any(_same(x, y) for x in values_a for y in values_b):
                continue
            return False
    return True


def _gemini_one_of(node: Dict[str, Any], ctx: RuleContext) -> Dict[str, Any]:
    if "oneOf" not in node:
        return node
    branches = node.pop("oneOf")
    if "anyOf" in node:
        ctx.lossy("removed oneOf beside anyOf (Gemini has no oneOf)")
    elif _disjoint(branches):
        node["anyOf"] = branches
        ctx.note("oneOf became anyOf (its branches never overlap, so exactly one matches anyway)")
    else:
        node["anyOf"] = branches
        ctx.lossy("oneOf became anyOf (Gemini has no oneOf; overlapping branches are no longer exclusive)")
    return node


def _gemini_enum(node: Dict[str, Any], ctx: RuleContext) -> Dict[str, Any]:
    values = node.get("enum")
    if not isinstance(values, list):
        return node
    t = node.get("type")
    if isinstance(t, str):
        kept = [v for v in values if (v is None and node.get("nullable")) or (v is not None and _kind_in(v, [t]))]
        if len(kept) != len(values):
            ctx.note(f"enum values that are not of type {t!r} dropped (they never validated)")
        values = kept
    if any(v is None for v in values):
        node["nullable"] = True
        values = [v for v in values if v is not None]
        ctx.note("null in the enum became nullable")
    strings = [v for v in values if isinstance(v, str)]
    if strings and len(strings) == len(values):
        node["enum"] = strings
        node["type"] = "string"
        return node
    # Gemini enums hold strings: numbers become exact ranges, booleans the boolean type.
    del node["enum"]
    branches: List[Dict[str, Any]] = [{"type": "string", "enum": strings}] if strings else []
    branches += [{"type": _json_kind(v), "minimum": v, "maximum": v} for v in values
                 if isinstance(v, (int, float)) and not isinstance(v, bool)]
    flags = [v for v in values if isinstance(v, bool)]
    if flags:
        branches.append({"type": "boolean"})
        if len(set(flags)) == 1:
            ctx.lossy(f"enum value {flags[0]!r} widened to any boolean (Gemini enums hold strings only)")
    if any(isinstance(v, (dict, list)) for v in values):
        ctx.lossy("enum values that are objects or arrays are not expressible")
    if not branches:
        if not values and not node.get("nullable"):
            ctx.lossy("an empty enum (no value is valid) is not expressible")
        node.pop("type", None)
        return node
    if any(k in node for k in _TYPE_SPECIFIC - {"format"}):
        ctx.lossy("constraints beside a non-string enum were dropped")
    for key in _TYPE_SPECIFIC:
        node.pop(key, None)
    node.pop("type", None)
    ctx.note("enum values that are not strings became exact anyOf branches (a number n: minimum = maximum = n)")
    if len(branches) == 1:
        node.update(branches[0])
    elif "anyOf" in node:
        ctx.lossy("an enum beside anyOf is not expressible; the enum was dropped")
    else:
        node["anyOf"] = branches
    return node


def _gemini_nullable_branches(node: Dict[str, Any], ctx: RuleContext) -> Dict[str, Any]:
    if node.get("nullable") is True and isinstance(node.get("anyOf"), list):
        node["anyOf"] = [dict(b, nullable=True) if isinstance(b, dict) else b for b in node["anyOf"]]
        del node["nullable"]
        ctx.note("nullable moved into each anyOf branch")
    return node


def _gemini_keywords(node: Dict[str, Any], ctx: RuleContext) -> Dict[str, Any]:
    t = node.get("type")
    for key, bound, pick in (("exclusiveMinimum", "minimum", max), ("exclusiveMaximum", "maximum", min)):
        value = node.get(key)
        if t == "integer" and isinstance(value, (int, float)) and not isinstance(value, bool):
            # an exclusive bound on integers is an inclusive bound one step in
            step = math.floor(value) + 1 if key == "exclusiveMinimum" else math.ceil(value) - 1
            node[bound] = pick(node[bound], step) if isinstance(node.get(bound), (int, float)) else step
            del node[key]
            ctx.note(f"{key} {value!r} on integers became {bound} {step!r}")
    if node.get("uniqueItems") is False:
        del node["uniqueItems"]
        ctx.note("removed uniqueItems: false (no constraint)")
    for key in list(node):
        if key in _GEMINI_FIELDS or key == "additionalProperties":  # objects: see _gemini_object
            continue
        del node[key]
        if key in _GEMINI_LOSSY or key == "uniqueItems":
            ctx.lossy(f"removed {key!r} (Gemini's schema has no such constraint)")
        else:
            ctx.note(f"removed {key!r} (not a field of Gemini's schema; an annotation, validation unchanged)")
    fmt = node.get("format")
    if fmt is not None and fmt not in _GEMINI_FORMATS.get(t if isinstance(t, str) else "", ()):
        del node["format"]
        ctx.note(f"removed format {fmt!r} (Gemini acts on no such format for type {t!r}; an annotation)")
    return node


def _gemini_object(node: Dict[str, Any], ctx: RuleContext) -> Dict[str, Any]:
    if not (node.get("type") == "object" or (node.get("type") is None and "anyOf" not in node and (
            "properties" in node or "additionalProperties" in node))):
        if "additionalProperties" in node:
            del node["additionalProperties"]
            ctx.note("removed additionalProperties (it constrains objects only, and this is no object schema)")
        return node
    if "type" not in node:
        node["type"] = "object"
        ctx.note("type 'object' added to a schema with properties (only objects are produced)")
    extra = node.pop("additionalProperties", None)
    props = node.get("properties")
    if extra is False:
        node.setdefault("properties", {})
        ctx.note("removed additionalProperties: false (a Gemini object holds only its listed properties)")
    elif isinstance(extra, dict) and extra:
        ctx.lossy("additionalProperties with a schema (a map with free keys) is not expressible")
    elif props is None and ctx.path == ():
        node["properties"] = {}
        ctx.note("an object root without properties is sent as an object without properties")
    elif props is None:
        ctx.lossy("an object without properties (any keys) is not expressible")
    elif extra is not None:
        ctx.note("removed additionalProperties (a Gemini object holds only its listed properties)")
    if isinstance(props, dict):
        for name, sub in props.items():
            if not isinstance(sub, dict):
                ctx.lossy(f"property {name!r} accepts {'any value' if sub else 'no value'}: not expressible",
                          at=ctx.path + ("properties", name))
        if len(props) > 1 and "propertyOrdering" not in node:
            node["propertyOrdering"] = list(props)
            ctx.note("propertyOrdering added: the properties in their declared order")
    return node


def _gemini_array(node: Dict[str, Any], ctx: RuleContext) -> Dict[str, Any]:
    if node.get("type") is None and "items" in node and "anyOf" not in node:
        node["type"] = "array"
        ctx.note("type 'array' added to a schema with items (only arrays are produced)")
    if node.get("type") != "array":
        return node
    items = node.get("items")
    if isinstance(items, list):
        ctx.lossy("tuple-form items (one schema per position) are not expressible")
        node["items"] = items[0] if items else {}
    elif not isinstance(items, dict) or not items:
        ctx.lossy("an array without an items schema (items of any type) is not expressible")
    return node


def _gemini_typed(node: Dict[str, Any], ctx: RuleContext) -> Dict[str, Any]:
    t = node.get("type")
    if t == "null" or (t is None and node.get("nullable") and "anyOf" not in node and "enum" not in node):
        ctx.lossy("a schema that accepts only null is not expressible (Gemini has no null type)")
        node.pop("type", None)
    elif t is None and "anyOf" not in node and "enum" not in node:
        ctx.lossy("a schema without a type (any value) is not expressible in Gemini's schema")
    elif isinstance(t, str) and t in _GEMINI_TYPES:
        node["type"] = _GEMINI_TYPES[t]
    if any(not isinstance(b, dict) for b in node.get("anyOf") or ()):
        ctx.lossy("an anyOf branch that is true or false is not expressible")
    return node


#: the dialect table: each row is the rules one pass applies, in order, at every schema node.
#: A new provider dialect is a new row (reusing rules where they fit), not a new branch.
DIALECTS: Dict[str, Tuple[Rule, ...]] = {
    # OpenAI Structured Outputs / strict function calling
    "openai-strict": (_strict_keywords, _strict_ref_siblings, _strict_objects, _strict_typed),
    # providers that reject $ref / $defs
    "inline-refs": (_inline_refs,),
    # providers that need an object at the root of a response schema
    "object-root": (_object_root,),
    # the Gemini API's own Schema (an OpenAPI 3.0 subset): tool ``parameters``, ``responseSchema``
    "gemini-openapi": (_gemini_inline, _gemini_all_of, _gemini_null_branches, _gemini_const, _gemini_type_list,
                       _gemini_one_of, _gemini_enum, _gemini_nullable_branches, _gemini_keywords, _gemini_object,
                       _gemini_array, _gemini_typed),
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


_rewrites: "LRU[Rewritten]" = LRU(_CACHE_SIZE)


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
