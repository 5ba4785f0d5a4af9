"""Sans-IO tests of the Cohere v2 Chat codec (llmunified/providers/cohere.py).

Recorded replies are in tests/fixtures/cohere/ (see tests/fixtures/SOURCES.md); expected values
were read from those files by hand and are written out here, the code under test never computes
them. Streams are replayed under many chunkings (whole, 1-byte, fixed sizes, cuts inside
multibyte UTF-8 characters, seeded random cuts): the events and the final Response must be the
same every time, and equal to the non-streaming parse of the same content. Streams with tool
plans, tool calls and citations are hand-written after docs/wire.md §8 (no recording has them).
"""
import dataclasses
import json
from typing import Any, Dict, List, Mapping, Optional

import pytest

import llmunified as llm
from llmunified._events import Finish, TextDelta, ThinkingDelta, ToolCallDelta, ToolCallEnd, ToolCallStart, UsageEvent
from llmunified._options import Options, make_options
from llmunified._registry import PROVIDERS, resolve_config
from llmunified._tooldef import tool
from llmunified._types import (Citation, ImagePart, Message, TextPart, ThinkingPart, Tool, ToolCall, ToolResult, Usage,
                               assistant, system, tool_result, user)
from llmunified.errors import (APIError, AuthenticationError, BadRequestError, ContextWindowExceededError,
                               MalformedResponseError, NotFoundError, OverloadedError, PermissionDeniedError,
                               RateLimitError, ServerError, StreamError, ValidationError)
from llmunified.providers import codec_for
from llmunified.providers import cohere as cohere_module
from llmunified.providers.cohere import CohereCodec, map_finish_reason, map_usage
from tests.providers.recordings import chunkings, feed_all, jsonl_as_sse, load, sse, vcr, vcr_body

KEY = "co-test-key-DO-NOT-LEAK-0123456789"
MODEL = "command-a-03-2025"


# -- helpers ---------------------------------------------------------------------------------

def make_codec(key: Optional[str] = KEY, base_url: Optional[str] = None, model: str = MODEL,
               headers: Optional[Mapping[str, str]] = None, environ: Optional[Dict[str, str]] = None) -> CohereCodec:
    config = resolve_config(PROVIDERS["cohere"], api_key=key, base_url=base_url, headers=headers,
                            environ={} if environ is None else environ)
    codec = codec_for(config, model)
    assert isinstance(codec, CohereCodec)
    return codec


def build(messages: Any, stream: bool = False, **options: Any) -> Dict[str, Any]:
    msgs = messages if isinstance(messages, list) else [messages]
    request = make_codec().chat_request(msgs, make_options({}, options), stream)
    return json.loads(request.body.decode("utf-8"))


def parse(body: Any, headers: Optional[Dict[str, str]] = None):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
    return make_codec().parse_chat(raw, headers or {})


def run_stream(chunks: List[bytes], headers: Optional[Dict[str, str]] = None):
    return feed_all(make_codec().stream_decoder(headers or {}), chunks)


def replay_all(data: bytes, seed: int = 0):
    """Every chunking of ``data`` gives the same events and Response; returns them."""
    first = None
    n = 0
    for chunks in chunkings(data, seed):
        assert b"".join(chunks) == data
        got = run_stream(chunks)
        if first is None:
            first = got
        else:
            assert got[0] == first[0]
            assert got[1] == first[1]
            assert got[1].citations == first[1].citations
        n += 1
    assert n > 30
    return first


def fixture(name: str) -> bytes:
    return load("cohere/" + name)


def stream_of(*events: Dict[str, Any], framed: bool = True) -> bytes:
    """An SSE stream of Cohere events: ``event: <type>`` + ``data:`` (or data lines only)."""
    if framed:
        return sse(*((e["type"], e) for e in events))
    return sse(*(json.dumps(e, ensure_ascii=False) for e in events))


def texts(events: List[Any]) -> List[str]:
    return [e.text for e in events if isinstance(e, TextDelta)]


# -- the registry entry ------------------------------------------------------------------------

def test_provider_entry():
    info = PROVIDERS["cohere"]
    assert info.codec is CohereCodec and info.protocol == "cohere"
    assert info.base_url == "https://api.cohere.com"
    assert info.api_key_envs == ("CO_API_KEY", "COHERE_API_KEY")
    assert info.base_url_env == "COHERE_BASE_URL" and info.key_required is True
    assert info.description == "Cohere v2 Chat"
    assert (info.auth.kind, info.auth.name, info.auth.prefix) == ("header", "Authorization", "Bearer ")
    assert cohere_module.PROVIDERS == [info]


def test_keys_from_the_environment():
    assert make_codec(key=None, environ={"CO_API_KEY": "co-env"}).config.api_key.get() == "co-env"
    assert make_codec(key=None, environ={"COHERE_API_KEY": "cohere-env"}).config.api_key.get() == "cohere-env"
    assert make_codec(key=None, environ={"CO_API_KEY": "", "COHERE_API_KEY": "b"}).config.api_key.get() == "b"
    assert make_codec(key="arg", environ={"CO_API_KEY": "env"}).config.api_key.get() == "arg"
    with pytest.raises(llm.errors.ConfigurationError, match="CO_API_KEY or COHERE_API_KEY"):
        make_codec(key=None, environ={})


def test_url_auth_and_headers():
    r = make_codec().chat_request([user("x")], make_options({}, {}), False)
    assert r.method == "POST" and r.url == "https://api.cohere.com/v2/chat"
    assert r.headers["Authorization"] == "Bearer " + KEY and KEY not in repr(r)
    assert r.headers["Content-Type"] == "application/json" and r.headers["Accept"] == "application/json"
    assert r.stream is False
    r = make_codec().chat_request([user("x")], make_options({}, {}), True)
    assert r.headers["Accept"] == "text/event-stream" and r.stream is True
    r = make_codec(base_url="http://127.0.0.1:8080/", headers={"X-Client-Name": "me"}).chat_request(
        [user("x")], make_options({}, {}), False)
    assert r.url == "http://127.0.0.1:8080/v2/chat" and r.headers["X-Client-Name"] == "me"
    r = make_codec(base_url="https://proxy.example/cohere/v2").chat_request([user("x")], make_options({}, {}), False)
    assert r.url == "https://proxy.example/cohere/v2/chat"
    r = make_codec(key=None, environ={"CO_API_KEY": "k", "COHERE_BASE_URL": "http://h:1"}).chat_request(
        [user("x")], make_options({}, {}), False)
    assert r.url == "http://h:1/v2/chat"


# -- request bodies ------------------------------------------------------------------------------

def test_the_recorded_request_body():
    recorded = vcr("cohere/chat_basic.vcr.yaml")[0]["request"]
    assert recorded["uri"] == "https://api.cohere.com/v2/chat"
    ours = json.loads(make_codec(model="command-r7b-12-2024").chat_request(
        [user("hello")], make_options({}, {}), False).body)
    expected = dict(recorded["parsed_body"])
    assert expected.pop("stream") is False  # the SDK says so; leaving it out means the same
    assert ours == expected


def test_sampling_options():
    body = build(user("x"), temperature=0.2, top_p=0.5, max_tokens=7, stop=["END", "STOP"], seed=3)
    assert body == {"model": MODEL, "messages": [{"role": "user", "content": "x"}], "temperature": 0.2, "p": 0.5,
                    "max_tokens": 7, "stop_sequences": ["END", "STOP"], "seed": 3}
    assert build(user("x"), stop="END")["stop_sequences"] == ["END"]
    assert build(user("x"), stream=True) == {"model": MODEL, "messages": [{"role": "user", "content": "x"}],
                                             "stream": True}
    assert "stream" not in build(user("x"))


def test_extra_is_merged_last_and_deeply():
    body = build(user("x"), temperature=0.2, extra={"thinking": {"type": "enabled", "token_budget": 2048},
                                                    "temperature": 0.9, "safety_mode": "OFF"})
    assert body["thinking"] == {"type": "enabled", "token_budget": 2048}
    assert body["temperature"] == 0.9 and body["safety_mode"] == "OFF"
    spec = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}
    body = build(user("x"), response_format=spec, extra={"response_format": {"type": "json_object", "x": 1}})
    assert body["response_format"] == {"type": "json_object", "json_schema": spec, "x": 1}


def test_parallel_tool_calls_is_not_sent():
    body = build(user("x"), tools=TOOLS, parallel_tool_calls=False)
    assert "parallel_tool_calls" not in body and set(body) == {"model", "messages", "tools"}


def test_message_roles_and_text():
    msgs = [system("Be terse."), Message("developer", "Use metric units."), user("Hi"), assistant("Hello!"),
            user([TextPart("a"), TextPart("b")])]
    assert build(msgs)["messages"] == [
        {"role": "system", "content": "Be terse."}, {"role": "system", "content": "Use metric units."},
        {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "ab"}]
    assert build([Message("system", [TextPart("one "), TextPart("two")])])["messages"] == [
        {"role": "system", "content": "one two"}]
    assert build([Message("user", "x", name="alice")])["messages"] == [{"role": "user", "content": "x"}]


def test_images():
    msgs = [user([TextPart("What is this?"), ImagePart(url="https://example.com/a.png", detail="low"),
                  ImagePart(data="iVBORw0KGgo=", media_type="image/png"),
                  ImagePart(url="data:image/jpeg;base64,/9j/4AAQ", detail="high")])]
    assert build(msgs)["messages"] == [{"role": "user", "content": [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "https://example.com/a.png", "detail": "low"}},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQ", "detail": "high"}}]}]


TOOLS = [Tool("get_weather", "Weather for a city.", {"type": "object", "properties": {"city": {"type": "string"}},
                                                      "required": ["city"]}),
         Tool("get_time")]
WIRE_TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "description": "Weather for a city.",
                                      "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                                     "required": ["city"]}}},
    {"type": "function", "function": {"name": "get_time", "description": "",
                                      "parameters": {"type": "object", "properties": {}}}}]


def test_tools_and_tool_choice():
    body = build(user("x"), tools=TOOLS)
    assert body["tools"] == WIRE_TOOLS
    assert "tool_choice" not in body and "strict_tools" not in body
    assert "tool_choice" not in build(user("x"), tools=TOOLS, tool_choice="auto")
    body = build(user("x"), tools=TOOLS, tool_choice="none")
    assert body["tool_choice"] == "NONE" and body["tools"] == WIRE_TOOLS
    body = build(user("x"), tools=TOOLS, tool_choice="required")
    assert body["tool_choice"] == "REQUIRED" and body["tools"] == WIRE_TOOLS


def test_a_named_tool_choice_sends_that_tool_alone_and_required():
    body = build(user("x"), tools=TOOLS, tool_choice="get_time")
    assert body["tool_choice"] == "REQUIRED"
    assert body["tools"] == [WIRE_TOOLS[1]]
    body = build(user("x"), tools=TOOLS, tool_choice="get_weather")
    assert body["tool_choice"] == "REQUIRED" and body["tools"] == [WIRE_TOOLS[0]]
    # Options built without make_options' check: a name no tool has is refused, not sent
    with pytest.raises(ValidationError, match="names no tool"):
        make_codec().chat_request([user("x")], Options(tools=list(TOOLS), tool_choice="nope"), False)


@tool(strict=True)
def lookup(query: str) -> str:
    """Look a term up.

    Args:
        query: The term.
    """
    return query


@tool
def loose(query: str) -> str:
    """Look a term up loosely.

    Args:
        query: The term.
    """
    return query


def test_strict_tools():
    body = build(user("x"), tools=[lookup, loose])
    assert body["strict_tools"] is True
    assert [t["function"]["name"] for t in body["tools"]] == ["lookup", "loose"]
    assert body["tools"][0]["function"]["parameters"] == lookup.parameters  # sent as written
    assert "strict_tools" not in build(user("x"), tools=[loose])
    # narrowed to the non-strict tool: nothing strict is sent
    assert "strict_tools" not in build(user("x"), tools=[lookup, loose], tool_choice="loose")
    assert build(user("x"), tools=[lookup, loose], tool_choice="lookup")["strict_tools"] is True


@dataclasses.dataclass
class City:
    name: str
    population: int


CITY_SCHEMA = {"type": "object", "properties": {"name": {"type": "string"}, "population": {"type": "integer"}},
               "required": ["name", "population"]}


def test_response_format():
    body = build(user("Biggest city in France?"), response_format=City)
    assert body["response_format"]["type"] == "json_object"
    schema = body["response_format"]["json_schema"]
    assert schema["type"] == "object" and schema["required"] == ["name", "population"]
    assert schema["properties"] == {"name": {"type": "string"}, "population": {"type": "integer"}}
    assert set(body) == {"model", "messages", "response_format"}
    body = build(user("x"), response_format=CITY_SCHEMA)
    assert body["response_format"] == {"type": "json_object", "json_schema": CITY_SCHEMA}


def test_response_format_with_tools_is_refused_before_any_request():
    for choice in (None, "auto", "none", "required", "get_time"):
        options: Dict[str, Any] = {"tools": TOOLS, "response_format": City}
        if choice is not None:
            options["tool_choice"] = choice
        with pytest.raises(ValidationError) as info:
            build(user("x"), **options)
        assert "cannot combine response_format with tools" in info.value.message
        assert "drop tools=" in info.value.message


def test_response_format_with_tools_fails_in_the_client_without_a_connection():
    # Port 9 on loopback has no listener: reaching the network would be a ConnectionError.
    with llm.Client("cohere/" + MODEL, api_key=KEY, base_url="http://127.0.0.1:9", max_retries=0) as client:
        with pytest.raises(ValidationError, match="cannot combine response_format with tools"):
            client.complete("x", tools=TOOLS, response_format=City)


def test_tool_history_with_tool_plan():
    msgs = [user("Weather in Zürich and the time?"),
            Message("assistant", [ThinkingPart("I will look up the weather and the time."),
                                  ToolCall("get_weather_1", "get_weather", {"city": "Zürich"}),
                                  ToolCall("get_time_2", "get_time", {})]),
            Message("tool", [ToolResult("get_weather_1", {"t": 18}), ToolResult("get_time_2", "12:00", is_error=True)]),
            assistant("18°C at 12:00.")]
    assert build(msgs)["messages"] == [
        {"role": "user", "content": "Weather in Zürich and the time?"},
        {"role": "assistant", "tool_plan": "I will look up the weather and the time.", "tool_calls": [
            {"id": "get_weather_1", "type": "function",
             "function": {"name": "get_weather", "arguments": '{"city":"Zürich"}'}},
            {"id": "get_time_2", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "get_weather_1", "content": '{"t": 18}'},
        {"role": "tool", "tool_call_id": "get_time_2", "content": "12:00"},
        {"role": "assistant", "content": "18°C at 12:00."}]


def test_which_thinking_goes_back():
    reasoning = ThinkingPart("Reasoning about the question.")
    plan = ThinkingPart("I will call get_time.")
    call = ToolCall("c1", "get_time", {})
    # reasoning, then the plan, then the call: the plan alone is the tool_plan
    wire = build([user("q"), Message("assistant", [reasoning, plan, call])])["messages"][1]
    assert wire == {"role": "assistant", "tool_plan": "I will call get_time.", "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}]}
    # text with the calls is sent as content; redacted and empty thinking are never a plan
    wire = build([user("q"), Message("assistant", [plan, ThinkingPart("", redacted=True, data="opaque"),
                                                    TextPart("Checking."), call])])["messages"][1]
    assert wire == {"role": "assistant", "content": "Checking.", "tool_plan": "I will call get_time.",
                    "tool_calls": [{"id": "c1", "type": "function",
                                    "function": {"name": "get_time", "arguments": "{}"}}]}
    wire = build([user("q"), Message("assistant", [ThinkingPart("", redacted=True, data="x"), call])])["messages"][1]
    assert "tool_plan" not in wire
    # thinking after the first call is not the plan for it
    wire = build([user("q"), Message("assistant", [call, plan])])["messages"][1]
    assert "tool_plan" not in wire
    # no tool calls: thinking is not sent at all
    wire = build([user("q"), Message("assistant", [reasoning, TextPart("4")])])["messages"][1]
    assert wire == {"role": "assistant", "content": "4"}


def test_a_parsed_tool_reply_round_trips():
    reply = parse(tool_reply_body())
    wire = build([user("Weather?"), reply.message, tool_result("get_weather_k88p0m8504w5", "sunny")])["messages"]
    assert wire[1] == {"role": "assistant", "tool_plan": "I will look up the weather in Toronto.", "tool_calls": [
        {"id": "get_weather_k88p0m8504w5", "type": "function",
         "function": {"name": "get_weather", "arguments": '{"location":"Toronto"}'}},
        {"id": "get_time_1", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}]}
    assert wire[2] == {"role": "tool", "tool_call_id": "get_weather_k88p0m8504w5", "content": "sunny"}


def test_long_conversations_encode_the_same_with_the_wire_cache():
    msgs: List[Message] = [system("s")]
    for i in range(20):
        msgs.append(user(f"question {i} ü"))
        msgs.append(Message("assistant", [ThinkingPart(f"plan {i}"), ToolCall(f"c{i}", "get_time", {"i": i})]))
        msgs.append(tool_result(f"c{i}", {"n": i}))
    codec = make_codec()
    expected = [entry for m in msgs for entry in cohere_module._encode_message(m)]
    assert len(expected) == 61
    for n in (40, 50, 61):  # a growing conversation: later encodings resume the earlier ones
        body = codec.chat_request(msgs[:n], make_options({}, {}), False).body
        assert json.loads(body)["messages"] == expected[:n]
        assert body == json.dumps({"model": MODEL, "messages": expected[:n]}, ensure_ascii=False,
                                  separators=(",", ":")).encode("utf-8")
    msgs[44].content[0].text = "edited plan"  # an edit in place is noticed
    body = json.loads(codec.chat_request(msgs, make_options({}, {}), False).body)
    assert body["messages"][44]["tool_plan"] == "edited plan"


# -- recorded non-streaming replies ---------------------------------------------------------------

def test_chat_text():
    resp = parse(fixture("chat_text.json"))
    assert resp.message == Message("assistant", "The capital of France is Paris.")
    assert resp.finish_reason == "stop"
    assert resp.usage == Usage(507, 10, 517, 448, 0, 0)
    assert resp.id == "e7592632-1e3d-424f-b129-bd5f9f980f7b"
    assert resp.model == MODEL and resp.provider == "cohere" and resp.citations == []
    assert resp.raw == json.loads(fixture("chat_text.json"))


def test_chat_max_tokens():
    resp = parse(fixture("chat_max_tokens.json"))
    assert resp.text == "**The History of" and resp.finish_reason == "length"
    assert resp.usage == Usage(506, 5, 511, 448)
    assert resp.id == "039584d9-7236-4ecb-9dd7-f1bed57888bc"


def test_chat_thinking():
    resp = parse(fixture("chat_thinking.json"))
    assert resp.message.content == [
        ThinkingPart("Okay, so I need to figure out what 2 + 2 is. Let me start by recalling what addition means."),
        TextPart("2 + 2 = 4")]
    assert resp.text == "2 + 2 = 4"
    assert resp.thinking == ("Okay, so I need to figure out what 2 + 2 is. Let me start by recalling what "
                             "addition means.")
    assert resp.usage == Usage(1394, 582, 1976, 1344) and resp.finish_reason == "stop"
    assert resp.id == "53bcb235-5179-4a91-a578-cb372b5430bc"


BENEFITS_DOC = {"type": "document", "id": "doc:0", "document": {
    "id": "doc:0", "text": "AI provides: 1. Automation of tasks 2. Better decision-making 3. Cost reduction",
    "title": "benefits.txt"}}
BENEFITS_TEXT = ("The key benefits mentioned in this document are:\n1. Automation of tasks\n2. Better decision-making\n"
                 "3. Cost reduction")


def test_chat_citations():
    resp = parse(fixture("chat_citations.json"))
    assert resp.text == BENEFITS_TEXT and resp.finish_reason == "stop"
    assert resp.citations == [
        Citation("Automation of tasks", 52, 71, [BENEFITS_DOC], "TEXT_CONTENT"),
        Citation("Better decision-making", 75, 97, [BENEFITS_DOC], "TEXT_CONTENT"),
        Citation("Cost reduction", 101, 115, [BENEFITS_DOC], "TEXT_CONTENT")]
    for c in resp.citations:  # the offsets index the answer's text
        assert resp.text[c.start:c.end] == c.text
    assert resp.usage == Usage(1683, 62, 1745, 992)
    assert resp.id == "68475c80-574b-4c65-98a4-e81cebab5dce"


def test_chat_basic_vcr():
    inter = vcr("cohere/chat_basic.vcr.yaml")[0]
    assert inter["response"]["status"]["code"] == 200
    headers = {k: v[0] for k, v in inter["response"]["headers"].items()}
    resp = make_codec(model="command-r7b-12-2024").parse_chat(vcr_body(inter), headers)
    assert resp.text == "Hello! How can I assist you today?" and resp.finish_reason == "stop"
    assert resp.usage == Usage(496, 11, 507, 0)  # the tokens the model read, not the 1 + 9 billed
    assert resp.id == "f17a5f6c-1734-4098-bd0d-733ef000ac7b" and resp.model == "command-r7b-12-2024"
    assert resp.headers["num_tokens"] == "10"
    assert resp.request_id is None  # X-Debug-Trace-ID is no request id


# -- the recorded stream --------------------------------------------------------------------------

STREAM_PIECES = ["The", " capital", " of", " France", " is", " Paris", "."]


def test_stream_text_under_every_chunking():
    data = jsonl_as_sse(fixture("stream_text.chunks.jsonl"))
    events, resp = replay_all(data, seed=1)
    assert texts(events) == STREAM_PIECES
    assert events[-2:] == [UsageEvent(Usage(507, 10, 517, 448)), Finish("stop")]
    assert len(events) == 9
    assert resp.text == "The capital of France is Paris." and resp.finish_reason == "stop"
    assert resp.usage == Usage(507, 10, 517, 448, 0, 0)
    assert resp.id == "321d178c-2c12-44d3-ae42-2f5510f6b1cc" and resp.model == MODEL
    assert len(resp.raw) == 11 and resp.raw[0]["type"] == "message-start"
    # the same content as the recorded non-streaming reply
    body = json.loads(fixture("chat_text.json"))
    body["id"] = "321d178c-2c12-44d3-ae42-2f5510f6b1cc"
    assert parse(body) == resp


def test_stream_text_with_event_lines_and_without_types():
    framed = jsonl_as_sse(fixture("stream_text.chunks.jsonl"), event_key="type")
    assert framed.startswith(b"event: message-start\ndata: ")
    reference = run_stream([jsonl_as_sse(fixture("stream_text.chunks.jsonl"))])
    assert replay_all(framed, seed=2) == reference
    # the type only on the event: line (the data's own "type" is what counts when both are there)
    lines = [json.loads(line) for line in fixture("stream_text.chunks.jsonl").splitlines() if line.strip()]
    untyped = sse(*((obj.pop("type"), obj) for obj in lines))
    assert len(lines) == 11 and not any("type" in obj for obj in lines)
    events, resp = run_stream([untyped])
    assert events == reference[0] and resp == reference[1]


def test_debug_unknown_events_and_done_are_ignored():
    data = stream_of({"type": "message-start", "id": "m1", "delta": {"message": {"role": "assistant"}}},
                     {"type": "debug", "prompt": "<internal>"},
                     {"type": "content-start", "index": 0, "delta": {"message": {"content": {"type": "text",
                                                                                             "text": ""}}}},
                     {"type": "content-delta", "index": 0, "delta": {"message": {"content": {"text": "Hi"}}}},
                     {"type": "something-new", "delta": {"x": 1}},
                     {"type": "content-end", "index": 0},
                     {"type": "message-end", "delta": {"finish_reason": "COMPLETE"}})
    data += b"data: [DONE]\n\n"
    events, resp = replay_all(data, seed=3)
    assert events == [TextDelta("Hi"), Finish("stop")]
    assert resp.text == "Hi" and resp.id == "m1" and resp.usage == Usage()
    assert [e["type"] for e in resp.raw] == ["message-start", "debug", "content-start", "content-delta",
                                             "something-new", "content-end", "message-end"]


# -- tool plans, tool calls and citations (hand-written after docs/wire.md §8) ---------------------

def tool_reply_body() -> Dict[str, Any]:
    return {"id": "tc-1", "finish_reason": "TOOL_CALL", "message": {
        "role": "assistant", "tool_plan": "I will look up the weather in Toronto.",
        "tool_calls": [{"id": "get_weather_k88p0m8504w5", "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"location":"Toronto"}'}},
                       {"id": "get_time_1", "type": "function", "function": {"name": "get_time", "arguments": ""}}]},
        "usage": {"billed_units": {"input_tokens": 30, "output_tokens": 20},
                  "tokens": {"input_tokens": 900, "output_tokens": 40}}}


def tool_stream() -> bytes:
    return stream_of(
        {"id": "tc-1", "type": "message-start", "delta": {"message": {
            "role": "assistant", "content": [], "tool_plan": "", "tool_calls": [], "citations": []}}},
        {"type": "tool-plan-delta", "delta": {"message": {"tool_plan": "I will look up"}}},
        {"type": "tool-plan-delta", "delta": {"message": {"tool_plan": ""}}},
        {"type": "tool-plan-delta", "delta": {"message": {"tool_plan": " the weather in Toronto."}}},
        {"type": "tool-call-start", "index": 0, "delta": {"message": {"tool_calls": {
            "id": "get_weather_k88p0m8504w5", "type": "function",
            "function": {"name": "get_weather", "arguments": ""}}}}},
        {"type": "tool-call-delta", "index": 0, "delta": {"message": {"tool_calls": {
            "function": {"arguments": '{"location":'}}}}},
        {"type": "tool-call-delta", "index": 0, "delta": {"message": {"tool_calls": {
            "function": {"arguments": '"Toronto"}'}}}}},
        {"type": "tool-call-end", "index": 0},
        {"type": "tool-call-start", "index": 1, "delta": {"message": {"tool_calls": {
            "id": "get_time_1", "type": "function", "function": {"name": "get_time", "arguments": ""}}}}},
        {"type": "tool-call-end", "index": 1},
        {"type": "message-end", "delta": {"finish_reason": "TOOL_CALL", "usage": {
            "billed_units": {"input_tokens": 30, "output_tokens": 20},
            "tokens": {"input_tokens": 900, "output_tokens": 40}}}})


WEATHER_CALL = ToolCall("get_weather_k88p0m8504w5", "get_weather", {"location": "Toronto"})
TIME_CALL = ToolCall("get_time_1", "get_time", {})


def test_tool_reply():
    resp = parse(tool_reply_body())
    assert resp.message.content == [ThinkingPart("I will look up the weather in Toronto."), WEATHER_CALL, TIME_CALL]
    assert resp.tool_calls[0].raw_arguments == '{"location":"Toronto"}'
    assert resp.tool_calls[1].raw_arguments == "" and resp.tool_calls[1].arguments == {}
    assert resp.finish_reason == "tool_calls" and resp.usage == Usage(900, 40, 940, 0)


def test_tool_stream_under_every_chunking():
    events, resp = replay_all(tool_stream(), seed=4)
    assert events == [
        ThinkingDelta("I will look up"), ThinkingDelta(" the weather in Toronto."),
        ToolCallStart(0, "get_weather_k88p0m8504w5", "get_weather"),
        ToolCallDelta(0, '{"location":'), ToolCallDelta(0, '"Toronto"}'), ToolCallEnd(0, WEATHER_CALL),
        ToolCallStart(1, "get_time_1", "get_time"), ToolCallEnd(1, TIME_CALL),
        UsageEvent(Usage(900, 40, 940, 0)), Finish("tool_calls")]
    assert resp.message.content == [ThinkingPart("I will look up the weather in Toronto."), WEATHER_CALL, TIME_CALL]
    assert resp.id == "tc-1"
    assert resp == parse(tool_reply_body())


def test_tool_call_arguments_in_the_start_event_and_as_an_object():
    data = stream_of(
        {"type": "tool-call-start", "index": 0, "delta": {"message": {"tool_calls": {
            "id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"a":'}}}}},
        {"type": "tool-call-delta", "index": 0, "delta": {"message": {"tool_calls": {"function": {"arguments": "1}"}}}}},
        {"type": "message-end", "delta": {"finish_reason": "TOOL_CALL"}})  # no tool-call-end: closed here
    events, resp = run_stream([data])
    assert events == [ToolCallStart(0, "c1", "f"), ToolCallDelta(0, '{"a":'), ToolCallDelta(0, "1}"),
                      ToolCallEnd(0, ToolCall("c1", "f", {"a": 1})), Finish("tool_calls")]
    body = {"finish_reason": "TOOL_CALL", "message": {"tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "f", "arguments": {"a": 1}}}]}}
    assert parse(body).tool_calls == [ToolCall("c1", "f", {"a": 1})]
    body["message"]["tool_calls"][0]["function"]["arguments"] = '{"a": 1'  # cut short: kept as received
    call = parse(body).tool_calls[0]
    assert call.arguments == {} and call.raw_arguments == '{"a": 1' and not call.arguments_valid


REASONING = "Die Frage: was kostet 1 €? Überlege… 😀"
CITED = "Laut dem Dokument: Kosten sinken — um 10 %."


def rag_body() -> Dict[str, Any]:
    return {"id": "rag-1", "finish_reason": "COMPLETE", "message": {
        "role": "assistant",
        "content": [{"type": "thinking", "thinking": REASONING}, {"type": "text", "text": CITED}],
        "citations": [{"start": 19, "end": 32, "text": "Kosten sinken", "sources": [BENEFITS_DOC],
                       "type": "TEXT_CONTENT", "content_index": 1},
                      {"start": 35, "end": 42, "text": "um 10 %", "sources": [
                          {"type": "tool", "id": "t:0", "tool_output": {"pct": 10}}], "type": "TEXT_CONTENT"}]},
        "usage": {"tokens": {"input_tokens": 1200.0, "output_tokens": 77.0}, "cached_tokens": 1024.0}}


def rag_stream() -> bytes:
    body = rag_body()
    cites = body["message"]["citations"]
    return stream_of(
        {"id": "rag-1", "type": "message-start", "delta": {"message": {"role": "assistant", "content": [],
                                                                        "tool_plan": "", "tool_calls": [],
                                                                        "citations": []}}},
        {"type": "content-start", "index": 0, "delta": {"message": {"content": {"type": "thinking",
                                                                                "thinking": ""}}}},
        {"type": "content-delta", "index": 0, "delta": {"message": {"content": {"thinking": REASONING[:20]}}}},
        {"type": "content-delta", "index": 0, "delta": {"message": {"content": {"thinking": REASONING[20:]}}}},
        {"type": "content-end", "index": 0},
        {"type": "content-start", "index": 1, "delta": {"message": {"content": {"type": "text", "text": ""}}}},
        {"type": "content-delta", "index": 1, "delta": {"message": {"content": {"text": CITED[:25]}}}},
        {"type": "content-delta", "index": 1, "delta": {"message": {"content": {"text": CITED[25:]}}}},
        {"type": "citation-start", "index": 0, "delta": {"message": {"citations": cites[0]}}},
        {"type": "citation-end", "index": 0},
        {"type": "citation-start", "index": 1, "delta": {"message": {"citations": cites[1]}}},
        {"type": "citation-end", "index": 1},
        {"type": "content-end", "index": 1},
        {"type": "message-end", "delta": {"finish_reason": "COMPLETE", "usage": body["usage"]}},
        framed=False)


def test_reasoning_and_citations_stream_equals_the_reply():
    expected_citations = [
        Citation("Kosten sinken", 19, 32, [BENEFITS_DOC], "TEXT_CONTENT"),
        Citation("um 10 %", 35, 42, [{"type": "tool", "id": "t:0", "tool_output": {"pct": 10}}], "TEXT_CONTENT")]
    reply = parse(rag_body())
    assert reply.message.content == [ThinkingPart(REASONING), TextPart(CITED)]
    assert reply.citations == expected_citations
    assert [CITED[c.start:c.end] for c in reply.citations] == ["Kosten sinken", "um 10 %"]
    assert reply.usage == Usage(1200, 77, 1277, 1024) and type(reply.usage.input_tokens) is int
    events, resp = replay_all(rag_stream(), seed=5)
    assert events == [ThinkingDelta(REASONING[:20]), ThinkingDelta(REASONING[20:]), TextDelta(CITED[:25]),
                      TextDelta(CITED[25:]), UsageEvent(Usage(1200, 77, 1277, 1024)), Finish("stop")]
    assert resp == reply and resp.citations == expected_citations


def test_reasoning_then_tool_plan_stay_apart():
    body = {"id": "r", "finish_reason": "TOOL_CALL", "message": {
        "content": [{"type": "thinking", "thinking": "Think."}], "tool_plan": "Plan.",
        "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}]}}
    reply = parse(body)
    assert reply.message.content == [ThinkingPart("Think."), ThinkingPart("Plan."), ToolCall("c1", "get_time", {})]
    data = stream_of(
        {"id": "r", "type": "message-start", "delta": {"message": {"role": "assistant"}}},
        {"type": "content-start", "index": 0, "delta": {"message": {"content": {"type": "thinking",
                                                                                "thinking": "Think."}}}},
        {"type": "content-end", "index": 0},
        {"type": "tool-plan-delta", "delta": {"message": {"tool_plan": "Plan."}}},
        {"type": "tool-call-start", "index": 0, "delta": {"message": {"tool_calls": {
            "id": "c1", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}}}},
        {"type": "tool-call-end", "index": 0},
        {"type": "message-end", "delta": {"finish_reason": "TOOL_CALL"}})
    events, resp = replay_all(data, seed=6)
    assert resp == reply
    wire = build([user("q"), resp.message])["messages"][1]
    assert wire["tool_plan"] == "Plan." and "content" not in wire


# -- finish reasons and usage ------------------------------------------------------------------

@pytest.mark.parametrize("wire,unified", [
    ("COMPLETE", "stop"), ("STOP_SEQUENCE", "stop"), ("MAX_TOKENS", "length"), ("TOOL_CALL", "tool_calls"),
    ("ERROR", "error"), ("TIMEOUT", "error"), ("ERROR_TOXIC", "content_filter"), ("ERROR_LIMIT", "length"),
    ("USER_CANCEL", "other"), ("SOMETHING_NEW", "other")])
def test_finish_reasons(wire, unified):
    assert map_finish_reason(wire) == unified
    assert parse({"finish_reason": wire, "message": {"content": [{"type": "text", "text": "x"}]}}).finish_reason \
        == unified
    events, resp = run_stream([stream_of({"type": "message-end", "delta": {"finish_reason": wire}})])
    assert events == [Finish(unified)] and resp.finish_reason == unified


def test_no_finish_reason():
    assert map_finish_reason(None) is None
    assert parse({"message": {"content": []}}).finish_reason == "stop"
    assert parse({"message": {"tool_calls": [{"id": "a", "function": {"name": "f", "arguments": "{}"}}]}}) \
        .finish_reason == "tool_calls"


def test_usage_mapping():
    assert map_usage({"billed_units": {"input_tokens": 12, "output_tokens": 7},
                      "tokens": {"input_tokens": 507, "output_tokens": 10}, "cached_tokens": 448}) == \
        Usage(507, 10, 517, 448, 0, 0)
    # without tokens, the billed units stand in (and no cache figure: they leave cache hits out)
    assert map_usage({"billed_units": {"input_tokens": 12, "output_tokens": 7}, "cached_tokens": 448}) == \
        Usage(12, 7, 19, 0)
    assert map_usage({}) == Usage()
    assert map_usage({"tokens": {"input_tokens": 3.0}}) == Usage(3, 0, 3)
    assert parse({"message": {"content": "plain"}}).usage == Usage()
    assert parse({"message": {"content": "plain"}}).text == "plain"


# -- broken and malformed streams -------------------------------------------------------------------

def test_eof_before_message_end_is_a_stream_error_with_the_partial_reply():
    data = jsonl_as_sse(fixture("stream_text.chunks.jsonl"))
    inside = data.index(b'" Paris"')  # inside the event carrying " Paris"
    between = data.rindex(b"data: ", 0, inside)  # at the start of that event
    before_end = data.rindex(b"data: ")  # everything but message-end
    for cut, text in ((inside, "The capital of France is"), (between, "The capital of France is"),
                      (before_end, "The capital of France is Paris.")):
        for chunks in chunkings(data[:cut], seed=7, n_random=5):
            dec = make_codec().stream_decoder({"x-request-id": "req-9"})
            for chunk in chunks:
                dec.feed(chunk)
            with pytest.raises(StreamError) as info:
                dec.eof()
            err = info.value
            assert "stream broke before it was complete" in err.message and err.provider == "cohere"
            if cut != inside:  # (cut inside an event, that event's text is the fault named)
                assert "the connection closed before message-end" in err.message
            assert err.response.text == text and err.response.usage == Usage()
            assert err.response.id == "321d178c-2c12-44d3-ae42-2f5510f6b1cc"
            assert err.request_id == "req-9"


def test_eof_inside_a_tool_call_keeps_the_raw_arguments():
    data = tool_stream()
    cut = data.index(b'\\"Toronto\\"}')
    dec = make_codec().stream_decoder({})
    dec.feed(data[:cut])
    with pytest.raises(StreamError) as info:
        dec.eof()
    resp = info.value.response
    assert resp.thinking == "I will look up the weather in Toronto."
    call = resp.tool_calls[0]
    assert call.name == "get_weather" and call.raw_arguments == '{"location":' and call.arguments == {}


def test_an_event_that_is_not_json_is_a_stream_error_keeping_it():
    head = jsonl_as_sse(fixture("stream_text.chunks.jsonl")).split(b"\n\n")[:3]
    data = b"\n\n".join(head) + b"\n\ndata: {\"type\":\"content-delta\",\"index\":0,\n\n"
    dec = make_codec().stream_decoder({})
    events = dec.feed(data)
    assert texts(events) == ["The"]  # what came before the bad event is handed over first
    with pytest.raises(StreamError) as info:
        dec.eof()
    assert info.value.body == '{"type":"content-delta","index":0,'
    assert info.value.response.text == "The"


@pytest.mark.parametrize("event", [
    b'{"type":"content-delta","index":0,"delta":"text"}',
    b'{"type":"content-delta","index":0,"delta":{"message":{"content":{"text":5}}}}',
    b'{"type":"content-delta","index":0}',
    b'{"type":"tool-call-start","index":0,"delta":{"message":{"tool_calls":{"id":"a","function":{"name":5}}}}}',
    b'{"type":"tool-call-delta","index":3,"delta":{"message":{"tool_calls":{"function":{"arguments":"{}"}}}}}',
    b'{"type":"tool-plan-delta","delta":{"message":{"tool_plan":7}}}',
    b'{"type":"citation-start","index":0,"delta":{"message":{"citations":{"start":"a","end":2}}}}',
    b'{"type":"message-end","delta":{"finish_reason":"COMPLETE","usage":{"tokens":{"input_tokens":"5"}}}}',
    b'[1, 2]',
])
def test_wrong_shaped_events_are_stream_errors_keeping_the_event(event):
    data = (b'data: {"type":"content-delta","index":0,"delta":{"message":{"content":{"text":"x"}}}}\n\n'
            b"data: " + event + b"\n\n"
            b'data: {"type":"message-end","delta":{"finish_reason":"COMPLETE"}}\n\n')
    with pytest.raises(StreamError) as info:
        run_stream([data])
    assert info.value.body == event.decode("utf-8")
    assert info.value.response.text == "x"


def test_an_error_in_message_end_raises_a_typed_error_with_the_partial_reply():
    data = stream_of(
        {"id": "m9", "type": "message-start", "delta": {"message": {"role": "assistant"}}},
        {"type": "content-delta", "index": 0, "delta": {"message": {"content": {"text": "Partial ü"}}}},
        {"type": "message-end", "delta": {"error": "internal generation failure", "finish_reason": "ERROR",
                                          "usage": {"tokens": {"input_tokens": 5, "output_tokens": 2}}}})
    for chunks in chunkings(data, seed=8, n_random=5):
        dec = make_codec().stream_decoder({})
        with pytest.raises(APIError) as info:
            for chunk in chunks:
                dec.feed(chunk)
            dec.eof()
        err = info.value
        assert type(err) is APIError
        assert err.message == "internal generation failure" and err.status is None and err.retryable is False
        assert err.response.text == "Partial ü" and err.response.finish_reason == "error"
        assert err.response.usage == Usage(5, 2, 7) and err.response.id == "m9"
        assert json.loads(err.body)["delta"]["error"] == "internal generation failure"


@pytest.mark.parametrize("body", [
    b"<html><body>Bad gateway</body></html>",
    b'{"id":"x","message":{"role":"assistant","content":[{"type":"text","text":"hel',
    b"[]",
    b"",
    b'{"id":"x"}',
    b'{"message":3}',
    b'{"message":{"content":5}}',
    b'{"message":{"content":[3]}}',
    b'{"message":{"content":[{"type":"text","text":7}]}}',
    b'{"message":{"tool_plan":5,"tool_calls":[]}}',
    b'{"message":{"tool_calls":[{"id":"a","function":{"arguments":"{}"}}]}}',
    b'{"message":{"tool_calls":[{"id":"a","function":{"name":"f","arguments":5}}]}}',
    b'{"message":{"citations":[{"start":"1"}]}}',
    b'{"message":{"citations":[{"text":"a","sources":"doc"}]}}',
    b'{"message":{"content":[]},"usage":{"tokens":{"input_tokens":"5"}}}',
])
def test_malformed_replies_keep_the_body(body):
    with pytest.raises(MalformedResponseError) as info:
        parse(body)
    assert info.value.provider == "cohere"
    assert info.value.body == body.decode("utf-8")


# -- error statuses ---------------------------------------------------------------------------------

def error_body(message: str, id: Optional[str] = "4f1c0a2e-body-id") -> bytes:
    body: Dict[str, Any] = {"message": message}
    if id is not None:
        body["id"] = id
    return json.dumps(body).encode("utf-8")


@pytest.mark.parametrize("status,message,cls,retryable", [
    (400, "invalid request: temperature must be between 0 and 1.0 inclusive.", BadRequestError, False),
    (401, "invalid api token", AuthenticationError, False),
    (402, "Please add or update your payment method", PermissionDeniedError, False),
    (403, "forbidden", PermissionDeniedError, False),
    (422, "invalid request: tool names can only contain certain characters", BadRequestError, False),
    (498, "invalid token", AuthenticationError, False),
    (499, "request cancelled", APIError, True),
    (500, "internal server error", ServerError, True),
    (503, "service unavailable", OverloadedError, True),
    (504, "gateway timeout", ServerError, True),
])
def test_error_statuses(status, message, cls, retryable):
    err = make_codec().api_error(status, {}, error_body(message))
    assert type(err) is cls
    assert err.message == message and err.status == status and err.provider == "cohere"
    assert err.retryable is retryable
    assert err.request_id == "4f1c0a2e-body-id"  # from the body: the headers had none
    assert err.error_type is None and err.code is None
    assert json.loads(err.body) == {"message": message, "id": "4f1c0a2e-body-id"}


def test_404_recorded():
    inter = vcr("cohere/error_404_embed_model_not_found.vcr.yaml")[0]
    assert inter["response"]["status"]["code"] == 404
    headers = {k: v[0] for k, v in inter["response"]["headers"].items()}
    err = make_codec().api_error(404, headers, vcr_body(inter))
    assert type(err) is NotFoundError and not err.retryable
    assert err.message == ("model 'nonexistent' not found, make sure the correct model ID was used and that you "
                           "have access to the model.")
    assert err.request_id == "8bd5b608-887c-49f7-a6b3-d3bd5830c3de"
    assert str(err) == ("[cohere 404] model 'nonexistent' not found, make sure the correct model ID was used and "
                        "that you have access to the model. (request id 8bd5b608-887c-49f7-a6b3-d3bd5830c3de)")


def test_429_with_retry_after():
    err = make_codec().api_error(429, {"retry-after": "7"},
                                 error_body("You are past the per minute request limit, please wait and try again "
                                            "later.", id=None))
    assert type(err) is RateLimitError and err.retryable is True and err.retry_after == 7.0
    assert err.request_id is None
    assert err.message == "You are past the per minute request limit, please wait and try again later."


def test_a_request_id_header_wins_and_x_should_retry_is_honoured():
    err = make_codec().api_error(500, {"x-request-id": "req-h"}, error_body("boom"))
    assert err.request_id == "req-h"
    err = make_codec().api_error(499, {"x-should-retry": "false"}, error_body("request cancelled by user"))
    assert type(err) is APIError and err.retryable is False
    err = make_codec().api_error(400, {"x-should-retry": "true"}, error_body("flaky"))
    assert type(err) is BadRequestError and err.retryable is True


@pytest.mark.parametrize("message,cls", [
    ("too many tokens: total number of tokens in the prompt cannot exceed 4081 - received 4292. Try using a "
     "shorter prompt, or enabling prompt truncating.", ContextWindowExceededError),
    ("too many tokens: size limit exceeded by 11326 tokens. Try using shorter or fewer inputs, or setting "
     "prompt_truncation='AUTO'.", ContextWindowExceededError),
    ("too many tokens: multi-hop prompt is too long even after truncation", ContextWindowExceededError),
    # the same opening words, but the output limit: a plain bad request
    ("too many tokens: max tokens must be less than or equal to 4096, the maximum output for this model - "
     "received 8192.", BadRequestError),
])
def test_context_window_wording(message, cls):
    err = make_codec().api_error(400, {}, error_body(message))
    assert type(err) is cls and err.message == message


def test_the_api_key_never_reaches_error_text():
    body = json.dumps({"message": f"invalid api token: {KEY}", "id": "e1"}).encode("utf-8")
    for status in (401, 498):
        err = make_codec().api_error(status, {}, body)
        assert isinstance(err, AuthenticationError)
        assert err.message == "invalid api token: ***"
        assert KEY not in str(err) and KEY not in repr(err) and KEY not in (err.body or "")
        assert KEY not in json.dumps(err.headers)
    err = make_codec().api_error(502, {}, b"upstream said Authorization: Bearer " + KEY.encode())
    assert KEY not in err.message and KEY not in (err.body or "") and "***" in err.message


def test_non_json_and_odd_error_bodies():
    err = make_codec().api_error(502, {}, b"<html><body>502 Bad Gateway</body></html>")
    assert type(err) is ServerError and err.message == "HTTP 502: <html><body>502 Bad Gateway</body></html>"
    err = make_codec().api_error(500, {}, b"")
    assert type(err) is ServerError and err.message == "HTTP 500: (empty body)"
    err = make_codec().api_error(400, {}, b'{"message": 5, "id": 7}')
    assert type(err) is BadRequestError and err.message == 'HTTP 400: {"message": 5, "id": 7}'
    assert err.request_id is None
    codec = make_codec()
    assert codec.error_details({"id": "a", "message": "m"}) == ("m", None, None)
    assert codec.error_details(["m"]) == (None, None, None)
    assert codec.error_details({"type": "message-end", "delta": {"error": "e"}}) == ("e", None, None)
