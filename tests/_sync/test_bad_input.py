"""The bad-input catalogue: input the library must refuse before anything reaches the network.

Each row is one mistake a user makes (an invalid tool definition, a message dict with a key the
library does not read, a malformed ``base_url``, a bad option), the call it is made on, the
typed error it must raise and a phrase its message must carry. Every row runs against the
emulator and asserts that no request reached it. To cover a new mistake, add a row.

Hand-written for the sync package; tests/_async/test_bad_input.py is generated from it.
"""
import dataclasses
import time
from typing import Any, Dict, List, Optional

import pytest

import llmunified as llm
from llmunified import errors
from llmunified._twin import io
from tests._sync.helpers import SECRET, model, provider, settings  # noqa: F401 - provider is a fixture


@dataclasses.dataclass
class City:
    name: str


def _noop(**kwargs: Any) -> str:
    return "ok"


BAD_NAME = llm.Tool("get weather", "Spaces are not allowed in names.", {"type": "object", "properties": {}},
                    function=_noop)
NOT_AN_OBJECT = llm.Tool("lookup", "The root of a tool schema must be an object.", {"type": "string"},
                         function=_noop)
BAD_SCHEMA = llm.Tool("forecast", "A typo in a type.",
                      {"type": "object", "properties": {"city": {"type": "strin"}}}, function=_noop)
DANGLING_REF = llm.Tool("route", "A $ref to nowhere.",
                        {"type": "object", "properties": {"to": {"$ref": "#/$defs/Place"}}}, function=_noop)
GOOD = llm.Tool("get_time", "The time.", {"type": "object", "properties": {}}, function=_noop)


class Bad:
    """One catalogue row: ``call`` is the path the input takes (``client``: the Client itself)."""

    def __init__(self, id: str, call: str, error: type, phrase: str, *, messages: Any = "Hi",
                 options: Optional[Dict[str, Any]] = None, client: Optional[Dict[str, Any]] = None) -> None:
        self.id = id
        self.call = call
        self.error = error
        self.phrase = phrase
        self.messages = messages
        self.options = dict(options or {})
        self.client = dict(client or {})


TOOL_FAULTS = [
    ("bad-tool-name", [BAD_NAME], "name must be 1-64 letters"),
    ("tool-schema-not-object", [NOT_AN_OBJECT], "the root must be an object schema"),
    ("invalid-json-schema", [BAD_SCHEMA], "tool 'forecast': parameters.properties.city.type"),
    ("dangling-ref", [DANGLING_REF], "does not resolve inside the schema"),
    ("duplicate-tool-names", [GOOD, GOOD], "tool names must be unique"),
]
#: every path that sends tools
TOOL_CALLS = ["complete", "stream", "extract", "run", "run_stream", "session", "session_stream"]

CATALOGUE: List[Bad] = [
    Bad(f"{fault}-{call}", call, errors.ValidationError, phrase, options={"tools": tools})
    for fault, tools, phrase in TOOL_FAULTS for call in TOOL_CALLS
] + [
    # message dicts with keys the library does not read: their content would be lost
    Bad("message-text-key", "complete", errors.ValidationError, "did you mean 'content'?",
        messages=[{"role": "user", "text": "hi"}]),
    Bad("message-parts-key", "complete", errors.ValidationError, "key 'parts'",
        messages=[{"role": "user", "parts": [{"text": "hi"}]}]),
    Bad("message-parts-key-hint", "stream", errors.ValidationError, "did you mean 'content'?",
        messages=[{"role": "user", "parts": [{"text": "hi"}]}]),
    Bad("message-key-names-accepted", "complete", errors.ValidationError,
        "accepted keys: role, content, name, tool_call_id, tool_calls", messages=[{"role": "user", "body": "hi"}]),
    Bad("tool-message-anthropic-id", "complete", errors.ValidationError, "did you mean 'tool_call_id'?",
        messages=[{"role": "user", "content": "Weather?"},
                  {"role": "assistant", "tool_calls": [
                      {"id": "c1", "type": "function", "function": {"name": "w", "arguments": "{}"}}]},
                  {"role": "tool", "tool_use_id": "c1", "content": "sunny"}]),
    Bad("part-content-key", "complete", errors.ValidationError, "did you mean 'text'?",
        messages=[{"role": "user", "content": [{"type": "text", "content": "hi"}]}]),
    Bad("message-text-key-run", "run", errors.ValidationError, "did you mean 'content'?",
        messages=[{"role": "user", "text": "hi"}], options={"tools": [GOOD]}),
    Bad("message-text-key-extract", "extract", errors.ValidationError, "did you mean 'content'?",
        messages=[{"role": "user", "text": "hi"}]),
    Bad("message-text-key-session", "session", errors.ValidationError, "did you mean 'content'?",
        messages={"role": "user", "text": "hi"}),
    Bad("unknown-role", "complete", errors.ValidationError, "unknown message role 'wizard'",
        messages=[{"role": "wizard", "content": "hi"}]),
    Bad("unknown-part-type", "complete", errors.ValidationError, "unsupported content part type 'audio'",
        messages=[{"role": "user", "content": [{"type": "audio", "data": "..."}]}]),
    # base_url, checked when the Client is made (never sent, never retried)
    Bad("base-url-without-scheme", "client", errors.ConfigurationError, "it has no scheme; write 'http://localhost:1234/v1'",
        client={"base_url": "localhost:1234/v1"}),
    Bad("base-url-misspelt-scheme", "client", errors.ConfigurationError, "the scheme is 'htp'",
        client={"base_url": "htp://localhost:1234/v1"}),
    Bad("base-url-stray-space", "client", errors.ConfigurationError, "whitespace",
        client={"base_url": "http://localhost:1234/v1 "}),
    Bad("base-url-space-inside", "client", errors.ConfigurationError, "whitespace",
        client={"base_url": "http://local host:1234/v1"}),
    Bad("base-url-without-host", "client", errors.ConfigurationError, "names no host",
        client={"base_url": "http:///v1"}),
    Bad("base-url-bad-port", "client", errors.ConfigurationError, "port '12x4'",
        client={"base_url": "http://localhost:12x4/v1"}),
    Bad("base-url-with-query", "client", errors.ConfigurationError, "query string",
        client={"base_url": "http://localhost:1234/v1?key=abc"}),
    Bad("base-url-one-shot", "one_shot", errors.ConfigurationError, "the scheme is 'htp'",
        client={"base_url": "htp://localhost:1234/v1"}),
    # options
    Bad("temperature-not-a-number", "complete", errors.ValidationError, "temperature must be a number",
        options={"temperature": "hot"}),
    Bad("tool-choice-unknown", "stream", errors.ValidationError, "tool_choice 'nope'",
        options={"tools": [GOOD], "tool_choice": "nope"}),
]


@io
def attempt(emulator, case: Bad) -> None:
    """Make the catalogue row's call, all the way to the network if nothing stops it."""
    options = settings(emulator, "openai", **case.client)
    if case.call == "one_shot":
        llm.complete(model("openai"), case.messages, **options)
        return
    with llm.Client(model("openai"), **options) as client:
        if case.call == "complete":
            client.complete(case.messages, **case.options)
        elif case.call == "stream":
            with client.stream(case.messages, **case.options) as stream:
                for _ in stream:
                    pass
        elif case.call == "extract":
            client.extract(City, case.messages, **case.options)
        elif case.call == "run":
            client.run(case.messages, **case.options)
        elif case.call == "run_stream":
            with client.run_stream(case.messages, **case.options) as run:
                for _ in run:
                    pass
        elif case.call == "session":
            llm.ChatSession(client, **case.options).send(case.messages)
        elif case.call == "session_stream":
            with llm.ChatSession(client, **case.options).stream(case.messages) as stream:
                for _ in stream:
                    pass
        elif case.call != "client":
            raise AssertionError(f"unknown call {case.call!r}")


@pytest.mark.parametrize("case", CATALOGUE, ids=[case.id for case in CATALOGUE])
def test_bad_input_is_refused_before_the_network(emulator, case):
    emulator.reply(text="this reply must never be asked for")
    started = time.monotonic()
    with pytest.raises(case.error) as info:
        attempt(emulator, case)
    assert case.phrase in str(info.value)
    assert emulator.requests == []
    assert time.monotonic() - started < 0.5  # refused at once: not sent, not retried
    assert SECRET not in str(info.value)


def test_bad_tools_are_refused_for_every_provider(emulator, provider):
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        with pytest.raises(errors.ValidationError, match="the root must be an object schema"):
            client.complete("Hi", tools=[NOT_AN_OBJECT])
        with pytest.raises(errors.ValidationError, match="parameters.properties.city.type"):
            with client.stream("Hi", tools=[BAD_SCHEMA]) as stream:
                for _ in stream:
                    pass
    assert emulator.requests == []


def test_bad_default_tools_are_refused_when_the_client_is_made(emulator):
    with pytest.raises(errors.ValidationError, match="name must be 1-64 letters"):
        llm.Client(model("openai"), **settings(emulator, "openai"), tools=[BAD_NAME])
    assert emulator.requests == []


def test_a_tool_fixed_after_a_refusal_is_checked_again(emulator):
    tool = llm.Tool("lookup", "Look it up.", {"type": "string"})
    emulator.reply(text="fine")
    with llm.Client(model("openai"), **settings(emulator, "openai")) as client:
        with pytest.raises(errors.ValidationError):
            client.complete("Hi", tools=[tool])
        tool.parameters = {"type": "object", "properties": {"q": {"type": "string"}}}
        assert client.complete("Hi", tools=[tool]).text == "fine"
        tool.name = "look up"  # a valid tool renamed badly is checked again, not waved through
        with pytest.raises(errors.ValidationError, match="name must be 1-64 letters"):
            client.complete("Hi", tools=[tool])
    assert len(emulator.requests) == 1


def test_empty_fields_of_other_sdks_message_dicts_are_accepted(emulator):
    # openai-python's ChatCompletionMessage.model_dump() has these: nothing in them would be lost
    emulator.reply(text="noted")
    history = [{"role": "user", "content": "Hi"},
               {"role": "assistant", "content": "Hello!", "refusal": None, "annotations": [], "audio": None,
                "function_call": None, "tool_calls": None},
               {"role": "user", "content": "Bye", "name": "ann"}]
    with llm.Client(model("openai"), **settings(emulator, "openai")) as client:
        assert client.complete(history).text == "noted"
    assert [m["content"] for m in emulator.last_request.json["messages"]] == ["Hi", "Hello!", "Bye"]


def test_a_refusal_in_a_message_dict_is_not_dropped_silently(emulator):
    with llm.Client(model("openai"), **settings(emulator, "openai")) as client:
        with pytest.raises(errors.ValidationError, match="'refusal'"):
            client.complete([{"role": "user", "content": "Hi"},
                             {"role": "assistant", "content": None, "refusal": "I can't help with that."},
                             {"role": "user", "content": "Why?"}])
    assert emulator.requests == []


def test_a_bad_base_url_from_the_environment_names_the_variable(emulator, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "api.openai.com/v1")
    with pytest.raises(errors.ConfigurationError) as info:
        llm.Client("openai/gpt-4o-mini", api_key=SECRET)
    assert "OPENAI_BASE_URL 'api.openai.com/v1'" in str(info.value)
    assert "write 'https://api.openai.com/v1'" in str(info.value)


def test_a_password_in_a_bad_base_url_is_not_shown(emulator):
    with pytest.raises(errors.ConfigurationError) as info:
        llm.Client(model("openai"), **settings(emulator, "openai", base_url="ftp://user:hunter2@example.com/v1"))
    assert "hunter2" not in str(info.value)
    assert "the scheme is 'ftp'" in str(info.value)


def test_azure_without_an_endpoint_still_says_what_to_set(emulator, monkeypatch):
    monkeypatch.delenv("AZURE_OPENAI_ENDPOINT", raising=False)
    with pytest.raises(errors.ConfigurationError, match="AZURE_OPENAI_ENDPOINT"):
        llm.Client("azure/my-deployment", api_key=SECRET)
    assert emulator.requests == []
