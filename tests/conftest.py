"""Shared test setup.

* ``async def`` tests (the generated ``tests/_async``) run in a fresh event loop each, with
  asyncio's debug mode on, so a forgotten ``await`` or an unclosed session fails the run (pytest
  is configured with warnings as errors).
* ``emulator``: a fresh loopback emulator per test.
* ``LLMUNIFIED_EMULATOR`` from the developer's shell is ignored (tests that need it set it).
"""
import asyncio
import inspect
import os
import sys

import pytest

from llmunified.testing import Emulator

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# A developer's shell may point every client at a running emulator (LLMUNIFIED_EMULATOR): the
# suite runs its own emulators per test, and tests that set base_url must reach them.
os.environ.pop("LLMUNIFIED_EMULATOR", None)
FIXTURES = os.path.join(ROOT, "tests", "fixtures")


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    if inspect.iscoroutinefunction(pyfuncitem.obj):
        kwargs = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
        asyncio.run(pyfuncitem.obj(**kwargs), debug=True)
        return True
    return None


@pytest.fixture
def emulator():
    with Emulator() as emu:
        yield emu
    assert emu.internal_errors == [], "the emulator itself failed"


def fixture_path(*parts: str) -> str:
    return os.path.join(FIXTURES, *parts)


if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
