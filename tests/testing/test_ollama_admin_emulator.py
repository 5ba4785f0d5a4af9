"""The emulator's Ollama model management, over raw HTTP (llmunified/testing/_ollama_admin.py):
shapes, the per-emulator model list, scripted failures."""
import json

import requests

from llmunified.testing import Emulator, Reply


def lines(response):
    return [json.loads(line) for line in response.text.splitlines() if line.strip()]


def test_pull_stream_shape_and_state_per_emulator():
    with Emulator() as emu, Emulator() as other:
        r = requests.post(emu.base_url + "/api/pull", json={"model": "gemma3:1b"}, timeout=10)
        assert r.status_code == 200 and r.headers["Content-Type"] == "application/x-ndjson"
        assert r.headers.get("Transfer-Encoding") == "chunked"
        got = lines(r)
        assert got[0] == {"status": "pulling manifest"} and got[-1] == {"status": "success"}
        layer = [g for g in got if "digest" in g]
        assert all(g["digest"].startswith("sha256:") and g["status"] == "pulling " + g["digest"][7:19] for g in layer)
        assert "gemma3:1b" in emu.models["ollama"] and "gemma3:1b" not in other.models["ollama"]
        tags = requests.get(emu.base_url + "/api/tags", timeout=10).json()["models"]
        assert tags[-1]["name"] == "gemma3:1b" and tags[-1]["size"] == sum(
            g["total"] for g in {g["digest"]: g for g in layer}.values())
        assert all(not rec.violations for rec in emu.requests)


def test_pull_without_streaming_and_the_old_name_field():
    with Emulator(models={"ollama": []}) as emu:
        r = requests.post(emu.base_url + "/api/pull", json={"name": "llama3.2", "stream": False}, timeout=10)
        assert r.json() == {"status": "success"} and emu.models["ollama"] == ["llama3.2"]
        r = requests.post(emu.base_url + "/api/pull", json={"model": "nonexistent", "stream": False}, timeout=10)
        assert r.status_code == 500 and r.json() == {"error": "pull model manifest: file does not exist"}
        assert requests.post(emu.base_url + "/api/pull", json={}, timeout=10).status_code == 400


def test_scripted_pull_failures_take_the_next_queued_reply_only():
    with Emulator() as emu:
        emu.reply(status=503, error="server busy")
        r = requests.post(emu.base_url + "/api/pull", json={"model": "x"}, timeout=10)
        assert r.status_code == 503 and r.json() == {"error": "server busy"}
        emu.reply(stream_error="unexpected EOF")
        got = lines(requests.post(emu.base_url + "/api/pull", json={"model": "x"}, timeout=10))
        assert got[-1] == {"error": "unexpected EOF"} and len(got) > 3 and "x" not in emu.models["ollama"]
        # an empty queue: a plain pull (the default reply is for chat only)
        assert lines(requests.post(emu.base_url + "/api/pull", json={"model": "x"}, timeout=10))[-1] == {
            "status": "success"}


def test_show_delete_copy_ps():
    with Emulator() as emu:
        base = emu.base_url
        shown = requests.post(base + "/api/show", json={"model": "llama3.2:latest"}, timeout=10).json()
        assert set(shown) >= {"parameters", "template", "details", "model_info", "capabilities", "modified_at"}
        r = requests.post(base + "/api/show", json={"model": "nope"}, timeout=10)
        assert r.status_code == 404 and r.json() == {"error": "model 'nope' not found"}
        assert requests.post(base + "/api/copy", json={"source": "qwen3:4b", "destination": "q"},
                             timeout=10).status_code == 200
        assert "q" in emu.models["ollama"]
        assert requests.delete(base + "/api/delete", json={"model": "q:latest"}, timeout=10).status_code == 200
        assert "q" not in emu.models["ollama"]
        assert requests.delete(base + "/api/delete", json={"model": "q"}, timeout=10).status_code == 404
        assert requests.get(base + "/api/ps", timeout=10).json() == {"models": []}
        requests.post(base + "/api/chat", json={"model": "qwen3:4b", "messages": [{"role": "user", "content": "hi"}],
                                                "stream": False, "keep_alive": "10m"}, timeout=10)
        (running,) = requests.get(base + "/api/ps", timeout=10).json()["models"]
        assert running["name"] == "qwen3:4b" and running["size_vram"] > 0 and running["expires_at"].endswith("Z")
        emb = requests.post(base + "/api/show", json={"model": "nomic-embed-text"}, timeout=10)
        assert emb.status_code == 404  # not pulled
