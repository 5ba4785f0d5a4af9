"""client.embed() against the emulator, for every provider with embeddings: vectors in input order
across batches sent concurrently, options on each wire, base64, a failing batch named by its
inputs, retries, timeouts, the refusal of providers without embeddings, and bad input.

Hand-written for the sync package; tests/_async/test_embeddings.py is generated from it by
scripts/gen_async.py.
"""
import json
import threading

import pytest

import llmunified as llm
from llmunified import errors
from llmunified.testing import Reply, embedding_vector as vector
from tests._sync.helpers import SECRET, expect, provider_name, settings

#: a model of each provider's embeddings (vertex: the :predict models; vertex-new: :embedContent)
MODELS = {
    "openai": "openai/text-embedding-3-small", "lmstudio": "lmstudio/nomic-embed-text-v1.5",
    "azure": "azure/emb-small", "ollama": "ollama/nomic-embed-text", "gemini": "gemini/gemini-embedding-001",
    "vertex": "vertex/text-embedding-005", "vertex-new": "vertex/gemini-embedding-001",
    "cohere": "cohere/embed-v4.0",
}
EMBEDDERS = sorted(MODELS)
#: providers whose requests carry one input each (batch_size does not apply)
ONE_PER_REQUEST = ("vertex-new",)
#: providers that take encoding_format (the OpenAI wire)
OPENAI_WIRE = ("openai", "lmstudio", "azure")
QUICK = llm.RetryPolicy(max_retries=2, initial_delay=0.001, max_delay=0.001)
TEXTS = ["text %d" % i for i in range(7)]


@pytest.fixture(params=EMBEDDERS)
def embedder(request):
    return request.param


def key_header(provider):
    return expect(provider_name(provider) if provider != "lmstudio" else "lmstudio").key_header


def test_vectors_come_back_in_input_order(emulator, embedder):
    batch = 1 if embedder in ONE_PER_REQUEST else 3
    with llm.Client(MODELS[embedder], **settings(emulator, embedder)) as client:
        result = client.embed(TEXTS, batch_size=batch, max_concurrency=3)
    assert isinstance(result, llm.Embeddings)
    assert result.vectors == [vector(t) for t in TEXTS]
    assert len(result) == 7 and result.dimensions == 8 and result[2] == vector(TEXTS[2])
    assert result.provider == provider_name(embedder)
    assert result.model == MODELS[embedder].split("/", 1)[1]
    requests = emulator.requests
    assert len(requests) == (7 if batch == 1 else 3) and len(result.raw) == len(requests)
    assert all(r.violations == [] and r.endpoint == "embed" and r.status == 200 for r in requests)
    header, prefix = key_header(embedder)
    assert requests[0].headers[header] == prefix + SECRET
    # usage: every batch's tokens summed (estimated only where the provider tells none)
    assert result.usage.input_tokens >= 7
    assert result.usage.estimated == (embedder == "gemini")


def test_default_batching_splits_at_the_provider_limit(emulator):
    texts = ["t%d" % i for i in range(250)]
    with llm.Client("cohere/embed-v4.0", **settings(emulator, "cohere")) as client:
        result = client.embed(texts)
    assert result.vectors == [vector(t) for t in texts]
    assert sorted(len(r.json["texts"]) for r in emulator.requests) == [58, 96, 96]


def test_one_string_is_one_vector(emulator, embedder):
    with llm.Client(MODELS[embedder], **settings(emulator, embedder)) as client:
        result = client.embed("just one")
    assert result.vectors == [vector("just one")]


def test_dimensions_on_every_wire(emulator, embedder):
    with llm.Client(MODELS[embedder], **settings(emulator, embedder)) as client:
        result = client.embed(["a", "b"], dimensions=16)
    assert result.vectors == [vector("a", 16), vector("b", 16)]
    body = emulator.last_request.json
    field = {"gemini": lambda b: b["requests"][0]["outputDimensionality"],
             "vertex": lambda b: b["parameters"]["outputDimensionality"],
             "vertex-new": lambda b: b["outputDimensionality"],
             "cohere": lambda b: b["output_dimension"]}.get(embedder, lambda b: b["dimensions"])
    assert field(body) == 16


def test_input_type(emulator):
    with llm.Client("cohere/embed-v4.0", **settings(emulator, "cohere")) as client:
        client.embed(["a"])
        assert emulator.last_request.json["input_type"] == "search_document"
        assert emulator.last_request.json["embedding_types"] == ["float"]
        client.embed(["a"], input_type="search_query")
        assert emulator.last_request.json["input_type"] == "search_query"
    with llm.Client("gemini/gemini-embedding-001", **settings(emulator, "gemini")) as client:
        client.embed(["a", "b"], input_type="clustering")
        assert emulator.last_request.json["requests"][1]["taskType"] == "CLUSTERING"
    with llm.Client("openai/text-embedding-3-small", **settings(emulator, "openai")) as client:
        with pytest.raises(errors.UnsupportedParameterError, match="input_type"):
            client.embed(["a"], input_type="search_query")


@pytest.mark.parametrize("which", OPENAI_WIRE)
def test_base64_is_decoded_transparently(emulator, which):
    with llm.Client(MODELS[which], **settings(emulator, which)) as client:
        floats = client.embed(TEXTS, dimensions=32)
        packed = client.embed(TEXTS, dimensions=32, encoding_format="base64")
    assert emulator.last_request.json["encoding_format"] == "base64"
    assert isinstance(emulator.last_request.json["input"], list)
    assert packed.vectors == floats.vectors == [vector(t, 32) for t in TEXTS]


def test_batches_run_concurrently(emulator):
    arrived = threading.Barrier(3, timeout=10)

    def together(request):
        arrived.wait()  # passes only when the three batches are in flight at once
        return Reply()

    emulator.queue(together, together, together)
    with llm.Client("openai/text-embedding-3-small", **settings(emulator, "openai")) as client:
        result = client.embed(TEXTS[:6], batch_size=2, max_concurrency=3)
    assert result.vectors == [vector(t) for t in TEXTS[:6]]


def test_a_failing_batch_fails_the_call_naming_its_inputs(emulator, embedder):
    batch = 1 if embedder in ONE_PER_REQUEST else 2

    def fail_on_text_4(request):
        if "text 4" in json.dumps(request.json):
            return Reply(status=400, error="this input is refused")
        return Reply()

    emulator.queue(*[fail_on_text_4] * 7)
    with llm.Client(MODELS[embedder], **settings(emulator, embedder)) as client:
        with pytest.raises(errors.BadRequestError) as info:
            client.embed(TEXTS, batch_size=batch, max_concurrency=2)
    error = info.value
    expected = range(4, 5) if batch == 1 else range(4, 6)
    assert error.input_range == expected
    assert "embedding inputs %d-%d of 7" % (expected[0], expected[-1]) in str(error)
    assert "this input is refused" in str(error) and error.status == 400
    assert error.provider == provider_name(embedder)


def test_a_rate_limited_batch_is_retried(emulator, embedder):
    emulator.reply(status=429, error="slow down", headers={"retry-after": "0"})
    with llm.Client(MODELS[embedder], **settings(emulator, embedder, retry=QUICK, max_retries=2)) as client:
        result = client.embed(TEXTS[:4], max_concurrency=1)
    assert result.vectors == [vector(t) for t in TEXTS[:4]]
    batches = 4 if embedder in ONE_PER_REQUEST else 1
    assert [r.status for r in emulator.requests] == [429] + [200] * batches


def test_retries_run_out_with_the_typed_error(emulator):
    emulator.queue(*[Reply(status=503, error="busy")] * 3)
    with llm.Client("ollama/nomic-embed-text", **settings(emulator, "ollama", retry=QUICK, max_retries=1)) as client:
        with pytest.raises(errors.APIError) as info:
            client.embed(["a", "b"])
    assert info.value.status == 503 and info.value.attempts == 2 and info.value.input_range == range(0, 2)


def test_a_slow_batch_times_out(emulator):
    emulator.reply(delay=2.0)
    with llm.Client("openai/text-embedding-3-small", **settings(emulator, "openai")) as client:
        with pytest.raises(errors.TimeoutError) as info:
            client.embed(["a"], timeout=0.2)
    assert info.value.input_range == range(0, 1)


@pytest.mark.parametrize("which", ["anthropic", "vertex-claude"])
def test_providers_without_embeddings_refuse_before_any_request(emulator, which):
    model = "anthropic/claude-sonnet-4-5" if which == "anthropic" else "vertex/claude-sonnet-4-5@20250929"
    with llm.Client(model, **settings(emulator, which)) as client:
        with pytest.raises(errors.UnsupportedOperationError) as info:
            client.embed(["a"])
    assert "does not support embeddings" in str(info.value) and "openai/text-embedding-3-small" in str(info.value)
    assert emulator.requests == []


def test_bad_input_fails_before_any_request(emulator):
    with llm.Client("openai/text-embedding-3-small", **settings(emulator, "openai")) as client:
        with pytest.raises(errors.ValidationError, match="input 1 is int"):
            client.embed(["a", 3])
        with pytest.raises(errors.ValidationError, match="empty string"):
            client.embed(["a", ""])
        with pytest.raises(errors.ValidationError, match="'dimension'"):
            client.embed(["a"], dimension=3)
        with pytest.raises(errors.UnsupportedParameterError):
            client.embed(["a"], truncate=True)
        empty = client.embed([])
    assert empty.vectors == [] and len(empty) == 0 and empty.usage.input_tokens == 0
    with llm.Client("openai/text-embedding-ada-002", **settings(emulator, "openai")) as client:
        with pytest.raises(errors.UnsupportedParameterError, match="fixed size"):
            client.embed(["a"], dimensions=256)
    assert emulator.requests == []


def test_extra_is_sent(emulator):
    with llm.Client("ollama/nomic-embed-text", **settings(emulator, "ollama")) as client:
        client.embed(["a"], extra={"keep_alive": "5m"}, truncate=True)
    assert emulator.last_request.json["keep_alive"] == "5m" and emulator.last_request.json["truncate"] is True


def test_usage_totals_and_cost(emulator):
    with llm.Client("openai/text-embedding-3-small", **settings(emulator, "openai")) as client:
        result = client.embed(TEXTS, batch_size=3)
        emulator.reply(status=400, error="no")
        with pytest.raises(errors.BadRequestError):
            client.embed(["x"])
        totals = client.usage_totals()
    assert (totals.calls, totals.errors, totals.input_tokens) == (2, 1, result.usage.input_tokens)
    assert result.cost is not None and result.cost.total > 0 and result.cost.output == 0
    with llm.Client("ollama/nomic-embed-text", **settings(emulator, "ollama")) as client:
        assert client.embed(["a"]).cost is None  # no price known: never a made-up 0


def test_one_shot_embed(emulator):
    result = llm.embed("openai/text-embedding-3-small", ["x", "y"], dimensions=4, **settings(emulator, "openai"))
    assert result.vectors == [vector("x", 4), vector("y", 4)]
