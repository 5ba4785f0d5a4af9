"""Usage totals and tracing from 8 threads at once on one sync Client (issue 17 §4, issue 11 §2):
every call counted exactly once, every event recorded under its own correlation id."""
from concurrent.futures import ThreadPoolExecutor

import pytest

import llmunified as llm
from llmunified import errors
from llmunified.testing import Reply, ToolCallSpec

FAST = llm.RetryPolicy(max_retries=1, initial_delay=0.001, max_delay=0.001, jitter=0.0)


def double(n: int) -> int:
    return 2 * n


DOUBLE = llm.Tool("double", "Twice n.", {"type": "object", "properties": {"n": {"type": "integer"}},
                                         "required": ["n"]}, function=double)


def test_totals_and_events_from_8_threads(emulator):
    def script(request):
        prompt = request.json["messages"][-1]
        text = prompt.get("content") or ""
        if prompt.get("role") == "tool":
            return Reply(text="done", usage=(7, 1))
        if text.startswith("fail"):
            return Reply(status=400, error="bad")
        if text.startswith("tool"):
            return Reply(tool_calls=[ToolCallSpec("double", {"n": 4})], usage=(5, 2))
        return Reply(text="ok " + text, usage=(3, 2))

    emulator.queue(*([script] * 2000))
    tracer = llm.Tracer(max_events=100_000)
    with llm.Client("openai/gpt-4o-mini", base_url=emulator.url_for("openai"), api_key="sk-x", retry=FAST,
                    tracer=tracer) as client:
        def work(i):
            kind = i % 4
            if kind == 0:
                return client.complete(f"plain {i}")
            if kind == 1:
                with client.stream(f"stream {i}") as stream:
                    [e for e in stream]
                return stream.response
            if kind == 2:
                return client.run(f"tool {i}", tools=[DOUBLE])
            with pytest.raises(errors.BadRequestError) as info:
                client.complete(f"fail {i}")
            return info.value

        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(work, range(160)))
        totals = client.usage_totals()
    # 40 plain, 40 streams, 40 tool loops of 2 calls, 40 failures
    assert (totals.calls, totals.errors, totals.retries) == (200, 40, 0)
    assert totals.input_tokens == 40 * 3 + 40 * 3 + 40 * (5 + 7)
    assert totals.output_tokens == 40 * 2 + 40 * 2 + 40 * (2 + 1)
    assert totals.cost.total == pytest.approx(sum(r.cost.total for r in results if isinstance(r, llm.Response)))
    ids = {r.correlation_id for r in results}
    assert len(ids) == 160 and None not in ids
    assert len(tracer.events(type="llm_call")) == 200 and len(tracer.events(type="tool_call")) == 40
    for r in results[:8]:
        assert tracer.events(correlation_id=r.correlation_id)


async def test_totals_from_200_concurrent_tasks(emulator):
    import asyncio

    import llmunified_async as allm

    emulator.queue(*([lambda request: Reply(text="ok", usage=(3, 2))] * 200))
    tracer = allm.Tracer()
    async with allm.Client("openai/gpt-4o-mini", base_url=emulator.url_for("openai"), api_key="sk-x",
                           tracer=tracer) as client:
        replies = await asyncio.gather(*[client.complete(f"hi {i}") for i in range(200)])
        totals = client.usage_totals()
    assert (totals.calls, totals.errors, totals.input_tokens, totals.output_tokens) == (200, 0, 600, 400)
    assert totals.cost.total == pytest.approx(sum(r.cost.total for r in replies))
    assert len({r.correlation_id for r in replies}) == 200 and len(tracer.events(type="llm_response")) == 200
