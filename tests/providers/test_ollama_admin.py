"""Ollama model management, sans-IO (llmunified/_admin.py and the Ollama codec's admin hooks):
requests, the progress decoder on the recorded pull (tests/fixtures/ollama/pull_stream.httprr)
under many chunkings, /api/show and /api/ps parsing, typed errors with the last progress.
"""
import functools
import json
import os

import pytest

from llmunified._admin import ModelAdmin, ModelDetails, PullProgress, check_model_name, parse_parameters
from llmunified._registry import PROVIDERS, resolve_config
from llmunified._types import ModelInfo
from llmunified.errors import (APIError, MalformedResponseError, NotFoundError, StreamError,
                               UnsupportedOperationError, ValidationError)
from llmunified.providers import codec_for
from tests.providers import recordings
from tests.providers.recordings import FIXTURES

FIX = os.path.join(FIXTURES, "ollama")
httprr_exchange = functools.partial(recordings.httprr_exchange, base=FIX)
chunkings = functools.partial(recordings.chunkings, n_random=40, max_cuts=80, n_tiny=5)


def admin(provider="ollama", **kw):
    config = resolve_config(PROVIDERS[provider], api_key=kw.pop("api_key", None), environ={}, **kw)
    return ModelAdmin(codec_for(config, "any"))


def decode(chunks, what="pull of 'gemma3:1b'"):
    dec = admin().decoder(what, {})
    out = []
    for chunk in chunks:
        out.extend(dec.feed(chunk))
    out.extend(dec.eof())
    return out, dec


# -- the recorded pull -------------------------------------------------------------------------

def test_the_recorded_request_is_what_we_send():
    req_line, recorded, status, headers, body = httprr_exchange("pull_stream.httprr")
    assert req_line == "POST http://localhost:11434/api/pull HTTP/1.1" and status == 200
    request = admin().pull_request("gemma3:1b")
    assert request.method == "POST" and request.url == "http://localhost:11434/api/pull"
    assert json.loads(request.body) == json.loads(recorded) == {"model": "gemma3:1b", "stream": True}
    assert request.headers["Accept"] == "application/x-ndjson" and request.stream


def test_the_recorded_progress():
    _, _, _, headers, body = httprr_exchange("pull_stream.httprr")
    assert {k.lower(): v for k, v in headers.items()}["content-type"] == "application/x-ndjson"
    events, dec = decode([body])
    assert [e.status for e in events] == ["pulling manifest"] + [
        "pulling 7cd4618c1faf", "pulling e0a42594d802", "pulling dd084c7d92a3", "pulling 3116c5225075",
        "pulling 120007c81bf8"] + ["verifying sha256 digest", "writing manifest", "success"]
    first = events[1]
    assert first.digest == "sha256:7cd4618c1faf8b7233c6c906dac1694b6a47684b37b8895d470ac688520b9c01"
    assert (first.completed, first.total, first.fraction) == (815310432, 815310432, 1.0)
    assert events[0] == PullProgress("pulling manifest") and events[0].fraction is None
    assert events[-1].done and not events[-2].done and dec.done
    assert dec.total_bytes == dec.completed_bytes == 815310432 + 358 + 8432 + 77 + 492
    assert events[3].raw == {"status": "pulling dd084c7d92a3",
                             "digest": "sha256:dd084c7d92a3c1c14cc09ae77153b903fd2024b64a100a0cc8ec9316063d2dbc",
                             "total": 8432, "completed": 8432}


def test_every_chunking_gives_the_same_progress():
    _, _, _, _, body = httprr_exchange("pull_stream.httprr")
    expected, _ = decode([body])
    count = 0
    for chunks in chunkings(body):
        events, dec = decode(chunks)
        assert events == expected and [e.raw for e in events] == [e.raw for e in expected]
        count += 1
    assert count > 50


def test_an_unterminated_last_line_still_counts():
    _, _, _, _, body = httprr_exchange("pull_stream.httprr")
    events, _ = decode([body.rstrip(b"\n")])
    assert events[-1].done


# -- failures carry the last progress ------------------------------------------------------------

def test_an_error_line_raises_the_typed_error_with_the_last_progress():
    _, _, _, _, body = httprr_exchange("pull_stream.httprr")
    lines = body.split(b"\n")
    cut = b"\n".join(lines[:3]) + b'\n{"error":"max retries exceeded: unexpected EOF"}\n'
    dec = admin().decoder("pull of 'gemma3:1b'", {"x-request-id": "r1"})
    for chunks in chunkings(cut, n_random=5):
        dec = admin().decoder("pull of 'gemma3:1b'", {})
        seen = []
        with pytest.raises(APIError) as info:
            for chunk in chunks:
                seen.extend(dec.feed(chunk))
            seen.extend(dec.eof())
        err = info.value
        assert type(err) is APIError and "max retries exceeded" in str(err) and "gemma3:1b" in str(err)
        assert err.progress.status == "pulling e0a42594d802" and err.progress == seen[-1]
        assert err.provider == "ollama" and not err.retryable and "max retries" in err.body


def test_an_unknown_name_is_not_found():
    dec = admin().decoder("pull of 'nope'", {})
    events = dec.feed(b'{"status":"pulling manifest"}\n{"error":"pull model manifest: file does not exist"}\n')
    assert events == [PullProgress("pulling manifest")]  # what came before the error is handed out first
    with pytest.raises(NotFoundError) as info:
        dec.eof()
    assert info.value.progress == PullProgress("pulling manifest") and info.value.status is None
    with pytest.raises(NotFoundError):
        admin().decoder("pull of 'nope'", {}).feed(b'{"error":"pull model manifest: file does not exist"}\n')


def test_a_stream_ending_before_success_is_a_stream_error():
    _, _, _, _, body = httprr_exchange("pull_stream.httprr")
    dec = admin().decoder("pull of 'gemma3:1b'", {})
    events = dec.feed(body[:body.index(b'{"status":"verifying')])
    with pytest.raises(StreamError) as info:
        dec.eof()
    assert info.value.progress == events[-1] and "before the final 'success'" in str(info.value)


@pytest.mark.parametrize("line", [b"not json\n", b"[1, 2]\n", b'{"digest": "sha256:00"}\n'])
def test_a_line_of_the_wrong_shape_is_a_stream_error(line):
    dec = admin().decoder("pull of 'x'", {})
    dec.feed(b'{"status":"pulling manifest"}\n')
    with pytest.raises(StreamError) as info:
        dec.feed(line)
    assert info.value.progress.status == "pulling manifest" and info.value.body


def test_lines_after_success_are_ignored():
    dec = admin().decoder("pull of 'x'", {})
    assert len(dec.feed(b'{"status":"success"}\n{"status":"extra"}\n')) == 1
    assert dec.eof() == []


# -- requests ----------------------------------------------------------------------------------

def test_requests():
    a = admin(base_url="http://host:11434", api_key="ollama-cloud-key")
    pull = a.pull_request("hf.co/org/repo:Q4_K_M", insecure=True)
    assert json.loads(pull.body) == {"model": "hf.co/org/repo:Q4_K_M", "stream": True, "insecure": True}
    assert pull.headers["Authorization"] == "Bearer ollama-cloud-key"
    show = a.show_request("llama3.2")
    assert (show.method, show.url, json.loads(show.body)) == ("POST", "http://host:11434/api/show",
                                                             {"model": "llama3.2"})
    delete = a.delete_request("llama3.2:1b")
    assert (delete.method, delete.url, json.loads(delete.body)) == ("DELETE", "http://host:11434/api/delete",
                                                                   {"model": "llama3.2:1b"})
    copy = a.copy_request("llama3.2", "mine")
    assert json.loads(copy.body) == {"source": "llama3.2", "destination": "mine"}
    create = a.create_request("terse", "llama3.2", "Be terse.", {"temperature": 0.2}, None, {"quantize": "q4_K_M"})
    assert json.loads(create.body) == {"model": "terse", "from": "llama3.2", "system": "Be terse.",
                                       "parameters": {"temperature": 0.2}, "quantize": "q4_K_M", "stream": True}
    assert create.stream and create.url.endswith("/api/create")
    ps = a.running_request()
    assert (ps.method, ps.url, ps.body) == ("GET", "http://host:11434/api/ps", None)
    assert a.loaded_request().url == ps.url


@pytest.mark.parametrize("name", ["", "  ", None, 3, "two words", "llama3.2:", ":tag", "a/b/c/d", "x\n"])
def test_names_that_cannot_be_models_fail_before_any_request(name):
    with pytest.raises(ValidationError):
        admin().pull_request(name)


@pytest.mark.parametrize("name", ["llama3.2", "qwen3:4b", "library/llama3.2:latest", "hf.co/org/repo:Q4_K_M",
                                  "localhost:5000/me/model:v1", "gpt-oss:20b", "nomic-embed-text"])
def test_names_that_can_be_models(name):
    assert check_model_name(name) == name


def test_create_checks_its_arguments():
    a = admin()
    with pytest.raises(ValidationError, match="from_"):
        a.create_request("x", None, None, None, None, None)
    with pytest.raises(ValidationError, match="parameters"):
        a.create_request("x", "llama3.2", None, ["temperature"], None, None)
    with pytest.raises(ValidationError, match="system"):
        a.create_request("x", "llama3.2", 3, None, None, None)


@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini", "cohere"])
def test_other_providers_have_no_model_management(provider):
    a = admin(provider, api_key="k")
    for call in (lambda: a.pull_request("x"), lambda: a.show_request("x"), lambda: a.delete_request("x"),
                 lambda: a.copy_request("x", "y"), lambda: a.running_request(),
                 lambda: a.create_request("x", "y", None, None, None, None)):
        with pytest.raises(UnsupportedOperationError, match="only Ollama"):
            call()
    with pytest.raises(UnsupportedOperationError):
        a.pull_request("")  # the provider is the first thing said, before the name
    assert a.loaded_request() is None


# -- /api/show and /api/ps ---------------------------------------------------------------------

SHOW = {
    "parameters": 'stop                           "<|start_header_id|>"\nstop                           "<|eot_id|>"\n'
                  "temperature                    0.7\nnum_ctx                        2048",
    "license": "Gemma Terms of Use", "capabilities": ["completion", "vision"],
    "modified_at": "2025-08-14T15:49:43.634137516-07:00", "template": "{{ .Prompt }}",
    "details": {"parent_model": "", "format": "gguf", "family": "gemma3", "families": ["gemma3"],
                "parameter_size": "4.3B", "quantization_level": "Q4_K_M"},
    "model_info": {"general.architecture": "gemma3", "gemma3.context_length": 131072, "gemma3.block_count": 34},
}


def test_show():
    info = admin().parse_show("gemma3", json.dumps(SHOW).encode(), {})
    assert isinstance(info, ModelDetails) and info.name == "gemma3" and info.provider == "ollama"
    assert info.parameters == {"stop": ["<|start_header_id|>", "<|eot_id|>"], "temperature": 0.7, "num_ctx": 2048}
    assert info.capabilities == ["completion", "vision"] and info.template == "{{ .Prompt }}"
    assert info.details["family"] == "gemma3" and info.context_window == 131072 and info.system is None
    assert info.license == "Gemma Terms of Use" and info.raw == SHOW


def test_show_of_the_wrong_shape_is_malformed():
    with pytest.raises(MalformedResponseError):
        admin().parse_show("x", b"[]", {})
    with pytest.raises(MalformedResponseError):
        admin().parse_show("x", b"{oops", {})


def test_parameters_text():
    assert parse_parameters('num_ctx 4096\nstop "a"\nmirostat_tau 5.0\npenalize_newline true\nseed -1') == {
        "num_ctx": 4096, "stop": ["a"], "mirostat_tau": 5.0, "penalize_newline": True, "seed": -1}
    assert parse_parameters(None) == {} and parse_parameters("") == {}


PS = {"models": [{"name": "gemma3:latest", "model": "gemma3:latest", "size": 6591830464, "digest": "c6eb",
                  "details": {"format": "gguf", "family": "gemma3"}, "expires_at": "2025-10-17T16:47:07.93355-07:00",
                  "size_vram": 5333539264, "context_length": 4096}]}


def test_running_models():
    (info,) = admin().parse_running(json.dumps(PS).encode(), {})
    assert isinstance(info, ModelInfo) and info.id == "gemma3:latest" and info.size == 6591830464
    assert info.context_window == 4096 and info.details["size_vram"] == 5333539264
    assert info.details["expires_at"] == "2025-10-17T16:47:07.93355-07:00" and info.details["family"] == "gemma3"
    assert admin().parse_running(b'{"models": []}', {}) == []


def test_loaded_models_are_marked_in_a_listing():
    listed = [ModelInfo("gemma3:latest", "ollama", details={"family": "gemma3"}), ModelInfo("qwen3:4b", "ollama")]
    admin().mark_loaded(listed, json.dumps(PS).encode(), {})
    assert listed[0].details == {"family": "gemma3", "loaded": True, "size_vram": 5333539264,
                                 "expires_at": "2025-10-17T16:47:07.93355-07:00", "context_length": 4096}
    assert listed[1].details == {"loaded": False}
