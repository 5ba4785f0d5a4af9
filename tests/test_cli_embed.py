"""``llmunified embed``: one JSON line per input, options, standard input, @files, the emulator and
the exit codes of its failures."""
import json

import pytest

from llmunified import cli
from llmunified.testing import Emulator, embedding_vector
from tests.test_cli import assert_one_error_line, clean_env, run


def lines(out):
    return [json.loads(line) for line in out.splitlines()]


@pytest.fixture
def emu(monkeypatch):
    """An emulator every client of this process talks to (the command's own, unchanged)."""
    with Emulator() as emulator:
        monkeypatch.setenv("LLMUNIFIED_EMULATOR", emulator.base_url)
        monkeypatch.delenv("LLMUNIFIED_EMBED_MODEL", raising=False)
        yield emulator


def test_builtin_emulator_prints_one_line_per_input(capsys, monkeypatch):
    monkeypatch.delenv("LLMUNIFIED_EMULATOR", raising=False)
    assert cli.main(["embed", "--emulator", "hello", "world", "again"]) == 0
    got = lines(capsys.readouterr().out)
    assert [g["index"] for g in got] == [0, 1, 2]
    assert [g["embedding"] for g in got] == [embedding_vector(t) for t in ("hello", "world", "again")]


def test_options_reach_the_wire(capsys, emu):
    assert cli.main(["embed", "-m", "cohere/embed-v4.0", "--dimensions", "5", "--input-type", "search_query",
                     "-o", "truncate=\"end\"", "a", "b"]) == 0
    got = lines(capsys.readouterr().out)
    assert [g["embedding"] for g in got] == [embedding_vector("a", 5), embedding_vector("b", 5)]
    body = emu.last_request.json
    assert (body["output_dimension"], body["input_type"], body["truncate"]) == (5, "search_query", "END")


def test_batches_and_provider_settings(capsys, emu):
    texts = ["t%d" % i for i in range(5)]
    assert cli.main(["embed", "-m", "vertex/text-embedding-005", "-o", "project=my-project", "--batch-size", "2",
                     *texts]) == 0
    assert [g["embedding"] for g in lines(capsys.readouterr().out)] == [embedding_vector(t) for t in texts]
    assert len(emu.requests) == 3 and "/projects/my-project/" in emu.last_request.path


def test_lines_on_standard_input_and_files(capsys, emu, monkeypatch, tmp_path):
    piped = tmp_path / "in.txt"
    piped.write_text("first\n\nsecond\n", encoding="utf-8")
    with open(piped, encoding="utf-8") as stdin:
        monkeypatch.setattr("sys.stdin", stdin)
        assert cli.main(["embed", "-m", "ollama/nomic-embed-text"]) == 0
    assert [g["embedding"] for g in lines(capsys.readouterr().out)] == [embedding_vector("first"),
                                                                        embedding_vector("second")]
    doc = tmp_path / "doc.txt"
    doc.write_text("a whole document", encoding="utf-8")
    assert cli.main(["embed", "-m", "openai/text-embedding-3-small", "@" + str(doc)]) == 0
    assert lines(capsys.readouterr().out)[0]["embedding"] == embedding_vector("a whole document")


@pytest.mark.parametrize("argv, code, needle", [
    (["embed", "hi"], 2, "no model"),
    (["embed", "-m", "openai/text-embedding-3-small"], 2, "nothing to embed"),
    (["embed", "-m", "openai/text-embedding-3-small", "-o", "dimension=3", "hi"], 2, "'dimension'"),
    (["embed", "-m", "anthropic/claude-sonnet-4-5", "hi"], 3, "does not support embeddings"),
    (["embed", "-m", "openai/text-embedding-ada-002", "--dimensions", "8", "hi"], 2, "fixed size"),
])
def test_failures_are_one_line_with_their_exit_code(capsys, emu, argv, code, needle):
    assert cli.main(argv) == code
    captured = capsys.readouterr()
    assert captured.out == ""
    assert_one_error_line(captured.err, code, code, needle)
    assert emu.requests == []


def test_a_provider_error_names_the_inputs(capsys, emu):
    emu.reply(status=404, error="no such model")
    assert cli.main(["embed", "-m", "openai/nope", "--max-retries", "0", "a", "b"]) == 5
    err = capsys.readouterr().err
    assert_one_error_line(err, 5, 5, "no such model", "embedding inputs 0-1 of 2")


def test_the_command_in_a_child_process():
    code, out, err = run("embed", "--emulator", "--dimensions", "4", "x", env=clean_env())
    assert code == 0, err
    assert lines(out) == [{"index": 0, "embedding": embedding_vector("x", 4)}]
