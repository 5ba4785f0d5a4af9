"""Golden tests for scripts/gen_async.py, the sync -> async twin generator.

Snippet cases feed ``transform_source`` and compare exact text (or a refusal message).
Tree cases copy ``tests/generator/cases/sample_repo`` (files stored as ``*.py.txt`` so pytest
does not collect them) to a temporary repo and run the generator there with ``--root``; the
expected outputs are ``tests/generator/cases/sample_expected``
(``GEN_ASYNC_UPDATE_GOLDEN=1`` rewrites them).
``GEN_ASYNC_PYTHONS=/path/python3.9:/path/python3.13`` also checks that other interpreters
(with unasync installed) produce byte-identical output.
"""
import importlib.util
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "gen_async.py"
CASES = Path(__file__).resolve().parent / "cases"
SAMPLE = CASES / "sample_repo"
EXPECTED = CASES / "sample_expected"


def _load_generator():
    spec = importlib.util.spec_from_file_location("gen_async", str(SCRIPT))
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("gen_async", module)
    spec.loader.exec_module(module)
    return module


gen = _load_generator()

def transform(src, **kw):
    return gen.transform_source(textwrap.dedent(src).lstrip("\n"), **kw)


def check(src, expected, **kw):
    out = transform(src, **kw)
    assert out == textwrap.dedent(expected).lstrip("\n")


def refused(src, *fragments, **kw):
    with pytest.raises(gen.Refused) as info:
        transform(src, **kw)
    text = "\n".join(info.value.messages)
    for fragment in fragments:
        assert fragment in text, text
    for line in info.value.messages:
        assert ": refused: " in line
    return info.value.messages


# ----------------------------------------------------------------------------------------
# await / async def
# ----------------------------------------------------------------------------------------


def test_io_method_becomes_async_and_calls_are_awaited():
    check(
        """
        from llmunified._twin import io

        class Client:
            @io
            def send(self, request):
                return self._transport.send(request)

            @io
            def complete(self, request):
                data = self.send(request).json()
                first = self.send(request)["choices"][0]
                again = self.send(self.send(request))
                return data, first, again

            def build(self, x):
                return x
        """,
        """
        from llmunified._twin import io

        class Client:
            @io
            async def send(self, request):
                return await self._transport.send(request)

            @io
            async def complete(self, request):
                data = (await self.send(request)).json()
                first = (await self.send(request))["choices"][0]
                again = await self.send(await self.send(request))
                return data, first, again

            def build(self, x):
                return x
        """,
    )


def test_call_result_called_and_chained_awaits():
    check(
        """
        from llmunified._twin import io

        @io
        def factory():
            return len

        @io
        def fetch():
            return factory()("abc"), fetch().fetch().x
        """,
        """
        from llmunified._twin import io

        @io
        async def factory():
            return len

        @io
        async def fetch():
            return (await factory())("abc"), (await (await fetch()).fetch()).x
        """,
    )


def test_multiline_call_and_non_ascii_before_it():
    check(
        """
        from llmunified._twin import io

        @io
        def send(*a, **k):
            pass

        @io
        def go(r):
            note = "ünïcödé → 😀"; reply = send(
                r,
                timeout=1,
            ).body
            x = "€€€"; y = "日本語"; send(r); z = [send(r)]
        """,
        """
        from llmunified._twin import io

        @io
        async def send(*a, **k):
            pass

        @io
        async def go(r):
            note = "ünïcödé → 😀"; reply = (await send(
                r,
                timeout=1,
            )).body
            x = "€€€"; y = "日本語"; await send(r); z = [await send(r)]
        """,
    )


def test_extra_io_names_and_decorators_kept():
    check(
        """
        import functools

        class T:
            @functools.lru_cache()
            @_io.io
            def ping(self):
                return self.sock.recv(10)
        """,
        """
        import functools

        class T:
            @functools.lru_cache()
            @_io.io
            async def ping(self):
                return await self.sock.recv(10)
        """,
        extra_io_names=["recv"],
    )


# ----------------------------------------------------------------------------------------
# dunders, with, for
# ----------------------------------------------------------------------------------------


def test_context_manager_and_iterator_dunders():
    check(
        """
        from typing import Iterator

        from llmunified._twin import io

        class Stream:
            def __enter__(self) -> "Stream":
                self._open()
                return self

            def __exit__(self, *exc):
                self.close()

            def __iter__(self) -> Iterator[str]:
                return self

            def __next__(self) -> str:
                if self.done:
                    raise StopIteration
                return self._read()

            @io
            def _open(self): pass

            @io
            def _read(self): pass

            @io
            def close(self):
                self.__exit__(None, None, None)
        """,
        """
        from typing import AsyncIterator

        from llmunified._twin import io

        class Stream:
            async def __aenter__(self) -> "Stream":
                await self._open()
                return self

            async def __aexit__(self, *exc):
                await self.close()

            def __aiter__(self) -> AsyncIterator[str]:
                return self

            async def __anext__(self) -> str:
                if self.done:
                    raise StopAsyncIteration
                return await self._read()

            @io
            async def _open(self): pass

            @io
            async def _read(self): pass

            @io
            async def close(self):
                await self.__aexit__(None, None, None)
        """,
    )


WITH_FOR_SOURCE = """
    import threading

    import pytest

    from llmunified._twin import io

    class Stream:
        def __enter__(self): return self
        def __exit__(self, *a): pass
        def __iter__(self): return self
        def __next__(self): return 1

    class Client:
        def __init__(self, *a):
            self._lock = threading.Lock()
        def __enter__(self): return self
        def __exit__(self, *a): pass
        def stream(self, prompt) -> "Stream":
            return Stream()
        def stream2(self, prompt) -> Stream:
            return Stream()

    @io
    def run(prompt, given: Stream):
        with Client("m") as client:
            with client._lock:
                pass
            with pytest.raises(ValueError):
                pass
            with client.stream(prompt) as s:
                for e in s:
                    print(e)
            s2 = client.stream2(prompt)
            with s2:
                events = [e for e in s2 if e]
            for e in given:
                pass
        with open(prompt) as f:
            for line in f:
                pass
"""


def test_with_and_for_over_io_objects():
    check(
        WITH_FOR_SOURCE,
        """
        import threading

        import pytest

        from llmunified._twin import io

        class Stream:
            async def __aenter__(self): return self
            async def __aexit__(self, *a): pass
            def __aiter__(self): return self
            async def __anext__(self): return 1

        class Client:
            def __init__(self, *a):
                self._lock = threading.Lock()
            async def __aenter__(self): return self
            async def __aexit__(self, *a): pass
            def stream(self, prompt) -> "Stream":
                return Stream()
            def stream2(self, prompt) -> Stream:
                return Stream()

        @io
        async def run(prompt, given: Stream):
            async with Client("m") as client:
                with client._lock:
                    pass
                with pytest.raises(ValueError):
                    pass
                async with client.stream(prompt) as s:
                    async for e in s:
                        print(e)
                s2 = client.stream2(prompt)
                async with s2:
                    events = [e async for e in s2 if e]
                async for e in given:
                    pass
            with open(prompt) as f:
                for line in f:
                    pass
        """,
    )


def test_io_generator_iterated_with_async_for_and_not_awaited():
    check(
        """
        from typing import Iterator

        from llmunified._twin import io

        class Stream:
            def __init__(self, t, h):
                self._t = t
                self._chunks = self._iter_chunks(h)

            @io
            def _iter_chunks(self, h) -> Iterator[bytes]:
                for chunk in self._t.iter_raw(h):
                    yield chunk
                return

            @io
            def lines(self):
                out = [
                    c.decode()
                    for c in self._chunks
                ]
                for c in self._chunks:
                    out.append(c)
                gen = self._iter_chunks(None)
                return out + {k: v for k, v in gen}
        """,
        """
        from typing import AsyncIterator

        from llmunified._twin import io

        class Stream:
            def __init__(self, t, h):
                self._t = t
                self._chunks = self._iter_chunks(h)

            @io
            async def _iter_chunks(self, h) -> AsyncIterator[bytes]:
                async for chunk in self._t.iter_raw(h):
                    yield chunk
                return

            @io
            async def lines(self):
                out = [
                    c.decode()
                    async for c in self._chunks
                ]
                async for c in self._chunks:
                    out.append(c)
                gen = self._iter_chunks(None)
                return out + {k: v async for k, v in gen}
        """,
        extra_io_generators=["iter_raw"],
    )


def test_io_class_by_inheritance_and_transport_name():
    check(
        """
        from llmunified._twin import io

        class Base:
            def __enter__(self): return self
            def __exit__(self, *a): pass

        class Child(Base):
            pass

        @io
        def use():
            with Child() as c, Base():
                pass
        """,
        """
        from llmunified._twin import io

        class Base:
            async def __aenter__(self): return self
            async def __aexit__(self, *a): pass

        class Child(Base):
            pass

        @io
        async def use():
            async with Child() as c, Base():
                pass
        """,
    )


# ----------------------------------------------------------------------------------------
# time.sleep
# ----------------------------------------------------------------------------------------


def test_time_sleep_replaces_import_when_time_has_no_other_use():
    check(
        """
        import logging
        import time

        from llmunified._twin import io

        @io
        def retry(delay):
            time.sleep(delay)
            time.sleep(
                delay * 2)
        """,
        """
        import logging
        import asyncio

        from llmunified._twin import io

        @io
        async def retry(delay):
            await asyncio.sleep(delay)
            await asyncio.sleep(
                delay * 2)
        """,
    )


def test_time_sleep_keeps_import_time_when_still_used():
    check(
        """
        import time

        from llmunified._twin import io

        @io
        def retry(delay):
            started = time.monotonic()
            time.sleep(delay)
            return time.monotonic() - started
        """,
        """
        import asyncio
        import time

        from llmunified._twin import io

        @io
        async def retry(delay):
            started = time.monotonic()
            await asyncio.sleep(delay)
            return time.monotonic() - started
        """,
    )


def test_time_sleep_with_asyncio_already_imported():
    check(
        """
        import asyncio
        import time

        from llmunified._twin import io

        @io
        def nap():
            time.sleep(0)
        """,
        """
        import asyncio

        from llmunified._twin import io

        @io
        async def nap():
            await asyncio.sleep(0)
        """,
    )


def test_time_sleep_refusals():
    refused(
        """
        from time import sleep
        """,
        "'from time import sleep'",
    )
    refused(
        """
        import time

        def wait(d, sleep=time.sleep):
            sleep(d)
        """,
        "time.sleep used without calling it",
    )
    refused(
        """
        import time

        def wait(d):
            time.sleep(d)
        """,
        "function 'wait' calls I/O 'time.sleep' but is not marked @io",
    )


# ----------------------------------------------------------------------------------------
# renames
# ----------------------------------------------------------------------------------------


def test_lib_renames():
    check(
        """
        import typing
        from typing import Iterator, Optional

        import llmunified
        import llmunified._sync.client
        from llmunified._sync import errors
        from llmunified._sync.client import Client
        from llmunified._backends.sync import as_transport
        from llmunified.errors import LLMError

        def f(x: Optional[int], t=as_transport) -> Iterator[int]:
            it: typing.Iterator[int] = x
            err = StopIteration
            mod = llmunified._sync.client
            return llmunified.errors, obj.llmunified, obj._sync
        """,
        """
        import typing
        from typing import AsyncIterator, Optional

        import llmunified
        import llmunified_async.client
        from llmunified_async import errors
        from llmunified_async.client import Client
        from llmunified._backends.asyncio import as_transport
        from llmunified.errors import LLMError

        def f(x: Optional[int], t=as_transport) -> AsyncIterator[int]:
            it: typing.AsyncIterator[int] = x
            err = StopAsyncIteration
            mod = llmunified_async.client
            return llmunified.errors, obj.llmunified, obj._sync
        """,
    )


def test_tests_kind_renames_and_async_tests():
    check(
        """
        import pytest

        import llmunified as llm
        from llmunified import Client, errors
        from llmunified._twin import io
        from llmunified.testing import Reply
        from llmunified._sync.client import Stream
        from tests._sync.helpers import ask

        def test_one():
            with pytest.raises(llmunified.errors.RateLimitError):
                llm.complete("m", "hi")

        class TestGroup:
            def test_method(self):
                pass

            def helper(self):
                return StopIteration
        """,
        """
        import pytest

        import llmunified_async as llm
        from llmunified_async import Client, errors
        from llmunified._twin import io
        from llmunified_async.testing import Reply
        from llmunified_async.client import Stream
        from tests._async.helpers import ask

        async def test_one():
            with pytest.raises(llmunified_async.errors.RateLimitError):
                await llm.complete("m", "hi")

        class TestGroup:
            async def test_method(self):
                pass

            def helper(self):
                return StopAsyncIteration
        """,
        kind="tests",
        extra_io_names=["complete"],
        shared_modules=["_twin", "errors"],
    )


def test_strings_comments_and_fstrings_are_not_renamed():
    check(
        '''
        """Docs: __enter__ and llmunified._sync and Iterator stay."""
        # comment: __enter__, llmunified._sync.client, RequestsTransport
        NAME = "llmunified._sync.client"
        OTHER = f"{Iterator} {__enter__!r}"
        BYTES = b"__exit__"
        ''',
        '''
        """Docs: __enter__ and llmunified._sync and Iterator stay."""
        # comment: __enter__, llmunified._sync.client, RequestsTransport
        NAME = "llmunified._sync.client"
        OTHER = f"{Iterator} {__enter__!r}"
        BYTES = b"__exit__"
        ''',
    )


def test_header_is_prepended():
    out = transform("x = 1\n", header_source="llmunified/_sync/x.py")
    assert out == "# GENERATED by scripts/gen_async.py from llmunified/_sync/x.py - DO NOT EDIT.\nx = 1\n"


# ----------------------------------------------------------------------------------------
# refusals
# ----------------------------------------------------------------------------------------


def test_refuse_yield_from_in_io_generator():
    refused(
        """
        from llmunified._twin import io

        @io
        def chunks(r):
            yield from r
        """,
        "<snippet>:5: refused: 'yield from' in I/O generator 'chunks'",
    )


def test_refuse_return_value_in_io_generator():
    refused(
        """
        from llmunified._twin import io

        @io
        def chunks(r):
            yield 1
            return 2
        """,
        "<snippet>:6: refused: 'return' with a value in I/O generator 'chunks'",
    )


def test_refuse_io_in_lambda():
    refused(
        """
        from llmunified._twin import io

        @io
        def send(r): pass

        @io
        def go():
            cb = lambda r: send(r)
        """,
        "<snippet>:8: refused: I/O call 'send' inside a lambda",
    )


def test_refuse_consuming_io_iterators():
    messages = refused(
        """
        from llmunified._twin import io

        class Stream:
            def __enter__(self): return self
            def __exit__(self, *a): pass
            def __iter__(self): return self
            def __next__(self): return 1

        @io
        def chunks():
            yield 1

        @io
        def go(s: Stream):
            a = (c for c in chunks())
            b = list(s)
            c = next(s)
            d = sum(chunks())
            e = sorted(s)
            f = ",".join(s)
            g = [*s]
            h = any(x for x in s)
        """,
        "<snippet>:15: refused: generator expression iterates I/O 'chunks'",
        "<snippet>:16: refused: list() over I/O iterator 's'",
        "<snippet>:17: refused: next() over I/O iterator 's'",
        "<snippet>:18: refused: sum() over I/O iterator 'chunks'",
        "<snippet>:19: refused: sorted() over I/O iterator 's'",
        "<snippet>:20: refused: .join() over I/O iterator 's'",
        "<snippet>:21: refused: unpacking I/O iterator 's'",
        "<snippet>:22: refused: generator expression iterates I/O 's'",
    )
    assert len(messages) == 8


def test_refuse_property_doing_io():
    refused(
        """
        from llmunified._twin import io

        class C:
            @io
            def fetch(self): pass

            @property
            @io
            def marked(self): pass

            @property
            def calls(self):
                return self.fetch()
        """,
        "<snippet>:9: refused: property 'marked' is marked @io",
        "<snippet>:13: refused: property 'calls' calls I/O 'fetch'",
    )


def test_refuse_unmarked_function_doing_io():
    refused(
        """
        from llmunified._twin import io

        class Stream:
            def __enter__(self): return self
            def __exit__(self, *a): pass
            def __iter__(self): return self
            def __next__(self): return 1

        @io
        def g(): pass

        def f():
            return g()

        def h(s: Stream):
            with s:
                for e in s:
                    pass

        def outer():
            @io
            def inner():
                def innermost():
                    g()
        """,
        "<snippet>:13: refused: function 'f' calls I/O 'g' but is not marked @io",
        "<snippet>:16: refused: function 'h' uses I/O context manager 's' (needs 'async with') but is not marked @io",
        "<snippet>:17: refused: function 'h' iterates I/O 's' (needs 'async for') but is not marked @io",
        "<snippet>:24: refused: function 'innermost' calls I/O 'g' but is not marked @io",
    )


def test_refuse_mixed_with_items():
    refused(
        """
        from llmunified._twin import io

        class Client:
            def __enter__(self): return self
            def __exit__(self, *a): pass

        @io
        def go(lock):
            with lock, Client() as c:
                pass
        """,
        "<snippet>:9: refused: 'with' mixes I/O context manager 'Client' with non-I/O items",
    )


def test_refuse_name_collision():
    refused(
        """
        from llmunified._twin import io

        class Client:
            @io
            def close(self): pass

        class Cache:
            def close(self): pass
        """,
        "<snippet>:8: refused: name collision: 'close' is defined here without @io but is an I/O "
        "function at <snippet>:5",
    )


def test_refuse_name_collision_across_files(tmp_path):
    write_tree(tmp_path, {
        "llmunified/_sync/a.py": "from llmunified._twin import io\n\n\nclass A:\n    @io\n    def close(self): pass\n",
        "tests/_sync/test_b.py": "class Fake:\n    def close(self): pass\n",
    })
    code, out, err = run_cli(tmp_path)
    assert code == 2
    assert ("tests/_sync/test_b.py:2: refused: name collision: 'close' is defined here without @io but is an "
            "I/O function at llmunified/_sync/a.py:6") in err
    assert not (tmp_path / "llmunified_async").exists()


def test_refuse_other_collisions_and_builtin_method_names():
    refused(
        """
        from llmunified._twin import io

        class A:
            @io
            def get(self): pass

            @io
            def read(self): pass

        class B:
            @io
            def read(self):
                yield 1
        """,
        "<snippet>:5: refused: I/O function name 'get' is also a method of built-in types",
        "<snippet>:12: refused: 'read' is an I/O generator here but a non-generator I/O function at <snippet>:8",
    )
    refused(
        """
        class Stream:
            def __enter__(self): return self

        class Other:
            def open(self) -> Stream: pass

        class Third:
            def open(self) -> int: pass
        """,
        "<snippet>:8: refused: name collision: 'open' returns the I/O class 'Stream' at <snippet>:5",
    )


def test_refuse_misc():
    refused(
        """
        from typing import Generator

        from llmunified._twin import io

        @io
        def g() -> Generator[int, None, str]:
            yield 1

        class Plain:
            def __iter__(self):
                return iter([])

        class Weird:
            @io
            def __init__(self): pass

        VALUE = None

        async def already(): pass

        @io
        def send(): pass

        X = send()

        class K:
            Y = send()

        @io
        def h():
            return f"{send()}"
        """,
        "<snippet>:1: refused: 'Generator' has no async translation",
        "<snippet>:6: refused: 'Generator' has no async translation",
        "<snippet>:9: refused: class 'Plain' defines __iter__ but is not an I/O class",
        "<snippet>:15: refused: @io on '__init__'",
        "<snippet>:19: refused: sync source contains 'async def'",
        "<snippet>:24: refused: module-level code calls I/O 'send'",
        "<snippet>:27: refused: class body of 'K' calls I/O 'send'",
        "<snippet>:31: refused: I/O call 'send' inside an f-string",
    )


PRUNED_RULES = (
    gen.Rename("Iterable", "AsyncIterable"),
    gen.Rename("ContextManager", "AsyncContextManager"),
    gen.Rename("Generator", "AsyncGenerator"),
)


def test_refuse_sync_typing_names_that_no_rule_translates():
    messages = refused(
        """
        import typing
        from typing import ContextManager, Iterable

        def f(x: Iterable[int]) -> typing.ContextManager[int]:
            g: typing.Generator[int, None, None] = x
            return f"{Iterable}"
        """,
        "<snippet>:2: refused: 'ContextManager' would stay sync in the twin: no rename rule maps it to "
        "'AsyncContextManager'",
        "<snippet>:2: refused: 'Iterable' would stay sync in the twin: no rename rule maps it to 'AsyncIterable'",
        "<snippet>:4: refused: 'Iterable' would stay sync",
        "<snippet>:4: refused: 'ContextManager' would stay sync",
        "<snippet>:5: refused: 'Generator' has no async translation",
    )
    assert len(messages) == 5  # the name inside the f-string is left alone, like every rename


def test_a_rule_lifts_the_typing_refusal_except_for_generator():
    check(
        """
        import typing
        from typing import Iterable

        def f(x: Iterable[int]) -> typing.ContextManager[int]:
            return x
        """,
        """
        import typing
        from typing import AsyncIterable

        def f(x: AsyncIterable[int]) -> typing.AsyncContextManager[int]:
            return x
        """,
        rules=gen.RENAME_RULES + PRUNED_RULES,
    )
    # a rename cannot drop Generator's return-type parameter, so a rule does not help
    refused(
        """
        from typing import Generator

        def g() -> Generator[int, None, None]:
            yield 1
        """,
        "<snippet>:1: refused: 'Generator' has no async translation",
        "<snippet>:3: refused: 'Generator' has no async translation (AsyncGenerator has no return-type "
        "parameter); annotate the I/O generator as Iterator[Y]",
        rules=gen.RENAME_RULES + PRUNED_RULES,
    )


def test_refuse_imports_with_no_twin():
    refused(
        "from .. import errors\n",
        "relative import (level 2) climbs out of llmunified/_sync",
        path="llmunified/_sync/client.py",
    )
    # one level more is fine inside a subpackage
    assert transform("from .. import base\n", path="llmunified/_sync/providers/x.py") == "from .. import base\n"
    refused("from .._sync import helpers\n", "import of a '_sync' module the rename table does not cover",
            kind="tests")
    refused("from llmunified import _sync\n", "import of a '_sync' module")
    refused("import tests._sync.x\n", "import of a '_sync' module")  # tests._sync is a tests-only rule
    assert transform("import tests._sync.x\n", kind="tests") == "import tests._async.x\n"
    refused("import llmunified.errors\n", "'import llmunified.errors'", kind="tests", shared_modules=["errors"])


def test_refuse_syntax_error():
    refused("def f(:\n", "<snippet>:1: refused: syntax error")


# ----------------------------------------------------------------------------------------
# the whole tree: --root, --check, golden outputs, end to end
# ----------------------------------------------------------------------------------------


def write_tree(root, files):
    for rel, text in files.items():
        path = Path(root) / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))


def copy_sample(dest):
    for src in sorted(SAMPLE.rglob("*.txt")):
        rel = src.relative_to(SAMPLE).as_posix()[: -len(".txt")]
        target = Path(dest) / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(str(src), str(target))
    return Path(dest)


def run_cli(root, *args, python=None):
    proc = subprocess.run(
        [python or sys.executable, str(SCRIPT), "--root", str(root)] + list(args),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, encoding="utf-8",
    )
    return proc.returncode, proc.stdout, proc.stderr


def generated_files(root):
    out = {}
    for d in ("llmunified_async", "tests/_async"):
        base = Path(root) / d
        if base.is_dir():
            for p in sorted(base.rglob("*.py")):
                out[p.relative_to(root).as_posix()] = p.read_bytes()
    return out


@pytest.fixture
def sample(tmp_path):
    root = copy_sample(tmp_path / "repo")
    code, out, err = run_cli(root)
    assert code == 0, out + err
    return root


def test_sample_tree_matches_golden_files(sample):
    produced = generated_files(sample)
    if os.environ.get("GEN_ASYNC_UPDATE_GOLDEN"):
        shutil.rmtree(str(EXPECTED), ignore_errors=True)
        for rel, data in produced.items():
            target = EXPECTED / (rel + ".txt")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    expected = {
        p.relative_to(EXPECTED).as_posix()[: -len(".txt")]: p.read_bytes() for p in sorted(EXPECTED.rglob("*.txt"))
    }
    assert sorted(produced) == sorted(expected)
    for rel in produced:
        assert produced[rel].decode("utf-8") == expected[rel].decode("utf-8"), rel


def test_sample_twin_runs(sample):
    """The generated async tests of the sample pass, like the sync ones."""
    runner = textwrap.dedent("""
        import asyncio, importlib, inspect, sys
        sys.path.insert(0, ".")
        for modname in ("tests._sync.test_sample", "tests._async.test_sample"):
            mod = importlib.import_module(modname)
            for name in sorted(vars(mod)):
                fn = getattr(mod, name)
                if name.startswith("test_") and callable(fn):
                    if inspect.iscoroutinefunction(fn):
                        asyncio.run(fn())
                    else:
                        assert fn() is None
                    print(modname, name, "ok")
    """)
    proc = subprocess.run(
        [sys.executable, "-W", "error", "-c", runner], cwd=str(sample),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, encoding="utf-8",
        env=dict(os.environ, PYTHONPATH=str(sample), PYTHONDONTWRITEBYTECODE="1"),
    )
    assert proc.returncode == 0, proc.stdout
    assert proc.stdout.count(" ok") == 12, proc.stdout
    assert "tests._async.test_sample test_stream_helpers ok" in proc.stdout
    assert "tests._async.test_sample test_transport_of_your_own_and_tools ok" in proc.stdout


def test_check_fresh_tree_is_ok_and_generation_is_idempotent(sample):
    before = generated_files(sample)
    code, out, err = run_cli(sample, "--check")
    assert (code, err) == (0, "")
    assert out.startswith("gen_async --check: OK (5 generated files up to date)")
    code, out, err = run_cli(sample)
    assert code == 0
    assert "0 file(s) written, 5 up to date" in out
    assert generated_files(sample) == before


def test_check_detects_hand_edit(sample):
    target = sample / "llmunified_async" / "client.py"
    target.write_bytes(target.read_bytes().replace(b"await self.close()", b"self.close()", 1))
    code, out, err = run_cli(sample, "--check")
    assert code == 1
    assert "stale or hand-edited: llmunified_async/client.py" in err
    # --check wrote nothing; a normal run repairs it
    assert b"        self.close()" in target.read_bytes()
    assert run_cli(sample)[0] == 0
    assert run_cli(sample, "--check")[0] == 0


def test_check_detects_missing_output(sample):
    (sample / "tests" / "_async" / "helpers.py").unlink()
    code, out, err = run_cli(sample, "--check")
    assert code == 1
    assert "missing: tests/_async/helpers.py (from tests/_sync/helpers.py)" in err
    assert not (sample / "tests" / "_async" / "helpers.py").exists()


def test_check_detects_orphans_and_generation_deletes_only_headed_ones(sample):
    headed = sample / "llmunified_async" / "old.py"
    headed.write_text(gen.HEADER_PREFIX + "llmunified/_sync/old.py" + gen.HEADER_SUFFIX + "\n")
    hand = sample / "tests" / "_async" / "conftest.py"
    hand.write_text("# hand-written\n")
    code, out, err = run_cli(sample, "--check")
    assert code == 1
    assert "orphan: llmunified_async/old.py" in err
    assert "orphan: tests/_async/conftest.py" in err
    code, out, err = run_cli(sample)
    assert code == 0
    assert "deleted orphan llmunified_async/old.py" in out
    assert not headed.exists()
    assert hand.exists() and "no GENERATED header" in err


def test_check_detects_unused_rename_rule(sample, capsys):
    rules = gen.RENAME_RULES + (gen.Rename("NeverUsed", "AsyncNeverUsed"),)
    assert gen.run(sample, check=True, rules=rules) == 1
    err = capsys.readouterr().err
    assert "unused rename rule: 'NeverUsed' -> 'AsyncNeverUsed' (lib/tests)" in err
    assert gen.run(sample, check=True) == 0


def test_check_detects_unused_language_level_rules_too(sample, capsys):
    """No rule is exempt: the pruned typing rules, put back while no file uses them, fail --check."""
    assert gen.run(sample, check=True, rules=gen.RENAME_RULES + PRUNED_RULES) == 1
    err = capsys.readouterr().err
    assert "unused rename rule: 'Iterable' -> 'AsyncIterable' (lib/tests)" in err
    assert "unused rename rule: 'ContextManager' -> 'AsyncContextManager' (lib/tests)" in err
    assert "unused rename rule: 'Generator' -> 'AsyncGenerator' (lib/tests)" in err
    assert "gen_async --check: 3 problem(s)" in err
    # a normal run only warns
    assert gen.run(sample, rules=gen.RENAME_RULES + PRUNED_RULES) == 0
    assert "warning: unused rename rule: 'Iterable' -> 'AsyncIterable' (lib/tests) (--check will fail)" in (
        capsys.readouterr().err)


def test_check_detects_a_rule_the_sources_stop_using(sample):
    client = sample / "llmunified" / "_sync" / "client.py"
    text = client.read_text(encoding="utf-8")
    assert text.count("StopIteration") == 1
    client.write_text(text.replace("raise StopIteration", "raise LookupError"), encoding="utf-8")
    code, out, err = run_cli(sample, "--check")
    assert code == 1
    assert "unused rename rule: 'StopIteration' -> 'StopAsyncIteration' (lib/tests)" in err
    assert "stale or hand-edited: llmunified_async/client.py" in err


def test_missing_dependencies_exit_3(tmp_path):
    runner = "import runpy, sys; sys.modules['unasync'] = None; runpy.run_path(sys.argv[1], run_name='__main__')"
    proc = subprocess.run(
        [sys.executable, "-c", runner, str(SCRIPT), "--root", str(tmp_path), "--check"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, encoding="utf-8",
    )
    assert proc.returncode == 3, proc.stderr
    assert "install the generator's dependencies first" in proc.stderr
    assert proc.stdout == ""


def test_refusal_writes_nothing(sample):
    before = generated_files(sample)
    client = sample / "llmunified" / "_sync" / "client.py"
    text = client.read_text(encoding="utf-8") + "\n\ndef bad(c: Client):\n    return c.complete('x')\n"
    client.write_text(text, encoding="utf-8")
    line = text.count("\n")
    (sample / "llmunified_async" / "client.py").unlink()
    code, out, err = run_cli(sample)
    assert code == 2
    assert ("llmunified/_sync/client.py:%d: refused: function 'bad' calls I/O 'complete' but is not marked @io"
            % line) in err
    assert out == ""
    assert not (sample / "llmunified_async" / "client.py").exists()
    before.pop("llmunified_async/client.py")
    assert generated_files(sample) == before
    assert run_cli(sample, "--check")[0] == 2


def test_missing_scanned_module_is_skipped(tmp_path):
    write_tree(tmp_path, {"llmunified/_sync/__init__.py": "from typing import Iterator\n"})
    rules = (gen.Rename("Iterator", "AsyncIterator"),)
    assert gen.run(tmp_path, rules=rules) == 0
    assert (tmp_path / "llmunified_async" / "__init__.py").read_text() == (
        "# GENERATED by scripts/gen_async.py from llmunified/_sync/__init__.py - DO NOT EDIT.\n"
        "from typing import AsyncIterator\n"
    )
    assert gen.run(tmp_path, check=True, rules=rules) == 0


def _other_pythons():
    value = os.environ.get("GEN_ASYNC_PYTHONS", "")
    return [p for p in value.split(os.pathsep) if p]


@pytest.mark.skipif(not _other_pythons(), reason="set GEN_ASYNC_PYTHONS to compare interpreters")
@pytest.mark.parametrize("python", _other_pythons() or ["-"])
def test_other_interpreters_produce_identical_bytes(tmp_path, python):
    root = copy_sample(tmp_path / "repo")
    code, out, err = run_cli(root, python=python)
    assert code == 0, out + err
    expected = {
        p.relative_to(EXPECTED).as_posix()[: -len(".txt")]: p.read_bytes() for p in sorted(EXPECTED.rglob("*.txt"))
    }
    assert generated_files(root) == expected
    assert run_cli(root, "--check", python=python)[0] == 0
