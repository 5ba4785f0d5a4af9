"""Behaviour tests of the loopback emulator (``llmunified.testing``) over real sockets.

Only ``requests``, ``http.client`` and raw sockets talk to it here, never the library client.
"""
import http.client as httpclient
import json
import re
import socket
import threading
import time
import urllib.error
import urllib.request

import pytest
import requests

from llmunified.testing import Emulator, RecordedRequest, Reply, ToolCallSpec
from llmunified.testing._dialects import DIALECTS, Dialect, Route, Violation
from llmunified.testing.pytest_plugin import llm_emulator  # noqa: F401 - fixture under test

OAI = {"Authorization": "Bearer sk-test"}
ANT = {"x-api-key": "sk-ant-test", "anthropic-version": "2023-06-01"}
USER = [{"role": "user", "content": "Hello there"}]


@pytest.fixture
def emu():
    with Emulator() as e:
        yield e


@pytest.fixture
def http():
    with requests.Session() as s:
        yield s


# ---- helpers ---------------------------------------------------------------------------------

def oai(emu, http, body=None, headers=OAI, **kw):
    payload = {"model": "gpt-4o-mini", "messages": USER}
    payload.update(body or {})
    return http.post(emu.url_for("openai") + "/chat/completions", json=payload, headers=headers,
                     **kw)


def ant(emu, http, body=None, headers=ANT, **kw):
    payload = {"model": "claude-sonnet-4-5", "max_tokens": 2048, "messages": USER}
    payload.update(body or {})
    return http.post(emu.url_for("anthropic") + "/v1/messages", json=payload, headers=headers,
                     **kw)


def oll(emu, http, body=None, **kw):
    payload = {"model": "llama3.2", "messages": USER}
    payload.update(body or {})
    return http.post(emu.url_for("ollama") + "/api/chat", json=payload, **kw)


def sse(text):
    """Parse an SSE body into [(event_name, data_str)]."""
    out = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        name, data = None, []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip(" "))
        out.append((name, "\n".join(data)))
    return out


def oai_chunks(text):
    events = sse(text)
    assert events[-1] == (None, "[DONE]")
    return [json.loads(d) for _, d in events[:-1]]


def ndjson(text):
    return [json.loads(line) for line in text.split("\n") if line]


def raw_exchange(port, request, timeout=5.0):
    """Send raw bytes, read until the server closes; return everything received."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        data = b""
        while True:
            piece = sock.recv(65536)
            if not piece:
                return data
            data += piece


def raw_post(path, body, headers=None, version="HTTP/1.1"):
    lines = ["POST %s %s" % (path, version), "Host: 127.0.0.1", "Content-Type: application/json",
             "Content-Length: %d" % len(body), "Connection: close"]
    lines += ["%s: %s" % kv for kv in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + body


def split_chunked(raw):
    """(head, [chunk payloads], terminated) from a raw chunked HTTP response."""
    head, _, rest = raw.partition(b"\r\n\r\n")
    chunks, terminated = [], False
    while rest:
        line, sep, rest = rest.partition(b"\r\n")
        if not sep:
            break
        size = int(line, 16)
        if size == 0:
            terminated = rest.startswith(b"\r\n")
            break
        if len(rest) < size + 2:
            chunks.append(rest[:size])
            break
        chunks.append(rest[:size])
        rest = rest[size + 2:]
    return head.decode("latin-1"), chunks, terminated


# ---- OpenAI ------------------------------------------------------------------------------------

def test_openai_plain_completion_shape_usage_and_headers(emu, http):
    emu.reply(text="Hi there", usage=(12, 3), cache_read=4, cache_write=2, reasoning_tokens=1)
    r = oai(emu, http)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.headers["x-request-id"] == "req_1"
    assert "content-length" in r.headers and "transfer-encoding" not in r.headers
    body = r.json()
    assert body["object"] == "chat.completion" and body["id"].startswith("chatcmpl-")
    assert body["model"] == "gpt-4o-mini"
    choice = body["choices"][0]
    assert choice["message"] == {"role": "assistant", "content": "Hi there", "refusal": None,
                                 "annotations": []}
    assert choice["finish_reason"] == "stop" and choice["logprobs"] is None
    usage = body["usage"]
    assert (usage["prompt_tokens"], usage["completion_tokens"], usage["total_tokens"]) == (12, 3, 15)
    assert usage["prompt_tokens_details"]["cached_tokens"] == 4
    assert usage["prompt_tokens_details"]["cache_write_tokens"] == 2
    assert usage["completion_tokens_details"]["reasoning_tokens"] == 1


def test_openai_stream_without_usage(emu, http):
    emu.reply(text="Hello streaming world")
    r = oai(emu, http, {"stream": True})
    assert r.headers["content-type"].startswith("text/event-stream")
    assert r.headers["transfer-encoding"] == "chunked"
    chunks = oai_chunks(r.text)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert all(c["object"] == "chat.completion.chunk" and "usage" not in c for c in chunks)
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
    assert text == "Hello streaming world"
    assert len(chunks) >= 4  # role chunk, several deltas, finish chunk
    assert chunks[-1]["choices"][0] == {"index": 0, "delta": {}, "logprobs": None,
                                        "finish_reason": "stop"}


def test_openai_stream_with_include_usage(emu, http):
    emu.reply(text="Counted", usage=(14, 13))
    r = oai(emu, http, {"stream": True, "stream_options": {"include_usage": True}})
    chunks = oai_chunks(r.text)
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["prompt_tokens"] == 14
    assert chunks[-1]["usage"]["completion_tokens"] == 13
    assert all(c["usage"] is None for c in chunks[:-1])
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"


def test_openai_tool_calls_plain_and_streamed(emu, http):
    calls = [ToolCallSpec("get_weather", {"city": "Paris"}),
             ToolCallSpec("get_time", {"tz": "Europe/Paris"}, id="call_fixed")]
    emu.queue(Reply(tool_calls=calls), Reply(tool_calls=calls))
    body = oai(emu, http).json()
    msg = body["choices"][0]["message"]
    assert body["choices"][0]["finish_reason"] == "tool_calls"
    assert msg["content"] is None
    assert msg["tool_calls"][0]["id"].startswith("call_")
    assert msg["tool_calls"][1]["id"] == "call_fixed"
    assert msg["tool_calls"][0]["type"] == "function"
    assert isinstance(msg["tool_calls"][0]["function"]["arguments"], str)
    assert json.loads(msg["tool_calls"][0]["function"]["arguments"]) == {"city": "Paris"}

    chunks = oai_chunks(oai(emu, http, {"stream": True}).text)
    args, names, ids = {}, {}, {}
    for c in chunks:
        for tc in c["choices"][0]["delta"].get("tool_calls") or []:
            if "id" in tc:
                ids[tc["index"]] = tc["id"]
                names[tc["index"]] = tc["function"]["name"]
                assert tc["function"]["arguments"] == ""
            args[tc["index"]] = args.get(tc["index"], "") + tc["function"]["arguments"]
    assert names == {0: "get_weather", 1: "get_time"}
    assert ids[1] == "call_fixed"
    assert json.loads(args[1]) == {"tz": "Europe/Paris"}
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


def test_openai_models_and_reasoning_field():
    with Emulator(models=["m1", "m2"], openai_reasoning_field="reasoning_content") as emu, \
            requests.Session() as http:
        r = http.get(emu.url_for("lmstudio") + "/models", headers=OAI)
        assert r.json() == {"object": "list", "data": [
            {"id": "m1", "object": "model", "created": 1700000000, "owned_by": "system"},
            {"id": "m2", "object": "model", "created": 1700000000, "owned_by": "system"}]}
        emu.reply(text="42", thinking="let me think")
        assert oai(emu, http).json()["choices"][0]["message"]["reasoning_content"] == "let me think"
        emu.reply(text="42", thinking="let me think")
        chunks = oai_chunks(oai(emu, http, {"stream": True}).text)
        assert "".join(c["choices"][0]["delta"].get("reasoning_content", "")
                       for c in chunks) == "let me think"


# ---- Anthropic -----------------------------------------------------------------------------------

def test_anthropic_plain_message_and_cache_usage(emu, http):
    emu.reply(text="Hi there", usage=(100, 7), cache_read=60, cache_write=30)
    r = ant(emu, http)
    assert r.status_code == 200 and r.headers["request-id"] == "req_1"
    body = r.json()
    assert body["type"] == "message" and body["role"] == "assistant"
    assert body["id"].startswith("msg_") and body["model"] == "claude-sonnet-4-5"
    assert body["content"] == [{"type": "text", "text": "Hi there"}]
    assert body["stop_reason"] == "end_turn" and body["stop_sequence"] is None
    usage = body["usage"]
    assert usage["input_tokens"] == 10  # Anthropic leaves cached tokens out
    assert usage["cache_read_input_tokens"] == 60
    assert usage["cache_creation_input_tokens"] == 30
    assert usage["cache_creation"]["ephemeral_5m_input_tokens"] == 30
    assert usage["output_tokens"] == 7


def test_anthropic_stream_event_sequence(emu, http):
    emu.reply(text="Hello there friend", usage=(11, 6))
    r = ant(emu, http, {"stream": True})
    assert r.headers["content-type"].startswith("text/event-stream")
    events = sse(r.text)
    datas = [json.loads(d) for _, d in events]
    for name, data in zip([n for n, _ in events], datas):
        assert name == data["type"]  # every event is named, and the name matches the data
    types = [d["type"] for d in datas]
    assert types[0] == "message_start" and types[1] == "content_block_start"
    assert "ping" in types
    assert types[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    start = datas[0]["message"]
    assert start["content"] == [] and start["stop_reason"] is None
    assert start["usage"]["input_tokens"] == 11
    text = "".join(d["delta"]["text"] for d in datas if d["type"] == "content_block_delta")
    assert text == "Hello there friend"
    assert datas[-2]["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}
    assert datas[-2]["usage"]["output_tokens"] == 6
    assert "  }" in r.text  # the real service pads its JSON with spaces


def test_anthropic_thinking_and_tool_use(emu, http):
    emu.reply(text="Checking.", thinking="The user wants weather.",
              tool_calls=[ToolCallSpec("get_weather", {"city": "Paris"})], reasoning_tokens=5)
    body = ant(emu, http).json()
    kinds = [b["type"] for b in body["content"]]
    assert kinds == ["thinking", "text", "tool_use"]
    signature = body["content"][0]["signature"]
    assert signature and body["content"][0]["thinking"] == "The user wants weather."
    tool = body["content"][2]
    assert tool["id"].startswith("toolu_") and tool["input"] == {"city": "Paris"}
    assert body["stop_reason"] == "tool_use"
    assert body["usage"]["output_tokens_details"] == {"thinking_tokens": 5}

    emu.reply(text="Checking.", thinking="The user wants weather.",
              tool_calls=[ToolCallSpec("get_weather", {"city": "Paris"})])
    datas = [json.loads(d) for _, d in sse(ant(emu, http, {"stream": True}).text)]
    blocks = {d["index"]: d["content_block"] for d in datas if d["type"] == "content_block_start"}
    assert blocks[0] == {"type": "thinking", "thinking": "", "signature": ""}
    assert blocks[2]["type"] == "tool_use" and blocks[2]["input"] == {}
    deltas = [d for d in datas if d["type"] == "content_block_delta"]
    thinking = "".join(d["delta"].get("thinking", "") for d in deltas if d["index"] == 0)
    assert thinking == "The user wants weather."
    sig = [d["delta"] for d in deltas if d["delta"]["type"] == "signature_delta"]
    assert sig == [{"type": "signature_delta", "signature": signature}]  # deterministic
    partial = [d["delta"]["partial_json"] for d in deltas if d["index"] == 2]
    assert partial[0] == "" and json.loads("".join(partial)) == {"city": "Paris"}
    assert datas[-2]["delta"]["stop_reason"] == "tool_use"

    emu.reply(thinking="x", thinking_signature="sig-123")
    assert ant(emu, http).json()["content"][0]["signature"] == "sig-123"


def test_anthropic_models_needs_version_header(emu, http):
    r = http.get(emu.base_url + "/v1/models", headers=ANT)
    body = r.json()
    assert body["has_more"] is False and body["data"][0]["type"] == "model"
    assert body["first_id"] == body["data"][0]["id"]
    r = http.get(emu.base_url + "/v1/models", headers=OAI)
    assert r.json()["object"] == "list"


# ---- Ollama ----------------------------------------------------------------------------------------

def test_ollama_plain_and_streamed(emu, http):
    emu.reply(text="Hi there", usage=(16, 22))
    r = oll(emu, http, {"stream": False})
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    body = r.json()
    assert body["message"] == {"role": "assistant", "content": "Hi there"}
    assert body["done"] is True and body["done_reason"] == "stop"
    assert (body["prompt_eval_count"], body["eval_count"]) == (16, 22)
    assert body["created_at"].endswith("Z")
    for key in ("total_duration", "load_duration", "prompt_eval_duration", "eval_duration"):
        assert isinstance(body[key], int)

    emu.reply(text="Okay, here we go", thinking="counting", finish_reason="length")
    r = oll(emu, http)  # streams by default
    assert r.headers["content-type"] == "application/x-ndjson"
    assert r.headers["transfer-encoding"] == "chunked"
    lines = ndjson(r.text)
    assert all(not x["done"] for x in lines[:-1]) and lines[-1]["done"] is True
    assert lines[-1]["done_reason"] == "length"
    assert "".join(x["message"]["content"] for x in lines) == "Okay, here we go"
    assert "".join(x["message"].get("thinking", "") for x in lines) == "counting"


def test_ollama_tool_calls_are_objects(emu, http):
    emu.reply(tool_calls=[ToolCallSpec("get_weather", {"city": "Paris"})])
    body = oll(emu, http, {"stream": False}).json()
    call = body["message"]["tool_calls"][0]
    assert call["function"]["arguments"] == {"city": "Paris"}
    assert call["function"]["name"] == "get_weather" and call["id"].startswith("call_")
    assert body["done_reason"] == "stop"

    emu.reply(tool_calls=[ToolCallSpec("get_weather", {"city": "Paris"})])
    lines = ndjson(oll(emu, http).text)
    with_calls = [x for x in lines if x["message"].get("tool_calls")]
    assert len(with_calls) == 1  # whole, in one line
    assert with_calls[0]["message"]["tool_calls"][0]["function"]["arguments"] == {"city": "Paris"}

    with Emulator(ollama_legacy_tool_calls=True) as legacy:
        legacy.reply(tool_calls=[ToolCallSpec("f", {"a": 1})])
        msg = oll(legacy, http, {"stream": False}).json()["message"]
        assert msg["tool_calls"] == [{"function": {"name": "f", "arguments": {"a": 1}}}]


def test_ollama_tags_version_root_and_load(emu, http):
    tags = http.get(emu.base_url + "/api/tags").json()
    assert tags["models"][0]["name"] == "llama3.2:latest"
    assert set(tags["models"][0]["details"]) >= {"format", "family", "parameter_size"}
    assert http.get(emu.base_url + "/api/version").json() == {"version": "0.12.6"}
    assert http.get(emu.base_url + "/").text == "Ollama is running"
    emu.reply(text="kept for later")
    body = oll(emu, http, {"messages": [], "stream": False}).json()
    assert body["done_reason"] == "load" and emu.pending_replies == 1


# ---- finish reasons, usage defaults ---------------------------------------------------------

@pytest.mark.parametrize("unified, openai, anthropic, ollama", [
    ("stop", "stop", "end_turn", "stop"),
    ("length", "length", "max_tokens", "length"),
    ("content_filter", "content_filter", "refusal", "stop"),
    ("stop_sequence", "stop_sequence", "stop_sequence", "stop_sequence"),  # passed verbatim
])
def test_finish_reason_mapping(emu, http, unified, openai, anthropic, ollama):
    for _ in range(3):
        emu.reply(text="x", finish_reason=unified)
    assert oai(emu, http).json()["choices"][0]["finish_reason"] == openai
    assert ant(emu, http).json()["stop_reason"] == anthropic
    assert oll(emu, http, {"stream": False}).json()["done_reason"] == ollama


def test_default_usage_estimate_is_deterministic(emu, http):
    first = oai(emu, http).json()["usage"]
    second = oai(emu, http).json()["usage"]
    assert first == second and first["prompt_tokens"] >= 1 and first["completion_tokens"] >= 1


# ---- default reply, callables ------------------------------------------------------------------

def test_default_echo_and_overrides(http):
    with Emulator() as emu:
        msgs = [{"role": "user", "content": [{"type": "text", "text": "part one"}]}]
        assert oai(emu, http, {"messages": msgs}).json()["choices"][0]["message"]["content"] == \
            "You said: part one"
        assert ant(emu, http).json()["content"][0]["text"] == "You said: Hello there"
        assert oll(emu, http, {"stream": False}).json()["message"]["content"] == \
            "You said: Hello there"
    with Emulator(default_reply=Reply(text="fixed")) as emu:
        assert oll(emu, http, {"stream": False}).json()["message"]["content"] == "fixed"
    with Emulator(default_reply=lambda req: Reply(text=req.provider + ":" + req.json["model"])) as emu:
        emu.queue(lambda req: Reply(text="queued for " + req.path))
        assert ant(emu, http).json()["content"][0]["text"] == "queued for /v1/messages"
        assert ant(emu, http).json()["content"][0]["text"] == "anthropic:claude-sonnet-4-5"


def test_recorded_requests(emu, http):
    emu.reply(text="a")
    ant(emu, http, headers=dict(ANT, **{"X-Custom": "yes"}))
    rec = emu.last_request
    assert isinstance(rec, RecordedRequest)
    assert rec.method == "POST" and rec.path == "/v1/messages" and rec.provider == "anthropic"
    assert rec.headers["x-custom"] == "yes" and rec.headers["X-CUSTOM"] == "yes"
    assert "ANTHROPIC-VERSION" in rec.headers
    assert json.loads(rec.body) == rec.json and rec.json["max_tokens"] == 2048
    assert rec.violations == [] and rec.status == 200 and rec.reply.text == "a"
    assert rec.stream is False and rec.messages == USER
    http.post(emu.base_url + "/v1/messages?beta=true", json={"model": "m", "max_tokens": 5,
                                                           "messages": USER}, headers=ANT)
    assert emu.last_request.path == "/v1/messages" and emu.last_request.query == "beta=true"
    assert len(emu.requests) == 2
    emu.reply(text="x")
    emu.reset()
    assert emu.requests == [] and emu.last_request is None and emu.pending_replies == 0


def test_wait_for_requests(emu):
    assert emu.wait_for_requests(timeout=0.05) is False  # nothing has arrived

    def client():
        time.sleep(0.1)  # the wait below starts before the requests arrive
        with requests.Session() as s:
            oll(emu, s, {"stream": False})
            oai(emu, s, headers={})  # rejected (401), and still recorded

    thread = threading.Thread(target=client)
    thread.start()
    try:
        assert emu.wait_for_requests(2, timeout=5.0) is True
    finally:
        thread.join(5)
    assert [(r.provider, r.status) for r in emu.requests] == [("ollama", 200), ("openai", 401)]
    assert emu.wait_for_requests(2, timeout=0) is True  # already there: no waiting
    assert emu.wait_for_requests(3, timeout=0.05) is False
    emu.reset()
    assert emu.wait_for_requests(1, timeout=0.05) is False


def test_url_for(emu):
    assert emu.base_url.startswith("http://127.0.0.1:")
    assert emu.url_for("openai") == emu.base_url + "/v1"
    assert emu.url_for("lmstudio") == emu.base_url + "/v1"
    assert emu.url_for("anthropic") == emu.base_url
    assert emu.url_for("ollama") == emu.base_url
    assert emu.url_for("gemini") == emu.url_for("google") == emu.base_url
    assert emu.url_for("vertex") == emu.url_for("Vertex_AI") == emu.base_url
    assert emu.url_for("cohere") == emu.base_url
    with pytest.raises(ValueError):
        emu.url_for("bedrock")


# ---- errors ------------------------------------------------------------------------------------------

def test_error_shapes_per_provider(emu, http):
    for _ in range(3):
        emu.reply(status=429, error="Slow down", headers={"retry-after": "0"})
    r = oai(emu, http)
    assert r.status_code == 429 and r.headers["retry-after"] == "0"
    assert r.json() == {"error": {"message": "Slow down", "type": "requests", "param": None,
                                  "code": "rate_limit_exceeded"}}
    r = ant(emu, http)
    assert r.status_code == 429 and r.headers["retry-after"] == "0"
    assert r.headers["x-should-retry"] == "true"
    assert r.json() == {"type": "error", "error": {"type": "rate_limit_error", "message": "Slow down"},
                        "request_id": r.headers["request-id"]}
    r = oll(emu, http)
    assert r.status_code == 429 and r.json() == {"error": "Slow down"}


def test_error_types_and_overrides(emu, http):
    emu.reply(status=529)
    body = ant(emu, http).json()
    assert body["error"]["type"] == "overloaded_error" and body["error"]["message"]
    emu.reply(status=500, headers={"x-should-retry": "false"})
    r = ant(emu, http)
    assert r.json()["error"]["type"] == "api_error" and r.headers["x-should-retry"] == "false"
    emu.reply(status=404, error="The model `nope` does not exist", error_code="model_not_found")
    err = oai(emu, http).json()["error"]
    assert err["code"] == "model_not_found" and err["type"] == "invalid_request_error"
    emu.reply(status=429, error="quota", error_type="insufficient_quota",
              error_code="insufficient_quota")
    err = oai(emu, http).json()["error"]
    assert (err["type"], err["code"]) == ("insufficient_quota", "insufficient_quota")
    emu.reply(status=503, error="busy")  # errors are never streamed
    r = oai(emu, http, {"stream": True})
    assert r.status_code == 503 and r.headers["content-type"] == "application/json"


def test_raw_body_override(emu, http):
    emu.reply(status=502, body="<html><body>Bad gateway</body></html>", content_type="text/html")
    r = oai(emu, http)
    assert r.status_code == 502 and r.headers["content-type"] == "text/html"
    assert r.text == "<html><body>Bad gateway</body></html>"
    emu.reply(body=b'{"id": "chatcmpl-1", "choi')
    r = oai(emu, http)
    assert r.status_code == 200 and r.content == b'{"id": "chatcmpl-1", "choi'


def test_reply_validation():
    with pytest.raises(ValueError):
        Reply(error="boom")  # needs an error status
    with pytest.raises(ValueError):
        Reply(chunk_size=0)
    assert Reply(tool_calls=[{"name": "f", "arguments": {"a": 1}}]).tool_calls[0].name == "f"


# ---- streaming faults ---------------------------------------------------------------------------------

def test_chunk_size_splits_body_into_small_writes(emu):
    text = "Café au lait — très bon, naïve façade."
    emu.reply(text=text, chunk_size=3)
    body = json.dumps({"model": "gpt-4o-mini", "messages": USER, "stream": True}).encode()
    raw = raw_exchange(emu.port, raw_post("/v1/chat/completions", body, OAI))
    head, chunks, terminated = split_chunked(raw)
    assert "Transfer-Encoding: chunked" in head and terminated
    assert len(chunks) > 100
    assert all(len(c) == 3 for c in chunks[:-1]) and 1 <= len(chunks[-1]) <= 3
    undecodable = 0
    for c in chunks:
        try:
            c.decode("utf-8")
        except UnicodeDecodeError:
            undecodable += 1
    assert undecodable > 0  # multibyte characters were cut between writes
    chunks_json = oai_chunks(b"".join(chunks).decode("utf-8"))
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks_json) == text


def test_break_after_drops_connection_without_terminator(emu, http):
    emu.reply(text="one two three four five six", break_after=3)
    body = json.dumps({"model": "claude-x", "max_tokens": 50, "messages": USER,
                       "stream": True}).encode()
    raw = raw_exchange(emu.port, raw_post("/v1/messages", body, ANT))
    head, chunks, terminated = split_chunked(raw)
    assert head.startswith("HTTP/1.1 200") and not terminated
    events = sse(b"".join(chunks).decode("utf-8"))
    assert [n for n, _ in events] == ["message_start", "content_block_start", "ping"]

    emu.reply(text="one two three", break_after=2)
    r = oai(emu, http, {"stream": True}, stream=True)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        r.content
    r.close()
    emu.reply(text="one two three", break_after=1)
    r = oll(emu, http, stream=True)
    lines = []
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        for line in r.iter_lines():
            lines.append(json.loads(line))
    r.close()
    assert len(lines) == 1 and lines[0]["message"]["content"] == "one"


def test_stream_error_shapes(emu, http):
    emu.reply(text="partial", stream_error="Server overloaded")
    chunks = [json.loads(d) for _, d in sse(oai(emu, http, {"stream": True}).text)]
    assert chunks[-1] == {"error": {"message": "Server overloaded", "type": "server_error",
                                    "param": None, "code": None}}
    assert chunks[1]["choices"][0]["delta"]["content"] == "partial"

    emu.reply(text="partial", stream_error="Overloaded")
    events = sse(ant(emu, http, {"stream": True}).text)
    assert events[-1][0] == "error"
    assert json.loads(events[-1][1]) == {"type": "error", "error": {"type": "overloaded_error",
                                                                    "message": "Overloaded"}}
    assert "message_stop" not in [n for n, _ in events]

    emu.reply(text="partial", stream_error="model runner crashed")
    lines = ndjson(oll(emu, http).text)
    assert lines[-1] == {"error": "model runner crashed"}
    assert lines[0]["message"]["content"] == "partial"


def test_repeat_chunks_is_fast(emu, http):
    emu.reply(text="tok ", repeat_chunks=5000)
    start = time.monotonic()
    r = oai(emu, http, {"stream": True})
    chunks = oai_chunks(r.text)
    elapsed = time.monotonic() - start
    assert sum(1 for c in chunks if c["choices"][0]["delta"].get("content") == "tok ") == 5000
    assert elapsed < 3.0
    emu.reply(text="tok ", repeat_chunks=3)
    assert ant(emu, http).json()["content"][0]["text"] == "tok tok tok "


def test_aborted_stream_is_counted(emu, http):
    emu.reply(text=" ".join(["word"] * 200), delay=0.01)
    r = oai(emu, http, {"stream": True}, stream=True)
    lines = r.iter_lines()
    assert next(lines).startswith(b"data: ")
    r.close()
    assert emu.wait_for_aborted(1, timeout=5.0)
    assert emu.aborted_streams == 1
    # the emulator keeps serving
    assert oai(emu, http).status_code == 200


def test_complete_stream_closed_at_terminator_is_not_an_abort(emu, http):
    emu.reply(text="a b c", delay=0.01)
    r = oai(emu, http, {"stream": True}, stream=True)
    for line in r.iter_lines():
        if line == b"data: [DONE]":
            break
    r.close()
    time.sleep(0.05)
    assert emu.aborted_streams == 0


def test_delay_on_plain_answer_is_a_slow_server(emu, http):
    emu.reply(text="late", delay=0.5)
    with pytest.raises(requests.exceptions.ReadTimeout):
        oai(emu, http, timeout=0.1)
    emu.reply(text="in time", delay=0.05)
    assert oai(emu, http, timeout=5).json()["choices"][0]["message"]["content"] == "in time"


def test_http10_stream_is_not_chunked(emu):
    emu.reply(text="old client")
    body = json.dumps({"model": "llama3.2", "messages": USER}).encode()
    raw = raw_exchange(emu.port, raw_post("/api/chat", body, version="HTTP/1.0"))
    head, _, rest = raw.partition(b"\r\n\r\n")
    assert b"chunked" not in head.lower()
    assert ndjson(rest.decode())[-1]["done"] is True


def test_chunked_request_body_is_accepted(emu):
    body = json.dumps({"model": "llama3.2", "messages": USER, "stream": False}).encode()
    request = (b"POST /api/chat HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
               b"Connection: close\r\n\r\n" + b"%x\r\n" % 10 + body[:10] + b"\r\n"
               + b"%x\r\n" % (len(body) - 10) + body[10:] + b"\r\n0\r\n\r\n")
    raw = raw_exchange(emu.port, request)
    assert raw.startswith(b"HTTP/1.1 200")
    assert emu.last_request.json["model"] == "llama3.2"


# ---- connections ---------------------------------------------------------------------------------------

def test_keep_alive_reuses_one_connection(emu, http):
    emu.reply(text="streamed", usage=(1, 1))
    oai(emu, http, {"stream": True})
    oai(emu, http)
    ant(emu, http, {"stream": True})
    oll(emu, http)
    assert len(emu.requests) == 4
    assert emu.connections_opened == 1


def test_keep_alive_with_http_client(emu):
    conn = httpclient.HTTPConnection("127.0.0.1", emu.port, timeout=5)
    try:
        for _ in range(3):
            conn.request("POST", "/api/chat", body=json.dumps(
                {"model": "llama3.2", "messages": USER, "stream": False}),
                headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            assert resp.status == 200 and json.loads(resp.read())["done"] is True
    finally:
        conn.close()
    assert emu.connections_opened == 1


def test_concurrent_requests_all_answered(emu):
    results, errors = [], []

    def worker(i):
        try:
            with requests.Session() as s:
                r = oll(emu, s, {"messages": [{"role": "user", "content": "n%d" % i}],
                                 "stream": i % 2 == 0})
                text = "".join(x["message"]["content"] for x in ndjson(r.text))
                results.append((i, text))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert errors == []
    assert sorted(results) == sorted((i, "You said: n%d" % i) for i in range(50))
    assert len(emu.requests) == 50


def test_unknown_paths_get_plausible_404s(emu, http):
    r = http.post(emu.base_url + "/v1/completions", json={}, headers=OAI)
    assert r.status_code == 404
    assert r.json()["error"]["message"] == "Invalid URL (POST /v1/completions)"
    r = http.get(emu.base_url + "/v1/nope", headers=ANT)
    assert r.status_code == 404 and r.json()["error"]["type"] == "not_found_error"
    r = http.post(emu.base_url + "/api/generate", json={})
    assert r.status_code == 404 and r.text == "404 page not found"
    assert emu.last_request.violations == ["unknown endpoint: POST /api/generate"]


# ---- contract checks ---------------------------------------------------------------------------------

def _oai_error(r, status=400):
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert set(err) == {"message", "type", "param", "code"}
    return err


def test_openai_contract(emu, http):
    emu.reply(text="not consumed by bad requests")
    err = _oai_error(oai(emu, http, headers={}), 401)
    assert "API key" in err["message"]
    assert "API key" in emu.last_request.violations[0]

    assert "model" in _oai_error(oai(emu, http, {"model": None}))["message"]
    assert _oai_error(oai(emu, http, {"messages": []}))["code"] == "empty_array"
    err = _oai_error(oai(emu, http, {"messages": [{"role": "bot", "content": "x"}]}))
    assert err["param"] == "messages[0].role" and "'bot'" in err["message"]

    call = {"id": "call_1", "type": "function",
            "function": {"name": "f", "arguments": {"x": 1}}}
    history = USER + [{"role": "assistant", "content": None, "tool_calls": [call]},
                      {"role": "tool", "tool_call_id": "call_1", "content": "ok"}]
    err = _oai_error(oai(emu, http, {"messages": history}))
    assert err["param"] == "messages[1].tool_calls[0].function.arguments"
    assert "expected a string" in err["message"]

    call["function"]["arguments"] = '{"x": 1}'
    history[2]["tool_call_id"] = "call_other"
    err = _oai_error(oai(emu, http, {"messages": history}))
    assert "call_other" in err["message"]
    history[2]["tool_call_id"] = "call_1"

    orphan = USER + [{"role": "tool", "tool_call_id": "call_1", "content": "ok"}]
    assert "preceding message with 'tool_calls'" in _oai_error(
        oai(emu, http, {"messages": orphan}))["message"]
    unanswered = USER + [history[1]]
    assert "call_1" in _oai_error(oai(emu, http, {"messages": unanswered}))["message"]

    bad_tools = [{"type": "function", "function": {"description": "no name"}}]
    assert _oai_error(oai(emu, http, {"tools": bad_tools}))["param"] == "tools[0].function.name"
    assert _oai_error(oai(emu, http, {"tools": [{"type": "fn", "function": {"name": "f"}}]}))[
        "param"] == "tools[0].type"
    assert "stream_options" in _oai_error(
        oai(emu, http, {"stream_options": {"include_usage": True}}))["message"]
    r = http.post(emu.url_for("openai") + "/chat/completions", data=b"{not json",
                  headers=dict(OAI, **{"Content-Type": "application/json"}))
    assert "parse the JSON body" in _oai_error(r)["message"]

    assert emu.pending_replies == 1  # rejected requests do not consume replies
    r = oai(emu, http, {"messages": history})
    assert r.status_code == 200, r.text
    assert r.json()["choices"][0]["message"]["content"] == "not consumed by bad requests"
    assert emu.last_request.violations == []


def test_openai_auth_can_be_disabled(http):
    with Emulator(require_auth=False) as emu:
        assert oai(emu, http, headers={}).status_code == 200
        assert ant(emu, http, headers={"anthropic-version": "2023-06-01"}).status_code == 200


def _ant_error(r, status=400, kind="invalid_request_error"):
    assert r.status_code == status, r.text
    body = r.json()
    assert body["type"] == "error" and body["error"]["type"] == kind
    assert body["request_id"] == r.headers["request-id"]
    return body["error"]["message"]


def test_anthropic_contract(emu, http):
    assert _ant_error(ant(emu, http, headers={"anthropic-version": "2023-06-01"}), 401,
                      "authentication_error") == "x-api-key header is required"
    assert "anthropic-version" in _ant_error(ant(emu, http, headers={"x-api-key": "k"}))
    r = ant(emu, http, headers={"Authorization": "Bearer tok", "anthropic-version": "2023-06-01"})
    assert r.status_code == 200

    r = http.post(emu.base_url + "/v1/messages", json={"model": "m", "messages": USER},
                  headers=ANT)
    assert _ant_error(r) == "max_tokens: Field required"
    assert "valid integer" in _ant_error(ant(emu, http, {"max_tokens": "10"}))
    msg = _ant_error(ant(emu, http, {"messages": [{"role": "system", "content": "be nice"}] + USER}))
    assert 'Unexpected role "system"' in msg
    assert "first message" in _ant_error(
        ant(emu, http, {"messages": [{"role": "assistant", "content": "hi"}] + USER}))

    tool_use = {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}
    result = {"type": "tool_result", "tool_use_id": "toolu_2", "content": "ok"}
    history = USER + [{"role": "assistant", "content": [tool_use]},
                      {"role": "user", "content": [result]}]
    msg = _ant_error(ant(emu, http, {"messages": history}))
    assert "unexpected `tool_use_id`" in msg and "toolu_2" in msg
    assert msg.startswith("messages.2.content.0:")
    result["tool_use_id"] = "toolu_1"
    assert ant(emu, http, {"messages": history}).status_code == 200

    thinking = {"type": "thinking", "thinking": "hmm"}
    history[1]["content"] = [thinking, tool_use]
    assert "signature" in _ant_error(ant(emu, http, {"messages": history}))
    thinking["signature"] = "abc"
    assert ant(emu, http, {"messages": history}).status_code == 200

    assert "input_schema" in _ant_error(ant(emu, http, {"tools": [{"name": "f"}]}))
    assert "budget_tokens" in _ant_error(
        ant(emu, http, {"max_tokens": 1000, "thinking": {"type": "enabled", "budget_tokens": 2000}}))
    assert "temperature" in _ant_error(ant(emu, http, {"temperature": 1.5}))
    assert any("system" in v for v in emu.requests[5].violations)


def test_ollama_contract(emu, http):
    history = USER + [{"role": "assistant", "content": "",
                       "tool_calls": [{"function": {"name": "f", "arguments": '{"a": 1}'}}]},
                      {"role": "tool", "content": "ok", "tool_name": "f"}]
    r = oll(emu, http, {"messages": history})
    assert r.status_code == 400 and r.headers["content-type"].startswith("application/json")
    assert "cannot unmarshal string" in r.json()["error"]
    history[1]["tool_calls"][0]["function"]["arguments"] = {"a": 1}
    assert oll(emu, http, {"messages": history, "stream": False}).status_code == 200
    r = oll(emu, http, {"messages": [{"role": "developer", "content": "x"}]})
    assert r.status_code == 400 and "developer" in r.json()["error"]
    r = oll(emu, http, {"model": ""})
    assert r.json() == {"error": "model is required"}
    r = oll(emu, http, {"messages": [{"role": "user", "content": [{"type": "text", "text": "x"}]}]})
    assert r.status_code == 400 and "cannot unmarshal array" in r.json()["error"]
    r = http.post(emu.base_url + "/api/chat", json={"model": "llama3.2"},
                  headers={"Authorization": "anything"})
    assert r.json() == {"error": "messages is required"}


# ---- pytest plugin ---------------------------------------------------------------------------------------

def test_pytest_plugin_fixture(llm_emulator, http):  # noqa: F811 - the imported fixture
    assert llm_emulator.running
    llm_emulator.reply(text="from the fixture")
    assert oll(llm_emulator, http, {"stream": False}).json()["message"]["content"] == \
        "from the fixture"


@pytest.mark.parametrize("llm_emulator", [{"require_auth": False}], indirect=True)
def test_pytest_plugin_fixture_options(llm_emulator, http):  # noqa: F811
    assert oai(llm_emulator, http, headers={}).status_code == 200


def test_stop_closes_idle_keep_alive_connections(http):
    emu = Emulator().start()
    port = emu.port
    assert oll(emu, http, {"stream": False}).status_code == 200  # leaves an idle connection
    emu.stop()
    assert not emu.running
    emu.stop()  # idempotent
    with pytest.raises(requests.exceptions.ConnectionError):
        http.post("http://127.0.0.1:%d/api/chat" % port, json={}, timeout=2)


# ---- dialects ----------------------------------------------------------------------------------------

class _ToyDialect(Dialect):
    """A throwaway Gemini-like dialect: the model and the action are in the path."""

    name = "toy"
    aliases = ("toy-cloud",)
    base_path = "/toy"
    routes = (Route("POST", "/toy/v1/models/{model}:{action}", "chat"),
              Route("GET", "/toy/v1/models", "models"))
    path_prefixes = ("/toy/",)
    default_models = ("toy-1", "toy-2")

    def is_stream(self, body, request):
        return request.params.get("action") == "streamGenerate"

    def check_body(self, body, json_error):
        if not isinstance(body, dict) or not isinstance(body.get("contents"), list):
            return [Violation(400, "contents is required", type_="INVALID_ARGUMENT")]
        return []

    def last_user_text(self, body):
        return body["contents"][-1]["text"]

    def error_body(self, status, message, type_=None, code=None, param=None, request_id=""):
        return json.dumps({"error": {"code": status, "status": type_ or "ERROR",
                                     "message": self.error_message(status, message)}}).encode()

    def models_body(self, models):
        return {"models": [{"name": "models/" + m} for m in models]}

    def render(self, reply, ctx):
        return {"model": ctx.model(reply), "text": reply.full_text}

    def events(self, reply, ctx):
        for word in reply.full_text.split(" "):
            yield b"data: " + json.dumps({"model": ctx.model(reply), "text": word}).encode() + b"\n\n"


TOY = {"contents": [{"text": "hi toy"}]}


@pytest.mark.parametrize("template, path, params", [
    ("/v1beta/models/{model}:{action}", "/v1beta/models/gemini-2.0-flash:streamGenerateContent",
     {"model": "gemini-2.0-flash", "action": "streamGenerateContent"}),
    ("/v1/projects/{project}/locations/{location}/publishers/anthropic/models/{model}:{action}",
     "/v1/projects/p-1/locations/us-east5/publishers/anthropic/models/claude-x@20250514:rawPredict",
     {"project": "p-1", "location": "us-east5", "model": "claude-x@20250514",
      "action": "rawPredict"}),
    ("/openai/deployments/{deployment}/chat/completions",
     "/openai/deployments/my%20gpt/chat/completions", {"deployment": "my gpt"}),
    ("/v2/chat", "/v2/chat", {}),
])
def test_route_templates_take_params_from_the_path(template, path, params):
    assert Route("POST", template, "chat").match("POST", path) == params


def test_route_template_misses():
    route = Route("POST", "/v1beta/models/{model}:{action}", "chat")
    assert route.match("GET", "/v1beta/models/m:generate") is None  # another method
    assert route.match("POST", "/v1beta/models/a/b:generate") is None  # one segment only
    assert route.match("POST", "/v1beta/models/:generate") is None  # placeholders are not empty
    assert route.match("POST", "/v1beta/models/m") is None
    regex = Route("GET", re.compile(r"/v(?P<version>\d+)/things"), "things")
    assert regex.match("GET", "/v2/things") == {"version": "2"}
    assert regex.match("GET", "/vx/things") is None


def test_dialect_with_the_model_in_the_path(http):
    with Emulator(dialects=[*DIALECTS, _ToyDialect()]) as emu:
        assert emu.url_for("toy") == emu.url_for("Toy_Cloud") == emu.base_url + "/toy"
        assert emu.models["toy"] == ["toy-1", "toy-2"]

        emu.reply(text="Hello from toy", usage=(3, 4))
        r = http.post(emu.url_for("toy") + "/v1/models/toy-pro:generate?key=k&alt=json", json=TOY)
        assert r.status_code == 200 and r.json() == {"model": "toy-pro", "text": "Hello from toy"}
        rec = emu.last_request
        assert (rec.provider, rec.endpoint, rec.path) == ("toy", "chat",
                                                          "/toy/v1/models/toy-pro:generate")
        assert rec.params == {"model": "toy-pro", "action": "generate"}
        assert rec.query_params == {"key": "k", "alt": "json"}
        assert rec.stream is False and rec.reply.text == "Hello from toy"

        # The path says "stream"; the default reply echoes through the dialect's own body shape.
        r = http.post(emu.url_for("toy") + "/v1/models/toy-pro:streamGenerate?alt=sse", json=TOY)
        assert r.headers["content-type"].startswith("text/event-stream")
        assert r.headers["transfer-encoding"] == "chunked"
        assert [json.loads(d)["text"] for _, d in sse(r.text)] == ["You", "said:", "hi", "toy"]
        assert emu.last_request.stream is True and emu.last_request.query_params == {"alt": "sse"}

        emu.reply(text="kept for later")
        r = http.post(emu.url_for("toy") + "/v1/models/toy-pro:generate", json={"prompt": "x"})
        assert r.status_code == 400 and r.json() == {"error": {
            "code": 400, "status": "INVALID_ARGUMENT", "message": "contents is required"}}
        assert emu.last_request.violations == ["contents is required"]
        assert emu.pending_replies == 1  # the rejected request did not consume the reply
        r = http.post(emu.url_for("toy") + "/v1/models/toy-pro:generate", json=TOY)
        assert r.json()["text"] == "kept for later"
        emu.reply(status=429, error="Quota exceeded", error_type="RESOURCE_EXHAUSTED")
        r = http.post(emu.url_for("toy") + "/v1/models/toy-pro:generate", json=TOY)
        assert r.status_code == 429 and r.json() == {"error": {
            "code": 429, "status": "RESOURCE_EXHAUSTED", "message": "Quota exceeded"}}

        r = http.get(emu.url_for("toy") + "/v1/models")
        assert r.json() == {"models": [{"name": "models/toy-1"}, {"name": "models/toy-2"}]}
        r = http.get(emu.base_url + "/toy/v2/nope")  # unknown, under its prefix: its 404 shape
        assert r.status_code == 404 and r.json()["error"]["message"] == "Not Found"
        assert emu.last_request.provider == "toy"

        # The built-in dialects still answer beside it.
        assert oai(emu, http).status_code == 200
        assert oll(emu, http, {"stream": False}).status_code == 200
        assert emu.internal_errors == []


def test_dialects_registry_is_the_default():
    toy = _ToyDialect()
    DIALECTS.append(toy)
    try:
        with Emulator() as emu:
            assert emu.dialects[-1] is toy and emu.url_for("toy") == emu.base_url + "/toy"
    finally:
        DIALECTS.remove(toy)
    with Emulator() as emu:
        assert "toy" not in emu.models
        assert emu.url_for("toy") == emu.base_url + "/v1"  # unknown names: the OpenAI fallback


# ---- Gemini (Generative Language API) ----------------------------------------------------------
# Plain http.client / urllib only: the emulator is the oracle of the library's Gemini codec.

GKEY = {"x-goog-api-key": "AIza-test"}
GUSER = [{"role": "user", "parts": [{"text": "Weather in Paris?"}]}]
WEATHER_DECL = {"functionDeclarations": [{
    "name": "get_weather", "description": "Current weather.",
    "parameters": {"type": "OBJECT", "properties": {"city": {"type": "STRING"}},
                   "required": ["city"]}}]}


def gem(emu, path, body=None, headers=GKEY, method="POST"):
    """(status, lower-cased headers, raw body) of one request over http.client."""
    conn = httpclient.HTTPConnection("127.0.0.1", emu.port, timeout=5)
    try:
        hdrs = dict(headers or {})
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
            hdrs["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def gen(emu, body=None, model="gemini-2.5-flash", action="generateContent", query="",
        headers=GKEY, version="v1beta"):
    payload = {"contents": GUSER}
    payload.update(body or {})
    return gem(emu, "/%s/models/%s:%s%s" % (version, model, action, query), payload, headers)


def gem_sse(raw):
    """The events of a Gemini SSE body, checking its framing: CRLF CRLF after every event,
    ``data:`` lines only, one line of JSON each, no ``[DONE]``."""
    text = raw.decode("utf-8")
    assert text.endswith("\r\n\r\n")
    events = []
    for block in text.split("\r\n\r\n")[:-1]:
        assert block.startswith("data: ") and "\n" not in block and "\r" not in block, block
        events.append(json.loads(block[len("data: "):]))
    return events


def gem_error(status, raw, code=400, kind="INVALID_ARGUMENT"):
    assert status == code, raw
    error = json.loads(raw)["error"]
    assert (error["code"], error["status"]) == (code, kind)
    assert raw.startswith(b'{\n  "error": {\n') and raw.endswith(b"}\n")  # laid out like Google
    return error


def test_gemini_generate_content_text_shape(emu):
    emu.reply(text="There are 3 r's.", usage=(9, 28))
    status, headers, raw = gen(emu)
    assert status == 200 and headers["content-type"] == "application/json; charset=UTF-8"
    assert "content-length" in headers and "transfer-encoding" not in headers
    body = json.loads(raw)
    assert list(body) == ["candidates", "usageMetadata", "modelVersion", "responseId"]
    assert body["candidates"] == [{"content": {"parts": [{"text": "There are 3 r's."}],
                                               "role": "model"},
                                   "finishReason": "STOP", "index": 0}]
    assert body["usageMetadata"] == {"promptTokenCount": 9, "candidatesTokenCount": 28,
                                     "totalTokenCount": 37, "promptTokensDetails": [
                                         {"modality": "TEXT", "tokenCount": 9}]}
    assert body["modelVersion"] == "gemini-2.5-flash"
    assert re.fullmatch(r"[a-z0-9]{23}", body["responseId"])
    rec = emu.last_request
    assert (rec.provider, rec.endpoint, rec.stream, rec.violations) == ("gemini", "chat", False, [])
    assert rec.params["model"] == "gemini-2.5-flash" and rec.reply.text == "There are 3 r's."

    # /v1 works too, with the key in the query; the reply's id and model win.
    emu.reply(text="ok", id="resp-1", model="gemini-x")
    status, _, raw = gen(emu, version="v1", query="?key=AIza-test", headers={})
    body = json.loads(raw)
    assert status == 200 and (body["responseId"], body["modelVersion"]) == ("resp-1", "gemini-x")


def test_gemini_default_echo_usage_estimate_and_cache(emu):
    status, _, raw = gen(emu, {"systemInstruction": {"parts": [{"text": "Be brief."}],
                                                     "role": "user"}})
    body = json.loads(raw)
    assert body["candidates"][0]["content"]["parts"] == [{"text": "You said: Weather in Paris?"}]
    usage = body["usageMetadata"]
    assert usage["promptTokenCount"] == 7  # (9 + 17 characters) / 4, rounded up
    assert usage["totalTokenCount"] == usage["promptTokenCount"] + usage["candidatesTokenCount"]
    emu.reply(text="cached", usage=(100, 5), cache_read=80, reasoning_tokens=3)
    usage = json.loads(gen(emu)[2])["usageMetadata"]
    assert usage == {"promptTokenCount": 100, "candidatesTokenCount": 2, "totalTokenCount": 105,
                     "cachedContentTokenCount": 80,
                     "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 100}],
                     "cacheTokensDetails": [{"modality": "TEXT", "tokenCount": 80}],
                     "thoughtsTokenCount": 3}


def test_gemini_tool_calls_without_and_with_ids(emu):
    emu.reply(tool_calls=[ToolCallSpec("get_weather", {"city": "Paris"}),
                          ToolCallSpec("get_weather", {"city": "Oslo"})], usage=(29, 15))
    status, _, raw = gen(emu, {"tools": [WEATHER_DECL]})
    candidate = json.loads(raw)["candidates"][0]
    assert status == 200
    assert candidate["content"]["parts"] == [
        {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}},
        {"functionCall": {"name": "get_weather", "args": {"city": "Oslo"}}}]
    assert candidate["finishReason"] == "STOP"
    assert candidate["finishMessage"] == "Model generated function call(s)."

    emu.reply(text="Checking.", tool_calls=[ToolCallSpec("get_weather", {"city": "Rome"},
                                                         id="call-7"),
                                            ToolCallSpec("get_weather", "{broken")])
    parts = json.loads(gen(emu, {"tools": [WEATHER_DECL]})[2])["candidates"][0]["content"]["parts"]
    assert parts == [{"text": "Checking."},
                     {"functionCall": {"name": "get_weather", "args": {"city": "Rome"},
                                       "id": "call-7"}},
                     {"functionCall": {"name": "get_weather", "args": {}}}]  # args are an object


def _call_turns(call_parts, response_parts):
    return {"contents": GUSER + [{"role": "model", "parts": call_parts},
                                 {"role": "user", "parts": response_parts}]}


def test_gemini_function_response_round_trip_like_the_recording(emu):
    # function_call_and_response_roundtrip.vcr.yaml: ids added by the client on both sides.
    body = _call_turns(
        [{"functionCall": {"args": {}, "id": "pyd_ai_1", "name": "get_user_country"}}],
        [{"functionResponse": {"id": "pyd_ai_1", "name": "get_user_country",
                               "response": {"return_value": "Mexico"}}}])
    body.update({"generationConfig": {}, "toolConfig": {"functionCallingConfig": {
        "allowedFunctionNames": ["get_user_country", "final_result"], "mode": "ANY"}},
        "tools": [{"functionDeclarations": [
            {"description": "", "name": "get_user_country",
             "parameters": {"properties": {}, "type": "OBJECT"}},
            {"description": "The final response", "name": "final_result",
             "parameters": {"properties": {"city": {"type": "STRING"}},
                            "required": ["city"], "type": "OBJECT"}}]}]})
    status, _, raw = gen(emu, body, model="gemini-2.0-flash")
    assert status == 200, raw
    assert json.loads(raw)["candidates"][0]["content"]["parts"] == [
        {"text": 'You said: {"return_value": "Mexico"}'}]
    assert emu.last_request.violations == []


@pytest.mark.parametrize("body, message", [
    (_call_turns([{"text": "no call"}],
                 [{"functionResponse": {"name": "f", "response": {}}}]),
     "Please ensure that function response turn comes immediately after a function call turn."),
    (_call_turns([{"functionCall": {"name": "f", "args": {}}},
                  {"functionCall": {"name": "g", "args": {}}}],
                 [{"functionResponse": {"name": "f", "response": {}}}]),
     "Please ensure that the number of function response parts is equal to the number of "
     "function call parts of the function call turn."),
    (_call_turns([{"functionCall": {"name": "f", "args": {}}}],
                 [{"functionResponse": {"name": "g", "response": {}}}]),
     "* GenerateContentRequest.contents[2].parts[0].function_response.name: 'g' matches no "
     "function call of the function call turn contents[1] (calls: f)."),
    (_call_turns([{"functionCall": {"name": "f", "args": {}, "id": "c1"}}],
                 [{"functionResponse": {"name": "f", "response": {}, "id": "c2"}}]),
     "* GenerateContentRequest.contents[2].parts[0].function_response.id: 'c2' matches no "
     "function call id of the function call turn contents[1] (ids: c1)."),
    (_call_turns([{"functionCall": {"name": "f", "args": {}, "id": "c1"}}],
                 [{"functionResponse": {"name": "f", "response": "sunny", "id": "c1"}}]),
     "Invalid value at 'contents[2].parts[0].function_response.response' "
     "(type.googleapis.com/google.protobuf.Struct), \"sunny\""),
    ({"contents": [{"role": "model", "parts": [{"functionCall": {"name": "f"}}]}]},
     "Please ensure that function call turn comes immediately after a user turn or after a "
     "function response turn."),
    ({"contents": GUSER + [{"role": "user", "parts": [{"functionCall": {"name": "f"}}]}]},
     "* GenerateContentRequest.contents[1].parts[0].function_call: function calls are only "
     "allowed in model turns."),
])
def test_gemini_function_turn_rules(emu, body, message):
    emu.reply(text="kept")
    error = gem_error(*gen(emu, body)[::2])
    assert error["message"] == message
    assert emu.last_request.violations[0] == message
    assert emu.pending_replies == 1  # a rejected request does not consume the reply


def test_gemini_thinking_signature_and_echo_check(emu):
    emu.reply(thinking="The user wants weather.", usage=(20, 30), reasoning_tokens=25,
              tool_calls=[ToolCallSpec("get_weather", {"city": "Paris"}),
                          ToolCallSpec("get_weather", {"city": "Oslo"})])
    body = json.loads(gen(emu, {"tools": [WEATHER_DECL]}, model="gemini-3-pro-preview")[2])
    parts = body["candidates"][0]["content"]["parts"]
    assert parts[0] == {"text": "The user wants weather.", "thought": True}
    signature = parts[1]["thoughtSignature"]
    assert signature and "thoughtSignature" not in parts[2]  # only the first parallel call
    assert body["usageMetadata"]["thoughtsTokenCount"] == 25
    assert body["usageMetadata"]["candidatesTokenCount"] == 5

    calls = [{"functionCall": p["functionCall"]} for p in parts[1:]]
    responses = [{"functionResponse": {"name": "get_weather", "response": {"t": t}}}
                 for t in ("sunny", "rain")]
    emu.reply(text="Sunny in Paris, rain in Oslo.")
    status, _, raw = gen(emu, dict(_call_turns(calls, responses), tools=[WEATHER_DECL]))
    error = gem_error(status, raw)
    assert error["message"].startswith(
        "Function call is missing a thought_signature in functionCall parts.")
    assert "`default_api:get_weather` , position 2." in error["message"]
    assert emu.pending_replies == 1 and emu.last_request.reply is None

    signed = [dict(calls[0], thoughtSignature=signature), calls[1]]  # echoed untouched: fine
    status, _, raw = gen(emu, dict(_call_turns(signed, responses), tools=[WEATHER_DECL]))
    assert status == 200 and emu.last_request.violations == []
    assert json.loads(raw)["candidates"][0]["content"]["parts"][0]["text"].startswith("Sunny")

    # Only the current turn is checked (as Gemini 3 does): after a new user text turn the old
    # unsigned call is history.
    later = _call_turns(calls, responses)["contents"] + [
        {"role": "model", "parts": [{"text": "Sunny."}]},
        {"role": "user", "parts": [{"text": "Thanks!"}]}]
    assert gen(emu, {"contents": later, "tools": [WEATHER_DECL]})[0] == 200


def test_gemini_signature_placement_and_include_thoughts(emu):
    emu.reply(text="Paris.", thinking_signature="c2lnLTE=")  # no thinking text, still signed
    parts = json.loads(gen(emu)[2])["candidates"][0]["content"]["parts"]
    assert parts == [{"text": "Paris.", "thoughtSignature": "c2lnLTE="}]
    emu.reply(text="Paris.", thinking="Easy.", reasoning_tokens=4)
    body = json.loads(gen(emu, {"generationConfig": {"thinkingConfig": {
        "includeThoughts": False, "thinkingBudget": 1024}}})[2])
    parts = body["candidates"][0]["content"]["parts"]
    assert [p["text"] for p in parts] == ["Paris."] and parts[0]["thoughtSignature"]
    assert body["usageMetadata"]["thoughtsTokenCount"] == 4  # hidden, still counted
    emu.reply(text="Plain.", tool_calls=[ToolCallSpec("get_weather", {"city": "Paris"})])
    parts = json.loads(gen(emu, {"tools": [WEATHER_DECL]})[2])["candidates"][0]["content"]["parts"]
    assert all("thoughtSignature" not in p for p in parts)  # no thinking, no signature
    # An unsigned call is never asked for a signature.
    calls = [{"functionCall": parts[1]["functionCall"]}]
    resp = [{"functionResponse": {"name": "get_weather", "response": {"t": "sunny"}}}]
    assert gen(emu, dict(_call_turns(calls, resp), tools=[WEATHER_DECL]))[0] == 200


def test_gemini_signature_memory_is_per_emulator():
    with Emulator() as first:
        first.reply(thinking="hm", tool_calls=[ToolCallSpec("get_weather", {"city": "Paris"})])
        part = json.loads(gen(first)[2])["candidates"][0]["content"]["parts"][1]
        assert part["thoughtSignature"]
        port = first.port
    unsigned = _call_turns([{"functionCall": part["functionCall"]}],
                           [{"functionResponse": {"name": "get_weather", "response": {}}}])
    with Emulator(port=port) as second:  # the same host:port, a new emulator
        status, _, raw = gen(second, unsigned)
        assert status == 200, raw
    with Emulator() as third:
        assert gen(third, unsigned)[0] == 200


def test_gemini_structured_output_bodies(emu):
    # structured_output_response_json_schema.vcr.yaml, verbatim
    recorded = {"generationConfig": {
        "responseJsonSchema": {"description": "A city and its country.",
                               "properties": {"city": {"type": "string"},
                                              "country": {"type": "string"}},
                               "required": ["city", "country"], "title": "CityLocation",
                               "type": "object"},
        "responseMimeType": "application/json", "responseModalities": ["TEXT"]}}
    emu.reply(text='{"city": "Mexico City", "country": "Mexico"}')
    status, _, raw = gen(emu, recorded, model="gemini-2.0-flash")
    assert status == 200
    assert json.loads(json.loads(raw)["candidates"][0]["content"]["parts"][0]["text"]) == {
        "city": "Mexico City", "country": "Mexico"}
    openapi = {"generationConfig": {"responseMimeType": "application/json", "responseSchema": {
        "type": "OBJECT", "properties": {"n": {"type": "integer", "nullable": True},
                                         "tags": {"type": "ARRAY", "items": {"type": "STRING"}}},
        "propertyOrdering": ["n", "tags"]}}}
    assert gen(emu, openapi)[0] == 200
    # snake_case field names are accepted too (proto JSON)
    snake = {"generation_config": {"response_mime_type": "application/json",
                                   "response_json_schema": {"type": "object"}},
             "system_instruction": {"parts": [{"text": "JSON only."}]}}
    assert gen(emu, snake)[0] == 200


@pytest.mark.parametrize("body, message, field", [
    ({"contents": []}, "* GenerateContentRequest.contents: contents is not specified", None),
    ({"messages": USER}, 'Invalid JSON payload received. Unknown name "messages": Cannot find '
                         "field.", None),
    ({"contents": [{"role": "assistant", "parts": [{"text": "x"}]}]},
     "Please use a valid role: user, model.", None),
    ({"contents": [{"role": "user", "parts": []}]},
     "* GenerateContentRequest.contents[0].parts: contents.parts must not be empty.", None),
    ({"contents": [{"role": "user", "content": "hi"}]},
     'Invalid JSON payload received. Unknown name "content" at \'contents[0]\': Cannot find '
     "field.", "contents[0]"),
    ({"contents": [{"role": "user", "parts": [{"thoughtSignature": "c2ln"}]}]},
     "* GenerateContentRequest.contents[0].parts[0].data: required oneof field 'data' must have "
     "one initialized field", None),
    ({"contents": [{"role": "user", "parts": [{"text": "a", "inlineData": {
        "mimeType": "image/png", "data": "iVBORw0KGgo="}}]}]},
     "Invalid JSON payload received. Oneof field 'data' is already set. Cannot set 'inlineData'",
     "contents[0].parts[0]"),
    ({"contents": [{"role": "user", "parts": [{"inlineData": {
        "mimeType": "image/png", "data": "data:image/png;base64,iVBORw0KGgo="}}]}]},
     "Invalid value at 'contents[0].parts[0].inline_data.data' (TYPE_BYTES), Base64 decoding "
     "failed for \"data:image/png;base64,iVBORw0KGgo=\"", "contents[0].parts[0].inline_data.data"),
    ({"tools": [{"functionDeclarations": [{"name": "9lives"}]}]},
     "* GenerateContentRequest.tools[0].function_declarations[0].name: Invalid function name. "
     "Must start with a letter or an underscore. Must be a-z, A-Z, 0-9, or contain underscores, "
     "dots and dashes, with a maximum length of 64.", None),
    ({"tools": [{"functionDeclarations": [{"name": "f", "parameters": {"type": "OBJECT"},
                                           "parametersJsonSchema": {"type": "object"}}]}]},
     "* GenerateContentRequest.tools[0].function_declarations[0]: only one of parameters and "
     "parameters_json_schema may be set.", None),
    ({"tools": [{"functionDeclarations": [{"name": "f", "parameters": {
        "type": "OBJECT", "properties": {"x": {"type": ["string", "null"]}}}}]}]},
     "Invalid value at 'tools[0].function_declarations[0].parameters.properties[x].type' "
     "(type.googleapis.com/google.ai.generativelanguage.v1beta.Type), [\"string\", \"null\"]",
     "tools[0].function_declarations[0].parameters.properties[x].type"),
    ({"tools": [{"type": "function", "function": {"name": "f"}}]},
     'Invalid JSON payload received. Unknown name "type" at \'tools[0]\': Cannot find field.',
     "tools[0]"),
    ({"toolConfig": {"functionCallingConfig": {"mode": "REQUIRED"}}},
     "Invalid value at 'tool_config.function_calling_config.mode' "
     "(type.googleapis.com/google.ai.generativelanguage.v1beta.FunctionCallingConfig.Mode), "
     "\"REQUIRED\"", "tool_config.function_calling_config.mode"),
    ({"tools": [WEATHER_DECL], "toolConfig": {"functionCallingConfig": {
        "mode": "AUTO", "allowedFunctionNames": ["get_weather"]}}},
     "* GenerateContentRequest.tool_config.function_calling_config.allowed_function_names: "
     "allowed_function_names may only be set when mode is ANY or VALIDATED.", None),
    ({"tools": [WEATHER_DECL], "toolConfig": {"functionCallingConfig": {
        "mode": "ANY", "allowedFunctionNames": ["get_time"]}}},
     "* GenerateContentRequest.tool_config.function_calling_config.allowed_function_names: "
     "'get_time' is not the name of a declared function.", None),
    ({"generationConfig": {"temperature": 2.5}},
     "* GenerateContentRequest.generation_config.temperature: temperature must be in the range "
     "[0.0, 2.0].", None),
    ({"generationConfig": {"topP": 1.5}},
     "* GenerateContentRequest.generation_config.top_p: top_p must be in the range [0.0, 1.0].",
     None),
    ({"generationConfig": {"maxOutputTokens": "many"}},
     "Invalid value at 'generation_config.max_output_tokens' (TYPE_INT32), \"many\"",
     "generation_config.max_output_tokens"),
    ({"generationConfig": {"maxOutputTokens": 0}},
     "* GenerateContentRequest.generation_config.max_output_tokens: max_output_tokens must be a "
     "positive integer.", None),
    ({"generationConfig": {"stopSequences": ["a", "b", "c", "d", "e", "f"]}},
     "* GenerateContentRequest.generation_config.stop_sequences: at most 5 stop sequences are "
     "allowed, got 6.", None),
    ({"generationConfig": {"candidateCount": 0}},
     "* GenerateContentRequest.generation_config.candidate_count: candidate_count must be a "
     "positive integer.", None),
    ({"generationConfig": {"responseMimeType": "json"}},
     "* GenerateContentRequest.generation_config.response_mime_type: allowed mimetypes are "
     "`text/plain`, `application/json`, `application/xml`, `application/yaml` and "
     "`text/x.enum`.", None),
    ({"generationConfig": {"responseMimeType": "application/json",
                           "responseSchema": {"type": "OBJECT"},
                           "responseJsonSchema": {"type": "object"}}},
     "* GenerateContentRequest.generation_config: only one of response_schema and "
     "response_json_schema may be set.", None),
    ({"generationConfig": {"responseJsonSchema": {"type": "object"}}},
     "* GenerateContentRequest.generation_config.response_mime_type: a response schema needs "
     "response_mime_type application/json (or text/x.enum), got null.", None),
    ({"generationConfig": {"thinkingConfig": {"thinkingBudget": 128, "thinkingLevel": "HIGH"}}},
     "* GenerateContentRequest.generation_config.thinking_config: only one of thinking_budget "
     "and thinking_level may be set.", None),
    ({"generationConfig": {"thinkingConfig": {"includeThoughts": "yes"}}},
     "Invalid value at 'generation_config.thinking_config.include_thoughts' (TYPE_BOOL), \"yes\"",
     "generation_config.thinking_config.include_thoughts"),
    ({"generationConfig": {"max_tokens": 5}},
     'Invalid JSON payload received. Unknown name "max_tokens" at \'generation_config\': Cannot '
     "find field.", "generation_config"),
    ({"systemInstruction": "Be brief."},
     "Invalid value at 'system_instruction' "
     "(type.googleapis.com/google.ai.generativelanguage.v1beta.Content), \"Be brief.\"",
     "system_instruction"),
    ({"systemInstruction": {"parts": []}},
     "* GenerateContentRequest.system_instruction.parts: contents.parts must not be empty.",
     None),
])
def test_gemini_contract(emu, body, message, field):
    emu.reply(text="kept for a valid request")
    error = gem_error(*gen(emu, body)[::2])
    assert error["message"] == message
    if field is None:
        assert "details" not in error
    else:
        assert error["details"] == [{"@type": "type.googleapis.com/google.rpc.BadRequest",
                                     "fieldViolations": [{"field": field,
                                                          "description": message}]}]
    rec = emu.last_request
    assert rec.violations[0] == message and rec.status == 400 and rec.reply is None
    assert emu.pending_replies == 1


def test_gemini_bodies_that_are_not_json_objects(emu):
    status, _, raw = gem(emu, "/v1beta/models/m:generateContent", b"{not json")
    assert gem_error(status, raw)["message"].startswith("Invalid JSON payload received. ")
    status, _, raw = gem(emu, "/v1beta/models/m:generateContent", [1, 2])
    assert gem_error(status, raw)["message"] == (
        'Invalid JSON payload received. Unknown name "": Root element must be a message.')
    status, _, raw = gem(emu, "/v1beta/models/m:generateContent", b"")
    assert gem_error(status, raw)["message"] == (
        "* GenerateContentRequest.contents: contents is not specified")


def test_gemini_valid_rich_request_is_accepted(emu):
    body = {
        "model": "models/gemini-2.5-flash",
        "contents": [{"role": "user", "parts": [
            {"text": "What is in the picture?"},
            {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
            {"fileData": {"mimeType": "application/pdf", "fileUri": "https://x/y.pdf"}}]}],
        "tools": [WEATHER_DECL, {"googleSearch": {}},
                  {"functionDeclarations": [{"name": "ns.lookup-v2",
                                             "parametersJsonSchema": {"type": "object"}}]}],
        "toolConfig": {"functionCallingConfig": {"mode": "ANY",
                                                 "allowedFunctionNames": ["get_weather"]}},
        "generationConfig": {"temperature": 0.5, "topP": 0.95, "topK": 32,
                             "maxOutputTokens": 512, "stopSequences": ["###"],
                             "candidateCount": 1, "seed": 7,
                             "thinkingConfig": {"thinkingBudget": -1, "includeThoughts": True}},
        "safetySettings": [{"category": "HARM_CATEGORY_HATE_SPEECH",
                            "threshold": "BLOCK_ONLY_HIGH"}, {"category": 10, "threshold": 3}],
        "cachedContent": "cachedContents/abc",
    }
    status, _, raw = gen(emu, body)
    assert status == 200, raw
    assert emu.last_request.violations == []


def test_gemini_sse_stream_framing_and_cumulative_usage(emu):
    emu.reply(text="The capital of France is Paris.", usage=(15, 8))
    status, headers, raw = gen(emu, action="streamGenerateContent", query="?alt=sse")
    assert status == 200 and headers["content-type"] == "text/event-stream"
    assert headers["transfer-encoding"] == "chunked"
    assert b"[DONE]" not in raw and b"event:" not in raw
    assert b"\n" not in raw.replace(b"\r\n", b"")  # every line ends with CRLF
    events = gem_sse(raw)
    assert len(events) == 6
    assert "".join(e["candidates"][0]["content"]["parts"][0]["text"] for e in events) == \
        "The capital of France is Paris."
    counts = [e["usageMetadata"].get("candidatesTokenCount", 0) for e in events]
    assert counts == sorted(counts) and counts[-1] == 8
    assert all(e["usageMetadata"]["promptTokenCount"] == 15 for e in events)
    assert [("finishReason" in e["candidates"][0]) for e in events] == [False] * 5 + [True]
    assert events[-1]["candidates"][0]["finishReason"] == "STOP"
    assert all(e["candidates"][0]["index"] == 0 and e["candidates"][0]["content"]["role"] == "model"
               for e in events)
    assert len({e["responseId"] for e in events}) == 1
    rec = emu.last_request
    assert rec.stream is True and rec.query_params == {"alt": "sse"}

    # One event per write: each chunk of the chunked body is one CRLF-framed event.
    emu.reply(text="a b c")
    payload = json.dumps({"contents": GUSER}).encode()
    raw = raw_exchange(emu.port, raw_post(
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", payload, GKEY))
    head, chunks, terminated = split_chunked(raw)
    assert terminated and len(chunks) == 3
    assert all(c.startswith(b"data: {") and c.endswith(b"}\r\n\r\n") for c in chunks)


def test_gemini_json_array_stream(emu):
    emu.reply(text="one two three", usage=(4, 3))
    status, headers, raw = gen(emu, action="streamGenerateContent")
    assert status == 200 and headers["content-type"] == "application/json; charset=UTF-8"
    assert headers["transfer-encoding"] == "chunked"
    assert raw.startswith(b"[{") and raw.endswith(b"}\r\n]") and raw.count(b"\r\n,\r\n") == 2
    items = json.loads(raw)
    assert [i["candidates"][0]["content"]["parts"][0]["text"] for i in items] == \
        ["one", " two", " three"]
    assert items[-1]["candidates"][0]["finishReason"] == "STOP"
    assert items[-1]["usageMetadata"]["candidatesTokenCount"] == 3
    assert emu.last_request.stream is True
    emu.reply(text="x")
    status, headers, raw = gen(emu, action="streamGenerateContent", query="?alt=json&key=k")
    assert headers["content-type"].startswith("application/json") and len(json.loads(raw)) == 1
    emu.reply(text="x")  # the gapic spelling of the parameter
    status, headers, raw = gen(emu, action="streamGenerateContent", query="?%24alt=sse")
    assert headers["content-type"] == "text/event-stream" and len(gem_sse(raw)) == 1


def test_gemini_stream_thinking_tool_calls_and_signatures(emu):
    emu.reply(thinking="Pondering the weather", text="Let me look.", reasoning_tokens=6,
              tool_calls=[ToolCallSpec("get_weather", {"city": "Zürich"}),
                          ToolCallSpec("get_weather", {"city": "Oslo"}, id="c2")],
              usage=(10, 20))
    events = gem_sse(gen(emu, {"tools": [WEATHER_DECL]}, action="streamGenerateContent",
                         query="?alt=sse")[2])
    parts = [e["candidates"][0]["content"]["parts"] for e in events]
    assert all(len(p) == 1 for p in parts)  # only the new part in each event
    thoughts = [p[0] for p in parts if p[0].get("thought")]
    assert "".join(t["text"] for t in thoughts) == "Pondering the weather"
    assert parts[:len(thoughts)] == [[t] for t in thoughts]  # thoughts first
    calls = [p[0] for p in parts if "functionCall" in p[0]]
    assert [c["functionCall"] for c in calls] == [
        {"name": "get_weather", "args": {"city": "Zürich"}},
        {"name": "get_weather", "args": {"city": "Oslo"}, "id": "c2"}]
    assert calls[0]["thoughtSignature"] and "thoughtSignature" not in calls[1]
    assert parts[-1] == [calls[1]]
    last = events[-1]["candidates"][0]
    assert last["finishReason"] == "STOP" and last["finishMessage"].startswith("Model generated")
    usage = [e["usageMetadata"] for e in events]
    assert [u.get("thoughtsTokenCount", 0) for u in usage[:len(thoughts)]] == [2, 4, 6]
    assert all(u["thoughtsTokenCount"] == 6 for u in usage[len(thoughts):])
    assert usage[-1]["candidatesTokenCount"] == 14 and usage[-1]["totalTokenCount"] == 30

    # Without calls the signature comes last, on a signature-only part (as recorded).
    emu.reply(text="Answer.", thinking="Hm.", thinking_signature="c2lnLTk=")
    events = gem_sse(gen(emu, action="streamGenerateContent", query="?alt=sse")[2])
    assert events[-1]["candidates"][0]["content"]["parts"] == [
        {"text": "", "thoughtSignature": "c2lnLTk="}]
    assert events[-1]["candidates"][0]["finishReason"] == "STOP"
    assert all("finishReason" not in e["candidates"][0] for e in events[:-1])


def test_gemini_stream_faults(emu):
    emu.reply(text="partial answer", stream_error="The model is overloaded.",
              error_type="UNAVAILABLE")
    events = gem_sse(gen(emu, action="streamGenerateContent", query="?alt=sse")[2])
    assert events[-1] == {"error": {"code": 503, "message": "The model is overloaded.",
                                    "status": "UNAVAILABLE"}}
    assert "".join(e["candidates"][0]["content"]["parts"][0]["text"] for e in events[:-1]) == \
        "partial answer"
    assert all("finishReason" not in e["candidates"][0] for e in events[:-1])

    emu.reply(text="partial", stream_error="boom")
    items = json.loads(gen(emu, action="streamGenerateContent")[2])  # the array stays valid JSON
    assert items[-1] == {"error": {"code": 500, "message": "boom", "status": "INTERNAL"}}

    emu.reply(text="one two three four", break_after=2)
    payload = json.dumps({"contents": GUSER}).encode()
    raw = raw_exchange(emu.port, raw_post(
        "/v1beta/models/m:streamGenerateContent?alt=sse", payload, GKEY))
    head, chunks, terminated = split_chunked(raw)
    assert head.startswith("HTTP/1.1 200") and not terminated and len(chunks) == 2

    emu.reply(text="tok ", repeat_chunks=500)
    events = gem_sse(gen(emu, action="streamGenerateContent", query="?alt=sse")[2])
    assert len(events) == 500 and events[-1]["candidates"][0]["finishReason"] == "STOP"

    emu.reply(status=503, error="busy")  # errors are never streamed
    status, headers, raw = gen(emu, action="streamGenerateContent", query="?alt=sse")
    assert headers["content-type"] == "application/json; charset=UTF-8"
    assert gem_error(status, raw, 503, "UNAVAILABLE")["message"] == "busy"


def test_gemini_blocked_prompt_and_finish_reasons(emu):
    emu.reply(prompt_blocked=True, usage=(8, 0))
    body = json.loads(gen(emu)[2])
    assert "candidates" not in body
    assert body["promptFeedback"]["blockReason"] == "SAFETY"
    assert body["usageMetadata"] == {"promptTokenCount": 8, "totalTokenCount": 8,
                                     "promptTokensDetails": [{"modality": "TEXT",
                                                              "tokenCount": 8}]}
    emu.reply(prompt_blocked="PROHIBITED_CONTENT")
    events = gem_sse(gen(emu, action="streamGenerateContent", query="?alt=sse")[2])
    assert len(events) == 1 and events[0]["promptFeedback"] == {"blockReason": "PROHIBITED_CONTENT"}
    assert "candidates" not in events[0]
    # Elsewhere a blocked prompt is an empty content_filter answer.
    emu.reply(prompt_blocked=True)
    assert oai(emu, requests).json()["choices"][0]["finish_reason"] == "content_filter"

    for unified, wire in [("length", "MAX_TOKENS"), ("content_filter", "SAFETY"),
                          ("RECITATION", "RECITATION"), ("error", "MALFORMED_FUNCTION_CALL"),
                          ("other", "OTHER")]:
        emu.reply(text="cut", finish_reason=unified)
        assert json.loads(gen(emu)[2])["candidates"][0]["finishReason"] == wire
    emu.reply(finish_reason="length", thinking="long thoughts", usage=(5, 50), reasoning_tokens=50)
    candidate = json.loads(gen(emu, {"generationConfig": {"thinkingConfig": {
        "includeThoughts": False}}})[2])["candidates"][0]
    assert candidate["content"] == {"role": "model"}  # no parts: thinking used the budget
    assert candidate["finishReason"] == "MAX_TOKENS"


def test_gemini_errors_and_auth(emu):
    status, headers, raw = gen(emu, headers={})
    error = gem_error(status, raw, 403, "PERMISSION_DENIED")
    assert error["message"].startswith("Method doesn't allow unregistered callers")
    assert len(raw) == 248  # byte for byte the recorded body (error_403_permission_denied)
    status, _, raw = gen(emu, headers={"Authorization": "Bearer AIza-key-as-bearer"})
    assert gem_error(status, raw, 401, "UNAUTHENTICATED")["message"].startswith(
        "Request had invalid authentication credentials.")
    emu.reply(text="oauth ok")
    assert gen(emu, headers={"Authorization": "Bearer ya29.token"})[0] == 200
    with Emulator(require_auth=False) as open_emu:
        assert gen(open_emu, headers={})[0] == 200

    emu.reply(status=429, error="You exceeded your current quota, please check your plan.",
              headers={"retry-after": "34.4"})
    status, headers, raw = gen(emu)
    error = gem_error(status, raw, 429, "RESOURCE_EXHAUSTED")
    assert error["details"] == [  # error_429_resource_exhausted_retryinfo.json
        {"@type": "type.googleapis.com/google.rpc.QuotaFailure",
         "violations": [{"quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier"}]},
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "34.4s"}]
    assert headers["retry-after"] == "34.4"
    emu.reply(status=503, headers={"retry-after-ms": "150"})
    status, _, raw = gen(emu)
    error = gem_error(status, raw, 503, "UNAVAILABLE")
    assert error["message"] == "The model is overloaded. Please try again later."
    assert error["details"] == [{"@type": "type.googleapis.com/google.rpc.RetryInfo",
                                 "retryDelay": "0.15s"}]
    emu.reply(status=429)
    error = gem_error(*gen(emu)[::2], 429, "RESOURCE_EXHAUSTED")
    assert [d["@type"].rsplit(".", 1)[1] for d in error["details"]] == ["QuotaFailure"]
    emu.reply(status=400, error="User location is not supported for the API use.",
              error_type="FAILED_PRECONDITION")
    gem_error(*gen(emu)[::2], 400, "FAILED_PRECONDITION")
    emu.reply(status=500)
    assert "details" not in gem_error(*gen(emu)[::2], 500, "INTERNAL")
    # a contract violation right after a scripted error carries no stale RetryInfo
    emu.reply(status=429, headers={"retry-after": "1"})
    gen(emu)
    assert "details" not in gem_error(*gen(emu, {"contents": []})[::2])


def test_gemini_unknown_paths_and_methods(emu):
    for path in ("/v1beta/models/gemini-2.5-flash:generateAnswer", "/v1beta/nope",
                 "/v1/models/gemini-2.5-flash:computeTokens"):
        status, _, raw = gem(emu, path, {"contents": GUSER})
        assert gem_error(status, raw, 404, "NOT_FOUND")["message"] == "Method not found."
        rec = emu.last_request
        assert rec.provider == "gemini" and rec.endpoint == "unknown"
        assert rec.violations == ["unknown endpoint: POST %s" % path]
    status, _, raw = gem(emu, "/v1beta/models/gemini-2.5-flash:generateContent", method="GET")
    assert status == 404


def test_gemini_models_list_and_paging():
    models = {"gemini": ["gemini-2.5-flash", "gemini-2.5-pro", "gemini-embedding-001"]}
    with Emulator(models=models) as emu:
        url = emu.url_for("gemini") + "/v1beta/models"
        with urllib.request.urlopen(urllib.request.Request(url, headers=GKEY)) as resp:
            assert resp.headers["content-type"] == "application/json; charset=UTF-8"
            listing = json.loads(resp.read())
        assert [m["name"] for m in listing["models"]] == [
            "models/gemini-2.5-flash", "models/gemini-2.5-pro", "models/gemini-embedding-001"]
        flash = listing["models"][0]
        assert flash["displayName"] == "Gemini 2.5 Flash"
        assert "generateContent" in flash["supportedGenerationMethods"]
        assert {"inputTokenLimit", "outputTokenLimit", "version"} <= set(flash)
        assert listing["models"][2]["supportedGenerationMethods"][0] == "embedContent"
        assert "nextPageToken" not in listing

        with urllib.request.urlopen(url + "?pageSize=2&key=k") as resp:
            first = json.loads(resp.read())
        assert len(first["models"]) == 2 and first["nextPageToken"]
        with urllib.request.urlopen(url + "?pageSize=2&key=k&pageToken="
                                    + first["nextPageToken"]) as resp:
            second = json.loads(resp.read())
        assert [m["name"] for m in second["models"]] == ["models/gemini-embedding-001"]
        assert "nextPageToken" not in second
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(url + "?key=k&pageToken=bogus!")
        assert info.value.code == 400 and json.loads(info.value.read())["error"]["status"] == \
            "INVALID_ARGUMENT"
        info.value.close()
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(url)  # no key
        assert info.value.code == 403
        info.value.close()

        # /v1/models is shared: the x-goog-api-key header picks Gemini, else OpenAI answers.
        status, _, raw = gem(emu, "/v1/models", headers=GKEY, method="GET")
        assert status == 200 and "models" in json.loads(raw)
        assert emu.last_request.provider == "gemini"
        status, _, raw = gem(emu, "/v1/models", headers=OAI, method="GET")
        assert json.loads(raw)["object"] == "list" and emu.last_request.provider == "openai"


def test_gemini_keep_alive_and_other_dialects_unaffected(emu):
    conn = httpclient.HTTPConnection("127.0.0.1", emu.port, timeout=5)
    try:
        for action, query in (("generateContent", ""), ("streamGenerateContent", "?alt=sse"),
                              ("streamGenerateContent", "")):
            conn.request("POST", "/v1beta/models/m:%s%s" % (action, query),
                         body=json.dumps({"contents": GUSER}),
                         headers=dict(GKEY, **{"Content-Type": "application/json"}))
            resp = conn.getresponse()
            assert resp.status == 200 and b"Paris?" in resp.read()
    finally:
        conn.close()
    assert emu.connections_opened == 1
    with requests.Session() as s:
        assert oai(emu, s).status_code == 200 and ant(emu, s).status_code == 200
        assert oll(emu, s, {"stream": False}).status_code == 200
    assert emu.internal_errors == []


# ---- Vertex AI (Google and Anthropic publishers) ------------------------------------------------
# Plain http.client / urllib only: the emulator is the oracle of the library's Vertex codec.

VBEARER = {"Authorization": "Bearer ya29.vertex-token-1"}
VRES = "/v1/projects/my-proj/locations/us-central1/publishers/"
VCLAUDE = "claude-sonnet-4@20250514"
VMSG = {"anthropic_version": "vertex-2023-10-16", "max_tokens": 1024, "messages": USER}
STREAM_ARGS = {"functionCallingConfig": {"mode": "AUTO", "streamFunctionCallArguments": True}}


def vgen(emu, body=None, action="generateContent", query="", headers=VBEARER,
         model="gemini-2.5-flash", resource=VRES):
    payload = {"contents": GUSER}
    payload.update(body or {})
    return gem(emu, "%sgoogle/models/%s:%s%s" % (resource, model, action, query), payload, headers)


def vraw(emu, body=None, action="rawPredict", headers=VBEARER, drop=(), model=VCLAUDE):
    payload = dict(VMSG, **({"stream": True} if action == "streamRawPredict" else {}))
    payload.update(body or {})
    for key in drop:
        payload.pop(key)
    return gem(emu, "%santhropic/models/%s:%s" % (VRES, model, action), payload, headers)


def ant_error(status, headers, raw, code=400, kind="invalid_request_error"):
    assert status == code, raw
    assert headers["content-type"] == "application/json"
    body = json.loads(raw)
    assert body["type"] == "error" and body["error"]["type"] == kind
    return body["error"]["message"]


def test_vertex_routes_versions_and_recorded_params(emu):
    assert emu.url_for("vertex") == emu.base_url  # the codec appends /v1/projects/...
    emu.reply(text="ok")
    status, _, _ = vgen(emu, resource="/v1beta1/projects/pydantic-ai/locations/global/"
                                      "publishers/")
    assert status == 200
    rec = emu.last_request
    assert (rec.provider, rec.endpoint, rec.stream, rec.violations) == ("vertex", "chat", False, [])
    assert rec.params == {"version": "v1beta1", "project": "pydantic-ai", "location": "global",
                          "publisher": "google", "model": "gemini-2.5-flash",
                          "action": "generateContent"}
    assert vraw(emu)[0] == 200
    rec = emu.last_request
    assert (rec.params["publisher"], rec.params["model"], rec.params["action"]) == (
        "anthropic", VCLAUDE, "rawPredict")
    assert rec.messages == USER and rec.stream is False
    assert vraw(emu, action="streamRawPredict")[0] == 200 and emu.last_request.stream is True
    assert vgen(emu, action="streamGenerateContent", query="?alt=sse")[0] == 200
    assert emu.last_request.stream is True
    assert emu.internal_errors == []


def test_vertex_google_generate_content_like_the_recording(emu):
    # gemini/vertex_generate_content.vcr.yaml: the request and the response's shape.
    emu.reply(text="The capital of France is Paris.\n", usage=(13, 8))
    status, headers, raw = vgen(emu, {
        "contents": [{"parts": [{"text": "What is the capital of France?"}], "role": "user"}],
        "generationConfig": {},
        "systemInstruction": {"parts": [{"text": "You are a helpful chatbot."}], "role": "user"}},
        model="gemini-2.0-flash",
        resource="/v1beta1/projects/pydantic-ai/locations/global/publishers/")
    assert status == 200 and headers["content-type"] == "application/json; charset=UTF-8"
    assert headers["vary"] == "Origin, X-Origin, Referer"
    body = json.loads(raw)
    assert list(body) == ["candidates", "usageMetadata", "modelVersion", "createTime",
                          "responseId"]
    candidate, = body["candidates"]
    assert "index" not in candidate  # proto3 JSON leaves index 0 out, as recorded
    assert candidate["content"] == {"parts": [{"text": "The capital of France is Paris.\n"}],
                                    "role": "model"}
    assert candidate["finishReason"] == "STOP" and candidate["avgLogprobs"] < 0
    assert body["usageMetadata"] == {
        "promptTokenCount": 13, "candidatesTokenCount": 8, "totalTokenCount": 21,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 13}],
        "candidatesTokensDetails": [{"modality": "TEXT", "tokenCount": 8}],
        "trafficType": "ON_DEMAND"}
    assert body["modelVersion"] == "gemini-2.0-flash"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", body["createTime"])
    assert emu.last_request.violations == []

    # The default echo and tool calls render as on the Gemini API (no id unless given).
    emu.reply(tool_calls=[ToolCallSpec("get_weather", {"city": "Paris"})])
    body = json.loads(vgen(emu, {"tools": [WEATHER_DECL]})[2])
    assert body["candidates"][0]["content"]["parts"] == [
        {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}]
    assert body["candidates"][0]["finishMessage"] == "Model generated function call(s)."
    body = json.loads(vgen(emu)[2])
    assert body["candidates"][0]["content"]["parts"] == [{"text": "You said: Weather in Paris?"}]


def test_vertex_google_sse_and_json_array_streams(emu):
    emu.reply(text="The capital of France is Paris.", usage=(15, 8))
    status, headers, raw = vgen(emu, action="streamGenerateContent", query="?alt=sse")
    assert status == 200 and headers["content-type"] == "text/event-stream"
    assert headers["transfer-encoding"] == "chunked"
    events = gem_sse(raw)  # CRLF framing, data: lines only, no [DONE]
    assert len(events) == 6
    assert "".join(e["candidates"][0]["content"]["parts"][0]["text"] for e in events) == \
        "The capital of France is Paris."
    assert [("finishReason" in e["candidates"][0]) for e in events] == [False] * 5 + [True]
    assert all("index" not in e["candidates"][0] and "avgLogprobs" not in e["candidates"][0]
               for e in events)
    assert all(e["usageMetadata"]["trafficType"] == "ON_DEMAND" for e in events)
    assert len({(e["createTime"], e["responseId"]) for e in events}) == 1
    counts = [e["usageMetadata"].get("candidatesTokenCount", 0) for e in events]
    assert counts == sorted(counts) and counts[-1] == 8
    assert events[-1]["usageMetadata"]["candidatesTokensDetails"] == [
        {"modality": "TEXT", "tokenCount": 8}]

    emu.reply(text="one two three", usage=(4, 3))
    status, headers, raw = vgen(emu, action="streamGenerateContent")
    assert headers["content-type"] == "application/json; charset=UTF-8"
    assert raw.startswith(b"[{") and raw.endswith(b"}\r\n]")
    items = json.loads(raw)
    assert [i["candidates"][0]["content"]["parts"][0]["text"] for i in items] == \
        ["one", " two", " three"]
    assert all("createTime" in i for i in items) and emu.last_request.stream is True

    emu.reply(text="partial", stream_error="The model is overloaded.", error_type="UNAVAILABLE")
    events = gem_sse(vgen(emu, action="streamGenerateContent", query="?alt=sse")[2])
    assert events[-1] == {"error": {"code": 503, "message": "The model is overloaded.",
                                    "status": "UNAVAILABLE"}}


def _partial_arg_value(arg):
    for key in ("stringValue", "numberValue", "boolValue"):
        if key in arg:
            return arg[key]
    assert arg["nullValue"] == "NULL_VALUE"
    return None


def _set_json_path(target, path, value):
    """Assign ``value`` at an RFC 9535 path (``$.a['b c'][0]``) in ``target``, making the
    containers on the way."""
    assert path.startswith("$")
    steps = [m.group(1) if m.group(1) is not None
             else int(m.group(2)) if m.group(2) is not None
             else m.group(3).replace("\\'", "'").replace("\\\\", "\\")
             for m in re.finditer(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\['((?:[^'\\]|\\.)*)'\]",
                                  path[1:])]
    node = target
    for step, following in zip(steps, steps[1:] + [None]):
        empty = [] if isinstance(following, int) else {}
        if following is None:
            node_value = value
        elif isinstance(node, list):
            node_value = node[step] if step < len(node) else empty
        else:
            node_value = node.get(step, empty)
        if isinstance(node, list):
            if step == len(node):
                node.append(node_value)
            else:
                node[step] = node_value
        else:
            node[step] = node_value
        node = node_value


def rebuild_streamed_calls(parts):
    """The function calls a client reassembles from Vertex's partialArgs events."""
    calls, current, strings = [], None, {}
    for part in parts:
        call = part.get("functionCall")
        if call is None:
            continue
        if "name" in call:
            assert current is None and call["willContinue"] is True
            current = {"name": call["name"], "args": {}}
            if "id" in call:
                current["id"] = call["id"]
            if "thoughtSignature" in part:
                current["thoughtSignature"] = part["thoughtSignature"]
            strings = {}
        elif call == {}:
            calls.append(current)
            current = None
        else:
            assert set(call) == {"partialArgs"} and current is not None
            for arg in call["partialArgs"]:
                path, value = arg["jsonPath"], _partial_arg_value(arg)
                if "stringValue" in arg:
                    strings[path] = strings.get(path, "") + value
                    value = strings[path]
                _set_json_path(current["args"], path, value)
    assert current is None  # every call was closed
    return calls


def test_vertex_streamed_function_call_arguments_partial_args(emu):
    args = {"city": "Paris, France", "days": 3, "metric": True, "note": None,
            "trip": {"stops": [{"name": "Lyon"}, {"name": "Nice"}]}, "odd key": "it's"}
    emu.reply(thinking="Weather lookup.", usage=(10, 40),
              tool_calls=[ToolCallSpec("get_weather", args, id="call-1"),
                          ToolCallSpec("get_time", {}, id="call-2")])
    status, _, raw = vgen(emu, {"tools": [WEATHER_DECL], "toolConfig": STREAM_ARGS},
                          action="streamGenerateContent", query="?alt=sse")
    assert status == 200, raw
    events = gem_sse(raw)
    parts = [e["candidates"][0]["content"]["parts"] for e in events]
    assert all(len(p) == 1 for p in parts)
    parts = [p[0] for p in parts]
    thoughts = [p for p in parts if p.get("thought")]
    assert "".join(t["text"] for t in thoughts) == "Weather lookup."
    calls = parts[len(thoughts):]
    assert all("functionCall" in p for p in calls)
    # The first call: opened with its name (and the signature), then one piece per event.
    assert calls[0] == {"functionCall": {"name": "get_weather", "id": "call-1",
                                         "willContinue": True},
                        "thoughtSignature": calls[0]["thoughtSignature"]}
    pieces = [p["functionCall"]["partialArgs"] for p in calls[1:9]]
    assert pieces == [
        [{"jsonPath": "$.city", "stringValue": "Pari", "willContinue": True}],
        [{"jsonPath": "$.city", "stringValue": "s, F", "willContinue": True}],
        [{"jsonPath": "$.city", "stringValue": "ranc", "willContinue": True}],
        [{"jsonPath": "$.city", "stringValue": "e"}],
        [{"jsonPath": "$.days", "numberValue": 3}],
        [{"jsonPath": "$.metric", "boolValue": True}],
        [{"jsonPath": "$.note", "nullValue": "NULL_VALUE"}],
        [{"jsonPath": "$.trip.stops[0].name", "stringValue": "Lyon"}]]
    assert calls[9]["functionCall"]["partialArgs"] == [
        {"jsonPath": "$.trip.stops[1].name", "stringValue": "Nice"}]
    assert calls[10]["functionCall"]["partialArgs"] == [
        {"jsonPath": "$['odd key']", "stringValue": "it's"}]
    assert calls[11] == {"functionCall": {}}  # closes the first call
    # The second call has no arguments: opened, then closed.
    assert calls[12:] == [{"functionCall": {"name": "get_time", "id": "call-2",
                                            "willContinue": True}},
                          {"functionCall": {}}]
    finals = ["finishReason" in e["candidates"][0] for e in events]
    assert finals == [False] * (len(events) - 1) + [True]
    assert events[-1]["candidates"][0]["finishMessage"] == "Model generated function call(s)."
    first_call_usage = {json.dumps(e["usageMetadata"])
                        for e in events[len(thoughts):len(thoughts) + 12]}
    assert len(first_call_usage) == 1  # the pieces of one call repeat its cumulative usage
    assert events[-1]["usageMetadata"]["candidatesTokenCount"] + \
        events[-1]["usageMetadata"]["thoughtsTokenCount"] == 40

    rebuilt = rebuild_streamed_calls(parts)
    assert [c["name"] for c in rebuilt] == ["get_weather", "get_time"]
    assert rebuilt[0]["args"] == args and rebuilt[1] == {"name": "get_time", "args": {},
                                                         "id": "call-2"}

    # The rebuilt, signed call replayed in the next turn passes the thought-signature check.
    call_parts = [{"functionCall": {"name": "get_weather", "args": rebuilt[0]["args"],
                                    "id": "call-1"},
                   "thoughtSignature": rebuilt[0]["thoughtSignature"]},
                  {"functionCall": {"name": "get_time", "args": {}, "id": "call-2"}}]
    responses = [{"functionResponse": {"name": "get_weather", "id": "call-1",
                                       "response": {"t": "sunny"}}},
                 {"functionResponse": {"name": "get_time", "id": "call-2",
                                       "response": {"t": "noon"}}}]
    emu.reply(text="Sunny at noon.")
    status, _, raw = vgen(emu, dict(_call_turns(call_parts, responses), tools=[WEATHER_DECL]))
    assert status == 200, raw
    unsigned = [{"functionCall": call_parts[0]["functionCall"]}, call_parts[1]]
    status, _, raw = vgen(emu, dict(_call_turns(unsigned, responses), tools=[WEATHER_DECL]))
    assert gem_error(status, raw)["message"].startswith("Function call is missing a "
                                                        "thought_signature")
    emu.reset()

    # The JSON-array stream splits the same way; without the switch, or in a whole answer,
    # calls come whole.
    emu.reply(tool_calls=[ToolCallSpec("get_weather", {"city": "Oslo"})])
    items = json.loads(vgen(emu, {"toolConfig": {"function_calling_config": {
        "stream_function_call_arguments": True}}}, action="streamGenerateContent")[2])
    assert [i["candidates"][0]["content"]["parts"][0]["functionCall"] for i in items] == [
        {"name": "get_weather", "willContinue": True},
        {"partialArgs": [{"jsonPath": "$.city", "stringValue": "Oslo"}]}, {}]
    emu.reply(tool_calls=[ToolCallSpec("get_weather", {"city": "Oslo"})])
    events = gem_sse(vgen(emu, action="streamGenerateContent", query="?alt=sse")[2])
    assert [e["candidates"][0]["content"]["parts"] for e in events] == [
        [{"functionCall": {"name": "get_weather", "args": {"city": "Oslo"}}}]]
    emu.reply(tool_calls=[ToolCallSpec("get_weather", {"city": "Oslo"})])
    body = json.loads(vgen(emu, {"toolConfig": STREAM_ARGS})[2])
    assert body["candidates"][0]["content"]["parts"] == [
        {"functionCall": {"name": "get_weather", "args": {"city": "Oslo"}}}]
    # The Gemini API has no such switch: there it is an unknown field.
    status, _, raw = gen(emu, {"toolConfig": STREAM_ARGS})
    assert "streamFunctionCallArguments" in gem_error(status, raw)["message"]


@pytest.mark.parametrize("body, message", [
    ({"contents": [{"parts": [{"text": "hi"}]}]},
     "Unable to submit request because Please use a valid role: user, model.. Learn more: "
     "https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/gemini"),
    ({"contents": [{"role": "", "parts": [{"text": "hi"}]}]},
     "Unable to submit request because Please use a valid role: user, model.."),
    ({"contents": [{"role": "system", "parts": [{"text": "hi"}]}]},
     "Unable to submit request because Please use a valid role: user, model.."),
    ({"contents": []},
     "Unable to submit request because at least one contents field is required."),
    ({"labels": ["team-a"]}, "Invalid value at 'labels' (TYPE_STRING)"),
    ({"toolConfig": {"functionCallingConfig": {"streamFunctionCallArguments": "yes"}}},
     "Invalid value at 'tool_config.function_calling_config.stream_function_call_arguments' "
     "(TYPE_BOOL)"),
    ({"generationConfig": {"temperature": 3}},  # the Gemini API's own checks still apply
     "* GenerateContentRequest.generation_config.temperature: temperature must be in the range"),
    ({"prompt": "hi"}, 'Invalid JSON payload received. Unknown name "prompt": Cannot find field.'),
])
def test_vertex_google_contract(emu, body, message):
    emu.reply(text="never served")
    status, headers, raw = vgen(emu, body)
    assert gem_error(status, raw)["message"].startswith(message)
    assert headers["content-type"] == "application/json; charset=UTF-8"
    assert emu.last_request.violations[0].startswith(message) and emu.pending_replies == 1


def test_vertex_google_vertex_only_fields_are_accepted(emu):
    status, _, raw = vgen(emu, {"labels": {"team": "search"}, "toolConfig": STREAM_ARGS,
                                "tools": [WEATHER_DECL]})
    assert status == 200, raw
    assert emu.last_request.violations == []


def test_vertex_auth_for_both_publishers(emu):
    for call in (lambda **kw: vgen(emu, **kw), lambda **kw: vraw(emu, **kw)):
        status, headers, raw = call(headers={})
        error = gem_error(status, raw, 401, "UNAUTHENTICATED")  # Google's front end answers
        assert error["message"].startswith("Request is missing required authentication "
                                           "credential. Expected OAuth 2 access token")
        assert error["details"] == [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                     "reason": "CREDENTIALS_MISSING", "domain": "googleapis.com",
                                     "metadata": {"service": "aiplatform.googleapis.com"}}]
        assert headers["content-type"] == "application/json; charset=UTF-8"
        for bad in ({"Authorization": "Basic dXNlcjpwdw=="}, {"Authorization": "Bearer "},
                    {"x-goog-api-key": "AIza-not-for-vertex"}):
            error = gem_error(*call(headers=bad)[::2], 401, "UNAUTHENTICATED")
            assert error["message"].startswith("Request")
        assert emu.last_request.provider == "vertex" and emu.last_request.violations
    assert emu.pending_replies == 0 and all(r.reply is None for r in emu.requests)

    # Any non-empty token is accepted and recorded: a test sees a refreshed token.
    emu.reply(status=401, error="Request had invalid authentication credentials.",
              error_code="ACCESS_TOKEN_EXPIRED")
    status, _, raw = vraw(emu, headers={"Authorization": "Bearer ya29.old"})
    error = gem_error(status, raw, 401, "UNAUTHENTICATED")  # Google-shaped on Anthropic's too
    assert error["details"][0]["reason"] == "ACCESS_TOKEN_EXPIRED"
    emu.reply(text="fresh")
    status, _, raw = vraw(emu, headers={"Authorization": "Bearer ya29.new"})
    assert status == 200 and json.loads(raw)["content"][0]["text"] == "fresh"
    assert [r.headers["authorization"] for r in emu.requests[-2:]] == [
        "Bearer ya29.old", "Bearer ya29.new"]
    assert vgen(emu, headers={"Authorization": "Bearer any-opaque-token"})[0] == 200

    with Emulator(require_auth=False) as open_emu:
        assert vgen(open_emu, headers={})[0] == 200 and vraw(open_emu, headers={})[0] == 200


def test_vertex_anthropic_raw_predict_and_stream(emu):
    emu.reply(text="Hi from Claude on Vertex.", usage=(12, 7), thinking="Greeting.",
              thinking_signature="sig-v")
    status, headers, raw = vraw(emu, {"thinking": {"type": "enabled", "budget_tokens": 1024},
                                      "max_tokens": 2048})
    assert status == 200 and headers["content-type"] == "application/json"
    body = json.loads(raw)
    assert body["model"] == VCLAUDE and body["type"] == "message"
    assert body["content"] == [
        {"type": "thinking", "thinking": "Greeting.", "signature": "sig-v"},
        {"type": "text", "text": "Hi from Claude on Vertex."}]
    assert body["stop_reason"] == "end_turn"
    assert (body["usage"]["input_tokens"], body["usage"]["output_tokens"]) == (12, 7)

    emu.reply(text="Sunny", tool_calls=[ToolCallSpec("get_weather", {"city": "Paris"})])
    status, headers, raw = vraw(emu, action="streamRawPredict")
    assert status == 200 and headers["content-type"].startswith("text/event-stream")
    assert headers["transfer-encoding"] == "chunked"
    events = sse(raw.decode())
    names = [name for name, _ in events]
    assert names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"]
    start = json.loads(events[0][1])["message"]
    assert start["model"] == VCLAUDE
    tool = [json.loads(d)["content_block"] for n, d in events if n == "content_block_start"][-1]
    assert (tool["type"], tool["name"]) == ("tool_use", "get_weather")
    partial = "".join(json.loads(d)["delta"].get("partial_json", "") for n, d in events
                      if n == "content_block_delta")
    assert json.loads(partial) == {"city": "Paris"}
    assert json.loads(events[-2][1])["delta"]["stop_reason"] == "tool_use"

    emu.reply(text="partial", stream_error="Overloaded")
    events = sse(vraw(emu, action="streamRawPredict")[2].decode())
    assert events[-1][0] == "error"
    assert json.loads(events[-1][1])["error"] == {"type": "overloaded_error",
                                                   "message": "Overloaded"}
    # The default reply echoes the Messages body.
    body = json.loads(vraw(emu)[2])
    assert body["content"] == [{"type": "text", "text": "You said: Hello there"}]


@pytest.mark.parametrize("kwargs, message", [
    ({"body": {"model": VCLAUDE}}, "model: Extra inputs are not permitted. On Vertex AI the "
                                   "model is in the URL"),
    ({"drop": ("anthropic_version",)}, 'anthropic_version: Field required. Vertex AI needs '
                                       '"anthropic_version": "vertex-2023-10-16" in the body.'),
    ({"body": {"anthropic_version": "2023-06-01"}},
     "anthropic_version: Input should be 'vertex-2023-10-16', got \"2023-06-01\"."),
    ({"headers": dict(VBEARER, **{"x-api-key": "sk-ant-test"})},
     "x-api-key: Vertex AI does not take an Anthropic API key"),
    ({"headers": dict(VBEARER, **{"anthropic-version": "2023-06-01"})},
     "anthropic-version: on Vertex AI the API version goes in the body"),
    ({"action": "streamRawPredict", "body": {"stream": False}},
     'stream: :streamRawPredict needs "stream": true in the body.'),
    ({"action": "streamRawPredict", "drop": ("stream",)},
     'stream: :streamRawPredict needs "stream": true in the body.'),
    ({"body": {"stream": True}}, 'stream: "stream": true needs :streamRawPredict'),
    ({"drop": ("max_tokens",)}, "max_tokens: Field required"),  # the Messages rules still apply
    ({"body": {"messages": [{"role": "system", "content": "x"}]}},
     'messages.0.role: Unexpected role "system".'),
])
def test_vertex_anthropic_contract(emu, kwargs, message):
    emu.reply(text="never served")
    status, headers, raw = vraw(emu, **kwargs)
    assert ant_error(status, headers, raw).startswith(message)
    rec = emu.last_request
    assert rec.provider == "vertex" and rec.violations[0].startswith(message)
    assert emu.pending_replies == 1 and rec.reply is None


def test_vertex_anthropic_bodies_that_are_not_json_objects(emu):
    path = "%santhropic/models/%s:rawPredict" % (VRES, VCLAUDE)
    message = ant_error(*gem(emu, path, b"{not json", VBEARER))
    assert message.startswith("There was an error parsing the body of your request")
    assert ant_error(*gem(emu, path, [1, 2], VBEARER)) == \
        "body: Input should be a valid dictionary"


def test_vertex_errors_with_retry_info(emu):
    # Google publisher: Google's shape, RetryInfo from the header, no AI Studio QuotaFailure.
    emu.reply(status=429, headers={"retry-after": "34.4"})
    status, headers, raw = vgen(emu)
    error = gem_error(status, raw, 429, "RESOURCE_EXHAUSTED")
    assert error["message"].startswith("Resource exhausted. Please try again later.")
    assert error["details"] == [{"@type": "type.googleapis.com/google.rpc.RetryInfo",
                                 "retryDelay": "34.4s"}]
    assert headers["retry-after"] == "34.4"
    emu.reply(status=503, error="busy", headers={"retry-after-ms": "250"})
    status, _, raw = vgen(emu, action="streamGenerateContent", query="?alt=sse")
    error = gem_error(status, raw, 503, "UNAVAILABLE")
    assert error["details"] == [{"@type": "type.googleapis.com/google.rpc.RetryInfo",
                                 "retryDelay": "0.25s"}]
    emu.reply(status=500)
    assert "details" not in gem_error(*vgen(emu)[::2], 500, "INTERNAL")

    # Anthropic publisher: Anthropic's shape; a Google status picks Google's front-end shape.
    emu.reply(status=529, headers={"retry-after": "2"})
    status, headers, raw = vraw(emu)
    assert ant_error(status, headers, raw, 529, "overloaded_error") == "Overloaded"
    assert headers["retry-after"] == "2"
    emu.reply(status=429, error="Quota exceeded for aiplatform.googleapis.com.",
              error_type="RESOURCE_EXHAUSTED", headers={"retry-after": "3"})
    status, headers, raw = vraw(emu, action="streamRawPredict")
    error = gem_error(status, raw, 429, "RESOURCE_EXHAUSTED")
    assert error["message"] == "Quota exceeded for aiplatform.googleapis.com."
    assert error["details"] == [{"@type": "type.googleapis.com/google.rpc.RetryInfo",
                                 "retryDelay": "3s"}]
    assert headers["content-type"] == "application/json; charset=UTF-8"
    # A contract violation right after carries no stale RetryInfo and Anthropic's shape.
    assert ant_error(*vraw(emu, {"model": VCLAUDE})).startswith("model:")


def test_vertex_unknown_paths_keep_alive_and_other_dialects(emu):
    for path in ("/v1/projects/p/locations/l/publishers/anthropic/models/count-tokens:streamRawPredict",
                 "/v1/projects/p/locations/l/publishers/google/models/m:computeTokens",
                 "/v1beta1/projects/p/locations/l/publishers/meta/models/llama:rawPredict"):
        status, _, raw = gem(emu, path, {"contents": GUSER}, VBEARER)
        assert gem_error(status, raw, 404, "NOT_FOUND")["message"] == "Method not found."
        rec = emu.last_request
        assert (rec.provider, rec.endpoint) == ("vertex", "unknown")
    status, _, _ = gem(emu, VRES + "google/models/m:generateContent", None, VBEARER,
                       method="GET")
    assert status == 404

    conn = httpclient.HTTPConnection("127.0.0.1", emu.port, timeout=5)
    try:
        for path, body in (
                (VRES + "google/models/m:generateContent", {"contents": GUSER}),
                (VRES + "google/models/m:streamGenerateContent?alt=sse", {"contents": GUSER}),
                (VRES + "anthropic/models/%s:rawPredict" % VCLAUDE, VMSG),
                (VRES + "anthropic/models/%s:streamRawPredict" % VCLAUDE,
                 dict(VMSG, stream=True))):
            conn.request("POST", path, body=json.dumps(body),
                         headers=dict(VBEARER, **{"Content-Type": "application/json"}))
            resp = conn.getresponse()
            data = resp.read()
            assert resp.status == 200 and (b"Hello" in data or b"Paris?" in data)
    finally:
        conn.close()
    assert emu.connections_opened == 4 + 1  # one per gem() call, then one shared by the loop
    with requests.Session() as s:
        assert oai(emu, s).status_code == 200 and ant(emu, s).status_code == 200
    assert gen(emu)[0] == 200 and emu.last_request.provider == "gemini"
    assert emu.internal_errors == []
