"""The Ollama native codec (llmunified/providers/ollama.py) against real recordings.

Fixtures in tests/fixtures/ollama/ are byte-for-byte copies of the shared wire recordings
(see tests/fixtures/SOURCES.md). Expected values below were read from those files by hand.
Every stream is replayed under many chunkings (whole, 1-byte, fixed sizes, cuts inside multibyte
UTF-8 characters, seeded random cuts): the events and the final Response must be identical for
all of them, and equal to the non-streaming parse of the same content.
"""
import functools
import json
import os
from typing import Any, Dict, List, Optional

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmunified._events import Finish, TextDelta, ThinkingDelta, ToolCallEnd, ToolCallStart, UsageEvent
from llmunified._options import make_options
from llmunified._registry import PROVIDERS, resolve_config
from llmunified._types import (ImagePart, Message, TextPart, ThinkingPart, Tool, ToolCall, ToolResult, Usage,
                               assistant, system, tool_result, user)
from llmunified.errors import (APIError, BadRequestError, MalformedResponseError, NotFoundError, ServerError,
                               StreamError, ValidationError)
from llmunified.providers import codec_for
from llmunified.providers.ollama import OllamaCodec, map_done_reason
from tests.providers import recordings
from tests.providers.recordings import FIXTURES, bound, feed_all, split_at

FIX = os.path.join(FIXTURES, "ollama")


# -- helpers ---------------------------------------------------------------------------------

load = functools.partial(recordings.load, base=FIX)
httprr_exchange = functools.partial(recordings.httprr_exchange, base=FIX)
chunkings = functools.partial(recordings.chunkings, n_random=40, max_cuts=80, n_tiny=5)


def codec(api_key: Optional[str] = None, environ: Optional[Dict[str, str]] = None, **kw: Any) -> OllamaCodec:
    config = resolve_config(PROVIDERS["ollama"], api_key=api_key, environ=environ or {}, **kw)
    c = codec_for(config, "test-model")
    assert isinstance(c, OllamaCodec)
    return c


def run_stream(chunks: List[bytes], model: str = "requested-model", headers: Optional[Dict[str, str]] = None):
    return feed_all(bound(codec(), model).stream_decoder(headers or {}), chunks)


def replay_all(data: bytes, seed: int = 0):
    """Replay under every chunking; assert identical events/responses; return them."""
    first_events = first_resp = None
    count = 0
    for chunks in chunkings(data, seed):
        assert b"".join(chunks) == data
        events, resp = run_stream(chunks)
        if first_events is None:
            first_events, first_resp = events, resp
        else:
            assert events == first_events
            assert resp == first_resp
        count += 1
    assert count > 40
    return first_events, first_resp


def parse(body: Any, model: str = "requested-model"):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
    return bound(codec(), model).parse_chat(raw, {})


def texts(events: List[Any]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def req_body(request) -> Dict[str, Any]:
    return json.loads(request.body.decode("utf-8"))


def build(messages: Any, stream: bool = False, model: str = "llama3.2", **options: Any):
    msgs = messages if isinstance(messages, list) else [messages]
    return bound(codec(), model).chat_request(msgs, make_options({}, options), stream)


# -- recorded streams ------------------------------------------------------------------------

# Read by hand from chat_stream_ndjson.httprr: 21 content fragments then the done line.
COUNT_TEXT = "Okay, here we go!\n\n1, 2, 3, 4, 5\n"
COUNT_PIECES = ["Okay", ",", " here", " we", " go", "!", "\n\n", "1", ",", " ", "2", ",", " ", "3", ",", " ",
                "4", ",", " ", "5", "\n"]


def test_chat_stream_ndjson_httprr():
    req_line, req, status, headers, body = httprr_exchange("chat_stream_ndjson.httprr")
    assert req_line == "POST http://localhost:11434/api/chat HTTP/1.1"
    assert status == 200 and headers["content-type"] == "application/x-ndjson"
    assert body.count(b"\n") == 22 and body.endswith(b"}\n")  # de-chunked: 22 lines, no chunk sizes
    events, resp = replay_all(body, seed=1)
    assert [e.text for e in events if isinstance(e, TextDelta)] == COUNT_PIECES
    assert events[-2:] == [UsageEvent(Usage(16, 22, 38)), Finish("stop")]
    assert len(events) == len(COUNT_PIECES) + 2
    assert resp.text == COUNT_TEXT
    assert resp.message.content == COUNT_TEXT
    assert resp.finish_reason == "stop"
    assert resp.usage == Usage(input_tokens=16, output_tokens=22, total_tokens=38)
    assert resp.model == "gemma3:1b" and resp.provider == "ollama" and resp.id is None
    assert resp.tool_calls == [] and resp.thinking == ""
    # The same content, non-streamed.
    nonstream = parse({"model": "gemma3:1b", "created_at": "2025-08-20T13:48:24.421331Z",
                       "message": {"role": "assistant", "content": COUNT_TEXT}, "done_reason": "stop",
                       "done": True, "total_duration": 171946792, "load_duration": 38473250,
                       "prompt_eval_count": 16, "prompt_eval_duration": 27608250, "eval_count": 22,
                       "eval_duration": 105611917})
    assert nonstream == resp


def test_chat_stream_ndjson_request_matches_recording():
    """Our request for the recorded call has the recorded fields (langchaingo also sent format:"")."""
    _, recorded, _, _, _ = httprr_exchange("chat_stream_ndjson.httprr")
    ours = req_body(build(user("Count from 1 to 5"), stream=True, model="gemma3:1b", max_tokens=50,
                          temperature=0))
    expected = json.loads(recorded)
    assert expected.pop("format") == ""
    assert ours == expected


def test_phi3_tail_without_trailing_newline():
    body = load("chat_stream_phi3_tail.ndjson")
    assert not body.endswith(b"\n")  # the done line is only complete at EOF
    events, resp = replay_all(body, seed=2)
    assert [e.text for e in events if isinstance(e, TextDelta)] == [" these", " times", " of", " day", "."]
    assert events[-2:] == [UsageEvent(Usage(10, 239, 249)), Finish("stop")]
    assert resp.text == " these times of day."
    assert resp.usage == Usage(10, 239, 249)
    assert resp.model == "phi3" and resp.finish_reason == "stop"
    # Until EOF the last line is incomplete, so the stream is not finished after the bytes alone.
    dec = bound(codec(), "phi3").stream_decoder({})
    dec.feed(body)
    assert not dec.done
    assert dec.eof()[-1] == Finish("stop")
    assert parse({"model": "phi3", "message": {"role": "assistant", "content": " these times of day."},
                  "done_reason": "stop", "done": True, "prompt_eval_count": 10, "eval_count": 239}) == resp


@pytest.mark.parametrize("name,text,usage", [
    ("chat_format_json.httprr", '{"answer": "600"}', Usage(25, 9, 34)),
    ("chat_format_json_schema.httprr", '{"feet": 6076}', Usage(25, 10, 35)),
])
def test_structured_output_streams(name, text, usage):
    _, _, status, _, body = httprr_exchange(name)
    assert status == 200
    events, resp = replay_all(body, seed=3)
    assert texts(events) == text
    assert json.loads(resp.text) == json.loads(text)
    assert resp.usage == usage and resp.finish_reason == "stop" and resp.model == "gemma3:1b"
    assert parse({"model": "gemma3:1b", "message": {"role": "assistant", "content": text}, "done": True,
                  "done_reason": "stop", "prompt_eval_count": usage.input_tokens,
                  "eval_count": usage.output_tokens}) == resp


def test_format_json_schema_request_via_extra():
    """format (JSON mode / schema) has no unified option: extra carries it, as recorded."""
    _, recorded, _, _, _ = httprr_exchange("chat_format_json_schema.httprr")
    rec = json.loads(recorded)
    ours = req_body(build(user(rec["messages"][0]["content"]), temperature=0, extra={"format": rec["format"]}))
    assert ours["format"] == {"type": "object", "properties": {"feet": {"type": "number", "properties": {}}}}
    assert ours["options"] == {"temperature": 0} == rec["options"]
    assert ours["messages"] == rec["messages"]
    assert ours["stream"] is False


# -- tool calls ------------------------------------------------------------------------------

def test_tool_call_single_nonstream():
    resp = parse(load("chat_tool_call_single.json"))
    assert resp.finish_reason == "tool_calls"  # done_reason "stop" + tool_calls
    assert resp.text == ""
    assert resp.tool_calls == [ToolCall("call_0", "TestPlugin-TestFunction", {"testInput": "fake-text"})]
    assert resp.usage == Usage(152, 22, 174)
    assert resp.model == "llama3.2" and resp.id is None
    assert resp.raw["message"]["tool_calls"][0]["function"]["name"] == "TestPlugin-TestFunction"


def test_tool_call_single_as_stream_equals_nonstream():
    """The same reply streamed: tool calls arrive whole in one line, then the done line."""
    body = (
        b'{"model":"llama3.2","created_at":"2024-10-16T11:30:29.4Z","message":{"role":"assistant","content":"",'
        b'"tool_calls":[{"function":{"name":"TestPlugin-TestFunction","arguments":{"testInput":"fake-text"}}}]},'
        b'"done":false}\n'
        b'{"model":"llama3.2","created_at":"2024-10-16T11:30:29.5Z","message":{"role":"assistant","content":""},'
        b'"done_reason":"stop","done":true,"total_duration":456177688,"load_duration":56756331,'
        b'"prompt_eval_count":152,"prompt_eval_duration":108231000,"eval_count":22,"eval_duration":240925000}\n')
    events, resp = replay_all(body, seed=4)
    call = ToolCall("call_0", "TestPlugin-TestFunction", {"testInput": "fake-text"})
    assert events == [ToolCallStart(0, "call_0", "TestPlugin-TestFunction"), ToolCallEnd(0, call),
                      UsageEvent(Usage(152, 22, 174)), Finish("tool_calls")]
    assert resp == parse(load("chat_tool_call_single.json"))


def test_newer_tool_calls_with_ids_several_and_no_arguments():
    message = {"role": "assistant", "content": "", "tool_calls": [
        {"id": "call_k3v9x2ab", "function": {"index": 0, "name": "get_time"}},
        {"id": "call_p0q1r2s3", "function": {"index": 1, "name": "get_weather", "arguments": {"city": "Zürich"}}},
    ]}
    resp = parse({"model": "gpt-oss:20b", "message": message, "done": True, "done_reason": "stop",
                  "prompt_eval_count": 5, "eval_count": 7})
    assert resp.tool_calls == [ToolCall("call_k3v9x2ab", "get_time", {}),
                               ToolCall("call_p0q1r2s3", "get_weather", {"city": "Zürich"})]
    assert resp.finish_reason == "tool_calls"
    line1 = json.dumps({"model": "gpt-oss:20b", "message": message, "done": False}, ensure_ascii=False)
    line2 = json.dumps({"model": "gpt-oss:20b", "message": {"role": "assistant", "content": ""}, "done": True,
                        "done_reason": "stop", "prompt_eval_count": 5, "eval_count": 7})
    events, sresp = replay_all((line1 + "\n" + line2 + "\n").encode("utf-8"), seed=5)
    assert sresp == resp
    assert [type(e) for e in events] == [ToolCallStart, ToolCallEnd, ToolCallStart, ToolCallEnd, UsageEvent,
                                         Finish]
    assert events[0] == ToolCallStart(0, "call_k3v9x2ab", "get_time")
    assert events[3] == ToolCallEnd(1, ToolCall("call_p0q1r2s3", "get_weather", {"city": "Zürich"}))


# -- thinking and multibyte text -------------------------------------------------------------

UTF8_STREAM = (
    '{"model":"qwen3:4b","message":{"role":"assistant","content":"","thinking":"Der Nutzer grüßt "},"done":false}\n'
    '{"model":"qwen3:4b","message":{"role":"assistant","content":"","thinking":"auf Japanisch… 🤔"},"done":false}\n'
    '{"model":"qwen3:4b","message":{"role":"assistant","content":"こんにちは"},"done":false}\n'
    '{"model":"qwen3:4b","message":{"role":"assistant","content":"、世界 🌍! "},"done":false}\n'
    '{"model":"qwen3:4b","message":{"role":"assistant","content":"Grüße aus Zürich."},"done":false}\n'
    '{"model":"qwen3:4b","message":{"role":"assistant","content":""},"done_reason":"stop","done":true,'
    '"total_duration":1,"prompt_eval_count":12,"eval_count":30}\n'
).encode("utf-8")
UTF8_THINKING = "Der Nutzer grüßt auf Japanisch… 🤔"
UTF8_TEXT = "こんにちは、世界 🌍! Grüße aus Zürich."


def check_utf8_stream(events, resp):
    assert [e for e in events if isinstance(e, ThinkingDelta)] == [
        ThinkingDelta("Der Nutzer grüßt "), ThinkingDelta("auf Japanisch… 🤔")]
    assert texts(events) == UTF8_TEXT
    assert resp.thinking == UTF8_THINKING and resp.text == UTF8_TEXT
    assert resp.message.content == [ThinkingPart(UTF8_THINKING), TextPart(UTF8_TEXT)]
    assert resp.usage == Usage(12, 30, 42) and resp.finish_reason == "stop"


def test_thinking_and_multibyte_stream_equals_nonstream():
    events, resp = replay_all(UTF8_STREAM, seed=6)
    check_utf8_stream(events, resp)
    nonstream = parse({"model": "qwen3:4b", "message": {"role": "assistant", "content": UTF8_TEXT,
                                                        "thinking": UTF8_THINKING},
                       "done": True, "done_reason": "stop", "prompt_eval_count": 12, "eval_count": 30})
    assert nonstream == resp


def test_every_two_piece_split_of_the_multibyte_stream():
    expected_events, expected = run_stream([UTF8_STREAM])
    for cut in range(1, len(UTF8_STREAM)):
        events, resp = run_stream([UTF8_STREAM[:cut], UTF8_STREAM[cut:]])
        assert events == expected_events and resp == expected


@settings(max_examples=150, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(min_value=1, max_value=len(UTF8_STREAM) - 1), max_size=60))
def test_multibyte_stream_any_chunking(cuts):
    events, resp = run_stream(split_at(UTF8_STREAM, cuts))
    check_utf8_stream(events, resp)


# -- done_reason and usage mapping -----------------------------------------------------------

@pytest.mark.parametrize("done_reason,calls,expected", [
    ("stop", False, "stop"),
    ("stop", True, "tool_calls"),
    ("length", False, "length"),
    ("length", True, "length"),
    ("load", False, "other"),
    ("unload", False, "other"),
    ("something_new", False, "other"),
])
def test_done_reason_mapping(done_reason, calls, expected):
    assert map_done_reason(done_reason, calls) == expected
    message: Dict[str, Any] = {"role": "assistant", "content": "" if calls else "x"}
    if calls:
        message["tool_calls"] = [{"function": {"name": "f", "arguments": {}}}]
    body = {"model": "m", "message": message, "done": True, "done_reason": done_reason,
            "prompt_eval_count": 1, "eval_count": 1}
    resp = parse(body)
    assert resp.finish_reason == expected
    line = json.dumps(body).encode("utf-8")
    _, sresp = run_stream([line])
    assert sresp == resp


def test_missing_done_reason_and_counts():
    """Older servers sent no done_reason; cloud replies may leave counts out: those count as 0."""
    resp = parse({"model": "m", "message": {"role": "assistant", "content": "hi"}, "done": True})
    assert resp.finish_reason == "stop" and resp.usage == Usage(0, 0, 0)
    resp = parse({"model": "m", "message": {"role": "assistant", "content": "hi"}, "done": True,
                  "done_reason": "stop", "eval_count": 4})
    assert resp.usage == Usage(0, 4, 4)
    events, sresp = run_stream([b'{"model":"m","message":{"role":"assistant","content":"hi"},"done":false}\n',
                                b'{"model":"m","message":{"role":"assistant","content":""},"done":true,'
                                b'"done_reason":"stop","eval_count":4}'])
    assert events == [TextDelta("hi"), UsageEvent(Usage(0, 4, 4)), Finish("stop")]
    assert sresp == resp


def test_load_only_reply():
    """An empty messages list only loads the model: done_reason "load", nothing generated."""
    resp = parse({"model": "llama3.2", "created_at": "2025-01-01T00:00:00Z",
                  "message": {"role": "assistant", "content": ""}, "done_reason": "load", "done": True})
    assert resp.finish_reason == "other" and resp.text == "" and resp.message.content == ""


def test_model_falls_back_to_the_requested_one():
    resp = parse({"message": {"role": "assistant", "content": "x"}, "done": True}, model="asked-for")
    assert resp.model == "asked-for"
    _, sresp = run_stream([b'{"message":{"role":"assistant","content":"x"},"done":true}'], model="asked-for")
    assert sresp.model == "asked-for" and sresp == resp


def test_lines_after_done_are_ignored_and_blank_lines_skipped():
    body = (b'\n{"model":"m","message":{"role":"assistant","content":"a"},"done":false}\n\n'
            b'{"model":"m","message":{"role":"assistant","content":"b"},"done":true,"done_reason":"stop"}\n'
            b'{"model":"m","message":{"role":"assistant","content":"IGNORED"},"done":false}\n')
    events, resp = replay_all(body)
    assert resp.text == "ab"


# -- errors ------------------------------------------------------------------------------------

def test_error_400_model_does_not_support_tools():
    req_line, recorded, status, headers, body = httprr_exchange("error_400_model_does_not_support_tools.httprr")
    assert status == 400
    err = codec().api_error(status, headers, body)
    assert type(err) is BadRequestError
    assert err.message == "registry.ollama.ai/library/gemma3:1b does not support tools"
    assert err.status == 400 and err.provider == "ollama"
    assert err.body == '{"error":"registry.ollama.ai/library/gemma3:1b does not support tools"}'
    assert not err.retryable
    # and the request that provoked it is the one we build for the same call
    rec = json.loads(recorded)
    tool = Tool("getTime", "Get the current time.", {"type": "object", "required": [], "properties": {}})
    ours = req_body(build(user("Which date do we have today?"), tools=[tool]))
    assert ours["tools"] == rec["tools"]
    assert ours["stream"] is False and ours["messages"] == rec["messages"]
    assert "options" not in ours  # nothing to put there; the recording's "options": {} is equivalent


def test_error_404_model_not_found_and_500():
    body = b'{"error":"model \\"llama9\\" not found, try pulling it first"}'
    err = codec().api_error(404, {"content-type": "application/json; charset=utf-8"}, body)
    assert type(err) is NotFoundError
    assert err.message == 'model "llama9" not found, try pulling it first'
    err = codec().api_error(500, {}, b'{"error":"llama runner process has terminated: signal: killed"}')
    assert type(err) is ServerError and err.retryable
    assert err.message == "llama runner process has terminated: signal: killed"
    err = codec().api_error(502, {}, b"<html><body>Bad Gateway</body></html>")
    assert type(err) is ServerError and "Bad Gateway" in err.message


def test_error_body_with_status_200():
    with pytest.raises(APIError) as info:
        parse(b'{"error":"an error was encountered while running the model"}')
    assert info.value.message == "an error was encountered while running the model"
    assert not isinstance(info.value, MalformedResponseError)
    assert info.value.body == '{"error":"an error was encountered while running the model"}'
    # a null error is no error
    assert parse({"error": None, "message": {"role": "assistant", "content": "ok"}, "done": True}).text == "ok"


def test_context_window_error_is_typed():
    from llmunified.errors import ContextWindowExceededError
    err = codec().api_error(400, {}, b'{"error":"the input length exceeds the context window (2048 tokens)"}')
    assert isinstance(err, ContextWindowExceededError)


def test_error_line_mid_stream_carries_partial_reply():
    body = (b'{"model":"m","message":{"role":"assistant","content":"Hello"},"done":false}\n'
            b'{"model":"m","message":{"role":"assistant","content":" wor"},"done":false}\n'
            b'{"error":"an error was encountered while running the model: unexpected EOF"}\n')
    for chunks in chunkings(body, seed=7):
        dec = bound(codec(), "m").stream_decoder({})
        events: List[Any] = []
        with pytest.raises(APIError) as info:
            for chunk in chunks:
                events.extend(dec.feed(chunk))
            dec.eof()
        err = info.value
        assert type(err) is APIError
        assert err.message == "an error was encountered while running the model: unexpected EOF"
        assert err.response.text == "Hello wor"
        assert not err.retryable
        # events decoded in the same feed() call as the error line are not returned (the call
        # raises); the error's partial response has them all
        assert "Hello wor".startswith(texts(events))


def test_truncated_stream_is_stream_error_with_partial():
    body = (b'{"model":"m","message":{"role":"assistant","content":"Hel"},"done":false}\n'
            b'{"model":"m","message":{"role":"assistant","content":"lo"},"done":false}\n')
    for chunks in chunkings(body, seed=8):
        dec = bound(codec(), "m").stream_decoder({})
        for chunk in chunks:
            dec.feed(chunk)
        with pytest.raises(StreamError) as info:
            dec.eof()
        assert info.value.response.text == "Hello"
        assert not dec.done
    # cut inside the done line: the half line is not JSON
    cut = load("chat_stream_phi3_tail.ndjson")[:-40]
    dec = bound(codec(), "phi3").stream_decoder({})
    dec.feed(cut)
    with pytest.raises(StreamError) as info:
        dec.eof()
    assert info.value.response.text == " these times of day."
    assert info.value.body and info.value.body.startswith('{"model":"phi3"')


def test_truncated_stream_inside_a_multibyte_character():
    cut = UTF8_STREAM.index("世".encode("utf-8")) + 1
    dec = bound(codec(), "m").stream_decoder({})
    dec.feed(UTF8_STREAM[:cut])
    with pytest.raises(StreamError) as info:
        dec.eof()
    assert info.value.response.text == "こんにちは"
    assert info.value.response.thinking == UTF8_THINKING


@pytest.mark.parametrize("line", [
    b"<html>oops</html>",
    b'{"model":"m","message":3,"done":false}',
    b'{"model":"m","message":{"content":5},"done":false}',
    b'{"model":"m","message":{"content":"x","thinking":["a"]},"done":false}',
    b'{"model":"m","message":{"tool_calls":{"function":{}}},"done":false}',
    b'{"model":"m","message":{"tool_calls":[{"function":{"arguments":{}}}]},"done":false}',
    b'{"model":"m","message":{"tool_calls":[{"function":{"name":"f","arguments":[1]}}]},"done":false}',
    b"[1, 2]",
])
def test_malformed_stream_lines(line):
    dec = bound(codec(), "m").stream_decoder({})
    dec.feed(b'{"model":"m","message":{"role":"assistant","content":"ok"},"done":false}\n')
    with pytest.raises(StreamError) as info:
        dec.feed(line + b"\n")
    assert info.value.response.text == "ok"


@pytest.mark.parametrize("body", [
    b"<!DOCTYPE html><html><body>502 Bad Gateway</body></html>",
    b'{"model":"llama3.2","message":{"role":"assistant","content":"hel',
    b'{"message": 3}',
    b'{"model":"m","done":true}',
    b'{"message": null, "done": true}',
    b"[]",
    b"",
    b'{"message":{"role":"assistant","content":["a"]},"done":true}',
    b'{"message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":""}}]},"done":true}',
    b'{"message":{"role":"assistant","content":"","tool_calls":[7]},"done":true}',
    b'{"message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"f","arguments":5}}]}}',
    # NDJSON where one object was expected (a server that ignored stream:false)
    b'{"message":{"content":"a"},"done":false}\n{"message":{"content":""},"done":true}\n',
])
def test_malformed_nonstream_bodies(body):
    with pytest.raises(MalformedResponseError) as info:
        parse(body)
    assert info.value.body == body.decode("utf-8")
    assert info.value.provider == "ollama"


def test_html_body_hint():
    with pytest.raises(MalformedResponseError) as info:
        parse(b"<html><body>Ollama is running</body></html>")
    assert "HTML" in info.value.message


# -- request building ----------------------------------------------------------------------------

def test_url_headers_and_stream_flag():
    r = build(user("hi"), stream=True)
    assert r.method == "POST" and r.url == "http://localhost:11434/api/chat" and r.stream is True
    assert r.headers["Content-Type"] == "application/json"
    assert "Authorization" not in r.headers
    body = req_body(r)
    assert body == {"model": "llama3.2", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    r = build(user("hi"), stream=False)
    assert req_body(r)["stream"] is False and r.stream is False  # always explicit: Ollama streams by default


def test_base_url_from_ollama_host_and_bearer_only_with_key():
    c = codec(environ={"OLLAMA_HOST": "0.0.0.0"})
    assert bound(c, "m").chat_request([user("x")], make_options({}, {}), False).url == "http://0.0.0.0:11434/api/chat"
    c = codec(base_url="https://ollama.com", environ={"OLLAMA_API_KEY": "sk-test-123"})
    r = bound(c, "gpt-oss:120b").chat_request([user("x")], make_options({}, {}), True)
    assert r.url == "https://ollama.com/api/chat"
    assert r.headers["Authorization"] == "Bearer sk-test-123"
    assert "sk-test-123" not in repr(r)
    c = codec(api_key="k2", base_url="https://ollama.com", headers={"X-Trace": "1"})
    r = bound(c, "m").chat_request([user("x")], make_options({}, {}), False)
    assert r.url == "https://ollama.com/api/chat"
    assert r.headers["Authorization"] == "Bearer k2" and r.headers["X-Trace"] == "1"


def test_options_mapping():
    body = req_body(build(user("x"), temperature=0.3, top_p=0.9, seed=42, stop=["\n\n", "END"], max_tokens=128))
    assert body["options"] == {"temperature": 0.3, "top_p": 0.9, "seed": 42, "stop": ["\n\n", "END"],
                               "num_predict": 128}
    assert "max_tokens" not in body and "temperature" not in body
    body = req_body(build(user("x"), stop="###"))
    assert body["options"] == {"stop": ["###"]}
    assert "options" not in req_body(build(user("x")))


def test_extra_deep_merged_into_options_and_top_level():
    body = req_body(build(user("x"), stream=True, temperature=0.5, max_tokens=10,
                          extra={"think": True, "keep_alive": "5m", "options": {"num_ctx": 8192, "top_k": 20},
                                 "format": "json"}))
    assert body["think"] is True and body["keep_alive"] == "5m" and body["format"] == "json"
    assert body["options"] == {"temperature": 0.5, "num_predict": 10, "num_ctx": 8192, "top_k": 20}
    assert body["stream"] is True
    # extra wins over our own fields
    body = req_body(build(user("x"), temperature=0.5, extra={"options": {"temperature": 1.5}, "stream": True}))
    assert body["options"] == {"temperature": 1.5} and body["stream"] is True


def test_messages_roles_text_and_developer():
    msgs = [system("sys"), Message("developer", "dev rules"), user([TextPart("a"), TextPart("b")]),
            assistant("prev answer"), user("q")]
    assert req_body(build(msgs))["messages"] == [
        {"role": "system", "content": "sys"},
        {"role": "system", "content": "dev rules"},
        {"role": "user", "content": "ab"},
        {"role": "assistant", "content": "prev answer"},
        {"role": "user", "content": "q"},
    ]


def test_images_as_bare_base64():
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    msgs = [user([TextPart("What is in "), ImagePart(data=png, media_type="image/png"), TextPart("this?"),
                  ImagePart(url="data:image/jpeg;base64,/9j/4AAQSkZJRg==")])]
    assert req_body(build(msgs))["messages"] == [
        {"role": "user", "content": "What is in this?", "images": [png, "/9j/4AAQSkZJRg=="]}]


def test_image_url_is_rejected():
    with pytest.raises(ValidationError) as info:
        build([user([TextPart("x"), ImagePart(url="https://example.com/cat.png")])])
    assert "base64" in str(info.value)


def test_assistant_thinking_and_tool_calls_and_tool_results():
    msgs = [
        user("Weather in Paris and Zürich?"),
        Message("assistant", [ThinkingPart("Need two lookups."), TextPart("Checking."),
                              ToolCall("call_0", "get_weather", {"city": "Paris"}),
                              ToolCall("call_abc123", "get_weather", {"city": "Zürich", "units": {"t": "c"}})]),
        Message("tool", [ToolResult("call_0", {"temp": 21}), ToolResult("call_abc123", "18 C", name="weather")]),
        tool_result("call_zzz", "orphan"),
    ]
    wire = req_body(build(msgs))["messages"]
    assert wire[1] == {
        "role": "assistant", "content": "Checking.", "thinking": "Need two lookups.",
        "tool_calls": [
            {"function": {"name": "get_weather", "arguments": {"city": "Paris"}}},  # synthetic id not sent
            {"id": "call_abc123", "function": {"name": "get_weather",
                                               "arguments": {"city": "Zürich", "units": {"t": "c"}}}},
        ]}
    assert wire[2] == {"role": "tool", "content": '{"temp": 21}', "tool_name": "get_weather"}
    assert wire[3] == {"role": "tool", "content": "18 C", "tool_name": "weather", "tool_call_id": "call_abc123"}
    assert wire[4] == {"role": "tool", "content": "orphan", "tool_call_id": "call_zzz"}  # no name known
    assert len(wire) == 5
    # arguments travel as JSON objects, never strings
    assert isinstance(wire[1]["tool_calls"][1]["function"]["arguments"], dict)


def test_tool_calls_from_a_reply_round_trip():
    """A reply's message can be sent back as is (the tool loop does this)."""
    reply = parse(load("chat_tool_call_single.json"))
    msgs = [user("call it"), reply.message, tool_result(reply.tool_calls[0].id, "done")]
    wire = req_body(build(msgs))["messages"]
    assert wire[1] == {"role": "assistant", "content": "",
                       "tool_calls": [{"function": {"name": "TestPlugin-TestFunction",
                                                    "arguments": {"testInput": "fake-text"}}}]}
    assert wire[2] == {"role": "tool", "content": "done", "tool_name": "TestPlugin-TestFunction"}


def test_redacted_thinking_is_not_sent():
    msgs = [user("x"), Message("assistant", [ThinkingPart("", redacted=True, data="opaque"), TextPart("a")])]
    assert req_body(build(msgs))["messages"][1] == {"role": "assistant", "content": "a"}


TOOLS = [Tool("get_weather", "Weather for a city.", {"type": "object", "properties": {"city": {"type": "string"}},
                                                      "required": ["city"]}),
         Tool("get_time", "Current time.")]
WIRE_TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "description": "Weather for a city.",
                                      "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                                     "required": ["city"]}}},
    {"type": "function", "function": {"name": "get_time", "description": "Current time.",
                                      "parameters": {"type": "object", "properties": {}}}},
]


def test_tools_and_tool_choice():
    body = req_body(build(user("x"), tools=TOOLS))
    assert body["tools"] == WIRE_TOOLS and "tool_choice" not in body
    body = req_body(build(user("x"), tools=TOOLS, tool_choice="auto", parallel_tool_calls=False))
    assert body["tools"] == WIRE_TOOLS and "tool_choice" not in body and "parallel_tool_calls" not in body
    body = req_body(build(user("x"), tools=TOOLS, tool_choice="none"))
    assert "tools" not in body and "tool_choice" not in body
    body = req_body(build(user("x"), tools=TOOLS, tool_choice="get_time"))
    assert body["tools"] == [WIRE_TOOLS[1]] and "tool_choice" not in body
    with pytest.raises(ValidationError) as info:
        build(user("x"), tools=TOOLS, tool_choice="required")
    assert "Ollama cannot force a tool call" in str(info.value)


def test_request_body_is_utf8_json():
    r = build(user("Grüße 🌍"))
    assert "Grüße 🌍".encode("utf-8") in r.body
    assert req_body(r)["messages"][0]["content"] == "Grüße 🌍"


def test_error_details():
    c = codec()
    assert c.error_details({"error": "boom"}) == ("boom", None, None)
    assert c.error_details({"error": {"message": "m", "type": "t", "code": 7}}) == ("m", "t", "7")
    assert c.error_details({"nothing": 1}) == (None, None, None)
    assert c.error_details(["x"]) == (None, None, None)
