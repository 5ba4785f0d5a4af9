"""Embeddings in every codec (``embed_request`` / ``parse_embeddings``) and the sans-IO planning of
``llmunified._embed``: on the real recordings in tests/fixtures (OpenAI, Ollama, Gemini, Cohere
replies and their errors) and the shapes of docs/wire.md (Vertex's predict)."""
import array
import base64
import json
import struct
from typing import Any

import pytest

from llmunified._embed import (EmbedJob, check_inputs, cohere_input_type, decode_base64, gemini_task,
                               make_embed_options, plan_batches)
from llmunified._registry import PROVIDERS, resolve_config
from llmunified._types import Embeddings, Usage
from llmunified.errors import (LLMError, MalformedResponseError, NotFoundError, UnsupportedOperationError,
                               UnsupportedParameterError, ValidationError)
from llmunified.providers import codec_for
from tests.providers.recordings import httprr_records, load, split_http, vcr, vcr_body


def codec(provider: str, model: str = "test-model", **kw: Any):
    kw.setdefault("api_key", "sk-test")
    return codec_for(resolve_config(PROVIDERS[provider], environ={}, **kw), model)


def opts(**kw: Any):
    return make_embed_options(kw)


def sent(request) -> Any:
    return json.loads(request.body)


# -- OpenAI, compatible hosts, Azure --------------------------------------------------------------

def test_openai_reply_recording():
    c = codec("openai", "text-embedding-3-small")
    batch = c.parse_embeddings(load("openai/embeddings_response.json"), {})
    assert batch.vectors == [[0.0057293195, -0.012727811, 0.020042092, -0.013437585, 0.022833068],
                             [-0.037104916, -0.05178114, -0.008340587, 0.001164541, -0.0035253682]]
    assert batch.usage == Usage(12, 0, 12)
    assert batch.model == "text-embedding-3-small"
    # everything but the vectors is kept
    assert batch.raw == {"object": "list", "model": "text-embedding-3-small",
                         "usage": {"prompt_tokens": 12, "total_tokens": 12}}


def test_openai_request_mirrors_the_recorded_one():
    interaction = vcr("openai/error_404_model_not_found_embeddings.vcr.yaml")[0]
    c = codec("openai", "nonexistent")
    request = c.embed_request(["Hello, world!"], opts(encoding_format="base64"))
    assert (request.method, request.url) == ("POST", interaction["request"]["uri"])
    assert sent(request) == interaction["request"]["parsed_body"]
    assert request.headers["Authorization"] == "Bearer sk-test"


def test_openai_error_recording():
    interaction = vcr("openai/error_404_model_not_found_embeddings.vcr.yaml")[0]
    err = codec("openai", "nonexistent").api_error(404, {}, vcr_body(interaction))
    assert isinstance(err, NotFoundError) and err.code == "model_not_found"
    assert "does not exist" in err.message


def test_openai_options_and_extra():
    request = codec("openai", "text-embedding-3-large").embed_request(
        ["a", "b"], opts(dimensions=256, extra={"user": "u1"}))
    assert sent(request) == {"model": "text-embedding-3-large", "input": ["a", "b"], "dimensions": 256, "user": "u1"}
    with pytest.raises(UnsupportedParameterError, match="input_type"):
        codec("openai").embed_request(["a"], opts(input_type="search_query"))
    with pytest.raises(UnsupportedParameterError, match="truncate"):
        codec("openai").embed_request(["a"], opts(truncate=True))


def test_base64_vectors_are_decoded_to_the_same_floats():
    values = [0.5, -1.25, 0.001953125, 1.0]  # float32-exact values
    packed = base64.b64encode(struct.pack("<4f", *values)).decode()
    assert decode_base64(packed) == values
    reply = {"object": "list", "data": [{"object": "embedding", "index": 0, "embedding": packed}],
             "model": "m", "usage": {"prompt_tokens": 2, "total_tokens": 2}}
    assert codec("openai").parse_embeddings(json.dumps(reply).encode(), {}).vectors == [values]
    # the memory of the vectors is lists of floats, nothing per item beyond them
    assert type(decode_base64(packed)) is list and all(type(v) is float for v in decode_base64(packed))


@pytest.mark.parametrize("bad", ["not base64!", base64.b64encode(b"abc").decode()])
def test_broken_base64_is_a_malformed_reply(bad):
    reply = {"data": [{"index": 0, "embedding": bad}]}
    with pytest.raises(MalformedResponseError):
        codec("openai").parse_embeddings(json.dumps(reply).encode(), {})


def test_openai_reply_out_of_index_order_is_sorted():
    reply = {"data": [{"index": 1, "embedding": [2.0]}, {"index": 0, "embedding": [1.0]}]}
    batch = codec("openai").parse_embeddings(json.dumps(reply).encode(), {})
    assert batch.vectors == [[1.0], [2.0]] and batch.usage is None


@pytest.mark.parametrize("bad", [b"<html>", b'{"data": {"x": 1}}', b'{"data": [{"index": 0}]}',
                                 b'{"data": [{"index": 0, "embedding": 5}]}', b"[]"])
def test_openai_malformed_replies(bad):
    with pytest.raises(MalformedResponseError):
        codec("openai").parse_embeddings(bad, {})


def test_azure_deployment_and_v1_urls():
    base = "https://res.openai.azure.com"
    request = codec("azure", "emb-small", base_url=base).embed_request(["a"], opts())
    assert request.url == base + "/openai/deployments/emb-small/embeddings?api-version=2024-10-21"
    assert request.headers["api-key"] == "sk-test"
    request = codec("azure", "emb-small", base_url=base, settings={"api_version": "v1"}).embed_request(["a"], opts())
    assert request.url == base + "/openai/v1/embeddings" and sent(request)["model"] == "emb-small"


def test_compatible_host_path():
    request = codec("lmstudio", "nomic", base_url="http://localhost:1234/v1").embed_request(["a"], opts())
    assert request.url == "http://localhost:1234/v1/embeddings"


# -- Ollama ---------------------------------------------------------------------------------------

def test_ollama_recording():
    raw_request, raw_response = httprr_records(load("ollama/embed.httprr"))[0]
    start, _, recorded = split_http(raw_request)
    c = codec("ollama", "nomic-embed-text")
    request = c.embed_request(["Hello world"], opts(extra={"options": {"temperature": 0}}))
    assert start.startswith("POST http://localhost:11434/api/embed")
    assert request.url == "http://localhost:11434/api/embed"
    assert sent(request) == dict(json.loads(recorded), input=["Hello world"])
    _, headers, body = split_http(raw_response)
    batch = c.parse_embeddings(body, headers)
    assert len(batch.vectors) == 1 and len(batch.vectors[0]) == 768
    assert batch.vectors[0][:2] == [-0.006746773, -0.0013343222]
    assert batch.usage == Usage(2, 0, 2) and batch.model == "nomic-embed-text"
    assert batch.raw == {"model": "nomic-embed-text", "total_duration": 22283583, "load_duration": 7451083,
                         "prompt_eval_count": 2}


def test_ollama_options():
    request = codec("ollama", "m").embed_request(["a"], opts(dimensions=64, truncate=False))
    assert sent(request) == {"model": "m", "input": ["a"], "dimensions": 64, "truncate": False}
    with pytest.raises(UnsupportedParameterError, match="start"):
        codec("ollama", "m").embed_request(["a"], opts(truncate="start"))


# -- Gemini ---------------------------------------------------------------------------------------

def test_gemini_batch_recording():
    interaction = vcr("gemini/embed_content_dimensions.vcr.yaml")[0]
    c = codec("gemini", "gemini-embedding-2-preview")
    request = c.embed_request(["Hello, world!", "Second"], opts(dimensions=768, input_type="search_query"))
    assert request.url == interaction["request"]["uri"]
    assert sent(request)["requests"][0] == interaction["request"]["parsed_body"]["requests"][0]
    assert request.headers["x-goog-api-key"] == "sk-test"
    batch = c.parse_embeddings(vcr_body(interaction), {})
    assert len(batch.vectors) == 1 and len(batch.vectors[0]) == 768
    assert batch.vectors[0][0] == -0.039718185
    assert batch.usage is None and batch.raw == {}  # the API tells no usage: Client.embed estimates it


def test_gemini_one_input_uses_embed_content():
    c = codec("gemini", "gemini-embedding-001")
    request = c.embed_request(["hi"], opts(input_type="RETRIEVAL_DOCUMENT", extra={"title": "Doc"}))
    assert request.url.endswith("/v1beta/models/gemini-embedding-001:embedContent")
    assert sent(request) == {"content": {"parts": [{"text": "hi"}]}, "taskType": "RETRIEVAL_DOCUMENT", "title": "Doc"}
    batch = c.parse_embeddings(b'{"embedding": {"values": [0.25, 0.5]}}', {})
    assert batch.vectors == [[0.25, 0.5]]
    with pytest.raises(UnsupportedParameterError):
        c.embed_request(["hi"], opts(truncate=True))


def test_gemini_error_recording():
    interaction = vcr("gemini/error_404_embed_model_not_found.vcr.yaml")[0]
    err = codec("gemini", "nonexistent-model").api_error(404, {}, vcr_body(interaction))
    assert isinstance(err, NotFoundError) and "not found" in err.message


def test_task_types():
    assert gemini_task("search_document") == "RETRIEVAL_DOCUMENT"
    assert gemini_task("search_query") == "RETRIEVAL_QUERY"
    assert gemini_task("classification") == "CLASSIFICATION"
    assert gemini_task("clustering") == "CLUSTERING"
    assert gemini_task("SEMANTIC_SIMILARITY") == "SEMANTIC_SIMILARITY"
    with pytest.raises(ValidationError):
        gemini_task("nonsense")
    assert cohere_input_type(None) == "search_document"
    assert cohere_input_type("RETRIEVAL_QUERY") == "search_query"
    with pytest.raises(ValidationError):
        cohere_input_type("nonsense")


# -- Vertex ---------------------------------------------------------------------------------------

def test_vertex_predict_for_the_older_models():
    c = codec("vertex", "text-embedding-005", api_key=lambda: "tok", settings={"project": "p"})
    request = c.embed_request(["a", "b"], opts(dimensions=256, input_type="search_query", truncate=True))
    assert request.url.endswith("/v1/projects/p/locations/us-central1/publishers/google/models/"
                                "text-embedding-005:predict")
    assert sent(request) == {"instances": [{"task_type": "RETRIEVAL_QUERY", "content": "a"},
                                           {"task_type": "RETRIEVAL_QUERY", "content": "b"}],
                             "parameters": {"outputDimensionality": 256, "autoTruncate": True}}
    assert c.embed_limits() == (250, 20_000)
    reply = {"predictions": [{"embeddings": {"values": [0.1, 0.2], "statistics": {"token_count": 3, "truncated": False}}},
                             {"embeddings": {"values": [0.3, 0.4], "statistics": {"token_count": 4, "truncated": True}}}],
             "metadata": {"billableCharacterCount": 9}}
    batch = c.parse_embeddings(json.dumps(reply).encode(), {})
    assert batch.vectors == [[0.1, 0.2], [0.3, 0.4]] and batch.usage == Usage(7, 0, 7)
    assert batch.raw["statistics"][1]["truncated"] is True and batch.raw["metadata"] == {"billableCharacterCount": 9}


def test_vertex_newer_models_embed_one_input_per_request():
    c = codec("vertex", "gemini-embedding-001", api_key=lambda: "tok", settings={"project": "p"})
    assert c.embed_limits()[0] == 1
    request = c.embed_request(["a"], opts(dimensions=8))
    assert request.url.endswith("/publishers/google/models/gemini-embedding-001:embedContent")
    assert sent(request) == {"content": {"parts": [{"text": "a"}]}, "outputDimensionality": 8}
    with pytest.raises(ValidationError, match="one input per request"):
        c.embed_request(["a", "b"], opts())
    assert codec("vertex", "textembedding-gecko@003", api_key=lambda: "t",
                 settings={"project": "p"}).embed_limits()[0] == 5


def test_vertex_claude_has_no_embeddings():
    c = codec("vertex", "claude-sonnet-4-5@20250929", api_key=lambda: "tok", settings={"project": "p"})
    with pytest.raises(UnsupportedOperationError, match="Voyage"):
        c.embed_limits()


# -- Cohere ---------------------------------------------------------------------------------------

def test_cohere_reply_recording():
    batch = codec("cohere", "embed-v4.0").parse_embeddings(load("cohere/embed_v2.json"), {})
    assert batch.vectors == [[0.03302002, 0.020904541, -0.019744873, -0.0625, 0.04437256],
                             [-0.04660034, 0.00037765503, -0.061157227, -0.08239746, -0.010360718]]
    assert batch.usage == Usage(10, 0, 10)
    assert batch.raw == {"id": "f5aa3e7b-f011-4c5c-a825-f94669f760e5", "meta": {
        "api_version": {"version": "2"}, "billed_units": {"input_tokens": 10}}, "response_type": "embeddings_by_type"}


def test_cohere_request_mirrors_the_recorded_one():
    interaction = vcr("cohere/error_404_embed_model_not_found.vcr.yaml")[0]
    recorded = interaction["request"]["parsed_body"]
    request = codec("cohere", "nonexistent").embed_request(["Hello, world!"], opts(input_type="search_query",
                                                                                   truncate="none"))
    assert request.url == interaction["request"]["uri"]
    assert sent(request) == {k: v for k, v in recorded.items() if v is not None}
    err = codec("cohere", "nonexistent").api_error(404, {}, vcr_body(interaction))
    assert isinstance(err, NotFoundError) and err.message.startswith("model 'nonexistent' not found")


def test_cohere_defaults_and_other_types_kept():
    c = codec("cohere", "embed-v4.0")
    assert sent(c.embed_request(["a"], opts(dimensions=512))) == {
        "model": "embed-v4.0", "texts": ["a"], "input_type": "search_document", "embedding_types": ["float"],
        "output_dimension": 512}
    reply = {"id": "x", "embeddings": {"float": [[0.5]], "int8": [[64]]}, "texts": ["a"]}
    batch = c.parse_embeddings(json.dumps(reply).encode(), {})
    assert batch.vectors == [[0.5]] and batch.raw == {"id": "x", "embeddings": {"int8": [[64]]}}
    with pytest.raises(MalformedResponseError, match="float"):
        c.parse_embeddings(b'{"embeddings": {"int8": [[1]]}}', {})


# -- providers without embeddings --------------------------------------------------------------

def test_anthropic_refuses_with_what_to_use():
    c = codec("anthropic", "claude-sonnet-4-5")
    with pytest.raises(UnsupportedOperationError) as info:
        EmbedJob(c, ["a"], {})
    assert "Voyage" in info.value.message and "openai/text-embedding-3-small" in info.value.message
    with pytest.raises(UnsupportedOperationError):
        EmbedJob(c, [], {})  # refused even with nothing to embed


# -- planning -------------------------------------------------------------------------------------

def test_inputs_are_checked():
    assert check_inputs("one") == ["one"]
    assert check_inputs(("a", "b")) == ["a", "b"]
    with pytest.raises(ValidationError, match="input 1 is int"):
        check_inputs(["a", 5])
    with pytest.raises(ValidationError, match="input 0 is an empty string"):
        check_inputs([""])
    for bad in (None, 5, b"bytes", {"a": 1}):
        with pytest.raises(ValidationError):
            check_inputs(bad)


def test_unknown_and_bad_options_are_named():
    with pytest.raises(ValidationError, match="'dimension', 'temperature'"):
        make_embed_options({"temperature": 0.1, "dimension": 3})
    for bad in ({"dimensions": 0}, {"dimensions": True}, {"batch_size": -1}, {"max_concurrency": 0},
                {"encoding_format": "int8"}, {"truncate": "middle"}, {"timeout": 0}, {"extra": [1]},
                {"input_type": ""}):
        with pytest.raises(ValidationError):
            make_embed_options(bad)


def test_batches_by_count_and_tokens():
    assert plan_batches([1.0] * 5, 2, 100) == [(0, 2), (2, 4), (4, 5)]
    assert plan_batches([40.0, 40.0, 40.0, 200.0, 1.0], 10, 100) == [(0, 2), (2, 3), (3, 4), (4, 5)]
    assert plan_batches([], 10, 100) == []


def test_fixed_size_models_refuse_dimensions_before_any_request():
    with pytest.raises(UnsupportedParameterError, match="fixed size"):
        EmbedJob(codec("openai", "text-embedding-ada-002"), ["a"], {"dimensions": 256})
    with pytest.raises(UnsupportedParameterError):
        EmbedJob(codec("cohere", "embed-english-v3.0"), ["a"], {"dimensions": 256})


def test_job_reassembles_in_order_whatever_order_replies_come():
    c = codec("openai", "text-embedding-3-small")
    job = EmbedJob(c, ["a", "b", "c", "d", "e"], {"batch_size": 2})
    assert job.batches == [(0, 2), (2, 4), (4, 5)]
    for index in (2, 0, 1):
        start, stop = job.batches[index]
        data = [{"index": i, "embedding": [float(start + i)]} for i in range(stop - start)]
        job.record(index, json.dumps({"data": data, "model": "m-1", "usage": {"prompt_tokens": 3,
                                                                              "total_tokens": 3}}).encode(), {})
    result = job.result()
    assert isinstance(result, Embeddings)
    assert result.vectors == [[0.0], [1.0], [2.0], [3.0], [4.0]] and len(result) == 5 and result[4] == [4.0]
    assert result.usage == Usage(9, 0, 9) and result.model == "m-1" and result.provider == "openai"
    assert len(result.raw) == 3 and result.dimensions == 1 and list(result)[0] == [0.0]
    assert "5 vectors of 1 dimensions" in repr(result)


def test_job_estimates_usage_when_the_provider_tells_none():
    job = EmbedJob(codec("gemini", "gemini-embedding-001"), ["hello world", "x"], {})
    job.record(0, b'{"embeddings": [{"values": [1.0]}, {"values": [2.0]}]}', {})
    usage = job.result().usage
    assert usage.estimated and usage.input_tokens >= 2


def test_job_refuses_a_reply_with_the_wrong_count():
    job = EmbedJob(codec("openai"), ["a", "b"], {})
    with pytest.raises(MalformedResponseError, match="1 embeddings for the 2 inputs"):
        job.record(0, b'{"data": [{"index": 0, "embedding": [1.0]}]}', {})


def test_failed_batch_names_its_inputs():
    job = EmbedJob(codec("openai"), ["t%d" % i for i in range(10)], {"batch_size": 4})
    err = job.failed(1, LLMError("boom"))
    assert err.input_range == range(4, 8)  # type: ignore[attr-defined]
    assert "embedding inputs 4-7 of 10 (request 2 of 3)" in str(err) and err.provider == "openai"


def test_token_cap_splits_long_inputs():
    c = codec("cohere", "embed-v4.0")
    job = EmbedJob(c, ["word " * 20_000] * 4, {})  # ~25k tokens each, Cohere's cap is 100k per request
    assert len(job.batches) >= 2
    assert all(stop - start <= 96 for start, stop in job.batches)
    assert len(EmbedJob(c, ["x"] * 200, {}).batches) == 3  # 96 texts per request


def test_float32_helper_is_little_endian():
    values = array.array("f", [1.5, -2.0])
    assert decode_base64(base64.b64encode(struct.pack("<2f", *values)).decode()) == [1.5, -2.0]
