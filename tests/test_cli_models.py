"""``llmunified models`` (a provider's models, via Client.list_models) and ``llmunified pull``
(Ollama's download, with a progress bar on a terminal and plain lines elsewhere), against the
emulator; ``models info`` keeps working. Exit codes as documented in ``llmunified.cli``.
"""
import io
import json
import os

import pytest

from llmunified import cli
from llmunified.testing import Emulator, Reply


@pytest.fixture
def emu(monkeypatch):
    for var in ("LLMUNIFIED_EMULATOR", "LLMUNIFIED_MODEL", "OLLAMA_HOST", "OPENAI_API_KEY", "NO_COLOR"):
        monkeypatch.delenv(var, raising=False)
    with Emulator() as emulator:
        monkeypatch.setenv("OLLAMA_HOST", emulator.base_url)
        yield emulator
    assert emulator.internal_errors == []


class TTY(io.StringIO):
    def isatty(self):
        return True


def test_models_lists_ollama_models_with_loaded_flags(emu, capsys):
    assert cli.main(["models", "-m", "ollama"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["ID", "CONTEXT", "SIZE", "LOADED"]
    assert lines[1].split()[:4] == ["llama3.2:latest", "-", "2.0", "GB"]
    assert [r.path for r in emu.requests] == ["/api/tags", "/api/ps"]


def test_models_as_json(emu, capsys):
    assert cli.main(["models", "-m", "ollama/anything", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in rows] == ["llama3.2:latest", "qwen3:4b"]
    assert rows[0]["size"] == 2019393189 and rows[0]["details"]["loaded"] is False


def test_models_of_another_provider(emu, capsys):
    assert cli.main(["models", "-m", "openai", "--base-url", emu.url_for("openai"), "--api-key", "sk-test"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["ID", "CONTEXT", "SIZE"] and len(lines) == 1 + len(emu.models["openai"])


def test_models_with_the_builtin_emulator(monkeypatch, capsys):
    monkeypatch.delenv("LLMUNIFIED_EMULATOR", raising=False)
    monkeypatch.delenv("LLMUNIFIED_MODEL", raising=False)
    assert cli.main(["models", "--emulator", "-m", "anthropic"]) == 0
    assert "ID" in capsys.readouterr().out
    assert "LLMUNIFIED_EMULATOR" not in os.environ


def test_models_without_a_provider_is_a_usage_error(emu, capsys):
    assert cli.main(["models"]) == cli.EXIT_USAGE
    assert "-m provider" in capsys.readouterr().err


def test_models_info_still_works(capsys):
    assert cli.main(["models", "info", "anthropic/claude-sonnet-4-5", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["model"] == "anthropic/claude-sonnet-4-5"


def test_vertex_has_no_listing(emu, capsys):
    code = cli.main(["models", "-m", "vertex", "-o", "project=p", "--base-url", emu.base_url, "--api-key", "t"])
    assert code == cli.EXIT_CONFIG and "does not support listing models" in capsys.readouterr().err


def test_pull_prints_plain_lines_when_not_a_terminal(emu, capsys):
    assert cli.main(["pull", "gemma3:1b"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "pulling manifest" and lines[-3:] == ["verifying sha256 digest", "writing manifest", "success"]
    layers = [line for line in lines if line.startswith("pulling ") and ":" in line]
    assert len(layers) == 4 and layers[0].endswith(": 2.0 GB")  # each layer once, when complete
    assert "gemma3:1b" in emu.models["ollama"]


def test_pull_failure_exit_codes(emu, capsys):
    assert cli.main(["pull", "nonexistent-model"]) == cli.EXIT_NOT_FOUND
    assert "file does not exist" in capsys.readouterr().err
    emu.reply(stream_error="max retries exceeded")
    assert cli.main(["pull", "gemma3:1b"]) == cli.EXIT_FAILED
    err = capsys.readouterr().err
    assert err.startswith("llmunified: error:") and "max retries exceeded" in err and "Traceback" not in err
    assert cli.main(["pull", "two words"]) == cli.EXIT_USAGE
    assert cli.main(["pull", "x", "-m", "openai", "--api-key", "k"]) == cli.EXIT_CONFIG
    assert "only Ollama" in capsys.readouterr().err


def test_pull_with_the_builtin_emulator(monkeypatch, capsys):
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    assert cli.main(["pull", "--emulator", "llama3.2"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "success"


def test_the_progress_bar_on_a_terminal():
    from llmunified._admin import PullProgress

    times = iter([0.0, 0.0, 1.0, 2.0, 3.0, 3.0, 3.0])
    out = TTY()
    bar = cli.PullBar(cli.Term(out, no_color=True), clock=lambda: next(times))
    digest = "sha256:" + "ab" * 32
    bar.show(PullProgress("pulling manifest"), 0)
    for done in (0, 100_000_000, 200_000_000, 400_000_000):
        bar.show(PullProgress("pulling abababababab", digest, done, 400_000_000), done)
    bar.show(PullProgress("success"), 400_000_000)
    bar.end()
    text = out.getvalue()
    assert text.startswith("pulling manifest\n")
    frames = [f for f in text.split("\r") if f.startswith("pulling abab")]
    assert len(frames) == 4
    assert "25% [======>" in frames[1] and "100.0 MB/400.0 MB" in frames[1]
    assert "100.0 MB/s" in frames[2] and "ETA 0:02" in frames[2]  # 200 MB left at 100 MB/s
    assert "100% [========================]" in frames[3] and "ETA 0:00" in frames[3]
    assert text.endswith("\nsuccess\n")


def test_human_bytes_and_eta():
    assert [cli.human_bytes(n) for n in (0, 999, 1000, 1_500_000, 2_019_393_189, None)] == [
        "0 B", "999 B", "1.0 KB", "1.5 MB", "2.0 GB", "-"]
    assert [cli._eta(s) for s in (None, 0, 61, 3725, -1)] == ["--:--", "0:00", "1:01", "1:02:05", "--:--"]
