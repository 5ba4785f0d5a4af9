"""Messages, parts, tools, usage and responses (llmunified/_types.py), the Accumulator and stream
events (llmunified/_events.py), and the cost of ``import llmunified``."""
import json
import os
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmunified._events import (Accumulator, Finish, TextDelta, ThinkingDelta, ToolCallDelta, ToolCallEnd,
                                ToolCallStart, UsageEvent)
from llmunified._types import (FINISH_REASONS, ROLES, ImagePart, Message, Response, TextPart, ThinkingPart, Tool,
                               ToolCall, ToolResult, Usage, assistant, parse_arguments, system, tool_result, user)
from llmunified.errors import ValidationError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


# -- Message validation ----------------------------------------------------------------------

def test_roles_and_finish_reasons():
    assert ROLES == ("system", "developer", "user", "assistant", "tool")
    assert FINISH_REASONS == ("stop", "length", "tool_calls", "content_filter", "error", "other")


@pytest.mark.parametrize("role", ["wizard", "User", "", None, "function"])
def test_unknown_role(role):
    with pytest.raises(ValidationError, match="role"):
        Message(role, "hi")


def test_tool_message_with_plain_text():
    with pytest.raises(ValidationError, match="tool_result"):
        Message("tool", "42")


def test_tool_message_needs_a_tool_result():
    with pytest.raises(ValidationError, match="ToolResult"):
        Message("tool", [TextPart("42")])
    with pytest.raises(ValidationError):
        Message("tool", [])


def test_tool_result_without_id():
    with pytest.raises(ValidationError, match="tool_call_id"):
        ToolResult("", "x")
    with pytest.raises(ValidationError):
        ToolResult(None, "x")  # type: ignore[arg-type]


def test_tool_result_outside_tool_message():
    with pytest.raises(ValidationError, match="role 'tool'"):
        Message("user", [ToolResult("c", "x")])


def test_image_part_needs_url_or_data():
    with pytest.raises(ValidationError, match="url or base64 data"):
        ImagePart()
    with pytest.raises(ValidationError):
        ImagePart(url="", data="")


def test_image_part_data_needs_media_type():
    with pytest.raises(ValidationError, match="media_type"):
        ImagePart(data="AAAA")
    assert ImagePart(data="AAAA", media_type="image/png").as_data_url() == "data:image/png;base64,AAAA"


def test_image_part_data_url_normalised():
    p = ImagePart(url="data:image/jpeg;base64,/9j/4AAQ")
    assert (p.url, p.data, p.media_type) == (None, "/9j/4AAQ", "image/jpeg")
    assert p.as_data_url() == "data:image/jpeg;base64,/9j/4AAQ"
    assert p == ImagePart(data="/9j/4AAQ", media_type="image/jpeg")
    # a media type given alongside a data URL without one is used
    p = ImagePart(url="data:;base64,AAAA", media_type="image/gif")
    assert (p.media_type, p.data) == ("image/gif", "AAAA")
    with pytest.raises(ValidationError, match="media_type"):
        ImagePart(url="data:;base64,AAAA")


@pytest.mark.parametrize("url", ["data:image/png,rawbytes", "data:image/png;base64", "data:text/plain;utf8,hi"])
def test_image_part_bad_data_url(url):
    with pytest.raises(ValidationError, match="data URL"):
        ImagePart(url=url)


def test_image_part_https_url_kept():
    p = ImagePart(url="https://example.com/a.png", detail="high")
    assert p.as_data_url() == "https://example.com/a.png"
    assert (p.data, p.media_type, p.type) == (None, None, "image")


@pytest.mark.parametrize("role", ["user", "system", "developer", "tool"])
def test_tool_call_and_thinking_outside_assistant(role):
    extra = [ToolResult("c", "x")] if role == "tool" else []
    with pytest.raises(ValidationError, match="assistant"):
        Message(role, extra + [ToolCall("c", "f", {})])
    with pytest.raises(ValidationError, match="assistant"):
        Message(role, extra + [ThinkingPart("hmm")])


@pytest.mark.parametrize("bad", ["text", {"type": "text", "text": "x"}, None, 5, Message("user", "x")])
def test_non_part_in_content(bad):
    with pytest.raises(ValidationError, match="parts"):
        Message("user", [TextPart("ok"), bad])


@pytest.mark.parametrize("bad", [5, {"type": "text"}, b"bytes"])
def test_content_of_wrong_type(bad):
    with pytest.raises(ValidationError, match="content"):
        Message("user", bad)


def test_content_none_and_tuple_normalised():
    assert Message("assistant", None).content == ""  # type: ignore[arg-type]
    m = Message("user", (TextPart("a"), TextPart("b")))  # type: ignore[arg-type]
    assert m.content == [TextPart("a"), TextPart("b")]
    assert isinstance(m.content, list)


def test_text_part_must_be_str():
    with pytest.raises(ValidationError):
        TextPart(5)  # type: ignore[arg-type]


def test_tool_call_validation():
    with pytest.raises(ValidationError, match="name"):
        ToolCall("c", "", {})
    with pytest.raises(ValidationError, match="dict"):
        ToolCall("c", "f", '{"a": 1}')  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="dict"):
        ToolCall("c", "f", [1])  # type: ignore[arg-type]


def test_tool_validation():
    assert Tool("t").parameters == {"type": "object", "properties": {}}
    with pytest.raises(ValidationError):
        Tool("")
    with pytest.raises(ValidationError):
        Tool(5)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="parameters"):
        Tool("t", "d", [])  # type: ignore[arg-type]
    # function is not part of equality
    assert Tool("t", function=print) == Tool("t")


# -- helpers and accessors -------------------------------------------------------------------

def test_helpers():
    assert system("be brief") == Message("system", "be brief")
    assert user("hi") == Message("user", "hi")
    img = ImagePart(url="https://x.example/a.png")
    assert user([TextPart("look"), img]) == Message("user", [TextPart("look"), img])
    assert user((TextPart("t"),)).content == [TextPart("t")]
    assert assistant("ok") == Message("assistant", "ok")
    assert assistant() == Message("assistant", "")
    call = ToolCall("c1", "f", {"x": 1})
    assert assistant("let me", tool_calls=[call]) == Message("assistant", [TextPart("let me"), call])
    assert assistant(tool_calls=[call]) == Message("assistant", [call])
    assert assistant([TextPart("a")], tool_calls=[call]) == Message("assistant", [TextPart("a"), call])
    m = tool_result("c1", {"temp": 21}, name="weather", is_error=True)
    assert m.role == "tool"
    assert m.content == [ToolResult("c1", {"temp": 21}, name="weather", is_error=True)]


def test_message_text_tool_calls_thinking():
    call = ToolCall("c", "f", {})
    m = Message("assistant", [ThinkingPart("think "), TextPart("a"), call, ThinkingPart("more"), TextPart("b")])
    assert m.text == "ab"
    assert m.tool_calls == [call]
    assert m.thinking == "think more"
    assert m.parts == m.content
    s = Message("user", "plain")
    assert (s.text, s.tool_calls, s.thinking, s.parts) == ("plain", [], "", [TextPart("plain")])
    assert Message("user", "").parts == []


def test_tool_result_text():
    assert ToolResult("c", "plain").text == "plain"
    assert ToolResult("c", {"a": "é"}).text == '{"a": "é"}'
    assert ToolResult("c", [1, 2]).text == "[1, 2]"


def test_part_types():
    assert [p.type for p in (TextPart("a"), ImagePart(url="u"), ToolCall("c", "f"), ToolResult("c"),
                             ThinkingPart())] == ["text", "image", "tool_call", "tool_result", "thinking"]


# -- ToolCall arguments ----------------------------------------------------------------------

def test_arguments_json_keeps_provider_text_when_valid():
    tc = ToolCall("c", "f", {"city": "Paris"}, raw_arguments='{"city": "Paris"}')
    assert tc.arguments_valid
    assert tc.arguments_json() == '{"city": "Paris"}'


def test_arguments_json_without_raw_is_compact_and_unicode():
    tc = ToolCall("c", "f", {"city": "Zürich", "n": 1})
    assert tc.arguments_valid
    assert tc.arguments_json() == '{"city":"Zürich","n":1}'
    assert ToolCall("c", "f").arguments_json() == "{}"


@pytest.mark.parametrize("raw", ['{"city": "Par', "[1, 2]", "null", '"text"', "{oops}"])
def test_invalid_raw_arguments(raw):
    tc = ToolCall("c", "f", parse_arguments(raw), raw_arguments=raw)
    assert tc.arguments == {}
    assert tc.raw_arguments == raw
    assert tc.arguments_valid is False
    assert tc.arguments_json() == "{}"


def test_raw_arguments_not_in_equality_or_repr():
    a = ToolCall("c", "f", {"a": 1}, raw_arguments='{"a":1}')
    b = ToolCall("c", "f", {"a": 1}, raw_arguments='{ "a" : 1 }')
    assert a == b == ToolCall("c", "f", {"a": 1})
    assert "raw_arguments" not in repr(a)


def test_empty_raw_arguments_mean_no_arguments():
    tc = ToolCall("c", "f", parse_arguments(""), raw_arguments="")
    assert tc.arguments == {} and tc.arguments_valid
    tc = ToolCall("c", "f", {}, raw_arguments="{}")
    assert tc.arguments_valid and tc.arguments_json() == "{}"


def test_arguments_json_of_empty_raw_is_json():
    for raw in ("", "  "):
        tc = ToolCall("c", "f", parse_arguments(raw), raw_arguments=raw)
        assert json.loads(tc.arguments_json()) == {}


def test_parse_arguments():
    assert parse_arguments(None) == {}
    assert parse_arguments("  ") == {}
    assert parse_arguments('{"a": [1]}') == {"a": [1]}
    assert parse_arguments("[1]") == {}
    assert parse_arguments("{") == {}


# -- Usage / Response ------------------------------------------------------------------------

def test_usage_addition():
    a = Usage(10, 5, 15, 2, 1, 3)
    b = Usage(1, 2, 3, 4, 5, 6, estimated=True)
    assert a + b == Usage(11, 7, 18, 6, 6, 9, estimated=True)
    assert a + Usage() == a
    assert (a + a).estimated is False
    assert sum([a, b], Usage()) == a + b
    with pytest.raises(TypeError):
        a + 1  # noqa: B018
    assert a.__add__(1) is NotImplemented


def test_response_accessors_and_equality_ignores_raw_and_headers():
    call = ToolCall("c", "f", {"a": 1})
    msg = Message("assistant", [ThinkingPart("t"), TextPart("hi"), call])
    r = Response(msg, "tool_calls", Usage(1, 2, 3), model="m", provider="p", id="x", raw={"a": 1},
                 headers={"h": "v"})
    assert (r.text, r.tool_calls, r.thinking) == ("hi", [call], "t")
    assert r == Response(msg, "tool_calls", Usage(1, 2, 3), model="m", provider="p", id="x", raw=[1, 2])
    assert r != Response(msg, "stop", Usage(1, 2, 3), model="m", provider="p", id="x")
    assert "raw" not in repr(r) and "headers" not in repr(r)
    d = Response(Message("assistant", "x"))
    assert (d.finish_reason, d.usage, d.headers) == ("stop", Usage(), {})


# -- Accumulator -----------------------------------------------------------------------------

def test_text_pieces_merge():
    acc = Accumulator("openai", "gpt")
    assert acc.text("Hel") == TextDelta("Hel")
    assert acc.text("") is None
    assert acc.text("lo") == TextDelta("lo")
    assert acc.finish("stop") == Finish("stop")
    r = acc.response()
    assert r.message == Message("assistant", "Hello")
    assert (r.finish_reason, r.provider, r.model, r.usage) == ("stop", "openai", "gpt", Usage())
    assert acc.finished


def test_empty_accumulator():
    r = Accumulator("p").response()
    assert r.message == Message("assistant", "")
    assert r.finish_reason == "stop"


def test_thinking_blocks_with_signatures():
    acc = Accumulator("anthropic")
    events = [acc.new_thinking_block(), acc.thinking("Let me "), acc.thinking("think."),
              acc.thinking_signature("sig-1a"), acc.thinking_signature("sig-1b"),
              acc.new_thinking_block(), acc.thinking("Again."), acc.thinking_signature("sig-2"),
              acc.text("Answer"), acc.thinking("late"), acc.text("!")]
    assert events[1:5] == [ThinkingDelta("Let me "), ThinkingDelta("think."), ThinkingDelta("", "sig-1a"),
                           ThinkingDelta("", "sig-1b")]
    acc.redacted_thinking("opaque")
    acc.finish("stop")
    r = acc.response()
    assert r.message.content == [
        ThinkingPart("Let me think.", signature="sig-1asig-1b"),
        ThinkingPart("Again.", signature="sig-2"),
        TextPart("Answer"),
        ThinkingPart("late"),
        TextPart("!"),
        ThinkingPart("", redacted=True, data="opaque"),
    ]
    assert r.thinking == "Let me think.Again.late"
    assert r.text == "Answer!"
    assert acc.thinking("") is None and acc.thinking_signature("") is None


def test_thinking_after_redacted_opens_new_block():
    acc = Accumulator("anthropic")
    acc.redacted_thinking("xx")
    acc.thinking("t")
    assert acc.response().message.content == [ThinkingPart("", redacted=True, data="xx"), ThinkingPart("t")]


def test_signature_without_thinking_text():
    acc = Accumulator("anthropic")
    acc.thinking_signature("s")
    assert acc.response().message.content == [ThinkingPart("", signature="s")]


def test_tool_calls_by_key_with_fragments():
    acc = Accumulator("openai")
    acc.text("Checking.")
    assert acc.tool_start(0, "call_a", "get_weather") == ToolCallStart(0, "call_a", "get_weather")
    assert acc.tool_start(1, None, "get_time") == ToolCallStart(1, "call_1", "get_time")
    assert acc.has_tool(0) and acc.has_tool(1) and not acc.has_tool(2)
    assert acc.tool_args(1, '{"tz":') == ToolCallDelta(1, '{"tz":')
    assert acc.tool_args(0, '{"city"') == ToolCallDelta(0, '{"city"')
    assert acc.tool_args(0, "") is None
    acc.tool_args(0, ': "Paris"}')
    acc.tool_args(1, ' "UTC"}')
    ends = acc.end_open_tools()
    assert ends == [ToolCallEnd(0, ToolCall("call_a", "get_weather", {"city": "Paris"})),
                    ToolCallEnd(1, ToolCall("call_1", "get_time", {"tz": "UTC"}))]
    assert ends[0].tool_call.raw_arguments == '{"city": "Paris"}'
    assert acc.tool_end(0) is None          # already ended
    assert acc.tool_end("nope") is None     # unknown key
    assert acc.end_open_tools() == []
    acc.finish()
    r = acc.response()
    assert r.finish_reason == "tool_calls"
    assert r.message.content == [TextPart("Checking."), ToolCall("call_a", "get_weather", {"city": "Paris"}),
                                 ToolCall("call_1", "get_time", {"tz": "UTC"})]


def test_tool_end_with_object_arguments_wins():
    acc = Accumulator("anthropic")
    acc.tool_start("k", "toolu_1", "f")
    acc.tool_args("k", '{"ignored": tr')
    end = acc.tool_end("k", {"a": 1})
    assert end.tool_call == ToolCall("toolu_1", "f", {"a": 1})
    assert end.tool_call.raw_arguments is None


def test_add_tool_call():
    acc = Accumulator("ollama")
    evs = acc.add_tool_call(None, "f", {"x": 1})
    assert evs == [ToolCallStart(0, "call_0", "f"), ToolCallEnd(0, ToolCall("call_0", "f", {"x": 1}))]
    evs = acc.add_tool_call("id2", "g", {}, raw_arguments='{"y": 2}')
    assert evs == [ToolCallStart(1, "id2", "g"), ToolCallDelta(1, '{"y": 2}'),
                   ToolCallEnd(1, ToolCall("id2", "g", {"y": 2}))]
    assert evs[-1].tool_call.raw_arguments == '{"y": 2}'
    evs = acc.add_tool_call("id3", "h", {}, raw_arguments="")
    assert evs == [ToolCallStart(2, "id3", "h"), ToolCallEnd(2, ToolCall("id3", "h", {}))]
    assert [c.name for c in acc.response().tool_calls] == ["f", "g", "h"]


def test_response_midway_is_partial_with_open_tool_call():
    acc = Accumulator("openai", "m")
    acc.text("Hi")
    acc.tool_start(0, "c", "f")
    acc.tool_args(0, '{"a": "par')
    r = acc.response()
    assert r.text == "Hi"
    (call,) = r.tool_calls
    assert (call.id, call.name, call.arguments, call.raw_arguments) == ("c", "f", {}, '{"a": "par')
    assert call.arguments_valid is False
    assert r.finish_reason == "tool_calls"   # no finish yet: derived from the calls seen
    assert not acc.finished
    # the stream then completes normally
    acc.tool_args(0, 'tial"}')
    acc.end_open_tools()
    acc.set_usage(Usage(3, 4, 7))
    acc.finish("stop")
    r2 = acc.response()
    assert r2.tool_calls == [ToolCall("c", "f", {"a": "partial"})]
    assert (r2.finish_reason, r2.usage) == ("stop", Usage(3, 4, 7))
    assert acc.response() == r2  # idempotent after finish


def test_response_midway_text_only_is_partial():
    acc = Accumulator("p")
    acc.text("par")
    r = acc.response()
    assert r.message == Message("assistant", "par") and r.finish_reason == "stop"


def test_response_midway_does_not_change_final_text_structure():
    acc = Accumulator("p")
    acc.text("a")
    acc.response()
    acc.text("b")
    acc.finish()
    assert acc.response().message == Message("assistant", "ab")


def test_response_midway_is_a_snapshot():
    acc = Accumulator("p")
    acc.thinking("a")
    r = acc.response()
    acc.thinking("b")
    acc.thinking_signature("sig")
    assert r.message.content == [ThinkingPart("a")]


def test_finish_reason_defaults():
    acc = Accumulator("p")
    acc.add_tool_call("c", "f", {})
    assert acc.finish() == Finish("tool_calls")
    acc = Accumulator("p")
    acc.text("x")
    assert acc.finish() == Finish("stop")
    acc = Accumulator("p")
    acc.add_tool_call("c", "f", {})
    assert acc.finish("length") == Finish("length")
    assert acc.response().finish_reason == "length"
    acc = Accumulator("p")
    acc.finish_reason = "content_filter"   # a decoder may record it before the end marker
    assert acc.finish(None) == Finish("content_filter")


def test_usage_event_and_metadata():
    acc = Accumulator("p", "m", headers={"x-request-id": "r"})
    assert acc.set_usage(Usage(1, 2, 3)) == UsageEvent(Usage(1, 2, 3))
    acc.id = "resp_1"
    acc.raw.append({"chunk": 1})
    acc.model = "m-2024"
    r = acc.response()
    assert (r.id, r.model, r.usage, r.raw, r.headers) == ("resp_1", "m-2024", Usage(1, 2, 3), [{"chunk": 1}],
                                                           {"x-request-id": "r"})


def test_event_types():
    assert [e.type for e in (TextDelta("a"), ThinkingDelta("a"), ToolCallStart(0, "i", "n"),
                             ToolCallDelta(0, "{"), ToolCallEnd(0, ToolCall("i", "n")), UsageEvent(Usage()),
                             Finish("stop"))] == ["text", "thinking", "tool_call_start", "tool_call_delta",
                                                  "tool_call_end", "usage", "finish"]


def test_type_fields_are_literal_discriminators():
    """``type`` is ``Literal[<its value>]`` on every event and part, and unique within each union, so
    a type checker narrows ``if event.type == "text": event.text`` (what the README shows)."""
    import typing

    from llmunified._events import StreamEvent
    from llmunified._types import Part

    for union in (StreamEvent, Part):
        members = typing.get_args(union)
        tags = []
        for cls in members:
            hint = typing.get_type_hints(cls)["type"]
            assert typing.get_origin(hint) is typing.Literal, cls
            (tag,) = typing.get_args(hint)
            assert cls.__dataclass_fields__["type"].default == tag
            assert not cls.__dataclass_fields__["type"].init
            tags.append(tag)
        assert len(set(tags)) == len(tags), tags
    from llmunified._events import RoundEnd, ToolResultEvent

    assert {ToolResultEvent, RoundEnd} <= set(typing.get_args(StreamEvent))  # what run_stream yields too


# -- same content, different piece sizes -> equal Responses ----------------------------------

def _pieces(text, cuts):
    cuts = sorted({c for c in cuts if 0 < c < len(text)})
    out, start = [], 0
    for c in cuts:
        out.append(text[start:c])
        start = c
    out.append(text[start:])
    return out


def _build(thinking, sig, text, calls, usage, cut):
    acc = Accumulator("prov", "model")
    if thinking:
        acc.new_thinking_block()
        for p in cut(thinking):
            acc.thinking(p)
        acc.thinking_signature(sig)
    for p in cut(text):
        acc.text(p)
    for i, (name, args) in enumerate(calls):
        acc.tool_start(("k", i), f"id{i}", name)
        for p in cut(json.dumps(args, ensure_ascii=False)):
            acc.tool_args(("k", i), p)
    acc.end_open_tools()
    acc.set_usage(usage)
    acc.finish()
    return acc.response()


_json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner,
                                                                                        max_size=3),
                            max_leaves=6)


@settings(max_examples=100, deadline=None)
@given(thinking=st.text(max_size=30), sig=st.text(min_size=1, max_size=5), text=st.text(max_size=40),
       calls=st.lists(st.tuples(st.text(min_size=1, max_size=5),
                                st.dictionaries(st.text(max_size=4), _json_values, max_size=3)), max_size=3),
       usage=st.builds(Usage, st.integers(0, 99), st.integers(0, 99), st.integers(0, 199)),
       cuts=st.lists(st.integers(1, 60), max_size=10))
def test_piece_sizes_do_not_matter(thinking, sig, text, calls, usage, cuts):
    whole = _build(thinking, sig, text, calls, usage, lambda s: [s])
    chars = _build(thinking, sig, text, calls, usage, lambda s: list(s))
    random_cut = _build(thinking, sig, text, calls, usage, lambda s: _pieces(s, cuts))
    assert whole == chars == random_cut
    assert whole.text == text
    assert whole.thinking == thinking
    assert [(c.name, c.arguments) for c in whole.tool_calls] == [(n, a) for n, a in calls]
    assert whole.finish_reason == ("tool_calls" if calls else "stop")
    # and the non-streaming way (whole calls at once) gives the same Response
    acc = Accumulator("prov", "model")
    if thinking:
        acc.thinking(thinking)
        acc.thinking_signature(sig)
    acc.text(text)
    for i, (name, args) in enumerate(calls):
        acc.add_tool_call(f"id{i}", name, args)
    acc.set_usage(usage)
    acc.finish()
    assert acc.response() == whole


# -- import cost -----------------------------------------------------------------------------

_IMPORT_CHECK = r"""
import socket, sys
sys.path.insert(0, sys.argv[1])

def _refuse(*args, **kwargs):
    raise AssertionError("a socket was used during import")

socket.socket.__init__ = _refuse
socket.socket.connect = _refuse
socket.socket.connect_ex = _refuse
socket.create_connection = _refuse
socket.getaddrinfo = _refuse

import llmunified
# the sans-IO names resolve lazily without the heavy dependencies either
for name in ("Message", "Response", "Usage", "TextDelta", "RetryPolicy", "PROVIDERS", "errors"):
    getattr(llmunified, name)
heavy = sorted(m for m in ("aiohttp", "jsonschema", "dataclasses_json") if m in sys.modules)
print("HEAVY=" + ",".join(heavy))
"""


def test_import_is_cheap_and_offline():
    proc = subprocess.run([sys.executable, "-W", "error", "-c", _IMPORT_CHECK, ROOT],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "HEAVY=", proc.stdout


def test_a_partial_response_copies_every_field_of_a_thinking_part():
    # Accumulator._message copies ThinkingPart by its constructor: a new field must be copied there too
    import dataclasses

    from llmunified._events import Accumulator
    from llmunified._types import ThinkingPart

    assert [f.name for f in dataclasses.fields(ThinkingPart) if f.init] == ["text", "signature", "redacted", "data"]
    acc = Accumulator("anthropic", "m")
    acc.thinking("step one")
    acc.thinking_signature("sig")
    first = acc.response().message.content[0]
    acc.thinking(", step two")
    assert first == ThinkingPart("step one", "sig")  # the copy did not grow with the stream
    assert acc.response().message.content[0] == ThinkingPart("step one, step two", "sig")


@pytest.mark.parametrize("package", ["llmunified", "llmunified_async"])
def test_every_public_dataclass_has_annotations_that_resolve(package):
    """Annotations are lazy (``from __future__ import annotations``: nothing evaluated at import),
    so they must still resolve for the tools that read them (``typing.get_type_hints``:
    dataclasses_json, cattrs, pydantic, IDEs), each to a real type."""
    import dataclasses
    import importlib
    import typing

    namespace = importlib.import_module(package)
    checked = 0
    for name in namespace.__all__:
        obj = getattr(namespace, name)
        if isinstance(obj, type) and dataclasses.is_dataclass(obj):
            hints = typing.get_type_hints(obj)
            assert set(hints) >= {f.name for f in dataclasses.fields(obj)}, name
            assert not any(isinstance(h, (str, typing.ForwardRef)) for h in hints.values()), name
            checked += 1
    assert checked >= 35
