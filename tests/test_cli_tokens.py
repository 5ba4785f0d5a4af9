"""``llmunified tokens``: the count and whether it is exact (plain or --json), with --emulator, a
local count where the provider has no endpoint, and every misuse ending in one line on stderr
with its documented exit code. Only 127.0.0.1 is ever contacted."""
import json
import os

import pytest

from llmunified import cli
from llmunified.testing import Emulator, Reply
from llmunified.testing._counting import PER_MESSAGE, count_text
from tests.test_cli import clean_env, run


@pytest.fixture(autouse=True)
def scrubbed(monkeypatch):
    """No key, URL or emulator of the developer's shell reaches the command."""
    kept = clean_env()
    for name in list(os.environ):
        if name not in kept:
            monkeypatch.delenv(name)
    for var in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY", "LLMUNIFIED_EMULATOR",
                "LLMUNIFIED_MODEL"):
        monkeypatch.delenv(var, raising=False)


def tokens(capsys, *args):
    code = cli.main(["tokens", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_emulator_counts_exactly(capsys):
    code, out, err = tokens(capsys, "--emulator", "Hello there,", "world")
    assert code == 0 and err == ""
    assert out == f"{count_text('Hello there, world') + PER_MESSAGE} tokens (exact: counted by anthropic)\n"
    assert "LLMUNIFIED_EMULATOR" not in os.environ, "the variable is restored"


def test_json_with_a_system_prompt(capsys, tmp_path):
    system = tmp_path / "system.txt"
    system.write_text("Be terse.", encoding="utf-8")
    code, out, _ = tokens(capsys, "--emulator", "--json", "-s", f"@{system}", "Hi")
    assert code == 0
    assert json.loads(out) == {"tokens": count_text("Be terse.") + count_text("Hi") + PER_MESSAGE, "exact": True,
                               "source": "provider", "model": "anthropic/claude-sonnet-4-5"}


@pytest.mark.parametrize("model", ["gemini/gemini-2.5-flash", "anthropic/claude-haiku-4-5"])
def test_emulator_other_models(capsys, model):
    code, out, _ = tokens(capsys, "--emulator", "-m", model, "--json", "one two three")
    assert code == 0 and json.loads(out)["exact"] is True and json.loads(out)["model"] == model


def test_a_file_as_the_text(capsys, tmp_path):
    path = tmp_path / "prompt.txt"
    path.write_text("alpha beta gamma delta", encoding="utf-8")
    code, out, _ = tokens(capsys, "--emulator", "--json", f"@{path}")
    assert code == 0 and json.loads(out)["tokens"] == 4 + PER_MESSAGE


def test_no_endpoint_is_a_local_count_without_a_key(capsys, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "tiktoken", None)  # the estimate, whatever is installed
    code, out, err = tokens(capsys, "-m", "openai/gpt-4o-mini", "Hello there")
    assert code == 0 and err == ""
    assert out.endswith("tokens (not exact: an estimate; this provider has no token-counting endpoint)\n")
    code, out, _ = tokens(capsys, "-m", "cohere/command-a-03-2025", "--json", "Hello there")
    data = json.loads(out)
    assert code == 0 and (data["exact"], data["source"]) == (False, "estimate") and data["tokens"] > 0


def test_local_flag_never_asks(capsys):
    with Emulator() as emu:
        os.environ["LLMUNIFIED_EMULATOR"] = emu.base_url
        try:
            code, out, _ = tokens(capsys, "-m", "anthropic/claude-sonnet-4-5", "--local", "--json", "Hello")
        finally:
            del os.environ["LLMUNIFIED_EMULATOR"]
        assert emu.requests == []
    assert code == 0 and json.loads(out)["exact"] is False


def test_options_and_settings(capsys):
    with Emulator() as emu:
        os.environ["LLMUNIFIED_EMULATOR"] = emu.base_url
        try:
            code, out, _ = tokens(capsys, "-m", "vertex/gemini-2.5-flash", "-o", "project=my-project",
                                  "-o", "location=europe-west4", "--timeout", "30", "--json", "Hi")
        finally:
            del os.environ["LLMUNIFIED_EMULATOR"]
        [request] = emu.requests
    assert code == 0 and json.loads(out)["exact"] is True
    assert "/projects/my-project/locations/europe-west4/" in request.path and request.violations == []


@pytest.mark.parametrize("status, code", [(401, 4), (404, 5), (400, 1), (429, 1)])
def test_provider_errors_have_their_exit_codes(capsys, status, code):
    with Emulator() as emu:
        emu.reply(Reply(status=status, error="scripted failure", endpoint="count_tokens"))
        os.environ["LLMUNIFIED_EMULATOR"] = emu.base_url
        try:
            got, out, err = tokens(capsys, "-m", "anthropic/claude-sonnet-4-5", "--max-retries", "0", "Hi")
        finally:
            del os.environ["LLMUNIFIED_EMULATOR"]
    assert got == code and out == ""
    assert err.count("\n") == 1 and "scripted failure" in err and "Traceback" not in err


@pytest.mark.parametrize("args, code, words", [
    (["--emulator"], 2, "nothing to count"),
    (["--emulator", "   "], 2, "nothing to count"),
    (["Hi"], 2, "no model"),
    (["-m", "anthropic/claude-sonnet-4-5", "Hi"], 3, "ANTHROPIC_API_KEY"),
    (["-m", "nosuch/model", "Hi"], 3, "nosuch"),
    (["--emulator", "@/no/such/file.txt"], 2, "cannot read"),
    (["--emulator", "--timeout", "soon", "Hi"], 2, "timeout"),
])
def test_mistakes(capsys, args, code, words):
    got, out, err = tokens(capsys, *args)
    assert got == code and out == ""
    assert words in err and err.count("\n") == 1 and "Traceback" not in err


def test_piped_text_in_a_child_process():
    code, out, err = run("tokens", "--emulator", "--json", "and more", stdin="piped words here\n")
    assert code == 0, err
    data = json.loads(out)
    assert data["tokens"] == count_text("piped words here\n\nand more") + PER_MESSAGE and data["exact"] is True


def test_help_lists_the_command():
    code, out, _ = run("--help")
    assert code == 0 and "tokens" in out
    code, out, _ = run("tokens", "--help")
    assert code == 0 and "--json" in out and "exact" in out
