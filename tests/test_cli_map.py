"""``llmunified map``: a prompts file (.txt or .jsonl) run with bounded concurrency, one JSON line
per result in input order (or appended to --out, which a rerun resumes from), the progress line
on stderr, per-item errors in the results and exit 1, and misuse as one error line. Only
127.0.0.1 is ever contacted (the emulator, in process or via --emulator)."""
import io
import json
import os

import pytest

from llmunified import cli
from llmunified._cli_map import _progress_line, read_items
from llmunified.testing import Emulator, Reply
from tests.test_cli import assert_one_error_line, clean_env, run


@pytest.fixture(autouse=True)
def scrubbed(monkeypatch):
    kept = clean_env()
    for name in list(os.environ):
        if name not in kept:
            monkeypatch.delenv(name)
    for var in ("OPENAI_API_KEY", "LLMUNIFIED_EMULATOR", "LLMUNIFIED_MODEL"):
        monkeypatch.delenv(var, raising=False)


def map_cli(capsys, *args):
    code = cli.main(["map", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_text_file_in_order_with_progress(capsys, tmp_path):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("first\n\nsecond\nthird ünï\n", encoding="utf-8")
    code, out, err = map_cli(capsys, "--emulator", str(prompts), "--concurrency", "3")
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert lines == [{"index": 0, "id": None, "text": "You said: first"},
                     {"index": 1, "id": None, "text": "You said: second"},
                     {"index": 2, "id": None, "text": "You said: third ünï"}]
    assert "3/3 done, 0 errors" in err
    assert "LLMUNIFIED_EMULATOR" not in os.environ


def test_jsonl_with_ids_options_and_errors(capsys, tmp_path):
    with Emulator() as emu:
        emu.queue(Reply(text="one"), Reply(status=400, error="refused prompt"))
        prompts = tmp_path / "requests.jsonl"
        prompts.write_text(json.dumps({"messages": "a", "id": "x", "temperature": 0.2}) + "\n" + json.dumps("b") + "\n",
                           encoding="utf-8")
        code, out, err = map_cli(capsys, "-m", "openai/test-model", "--base-url", emu.url_for("openai"),
                                 "--api-key", "sk-test", "-c", "1", "--max-retries", "0", "--max-tokens", "9",
                                 str(prompts))
        assert emu.requests[0].json["temperature"] == 0.2 and emu.requests[0].json["max_completion_tokens"] == 9
    assert code == 1  # an item failed: said in its result and in the exit code
    first, second = [json.loads(line) for line in out.splitlines()]
    assert first == {"index": 0, "id": "x", "text": "one"}
    assert second["error"]["type"] == "BadRequestError" and "refused prompt" in second["error"]["message"]
    assert "2/2 done, 1 error," in err


def test_out_file_resumes(capsys, tmp_path):
    prompts = tmp_path / "p.txt"
    prompts.write_text("a\nb\nc\n", encoding="utf-8")
    results = tmp_path / "out.jsonl"
    code, out, err = map_cli(capsys, "--emulator", str(prompts), "--out", str(results))
    assert code == 0 and out == ""
    assert "0 from an earlier run" in err
    recorded = [json.loads(line) for line in results.read_text(encoding="utf-8").splitlines()]
    assert sorted(r["index"] for r in recorded) == [0, 1, 2]
    assert recorded[0]["response"]["message"]["content"].startswith("You said: ")
    code, out, err = map_cli(capsys, "--emulator", str(prompts), "--out", str(results))
    assert code == 0 and "3 from an earlier run" in err
    assert len(results.read_text(encoding="utf-8").splitlines()) == 3


def test_stdin_and_system_prompt(capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("hello\n"))
    code, out, err = map_cli(capsys, "--emulator", "-", "-s", "Be terse.", "--no-progress")
    assert code == 0 and err == ""
    assert json.loads(out)["text"] == "You said: hello"


def test_read_items():
    assert read_items('"a"\n{"messages": "b", "id": 1}\n', None) == ["a", {"messages": "b", "id": 1}]
    assert read_items("plain words\n{not json\n", None) == ["plain words", "{not json"]
    assert read_items("q\n", False, "sys") == [[{"role": "system", "content": "sys"}, {"role": "user", "content": "q"}]]
    with pytest.raises(cli.UsageError, match="line 1 is not JSON"):
        read_items("oops\n", True)
    with pytest.raises(cli.UsageError, match="no prompts"):
        read_items("\n\n", False)


def test_progress_line():
    assert _progress_line(5, 10, 1, 0.0).startswith("\r[############------------] 5/10 done, 1 error,")


def test_misuse_is_one_error_line(tmp_path):
    code, out, err = run("map", "--emulator", str(tmp_path / "missing.txt"))
    assert_one_error_line(err, code, cli.EXIT_USAGE, "cannot read")
    empty = tmp_path / "empty.txt"
    empty.write_text("\n", encoding="utf-8")
    code, out, err = run("map", "--emulator", str(empty))
    assert_one_error_line(err, code, cli.EXIT_USAGE, "no prompts")
    code, out, err = run("map", "--emulator", "--concurrency", "0", str(empty))
    assert code == cli.EXIT_USAGE and "concurrency" in err
