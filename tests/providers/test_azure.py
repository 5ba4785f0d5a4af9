"""The Azure OpenAI codec (llmunified/providers/azure.py): settings, both URL styles, the two
auth schemes, the content filter's refusal as a typed error, and Azure's recorded reply.

The reply body and stream are OpenAI's (tests/providers/test_openai.py decodes them under every
chunking); what is checked here is what Azure adds.
"""
import json
from typing import Any, Dict, List

import pytest

from llmunified._events import Finish, TextDelta
from llmunified._options import make_options
from llmunified._registry import PROVIDERS, CredentialToken, resolve_config
from llmunified._types import user
from llmunified.errors import (AuthenticationError, BadRequestError, ConfigurationError, ContentFilterError,
                               RateLimitError)
from llmunified.providers import codec_for
from llmunified.providers.azure import DEFAULT_API_VERSION, TOKEN_SCOPE, AzureCodec
from tests.providers.recordings import chunkings, feed_all, sse, vcr, vcr_body

ENDPOINT = "https://res.openai.azure.com"


def codec(deployment: str = "gpt4o-prod", environ: Any = None, **kw: Any) -> AzureCodec:
    kw.setdefault("api_key", "azure-key-123456")
    kw.setdefault("base_url", ENDPOINT)
    settings = {k: kw.pop(k) for k in ("api_version",) if k in kw}
    c = codec_for(resolve_config(PROVIDERS["azure"], environ=environ or {}, settings=settings, **kw), deployment)
    assert isinstance(c, AzureCodec)
    return c


def request(c: AzureCodec, stream: bool = False, **options: Any):
    return c.chat_request([user("hi")], make_options({}, options), stream)


# -- URLs --------------------------------------------------------------------------------------

def test_deployments_url_with_the_ga_default_version():
    req = request(codec())
    assert req.url == f"{ENDPOINT}/openai/deployments/gpt4o-prod/chat/completions?api-version={DEFAULT_API_VERSION}"
    assert DEFAULT_API_VERSION == "2024-10-21"
    body = json.loads(req.body)
    assert body["model"] == "gpt4o-prod"
    assert body["messages"] == [{"role": "user", "content": "hi"}]


def test_api_version_from_argument_and_environment():
    assert request(codec(api_version="2025-04-01-preview")).url.endswith("?api-version=2025-04-01-preview")
    env = {"OPENAI_API_VERSION": "2024-12-01-preview"}
    assert request(codec(environ=env)).url.endswith("?api-version=2024-12-01-preview")
    # the argument wins over the environment
    assert request(codec(environ=env, api_version="2024-06-01")).url.endswith("?api-version=2024-06-01")


def test_v1_api_by_version_or_by_url():
    for c in (codec(api_version="v1"), codec(base_url=ENDPOINT + "/openai/v1"),
              codec(base_url=ENDPOINT + "/openai/v1/")):
        req = request(c)
        assert req.url == f"{ENDPOINT}/openai/v1/chat/completions", req.url
        assert "api-version" not in req.url
        assert json.loads(req.body)["model"] == "gpt4o-prod"
        assert c.v1


def test_endpoint_given_with_openai_suffix():
    assert request(codec(base_url=ENDPOINT + "/openai")).url.startswith(
        f"{ENDPOINT}/openai/deployments/gpt4o-prod/chat/completions?")
    assert request(codec(base_url=ENDPOINT + "/openai", api_version="v1")).url == f"{ENDPOINT}/openai/v1/chat/completions"


def test_endpoint_from_environment():
    c = codec(base_url=None, environ={"AZURE_OPENAI_ENDPOINT": "https://other.openai.azure.com/"})
    assert request(c).url.startswith("https://other.openai.azure.com/openai/deployments/gpt4o-prod/")


def test_streaming_asks_for_usage():
    body = json.loads(request(codec(), stream=True).body)
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}


def test_max_tokens_uses_the_new_field():
    body = json.loads(request(codec(), max_tokens=50).body)
    assert body["max_completion_tokens"] == 50 and "max_tokens" not in body


# -- configuration errors, before any request ---------------------------------------------------

def test_missing_endpoint_says_what_to_set():
    with pytest.raises(ConfigurationError, match="AZURE_OPENAI_ENDPOINT"):
        codec(base_url=None)


def test_endpoint_without_scheme():
    with pytest.raises(ConfigurationError, match="not an http"):
        codec(base_url="res.openai.azure.com")


def test_missing_key_names_both_auth_forms():
    with pytest.raises(ConfigurationError) as info:
        codec(api_key=None)
    assert "AZURE_OPENAI_API_KEY" in str(info.value) and "token credential" in str(info.value)


@pytest.mark.parametrize("deployment", ["my deployment", "a/b", "x?y", "-lead", "d" * 65, ""])
def test_bad_deployment_names(deployment):
    with pytest.raises(ConfigurationError, match="deployment"):
        codec(deployment)


@pytest.mark.parametrize("version", ["2024", "latest-ish", "v2", "2024-10-21&x=1"])
def test_bad_api_versions(version):
    with pytest.raises(ConfigurationError, match="api_version"):
        codec(api_version=version)


def test_unknown_setting():
    with pytest.raises(ConfigurationError, match="api_version"):
        resolve_config(PROVIDERS["azure"], environ={}, api_key="k", base_url=ENDPOINT, settings={"apiversion": "x"})


# -- auth ----------------------------------------------------------------------------------------

def test_key_goes_in_the_api_key_header_only():
    headers = request(codec()).headers
    assert headers["api-key"] == "azure-key-123456"
    assert "Authorization" not in headers


def test_key_from_environment():
    headers = request(codec(api_key=None, environ={"AZURE_OPENAI_API_KEY": "env-key-000"})).headers
    assert headers["api-key"] == "env-key-000"


def test_token_callable_is_a_bearer_and_never_the_api_key_header():
    tokens = iter(["tok-1", "tok-2"])
    c = codec(api_key=lambda: next(tokens))
    first, second = request(c).headers, request(c).headers
    assert first["Authorization"] == "Bearer tok-1" and second["Authorization"] == "Bearer tok-2"
    assert "api-key" not in first and "api-key" not in second


class FakeAccessToken:
    def __init__(self, token: str, expires_on: int) -> None:
        self.token = token
        self.expires_on = expires_on


class FakeCredential:
    """Stands for azure-identity's credentials: ``get_token(*scopes)`` -> AccessToken."""

    def __init__(self, lifetime: int = 3600) -> None:
        self.scopes: List[Any] = []
        self.lifetime = lifetime

    def get_token(self, *scopes: str) -> FakeAccessToken:
        import time

        self.scopes.append(scopes)
        return FakeAccessToken(f"entra-{len(self.scopes)}", int(time.time()) + self.lifetime)


def test_credential_object_asked_for_the_cognitive_services_scope_and_cached():
    cred = FakeCredential()
    c = codec(api_key=cred)
    for _ in range(3):
        headers = request(c).headers
        assert headers["Authorization"] == "Bearer entra-1"
        assert "api-key" not in headers
    assert cred.scopes == [(TOKEN_SCOPE,)]
    assert TOKEN_SCOPE == "https://cognitiveservices.azure.com/.default"


def test_credential_token_refreshed_near_expiry():
    cred = FakeCredential(lifetime=60)  # inside the refresh margin: asked again every time
    c = codec(api_key=cred)
    assert request(c).headers["Authorization"] == "Bearer entra-1"
    assert request(c).headers["Authorization"] == "Bearer entra-2"


def test_credential_repr_never_shows_the_token():
    token = CredentialToken(FakeCredential(), TOKEN_SCOPE)
    assert token() == "entra-1"
    assert "entra-1" not in repr(token)
    c = codec(api_key=FakeCredential())
    request(c)
    assert "entra" not in repr(c.config)


def test_async_credential_is_refused_with_advice():
    class AioCredential:
        async def get_token(self, *scopes: str) -> FakeAccessToken:  # pragma: no cover - never awaited
            return FakeAccessToken("x", 0)

    c = codec(api_key=AioCredential())
    with pytest.raises(ConfigurationError, match="azure.identity"):
        request(c)


def test_other_objects_are_still_refused():
    with pytest.raises(ConfigurationError, match="api_key must be a string"):
        codec(api_key=12345)


# -- replies ---------------------------------------------------------------------------------------

def test_recorded_reply_keeps_the_filter_results():
    inter = vcr("azure/chat_completion_content_filter_results.vcr.yaml")[0]
    headers = {k.lower(): v[0] for k, v in inter["response"]["headers"].items()}
    resp = codec().parse_chat(vcr_body(inter), headers)
    assert resp.text == "The capital of France is **Paris**."
    assert resp.finish_reason == "stop"
    assert resp.model == "gpt-4o-2024-11-20"
    assert resp.request_id == "1d93fae1-cb8e-4789-8fb6-d26577a3cb77"
    assert resp.raw["prompt_filter_results"][0]["content_filter_results"]["jailbreak"] == {
        "detected": False, "filtered": False}
    assert resp.raw["choices"][0]["content_filter_results"]["violence"] == {"filtered": False, "severity": "safe"}


STREAM = [
    {"choices": [], "created": 0, "id": "", "model": "", "object": "",
     "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {
         "hate": {"filtered": False, "severity": "safe"}}}]},
    {"choices": [{"delta": {"content": "", "role": "assistant"}, "finish_reason": None, "index": 0,
                  "content_filter_results": {}}], "id": "chatcmpl-9", "model": "gpt-4o-2024-11-20",
     "object": "chat.completion.chunk", "created": 1},
    {"choices": [{"delta": {"content": "Par"}, "finish_reason": None, "index": 0,
                  "content_filter_results": {"hate": {"filtered": False, "severity": "safe"}}}],
     "id": "chatcmpl-9", "model": "gpt-4o-2024-11-20", "object": "chat.completion.chunk", "created": 1},
    {"choices": [{"delta": {"content": "is"}, "finish_reason": None, "index": 0,
                  "content_filter_results": {"hate": {"filtered": False, "severity": "safe"}}}],
     "id": "chatcmpl-9", "model": "gpt-4o-2024-11-20", "object": "chat.completion.chunk", "created": 1},
    {"choices": [{"delta": {}, "finish_reason": "content_filter", "index": 0,
                  "content_filter_results": {"violence": {"filtered": True, "severity": "medium"}}}],
     "id": "chatcmpl-9", "model": "gpt-4o-2024-11-20", "object": "chat.completion.chunk", "created": 1},
    {"choices": [], "id": "chatcmpl-9", "model": "gpt-4o-2024-11-20", "object": "chat.completion.chunk",
     "created": 1, "usage": {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11}},
]


def test_stream_with_a_filter_only_first_chunk_under_every_chunking():
    data = sse(*[json.dumps(e) for e in STREAM], "[DONE]")
    seen = None
    for chunks in chunkings(data, 3):
        events, resp = feed_all(codec().stream_decoder({"apim-request-id": "r-1"}), chunks)
        texts = [e.text for e in events if isinstance(e, TextDelta)]
        assert "".join(texts) == "Paris"
        assert isinstance(events[-1], Finish)
        assert resp.finish_reason == "content_filter"
        assert resp.id == "chatcmpl-9" and resp.model == "gpt-4o-2024-11-20"
        assert (resp.usage.input_tokens, resp.usage.output_tokens) == (9, 2)
        assert resp.raw[0]["prompt_filter_results"][0]["prompt_index"] == 0
        assert resp.raw[4]["choices"][0]["content_filter_results"]["violence"]["filtered"] is True
        assert resp.request_id == "r-1"
        seen = (texts, resp) if seen is None else seen
        assert resp == seen[1]


# -- errors ------------------------------------------------------------------------------------------

BLOCKED = {"error": {
    "message": "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.",
    "type": None, "param": "prompt", "code": "content_filter", "status": 400,
    "innererror": {"code": "ResponsibleAIPolicyViolation", "content_filter_result": {
        "hate": {"filtered": False, "severity": "safe"},
        "jailbreak": {"filtered": True, "detected": True},
        "self_harm": {"filtered": False, "severity": "safe"},
        "sexual": {"filtered": False, "severity": "safe"},
        "violence": {"filtered": True, "severity": "high"}}}}}


def test_blocked_prompt_is_a_content_filter_error_with_categories():
    err = codec().api_error(400, {"apim-request-id": "blk-1"}, json.dumps(BLOCKED).encode())
    assert isinstance(err, ContentFilterError) and isinstance(err, BadRequestError)
    assert err.filtered == ["jailbreak", "violence"]
    assert err.categories["violence"] == {"filtered": True, "severity": "high"}
    assert err.code == "content_filter"
    assert err.request_id == "blk-1"
    assert err.retryable is False
    assert "content management policy" in str(err)


def test_inner_code_alone_is_enough():
    body = {"error": {"message": "blocked", "code": "something_else", "innererror": {
        "code": "ResponsibleAIPolicyViolation", "content_filter_result": {"sexual": {"filtered": True}}}}}
    err = codec().api_error(400, {}, json.dumps(body).encode())
    assert isinstance(err, ContentFilterError) and err.filtered == ["sexual"]


def test_other_400s_stay_bad_requests():
    body = {"error": {"message": "Unsupported parameter", "type": "invalid_request_error", "code": None}}
    err = codec().api_error(400, {}, json.dumps(body).encode())
    assert type(err) is BadRequestError
    # not JSON at all: still a plain BadRequestError
    assert type(codec().api_error(400, {}, b"<html>bad</html>")) is BadRequestError


def test_auth_and_rate_limit_errors_keep_azure_request_ids():
    body = {"error": {"code": "401", "message": "Access denied due to invalid subscription key or wrong API "
                                                "endpoint."}}
    err = codec().api_error(401, {"apim-request-id": "a-1"}, json.dumps(body).encode())
    assert isinstance(err, AuthenticationError) and err.request_id == "a-1"
    body = {"error": {"code": "429", "message": "Requests to the ChatCompletions_Create Operation have exceeded "
                                                "call rate limit."}}
    err = codec().api_error(429, {"retry-after": "7"}, json.dumps(body).encode())
    assert isinstance(err, RateLimitError) and err.retry_after == 7.0


def test_key_echoed_in_an_error_is_scrubbed():
    c = codec(api_key="azure-key-123456")
    request(c)
    body = {"error": {"message": "bad key azure-key-123456", "code": "401"}}
    err = c.api_error(401, {}, json.dumps(body).encode())
    assert "azure-key-123456" not in str(err) and "azure-key-123456" not in (err.body or "")


def test_azure_is_listed():
    info = PROVIDERS["azure"]
    assert info.api_key_envs == ("AZURE_OPENAI_API_KEY",)
    assert info.base_url_env == "AZURE_OPENAI_ENDPOINT"
    assert [s.name for s in info.settings] == ["api_version"]


def test_headers_dict_shape():
    h: Dict[str, str] = request(codec()).headers
    assert h["Content-Type"] == "application/json"
