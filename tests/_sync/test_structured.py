"""Structured output (extract, response_format, streaming .parsed) and @llm.tool, against the
emulator for every wire protocol."""
import enum
import json
from dataclasses import dataclass, field
from typing import List, Optional

import pytest

import llmunified as llm
from llmunified import errors
from llmunified.testing import Reply, ToolCallSpec
from tests._sync.helpers import expect, model, provider, settings  # noqa: F401 - provider is a fixture


class Size(enum.Enum):
    SMALL = "small"
    BIG = "big"


@dataclass
class City:
    name: str
    population: int = field(metadata={"description": "Inhabitants"})
    size: Size = Size.SMALL
    country: Optional[str] = None


def structured_reply(provider, value, name="City", **extra):
    """How each provider carries structured output on the wire."""
    if expect(provider).structured_by_tool:  # a forced tool call
        return Reply(tool_calls=[ToolCallSpec(name, value)], **extra)
    return Reply(text=json.dumps(value), **extra)


def test_extract_dataclass(emulator, provider):
    emulator.queue(structured_reply(provider, {"name": "Paris", "population": 2100000, "size": "big"}))
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        city = client.extract(City, "Biggest city in France?")
    assert city == City("Paris", 2100000, Size.BIG, None)
    body = emulator.last_request.json
    assert emulator.last_request.violations == []
    name, schema = expect(provider).structured_request(body)
    assert name in ("City", None)  # None: this wire carries no name (Ollama's format)
    assert schema["properties"]["population"]["description"] == "Inhabitants"


def test_extract_retries_with_the_validation_errors(emulator, provider):
    emulator.queue(structured_reply(provider, {"name": "Paris"}, usage=(10, 2)))
    emulator.queue(structured_reply(provider, {"name": "Paris", "population": "many"}, usage=(20, 3)))
    emulator.queue(structured_reply(provider, {"name": "Paris", "population": 2}, usage=(30, 4)))
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        city = client.extract(City, "Biggest city in France?", retries=2)
    assert city.population == 2
    assert len(emulator.requests) == 3
    assert all(r.violations == [] for r in emulator.requests)
    asked_again = json.dumps(emulator.requests[1].json)
    assert "population" in asked_again and "required" in asked_again


def test_extract_gives_up_keeping_every_attempt(emulator, provider):
    emulator.queue(structured_reply(provider, {"name": 1}, usage=(10, 2)))
    emulator.queue(structured_reply(provider, {"nom": "Paris"}, usage=(20, 3)))
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        with pytest.raises(errors.StructuredOutputError) as info:
            client.extract(City, "Biggest city?", retries=1)
    err = info.value
    assert len(err.attempts) == 2 and len(err.errors) == 2
    assert "nom" in err.attempts[1]
    assert (err.usage.input_tokens, err.usage.output_tokens) == (30, 5)


def test_extract_list_of_dataclasses_and_plain_schema(emulator, provider):
    cities = [{"name": "Paris", "population": 2}, {"name": "Lyon", "population": 1}]
    emulator.queue(structured_reply(provider, {"value": cities}, name="City_list"))
    schema = {"type": "object", "properties": {"answer": {"type": "integer"}}, "required": ["answer"]}
    emulator.queue(structured_reply(provider, {"answer": 42}, name="output"))
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        got = client.extract(List[City], "Two French cities")
        value = client.extract(schema, "6 times 7?")
    assert got == [City("Paris", 2), City("Lyon", 1)]
    assert value == {"answer": 42}


def test_response_format_on_complete_and_stream(emulator, provider):
    value = {"name": "Oslo", "population": 700000}
    emulator.queue(structured_reply(provider, value))
    emulator.queue(structured_reply(provider, value, chunk_size=3))
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        reply = client.complete("Capital of Norway?", response_format=City)
        with client.stream("Capital of Norway?", response_format=City) as stream:
            for _ in stream:
                pass
    assert reply.parsed == City("Oslo", 700000)
    assert stream.response.parsed == City("Oslo", 700000)


def test_bad_targets_are_rejected_before_any_call(emulator, provider):
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        with pytest.raises(errors.ValidationError):
            client.extract(42, "x")
        with pytest.raises(errors.ValidationError):
            client.extract({"type": "objekt"}, "x")
    assert emulator.requests == []


@llm.tool
def convert_temperature(celsius: float, unit: Size = Size.SMALL, note: Optional[str] = None) -> str:
    """Convert a temperature.

    Args:
        celsius: Degrees Celsius.
        unit: Which scale size.
        note: Anything to remember.
    """
    return f"{celsius * 9 / 5 + 32:.1f}F {unit.value} {note}"


def test_decorated_tool_in_the_loop(emulator, provider):
    emulator.reply(tool_calls=[ToolCallSpec("convert_temperature", {"celsius": 20, "unit": "big"})])
    emulator.reply(text="68 degrees.")
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        reply = client.run("Convert 20C", tools=[convert_temperature])
    result = reply.messages[1].content[0]
    assert result.content == "68.0F big None" and not result.is_error
    schema = expect(provider).tool_schemas(emulator.requests[0].json)[0]
    assert schema["properties"]["celsius"] == {"type": "number", "description": "Degrees Celsius."}
    assert schema["required"] == ["celsius"]
