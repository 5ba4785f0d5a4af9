"""Token counting, sans-IO: each codec's counting request (built from its chat request, minus what
the endpoint refuses) and reply, the local count (``llm.count_tokens``), tiktoken's offline
fallback, and the difference method behind ``ChatSession(token_counter="provider")``.

Wire facts: docs/wire.md §3 (Anthropic ``/v1/messages/count_tokens``), §4 (Vertex
``count-tokens:rawPredict``), §5 and §6 (Gemini ``:countTokens``)."""
import json
import logging
import sys
import types
from typing import Any

import pytest

import llmunified as llm
from llmunified import _tokens
from llmunified._endpoint import Call, Endpoint
from llmunified._tokens import CountPlan, EstimateCounter, ProviderCounter, TiktokenCounter, _shares
from llmunified.errors import MalformedResponseError, ValidationError
from llmunified.testing import _counting

WEATHER = llm.Tool("get_weather", "Current weather for a city.",
                   {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})
IMAGE = llm.ImagePart(data="aGVsbG8=", media_type="image/png")
CONVERSATION = [llm.system("Be terse."), llm.user([llm.TextPart("What is this?"), IMAGE])]


def endpoint(model: str, **kw: Any) -> Endpoint:
    kw.setdefault("api_key", "sk-test")
    defaults = kw.pop("defaults", {})
    if model.startswith("vertex/"):
        defaults = dict(defaults, project="proj", location="us-central1")
    return Endpoint(model, defaults=defaults, environ={}, **kw)


def sent(call: Any) -> Any:
    assert isinstance(call, Call)
    return json.loads(call.request.body)


# -- Anthropic -----------------------------------------------------------------------------------

def test_anthropic_counts_the_messages_body_minus_what_the_endpoint_refuses():
    ep = endpoint("anthropic/claude-sonnet-4-5", defaults={"temperature": 0.3, "max_tokens": 99})
    call = ep.token_count(CONVERSATION, [WEATHER], {"stop": ["x"], "tool_choice": "required", "cache": True})
    request = call.request
    assert (request.method, request.url) == ("POST", "https://api.anthropic.com/v1/messages/count_tokens")
    assert request.headers["anthropic-version"] == "2023-06-01" and request.headers["x-api-key"] == "sk-test"
    body = sent(call)
    assert set(body) == {"model", "messages", "system", "tools", "tool_choice"}  # no max_tokens, stream, sampling
    assert body["model"] == "claude-sonnet-4-5" and body["system"] == "Be terse."
    assert body["tools"] == [{"name": "get_weather", "description": "Current weather for a city.",
                              "input_schema": WEATHER.parameters}]
    assert body["tool_choice"] == {"type": "any"}
    # the image goes as the chat request sends it; cache= adds no cache_control to a count
    assert body["messages"][0]["content"][1]["type"] == "image"
    assert "cache_control" not in json.dumps(body)
    # the chat request for the same call is what the body came from
    chat = json.loads(ep.chat(CONVERSATION, {"tools": [WEATHER], "tool_choice": "required"}, False).request.body)
    assert chat["messages"] == body["messages"] and chat["tools"] == body["tools"]


def test_anthropic_keeps_thinking_and_drops_extra_fields():
    ep = endpoint("anthropic/claude-sonnet-4-5")
    body = sent(ep.token_count("Hi", None, {"reasoning": 2048, "extra": {"metadata": {"user_id": "u"}}}))
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert "metadata" not in body and "max_tokens" not in body


def test_anthropic_base_url_with_v1():
    ep = endpoint("anthropic/claude-sonnet-4-5", base_url="http://127.0.0.1:9/v1")
    assert ep.token_count("Hi", None, {}).request.url == "http://127.0.0.1:9/v1/messages/count_tokens"


def test_anthropic_reply():
    ep = endpoint("anthropic/claude-sonnet-4-5")
    count = ep.parse_token_count(b'{"input_tokens": 42}', {})
    assert count == llm.TokenCount(42, True, "provider", "anthropic/claude-sonnet-4-5")
    assert count.raw == {"input_tokens": 42} and int(count) == 42


@pytest.mark.parametrize("bad", [b"<html>", b"{}", b'{"input_tokens": -1}', b'{"input_tokens": "x"}',
                                 b'{"input_tokens": true}', b"[]", b'{"input_tokens": 1.5}'])
def test_anthropic_malformed_reply(bad):
    with pytest.raises(MalformedResponseError) as info:
        endpoint("anthropic/claude-sonnet-4-5").parse_token_count(bad, {})
    assert info.value.body == bad.decode()


# -- Gemini --------------------------------------------------------------------------------------

def test_gemini_counts_a_whole_generate_content_request():
    ep = endpoint("gemini/gemini-2.5-flash", defaults={"temperature": 0.1})
    call = ep.token_count(CONVERSATION, [WEATHER], {"reasoning": "low", "extra": {"safetySettings": []}})
    assert call.request.url == ("https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash"
                                ":countTokens")
    assert call.request.headers["x-goog-api-key"] == "sk-test"
    body = sent(call)
    assert list(body) == ["generateContentRequest"]
    inner = body["generateContentRequest"]
    assert inner["model"] == "models/gemini-2.5-flash"
    assert set(inner) == {"model", "contents", "systemInstruction", "tools"}  # no generationConfig
    assert inner["systemInstruction"] == {"parts": [{"text": "Be terse."}]}
    assert inner["contents"][0]["parts"][1] == {"inlineData": {"mimeType": "image/png", "data": "aGVsbG8="}}
    assert inner["tools"][0]["functionDeclarations"][0]["name"] == "get_weather"


def test_gemini_tuned_model_and_versioned_base_url():
    ep = endpoint("gemini/tunedModels/my-tune", base_url="http://127.0.0.1:9/v1")
    call = ep.token_count("Hi", None, {})
    assert call.request.url == "http://127.0.0.1:9/v1/tunedModels/my-tune:countTokens"
    assert sent(call)["generateContentRequest"]["model"] == "tunedModels/my-tune"


@pytest.mark.parametrize("reply, tokens", [
    (b'{"totalTokens": 7, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 7}]}', 7),
    (b'{"totalTokens": "12"}', 12),   # proto3 JSON may write an int64 as a string
    (b"{}", 0),                        # ... and leaves a zero out
])
def test_gemini_reply(reply, tokens):
    count = endpoint("gemini/gemini-2.5-flash").parse_token_count(reply, {})
    assert (count.tokens, count.exact, count.source) == (tokens, True, "provider")


@pytest.mark.parametrize("bad", [b'{"totalTokens": -3}', b'{"totalTokens": [1]}', b"nope"])
def test_gemini_malformed_reply(bad):
    with pytest.raises(MalformedResponseError):
        endpoint("gemini/gemini-2.5-flash").parse_token_count(bad, {})


# -- Vertex AI -----------------------------------------------------------------------------------

def test_vertex_gemini_counts_at_the_top_level():
    ep = endpoint("vertex/gemini-2.5-flash")
    call = ep.token_count(CONVERSATION, [WEATHER], {"tool_choice": "required"})
    assert call.request.url == ("https://us-central1-aiplatform.googleapis.com/v1/projects/proj/locations/"
                                "us-central1/publishers/google/models/gemini-2.5-flash:countTokens")
    assert call.request.headers["Authorization"] == "Bearer sk-test"
    body = sent(call)
    assert set(body) == {"contents", "systemInstruction", "tools"}  # no generateContentRequest, no toolConfig
    assert ep.parse_token_count(b'{"totalTokens": 9, "totalBillableCharacters": 30}', {}).tokens == 9


def test_vertex_claude_counts_with_the_count_tokens_publisher_model():
    ep = endpoint("vertex/claude-sonnet-4-5@20250929")
    call = ep.token_count(CONVERSATION, [WEATHER], {"max_tokens": 100})
    assert call.request.url == ("https://us-central1-aiplatform.googleapis.com/v1/projects/proj/locations/"
                                "us-central1/publishers/anthropic/models/count-tokens:rawPredict")
    assert "anthropic-version" not in call.request.headers
    body = sent(call)
    assert body["anthropic_version"] == "vertex-2023-10-16" and body["model"] == "claude-sonnet-4-5@20250929"
    assert "max_tokens" not in body and body["system"] == "Be terse." and body["tools"][0]["name"] == "get_weather"
    assert ep.parse_token_count(b'{"input_tokens": 5}', {}).tokens == 5


# -- providers without an endpoint: the local count ----------------------------------------------

@pytest.mark.parametrize("model", ["openai/gpt-4o-mini", "ollama/llama3.2", "cohere/command-a-03-2025",
                                   "groq/llama-3.3-70b-versatile", "azure/my-deployment"])
def test_no_endpoint_counts_locally(model, monkeypatch):
    monkeypatch.setitem(sys.modules, "tiktoken", None)  # whatever is installed: the estimate
    kw = {"base_url": "https://res.openai.azure.com"} if model.startswith("azure/") else {}
    ep = endpoint(model, **kw)
    assert ep.codec.count_tokens_request([llm.user("Hi")], ep.plan({}).options) is None
    conversation = [llm.system("Be terse."), llm.user("What is this?")]
    count = ep.token_count(conversation, None, {})
    assert isinstance(count, llm.TokenCount)
    assert (count.exact, count.source, count.model) == (False, "estimate", model)
    with_tools = ep.token_count(conversation, [WEATHER], {})
    assert with_tools.tokens > count.tokens
    assert count.tokens == llm.count_tokens(model, conversation).tokens


def test_local_count_checks_capabilities_like_a_chat_call():
    with pytest.raises(llm.errors.UnsupportedParameterError, match="images"):
        endpoint("groq/llama-3.3-70b-versatile").token_count(CONVERSATION, None, {})


def test_client_default_tools_are_counted():
    plain = endpoint("anthropic/claude-sonnet-4-5")
    with_defaults = endpoint("anthropic/claude-sonnet-4-5", defaults={"tools": [WEATHER]})
    assert "tools" not in sent(plain.token_count("Hi", None, {}))
    assert sent(with_defaults.token_count("Hi", None, {}))["tools"][0]["name"] == "get_weather"
    assert "tools" not in sent(with_defaults.token_count("Hi", [], {}))  # tools=[]: none


def test_count_checks_options_like_a_chat_call():
    with pytest.raises(ValidationError, match="unknown option|bogus"):
        endpoint("anthropic/claude-sonnet-4-5").token_count("Hi", None, {"bogus": 1})
    with pytest.raises(ValidationError):
        endpoint("anthropic/claude-sonnet-4-5").token_count([], None, {})


# -- llm.count_tokens -----------------------------------------------------------------------------

def test_public_count_tokens_is_local_and_never_exact(monkeypatch):
    monkeypatch.setitem(sys.modules, "tiktoken", None)
    count = llm.count_tokens("anthropic/claude-sonnet-4-5", "Hello there")
    assert (count.exact, count.source, count.model, count.raw) == (False, "estimate", "anthropic/claude-sonnet-4-5",
                                                                   None)
    assert count.tokens == EstimateCounter("anthropic").count(llm.user("Hello there"))
    tools = llm.count_tokens("anthropic/claude-sonnet-4-5", "Hello there", tools=[WEATHER])
    assert tools.tokens > count.tokens + 300  # Anthropic's hidden tool-use prompt, and the schema
    assert llm.count_tokens("gpt-4o", "Hi").source == "estimate"       # a bare name: family from the name
    assert llm.count_tokens("openrouter/openai/gpt-4o", "Hi").model == "openrouter/openai/gpt-4o"
    # dict messages and tool dicts, as complete() takes them
    assert llm.count_tokens("openai/gpt-4o", [{"role": "user", "content": "Hi"}],
                            tools=[{"name": "f", "parameters": {"type": "object"}}]).tokens > 0


@pytest.mark.parametrize("bad", [None, "", "  ", 42])
def test_public_count_tokens_bad_model(bad):
    with pytest.raises(ValidationError, match="model"):
        llm.count_tokens(bad, "Hi")


def test_public_count_tokens_bad_messages():
    with pytest.raises(ValidationError):
        llm.count_tokens("openai/gpt-4o", 42)
    with pytest.raises(ValidationError):
        llm.count_tokens("openai/gpt-4o", "Hi", tools=[42])


def test_token_count_type():
    count = llm.TokenCount(5, False, "estimate", "openai/gpt-4o")
    assert count == llm.TokenCount(5, False, "estimate", "openai/gpt-4o", raw={"x": 1})  # raw not compared
    assert [10, 20, 30, 40, 50, 60][count] == 60  # usable as an index, int() too
    with pytest.raises(Exception):
        count.tokens = 6  # type: ignore[misc]  # frozen


# -- tiktoken: the local count for OpenAI models, and its offline fallback -------------------------

class _Encoding:
    name = "o200k_base"

    def encode_ordinary(self, text):
        return text.split()


def _fake_tiktoken(fail=None):
    mod = types.ModuleType("tiktoken")
    calls = []

    def get_encoding(name):
        calls.append(name)
        if fail is not None:
            raise fail
        return _Encoding()

    def encoding_for_model(model):
        return get_encoding("o200k_base")

    mod.get_encoding = get_encoding
    mod.encoding_for_model = encoding_for_model
    mod.calls = calls
    return mod


@pytest.fixture
def fresh_warning(monkeypatch):
    """tiktoken's offline warning and failure memory as in a fresh process."""
    monkeypatch.setattr(_tokens, "_warned_offline", False)
    monkeypatch.setattr(_tokens, "_ENCODING_FAILURES", {})


def test_tiktoken_count_is_labelled_tiktoken_not_exact(monkeypatch, fresh_warning):
    monkeypatch.setitem(sys.modules, "tiktoken", _fake_tiktoken())
    count = llm.count_tokens("openai/gpt-4o-mini", "one two three")
    # 3 words + OpenAI's framing: 3 per message + 3 priming the reply
    assert (count.tokens, count.exact, count.source) == (9, False, "tiktoken")


def _offline_fallback(caplog, tiktoken_module):
    with caplog.at_level(logging.WARNING, logger="llmunified"):
        first = llm.count_tokens("openai/gpt-4o-mini", "Hello there")
        second = llm.count_tokens("openai/gpt-4o", "Hello again")
        counter = TiktokenCounter("gpt-4o-mini")
        assert counter.estimated and "tiktoken unavailable" in counter.name and "offline" in counter.error
    assert (first.exact, first.source) == (False, "estimate")
    assert first.tokens == EstimateCounter("openai").count(llm.user("Hello there")) + 3
    assert second.source == "estimate"
    warnings = [r for r in caplog.records if r.name == "llmunified" and r.levelno == logging.WARNING]
    assert len(warnings) == 1, "said once per process"
    text = warnings[0].getMessage()
    assert "TIKTOKEN_CACHE_DIR" in text and "o200k_base" in text and "offline" in text


def test_tiktoken_offline_falls_back_to_the_estimate_once(monkeypatch, caplog, fresh_warning):
    fake = _fake_tiktoken(fail=ConnectionError("offline: cannot reach openaipublic.blob.core.windows.net"))
    monkeypatch.setitem(sys.modules, "tiktoken", fake)
    _offline_fallback(caplog, fake)
    assert fake.calls == ["o200k_base"], "a failed encoding is not fetched again in the same process"


def test_real_tiktoken_offline(monkeypatch, caplog, fresh_warning):
    tiktoken = pytest.importorskip("tiktoken")

    def offline(*args, **kwargs):  # what loading the encoding files does without network
        raise ConnectionError("offline: cannot download the encoding file")

    monkeypatch.setattr(tiktoken, "get_encoding", offline)
    monkeypatch.setattr(tiktoken, "encoding_for_model", offline)
    _offline_fallback(caplog, tiktoken)


def test_missing_tiktoken_is_not_a_warning(monkeypatch, caplog, fresh_warning):
    monkeypatch.setitem(sys.modules, "tiktoken", None)
    with caplog.at_level(logging.WARNING, logger="llmunified"):
        assert TiktokenCounter("gpt-4o").estimated
    assert not caplog.records


# -- the difference method (ChatSession(token_counter="provider")) --------------------------------

def exact(n):
    return llm.TokenCount(n, True, "provider", "anthropic/x")


def test_shares_add_up():
    assert _shares(10, [1, 1, 1]) == [4, 3, 3] or sum(_shares(10, [1, 1, 1])) == 10
    assert sum(_shares(101, [7, 3, 13, 1])) == 101
    assert _shares(-5, [1, 2]) == [0, 0] and _shares(5, []) == []
    assert _shares(9, [2, 1]) == [6, 3]


def test_provider_counter_counts_each_message_once():
    counter = ProviderCounter(EstimateCounter("anthropic"))
    system, u1 = llm.system("Be terse."), llm.user("Hello there")
    plan = counter.plan([system, u1])
    assert isinstance(plan, CountPlan) and plan.requests == [([system, u1], None)]
    assert counter.record(plan, [exact(20)]) == []
    assert counter.count(system) + counter.count(u1) == 20 and not counter.estimated
    assert counter.plan([system, u1]) is None  # unchanged: nothing to ask
    a1, u2 = llm.assistant("Hi! How can I help?"), llm.user("Weather?")
    stand_in = counter.count(a1)  # the reply, before the provider saw it: a local stand-in
    assert counter.estimated and stand_in == EstimateCounter("anthropic").count(a1)
    plan = counter.plan([system, u1, a1, u2])
    assert plan.requests == [([system, u1, a1, u2], None)]
    assert counter.record(plan, [exact(35)]) == [a1]  # a1's stand-in must be recounted
    assert counter.count(a1) + counter.count(u2) == 15 and not counter.estimated
    assert counter.calls == 2 and counter.name == "provider"
    # truncation dropped the first exchange: the rest keeps its figures, only u3 is new
    u3 = llm.user("And tomorrow?")
    plan = counter.plan([system, u2, u3])
    counter.record(plan, [exact(counter.count(system) + counter.count(u2) + 6)])
    assert counter.count(u3) == 6


def test_provider_counter_measures_tools_once():
    counter = ProviderCounter(EstimateCounter("anthropic"))
    u1 = llm.user("Hi")
    plan = counter.plan([u1], [WEATHER])
    assert len(plan.requests) == 3 and plan.requests[1][1] == [WEATHER] and plan.requests[2][1] is None
    counter.record(plan, [exact(400 + 4), exact(400 + 3), exact(3)])
    assert counter.overhead([WEATHER]) == 400 and counter.count(u1) == 4
    assert _tokens.prompt_overhead(counter, [WEATHER]) == 400
    assert counter.plan([u1], [WEATHER]) is None
    assert len(counter.plan([u1, llm.user("x")], [WEATHER]).requests) == 1


def test_provider_counter_without_an_endpoint_turns_local(caplog):
    local = EstimateCounter("openai")
    counter = ProviderCounter(local)
    u1 = llm.user("Hi")
    plan = counter.plan([u1])
    with caplog.at_level(logging.INFO, logger="llmunified"):
        assert counter.record(plan, [llm.TokenCount(7, False, "estimate", "openai/gpt-4o")]) == []
    assert counter.available is False and counter.plan([u1]) is None and counter.calls == 0
    assert counter.count(u1) == local.count(u1) and counter.estimated
    assert "no token-counting endpoint" in counter.name
    assert any("openai/gpt-4o" in r.getMessage() for r in caplog.records)


def test_provider_counter_rejects_a_short_answer():
    counter = ProviderCounter(EstimateCounter("anthropic"))
    plan = counter.plan([llm.user("Hi")], [WEATHER])
    with pytest.raises(ValidationError):
        counter.record(plan, [exact(3)])


@pytest.mark.parametrize("value", ["exact", "Provider", "", "tiktoken"])
def test_unknown_token_counter_names(value):
    with pytest.raises(ValidationError, match="token_counter"):
        _tokens.as_counter(value, "anthropic", "claude-x")


def test_token_counter_names():
    assert isinstance(_tokens.as_counter("provider", "anthropic", "claude-x"), ProviderCounter)
    assert isinstance(_tokens.as_counter("local", "anthropic", "claude-x"), EstimateCounter)


# -- the emulator's count ---------------------------------------------------------------------------

def test_emulator_count_rule():
    assert _counting.count_text("Hello, world!") == 4
    body = {"model": "m", "system": "Be terse.", "messages": [
        {"role": "user", "content": [{"type": "text", "text": "What is this?"},
                                     {"type": "image", "source": {"type": "base64", "data": "xx"}}]}]}
    assert _counting.count_request(body) == 3 + 4 + _counting.PER_MESSAGE + _counting.PER_IMAGE
    gemini = {"generateContentRequest": {"model": "models/m", "contents": [
        {"role": "user", "parts": [{"text": "Hi there"}, {"inlineData": {"mimeType": "image/png", "data": "x"}}]}]}}
    assert _counting.count_request(gemini) == 2 + _counting.PER_MESSAGE + _counting.PER_IMAGE


# -- the emulator's counting routes refuse what the real endpoints refuse --------------------------

def _post(url, body, headers):
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, json.dumps(body).encode(), dict(headers, **{"content-type": "application/json"}))
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


ANTHROPIC_HEADERS = {"x-api-key": "k", "anthropic-version": "2023-06-01"}
VERTEX = "/v1/projects/p/locations/us-central1/publishers/"


@pytest.mark.parametrize("path, headers, body, words", [
    ("/v1/messages/count_tokens", ANTHROPIC_HEADERS,
     {"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "Hi"}]}, "max_tokens: Extra inputs"),
    ("/v1/messages/count_tokens", ANTHROPIC_HEADERS, {"model": "m", "messages": []}, "at least one message"),
    ("/v1/messages/count_tokens", ANTHROPIC_HEADERS, {"messages": [{"role": "user", "content": "Hi"}]},
     "model: Field required"),
    ("/v1beta/models/gemini-2.5-flash:countTokens", {"x-goog-api-key": "k"},
     {"contents": [{"parts": [{"text": "Hi"}]}], "generateContentRequest": {"model": "models/gemini-2.5-flash"}},
     "mutually exclusive"),
    ("/v1beta/models/gemini-2.5-flash:countTokens", {"x-goog-api-key": "k"},
     {"generateContentRequest": {"model": "models/other", "contents": [{"parts": [{"text": "Hi"}]}]}},
     "as in the URL"),
    (VERTEX + "anthropic/models/count-tokens:rawPredict", {"authorization": "Bearer t"},
     {"model": "claude-x", "messages": [{"role": "user", "content": "Hi"}]}, "anthropic_version"),
    (VERTEX + "google/models/gemini-2.5-flash:countTokens", {"authorization": "Bearer t"},
     {"contents": [{"parts": [{"text": "Hi"}]}], "toolConfig": {}}, "toolConfig"),
])
def test_emulator_refuses_what_the_endpoints_refuse(path, headers, body, words):
    from llmunified.testing import Emulator

    with Emulator() as emu:
        status, reply = _post(emu.base_url + path, body, headers)
        assert status == 400 and words in json.dumps(reply)
        [request] = emu.requests
        assert request.endpoint == "count_tokens" and words in request.violations[0]
