"""Sans-IO tests of the Anthropic Messages codec against real recordings in fixtures/anthropic/.

Expected values were read from the fixtures by hand and are written out here; the code under
test never computes them. Streams are replayed under many chunkings (whole, 1-byte, random,
splits inside multibyte UTF-8 characters) and must give identical events every time.
"""
import functools
import json
import logging
import os
from typing import Any, Dict, List, Mapping, Optional, Tuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmunified._events import Finish, TextDelta, ThinkingDelta, ToolCallDelta, ToolCallEnd, ToolCallStart, UsageEvent
from llmunified._options import Options, make_options, to_messages
from llmunified._registry import ProviderConfig, PROVIDERS, resolve_config
from llmunified._types import (ImagePart, Message, Response, TextPart, ThinkingPart, Tool, ToolCall, Usage, assistant,
                               system, tool_result, user)
from llmunified.errors import (APIError, AuthenticationError, BadRequestError, ContextWindowExceededError,
                               MalformedResponseError, NotFoundError, OverloadedError, PermissionDeniedError,
                               RateLimitError, ServerError, StreamError)
from llmunified.providers import codec_for
from llmunified.providers.anthropic import AnthropicCodec, map_stop_reason, map_usage
from tests.providers import recordings
from tests.providers.recordings import FIXTURES, bound, feed_all, httprr_records, jsonl_as_sse, load, split_http, sse

FIX = os.path.join(FIXTURES, "anthropic")
KEY = "sk-ant-api03-test-key-DO-NOT-LEAK-1234567890"
MODEL = "claude-sonnet-4-5"


# -- helpers ---------------------------------------------------------------------------------

def make_codec(key: Optional[str] = KEY, base_url: Optional[str] = None,
               headers: Optional[Mapping[str, str]] = None) -> AnthropicCodec:
    config = resolve_config(PROVIDERS["anthropic"], api_key=key, base_url=base_url, headers=headers, environ={})
    codec = codec_for(config, "test-model")
    assert isinstance(codec, AnthropicCodec)
    return codec


@pytest.fixture
def codec() -> AnthropicCodec:
    return make_codec()


fixture_bytes = functools.partial(load, base=FIX)


def fixture_json(name: str) -> Any:
    return json.loads(fixture_bytes(name))


def http_exchanges(name: str) -> List[Dict[str, Any]]:
    """anthropic-sdk-python inline snapshots: [{request, response:{status_code, headers, body}}]."""
    out = []
    for ex in fixture_json(name):
        resp = ex["response"]
        body = resp["body"]
        raw = body.encode("utf-8") if isinstance(body, str) else json.dumps(body).encode("utf-8")
        out.append({"request": ex["request"], "status": resp["status_code"],
                    "headers": {k.lower(): v for k, v in resp["headers"].items()}, "body": raw})
    return out


def httprr(name: str) -> List[Tuple[bytes, int, Dict[str, str], bytes]]:
    """(raw request, status, lower-cased response headers, de-chunked body) per record."""
    records = []
    for req, resp in httprr_records(fixture_bytes(name)):
        status_line, headers, body = split_http(resp)
        records.append((req, int(status_line.split()[1]), headers, body))
    return records


def vcr(name: str) -> List[Dict[str, Any]]:
    out = []
    for it in recordings.vcr(name, FIX):
        resp = it["response"]
        out.append({"request": it["request"]["parsed_body"], "status": resp["status"]["code"],
                    "headers": {k.lower(): v[0] for k, v in resp["headers"].items()},
                    "body": json.dumps(resp["parsed_body"]).encode("utf-8")})
    return out


def request_body(codec: AnthropicCodec, messages: Any, stream: bool = False, **options: Any) -> Dict[str, Any]:
    return bound(codec, MODEL).chat_request(to_messages(messages), make_options({}, options), stream).json()


chunkings = functools.partial(recordings.chunkings, seed=1234, n_random=60)


def run_stream(codec: AnthropicCodec, chunks: List[bytes], headers: Optional[Mapping[str, str]] = None,
               model: str = MODEL) -> Tuple[List[Any], Response]:
    return feed_all(bound(codec, model).stream_decoder(headers or {}), chunks)


def replay_all(codec: AnthropicCodec, data: bytes, headers: Optional[Mapping[str, str]] = None,
               n_random: int = 60) -> Tuple[List[Any], Response]:
    """Run every chunking; assert identical events and responses; return the reference ones."""
    ref_events, ref_resp = run_stream(codec, [data], headers)
    count = 0
    for chunks in chunkings(data, n_random=n_random):
        assert b"".join(chunks) == data
        events, resp = run_stream(codec, chunks, headers)
        assert events == ref_events
        assert repr(events) == repr(ref_events)
        assert resp == ref_resp
        assert resp.raw == ref_resp.raw
        count += 1
    assert count >= n_random + 2
    return ref_events, ref_resp


def start(id: str = "msg_1", model: str = "claude-test", **usage: int) -> Tuple[str, Any]:
    return ("message_start", {"type": "message_start", "message": {
        "id": id, "type": "message", "role": "assistant", "model": model, "content": [],
        "stop_reason": None, "stop_sequence": None, "usage": usage or {"input_tokens": 10, "output_tokens": 1}}})


def block_start(index: int, block: Dict[str, Any]) -> Tuple[str, Any]:
    return ("content_block_start", {"type": "content_block_start", "index": index, "content_block": block})


def delta(index: int, d: Dict[str, Any]) -> Tuple[str, Any]:
    return ("content_block_delta", {"type": "content_block_delta", "index": index, "delta": d})


def block_stop(index: int) -> Tuple[str, Any]:
    return ("content_block_stop", {"type": "content_block_stop", "index": index})


def message_delta(stop_reason: Optional[str], **usage: Any) -> Tuple[str, Any]:
    return ("message_delta", {"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                              "usage": usage or {"output_tokens": 5}})


STOP = ("message_stop", {"type": "message_stop"})
PING = ("ping", {"type": "ping"})


def parse(codec: AnthropicCodec, body: Any, headers: Optional[Mapping[str, str]] = None) -> Response:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
    return bound(codec, MODEL).parse_chat(raw, headers or {})


# -- request building ------------------------------------------------------------------------

def test_codec_for_resolves_anthropic(codec):
    assert type(codec).__name__ == "AnthropicCodec"
    assert codec.provider == "anthropic"


def test_request_line_headers_and_minimal_body(codec):
    req = bound(codec, MODEL).chat_request(to_messages("Hi"), Options(), False)
    assert req.method == "POST"
    assert req.url == "https://api.anthropic.com/v1/messages"
    assert req.stream is False
    assert req.headers["x-api-key"] == KEY
    assert req.headers["anthropic-version"] == "2023-06-01"
    assert req.headers["content-type"] == "application/json"
    assert "authorization" not in {k.lower() for k in req.headers}
    assert req.json() == {"model": MODEL, "max_tokens": 4096, "messages": [{"role": "user", "content": "Hi"}]}


def test_key_never_in_repr(codec):
    req = bound(codec, MODEL).chat_request(to_messages("Hi"), Options(), True)
    assert KEY not in repr(req) and KEY not in str(req)
    assert KEY not in repr(codec.config) and KEY not in repr(codec)


def test_config_headers_are_merged_and_base_url_respected():
    codec = make_codec(base_url="http://127.0.0.1:9999/", headers={"anthropic-beta": "foo-2025-01-01"})
    req = bound(codec, MODEL).chat_request(to_messages("Hi"), Options(), False)
    assert req.url == "http://127.0.0.1:9999/v1/messages"
    assert req.headers["anthropic-beta"] == "foo-2025-01-01"
    assert req.headers["x-api-key"] == KEY
    # an OpenAI-style base URL that already ends in /v1 is not doubled
    codec = make_codec(base_url="https://proxy.example/anthropic/v1")
    assert bound(codec, MODEL).chat_request(to_messages("Hi"), Options(), False).url == \
        "https://proxy.example/anthropic/v1/messages"


def test_no_key_header_without_a_key():
    # An empty key counts as no key (and Anthropic requires one), so build the config directly.
    config = ProviderConfig(PROVIDERS["anthropic"], "https://api.anthropic.com", None)
    req = bound(AnthropicCodec(config, "test-model"), MODEL).chat_request(to_messages("Hi"), Options(), False)
    assert "x-api-key" not in req.headers


def test_default_max_tokens_is_a_class_attribute_and_caller_wins(codec):
    assert AnthropicCodec.default_max_tokens == 4096
    assert request_body(codec, "Hi", max_tokens=12)["max_tokens"] == 12

    class Small(AnthropicCodec):
        default_max_tokens = 99

    assert request_body(Small(codec.config, MODEL), "Hi")["max_tokens"] == 99


def test_stream_flag_and_accept(codec):
    req = bound(codec, MODEL).chat_request(to_messages("Hi"), Options(), True)
    assert req.stream is True
    assert req.json()["stream"] is True
    assert req.headers["accept"] == "text/event-stream"
    assert "stream" not in bound(codec, MODEL).chat_request(to_messages("Hi"), Options(), False).json()


def test_system_messages_are_lifted_and_joined(codec):
    body = request_body(codec, [system("Be terse."), Message("developer", "Answer in French."), user("Hi"),
                                assistant("Salut"), system("Late rule."), user("Encore")])
    assert body["system"] == "Be terse.\n\nAnswer in French.\n\nLate rule."
    assert body["messages"] == [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Salut"},
        {"role": "user", "content": "Encore"},
    ]


def test_no_system_key_without_system_messages(codec):
    assert "system" not in request_body(codec, "Hi")


def test_consecutive_same_role_turns_merge(codec):
    body = request_body(codec, [user("one"), user([TextPart("two"), TextPart("")]), assistant("a"), assistant("b")])
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
    ]


def test_tool_results_of_several_tool_messages_form_one_user_turn(codec):
    calls = [ToolCall("toolu_1", "get_weather", {"city": "Paris"}), ToolCall("toolu_2", "get_time", {})]
    body = request_body(codec, [
        user("Weather and time in Paris?"),
        assistant("Let me check.", tool_calls=calls),
        tool_result("toolu_1", "18°C, sunny"),
        tool_result("toolu_2", {"time": "12:00"}, is_error=True),
        user("Thanks, and tomorrow?"),
    ])
    assert body["messages"] == [
        {"role": "user", "content": "Weather and time in Paris?"},
        {"role": "assistant", "content": [
            {"type": "text", "text": "Let me check."},
            {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
            {"type": "tool_use", "id": "toolu_2", "name": "get_time", "input": {}},
        ]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18°C, sunny"},
            {"type": "tool_result", "tool_use_id": "toolu_2", "content": '{"time": "12:00"}', "is_error": True},
            {"type": "text", "text": "Thanks, and tomorrow?"},
        ]},
    ]


def test_tool_results_go_first_in_a_merged_user_turn(codec):
    body = request_body(codec, [user("q"), assistant(tool_calls=[ToolCall("toolu_1", "f", {})]),
                                user("(a note written before the result arrived)"), tool_result("toolu_1", "ok")])
    assert body["messages"][2] == {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "ok"},
        {"type": "text", "text": "(a note written before the result arrived)"},
    ]}


def test_openai_style_dicts_are_encoded(codec):
    body = request_body(codec, [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "toolu_9", "type": "function", "function": {"name": "f", "arguments": "{\"x\": 1}"}}]},
        {"role": "tool", "tool_call_id": "toolu_9", "content": "42"},
    ])
    assert body["system"] == "sys"
    assert body["messages"][1:] == [
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_9", "name": "f", "input": {"x": 1}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_9", "content": "42"}]},
    ]


def test_thinking_blocks_go_back_unchanged_with_signatures(codec):
    thinking = ThinkingPart("Let me think… 🤔", signature="EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxR+sig==")
    redacted = ThinkingPart(redacted=True, data="EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP")
    call = ToolCall("toolu_1", "lookup", {"q": "x"})
    body = request_body(codec, [user("q"), Message("assistant", [thinking, redacted, TextPart("Checking."), call]),
                                tool_result("toolu_1", "found")])
    assert body["messages"][1] == {"role": "assistant", "content": [
        {"type": "thinking", "thinking": "Let me think… 🤔", "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxR+sig=="},
        {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP"},
        {"type": "text", "text": "Checking."},
        {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {"q": "x"}},
    ]}


def test_thinking_omitted_display_keeps_empty_text_with_signature(codec):
    body = request_body(codec, [user("q"), Message("assistant", [ThinkingPart("", signature="sig=="),
                                                                 TextPart("A")])])
    assert body["messages"][1]["content"][0] == {"type": "thinking", "thinking": "", "signature": "sig=="}


def test_unsigned_thinking_from_other_providers_is_not_sent(codec):
    body = request_body(codec, [user("q"), Message("assistant", [ThinkingPart("deepseek reasoning"), TextPart("A")])])
    assert body["messages"][1] == {"role": "assistant", "content": [{"type": "text", "text": "A"}]}


def test_thinking_response_round_trips_into_the_next_request(codec):
    data = fixture_json("message_thinking_with_signature.json")
    resp = parse(codec, data)
    body = request_body(codec, [user("Find the roots"), resp.message, user("Thanks")])
    assert body["messages"][1] == {"role": "assistant", "content": data["content"]}


def test_images(codec):
    body = request_body(codec, [user([
        TextPart("What is in these?"),
        ImagePart(data="iVBORw0KGgo=", media_type="image/png"),
        ImagePart(url="data:image/jpeg;base64,/9j/4AAQ"),
        ImagePart(url="https://example.com/cat.webp", detail="high"),
    ])])
    assert body["messages"] == [{"role": "user", "content": [
        {"type": "text", "text": "What is in these?"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
        {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQ"}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.webp"}},
    ]}]


WEATHER = Tool("get_weather", "Weather for a city", {"type": "object", "properties": {"city": {"type": "string"}},
                                                    "required": ["city"]})
CLOCK = Tool("get_time")


def test_tools_become_input_schema(codec):
    body = request_body(codec, "Hi", tools=[WEATHER, CLOCK])
    assert body["tools"] == [
        {"name": "get_weather", "description": "Weather for a city", "input_schema": {
            "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}},
        {"name": "get_time", "input_schema": {"type": "object", "properties": {}}},
    ]
    assert "tool_choice" not in body


@pytest.mark.parametrize("choice, parallel, expected", [
    ("auto", None, {"type": "auto"}),
    ("none", None, {"type": "none"}),
    ("required", None, {"type": "any"}),
    ("get_weather", None, {"type": "tool", "name": "get_weather"}),
    (None, False, {"type": "auto", "disable_parallel_tool_use": True}),
    ("auto", False, {"type": "auto", "disable_parallel_tool_use": True}),
    ("required", False, {"type": "any", "disable_parallel_tool_use": True}),
    ("get_weather", False, {"type": "tool", "name": "get_weather", "disable_parallel_tool_use": True}),
    ("none", False, {"type": "none"}),
    ("auto", True, {"type": "auto"}),
    (None, True, None),
    (None, None, None),
])
def test_tool_choice_mapping(codec, choice, parallel, expected):
    body = request_body(codec, "Hi", tools=[WEATHER], tool_choice=choice, parallel_tool_calls=parallel)
    assert body.get("tool_choice") == expected


def test_sampling_options_and_stop_sequences(codec):
    body = request_body(codec, "Hi", temperature=0.3, top_p=0.9, stop=["END", "STOP"], max_tokens=50)
    assert body["temperature"] == 0.3
    assert body["top_p"] == 0.9
    assert body["stop_sequences"] == ["END", "STOP"]
    assert "stop" not in body
    assert request_body(codec, "Hi", stop="###")["stop_sequences"] == ["###"]


def test_seed_is_dropped_and_logged_at_debug(codec, caplog):
    with caplog.at_level(logging.DEBUG, logger="llmunified"):
        body = request_body(codec, "Hi", seed=42)
    assert "seed" not in body
    assert any("seed" in r.getMessage() and r.levelno == logging.DEBUG for r in caplog.records)
    assert all(KEY not in r.getMessage() for r in caplog.records)


def test_extra_is_deep_merged_last(codec):
    body = request_body(codec, "Hi", tools=[WEATHER], tool_choice="auto", extra={
        "thinking": {"type": "enabled", "budget_tokens": 2048},
        "tool_choice": {"disable_parallel_tool_use": True},
        "max_tokens": 8000,
        "metadata": {"user_id": "u-1"},
    })
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert body["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}
    assert body["max_tokens"] == 8000
    assert body["metadata"] == {"user_id": "u-1"}


def test_request_matches_recorded_langchaingo_request(codec):
    (raw_request, _, _, _), = httprr("stream_raw_http_headers.httprr")
    recorded = json.loads(raw_request.partition(b"\r\n\r\n")[2])
    req = bound(codec, "claude-3-opus-20240229").chat_request(to_messages("Count from 1 to 5"),
                             make_options({}, {"max_tokens": 100, "temperature": 0}), True)
    assert req.json() == recorded
    assert b"Anthropic-Version: 2023-06-01" in raw_request


def test_tool_loop_request_matches_recorded_sdk_request(codec):
    second = http_exchanges("http_stream_tool_runner.json")[1]["request"]["body"]
    schema = second["tools"][0]["input_schema"]
    tool = Tool("get_weather", "Lookup the weather for a given city in either celsius or fahrenheit", schema)
    call = ToolCall("toolu_018acGYLtfR52q9yDbWaEdQZ", "get_weather", {"location": "San Francisco, CA", "units": "f"})
    result = '{"location": "San Francisco, CA", "temperature": "68\\u00b0F", "condition": "Sunny"}'
    req = bound(codec, "claude-haiku-4-5").chat_request([user("What is the weather in SF?"), assistant(tool_calls=[call]),
                                                  tool_result(call.id, result)],
                             make_options({}, {"max_tokens": 1024, "tools": [tool]}), True)
    # The SDK echoes the response's "caller" field back; the API does not require it.
    for block in second["messages"][1]["content"]:
        block.pop("caller", None)
    assert req.json() == second


def test_cache_control_request_matches_recorded_pydantic_ai_request(codec):
    recorded = vcr("prompt_cache_read_write.vcr.yaml")[1]["request"]
    msgs = [system("You are a helpful assistant.")]
    for m in recorded["messages"]:
        msgs.append(Message(m["role"], [TextPart(b["text"]) for b in m["content"]]))
    body = bound(codec, "claude-sonnet-4-5").chat_request(msgs,
                              make_options({}, {"extra": {"cache_control": {"type": "ephemeral", "ttl": "5m"}}}),
                              False).json()
    expected = dict(recorded)
    assert expected.pop("stream") is False  # we leave the default out
    assert body == expected


# -- non-streaming responses ----------------------------------------------------------------

def test_message_text(codec):
    resp = parse(codec, fixture_bytes("message_text.json"), {"request-id": "req_abc"})
    assert resp.text == ("Hello! I'm doing well, thanks for asking. How are you doing today? "
                         "Is there anything I can help you with?")
    assert resp.message.content == resp.text  # one text part collapses to a string
    assert resp.finish_reason == "stop"
    assert resp.usage == Usage(12, 29, 41, 0, 0, 0)
    assert resp.id == "msg_01VdEjxAP5ahtHKrrRdNBteQ"
    assert resp.model == "claude-sonnet-4-5-20250929"
    assert resp.provider == "anthropic"
    assert resp.tool_calls == []
    assert resp.raw["type"] == "message"
    assert resp.headers == {"request-id": "req_abc"}


THINKING_TEXT = (
    "I need to find all roots of this cubic polynomial and verify them. The Rational Root Theorem suggests "
    "checking factors of 6, and I can confirm that 1, 2, and 3 are indeed roots. I'll use synthetic division to "
    "factor it as (x-1)(x-2)(x-3), then verify by expanding and confirm this accounts for all roots since a "
    "degree 3 polynomial has exactly 3 roots.")


def test_message_thinking_with_signature(codec):
    resp = parse(codec, fixture_bytes("message_thinking_with_signature.json"))
    parts = resp.message.content
    assert [type(p) for p in parts] == [ThinkingPart, TextPart]
    assert parts[0].text == THINKING_TEXT
    assert parts[0].redacted is False
    sig = parts[0].signature
    assert sig.startswith("CAISqwQKhwEIEBgCKkAciZInI2gcLrwOU5o9XFlI")
    assert sig.endswith("UNyStauLcPlIdLrLIq9yWz7dcYAQ==")
    assert len(sig) == 752
    assert resp.thinking == THINKING_TEXT
    assert resp.text.startswith("## Step 1: Set up the problem\n\nWe want all values of $x$ sat")
    assert resp.text.endswith("All three relations hold, independently confirming the answer.")
    assert len(resp.text) == 2644
    assert "integral domain — a product" in resp.text and "= -d = 6$ ✓" in resp.text
    assert resp.finish_reason == "stop"
    assert resp.usage == Usage(51, 1699, 1750, 0, 0, 139)
    assert resp.model == "claude-opus-5"
    assert resp.id == "msg_011CdMNhurHSJCxCC2NB7WYc"


def test_message_structured_output(codec):
    resp = parse(codec, fixture_bytes("message_structured_output_json_schema.json"))
    doc = json.loads(resp.text)
    assert doc["recipe"]["name"] == "Classic Lasagna"
    assert len(doc["recipe"]["ingredients"]) == 18
    assert doc["recipe"]["steps"][-1] == "Let stand for 15 minutes before serving"
    assert "375°F (190°C)" in resp.text
    assert resp.usage == Usage(371, 629, 1000, 0, 0, 0)
    assert resp.finish_reason == "stop"
    assert resp.id == "msg_015rVfxqGkwrrRARo3Uv3C9K"


def test_http_structured_output_parse(codec):
    (ex,) = http_exchanges("http_structured_output_parse.json")
    assert ex["status"] == 200
    resp = bound(codec, "claude-sonnet-4-5").parse_chat(ex["body"], ex["headers"])
    assert resp.text == '{"product_name": "Green Tea", "price": 5.50, "quantity": 2}'
    assert resp.usage == Usage(249, 26, 275, 0, 0, 0)
    assert resp.model == "claude-sonnet-4-5-20250929"
    assert resp.id == "msg_01Egs18hRzhru3uGon3qesbA"
    assert resp.finish_reason == "stop"


def test_http_tool_use_response(codec):
    ex = http_exchanges("http_tool_use_then_400_invalid_request.json")[0]
    resp = bound(codec, "claude-haiku-4-5").parse_chat(ex["body"], ex["headers"])
    assert resp.message.content == [
        ToolCall("toolu_01GHndag5wQmbzNihYmV2UBj", "get_weather", {"location": "San Francisco, CA", "units": "c"})]
    assert resp.tool_calls[0].raw_arguments is None  # Anthropic sends an object, not a string
    assert resp.text == ""
    assert resp.finish_reason == "tool_calls"
    assert resp.usage == Usage(659, 74, 733, 0, 0, 0)
    assert resp.model == "claude-haiku-4-5-20251001"
    assert resp.id == "msg_01QCEBW49MBPHFuFwMDoFtPP"


def test_http_400_invalid_request_with_request_id_in_body_only(codec):
    ex = http_exchanges("http_tool_use_then_400_invalid_request.json")[1]
    assert ex["status"] == 400 and "request-id" not in ex["headers"]
    err = codec.api_error(ex["status"], ex["headers"], ex["body"])
    assert type(err) is BadRequestError
    assert err.status == 400
    assert err.message.startswith("messages.0.content.1: unexpected `tool_use_id` found in `tool_result` blocks: "
                                  "toolu_01GHndag5wQmbzNihYmV2UBj.")
    assert err.error_type == "invalid_request_error"
    assert err.request_id == "req_011CYHyk9NPsBYeGbC9LuDNK"
    assert err.retryable is False  # x-should-retry: false
    assert err.provider == "anthropic"
    assert "req_011CYHyk9NPsBYeGbC9LuDNK" in str(err)
    assert json.loads(err.body)["type"] == "error"


def test_prompt_cache_read_and_write_usage(codec):
    first, second = vcr("prompt_cache_read_write.vcr.yaml")
    r1 = bound(codec, "claude-sonnet-4-5").parse_chat(first["body"], first["headers"])
    assert r1.usage == Usage(input_tokens=1114, output_tokens=406, total_tokens=1520, cache_read_tokens=1111,
                             cache_write_tokens=0, reasoning_tokens=0)
    assert r1.text.startswith("# What is Python?\n\nPython is a high-level, interpreted programming language")
    assert r1.text.endswith("used by companies like Google, Netflix, NASA, and Instagram.")
    assert r1.id == "msg_01UUPT9QdZnZSRzcQJkjG25U"
    r2 = bound(codec, "claude-sonnet-4-5").parse_chat(second["body"], second["headers"])
    assert r2.usage == Usage(input_tokens=1532, output_tokens=33, total_tokens=1565, cache_read_tokens=1111,
                             cache_write_tokens=418, reasoning_tokens=0)
    assert r2.text == ("Python is a beginner-friendly, versatile programming language widely used for web "
                       "development, data science, machine learning, automation, and scientific computing.")
    assert r2.id == "msg_01KPaKTJSqAKoZri7Ujrny58"
    assert r2.finish_reason == "stop"


@pytest.mark.parametrize("stop_reason, expected", [
    ("end_turn", "stop"), ("stop_sequence", "stop"), ("max_tokens", "length"),
    ("model_context_window_exceeded", "length"), ("tool_use", "tool_calls"), ("refusal", "content_filter"),
    ("pause_turn", "other"), ("something_new", "other"),
])
def test_stop_reason_mapping(codec, stop_reason, expected):
    assert map_stop_reason(stop_reason) == expected
    resp = parse(codec, {"id": "m", "model": "c", "content": [{"type": "text", "text": "x"}],
                         "stop_reason": stop_reason, "usage": {"input_tokens": 1, "output_tokens": 1}})
    assert resp.finish_reason == expected
    assert map_stop_reason(None) is None


def test_usage_mapping_tolerates_missing_and_null_fields():
    assert map_usage({}) == Usage()
    assert map_usage({"input_tokens": None, "output_tokens": 3, "cache_read_input_tokens": None}) == Usage(0, 3, 3)
    assert map_usage({"input_tokens": "x", "output_tokens": True}) == Usage()


def test_unknown_blocks_are_ignored_and_order_is_kept(codec):
    resp = parse(codec, {
        "id": "m", "model": "c", "stop_reason": "end_turn", "usage": {"input_tokens": 1, "output_tokens": 2},
        "content": [
            {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "x"}},
            {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []},
            {"type": "redacted_thinking", "data": "opaque=="},
            {"type": "text", "text": "A", "citations": [{"type": "web_search_result_location"}]},
            {"type": "text", "text": "B"},
            {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}},
            {"type": "text", "text": "C"},
        ]})
    assert resp.message.content == [ThinkingPart("", redacted=True, data="opaque=="), TextPart("AB"),
                                    ToolCall("toolu_1", "f", {}), TextPart("C")]


def test_200_error_body_raises_typed_error(codec):
    body = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}, "request_id": "req_9"}
    with pytest.raises(OverloadedError) as info:
        parse(codec, body)
    assert info.value.message == "Overloaded"
    assert info.value.request_id == "req_9"


@pytest.mark.parametrize("body, why", [
    (b"<html><body><h1>502 Bad Gateway</h1></body></html>", "HTML"),
    (b'{"id": "msg_1", "content": [{"type": "text", "text": "Hel', "truncated JSON"),
    (b'{"content": 5}', "content not a list"),
    (b'{"id": "m"}', "no content"),
    (b"[1, 2]", "a list"),
    (b'"just a string"', "a string"),
    (b"", "empty"),
    (b'{"content": [5]}', "a block that is not an object"),
    (b'{"content": [{"type": "text", "text": 5}]}', "text not a string"),
    (b'{"content": [{"type": "tool_use", "id": "t", "input": {}}]}', "tool_use without name"),
    (b'{"content": [{"type": "tool_use", "id": "t", "name": "f", "input": "{}"}]}', "input a string"),
])
def test_malformed_bodies(codec, body, why):
    with pytest.raises(MalformedResponseError) as info:
        bound(codec, MODEL).parse_chat(body, {"request-id": "req_x"})
    err = info.value
    assert err.body == body.decode("utf-8")  # exactly what was received
    assert err.provider == "anthropic"
    assert err.request_id == "req_x"


def test_html_body_hint(codec):
    with pytest.raises(MalformedResponseError) as info:
        bound(codec, MODEL).parse_chat(b"<!doctype html><title>Login</title>", {})
    assert "HTML" in str(info.value)


# -- error statuses -------------------------------------------------------------------------

def anthropic_error(etype: str, message: str, request_id: Optional[str] = None) -> bytes:
    body: Dict[str, Any] = {"type": "error", "error": {"type": etype, "message": message}}
    if request_id:
        body["request_id"] = request_id
    return json.dumps(body).encode("utf-8")


@pytest.mark.parametrize("status, etype, message, cls, retryable", [
    (400, "invalid_request_error", "max_tokens: Field required", BadRequestError, False),
    (401, "authentication_error", "invalid x-api-key", AuthenticationError, False),
    (403, "permission_error", "Your API key does not have permission to use the specified resource.",
     PermissionDeniedError, False),
    (404, "not_found_error", "model: claude-nope", NotFoundError, False),
    (413, "request_too_large", "Request exceeds the maximum allowed number of bytes.", BadRequestError, False),
    (429, "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit", RateLimitError,
     True),
    (500, "api_error", "Internal server error", ServerError, True),
    (529, "overloaded_error", "Overloaded", OverloadedError, True),
])
def test_error_statuses(codec, status, etype, message, cls, retryable):
    headers = {"request-id": "req_hdr_1", "content-type": "application/json"}
    err = codec.api_error(status, headers, anthropic_error(etype, message, "req_body_1"))
    assert type(err) is cls
    assert err.status == status
    assert err.message == message
    assert err.error_type == etype
    assert err.request_id == "req_hdr_1"  # the header wins over the body
    assert err.retryable is retryable
    assert err.provider == "anthropic"
    assert KEY not in str(err) and KEY not in repr(err)


def test_429_retry_after(codec):
    err = codec.api_error(429, {"retry-after": "7", "request-id": "req_1"},
                          anthropic_error("rate_limit_error", "slow down"))
    assert isinstance(err, RateLimitError)
    assert err.retry_after == 7.0
    assert err.retryable is True
    err = codec.api_error(429, {"retry-after-ms": "1500"}, anthropic_error("rate_limit_error", "slow down"))
    assert err.retry_after == 1.5


def test_x_should_retry_overrides(codec):
    err = codec.api_error(500, {"x-should-retry": "false"}, anthropic_error("api_error", "boom"))
    assert isinstance(err, ServerError) and err.retryable is False
    err = codec.api_error(400, {"x-should-retry": "true"}, anthropic_error("invalid_request_error", "flaky"))
    assert isinstance(err, BadRequestError) and err.retryable is True


def test_prompt_too_long_is_context_window_exceeded(codec):
    err = codec.api_error(400, {}, anthropic_error("invalid_request_error",
                                                   "prompt is too long: 208310 tokens > 200000 maximum"))
    assert isinstance(err, ContextWindowExceededError)
    assert isinstance(err, BadRequestError)


def test_vertex_google_style_error_body(codec):
    body = json.dumps({"error": {"code": 403, "message": "Permission 'aiplatform.endpoints.predict' denied",
                                 "status": "PERMISSION_DENIED"}}).encode()
    err = codec.api_error(403, {}, body)
    assert isinstance(err, PermissionDeniedError)
    assert err.message == "Permission 'aiplatform.endpoints.predict' denied"
    assert err.error_type == "PERMISSION_DENIED"
    assert err.request_id is None
    unavailable = {"error": {"code": 503, "message": "The service is currently unavailable.", "status": "UNAVAILABLE"}}
    err = codec.api_error(503, {}, json.dumps(unavailable).encode())
    assert isinstance(err, OverloadedError) and err.retryable is True


def test_non_json_error_bodies(codec):
    err = codec.api_error(502, {}, b"<html><body>502 Bad Gateway</body></html>")
    assert isinstance(err, ServerError)
    assert "502 Bad Gateway" in err.message
    assert err.body == "<html><body>502 Bad Gateway</body></html>"
    err = codec.api_error(500, {}, b"")
    assert isinstance(err, ServerError) and "empty body" in err.message
    err = codec.api_error(400, {}, b'{"type": "error", "error": 5}')
    assert isinstance(err, BadRequestError) and err.message.startswith("HTTP 400")


def test_error_details_shapes(codec):
    assert codec.error_details({"type": "error", "error": {"type": "rate_limit_error", "message": "m"},
                                "request_id": "r"}) == ("m", "rate_limit_error", None)
    assert codec.error_details({"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED"}}) == \
        ("quota", "RESOURCE_EXHAUSTED", None)
    assert codec.error_details({"error": "plain"}) == ("plain", None, None)
    assert codec.error_details({"message": "proxy says no"}) == ("proxy says no", None, None)
    assert codec.error_details([1]) == (None, None, None)


# -- recorded streams -----------------------------------------------------------------------

def test_stream_basic(codec):
    data = fixture_bytes("stream_basic.sse")
    events, resp = replay_all(codec, data)
    assert events == [
        TextDelta("Hello"), TextDelta(" there"), TextDelta("!"),
        UsageEvent(Usage(11, 6, 17, 0, 0, 0)),
        Finish("stop"),
    ]
    assert resp.text == "Hello there!"
    assert resp.finish_reason == "stop"
    assert resp.usage == Usage(11, 6, 17, 0, 0, 0)
    assert resp.id == "msg_4QpJur2dWWDjF6C758FbBw5vm12BaVipnK"
    assert resp.model == "claude-3-opus-latest"
    assert resp == parse(codec, {
        "id": "msg_4QpJur2dWWDjF6C758FbBw5vm12BaVipnK", "type": "message", "role": "assistant",
        "model": "claude-3-opus-latest", "content": [{"type": "text", "text": "Hello there!"}],
        "stop_reason": "end_turn", "stop_sequence": None, "usage": {"input_tokens": 11, "output_tokens": 6}})


def test_stream_text_then_tool_use(codec):
    data = fixture_bytes("stream_text_then_tool_use.sse")
    events, resp = replay_all(codec, data)
    call = ToolCall("toolu_01NRLabsLyVHZPKxbKvkfSMn", "get_weather", {"location": "Paris"})
    assert events == [
        TextDelta("I"), TextDelta("'ll check the current weather in Paris for you."),
        ToolCallStart(0, "toolu_01NRLabsLyVHZPKxbKvkfSMn", "get_weather"),
        ToolCallDelta(0, '{"locati'), ToolCallDelta(0, 'on": "P'), ToolCallDelta(0, "ar"), ToolCallDelta(0, 'is"}'),
        ToolCallEnd(0, call),
        UsageEvent(Usage(377, 65, 442, 0, 0, 0)),
        Finish("tool_calls"),
    ]
    assert events[7].tool_call.raw_arguments == '{"location": "Paris"}'
    assert resp.text == "I'll check the current weather in Paris for you."
    assert resp.tool_calls == [call]
    assert resp.finish_reason == "tool_calls"
    assert resp.model == "claude-sonnet-4-20250514"
    assert resp.id == "msg_019Q1hrJbZG26Fb9BQhrkHEr"
    assert resp == parse(codec, {
        "id": "msg_019Q1hrJbZG26Fb9BQhrkHEr", "type": "message", "role": "assistant",
        "model": "claude-sonnet-4-20250514",
        "content": [{"type": "text", "text": "I'll check the current weather in Paris for you."},
                    {"type": "tool_use", "id": "toolu_01NRLabsLyVHZPKxbKvkfSMn", "name": "get_weather",
                     "caller": {"type": "direct"}, "input": {"location": "Paris"}}],
        "stop_reason": "tool_use", "stop_sequence": None,
        "usage": {"input_tokens": 377, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                  "output_tokens": 65, "service_tier": "standard"}})


def test_stream_text_chunks_reframed(codec):
    data = jsonl_as_sse(fixture_bytes("stream_text.chunks.jsonl"), event_key="type")
    events, resp = replay_all(codec, data)
    text = ("Hello! I'm doing well, thank you for asking. How are you doing today? "
            "Is there anything I can help you with?")
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == text
    assert [e for e in events if not isinstance(e, TextDelta)] == [UsageEvent(Usage(12, 30, 42, 0, 0, 0)),
                                                                   Finish("stop")]
    assert resp.text == text
    assert resp.id == "msg_01QC4g3HwBThD4BaNtBckFDJ"
    assert resp.model == "claude-sonnet-4-5-20250929"
    assert resp == parse(codec, {
        "model": "claude-sonnet-4-5-20250929", "id": "msg_01QC4g3HwBThD4BaNtBckFDJ", "type": "message",
        "role": "assistant", "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
        "usage": {"input_tokens": 12, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                  "output_tokens": 30}})


def test_stream_tool_runner_first_exchange_tool_call(codec):
    ex = http_exchanges("http_stream_tool_runner.json")[0]
    events, resp = replay_all(codec, ex["body"], ex["headers"])
    call = ToolCall("toolu_018acGYLtfR52q9yDbWaEdQZ", "get_weather", {"location": "San Francisco, CA", "units": "f"})
    assert events[0] == ToolCallStart(0, "toolu_018acGYLtfR52q9yDbWaEdQZ", "get_weather")
    assert "".join(e.arguments for e in events if isinstance(e, ToolCallDelta)) == \
        '{"location": "San Francisco, CA", "units": "f"}'
    assert events[-3:] == [ToolCallEnd(0, call), UsageEvent(Usage(656, 74, 730, 0, 0, 0)), Finish("tool_calls")]
    assert resp.message.content == [call]
    assert resp.id == "msg_01AusY9WEbCaj3N7Tv5J4YjH"
    assert resp.model == "claude-haiku-4-5-20251001"
    assert resp == parse(codec, {
        "model": "claude-haiku-4-5-20251001", "id": "msg_01AusY9WEbCaj3N7Tv5J4YjH", "type": "message",
        "role": "assistant", "content": [{"type": "tool_use", "id": "toolu_018acGYLtfR52q9yDbWaEdQZ",
                                          "name": "get_weather",
                                          "input": {"location": "San Francisco, CA", "units": "f"}}],
        "stop_reason": "tool_use", "usage": {"input_tokens": 656, "cache_creation_input_tokens": 0,
                                             "cache_read_input_tokens": 0, "output_tokens": 74}})


def test_stream_tool_runner_second_exchange_multibyte_text(codec):
    ex = http_exchanges("http_stream_tool_runner.json")[1]
    assert "°".encode("utf-8") in ex["body"]
    events, resp = replay_all(codec, ex["body"], ex["headers"])
    text = ("The weather in San Francisco, CA is currently:\n- **Temperature:** 68°F\n- **Condition:** Sunny\n\n"
            "It's a nice sunny day!")
    assert resp.text == text
    assert TextDelta(" 68°F\n- **") in events
    assert events[-2:] == [UsageEvent(Usage(770, 38, 808, 0, 0, 0)), Finish("stop")]
    assert resp.id == "msg_016HxyUMAncysqX7dn1kWNRx"


def test_stream_httprr_with_padding_and_headers(codec):
    (_, status, headers, body), = httprr("stream_raw_http_headers.httprr")
    assert status == 200
    events, resp = replay_all(codec, body, headers)
    assert events == [TextDelta("1"), TextDelta("\n2\n3"), TextDelta("\n4\n5"),
                      UsageEvent(Usage(15, 13, 28, 0, 0, 0)), Finish("stop")]
    assert resp.text == "1\n2\n3\n4\n5"
    assert resp.id == "msg_01Ju7oPaDmjgrhWq8gNP4AUj"
    assert resp.model == "claude-3-opus-20240229"
    assert resp.headers["request-id"] == "req_011CSFCEDW38yAyCenJvnwn8"


@settings(max_examples=60, deadline=None, database=None)
@given(st.data())
def test_stream_any_chunking_hypothesis(data):
    codec = make_codec()
    body = fixture_bytes("stream_text_then_tool_use.sse") + b"\n\n"
    cuts = sorted(data.draw(st.lists(st.integers(0, len(body)), max_size=40)))
    bounds = [0] + cuts + [len(body)]
    chunks = [body[a:b] for a, b in zip(bounds, bounds[1:])]
    events, resp = run_stream(codec, chunks)
    ref_events, ref_resp = run_stream(codec, [body])
    assert events == ref_events
    assert resp == ref_resp
    assert resp.tool_calls == [ToolCall("toolu_01NRLabsLyVHZPKxbKvkfSMn", "get_weather", {"location": "Paris"})]


@settings(max_examples=60, deadline=None, database=None)
@given(st.data())
def test_stream_crlf_and_multibyte_any_chunking_hypothesis(data):
    """The same events framed with CRLF line ends, split anywhere (inside 4-byte emoji too)."""
    codec = make_codec()
    body = sse(start(), block_start(0, {"type": "text", "text": ""}),
               delta(0, {"type": "text_delta", "text": "h€llo 🌍"}),
               delta(0, {"type": "text_delta", "text": " ✓"}), block_stop(0), message_delta("end_turn"), STOP)
    body = body.replace(b"\n", b"\r\n")
    cuts = sorted(data.draw(st.lists(st.integers(0, len(body)), max_size=60)))
    bounds = [0] + cuts + [len(body)]
    events, resp = run_stream(codec, [body[a:b] for a, b in zip(bounds, bounds[1:])])
    assert events == [TextDelta("h€llo 🌍"), TextDelta(" ✓"), UsageEvent(Usage(10, 5, 15)), Finish("stop")]
    assert resp.text == "h€llo 🌍 ✓"


# -- synthetic streams: thinking, errors, truncation ----------------------------------------

SIG = "EqQBCgIYAhIMsig+/abc=="
THINKING_STREAM = sse(
    start("msg_think", "claude-opus-test", input_tokens=40, cache_read_input_tokens=100, output_tokens=1),
    block_start(0, {"type": "thinking", "thinking": "", "signature": ""}),
    PING,
    delta(0, {"type": "thinking_delta", "thinking": "Réfléchissons "}),
    delta(0, {"type": "thinking_delta", "thinking": "🤔 un peu."}),
    delta(0, {"type": "signature_delta", "signature": SIG}),
    block_stop(0),
    block_start(1, {"type": "redacted_thinking", "data": "REDACTED=="}),
    block_stop(1),
    block_start(2, {"type": "text", "text": ""}),
    delta(2, {"type": "text_delta", "text": "Voilà "}),
    delta(2, {"type": "citations_delta", "citation": {"type": "char_location", "cited_text": "x"}}),
    delta(2, {"type": "text_delta", "text": "la réponse."}),
    block_stop(2),
    block_start(3, {"type": "tool_use", "id": "toolu_a", "name": "search", "input": {}}),
    delta(3, {"type": "input_json_delta", "partial_json": ""}),
    delta(3, {"type": "input_json_delta", "partial_json": "{\"q\": \"caf"}),
    delta(3, {"type": "input_json_delta", "partial_json": "é\"}"}),
    block_stop(3),
    block_start(4, {"type": "tool_use", "id": "toolu_b", "name": "noargs", "input": {}}),
    delta(4, {"type": "input_json_delta", "partial_json": ""}),
    block_stop(4),
    message_delta("tool_use", output_tokens=200, output_tokens_details={"thinking_tokens": 120}),
    STOP,
)
THINKING_BODY = {
    "id": "msg_think", "type": "message", "role": "assistant", "model": "claude-opus-test",
    "content": [
        {"type": "thinking", "thinking": "Réfléchissons 🤔 un peu.", "signature": SIG},
        {"type": "redacted_thinking", "data": "REDACTED=="},
        {"type": "text", "text": "Voilà la réponse.", "citations": [{"type": "char_location", "cited_text": "x"}]},
        {"type": "tool_use", "id": "toolu_a", "name": "search", "input": {"q": "café"}},
        {"type": "tool_use", "id": "toolu_b", "name": "noargs", "input": {}},
    ],
    "stop_reason": "tool_use", "stop_sequence": None,
    "usage": {"input_tokens": 40, "cache_read_input_tokens": 100, "output_tokens": 200,
              "output_tokens_details": {"thinking_tokens": 120}},
}


def test_thinking_stream_equals_non_stream(codec):
    events, resp = replay_all(codec, THINKING_STREAM)
    assert events == [
        ThinkingDelta("Réfléchissons "), ThinkingDelta("🤔 un peu."), ThinkingDelta("", signature=SIG),
        TextDelta("Voilà "), TextDelta("la réponse."),
        ToolCallStart(0, "toolu_a", "search"), ToolCallDelta(0, '{"q": "caf'), ToolCallDelta(0, 'é"}'),
        ToolCallEnd(0, ToolCall("toolu_a", "search", {"q": "café"})),
        ToolCallStart(1, "toolu_b", "noargs"), ToolCallEnd(1, ToolCall("toolu_b", "noargs", {})),
        UsageEvent(Usage(140, 200, 340, 100, 0, 120)),
        Finish("tool_calls"),
    ]
    assert resp.message.content == [
        ThinkingPart("Réfléchissons 🤔 un peu.", signature=SIG),
        ThinkingPart("", redacted=True, data="REDACTED=="),
        TextPart("Voilà la réponse."),
        ToolCall("toolu_a", "search", {"q": "café"}),
        ToolCall("toolu_b", "noargs", {}),
    ]
    assert resp == parse(codec, THINKING_BODY)
    # ...and both send the blocks back exactly as received
    body = request_body(codec, [user("q"), resp.message])
    assert body["messages"][1]["content"] == [
        {"type": "thinking", "thinking": "Réfléchissons 🤔 un peu.", "signature": SIG},
        {"type": "redacted_thinking", "data": "REDACTED=="},
        {"type": "text", "text": "Voilà la réponse."},
        {"type": "tool_use", "id": "toolu_a", "name": "search", "input": {"q": "café"}},
        {"type": "tool_use", "id": "toolu_b", "name": "noargs", "input": {}},
    ]


def test_thinking_stream_with_omitted_display(codec):
    data = sse(start(), block_start(0, {"type": "thinking", "thinking": "", "signature": ""}),
               delta(0, {"type": "signature_delta", "signature": "only-sig"}), block_stop(0),
               block_start(1, {"type": "text", "text": ""}), delta(1, {"type": "text_delta", "text": "42"}),
               block_stop(1), message_delta("end_turn"), STOP)
    _, resp = replay_all(codec, data, n_random=10)
    assert resp.message.content == [ThinkingPart("", signature="only-sig"), TextPart("42")]
    assert resp == parse(codec, {"id": "msg_1", "model": "claude-test", "stop_reason": "end_turn",
                                 "content": [{"type": "thinking", "thinking": "", "signature": "only-sig"},
                                             {"type": "text", "text": "42"}],
                                 "usage": {"input_tokens": 10, "output_tokens": 5}})


PARTIAL = [start(), block_start(0, {"type": "text", "text": ""}),
           delta(0, {"type": "text_delta", "text": "Partial "}), PING,
           delta(0, {"type": "text_delta", "text": "answer"})]


@pytest.mark.parametrize("etype, cls, status", [
    ("overloaded_error", OverloadedError, 529),
    ("rate_limit_error", RateLimitError, 429),
    ("api_error", ServerError, 500),
    ("invalid_request_error", BadRequestError, 400),
    ("timeout_error", ServerError, 504),
    ("brand_new_error", APIError, None),
])
def test_in_band_error_event_raises_with_partial_response(codec, etype, cls, status):
    data = sse(*PARTIAL, ("error", {"type": "error", "error": {"type": etype, "message": "Overloaded"}}),
               message_delta("end_turn"), STOP)
    for chunks in chunkings(data, n_random=15):
        dec = bound(codec, MODEL).stream_decoder({"request-id": "req_stream_1"})
        with pytest.raises(cls) as info:
            for chunk in chunks:
                dec.feed(chunk)
            dec.eof()
        err = info.value
        assert type(err) is cls  # the class follows the error type (529-like -> OverloadedError) ...
        assert err.status is None  # ... but the HTTP status was 200, so no error status is claimed
        assert err.message == "Overloaded"
        assert err.error_type == etype
        assert err.retryable is False  # text may already have reached the caller
        assert err.request_id == "req_stream_1"
        assert err.response.text == "Partial answer"
        assert err.response.id == "msg_1"
        assert err.response.usage == Usage(10, 1, 11)
        assert json.loads(err.body)["error"]["type"] == etype


def test_in_band_error_inside_a_tool_call_keeps_the_partial_call(codec):
    data = sse(start(), block_start(0, {"type": "text", "text": "Let me look."}), block_stop(0),
               block_start(1, {"type": "tool_use", "id": "toolu_p", "name": "f", "input": {}}),
               delta(1, {"type": "input_json_delta", "partial_json": "{\"a\": "}),
               ("error", {"type": "error", "error": {"type": "api_error", "message": "Internal server error"}}))
    dec = bound(codec, MODEL).stream_decoder({})
    with pytest.raises(ServerError) as info:
        dec.feed(data)  # events decoded before the error are returned first ...
        dec.check()  # ... and the error is raised next
    partial = info.value.response
    assert partial.text == "Let me look."
    assert partial.tool_calls == [ToolCall("toolu_p", "f", {})]
    assert partial.tool_calls[0].raw_arguments == '{"a": '


def test_in_band_error_request_id_from_event_body(codec):
    data = sse(*PARTIAL, ("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"},
                                    "request_id": "req_in_body"}))
    dec = bound(codec, MODEL).stream_decoder({})
    with pytest.raises(OverloadedError) as info:
        dec.feed(data)  # events decoded before the error are returned first ...
        dec.check()  # ... and the error is raised next
    assert info.value.request_id == "req_in_body"
    assert info.value.response.text == "Partial answer"


def test_error_event_dispatched_by_event_name_when_type_missing(codec):
    data = sse(*PARTIAL) + b'event: error\ndata: {"error": {"type": "overloaded_error", "message": "Busy"}}\n\n'
    dec = bound(codec, MODEL).stream_decoder({})
    with pytest.raises(OverloadedError) as info:
        dec.feed(data)  # events decoded before the error are returned first ...
        dec.check()  # ... and the error is raised next
    assert info.value.message == "Busy"


def test_eof_mid_stream_is_a_stream_error_with_the_partial(codec):
    data = fixture_bytes("stream_basic.sse")
    cut = data.index(b"event: content_block_stop")
    for chunks in chunkings(data[:cut], n_random=15):
        dec = bound(codec, MODEL).stream_decoder({"request-id": "req_cut"})
        events = []
        for chunk in chunks:
            events.extend(dec.feed(chunk))
        with pytest.raises(StreamError) as info:
            dec.eof()
        assert events == [TextDelta("Hello"), TextDelta(" there"), TextDelta("!")]
        err = info.value
        assert err.response.text == "Hello there!"
        assert err.response.usage == Usage(11, 1, 12)
        assert err.request_id == "req_cut"
        assert not dec.done


def test_eof_inside_an_event_is_a_stream_error_keeping_the_data(codec):
    data = fixture_bytes("stream_basic.sse")
    cut = data.index(b'" there"') + 3
    dec = bound(codec, MODEL).stream_decoder({})
    dec.feed(data[:cut])
    with pytest.raises(StreamError) as info:
        dec.eof()
    assert info.value.body is not None and info.value.body.startswith('{"type":"content_block_delta"')
    assert info.value.response.text == "Hello"


def test_eof_after_message_delta_completes_normally(codec):
    data = fixture_bytes("stream_basic.sse")
    data = data[:data.index(b"event: message_stop")]
    _, ref = run_stream(codec, [fixture_bytes("stream_basic.sse")])
    events, resp = replay_all(codec, data, n_random=20)
    assert events[-2:] == [UsageEvent(Usage(11, 6, 17, 0, 0, 0)), Finish("stop")]
    assert resp == ref


def test_non_json_event_data_is_a_stream_error(codec):
    data = sse(start()) + b"event: content_block_delta\ndata: <html>oops</html>\n\n"
    dec = bound(codec, MODEL).stream_decoder({})
    with pytest.raises(StreamError) as info:
        dec.feed(data)
    assert info.value.body == "<html>oops</html>"
    data = sse(start()) + b"event: content_block_delta\ndata: [1, 2]\n\n"
    with pytest.raises(StreamError):
        bound(codec, MODEL).stream_decoder({}).feed(data)


def test_empty_stream_is_a_stream_error(codec):
    dec = bound(codec, MODEL).stream_decoder({})
    assert dec.feed(b"") == []
    with pytest.raises(StreamError) as info:
        dec.eof()
    assert info.value.response.text == ""


def test_max_tokens_inside_tool_use_without_block_stop(codec):
    data = sse(start(), block_start(0, {"type": "tool_use", "id": "toolu_cut", "name": "write", "input": {}}),
               delta(0, {"type": "input_json_delta", "partial_json": "{\"path\": \"a.txt\", \"body\": \"Hel"}),
               message_delta("max_tokens", output_tokens=16), STOP)
    events, resp = replay_all(codec, data, n_random=20)
    assert events[-3:] == [ToolCallEnd(0, ToolCall("toolu_cut", "write", {})), UsageEvent(Usage(10, 16, 26)),
                           Finish("length")]
    call = resp.tool_calls[0]
    assert call.arguments == {}
    assert call.raw_arguments == '{"path": "a.txt", "body": "Hel'
    assert call.arguments_valid is False
    assert resp.finish_reason == "length"


def test_max_tokens_inside_tool_use_with_parseable_arguments(codec):
    data = sse(start(), block_start(0, {"type": "tool_use", "id": "toolu_ok", "name": "f", "input": {}}),
               delta(0, {"type": "input_json_delta", "partial_json": "{\"a\": 1}"}),
               message_delta("max_tokens"))  # and no message_stop either
    events, resp = replay_all(codec, data, n_random=10)
    assert resp.tool_calls == [ToolCall("toolu_ok", "f", {"a": 1})]
    assert events[-1] == Finish("length")


def test_message_delta_usage_is_cumulative_and_revises_input(codec):
    data = sse(start(input_tokens=5, cache_creation_input_tokens=0, cache_read_input_tokens=0, output_tokens=1),
               block_start(0, {"type": "text", "text": "Hi"}), block_stop(0),
               message_delta("end_turn", input_tokens=10, cache_creation_input_tokens=100, cache_read_input_tokens=None,
                             output_tokens=50),
               STOP)
    events, resp = replay_all(codec, data, n_random=10)
    assert events == [TextDelta("Hi"), UsageEvent(Usage(110, 50, 160, 0, 100, 0)), Finish("stop")]
    assert resp.usage == Usage(110, 50, 160, 0, 100, 0)


def test_unknown_events_and_server_tool_blocks_are_ignored(codec):
    data = sse(start(),
               ("brand_new_event", {"type": "brand_new_event", "x": 1}),
               block_start(0, {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}}),
               delta(0, {"type": "input_json_delta", "partial_json": "{\"query\": \"x\"}"}),
               block_stop(0),
               block_start(1, {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []}),
               block_stop(1),
               block_start(2, {"type": "text", "text": "Found "}),
               delta(2, {"type": "brand_new_delta", "foo": "bar"}),
               delta(2, {"type": "text_delta", "text": "it."}),
               block_stop(2),
               PING, message_delta("end_turn"), PING, STOP)
    events, resp = replay_all(codec, data, n_random=10)
    assert events == [TextDelta("Found "), TextDelta("it."), UsageEvent(Usage(10, 5, 15)), Finish("stop")]
    assert resp == parse(codec, {
        "id": "msg_1", "model": "claude-test", "stop_reason": "end_turn", "usage": {"input_tokens": 10,
                                                                                   "output_tokens": 5},
        "content": [{"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "x"}},
                    {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []},
                    {"type": "text", "text": "Found it."}]})


def test_tool_use_input_given_whole_in_the_start_event(codec):
    data = sse(start(), block_start(0, {"type": "tool_use", "id": "toolu_w", "name": "f", "input": {"k": "v"}}),
               block_stop(0), message_delta("tool_use"), STOP)
    events, resp = replay_all(codec, data, n_random=5)
    assert resp.tool_calls == [ToolCall("toolu_w", "f", {"k": "v"})]
    assert events[1] == ToolCallEnd(0, ToolCall("toolu_w", "f", {"k": "v"}))


def test_repeated_block_index_does_not_lose_a_call(codec):
    data = sse(start(), block_start(0, {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}),
               delta(0, {"type": "input_json_delta", "partial_json": "{\"a\": 1}"}),
               block_start(0, {"type": "tool_use", "id": "toolu_2", "name": "g", "input": {}}),
               block_stop(0), message_delta("tool_use"), STOP)
    _, resp = replay_all(codec, data, n_random=5)
    assert resp.tool_calls == [ToolCall("toolu_1", "f", {"a": 1}), ToolCall("toolu_2", "g", {})]


def test_event_name_fallback_when_data_has_no_type(codec):
    data = (b'event: message_start\ndata: {"message": {"id": "msg_x", "model": "m", "usage": {"input_tokens": 2, '
            b'"output_tokens": 1}}}\n\n'
            b'event: content_block_start\ndata: {"index": 0, "content_block": {"type": "text", "text": ""}}\n\n'
            b'event: content_block_delta\ndata: {"index": 0, "delta": {"type": "text_delta", "text": "ok"}}\n\n'
            b'event: message_delta\ndata: {"delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 3}}\n\n'
            b'event: message_stop\ndata: {}\n\n')
    events, resp = replay_all(codec, data, n_random=5)
    assert events == [TextDelta("ok"), UsageEvent(Usage(2, 3, 5)), Finish("stop")]
    assert resp.id == "msg_x"


def test_bytes_after_message_stop_are_ignored(codec):
    data = fixture_bytes("stream_basic.sse") + b"\n\nevent: content_block_delta\ndata: not json\n\n"
    events, resp = run_stream(codec, [data])
    assert resp.text == "Hello there!"
    assert events[-1] == Finish("stop")


def test_stop_sequence_and_refusal_in_streams(codec):
    for reason, expected in (("stop_sequence", "stop"), ("refusal", "content_filter"), ("pause_turn", "other"),
                             ("model_context_window_exceeded", "length")):
        data = sse(start(), block_start(0, {"type": "text", "text": ""}),
                   delta(0, {"type": "text_delta", "text": "x"}), block_stop(0), message_delta(reason), STOP)
        events, resp = run_stream(codec, [data])
        assert events[-1] == Finish(expected)
        assert resp.finish_reason == expected
