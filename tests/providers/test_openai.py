"""The OpenAI / OpenAI-compatible codec (llmunified/providers/openai.py) against real recordings.

Fixtures in tests/fixtures/{openai,openai-compatible,azure}/ are byte-for-byte copies of the
shared wire recordings (see tests/fixtures/SOURCES.md). Expected values were read from those
files by hand and written here; long texts are pinned by their start, end, length and SHA-256.
Every stream is replayed under many chunkings (whole, 1-byte, fixed sizes, cuts inside multibyte
UTF-8 characters, seeded random cuts): the events and the final Response must be identical for
all of them, and equal to the non-streaming parse of an equivalent body.

Wrong-shaped chunks and bodies must give typed errors (they once raised AttributeError/TypeError).
"""
import hashlib
import json
from typing import Any, Dict, List, Optional

import pytest

from llmunified._events import Finish, TextDelta, ThinkingDelta, ToolCallDelta, ToolCallEnd, ToolCallStart, UsageEvent
from llmunified._options import make_options
from llmunified._registry import PROVIDERS, resolve_config
from llmunified._types import (ImagePart, Message, TextPart, ThinkingPart, Tool, ToolCall, ToolResult, Usage,
                               assistant, system, tool_result, user)
from llmunified.errors import (APIError, BadRequestError, MalformedResponseError, NotFoundError, RateLimitError,
                               StreamError)
from llmunified.providers import codec_for
from llmunified.providers.openai import OpenAICodec
from tests.providers.recordings import bound, chunkings, feed_all, httprr_exchange, jsonl_as_sse, load, sse, vcr, vcr_body


# -- helpers ---------------------------------------------------------------------------------

def codec(provider: str = "openai", **kw: Any) -> OpenAICodec:
    kw.setdefault("api_key", "sk-test")
    c = codec_for(resolve_config(PROVIDERS[provider], environ={}, **kw), "test-model")
    assert isinstance(c, OpenAICodec)
    return c


def run_stream(chunks: List[bytes], provider: str = "openai", headers: Optional[Dict[str, str]] = None):
    return feed_all(bound(codec(provider), "requested-model").stream_decoder(headers or {}), chunks)


def replay_all(data: bytes, provider: str = "openai", seed: int = 0, headers: Optional[Dict[str, str]] = None):
    first = None
    n = 0
    for chunks in chunkings(data, seed):
        assert b"".join(chunks) == data
        got = run_stream(chunks, provider, headers)
        if first is None:
            first = got
        else:
            assert got[0] == first[0]
            assert got[1] == first[1]
        n += 1
    assert n > 30
    return first


def parse(body: Any, provider: str = "openai", headers: Optional[Dict[str, str]] = None):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
    return bound(codec(provider), "requested-model").parse_chat(raw, headers or {})


def completion(id: str, model: str, content: Optional[str], finish: str, usage: Dict[str, Any],
               tool_calls: Optional[List[Dict[str, Any]]] = None, **message_extra: Any) -> Dict[str, Any]:
    """A non-streaming chat.completion body built from hand-written values."""
    message: Dict[str, Any] = {"role": "assistant", "content": content, "refusal": None}
    if tool_calls:
        message["tool_calls"] = tool_calls
    message.update(message_extra)
    return {"id": id, "object": "chat.completion", "created": 1, "model": model,
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
            "usage": usage}


def texts(events: List[Any]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def req_json(request) -> Dict[str, Any]:
    return json.loads(request.body.decode("utf-8"))


def build(messages: Any, provider: str = "openai", stream: bool = False, model: str = "gpt-4o-mini",
          **options: Any):
    msgs = messages if isinstance(messages, list) else [messages]
    return bound(codec(provider), model).chat_request(msgs, make_options({}, options), stream)


GPT4O = "gpt-4o-2024-08-06"


# -- recorded text streams -------------------------------------------------------------------

TEXT_USAGE_PIECES = ["I'm", " unable", " to", " provide", " real", "-time", " weather", " updates", ".", " To",
                     " get", " the", " current", " weather", " in", " San", " Francisco", ",", " I", " recommend",
                     " checking", " a", " reliable", " weather", " website", " or", " a", " weather", " app", "."]
TEXT_USAGE = ("I'm unable to provide real-time weather updates. To get the current weather in San Francisco, "
              "I recommend checking a reliable weather website or a weather app.")


def test_stream_text_usage_chunk():
    events, resp = replay_all(load("openai/stream_text_usage_chunk.sse"), seed=1)
    assert [e.text for e in events if isinstance(e, TextDelta)] == TEXT_USAGE_PIECES
    assert events[-2:] == [UsageEvent(Usage(14, 30, 44)), Finish("stop")]
    assert len(events) == 32
    assert resp.text == TEXT_USAGE and resp.finish_reason == "stop"
    assert resp.usage == Usage(14, 30, 44, 0, 0, 0)
    assert resp.id == "chatcmpl-ABfw031mOJeYCSHe4yI2ZjOA6kMJL" and resp.model == GPT4O
    assert len(resp.raw) == 33  # the decoded chunks ([DONE] is not one)
    assert parse(completion("chatcmpl-ABfw031mOJeYCSHe4yI2ZjOA6kMJL", GPT4O, TEXT_USAGE, "stop",
                            {"prompt_tokens": 14, "completion_tokens": 30, "total_tokens": 44,
                             "completion_tokens_details": {"reasoning_tokens": 0}})) == resp


@pytest.mark.parametrize("name,id,text,finish,usage", [
    ("stream_json_schema_structured_output.sse", "chatcmpl-ABfw1e5abtU8OwGr15vOreYVb2MiF",
     '{"city":"San Francisco","temperature":61,"units":"f"}', "stop", (79, 14, 93)),
    ("stream_finish_length_truncated_json.sse", "chatcmpl-ABfw3Oqj8RD0z6aJiiX37oTjV2HFh",
     '{"', "length", (79, 1, 80)),
    ("stream_logprobs.sse", "chatcmpl-ABfw5EzoqmfXjnnsXY7Yd8OC6tb3c", "Foo!", "stop", (9, 2, 11)),
])
def test_recorded_text_streams(name, id, text, finish, usage):
    events, resp = replay_all(load("openai/" + name), seed=2)
    assert texts(events) == text
    assert resp.text == text and resp.finish_reason == finish
    assert resp.usage == Usage(*usage)
    assert resp.id == id and resp.model == GPT4O and resp.tool_calls == []
    assert events[-2:] == [UsageEvent(Usage(*usage)), Finish(finish)]
    p, c, t = usage
    assert parse(completion(id, GPT4O, text, finish, {"prompt_tokens": p, "completion_tokens": c,
                                                      "total_tokens": t})) == resp


def test_finish_length_keeps_the_partial_json():
    _, resp = run_stream([load("openai/stream_finish_length_truncated_json.sse")])
    assert resp.finish_reason == "length" and resp.text == '{"'
    with pytest.raises(ValueError):
        json.loads(resp.text)


LONG_JSON = (
    '\n  {\n    "location": "San Francisco, CA",\n    "weather": {\n      "temperature": "18°C",\n'
    '      "condition": "Partly Cloudy",\n      "humidity": "72%",\n      "windSpeed": "15 km/h",\n'
    '      "windDirection": "NW"\n    },\n    "forecast": [\n      {\n        "day": "Monday",\n'
    '        "high": "20°C",\n        "low": "14°C",\n        "condition": "Sunny"\n      },\n      {\n'
    '        "day": "Tuesday",\n        "high": "19°C",\n        "low": "15°C",\n'
    '        "condition": "Mostly Cloudy"\n      },\n      {\n        "day": "Wednesday",\n'
    '        "high": "18°C",\n        "low": "14°C",\n        "condition": "Cloudy"\n      }\n    ]\n  }\n')


def test_stream_long_json_content_with_multibyte():
    data = load("openai/stream_long_json_content.sse")
    assert "°".encode("utf-8") in data  # raw UTF-8 on the wire, split by some chunkings above
    events, resp = replay_all(data, seed=3)
    assert len(LONG_JSON) == 608 and sha(LONG_JSON) == (
        "fd5dc0f04c4dbdf7a7465109587b4676163ecab5bfb02c8ad7998d0d671656e5")
    assert resp.text == LONG_JSON
    assert json.loads(resp.text)["forecast"][1]["high"] == "19°C"
    assert resp.usage == Usage(19, 177, 196) and resp.finish_reason == "stop"
    assert resp.id == "chatcmpl-ABfwCjPMi0ubw56UyMIIeNfJzyogq"
    assert sum(isinstance(e, TextDelta) for e in events) == 177  # one delta per token chunk
    assert parse(completion("chatcmpl-ABfwCjPMi0ubw56UyMIIeNfJzyogq", GPT4O, LONG_JSON, "stop",
                            {"prompt_tokens": 19, "completion_tokens": 177, "total_tokens": 196})) == resp


def test_stream_text_obfuscation_chunks_reframed():
    data = jsonl_as_sse(load("openai/stream_text_obfuscation.chunks.jsonl"), done=True)
    events, resp = replay_all(data, seed=4)
    text = resp.text
    assert len(text) == 1724
    assert sha(text) == "53b2d9e583d02b3ff0a0e83be5beb61ce1d16ccddc7ab9f033e72ec8ef55c8e4"
    assert text.startswith("**Holiday Name:** Harmony Day\n\n**Date:** Celebrated annually on the first Saturday")
    assert text.endswith("connected through shared human experiences and mutual respect.")
    assert "different cultures—flags, traditional art" in text and "various cultures’ histories" in text
    assert texts(events) == text
    assert resp.usage == Usage(16, 300, 316) and resp.finish_reason == "stop"
    assert resp.id == "chatcmpl-D8Z5oo6uDh67AD85p73ksdT1KxhE0" and resp.model == "gpt-4.1-nano-2025-04-14"
    assert parse(completion("chatcmpl-D8Z5oo6uDh67AD85p73ksdT1KxhE0", "gpt-4.1-nano-2025-04-14", text, "stop",
                            {"prompt_tokens": 16, "completion_tokens": 300, "total_tokens": 316,
                             "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0}})) == resp


def test_stream_with_ratelimit_headers_httprr():
    req_line, recorded_req, status, headers, body = httprr_exchange("openai/stream_with_ratelimit_headers.httprr")
    assert status == 200 and headers["x-ratelimit-reset-requests"] == "6ms"
    events, resp = replay_all(body, seed=5, headers=headers)
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["1", ",", " ", "2", ",", " ", "3", ",", " ",
                                                                    "4", ",", " ", "5"]
    assert resp.text == "1, 2, 3, 4, 5" and resp.finish_reason == "stop"
    assert resp.usage == Usage(14, 13, 27)
    assert resp.id == "chatcmpl-C6bjxzOr3Oz1rTiafksd6himIit3q" and resp.model == "gpt-3.5-turbo-0125"
    assert resp.headers["x-request-id"] == "req_87b8e5a94cce414688e29d59b127eb67"
    # the recorded request is exactly what we build for the same call
    assert req_line == "POST https://api.openai.com/v1/chat/completions HTTP/1.1"
    r = build(user("Count from 1 to 5"), stream=True, model="gpt-3.5-turbo", max_tokens=50, temperature=0)
    assert r.url == "https://api.openai.com/v1/chat/completions"
    assert req_json(r) == json.loads(recorded_req)


# -- recorded tool-call streams --------------------------------------------------------------

@pytest.mark.parametrize("name,id,call_id,fn,arguments,usage,fragments", [
    ("stream_single_tool_call_a.sse", "chatcmpl-ABfwERreu9s99xXsVuOWtIB2UOx62", "call_4XzlGBLtUe9dy3GVNV4jhq7h",
     "get_weather", {"city": "New York City"}, (44, 16, 60),
     ['{"', "city", '":"', "New", " York", " City", '"}']),
    ("stream_single_tool_call_b.sse", "chatcmpl-ABfwCgi41eStOcARjZq97ohCEGBPO", "call_CTf1nWJLqSeRgDqaCG27xZ74",
     "get_weather", {"city": "San Francisco", "state": "CA"}, (48, 19, 67), None),
    ("stream_single_tool_call_strict.sse", "chatcmpl-ABfw8AOXnoa2kzy11vVTSjuQhHCQr",
     "call_c91SqDXlYFuETYv8mUHzz6pp", "GetWeatherArgs", {"city": "Edinburgh", "country": "UK", "units": "c"},
     (76, 24, 100), None),
])
def test_recorded_tool_call_streams(name, id, call_id, fn, arguments, usage, fragments):
    events, resp = replay_all(load("openai/" + name), seed=6)
    assert events[0] == ToolCallStart(0, call_id, fn)
    deltas = [e.arguments for e in events if isinstance(e, ToolCallDelta)]
    if fragments is not None:
        assert deltas == fragments
    assert json.loads("".join(deltas)) == arguments
    ends = [e for e in events if isinstance(e, ToolCallEnd)]
    assert ends == [ToolCallEnd(0, ToolCall(call_id, fn, arguments))]
    assert events[-2:] == [UsageEvent(Usage(*usage)), Finish("tool_calls")]
    assert resp.tool_calls == [ToolCall(call_id, fn, arguments)]
    assert resp.tool_calls[0].raw_arguments == "".join(deltas)
    assert resp.text == "" and resp.finish_reason == "tool_calls" and resp.id == id
    p, c, t = usage
    nonstream = parse(completion(id, GPT4O, None, "tool_calls", {"prompt_tokens": p, "completion_tokens": c,
                                                                 "total_tokens": t},
                                 tool_calls=[{"id": call_id, "type": "function",
                                              "function": {"name": fn, "arguments": json.dumps(arguments)}}]))
    assert nonstream == resp


# -- openai-compatible streams -----------------------------------------------------------------

def test_openrouter_stream_processing_comments():
    req_line, recorded_req, status, headers, body = httprr_exchange(
        "openai-compatible/openrouter_stream_processing_comments.httprr")
    assert body.startswith(b": OPENROUTER PROCESSING\n\n")
    events, resp = replay_all(body, provider="openrouter", seed=7)
    assert events == [TextDelta("test response"), UsageEvent(Usage(586, 3, 589)), Finish("stop")]
    assert resp.text == "test response" and resp.id == "gen-1754667632-NNYO7FUAFP6cwNW8jL7x"
    assert resp.model == "meta-llama/llama-3.2-3b-instruct:free" and resp.provider == "openrouter"
    assert parse(completion("gen-1754667632-NNYO7FUAFP6cwNW8jL7x", "meta-llama/llama-3.2-3b-instruct:free",
                            "test response", "stop", {"prompt_tokens": 586, "completion_tokens": 3,
                                                      "total_tokens": 589}), provider="openrouter") == resp
    r = build(user("Say exactly 'test response' and nothing else"), provider="openrouter", stream=True,
              model="meta-llama/llama-3.2-3b-instruct:free", temperature=0)
    assert r.url == "https://openrouter.ai/api/v1/chat/completions"
    assert req_json(r) == json.loads(recorded_req)


def test_openrouter_429_in_the_same_trace():
    _, _, status, headers, body = httprr_exchange("openai-compatible/openrouter_stream_processing_comments.httprr", 1)
    err = codec("openrouter").api_error(status, headers, body)
    assert type(err) is RateLimitError and err.retryable and err.code == "429"
    assert err.message.startswith("Rate limit exceeded: limit_rpm/meta-llama/llama-3.2-3b-instruct/")


OPENROUTER_THINKING = "This is a simple arithmetic question. 2+2 equals 4."
OPENROUTER_SIGNATURE = ("Et0BCkgIChACGAIqQA2s7h7tA7IG35fbwVkou9PM2hANVJNUwcEM4q12fTRDK6y3v6YoEvJ+7bko8wnW/GLsQFXadaJPAEMC"
                        "pLkhI9ISDLjFkeR1aVUIvdCtyBoMrUTovh0jwk+wpnZWIjANV3e6VVdgbGSsEyyTHO6KMmVtqqs79f9blnVdJmmMIwMy"
                        "Ti6bEtG59+jTU7v1zlsqQ2IKGZILOlr6adh0Aam7zYttvisys+wjyZZXU1y/Srz0nmp1cFgVOJe1BLKQI3SSRrjsqQC0"
                        "uAEUZy0GX0Rq1AXjvIcYAQ==")


def test_openrouter_stream_reasoning():
    inter = vcr("openai-compatible/openrouter_stream_reasoning.vcr.yaml")[0]
    assert inter["response"]["status"]["code"] == 200
    events, resp = replay_all(vcr_body(inter), provider="openrouter", seed=8)
    # the text comes from delta.reasoning; reasoning_details add the block's signature
    assert [e for e in events if isinstance(e, ThinkingDelta)] == [
        ThinkingDelta("This"), ThinkingDelta(" is a simple arithmetic question. "), ThinkingDelta("2+2 equals 4."),
        ThinkingDelta("", signature=OPENROUTER_SIGNATURE)]
    assert texts(events) == "2 + 2 = 4"
    assert resp.thinking == OPENROUTER_THINKING and resp.text == "2 + 2 = 4"
    # the merged reasoning_details item is kept on the part, to go back to OpenRouter unchanged
    detail = {"type": "reasoning.text", "text": OPENROUTER_THINKING, "signature": OPENROUTER_SIGNATURE,
              "format": "anthropic-claude-v1", "index": 0}
    assert resp.message.content == [
        ThinkingPart(OPENROUTER_THINKING, signature=OPENROUTER_SIGNATURE,
                     data=json.dumps([detail], separators=(",", ":"))),
        TextPart("2 + 2 = 4")]
    assert resp.usage == Usage(43, 36, 79, 0, 0, 13)
    assert resp.finish_reason == "stop" and resp.model == "anthropic/claude-sonnet-4.5"
    assert resp.id == "gen-1765226419-AGrwjunAftQIAgweibL8"
    nonstream = parse(completion("gen-1765226419-AGrwjunAftQIAgweibL8", "anthropic/claude-sonnet-4.5",
                                 "2 + 2 = 4", "stop", {"prompt_tokens": 43, "completion_tokens": 36,
                                                       "total_tokens": 79,
                                                       "completion_tokens_details": {"reasoning_tokens": 13}},
                                 reasoning=OPENROUTER_THINKING, reasoning_details=[detail]), provider="openrouter")
    assert nonstream == resp


# -- non-streaming bodies --------------------------------------------------------------------

def test_chat_completion_text():
    resp = parse(load("openai/chat_completion_text.json"))
    assert len(resp.text) == 1842
    assert sha(resp.text) == "0bd93e941831fcdd0cead365718237285a315e63f5e693b7cd532fbb221ef58f"
    assert resp.text.startswith("**Holiday Name:** Galaxy Day  \n\n**Date:** October 31st")
    assert resp.text.endswith("inspiring individuals to look up and dream beyond our world.")
    assert "illuminate vast darkness\u2014mirroring our quest" in resp.text
    assert resp.finish_reason == "stop" and resp.usage == Usage(16, 363, 379)
    assert resp.id == "chatcmpl-D8Z5f52zQqikDBEKQMQoYcWMcWPeU" and resp.model == "gpt-4.1-nano-2025-04-14"
    assert resp.raw["system_fingerprint"] == "fp_de604bd877"


def test_groq_chat_text():
    resp = parse(load("openai-compatible/groq_chat_text.json"), provider="groq")
    assert len(resp.text) == 2953
    assert sha(resp.text) == "3cb2fb56b7cc26b37c92045da39bf1584860fd63b662c6fdc0220ba103da8cc5"
    assert resp.text.startswith('I\'d like to introduce "Luminaria" - a joyous holiday')
    assert resp.text.endswith("together, we can create a brighter, more radiant world.")
    assert resp.usage == Usage(45, 607, 652)  # timing fields (queue_time, ...) are not token counts
    assert resp.finish_reason == "stop" and resp.model == "llama-3.3-70b-versatile"
    assert resp.id == "chatcmpl-09d64d2a-ed1c-4473-829f-78db43f45d13" and resp.provider == "groq"


DEEPSEEK_TEXT = ('The word "strawberry" contains three instances of the letter "r": one after the "t" and two '
                 'before the "y".')


def test_deepseek_reasoning_content():
    resp = parse(load("openai-compatible/deepseek_reasoner_reasoning_content.json"), provider="deepseek")
    assert resp.text == DEEPSEEK_TEXT
    assert len(resp.thinking) == 935
    assert sha(resp.thinking) == "5d222a8c19bc857e64b9f487f06df161e5a48db37ef805f3bd586e998f4829d8"
    assert resp.thinking.startswith("We are asked: \"How many 'r's are in the word 'strawberry'?\"")
    assert resp.thinking.endswith("So answer is 3.")
    assert isinstance(resp.message.content[0], ThinkingPart) and resp.message.content[1] == TextPart(DEEPSEEK_TEXT)
    assert resp.usage == Usage(18, 345, 363, 0, 0, 315)
    assert resp.id == "945bb10c-9bf3-47ff-a2a2-43bbe9705c72" and resp.model == "deepseek-reasoner"


def test_deepseek_prompt_cache_hit_tokens_are_cache_reads():
    body = json.loads(load("openai-compatible/deepseek_reasoner_reasoning_content.json"))
    body["usage"]["prompt_cache_hit_tokens"] = 12  # the recording has 0 hits; same shape with a hit
    body["usage"]["prompt_cache_miss_tokens"] = 6
    del body["usage"]["prompt_tokens_details"]
    assert parse(body, provider="deepseek").usage == Usage(18, 345, 363, 12, 0, 315)


def test_o3_mini_reasoning_tokens():
    inter = vcr("openai/o3_mini_max_completion_tokens.vcr.yaml")[0]
    resp = parse(vcr_body(inter))
    assert resp.text == "Hello there! How can I help you today?"
    assert resp.usage == Usage(7, 87, 94, 0, 0, 64)
    assert resp.model == "o3-mini-2025-01-31" and resp.id == "chatcmpl-Dr3KNfXKBS1oDOrhqYDuLYdjX9PM4"
    # request: OpenAI itself gets max_completion_tokens (reasoning models reject max_tokens)
    rec = inter["request"]["parsed_body"]
    ours = req_json(build(user("hello"), model="o3-mini", max_tokens=100))
    assert ours == {k: v for k, v in rec.items() if k != "stream"} and rec["stream"] is False


def test_prompt_cache_cached_and_written_tokens():
    first, second = vcr("openai/prompt_cache_cached_tokens.vcr.yaml")
    r1, r2 = parse(vcr_body(first)), parse(vcr_body(second))
    assert r1.text == r2.text == "OK"
    assert r1.usage == Usage(4020, 4, 4024, cache_read_tokens=0, cache_write_tokens=4012)
    assert r2.usage == Usage(4020, 4, 4024, cache_read_tokens=4012, cache_write_tokens=0)
    assert r1.model == "gpt-5.6-sol"


def test_azure_content_filter_results():
    inter = vcr("azure/chat_completion_content_filter_results.vcr.yaml")[0]
    resp = parse(vcr_body(inter), headers={"apim-request-id": "1d93fae1-cb8e-4789-8fb6-d26577a3cb77"})
    assert resp.text == "The capital of France is **Paris**."
    assert resp.finish_reason == "stop" and resp.usage == Usage(14, 9, 23)
    assert resp.model == "gpt-4o-2024-11-20" and resp.id == "chatcmpl-BAeyRj7gU6aCNSSAskAFbupBWYMIT"
    assert resp.raw["choices"][0]["content_filter_results"]["hate"] == {"filtered": False, "severity": "safe"}


def test_groq_tool_use_failed_then_tool_call_with_reasoning():
    failed, call, final = vcr("openai-compatible/groq_error_400_tool_use_failed.vcr.yaml")
    assert failed["response"]["status"]["code"] == 400
    err = codec("groq").api_error(400, {}, vcr_body(failed))
    assert type(err) is BadRequestError
    assert err.code == "tool_use_failed" and err.error_type == "invalid_request_error"
    assert err.message.startswith("Tool call validation failed: tool call validation failed: parameters for "
                                  "tool get_something_by_name did not match schema")
    assert "failed_generation" in err.body
    resp = parse(vcr_body(call), provider="groq")
    assert resp.thinking == 'We need to call with correct param: name field. Use some name, e.g., "test".'
    assert resp.tool_calls == [ToolCall("fc_311ba17b-89f9-48d3-8fd9-7e74a1264855", "get_something_by_name",
                                        {"name": "test"})]
    assert resp.text == "" and resp.finish_reason == "tool_calls"
    assert resp.usage == Usage(301, 52, 353, 0, 0, 22)
    resp = parse(vcr_body(final), provider="groq")
    assert resp.text.startswith("The first call failed due to missing and extra parameters")
    assert resp.thinking.startswith("We need to respond to user request.")
    assert resp.usage == Usage(336, 96, 432, 256, 0, 59)


def test_groq_recorded_request_messages():
    """Our encoding of the recorded tool round trip (content null on a tool-only turn is sent
    explicitly; the recording left the key out, both are valid)."""
    _, call, _ = vcr("openai-compatible/groq_error_400_tool_use_failed.vcr.yaml")
    rec = call["request"]["parsed_body"]
    sys_text, user_text = rec["messages"][0]["content"], rec["messages"][1]["content"]
    tool_text = rec["messages"][3]["content"]
    tool = Tool("get_something_by_name", "", {"additionalProperties": False,
                                               "properties": {"name": {"type": "string"}},
                                               "required": ["name"], "type": "object"})
    msgs = [system(sys_text), user(user_text),
            assistant(tool_calls=[ToolCall("pyd_ai_445dbde6c4764cafb5782bb928ef6c2c", "get_something_by_name",
                                           {"foo": "bar"})]),
            tool_result("pyd_ai_445dbde6c4764cafb5782bb928ef6c2c", tool_text)]
    ours = req_json(build(msgs, provider="groq", model="openai/gpt-oss-120b", tools=[tool], tool_choice="auto"))
    assert ours["messages"][2].pop("content") is None
    assert ours["messages"] == rec["messages"]
    assert ours["tools"] == rec["tools"] and ours["tool_choice"] == "auto"


# -- errors ------------------------------------------------------------------------------------

def test_error_400_unsupported_parameter():
    err = codec().api_error(400, {"x-request-id": "req_1"}, load("openai/error_400_unsupported_parameter_max_tokens.json"))
    assert type(err) is BadRequestError
    assert err.message == ("Unsupported parameter: 'max_tokens' is not supported with this model. "
                           "Use 'max_completion_tokens' instead.")
    assert err.code == "unsupported_parameter" and err.error_type == "invalid_request_error"
    assert err.request_id == "req_1" and not err.retryable


def test_error_404_model_not_found():
    inter = vcr("openai/error_404_model_not_found_embeddings.vcr.yaml")[0]
    err = codec().api_error(404, {}, vcr_body(inter))
    assert type(err) is NotFoundError and err.code == "model_not_found"
    assert err.message == "The model `nonexistent` does not exist or you do not have access to it."


def test_error_inside_a_200_stream_carries_partial():
    head = load("openai/stream_text_usage_chunk.sse").split(b"\n\n")[:4]
    body = b"\n\n".join(head) + b'\n\ndata: {"error":{"message":"The server had an error","type":"server_error"}}\n\n'
    for chunks in chunkings(body, seed=9):
        dec = bound(codec(), "m").stream_decoder({})
        with pytest.raises(APIError) as info:
            for chunk in chunks:
                dec.feed(chunk)
            dec.eof()
        assert info.value.message == "The server had an error" and info.value.error_type == "server_error"
        assert info.value.response.text == "I'm unable to"
        assert not info.value.retryable


def test_groq_event_error_inside_stream():
    body = (b'data: {"id":"x","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}\n\n'
            b'event: error\ndata: {"error":{"message":"tool call validation failed","type":"invalid_request_error",'
            b'"code":"tool_use_failed"}}\n\n')
    with pytest.raises(APIError) as info:
        run_stream([body], provider="groq")
    assert info.value.code == "tool_use_failed" and info.value.response.text == "Hi"


def test_truncated_stream_is_stream_error_with_partial():
    data = load("openai/stream_long_json_content.sse")
    inside = data.index(b'"Tuesday"')  # inside the event carrying "Tuesday"
    between = data.rindex(b"data: ", 0, inside)  # at the start of that event
    for cut in (inside, between):
        for chunks in chunkings(data[:cut], seed=10, n_random=5):
            dec = bound(codec(), "m").stream_decoder({})
            for chunk in chunks:
                dec.feed(chunk)
            with pytest.raises(StreamError) as info:
                dec.eof()
            text = info.value.response.text
            assert text == LONG_JSON[:LONG_JSON.index("Tuesday")]
            assert info.value.response.usage == Usage()
    # a finish_reason without [DONE] (some compatible servers) is a complete reply
    data = load("openai/stream_text_usage_chunk.sse").replace(b"data: [DONE]\n\n", b"")
    events, resp = run_stream([data])
    assert resp.text == TEXT_USAGE and events[-1] == Finish("stop")


def test_tool_call_stream_cut_inside_arguments():
    data = load("openai/stream_single_tool_call_a.sse")
    cut = data.index(b'"arguments":" York"')
    dec = bound(codec(), "m").stream_decoder({})
    dec.feed(data[:cut])
    with pytest.raises(StreamError) as info:
        dec.eof()
    call = info.value.response.tool_calls[0]
    assert call.name == "get_weather" and call.raw_arguments == '{"city":"New' and call.arguments == {}
    assert not call.arguments_valid


@pytest.mark.parametrize("body", [
    b"<html><body>Bad gateway</body></html>",
    b'{"id":"chatcmpl-1","choices":[{"index":0,"message":{"role":"assistant","content":"hel',
    b'{"choices": 3}',
    b'{"choices": []}',
    b'{"choices":[{"message":3}]}',
    b"[]",
    b"",
    b'{"choices":[{"message":{"content":"x","tool_calls":[{"function":{"arguments":"{}"}}]}}]}',
])
def test_malformed_nonstream_bodies(body):
    with pytest.raises(MalformedResponseError) as info:
        parse(body)
    assert info.value.body is not None and info.value.provider == "openai"
    if body[:1] != b"{" or not body.endswith(b"}"):  # not JSON: the raw text is kept verbatim
        assert info.value.body == body.decode("utf-8")


def test_malformed_shape_keeps_the_raw_body_verbatim():
    body = b'{"choices":3,"note":"caf\\u00e9"}'
    with pytest.raises(MalformedResponseError) as info:
        parse(body)
    assert info.value.body == body.decode("utf-8")


@pytest.mark.parametrize("data", [b"not json", b"[1]"])
def test_malformed_stream_events(data):
    with pytest.raises(StreamError):
        run_stream([b'data: {"id":"a","choices":[{"index":0,"delta":{"content":"x"}}]}\n\ndata: ' + data + b"\n\n"])


def test_events_read_from_bytes_equal_events_read_from_text():
    # A read of whole one-line events goes to the JSON parser as bytes; other reads (events cut by
    # the network, comments, CRLF mixed in) as SSE text. Both give the same events and reply,
    # through invalid UTF-8 (the SSE rules' U+FFFD), escapes, big integers and non-ASCII text.
    body = (b'data: {"id":"a","model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"caf\xc3\xa9 "}}]}\n\n'
            b'data: {"id":"a","choices":[{"index":0,"delta":{"content":"bad \xff byte \\u00e9 \\ud83d\\ude00"}}]}\n\n'
            b'data: {"id":"a","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],'
            b'"usage":{"prompt_tokens":123456789012345678901234567890,"completion_tokens":2,"total_tokens":3}}\n\n'
            b"data: [DONE]\n\n")
    events, resp = replay_all(body, seed=4)
    assert resp.text == "caf\u00e9 bad \ufffd byte \u00e9 \U0001F600"
    assert resp.usage.input_tokens == 123456789012345678901234567890
    comment = run_stream([body.replace(b"data: [DONE]", b": keep-alive\n\ndata: [DONE]")])
    assert comment[1].text == resp.text and comment[0] == events


def test_a_stream_that_switches_to_orjson_midway_reads_the_same(monkeypatch):
    # the JSON decoder moves to orjson after a count of texts, per network read: a stream that
    # crosses that point gives the events and reply json alone gives
    pytest.importorskip("orjson")
    from llmunified import _json

    data = load("openai/stream_long_json_content.sse")
    monkeypatch.setattr(_json, "settled", False)
    monkeypatch.setattr(_json, "_resolved", None)
    monkeypatch.setattr(_json, "_started", True)
    monkeypatch.setattr(_json, "_left", 1 << 62)  # json for good
    want = run_stream([data[i:i + 300] for i in range(0, len(data), 300)])
    assert _json.backend() == "json"
    monkeypatch.setattr(_json, "_left", 7)  # orjson from the read after the seventh text
    got = run_stream([data[i:i + 300] for i in range(0, len(data), 300)])
    assert _json.backend() == "orjson"
    assert got[0] == want[0] and got[1] == want[1] and got[1].text == LONG_JSON


@pytest.mark.parametrize("data", [b"not json", b"[1]", b"\xff{"])
def test_a_broken_event_keeps_its_text_on_the_error(data):
    with pytest.raises(StreamError) as info:
        run_stream([b'data: {"id":"a","choices":[{"index":0,"delta":{"content":"x"}}]}\n\ndata: ' + data + b"\n\n"])
    assert data.decode("utf-8", "replace")[:20] in str(info.value)
    assert info.value.response.text == "x"


@pytest.mark.parametrize("chunk", [
    b'{"choices":[3]}',
    b'{"choices":{"a":1}}',
    b'{"choices":[{"index":0,"delta":"text"}]}',
    b'{"choices":[{"index":0,"delta":{"tool_calls":[5]}}]}',
    b'{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":"x"}]}}]}',
    b'{"choices":[{"index":0,"delta":{"content":5}}]}',
    b'{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"a","function":{"name":"f","arguments":7}}]},'
    b'"finish_reason":"tool_calls"}]}',
    b'{"choices":[],"usage":{"prompt_tokens":"5"}}',
])
def test_wrong_shaped_stream_chunks_are_stream_errors(chunk):
    with pytest.raises(StreamError):
        run_stream([b'data: {"id":"a","choices":[{"index":0,"delta":{"content":"x"}}]}\n\n'
                    b"data: " + chunk + b"\n\ndata: [DONE]\n\n"])


@pytest.mark.parametrize("body", [
    b'{"choices":[{"message":{"content":"x","tool_calls":[{"id":"a","function":{"name":"f","arguments":5}}]}}]}',
    b'{"choices":[{"message":{"content":"x"}}],"usage":{"prompt_tokens":1,"prompt_tokens_details":5}}',
])
def test_wrong_shaped_nonstream_bodies_are_malformed(body):
    with pytest.raises(MalformedResponseError):
        parse(body)


# -- request building ----------------------------------------------------------------------------

def test_max_tokens_name_by_provider():
    assert req_json(build(user("x"), max_tokens=7))["max_completion_tokens"] == 7
    assert "max_tokens" not in req_json(build(user("x"), max_tokens=7))
    for provider in ("groq", "openrouter", "deepseek", "together", "lmstudio", "vllm"):
        body = req_json(build(user("x"), provider=provider, max_tokens=7))
        assert body["max_tokens"] == 7 and "max_completion_tokens" not in body


def test_base_urls_and_auth():
    r = build(user("x"))
    assert r.url == "https://api.openai.com/v1/chat/completions"
    assert r.headers["Authorization"] == "Bearer sk-test" and "sk-test" not in repr(r)
    r = bound(codec("lmstudio", api_key=None), "m").chat_request([user("x")], make_options({}, {}), False)
    assert r.url == "http://localhost:1234/v1/chat/completions" and "Authorization" not in r.headers
    r = bound(codec("openai", base_url="http://127.0.0.1:8080/v1/", headers={"OpenAI-Project": "p"}), "m").chat_request([user("x")], make_options({}, {}), False)
    assert r.url == "http://127.0.0.1:8080/v1/chat/completions" and r.headers["OpenAI-Project"] == "p"


def test_sampling_options_and_stream_options():
    body = req_json(build(user("x"), stream=True, temperature=0.2, top_p=0.5, stop=["END"], seed=3))
    assert body == {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}], "temperature": 0.2,
                    "top_p": 0.5, "stop": ["END"], "seed": 3, "stream": True,
                    "stream_options": {"include_usage": True}}
    body = req_json(build(user("x")))
    assert "stream" not in body and "stream_options" not in body
    body = req_json(build(user("x"), stream=True, extra={"stream_options": {"include_obfuscation": False},
                                                         "reasoning_effort": "low"}))
    assert body["stream_options"] == {"include_usage": True, "include_obfuscation": False}
    assert body["reasoning_effort"] == "low"


TOOLS = [Tool("get_weather", "Weather.", {"type": "object", "properties": {"city": {"type": "string"}}}),
         Tool("get_time")]


def test_tools_and_tool_choice_mapping():
    body = req_json(build(user("x"), tools=TOOLS, parallel_tool_calls=False))
    assert body["tools"] == [
        {"type": "function", "function": {"name": "get_weather", "description": "Weather.",
                                          "parameters": {"type": "object",
                                                         "properties": {"city": {"type": "string"}}}}},
        {"type": "function", "function": {"name": "get_time", "description": "",
                                          "parameters": {"type": "object", "properties": {}}}}]
    assert body["parallel_tool_calls"] is False and "tool_choice" not in body
    for choice in ("auto", "none", "required"):
        assert req_json(build(user("x"), tools=TOOLS, tool_choice=choice))["tool_choice"] == choice
    assert req_json(build(user("x"), tools=TOOLS, tool_choice="get_time"))["tool_choice"] == {
        "type": "function", "function": {"name": "get_time"}}


def test_tool_messages_and_arguments_as_json_strings():
    msgs = [user("w?"),
            Message("assistant", [ThinkingPart("hmm"), TextPart("Let me check."),
                                  ToolCall("call_1", "get_weather", {"city": "Zürich"}),
                                  ToolCall("call_2", "get_time", {})]),
            Message("tool", [ToolResult("call_1", {"t": 18}), ToolResult("call_2", "12:00")])]
    wire = req_json(build(msgs))["messages"]
    assert wire[1] == {"role": "assistant", "content": "Let me check.", "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Zürich"}'}},
        {"id": "call_2", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}]}
    assert wire[2:] == [{"role": "tool", "tool_call_id": "call_1", "content": '{"t": 18}'},
                        {"role": "tool", "tool_call_id": "call_2", "content": "12:00"}]


def test_tool_call_reply_round_trips_with_provider_argument_text():
    _, resp = run_stream([load("openai/stream_single_tool_call_strict.sse")])
    wire = req_json(build([user("w?"), resp.message]))["messages"]
    assert wire[1]["content"] is None
    assert wire[1]["tool_calls"] == [{"id": "call_c91SqDXlYFuETYv8mUHzz6pp", "type": "function", "function": {
        "name": "GetWeatherArgs", "arguments": '{"city":"Edinburgh","country":"UK","units":"c"}'}}]


def test_images_and_text_parts():
    msgs = [system("s"), user([TextPart("What is this?"), ImagePart(url="https://example.com/a.png", detail="low"),
                               ImagePart(data="iVBORw0KGgo=", media_type="image/png")])]
    wire = req_json(build(msgs))["messages"]
    assert wire == [{"role": "system", "content": "s"}, {"role": "user", "content": [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "https://example.com/a.png", "detail": "low"}},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}]}]
    assert req_json(build(user([TextPart("a"), TextPart("b")])))["messages"] == [{"role": "user", "content": "ab"}]


# -- wire shapes of compatible servers (hand-written after docs/wire.md §1 OpenAI-compatible servers) -----------------

def test_refusal_stream_equals_nonstream():
    data = sse('{"id":"r1","model":"gpt-4o","choices":[{"index":0,"delta":{"role":"assistant","content":null,'
               '"refusal":""},"finish_reason":null}]}',
               '{"id":"r1","model":"gpt-4o","choices":[{"index":0,"delta":{"refusal":"I can’t help "},'
               '"finish_reason":null}]}',
               '{"id":"r1","model":"gpt-4o","choices":[{"index":0,"delta":{"refusal":"with that."},'
               '"finish_reason":null}]}',
               '{"id":"r1","model":"gpt-4o","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}',
               '{"id":"r1","model":"gpt-4o","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":6,'
               '"total_tokens":11}}',
               "[DONE]")
    events, resp = replay_all(data, seed=11)
    assert resp.text == "I can’t help with that." and resp.finish_reason == "content_filter"
    assert parse({"id": "r1", "model": "gpt-4o", "choices": [{"index": 0, "message": {
        "role": "assistant", "content": None, "refusal": "I can’t help with that."}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 6, "total_tokens": 11}}) == resp


def test_parallel_tool_calls_interleaved_stream_equals_nonstream():
    data = sse(
        '{"id":"p","model":"gpt-4o","choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":'
        '[{"index":0,"id":"call_A","type":"function","function":{"name":"get_weather","arguments":""}}]},'
        '"finish_reason":null}]}',
        '{"id":"p","model":"gpt-4o","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":'
        '{"arguments":"{\\"city\\": \\"Zü"}}]},"finish_reason":null}]}',
        '{"id":"p","model":"gpt-4o","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_B",'
        '"type":"function","function":{"name":"get_time","arguments":""}}]},"finish_reason":null}]}',
        '{"id":"p","model":"gpt-4o","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":'
        '{"arguments":"rich\\"}"}},{"index":1,"function":{"arguments":"{}"}}]},"finish_reason":null}]}',
        '{"id":"p","model":"gpt-4o","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}',
        '{"id":"p","model":"gpt-4o","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":8,'
        '"total_tokens":17}}',
        "[DONE]")
    events, resp = replay_all(data, seed=12)
    assert resp.tool_calls == [ToolCall("call_A", "get_weather", {"city": "Zürich"}),
                               ToolCall("call_B", "get_time", {})]
    assert [type(e).__name__ for e in events] == [
        "ToolCallStart", "ToolCallDelta", "ToolCallStart", "ToolCallDelta", "ToolCallDelta", "ToolCallEnd",
        "ToolCallEnd", "UsageEvent", "Finish"]
    assert parse(completion("p", "gpt-4o", None, "tool_calls",
                            {"prompt_tokens": 9, "completion_tokens": 8, "total_tokens": 17},
                            tool_calls=[{"id": "call_A", "type": "function",
                                         "function": {"name": "get_weather", "arguments": '{"city": "Zürich"}'}},
                                        {"id": "call_B", "type": "function",
                                         "function": {"name": "get_time", "arguments": "{}"}}])) == resp


def test_groq_whole_tool_call_and_x_groq_usage():
    data = sse(
        '{"id":"g","model":"llama-3.3-70b-versatile","choices":[{"index":0,"delta":{"role":"assistant",'
        '"content":null},"finish_reason":null}],"x_groq":{"id":"req_1"}}',
        '{"id":"g","model":"llama-3.3-70b-versatile","choices":[{"index":0,"delta":{"tool_calls":[{"id":"call_g1",'
        '"type":"function","function":{"name":"get_weather","arguments":"{\\"city\\":\\"Paris\\"}"},"index":0}]},'
        '"finish_reason":null}]}',
        '{"id":"g","model":"llama-3.3-70b-versatile","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}],'
        '"x_groq":{"id":"req_1","usage":{"queue_time":0.01,"prompt_tokens":20,"completion_tokens":10,'
        '"total_tokens":30}}}',
        "[DONE]")
    events, resp = replay_all(data, provider="groq", seed=13)
    assert resp.tool_calls == [ToolCall("call_g1", "get_weather", {"city": "Paris"})]
    assert resp.usage == Usage(20, 10, 30) and resp.finish_reason == "tool_calls"


def test_deepseek_reasoning_content_stream_with_usage_on_finish_chunk():
    data = sse(
        '{"id":"d","model":"deepseek-reasoner","choices":[{"index":0,"delta":{"role":"assistant","content":null,'
        '"reasoning_content":""},"finish_reason":null}]}',
        '{"id":"d","model":"deepseek-reasoner","choices":[{"index":0,"delta":{"content":null,'
        '"reasoning_content":"Count the r’s…"},"finish_reason":null}]}',
        '{"id":"d","model":"deepseek-reasoner","choices":[{"index":0,"delta":{"content":"Three.",'
        '"reasoning_content":null},"finish_reason":null}]}',
        '{"id":"d","model":"deepseek-reasoner","choices":[{"index":0,"delta":{"content":""},"finish_reason":"stop"}],'
        '"usage":{"prompt_tokens":18,"completion_tokens":30,"total_tokens":48,"prompt_cache_hit_tokens":16,'
        '"prompt_cache_miss_tokens":2,"completion_tokens_details":{"reasoning_tokens":25}}}',
        "[DONE]")
    events, resp = replay_all(data, provider="deepseek", seed=14)
    assert resp.thinking == "Count the r’s…" and resp.text == "Three."
    assert resp.usage == Usage(18, 30, 48, 16, 0, 25)
    assert parse(completion("d", "deepseek-reasoner", "Three.", "stop",
                            {"prompt_tokens": 18, "completion_tokens": 30, "total_tokens": 48,
                             "prompt_cache_hit_tokens": 16, "prompt_cache_miss_tokens": 2,
                             "completion_tokens_details": {"reasoning_tokens": 25}},
                            reasoning_content="Count the r’s…"), provider="deepseek") == resp


# -- the plain-reply short path gives what the accumulator gives -------------------------------------

def _both_ways(body: bytes, provider: str = "openai"):
    fast = bound(codec(provider), "requested-model")
    slow = bound(codec(provider), "requested-model")
    slow.plain_fast_path = False
    headers = {"x-request-id": "req_1"}
    outcomes = []
    for c in (fast, slow):
        try:
            outcomes.append(c.parse_chat(body, headers))
        except Exception as exc:  # the same error either way
            outcomes.append((type(exc), str(exc)))
    return outcomes


_PLAIN_BODIES = [
    load("openai/chat_completion_text.json"),
    load("openai-compatible/groq_chat_text.json"),
    load("openai-compatible/deepseek_reasoner_reasoning_content.json"),
    json.dumps(completion("c1", "m", "Hello", "stop", {"prompt_tokens": 3, "completion_tokens": 1,
                                                        "total_tokens": 4})).encode(),
    json.dumps(completion("c2", "m", "Cut", "length", {})).encode(),
    json.dumps(completion("c3", "m", "Odd", "something_new", {"prompt_tokens": 1})).encode(),
    json.dumps(completion("c4", "", "No model", None, None)).encode(),
    json.dumps(completion("c5", "m", "", "stop", {})).encode(),                                   # empty text
    json.dumps(completion("c6", "m", None, "content_filter", {}, refusal="I can't help")).encode(),
    json.dumps(completion("c7", "m", "Both", "stop", {}, refusal="ignored")).encode(),
    json.dumps(completion("c8", "m", "Thought", "stop", {}, reasoning="because")).encode(),
    json.dumps(completion("c9", "m", "Thought", "stop", {}, reasoning_content="because")).encode(),
    json.dumps(completion("c10", "m", "Called", "tool_calls", {}, tool_calls=[
        {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{\"a\": 1}"}}])).encode(),
    json.dumps(completion("c11", "m", "Bad usage", "stop", {"prompt_tokens": "3"})).encode(),
    json.dumps(completion("c12", "m", "Parts", "stop", {}, annotations=[])).encode(),
]


@pytest.mark.parametrize("body", _PLAIN_BODIES, ids=[f"body{i}" for i in range(len(_PLAIN_BODIES))])
def test_the_plain_reply_short_path_makes_what_the_accumulator_makes(body):
    fast, slow = _both_ways(body)
    assert fast == slow
    if not isinstance(fast, tuple):
        assert type(fast.message.content) is type(slow.message.content)
        assert fast.raw == slow.raw and fast.headers == slow.headers
        assert fast.usage.__dict__ == slow.usage.__dict__
        assert fast.text == slow.text and fast.tool_calls == slow.tool_calls
