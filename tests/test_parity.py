"""Both packages expose the same public names and signatures; the async twin is fresh."""
import importlib.util
import inspect
import os
import subprocess
import sys

import llmunified
import llmunified_async

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_same_public_names():
    assert llmunified.__all__ == llmunified_async.__all__
    for name in llmunified.__all__:
        assert hasattr(llmunified, name), name
        assert hasattr(llmunified_async, name), name
    assert llmunified_async.__version__ == llmunified.__version__


def test_shared_core_objects_are_identical():
    for name in ("Message", "Response", "Usage", "Tool", "TextDelta", "Finish", "RetryPolicy", "user"):
        assert getattr(llmunified, name) is getattr(llmunified_async, name), name
    for name in llmunified.errors.__all__:
        assert getattr(llmunified.errors, name) is getattr(llmunified_async.errors, name), name
    assert llmunified_async.testing.Emulator is llmunified.testing.Emulator


def _shape(fn):
    """Parameter names, kinds and defaults (annotations name each twin's own classes)."""
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]


def _public(cls):
    return {n: v for n, v in vars(cls).items() if not n.startswith("_") or n in ("__init__",)}


def test_io_classes_have_the_same_members_and_signatures():
    dunders = {"__enter__": "__aenter__", "__exit__": "__aexit__", "__iter__": "__aiter__", "__next__": "__anext__"}
    for name in ("Client", "Stream", "RunStream", "ChatSession", "SessionStream"):
        sync_cls, async_cls = getattr(llmunified, name), getattr(llmunified_async, name)
        s, a = _public(sync_cls), _public(async_cls)
        assert sorted(s) == sorted(a), name
        for member, value in s.items():
            twin = a[member]
            if isinstance(value, property):
                assert isinstance(twin, property), (name, member)
                continue
            if isinstance(value, (classmethod, staticmethod)):
                assert type(twin) is type(value), (name, member)
                value, twin = value.__func__, twin.__func__
            assert _shape(value) == _shape(twin), (name, member)
            if inspect.iscoroutinefunction(twin):
                assert not inspect.iscoroutinefunction(value)
        for sync_name, async_name in dunders.items():
            if hasattr(sync_cls, sync_name):
                assert hasattr(async_cls, async_name), (name, async_name)
                if sync_name != "__iter__":
                    assert inspect.iscoroutinefunction(getattr(async_cls, async_name)), (name, async_name)
    for method in ("complete", "close"):
        assert inspect.iscoroutinefunction(getattr(llmunified_async.Client, method))
    assert inspect.iscoroutinefunction(llmunified_async.Stream.until_done)
    for method in ("run", "extract"):
        assert inspect.iscoroutinefunction(getattr(llmunified_async.Client, method))
    assert inspect.iscoroutinefunction(llmunified_async.ChatSession.send)


def test_one_shot_complete_signature():
    assert _shape(llmunified.complete) == _shape(llmunified_async.complete)
    assert inspect.iscoroutinefunction(llmunified_async.complete)
    assert not inspect.iscoroutinefunction(llmunified.complete)


def test_generated_twin_is_up_to_date():
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "gen_async.py"), "--check"],
                          cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    if "No module named 'unasync'" in proc.stdout or "No module named 'setuptools'" in proc.stdout:
        raise AssertionError("install unasync (the test extra pins it) to check the twin: " + proc.stdout)
    assert proc.returncode == 0, proc.stdout


def test_import_is_light():
    code = ("import sys, llmunified, llmunified_async; "
            "print(sorted(m for m in ('aiohttp', 'jsonschema', 'dataclasses_json', 'requests') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, check=True,
                         universal_newlines=True).stdout.strip()
    assert out == "[]"
