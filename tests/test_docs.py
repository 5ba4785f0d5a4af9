"""Every ```python block of README.md and docs/*.md runs, so the documentation cannot rot.

How the blocks run:

* The blocks of one file run in order in one namespace, like a notebook: a block may use what an
  earlier one defined (``client``, ``get_weather``...). A block that imports ``llmunified_async``
  is a program of its own (the async twin reuses the names ``llm``, ``Client``...) and runs in a
  copy of the namespace.
* ``LLMUNIFIED_EMULATOR`` points every client at an emulator (provider keys are removed from the
  environment), which echoes, and answers a request for structured output or a forced tool
  call with a value that fits its schema. A block that brings its own emulator (``Emulator(``,
  ``llm_emulator``) runs without the switch.
* ``test_*`` functions a block defines are called (with ``llm_emulator``, ``monkeypatch`` and
  ``tmp_path`` when they ask for them), and ``unittest.TestCase`` classes are run.
* Top-level ``await`` / ``async with`` is allowed (run with ``asyncio.run``).
* A block that must not run says so on the line just above its fence, with the reason:
  ``<!-- not run: needs client certificates -->``. Keep that set small (checked below).
"""
import ast
import asyncio
import inspect
import io
import os
import re
import sys
import types
import unittest

import pytest

from llmunified.testing import Emulator, Reply, ToolCallSpec
from llmunified.testing._render import last_user_text
from tests.test_cli import ROOT, clean_env

DOCS = ["README.md"] + sorted(os.path.join("docs", f) for f in os.listdir(os.path.join(ROOT, "docs"))
                              if f.endswith(".md"))
NOT_RUN = re.compile(r"<!--\s*not run:\s*(.+?)\s*-->")
MAX_NOT_RUN = 2


def blocks(path):
    """``(line, language, source, not_run_reason)`` of each fenced block of a Markdown file."""
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        lines = f.read().splitlines()
    out, i = [], 0
    while i < len(lines):
        fence = re.match(r"^(\s*)```(\w*)\s*$", lines[i])
        if not fence:
            i += 1
            continue
        start, indent, language = i, len(fence.group(1)), fence.group(2)
        i += 1
        body = []
        while i < len(lines) and not re.match(r"^\s*```\s*$", lines[i]):
            body.append(lines[i][indent:])
            i += 1
        i += 1
        before = next((lines[j] for j in range(start - 1, -1, -1) if lines[j].strip()), "")
        reason = NOT_RUN.search(before)
        out.append((start + 1, language, "\n".join(body) + "\n", reason.group(1) if reason else None))
    return out


def sample(schema, defs=None):
    """A value that fits a JSON Schema (what a well-behaved model would answer)."""
    defs = defs if defs is not None else schema.get("$defs", schema.get("definitions", {}))
    if "$ref" in schema:
        return sample(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"] or schema[key]
            return sample(options[0], defs)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        return {name: sample(sub, defs) for name, sub in schema.get("properties", {}).items()}
    if kind == "array":
        return [sample(schema.get("items", {"type": "string"}), defs)]
    return {"string": "Paris", "integer": 2, "number": 2.5, "boolean": True, "null": None}[kind]


def docs_reply(request):
    """Echo, or a value that fits the schema when the request asks for structured output."""
    import json

    body = request.json if isinstance(request.json, dict) else {}
    fmt = body.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        return Reply(text=json.dumps(sample(fmt["json_schema"]["schema"])))
    if isinstance(body.get("format"), dict):  # Ollama
        return Reply(text=json.dumps(sample(body["format"])))
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") == "tool":  # Anthropic's forced tool
        tool = next(t for t in body["tools"] if t["name"] == choice["name"])
        return Reply(tool_calls=[ToolCallSpec(tool["name"], sample(tool["input_schema"]))])
    return Reply(text="You said: " + last_user_text(body))


def call_test_function(fn, monkeypatch_factory, tmp_path):
    kwargs = {}
    with Emulator() as emu, monkeypatch_factory() as mp:
        for name in inspect.signature(fn).parameters:
            kwargs[name] = {"llm_emulator": emu, "monkeypatch": mp, "tmp_path": tmp_path}[name]
        fn(**kwargs)


def module_namespace(name, contents, monkeypatch):
    """The globals of a module registered in sys.modules (typing and dataclasses look a class's
    module up there to resolve its annotations), starting with ``contents``."""
    module = types.ModuleType(name)
    module.__dict__.update({k: v for k, v in contents.items() if not k.startswith("__")})
    monkeypatch.setitem(sys.modules, name, module)
    return module.__dict__


def run_block(source, namespace, where):
    code = compile(source, where, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    result = eval(code, namespace)  # noqa: S307 - our own documentation
    if inspect.iscoroutine(result):
        asyncio.run(result)


@pytest.mark.parametrize("path", DOCS)
def test_code_blocks_run(path, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for var in set(os.environ) - set(clean_env()):  # provider keys and URLs of this shell
        monkeypatch.delenv(var, raising=False)
    namespace = module_namespace("__docs__", {}, monkeypatch)
    ran = 0
    with Emulator(default_reply=docs_reply) as emulator:
        for line, language, source, reason in blocks(path):
            if language != "python" or reason:
                continue
            where = f"{path}:{line}"
            own = "Emulator(" in source or "llm_emulator" in source
            if own:
                monkeypatch.delenv("LLMUNIFIED_EMULATOR", raising=False)
            else:
                monkeypatch.setenv("LLMUNIFIED_EMULATOR", emulator.base_url)
            scope = (module_namespace("__docs_async__", namespace, monkeypatch) if "import llmunified_async" in source
                     else namespace)
            before = {k: v for k, v in scope.items()}
            try:
                run_block(source, scope, where)
                for name, value in list(scope.items()):
                    if before.get(name) is value:
                        continue
                    if name.startswith("test") and inspect.isfunction(value):
                        call_test_function(value, pytest.MonkeyPatch.context, tmp_path)
                    elif inspect.isclass(value) and issubclass(value, unittest.TestCase):
                        result = unittest.TextTestRunner(stream=io.StringIO(), verbosity=0).run(
                            unittest.defaultTestLoader.loadTestsFromTestCase(value))
                        assert result.wasSuccessful(), result.failures + result.errors
            except Exception as exc:
                raise AssertionError(f"the code block at {where} failed: {type(exc).__name__}: {exc}") from exc
            ran += 1
        assert emulator.internal_errors == []
    if any(lang == "python" for _, lang, _, _ in blocks(path)):
        assert ran, f"{path} has python blocks but none runs"


def test_few_blocks_are_left_out_and_each_says_why():
    skipped = [(path, line, reason) for path in DOCS for line, lang, _, reason in blocks(path) if reason]
    assert len(skipped) <= MAX_NOT_RUN, skipped
    assert all(len(reason) > 10 for _, _, reason in skipped)


def test_the_readme_commands_are_what_ci_runs():
    """The README's two setup commands, verbatim in .ci/run: CI proves them on a fresh machine."""
    shell = [source.strip() for _, lang, source, _ in blocks("README.md") if lang == "sh"][:2]
    with open(os.path.join(ROOT, ".ci", "run"), encoding="utf-8") as f:
        ci = f.read()
    assert len(shell) == 2
    for command in shell:
        assert command in ci, f"README command not run by CI: {command}"
    assert "pip install -q tox" not in shell[1], "the README's test command must work with one Python"
