"""Async-only behaviour of the tool loop: coroutine tool functions are awaited in the async
twin, plain ones called; the sync client refuses coroutine functions with a clear error."""
import asyncio

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
    assert SEEN == [("async", "Paris"), ("sync", "Oslo")]
    contents = [m.content[0].content for m in reply.messages if m.role == "tool"]
    assert contents == ["Paris: clear", "Oslo: rain"]


def test_sync_client_refuses_coroutine_tools(emulator):
    emulator.reply(tool_calls=[ToolCallSpec("slow", {"city": "Paris"})])
    with llm.Client("openai/m", base_url=emulator.url_for("openai"), api_key="k") as client:
        with pytest.raises(errors.ValidationError, match="coroutine function"):
            client.run("Weather?", tools=[llm.Tool("slow", "", PARAMS, function=slow_lookup)])
