"""Async-only behaviour of the steered tool loop: a coroutine approver is awaited in the async
twin (a plain one runs off the event loop, as plain tools do); the sync client refuses a
coroutine approver with a typed error, nothing sent."""
import asyncio
import threading

import pytest

import llmunified as llm
import llmunified_async as allm
from llmunified import errors
from llmunified.testing import ToolCallSpec

RAN = []
PARAMS = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


def weather(city):
    RAN.append(city)
    return f"{city}: clear"


async def test_a_coroutine_approver_is_awaited(emulator):
    RAN.clear()
    emulator.reply(tool_calls=[ToolCallSpec("weather", {"city": "Paris"}, id="c1"),
                               ToolCallSpec("weather", {"city": "Oslo"}, id="c2")])
    emulator.reply(text="done")
    asked = []

    async def approve(call):
        await asyncio.sleep(0.001)
        asked.append(call.arguments["city"])
        return allm.edit({"city": "Bergen"}) if call.arguments["city"] == "Oslo" else True

    async with allm.Client("anthropic/m", base_url=emulator.url_for("anthropic"), api_key="k") as client:
        async with client.run_stream("Weather?", tools=[allm.Tool("weather", "", PARAMS, function=weather)],
                                     approve=approve) as run:
            events = [event async for event in run]
    assert asked == ["Paris", "Oslo"] and sorted(RAN) == ["Bergen", "Paris"]
    assert [e.tool_call.arguments["city"] for e in events if e.type == "tool_result"] == ["Paris", "Bergen"]
    assert run.response.text == "done"


async def test_a_plain_approver_runs_off_the_event_loop(emulator):
    emulator.reply(tool_calls=[ToolCallSpec("weather", {"city": "Paris"})])
    emulator.reply(text="done")
    loop_thread = threading.get_ident()
    ran_on = []

    def approve(call):
        ran_on.append(threading.get_ident())
        return allm.deny("no")

    async with allm.Client("anthropic/m", base_url=emulator.url_for("anthropic"), api_key="k") as client:
        reply = await client.run("Weather?", tools=[allm.Tool("weather", "", PARAMS, function=weather)],
                                 approve=approve)
    assert reply.text == "done" and ran_on and ran_on[0] != loop_thread


async def test_an_async_approver_that_raises(emulator):
    emulator.reply(tool_calls=[ToolCallSpec("weather", {"city": "Paris"})])

    async def approve(call):
        raise PermissionError("no approver on duty")

    async with allm.Client("anthropic/m", base_url=emulator.url_for("anthropic"), api_key="k") as client:
        with pytest.raises(errors.ToolApprovalError) as info:
            await client.run("Weather?", tools=[allm.Tool("weather", "", PARAMS, function=weather)], approve=approve)
    assert isinstance(info.value.__cause__, PermissionError) and len(emulator.requests) == 1


def test_the_sync_client_refuses_a_coroutine_approver(emulator):
    emulator.reply(tool_calls=[ToolCallSpec("weather", {"city": "Paris"})])

    async def approve(call):
        return True

    with llm.Client("anthropic/m", base_url=emulator.url_for("anthropic"), api_key="k") as client:
        with pytest.raises(errors.ToolApprovalError, match="llmunified_async"):
            client.run("Weather?", tools=[llm.Tool("weather", "", PARAMS, function=weather)], approve=approve)
    assert len(emulator.requests) == 1
