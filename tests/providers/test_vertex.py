"""Sans-IO tests of Vertex AI (llmunified/providers/vertex.py, llmunified/_google_auth.py) and of
the Gemini stream decoder's streamed function-call arguments (``partialArgs``).

- URLs, bodies and headers per publisher (Google's Gemini, Anthropic's Claude) and location,
  the ``project`` / ``location`` settings, and the errors raised before any request.
- Application Default Credentials with a FAKE google-auth credentials object (refresh before
  expiry, one refresh for many threads, typed errors); these tests skip when google-auth is
  not installed (``tox -e google`` installs it).
- The recording ``fixtures/gemini/vertex_generate_content.vcr.yaml`` (python-genai through
  pydantic-ai against the real service) and Anthropic recordings decoded by the Vertex codec.
- ``partialArgs``: NO recording exists. The streams below are written by hand from the shape
  docs/wire.md §5 Streaming describes (a named ``functionCall`` with ``willContinue``, nameless
  ones with ``partialArgs`` entries ``{jsonPath, stringValue|numberValue|boolValue|nullValue,
  willContinue}``, an empty ``functionCall`` closing the call), and replayed under many
  chunkings.
"""
import functools
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from typing import Any, Dict, List, Mapping, Optional, Tuple

import pytest

from llmunified._endpoint import Endpoint
from llmunified._events import Finish, TextDelta, ToolCallDelta, ToolCallEnd, ToolCallStart, UsageEvent
from llmunified._options import make_options, to_messages
from llmunified._registry import PROVIDERS, Auth, resolve_config
from llmunified._types import (ImagePart, Message, Response, TextPart, Tool, ToolCall, ToolResult, Usage, assistant,
                               user)
from llmunified.errors import (AuthenticationError, ConfigurationError, PermissionDeniedError, RateLimitError,
                               StreamError, ValidationError)
from llmunified.providers import codec_for
from llmunified.providers.anthropic import AnthropicCodec
from llmunified.providers.gemini import GeminiCodec, json_path
from llmunified.providers.vertex import (ANTHROPIC_VERSION, VertexAnthropicCodec, VertexCodec, VertexGeminiCodec,
                                         host_for, route)
from tests.providers import recordings
from tests.providers.recordings import FIXTURES, feed_all, load

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOKEN = "ya29.test-access-token-DO-NOT-LEAK-1234567890"
GEMINI = "gemini-2.5-flash"
CLAUDE = "claude-sonnet-4@20250514"
PROJECT = "my-project"

chunkings = functools.partial(recordings.chunkings, seed=4242, n_random=30)


# -- helpers ---------------------------------------------------------------------------------

def make_codec(model: str = GEMINI, key: Any = TOKEN, base_url: Optional[str] = None,
               environ: Optional[Mapping[str, str]] = None, headers: Optional[Mapping[str, str]] = None,
               **settings: Any) -> Any:
    if "project" not in settings and not (environ or {}).get("GOOGLE_CLOUD_PROJECT"):
        settings["project"] = PROJECT
    config = resolve_config(PROVIDERS["vertex"], api_key=key, base_url=base_url, headers=headers,
                            environ=environ if environ is not None else {}, settings=settings)
    return codec_for(config, model)


def build(codec: Any, messages: Any = "Hi", stream: bool = False, **options: Any) -> Any:
    return codec.chat_request(to_messages(messages), make_options({}, options), stream)


def no_network(monkeypatch: Any) -> None:
    def refuse(*a: Any, **k: Any) -> None:
        raise AssertionError("network used while configuring")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def sse_of(*events: Any) -> bytes:
    return b"".join(b"data: " + json.dumps(e, ensure_ascii=False).encode("utf-8") + b"\r\n\r\n" for e in events)


def array_of(*events: Any) -> bytes:
    return b"[" + b",\r\n".join(json.dumps(e, ensure_ascii=False, indent=2).encode("utf-8") for e in events) + b"]"


def event(parts: Optional[List[Any]] = None, finish: Optional[str] = None, rid: str = "resp-v",
          usage: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    cand: Dict[str, Any] = {"content": {"role": "model", "parts": parts or []}, "index": 0}
    if finish:
        cand["finishReason"] = finish
    out: Dict[str, Any] = {"candidates": [cand], "modelVersion": "gemini-3-pro-preview", "responseId": rid}
    if usage is not None:
        out["usageMetadata"] = usage
    return out


def replay_all(codec: Any, data: bytes, n_random: int = 30) -> Tuple[List[Any], Response]:
    """Every chunking gives the same events and Response; returns them."""
    ref_events, ref_resp = feed_all(codec.stream_decoder({}), [data])
    count = 0
    for chunks in chunkings(data, n_random=n_random):
        events, resp = feed_all(codec.stream_decoder({}), chunks)
        assert events == ref_events
        assert repr(events) == repr(ref_events)
        assert resp == ref_resp
        assert [c.signature for c in resp.tool_calls] == [c.signature for c in ref_resp.tool_calls]
        count += 1
    assert count >= n_random + 2
    return ref_events, ref_resp


# -- the registry entry ----------------------------------------------------------------------

def test_provider_entry():
    info = PROVIDERS["vertex"]
    assert info.codec is VertexCodec and info.protocol == "vertex"
    assert info.key_required is False and info.api_key_envs == ()
    assert info.auth == Auth.bearer() and info.token_auth == Auth.bearer()
    assert info.base_url_env == "VERTEX_BASE_URL"
    assert [(s.name, s.envs, s.default, s.required) for s in info.settings] == [
        ("project", ("GOOGLE_CLOUD_PROJECT",), None, False),  # not required in express mode
        ("location", ("GOOGLE_CLOUD_LOCATION",), "us-central1", False)]
    assert VertexCodec.thinking_replay == "signed"
    with pytest.raises(TypeError):
        VertexCodec(resolve_config(info, api_key="t", environ={}, settings={"project": "p"}), GEMINI)  # abstract


@pytest.mark.parametrize("model, codec_class, publisher, name", [
    (GEMINI, VertexGeminiCodec, "google", GEMINI),
    ("gemini-3-pro-preview", VertexGeminiCodec, "google", "gemini-3-pro-preview"),
    ("google/gemini-2.0-flash", VertexGeminiCodec, "google", "gemini-2.0-flash"),
    ("gemma-3-27b-it", VertexGeminiCodec, "google", "gemma-3-27b-it"),
    (CLAUDE, VertexAnthropicCodec, "anthropic", CLAUDE),
    ("claude-3-5-haiku@20241022", VertexAnthropicCodec, "anthropic", "claude-3-5-haiku@20241022"),
    ("anthropic/claude-opus-4-1@20250805", VertexAnthropicCodec, "anthropic", "claude-opus-4-1@20250805"),
])
def test_the_publisher_follows_from_the_model_name(model, codec_class, publisher, name):
    assert route(model) == (publisher, name)
    codec = make_codec(model)
    assert type(codec) is codec_class and codec.model == name and codec.provider == "vertex"
    assert isinstance(codec, GeminiCodec if publisher == "google" else AnthropicCodec)
    assert f"/publishers/{publisher}/models/{name}:" in build(codec).url


@pytest.mark.parametrize("model", ["", " ", "meta/llama-3.1-405b-instruct-maas", "mistralai/mistral-large",
                                   "google/", "anthropic/", "google/a/b", "publishers/google/models/gemini-2.5-flash"])
def test_a_model_vertex_cannot_route_is_a_configuration_error(model, monkeypatch):
    no_network(monkeypatch)
    with pytest.raises(ConfigurationError) as exc:
        make_codec(model)
    text = str(exc.value)
    assert "vertex/gemini-2.5-flash" in text and "vertex/claude-" in text and "vertex/anthropic/<model>" in text


def test_split_model_and_endpoint_route_vertex_names():
    ep = Endpoint(f"vertex/{CLAUDE}", api_key=TOKEN, defaults={"project": "p", "location": "global"}, environ={})
    assert type(ep.codec) is VertexAnthropicCodec and ep.model_name == CLAUDE
    assert ep.base_url == "https://aiplatform.googleapis.com"
    ep = Endpoint("vertex/anthropic/" + CLAUDE, api_key=TOKEN, defaults={"project": "p"}, environ={})
    assert type(ep.codec) is VertexAnthropicCodec and ep.codec.model == CLAUDE
    with pytest.raises(ConfigurationError, match="names no model"):
        Endpoint("vertex/", api_key=TOKEN, defaults={"project": "p"}, environ={})


# -- URLs ------------------------------------------------------------------------------------

@pytest.mark.parametrize("location, host", [
    ("global", "https://aiplatform.googleapis.com"),
    ("us", "https://aiplatform.us.rep.googleapis.com"),
    ("eu", "https://aiplatform.eu.rep.googleapis.com"),
    ("us-central1", "https://us-central1-aiplatform.googleapis.com"),
    ("europe-west4", "https://europe-west4-aiplatform.googleapis.com"),
    ("asia-northeast1", "https://asia-northeast1-aiplatform.googleapis.com"),
    ("northamerica-northeast2", "https://northamerica-northeast2-aiplatform.googleapis.com"),
])
def test_urls_per_location(location, host):
    assert host_for(location) == host
    base = f"{host}/v1/projects/{PROJECT}/locations/{location}/publishers"
    gemini = make_codec(GEMINI, location=location)
    assert gemini.config.base_url == host
    assert build(gemini).url == f"{base}/google/models/{GEMINI}:generateContent"
    assert build(gemini, stream=True).url == f"{base}/google/models/{GEMINI}:streamGenerateContent?alt=sse"
    claude = make_codec(CLAUDE, location=location)
    assert build(claude).url == f"{base}/anthropic/models/{CLAUDE}:rawPredict"
    assert build(claude, stream=True).url == f"{base}/anthropic/models/{CLAUDE}:streamRawPredict"


def test_default_location_is_us_central1():
    codec = make_codec()
    assert codec.config.settings["location"] == "us-central1"
    assert build(codec).url == ("https://us-central1-aiplatform.googleapis.com/v1/projects/my-project/locations/"
                                f"us-central1/publishers/google/models/{GEMINI}:generateContent")


@pytest.mark.parametrize("base_url, url", [
    # the emulator and proxies: the host root, the path as on Vertex
    ("http://127.0.0.1:9999", "http://127.0.0.1:9999/v1/projects/my-project/locations/europe-west4/publishers/"
                              "google/models/gemini-2.5-flash:generateContent"),
    ("http://127.0.0.1:9999/", "http://127.0.0.1:9999/v1/projects/my-project/locations/europe-west4/publishers/"
                               "google/models/gemini-2.5-flash:generateContent"),
    # a base URL naming the API version (python-genai's v1beta1) is used as it is
    ("https://aiplatform.googleapis.com/v1beta1", "https://aiplatform.googleapis.com/v1beta1/projects/my-project/"
                                                  "locations/europe-west4/publishers/google/models/gemini-2.5-flash:"
                                                  "generateContent"),
    ("https://proxy.example/vertex/v1", "https://proxy.example/vertex/v1/projects/my-project/locations/europe-west4/"
                                        "publishers/google/models/gemini-2.5-flash:generateContent"),
])
def test_an_explicit_base_url_wins_over_the_regional_host(base_url, url):
    assert build(make_codec(base_url=base_url, location="europe-west4")).url == url


def test_base_url_from_the_environment_wins_over_the_regional_host():
    env = {"VERTEX_BASE_URL": "http://127.0.0.1:8080", "GOOGLE_CLOUD_PROJECT": "p", "GOOGLE_CLOUD_LOCATION": "eu"}
    codec = make_codec(CLAUDE, environ=env)
    assert build(codec).url == f"http://127.0.0.1:8080/v1/projects/p/locations/eu/publishers/anthropic/models/{CLAUDE}" \
                               ":rawPredict"


# -- settings --------------------------------------------------------------------------------

def test_settings_from_the_environment_and_arguments_first():
    env = {"GOOGLE_CLOUD_PROJECT": "env-project", "GOOGLE_CLOUD_LOCATION": "asia-southeast1"}
    codec = make_codec(environ=env)
    assert dict(codec.config.settings) == {"project": "env-project", "location": "asia-southeast1"}
    assert build(codec).url.startswith("https://asia-southeast1-aiplatform.googleapis.com/v1/projects/env-project/"
                                       "locations/asia-southeast1/")
    codec = make_codec(environ=env, project="arg-project", location="global")
    assert dict(codec.config.settings) == {"project": "arg-project", "location": "global"}
    assert build(codec).url.startswith("https://aiplatform.googleapis.com/v1/projects/arg-project/locations/global/")
    codec = make_codec(environ={"GOOGLE_CLOUD_PROJECT": "p", "GOOGLE_CLOUD_LOCATION": ""})
    assert codec.config.settings["location"] == "us-central1"  # an empty variable counts as unset


def test_client_keyword_arguments_reach_the_settings():
    ep = Endpoint(f"vertex/{GEMINI}", api_key=TOKEN, defaults={"project": "p", "location": "europe-west4",
                                                                 "temperature": 0.5}, environ={})
    assert dict(ep.config.settings) == {"project": "p", "location": "europe-west4"}
    req = ep.chat("Hi", {}, stream=False).request
    assert req.url.startswith("https://europe-west4-aiplatform.googleapis.com/v1/projects/p/locations/europe-west4/")
    assert json.loads(req.body)["generationConfig"] == {"temperature": 0.5}


def test_a_missing_project_is_a_configuration_error_before_any_request(monkeypatch):
    no_network(monkeypatch)
    config_error = pytest.raises(ConfigurationError, match="GOOGLE_CLOUD_PROJECT or pass project=")
    with config_error:  # a token (a callable) needs a project; only a plain API key means express mode
        Endpoint(f"vertex/{GEMINI}", api_key=lambda: TOKEN, environ={})
    with pytest.raises(ConfigurationError, match="Anthropic model.*GOOGLE_CLOUD_PROJECT"):
        Endpoint(f"vertex/{CLAUDE}", api_key=TOKEN, environ={"GOOGLE_CLOUD_LOCATION": "global"})
    with pytest.raises(ConfigurationError, match="GOOGLE_CLOUD_PROJECT"):
        Endpoint(f"vertex/{CLAUDE}", environ={})  # no project is reported before no credentials


@pytest.mark.parametrize("location", ["", "US", "Europe-West4", "europe_west4", "europe-west", "us-central1/x",
                                      "https://evil.example", "moon", "us-central1 ", "eu-"])
def test_an_unknown_location_is_a_configuration_error_before_any_request(location, monkeypatch):
    no_network(monkeypatch)
    with pytest.raises(ConfigurationError, match="'global', 'us', 'eu' or a region such as 'us-central1'"):
        make_codec(location=location)
    # also when base_url names the host (the location is still in the path)
    with pytest.raises(ConfigurationError, match="unknown location"):
        make_codec(CLAUDE, base_url="http://127.0.0.1:9", location=location)


@pytest.mark.parametrize("project", ["my project", "p/../../x", "p?x=1", "p#f", "-p"])
def test_a_project_id_that_cannot_be_one_is_refused(project, monkeypatch):
    no_network(monkeypatch)
    with pytest.raises(ConfigurationError, match="not a Google Cloud project id"):
        make_codec(project=project)


def test_project_id_forms_that_exist_are_accepted():
    for project in ("my-project-123", "123456789012", "example.com:my-project"):
        assert f"/projects/{project}/locations/" in build(make_codec(project=project)).url


# -- headers and auth ------------------------------------------------------------------------

@pytest.mark.parametrize("model", [GEMINI, CLAUDE])
def test_bearer_token_from_a_string_and_no_key_headers(model):
    for stream in (False, True):
        req = build(make_codec(model), stream=stream)
        assert req.headers["Authorization"] == f"Bearer {TOKEN}"
        lowered = {k.lower() for k in req.headers}
        assert not lowered & {"x-api-key", "x-goog-api-key", "anthropic-version", "api-key"}
        assert "key=" not in req.url
        assert TOKEN not in repr(req) and TOKEN not in str(req)


@pytest.mark.parametrize("model", [GEMINI, CLAUDE])
def test_a_token_callable_is_called_for_every_request(model):
    calls = []

    def tokens() -> str:
        calls.append(1)
        return f"token-{len(calls)}"

    codec = make_codec(model, key=tokens)
    assert calls == []  # not at construction
    assert [build(codec, stream=s).headers["Authorization"] for s in (False, True, False)] == [
        "Bearer token-1", "Bearer token-2", "Bearer token-3"]
    assert "token-3" not in repr(codec.config)


def test_a_failing_token_callable_is_a_configuration_error():
    def tokens() -> str:
        raise RuntimeError("metadata server unreachable")
    with pytest.raises(ConfigurationError, match="api_key callable failed: RuntimeError: metadata server"):
        build(make_codec(CLAUDE, key=tokens))


def test_caller_headers_are_sent_and_win():
    codec = make_codec(CLAUDE, headers={"anthropic-beta": "context-1m-2025-08-07", "x-goog-user-project": "billing"})
    req = build(codec)
    assert req.headers["anthropic-beta"] == "context-1m-2025-08-07"
    assert req.headers["x-goog-user-project"] == "billing"
    assert req.headers["Authorization"] == f"Bearer {TOKEN}"


def test_the_token_is_scrubbed_from_error_text_the_server_echoes():
    codec = make_codec(CLAUDE)
    build(codec)  # the token has been handed out
    body = json.dumps({"error": {"code": 401, "message": f"Request had invalid credentials {TOKEN}",
                                 "status": "UNAUTHENTICATED"}}).encode()
    err = codec.api_error(401, {}, body)
    assert isinstance(err, AuthenticationError)
    assert TOKEN not in str(err) and TOKEN not in (err.body or "") and "***" in err.message


# -- bodies ----------------------------------------------------------------------------------

CONVERSATION = [
    Message("system", "Be brief."),
    user("What is the weather in Paris?"),
    assistant([ToolCall("toolu_1", "weather", {"city": "Paris"})]),
    Message("tool", [ToolResult("toolu_1", "sunny", name="weather")]),
]
TOOLS = [Tool("weather", "The weather in a city", {"type": "object", "properties": {"city": {"type": "string"}},
                                                   "required": ["city"]})]


@pytest.mark.parametrize("stream", [False, True])
def test_anthropic_body_has_anthropic_version_and_no_model(stream):
    options = dict(tools=TOOLS, temperature=0.2, max_tokens=300, stop=["###"])
    vertex = build(make_codec(CLAUDE), CONVERSATION, stream=stream, **options).json()
    direct_config = resolve_config(PROVIDERS["anthropic"], api_key="sk-ant", environ={})
    direct = build(codec_for(direct_config, CLAUDE), CONVERSATION, stream=stream, **options).json()
    assert "model" not in vertex and direct["model"] == CLAUDE
    assert vertex["anthropic_version"] == ANTHROPIC_VERSION == "vertex-2023-10-16"
    assert list(vertex)[0] == "anthropic_version"
    expected = dict(direct)
    del expected["model"]
    expected["anthropic_version"] = "vertex-2023-10-16"
    assert vertex == expected
    assert vertex.get("stream") is (True if stream else None)  # :streamRawPredict still needs "stream": true


def test_anthropic_extra_is_merged_after_the_vertex_fields():
    body = build(make_codec(CLAUDE), "Hi", extra={"thinking": {"type": "enabled", "budget_tokens": 1024},
                                                  "anthropic_version": "vertex-2099-01-01"}).json()
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 1024}
    assert body["anthropic_version"] == "vertex-2099-01-01"  # the caller's extra wins, as everywhere


def test_direct_anthropic_is_unchanged_by_the_hooks():
    req = build(codec_for(resolve_config(PROVIDERS["anthropic"], api_key="sk-ant-x", environ={}), CLAUDE))
    assert list(req.headers) == ["content-type", "anthropic-version", "accept", "x-api-key"]
    assert req.headers["anthropic-version"] == "2023-06-01"
    assert req.url == "https://api.anthropic.com/v1/messages" and req.json()["model"] == CLAUDE


@pytest.mark.parametrize("stream", [False, True])
def test_gemini_body_is_the_gemini_api_body(stream):
    options = dict(tools=TOOLS, tool_choice="required", temperature=0.2, max_tokens=300, seed=7)
    vertex = build(make_codec(GEMINI), CONVERSATION, stream=stream, **options)
    studio = build(codec_for(resolve_config(PROVIDERS["gemini"], api_key="AIza-x", environ={}), GEMINI),
                   CONVERSATION, stream=stream, **options)
    assert vertex.body == studio.body
    body = vertex.json()
    assert [c["role"] for c in body["contents"]] == ["user", "model", "user"]  # every content has its role
    assert body["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    assert vertex.headers["Accept"] == ("text/event-stream" if stream else "application/json")


def test_gemini_images_gs_uris_go_as_file_data_and_other_urls_are_refused():
    codec = make_codec(GEMINI)
    body = build(codec, [user([TextPart("What is it?"), ImagePart(url="gs://bucket/cat.png", media_type="image/png")])
                         ]).json()
    assert body["contents"][0]["parts"][1] == {"fileData": {"fileUri": "gs://bucket/cat.png", "mimeType": "image/png"}}
    with pytest.raises(ValidationError, match="cannot send an image by URL"):
        build(codec, [user([ImagePart(url="https://example.com/cat.png")])])


def test_old_gemini_models_get_the_openapi_schema_on_vertex_too():
    decl = build(make_codec("gemini-2.0-flash"), "Hi", tools=TOOLS).json()["tools"][0]["functionDeclarations"][0]
    assert "parameters" in decl and "parametersJsonSchema" not in decl
    decl = build(make_codec(GEMINI), "Hi", tools=TOOLS).json()["tools"][0]["functionDeclarations"][0]
    assert decl["parametersJsonSchema"] == TOOLS[0].parameters


# -- the recording ---------------------------------------------------------------------------

def test_the_vertex_recording_request_and_response():
    (interaction,) = recordings.vcr("vertex_generate_content.vcr.yaml", os.path.join(FIXTURES, "gemini"))
    recorded = interaction["request"]
    codec = make_codec("gemini-2.0-flash", base_url="https://aiplatform.googleapis.com/v1beta1",
                       project="pydantic-ai", location="global")
    req = build(codec, [Message("system", "You are a helpful chatbot."), user("What is the capital of France?")])
    assert req.url == recorded["uri"]
    assert req.method == recorded["method"]
    body = req.json()
    sent = recorded["parsed_body"]
    assert body["contents"] == sent["contents"]
    # python-genai also sends an empty generationConfig and a role on systemInstruction; Vertex
    # takes the instruction without one (the Gemini API body, docs/wire.md §6 Body and response)
    assert body["systemInstruction"]["parts"] == sent["systemInstruction"]["parts"]
    resp = codec.parse_chat(recordings.vcr_body(interaction), {"content-type": "application/json; charset=UTF-8"})
    assert resp.text == "The capital of France is Paris.\n"
    assert resp.finish_reason == "stop"
    assert resp.usage == Usage(13, 8, 21, 0, 0, 0)
    assert resp.model == "gemini-2.0-flash" and resp.id == "1VpeaKq4CfH_2PgPh_z--AY" and resp.provider == "vertex"
    assert resp.raw["createTime"] == "2025-06-27T08:48:21.154666Z"
    assert resp.raw["usageMetadata"]["trafficType"] == "ON_DEMAND"
    # the same response streamed (one SSE event, and the JSON array form) gives the same Response
    for data in (sse_of(resp.raw), array_of(resp.raw)):
        events, streamed = replay_all(codec, data)
        assert streamed == resp
        assert [type(e) for e in events] == [TextDelta, UsageEvent, Finish]


def test_anthropic_recordings_decode_through_the_vertex_codec():
    base = os.path.join(FIXTURES, "anthropic")
    vertex = make_codec("claude-3-5-sonnet-v2@20241022")
    direct = codec_for(resolve_config(PROVIDERS["anthropic"], api_key="sk-ant-x", environ={}),
                       "claude-3-5-sonnet-v2@20241022")
    for name in ("message_text.json", "message_thinking_with_signature.json"):
        a, b = vertex.parse_chat(load(name, base), {}), direct.parse_chat(load(name, base), {})
        assert a.message == b.message and a.usage == b.usage and a.finish_reason == b.finish_reason
        assert a.provider == "vertex"
    data = load("stream_text_then_tool_use.sse", base)
    events, resp = replay_all(vertex, data)
    ref_events, ref_resp = feed_all(direct.stream_decoder({}), [data])
    assert events == ref_events and resp.message == ref_resp.message and resp.tool_calls


@pytest.mark.parametrize("model", [GEMINI, CLAUDE])
@pytest.mark.parametrize("status, google_status, cls", [
    (429, "RESOURCE_EXHAUSTED", RateLimitError),
    (403, "PERMISSION_DENIED", PermissionDeniedError),
    (401, "UNAUTHENTICATED", AuthenticationError),
])
def test_google_shaped_errors_from_the_front_end(model, status, google_status, cls):
    body = json.dumps({"error": {"code": status, "message": f"{google_status.lower()} on aiplatform",
                                 "status": google_status}}).encode()
    err = make_codec(model).api_error(status, {}, body)
    assert type(err) is cls
    assert err.message == f"{google_status.lower()} on aiplatform" and err.error_type == google_status
    assert err.provider == "vertex" and err.status == status


# -- Application Default Credentials ---------------------------------------------------------

def test_without_google_auth_a_missing_key_is_a_configuration_error(monkeypatch):
    no_network(monkeypatch)
    monkeypatch.setitem(sys.modules, "google.auth", None)
    for model in (GEMINI, CLAUDE):
        with pytest.raises(ConfigurationError) as exc:
            make_codec(model, key=None)
        text = str(exc.value)
        assert "pip install 'llmunified[google]'" in text and "api_key=" in text
    # a key needs no google-auth
    assert build(make_codec(key=TOKEN)).headers["Authorization"] == f"Bearer {TOKEN}"


def test_importing_llmunified_or_using_a_key_does_not_import_google_auth():
    code = ("import sys, llmunified\n"
            "from llmunified._endpoint import Endpoint\n"
            "ep = Endpoint('vertex/gemini-2.5-flash', api_key='t', defaults={'project': 'p'}, environ={})\n"
            "ep.chat('Hi', {}, stream=True)\n"
            "print(sorted(m for m in sys.modules if m.startswith(('google', 'llmunified._google_auth'))))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0


class FakeCredentials:
    """What the library uses of google.auth.credentials.Credentials: token, valid, expired, refresh()."""

    LIFETIME = 3600.0
    EARLY = 225.0  # google-auth calls a token expired 3m45s before its expiry time

    def __init__(self, clock: FakeClock, fail: Optional[BaseException] = None, slow: float = 0.0) -> None:
        self.clock = clock
        self.token: Optional[str] = None
        self.expiry: Optional[float] = None
        self.refreshes = 0
        self.requests: List[Any] = []
        self.fail = fail
        self.slow = slow
        self.inside = 0
        self.overlapped = False
        self.quota_project_id: Optional[str] = None

    @property
    def expired(self) -> bool:
        return self.expiry is not None and self.clock.now >= self.expiry - self.EARLY

    @property
    def valid(self) -> bool:
        return self.token is not None and not self.expired

    def refresh(self, request: Any) -> None:
        self.inside += 1
        if self.inside > 1:
            self.overlapped = True
        try:
            if self.slow:
                time.sleep(self.slow)
            self.requests.append(request)
            if self.fail is not None:
                raise self.fail
            self.refreshes += 1
            self.token = f"ya29.fake-token-{self.refreshes}"
            self.expiry = self.clock.now + self.LIFETIME
        finally:
            self.inside -= 1


@pytest.fixture
def google_auth():
    return pytest.importorskip("google.auth")


@pytest.fixture
def adc(google_auth, monkeypatch):
    """google.auth.default() returning a fake; (clock, credentials, scopes asked for)."""
    clock = FakeClock()
    state: Dict[str, Any] = {"credentials": FakeCredentials(clock), "scopes": []}

    def default(scopes: Any = None, **kwargs: Any) -> Tuple[Any, str]:
        state["scopes"].append(scopes)
        return state["credentials"], "adc-project"

    monkeypatch.setattr(google_auth, "default", default)
    state["clock"] = clock
    return state


def test_adc_tokens_are_fetched_lazily_and_refreshed_before_expiry(adc, monkeypatch):
    no_network(monkeypatch)
    creds: FakeCredentials = adc["credentials"]
    codec = make_codec(CLAUDE, key=None)
    assert adc["scopes"] == [["https://www.googleapis.com/auth/cloud-platform"]]
    assert creds.refreshes == 0  # credentials found; no token fetched yet
    assert build(codec).headers["Authorization"] == "Bearer ya29.fake-token-1"
    assert creds.refreshes == 1
    from google.auth.transport.requests import Request

    assert isinstance(creds.requests[0], Request)
    adc["clock"].now += 3000  # 10 minutes of validity left: still the same token
    assert build(codec, stream=True).headers["Authorization"] == "Bearer ya29.fake-token-1"
    assert creds.refreshes == 1
    adc["clock"].now += 400  # 200 s left: google-auth calls it expired, so it is refreshed first
    assert creds.expired and not creds.valid
    assert build(codec).headers["Authorization"] == "Bearer ya29.fake-token-2"
    assert creds.refreshes == 2 and creds.requests[1] is creds.requests[0]  # one transport, reused
    assert "ya29" not in repr(codec.config) and "ya29" not in repr(codec.config.api_key)


def test_adc_quota_project_is_sent_unless_the_caller_sends_one(adc):
    creds: FakeCredentials = adc["credentials"]
    assert "x-goog-user-project" not in build(make_codec(GEMINI, key=None)).headers  # none named
    creds.quota_project_id = "billing-project"
    assert build(make_codec(GEMINI, key=None)).headers["x-goog-user-project"] == "billing-project"
    codec = make_codec(CLAUDE, key=None, headers={"X-Goog-User-Project": "mine"})
    req = build(codec)
    assert req.headers["X-Goog-User-Project"] == "mine" and "x-goog-user-project" not in req.headers
    assert "x-goog-user-project" not in build(make_codec(GEMINI, key=TOKEN)).headers  # a key: no ADC at all


def test_adc_token_is_scrubbed_from_errors(adc):
    codec = make_codec(GEMINI, key=None)
    build(codec)
    body = json.dumps({"error": {"code": 403, "message": "bad token ya29.fake-token-1 here",
                                 "status": "PERMISSION_DENIED"}}).encode()
    err = codec.api_error(403, {}, body)
    assert "ya29.fake-token-1" not in str(err) and "***" in err.message


def test_adc_one_refresh_for_many_threads(adc):
    creds: FakeCredentials = adc["credentials"]
    creds.slow = 0.05
    codec = make_codec(GEMINI, key=None)
    barrier = threading.Barrier(16)
    seen: List[str] = []
    errors: List[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            for _ in range(20):
                seen.append(build(codec).headers["Authorization"])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert creds.refreshes == 1 and not creds.overlapped
    assert set(seen) == {"Bearer ya29.fake-token-1"} and len(seen) == 320
    # expiry under load: again exactly one refresh
    adc["clock"].now += 3500
    threads = [threading.Thread(target=worker) for _ in range(16)]
    barrier.reset()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and creds.refreshes == 2 and not creds.overlapped


def test_adc_refresh_failure_is_a_typed_error(adc):
    from google.auth import exceptions

    creds: FakeCredentials = adc["credentials"]
    creds.fail = exceptions.RefreshError("invalid_grant: Token has been expired or revoked.",
                                         {"error": "invalid_grant"})
    codec = make_codec(CLAUDE, key=None)
    with pytest.raises(AuthenticationError) as exc:
        build(codec)
    err = exc.value
    assert err.provider == "vertex" and err.retryable is False
    assert "could not be refreshed: RefreshError: invalid_grant" in err.message
    assert "gcloud auth application-default login" in err.message
    assert err.__cause__ is None and err.__suppress_context__  # not google-auth's exception
    creds.fail = exceptions.TransportError("connection refused")
    with pytest.raises(AuthenticationError) as exc:
        build(codec)
    assert exc.value.retryable is True and "TransportError: connection refused" in exc.value.message
    creds.fail = None
    assert build(codec).headers["Authorization"] == "Bearer ya29.fake-token-1"  # recovers


def test_adc_refresh_failure_never_shows_the_old_token(adc):
    from google.auth import exceptions

    creds: FakeCredentials = adc["credentials"]
    codec = make_codec(GEMINI, key=None)
    build(codec)
    adc["clock"].now += 3600
    creds.fail = exceptions.RefreshError("could not refresh ya29.fake-token-1")
    with pytest.raises(AuthenticationError) as exc:
        build(codec)
    assert "ya29.fake-token-1" not in str(exc.value)


def test_no_adc_credentials_is_a_configuration_error(google_auth, monkeypatch):
    from google.auth import exceptions

    no_network(monkeypatch)

    def default(scopes: Any = None, **kwargs: Any) -> Any:
        raise exceptions.DefaultCredentialsError("Your default credentials were not found.")

    monkeypatch.setattr(google_auth, "default", default)
    with pytest.raises(ConfigurationError) as exc:
        Endpoint(f"vertex/{GEMINI}", defaults={"project": "p"}, environ={})
    text = str(exc.value)
    assert "no Google Application Default Credentials" in text and "default credentials were not found" in text
    assert "gcloud auth application-default login" in text and "api_key=" in text


def test_a_given_key_does_not_look_for_adc(google_auth, monkeypatch):
    def default(*a: Any, **k: Any) -> Any:
        raise AssertionError("ADC looked up although a key was given")
    monkeypatch.setattr(google_auth, "default", default)
    assert build(make_codec(key=TOKEN)).headers["Authorization"] == f"Bearer {TOKEN}"
    assert build(make_codec(key=lambda: "cb-token")).headers["Authorization"] == "Bearer cb-token"


# -- streamed function-call arguments (partialArgs) ------------------------------------------
# Hand-written from docs/wire.md §5 Streaming: no recording of this feature exists.

def fc(**fields: Any) -> Dict[str, Any]:
    return {"functionCall": fields}


def arg(path: str, **value: Any) -> Dict[str, Any]:
    return dict({"jsonPath": path}, **value)


WEATHER_EVENTS = [
    event([{"text": "Let me check."}]),
    event([dict(fc(name="get_weather", willContinue=True), thoughtSignature="c2lnLTE=")]),
    event([fc(partialArgs=[arg("$.location", stringValue="Bos", willContinue=True)], willContinue=True)]),
    event([fc(partialArgs=[arg("$.location", stringValue="ton, MA")], willContinue=True)]),
    event([fc(partialArgs=[arg("$.unit", stringValue="celsius"), arg("$.days", numberValue=3)], willContinue=True)]),
    event([fc()], finish="STOP", usage={"promptTokenCount": 20, "candidatesTokenCount": 9, "totalTokenCount": 29}),
]


@pytest.mark.parametrize("frame", [sse_of, array_of])
def test_partial_args_become_one_tool_call(frame):
    codec = make_codec("gemini-3-pro-preview")
    events, resp = replay_all(codec, frame(*WEATHER_EVENTS))
    assert events == [
        TextDelta("Let me check."),
        ToolCallStart(0, "gemini_call_resp-v_0", "get_weather"),
        ToolCallDelta(0, '{"location":"Bos'),
        ToolCallDelta(0, 'ton, MA"'),
        ToolCallDelta(0, ',"unit":"celsius"'),
        ToolCallDelta(0, ',"days":3'),
        ToolCallDelta(0, "}"),
        ToolCallEnd(0, ToolCall("gemini_call_resp-v_0", "get_weather",
                                {"location": "Boston, MA", "unit": "celsius", "days": 3}, signature="c2lnLTE=")),
        UsageEvent(Usage(20, 9, 29)),
        Finish("tool_calls"),
    ]
    (call,) = resp.tool_calls
    assert call.signature == "c2lnLTE=" and call.raw_arguments == '{"location":"Boston, MA","unit":"celsius","days":3}'
    assert resp.finish_reason == "tool_calls" and resp.text == "Let me check."
    # the arguments text is what a whole call's would be
    assert "".join(e.arguments for e in events if isinstance(e, ToolCallDelta)) == call.raw_arguments


def test_partial_args_in_a_non_streaming_body_give_the_same_response():
    codec = make_codec("gemini-3-pro-preview")
    parts = [p for e in WEATHER_EVENTS for p in e["candidates"][0]["content"]["parts"]]
    body = event(parts, finish="STOP", usage={"promptTokenCount": 20, "candidatesTokenCount": 9,
                                              "totalTokenCount": 29})
    resp = codec.parse_chat(json.dumps(body).encode(), {})
    _, streamed = feed_all(codec.stream_decoder({}), [sse_of(*WEATHER_EVENTS)])
    assert resp.message == streamed.message and resp.tool_calls[0].signature == "c2lnLTE="


def test_partial_args_work_the_same_through_the_gemini_api_codec():
    studio = codec_for(resolve_config(PROVIDERS["gemini"], api_key="AIza-x", environ={}), "gemini-3-pro-preview")
    _, resp = feed_all(studio.stream_decoder({}), [sse_of(*WEATHER_EVENTS)])
    assert resp.tool_calls[0].arguments == {"location": "Boston, MA", "unit": "celsius", "days": 3}


def test_partial_args_nested_paths_arrays_and_every_value_type():
    events = [
        event([fc(name="plan", id="call-9", willContinue=True)]),
        event([fc(partialArgs=[arg("$.trip.from", stringValue="Z\u00fcrich \"HB\"\n"),
                               arg("$.trip.stops[0].city", stringValue="Ba", willContinue=True)], willContinue=True)]),
        event([fc(partialArgs=[arg("$.trip.stops[0].city", stringValue="sel \U0001F600"),
                               arg("$.trip.stops[0].nights", numberValue=2.5),
                               arg("$.trip.stops[1].city", stringValue="Bern"),
                               arg("$.trip.stops[1].nights", nullValue="NULL_VALUE"),
                               arg("$['odd key']", boolValue=True),
                               arg("$.tags[0]", stringValue="a"),
                               arg("$.tags[1]", stringValue="")], willContinue=True)]),
        event([fc()]),
        event([], finish="STOP"),
    ]
    expected = {"trip": {"from": "Z\u00fcrich \"HB\"\n",
                         "stops": [{"city": "Basel \U0001F600", "nights": 2.5}, {"city": "Bern", "nights": None}]},
                "odd key": True, "tags": ["a", ""]}
    out, resp = replay_all(make_codec("gemini-3-pro-preview"), sse_of(*events))
    (call,) = resp.tool_calls
    assert call.id == "call-9" and call.name == "plan" and call.arguments == expected
    text = "".join(e.arguments for e in out if isinstance(e, ToolCallDelta))
    assert json.loads(text) == expected and text == call.raw_arguments
    assert text == json.dumps(expected, ensure_ascii=False, separators=(",", ":"))


def test_two_streamed_calls_and_a_whole_one():
    events = [
        event([fc(name="a", willContinue=True)]),
        event([fc(partialArgs=[arg("$.x", numberValue=1)], willContinue=True)]),
        # a new named call closes the one before (no empty closing call in between)
        event([fc(name="b", willContinue=True, partialArgs=[arg("$.y", stringValue="why")])]),
        event([fc()]),
        event([fc(name="c", args={"z": [1, 2]})]),
        event([fc(name="d")], finish="STOP"),  # a named call without willContinue is whole
    ]
    out, resp = replay_all(make_codec("gemini-3-pro-preview"), sse_of(*events))
    assert [(c.name, c.arguments) for c in resp.tool_calls] == [("a", {"x": 1}), ("b", {"y": "why"}),
                                                                 ("c", {"z": [1, 2]}), ("d", {})]
    assert [c.id for c in resp.tool_calls] == [f"gemini_call_resp-v_{i}" for i in range(4)]
    assert [type(e).__name__ for e in out if not isinstance(e, ToolCallDelta)] == [
        "ToolCallStart", "ToolCallEnd", "ToolCallStart", "ToolCallEnd", "ToolCallStart", "ToolCallEnd",
        "ToolCallStart", "ToolCallEnd", "Finish"]


def test_a_streamed_call_without_arguments_and_one_ended_by_the_finish():
    events = [event([fc(name="now", willContinue=True)]), event([fc()]),
              event([fc(name="later", willContinue=True)]),
              event([fc(partialArgs=[arg("$.q", stringValue="open", willContinue=True)], willContinue=True)],
                    finish="STOP")]
    out, resp = replay_all(make_codec("gemini-3-pro-preview"), sse_of(*events))
    assert [(c.name, c.arguments, c.raw_arguments) for c in resp.tool_calls] == [
        ("now", {}, "{}"), ("later", {"q": "open"}, '{"q":"open"}')]


def test_out_of_order_paths_stop_the_deltas_and_the_end_has_the_assembled_arguments():
    events = [
        event([fc(name="f", willContinue=True)]),
        event([fc(partialArgs=[arg("$.a.x", stringValue="1")], willContinue=True)]),
        event([fc(partialArgs=[arg("$.b", stringValue="2")], willContinue=True)]),
        event([fc(partialArgs=[arg("$.a.y", stringValue="3")], willContinue=True)]),  # back into "a"
        event([fc(partialArgs=[arg("$.c[1]", numberValue=5)], willContinue=True)]),  # an index skipped
        event([fc()], finish="STOP"),
    ]
    out, resp = replay_all(make_codec("gemini-3-pro-preview"), sse_of(*events))
    deltas = [e.arguments for e in out if isinstance(e, ToolCallDelta)]
    assert deltas == ['{"a":{"x":"1"', '},"b":"2"']  # nothing once the order broke
    (call,) = resp.tool_calls
    assert call.arguments == {"a": {"x": "1", "y": "3"}, "b": "2", "c": [None, 5]}
    assert call.raw_arguments == '{"a":{"x":"1","y":"3"},"b":"2","c":[null,5]}'
    end = next(e for e in out if isinstance(e, ToolCallEnd))
    assert end.tool_call.arguments == call.arguments


@pytest.mark.parametrize("bad, match", [
    ([fc()], "functionCall part without a name"),  # a closing call with nothing open
    ([fc(name="f", willContinue=True), fc(partialArgs=[arg("x.y", stringValue="1")])], "jsonPath"),
    ([fc(name="f", willContinue=True), fc(partialArgs=[arg("$[0]", stringValue="1")])], "outside the arguments"),
    ([fc(name="f", willContinue=True), fc(partialArgs=[arg("$.n", numberValue="7")])], "numberValue"),
    ([fc(name="f", willContinue=True), fc(partialArgs="$.n")], "partialArgs is not a list"),
])
def test_malformed_partial_args_break_the_stream_with_a_typed_error(bad, match):
    data = sse_of(*[event([p]) for p in bad], event([], finish="STOP"))
    with pytest.raises(StreamError, match=match):
        feed_all(make_codec("gemini-3-pro-preview").stream_decoder({}), [data])


def test_a_stream_cut_inside_a_streamed_call_keeps_what_came():
    data = sse_of(*WEATHER_EVENTS[:4])
    dec = make_codec("gemini-3-pro-preview").stream_decoder({})
    out = dec.feed(data)
    assert [type(e) for e in out][-3:] == [ToolCallStart, ToolCallDelta, ToolCallDelta]
    with pytest.raises(StreamError) as exc:
        dec.eof()
    partial = exc.value.response
    assert partial.text == "Let me check." and partial.tool_calls[0].name == "get_weather"
    assert partial.tool_calls[0].raw_arguments == '{"location":"Boston, MA"'


@pytest.mark.parametrize("path, steps", [
    ("$.a", ("a",)), ("$.a.b[0].c", ("a", "b", 0, "c")), ("$['a b']", ("a b",)), ('$["q\\"uote"]', ('q"uote',)),
    ("$['it\\'s']", ("it's",)), ("$.\u00e9t\u00e9", ("\u00e9t\u00e9",)), ("$.list[12]", ("list", 12)),
])
def test_json_paths(path, steps):
    assert json_path(path) == steps


def random_value(rnd: random.Random, depth: int = 0) -> Any:
    kind = rnd.choice(["str", "str", "num", "bool", "null"] + (["obj", "arr"] if depth < 3 else []))
    if kind == "str":
        return "".join(rnd.choice('ab \u00e9"\\\n\u4e2d\U0001F600') for _ in range(rnd.randint(0, 12)))
    if kind == "num":
        return rnd.choice([rnd.randint(-5, 10**6), rnd.random() * 100])
    if kind == "bool":
        return rnd.random() < 0.5
    if kind == "null":
        return None
    if kind == "arr":
        return [random_value(rnd, depth + 1) for _ in range(rnd.randint(1, 3))]
    return {f"k{i}{rnd.choice(['', ' x', '.y'])}": random_value(rnd, depth + 1) for i in range(rnd.randint(1, 3))}


def path_text(steps: Tuple[Any, ...]) -> str:
    out = "$"
    for s in steps:
        out += f"[{s}]" if isinstance(s, int) else (f".{s}" if s.isidentifier() else "[" + json.dumps(s) + "]")
    return out


def pieces_of(value: Any, steps: Tuple[Any, ...], rnd: random.Random) -> List[Dict[str, Any]]:
    """The partialArgs entries for ``value`` at ``steps``, in document order, strings split at random."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in pieces_of(v, steps + (k,), rnd)]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in pieces_of(v, steps + (i,), rnd)]
    path = path_text(steps)
    if isinstance(value, str):
        cuts = sorted(set(rnd.randint(0, len(value)) for _ in range(rnd.randint(0, 4))))
        bounds = [0] + cuts + [len(value)]
        chunks = [value[a:b] for a, b in zip(bounds, bounds[1:])]
        return [arg(path, stringValue=c, **({"willContinue": True} if i < len(chunks) - 1 else {}))
                for i, c in enumerate(chunks)]
    if isinstance(value, bool):
        return [arg(path, boolValue=value)]
    if value is None:
        return [arg(path, nullValue="NULL_VALUE")]
    return [arg(path, numberValue=value)]


@pytest.mark.parametrize("seed", range(40))
def test_random_arguments_under_random_pieces_and_chunkings(seed):
    rnd = random.Random(seed)
    args = {f"p{i}": random_value(rnd) for i in range(rnd.randint(1, 4))}
    pieces = pieces_of(args, (), rnd)
    events = [event([{"text": "x"}]), event([fc(name="tool", willContinue=True)])]
    while pieces:
        take = rnd.randint(1, 3)
        group, pieces = pieces[:take], pieces[take:]
        if rnd.random() < 0.3:  # several parts in one event
            events.append(event([fc(partialArgs=[p], willContinue=True) for p in group]))
        else:
            events.append(event([fc(partialArgs=group, willContinue=True)]))
    events.append(event([fc()], finish="STOP"))
    codec = make_codec("gemini-3-pro-preview")
    for frame in (sse_of, array_of):
        out, resp = replay_all(codec, frame(*events), n_random=8)
        (call,) = resp.tool_calls
        assert call.arguments == args
        text = "".join(e.arguments for e in out if isinstance(e, ToolCallDelta))
        assert text == call.raw_arguments == json.dumps(args, ensure_ascii=False, separators=(",", ":"))
        assert [type(e) for e in out][:3] == [TextDelta, ToolCallStart, ToolCallDelta]
        assert [type(e) for e in out][-2:] == [ToolCallEnd, Finish]


# -- express mode ------------------------------------------------------------------------------

def test_express_mode_an_api_key_without_a_project(monkeypatch):
    no_network(monkeypatch)
    for model in (GEMINI, f"google/{GEMINI}"):
        ep = Endpoint(f"vertex/{model}", api_key="AQ.express-key-0123456789", environ={})
        req = ep.chat("Hi", {}, stream=False).request
        assert req.url == f"https://aiplatform.googleapis.com/v1/publishers/google/models/{GEMINI}:generateContent"
        assert req.headers["x-goog-api-key"] == "AQ.express-key-0123456789"
        assert "Authorization" not in req.headers
        streamed = ep.chat("Hi", {}, stream=True).request
        assert streamed.url == (f"https://aiplatform.googleapis.com/v1/publishers/google/models/{GEMINI}"
                                ":streamGenerateContent?alt=sse")
        assert "express-key" not in repr(ep.config)


def test_express_mode_with_an_explicit_host_and_version():
    ep = Endpoint(f"vertex/{GEMINI}", api_key="AQ.key-0123456789", base_url="http://127.0.0.1:9/v1beta1",
                  environ={})
    req = ep.chat("Hi", {}, stream=False).request
    assert req.url == f"http://127.0.0.1:9/v1beta1/publishers/google/models/{GEMINI}:generateContent"


def test_a_project_wins_over_express_mode():
    ep = Endpoint(f"vertex/{GEMINI}", api_key="ya29.token-0123456789", environ={"GOOGLE_CLOUD_PROJECT": "p"})
    req = ep.chat("Hi", {}, stream=False).request
    assert req.url.startswith("https://us-central1-aiplatform.googleapis.com/v1/projects/p/locations/us-central1/")
    assert req.headers["Authorization"] == "Bearer ya29.token-0123456789" and "x-goog-api-key" not in req.headers
