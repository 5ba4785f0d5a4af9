"""Model listing in every codec (``models_request`` / ``parse_models``): the request of each page
and what a listing page says, from the shapes in docs/wire.md (no listing recordings exist in
tests/fixtures; the error recordings cover ``api_error``, shared with chat)."""
import json
import os
from typing import Any, Dict

import pytest

import llmunified as llm
from llmunified._registry import PROVIDERS, resolve_config
from llmunified.errors import ConfigurationError, MalformedResponseError, NotFoundError
from llmunified.providers import codec_for
from llmunified.providers._base import epoch_seconds, int_or_none
from tests.providers.recordings import FIXTURES, vcr, vcr_body


def codec(provider: str, model: str = "test-model", **kw: Any):
    kw.setdefault("api_key", "sk-test")
    return codec_for(resolve_config(PROVIDERS[provider], environ={}, **kw), model)


def body(data: Any) -> bytes:
    return json.dumps(data).encode("utf-8")


# -- OpenAI and compatible ----------------------------------------------------------------------

def test_openai_lists_below_base_url():
    request = codec("openai").models_request()
    assert (request.method, request.url) == ("GET", "https://api.openai.com/v1/models")
    assert request.headers["Authorization"] == "Bearer sk-test" and request.body is None


def test_openai_page():
    page = {"object": "list", "data": [
        {"id": "gpt-4o", "object": "model", "created": 1715367049, "owned_by": "system"},
        {"id": "ft:gpt-4o:acme", "object": "model", "created": 1720000000, "owned_by": "acme"}]}
    models, token = codec("openai").parse_models(body(page), {})
    assert token is None
    assert [(m.id, m.provider, m.created, m.owned_by) for m in models] == [
        ("gpt-4o", "openai", 1715367049, "system"), ("ft:gpt-4o:acme", "openai", 1720000000, "acme")]
    assert models[0].raw == page["data"][0] and models[0].context_window is None


def test_compatible_servers_context_lengths_and_cursor():
    page = {"data": [{"id": "a", "context_length": 131072, "top_provider": {"max_completion_tokens": 8192}},
                     {"id": "b", "max_model_len": 32768}, {"id": "c", "context_window": 8192}],
            "has_more": True, "last_id": "c"}
    c = codec("openai", base_url="http://localhost:8000/v1")
    models, token = c.parse_models(body(page), {})
    assert [(m.context_window, m.max_output) for m in models] == [(131072, 8192), (32768, None), (8192, None)]
    assert token == "c"
    assert c.models_request(token).url == "http://localhost:8000/v1/models?after=c"
    # a bare JSON list (some servers) is the entries themselves
    models, token = c.parse_models(body([{"id": "x", "created": 5}]), {})
    assert [(m.id, m.created) for m in models] == [("x", 5)] and token is None


@pytest.mark.parametrize("bad", [b"<html>", b"[1, 2", b'{"data": {"id": "x"}}', b'"text"',
                                 b'{"data": [{"object": "model"}]}', b'{"data": [{"id": 7}]}'])
def test_malformed_listing_is_typed(bad):
    with pytest.raises(MalformedResponseError) as info:
        codec("openai").parse_models(bad, {})
    assert info.value.body is not None


def test_listing_errors_are_typed_like_chat():
    # the 404 recording (an unknown embeddings model): the same api_error serves every endpoint
    exchange = vcr("error_404_model_not_found_embeddings.vcr.yaml", os.path.join(FIXTURES, "openai"))[0]
    err = codec("openai").api_error(404, {}, vcr_body(exchange))
    assert isinstance(err, NotFoundError) and err.status == 404


# -- Azure --------------------------------------------------------------------------------------

def test_azure_paths():
    base = "https://res.openai.azure.com"
    deployments = codec("azure", "my-gpt", base_url=base, settings={"api_version": "2024-10-21"})
    assert deployments.models_request().url == base + "/openai/models?api-version=2024-10-21"
    assert deployments.models_request().headers["api-key"] == "sk-test"
    v1 = codec("azure", "my-gpt", base_url=base, settings={"api_version": "v1"})
    assert v1.models_request().url == base + "/openai/v1/models"
    assert codec("azure", "my-gpt", base_url=base + "/openai/v1").models_request().url == base + "/openai/v1/models"
    assert codec("azure", "my-gpt", base_url=base + "/openai").models_request().url.startswith(
        base + "/openai/models?api-version=")


def test_azure_page():
    page = {"data": [{"id": "gpt-4o-2024-08-06", "object": "model", "created_at": 1722902400, "status": "succeeded",
                      "capabilities": {"chat_completion": True}}], "object": "list"}
    models, token = codec("azure", "d", base_url="https://r.openai.azure.com").parse_models(body(page), {})
    assert [(m.id, m.provider, m.created) for m in models] == [("gpt-4o-2024-08-06", "azure", 1722902400)]
    assert token is None and models[0].raw["capabilities"] == {"chat_completion": True}


# -- Anthropic ----------------------------------------------------------------------------------

def test_anthropic_request_and_pages():
    c = codec("anthropic")
    first = c.models_request()
    assert first.url == "https://api.anthropic.com/v1/models?limit=1000"
    assert first.headers["anthropic-version"] and first.headers["x-api-key"] == "sk-test"
    assert c.models_request("claude-3-haiku-20240307").url.endswith("?limit=1000&after_id=claude-3-haiku-20240307")
    assert codec("anthropic", base_url="https://proxy.example/v1").models_request().url == \
        "https://proxy.example/v1/models?limit=1000"
    page = {"data": [{"type": "model", "id": "claude-sonnet-4-5-20250929", "display_name": "Claude Sonnet 4.5",
                      "created_at": "2025-09-29T00:00:00Z"},
                     {"type": "model", "id": "claude-3-haiku-20240307", "display_name": "Claude Haiku 3",
                      "created_at": "2024-03-07T00:00:00.000000Z"}],
            "has_more": True, "first_id": "claude-sonnet-4-5-20250929", "last_id": "claude-3-haiku-20240307"}
    models, token = c.parse_models(body(page), {})
    assert token == "claude-3-haiku-20240307"
    assert [(m.id, m.display_name, m.created) for m in models] == [
        ("claude-sonnet-4-5-20250929", "Claude Sonnet 4.5", 1759104000),
        ("claude-3-haiku-20240307", "Claude Haiku 3", 1709769600)]
    page.update(has_more=False)
    assert c.parse_models(body(page), {})[1] is None
    assert c.parse_models(body({"data": [], "has_more": False, "first_id": None, "last_id": None}), {}) == ([], None)


# -- Gemini -------------------------------------------------------------------------------------

GEMINI_PAGE: Dict[str, Any] = {"models": [
    {"name": "models/gemini-2.5-flash", "version": "001", "displayName": "Gemini 2.5 Flash",
     "inputTokenLimit": 1048576, "outputTokenLimit": 65536,
     "supportedGenerationMethods": ["generateContent", "countTokens"], "thinking": True},
    {"name": "models/text-embedding-004", "displayName": "Text Embedding 004", "inputTokenLimit": 2048,
     "outputTokenLimit": 1, "supportedGenerationMethods": ["embedContent"]}],
    "nextPageToken": "Cg5nZW1pbmktMi41"}


def test_gemini_request_and_pages():
    c = codec("gemini")
    first = c.models_request()
    assert first.url.startswith("https://generativelanguage.googleapis.com/v1beta/models?pageSize=1000")
    nxt = c.models_request("Cg5nZW1p/+=")
    assert "&pageToken=Cg5nZW1p%2F%2B%3D" in nxt.url
    assert codec("gemini", base_url="https://g.example/v1beta").models_request().url.startswith(
        "https://g.example/v1beta/models?pageSize=1000")
    models, token = c.parse_models(body(GEMINI_PAGE), {})
    assert token == "Cg5nZW1pbmktMi41"
    flash, embed = models
    assert (flash.id, flash.display_name, flash.context_window, flash.max_output) == (
        "gemini-2.5-flash", "Gemini 2.5 Flash", 1048576, 65536)
    assert flash.methods == ["generateContent", "countTokens"] and flash.raw["thinking"] is True
    assert (embed.id, embed.methods) == ("text-embedding-004", ["embedContent"])
    # the last page has no token, and proto3 JSON leaves an empty list out
    assert c.parse_models(body({"models": GEMINI_PAGE["models"][:1]}), {})[1] is None
    assert c.parse_models(b"{}", {}) == ([], None)


# -- Vertex -------------------------------------------------------------------------------------

@pytest.mark.parametrize("model", ["gemini-2.5-flash", "claude-sonnet-4-5@20250929"])
def test_vertex_has_no_listing(model):
    c = codec("vertex", model, settings={"project": "p"})
    with pytest.raises(ConfigurationError, match="vertex does not support listing models"):
        c.models_request()
    with pytest.raises(ConfigurationError):
        c.parse_models(b"{}", {})


# -- Ollama -------------------------------------------------------------------------------------

def test_ollama_tags():
    c = codec("ollama", api_key=None)
    request = c.models_request()
    assert (request.method, request.url) == ("GET", "http://localhost:11434/api/tags")
    tags = {"models": [{"name": "llama3.2:latest", "model": "llama3.2:latest",
                        "modified_at": "2025-05-04T17:37:44.706015396-07:00", "size": 2019393189,
                        "digest": "a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72",
                        "details": {"parent_model": "", "format": "gguf", "family": "llama", "families": ["llama"],
                                    "parameter_size": "3.2B", "quantization_level": "Q4_K_M"}}]}
    models, token = c.parse_models(body(tags), {})
    assert token is None
    (info,) = models
    assert (info.id, info.provider, info.size) == ("llama3.2:latest", "ollama", 2019393189)
    assert info.modified_at == "2025-05-04T17:37:44.706015396-07:00"
    assert info.details["parameter_size"] == "3.2B" and info.created is None
    assert c.parse_models(body({"models": []}), {}) == ([], None)


# -- Cohere -------------------------------------------------------------------------------------

def test_cohere_request_and_pages():
    c = codec("cohere")
    first = c.models_request()
    assert first.url == "https://api.cohere.com/v1/models"
    assert first.headers["X-Client-Name"] == "llmunified" and first.headers["Authorization"] == "Bearer sk-test"
    assert c.models_request("b2Zm=").url == "https://api.cohere.com/v1/models?page_token=b2Zm%3D"
    assert codec("cohere", base_url="https://c.example/v2").models_request().url == "https://c.example/v1/models"
    page = {"models": [{"name": "command-a-03-2025", "endpoints": ["chat"], "finetuned": False,
                        "context_length": 256000, "default_endpoints": []},
                       {"name": "embed-v4.0", "endpoints": ["embed"], "context_length": 128000}],
            "next_page_token": "b2Zmc2V0OjIw"}
    models, token = c.parse_models(body(page), {})
    assert token == "b2Zmc2V0OjIw"
    assert [(m.id, m.context_window, m.methods) for m in models] == [
        ("command-a-03-2025", 256000, ["chat"]), ("embed-v4.0", 128000, ["embed"])]
    assert c.parse_models(body({"models": []}), {}) == ([], None)


# -- the type and helpers -----------------------------------------------------------------------

def test_model_info_facts_come_from_the_registry():
    info = llm.ModelInfo("gpt-4o", "openai")
    assert info.name == "openai/gpt-4o"
    facts = info.facts()
    assert isinstance(facts, llm.ModelFacts) and facts.known
    assert llm.ModelInfo("no-such-model-xyz", "openai").facts().known is False


def test_helpers():
    assert [int_or_none(v) for v in (3, 3.0, 3.5, True, "3", None)] == [3, 3, None, None, None, None]
    assert epoch_seconds("1970-01-01T00:01:00Z") == 60
    assert epoch_seconds("1970-01-01T00:01:00.5+00:00") == 60
    assert epoch_seconds("1970-01-01T00:00:00") == 0
    assert epoch_seconds(1700000000) == 1700000000
    assert epoch_seconds("yesterday") is None and epoch_seconds(None) is None
