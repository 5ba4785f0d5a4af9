"""Sans-IO tests of the Gemini API codec (llmunified/providers/gemini.py) against the recordings
in fixtures/gemini/ (byte-for-byte copies of the shared wire recordings, tests/fixtures/SOURCES.md).

Expected values were read from the fixtures by hand and are written out here (a long signature
is pinned by its start, end, length and SHA-256); the code under test never computes them.
Every stream is replayed under many chunkings (whole, 1-byte, fixed sizes, cuts inside
multibyte UTF-8 characters, seeded random cuts), in its SSE form and as the JSON array the
endpoint sends without ``alt=sse``: the events and the final Response must be identical every
time, and equal to the non-streaming parse of the equivalent body.
"""
import functools
import hashlib
import json
import logging
import os
from typing import Any, Dict, List, Mapping, Optional, Tuple

import pytest

from llmunified._events import Finish, TextDelta, ThinkingDelta, ToolCallDelta, ToolCallEnd, ToolCallStart, UsageEvent
from llmunified._options import make_options, to_messages
from llmunified._registry import PROVIDERS, Auth, resolve_config
from llmunified._types import (ImagePart, Message, Response, TextPart, ThinkingPart, Tool, ToolCall, ToolResult, Usage,
                               assistant, system, tool_result, user)
from llmunified.errors import (APIError, BadRequestError, ConfigurationError, ContextWindowExceededError,
                               MalformedResponseError, NotFoundError, OverloadedError, PermissionDeniedError,
                               RateLimitError, ServerError, StreamError, ValidationError)
from llmunified.providers import codec_for
from llmunified.providers.gemini import (GeminiCodec, map_finish_reason, map_usage, retry_delay,
                                         takes_json_schema)
from tests.providers import recordings
from tests.providers.recordings import FIXTURES, bound, feed_all, httprr_exchange, load

FIX = os.path.join(FIXTURES, "gemini")
KEY = "AIzaSy-test-key-DO-NOT-LEAK-1234567890"
MODEL = "gemini-2.5-flash"
LEGACY = "gemini-2.0-flash"
HOST = "https://generativelanguage.googleapis.com"

fixture_bytes = functools.partial(load, base=FIX)
chunkings = functools.partial(recordings.chunkings, seed=5150, n_random=40)


# -- helpers ---------------------------------------------------------------------------------

def make_codec(key: Optional[str] = KEY, base_url: Optional[str] = None, headers: Optional[Mapping[str, str]] = None,
               environ: Optional[Mapping[str, str]] = None, model: str = MODEL) -> GeminiCodec:
    config = resolve_config(PROVIDERS["gemini"], api_key=key, base_url=base_url, headers=headers,
                            environ=environ if environ is not None else {})
    codec = codec_for(config, model)
    assert isinstance(codec, GeminiCodec)
    return codec


@pytest.fixture
def codec() -> GeminiCodec:
    return make_codec()


def request_body(messages: Any, model: str = MODEL, stream: bool = False, **options: Any) -> Dict[str, Any]:
    return make_codec(model=model).chat_request(to_messages(messages), make_options({}, options), stream).json()


def vcr(name: str) -> List[Dict[str, Any]]:
    """(request body, uri, status, lower-cased response headers, response body bytes) per interaction."""
    out = []
    for it in recordings.vcr(name, FIX):
        resp = it["response"]
        out.append({"request": it["request"]["parsed_body"], "uri": it["request"]["uri"],
                    "status": resp["status"]["code"],
                    "headers": {k.lower(): v[0] for k, v in resp["headers"].items()},
                    "body": recordings.vcr_body(it)})
    return out


def parse(body: Any, model: str = MODEL, headers: Optional[Mapping[str, str]] = None) -> Response:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
    return make_codec(model=model).parse_chat(raw, headers or {})


def run_stream(chunks: List[bytes], headers: Optional[Mapping[str, str]] = None,
               model: str = MODEL) -> Tuple[List[Any], Response]:
    return feed_all(make_codec(model=model).stream_decoder(headers or {}), chunks)


def replay_all(data: bytes, headers: Optional[Mapping[str, str]] = None, n_random: int = 40
               ) -> Tuple[List[Any], Response]:
    """Every chunking gives the same events and Response; returns them."""
    ref_events, ref_resp = run_stream([data], headers)
    count = 0
    for chunks in chunkings(data, n_random=n_random):
        assert b"".join(chunks) == data
        events, resp = run_stream(chunks, headers)
        assert events == ref_events
        assert repr(events) == repr(ref_events)
        assert resp == ref_resp
        assert resp.raw == ref_resp.raw
        assert [getattr(c, "signature", None) for c in resp.tool_calls] == \
            [getattr(c, "signature", None) for c in ref_resp.tool_calls]
        count += 1
    assert count >= n_random + 2
    return ref_events, ref_resp


def sse_of(*events: Any) -> bytes:
    """Gemini's SSE framing: ``data: <json>`` events ended by CRLF CRLF (docs/wire.md §0.1)."""
    return b"".join(b"data: " + json.dumps(e, ensure_ascii=False).encode("utf-8") + b"\r\n\r\n" for e in events)


def array_of(*events: Any) -> bytes:
    """The same events as the JSON array ``streamGenerateContent`` sends without ``alt=sse``."""
    return b"[" + b",\r\n".join(json.dumps(e, ensure_ascii=False, indent=2).encode("utf-8") for e in events) + b"]"


def event(parts: Optional[List[Any]] = None, finish: Optional[str] = None, usage: Optional[Dict[str, Any]] = None,
          rid: str = "resp-1", model: str = "gemini-test") -> Dict[str, Any]:
    cand: Dict[str, Any] = {"content": {"role": "model", "parts": parts or []}, "index": 0}
    if finish:
        cand["finishReason"] = finish
    out: Dict[str, Any] = {"candidates": [cand], "modelVersion": model, "responseId": rid}
    if usage is not None:
        out["usageMetadata"] = usage
    return out


def chunks_jsonl_events() -> List[Dict[str, Any]]:
    return [json.loads(line) for line in fixture_bytes("stream_text.chunks.jsonl").split(b"\n") if line.strip()]


# -- the registry entry and request basics --------------------------------------------------

def test_provider_entry_and_codec_facts():
    info = PROVIDERS["gemini"]
    assert info.codec is GeminiCodec
    assert info.protocol == "gemini"
    assert info.base_url == HOST
    assert info.api_key_envs == ("GEMINI_API_KEY", "GOOGLE_API_KEY")
    assert info.base_url_env == "GEMINI_BASE_URL"
    assert info.key_required is True
    assert info.auth == Auth.header("x-goog-api-key")
    assert info.token_family == "default"
    assert GeminiCodec.thinking_replay == "signed"
    assert GeminiCodec.structured_mode == "text"
    assert "exceeds the maximum number of tokens" in GeminiCodec.context_window_markers


def test_request_line_headers_and_minimal_body(codec):
    req = codec.chat_request(to_messages("Hi"), make_options({}, {}), False)
    assert req.method == "POST"
    assert req.url == f"{HOST}/v1beta/models/gemini-2.5-flash:generateContent"
    assert req.stream is False
    assert req.headers["x-goog-api-key"] == KEY
    assert req.headers["Content-Type"] == "application/json"
    assert req.headers["Accept"] == "application/json"
    assert "authorization" not in {k.lower() for k in req.headers}
    assert "key=" not in req.url
    assert req.json() == {"contents": [{"role": "user", "parts": [{"text": "Hi"}]}]}


def test_stream_request_uses_alt_sse(codec):
    req = codec.chat_request(to_messages("Hi"), make_options({}, {}), True)
    assert req.url == f"{HOST}/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    assert req.stream is True
    assert req.headers["Accept"] == "text/event-stream"
    assert req.json() == {"contents": [{"role": "user", "parts": [{"text": "Hi"}]}]}  # no stream flag in the body


def test_key_from_argument_then_gemini_then_google_env():
    env = {"GEMINI_API_KEY": "gemini-env-key", "GOOGLE_API_KEY": "google-env-key"}
    assert make_codec(key="arg-key", environ=env).config.api_key.get() == "arg-key"
    assert make_codec(key=None, environ=env).config.api_key.get() == "gemini-env-key"
    assert make_codec(key=None, environ={"GOOGLE_API_KEY": "google-env-key"}).config.api_key.get() == "google-env-key"
    assert make_codec(key=None, environ={"GEMINI_API_KEY": "", "GOOGLE_API_KEY": "g"}).config.api_key.get() == "g"
    req = make_codec(key=None, environ={"GOOGLE_API_KEY": "google-env-key"}).chat_request(
        to_messages("Hi"), make_options({}, {}), False)
    assert req.headers["x-goog-api-key"] == "google-env-key"
    with pytest.raises(ConfigurationError, match="GEMINI_API_KEY or GOOGLE_API_KEY"):
        make_codec(key=None, environ={})


def test_key_never_in_repr(codec):
    req = codec.chat_request(to_messages("Hi"), make_options({}, {}), True)
    assert KEY not in repr(req) and KEY not in str(req)
    assert KEY not in repr(codec.config) and KEY not in repr(codec)


@pytest.mark.parametrize("base_url, model, url", [
    ("http://127.0.0.1:9999", MODEL, "http://127.0.0.1:9999/v1beta/models/gemini-2.5-flash:generateContent"),
    ("http://127.0.0.1:9999/", MODEL, "http://127.0.0.1:9999/v1beta/models/gemini-2.5-flash:generateContent"),
    # a base URL that already names the version (the SDKs' ".../v1beta/") is not doubled
    (HOST + "/v1beta/", MODEL, HOST + "/v1beta/models/gemini-2.5-flash:generateContent"),
    ("https://proxy.example/google/v1", MODEL,
     "https://proxy.example/google/v1/models/gemini-2.5-flash:generateContent"),
    (None, "models/gemini-2.5-pro", HOST + "/v1beta/models/gemini-2.5-pro:generateContent"),
    (None, "tunedModels/my-model-123", HOST + "/v1beta/tunedModels/my-model-123:generateContent"),
])
def test_base_url_and_model_path(base_url, model, url):
    assert make_codec(base_url=base_url, model=model).chat_request(
        to_messages("Hi"), make_options({}, {}), False).url == url


def test_base_url_from_environment_and_caller_headers():
    codec = make_codec(environ={"GEMINI_BASE_URL": "http://localhost:8123"}, headers={"x-goog-user-project": "p"})
    req = codec.chat_request(to_messages("Hi"), make_options({}, {}), True)
    assert req.url == "http://localhost:8123/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    assert req.headers["x-goog-user-project"] == "p"
    assert req.headers["x-goog-api-key"] == KEY


# -- request bodies against the recorded requests -------------------------------------------

def test_basic_request_matches_the_recorded_one():
    rec, = vcr("generate_content_basic.vcr.yaml")
    codec = make_codec(model="gemini-2.5-flash")
    req = codec.chat_request(to_messages([system("You are a chatbot."), user("Hello!")]), make_options({}, {}), False)
    assert req.url == rec["uri"]
    assert req.json() == {"contents": [{"role": "user", "parts": [{"text": "Hello!"}]}],
                          "systemInstruction": {"parts": [{"text": "You are a chatbot."}]}}
    # pydantic-ai also sent responseModalities and a role on the system instruction: extra adds them
    req = codec.chat_request(to_messages([system("You are a chatbot."), user("Hello!")]), make_options({}, {"extra": {
        "generationConfig": {"responseModalities": ["TEXT"]}, "systemInstruction": {"role": "user"}}}), False)
    assert req.json() == rec["request"]


def test_stream_request_matches_the_recorded_one():
    rec, = vcr("stream_alt_sse.vcr.yaml")
    req = make_codec(model="gemini-2.0-flash-exp").chat_request(
        to_messages([system("You are a helpful chatbot."), user("What is the capital of France?")]),
        make_options({}, {"temperature": 0.0, "extra": {"systemInstruction": {"role": "user"}}}), True)
    assert req.url == rec["uri"]
    assert req.json() == rec["request"]
    assert req.json()["generationConfig"] == {"temperature": 0.0}


def test_thinking_config_request_matches_the_recorded_one():
    rec, = vcr("thinking_config.vcr.yaml")
    req = make_codec(model="gemini-2.5-pro-preview-03-25").chat_request(
        to_messages([system("You are a helpful chatbot."), user("What is the capital of France?")]),
        make_options({}, {"extra": {"generationConfig": {"thinkingConfig": {"includeThoughts": False}},
                                    "systemInstruction": {"role": "user"}}}), False)
    assert req.url == rec["uri"]
    assert req.json() == rec["request"]


GET_COUNTRY = Tool("get_user_country", "", {"type": "object", "properties": {}})
FINAL_RESULT = Tool("final_result", "The final response which ends this conversation", {
    "type": "object", "properties": {"city": {"type": "string"}, "country": {"type": "string"}},
    "required": ["city", "country"]})


def test_function_calling_requests_match_the_recorded_ones_on_an_openapi_only_model():
    first, second = vcr("function_call_and_response_roundtrip.vcr.yaml")
    assert first["uri"] == f"{HOST}/v1beta/models/gemini-2.0-flash:generateContent"
    options = {"tools": [GET_COUNTRY, FINAL_RESULT], "tool_choice": "required",
               "extra": {"toolConfig": {"functionCallingConfig": {
                   "allowedFunctionNames": ["get_user_country", "final_result"]}}}}
    body = request_body("What is the largest city in the user country?", model=LEGACY, **options)
    assert body["contents"] == first["request"]["contents"]
    assert body["toolConfig"] == first["request"]["toolConfig"]
    recorded = first["request"]["tools"][0]["functionDeclarations"]
    # The differences, on purpose: an empty description is left out, and the declared property
    # order is sent as propertyOrdering.
    assert body["tools"] == [{"functionDeclarations": [
        {"name": "get_user_country", "parameters": recorded[0]["parameters"]},
        {**recorded[1], "parameters": {**recorded[1]["parameters"], "propertyOrdering": ["city", "country"]}},
    ]}]
    assert recorded[0]["parameters"] == {"properties": {}, "type": "OBJECT"}
    # The second request: the call (with the id pydantic-ai gave it) and its result, matched by id.
    call = ToolCall("pyd_ai_3fa5644dae1d4aad997ae39c70006fbd", "get_user_country", {})
    body = request_body([user("What is the largest city in the user country?"), assistant(tool_calls=[call]),
                         tool_result(call.id, {"return_value": "Mexico"})], model=LEGACY, **options)
    assert body["contents"] == second["request"]["contents"]


def test_function_call_response_round_trips_into_the_next_request():
    first, second = vcr("function_call_and_response_roundtrip.vcr.yaml")
    resp = parse(first["body"], model=LEGACY)
    assert resp.tool_calls == [ToolCall("gemini_call_LlteaIDvD9m7nvgPz5Sb0Aw_0", "get_user_country", {})]
    assert resp.finish_reason == "tool_calls"
    assert resp.usage == Usage(33, 5, 38, 0, 0, 0)
    body = request_body([user("What is the largest city in the user country?"), resp.message,
                         tool_result(resp.tool_calls[0].id, {"return_value": "Mexico"})], model=LEGACY)
    # The id was made up here, so it is not sent: the result is matched to its call by name.
    assert body["contents"][1:] == [
        {"role": "model", "parts": [{"functionCall": {"name": "get_user_country", "args": {}}}]},
        {"role": "user", "parts": [{"functionResponse": {"name": "get_user_country",
                                                         "response": {"return_value": "Mexico"}}}]},
    ]
    final = parse(second["body"], model=LEGACY)
    assert final.tool_calls == [ToolCall("gemini_call_LlteaOzCOPOdnvgPrJbnoQg_0", "final_result",
                                         {"city": "Mexico City", "country": "Mexico"})]
    assert final.usage == Usage(47, 8, 55, 0, 0, 0)
    assert final.id == "LlteaOzCOPOdnvgPrJbnoQg"
    assert final.model == "gemini-2.0-flash"


CITY = {"description": "A city and its country.", "properties": {"city": {"type": "string"},
                                                                "country": {"type": "string"}},
        "required": ["city", "country"], "title": "CityLocation", "type": "object"}


def test_structured_output_request_with_response_json_schema_matches_the_recording():
    rec, = vcr("structured_output_response_json_schema.vcr.yaml")
    body = request_body("What is the largest city in Mexico?", response_format=CITY,
                        extra={"generationConfig": {"responseModalities": ["TEXT"]}})
    assert body == rec["request"]
    assert body["generationConfig"]["responseJsonSchema"] == CITY


def test_structured_output_on_an_openapi_only_model_uses_response_schema():
    codec = make_codec(model=LEGACY)
    spec = make_options({}, {"response_format": CITY}).response_format
    assert codec.structured_dialect(spec) == ("object-root", "gemini-openapi")
    config = request_body("What is the largest city in Mexico?", model=LEGACY, response_format=CITY)["generationConfig"]
    assert config == {"responseMimeType": "application/json", "responseSchema": {
        "description": "A city and its country.", "title": "CityLocation", "type": "OBJECT",
        "properties": {"city": {"type": "STRING"}, "country": {"type": "STRING"}},
        "required": ["city", "country"], "propertyOrdering": ["city", "country"]}}


def test_structured_output_parses_the_recorded_reply():
    rec, = vcr("structured_output_response_json_schema.vcr.yaml")
    resp = parse(rec["body"], model=LEGACY)
    assert resp.text == '{\n  "city": "Mexico City",\n  "country": "Mexico"\n}'
    assert resp.usage == Usage(8, 20, 28, 0, 0, 0)
    assert resp.id == "EfsgaZT5JPbXz7IPqtGJkQ8"
    spec = make_options({}, {"response_format": CITY}).response_format
    for model in (MODEL, LEGACY):
        codec = make_codec(model=model)
        assert spec.parse_text(resp.text, codec.structured_dialect(spec)) == {"city": "Mexico City",
                                                                               "country": "Mexico"}


@pytest.mark.parametrize("model", [MODEL, LEGACY])
def test_structured_output_list_target_gets_an_object_root(model):
    schema = {"type": "array", "items": {"type": "string"}}
    codec = make_codec(model=model)
    spec = make_options({}, {"response_format": schema}).response_format
    config = request_body("x", model=model, response_format=schema)["generationConfig"]
    if model == MODEL:
        assert codec.structured_dialect(spec) == ("object-root",)
        assert config["responseJsonSchema"] == {"type": "object", "properties": {"value": schema},
                                                "required": ["value"], "additionalProperties": False}
    else:
        assert config["responseSchema"] == {"type": "OBJECT", "properties": {
            "value": {"type": "ARRAY", "items": {"type": "STRING"}}}, "required": ["value"]}
    assert spec.parse_text('{"value": ["a", "b"]}', codec.structured_dialect(spec)) == ["a", "b"]


def test_structured_output_that_the_openapi_subset_cannot_carry_goes_as_json_schema():
    schema = {"type": "object", "properties": {"tags": {"type": "array", "items": {"type": "string"},
                                                        "uniqueItems": True}}, "required": ["tags"]}
    codec = make_codec(model=LEGACY)
    spec = make_options({}, {"response_format": schema}).response_format
    assert codec.structured_dialect(spec) == ("object-root",)
    config = request_body("x", model=LEGACY, response_format=schema)["generationConfig"]
    assert config == {"responseMimeType": "application/json", "responseJsonSchema": schema}
    recursive = {"$defs": {"node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/node"}}}},
                 "type": "object", "properties": {"head": {"$ref": "#/$defs/node"}}}
    spec = make_options({}, {"response_format": recursive}).response_format
    assert codec.structured_dialect(spec) == ("object-root",)


@pytest.mark.parametrize("model, expected", [
    ("gemini-2.5-flash", True), ("gemini-2.5-pro-preview-03-25", True), ("gemini-3-pro-preview", True),
    ("gemini-flash-latest", True), ("gemini-pro-latest", True), ("gemini-4-ultra-preview", True),
    ("some-new-model", True), ("models/gemini-2.5-flash", True),
    ("gemini-2.0-flash", False), ("gemini-2.0-flash-exp", False), ("gemini-1.5-pro-002", False),
    ("gemini-1.0-pro", False), ("gemini-pro", False), ("gemini-pro-vision", False), ("gemini-exp-1206", False),
    ("models/gemini-1.5-flash-8b", False),
])
def test_which_models_take_json_schema(model, expected):
    assert takes_json_schema(model) is expected
    assert make_codec(model=model).json_schema is expected


# -- request bodies: messages, options, tools -------------------------------------------------

def test_system_and_developer_messages_are_lifted_and_joined():
    body = request_body([system("Be terse."), Message("developer", "Answer in French."), user("Hi"),
                         assistant("Salut"), system("Late rule."), user("Encore")])
    assert body["systemInstruction"] == {"parts": [{"text": "Be terse.\n\nAnswer in French.\n\nLate rule."}]}
    assert body["contents"] == [
        {"role": "user", "parts": [{"text": "Hi"}]},
        {"role": "model", "parts": [{"text": "Salut"}]},
        {"role": "user", "parts": [{"text": "Encore"}]},
    ]
    assert "systemInstruction" not in request_body("Hi")


def test_roles_and_turns_are_kept_as_given():
    body = request_body([user("one"), user([TextPart("two"), TextPart("")]), assistant("a"), assistant(""),
                         assistant("b"), user("")])
    assert body["contents"] == [
        {"role": "user", "parts": [{"text": "one"}]},
        {"role": "user", "parts": [{"text": "two"}]},
        {"role": "model", "parts": [{"text": "a"}]},  # the empty model turn has nothing to send
        {"role": "model", "parts": [{"text": "b"}]},
        {"role": "user", "parts": [{"text": ""}]},
    ]


def test_images():
    body = request_body([user([
        TextPart("What is in these?"),
        ImagePart(data="iVBORw0KGgo=", media_type="image/png"),
        ImagePart(url="data:image/jpeg;base64,/9j/4AAQ", detail="high"),
        ImagePart(url=HOST + "/v1beta/files/abc-123", media_type="image/webp"),
        ImagePart(url=HOST + "/v1beta/files/def-456"),
    ])])
    assert body["contents"] == [{"role": "user", "parts": [
        {"text": "What is in these?"},
        {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
        {"inlineData": {"mimeType": "image/jpeg", "data": "/9j/4AAQ"}},
        {"fileData": {"fileUri": HOST + "/v1beta/files/abc-123", "mimeType": "image/webp"}},
        {"fileData": {"fileUri": HOST + "/v1beta/files/def-456"}},
    ]}]


@pytest.mark.parametrize("url", ["https://example.com/cat.png", "gs://bucket/cat.png", "http://localhost/cat.png"])
def test_image_urls_gemini_does_not_fetch_are_a_validation_error(url):
    with pytest.raises(ValidationError, match=r"cannot send an image by URL.*ImagePart\(data="):
        request_body([user([TextPart("What is this?"), ImagePart(url=url)])])


def test_options_go_in_generation_config():
    body = request_body("Hi", temperature=0.3, top_p=0.9, max_tokens=50, stop=["END", "STOP"], seed=7)
    assert body["generationConfig"] == {"temperature": 0.3, "topP": 0.9, "maxOutputTokens": 50,
                                        "stopSequences": ["END", "STOP"], "seed": 7}
    assert request_body("Hi", stop="###")["generationConfig"] == {"stopSequences": ["###"]}
    assert "generationConfig" not in request_body("Hi")


def test_extra_is_deep_merged_last():
    body = request_body("Hi", temperature=0.3, max_tokens=50, extra={
        "generationConfig": {"thinkingConfig": {"thinkingBudget": 1024, "includeThoughts": True},
                             "maxOutputTokens": 4000},
        "safetySettings": [{"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "BLOCK_ONLY_HIGH"}],
        "cachedContent": "cachedContents/abc",
    })
    assert body["generationConfig"] == {"temperature": 0.3, "maxOutputTokens": 4000,
                                        "thinkingConfig": {"thinkingBudget": 1024, "includeThoughts": True}}
    assert body["safetySettings"] == [{"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "BLOCK_ONLY_HIGH"}]
    assert body["cachedContent"] == "cachedContents/abc"


WEATHER = Tool("get_weather", "Weather for a city", {
    "type": "object", "properties": {"city": {"type": "string"}, "unit": {"type": ["string", "null"],
                                                                          "enum": ["C", "F", None]}},
    "required": ["city"], "additionalProperties": False})
CLOCK = Tool("get_time")


@pytest.mark.parametrize("model", ["gemini-2.5-flash", "gemini-3-pro-preview", "gemini-99-brand-new"])
def test_tools_send_plain_json_schema_to_current_models(model):
    body = request_body("Hi", model=model, tools=[WEATHER, CLOCK])
    assert body["tools"] == [{"functionDeclarations": [
        {"name": "get_weather", "description": "Weather for a city", "parametersJsonSchema": WEATHER.parameters},
        {"name": "get_time", "parametersJsonSchema": {"type": "object", "properties": {}}},
    ]}]
    assert "toolConfig" not in body


@pytest.mark.parametrize("model", ["gemini-2.0-flash", "gemini-1.5-pro"])
def test_tools_send_the_openapi_subset_to_older_models(model):
    body = request_body("Hi", model=model, tools=[WEATHER, CLOCK])
    assert body["tools"] == [{"functionDeclarations": [
        {"name": "get_weather", "description": "Weather for a city", "parameters": {
            "type": "OBJECT", "properties": {"city": {"type": "STRING"},
                                             "unit": {"type": "STRING", "enum": ["C", "F"], "nullable": True}},
            "required": ["city"], "propertyOrdering": ["city", "unit"]}},
        {"name": "get_time", "parameters": {"type": "OBJECT", "properties": {}}},
    ]}]


def test_a_tool_schema_the_openapi_subset_cannot_carry_is_a_validation_error():
    lossy = Tool("tag", "Tag things", {"type": "object", "properties": {
        "tags": {"type": "object", "additionalProperties": {"type": "integer"}}}})
    with pytest.raises(ValidationError) as info:
        request_body("Hi", model=LEGACY, tools=[lossy])
    message = info.value.message
    assert "tool 'tag'" in message and "gemini-2.0-flash" in message
    assert "#/properties/tags: additionalProperties with a schema" in message
    assert "Gemini 2.5 or later" in message
    # a current model takes it as it is
    assert request_body("Hi", tools=[lossy])["tools"][0]["functionDeclarations"][0]["parametersJsonSchema"] == \
        lossy.parameters
    recursive = Tool("walk", "", {"$defs": {"n": {"type": "object", "properties": {"next": {"$ref": "#/$defs/n"}}}},
                                  "type": "object", "properties": {"head": {"$ref": "#/$defs/n"}}})
    with pytest.raises(ValidationError, match=r"tool 'walk' for gemini/gemini-2.0-flash: .*recursive"):
        request_body("Hi", model=LEGACY, tools=[recursive])


@pytest.mark.parametrize("choice, expected", [
    ("auto", {"mode": "AUTO"}),
    ("none", {"mode": "NONE"}),
    ("required", {"mode": "ANY"}),
    ("get_weather", {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}),
    (None, None),
])
def test_tool_choice_mapping(choice, expected):
    body = request_body("Hi", tools=[WEATHER, CLOCK], tool_choice=choice)
    assert body.get("toolConfig") == (None if expected is None else {"functionCallingConfig": expected})


def test_tool_choice_without_tools_and_parallel_tool_calls_are_not_sent(caplog):
    with caplog.at_level(logging.DEBUG, logger="llmunified"):
        body = request_body("Hi", tool_choice="none")
        assert "toolConfig" not in body
        body = request_body("Hi", tools=[WEATHER], parallel_tool_calls=False)
    assert "parallel" not in json.dumps(body).lower()
    assert any("parallel_tool_calls" in r.getMessage() and r.levelno == logging.DEBUG for r in caplog.records)
    assert all(KEY not in r.getMessage() for r in caplog.records)


def test_tool_results_by_id_by_name_and_in_one_content_for_parallel_calls():
    calls = [ToolCall("gemini_call_r1_0", "get_weather", {"city": "Paris"}),
             ToolCall("srv-id-7", "get_time", {}),
             ToolCall("gemini_call_r1_2", "get_weather", {"city": "Oslo"})]
    body = request_body([
        user("Weather and time?"),
        assistant("Let me check.", tool_calls=calls),
        tool_result("gemini_call_r1_0", "18°C, sunny"),
        system("(a system note between results does not split them)"),
        tool_result("srv-id-7", {"time": "12:00"}),
        tool_result("gemini_call_r1_2", ["rain", 4], is_error=True),
        user("Thanks, and tomorrow?"),
    ])
    assert body["contents"][1:] == [
        {"role": "model", "parts": [
            {"text": "Let me check."},
            {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}},
            {"functionCall": {"name": "get_time", "args": {}, "id": "srv-id-7"}},
            {"functionCall": {"name": "get_weather", "args": {"city": "Oslo"}}},
        ]},
        {"role": "user", "parts": [
            {"functionResponse": {"name": "get_weather", "response": {"result": "18°C, sunny"}}},
            {"functionResponse": {"name": "get_time", "response": {"time": "12:00"}, "id": "srv-id-7"}},
            {"functionResponse": {"name": "get_weather", "response": {"error": ["rain", 4]}}},
        ]},
        {"role": "user", "parts": [{"text": "Thanks, and tomorrow?"}]},
    ]


def test_tool_result_name_comes_from_the_nearest_earlier_call_or_the_result():
    # the same made-up id in two rounds (no responseId): each result takes the call before it
    body = request_body([
        user("q"), assistant(tool_calls=[ToolCall("gemini_call_0", "first", {})]), tool_result("gemini_call_0", 1),
        assistant(tool_calls=[ToolCall("gemini_call_0", "second", {})]), tool_result("gemini_call_0", 2),
        Message("tool", [ToolResult("call_from_elsewhere", "x", name="named")]),
    ])
    responses = [p["functionResponse"] for c in body["contents"] for p in c["parts"] if "functionResponse" in p]
    assert responses == [{"name": "first", "response": {"result": 1}},
                         {"name": "second", "response": {"result": 2}},
                         {"name": "named", "response": {"result": "x"}, "id": "call_from_elsewhere"}]


def test_a_tool_result_without_a_known_call_or_name_fails_before_sending():
    with pytest.raises(ValidationError, match=r"call id 'call_9' has none.*name="):
        request_body([user("q"), tool_result("call_9", "42")])
    # a call made only after the result does not count
    with pytest.raises(ValidationError, match="call_9"):
        request_body([user("q"), tool_result("call_9", "42"), assistant(tool_calls=[ToolCall("call_9", "f", {})])])


def test_openai_style_dicts_are_encoded():
    body = request_body([
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_9", "type": "function", "function": {"name": "f", "arguments": "{\"x\": 1}"}}]},
        {"role": "tool", "tool_call_id": "call_9", "content": "42"},
    ])
    assert body["systemInstruction"] == {"parts": [{"text": "sys"}]}
    assert body["contents"][1:] == [
        {"role": "model", "parts": [{"functionCall": {"name": "f", "args": {"x": 1}, "id": "call_9"}}]},
        {"role": "user", "parts": [{"functionResponse": {"name": "f", "response": {"result": "42"}, "id": "call_9"}}]},
    ]


# -- thought signatures go back unchanged ----------------------------------------------------

def test_function_call_signature_round_trips_as_recorded():
    data = json.loads(fixture_bytes("generate_content_function_call.json"))
    resp = parse(data, model="gemini-3-pro-preview")
    call = resp.tool_calls[0]
    assert call.signature == ("EskgCsYgAb4+9vtF7/499YQS2bjZs3xcQI+iAl+ILn29nK1j0Kg6su7QsUUUk3nrAAfnS2w5WiVvlcCqu9fAeb"
                              "J2cvfaEyBahEt5")
    body = request_body([user("Weather in SF?"), resp.message, tool_result(call.id, {"temp": 18})],
                        model="gemini-3-pro-preview")
    assert body["contents"][1] == {"role": "model", "parts": data["candidates"][0]["content"]["parts"]}
    assert body["contents"][2] == {"role": "user", "parts": [
        {"functionResponse": {"name": "weather", "response": {"temp": 18}}}]}


def test_text_signature_round_trips_as_recorded():
    data = json.loads(fixture_bytes("generate_content_text.json"))
    resp = parse(data, model="gemini-3-pro-preview")
    body = request_body([user("How many r's in strawberry?"), resp.message, user("Sure?")],
                        model="gemini-3-pro-preview")
    assert body["contents"][1] == {"role": "model", "parts": data["candidates"][0]["content"]["parts"]}


def test_streamed_signature_only_part_goes_back_on_the_text():
    data = recordings.jsonl_as_sse(fixture_bytes("stream_text.chunks.jsonl"))
    _, resp = run_stream([data])
    body = request_body([user("q"), resp.message])
    text, = body["contents"][1]["parts"]
    assert text["text"] == 'There are **3** "r"s in strawberry.\n\nst**r**awbe**rr**y'
    assert text["thoughtSignature"] == chunks_jsonl_events()[2]["candidates"][0]["content"]["parts"][0][
        "thoughtSignature"]


def test_thinking_parts_going_back():
    body = request_body([user("q"), Message("assistant", [
        ThinkingPart("a signed thought", signature="SIG_T"),
        ThinkingPart("an unsigned thought summary"),  # not sent back
        ThinkingPart("", redacted=True, data="ANTHROPIC=="),  # Anthropic's: not sent
        ThinkingPart("", signature="SIG_ALONE"),  # no text before it: a signature-only part
        TextPart("Answer."),
        ThinkingPart("", signature="SIG_TEXT"),  # closes the text before it: goes on that part
        ToolCall("gemini_call_x_0", "f", {"a": 1}, signature="SIG_CALL"),
        ThinkingPart("", signature="SIG_AFTER_CALL"),
    ])])
    assert body["contents"][1]["parts"] == [
        {"text": "a signed thought", "thought": True, "thoughtSignature": "SIG_T"},
        {"text": "", "thoughtSignature": "SIG_ALONE"},
        {"text": "Answer.", "thoughtSignature": "SIG_TEXT"},
        {"functionCall": {"name": "f", "args": {"a": 1}}, "thoughtSignature": "SIG_CALL"},
        {"text": "", "thoughtSignature": "SIG_AFTER_CALL"},
    ]
    # an assistant turn of unsigned thinking only has nothing to send
    assert request_body([user("q"), Message("assistant", [ThinkingPart("hmm")]), user("?")])["contents"] == [
        {"role": "user", "parts": [{"text": "q"}]}, {"role": "user", "parts": [{"text": "?"}]}]


# -- non-streaming responses ------------------------------------------------------------------

def test_generate_content_text():
    resp = parse(fixture_bytes("generate_content_text.json"), headers={"x-request-id": "req-1"})
    text = "There are **3** r's in strawberry.\n\nHere is the breakdown: st**r**awbe**rr**y."
    sig = "EtoFCtcFAb4+9vtfe4MXRxQjw48U1WKrR/7lYsgFkVi/bepqsSPjY0VU7HEzkeCBIfy1fu5t9aUZ4IZ65aWagqbBrV45fc97olcg"
    assert resp.message.content == [TextPart(text), ThinkingPart("", signature=sig)]
    assert resp.text == text
    assert resp.thinking == ""
    assert resp.finish_reason == "stop"
    assert resp.usage == Usage(9, 28 + 244, 281, 0, 0, 244)
    assert resp.id == "Un6LacrVMcjUxs0PmJfWoQc"
    assert resp.model == "gemini-3-pro-preview"
    assert resp.provider == "gemini"
    assert resp.raw["responseId"] == "Un6LacrVMcjUxs0PmJfWoQc"
    assert resp.headers == {"x-request-id": "req-1"}


def test_generate_content_function_call():
    resp = parse(fixture_bytes("generate_content_function_call.json"))
    call = ToolCall("gemini_call_m36LaZGyCLz1xs0PtNSB-QU_0", "weather", {"location": "San Francisco"},
                    signature="EskgCsYgAb4+9vtF7/499YQS2bjZs3xcQI+iAl+ILn29nK1j0Kg6su7QsUUUk3nrAAfnS2w5WiVvlcCqu9fAebJ2"
                              "cvfaEyBahEt5")
    assert resp.message.content == [call]
    assert resp.tool_calls[0].signature == call.signature
    assert resp.tool_calls[0].raw_arguments == '{"location":"San Francisco"}'
    assert resp.finish_reason == "tool_calls"  # STOP with a functionCall part
    assert resp.usage == Usage(29, 15 + 893, 937, 0, 0, 893)
    assert resp.id == "m36LaZGyCLz1xs0PtNSB-QU"


def test_generate_content_basic_counts_unrequested_thoughts():
    rec, = vcr("generate_content_basic.vcr.yaml")
    resp = parse(rec["body"], headers=rec["headers"])
    assert resp.message.content == "Hello! How can I help you today?"
    assert resp.usage == Usage(9, 9 + 34, 52, 0, 0, 34)
    assert resp.id == "bzlXaa_EE_aHqtsPi_zw8Ao"
    assert resp.model == "gemini-2.5-flash"
    assert resp.headers["content-type"] == "application/json; charset=UTF-8"


def test_thinking_config_reply_and_model_version_prefix():
    rec, = vcr("thinking_config.vcr.yaml")
    resp = parse(rec["body"])
    assert resp.text == "The capital of France is **Paris**."
    assert resp.usage == Usage(15, 8 + 275, 298, 0, 0, 275)
    assert resp.model == "gemini-2.5-pro"  # recorded as "models/gemini-2.5-pro"
    assert resp.raw["modelVersion"] == "models/gemini-2.5-pro"
    assert resp.id == "1FpeaOWpAs-lkdUP_4eY2QY"


def test_vertex_reply_body_parses_alike():
    rec, = vcr("vertex_generate_content.vcr.yaml")
    resp = parse(rec["body"], model=LEGACY)
    assert resp.text == "The capital of France is Paris.\n"
    assert resp.usage == Usage(13, 8, 21, 0, 0, 0)
    assert resp.finish_reason == "stop"
    assert resp.id == "1VpeaKq4CfH_2PgPh_z--AY"
    assert resp.raw["createTime"] == "2025-06-27T08:48:21.154666Z"


@pytest.mark.parametrize("value, expected", [
    ("STOP", "stop"), ("MAX_TOKENS", "length"),
    ("SAFETY", "content_filter"), ("RECITATION", "content_filter"), ("BLOCKLIST", "content_filter"),
    ("PROHIBITED_CONTENT", "content_filter"), ("SPII", "content_filter"), ("IMAGE_SAFETY", "content_filter"),
    ("IMAGE_PROHIBITED_CONTENT", "content_filter"), ("IMAGE_RECITATION", "content_filter"),
    ("MALFORMED_FUNCTION_CALL", "error"), ("UNEXPECTED_TOOL_CALL", "error"), ("TOO_MANY_TOOL_CALLS", "error"),
    ("OTHER", "other"), ("LANGUAGE", "other"), ("NO_IMAGE", "other"), ("IMAGE_OTHER", "other"),
    ("FINISH_REASON_UNSPECIFIED", "other"), ("A_VALUE_ADDED_LATER", "other"),
])
def test_finish_reason_table(value, expected):
    assert map_finish_reason(value) == expected
    resp = parse(event([{"text": "x"}], finish=value))
    assert resp.finish_reason == expected
    _, streamed = run_stream([sse_of(event([{"text": "x"}], finish=value))])
    assert streamed == resp


def test_finish_reason_with_function_calls():
    call = {"functionCall": {"name": "f", "args": {}}}
    assert parse(event([call], finish="STOP")).finish_reason == "tool_calls"
    assert parse(event([call], finish="MAX_TOKENS")).finish_reason == "length"
    assert parse(event([call], finish="MALFORMED_FUNCTION_CALL")).finish_reason == "error"
    assert map_finish_reason(None) is None
    assert parse(event([{"text": "no finishReason"}])).finish_reason == "stop"
    assert parse(event([call])).finish_reason == "tool_calls"


def test_a_candidate_without_parts_is_an_empty_response():
    body = {"candidates": [{"content": {"role": "model"}, "finishReason": "MAX_TOKENS", "index": 0}],
            "usageMetadata": {"promptTokenCount": 12, "totalTokenCount": 112, "thoughtsTokenCount": 100},
            "modelVersion": "gemini-2.5-pro", "responseId": "r-empty"}
    resp = parse(body)
    assert resp.message.content == ""
    assert resp.finish_reason == "length"
    assert resp.usage == Usage(12, 100, 112, 0, 0, 100)
    events, streamed = replay_all(sse_of(body), n_random=5)
    assert events == [UsageEvent(Usage(12, 100, 112, 0, 0, 100)), Finish("length")]
    assert streamed == resp
    assert parse({"candidates": [{"finishReason": "SAFETY"}]}).finish_reason == "content_filter"


BLOCKED = {"promptFeedback": {"blockReason": "SAFETY", "safetyRatings": [
    {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH"}]},
    "usageMetadata": {"promptTokenCount": 7, "totalTokenCount": 7}, "modelVersion": "gemini-2.5-flash",
    "responseId": "r-blocked"}


def test_a_blocked_prompt_is_a_content_filter_response():
    resp = parse(BLOCKED)
    assert resp.message.content == ""
    assert resp.finish_reason == "content_filter"
    assert resp.usage == Usage(7, 0, 7, 0, 0, 0)
    assert resp.raw["promptFeedback"]["blockReason"] == "SAFETY"
    events, streamed = replay_all(sse_of(BLOCKED), n_random=5)
    assert events == [UsageEvent(Usage(7, 0, 7, 0, 0, 0)), Finish("content_filter")]
    assert streamed == resp


def test_usage_mapping():
    assert map_usage({"promptTokenCount": 1000, "candidatesTokenCount": 40, "thoughtsTokenCount": 60,
                      "cachedContentTokenCount": 800, "toolUsePromptTokenCount": 5, "totalTokenCount": 1105}) == \
        Usage(1000, 100, 1105, 800, 0, 60)
    # no total: computed, with the tool-use prompt it counts
    assert map_usage({"promptTokenCount": 10, "candidatesTokenCount": 2, "toolUsePromptTokenCount": 3}) == \
        Usage(10, 2, 15, 0, 0, 0)
    assert map_usage({}) == Usage()
    with pytest.raises(TypeError):
        map_usage({"promptTokenCount": "12"})


@pytest.mark.parametrize("body, fragment", [
    (b"not json at all", "not valid JSON"),
    (b"<html><body>502 Bad Gateway</body></html>", "looks like HTML"),
    (b"[1, 2]", "expected a JSON object"),
    (b"{}", "no candidates"),
    (b'{"candidates": {"content": {}}}', "candidates is not a list"),
    (b'{"candidates": [{"content": {"parts": ["text"]}}]}', "a part is not an object"),
    (b'{"candidates": [{"content": {"parts": [{"functionCall": {"args": {}}}]}}]}', "without a name"),
    (b'{"candidates": [{"content": {"parts": [{"functionCall": {"name": "f", "args": [1]}}]}}]}', "args"),
    (b'{"candidates": [{"content": {"parts": [{"text": 5}]}}]}', "text is int"),
    (b'{"candidates": [{"content": {"parts": []}}], "usageMetadata": {"promptTokenCount": "9"}}', "token count"),
])
def test_malformed_bodies_keep_the_raw_body(body, fragment):
    with pytest.raises(MalformedResponseError) as info:
        parse(body, headers={"x-request-id": "req-bad"})
    assert fragment in info.value.message
    assert info.value.body == body.decode()
    assert info.value.provider == "gemini"


def test_an_error_in_a_200_body_is_typed():
    body = json.loads(fixture_bytes("error_429_resource_exhausted_retryinfo.json"))
    with pytest.raises(RateLimitError) as info:
        parse(body)
    assert info.value.message == "You exceeded your current quota, please check your plan."
    assert info.value.error_type == "RESOURCE_EXHAUSTED"
    assert info.value.retry_after == 34.4


# -- recorded streams -------------------------------------------------------------------------

def test_stream_alt_sse_recording():
    rec, = vcr("stream_alt_sse.vcr.yaml")
    data = rec["body"]
    assert data.count(b"\r\n\r\n") == 3 and b"[DONE]" not in data
    events, resp = replay_all(data, rec["headers"])
    assert events == [TextDelta("The"), TextDelta(" capital of France"), TextDelta(" is Paris.\n"),
                      UsageEvent(Usage(13, 8, 21, 0, 0, 0)), Finish("stop")]
    assert resp.text == "The capital of France is Paris.\n"
    assert resp.id == "w1peaMz6INOvnvgPgYfPiQY"
    assert resp.model == "gemini-2.0-flash-exp"
    assert len(resp.raw) == 3
    assert resp.headers["content-type"] == "text/event-stream"
    assert resp == parse({
        "candidates": [{"content": {"parts": [{"text": "The capital of France is Paris.\n"}], "role": "model"},
                        "finishReason": "STOP"}],
        "usageMetadata": {"promptTokenCount": 13, "candidatesTokenCount": 8, "totalTokenCount": 21},
        "modelVersion": "gemini-2.0-flash-exp", "responseId": "w1peaMz6INOvnvgPgYfPiQY"})


STREAM_SIG_START = "EqsFCqgFAb4+9vvtAF5n87lB"
STREAM_SIG_END = "wAG37eeWcow="
STREAM_SIG_SHA256 = "e5bb5ce61d3210ca5531e9b18fc2d59736399b5594cf8d190f280c164605c335"


def check_stream_signature(sig: str) -> None:
    assert sig.startswith(STREAM_SIG_START) and sig.endswith(STREAM_SIG_END) and len(sig) == 916
    assert hashlib.sha256(sig.encode()).hexdigest() == STREAM_SIG_SHA256


@pytest.mark.parametrize("framing", ["sse_lf", "sse_crlf", "json_array"])
def test_stream_text_chunks_with_signature_only_part(framing):
    if framing == "json_array":
        data = array_of(*chunks_jsonl_events())
    else:
        data = recordings.jsonl_as_sse(fixture_bytes("stream_text.chunks.jsonl"))
        if framing == "sse_crlf":
            data = data.replace(b"\n\n", b"\r\n\r\n")
    events, resp = replay_all(data)
    text = 'There are **3** "r"s in strawberry.\n\nst**r**awbe**rr**y'
    assert events[:2] == [TextDelta("There are **3**"), TextDelta(' "r"s in strawberry.\n\nst**r**awbe**rr**y')]
    sig_event = events[2]
    assert isinstance(sig_event, ThinkingDelta) and sig_event.text == ""
    check_stream_signature(sig_event.signature)
    # usage is cumulative per event: the last one, not a sum (23 candidates + 185 thoughts)
    assert events[3:] == [UsageEvent(Usage(9, 208, 217, 0, 0, 185)), Finish("stop")]
    assert resp.message.content == [TextPart(text), ThinkingPart("", signature=sig_event.signature)]
    assert resp.id == "bH6LaZW8Fp_3nsEPqtaSwQ4"
    assert resp.model == "gemini-3-pro-preview"
    # the same content in one non-streamed body (the signature on the text part)
    assert resp == parse({
        "candidates": [{"content": {"parts": [{"text": text, "thoughtSignature": sig_event.signature}],
                                    "role": "model"}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": 9, "candidatesTokenCount": 23, "totalTokenCount": 217,
                          "thoughtsTokenCount": 185},
        "modelVersion": "gemini-3-pro-preview", "responseId": "bH6LaZW8Fp_3nsEPqtaSwQ4"})


def test_stream_alt_sse_recording_as_a_json_array():
    rec, = vcr("stream_alt_sse.vcr.yaml")
    sse_events, sse_resp = run_stream([rec["body"]])
    objects = [json.loads(line[6:]) for line in rec["body"].decode().split("\r\n\r\n") if line]
    for data in (array_of(*objects), b"  \r\n" + array_of(*objects) + b"\n",
                 b"[" + b",".join(json.dumps(o, separators=(",", ":")).encode() for o in objects) + b"]"):
        events, resp = replay_all(data, n_random=20)
        assert events == sse_events
        assert resp == sse_resp
        assert resp.raw == sse_resp.raw


def test_json_array_elements_with_braces_quotes_and_escapes_in_strings():
    tricky = ['a {b} "c" \\ }{ [x] ', "\\\"", '}\n{"candidates": []}', "é 🌍 \u2028"]
    objects = [event([{"text": t}]) for t in tricky] + [event([], finish="STOP")]
    for data in (array_of(*objects), b"[" + b",".join(json.dumps(o).encode() for o in objects) + b"]"):
        events, resp = replay_all(data, n_random=20)
        assert events == [TextDelta(t) for t in tricky] + [Finish("stop")]
        assert resp.text == "".join(tricky)
        assert resp == run_stream([sse_of(*objects)])[1]


SIG_T, SIG_X, SIG_C = "SIG_THOUGHT==", "SIG_TEXT==", "SIG_CALL=="
TOOL_STREAM = [
    event([{"text": "Réfléchissons ", "thought": True}], usage={"promptTokenCount": 30, "totalTokenCount": 30}),
    event([{"text": "🤔 un peu.", "thought": True, "thoughtSignature": SIG_T}]),
    event([{"text": "Je vérifie ", "thoughtSignature": SIG_X}]),  # the signature before the text run ends
    event([{"text": "la météo."}]),
    event([{"functionCall": {"name": "get_weather", "args": {"city": "Zürich", "days": [1, 2]}},
            "thoughtSignature": SIG_C},
           {"functionCall": {"name": "get_time", "args": {}}}]),
    event([{"functionCall": {"id": "srv-1", "name": "noop"}}], finish="STOP",
          usage={"promptTokenCount": 30, "candidatesTokenCount": 20, "thoughtsTokenCount": 50,
                 "cachedContentTokenCount": 10, "totalTokenCount": 100}),
]
TOOL_BODY = event([
    {"text": "Réfléchissons 🤔 un peu.", "thought": True, "thoughtSignature": SIG_T},
    {"text": "Je vérifie la météo.", "thoughtSignature": SIG_X},
    {"functionCall": {"name": "get_weather", "args": {"city": "Zürich", "days": [1, 2]}}, "thoughtSignature": SIG_C},
    {"functionCall": {"name": "get_time", "args": {}}},
    {"functionCall": {"id": "srv-1", "name": "noop"}},
], finish="STOP", usage={"promptTokenCount": 30, "candidatesTokenCount": 20, "thoughtsTokenCount": 50,
                         "cachedContentTokenCount": 10, "totalTokenCount": 100})


@pytest.mark.parametrize("framing", [sse_of, array_of])
def test_thinking_text_and_whole_function_calls_stream_equals_non_stream(framing):
    events, resp = replay_all(framing(*TOOL_STREAM), n_random=25)
    weather = ToolCall("gemini_call_resp-1_0", "get_weather", {"city": "Zürich", "days": [1, 2]}, signature=SIG_C)
    clock = ToolCall("gemini_call_resp-1_1", "get_time", {})
    noop = ToolCall("srv-1", "noop", {})
    assert events == [
        ThinkingDelta("Réfléchissons "), ThinkingDelta("🤔 un peu."), ThinkingDelta("", signature=SIG_T),
        TextDelta("Je vérifie "), TextDelta("la météo."),
        ThinkingDelta("", signature=SIG_X),
        ToolCallStart(0, "gemini_call_resp-1_0", "get_weather"),
        ToolCallDelta(0, '{"city":"Zürich","days":[1,2]}'), ToolCallEnd(0, weather),
        ToolCallStart(1, "gemini_call_resp-1_1", "get_time"), ToolCallDelta(1, "{}"), ToolCallEnd(1, clock),
        ToolCallStart(2, "srv-1", "noop"), ToolCallDelta(2, "{}"), ToolCallEnd(2, noop),
        UsageEvent(Usage(30, 70, 100, 10, 0, 50)),
        Finish("tool_calls"),
    ]
    assert resp.message.content == [ThinkingPart("Réfléchissons 🤔 un peu.", signature=SIG_T),
                                    TextPart("Je vérifie la météo."), ThinkingPart("", signature=SIG_X),
                                    weather, clock, noop]
    assert resp.thinking == "Réfléchissons 🤔 un peu."
    assert resp.tool_calls[0].signature == SIG_C and resp.tool_calls[1].signature is None
    parsed = parse(TOOL_BODY)
    assert resp == parsed
    assert [c.signature for c in parsed.tool_calls] == [SIG_C, None, None]
    # ...and both go back as the non-streamed body had them (the server's id only)
    body = request_body([user("q"), resp.message, tool_result(weather.id, {"t": 3}), tool_result(clock.id, "12:00"),
                         tool_result(noop.id, None)])
    expected_parts = json.loads(json.dumps(TOOL_BODY["candidates"][0]["content"]["parts"]))
    expected_parts[4]["functionCall"]["args"] = {}
    assert body["contents"][1] == {"role": "model", "parts": expected_parts}
    assert body["contents"][2] == {"role": "user", "parts": [
        {"functionResponse": {"name": "get_weather", "response": {"t": 3}}},
        {"functionResponse": {"name": "get_time", "response": {"result": "12:00"}}},
        {"functionResponse": {"name": "noop", "response": {"result": None}, "id": "srv-1"}},
    ]}


def test_thought_blocks_split_by_signatures_and_text():
    parts = [{"text": "one", "thought": True, "thoughtSignature": "S1"},
             {"text": "two", "thought": True},  # after a signed block: a new block
             {"text": "visible"},
             {"text": "three", "thought": True}]
    expected = [ThinkingPart("one", signature="S1"), ThinkingPart("two"), TextPart("visible"), ThinkingPart("three")]
    assert parse(event(parts, finish="STOP")).message.content == expected
    _, streamed = replay_all(sse_of(*[event([p]) for p in parts], event([], finish="STOP")), n_random=5)
    assert streamed.message.content == expected


def test_usage_is_cumulative_and_reported_once():
    data = sse_of(event([{"text": "a"}], usage={"promptTokenCount": 5, "totalTokenCount": 5}),
                  event([{"text": "b"}], usage={"promptTokenCount": 5, "candidatesTokenCount": 1,
                                                "totalTokenCount": 6}),
                  event([{"text": "c"}], finish="STOP", usage={"promptTokenCount": 5, "candidatesTokenCount": 3,
                                                               "totalTokenCount": 8}))
    events, resp = replay_all(data, n_random=10)
    assert events == [TextDelta("a"), TextDelta("b"), TextDelta("c"), UsageEvent(Usage(5, 3, 8)), Finish("stop")]
    assert resp.usage == Usage(5, 3, 8)


def test_events_after_the_finish_reason_are_still_read():
    data = sse_of(event([{"text": "done"}], finish="STOP"),
                  {"usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 1, "totalTokenCount": 5},
                   "responseId": "resp-1"})
    events, resp = replay_all(data, n_random=5)
    assert events == [TextDelta("done"), UsageEvent(Usage(4, 1, 5)), Finish("stop")]


# -- broken streams and errors inside streams -------------------------------------------------

def test_eof_before_a_finish_reason_is_a_stream_error_with_the_partial():
    rec, = vcr("stream_alt_sse.vcr.yaml")
    data = rec["body"]
    cut = data.rindex(b"data: ")  # the last event (the one with finishReason) never arrives
    for chunks in chunkings(data[:cut], n_random=10):
        dec = make_codec().stream_decoder({"x-request-id": "req-cut"})
        events = []
        for chunk in chunks:
            events.extend(dec.feed(chunk))
        with pytest.raises(StreamError) as info:
            dec.eof()
        assert events == [TextDelta("The"), TextDelta(" capital of France")]
        err = info.value
        assert "finishReason" in err.message
        assert err.response.text == "The capital of France"
        assert err.response.usage == Usage(15, 0, 15, 0, 0, 0)
        assert err.request_id == "req-cut"
        assert not dec.done


def test_eof_inside_an_event_keeps_the_data():
    rec, = vcr("stream_alt_sse.vcr.yaml")
    data = rec["body"]
    cut = data.index(b"capital of France") + 4
    dec = make_codec().stream_decoder({})
    dec.feed(data[:cut])
    with pytest.raises(StreamError) as info:
        dec.eof()
    assert info.value.body.startswith('{"candidates": [{"content": {"parts": [{"text": " capi')
    assert info.value.response.text == "The"


def test_json_array_cut_inside_an_element_keeps_the_data():
    data = array_of(*TOOL_STREAM)
    cut = data.index("la météo".encode()) + 5  # inside the "é", inside an element
    for chunks in chunkings(data[:cut], n_random=10):
        dec = make_codec().stream_decoder({})
        for chunk in chunks:
            dec.feed(chunk)
        with pytest.raises(StreamError) as info:
            dec.eof()
        assert info.value.response.text == "Je vérifie "
        assert info.value.body is not None and '"la m' in info.value.body


def test_empty_stream_is_a_stream_error():
    for data in (b"", b"\r\n  \n", b"[]", b"[\n]"):
        dec = make_codec().stream_decoder({})
        assert dec.feed(data) == []
        with pytest.raises(StreamError) as info:
            dec.eof()
        assert info.value.response.text == ""


def test_non_json_and_non_object_events_are_stream_errors():
    dec = make_codec().stream_decoder({})
    with pytest.raises(StreamError) as info:
        dec.feed(b"data: <html>oops</html>\r\n\r\n")
    assert info.value.body == "<html>oops</html>"
    with pytest.raises(StreamError):
        make_codec().stream_decoder({}).feed(b"data: [1, 2]\r\n\r\n")
    with pytest.raises(StreamError) as info:
        make_codec().stream_decoder({}).feed(b"[{\"candidates\": []}, garbage, {\"candidates\": []}]")
    assert "garbage" in info.value.body
    dec = make_codec().stream_decoder({})
    events = dec.feed(sse_of(event([{"text": "kept"}])) + b"data: {\"candidates\": [{\"content\": {\"parts\": 3}}]}"
                      b"\r\n\r\n")
    assert events == [TextDelta("kept")]  # what came before the bad event is returned first
    with pytest.raises(StreamError) as info:
        dec.check()
    assert "unexpected shape" in info.value.message and info.value.response.text == "kept"


STREAM_ERROR = {"error": {"code": 429, "message": "Resource has been exhausted (e.g. check quota).",
                          "status": "RESOURCE_EXHAUSTED",
                          "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "12s"}]}}


@pytest.mark.parametrize("status, cls", [
    ("RESOURCE_EXHAUSTED", RateLimitError), ("UNAVAILABLE", OverloadedError), ("INTERNAL", ServerError),
    ("DEADLINE_EXCEEDED", ServerError), ("INVALID_ARGUMENT", BadRequestError), ("NOT_FOUND", NotFoundError),
    ("PERMISSION_DENIED", PermissionDeniedError), ("SOMETHING_NEW", APIError),
])
@pytest.mark.parametrize("framing", [sse_of, array_of])
def test_an_error_event_inside_a_200_stream(status, cls, framing):
    error = json.loads(json.dumps(STREAM_ERROR))
    error["error"]["status"] = status
    data = framing(event([{"text": "Partial "}], usage={"promptTokenCount": 3, "totalTokenCount": 3}),
                   event([{"text": "answer"}]), error, event([{"text": "never"}], finish="STOP"))
    for chunks in chunkings(data, n_random=8):
        dec = make_codec().stream_decoder({"x-request-id": "req-stream"})
        with pytest.raises(cls) as info:
            for chunk in chunks:
                dec.feed(chunk)
            dec.eof()
        err = info.value
        assert type(err) is cls
        assert err.status is None  # the HTTP status was 200
        assert err.message == "Resource has been exhausted (e.g. check quota)."
        assert err.error_type == status and err.code == "429"
        assert err.retryable is False
        assert err.retry_after == 12.0
        assert err.request_id == "req-stream"
        assert err.response.text == "Partial answer"
        assert err.response.usage == Usage(3, 0, 3)
        assert json.loads(err.body)["error"]["status"] == status


def test_an_error_body_without_sse_framing_inside_the_stream():
    data = sse_of(event([{"text": "Partial"}])) + json.dumps(STREAM_ERROR, indent=2).encode() + b"\n"
    dec = make_codec().stream_decoder({})
    assert dec.feed(data) == [TextDelta("Partial")]
    with pytest.raises(RateLimitError) as info:
        dec.eof()
    assert info.value.response.text == "Partial"
    assert info.value.retry_after == 12.0


# -- HTTP errors ------------------------------------------------------------------------------

def test_403_permission_denied_recording(codec):
    request_line, _, status, headers, body = httprr_exchange("error_403_permission_denied.httprr", base=FIX)
    assert request_line.startswith("POST https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash"
                                   ":generateContent")
    err = codec.api_error(status, headers, body)
    assert type(err) is PermissionDeniedError
    assert err.status == 403
    assert err.message == ("Method doesn't allow unregistered callers (callers without established identity). "
                           "Please use API Key or other form of API consumer identity to call this API.")
    assert err.error_type == "PERMISSION_DENIED"
    assert err.code == "403"
    assert err.retryable is False
    assert err.retry_after is None
    assert err.body == body.decode()
    assert err.headers["server"] == "scaffolding on HTTPServer2"


def test_404_not_found_recording(codec):
    rec, = vcr("error_404_embed_model_not_found.vcr.yaml")  # an embeddings call; the error shape is shared
    err = codec.api_error(rec["status"], rec["headers"], rec["body"])
    assert type(err) is NotFoundError
    assert err.message == ("models/nonexistent-model is not found for API version v1beta, or is not supported for "
                           "embedContent. Call ListModels to see the list of available models and their supported "
                           "methods.")
    assert err.error_type == "NOT_FOUND" and err.code == "404"


def test_429_retry_info_recording(codec):
    body = fixture_bytes("error_429_resource_exhausted_retryinfo.json")
    err = codec.api_error(429, {"content-type": "application/json"}, body)
    assert type(err) is RateLimitError
    assert err.retryable is True
    assert err.retry_after == 34.4
    assert err.error_type == "RESOURCE_EXHAUSTED"
    assert err.message == "You exceeded your current quota, please check your plan."
    # a Retry-After header, when there is one, wins
    assert codec.api_error(429, {"retry-after": "3"}, body).retry_after == 3.0


@pytest.mark.parametrize("delay, seconds", [("12s", 12.0), ("0.5s", 0.5), ("34.4s", 34.4),
                                            ("1.000340012s", 1.000340012), ({"seconds": 2, "nanos": 500000000}, 2.5),
                                            ("soon", None), (7, None)])
def test_retry_delay_durations(delay, seconds):
    data = {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "m", "details": [
        {"@type": "type.googleapis.com/google.rpc.QuotaFailure"},
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay}]}}
    assert retry_delay(data) == seconds
    assert retry_delay([data]) == seconds
    assert retry_delay({"error": {"message": "m"}}) is None


def google_error(code: int, status: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message, "status": status}}).encode()


@pytest.mark.parametrize("status, gstatus, cls, retryable", [
    (400, "INVALID_ARGUMENT", BadRequestError, False),
    (400, "FAILED_PRECONDITION", BadRequestError, False),
    (403, "PERMISSION_DENIED", PermissionDeniedError, False),
    (404, "NOT_FOUND", NotFoundError, False),
    (429, "RESOURCE_EXHAUSTED", RateLimitError, True),
    (500, "INTERNAL", ServerError, True),
    (503, "UNAVAILABLE", OverloadedError, True),
    (504, "DEADLINE_EXCEEDED", ServerError, True),
])
def test_error_statuses(codec, status, gstatus, cls, retryable):
    err = codec.api_error(status, {"x-request-id": "req-e"}, google_error(status, gstatus, "went wrong"))
    assert type(err) is cls
    assert err.status == status and err.error_type == gstatus and err.code == str(status)
    assert err.message == "went wrong"
    assert err.retryable is retryable
    assert err.request_id == "req-e"


def test_a_prompt_too_long_is_context_window_exceeded(codec):
    err = codec.api_error(400, {}, google_error(400, "INVALID_ARGUMENT", "The input token count (1204255) exceeds the "
                                                "maximum number of tokens allowed (1048576)."))
    assert isinstance(err, ContextWindowExceededError)


def test_error_details_shapes(codec):
    assert codec.error_details({"error": {"code": 400, "message": "m", "status": "INVALID_ARGUMENT"}}) == \
        ("m", "INVALID_ARGUMENT", "400")
    # the stream endpoint without alt=sse answers errors in an array
    assert codec.error_details([{"error": {"code": 404, "message": "nf", "status": "NOT_FOUND"}}]) == \
        ("nf", "NOT_FOUND", "404")
    assert codec.error_details({"error": "plain"}) == ("plain", None, None)
    assert codec.error_details({"message": "proxy says no"}) == ("proxy says no", None, None)
    assert codec.error_details(7) == (None, None, None)
    err = codec.api_error(404, {}, json.dumps([{"error": {"code": 404, "message": "nf", "status": "NOT_FOUND"}}])
                          .encode())
    assert type(err) is NotFoundError and err.message == "nf"


def test_non_json_error_bodies_and_keys_echoed_back(codec):
    err = codec.api_error(502, {}, b"<html><body>502 Bad Gateway</body></html>")
    assert isinstance(err, ServerError) and "502 Bad Gateway" in err.message
    assert err.body == "<html><body>502 Bad Gateway</body></html>"
    err = codec.api_error(400, {}, google_error(400, "INVALID_ARGUMENT", f"API key not valid: {KEY}"))
    assert KEY not in err.message and KEY not in (err.body or "") and "***" in err.message
