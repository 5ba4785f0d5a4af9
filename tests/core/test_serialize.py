"""Messages, responses and sessions to dicts and files (llmunified/_serialize.py): exact round
trips for every part type, strict decoding with typed errors, atomic saves, and corrupt or newer
files left untouched."""
import json
import os
import stat
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import llmunified._serialize as ser
from llmunified._serialize import (SESSION_FORMAT, SESSION_VERSION, SessionData, SessionFileError,
                                   SessionVersionError, dumps, load_file, load_session, message_from_dict,
                                   message_to_dict, part_from_dict, part_to_dict, response_from_dict,
                                   response_to_dict, save_atomic, session_from_dict, session_to_dict,
                                   usage_from_dict, usage_to_dict)
from llmunified._types import (ImagePart, Message, Response, TextPart, ThinkingPart, ToolCall, ToolResult, Usage,
                               assistant, system, tool_result, user)
from llmunified.errors import ValidationError


def via_json(d):
    return json.loads(dumps(d).decode("utf-8"))


def assert_same_message(a, b):
    """Equality plus the fields equality ignores (ToolCall.raw_arguments)."""
    assert a == b
    assert type(a.content) is type(b.content)
    for pa, pb in zip(a.parts if isinstance(a.content, list) else [], b.parts if isinstance(b.content, list) else []):
        assert type(pa) is type(pb)
        if isinstance(pa, ToolCall):
            assert pa.raw_arguments == pb.raw_arguments


CONVERSATION = [
    system("Be terse."),
    Message("developer", "Use metric units."),
    user("Weather in Paris and Zürich? 天気 🌦"),
    user([TextPart("What is in this picture?"), ImagePart(url="https://example.com/cat.png", detail="low")]),
    user([ImagePart(data="iVBORw0KGgoAAAANSUhEUg==", media_type="image/png")]),
    user([ImagePart(url="data:image/jpeg;base64,/9j/4AAQ")]),  # normalised to data + media_type
    assistant([ThinkingPart("Two cities: two calls.", signature="EqQBCkYIBxgCKkD...sig=="),
               ThinkingPart("", redacted=True, data="EmwKAhgBEgy3va3pzix/LafPsn4aDFIT"),
               TextPart("Checking."),
               ToolCall("call_1", "get_weather", {"city": "Paris", "units": ["C"], "n": 1.5, "x": None},
                        raw_arguments='{"city": "Paris", "units": ["C"], "n": 1.5, "x": null}'),
               ToolCall("call_2", "get_weather", {}, raw_arguments='{"city": "Zür'),  # cut off by max_tokens
               ToolCall("call_3", "now", {}, raw_arguments=""),
               ToolCall("call_4", "noargs", {})]),
    tool_result("call_1", {"temp": 21.5, "sky": ["sunny"], "ok": True, "none": None}),
    tool_result("call_2", "error: bad arguments", is_error=True, name="get_weather"),
    Message("tool", [ToolResult("call_3", 42), ToolResult("call_4", [1, "two", {"3": [4]}]),
                     ToolResult("call_5", None), ToolResult("call_6", "")]),
    assistant("Paris 21 °C, Zürich unknown."),
    assistant(""),
    assistant([]),
    Message("user", "named", name="alice"),
    user("a\ud800b lone surrogate"),
]


# -- parts and messages --------------------------------------------------------------------------

@pytest.mark.parametrize("message", CONVERSATION, ids=lambda m: m.role)
def test_message_round_trip(message):
    d = message_to_dict(message)
    assert_same_message(message_from_dict(d), message)
    assert_same_message(message_from_dict(via_json(d)), message)


def test_part_dicts_carry_the_type_first():
    d = part_to_dict(ToolCall("c", "f", {"a": 1}, raw_arguments='{"a":1}'))
    assert list(d) == ["type", "id", "name", "arguments", "raw_arguments"]
    assert d == {"type": "tool_call", "id": "c", "name": "f", "arguments": {"a": 1}, "raw_arguments": '{"a":1}'}
    assert part_to_dict(TextPart("hi")) == {"type": "text", "text": "hi"}
    assert part_to_dict(ThinkingPart("t", "s")) == {"type": "thinking", "text": "t", "signature": "s",
                                                    "redacted": False, "data": None}
    assert part_to_dict(ImagePart(url="https://e/x.png")) == {"type": "image", "url": "https://e/x.png", "data": None,
                                                              "media_type": None, "detail": None}
    assert part_to_dict(ToolResult("c", {"k": 1}, is_error=True)) == {
        "type": "tool_result", "tool_call_id": "c", "content": {"k": 1}, "name": None, "is_error": True}
    for p in (TextPart("x"), ThinkingPart(), ToolResult("c"), ImagePart(url="u"), ToolCall("i", "n")):
        assert part_from_dict(part_to_dict(p)) == p
    with pytest.raises(ValidationError):
        part_to_dict(Usage())
    with pytest.raises(ValidationError):
        part_to_dict("text")


def test_literal_type_fields_survive_dataclasses_json():
    # ``type`` is a Literal, init=False field: written by to_dict, never passed back to a constructor
    for p in (TextPart("x"), ThinkingPart("t", "s"), ToolResult("c", [1]), ImagePart(url="u"), ToolCall("i", "n")):
        d = part_to_dict(p)
        assert d["type"] == p.type
        back = part_from_dict(via_json(d))
        assert back == p and back.type == p.type and type(back) is type(p)
    with pytest.raises(SessionFileError, match="unknown content part type 'txt'"):
        part_from_dict({"type": "txt", "text": "x"})


def test_message_dict_shape():
    assert message_to_dict(user("hi")) == {"role": "user", "content": "hi"}
    assert message_to_dict(Message("user", "hi", name="bob")) == {"role": "user", "content": "hi", "name": "bob"}
    assert message_to_dict(assistant([])) == {"role": "assistant", "content": []}
    with pytest.raises(ValidationError):
        message_to_dict({"role": "user"})


def test_to_dict_does_not_share_mutable_state():
    call = ToolCall("c", "f", {"a": [1]})
    m = assistant("", tool_calls=[call])
    d = message_to_dict(m)
    d["content"][0]["arguments"]["a"].append(2)
    assert call.arguments == {"a": [1]}


def test_whole_conversation_through_a_session_dict():
    d = session_to_dict("sys", CONVERSATION, dropped=CONVERSATION[2:4], pinned=[3, 1, 3],
                        options={"temperature": 0.2, "extra": {"x": [1]}}, meta={"model": "openai/gpt-4o"})
    back = session_from_dict(via_json(d))
    assert isinstance(back, SessionData)
    assert back.system == "sys" and back.pinned == [1, 3] and back.version == 1
    assert back.options == {"temperature": 0.2, "extra": {"x": [1]}} and back.meta == {"model": "openai/gpt-4o"}
    assert len(back.messages) == len(CONVERSATION)
    for a, b in zip(back.messages, CONVERSATION):
        assert_same_message(a, b)
    assert back.dropped == CONVERSATION[2:4]
    assert list(d)[:3] == ["format", "version", "library"]
    assert d["format"] == SESSION_FORMAT and d["version"] == SESSION_VERSION == 1


def test_session_to_dict_validates():
    with pytest.raises(ValidationError, match="pinned"):
        session_to_dict(None, [user("x")], pinned=[1])
    with pytest.raises(ValidationError, match="pinned"):
        session_to_dict(None, [user("x")], pinned=[True])
    with pytest.raises(ValidationError, match="system"):
        session_to_dict(user("x"), [])
    with pytest.raises(ValidationError, match="options"):
        session_to_dict(None, [], options=[("a", 1)])
    empty = session_from_dict(session_to_dict(None, []))
    assert empty == SessionData()


# -- hypothesis: any message survives -----------------------------------------------------------

text = st.text(max_size=30)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.floats(allow_nan=False, allow_infinity=False)
    | text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(text, children, max_size=4),
    max_leaves=12)
opt_text = st.none() | text
images = st.one_of(
    st.builds(ImagePart, url=st.text(min_size=1, max_size=20).filter(lambda u: not u.startswith("data:")),
              detail=st.none() | st.sampled_from(["low", "high", "auto"])),
    st.builds(ImagePart, data=st.text("abcdefABCDEF0123456789+/=", min_size=1, max_size=40),
              media_type=st.sampled_from(["image/png", "image/jpeg"])))
tool_calls = st.builds(ToolCall, id=text, name=st.text(min_size=1, max_size=10),
                       arguments=st.dictionaries(text, json_values, max_size=3), raw_arguments=opt_text)
thinking = st.builds(ThinkingPart, text=text, signature=opt_text, redacted=st.booleans(), data=opt_text)
results = st.builds(ToolResult, tool_call_id=st.text(min_size=1, max_size=10), content=json_values, name=opt_text,
                    is_error=st.booleans())
names = opt_text


@st.composite
def messages(draw):
    role = draw(st.sampled_from(["system", "developer", "user", "assistant", "tool"]))
    name = draw(names)
    if role == "tool":
        return Message("tool", draw(st.lists(results, min_size=1, max_size=3)), name)
    if draw(st.booleans()):
        return Message(role, draw(text), name)
    parts = st.one_of(st.builds(TextPart, text), images)
    if role == "assistant":
        parts = st.one_of(st.builds(TextPart, text), images, tool_calls, thinking)
    return Message(role, draw(st.lists(parts, max_size=4)), name)


@settings(max_examples=300, deadline=None)
@given(messages())
def test_any_message_round_trips(message):
    back = message_from_dict(via_json(message_to_dict(message)))
    assert_same_message(back, message)


@settings(max_examples=100, deadline=None)
@given(st.lists(messages(), max_size=6), st.lists(messages(), max_size=3), opt_text,
       st.dictionaries(text, json_values, max_size=3))
def test_any_session_round_trips(msgs, dropped, system_prompt, meta):
    pins = list(range(0, len(msgs), 2))
    d = session_to_dict(system_prompt, msgs, dropped, pins, {"temperature": 0.5}, meta)
    back = session_from_dict(via_json(d))
    assert back.messages == msgs and back.dropped == dropped and back.pinned == pins
    assert back.system == system_prompt and back.meta == meta
    for a, b in zip(back.messages, msgs):
        assert_same_message(a, b)


# -- usage and responses -------------------------------------------------------------------------

def test_usage_round_trip():
    u = Usage(10, 20, 30, 4, 5, 6, estimated=True)
    assert usage_to_dict(u) == {"input_tokens": 10, "output_tokens": 20, "total_tokens": 30,
                                "cache_read_tokens": 4, "cache_write_tokens": 5, "reasoning_tokens": 6,
                                "estimated": True}
    assert usage_from_dict(via_json(usage_to_dict(u))) == u
    assert usage_from_dict({}) == Usage()
    with pytest.raises(SessionFileError, match="'input_tokens' must be an integer, got a string"):
        usage_from_dict({"input_tokens": "5"})  # no silent coercion
    with pytest.raises(SessionFileError, match="integer"):
        usage_from_dict({"input_tokens": True})
    with pytest.raises(ValidationError):
        usage_to_dict({"input_tokens": 1})


def test_response_round_trip():
    r = Response(CONVERSATION[6], "tool_calls", Usage(1, 2, 3), model="gpt-4o", provider="openai", id="resp_1",
                 raw={"choices": []}, headers={"x-request-id": "abc"})
    d = response_to_dict(r)
    assert "raw" not in d and "headers" not in d
    back = response_from_dict(via_json(d))
    assert back == r and back.raw is None and back.headers == {}
    assert_same_message(back.message, r.message)
    full = response_from_dict(via_json(response_to_dict(r, raw=True)))
    assert full.raw == {"choices": []} and full.headers == {"x-request-id": "abc"}
    assert back.parsed is None and back.messages is None
    minimal = response_from_dict({"message": {"role": "assistant", "content": "hi"}})
    assert minimal == Response(assistant("hi"))
    with pytest.raises(SessionFileError, match="response.message: message has no 'role'"):
        response_from_dict({"message": {"content": "hi"}})
    with pytest.raises(SessionFileError, match="response has no 'message'"):
        response_from_dict({})
    with pytest.raises(ValidationError):
        response_to_dict(assistant("x"))


def test_response_parsed_and_run_messages():
    from dataclasses import dataclass

    @dataclass
    class City:
        name: str
        population: int

    run = [CONVERSATION[6], CONVERSATION[7], assistant("done")]
    r = Response(assistant('{"name": "Paris", "population": 2100000}'), parsed={"name": "Paris", "population": 2100000},
                 messages=run)
    back = response_from_dict(via_json(response_to_dict(r)))
    assert back == r and back.parsed == {"name": "Paris", "population": 2100000}
    assert back.messages == run
    assert_same_message(back.messages[0], run[0])
    typed = Response(assistant("{}"), parsed=City("Paris", 2100000))
    d = response_to_dict(typed)
    assert d["parsed"] == {"name": "Paris", "population": 2100000}  # typed values come back as their JSON
    assert response_from_dict(via_json(d)).parsed == {"name": "Paris", "population": 2100000}
    assert response_to_dict(Response(assistant("[]"), parsed=[("a", 1)]))["parsed"] == [["a", 1]]
    with pytest.raises(ValidationError, match="parsed"):
        response_to_dict(Response(assistant("x"), parsed=object()))
    with pytest.raises(SessionFileError, match="'messages' must be a list or null"):
        response_from_dict({"message": {"role": "assistant", "content": ""}, "messages": {}})
    with pytest.raises(SessionFileError, match=r"response.messages\[0\]"):
        response_from_dict({"message": {"role": "assistant", "content": ""}, "messages": [{"role": "x"}]})


# -- strict decoding: where and what --------------------------------------------------------------

@pytest.mark.parametrize("data, where, what", [
    ("hello", "message", "message must be an object, got a string"),
    ({"content": "x"}, "message", "message has no 'role'"),
    ({"role": 1, "content": "x"}, "message", "field 'role' must be a string, got an integer"),
    ({"role": "wizard", "content": "x"}, "message", "invalid message: unknown message role 'wizard'"),
    ({"role": "user", "content": 5}, "message", "content must be a string or a list of parts, got an integer"),
    ({"role": "user", "content": "x", "extra": 1}, "message", "unknown field 'extra'"),
    ({"role": "user", "content": "x", "name": 3}, "message", "field 'name' must be a string or null"),
    ({"role": "user", "content": [5]}, "message.content[0]", "a content part must be an object, got an integer"),
    ({"role": "user", "content": [{"text": "x"}]}, "message.content[0]", "content part has no 'type'"),
    ({"role": "user", "content": [{"type": "audio"}]}, "message.content[0]", "unknown content part type 'audio'"),
    ({"role": "user", "content": [{"type": 3}]}, "message.content[0]", "unknown content part type 3"),
    ({"role": "user", "content": [{"type": "text"}]}, "message.content[0]", "text part has no 'text'"),
    ({"role": "user", "content": [{"type": "text", "text": None}]}, "message.content[0]",
     "field 'text' must be a string, got null"),
    ({"role": "user", "content": [{"type": "text", "text": "a", "bold": True}]}, "message.content[0]",
     "unknown field 'bold'"),
    ({"role": "user", "content": [{"type": "image"}]}, "message.content[0]", "invalid image part: ImagePart needs"),
    ({"role": "user", "content": [{"type": "image", "data": "AAA"}]}, "message.content[0]", "needs media_type"),
    ({"role": "assistant", "content": [{"type": "text", "text": "a"}, {"type": "tool_call", "id": "c"}]},
     "message.content[1]", "tool_call part has no 'name'"),
    ({"role": "assistant", "content": [{"type": "tool_call", "id": "c", "name": "f", "arguments": "{}"}]},
     "message.content[0]", "field 'arguments' must be an object, got a string"),
    ({"role": "assistant", "content": [{"type": "tool_call", "id": "c", "name": ""}]},
     "message.content[0]", "invalid tool_call part: ToolCall needs a name"),
    ({"role": "tool", "content": [{"type": "tool_result", "content": "x"}]}, "message.content[0]",
     "tool_result part has no 'tool_call_id'"),
    ({"role": "tool", "content": [{"type": "tool_result", "tool_call_id": "c", "is_error": "no"}]},
     "message.content[0]", "field 'is_error' must be true or false"),
    ({"role": "tool", "content": "42"}, "message", "invalid message: a tool message needs a ToolResult"),
    ({"role": "user", "content": [{"type": "tool_call", "id": "c", "name": "f"}]}, "message",
     "ToolCall and ThinkingPart parts belong in an assistant message"),
    ({"role": "assistant", "content": [{"type": "thinking", "redacted": 1}]}, "message.content[0]",
     "field 'redacted' must be true or false, got an integer"),
])
def test_malformed_messages(data, where, what):
    with pytest.raises(SessionFileError) as info:
        message_from_dict(data)
    err = info.value
    assert err.where == where
    assert what in str(err)
    assert str(err).startswith(where + ": ")
    assert isinstance(err, ValidationError) and isinstance(err, ValueError)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_fuzzed_sessions_never_raise_anything_untyped(data):
    """Replace a random node of a valid session dict with random JSON: decoding either works or
    raises SessionFileError, never KeyError / TypeError / AttributeError."""
    d = via_json(session_to_dict("s", CONVERSATION[:12], CONVERSATION[2:3], [1], {"t": 1}, {"m": 2}))
    node = d
    path = []
    for _ in range(data.draw(st.integers(1, 6))):
        if isinstance(node, dict) and node:
            key = data.draw(st.sampled_from(sorted(node)))
        elif isinstance(node, list) and node:
            key = data.draw(st.integers(0, len(node) - 1))
        else:
            break
        path.append((node, key))
        node = node[key]
    if path:
        parent, key = path[-1]
        if data.draw(st.booleans()) and isinstance(parent, dict):
            del parent[key]
        else:
            parent[key] = data.draw(json_values)
    try:
        session_from_dict(d)
    except SessionFileError:
        pass


def _careful():
    """The decoder as it was: every field checked by _check_fields, every part built by
    dataclasses-json (the quick paths switched off)."""
    from contextlib import ExitStack
    from unittest import mock

    stack = ExitStack()
    stack.enter_context(mock.patch.object(ser, "_quick_message", lambda data: None))
    stack.enter_context(mock.patch.object(ser, "_well_formed", lambda *a, **k: False))
    stack.enter_context(mock.patch.object(ser, "_plan", lambda cls: None))
    return stack


def _decoded(d):
    try:
        got = session_from_dict(d)
    except SessionFileError as exc:
        return ("error", str(exc), exc.where)
    return got


def _parts_detail(msgs):
    """What equality leaves out: raw_arguments, and whether dicts are copies of the input."""
    out = []
    for m in msgs:
        for p in (m.content if isinstance(m.content, list) else ()):
            out.append((type(p).__name__, getattr(p, "raw_arguments", None), type(getattr(p, "arguments", None))))
    return out


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_quick_decoding_is_the_careful_decoding(data):
    """The same fuzzed sessions as above: the quick paths give what the careful, field-checked,
    dataclasses-json decoding gives, the same messages or the same error (message and where)."""
    d = via_json(session_to_dict("s", CONVERSATION[:12], CONVERSATION[2:3], [1], {"t": 1}, {"m": 2}))
    node = d
    path = []
    for _ in range(data.draw(st.integers(0, 6))):
        if isinstance(node, dict) and node:
            key = data.draw(st.sampled_from(sorted(node)))
        elif isinstance(node, list) and node:
            key = data.draw(st.integers(0, len(node) - 1))
        else:
            break
        path.append((node, key))
        node = node[key]
    if path:
        parent, key = path[-1]
        if data.draw(st.booleans()) and isinstance(parent, dict):
            del parent[key]
        else:
            parent[key] = data.draw(json_values | st.sampled_from([None, 1, True, "x", [], {}]))
    quick = _decoded(d)
    with _careful():
        careful = _decoded(d)
    assert quick == careful
    if not isinstance(quick, tuple):
        assert _parts_detail(quick.messages) == _parts_detail(careful.messages)


@settings(max_examples=200, deadline=None)
@given(st.lists(messages(), max_size=6))
def test_quick_decoding_of_any_messages(msgs):
    d = via_json(session_to_dict(None, msgs))
    quick = session_from_dict(d)
    with _careful():
        careful = session_from_dict(d)
    assert quick.messages == careful.messages == msgs
    assert _parts_detail(quick.messages) == _parts_detail(careful.messages)
    for got, source in zip(quick.messages, d["messages"]):  # ToolCall.arguments: a dict of its own
        for part, raw in zip(got.content if isinstance(got.content, list) else (), source["content"]):
            if isinstance(part, ToolCall):
                assert part.arguments == raw.get("arguments", {}) and part.arguments is not raw.get("arguments")


def test_quick_decoding_steps_aside_for_global_decoders():
    from dataclasses_json import cfg

    d = via_json(session_to_dict(None, CONVERSATION))
    cfg.global_config.decoders[str] = lambda value: value.upper()
    try:
        with_decoder = session_from_dict(d)
        with _careful():
            careful = session_from_dict(d)
    finally:
        del cfg.global_config.decoders[str]
    assert with_decoder.messages == careful.messages


# -- envelope: format and version -----------------------------------------------------------------

def test_newer_version():
    d = session_to_dict(None, [user("hi")])
    d["version"] = 2
    d["library"] = "llmunified 9.0.0"
    with pytest.raises(SessionVersionError) as info:
        session_from_dict(d)
    err = info.value
    assert err.version == 2 and err.supported == 1
    text = str(err)
    assert "newer llmunified (llmunified 9.0.0)" in text and "version 2" in text and "up to 1" in text
    assert isinstance(err, SessionFileError) and isinstance(err, ValidationError)
    d["messages"] = "a shape from the future"  # the version is checked first
    with pytest.raises(SessionVersionError):
        session_from_dict(d)


@pytest.mark.parametrize("change, message", [
    ({"format": "other.chat"}, "expected \"format\": \"llmunified.chat\", found 'other.chat'"),
    ({"format": None}, "found None"),
    ({"version": 0}, "'version' must be a positive integer, got 0"),
    ({"version": "1"}, "got '1'"),
    ({"version": True}, "got True"),
    ({"version": 1.0}, "got 1.0"),
    ({"messages": {"0": {}}}, "messages: must be a list of messages, got an object"),
    ({"dropped": None}, "dropped: must be a list of messages, got null"),
    ({"pinned": [5]}, "pinned[0]: 5 is not an index into the 1 messages"),
    ({"pinned": "0"}, "pinned: must be a list of message indices"),
    ({"options": []}, "field 'options' must be an object"),
    ({"system": 5}, "field 'system' must be a string or null"),
    ({"surprise": 1}, "unknown field 'surprise'"),
    ({"messages": [{"role": "user", "content": "ok"}, {"role": "user"}, {"role": "bad"}]},
     "messages[2]: invalid message: unknown message role 'bad'"),
])
def test_corrupt_session_dicts(change, message):
    d = session_to_dict(None, [user("hi")])
    d.update(change)
    with pytest.raises(SessionFileError) as info:
        session_from_dict(d, path="chat.json")
    assert not isinstance(info.value, SessionVersionError)
    assert message in str(info.value)
    assert str(info.value).startswith("chat.json: ")
    assert info.value.path == "chat.json"


def test_missing_format_and_top_level():
    with pytest.raises(SessionFileError, match="no 'format' field"):
        session_from_dict({"version": 1, "messages": []})
    with pytest.raises(SessionFileError, match="the top level is a list"):
        session_from_dict([])
    with pytest.raises(SessionFileError, match="has no 'messages'"):
        session_from_dict({"format": SESSION_FORMAT, "version": 1})


# -- files ---------------------------------------------------------------------------------------

def sample():
    return session_to_dict("Be terse.", CONVERSATION, [], [2], {"temperature": 0.1}, {"n": 1})


def leftovers(directory):
    return sorted(n for n in os.listdir(directory) if n.endswith(".tmp"))


def test_save_and_load(tmp_path):
    path = tmp_path / "chat.json"
    save_atomic(path, sample())
    data = load_file(path)
    assert data["format"] == SESSION_FORMAT
    back = load_session(path)
    assert back.pinned == [2] and back.system == "Be terse."
    for a, b in zip(back.messages, CONVERSATION):
        assert_same_message(a, b)
    raw = path.read_bytes()
    assert raw.startswith(b'{\n "format": "llmunified.chat",\n "version": 1,')
    assert leftovers(tmp_path) == []
    # saving again over our own file works, with str paths too
    save_atomic(str(path), session_to_dict(None, [user("second")]))
    assert load_session(str(path)).messages == [user("second")]


def test_unicode_is_written_as_utf8_and_surrogates_survive(tmp_path):
    path = tmp_path / "u.json"
    save_atomic(path, session_to_dict(None, [user("Zürich 天気 🌦")]))
    assert "Zürich 天気 🌦".encode("utf-8") in path.read_bytes()
    save_atomic(path, session_to_dict(None, [user("a\ud800b")]))
    assert load_session(path).messages == [user("a\ud800b")]


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_file_modes(tmp_path):
    path = tmp_path / "new.json"
    save_atomic(path, sample())
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600  # conversations are private by default
    os.chmod(path, 0o640)
    save_atomic(path, sample())
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640  # a replaced file keeps its mode


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="symlinks")
def test_save_through_a_symlink_writes_the_target(tmp_path):
    target = tmp_path / "real.json"
    link = tmp_path / "link.json"
    save_atomic(target, sample())
    os.symlink(target, link)
    save_atomic(link, session_to_dict(None, [user("via link")]))
    assert os.path.islink(link)
    assert load_session(target).messages == [user("via link")]


@pytest.mark.parametrize("content, message", [
    (b"", "it is empty"),
    (b"   \n", "it is empty"),
    (b'{"format": "llmunified.chat", "version": 1, "messages": [', "not valid JSON (Expecting value at line 1"),
    (b"\xff\xfe{}", "not UTF-8 text (byte 0)"),
    (b"[1, 2]", "the top level is a list"),
    (b'{"hello": 1}', "no 'format' field"),
    (b'{"format": "llmunified.chat", "version": 1, "messages": [{"role": "user"}], "pinned": [3]}',
     "pinned[0]: 3 is not an index"),
    (b'{"format": "llmunified.chat", "version": 1, "messages": [], "x": NaN}', "unknown field 'x'"),
])
def test_corrupt_files(tmp_path, content, message):
    path = tmp_path / "chat.json"
    path.write_bytes(content)
    with pytest.raises(SessionFileError) as info:
        load_session(path)
    assert message in str(info.value)
    assert str(info.value).startswith(str(path) + ": ")
    assert info.value.path == str(path)
    assert path.read_bytes() == content


def test_missing_file_is_an_os_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_file(tmp_path / "nope.json")


@pytest.mark.parametrize("content", [
    b'{"format": "llmunified.chat", "version": 1, "messages": [{"role": "user", "content": "hi"}',  # truncated
    b'{"format": "llmunified.chat", "version": 1, "messages": [{"role": "nobody"}]}',
    b"not json at all",
    b"\x00\x01\x02",
    b'{"some": "other program\'s file"}',
])
def test_corrupt_file_is_left_byte_identical_after_failed_load_and_save(tmp_path, content):
    path = tmp_path / "chat.json"
    path.write_bytes(content)
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    before = os.stat(path)
    with pytest.raises(SessionFileError):
        load_session(path)
    with pytest.raises(SessionFileError, match="refusing to overwrite it: it is not a readable llmunified chat"):
        save_atomic(path, sample())
    assert path.read_bytes() == content
    after = os.stat(path)
    assert (after.st_ino, after.st_mtime_ns, after.st_size) == (before.st_ino, before.st_mtime_ns, before.st_size)
    assert leftovers(tmp_path) == []
    # only an explicit overwrite replaces it
    save_atomic(path, sample(), overwrite=True)
    assert load_session(path).system == "Be terse."


def test_newer_version_file_is_not_overwritten(tmp_path):
    path = tmp_path / "chat.json"
    newer = dict(sample(), version=7)
    path.write_bytes(json.dumps(newer).encode())
    content = path.read_bytes()
    with pytest.raises(SessionVersionError, match="version 7"):
        load_session(path)
    with pytest.raises(SessionVersionError, match="refusing to overwrite it") as info:
        save_atomic(path, sample())
    assert info.value.version == 7 and str(path) in str(info.value)
    assert path.read_bytes() == content


def test_file_corrupted_after_our_save_is_checked_again(tmp_path):
    path = tmp_path / "chat.json"
    save_atomic(path, sample())
    save_atomic(path, sample())  # ours: no check needed
    path.write_bytes(b'{"format": "llmunified.chat", "version": 1, "messages": [')
    with pytest.raises(SessionFileError, match="refusing"):
        save_atomic(path, sample())


def test_empty_file_may_be_replaced(tmp_path):
    path = tmp_path / "chat.json"
    path.write_bytes(b"")
    save_atomic(path, sample())
    assert load_session(path).pinned == [2]


def test_interrupted_save_leaves_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "chat.json"
    save_atomic(path, sample())
    content = path.read_bytes()

    def boom(src, dst):
        raise KeyboardInterrupt  # e.g. Ctrl-C between the write and the rename

    monkeypatch.setattr(ser.os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        save_atomic(path, session_to_dict(None, [user("new")]))
    assert path.read_bytes() == content
    assert leftovers(tmp_path) == []


def test_interrupted_write_leaves_no_file(tmp_path, monkeypatch):
    path = tmp_path / "chat.json"

    def boom(fd):
        raise OSError("disk full")

    monkeypatch.setattr(ser.os, "fsync", boom)
    with pytest.raises(OSError, match="disk full"):
        save_atomic(path, sample())
    assert not path.exists() and leftovers(tmp_path) == []


def test_values_that_are_not_json_are_refused_before_touching_disk(tmp_path):
    path = tmp_path / "chat.json"
    for bad in ({"temperature": float("nan")}, {"when": object()}):
        with pytest.raises(ValidationError, match="not JSON"):
            save_atomic(path, session_to_dict(None, [user("x")], options=bad))
    with pytest.raises(ValidationError, match="not JSON"):
        save_atomic(path, session_to_dict(None, [tool_result("c", {"when": object()})]))
    assert not path.exists() and leftovers(tmp_path) == []


def test_unwritable_directory_is_an_os_error(tmp_path):
    with pytest.raises(OSError):
        save_atomic(tmp_path / "missing-dir" / "chat.json", sample())


# -- lazy import ---------------------------------------------------------------------------------

def test_dataclasses_json_is_imported_on_first_use_only():
    code = (
        "import sys\n"
        "import llmunified, llmunified._serialize as s, llmunified._history, llmunified._tokens\n"
        "llmunified.Message, llmunified.user('x')\n"
        "assert 'dataclasses_json' not in sys.modules, 'imported too early'\n"
        "s.message_to_dict(llmunified.user([llmunified.TextPart('x')]))\n"
        "assert 'dataclasses_json' in sys.modules, 'not used'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_field_table_matches_the_dataclasses():
    """A field added to a part or to Usage must be added to the serializer's checks too (and
    the session version bumped if old readers would lose it)."""
    from dataclasses import fields
    for cls, spec in ser._SPECS.items():
        assert {f.name for f in fields(cls)} - {"type"} == set(spec), cls.__name__
    assert {f.name for f in fields(Message)} == set(ser._MESSAGE_KEYS)
    assert {f.name for f in fields(Response)} == set(ser._RESPONSE_KEYS)


def test_pending_tool_calls_round_trip_and_bad_shapes_are_refused():
    from llmunified._types import Message, Response, TextPart, ToolCall

    call = ToolCall("call_1", "lookup", {"q": "x"})
    response = Response(Message("assistant", [call]), "tool_calls", pending_tool_calls=[call])
    data = json.loads(json.dumps(ser.response_to_dict(response)))
    assert data["pending_tool_calls"] == [ser.part_to_dict(call)]
    assert ser.response_from_dict(data).pending_tool_calls == [call]
    assert "pending_tool_calls" not in ser.response_to_dict(Response(Message("assistant", [TextPart("hi")]), "stop"))
    with pytest.raises(SessionFileError, match="pending_tool_calls"):
        ser.response_from_dict(dict(data, pending_tool_calls={"id": 1}))
    with pytest.raises(SessionFileError, match="tool_call"):
        ser.response_from_dict(dict(data, pending_tool_calls=[{"type": "text", "text": "no"}]))
