"""client.list_models() against the emulator, for every wire protocol: every model, every page,
what each provider says about them, typed errors and retries.

Hand-written for the sync package; tests/_async/test_list_models.py is generated from it by
scripts/gen_async.py.
"""
import pytest

import llmunified as llm
from llmunified import errors
from llmunified._http import TransportResponse
from llmunified._twin import io
from tests._sync.helpers import expect, model, provider, provider_name, settings  # noqa: F401 - a fixture

#: Vertex AI has no listing (ConfigurationError before any request)
NO_LISTING = ("vertex", "vertex-claude")
#: the emulator's dialect serving each test provider's listing
DIALECT = {"lmstudio": "openai"}
QUICK = llm.RetryPolicy(max_retries=2, initial_delay=0.001, max_delay=0.001)


def dialect(provider):
    return DIALECT.get(provider, provider_name(provider))


def listed_id(provider, name):
    """The id the library reports for a model the emulator lists (Ollama's carry their tag)."""
    return name if provider != "ollama" or ":" in name else name + ":latest"


class FlakyTransport(llm.HTTPTransport):
    """The library's transport, answering the first ``failures`` requests 503 itself."""

    def __init__(self, failures):
        super().__init__(connect_timeout=5.0, read_timeout=30.0)
        self.failures = failures
        self.urls = []

    @io
    def send_request(self, request, timeout=None):
        self.urls.append(request.url)
        if self.failures:
            self.failures -= 1
            return TransportResponse(503, {"content-type": "application/json"},
                                     b'{"error": {"message": "busy", "type": "server_error"}}', None)
        return super().send_request(request, timeout)


def test_every_model_is_listed(emulator, provider):
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        if provider in NO_LISTING:
            with pytest.raises(errors.ConfigurationError, match="does not support listing models"):
                client.list_models()
            assert emulator.requests == []
            return
        models = client.list_models()
    names = emulator.models[dialect(provider)]
    assert names, "the emulator lists models by default"
    assert [m.id for m in models] == [listed_id(provider, n) for n in names]
    for info in models:
        assert isinstance(info, llm.ModelInfo)
        assert info.provider == provider_name(provider)
        assert info.name == provider_name(provider) + "/" + info.id
        assert isinstance(info.raw, dict) and info.raw
    request = emulator.last_request
    assert request.method == "GET" and request.violations == []
    header, prefix = expect(provider).key_header
    assert request.headers[header] == prefix + "sk-test-SECRET-0123456789"


@pytest.mark.parametrize("which", ["openai", "anthropic", "gemini", "ollama", "cohere", "azure"])
def test_what_the_provider_says_is_kept(emulator, which):
    with llm.Client(model(which), **settings(emulator, which)) as client:
        first = client.list_models()[0]
    if which in ("openai", "azure"):
        assert (first.created, first.owned_by) == (1700000000, "system")
    elif which == "anthropic":
        assert first.created == 1735689600  # 2025-01-01T00:00:00Z
        assert first.display_name == first.id
    elif which == "gemini":
        assert not first.id.startswith("models/") and first.raw["name"] == "models/" + first.id
        assert (first.context_window, first.max_output) == (1048576, 65536)
        assert "generateContent" in first.methods and first.display_name
    elif which == "ollama":
        assert first.size == 2019393189 and first.modified_at.startswith("2025-01-01")
        assert first.details["family"] == "llama3.2" and first.details["quantization_level"] == "Q4_K_M"
    else:
        assert first.context_window == 256000 and first.methods == ["chat"]


@pytest.mark.parametrize("which,token", [("anthropic", "after_id"), ("gemini", "pageToken"),
                                         ("cohere", "page_token")])
def test_every_page_is_followed(emulator, which, token):
    names = ["model-%04d" % i for i in range(2100 if which != "cohere" else 45)]
    emulator.models[which] = names
    with llm.Client(model(which), **settings(emulator, which)) as client:
        models = client.list_models()
    assert [m.id for m in models] == names
    requests = emulator.requests
    assert len(requests) == 3
    assert token not in requests[0].query_params
    assert all(token in r.query_params for r in requests[1:])
    assert all(not r.violations for r in requests)


def test_azure_v1_lists_from_the_v1_path(emulator):
    with llm.Client("azure/my-deployment", **settings(emulator, "azure", api_version="v1")) as client:
        models = client.list_models()
    assert [m.id for m in models] == emulator.models["azure"]
    request = emulator.last_request
    assert request.path == "/openai/v1/models" and "api-version" not in request.query_params


def test_azure_deployments_style_sends_the_api_version(emulator):
    with llm.Client("azure/my-deployment", **settings(emulator, "azure", api_version="2024-10-21")) as client:
        client.list_models()
    request = emulator.last_request
    assert request.path == "/openai/models" and request.query_params["api-version"] == "2024-10-21"


def test_errors_are_typed(emulator, provider):
    if provider in NO_LISTING:
        return
    options = settings(emulator, provider, base_url=emulator.url_for(provider_name(provider)) + "/nowhere")
    with llm.Client(model(provider), **options) as client:
        with pytest.raises(errors.NotFoundError) as info:
            client.list_models()
    assert info.value.status == 404 and info.value.provider == provider_name(provider)


def test_failures_are_retried(emulator, provider):
    if provider in NO_LISTING:
        return
    transport = FlakyTransport(failures=2)
    options = settings(emulator, provider, transport=transport, retry=QUICK, max_retries=2)
    with llm.Client(model(provider), **options) as client:
        models = client.list_models()
    assert [m.id for m in models] == [listed_id(provider, n) for n in emulator.models[dialect(provider)]]
    loaded = 1 if provider == "ollama" else 0  # Ollama's listing asks /api/ps which models are loaded
    assert len(transport.urls) == 3 + loaded and len(emulator.requests) == 1 + loaded
    transport.close()


def test_retries_run_out_with_a_typed_error(emulator, provider):
    if provider in NO_LISTING:
        return
    transport = FlakyTransport(failures=5)
    with llm.Client(model(provider), **settings(emulator, provider, transport=transport, retry=QUICK, max_retries=1)) as client:
        with pytest.raises(errors.APIError) as info:
            client.list_models()
    assert info.value.status == 503 and info.value.attempts == 2
    assert len(transport.urls) == 2 and emulator.requests == []
    transport.close()
