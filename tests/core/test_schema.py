"""The shared JSON Schema module: checking, tool validation, value validation, dialect rewrites."""
import copy
import json
import subprocess
import sys
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmunified import _schema
from llmunified._lru import LRU
from llmunified._schema import (ArgumentsCheck, check_schema, compile_strip, strip_optional_nulls, validate,
                                validate_arguments, validate_tools, validator_for)
from llmunified._schema_dialects import DIALECTS, Rewritten, rewrite, strict_ok
from llmunified._types import Tool
from llmunified.errors import ValidationError

WEATHER = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "description": "City name"},
        "days": {"type": "integer", "minimum": 1},
        "unit": {"type": "string", "enum": ["C", "F"], "default": "C"},
    },
    "required": ["city", "days"],
    "additionalProperties": False,
}


class FakeTool:
    """Anything with name/description/parameters (validate_tools is duck-typed)."""

    def __init__(self, name, parameters, description=""):
        self.name, self.parameters, self.description = name, parameters, description


# ---------------------------------------------------------------------------------------------
# check_schema


def test_check_schema_accepts_valid_schemas():
    check_schema(WEATHER, where="s")
    check_schema(True, where="s")
    check_schema({}, where="s")
    check_schema({"$defs": {"A": {"type": "string"}}, "$ref": "#/$defs/A"}, where="s")
    check_schema({"definitions": {"A": {"type": "string"}}, "items": {"$ref": "#/definitions/A"}}, where="s")
    check_schema({"$defs": {"A": {"$anchor": "anc", "type": "string"}}, "items": {"$ref": "#anc"}}, where="s")


def test_check_schema_names_where_and_the_bad_part():
    with pytest.raises(ValidationError) as info:
        check_schema({"type": "object", "properties": {"city": {"type": "strin"}}}, where="target schema")
    msg = str(info.value)
    assert msg == ("target schema.properties.city.type: 'strin' is not valid under any of the given schemas "
                   "(JSON pointer /properties/city/type)")
    assert info.value.pointer == "/properties/city/type"


@pytest.mark.parametrize("schema, fragment", [
    ({"type": "object", "required": "city"}, "s.required: 'city' is not of type 'array'"),
    ({"properties": [1]}, "s.properties: [1] is not of type 'object'"),
    ({"properties": {"x": {"pattern": "(["}}}, "s.properties.x.pattern: '([' is not a 'regex'"),
    ({"type": "array", "minItems": -1}, "s.minItems: -1 is less than the minimum of 0"),
    ({"anyOf": []}, "s.anyOf: [] "),  # wording differs between jsonschema versions
    ({"properties": {"a b": {"type": 5}}}, 's.properties["a b"].type: 5 is not valid under any of the given schemas'),
])
def test_check_schema_meta_errors(schema, fragment):
    with pytest.raises(ValidationError) as info:
        check_schema(schema, where="s")
    assert str(info.value).startswith(fragment)


def test_check_schema_refs_must_resolve_locally():
    with pytest.raises(ValidationError,
                       match=r"s\.properties\.a\.\$ref: reference '#/\$defs/Missing' does not resolve"):
        check_schema({"properties": {"a": {"$ref": "#/$defs/Missing"}}}, where="s")
    with pytest.raises(ValidationError, match=r"remote reference 'https://example.com/x.json' is not supported"):
        check_schema({"items": {"$ref": "https://example.com/x.json"}}, where="s")


def test_check_schema_rejects_non_schemas():
    with pytest.raises(ValidationError, match=r"^s: a JSON Schema must be a dict \(or true/false\), got list"):
        check_schema([], where="s")
    with pytest.raises(ValidationError, match=r"^s: not a JSON document"):
        check_schema({"enum": [{1, 2}]}, where="s")
    with pytest.raises(ValidationError, match=r"^s: not a JSON document"):
        check_schema({"maximum": float("nan")}, where="s")


def test_check_schema_honours_declared_drafts():
    draft7 = {"$schema": "http://json-schema.org/draft-07/schema#", "items": [{"type": "string"}]}
    check_schema(draft7, where="s")  # array-form items is draft 7, invalid in 2020-12
    with pytest.raises(ValidationError):
        check_schema({"items": [{"type": "string"}]}, where="s")
    with pytest.raises(ValidationError, match=r"s\.\$schema: unknown JSON Schema dialect 'urn:nope'"):
        check_schema({"$schema": "urn:nope"}, where="s")
    assert validate(draft7, ["a", 1]) == []
    assert validate(draft7, [1]) == ["$[0]: 1 is not of type 'string'"]


def test_check_schema_is_cached(monkeypatch):
    schema = {"type": "object", "properties": {"cached_probe": {"type": "number"}}}
    check_schema(schema, where="s")

    def boom(name):
        raise AssertionError("meta-schema validation ran again")

    monkeypatch.setattr(_schema, "_validator_class", boom)
    check_schema(copy.deepcopy(schema), where="other")  # equal schema, new dict: still a cache hit


# ---------------------------------------------------------------------------------------------
# validate_tools


def test_validate_tools_accepts_good_tools():
    validate_tools([Tool("get_weather", "Weather", WEATHER), Tool("a-b_9", "", {"type": "object"})])
    validate_tools([])


def test_validate_tools_issue_example_message():
    with pytest.raises(ValidationError) as info:
        validate_tools([Tool("get_weather", "", {"type": "object", "properties": {"city": {"type": "strin"}}})])
    assert str(info.value).startswith(
        "tool 'get_weather': parameters.properties.city.type: 'strin' is not valid under any of the given schemas")


@pytest.mark.parametrize("name", ["get weather", "x" * 65, "wetter.heute", "é"])
def test_validate_tools_rejects_bad_names(name):
    with pytest.raises(ValidationError, match=r"name must be 1-64 letters, digits, '_' or '-'") as info:
        validate_tools([Tool(name, "", {"type": "object"})])
    assert repr(name) in str(info.value)


def test_validate_tools_names_accept_64_chars():
    validate_tools([Tool("x" * 64, "", {"type": "object"})])


def test_validate_tools_rejects_duplicates():
    with pytest.raises(ValidationError, match=r"tool 'a': tool names must be unique in a request"):
        validate_tools([Tool("a", "", {"type": "object"}), Tool("b", "", {"type": "object"}),
                        Tool("a", "", {"type": "object"})])


@pytest.mark.parametrize("params, expected", [
    ({"type": "array"}, "tool 't': parameters.type: the root must be an object schema"),
    ({"properties": {"a": {"type": "string"}}}, "tool 't': parameters.type: the root must be an object schema"),
    ({"anyOf": [{"type": "object"}]}, "tool 't': parameters.type: the root must be an object schema"),
])
def test_validate_tools_requires_object_root(params, expected):
    with pytest.raises(ValidationError) as info:
        validate_tools([Tool("t", "", params)])
    assert str(info.value).startswith(expected)


def test_validate_tools_rejects_non_dict_parameters_and_description():
    with pytest.raises(ValidationError, match=r"tool 't': parameters: must be a JSON Schema dict, got list"):
        validate_tools([FakeTool("t", [])])
    with pytest.raises(ValidationError, match=r"tool 't': description must be a string, got int"):
        validate_tools([FakeTool("t", {"type": "object"}, description=3)])
    with pytest.raises(ValidationError, match=r"tool 't': parameters: not a JSON document"):
        validate_tools([FakeTool("t", {"type": "object", "default": object()})])


def test_validate_tools_is_cached(monkeypatch):
    tools = [Tool("cache_probe", "", {"type": "object", "properties": {"q": {"type": "string", "maxLength": 7}}})]
    validate_tools(tools)
    monkeypatch.setattr(_schema, "_validator_class", lambda name: pytest.fail("re-validated a known schema"))
    validate_tools(copy.deepcopy(tools))


# ---------------------------------------------------------------------------------------------
# validate / validator_for


def test_validate_valid_and_invalid_values():
    assert validate(WEATHER, {"city": "Paris", "days": 3}) == []
    assert validate(WEATHER, {"city": "Paris", "days": "two"}) == ["$.days: 'two' is not of type 'integer'"]


def test_validate_errors_sorted_with_paths():
    schema = {"type": "object", "properties": {
        "b": {"type": "array", "items": {"type": "object", "properties": {"x": {"type": "integer"}}}},
        "a": {"type": "string"}}, "required": ["a", "c"], "additionalProperties": False}
    errors = validate(schema, {"b": [{"x": 1}, {"x": "no"}], "a": 5, "zz": 1})
    assert errors == [
        "$: 'c' is a required property",
        "$: Additional properties are not allowed ('zz' was unexpected)",
        "$.a: 5 is not of type 'string'",
        "$.b[1].x: 'no' is not of type 'integer'",
    ]


def test_validate_odd_keys_and_closest_anyof_branch():
    schema = {"type": "object", "properties": {"a b": {"anyOf": [{"type": "string"}, {"type": "integer"}]}}}
    errors = validate(schema, {"a b": 1.5})
    assert errors == ['$["a b"]: 1.5 is not valid under any of the given schemas '
                      "(closest: $[\"a b\"]: 1.5 is not of type 'string')"]


def test_validate_truncates_huge_messages():
    (error,) = validate({"type": "integer"}, "x" * 5000)
    assert error.startswith("$: 'xxxx") and error.endswith("...") and len(error) < 320


def test_validate_rejects_an_invalid_schema():
    with pytest.raises(ValidationError, match=r"^schema\.type: 'strin' is not valid"):
        validate({"type": "strin"}, 1)


def test_validator_is_compiled_once_and_reused():
    schema = {"type": "object", "properties": {"reuse_probe": {"type": "integer"}}}
    first = validator_for(schema)
    assert validator_for(copy.deepcopy(schema)) is first
    assert type(first).__name__ == "Draft202012Validator"
    compiled = _schema._compile(schema)
    assert _schema._compile(json.loads(json.dumps(schema))) is compiled
    validate(schema, {"reuse_probe": "x"})
    assert compiled.validator is first


def test_cached_schema_is_isolated_from_later_mutation():
    schema = {"type": "object", "properties": {"mut_probe": {"type": "integer"}}}
    assert validate(schema, {"mut_probe": 1}) == []
    schema["properties"]["mut_probe"]["type"] = "string"
    assert validate(schema, {"mut_probe": 1}) == ["$.mut_probe: 1 is not of type 'string'"]


def test_validate_is_thread_safe():
    schemas = [{"type": "object", "properties": {f"t{i}": {"type": "integer"}}, "required": [f"t{i}"]}
               for i in range(20)]
    failures = []

    def work():
        for i, s in enumerate(schemas):
            if validate(s, {f"t{i}": 1}) != [] or validate(s, {}) != [f"$: 't{i}' is a required property"]:
                failures.append(i)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


def test_lru_is_bounded():
    lru = LRU(3)
    for i in range(5):
        lru.put(i, str(i))
    assert len(lru) == 3 and lru.get(0) is None and lru.get(4) == "4"
    assert lru.put(4, "other") == "4"  # first value wins (identity is relied on)


def test_refs_and_slow_keywords_use_jsonschema():
    schema = {"type": "object", "properties": {"n": {"$ref": "#/$defs/N"}},
              "$defs": {"N": {"type": "integer", "multipleOf": 3}}}
    assert _schema._compile(schema).fast is None
    assert validate(schema, {"n": 9}) == []
    assert validate(schema, {"n": 10}) == ["$.n: 10 is not a multiple of 3"]


def test_fast_checker_covers_the_common_tool_schema():
    assert _schema._compile(WEATHER).fast is not None


def test_fast_keyword_lists_cover_every_jsonschema_keyword():
    from jsonschema import Draft202012Validator

    known = _schema._FAST_KEYWORDS | _schema._SLOW_KEYWORDS | {"format"}
    assert set(Draft202012Validator.VALIDATORS) <= known


# A differential test: the fast checker must agree with jsonschema on every schema it accepts.

_scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from([0.0, 1.0, 2.5, -1.5]),
                     st.sampled_from(["", "a", "ab", "ba", "abc"]))
_values = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(["a", "b", "c"]), inner, max_size=3)),
    max_leaves=8)
_types = st.sampled_from(["string", "integer", "number", "boolean", "object", "array", "null"])
_leaf_schemas = st.one_of(
    st.just(True), st.just(False), st.just({}),
    _types.map(lambda t: {"type": t}),
    st.lists(_types, min_size=1, max_size=3, unique=True).map(lambda ts: {"type": ts}),
    st.lists(_scalars, min_size=1, max_size=3).map(lambda vs: {"enum": vs}),
    st.lists(st.sampled_from(["a", "b"]), min_size=1, max_size=2).map(lambda vs: {"enum": vs}),
    _values.map(lambda v: {"const": v}),
    st.builds(lambda k, n: {k: n},
              st.sampled_from(["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"]),
              st.sampled_from([0, 1, 1.5])),
    st.builds(lambda k, n: {k: n},
              st.sampled_from(["minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties"]),
              st.integers(0, 2)),
    st.sampled_from([{"pattern": "^a"}, {"pattern": "b"}, {"type": "string", "format": "email"}]),
)


def _compound(inner):
    props = st.dictionaries(st.sampled_from(["a", "b", "c"]), inner, max_size=3)
    return st.one_of(
        st.builds(lambda p, r, ap: dict({"type": "object", "properties": p, "required": r},
                                        **({} if ap is None else {"additionalProperties": ap})),
                  props, st.lists(st.sampled_from(["a", "b"]), max_size=2, unique=True),
                  st.one_of(st.none(), st.booleans(), inner)),
        st.builds(lambda i: {"type": "array", "items": i}, inner),
        st.builds(lambda i: {"items": i, "minItems": 1}, inner),
        st.lists(inner, min_size=1, max_size=3).map(lambda xs: {"anyOf": xs}),
        st.lists(inner, min_size=1, max_size=3).map(lambda xs: {"allOf": xs}),
        st.lists(inner, min_size=1, max_size=3).map(lambda xs: {"oneOf": xs}),
        inner.map(lambda x: {"not": x}),
        st.builds(lambda a, b: dict(a, **b) if isinstance(a, dict) and isinstance(b, dict) else a, inner, inner),
    )


_fast_schemas = st.recursive(_leaf_schemas, _compound, max_leaves=6)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_fast_schemas, st.lists(_values, min_size=1, max_size=4))
def test_fast_checker_agrees_with_jsonschema(schema, values):
    from jsonschema import Draft202012Validator

    fast = _schema._compile_fast(schema)
    assert fast is not None
    reference = Draft202012Validator(schema)
    for value in values:
        assert fast(value) == reference.is_valid(value), (schema, value)
        assert (validate(schema, value) == []) == reference.is_valid(value)


def test_json_equality_matches_jsonschema_enum_semantics():
    eq = _schema._json_equal
    assert eq(1, 1.0) and not eq(True, 1) and not eq(0, False) and eq(False, False)
    assert eq([1, {"a": True}], [1.0, {"a": True}]) and not eq([1], [True]) and not eq({"a": 1}, {"a": 1, "b": 2})
    assert not eq("1", 1) and not eq([], {}) and eq(None, None) and not eq(None, 0)


# ---------------------------------------------------------------------------------------------
# strict-mode nulls


def test_strip_optional_nulls():
    schema = {
        "type": "object",
        "properties": {
            "req": {"type": ["string", "null"]},
            "opt": {"type": "string"},
            "opt_nullable": {"type": ["string", "null"]},
            "nested": {"type": "object", "properties": {"x": {"type": "integer"}}},
            "items": {"type": "array", "items": {"$ref": "#/$defs/I"}},
            "choice": {"anyOf": [{"type": "object", "properties": {"k": {"type": "string"}}}, {"type": "string"}]},
        },
        "required": ["req"],
        "$defs": {"I": {"type": "object", "properties": {"y": {"type": "boolean"}}}},
    }
    value = {"req": None, "opt": None, "opt_nullable": None, "nested": {"x": None},
             "items": [{"y": None}, {"y": True}], "choice": {"k": None}, "extra": None}
    assert strip_optional_nulls(schema, value) == {
        "req": None, "opt_nullable": None, "nested": {}, "items": [{}, {"y": True}], "choice": {}, "extra": None}
    assert value["opt"] is None  # input untouched
    assert strip_optional_nulls(schema, "text") == "text"


def test_validate_arguments_drops_strict_nulls_then_validates():
    args, errors = validate_arguments(WEATHER, {"city": "Paris", "days": 2, "unit": None})
    assert args == {"city": "Paris", "days": 2} and errors == []
    args, errors = validate_arguments(WEATHER, {"city": None, "days": 2})
    assert args == {"city": None, "days": 2} and errors == ["$.city: None is not of type 'string'"]


# The compiled forms the tool loop keeps per tool: the same answers as the functions.

_ref_leaves = st.one_of(_leaf_schemas, st.just({"$ref": "#/$defs/D"}), st.just({"$ref": "#/$defs/missing"}))


def _strip_compound(inner):
    return st.one_of(
        _compound(inner),
        st.builds(lambda p, i: dict({"type": "array", "prefixItems": p}, **({} if i is None else {"items": i})),
                  st.lists(inner, min_size=1, max_size=2), st.one_of(st.none(), inner)),
        st.builds(lambda p, r: {"anyOf": [{"type": "object", "properties": p, "required": r}, {"type": "null"}]},
                  st.dictionaries(st.sampled_from(["a", "b", "c"]), inner, max_size=3),
                  st.lists(st.sampled_from(["a", "b"]), max_size=2, unique=True)),
    )


_strip_schemas = st.builds(lambda s, d: dict(s, **{"$defs": {"D": d}}) if isinstance(s, dict) else s,
                           st.recursive(_ref_leaves, _strip_compound, max_leaves=8), _fast_schemas)
_null_values = st.recursive(st.one_of(st.none(), _scalars), lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(["a", "b", "c"]), inner, max_size=3)),
    max_leaves=10)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_strip_schemas, st.lists(_null_values, min_size=1, max_size=4))
def test_compiled_strip_equals_strip_optional_nulls(schema, values):
    strip = compile_strip(schema)
    for value in values:
        expected = strip_optional_nulls(schema, value)
        assert strip(value) == expected, (schema, value)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_strip_schemas, st.lists(st.dictionaries(st.sampled_from(["a", "b", "c"]), _null_values, max_size=3),
                                min_size=1, max_size=4))
def test_arguments_check_equals_validate_arguments(schema, values):
    if not isinstance(schema, dict):
        return
    schema = dict(schema, type="object")
    try:
        check_schema(schema)
    except ValidationError:  # e.g. a $ref that does not resolve: both refuse it
        with pytest.raises(ValidationError):
            validate_arguments(schema, values[0])
        with pytest.raises(ValidationError):
            ArgumentsCheck(schema)
        return
    check = ArgumentsCheck(schema)
    for value in values:
        assert check(value) == validate_arguments(schema, value), (schema, value)


def test_compiled_strip_recursive_refs_and_depth():
    tree = {"type": "object", "properties": {"label": {"type": "string"},
                                             "children": {"type": "array", "items": {"$ref": "#"}}}}
    value = {"label": None, "children": [{"label": "x", "children": [{"label": None}]}]}
    assert compile_strip(tree)(value) == strip_optional_nulls(tree, value) == {
        "children": [{"label": "x", "children": [{}]}]}
    loop = {"allOf": [{"$ref": "#"}], "properties": {"a": {"type": "string"}}}  # refers to itself forever
    assert compile_strip(loop)({"a": None}) == strip_optional_nulls(loop, {"a": None}) == {}
    deep: dict = {}
    node = deep
    for _ in range(80):
        node["children"] = [{"label": None}]
        node = node["children"][0]
    assert compile_strip(tree)(deep) == strip_optional_nulls(tree, deep)


def test_compiled_strip_copies_what_strip_optional_nulls_copies():
    schema = {"type": "object", "properties": {"any": {}, "n": {"type": "integer"}}}
    value = {"any": {"k": [1]}, "n": 1}
    out = compile_strip(schema)(value)
    assert out == strip_optional_nulls(schema, value) == value
    assert out is not value and out["any"] is not value["any"] and out["any"]["k"] is value["any"]["k"]
    assert compile_strip("not a schema")(value) is value
    bad = {"type": "object", "$ref": 3}  # refused by check_schema: walked the slow way, failing the same way
    with pytest.raises(AttributeError):
        strip_optional_nulls(bad, value)
    with pytest.raises(AttributeError):
        compile_strip(bad)(value)


# ---------------------------------------------------------------------------------------------
# rewrites: openai-strict


def test_openai_strict_typical_tool_schema():
    result = rewrite(WEATHER, "openai-strict")
    assert result.schema == {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "City name"},
            "days": {"type": "integer", "minimum": 1},
            "unit": {"type": ["string", "null"], "enum": ["C", "F", None]},
        },
        "required": ["city", "days", "unit"],
        "additionalProperties": False,
    }
    assert result.lossless is True
    assert result.notes == [
        "openai-strict: #: optional property 'unit' is now required and nullable (null stands for 'absent')",
        "openai-strict: #/properties/unit: removed 'default' (not permitted in strict mode; an annotation, "
        "validation unchanged)",
    ]
    assert result.restore({"city": "P", "days": 1, "unit": None}) == {"city": "P", "days": 1}
    assert WEATHER["properties"]["unit"]["default"] == "C"  # input untouched
    check_schema(result.schema)


def test_openai_strict_nullable_shapes():
    schema = {"type": "object", "properties": {
        "obj": {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"],
                "additionalProperties": False, "description": "an object"},
        "ref": {"$ref": "#/$defs/R"},
        "any": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
        "already": {"type": ["string", "null"]},
        "const": {"const": "k"},
        "multi": {"type": ["string", "integer"]},
    }, "additionalProperties": False, "$defs": {"R": {"type": "string"}}}
    result = rewrite(schema, "openai-strict")
    props = result.schema["properties"]
    assert props["obj"] == {"description": "an object", "anyOf": [
        {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"],
         "additionalProperties": False}, {"type": "null"}]}
    assert props["ref"] == {"anyOf": [{"$ref": "#/$defs/R"}, {"type": "null"}]}
    assert props["any"] == {"anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}]}
    assert props["already"] == {"type": ["string", "null"]}
    assert props["const"] == {"anyOf": [{"const": "k"}, {"type": "null"}]}
    assert props["multi"] == {"type": ["string", "integer", "null"]}
    assert result.schema["required"] == ["obj", "ref", "any", "already", "const", "multi"]
    assert result.lossless
    check_schema(result.schema)


def test_openai_strict_objects_everywhere_get_closed():
    item = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}
    schema = {"type": "object", "properties": {"list": {"type": "array", "items": item}}, "required": ["list"],
              "$defs": {"D": {"type": "object", "properties": {"b": {"type": "string"}}, "required": ["b"]}}}
    result = rewrite(schema, "openai-strict")
    assert result.schema["additionalProperties"] is False
    assert result.schema["properties"]["list"]["items"]["additionalProperties"] is False
    assert result.schema["$defs"]["D"]["additionalProperties"] is False
    assert "openai-strict: #/properties/list/items: additionalProperties set to false (strict mode requires it)" \
        in result.notes
    assert result.lossless


@pytest.mark.parametrize("schema, note", [
    ({"type": "object", "properties": {"s": {"type": "string", "minLength": 2}}, "required": ["s"]},
     "openai-strict: #/properties/s: removed 'minLength' (not supported in strict mode) [meaning changed]"),
    ({"type": "object", "properties": {"a": {"type": "array", "items": {"type": "integer"}, "uniqueItems": True}},
      "required": ["a"]},
     "openai-strict: #/properties/a: removed 'uniqueItems' (not supported in strict mode) [meaning changed]"),
    ({"type": "object", "properties": {"a": {"allOf": [{"type": "integer"}]}}, "required": ["a"]},
     "openai-strict: #/properties/a: removed 'allOf' (not supported in strict mode) [meaning changed]"),
    ({"type": "object", "properties": {"a": {"oneOf": [{"type": "integer"}, {"type": "number"}]}}, "required": ["a"]},
     "openai-strict: #/properties/a: oneOf became anyOf (strict mode has no oneOf; overlapping branches are no "
     "longer exclusive) [meaning changed]"),
    ({"type": "object", "properties": {"m": {"type": "object", "additionalProperties": {"type": "integer"}}},
      "required": ["m"]},
     "openai-strict: #/properties/m: additionalProperties schema (a map with free keys) replaced by false: strict "
     "mode allows only the listed properties [meaning changed]"),
    ({"type": "object", "properties": {"m": {"type": "object"}}, "required": ["m"]},
     "openai-strict: #/properties/m: free-form object: strict mode allows only listed properties, so it can only "
     "be {} [meaning changed]"),
    ({"type": "object", "properties": {"x": {}}, "required": ["x"]},
     "openai-strict: #/properties/x: schema without a type (any value) is not expressible in strict mode "
     "[meaning changed]"),
    ({"type": "object", "properties": {"x": {"type": "array"}}, "required": ["x"]},
     "openai-strict: #/properties/x: array without 'items' (items of any type) is not expressible in strict mode "
     "[meaning changed]"),
    ({"type": "object", "properties": {"t": {"type": "array", "prefixItems": [{"type": "integer"}],
                                             "items": {"type": "integer"}}}, "required": ["t"]},
     "openai-strict: #/properties/t: removed 'prefixItems' (not supported in strict mode) [meaning changed]"),
])
def test_openai_strict_lossy_changes_are_noted(schema, note):
    result = rewrite(schema, "openai-strict")
    assert note in result.notes
    assert result.lossless is False
    assert strict_ok(schema) is False


def test_openai_strict_keeps_supported_constraints():
    schema = {"type": "object", "properties": {
        "email": {"type": "string", "format": "email", "pattern": "@"},
        "n": {"type": "number", "minimum": 0, "exclusiveMaximum": 10, "multipleOf": 0.5},
        "l": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 3},
        "when": {"type": "string", "format": "date-time"},
    }, "required": ["email", "n", "l", "when"], "additionalProperties": False}
    result = rewrite(schema, "openai-strict")
    assert result.schema == schema and result.notes == [] and result.lossless
    assert strict_ok(schema)


def test_openai_strict_unknown_format_is_an_annotation():
    schema = {"type": "object", "properties": {"u": {"type": "string", "format": "uri"}}, "required": ["u"],
              "additionalProperties": False}
    result = rewrite(schema, "openai-strict")
    assert result.schema["properties"]["u"] == {"type": "string"}
    assert result.lossless
    assert result.notes == ["openai-strict: #/properties/u: removed format 'uri' (strict mode supports only date, "
                            "date-time, duration, email, hostname, ipv4, ipv6, time, uuid; format is an annotation, "
                            "validation unchanged)"]


def test_openai_strict_ref_with_siblings():
    schema = {"type": "object", "properties": {"p": {"$ref": "#/$defs/P", "description": "the p"}},
              "required": ["p"], "additionalProperties": False,
              "$defs": {"P": {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"],
                              "additionalProperties": False}}}
    result = rewrite(schema, "openai-strict")
    assert result.schema["properties"]["p"] == {"description": "the p", "anyOf": [{"$ref": "#/$defs/P"}]}
    assert result.lossless
    assert validate(result.schema, {"p": {"x": 1}}) == []


def test_strict_ok():
    assert strict_ok(WEATHER)
    assert strict_ok(Tool("t").parameters)  # {"type": "object", "properties": {}}: closed, lossless
    assert rewrite(Tool("t").parameters, "openai-strict").schema == {
        "type": "object", "properties": {}, "additionalProperties": False, "required": []}
    assert not strict_ok({"type": "array", "items": {"type": "string"}})
    assert not strict_ok({"anyOf": [{"type": "object"}]})
    assert not strict_ok("nope")


def test_rewritten_values_restore_to_valid_originals():
    schema = {"type": "object", "properties": {
        "a": {"type": "integer"}, "b": {"type": "object", "properties": {"c": {"type": "string"}}}},
        "required": ["a"]}
    result = rewrite(schema, "openai-strict")
    produced = {"a": 1, "b": {"c": None}}
    assert validate(result.schema, produced) == []
    assert validate(schema, produced) != []
    assert validate(schema, result.restore(produced)) == []
    assert validate(schema, result.restore({"a": 1, "b": None})) == []


# ---------------------------------------------------------------------------------------------
# rewrites: inline-refs


def test_inline_refs_inlines_and_merges_annotations():
    schema = {"type": "object", "properties": {
        "a": {"$ref": "#/$defs/Addr", "description": "home"},
        "b": {"type": "array", "items": {"$ref": "#/definitions/Tag"}},
        "c": {"$ref": "#/$defs/Alias"}},
        "$defs": {"Addr": {"type": "object", "properties": {"street": {"$ref": "#/definitions/Tag"}},
                           "description": "an address"},
                  "Alias": {"$ref": "#/$defs/Addr"}},
        "definitions": {"Tag": {"type": "string"}}}
    result = rewrite(schema, "inline-refs")
    tag = {"type": "string"}
    addr = {"type": "object", "properties": {"street": tag}, "description": "an address"}
    assert result.schema == {"type": "object", "properties": {
        "a": dict(addr, description="home"), "b": {"type": "array", "items": tag}, "c": addr}}
    assert result.lossless
    assert "inline-refs: #/properties/a: inlined $ref '#/$defs/Addr'" in result.notes
    assert "inline-refs: #: removed $defs after inlining its references" in result.notes
    assert "$defs" in schema  # input untouched


def test_inline_refs_conflicting_siblings_become_allof():
    schema = {"type": "object", "properties": {"n": {"$ref": "#/$defs/N", "maximum": 5}},
              "$defs": {"N": {"type": "integer", "maximum": 10}}}
    result = rewrite(schema, "inline-refs")
    assert result.schema["properties"]["n"] == {"allOf": [{"type": "integer", "maximum": 10}, {"maximum": 5}]}


@pytest.mark.parametrize("schema, ref, at", [
    ({"type": "object", "properties": {"next": {"$ref": "#/$defs/Node"}},
      "$defs": {"Node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/Node"}}}}},
     "#/$defs/Node", "#/properties/next/properties/next"),
    ({"type": "object", "properties": {"children": {"type": "array", "items": {"$ref": "#"}}}},
     "#", "#/properties/children/items/properties/children/items"),
    ({"type": "object", "properties": {"a": {"$ref": "#/$defs/A"}},
      "$defs": {"A": {"type": "object", "properties": {"b": {"$ref": "#/$defs/B"}}},
                "B": {"type": "array", "items": {"$ref": "#/$defs/A"}}}},
     "#/$defs/A", "#/properties/a/properties/b/items"),
    ({"type": "object", "properties": {"a": {"$ref": "#/$defs/A"}},
      "$defs": {"A": {"$ref": "#/$defs/B"}, "B": {"$ref": "#/$defs/A"}}},
     "#/$defs/A", "#/properties/a"),
])
def test_inline_refs_recursion_is_an_error(schema, ref, at):
    with pytest.raises(ValidationError) as info:
        rewrite(schema, "inline-refs")
    assert str(info.value) == (f"schema {at}: $ref {ref!r} is recursive and cannot be inlined for a provider that "
                               "rejects references; use a non-recursive schema with this provider")


def test_inline_refs_unused_recursive_definition_is_dropped():
    schema = {"type": "object", "properties": {"x": {"$ref": "#/$defs/X"}},
              "$defs": {"X": {"type": "string"}, "Loop": {"type": "array", "items": {"$ref": "#/$defs/Loop"}}}}
    assert rewrite(schema, "inline-refs").schema == {"type": "object", "properties": {"x": {"type": "string"}}}


def test_inline_refs_repeated_non_recursive_use_is_fine():
    schema = {"type": "object", "properties": {"a": {"$ref": "#/$defs/P"}, "b": {"$ref": "#/$defs/P"}},
              "$defs": {"P": {"type": "object", "properties": {"q": {"$ref": "#/$defs/Q"}, "r": {"$ref": "#/$defs/Q"}}},
                        "Q": {"type": "integer"}}}
    result = rewrite(schema, "inline-refs")
    p = {"type": "object", "properties": {"q": {"type": "integer"}, "r": {"type": "integer"}}}
    assert result.schema == {"type": "object", "properties": {"a": p, "b": p}}


# ---------------------------------------------------------------------------------------------
# rewrites: object-root, combinations, the table


def test_object_root_wraps_and_restores():
    schema = {"type": "array", "items": {"$ref": "#/$defs/I"}, "$defs": {"I": {"type": "integer"}},
              "$schema": "https://json-schema.org/draft/2020-12/schema"}
    result = rewrite(schema, "object-root")
    assert result.schema == {
        "$schema": "https://json-schema.org/draft/2020-12/schema", "$defs": {"I": {"type": "integer"}},
        "type": "object", "properties": {"value": {"type": "array", "items": {"$ref": "#/$defs/I"}}},
        "required": ["value"], "additionalProperties": False}
    assert result.notes == ['object-root: #: the root is not an object schema: wrapped as {"value": <schema>} '
                            "(the value is unwrapped on the way back)"]
    assert result.lossless
    assert result.restore({"value": [1, 2]}) == [1, 2]
    assert validate(result.schema, {"value": [1, 2]}) == []


def test_object_root_leaves_objects_alone():
    result = rewrite(WEATHER, "object-root")
    assert result.schema == WEATHER and result.notes == [] and result.restore({"city": "x"}) == {"city": "x"}


def test_object_root_retargets_root_refs():
    schema = {"anyOf": [{"type": "string"}, {"type": "array", "items": {"$ref": "#"}}]}
    result = rewrite(schema, "object-root")
    inner = result.schema["properties"]["value"]
    assert inner["anyOf"][1]["items"] == {"$ref": "#/properties/value"}
    assert validate(result.schema, {"value": ["a", ["b", ["c"]]]}) == []
    assert validate(result.schema, {"value": ["a", [1]]}) != []


def test_combined_dialects_for_an_openai_response_format():
    schema = {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"},
                                                                          "age": {"type": "integer"}},
                                         "required": ["name"]}}
    result = rewrite(schema, ("object-root", "openai-strict"))
    assert result.schema == {"type": "object", "properties": {"value": {"type": "array", "items": {
        "type": "object", "properties": {"name": {"type": "string"}, "age": {"type": ["integer", "null"]}},
        "required": ["name", "age"], "additionalProperties": False}}}, "required": ["value"],
        "additionalProperties": False}
    assert result.dialects == ("object-root", "openai-strict")
    assert result.restore({"value": [{"name": "a", "age": None}]}) == [{"name": "a"}]
    assert result.lossless


def test_rewrite_results_are_cached_and_bad_dialects_rejected():
    assert rewrite(WEATHER, "openai-strict") is rewrite(copy.deepcopy(WEATHER), "openai-strict")
    with pytest.raises(ValidationError, match=r"unknown schema dialect 'gemini-nope'; known: gemini-openapi, "
                                              r"inline-refs, "):
        rewrite(WEATHER, "gemini-nope")
    with pytest.raises(ValidationError, match=r"^schema\.type"):
        rewrite({"type": "strin"}, "openai-strict")


def test_a_new_dialect_is_a_new_table_row(monkeypatch):
    def drop_descriptions(node, ctx):
        if "description" in node:
            del node["description"]
            ctx.note("removed description")
        return node

    monkeypatch.setitem(DIALECTS, "test-no-descriptions", (drop_descriptions,))
    result = rewrite(WEATHER, ("test-no-descriptions", "inline-refs"))
    assert "description" not in result.schema["properties"]["city"]
    assert result.notes == ["test-no-descriptions: #/properties/city: removed description"]
    assert isinstance(result, Rewritten)


def test_rewrites_produce_valid_schemas():
    for dialect in ("openai-strict", "inline-refs", "object-root", ("object-root", "openai-strict")):
        check_schema(rewrite(WEATHER, dialect).schema, where=str(dialect))


# ---------------------------------------------------------------------------------------------
# rewrites: gemini-openapi (the Gemini API's Schema, an OpenAPI 3.0 subset: docs/wire.md §5)


def lossy_notes(result):
    return [n for n in result.notes if n.endswith("[meaning changed]")]


def test_gemini_typical_tool_schema():
    result = rewrite(WEATHER, "gemini-openapi")
    assert result.schema == {
        "type": "OBJECT",
        "properties": {
            "city": {"type": "STRING", "description": "City name"},
            "days": {"type": "INTEGER", "minimum": 1},
            "unit": {"type": "STRING", "enum": ["C", "F"], "default": "C"},
        },
        "required": ["city", "days"],
        "propertyOrdering": ["city", "days", "unit"],
    }
    assert result.lossless
    assert result.notes == [
        "gemini-openapi: #: removed additionalProperties: false (a Gemini object holds only its listed properties)",
        "gemini-openapi: #: propertyOrdering added: the properties in their declared order",
    ]
    assert result.dialects == ("gemini-openapi",)
    assert WEATHER["additionalProperties"] is False and "propertyOrdering" not in WEATHER  # input untouched


def test_gemini_nullable_shapes():
    schema = {"type": "object", "properties": {
        "a": {"type": ["string", "null"], "maxLength": 3},
        "b": {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "null"}], "description": "B", "default": None},
        "c": {"anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}]},
        "d": {"enum": ["x", "y", None]},
        "e": {"oneOf": [{"type": "null"}, {"type": "boolean"}]},
        "f": {"type": ["integer", "string", "null"]},
    }, "propertyOrdering": ["f", "e", "d", "c", "b", "a"]}
    result = rewrite(schema, "gemini-openapi")
    assert result.schema["properties"] == {
        "a": {"type": "STRING", "maxLength": 3, "nullable": True},
        "b": {"type": "INTEGER", "minimum": 0, "description": "B", "default": None, "nullable": True},
        "c": {"anyOf": [{"type": "STRING", "nullable": True}, {"type": "INTEGER", "nullable": True}]},
        "d": {"enum": ["x", "y"], "nullable": True, "type": "STRING"},
        "e": {"type": "BOOLEAN", "nullable": True},
        "f": {"anyOf": [{"type": "INTEGER", "nullable": True}, {"type": "STRING", "nullable": True}]},
    }
    assert result.schema["propertyOrdering"] == ["f", "e", "d", "c", "b", "a"]  # given: kept
    assert result.lossless
    assert "gemini-openapi: #/properties/b: the null branch of anyOf became nullable" in result.notes
    assert "gemini-openapi: #/properties/c: nullable moved into each anyOf branch" in result.notes


def test_gemini_refs_are_inlined_and_recursion_is_an_error():
    schema = {"$defs": {"Addr": {"type": "object", "properties": {"street": {"type": "string"}},
                                 "required": ["street"], "additionalProperties": False}},
              "type": "object", "properties": {"home": {"$ref": "#/$defs/Addr", "description": "Home"},
                                               "work": {"anyOf": [{"$ref": "#/$defs/Addr"}, {"type": "null"}]}}}
    result = rewrite(schema, "gemini-openapi")
    addr = {"type": "OBJECT", "properties": {"street": {"type": "STRING"}}, "required": ["street"]}
    assert result.schema == {"type": "OBJECT", "properties": {
        "home": {**addr, "description": "Home"}, "work": {**addr, "nullable": True}},
        "propertyOrdering": ["home", "work"]}
    assert result.lossless
    assert "gemini-openapi: #/properties/home: inlined $ref '#/$defs/Addr'" in result.notes
    with pytest.raises(ValidationError, match="recursive"):
        rewrite({"$defs": {"n": {"type": "object", "properties": {"next": {"$ref": "#/$defs/n"}}}},
                 "$ref": "#/$defs/n"}, "gemini-openapi")


def test_gemini_one_of_all_of_and_const():
    schema = {"type": "object", "properties": {
        "kind": {"oneOf": [{"const": "circle"}, {"const": "square"}]},
        "size": {"oneOf": [{"type": "string"}, {"type": "number"}]},
        "both": {"allOf": [{"type": "object", "properties": {"x": {"type": "integer", "minimum": 0}},
                            "required": ["x"]},
                           {"properties": {"x": {"maximum": 9}, "y": {"type": "string"}}, "required": ["y"]}]},
        "answer": {"const": 42},
    }}
    result = rewrite(schema, "gemini-openapi")
    props = result.schema["properties"]
    assert props["kind"] == {"anyOf": [{"enum": ["circle"], "type": "STRING"}, {"enum": ["square"], "type": "STRING"}]}
    assert props["size"] == {"anyOf": [{"type": "STRING"}, {"type": "NUMBER"}]}
    assert props["both"] == {"type": "OBJECT", "properties": {"x": {"type": "INTEGER", "minimum": 0, "maximum": 9},
                                                              "y": {"type": "STRING"}},
                             "required": ["x", "y"], "propertyOrdering": ["x", "y"]}
    assert props["answer"] == {"type": "INTEGER", "minimum": 42, "maximum": 42}
    assert result.lossless, result.notes
    overlapping = rewrite({"oneOf": [{"type": "string"}, {"type": "string", "maxLength": 3}]}, "gemini-openapi")
    assert overlapping.schema == {"anyOf": [{"type": "STRING"}, {"type": "STRING", "maxLength": 3}]}
    assert lossy_notes(overlapping) == ["gemini-openapi: #: oneOf became anyOf (Gemini has no oneOf; overlapping "
                                        "branches are no longer exclusive) [meaning changed]"]
    clash = rewrite({"allOf": [{"type": "string"}, {"type": "integer"}]}, "gemini-openapi")
    assert not clash.lossless


def test_gemini_enums_hold_strings_only():
    result = rewrite({"enum": ["a", 1, 2.5, True, False]}, "gemini-openapi")
    assert result.schema == {"anyOf": [{"type": "STRING", "enum": ["a"]},
                                       {"type": "INTEGER", "minimum": 1, "maximum": 1},
                                       {"type": "NUMBER", "minimum": 2.5, "maximum": 2.5},
                                       {"type": "BOOLEAN"}]}
    assert result.lossless
    assert rewrite({"type": "integer", "enum": [3]}, "gemini-openapi").schema == {
        "type": "INTEGER", "minimum": 3, "maximum": 3}
    widened = rewrite({"enum": [True]}, "gemini-openapi")
    assert widened.schema == {"type": "BOOLEAN"} and not widened.lossless
    assert not rewrite({"enum": [{"a": 1}, "x"]}, "gemini-openapi").lossless
    # values the type never allowed are dropped without loss
    typed = rewrite({"type": "string", "enum": ["a", 1]}, "gemini-openapi")
    assert typed.schema == {"type": "STRING", "enum": ["a"]} and typed.lossless


def test_gemini_type_lists_split_their_keywords():
    result = rewrite({"type": ["string", "array"], "maxLength": 5, "items": {"type": "integer"}, "minItems": 1,
                      "description": "one or many"}, "gemini-openapi")
    assert result.schema == {"description": "one or many", "anyOf": [
        {"type": "STRING", "maxLength": 5}, {"type": "ARRAY", "items": {"type": "INTEGER"}, "minItems": 1}]}
    assert result.lossless
    assert rewrite({"type": ["integer", "number"]}, "gemini-openapi").schema == {"type": "NUMBER"}


def test_gemini_bounds_formats_and_annotations():
    result = rewrite({"type": "object", "properties": {
        "n": {"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 10.5, "maximum": 8},
        "when": {"type": "string", "format": "date-time", "examples": ["2025-01-01T00:00:00Z"]},
        "site": {"type": "string", "format": "uri", "$comment": "c", "x-internal": True},
        "ratio": {"type": "number", "format": "double", "deprecated": True},
    }, "title": "T", "$schema": "https://json-schema.org/draft/2020-12/schema"}, "gemini-openapi")
    assert result.schema == {"type": "OBJECT", "title": "T", "properties": {
        "n": {"type": "INTEGER", "minimum": 1, "maximum": 8},
        "when": {"type": "STRING", "format": "date-time"},
        "site": {"type": "STRING"},
        "ratio": {"type": "NUMBER", "format": "double"},
    }, "propertyOrdering": ["n", "when", "site", "ratio"]}
    assert result.lossless
    assert "gemini-openapi: #/properties/site: removed format 'uri' (Gemini acts on no such format for type " \
           "'string'; an annotation)" in result.notes
    assert "gemini-openapi: #/properties/n: exclusiveMinimum 0 on integers became minimum 1" in result.notes


@pytest.mark.parametrize("schema, note", [
    ({"type": "number", "exclusiveMinimum": 0}, "#: removed 'exclusiveMinimum'"),
    ({"type": "integer", "multipleOf": 5}, "#: removed 'multipleOf'"),
    ({"type": "array", "items": {"type": "string"}, "uniqueItems": True}, "#: removed 'uniqueItems'"),
    ({"type": "array", "items": {"type": "string"}, "contains": {"const": "x"}}, "#: removed 'contains'"),
    ({"type": "array", "prefixItems": [{"type": "string"}], "items": {"type": "string"}}, "#: removed 'prefixItems'"),
    ({"type": "object", "properties": {"a": {"type": "string"}}, "patternProperties": {"^x": {}}},
     "#: removed 'patternProperties'"),
    ({"type": "object", "properties": {"a": {"type": "string"}}, "dependentRequired": {"a": ["b"]}},
     "#: removed 'dependentRequired'"),
    ({"type": "string", "not": {"const": "x"}}, "#: removed 'not'"),
    ({"type": "object", "additionalProperties": {"type": "integer"}}, "#: additionalProperties with a schema"),
    ({"type": "object", "properties": {"m": {"type": "object"}}}, "#/properties/m: an object without properties"),
    ({"type": "object", "properties": {"any": {}}}, "#/properties/any: a schema without a type"),
    ({"type": "object", "properties": {"any": True}}, "#/properties/any: property 'any' accepts any value"),
    ({"type": "array"}, "#: an array without an items schema"),
    ({"$schema": "http://json-schema.org/draft-07/schema#", "type": "array", "items": [{"type": "string"}]},
     "#: tuple-form items"),
    ({"type": "null"}, "#: a schema that accepts only null"),
    ({"enum": []}, "#: an empty enum"),
])
def test_gemini_lossy_changes_are_noted(schema, note):
    result = rewrite(schema, "gemini-openapi")
    assert not result.lossless
    assert any(n.startswith("gemini-openapi: " + note) and n.endswith("[meaning changed]") for n in result.notes), \
        result.notes


def test_gemini_objects_without_properties():
    # at the root (a tool's parameters): a function without arguments
    assert rewrite({"type": "object"}, "gemini-openapi").schema == {"type": "OBJECT", "properties": {}}
    closed = rewrite({"type": "object", "properties": {"e": {"type": "object", "additionalProperties": False}}},
                     "gemini-openapi")
    assert closed.schema == {"type": "OBJECT", "properties": {"e": {"type": "OBJECT", "properties": {}}}}
    assert closed.lossless
    untyped = rewrite({"properties": {"a": {"items": {"type": "string"}}}}, "gemini-openapi")
    assert untyped.schema == {"type": "OBJECT", "properties": {"a": {"type": "ARRAY", "items": {"type": "STRING"}}}}
    assert untyped.lossless


def test_gemini_with_object_root_for_a_response_schema():
    schema = {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"},
                                                                         "age": {"type": ["integer", "null"]}},
                                         "required": ["name"]}}
    result = rewrite(schema, ("object-root", "gemini-openapi"))
    assert result.schema == {"type": "OBJECT", "properties": {"value": {"type": "ARRAY", "items": {
        "type": "OBJECT", "properties": {"name": {"type": "STRING"}, "age": {"type": "INTEGER", "nullable": True}},
        "required": ["name"], "propertyOrdering": ["name", "age"]}}}, "required": ["value"]}
    assert result.lossless
    assert result.restore({"value": [{"name": "a", "age": None}]}) == [{"name": "a", "age": None}]


def _from_gemini(node):
    """A Gemini schema back in JSON Schema (lower-case types, nullable as a null alternative, objects
    closed to their listed properties as Gemini produces them), to compare what both accept."""
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "properties":
            out[key] = {k: _from_gemini(v) for k, v in value.items()}
        elif key == "items":
            out[key] = _from_gemini(value)
        elif key == "anyOf":
            out[key] = [_from_gemini(b) for b in value]
        elif key == "type":
            out[key] = value.lower()
        elif key not in ("nullable", "propertyOrdering", "default", "example"):
            out[key] = value
    if out.get("type") == "object":
        out["additionalProperties"] = False
    if node.get("nullable"):
        out = {"anyOf": [out, {"type": "null"}]}
    return out


GEMINI_SAMPLES = [None, True, False, 0, 1, 3, 42, -1, 2.5, 10, "", "a", "abcd", "circle", "x", [], ["a"], [1, 2],
                  {}, {"x": 1}, {"x": 1, "y": "s"}, {"x": -1, "y": "s"}, {"x": 10, "y": "s"}, {"name": "n"},
                  {"name": "n", "age": None}, {"name": "n", "age": 3}, {"name": 1}]


@pytest.mark.parametrize("schema", [
    {"anyOf": [{"type": "integer", "minimum": 0, "exclusiveMaximum": 10}, {"type": "null"}]},
    {"type": ["string", "array"], "maxLength": 3, "items": {"type": "string"}},
    {"oneOf": [{"const": "circle"}, {"const": 42}, {"type": "boolean"}]},
    {"enum": ["a", 1, 2.5, None]},
    {"allOf": [{"type": "object", "properties": {"x": {"type": "integer", "minimum": 0}}, "required": ["x"]},
               {"properties": {"x": {"maximum": 9}, "y": {"type": "string"}}, "required": ["y"],
                "additionalProperties": False}]},
    {"$defs": {"P": {"type": "object", "properties": {"name": {"type": "string"},
                                                      "age": {"type": ["integer", "null"]}},
                     "required": ["name"], "additionalProperties": False}},
     "anyOf": [{"$ref": "#/$defs/P"}, {"type": "null"}]},
])
def test_gemini_lossless_rewrites_accept_what_the_original_accepts(schema):
    result = rewrite(schema, "gemini-openapi")
    assert result.lossless, result.notes
    back = _from_gemini(result.schema)
    for value in GEMINI_SAMPLES:
        assert (validate(schema, value) == []) == (validate(back, value) == []), (value, back)


# ---------------------------------------------------------------------------------------------
# imports


def test_import_llmunified_does_not_import_jsonschema():
    code = ("import sys, llmunified, llmunified._schema, llmunified._tooldef, llmunified._structured\n"
            "import llmunified._schema_dialects, llmunified._typeschema, llmunified._docstrings, llmunified._lru\n"
            "from llmunified._tooldef import tool\n"
            "@tool\n"
            "def f(x: int) -> int:\n"
            "    return x\n"
            "print(sorted(m for m in ('jsonschema', 'dataclasses_json') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stderr


def test_jsonschema_is_imported_on_first_need():
    code = ("import sys\nfrom llmunified._schema import validate\n"
            "assert 'jsonschema' not in sys.modules\n"
            "print(validate({'type': 'integer'}, 'x'))\n"
            "print('jsonschema' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[:2] == ["[\"$: 'x' is not of type 'integer'\"]", "True"], out.stderr


def test_validation_does_not_load_the_dialect_rewriter():
    code = ("import sys\n"
            "from llmunified._schema import validate, validate_tools\n"
            "validate({'type': 'integer'}, 1)\n"
            "print('llmunified._schema_dialects' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stderr


def test_core_modules_import_no_private_names_of_other_modules():
    import ast
    import os

    root = os.path.dirname(_schema.__file__)
    bad = []
    for name in sorted(os.listdir(root)):
        if not name.endswith(".py"):
            continue
        with open(os.path.join(root, name), encoding="utf-8") as f:
            tree = ast.parse(f.read())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:  # "from . import _mod" is a module
                bad += [f"{name}:{node.lineno} {a.name}" for a in node.names
                        if a.name.startswith("_") and not a.name.startswith("__")]
    assert bad == []
