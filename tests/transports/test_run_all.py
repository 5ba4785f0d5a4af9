"""The backend primitives the twins' I/O layer calls (llmunified/_backends/sync.py and
asyncio.py): ``run_all`` (bounded concurrency, results in order), ``run_blocking`` (a worker
thread in the async twin) and the async ``call_function`` (plain tools off the loop)."""
import asyncio
import functools
import threading

import pytest

from llmunified._backends import asyncio as abackend
from llmunified._backends import sync as sbackend


def test_sync_run_all_keeps_order_and_bounds_the_threads():
    lock = threading.Lock()
    state = {"active": 0, "most": 0}
    pair = threading.Barrier(2, timeout=2)

    def job(n):
        with lock:
            state["active"] += 1
            state["most"] = max(state["most"], state["active"])
        pair.wait()
        with lock:
            state["active"] -= 1
        return n

    assert sbackend.run_all([functools.partial(job, n) for n in range(6)], 2) == list(range(6))
    assert state["most"] == 2


def test_sync_run_all_with_limit_one_runs_on_the_calling_thread_in_order():
    seen = []
    me = threading.get_ident()
    result = sbackend.run_all([functools.partial(lambda n: seen.append((n, threading.get_ident())) or n, n)
                               for n in range(3)], 1)
    assert result == [0, 1, 2] and seen == [(0, me), (1, me), (2, me)]
    assert sbackend.run_all([], 8) == []


def test_sync_run_all_raises_the_first_error_in_order():
    done = []

    def ok(n):
        done.append(n)
        return n

    def bad(n):
        raise ValueError(n)

    with pytest.raises(ValueError, match="1"):
        sbackend.run_all([functools.partial(ok, 0), functools.partial(bad, 1), functools.partial(bad, 2),
                          functools.partial(ok, 3)], 4)
    assert 0 in done  # the thunk before the error finished (later ones may have been cancelled)


def test_sync_run_blocking_is_a_plain_call():
    assert sbackend.run_blocking(threading.get_ident) == threading.get_ident()


def test_async_run_all_keeps_order_bounds_and_raises_after_all():
    async def main():
        state = {"active": 0, "most": 0}
        done = []

        async def job(n):
            state["active"] += 1
            state["most"] = max(state["most"], state["active"])
            await asyncio.sleep(0.001 * (6 - n))
            state["active"] -= 1
            done.append(n)
            if n == 4:
                raise KeyError(n)
            return n

        assert await abackend.run_all([functools.partial(job, n) for n in range(4)], 2) == [0, 1, 2, 3]
        assert state["most"] == 2
        done.clear()
        with pytest.raises(KeyError):
            await abackend.run_all([functools.partial(job, n) for n in range(6)], 3)
        assert sorted(done) == list(range(6))  # every one finished first
        assert await abackend.run_all([functools.partial(job, 0)], 1) == [0]

    asyncio.run(main(), debug=True)


def test_async_run_blocking_and_plain_tools_run_off_the_loop():
    async def coroutine_tool(x):
        return ("coroutine", threading.get_ident(), x)

    def plain_tool(x):
        return ("plain", threading.get_ident(), x)

    def returns_awaitable(x):
        return coroutine_tool(x)

    async def main():
        loop_thread = threading.get_ident()
        assert await abackend.run_blocking(threading.get_ident) != loop_thread
        kind, thread, x = await abackend.call_function(plain_tool, {"x": 1})
        assert (kind, x) == ("plain", 1) and thread != loop_thread
        kind, thread, x = await abackend.call_function(coroutine_tool, {"x": 2})
        assert (kind, x) == ("coroutine", 2) and thread == loop_thread
        kind, thread, x = await abackend.call_function(functools.partial(coroutine_tool), {"x": 3})
        assert kind == "coroutine" and thread == loop_thread
        kind, thread, x = await abackend.call_function(returns_awaitable, {"x": 4})
        assert kind == "coroutine" and x == 4  # the awaitable it returned is awaited on the loop

    asyncio.run(main(), debug=True)
