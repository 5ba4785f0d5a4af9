"""The tracer and the usage counter, without I/O (issue 11 §2, issue 17 §4)."""
import threading

import pytest

import llmunified as llm
from llmunified._cost import compute
from llmunified._models import PriceTier, Prices, register_model
from llmunified._trace import (EVENT_TYPES, CallTrace, Hooks, LLMCallEvent, ToolCallEvent, check_correlation_id,
                               hooks_for, new_correlation_id)
from llmunified._totals import UsageTotals
from llmunified._usage import UsageCounter
from llmunified.errors import APIError, ValidationError


def call_event(cid, t):
    return LLMCallEvent(t, cid, "openai/m", "openai")


def test_events_are_typed_dataclasses():
    assert set(EVENT_TYPES) == {"llm_call", "llm_response", "llm_error", "retry", "tool_call", "failover"}
    event = ToolCallEvent(1.0, "abc", "get_weather", "c1", {"city": "Paris"}, "sunny")
    assert event.type == "tool_call" and isinstance(event, llm.TraceEvent)
    assert event.to_dict() == {"time": 1.0, "correlation_id": "abc", "type": "tool_call", "name": "get_weather",
                               "call_id": "c1", "arguments": {"city": "Paris"}, "result": "sunny", "error": None,
                               "duration": 0.0}


def test_queries_filter_by_type_id_and_time():
    tracer = llm.Tracer()
    for i in range(6):
        tracer.record(call_event("a" if i % 2 else "b", float(i)))
    tracer.record(ToolCallEvent(10.0, "a", "t", "c"))
    assert len(tracer) == 7
    assert [e.time for e in tracer.events(correlation_id="a")] == [1.0, 3.0, 5.0, 10.0]
    assert [e.time for e in tracer.events(type="tool_call")] == [10.0]
    assert [e.time for e in tracer.events(type=LLMCallEvent, since=2.0, until=4.0)] == [2.0, 3.0, 4.0]
    assert len(tracer.events(type=["tool_call", "llm_call"])) == 7
    assert tracer.events(type="failover") == []
    with pytest.raises(ValidationError):
        tracer.events(type=42)


def test_the_ring_keeps_the_newest_events():
    tracer = llm.Tracer(max_events=3)
    for i in range(5):
        tracer.record(call_event("x", float(i)))
    assert [e.time for e in tracer.events()] == [2.0, 3.0, 4.0] and tracer.dropped == 2
    tracer.clear()
    assert tracer.events() == [] and tracer.dropped == 0
    nothing_kept = llm.Tracer(max_events=0)
    nothing_kept.record(call_event("x", 0.0))
    assert nothing_kept.events() == []


def test_on_event_sees_each_event_and_its_failure_is_not_raised(caplog):
    seen = []
    tracer = llm.Tracer(on_event=seen.append)
    tracer.record(call_event("x", 1.0))
    assert [e.correlation_id for e in seen] == ["x"]

    def broken(event):
        raise RuntimeError("sink down")

    llm.Tracer(on_event=broken).record(call_event("y", 1.0))
    assert "sink down" in caplog.text


def test_bad_arguments():
    for bad in (-1, 1.5, True, "10"):
        with pytest.raises(ValidationError):
            llm.Tracer(max_events=bad)
    with pytest.raises(ValidationError):
        llm.Tracer(on_event="print")
    with pytest.raises(ValidationError):
        hooks_for("not a tracer", None)  # type: ignore[arg-type]
    for bad in ("", 7, None, "x" * 201):
        with pytest.raises(ValidationError):
            check_correlation_id(bad)


def test_correlation_ids_are_short_and_unique():
    ids = {new_correlation_id() for _ in range(1000)}
    assert len(ids) == 1000 and all(len(i) == 16 and int(i, 16) >= 0 for i in ids)


def test_recording_from_many_threads_loses_nothing():
    tracer = llm.Tracer(max_events=100_000)

    def work(n):
        for i in range(500):
            tracer.record(call_event(f"t{n}", float(i)))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(tracer.events()) == 4000
    assert all(len(tracer.events(correlation_id=f"t{n}")) == 500 for n in range(8))


def test_no_hooks_without_a_tracer_or_opentelemetry():
    assert hooks_for(None, None) is None and hooks_for(None, False) is None
    tracer = llm.Tracer()
    hooks = hooks_for(tracer, False)
    assert isinstance(hooks, Hooks) and hooks.tracer is tracer and hooks.otel is None


class FakeClient:
    model = "openai/m"
    provider = "openai"
    label = "primary"


def test_a_call_trace_ends_once():
    tracer = llm.Tracer()
    trace = CallTrace(Hooks(tracer, None), FakeClient(), "cid", False, None, None)
    trace.failed(APIError("boom", status=500))
    trace.failed(APIError("again", status=500))
    trace.closed(1)
    assert [e.type for e in tracer.events()] == ["llm_call", "llm_error"]
    assert tracer.events()[0].label == "primary" and tracer.events()[1].status == 500


# -- usage totals ---------------------------------------------------------------------------------

def response(model, usage):
    return llm.Response(llm.assistant("x"), usage=usage, model=model, provider="openai")


def test_totals_equal_the_sum_of_each_calls_cost():
    counter = UsageCounter()
    usages = [llm.Usage(1000, 200, 1200), llm.Usage(3000, 500, 3500, cache_read_tokens=1000),
              llm.Usage(50, 400, 450, reasoning_tokens=300), llm.Usage(10, 5, 15)]
    for u in usages:
        counter.add("openai", "gpt-4o-mini", u)
    counter.add("openai", "no-such-model", llm.Usage(10, 10, 20))
    counter.add("openai", "gpt-4o-mini", None, attempts=3, failed=True)  # an error status: nothing billed
    totals = counter.totals()
    expected = sum(response("gpt-4o-mini", u).cost for u in usages)
    assert totals.cost.total == pytest.approx(expected.total)
    assert totals.cost.output == pytest.approx(expected.output)
    assert (totals.calls, totals.errors, totals.retries, totals.unpriced_calls) == (6, 1, 2, 1)
    assert (totals.input_tokens, totals.output_tokens, totals.cache_read_tokens, totals.reasoning_tokens) == (
        4070, 1115, 1000, 300)
    assert totals.total_tokens == 4070 + 1115


def test_price_tiers_apply_call_by_call():
    prices = Prices(input=1.0, output=2.0, tiers=(PriceTier(above=1000, input=10.0, output=20.0),))
    register_model("openai/tiered-test-model", prices={"input": 1.0, "output": 2.0,
                                                        "tiers": [{"above": 1000, "input": 10.0, "output": 20.0}]})
    counter = UsageCounter()
    small, large = llm.Usage(900, 100, 1000), llm.Usage(2000, 100, 2100)
    counter.add("openai", "tiered-test-model", small)
    counter.add("openai", "tiered-test-model", large)
    want = compute(prices, small).total + compute(prices, large).total
    assert counter.totals().cost.total == pytest.approx(want)


def test_inconsistent_counts_are_never_a_negative_charge():
    counter = UsageCounter()
    odd = llm.Usage(10, 5, 15, cache_read_tokens=50, reasoning_tokens=20)  # more cached than input
    counter.add("openai", "gpt-4o-mini", odd)
    counter.add("openai", "gpt-4o-mini", llm.Usage(100, 10, 110))
    expected = response("gpt-4o-mini", odd).cost + response("gpt-4o-mini", llm.Usage(100, 10, 110)).cost
    assert counter.totals().cost.total == pytest.approx(expected.total)


def test_reset_and_sums():
    counter = UsageCounter()
    counter.add("openai", "gpt-4o-mini", llm.Usage(10, 5, 15))
    first = counter.totals(reset=True)
    assert first.calls == 1 and counter.totals() == UsageTotals()
    counter.add("openai", "no-such-model", llm.Usage(1, 1, 2, estimated=True))
    both = first + counter.totals()
    assert (both.calls, both.input_tokens, both.unpriced_calls, both.estimated) == (2, 11, 1, True)
    assert both.cost == first.cost and sum([first, first]).calls == 2
    assert UsageTotals().cost is None


def test_counting_from_many_threads_loses_nothing():
    counter = UsageCounter()

    def work():
        for _ in range(1000):
            counter.add("openai", "gpt-4o-mini", llm.Usage(3, 2, 5), attempts=2)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    totals = counter.totals()
    assert (totals.calls, totals.retries, totals.input_tokens, totals.output_tokens) == (8000, 8000, 24000, 16000)
    one = response("gpt-4o-mini", llm.Usage(3, 2, 5)).cost.total
    assert totals.cost.total == pytest.approx(one * 8000)


def test_the_correlation_id_option_is_never_part_of_a_request():
    from llmunified._options import make_options

    assert make_options({}, {"correlation_id": "abc", "temperature": 0.5}).temperature == 0.5
    with pytest.raises(ValidationError, match="correlation_id"):  # a default for every call makes no sense
        make_options({"correlation_id": "abc"}, {})
