"""Schema dialects (sans-IO): a JSON Schema rewritten for what a provider accepts.

:func:`rewrite` translates a schema into a provider's dialect by table-driven rules
(:data:`DIALECTS`), reporting every change in ``notes`` and whether meaning was kept
(``lossless``); :meth:`Rewritten.restore` maps a value produced under the rewritten schema back
to the original shape. :func:`strict_ok` says whether OpenAI strict mode can carry a schema
unchanged. Checking schemas and validating values is :mod:`llmunified._schema`'s job.
"""
import copy
from dataclasses import dataclass, field
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
