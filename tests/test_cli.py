"""The command-line tool: demo, chat (one-shot and interactive), providers."""
import io
import subprocess
import sys

from llmunified import cli
from llmunified.testing import Reply


def test_demo_against_the_emulator(capsys):
    assert cli.main(["demo", "--emulator"]) == 0
    out = capsys.readouterr().out
    assert "using the built-in emulator" in out
    assert out.count("complete -> 'Paris is the capital of France.'") == 2  # sync and async tours
    assert out.count("called get_weather") == 2
    assert "== async (import llmunified_async) ==" in out


def test_demo_uses_a_local_ollama_when_one_answers(emulator, monkeypatch, capsys):
    monkeypatch.setenv("OLLAMA_HOST", emulator.base_url)
    found = cli.find_local_model()
    assert found is not None and found[1].startswith("ollama/")
    assert found[2] == emulator.base_url


def test_chat_streams_one_reply(emulator, monkeypatch, capsys):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    emulator.reply(text="Hi from the model", chunk_size=2)
    code = cli.main(["chat", "-m", "openai/x", "--base-url", emulator.url_for("openai"), "-s", "Be terse", "Hello"])
    assert code == 0
    assert capsys.readouterr().out == "Hi from the model\n"
    body = emulator.last_request.json
    assert [m["role"] for m in body["messages"]] == ["system", "user"]


def test_interactive_chat_keeps_history(emulator):
    emulator.reply(text="first answer")
    emulator.reply(text="second answer")
    out, inp = io.StringIO(), io.StringIO("hello\nand again\n/exit\n")
    code = cli.chat("ollama/x", None, True, None, {}, {"base_url": emulator.url_for("ollama")}, out=out, inp=inp)
    assert code == 0
    assert "first answer" in out.getvalue() and "second answer" in out.getvalue()
    roles = [m["role"] for m in emulator.requests[1].json["messages"]]
    assert roles == ["user", "assistant", "user"]


def test_chat_error_is_reported_not_raised(emulator, capsys):
    emulator.reply(status=404, error='model "x" not found, try pulling it first')
    code = cli.chat("ollama/x", "Hi", False, None, {}, {"base_url": emulator.url_for("ollama"), "max_retries": 0})
    assert code == 1
    assert "not found" in capsys.readouterr().err


def test_providers_and_python_m(capsys):
    assert cli.main(["providers"]) == 0
    assert "ANTHROPIC_API_KEY" in capsys.readouterr().out
    proc = subprocess.run([sys.executable, "-m", "llmunified", "--help"], stdout=subprocess.PIPE,
                          universal_newlines=True)
    assert proc.returncode == 0 and "demo" in proc.stdout
