"""``llmunified batch submit|status|results|cancel`` against the emulator: the job id, its status
as a JSON line, one JSON line per request in input order, and the exit codes of bad input."""
import json

import pytest

from llmunified import cli
from llmunified.testing import Emulator


def lines(out):
    return [json.loads(line) for line in out.splitlines()]


@pytest.fixture
def emu(monkeypatch):
    """An emulator every client of this process talks to, across several commands."""
    with Emulator() as emulator:
        monkeypatch.setenv("LLMUNIFIED_EMULATOR", emulator.base_url)
        monkeypatch.delenv("LLMUNIFIED_MODEL", raising=False)
        yield emulator


@pytest.fixture
def requests_file(tmp_path):
    path = tmp_path / "requests.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in [
        "first prompt",
        [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "second"}],
        {"messages": "third", "max_tokens": 20, "custom_id": "c3"},
    ]) + "\n", encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("model", ["openai/gpt-4o-mini", "anthropic/claude-sonnet-4-5", "gemini/gemini-2.5-flash"])
def test_submit_status_results(capsys, emu, requests_file, model):
    emu.script_batches("completed", polls=0)
    emu.reply(text="one")
    emu.reply(status=400, error="no good")
    assert cli.main(["batch", "submit", requests_file, "-m", model]) == 0
    job_id = capsys.readouterr().out.strip()
    assert job_id and "\n" not in job_id
    assert cli.main(["batch", "status", job_id, "-m", model]) == 0
    status = lines(capsys.readouterr().out)[0]
    assert status["id"] == job_id and status["status"] == "completed" and status["counts"]["total"] == 3
    assert cli.main(["batch", "results", job_id, "-m", model]) == 0
    got = lines(capsys.readouterr().out)
    if model.startswith("anthropic"):
        # resumed without its ids, an Anthropic job cannot tell where an id of the caller's own was: it
        # comes as the results file has it, index None (the default ids say their place)
        assert [g["index"] for g in got if g["custom_id"] == "c3"] == [None]
        got = [g for g in got if g["custom_id"] != "c3"] + [dict(g, index=2) for g in got if g["custom_id"] == "c3"]
    assert [g["custom_id"] for g in got] == ["request-0", "request-1", "c3"]
    assert [g["index"] for g in got] == [0, 1, 2]
    assert got[0]["text"] == "one" and got[2]["text"] == "You said: third"
    assert got[1]["error"]["type"] == "BadRequestError" and got[1]["error"]["status"] == 400


def test_submit_wait_with_the_builtin_emulator(capsys, monkeypatch, requests_file):
    monkeypatch.delenv("LLMUNIFIED_EMULATOR", raising=False)
    assert cli.main(["batch", "submit", requests_file, "--emulator", "--wait", "--poll", "0.01"]) == 0
    got = lines(capsys.readouterr().out)
    assert [g["text"] for g in got] == ["You said: first prompt", "You said: second", "You said: third"]


def test_options_apply_to_every_request(capsys, emu, requests_file):
    assert cli.main(["batch", "submit", requests_file, "-m", "anthropic/claude-x", "-o", "temperature=0.25"]) == 0
    body = emu.last_request.json
    assert [r["params"]["temperature"] for r in body["requests"]] == [0.25, 0.25, 0.25]
    assert body["requests"][2]["params"]["max_tokens"] == 20


def test_cancel_and_results_too_early(capsys, emu, requests_file):
    emu.script_batches("completed", polls=10)
    assert cli.main(["batch", "submit", requests_file, "-m", "openai/gpt-4o-mini"]) == 0
    job_id = capsys.readouterr().out.strip()
    assert cli.main(["batch", "results", job_id, "-m", "openai/gpt-4o-mini"]) != 0
    assert "wait" in capsys.readouterr().err
    assert cli.main(["batch", "cancel", job_id, "-m", "openai/gpt-4o-mini"]) == 0
    assert lines(capsys.readouterr().out)[0]["status"] == "cancelling"


def test_bad_input(capsys, emu, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('"ok"\n{not json\n', encoding="utf-8")
    assert cli.main(["batch", "submit", str(bad), "-m", "openai/gpt-4o-mini"]) != 0
    assert "bad.jsonl:2" in capsys.readouterr().err
    dup = tmp_path / "dup.jsonl"
    dup.write_text('{"messages": "a", "custom_id": "x"}\n{"messages": "b", "custom_id": "x"}\n', encoding="utf-8")
    assert cli.main(["batch", "submit", str(dup), "-m", "openai/gpt-4o-mini"]) != 0
    assert "duplicate" in capsys.readouterr().err
    assert cli.main(["batch", "status", "batch_nope", "-m", "openai/gpt-4o-mini"]) != 0
    assert "batch_nope" in capsys.readouterr().err
    assert cli.main(["batch", "submit", str(dup), "-m", "ollama/llama3.2"]) != 0
    assert "map" in capsys.readouterr().err
    assert emu.requests == [r for r in emu.requests if r.path != "/v1/files"]  # nothing uploaded for bad input


@pytest.mark.parametrize("mode", ["inline", "file"])
def test_gemini_mode_chooses_inline_requests_or_an_uploaded_file(capsys, emu, requests_file, mode):
    emu.script_batches("completed", polls=0)
    model = "gemini/gemini-2.5-flash"
    assert cli.main(["batch", "submit", requests_file, "-m", model, "--mode", mode, "--wait", "--poll", "0.01"]) == 0
    got = lines(capsys.readouterr().out)
    assert [g["text"] for g in got] == ["You said: first prompt", "You said: second", "You said: third"]
    submitted = [r for r in emu.requests if r.path.endswith(":batchGenerateContent")][-1].json["batch"]
    uploads = [r for r in emu.requests if r.path.startswith("/upload/")]
    if mode == "file":
        assert "fileName" in submitted["inputConfig"] and uploads
    else:
        assert "requests" in submitted["inputConfig"] and not uploads


def test_mode_is_checked(capsys, emu, requests_file):
    assert cli.main(["batch", "submit", requests_file, "-m", "gemini/gemini-2.5-flash", "--mode", "disk"]) != 0
    assert "--mode" in capsys.readouterr().err
    assert emu.requests == []
