"""n > 1 answers in the codecs (sans-IO): OpenAI and compatible ``n`` (every ``choices[i]``),
Gemini's ``candidateCount`` (every candidate), the refusal of protocols without such a field,
stream events tagged with their answer under any chunking, and Response serialisation.

The OpenAI stream is written as OpenAI sends it (docs: WIRE.md "n>1: chunks for different
choices[].index values are interleaved. Each choice gets its own finish_reason"); the Gemini
ones are candidates with their ``index`` (proto3 JSON leaves out index 0).
"""
import functools
import json
from typing import Any, Dict, List, Optional

import pytest

from llmunified._endpoint import Endpoint
from llmunified._events import Accumulator, Finish, TextDelta, ToolCallEnd, ToolCallStart
from llmunified._options import make_options, to_messages
from llmunified._registry import PROVIDERS, resolve_config
from llmunified._serialize import response_from_dict, response_to_dict
from llmunified._types import Choice, Message, Response, ToolCall, Usage
from llmunified.errors import UnsupportedParameterError, ValidationError
from llmunified.providers import codec_for
from llmunified.testing._dialects.gemini import Gemini
from llmunified.testing._dialects.openai import OpenAI
from llmunified.testing._render import Context
from llmunified.testing._reply import Reply, ToolCallSpec
from tests.providers import recordings
from tests.providers.recordings import feed_all

chunkings = functools.partial(recordings.chunkings, seed=1313, n_random=25)


SETTINGS = {"vertex": {"settings": {"project": "p", "location": "us-central1"}},
            "azure": {"base_url": "https://res.openai.azure.com"}}


def codec(provider: str, model: str = "test-model") -> Any:
    return codec_for(resolve_config(PROVIDERS[provider], api_key="sk-test", environ={},
                                    **SETTINGS.get(provider, {})), model)


def body_of(provider: str, stream: bool = False, model: str = "test-model", **options: Any) -> Dict[str, Any]:
    return json.loads(codec(provider, model).chat_request(to_messages("Hi"), make_options({}, options), stream).body)


def sse(objects: List[Any]) -> bytes:
    return b"".join(b"data: " + (o if isinstance(o, bytes) else json.dumps(o).encode()) + b"\n\n" for o in objects)


def replay(provider: str, data: bytes, model: str = "test-model"):
    """Every chunking gives the same events and Response; returns them."""
    first = None
    for chunks in chunkings(data):
        got = feed_all(codec(provider, model).stream_decoder({}), chunks)
        if first is None:
            first = got
        assert got[0] == first[0]
        assert got[1] == first[1]
    return first


# -- requests --------------------------------------------------------------------------------

@pytest.mark.parametrize("provider", ["openai", "azure", "groq", "openrouter"])
def test_openai_family_sends_n(provider):
    assert body_of(provider, n=3)["n"] == 3
    assert "n" not in body_of(provider)
    assert "n" not in body_of(provider, n=1)  # the default is not sent


def test_gemini_sends_candidate_count():
    assert body_of("gemini", n=2)["generationConfig"]["candidateCount"] == 2
    assert "generationConfig" not in body_of("gemini")
    assert body_of("vertex", model="gemini-2.5-flash", n=4)["generationConfig"]["candidateCount"] == 4


@pytest.mark.parametrize("model", ["anthropic/claude-sonnet-4-5", "cohere/command-a-03-2025", "ollama/llama3.2",
                                   "vertex/claude-sonnet-4-5@20250929"])
def test_protocols_without_n_refuse_it(model):
    endpoint = Endpoint(model, api_key="k", defaults={"project": "p"} if model.startswith("vertex") else None)
    with pytest.raises(UnsupportedParameterError, match=r"n=3.*one answer per call.*client\.map") as info:
        endpoint.chat("Hi", {"n": 3}, stream=False)
    assert info.value.option == "n=3"
    endpoint.chat("Hi", {"n": 1}, stream=False)  # one answer is what they do anyway
    # asked to drop what the model cannot take: sent without n (and said in the log)
    call = endpoint.chat("Hi", {"n": 3, "drop_unsupported": True}, stream=False)
    assert b'"n"' not in call.request.body


def test_capability_flag_refuses_n_on_a_compatible_server():
    endpoint = Endpoint("openai/some-model", api_key="k", base_url="http://localhost:1234/v1",
                        defaults={"capabilities": {"multiple_choices": False}})
    with pytest.raises(UnsupportedParameterError, match="multiple_choices is False"):
        endpoint.chat("Hi", {"n": 2}, stream=False)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_bad_n(bad):
    with pytest.raises(ValidationError, match="n .how many answers"):
        make_options({}, {"n": bad})


# -- OpenAI replies ----------------------------------------------------------------------------

COMPLETION = {
    "id": "chatcmpl-n3", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini-2024-07-18",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "Paris."}, "finish_reason": "stop"},
        {"index": 1, "message": {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": "{\"q\":\"France\"}"}}]},
         "finish_reason": "tool_calls"},
        {"index": 2, "message": {"role": "assistant", "content": "It is Par"}, "finish_reason": "length"},
    ],
    "usage": {"prompt_tokens": 10, "completion_tokens": 21, "total_tokens": 31},
}


def expected_choices():
    return [Choice(0, Message("assistant", "Paris."), "stop"),
            Choice(1, Message("assistant", [ToolCall("call_1", "lookup", {"q": "France"})]), "tool_calls"),
            Choice(2, Message("assistant", "It is Par"), "length")]


def test_openai_parses_every_choice():
    response = codec("openai").parse_chat(json.dumps(COMPLETION).encode(), {})
    assert response.choices == expected_choices()
    assert response.text == "Paris." and response.finish_reason == "stop" and response.tool_calls == []
    assert response.choices[1].tool_calls[0].arguments == {"q": "France"}
    assert response.usage == Usage(10, 21, 31)  # once, for the whole reply
    assert response.choices[0].message is response.message


def test_openai_choices_out_of_order_are_sorted_by_index():
    body = dict(COMPLETION, choices=[COMPLETION["choices"][2], COMPLETION["choices"][0], COMPLETION["choices"][1]])
    assert codec("openai").parse_chat(json.dumps(body).encode(), {}).choices == expected_choices()


def test_one_choice_is_unchanged():
    body = dict(COMPLETION, choices=COMPLETION["choices"][:1])
    response = codec("openai").parse_chat(json.dumps(body).encode(), {})
    assert response.choices == [Choice(0, Message("assistant", "Paris."), "stop")]
    assert response.other_choices == []


def chunk(index: Optional[int], delta: Optional[Dict[str, Any]] = None, finish: Optional[str] = None,
          usage: Any = None) -> Dict[str, Any]:
    obj: Dict[str, Any] = {"id": "chatcmpl-n3", "object": "chat.completion.chunk", "created": 1,
                           "model": "gpt-4o-mini-2024-07-18", "usage": usage}
    obj["choices"] = [] if index is None else [{"index": index, "delta": delta or {}, "finish_reason": finish}]
    return obj


STREAM = sse([
    chunk(0, {"role": "assistant", "content": ""}), chunk(1, {"role": "assistant", "content": None}),
    chunk(2, {"role": "assistant", "content": ""}),
    chunk(0, {"content": "Par"}), chunk(2, {"content": "It is"}),
    chunk(1, {"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                              "function": {"name": "lookup", "arguments": ""}}]}),
    chunk(0, {"content": "is."}), chunk(1, {"tool_calls": [{"index": 0, "function": {"arguments": "{\"q\":"}}]}),
    chunk(2, {"content": " Par"}), chunk(0, {}, "stop"),
    chunk(1, {"tool_calls": [{"index": 0, "function": {"arguments": "\"Fran\u00e7e\"}"}}]}),
    chunk(2, {}, "length"), chunk(1, {}, "tool_calls"),
    chunk(None, usage={"prompt_tokens": 10, "completion_tokens": 21, "total_tokens": 31}),
    b"[DONE]",
])


def test_openai_stream_of_interleaved_choices():
    events, response = replay("openai", STREAM)
    texts = {i: "".join(e.text for e in events if e.type == "text" and e.choice == i) for i in range(3)}
    assert texts == {0: "Paris.", 1: "", 2: "It is Par"}
    assert [(e.index, e.choice) for e in events if isinstance(e, ToolCallStart)] == [(0, 1)]
    end = next(e for e in events if isinstance(e, ToolCallEnd))
    assert end.choice == 1 and end.tool_call.arguments == {"q": "Fran\u00e7e"}
    finishes = [e for e in events if isinstance(e, Finish)]
    assert [(f.choice, f.finish_reason) for f in finishes] == [(1, "tool_calls"), (2, "length"), (0, "stop")]
    assert events[-1] == Finish("stop")  # still the last event
    assert [c.text for c in response.choices] == ["Paris.", "", "It is Par"]
    assert [c.finish_reason for c in response.choices] == ["stop", "tool_calls", "length"]
    assert response.choices[1].tool_calls[0].arguments == {"q": "Fran\u00e7e"}
    assert response.usage == Usage(10, 21, 31)


def test_openai_stream_equals_the_parsed_reply():
    body = json.loads(json.dumps(COMPLETION))
    body["choices"][1]["message"]["tool_calls"][0]["function"]["arguments"] = "{\"q\":\"Fran\u00e7e\"}"
    body["model"] = "gpt-4o-mini-2024-07-18"
    _, streamed = replay("openai", STREAM)
    assert streamed == codec("openai").parse_chat(json.dumps(body).encode(), {})


def test_n1_events_are_unchanged():
    acc = Accumulator("openai")
    assert acc.text("a") == TextDelta("a") and acc.text("a").choice == 0
    assert acc.finish() == Finish("stop", 0)
    assert acc.response().other_choices == []


# -- Gemini replies ------------------------------------------------------------------------------

def candidate(text: str, index: int, finish: Optional[str] = None) -> Dict[str, Any]:
    out: Dict[str, Any] = {"content": {"role": "model", "parts": [{"text": text}]}}
    if finish:
        out["finishReason"] = finish
    if index:
        out["index"] = index
    return out


def test_gemini_parses_every_candidate():
    body = {"candidates": [candidate("Paris.", 0, "STOP"), candidate("Lyon? No, Paris.", 1, "STOP"),
                           {"content": {"role": "model", "parts": [{"functionCall": {"name": "lookup",
                                                                                      "args": {"q": "x"}}}]},
                            "finishReason": "STOP", "index": 2}],
            "usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 12, "totalTokenCount": 16},
            "modelVersion": "gemini-2.5-flash", "responseId": "r1"}
    response = codec("gemini", "gemini-2.5-flash").parse_chat(json.dumps(body).encode(), {})
    assert [c.text for c in response.choices] == ["Paris.", "Lyon? No, Paris.", ""]
    assert [c.finish_reason for c in response.choices] == ["stop", "stop", "tool_calls"]
    assert response.choices[2].tool_calls[0].name == "lookup"
    assert response.usage == Usage(4, 12, 16)


def test_gemini_stream_of_candidates():
    events_data = sse([
        {"candidates": [candidate("Par", 0), candidate("Ly", 1)], "modelVersion": "gemini-2.5-flash",
         "responseId": "r1", "usageMetadata": {"promptTokenCount": 4}},
        {"candidates": [candidate("is.", 0, "STOP")], "modelVersion": "gemini-2.5-flash", "responseId": "r1"},
        {"candidates": [candidate("on.", 1, "MAX_TOKENS")], "modelVersion": "gemini-2.5-flash", "responseId": "r1",
         "usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 6, "totalTokenCount": 10}},
    ])
    events, response = replay("gemini", events_data, "gemini-2.5-flash")
    assert [(e.choice, e.text) for e in events if e.type == "text"] == [(0, "Par"), (1, "Ly"), (0, "is."),
                                                                        (1, "on.")]
    assert [(e.choice, e.finish_reason) for e in events if e.type == "finish"] == [(1, "length"), (0, "stop")]
    assert [c.text for c in response.choices] == ["Paris.", "Lyon."]
    assert response.usage == Usage(4, 6, 10)


# -- the emulator's dialects against the codecs ------------------------------------------------------

@pytest.mark.parametrize("dialect, provider, model, options", [
    (OpenAI(), "openai", "test-model", {"n": 3, "stream_options": {"include_usage": True}}),
    (Gemini(), "gemini", "gemini-2.5-flash", {"generationConfig": {"candidateCount": 3}}),
])
def test_emulator_answers_every_choice_alike_streamed_or_not(dialect, provider, model, options):
    reply = Reply(text="Deterministic answer, with ünïcode", tool_calls=[ToolCallSpec("lookup", {"q": 1}, id="c1")])
    body = dict({"model": model, "messages": [{"role": "user", "content": "Hi"}]}, **options)
    whole = dialect.render(reply, Context(body, "req_1", 1, params={"model": model}))
    parsed = codec(provider, model).parse_chat(json.dumps(whole).encode(), {})
    assert len(parsed.choices) == 3 and len({c.text for c in parsed.choices}) == 3
    assert all(c.tool_calls[0].name == "lookup" for c in parsed.choices)
    data = b"".join(dialect.events(reply, Context(body, "req_1", 1, params={"model": model})))
    _, streamed = replay(provider, data, model)
    assert [c.message for c in streamed.choices] == [c.message for c in parsed.choices]
    assert streamed.usage.output_tokens == parsed.usage.output_tokens


# -- serialisation -----------------------------------------------------------------------------------

def test_response_with_choices_round_trips():
    response = codec("openai").parse_chat(json.dumps(COMPLETION).encode(), {})
    data = response_to_dict(response)
    assert [c["index"] for c in data["other_choices"]] == [1, 2]
    again = response_from_dict(json.loads(json.dumps(data)))
    assert again == response and again.choices == expected_choices()
    single = Response(Message("assistant", "x"))
    assert "other_choices" not in response_to_dict(single) and response_from_dict(response_to_dict(single)) == single


def test_bad_saved_choices():
    with pytest.raises(ValidationError, match="choice"):
        response_from_dict({"message": {"role": "assistant", "content": "x"}, "other_choices": [{"index": 1}]})
