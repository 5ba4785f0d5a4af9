"""The command-line tool: demo, one-shot chat, piping, providers, the emulator switch, and every
misuse ending in one line on stderr with its documented exit code (never a traceback).

Everything here talks to 127.0.0.1 only: the environment of each child process is scrubbed of
provider keys and URLs, and local-model probes are pointed at the test's emulator or a closed port.
"""
import os
import re
import socket
import subprocess
import sys

import pytest

from llmunified import cli
from llmunified.testing import Emulator, Reply
from llmunified.testing._dialects import DIALECTS, Route
from llmunified.testing._dialects.ollama import Ollama

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SGR = re.compile(r"\x1b\[[0-9;]*m")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(**extra):
    """The environment of a child: no provider key or URL of the developer's shell, local probes
    aimed at a closed port, no colour settings."""
    from llmunified._registry import PROVIDERS

    env = dict(os.environ)
    for info in PROVIDERS.values():
        for var in info.api_key_envs + ((info.base_url_env,) if info.base_url_env else ()):
            env.pop(var, None)
        for setting in info.settings:
            for var in setting.envs:
                env.pop(var, None)
    for var in ("LLMUNIFIED_EMULATOR", "LLMUNIFIED_MODEL", "NO_COLOR", "GOOGLE_APPLICATION_CREDENTIALS"):
        env.pop(var, None)
    port = closed_port()
    env["OLLAMA_HOST"] = f"http://127.0.0.1:{port}"
    env["LMSTUDIO_BASE_URL"] = f"http://127.0.0.1:{port}/v1"
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def run(*args, stdin=None, env=None, timeout=60):
    """``python -m llmunified ARGS`` in a child; (exit code, stdout, stderr)."""
    proc = subprocess.run([sys.executable, "-m", "llmunified", *args], input=stdin,
                          stdin=None if stdin is not None else subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env or clean_env(), cwd=ROOT,
                          timeout=timeout, universal_newlines=True)
    return proc.returncode, proc.stdout, proc.stderr


def assert_one_error_line(err, code, expected_code, *needles):
    assert code == expected_code, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("llmunified"), err
    for needle in needles:
        assert needle in lines[0], lines[0]


# -- demo ------------------------------------------------------------------------------------------

def test_demo_against_the_emulator(capsys):
    assert cli.main(["demo", "--emulator"]) == 0
    out = capsys.readouterr().out
    assert "using the built-in emulator" in out
    assert out.count("complete -> 'Paris is the capital of France.'") == 2  # sync and async tours
    assert out.count("called get_weather") == 2
    assert "== async (import llmunified_async) ==" in out


def test_demo_skips_an_embedding_model_of_a_local_ollama(monkeypatch, capsys):
    with Emulator(models={"ollama": ["nomic-embed-text:latest", "llama3.2:1b"]}) as emu:
        monkeypatch.setenv("OLLAMA_HOST", emu.base_url)
        monkeypatch.setenv("LMSTUDIO_BASE_URL", f"http://127.0.0.1:{closed_port()}/v1")
        assert cli.main(["demo"]) == 0
        chats = [r for r in emu.requests if r.path == "/api/chat"]
        url = emu.base_url
    out = capsys.readouterr().out
    assert f"using local Ollama at {url}" in out and "model: ollama/llama3.2:1b" in out
    assert chats and {r.json["model"] for r in chats} == {"llama3.2:1b"}


class OllamaWithShow(Ollama):
    """An Ollama that tells each model's capabilities (``POST /api/show``), like Ollama >= 0.6."""

    CAPABILITIES = {"all-minilm": ["embedding"], "plain:1b": ["completion"], "tooly:8b": ["completion", "tools"]}
    routes = Ollama.routes + (Route("POST", "/api/show", "show"),)

    def serve(self, endpoint, request, models):
        if endpoint == "show":
            from llmunified.testing._dialects._base import Answer
            import json

            caps = self.CAPABILITIES.get(request.json.get("model"), [])
            return Answer(200, json.dumps({"capabilities": caps}).encode(), self.json_content_type)
        return super().serve(endpoint, request, models)


def test_demo_prefers_a_local_model_that_takes_tools(monkeypatch):
    dialects = [d if d.name != "ollama" else OllamaWithShow() for d in DIALECTS]
    with Emulator(models={"ollama": ["all-minilm", "plain:1b", "tooly:8b"]}, dialects=dialects) as emu:
        monkeypatch.setenv("OLLAMA_HOST", emu.base_url)
        monkeypatch.setenv("LMSTUDIO_BASE_URL", f"http://127.0.0.1:{closed_port()}/v1")
        found, notes = cli.local_models()
    assert [model for _, model, _ in found] == ["ollama/tooly:8b", "ollama/plain:1b"] and notes == []


def test_demo_falls_back_to_the_emulator_when_the_local_model_cannot_chat(monkeypatch, capsys):
    with Emulator(models={"ollama": ["broken:latest"]}) as emu:
        emu.reply(status=400, error='"broken:latest" does not support chat')
        monkeypatch.setenv("OLLAMA_HOST", emu.base_url)
        monkeypatch.setenv("LMSTUDIO_BASE_URL", f"http://127.0.0.1:{closed_port()}/v1")
        assert cli.main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "note: ollama/broken:latest could not chat" in out and "does not support chat" in out
    assert "using the built-in emulator (the local model failed)" in out
    assert out.count("called get_weather") == 2 and out.rstrip().endswith("done.")


def test_demo_says_why_when_a_local_ollama_has_only_embedding_models(monkeypatch, capsys):
    with Emulator(models={"ollama": ["nomic-embed-text:latest"]}) as emu:
        monkeypatch.setenv("OLLAMA_HOST", emu.base_url)
        monkeypatch.setenv("LMSTUDIO_BASE_URL", f"http://127.0.0.1:{closed_port()}/v1")
        assert cli.main(["demo"]) == 0
        url = emu.base_url
    out = capsys.readouterr().out
    assert f"note: the Ollama at {url} has no chat model" in out
    assert "using the built-in emulator (no local chat model)" in out


def test_demo_into_a_closed_pipe_exits_141_without_a_traceback():
    proc = subprocess.Popen([sys.executable, "-m", "llmunified", "demo", "--emulator"], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_env(), cwd=ROOT)
    proc.stdout.close()  # the reader is gone before the first write, like `| head` after its lines
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=60) == 141
    assert err == ""


def test_demo_piped_into_head():
    proc = subprocess.run(f"'{sys.executable}' -m llmunified demo --emulator | head -n 1", shell=True,
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env=clean_env(), cwd=ROOT, timeout=60, universal_newlines=True)
    assert proc.stdout.startswith("llmunified ") and proc.stdout.count("\n") == 1
    assert proc.stderr == ""


# -- chat, one shot and piped ----------------------------------------------------------------------

def test_chat_streams_one_reply(emulator, monkeypatch, capsys):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    emulator.reply(text="Hi from the model", chunk_size=2)
    code = cli.main(["chat", "-m", "openai/x", "--base-url", emulator.url_for("openai"), "-s", "Be terse", "Hello"])
    assert code == 0
    captured = capsys.readouterr()
    assert captured.out == "Hi from the model\n" and captured.err == ""
    body = emulator.last_request.json
    assert [m["role"] for m in body["messages"]] == ["system", "user"]


def test_piped_text_comes_before_the_prompt_and_stdout_is_only_the_answer(emulator, tmp_path):
    emulator.reply(text="A short summary.", thinking="Reading the file first.", chunk_size=3)
    code, out, err = run("chat", "-m", "anthropic/claude-x", "summarise", "this",
                         stdin="line one\nline two\n", env=clean_env(LLMUNIFIED_EMULATOR=emulator.base_url))
    assert (code, out, err) == (0, "A short summary.\n", "")  # no thinking, colour or spinner off a terminal
    sent = emulator.last_request.json["messages"][-1]["content"]
    text = sent if isinstance(sent, str) else "".join(part["text"] for part in sent)
    assert text == "line one\nline two\n\nsummarise this"


def test_usage_goes_to_stderr_and_thinking_can_be_asked_for_off_a_terminal(emulator):
    emulator.reply(text="Answer.", thinking="Pondering.", usage=(12, 5))
    code, out, err = run("chat", "--thinking", "--usage", "-m", "anthropic/claude-x", "Q",
                         env=clean_env(LLMUNIFIED_EMULATOR=emulator.base_url))
    assert code == 0
    assert out == "[thinking]\nPondering.\n[end of thinking]\n\nAnswer.\n"
    assert re.fullmatch(r"12 in \+ 5 out = 17 tokens, \d+\.\d s\n", err), err
    assert not SGR.search(out + err)


def test_the_usage_line_shows_the_cost_when_the_response_has_one():
    class Cost:
        total, currency = 0.00123, "USD"

    class Usage:
        input_tokens, output_tokens, reasoning_tokens, cache_read_tokens, estimated = 1000, 200, 0, 0, False

    class WithCost:
        usage, cost = Usage(), Cost()

    class WithoutCost:
        usage = Usage()

    assert cli.usage_line(WithCost(), 1.25) == "1000 in + 200 out = 1200 tokens, cost $0.00123, 1.2 s"
    assert cli.usage_line(WithoutCost(), 1.25) == "1000 in + 200 out = 1200 tokens, 1.2 s"
    totals = cli.Totals()
    totals.add(WithCost())
    totals.add(WithCost())
    assert totals.describe() == "2 replies: 2000 in + 400 out = 2400 tokens, cost $0.00246"


def test_a_file_argument_and_a_system_file(emulator, tmp_path):
    (tmp_path / "q.txt").write_text("What is in this file?", encoding="utf-8")
    (tmp_path / "sys.txt").write_text("Answer in French.", encoding="utf-8")
    emulator.reply(text="Rien.")
    code, out, err = run("chat", "-m", "openai/x", "-s", f"@{tmp_path / 'sys.txt'}", f"@{tmp_path / 'q.txt'}",
                         env=clean_env(LLMUNIFIED_EMULATOR=emulator.base_url))
    assert (code, out) == (0, "Rien.\n"), err
    messages = emulator.last_request.json["messages"]
    assert messages == [{"role": "system", "content": "Answer in French."},
                        {"role": "user", "content": "What is in this file?"}]


def test_interactive_chat_from_a_pipe_keeps_history_and_runs_commands(emulator, tmp_path):
    emulator.reply(text="first answer")
    emulator.reply(text="second answer")
    saved = tmp_path / "chat.json"
    script = f'hello\n/usage\n"""\nline one\nline two\n"""\n/save {saved}\n/exit\n'
    code, out, err = run("chat", "-i", "-m", "ollama/x", stdin=script,
                         env=clean_env(LLMUNIFIED_EMULATOR=emulator.base_url))
    assert code == 0, err
    assert "first answer" in out and "second answer" in out and "1 reply:" in out
    assert f"saved 4 messages to {saved}" in out
    roles = [m["role"] for m in emulator.requests[1].json["messages"]]
    assert roles == ["user", "assistant", "user"]
    assert emulator.requests[1].json["messages"][-1]["content"] == "line one\nline two"
    assert saved.exists()


def test_interactive_mistakes_are_one_line_and_the_session_goes_on(emulator, tmp_path):
    emulator.reply(text="still answering")
    (tmp_path / "corrupt.json").write_text("{not json", encoding="utf-8")
    script = (f"/save {tmp_path / 'no' / 'such' / 'dir' / 'chat.json'}\n/load {tmp_path / 'corrupt.json'}\n"
              "/model nosuch/model\n/usage sideways\n/frobnicate\nhello\n")
    code, out, err = run("chat", "-i", "-m", "ollama/x", stdin=script,
                         env=clean_env(LLMUNIFIED_EMULATOR=emulator.base_url))
    assert code == 0 and "still answering" in out
    lines = err.splitlines()
    assert len(lines) == 5 and all(line.startswith("llmunified: error: ") for line in lines), err
    assert "No such file or directory" in lines[0] and "corrupt.json" in lines[1]
    assert "unknown provider 'nosuch'" in lines[2] and "on or off" in lines[3] and "/frobnicate" in lines[4]
    assert (tmp_path / "corrupt.json").read_text(encoding="utf-8") == "{not json"


def test_the_api_key_can_come_from_a_file_and_is_never_shown(emulator, tmp_path):
    (tmp_path / "key").write_text("sk-from-a-file\n", encoding="utf-8")
    emulator.reply(text="ok")
    code, out, err = run("chat", "-m", "openai/x", "--api-key", f"@{tmp_path / 'key'}", "hi",
                         env=clean_env(LLMUNIFIED_EMULATOR=emulator.base_url))
    assert (code, out, err) == (0, "ok\n", "")
    assert emulator.last_request.headers["authorization"] == "Bearer sk-from-a-file"


def test_chat_with_the_built_in_emulator_needs_no_key():
    code, out, err = run("chat", "--emulator", "Hello", "there")
    assert (code, out, err) == (0, "You said: Hello there\n", "")


def test_providers_and_python_m(capsys):
    assert cli.main(["providers"]) == 0
    assert "ANTHROPIC_API_KEY" in capsys.readouterr().out
    code, out, err = run("--help")
    assert code == 0 and "demo" in out and "exit codes:" in out


def test_the_emulator_command_serves_until_interrupted():
    import signal
    import urllib.request

    port = closed_port()
    # SIGINT restored to its default in the child: a suite run from a background job inherits it ignored
    proc = subprocess.Popen([sys.executable, "-m", "llmunified", "emulator", "--port", str(port)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=clean_env(), cwd=ROOT, universal_newlines=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        first = proc.stdout.readline()
        assert f"listening on http://127.0.0.1:{port}" in first
        assert f"export LLMUNIFIED_EMULATOR=http://127.0.0.1:{port}" in proc.stdout.readline()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/tags", timeout=5) as resp:
            assert resp.status == 200
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0 and "stopped." in out and err == ""


# -- misuse: one line on stderr, a documented exit code ---------------------------------------------

def test_the_exit_codes_are_documented():
    doc = cli.__doc__
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    for code in cli.EXIT_CODES:
        assert re.search(rf"^\s*{code}\s", doc, re.M), code
        assert re.search(rf"^\| `{code}` \|", readme, re.M), f"exit code {code} is not in the README's table"


@pytest.mark.parametrize("args, code, needles", [
    (["chat", "-m", "nosuch/model", "hi"], 3, ["unknown provider 'nosuch'"]),
    (["chat", "-m", "gpt-4o", "hi"], 3, ["provider/model"]),
    (["chat", "-m", "openai/gpt-4o-mini", "hi"], 3, ["OPENAI_API_KEY", "--api-key"]),
    (["chat", "-m", "vertex/claude-sonnet-4-5", "--api-key", "k", "hi"], 3, ["-o project=..."]),
    (["chat", "-m", "azure/my-deployment", "--api-key", "k", "hi"], 3, ["AZURE_OPENAI_ENDPOINT", "--base-url "]),
    (["chat", "-m", "openai/x", "--base-url", "localhost:1234/v1", "--api-key", "k", "hi"], 3, ["http://"]),
    (["chat", "-m", "openai/x", "@/no/such/file.txt"], 2, ["cannot read @/no/such/file.txt", "No such file"]),
    (["chat", "-m", "openai/x", "-s", "@/no/such/system.txt", "hi"], 2, ["cannot read @/no/such/system.txt"]),
    (["chat", "-m", "openai/x", "-t", "abc", "hi"], 2, ["--temperature", "'abc' is not a number"]),
    (["chat", "-m", "openai/x", "-t", "5", "hi"], 2, ["between 0 and 2"]),
    (["chat", "-m", "openai/x", "--max-tokens", "0", "hi"], 2, ["--max-tokens"]),
    (["chat", "-m", "openai/x", "--reasoning", "extreme", "hi"], 2, ["--reasoning"]),
    (["chat", "-m", "openai/x", "-o", "nonsense", "hi"], 2, ["NAME=VALUE"]),
    (["chat", "-m", "openai/x", "--api-key", "k", "-o", "bogus=1", "hi"], 2, ["unknown option(s) bogus"]),
    (["chat", "--frobnicate", "hi"], 2, ["unrecognized arguments: --frobnicate"]),
    (["chat", "hi"], 2, ["no model", "-m provider/model"]),
    (["chat", "-m", "openai/x"], 2, ["nothing to send"]),
    (["frobnicate"], 2, ["invalid choice"]),
], ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_misuse_ends_with_one_line_and_its_exit_code(args, code, needles):
    got, out, err = run(*args)
    assert_one_error_line(err, got, code, *needles)
    assert out == ""


def test_an_unreachable_server():
    got, out, err = run("chat", "-m", "openai/x", "--api-key", "sk-secret-value", "--max-retries", "0",
                        "--base-url", f"http://127.0.0.1:{closed_port()}/v1", "hi")
    assert_one_error_line(err, got, 6)
    assert "sk-secret-value" not in out + err


@pytest.mark.parametrize("status, code, needle", [
    (401, 4, "401"), (403, 4, "403"), (404, 5, "is the model name right?"), (400, 1, "400"), (500, 1, "500"),
])
def test_provider_errors_map_to_exit_codes(emulator, status, code, needle):
    emulator.reply(status=status, error="nope, sk-the-key-value is wrong")
    got, out, err = run("chat", "-m", "openai/x", "--api-key", "sk-the-key-value", "--max-retries", "0", "hi",
                        env=clean_env(LLMUNIFIED_EMULATOR=emulator.base_url))
    assert_one_error_line(err, got, code, needle)
    assert "sk-the-key-value" not in out + err  # the library scrubs a key the server echoes


def test_a_stream_that_breaks_is_a_failure_with_the_partial_answer_shown(emulator):
    emulator.reply(text="partial answer that never ends", chunk_size=8, break_after=3)
    got, out, err = run("chat", "-m", "ollama/x", "--max-retries", "0", "hi",
                        env=clean_env(LLMUNIFIED_EMULATOR=emulator.base_url))
    assert_one_error_line(err, got, 1)


def test_models_info_prints_limits_capabilities_and_prices(capsys):
    assert cli.main(["models", "info", "anthropic/claude-sonnet-4-5-20250929"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("anthropic/claude-sonnet-4-5")
    assert re.search(r"context window\s+200000", out) and re.search(r"tools\s+yes", out)
    assert "prices per 1M tokens" in out and "USD" in out and "source" in out


def test_models_info_json_and_base_model(capsys):
    import json

    assert cli.main(["models", "info", "azure/prod-chat", "--base-model", "gpt-4o", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["known"] is True and data["model"] == "azure/gpt-4o"
    assert data["prices"]["currency"] == "USD" and data["prices"]["input"] > 0


def test_models_info_on_an_unknown_model_is_not_an_error(capsys):
    assert cli.main(["models", "info", "ollama/my-finetune"]) == 0
    assert "not in the registry" in capsys.readouterr().out


def test_models_misuse_is_one_line():
    code, out, err = run("models")
    assert_one_error_line(err, code, 2, "models info")
    code, out, err = run("models", "info", "nope/x")
    assert_one_error_line(err, code, 3, "unknown provider")
