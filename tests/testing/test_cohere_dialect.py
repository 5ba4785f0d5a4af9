"""The emulator's Cohere v2 Chat dialect, driven over real sockets with raw ``requests``.

The shapes are compared with the recordings in ``tests/fixtures/cohere/``.
"""
import json
import re
from pathlib import Path

import pytest
import requests

from llmunified.testing import Emulator, Reply, ToolCallSpec
from llmunified.testing._dialects import DIALECTS
from llmunified.testing._dialects.cohere import Cohere

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "cohere"
AUTH = {"Authorization": "Bearer co-test-key"}
USER = [{"role": "user", "content": "Hello there"}]
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}$")
DOCS = "For proper usage, please refer to https://docs.cohere.com/reference/chat"


@pytest.fixture
def emu():
    with Emulator(dialects=[*DIALECTS, Cohere()]) as e:
        yield e


@pytest.fixture
def http():
    with requests.Session() as s:
        yield s


def chat(emu, http, body=None, headers=AUTH, replace=False, **kw):
    payload = {} if replace else {"model": "command-a-03-2025", "messages": USER}
    payload.update(body or {})
    return http.post(emu.url_for("cohere") + "/v2/chat", json=payload, headers=headers, **kw)


def fixture(name):
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def sse(text):
    """[(event name, parsed data)] of an SSE body; every event has both lines."""
    out = []
    assert text.endswith("\n\n")
    for block in text[:-2].split("\n\n"):
        lines = block.split("\n")
        assert len(lines) == 2, block
        assert lines[0].startswith("event: ") and lines[1].startswith("data: ")
        out.append((lines[0][7:], json.loads(lines[1][6:])))
    return out


def stream(emu, http, body=None, **kw):
    r = chat(emu, http, dict({"stream": True}, **(body or {})), **kw)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/event-stream")
    assert r.headers["transfer-encoding"] == "chunked"
    events = sse(r.content.decode("utf-8"))
    assert all(name == data["type"] for name, data in events)
    return [data for _, data in events]


def same_layout(ours, recorded, path="$"):
    """Same keys in the same order and the same JSON types, recursively (values may differ)."""
    assert type(ours) is type(recorded), "%s: %r vs %r" % (path, ours, recorded)
    if isinstance(recorded, dict):
        assert list(ours) == list(recorded), path
        for key in recorded:
            same_layout(ours[key], recorded[key], path + "." + key)
    elif isinstance(recorded, list) and recorded and ours:
        for n, (a, b) in enumerate(zip(ours, recorded)):
            same_layout(a, b, "%s[%d]" % (path, n))


def error_of(r, status):
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert list(body) == ["id", "message"] and UUID.match(body["id"])
    return body["message"]


# ---- plain answers -----------------------------------------------------------------------------

def test_text_reply_has_the_recorded_layout(emu, http):
    recorded = fixture("chat_text.json")
    emu.reply(text="The capital of France is Paris.", usage=(507, 10), cache_read=448)
    r = chat(emu, http, {"stream": False})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert "content-length" in r.headers and "transfer-encoding" not in r.headers
    assert r.headers["access-control-expose-headers"] == "X-Debug-Trace-ID"
    assert re.match(r"^[0-9a-f]{32}$", r.headers["x-debug-trace-id"])
    body = r.json()
    same_layout(body, recorded)
    assert UUID.match(body["id"])
    assert body["message"] == recorded["message"]
    assert body["finish_reason"] == "COMPLETE"
    assert body["usage"] == {"billed_units": {"input_tokens": 59, "output_tokens": 10},
                             "tokens": {"input_tokens": 507, "output_tokens": 10},
                             "cached_tokens": 448}


def test_usage_without_cache_has_no_cached_tokens(emu, http):
    emu.reply(text="Hello! How can I assist you today?", usage=(496, 11), id="f17a5f6c")
    body = chat(emu, http).json()
    assert body["id"] == "f17a5f6c"
    assert body["usage"] == {"billed_units": {"input_tokens": 496, "output_tokens": 11},
                             "tokens": {"input_tokens": 496, "output_tokens": 11}}
    assert all(type(v) is int for part in body["usage"].values() for v in part.values())


def test_default_usage_is_an_estimate_and_the_default_reply_echoes(emu, http):
    body = chat(emu, http, {"messages": [{"role": "system", "content": "Be brief."},
                                         {"role": "user", "content": [
                                             {"type": "text", "text": "Ping pong"}]}]}).json()
    assert body["message"]["content"] == [{"type": "text", "text": "You said: Ping pong"}]
    tokens = body["usage"]["tokens"]
    assert tokens == {"input_tokens": 5, "output_tokens": 5}  # (9 + 9 chars, 19 chars) / 4


def test_thinking_reply_has_the_recorded_layout(emu, http):
    recorded = fixture("chat_thinking.json")
    thinking = recorded["message"]["content"][0]["thinking"]
    emu.reply(thinking=thinking, text="2 + 2 = 4", usage=(1394, 582), cache_read=1344)
    body = chat(emu, http, {"thinking": {"type": "enabled", "token_budget": 2000}}).json()
    same_layout(body, recorded)
    assert body["message"] == recorded["message"]


def test_citations_are_rendered_as_given(emu, http):
    recorded = fixture("chat_citations.json")
    message = recorded["message"]
    emu.reply(text=message["content"][0]["text"], citations=message["citations"],
              usage=(1683, 62), cache_read=992)
    body = chat(emu, http, {"documents": [{"id": "doc:0", "data": {"text": "AI provides"}}]}).json()
    same_layout(body, recorded)
    assert body["message"] == message


def test_max_tokens_reply_like_the_recording(emu, http):
    recorded = fixture("chat_max_tokens.json")
    emu.reply(text="**The History of", finish_reason="length", usage=(506, 5), cache_read=448)
    body = chat(emu, http, {"max_tokens": 4}).json()
    same_layout(body, recorded)
    assert body["finish_reason"] == "MAX_TOKENS"


def test_tool_calls_and_plan(emu, http):
    emu.reply(plan="I will look up the weather.",
              tool_calls=[ToolCallSpec("get_weather", {"city": "Paris"}),
                          ToolCallSpec("get_time", {}, id="given_id")])
    body = chat(emu, http).json()
    message = body["message"]
    assert list(message) == ["role", "tool_plan", "tool_calls"]
    assert message["tool_plan"] == "I will look up the weather."
    first, second = message["tool_calls"]
    assert re.match(r"^get_weather_[a-z2-7]{12}$", first["id"])
    assert first == {"id": first["id"], "type": "function",
                     "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}
    assert second == {"id": "given_id", "type": "function",
                      "function": {"name": "get_time", "arguments": "{}"}}
    assert body["finish_reason"] == "TOOL_CALL"

    emu.reply(text="Checking.", tool_calls=[ToolCallSpec("f", '{"broken": ')])
    message = chat(emu, http).json()["message"]
    assert message["content"] == [{"type": "text", "text": "Checking."}]
    assert message["tool_calls"][0]["function"]["arguments"] == '{"broken": '


@pytest.mark.parametrize("unified, cohere", [
    ("stop", "COMPLETE"), ("length", "MAX_TOKENS"), ("tool_calls", "TOOL_CALL"),
    ("content_filter", "ERROR"), ("error", "ERROR"), ("STOP_SEQUENCE", "STOP_SEQUENCE"),
    ("TIMEOUT", "TIMEOUT"),
])
def test_finish_reasons(emu, http, unified, cohere):
    emu.reply(text="x", finish_reason=unified)
    assert chat(emu, http).json()["finish_reason"] == cohere
    emu.reply(text="x", finish_reason=unified)
    assert stream(emu, http)[-1]["delta"]["finish_reason"] == cohere


# ---- streams -----------------------------------------------------------------------------------

def test_text_stream_matches_the_recording(emu, http):
    lines = (FIXTURES / "stream_text.chunks.jsonl").read_text(encoding="utf-8").splitlines()
    recorded = [json.loads(line) for line in lines if line]
    emu.reply(text="The capital of France is Paris.", usage=(507, 10), cache_read=448,
              id=recorded[0]["id"])
    events = stream(emu, http)
    billed = events[-1]["delta"]["usage"]["billed_units"]
    assert billed == {"input_tokens": 59, "output_tokens": 10}
    billed.update(input_tokens=12, output_tokens=7)  # the real service bills differently
    assert events == recorded
    assert [list(e) for e in events] == [list(e) for e in recorded]  # key order too


def test_stream_framing_on_the_wire(emu, http):
    emu.reply(text="Hi you")
    r = chat(emu, http, {"stream": True})
    assert r.text.startswith('event: message-start\ndata: {"id":"')
    assert 'event: content-delta\ndata: {"type":"content-delta","index":0,"delta":{"message":' \
           '{"content":{"text":" you"}}}}\n\n' in r.text
    assert r.text.endswith("}}}\n\n")
    assert r.headers["cache-control"].startswith("no-cache")
    assert emu.last_request.stream is True and emu.last_request.status == 200


def test_stream_thinking_text_and_citations(emu, http):
    citation = {"start": 0, "end": 5, "text": "Paris",
                "sources": [{"type": "document", "id": "doc:0",
                             "document": {"id": "doc:0", "text": "Paris is the capital."}}],
                "type": "TEXT_CONTENT"}
    emu.reply(thinking="Let me think about it", text="Paris is the capital.",
              citations=[citation, dict(citation, start=6, end=8, text="is")])
    events = stream(emu, http)
    kinds = [(e["type"], e.get("index")) for e in events]
    assert kinds[:2] == [("message-start", None), ("content-start", 0)]
    assert events[1]["delta"]["message"]["content"] == {"type": "thinking", "thinking": ""}
    thinking = "".join(e["delta"]["message"]["content"]["thinking"] for e in events
                       if e["type"] == "content-delta" and e["index"] == 0)
    assert thinking == "Let me think about it"
    start = kinds.index(("content-start", 1))
    assert kinds[start - 1] == ("content-end", 0)
    assert events[start]["delta"]["message"]["content"] == {"type": "text", "text": ""}
    text = "".join(e["delta"]["message"]["content"]["text"] for e in events
                   if e["type"] == "content-delta" and e["index"] == 1)
    assert text == "Paris is the capital."
    assert kinds[-6:] == [("citation-start", 0), ("citation-end", 0), ("citation-start", 1),
                          ("citation-end", 1), ("content-end", 1), ("message-end", None)]
    assert events[-6]["delta"]["message"]["citations"] == citation
    assert events[-4]["delta"]["message"]["citations"]["text"] == "is"
    assert events[-1]["delta"]["finish_reason"] == "COMPLETE"


def test_stream_tool_plan_and_tool_calls(emu, http):
    arguments = {"location": "Madrid", "unit": "celsius"}
    emu.reply(plan="I will search for the weather in Madrid.", usage=(30, 20),
              tool_calls=[ToolCallSpec("get_weather", arguments, id="get_weather_1"),
                          ToolCallSpec("get_time", {}, id="get_time_2")])
    events = stream(emu, http)
    types = [e["type"] for e in events]
    plan = [e for e in events if e["type"] == "tool-plan-delta"]
    assert len(plan) == 9  # one per word, the full stop apart
    assert "".join(e["delta"]["message"]["tool_plan"] for e in plan) == \
        "I will search for the weather in Madrid."
    assert "content-start" not in types  # a tool-call answer has no text block
    start = events[types.index("tool-call-start")]
    assert start == {"type": "tool-call-start", "index": 0, "delta": {"message": {"tool_calls": {
        "id": "get_weather_1", "type": "function",
        "function": {"name": "get_weather", "arguments": ""}}}}}
    deltas = [e for e in events if e["type"] == "tool-call-delta"]
    assert len(deltas) > 2 and all(e["index"] == 0 for e in deltas)
    joined = "".join(e["delta"]["message"]["tool_calls"]["function"]["arguments"] for e in deltas)
    assert json.loads(joined) == arguments
    tail = [(e["type"], e.get("index")) for e in events[types.index("tool-call-end"):]]
    # the call without arguments: start then end, no delta
    assert tail == [("tool-call-end", 0), ("tool-call-start", 1), ("tool-call-end", 1),
                    ("message-end", None)]
    assert types[:2] == ["message-start", "tool-plan-delta"]
    assert events[-1]["delta"] == {"finish_reason": "TOOL_CALL", "usage": {
        "billed_units": {"input_tokens": 30, "output_tokens": 20},
        "tokens": {"input_tokens": 30, "output_tokens": 20}}}


def test_stream_and_plain_answers_agree(emu, http):
    reply = dict(thinking="hmm", text="Done.", plan="Plan.", usage=(9, 4), id="same-id",
                 tool_calls=[ToolCallSpec("f", {"a": 1}, id="f_1")])
    emu.reply(**reply)
    plain = chat(emu, http).json()
    emu.reply(**reply)
    events = stream(emu, http)
    content = {}
    for e in events:
        if e["type"] == "content-start":
            content[e["index"]] = dict(e["delta"]["message"]["content"])
        elif e["type"] == "content-delta":
            for key, piece in e["delta"]["message"]["content"].items():
                content[e["index"]][key] += piece
    assert [content[i] for i in sorted(content)] == plain["message"]["content"]
    plan = "".join(e["delta"]["message"]["tool_plan"] for e in events
                   if e["type"] == "tool-plan-delta")
    assert plan == plain["message"]["tool_plan"]
    assert events[0]["id"] == plain["id"] == "same-id"
    assert events[-1]["delta"] == {"finish_reason": plain["finish_reason"],
                                   "usage": plain["usage"]}


def test_stream_error_ends_with_an_error_message_end(emu, http):
    emu.reply(text="partial answer", stream_error="internal server error", usage=(3, 2),
              tool_calls=[ToolCallSpec("never_sent")])
    events = stream(emu, http)
    assert [e["type"] for e in events] == ["message-start", "content-start", "content-delta",
                                           "content-delta", "content-end", "message-end"]
    assert events[-1]["delta"] == {"error": "internal server error", "finish_reason": "ERROR",
                                   "usage": {"billed_units": {"input_tokens": 3,
                                                              "output_tokens": 2},
                                             "tokens": {"input_tokens": 3, "output_tokens": 2}}}


def test_break_after_cuts_the_stream(emu, http):
    emu.reply(text="one two three four", break_after=3)
    r = chat(emu, http, {"stream": True}, stream=True)
    received = b""
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        for piece in r.iter_content(None):
            received += piece
    r.close()
    names = [line for line in received.decode("utf-8").split("\n") if line.startswith("event:")]
    assert names == ["event: message-start", "event: content-start", "event: content-delta"]


def test_chunk_size_and_repeat_chunks(emu, http):
    emu.reply(text="Ça va très bien", chunk_size=5)
    events = stream(emu, http)
    assert "".join(e["delta"]["message"]["content"]["text"] for e in events
                   if e["type"] == "content-delta") == "Ça va très bien"
    emu.reply(text="ab", repeat_chunks=50)
    deltas = [e for e in stream(emu, http) if e["type"] == "content-delta"]
    assert len(deltas) == 50 and "".join(e["delta"]["message"]["content"]["text"]
                                         for e in deltas) == "ab" * 50
    emu.reply(text="ab", repeat_chunks=3)
    assert chat(emu, http).json()["message"]["content"][0]["text"] == "ababab"


# ---- errors and auth ---------------------------------------------------------------------------

def test_scripted_errors(emu, http):
    emu.reply(status=429, error="Slow down", headers={"retry-after": "3"})
    r = chat(emu, http)
    assert error_of(r, 429) == "Slow down" and r.headers["retry-after"] == "3"
    assert r.headers["access-control-expose-headers"] == "X-Debug-Trace-ID"
    emu.reply(status=500)
    assert error_of(chat(emu, http), 500) == "internal server error"
    emu.reply(status=498)
    assert error_of(chat(emu, http, {"stream": True}), 498) == "invalid api token"
    emu.reply(status=404, error="model 'nonexistent' not found, make sure the correct model ID "
                                "was used and that you have access to the model.")
    r = chat(emu, http, {"model": "nonexistent"})
    same_layout(r.json(), {"id": "8bd5b608", "message": "m"})  # error_404 recording
    assert error_of(r, 404).startswith("model 'nonexistent' not found")
    assert emu.last_request.status == 404 and emu.last_request.reply.status == 404


def test_auth(emu, http):
    assert error_of(chat(emu, http, headers={}), 401) == "no api key supplied"
    assert error_of(chat(emu, http, headers={"Authorization": "Bearer "}), 401) == \
        "no api key supplied"
    assert error_of(chat(emu, http, headers={"Authorization": "Basic abc"}), 401) == \
        "invalid api token"
    rec = emu.last_request
    assert rec.provider == "cohere" and rec.violations == ["invalid api token"]
    assert emu.pending_replies == 0
    emu.reply(text="ok")
    assert chat(emu, http, headers={"Authorization": "bearer anything"}).status_code == 200
    with Emulator(dialects=[*DIALECTS, Cohere()], require_auth=False) as open_emu:
        assert chat(open_emu, http, headers={}).status_code == 200


def tool_turns(arguments='{"city": "Paris"}', call_id="get_weather_1", answer_id=None):
    return [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "tool_plan": "I will call get_weather.", "tool_calls": [
            {"id": call_id, "type": "function",
             "function": {"name": "get_weather", "arguments": arguments}}]},
        {"role": "tool", "tool_call_id": answer_id or call_id,
         "content": [{"type": "text", "text": "sunny"}]},
    ]


TOOL = {"type": "function", "function": {"name": "get_weather", "description": "Weather",
                                         "parameters": {"type": "object", "properties": {}}}}


@pytest.mark.parametrize("body, status, message", [
    ({"messages": USER}, 400, "invalid request: model is required"),
    ({"model": "", "messages": USER}, 400, "invalid request: model must be a non-empty string"),
    ({"model": "m"}, 400, "invalid request: messages is required"),
    ({"model": "m", "messages": []}, 400,
     "invalid request: messages must contain at least one message"),
    ({"model": "m", "messages": {"role": "user"}}, 400,
     "invalid request: messages must be a list, got object"),
    ({"model": "m", "messages": [{"role": "developer", "content": "x"}]}, 400,
     "invalid request: messages[0]: role must be one of system, user, assistant, tool; "
     "got 'developer'"),
    ({"model": "m", "messages": [{"role": "user"}]}, 400,
     "invalid request: messages[0]: content is required for a user message"),
    ({"model": "m", "messages": [{"role": "user", "content": [{"type": "thinking",
                                                              "thinking": "x"}]}]}, 400,
     "invalid request: messages[0].content[0]: type must be one of text, image_url, document "
     "for a user message, got 'thinking'"),
    ({"model": "m", "messages": [{"role": "assistant"}]}, 400,
     "invalid request: messages[0]: an assistant message needs content or tool_calls"),
    ({"model": "m", "messages": tool_turns()[:2] + [{"role": "tool", "content": "sunny"}]}, 400,
     "invalid request: messages[2]: tool_call_id is required for a tool message"),
    ({"model": "m", "messages": tool_turns(arguments={"city": "Paris"})}, 400,
     "invalid request: messages[1].tool_calls[0]: function.arguments must be a JSON string, "
     "got object"),
    ({"model": "m", "messages": tool_turns(answer_id="other_id")}, 400,
     "invalid request: messages[2]: tool_call_id 'other_id' does not match a tool call of the "
     "previous assistant message"),
    ({"model": "m", "messages": [USER[0], {"role": "tool", "tool_call_id": "x",
                                           "content": "y"}]}, 400,
     "invalid request: messages[1]: a tool message must follow an assistant message with "
     "tool_calls"),
    ({"model": "m", "messages": tool_turns()[:2] + USER}, 400,
     "invalid request: messages[1]: the tool calls get_weather_1 have no tool message with "
     "their result"),
    ({"model": "m", "messages": tool_turns()[:2]}, 400,
     "invalid request: messages[1]: the tool calls get_weather_1 have no tool message with "
     "their result"),
    ({"model": "m", "messages": USER, "tools": [TOOL],
      "response_format": {"type": "json_object"}}, 400,
     "invalid request: response_format cannot be combined with tools"),
    ({"model": "m", "messages": USER, "tools": [TOOL], "tool_choice": "auto"}, 400,
     "invalid request: tool_choice must be one of REQUIRED, NONE; got 'auto'"),
    ({"model": "m", "messages": USER, "tool_choice": "required"}, 400,
     "invalid request: tool_choice must be one of REQUIRED, NONE; got 'required'"),
    ({"model": "m", "messages": USER, "response_format": {"type": "json_schema"}}, 400,
     "invalid request: response_format.type must be one of text, json_object; "
     "got 'json_schema'"),
    ({"model": "m", "messages": USER, "thinking": {"type": "enabled", "token_budget": 0}}, 400,
     "invalid request: thinking.token_budget must be a positive integer"),
    ({"model": "m", "messages": USER, "stream": "yes"}, 400,
     "invalid request: stream must be a boolean, got string"),
    ({"model": "m", "messages": USER, "max_tokens": 1.5}, 400,
     "invalid request: max_tokens must be an integer, got number"),
    ({"model": "m", "messages": USER, "top_p": 0.9}, 422,
     "unknown field: parameter 'top_p' is not a valid field. " + DOCS),
    ({"model": "m", "messages": USER, "top_k": 40}, 422,
     "unknown field: parameter 'top_k' is not a valid field. " + DOCS),
    ({"model": "m", "messages": USER, "tools": [
        {"type": "function", "function": dict(TOOL["function"], strict=True)}]}, 422,
     "unknown field: parameter 'strict' is not a valid field. " + DOCS),
    ({"model": "m", "messages": USER, "thinking": {"type": "enabled", "budget_tokens": 1024}},
     422, "unknown field: parameter 'budget_tokens' is not a valid field. " + DOCS),
    ({"model": "m", "messages": [{"role": "user", "content": "x", "name": "bob"}]}, 422,
     "unknown field: parameter 'name' is not a valid field. " + DOCS),
])
def test_contract_violations(emu, http, body, status, message):
    emu.reply(text="never served")
    r = chat(emu, http, body, replace=True)
    assert error_of(r, status) == message
    rec = emu.last_request
    assert rec.violations[0] == message and rec.provider == "cohere" and rec.reply is None
    assert emu.pending_replies == 1  # a rejected request consumes no reply


def test_bodies_that_are_not_json_objects(emu, http):
    url = emu.url_for("cohere") + "/v2/chat"
    r = http.post(url, data=b"{not json", headers=dict(AUTH, **{"Content-Type":
                                                               "application/json"}))
    assert error_of(r, 400).startswith("invalid request: the body is not valid JSON")
    r = http.post(url, json=[1, 2], headers=AUTH)
    assert error_of(r, 400) == "invalid request: the body must be a JSON object, got array"


def test_valid_rich_request_is_accepted_and_recorded(emu, http):
    body = {
        "model": "command-a-reasoning-08-2025",
        "messages": [
            {"role": "system", "content": [{"type": "text", "text": "Be brief."}]},
            {"role": "user", "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]},
            {"role": "assistant", "content": [{"type": "thinking", "thinking": "hm"},
                                              {"type": "text", "text": "A picture."}]},
        ] + tool_turns() + [
            {"role": "assistant", "content": "It is sunny.", "citations": []},
            {"role": "user", "content": "Thanks"},
        ],
        "tools": [TOOL], "strict_tools": True, "tool_choice": "REQUIRED",
        "thinking": {"type": "enabled", "token_budget": 512},
        "max_tokens": 100, "temperature": 0.3, "p": 0.9, "k": 40, "seed": 1,
        "stop_sequences": ["END"], "frequency_penalty": 0.1, "presence_penalty": 0.0,
        "safety_mode": "CONTEXTUAL", "logprobs": False, "priority": 1, "stream": False,
    }
    emu.reply(text="You're welcome.")
    r = chat(emu, http, body, replace=True, headers=dict(AUTH, **{"X-Client-Name": "tests"}))
    assert r.status_code == 200, r.text
    rec = emu.last_request
    assert rec.violations == [] and rec.provider == "cohere" and rec.endpoint == "chat"
    assert rec.method == "POST" and rec.path == "/v2/chat"
    assert rec.json == body and json.loads(rec.body) == body and rec.messages == body["messages"]
    assert rec.headers["x-client-name"] == "tests" and rec.stream is False
    assert rec.reply.text == "You're welcome." and rec.status == 200

    emu.reply(text="{}")
    structured = {"model": "m", "messages": USER, "stream": True,
                  "response_format": {"type": "json_object", "json_schema": {"type": "object"}}}
    assert chat(emu, http, structured, replace=True).status_code == 200
    assert emu.last_request.violations == [] and emu.last_request.stream is True


# ---- other routes ------------------------------------------------------------------------------

def test_models_listing_paging_and_filter(http):
    models = {"cohere": ["command-a-03-2025", "command-r7b-12-2024", "embed-v4.0",
                         "rerank-v3.5"], "openai": ["gpt-4o-mini"]}
    with Emulator(dialects=[*DIALECTS, Cohere()], models=models) as emu:
        headers = dict(AUTH, **{"X-Client-Name": "llmunified"})
        url = emu.url_for("cohere") + "/v1/models"
        r = http.get(url, headers=headers)
        assert r.status_code == 200 and emu.last_request.provider == "cohere"
        body = r.json()
        assert body == {"models": [
            {"name": "command-a-03-2025", "endpoints": ["chat"], "finetuned": False,
             "context_length": 256000, "default_endpoints": []},
            {"name": "command-r7b-12-2024", "endpoints": ["chat"], "finetuned": False,
             "context_length": 256000, "default_endpoints": []},
            {"name": "embed-v4.0", "endpoints": ["embed"], "finetuned": False,
             "context_length": 128000, "default_endpoints": []},
            {"name": "rerank-v3.5", "endpoints": ["rerank"], "finetuned": False,
             "context_length": 256000, "default_endpoints": []}]}
        chat_only = http.get(url, params={"endpoint": "chat"}, headers=headers).json()
        assert [m["name"] for m in chat_only["models"]] == ["command-a-03-2025",
                                                           "command-r7b-12-2024"]
        names, token, pages = [], "", 0
        while True:
            params = {"page_size": 3}
            if token:
                params["page_token"] = token
            page = http.get(url, params=params, headers=headers).json()
            names += [m["name"] for m in page["models"]]
            pages += 1
            token = page.get("next_page_token", "")
            if not token:
                break
        assert pages == 2 and names == models["cohere"]
        r = http.get(url, params={"page_token": "bogus!"}, headers=headers)
        assert error_of(r, 400) == "invalid request: invalid page_token"
        r = http.get(url, headers={"X-Fern-SDK-Name": "cohere"})
        assert error_of(r, 401) == "no api key supplied"
        # a bare Bearer request on the shared path is OpenAI's
        r = http.get(url, headers=AUTH)
        assert r.json()["object"] == "list" and emu.last_request.provider == "openai"


def test_unknown_paths_url_for_and_other_dialects(emu, http):
    assert emu.url_for("cohere") == emu.base_url
    r = http.post(emu.base_url + "/v2/rerank", json={"model": "rerank-v3.5"}, headers=AUTH)
    assert error_of(r, 404) == "no route for POST /v2/rerank"
    rec = emu.last_request
    assert rec.provider == "cohere" and rec.endpoint == "unknown"
    r = http.get(emu.base_url + "/v2/chat", headers=AUTH)
    assert error_of(r, 404) == "no route for GET /v2/chat"
    emu.reply(text="from openai")
    r = http.post(emu.url_for("openai") + "/chat/completions", headers=AUTH,
                  json={"model": "gpt-4o-mini", "messages": USER})
    assert r.json()["choices"][0]["message"]["content"] == "from openai"
    assert emu.last_request.provider == "openai"
    with Emulator() as default:  # registered by default
        assert default.url_for("cohere") == default.base_url


def test_keep_alive_across_chat_and_stream(emu, http):
    emu.reply(text="one")
    emu.reply(text="two")
    assert chat(emu, http).json()["message"]["content"][0]["text"] == "one"
    assert stream(emu, http)[2]["delta"]["message"]["content"]["text"] == "two"
    assert emu.connections_opened == 1
    assert [r.status for r in emu.requests] == [200, 200]
