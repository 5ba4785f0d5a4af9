"""Cohere v2 behaviour against the emulator (both twins): tool plans kept and sent back, citations
on the response, thinking, the named-tool narrowing, structured output refused with tools before
the network, Cohere's own statuses and in-stream errors.

Everything the other providers do runs for ``cohere`` in the shared behaviour tests
(tests/_sync/helpers.py PROVIDERS); this module checks what is Cohere's own.
Hand-written for the sync package; tests/_async/test_cohere.py is generated from it.
"""
import json

import pytest

import llmunified as llm
from llmunified import errors
from llmunified.testing import ToolCallSpec
from tests._sync.helpers import SECRET, WEATHER, settings

CITED = "Paris is the capital of France."
CITATIONS = [{"start": 0, "end": 5, "text": "Paris", "type": "TEXT_CONTENT",
              "sources": [{"type": "document", "id": "doc:0", "document": {"id": "doc:0", "text": "Paris..."}}]}]


MODEL = "cohere/command-a-03-2025"


def weather(city, days=1):
    return f"-3C in {city}"


TOOL = llm.Tool(WEATHER.name, WEATHER.description, WEATHER.parameters, function=weather)


def test_tool_plan_is_kept_and_sent_back_with_the_calls(emulator):
    emulator.reply(plan="I will look up the weather in Oslo.",
                   tool_calls=[ToolCallSpec("get_weather", {"city": "Oslo"})])
    emulator.reply(text="It is -3C in Oslo.")
    with llm.Client(MODEL, **settings(emulator, "cohere")) as client:
        reply = client.run("Weather in Oslo?", tools=[TOOL])
    assert reply.text == "It is -3C in Oslo."
    planned = reply.messages[0]
    assert planned.thinking == "I will look up the weather in Oslo."
    assert planned.tool_calls[0].arguments == {"city": "Oslo"}
    second = emulator.requests[1].json["messages"]
    assistant = second[-2]
    assert assistant["role"] == "assistant" and assistant["tool_plan"] == "I will look up the weather in Oslo."
    function = assistant["tool_calls"][0]["function"]
    assert function["name"] == "get_weather" and json.loads(function["arguments"]) == {"city": "Oslo"}
    assert second[-1]["role"] == "tool" and second[-1]["tool_call_id"] == assistant["tool_calls"][0]["id"]
    assert all(not r.violations for r in emulator.requests)


def test_streamed_plan_arrives_as_thinking_before_the_call(emulator):
    emulator.reply(plan="Checking the forecast first.", tool_calls=[ToolCallSpec("get_weather", {"city": "Rome"})])
    with llm.Client(MODEL, **settings(emulator, "cohere")) as client:
        with client.stream("Weather in Rome?", tools=[WEATHER]) as stream:
            events = [e for e in stream]
    kinds = [e.type for e in events]
    assert kinds.index("thinking") < kinds.index("tool_call_start")
    assert "".join(e.text for e in events if e.type == "thinking") == "Checking the forecast first."
    assert stream.response.tool_calls[0].arguments == {"city": "Rome"}
    assert stream.response.finish_reason == "tool_calls"


def test_a_call_without_arguments_is_an_empty_object(emulator):
    emulator.reply(tool_calls=[ToolCallSpec("now", {})])
    emulator.reply(tool_calls=[ToolCallSpec("now", {})])
    now = llm.Tool("now", "The time.", {"type": "object", "properties": {}})
    with llm.Client(MODEL, **settings(emulator, "cohere")) as client:
        assert client.complete("Time?", tools=[now]).tool_calls[0].arguments == {}
        with client.stream("Time?", tools=[now]) as stream:
            [e for e in stream]
    assert stream.response.tool_calls[0].arguments == {}


def test_citations_on_the_response_complete_and_streamed(emulator):
    emulator.reply(text=CITED, citations=CITATIONS)
    emulator.reply(text=CITED, citations=CITATIONS)
    with llm.Client(MODEL, **settings(emulator, "cohere")) as client:
        reply = client.complete("Capital of France?", extra={"documents": ["Paris is the capital of France."]})
        with client.stream("Capital of France?") as stream:
            [e for e in stream]
    for response in (reply, stream.response):
        assert response.text == CITED
        citation, = response.citations
        assert (citation.start, citation.end, citation.text) == (0, 5, "Paris")
        assert citation.text == response.text[citation.start:citation.end]
        assert citation.sources[0]["id"] == "doc:0"
    assert emulator.requests[0].json["documents"] == ["Paris is the capital of France."]


def test_thinking_comes_back_and_is_not_resent_without_calls(emulator):
    emulator.reply(thinking="Let me think about France.", text="Paris.")
    emulator.reply(text="Yes.")
    with llm.Client(MODEL, **settings(emulator, "cohere")) as client:
        chat = llm.ChatSession(client)
        first = chat.send("Capital of France?", extra={"thinking": {"type": "enabled", "token_budget": 500}})
        chat.send("Sure?")
    assert first.thinking == "Let me think about France." and first.text == "Paris."
    assert emulator.requests[0].json["thinking"] == {"type": "enabled", "token_budget": 500}
    history = emulator.requests[1].json["messages"]
    assert history[1]["role"] == "assistant" and "tool_plan" not in history[1]
    assert "Let me think" not in str(history)


def test_a_named_tool_choice_narrows_the_tools_to_it(emulator):
    other = llm.Tool("get_time", "Time in a city.", {"type": "object", "properties": {"city": {"type": "string"}}})
    emulator.reply(tool_calls=[ToolCallSpec("get_weather", {"city": "Oslo"})])
    emulator.reply(text="fine")
    with llm.Client(MODEL, **settings(emulator, "cohere")) as client:
        client.complete("Weather?", tools=[WEATHER, other], tool_choice="get_weather")
        client.complete("Weather?", tools=[WEATHER, other], tool_choice="none")
    named, none = (r.json for r in emulator.requests)
    assert named["tool_choice"] == "REQUIRED" and [t["function"]["name"] for t in named["tools"]] == ["get_weather"]
    assert none["tool_choice"] == "NONE" and len(none["tools"]) == 2


def test_structured_output_with_tools_is_refused_before_the_network(emulator):
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    with llm.Client(MODEL, **settings(emulator, "cohere")) as client:
        with pytest.raises(errors.ValidationError, match="tools"):
            client.complete("Where?", tools=[WEATHER], response_format=schema)
    assert emulator.requests == []


def test_max_tokens_finish_and_usage(emulator):
    emulator.reply(text="The capital of", finish_reason="length", usage=(507, 3), cache_read=448)
    with llm.Client(MODEL, **settings(emulator, "cohere")) as client:
        reply = client.complete("Capital of France?", max_tokens=3)
    assert reply.finish_reason == "length"
    assert (reply.usage.input_tokens, reply.usage.output_tokens) == (507, 3)
    assert reply.usage.cache_read_tokens == 448
    assert emulator.last_request.json["max_tokens"] == 3


def test_cohere_statuses(emulator):
    emulator.reply(status=498, error="invalid api token")
    emulator.reply(status=422, error="unknown field: parameter 'x' is not a valid field")
    with llm.Client(MODEL, **settings(emulator, "cohere")) as client:
        with pytest.raises(errors.AuthenticationError) as invalid:
            client.complete("Hi")
        with pytest.raises(errors.BadRequestError) as unknown:
            client.complete("Hi")
    assert invalid.value.status == 498 and "invalid api token" in str(invalid.value)
    assert not invalid.value.retryable and SECRET not in str(invalid.value)
    assert unknown.value.status == 422 and unknown.value.request_id


def test_client_closed_request_is_retried(emulator):
    emulator.reply(status=499, error="request cancelled")
    emulator.reply(text="second time lucky")
    with llm.Client(MODEL, **settings(emulator, "cohere", max_retries=1)) as client:
        assert client.complete("Hi").text == "second time lucky"
    assert len(emulator.requests) == 2


def test_an_error_at_the_end_of_a_stream_keeps_the_partial_text(emulator):
    emulator.reply(text="Partial answ", stream_error="internal generation failure")
    with llm.Client(MODEL, **settings(emulator, "cohere")) as client:
        with pytest.raises(errors.APIError) as info:
            with client.stream("Hi") as stream:
                [e for e in stream]
    err = info.value
    assert "internal generation failure" in str(err)
    assert err.response is not None and err.response.text == "Partial answ"
    assert not err.retryable


def test_unknown_options_reach_cohere_and_its_refusal_is_typed(emulator):
    with llm.Client(MODEL, **settings(emulator, "cohere")) as client:
        with pytest.raises(errors.BadRequestError, match="top_k"):
            client.complete("Hi", extra={"top_k": 5})
    assert emulator.last_request.status == 422


def test_key_from_co_api_key(emulator, monkeypatch):
    monkeypatch.setenv("CO_API_KEY", "co-env-key-0123456789")
    monkeypatch.delenv("COHERE_API_KEY", raising=False)
    emulator.reply(text="hi")
    options = settings(emulator, "cohere")
    del options["api_key"]
    with llm.Client("cohere/command-r-plus", **options) as client:
        client.complete("Hi")
    assert emulator.last_request.headers["authorization"] == "Bearer co-env-key-0123456789"
