"""Reused encodings of conversations (llmunified/_wirecache.py) against the plain encoding.

Each codec's ``encode_messages`` resumes a conversation it encoded before when the messages it
covered still hold what they held; ``encode_body`` splices the kept JSON text into the request
body. Whatever happened in between (messages appended, edited in place, dropped, forks), the
result must be exactly what encoding from scratch gives: the same wire entries and the same
body bytes. The oracles below are the encoders as they were before the cache (copied here).
"""
import json
from typing import Any, Dict, List, Optional, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmunified._options import make_options
from llmunified._registry import PROVIDERS, resolve_config
from llmunified._types import ImagePart, Message, TextPart, ThinkingPart, ToolCall, ToolResult
from llmunified._wirecache import Conversation, WireMessages, encode_body
from llmunified.errors import ValidationError
from llmunified.providers import anthropic, codec_for, ollama, openai
from llmunified.providers._base import Codec
from llmunified import _json as wirejson, _wirecache


@pytest.fixture(autouse=True)
def cache_every_length(monkeypatch):
    """The cache skips short histories (MIN_MESSAGES); these tests use short ones to exercise it."""
    monkeypatch.setattr(wirejson, "MIN_MESSAGES", 0)


def test_short_histories_are_encoded_plainly_with_no_bookkeeping(monkeypatch):
    monkeypatch.setattr(wirejson, "MIN_MESSAGES", 32)
    before = dict(_wirecache._kept)
    history = [Message("user", f"question {i}") for i in range(31)]
    for _ in range(3):
        wire = openai.encode_messages(history)
        assert type(wire) is list and len(wire) == 31   # a plain list: encode_body encodes it as it is
    assert _wirecache._kept == before                  # nothing was noted for a one-off request
    history.append(Message("user", "question 31"))
    openai.encode_messages(history)
    assert isinstance(openai.encode_messages(history), WireMessages)  # long enough: cached

PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


def plain_json(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


# -- the oracles: the encoders before the cache ---------------------------------------------

def openai_reference(messages: List[Message]) -> List[Dict[str, Any]]:
    wire: List[Dict[str, Any]] = []
    for m in messages:
        if m.role == "tool":
            for p in m.parts:
                if isinstance(p, ToolResult):
                    wire.append({"role": "tool", "tool_call_id": p.tool_call_id, "content": p.text})
            continue
        entry: Dict[str, Any] = {"role": m.role}
        if isinstance(m.content, str):
            entry["content"] = m.content
        elif m.role == "assistant":
            calls = [p for p in m.content if isinstance(p, ToolCall)]
            text = "".join(p.text for p in m.content if isinstance(p, TextPart))
            entry["content"] = text if text or not calls else None
            if calls:
                entry["tool_calls"] = [{"id": c.id, "type": "function",
                                        "function": {"name": c.name, "arguments": c.arguments_json()}}
                                       for c in calls]
        elif all(isinstance(p, TextPart) for p in m.content):
            entry["content"] = "".join(p.text for p in m.content if isinstance(p, TextPart))
        else:
            entry["content"] = openai._content(m.content)
        if m.name:
            entry["name"] = m.name
        wire.append(entry)
    return wire


def anthropic_reference(messages: List[Message]) -> Tuple[Optional[str], List[Dict[str, Any]]]:
    system: List[str] = []
    wire: List[Dict[str, Any]] = []
    for m in messages:
        if m.role in ("system", "developer"):
            if m.text:
                system.append(m.text)
            continue
        role = "assistant" if m.role == "assistant" else "user"
        content: Any = m.content if isinstance(m.content, str) else anthropic._blocks(m)
        if wire and wire[-1]["role"] == role:
            merged = anthropic._as_blocks(wire[-1]["content"]) + anthropic._as_blocks(content)
            if role == "user":
                merged = ([b for b in merged if b.get("type") == "tool_result"]
                          + [b for b in merged if b.get("type") != "tool_result"])
            wire[-1]["content"] = merged
        else:
            wire.append({"role": role, "content": content})
    return ("\n\n".join(system) if system else None), wire


def ollama_reference(messages: List[Message]) -> List[Dict[str, Any]]:
    wire: List[Dict[str, Any]] = []
    names: Dict[str, str] = {}
    for m in messages:
        if m.role == "tool":
            for p in m.parts:
                if not isinstance(p, ToolResult):
                    continue
                entry: Dict[str, Any] = {"role": "tool", "content": p.text}
                name = p.name or names.get(p.tool_call_id)
                if name:
                    entry["tool_name"] = name
                if ollama._is_real_id(p.tool_call_id):
                    entry["tool_call_id"] = p.tool_call_id
                wire.append(entry)
            continue
        entry = {"role": ollama._ROLES[m.role], "content": m.text}
        if isinstance(m.content, list):
            images = [ollama._image(p) for p in m.content if isinstance(p, ImagePart)]
            if images:
                entry["images"] = images
            thinking = "".join(p.text for p in m.content if isinstance(p, ThinkingPart) and not p.redacted)
            if thinking:
                entry["thinking"] = thinking
            calls = [p for p in m.content if isinstance(p, ToolCall)]
            if calls:
                entry["tool_calls"] = [ollama._encode_call(c) for c in calls]
                for c in calls:
                    if c.id:
                        names[c.id] = c.name
        wire.append(entry)
    return wire


def _split(result: Any) -> Tuple[Optional[str], Any]:
    return result if isinstance(result, tuple) else (None, result)


CODECS = {
    "openai": (openai.encode_messages, openai_reference),
    "anthropic": (anthropic.encode_messages, anthropic_reference),
    "ollama": (ollama.encode_messages, ollama_reference),
}


def outcome(fn: Any, messages: List[Message]) -> Any:
    """What an encoder gives: (system, wire entries, the body's bytes), or the error it raises."""
    try:
        system, wire = _split(fn(messages))
    except Exception as exc:  # the cached encoder must fail the same way
        return ("error", type(exc), str(exc))
    body = {"model": "m", "messages": wire, "stream": False}
    if system is not None:
        body["system"] = system
    data = encode_body(body) if isinstance(wire, WireMessages) else plain_json(body)
    return system, list(wire), data


def check(codec: str, messages: List[Message]) -> None:
    cached, reference = CODECS[codec]
    expected = outcome(reference, messages)
    got = outcome(cached, messages)
    assert got == expected
    if expected[0] != "error":
        assert got[2] == plain_json(json.loads(got[2]))  # and it is the plain encoding of itself


# -- random conversations --------------------------------------------------------------------

_texts = st.sampled_from(["", "hi", "Hello, world.", "é 日本語 🙂", 'a "quoted" \\ back\nslash', "\x00\x1f"])
_ids = st.sampled_from(["call_1", "call_2", "call_17", "toolu_01A", "call_abc", ""])
_tool_names = st.sampled_from(["get_weather", "search", "lookup"])
_json = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from([0.5, 2.0, -1.25]), _texts),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.sampled_from(["a", "b", "city"]), inner, max_size=3)),
    max_leaves=6)


def _image(kind: str, detail: Optional[str]) -> ImagePart:
    if kind == "data":
        return ImagePart(data=PIXEL, media_type="image/png", detail=detail)
    return ImagePart(url="https://example.com/cat.png", detail=detail)


_images = st.builds(_image, st.sampled_from(["data", "data", "url"]), st.sampled_from([None, "low"]))
_text_parts = st.builds(TextPart, _texts)
_calls = st.builds(
    lambda i, n, args, raw: ToolCall(i, n, args, raw_arguments={"none": None, "json": json.dumps(args),
                                                               "bad": "{cut", "empty": ""}[raw]),
    _ids, _tool_names, st.dictionaries(st.sampled_from(["q", "n"]), _json, max_size=2),
    st.sampled_from(["none", "json", "bad", "empty"]))
_thinking = st.builds(ThinkingPart, _texts, st.sampled_from([None, "sig=="]), st.booleans(),
                      st.sampled_from([None, "opaque"]))
_results = st.builds(lambda i, c, n, e: ToolResult(i or "call_1", c, name=n, is_error=e),
                     _ids, st.one_of(_texts, _json), st.sampled_from([None, "get_weather", ""]), st.booleans())
_names = st.sampled_from([None, None, "ada"])


def _message(role: str, content: Any, name: Optional[str]) -> Message:
    return Message(role, content, name=name)


_messages = st.one_of(
    st.builds(_message, st.sampled_from(["system", "developer"]), _texts, _names),
    st.builds(_message, st.just("user"), st.one_of(_texts, st.lists(st.one_of(_text_parts, _images), max_size=3)),
              _names),
    st.builds(_message, st.just("assistant"),
              st.one_of(_texts, st.lists(st.one_of(_text_parts, _calls, _thinking, _images), max_size=4)), _names),
    st.builds(_message, st.just("tool"),
              st.lists(_results, min_size=1, max_size=2).flatmap(
                  lambda rs: st.permutations(rs + [TextPart("note")]).map(list) | st.just(rs)), _names),
)


def _mutate(m: Message, how: int, value: Any) -> None:
    """Edit a message in place, one of several ways (some make it one the constructor refuses:
    the encoders must still agree)."""
    parts = m.content if isinstance(m.content, list) else None
    if how == 0 or parts is None and how < 8:
        m.content = f"edited {value!r}"
    elif how == 1:
        parts.append(TextPart("appended"))
    elif how == 2 and parts:
        parts.pop(0)
    elif how == 3 and parts:
        parts[0] = TextPart("replaced")
    elif how == 4:
        for p in parts:
            if isinstance(p, (TextPart, ThinkingPart)):
                p.text += "!"
            elif isinstance(p, ToolCall):
                p.arguments["edited"] = value  # in place: the same dict
            elif isinstance(p, ToolResult):
                if isinstance(p.content, dict):
                    p.content["edited"] = value
                else:
                    p.content = [p.content, value]
    elif how == 5:
        for p in parts:
            if isinstance(p, ToolCall):
                p.raw_arguments = None if p.raw_arguments else json.dumps(p.arguments)
            elif isinstance(p, ToolResult):
                p.is_error = not p.is_error
                p.name = None if p.name else "renamed"
            elif isinstance(p, ImagePart):
                p.detail = "high"
    elif how == 6:
        m.content = list(parts)  # an equal list, another object
    elif how == 7:
        for p in parts:
            if isinstance(p, ToolCall):
                p.id = "call_2" if p.id != "call_2" else "call_1"
    elif how == 8:
        m.name = None if m.name else "grace"
    elif how == 9 and m.role in ("user", "system", "developer"):
        m.role = {"user": "developer", "system": "user", "developer": "system"}[m.role]


_steps = st.lists(st.one_of(
    st.tuples(st.just("append"), st.lists(_messages, min_size=1, max_size=3)),
    st.tuples(st.just("mutate"), st.integers(0, 50), st.integers(0, 9), _texts),
    st.tuples(st.just("drop"), st.integers(1, 3)),
    st.tuples(st.just("fork"), st.lists(_messages, min_size=1, max_size=2)),
    st.tuples(st.just("again"),),
), min_size=1, max_size=10)


@pytest.mark.parametrize("codec", sorted(CODECS))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(start=st.lists(_messages, min_size=1, max_size=8), steps=_steps)
def test_reused_encoding_is_the_plain_encoding(codec, start, steps):
    messages = list(start)
    others: List[List[Message]] = []
    check(codec, messages)
    for step in steps:
        if step[0] == "append":
            messages = messages + step[1]
        elif step[0] == "mutate":
            _mutate(messages[step[1] % len(messages)], step[2], step[3])
        elif step[0] == "drop" and len(messages) > 1:
            messages = messages[:1] + messages[1 + step[1]:]  # truncation keeps the first (system) message
        elif step[0] == "fork":
            others.append(messages + step[1])  # a branch sharing the history
            check(codec, others[-1])
        check(codec, messages)
        check(codec, messages)  # the same again: resumed right at the end
    for other in others:
        check(codec, other)


# -- what is kept, and when ------------------------------------------------------------------

def _conversation(n: int) -> List[Message]:
    out = [Message("system", "Be brief.")]
    for i in range(n):
        out.append(Message("user", f"question {i}"))
        if i % 3 == 1:
            call = ToolCall(f"call_{i}", "search", {"q": f"q{i}"})
            out.append(Message("assistant", [call]))
            out.append(Message("tool", [ToolResult(call.id, {"hits": [i]})]))
        out.append(Message("assistant", f"answer {i}"))
    return out


@pytest.mark.parametrize("codec", sorted(CODECS))
def test_a_conversation_is_resumed_from_its_second_encoding(codec):
    encode, reference = CODECS[codec]
    history = _conversation(12)
    key = codec
    assert Conversation(history, key).start == 0  # never seen
    encode(history)
    assert Conversation(history, key).start == 0  # seen once: only noted
    history = history + [Message("user", "next")]
    encode(history)  # seen again: kept
    history = history + [Message("assistant", "ok"), Message("user", "and then?")]
    assert Conversation(history, key).start > len(history) // 2
    check(codec, history)

    # an edit in place anywhere means a fresh encoding of everything
    history[3].content = "changed"
    assert Conversation(history, key).start == 0
    check(codec, history)
    history[-1].content = "changed too"
    check(codec, history)
    call = next(p for m in history for p in (m.content if isinstance(m.content, list) else ())
                if isinstance(p, ToolCall))
    check(codec, history)
    call.arguments["q"] = "other"  # inside a part, in place
    assert Conversation(history, key).start == 0
    check(codec, history)


def test_a_message_that_cannot_be_copied_is_encoded_every_time():
    class Opaque:
        def __deepcopy__(self, memo):
            raise TypeError("no copies")

    result = ToolResult("call_1", "ok")
    history = [Message("system", "s"), Message("user", "u"), Message("assistant", [ToolCall("call_1", "f")]),
               Message("tool", [result])]
    result.__dict__["extra"] = Opaque()
    for _ in range(3):
        openai.encode_messages(history)
        history = history + [Message("user", "more")]
        assert Conversation(history, "openai").start == 0
        check("openai", history)


@pytest.mark.parametrize("codec", sorted(CODECS))
def test_forks_each_keep_their_encoding(codec):
    encode, _ = CODECS[codec]
    base = _conversation(6)
    encode(base)
    encode(base)
    left = base + [Message("user", "left")]
    right = base + [Message("user", "right")]
    for _ in range(3):
        for branch in (left, right):
            check(codec, branch)
        left = left + [Message("assistant", "l"), Message("user", "l2")]
        right = right + [Message("assistant", "r"), Message("user", "r2")]
    assert Conversation(left, codec).start > len(base)
    assert Conversation(right, codec).start > len(base)


# -- encode_body ---------------------------------------------------------------------------

def test_encode_body_is_the_plain_encoding():
    history = _conversation(5)
    openai.encode_messages(history)
    wire = openai.encode_messages(history)
    assert isinstance(wire, WireMessages)
    body = {"model": "m", "messages": wire, "temperature": 0.5, "tools": [{"name": "x", "description": "é"}]}
    assert encode_body(body) == plain_json(body)
    assert encode_body({"messages": WireMessages()}) == b'{"messages":[]}'
    assert encode_body(["not", "a", "dict"]) == plain_json(["not", "a", "dict"])

    wire.append({"role": "user", "content": "added afterwards"})  # the kept text no longer says it
    assert encode_body(body) == plain_json(body)
    wire.pop()
    assert encode_body(body) == plain_json(body)

    from llmunified import _json, _wirecache

    body = {"model": wirejson._MARK, "messages": openai.encode_messages(history)}  # the mark, elsewhere
    assert encode_body(body) == plain_json(body)
    body = {"messages": openai.encode_messages(history), "metadata": {"x": wirejson._MARK}}
    assert encode_body(body) == plain_json(body)


def test_encode_body_raises_what_json_raises():
    history = [Message("system", "s"), Message("tool", [ToolResult("call_1", {"v": {1, 2}})])]
    for _ in range(3):
        with pytest.raises(TypeError, match="not JSON serializable"):
            encode_body({"messages": openai.encode_messages(history)})
        with pytest.raises(TypeError, match="not JSON serializable"):
            plain_json({"messages": openai.encode_messages(history)})


def _codec(provider: str) -> Codec:
    return codec_for(resolve_config(PROVIDERS[provider], environ={}, api_key="sk-test"), "test-model")


@pytest.mark.parametrize("provider", ["openai", "lmstudio", "anthropic", "ollama"])
def test_request_bodies_with_encode_body_are_byte_identical(provider, monkeypatch):
    codec = _codec(provider)
    history = _conversation(8) + [Message("user", [TextPart("look"), ImagePart(data=PIXEL, media_type="image/png")])]
    options = make_options({}, {"temperature": 0.2, "max_tokens": 64, "extra": {"metadata": {"k": "v"}}})
    plain = [codec.chat_request(history[:n], options, stream).body for n in (5, 9, 12, len(history))
             for stream in (False, True)]

    original = Codec.request

    def request(self, method, path, headers, body=None, stream=False):
        if body is not None and not isinstance(body, bytes):
            body = encode_body(body)
        return original(self, method, path, headers, body, stream)

    monkeypatch.setattr(Codec, "request", request)
    for _ in range(2):
        spliced = [codec.chat_request(history[:n], options, stream).body for n in (5, 9, 12, len(history))
                   for stream in (False, True)]
        assert spliced == plain


def test_ollama_url_images_still_fail_every_time():
    history = [Message("system", "s"), Message("user", [ImagePart(url="https://example.com/a.png")])]
    for _ in range(3):
        with pytest.raises(ValidationError, match="only accepts images as base64"):
            ollama.encode_messages(history)
        history = history + [Message("assistant", "a")]


def test_messages_are_left_as_they_are_and_kept_state_goes_with_them():
    import gc
    import pickle

    from llmunified import _json, _wirecache

    history = _conversation(4)
    before = [dict(vars(m)) for m in history]
    for n in range(3):
        for encode, _ in CODECS.values():
            encode(history)
        history = history + [Message("user", f"more {n}")]
    assert [dict(vars(m)) for m in history[:len(before)]] == before  # nothing added to the messages
    assert pickle.loads(pickle.dumps(history)) == history
    first = id(history[0])
    assert first in _wirecache._kept
    del history, before
    gc.collect()
    assert first not in _wirecache._kept


def test_anthropic_encodes_the_last_kept_turn_again_when_the_next_message_joins_it():
    base = [Message("system", "s"), Message("user", "q"), Message("assistant", "a")]
    anthropic.encode_messages(base)
    longer = base + [Message("user", "q2"), Message("assistant", "a2")]
    anthropic.encode_messages(longer)  # kept up to the last turn: [s, q, a, q2]
    joined = longer[:4] + [Message("user", "more of q2"), Message("assistant", "a3")]  # q2's turn grows
    assert anthropic.encode_messages(joined) == anthropic_reference(joined)
    check("anthropic", joined)


# -- the body encoder: json.dumps's text and errors, faster --------------------------------------

def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(10 ** 30), max_value=10 ** 30)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
    | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(_json_values)
def test_encode_json_writes_exactly_what_json_dumps_writes(value):
    assert _wirecache.encode_json(value) == _dumps(value)


@pytest.mark.parametrize("value", ["plain", "é ✓ \u2028 \x00 \"q\" \\", 1.5e300, float("nan"), float("-inf"), -0.0,
                                   10 ** 40, {1: "int key", None: "null key", 2.5: "float key", True: "bool"},
                                   {"deep": [[[[{"x": [1, 2, {"y": None}]}]]]]}, [], {}, ()])
def test_encode_json_edge_values(value):
    assert _wirecache.encode_json(value) == _dumps(value)


def test_encode_json_raises_as_json_does():
    circular: Dict[str, Any] = {"a": 1}
    circular["self"] = circular
    with pytest.raises(ValueError, match="Circular reference detected"):
        _wirecache.encode_json(circular)
    looped: List[Any] = [1]
    looped.append({"back": looped})
    with pytest.raises(ValueError, match="Circular reference detected"):
        _wirecache.encode_json({"messages": looped})
    with pytest.raises(TypeError) as ours:
        _wirecache.encode_json({"when": object()})
    with pytest.raises(TypeError) as theirs:
        _dumps({"when": object()})
    assert str(ours.value) == str(theirs.value)
    with pytest.raises(TypeError):
        _wirecache.encode_json({(1, 2): "tuple key"})
    # and it still works after each of those (no state left behind)
    assert _wirecache.encode_json({"ok": [1, "two"]}) == '{"ok":[1,"two"]}'


def test_a_circular_value_is_a_value_error_even_on_a_small_thread_stack():
    # the encoder must keep json's circular check: recursing until RecursionError instead would
    # overflow a small C stack (a crash on Python 3.13) before the error
    import threading

    circular: Dict[str, Any] = {}
    circular["again"] = [circular]
    seen: List[BaseException] = []

    def encode() -> None:
        try:
            _wirecache.encode_json(circular)
        except BaseException as exc:  # noqa: B902 - what it raises is the test
            seen.append(exc)

    old = threading.stack_size(256 * 1024)
    try:
        worker = threading.Thread(target=encode)
        worker.start()
    finally:
        threading.stack_size(old)
    worker.join()
    assert len(seen) == 1 and isinstance(seen[0], ValueError) and "Circular" in str(seen[0])
