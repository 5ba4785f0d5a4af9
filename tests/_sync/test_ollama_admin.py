"""Ollama model management against the emulator: pull (progress, failures with the last progress,
closing early), show, copy, delete, create, running models, the loaded flag of a listing, and
UnsupportedOperationError elsewhere.

Hand-written for the sync package; tests/_async/test_ollama_admin.py is generated from it by
scripts/gen_async.py.
"""
import time

import pytest

import llmunified as llm
from llmunified import errors
from llmunified._http import TransportResponse
from llmunified._twin import io
from tests._sync.helpers import model, settings


def ids(models):
    return [m.id for m in models]


def test_pull_streams_progress_then_the_model_is_listed(emulator):
    with llm.Client("ollama/anything", **settings(emulator, "ollama")) as client:
        assert "gemma3:1b" not in ids(client.list_models())
        with client.pull("gemma3:1b") as pull:
            events = [progress for progress in pull]
            assert pull.done and pull.progress == events[-1]
            assert pull.completed_bytes == pull.total_bytes > 1_000_000_000
        assert events[0].status == "pulling manifest" and events[-1].status == "success" and events[-1].done
        layers = [e for e in events if e.digest is not None]
        assert len({e.digest for e in layers}) == 4
        weights = [e for e in layers if e.total is not None and e.total > 1_000_000_000]
        assert len(weights) > 3 and weights[-1].fraction == 1.0
        fractions = [e.fraction for e in weights if e.fraction is not None]
        assert fractions == sorted(fractions) and fractions[0] < 0.5
        assert all(isinstance(e, llm.PullProgress) for e in events)
        assert "gemma3:1b" in ids(client.list_models())
    request = [r for r in emulator.requests if r.path == "/api/pull"][0]
    assert request.json == {"model": "gemma3:1b", "stream": True} and request.violations == []


def test_until_done_returns_the_final_status(emulator):
    with llm.Client("ollama/anything", **settings(emulator, "ollama")) as client:
        final = client.pull("llama3.1:8b").until_done()
        assert final.status == "success" and final.done
        assert "llama3.1:8b" in ids(client.list_models())
        with client.pull("qwen3:0.6b", insecure=True) as pull:
            assert pull.until_done().done
    assert emulator.requests[-1].json == {"model": "qwen3:0.6b", "stream": True, "insecure": True}


def test_a_pull_failing_mid_way_keeps_the_last_progress(emulator):
    emulator.reply(stream_error="max retries exceeded: unexpected EOF")
    seen = []
    with llm.Client("ollama/anything", **settings(emulator, "ollama")) as client:
        with pytest.raises(errors.APIError) as info:
            with client.pull("gemma3:1b") as pull:
                for progress in pull:
                    seen.append(progress)
        err = info.value
        assert "max retries exceeded" in str(err) and "gemma3:1b" in str(err)
        assert err.progress == seen[-1] and 0 < err.progress.fraction < 1
        assert "gemma3:1b" not in ids(client.list_models())


def test_a_broken_connection_keeps_the_last_progress(emulator):
    emulator.reply(break_after=4)
    with llm.Client("ollama/anything", **settings(emulator, "ollama")) as client:
        with pytest.raises(errors.StreamError) as info:
            client.pull("gemma3:1b").until_done()
        assert isinstance(info.value, errors.ConnectionError)
        assert info.value.progress.digest is not None and info.value.progress.fraction < 1
        assert "gemma3:1b" not in ids(client.list_models())
        assert client.pull("gemma3:1b").until_done().done  # pulling again works


def test_a_name_the_registry_does_not_know(emulator):
    with llm.Client("ollama/anything", **settings(emulator, "ollama")) as client:
        with pytest.raises(errors.NotFoundError) as info:
            client.pull("nonexistent-model").until_done()
        assert "file does not exist" in str(info.value)
        assert info.value.progress.status == "pulling manifest"


def test_a_name_that_cannot_be_a_model_fails_before_the_network(emulator):
    with llm.Client("ollama/anything", **settings(emulator, "ollama")) as client:
        for name in ("", "two words", "bad:"):
            with pytest.raises(errors.ValidationError):
                client.pull(name)
            with pytest.raises(errors.ValidationError):
                client.show(name)
    assert emulator.requests == []


def test_an_error_status_before_the_stream_is_typed(emulator):
    emulator.reply(status=500, error="disk full")
    with llm.Client("ollama/anything", **settings(emulator, "ollama")) as client:
        with pytest.raises(errors.ServerError) as info:
            with client.pull("gemma3:1b") as pull:
                [progress for progress in pull]
    assert "disk full" in str(info.value)


def test_an_error_status_is_retried_before_any_progress(emulator):
    emulator.reply(status=503, error="busy")
    retry = llm.RetryPolicy(max_retries=1, initial_delay=0.001, max_delay=0.001)
    with llm.Client("ollama/anything", **settings(emulator, "ollama", retry=retry, max_retries=1)) as client:
        assert client.pull("gemma3:1b").until_done().done
    assert len([r for r in emulator.requests if r.path == "/api/pull"]) == 2


def test_closing_a_pull_early_closes_the_connection(emulator):
    emulator.reply(delay=0.05)
    with llm.Client("ollama/anything", **settings(emulator, "ollama")) as client:
        with client.pull("gemma3:1b") as pull:
            for progress in pull:
                if progress.digest is not None:
                    break
        deadline = time.monotonic() + 5.0
        while emulator.aborted_streams < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert emulator.aborted_streams == 1
        assert "gemma3:1b" not in ids(client.list_models())
        with pytest.raises(errors.StreamError):
            pull.until_done()


def test_show(emulator):
    with llm.Client("ollama/anything", **settings(emulator, "ollama")) as client:
        info = client.show("llama3.2")
        assert isinstance(info, llm.ModelDetails) and info.name == "llama3.2"
        assert info.details["family"] == "llama3.2" and info.parameters["temperature"] == 0.7
        assert info.capabilities == ["completion", "tools"] and info.context_window == 131072
        assert "{{ .Prompt }}" in info.template and info.raw["model_info"]["general.architecture"] == "llama"
        with pytest.raises(errors.NotFoundError) as missing:
            client.show("not-pulled")
    assert missing.value.status == 404 and "not-pulled" in str(missing.value)
    assert emulator.requests[0].json == {"model": "llama3.2"}


def test_copy_then_delete(emulator):
    with llm.Client("ollama/anything", **settings(emulator, "ollama")) as client:
        client.copy_model("llama3.2", "my-llama")
        assert "my-llama:latest" in ids(client.list_models())
        assert client.show("my-llama").details["family"] == "my-llama"
        client.delete_model("my-llama")
        assert "my-llama:latest" not in ids(client.list_models())
        with pytest.raises(errors.NotFoundError):
            client.delete_model("my-llama")
        with pytest.raises(errors.NotFoundError):
            client.copy_model("not-pulled", "x")
    deletes = [r for r in emulator.requests if r.path == "/api/delete"]
    assert deletes[0].method == "DELETE" and deletes[0].json == {"model": "my-llama"}


def test_create_a_model(emulator):
    with llm.Client("ollama/anything", **settings(emulator, "ollama")) as client:
        with client.create_model("terse", from_="llama3.2", system="Be terse.",
                                 parameters={"temperature": 0.1}) as creation:
            statuses = [progress.status for progress in creation]
        assert statuses[-1] == "success" and any(s.startswith("creating new layer") for s in statuses)
        info = client.show("terse")
        assert info.system == "Be terse." and info.parameters["temperature"] == 0.1
        assert info.details["parent_model"] == "llama3.2:latest"
        assert "terse:latest" in ids(client.list_models())
        with pytest.raises(errors.NotFoundError):
            client.create_model("x", from_="not-pulled").until_done()
        with pytest.raises(errors.ValidationError):
            client.create_model("x")
    body = [r for r in emulator.requests if r.path == "/api/create"][0].json
    assert body == {"model": "terse", "from": "llama3.2", "system": "Be terse.", "parameters": {"temperature": 0.1},
                    "stream": True}


def test_running_models_and_the_loaded_flag_of_a_listing(emulator):
    with llm.Client("ollama/llama3.2", **settings(emulator, "ollama")) as client:
        assert client.running_models() == []
        assert [m.details["loaded"] for m in client.list_models()] == [False, False]
        client.complete("Hi")
        (running,) = client.running_models()
        assert running.id == "llama3.2:latest" and running.details["size_vram"] > 0
        assert running.details["expires_at"] and running.context_window == 4096
        listed = {m.id: m.details for m in client.list_models()}
        assert listed["llama3.2:latest"]["loaded"] is True and listed["qwen3:4b"]["loaded"] is False
        assert listed["llama3.2:latest"]["size_vram"] == running.details["size_vram"]
        client.complete("Bye", extra={"keep_alive": 0})  # unloads once answered
        assert client.running_models() == []


class PsFails(llm.HTTPTransport):
    """The library's transport, answering /api/ps with a 500 itself."""

    def __init__(self):
        super().__init__(connect_timeout=5.0, read_timeout=30.0)
        self.urls = []

    @io
    def send_request(self, request, timeout=None):
        self.urls.append(request.url)
        if request.url.endswith("/api/ps"):
            return TransportResponse(500, {"content-type": "application/json"}, b'{"error": "boom"}', None)
        return super().send_request(request, timeout)


def test_a_failing_ps_does_not_break_the_listing(emulator):
    transport = PsFails()
    with llm.Client("ollama/anything", **settings(emulator, "ollama", transport=transport, max_retries=2)) as client:
        listed = client.list_models()
    assert ids(listed) == ["llama3.2:latest", "qwen3:4b"]
    assert all("loaded" not in (m.details or {}) for m in listed)
    assert [u.rsplit("/", 2)[-1] for u in transport.urls] == ["tags", "ps"]  # one more request, not retried
    transport.close()


@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini", "cohere"])
def test_other_providers_raise_unsupported_operation(emulator, provider):
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        with pytest.raises(errors.UnsupportedOperationError, match="only Ollama"):
            client.pull("llama3.2")
        with pytest.raises(errors.UnsupportedOperationError):
            client.show("llama3.2")
        with pytest.raises(errors.UnsupportedOperationError):
            client.delete_model("llama3.2")
        with pytest.raises(errors.UnsupportedOperationError):
            client.copy_model("a", "b")
        with pytest.raises(errors.UnsupportedOperationError):
            client.create_model("a", from_="b")
        with pytest.raises(errors.UnsupportedOperationError):
            client.running_models()
        assert all("loaded" not in (m.details or {}) for m in client.list_models())
    assert all(r.endpoint == "models" for r in emulator.requests)
