"""Capabilities checked before the call (issue 15 §2) against the emulator: refusals before the
network, drop_unsupported, each conversation transform as it reaches the wire, and structured
output on a compatible server without JSON schemas (prompted JSON, a forced tool).

Hand-written for the sync package; tests/_async/test_capabilities.py is generated from this file
by scripts/gen_async.py. The units are in tests/core/test_capabilities.py.
"""
import json
import logging
from dataclasses import dataclass
from typing import List

import pytest

import llmunified as llm
from llmunified import errors
from llmunified.testing import Emulator, ToolCallSpec
from tests._sync.helpers import WEATHER, expect, model, provider, sent_roles, settings  # noqa: F401 - a fixture


@dataclass
class City:
    name: str
    population: int


PARIS = {"name": "Paris", "population": 2100000}


def compatible(emu, name="lmstudio", **extra):
    """Client settings for an OpenAI-compatible host served by ``emu``."""
    return dict({"base_url": emu.url_for(name), "api_key": "sk-test", "max_retries": 0}, **extra)


# -- refused before the network ----------------------------------------------------------------

@pytest.mark.parametrize("flags, options, option", [
    ({"tools": False}, {"tools": [WEATHER]}, "tools"),
    ({"temperature": False}, {"temperature": 0.2}, "temperature"),
    ({"max_output": 64}, {"max_tokens": 65}, "max_tokens=65"),
    ({"reasoning": False}, {"reasoning": "high"}, "reasoning='high'"),
], ids=["tools", "temperature", "max_tokens", "reasoning"])
def test_an_option_the_model_cannot_take_is_refused_with_no_request(emulator, provider, flags, options, option):
    with llm.Client(model(provider), **settings(emulator, provider), capabilities=flags) as client:
        with pytest.raises(errors.UnsupportedParameterError) as info:
            client.complete("Hi", **options)
        with pytest.raises(errors.UnsupportedParameterError):
            with client.stream("Hi", **options) as stream:
                for _ in stream:
                    pass
    assert emulator.requests == []
    err = info.value
    assert (err.model, err.option) == (model(provider), option)
    assert isinstance(err, errors.ValidationError) and err.reason in str(err)


def test_images_to_a_text_only_model_are_refused_with_no_request(emulator, provider):
    image = expect(provider).image()
    with llm.Client(model(provider), **settings(emulator, provider), capabilities={"vision": False}) as client:
        with pytest.raises(errors.UnsupportedParameterError, match="takes text only") as info:
            client.complete([llm.user([llm.TextPart("What is it?"), image])])
    assert info.value.option == "images" and emulator.requests == []


def test_the_registry_refuses_what_a_known_model_rejects(emulator):
    # o3-mini takes no temperature and writes at most 100,000 tokens (the bundled snapshot)
    with llm.Client("openai/o3-mini", **compatible(emulator, "openai")) as client:
        with pytest.raises(errors.UnsupportedParameterError, match="openai/o3-mini does not take temperature"):
            client.complete("Hi", temperature=0.2)
        with pytest.raises(errors.UnsupportedParameterError, match="at most 100000 tokens"):
            client.complete("Hi", max_tokens=200000)
    assert emulator.requests == []
    with llm.Client("openai/no-such-model", **compatible(emulator, "openai")) as client:
        client.complete("Hi", temperature=0.2, max_tokens=200000)  # unknown: never blocked
    assert emulator.last_request.json["temperature"] == 0.2


def test_a_refused_client_default_is_refused_on_every_call(emulator):
    with llm.Client("openai/o3-mini", **compatible(emulator, "openai"), temperature=0.2) as client:
        for _ in range(2):
            with pytest.raises(errors.UnsupportedParameterError):
                client.complete("Hi")
        client.complete("Hi", temperature=None)
    assert len(emulator.requests) == 1 and "temperature" not in emulator.last_request.json


# -- dropped instead, and said so ------------------------------------------------------------------

def test_drop_unsupported_on_a_call_drops_and_logs(emulator, provider, caplog):
    caplog.set_level(logging.WARNING, logger="llmunified")
    emulator.reply(text="ok")
    flags = {"temperature": False, "tools": False, "max_output": 64}
    with llm.Client(model(provider), **settings(emulator, provider), capabilities=flags) as client:
        reply = client.complete("Hi", temperature=0.2, tools=[WEATHER], max_tokens=1000, top_p=0.5,
                                drop_unsupported=True)
    assert reply.text == "ok"
    request = emulator.last_request
    assert request.violations == []
    body = json.dumps(request.json)
    assert "get_weather" not in body and "0.2" not in body and "1000" not in body and "64" in body
    warnings = [r.getMessage() for r in caplog.records if r.name == "llmunified" and r.levelno == logging.WARNING]
    assert any("temperature dropped (drop_unsupported=True)" in w for w in warnings)
    assert any("tools dropped" in w for w in warnings)
    assert any("max_tokens=1000 lowered to 64" in w for w in warnings)


def test_drop_unsupported_as_a_client_option(emulator, caplog):
    caplog.set_level(logging.WARNING, logger="llmunified")
    emulator.reply(text="a")
    emulator.reply(text="b")
    with llm.Client("openai/o3-mini", **compatible(emulator, "openai"), temperature=0.2,
                    drop_unsupported=True) as client:
        client.complete("Hi")
        with client.stream("Hi") as stream:
            assert stream.until_done().text == "b"
    assert all("temperature" not in r.json for r in emulator.requests)
    assert "openai/o3-mini: temperature dropped (drop_unsupported=True)" in caplog.text


@pytest.mark.parametrize("provider", ["anthropic", "vertex-claude"])
def test_claude_thinking_drops_the_temperature_it_refuses(emulator, provider):
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        with pytest.raises(errors.UnsupportedParameterError, match="other than 1 while it reasons"):
            client.complete("Hi", reasoning="low", temperature=0.2)
        client.complete("Hi", reasoning="low", temperature=0.2, drop_unsupported=True)
    request = emulator.last_request
    assert len(emulator.requests) == 1 and request.violations == []
    assert "temperature" not in request.json and request.json["thinking"]["type"] == "enabled"


def test_images_dropped_for_a_text_only_model(emulator, provider, caplog):
    caplog.set_level(logging.WARNING, logger="llmunified")
    emulator.reply(text="a cat?")
    image = expect(provider).image()
    with llm.Client(model(provider), **settings(emulator, provider), capabilities={"vision": False},
                    drop_unsupported=True) as client:
        client.complete([llm.user([llm.TextPart("What is it?"), image])])
    assert emulator.last_request.violations == []
    assert expect(provider).turns(emulator.last_request.json)[-1] == ("user", "What is it?")
    assert "images dropped" in caplog.text


# -- the conversation on the wire ----------------------------------------------------------------

def test_system_folded_into_the_first_user_turn(emulator, provider, caplog):
    caplog.set_level(logging.DEBUG, logger="llmunified")
    history = [llm.system("Be terse."), llm.user("Hi")]
    with llm.Client(model(provider), **settings(emulator, provider), capabilities={"system_role": False}) as client:
        client.complete(history)
    request = emulator.last_request
    assert request.violations == []
    assert expect(provider).system(request.json) is None
    assert expect(provider).turns(request.json) == [("user", "Be terse.\n\nHi")]
    assert [m.role for m in history] == ["system", "user"]  # the caller's history is untouched
    assert "system text folded into the first user turn" in caplog.text


def test_consecutive_turns_merged_and_empty_turns_left_out(emulator, provider):
    history = [llm.user("Hi"), llm.assistant(""), llm.user("Still there?"), llm.assistant("Yes"),
               llm.assistant("Go on.")]
    history.append(llm.user("Bye"))
    flags = {"repeating_roles": False, "empty_content": False}
    with llm.Client(model(provider), **settings(emulator, provider), capabilities=flags) as client:
        client.complete(history)
    request = emulator.last_request
    assert request.violations == []
    turns = expect(provider).turns(request.json)
    assert [text for _, text in turns] == ["Hi\n\nStill there?", "Yes\n\nGo on.", "Bye"]
    assert len(history) == 6


def test_a_conversation_starting_with_an_assistant_turn(emulator, provider):
    history = [llm.assistant("Hello! I am your guide."), llm.user("Where to?")]
    with llm.Client(model(provider), **settings(emulator, provider), capabilities={"first_assistant": False}) as client:
        client.complete(history)
    request = emulator.last_request
    assert request.violations == []
    assert expect(provider).turns(request.json)[0][1] == "."
    assert sent_roles(provider, request.json)[0] == "user"


def test_claude_takes_an_assistant_first_conversation_by_default(emulator):
    # the Messages API refuses it (the emulator's contract says so); the protocol's flags fix it
    history = [llm.assistant("Hello! I am your guide."), llm.user("Where to?")]
    for name in ("anthropic", "vertex-claude"):
        with llm.Client(model(name), **settings(emulator, name)) as client:
            client.complete(history)
        assert emulator.last_request.violations == []
        assert emulator.last_request.json["messages"][0] == {"role": "user", "content": "."}


def test_a_prefill_is_refused_where_the_model_takes_none_or_continued_with_drop(emulator):
    history = [llm.user("Write a haiku"), llm.assistant("Autumn moon")]
    with llm.Client("lmstudio/test-model", **compatible(emulator), capabilities={"last_assistant": False}) as client:
        with pytest.raises(errors.UnsupportedParameterError, match="ends with an assistant turn"):
            client.complete(history)
        assert emulator.requests == []
        client.complete(history, drop_unsupported=True)
    assert emulator.last_request.json["messages"][-1] == {"role": "user", "content": "Continue."}


def test_several_system_messages_joined(emulator):
    history = [llm.system("Be terse."), llm.user("Hi"), llm.system("Answer in French.")]
    with llm.Client("lmstudio/test-model", **compatible(emulator), capabilities={"supports_multiple_system": False}) as client:
        client.complete(history)
    assert emulator.last_request.json["messages"] == [
        {"role": "system", "content": "Be terse.\n\nAnswer in French."}, {"role": "user", "content": "Hi"}]


def test_developer_becomes_system_where_the_server_does_not_know_it():
    history = [llm.Message("developer", "Be terse."), llm.user("Hi")]
    with Emulator(openai_unsupported=["developer_role"]) as emu:
        with llm.Client("openai/test-model", **compatible(emu, "openai")) as client:
            with pytest.raises(errors.BadRequestError, match="developer"):  # OpenAI itself takes the role
                client.complete(history)
        for name, extra in (("lmstudio", {}), ("openai", {"profile": "vllm"}),
                            ("openai", {"capabilities": {"developer_role": False}})):
            with llm.Client(name + "/test-model", **compatible(emu, name, **extra)) as client:
                client.complete(history)
            assert emu.last_request.violations == []
            assert emu.last_request.json["messages"][0] == {"role": "system", "content": "Be terse."}
    assert history[0].role == "developer"


def test_a_basic_server_gets_only_the_core_of_chat_completions():
    lacks = ["json_schema", "developer_role", "stream_options", "strict", "max_completion_tokens",
             "parallel_tool_calls"]
    with Emulator(openai_unsupported=lacks) as emu:
        emu.reply(text="ok")
        emu.reply(text="streamed")
        with llm.Client("openai/test-model", **compatible(emu, "openai"), profile="basic") as client:
            client.complete([llm.Message("developer", "Rules."), llm.user("Hi")], max_tokens=10, tools=[WEATHER],
                            parallel_tool_calls=False)
            with client.stream("Hi", max_tokens=10) as stream:
                assert stream.until_done().text == "streamed"
        assert [r.violations for r in emu.requests] == [[], []]
        first, second = (r.json for r in emu.requests)
        assert first["max_tokens"] == 10 and "parallel_tool_calls" not in first
        assert "stream_options" not in second


# -- structured output without JSON schemas ----------------------------------------------------------

def test_extract_on_a_server_without_json_schema_fails_without_a_profile():
    with Emulator(openai_unsupported=["json_schema"]) as emu:
        with llm.Client("lmstudio/test-model", **compatible(emu)) as client:
            with pytest.raises(errors.BadRequestError, match="json_schema"):
                client.extract(City, "Biggest city in France?")


def test_extract_by_a_forced_tool_on_a_server_without_json_schema():
    with Emulator(openai_unsupported=["json_schema"]) as emu:
        emu.reply(tool_calls=[ToolCallSpec("City", PARIS)])
        with llm.Client("lmstudio/test-model", **compatible(emu), capabilities={"json_schema": False}) as client:
            city = client.extract(City, "Biggest city in France?")
        assert city == City("Paris", 2100000)
        request = emu.last_request
        assert request.violations == [] and "response_format" not in request.json
        assert request.json["tool_choice"] == {"type": "function", "function": {"name": "City"}}
        assert request.json["tools"][0]["function"]["parameters"]["required"] == ["name", "population"]


def test_extract_by_a_forced_tool_streams_and_re_asks(emulator):
    emulator.reply(tool_calls=[ToolCallSpec("City", {"name": "Paris"})])
    emulator.reply(tool_calls=[ToolCallSpec("City", PARIS)])
    emulator.reply(tool_calls=[ToolCallSpec("City", PARIS)])
    with llm.Client("lmstudio/test-model", **compatible(emulator), profile={"json_schema": False}) as client:
        assert client.extract(City, "Biggest city?", retries=1) == City("Paris", 2100000)
        with client.stream("Biggest city?", response_format=City) as stream:
            assert stream.until_done().parsed == City("Paris", 2100000)
    assert all(r.violations == [] for r in emulator.requests)
    re_ask = emulator.requests[1].json["messages"]
    assert re_ask[-1]["role"] == "tool" and "population" in re_ask[-1]["content"]


def test_extract_by_prompted_json_on_a_server_without_json_schema_or_tools():
    with Emulator(openai_unsupported=["json_schema"]) as emu:
        emu.reply(text="Sure! ```json\n" + json.dumps(PARIS) + "\n```")
        flags = {"json_schema": False, "tools": False}
        with llm.Client("lmstudio/test-model", **compatible(emu), capabilities=flags) as client:
            reply = client.extract(City, [llm.system("Be exact."), llm.user("Biggest city in France?")],
                                   return_response=True)
        assert reply.parsed == City("Paris", 2100000)
        body = emu.last_request.json
        assert emu.last_request.violations == [] and "response_format" not in body and "tools" not in body
        roles = [m["role"] for m in body["messages"]]
        assert roles == ["system", "system", "user"]
        assert body["messages"][0]["content"] == "Be exact."
        assert "JSON Schema" in body["messages"][1]["content"] and '"population"' in body["messages"][1]["content"]


def test_prompted_json_follows_the_models_system_rules(emulator):
    emulator.reply(text=json.dumps(PARIS))
    flags = {"structured_output": "prompt", "system_role": False}
    with llm.Client("lmstudio/test-model", **compatible(emulator), capabilities=flags) as client:
        assert client.extract(City, "Biggest city?") == City("Paris", 2100000)
    messages = emulator.last_request.json["messages"]
    assert [m["role"] for m in messages] == ["user"]
    assert messages[0]["content"].startswith("Answer with only a JSON document")
    assert messages[0]["content"].endswith("\n\nBiggest city?")


def test_json_mode_for_deepseek(emulator):
    emulator.reply(text=json.dumps(PARIS))
    with llm.Client("deepseek/deepseek-chat", **compatible(emulator, "deepseek")) as client:
        assert client.extract(City, "Biggest city?") == City("Paris", 2100000)
    body = emulator.last_request.json
    assert body["response_format"] == {"type": "json_object"}
    assert "JSON" in body["messages"][0]["content"]


def test_extract_reply_wrapped_in_prose_parses_with_the_prompted_mechanism(emulator):
    emulator.reply(text="Here you go: " + json.dumps({"value": [PARIS]}) + " Hope it helps.")
    with llm.Client("lmstudio/test-model", **compatible(emulator), capabilities={"structured_output": "prompt"}) as client:
        assert client.extract(List[City], "Cities?") == [City("Paris", 2100000)]


# -- bad input ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, match", [
    ({"capabilities": "json_schema"}, "capabilities must be a dict"),
    ({"capabilities": {"tool": False}}, "unknown capability flag 'tool'"),
    ({"capabilities": {"tools": "no"}}, "tools must be True, False or None"),
    ({"profile": 1}, "profile must be a profile's name"),
    ({"profile": "llamacpp"}, "unknown profile 'llamacpp'"),
    ({"drop_unsupported": "yes"}, "drop_unsupported must be True or False"),
])
def test_bad_capabilities_or_profile_is_a_clear_error_before_any_request(emulator, kwargs, match):
    with pytest.raises(errors.ValidationError, match=match):
        llm.Client("openai/test-model", **compatible(emulator, "openai"), **kwargs)
    with pytest.raises(errors.ValidationError, match=match):
        llm.complete("openai/test-model", "Hi", **compatible(emulator, "openai"), **kwargs)
    assert emulator.requests == []


def test_one_shot_complete_takes_a_profile():
    with Emulator(openai_unsupported=["developer_role"]) as emu:
        llm.complete("openai/test-model", [llm.Message("developer", "Rules."), llm.user("Hi")],
                     **compatible(emu, "openai"), profile="basic")
        assert emu.last_request.violations == []


def test_a_client_shows_the_flags_its_calls_are_checked_against(emulator):
    base = dict(base_url=emulator.url_for("openai"), api_key="sk-test", max_retries=0)
    with llm.Client("openai/gpt-4o", **base) as client:
        caps = client.capabilities
        assert caps.model == "openai/gpt-4o" and caps.tools is True and caps.json_schema is True
        assert caps.known()["developer_role"] is True
    with llm.Client("openai/gpt-4o", profile="basic", capabilities={"json_schema": False}, **base) as client:
        assert client.capabilities.json_schema is False
    assert emulator.requests == []  # worked out without a call
