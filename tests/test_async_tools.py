"""Async-only behaviour of the tool loop: coroutine tool functions are awaited in the async
twin, plain ones run on a worker thread (never blocking the event loop); the sync client refuses
coroutine functions with a clear error."""
import asyncio
import threading

import pytest

import llmunified as llm
import llmunified_async as allm
from llmunified import errors
from llmunified.testing import ToolCallSpec

SEEN = []


async def slow_lookup(city):
    await asyncio.sleep(0.01)
    SEEN.append(("async", city))
    return f"{city}: clear"


def fast_lookup(city):
    SEEN.append(("sync", city))
    return f"{city}: rain"


PARAMS = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


async def test_coroutine_and_plain_tools_in_the_async_twin(emulator):
    SEEN.clear()
    emulator.reply(tool_calls=[ToolCallSpec("slow", {"city": "Paris"}), ToolCallSpec("fast", {"city": "Oslo"})])
    emulator.reply(text="done")
    tools = [allm.Tool("slow", "", PARAMS, function=slow_lookup), allm.Tool("fast", "", PARAMS, function=fast_lookup)]
    async with allm.Client("openai/m", base_url=emulator.url_for("openai"), api_key="k") as client:
        reply = await client.run("Weather?", tools=tools)
    assert reply.text == "done"
    # run concurrently (the plain one finishes first), answered in the model's order
    assert sorted(SEEN) == [("async", "Paris"), ("sync", "Oslo")]
    contents = [m.content[0].content for m in reply.messages if m.role == "tool"]
    assert contents == ["Paris: clear", "Oslo: rain"]


async def test_one_tool_at_a_time_keeps_the_models_order(emulator):
    SEEN.clear()
    emulator.reply(tool_calls=[ToolCallSpec("slow", {"city": "Paris"}), ToolCallSpec("fast", {"city": "Oslo"})])
    emulator.reply(text="done")
    tools = [allm.Tool("slow", "", PARAMS, function=slow_lookup), allm.Tool("fast", "", PARAMS, function=fast_lookup)]
    async with allm.Client("openai/m", base_url=emulator.url_for("openai"), api_key="k") as client:
        reply = await client.run("Weather?", tools=tools, max_parallel_tools=1)
    assert reply.text == "done"
    assert SEEN == [("async", "Paris"), ("sync", "Oslo")]


async def test_a_plain_tool_runs_off_the_event_loop(emulator):
    loop_thread = threading.get_ident()
    ran_on = []
    released = []
    ticks = []

    def blocking_lookup(city):
        ran_on.append(threading.get_ident())
        # blocks its thread until the loop, still running, sets it (on the loop: a 5 s timeout)
        released.append(release.wait(5))
        return f"{city}: fog"

    async def ticker():
        while not release.is_set():
            ticks.append(1)
            if len(ticks) >= 3:
                release.set()
            await asyncio.sleep(0.005)

    release = threading.Event()
    emulator.reply(tool_calls=[ToolCallSpec("blocking", {"city": "Lima"})])
    emulator.reply(text="done")
    tools = [allm.Tool("blocking", "", PARAMS, function=blocking_lookup)]
    async with allm.Client("openai/m", base_url=emulator.url_for("openai"), api_key="k") as client:
        tick = asyncio.ensure_future(ticker())
        reply = await client.run("Weather?", tools=tools, max_parallel_tools=1)
        await tick
    assert reply.text == "done" and released == [True]  # the loop kept running while the tool blocked
    assert ran_on and ran_on[0] != loop_thread


def test_sync_client_refuses_coroutine_tools(emulator):
    emulator.reply(tool_calls=[ToolCallSpec("slow", {"city": "Paris"})])
    with llm.Client("openai/m", base_url=emulator.url_for("openai"), api_key="k") as client:
        with pytest.raises(errors.ValidationError, match="coroutine function"):
            client.run("Weather?", tools=[llm.Tool("slow", "", PARAMS, function=slow_lookup)])
