"""Structured output specs: targets, tolerant JSON decoding, validation, conversion, re-ask text."""
import enum
import json
from dataclasses import dataclass, field
from typing import Dict, List, Literal, Optional

import pytest

from llmunified._structured import (OutputSpec, StructuredOutputAttemptError, find_json, output_spec,
                                    prompt_instructions)
from llmunified.errors import ValidationError


class Kind(enum.Enum):
    CAPITAL = "capital"
    TOWN = "town"


@dataclass
class Mayor:
    name: str
    since: int


@dataclass
class City:
    """A city."""

    name: str
    population: int = field(metadata={"description": "Number of inhabitants"})
    kind: Kind = Kind.TOWN
    mayor: Optional[Mayor] = None
    districts: List[str] = field(default_factory=list)
    facts: Dict[str, float] = field(default_factory=dict)
    size: Literal["small", "big"] = "small"


PARIS_JSON = {"name": "Paris", "population": 2100000, "kind": "capital", "mayor": {"name": "Anne", "since": 2014},
              "districts": ["1er", "2e"], "facts": {"area": 105.4}, "size": "big"}
PARIS = City("Paris", 2100000, Kind.CAPITAL, Mayor("Anne", 2014), ["1er", "2e"], {"area": 105.4}, "big")


# ---------------------------------------------------------------------------------------------
# output_spec


def test_dataclass_target():
    spec = output_spec(City)
    assert (spec.name, spec.target, spec.needs_object_root) == ("City", City, False)
    assert spec.schema["description"] == "A city."
    assert spec.schema["required"] == ["name", "population"]
    assert spec.parse_value(PARIS_JSON) == PARIS
    assert output_spec(City) is spec  # cached


def test_list_of_dataclass_target():
    spec = output_spec(List[City])
    assert spec.name == "City_list" and spec.needs_object_root
    assert spec.schema["type"] == "array" and spec.schema["items"]["properties"]["name"] == {"type": "string"}
    assert spec.parse_value([PARIS_JSON, {"name": "Lyon", "population": 500000}]) == [
        PARIS, City("Lyon", 500000)]
    assert output_spec(list[City]).name == "City_list"


def test_json_schema_target_returns_the_validated_value():
    schema = {"title": "weather report!", "type": "object", "properties": {"t": {"type": "number"}},
              "required": ["t"]}
    spec = output_spec(schema)
    assert spec.name == "weather_report" and spec.target is None and not spec.needs_object_root
    assert spec.parse_text('{"t": 21.5}') == {"t": 21.5}
    schema["properties"]["t"]["type"] = "string"  # the spec keeps its own copy
    assert spec.parse_value({"t": 1}) == {"t": 1}
    assert output_spec({"type": "array"}).name == "output"


def test_other_supported_types_as_targets():
    spec = output_spec(int)
    assert spec.schema == {"type": "integer"} and spec.needs_object_root and spec.name == "int"
    assert spec.parse_text("42") == 42
    lit = output_spec(Literal["yes", "no"])
    assert lit.name == "output" and lit.parse_text('"yes"') == "yes"
    with pytest.raises(StructuredOutputAttemptError) as info:
        lit.parse_text('"maybe"')
    assert info.value.errors == ["$: 'maybe' is not one of ['yes', 'no']"]


@pytest.mark.parametrize("target, message", [
    (42, "target must be a dataclass type, a JSON Schema dict or list[Dataclass]; got 42"),
    ("City", "target must be a dataclass type, a JSON Schema dict or list[Dataclass]; got 'City'"),
    (None, "target must be a dataclass type, a JSON Schema dict or list[Dataclass]; got None"),
    ([City], "target must be a dataclass type, a JSON Schema dict or list[Dataclass]; got [<class"),
    (PARIS, "target must be a dataclass type, a JSON Schema dict or list[Dataclass]; got an instance of City "
            "(pass the class itself)"),
    (bytes, "target must be a dataclass type, a JSON Schema dict or list[Dataclass]; target: unsupported type "
            "annotation bytes"),
    (object(), "target must be a dataclass type, a JSON Schema dict or list[Dataclass]; got <object object"),
    ({"type": "object", "properties": {"a": {"type": "strin"}}},
     "target schema.properties.a.type: 'strin' is not valid under any of the given schemas"),
    ({"type": "object", "default": {1, 2}}, "target schema: not a JSON document"),
])
def test_bad_targets(target, message):
    with pytest.raises(ValidationError) as info:
        output_spec(target)
    assert str(info.value).startswith(message)


def test_dataclass_with_unsupported_field():
    @dataclass
    class Bad:
        blob: bytes

    with pytest.raises(ValidationError) as info:
        output_spec(Bad)
    assert str(info.value).startswith("target must be a dataclass type, a JSON Schema dict or list[Dataclass]; "
                                      "target: field Bad.blob: unsupported type annotation bytes")


def test_output_spec_passes_specs_through():
    spec = output_spec(City)
    assert output_spec(spec) is spec
    assert "City" in repr(spec)


# ---------------------------------------------------------------------------------------------
# decoding


@pytest.mark.parametrize("text, value", [
    ('{"a": 1}', {"a": 1}),
    ('  \n[1, 2]\n', [1, 2]),
    ('"just a string"', "just a string"),
    ("3.5", 3.5),
    ('```json\n{"a": 1}\n```', {"a": 1}),
    ('```\n{"a": 1}\n```', {"a": 1}),
    ('```JSON {"a": 1}```', {"a": 1}),
    ('Here you go:\n```json\n{"a": [1, 2]}\n```\nAnything else?', {"a": [1, 2]}),
    ('Sure! {"a": {"b": "}"}} Hope that helps.', {"a": {"b": "}"}}),
    ('The list: [1, 2, 3].', [1, 2, 3]),
    ('Choose {one} of these: {"a": 1}', {"a": 1}),
    ('{"é": "ünïcode ✓"}', {"é": "ünïcode ✓"}),
])
def test_find_json_tolerates_fences_and_prose(text, value):
    assert find_json(text) == (True, value)


@pytest.mark.parametrize("text, reason", [
    ("", "the reply was empty; expected a JSON document"),
    ("   \n", "the reply was empty; expected a JSON document"),
    ("no json here", "the reply is not valid JSON (Expecting value at line 1 column 1)"),
    ('{"a": 1', "the reply is not valid JSON (Expecting ',' delimiter at line 1 column 8)"),
    ('{"a": NaN}', "the reply is not valid JSON (NaN is not valid JSON)"),
    ("[" * 40 + "x", "the reply is not valid JSON (Expecting value at line 1 column 41)"),
    (None, "the reply is not text (got NoneType)"),
])
def test_find_json_failures(text, reason):
    assert find_json(text) == (False, reason)


# ---------------------------------------------------------------------------------------------
# parsing attempts


def test_parse_text_converts_nested_values():
    text = "Here is the city:\n```json\n" + json.dumps(PARIS_JSON) + "\n```"
    assert output_spec(City).parse_text(text) == PARIS


def test_parse_text_reports_schema_violations():
    spec = output_spec(City)
    text = json.dumps({"name": "Paris", "population": "many", "kind": "village", "extra": 1})
    with pytest.raises(StructuredOutputAttemptError) as info:
        spec.parse_text(text)
    assert info.value.errors == [
        "$: Additional properties are not allowed ('extra' was unexpected)",
        "$.kind: 'village' is not one of ['capital', 'town']",
        "$.population: 'many' is not of type 'integer'",
    ]
    assert info.value.text == text
    assert str(info.value).startswith("$: Additional properties")


def test_parse_text_reports_undecodable_replies():
    with pytest.raises(StructuredOutputAttemptError) as info:
        output_spec(City).parse_text("I don't know.")
    assert info.value.errors == ["the reply is not valid JSON (Expecting value at line 1 column 1)"]
    assert info.value.text == "I don't know."


def test_conversion_failures_are_attempt_errors():
    @dataclass
    class Positive:
        n: int

        def __post_init__(self):
            if self.n <= 0:
                raise ValueError("n must be positive")

    with pytest.raises(StructuredOutputAttemptError) as info:
        output_spec(Positive).parse_text('{"n": 0}')
    assert info.value.errors == ["$: Positive(n) failed: n must be positive"]


def test_parse_with_the_wire_dialect_undoes_rewrites():
    spec = output_spec(List[City])
    dialect = ("object-root", "openai-strict")
    wire = spec.wire_schema(dialect)
    assert spec.wire_schema(list(dialect)) is wire  # cached
    assert wire.schema["properties"]["value"]["items"]["required"] == [
        "name", "population", "kind", "mayor", "districts", "facts", "size"]
    produced = {"value": [{"name": "Lyon", "population": 5, "kind": None, "mayor": None, "districts": None,
                           "facts": None, "size": None}]}
    assert spec.parse_value(produced, dialect) == [City("Lyon", 5)]
    assert spec.parse_text(json.dumps(produced), dialect) == [City("Lyon", 5)]


def test_parse_without_dialect_still_accepts_the_library_wire_shapes():
    spec = output_spec(List[City])
    assert spec.parse_value({"value": [{"name": "A", "population": 1, "kind": None}]}) == [City("A", 1)]
    # an object root is never unwrapped: {"value": ...} is only the wrapper of non-object roots
    obj = output_spec({"type": "object", "properties": {"value": {"type": "integer"}}, "required": ["value"]})
    assert obj.parse_value({"value": 3}) == {"value": 3}


def test_strict_wire_schema_for_a_dataclass_is_lossless():
    wire = output_spec(City).wire_schema("openai-strict")
    assert wire.lossless is False  # facts: dict[str, float] is a map with free keys
    assert any("facts" in n and "[meaning changed]" in n for n in wire.notes)
    assert output_spec(Mayor).wire_schema("openai-strict").lossless is True


# ---------------------------------------------------------------------------------------------
# re-ask and instructions


def test_repair_prompt_lists_errors():
    spec = output_spec(City)
    prompt = spec.repair_prompt(["$.population: 'many' is not of type 'integer'"], '{"population": "many"}')
    assert prompt == ("Your previous reply could not be used:\n"
                      "- $.population: 'many' is not of type 'integer'\n"
                      "Reply again with only the corrected JSON document matching the requested schema: "
                      "no explanation, no code fences.")


def test_repair_prompt_caps_the_list_and_mentions_empty_replies():
    spec = output_spec(City)
    prompt = spec.repair_prompt([f"$.e{i}: bad" for i in range(25)], "x")
    assert prompt.count("\n- $.e") == 20 and "- ... and 5 more problems" in prompt
    assert spec.repair_prompt(["the reply was empty; expected a JSON document"], "").startswith(
        "Your previous reply was empty.\n- the reply was empty")


def test_prompt_instructions_carry_the_schema():
    spec = output_spec(Mayor)
    text = prompt_instructions(spec)
    head, _, schema = text.partition("\n")
    assert head == ("Answer with only a JSON document (no prose before or after it, no code fences) that matches "
                    "this JSON Schema:")
    assert json.loads(schema) == spec.schema


def test_spec_can_be_built_directly():
    spec = OutputSpec("n", {"type": "integer"}, int)
    assert spec.needs_object_root and spec.parse_text("2") == 2
