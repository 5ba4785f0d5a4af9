"""The dataclass-method cache (llmunified._dccache): a fresh interpreter makes the same classes
from the cache as from compiling, writes it like a .pyc (and only then), survives a bad file, and
leaves other packages' dataclasses alone."""
import dataclasses
import json
import marshal
import os
import subprocess
import sys
import types

import pytest

from llmunified import _dccache

#: the execs @dataclass makes for a class with __init__, __repr__, __eq__ (3.13: one for them all)
EXECS = 1 if sys.version_info >= (3, 13) else 3
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# What a program sees of the classes: construction, defaults, repr, equality, frozen-ness and
# hashing of classes from both twins' first lookups and from the first call's registry load.
PROBE = """
import dataclasses, json, sys
import {package} as llm
from llmunified import _dccache
client = llm.Client('openai/gpt-4o-mini', api_key='sk-probe')
client._endpoint.capabilities() if hasattr(client, '_endpoint') else None
m = llm.user('hi')
usage = llm.Usage(input_tokens=1, output_tokens=2)
info = llm.PROVIDERS['openai']
try:
    info.name = 'x'
    frozen = 'not frozen'
except dataclasses.FrozenInstanceError as exc:
    frozen = str(exc)
facts = llm.model_info('openai/gpt-4o-mini')
print(json.dumps({{
    'stats': _dccache.stats,
    'seen': [repr(m), m == llm.user('hi'), m == llm.user('ho'), repr(usage), repr(info)[:60], frozen,
             hash(info) == hash(tuple(getattr(info, f.name) for f in dataclasses.fields(info) if f.hash is not False
                                       and (f.compare if f.hash is None else f.hash))),
             repr(facts)[:80], repr(llm.TextDelta(text='x'))]}}))
"""


def probe(tmp_path, package="llmunified", *flags, prefix=True):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")}
    if prefix:
        env["PYTHONPYCACHEPREFIX"] = str(tmp_path / "pycache")
    out = subprocess.run([sys.executable, *flags, "-c", PROBE.format(package=package)], capture_output=True,
                         text=True, cwd=ROOT, env=env, check=True)
    return json.loads(out.stdout)


def cache_file(tmp_path):
    found = [os.path.join(d, f) for d, _, fs in os.walk(tmp_path / "pycache") for f in fs
             if f.startswith("_dataclass_methods.") and f.endswith(".marshal")]
    assert len(found) <= 1, found
    return found[0] if found else None


@pytest.mark.parametrize("package", ["llmunified", "llmunified_async"])
def test_a_warm_start_makes_the_same_classes_without_compiling(tmp_path, package):
    cold = probe(tmp_path, package)
    assert cold["stats"]["compiled"] > 10 and cold["stats"]["cached"] == 0 and cold["stats"]["written"] >= 1
    assert cache_file(tmp_path) is not None
    warm = probe(tmp_path, package)
    assert warm["stats"] == {"compiled": 0, "cached": cold["stats"]["compiled"], "written": 0}
    assert warm["seen"] == cold["seen"]
    assert cold["seen"][1:3] == [True, False] and "cannot assign to field 'name'" in cold["seen"][5]
    assert cold["seen"][6] is True
    # and the same as a run that never touches the cache (-B: nothing written, compiled as usual)
    assert probe(tmp_path, package, "-B", prefix=False)["seen"] == cold["seen"]


def test_nothing_is_written_under_dont_write_bytecode(tmp_path):
    first = probe(tmp_path, "llmunified", "-B")
    assert first["stats"]["written"] == 0 and cache_file(tmp_path) is None
    assert probe(tmp_path, "llmunified", "-B")["stats"]["cached"] == 0


@pytest.mark.parametrize("content", [b"", b"not marshal data at all", b"\xe3\x00\x00",
                                     marshal.dumps((("other magic", "other version"), {"x": "y"})),
                                     marshal.dumps(["a list, not a header and a dict"])])
def test_a_bad_or_foreign_cache_file_is_ignored_and_replaced(tmp_path, content):
    good = probe(tmp_path, "llmunified")
    path = cache_file(tmp_path)
    with open(path, "wb") as f:
        f.write(content)
    again = probe(tmp_path, "llmunified")
    assert again["stats"]["cached"] == 0 and again["stats"]["written"] >= 1 and again["seen"] == good["seen"]
    assert probe(tmp_path, "llmunified")["stats"]["compiled"] == 0


def _make(module_name):
    """A dataclass defined in a module of that name, while the cache is active."""
    module = types.ModuleType(module_name)
    sys.modules[module_name] = module
    try:
        with _dccache.loading:
            exec("import dataclasses\n@dataclasses.dataclass\nclass Point:\n    x: int\n    y: int = 0\n",
                 module.__dict__)
    finally:
        del sys.modules[module_name]
    return module.Point


def test_other_packages_dataclasses_pass_through(monkeypatch):
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    before = dict(_dccache.stats)
    point = _make("someone_elses_module")
    assert _dccache.stats == before  # neither compiled into nor read from our cache
    assert point(1) == point(1, 0) and repr(point(2, 3)) == "Point(x=2, y=3)"
    assert "exec" not in vars(dataclasses)  # restored


def test_our_modules_use_it_and_the_hook_is_removed_after(monkeypatch):
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    before = dict(_dccache.stats)
    point = _make("llmunified._probe_module")
    used = {k: _dccache.stats[k] - before[k] for k in before}
    assert used["compiled"] + used["cached"] == EXECS and used["written"] == 0
    assert point(1) == point(1, 0) and repr(point(2, 3)) == "Point(x=2, y=3)"
    assert "exec" not in vars(dataclasses) and _dccache._codes is None  # the code objects are dropped


def test_someone_elses_hook_is_left_alone(monkeypatch):
    calls = []

    def their_exec(source, globals=None, locals=None):  # noqa: A002
        calls.append(source)
        return exec(source, globals, locals)

    monkeypatch.setattr(dataclasses, "exec", their_exec, raising=False)
    point = _make("llmunified._probe_module2")
    assert len(calls) == EXECS and vars(dataclasses)["exec"] is their_exec and point(4).x == 4


def test_reentrant_and_the_cache_path_is_a_pycache_path():
    with _dccache.loading:
        with _dccache.loading:
            assert vars(dataclasses)["exec"] is _dccache._exec
        assert vars(dataclasses)["exec"] is _dccache._exec
    assert "exec" not in vars(dataclasses)
    path = _dccache.cache_path()
    assert sys.implementation.cache_tag in os.path.basename(path) and path.endswith(".marshal")
    assert sys.pycache_prefix or os.path.basename(os.path.dirname(path)) == "__pycache__"
