"""Tracing (issue 11 §2) against the emulator: typed events per call, stream, retry, tool call
and failure; one correlation id through a whole tool loop; queries; no key anywhere.

Hand-written for the sync package; tests/_async/test_tracing.py is generated from it.
"""
import logging
import time

import pytest

import llmunified as llm
from llmunified import errors
from llmunified.testing import ToolCallSpec
from tests._sync.helpers import SECRET, model, provider, settings  # noqa: F401 - provider is a fixture

FAST = llm.RetryPolicy(max_retries=2, initial_delay=0.001, max_delay=0.001, jitter=0.0)


def get_weather(city: str) -> str:
    if city == "Atlantis":
        raise LookupError("no such city")
    return f"sunny in {city}"


WEATHER = llm.Tool("get_weather", "Weather for a city.", {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}, function=get_weather)


def kinds(events):
    return [e.type for e in events]


def test_a_call_records_its_start_and_its_response(emulator):
    tracer = llm.Tracer()
    emulator.reply(text="Paris.", usage=(12, 3))
    with llm.Client("openai/gpt-4o-mini", base_url=emulator.url_for("openai"), api_key=SECRET,
                    tracer=tracer) as client:
        reply = client.complete("Capital of France?")
    assert client.tracer is tracer
    assert kinds(tracer.events()) == ["llm_call", "llm_response"]
    start, done = tracer.events()
    assert isinstance(start, llm.LLMCallEvent) and isinstance(done, llm.LLMResponseEvent)
    assert reply.correlation_id and start.correlation_id == done.correlation_id == reply.correlation_id
    assert (start.model, start.provider, start.streaming) == ("openai/gpt-4o-mini", "openai", False)
    assert (done.input_tokens, done.output_tokens, done.finish_reason, done.attempts) == (12, 3, "stop", 1)
    assert done.cost == pytest.approx(reply.cost.total) and done.currency == "USD"
    assert 0 < done.duration < 10 and start.time <= done.time


def test_a_stream_records_one_response_at_its_end(emulator):
    tracer = llm.Tracer()
    emulator.reply(text="one two three", usage=(4, 3))
    with llm.Client("openai/m", base_url=emulator.url_for("openai"), api_key=SECRET, tracer=tracer) as client:
        with client.stream("Count") as stream:
            texts = [e.text for e in stream if e.type == "text"]
    assert "".join(texts) == "one two three"
    start, done = tracer.events()
    assert start.streaming and done.streaming and done.type == "llm_response"
    assert stream.response.correlation_id == start.correlation_id == done.correlation_id
    assert (done.input_tokens, done.output_tokens) == (4, 3)
    assert done.cost is None  # an unknown model: never a made-up 0


def test_a_stream_closed_early_ends_its_trace(emulator):
    tracer = llm.Tracer()
    emulator.reply(text="word " * 200, chunk_size=16)
    with llm.Client("openai/m", base_url=emulator.url_for("openai"), api_key=SECRET, tracer=tracer) as client:
        with client.stream("Talk") as stream:
            for event in stream:
                if event.type == "text":
                    break
    assert kinds(tracer.events()) == ["llm_call", "llm_error"]
    assert tracer.events()[-1].error_type == "StreamClosed"


def test_retries_are_events_of_the_same_call(emulator):
    tracer = llm.Tracer()
    emulator.reply(status=503, error="busy")
    emulator.reply(status=429, error="slow down", headers={"retry-after-ms": "1"})
    emulator.reply(text="ok")
    with llm.Client("openai/m", base_url=emulator.url_for("openai"), api_key=SECRET, retry=FAST,
                    tracer=tracer) as client:
        reply = client.complete("Hi")
    assert kinds(tracer.events()) == ["llm_call", "retry", "retry", "llm_response"]
    first, second = tracer.events(type="retry")
    assert (first.attempt, first.error_type, first.status) == (1, "OverloadedError", 503)
    assert (second.attempt, second.error_type, second.status) == (2, "RateLimitError", 429)
    assert second.wait == pytest.approx(0.001)
    assert tracer.events(type="llm_response")[0].attempts == 3 == reply.attempts
    assert {e.correlation_id for e in tracer.events()} == {reply.correlation_id}


def test_a_stream_retried_before_content(emulator):
    tracer = llm.Tracer()
    emulator.reply(status=500, error="oops")
    emulator.reply(text="fine")
    with llm.Client("openai/m", base_url=emulator.url_for("openai"), api_key=SECRET, retry=FAST,
                    tracer=tracer) as client:
        with client.stream("Hi") as stream:
            events = [e for e in stream]
    assert events and kinds(tracer.events()) == ["llm_call", "retry", "llm_response"]
    assert stream.response.attempts == 2 == tracer.events()[-1].attempts


def test_a_failure_is_an_error_event_and_the_error_carries_the_id(emulator):
    tracer = llm.Tracer()
    emulator.reply(status=401, error="bad key")
    with llm.Client("openai/m", base_url=emulator.url_for("openai"), api_key=SECRET, tracer=tracer) as client:
        with pytest.raises(errors.AuthenticationError) as info:
            client.complete("Hi", correlation_id="req-42")
    assert info.value.correlation_id == "req-42"
    start, failed = tracer.events()
    assert failed.type == "llm_error" and failed.correlation_id == "req-42"
    assert (failed.error_type, failed.status, failed.attempts) == ("AuthenticationError", 401, 1)
    assert failed.duration >= 0


def test_a_stream_broken_after_content_is_an_error_event(emulator):
    tracer = llm.Tracer()
    emulator.reply(text="word " * 20, break_after=3)
    with llm.Client("openai/m", base_url=emulator.url_for("openai"), api_key=SECRET, tracer=tracer) as client:
        with pytest.raises(errors.StreamError) as info:
            with client.stream("Hi") as stream:
                for _ in stream:
                    pass
    failed = tracer.events()[-1]
    assert failed.type == "llm_error" and failed.correlation_id == info.value.correlation_id
    assert failed.streaming


def test_one_correlation_id_through_a_tool_loop(emulator):
    tracer = llm.Tracer()
    emulator.reply(tool_calls=[ToolCallSpec("get_weather", {"city": "Paris"}, id="c1"),
                               ToolCallSpec("get_weather", {"city": "Atlantis"}, id="c2")])
    emulator.reply(tool_calls=[ToolCallSpec("nope", {}, id="c3")])
    emulator.reply(text="Done.")
    with llm.Client("openai/m", base_url=emulator.url_for("openai"), api_key=SECRET, tracer=tracer) as client:
        reply = client.run("Weather?", tools=[WEATHER])
    cid = reply.correlation_id
    assert cid and {e.correlation_id for e in tracer.events()} == {cid}
    assert kinds(tracer.events(type=["llm_call", "llm_response"])) == ["llm_call", "llm_response"] * 3
    paris, atlantis, nope = tracer.events(type=llm.ToolCallEvent)
    assert (paris.name, paris.call_id, paris.arguments, paris.result, paris.error) == (
        "get_weather", "c1", {"city": "Paris"}, "sunny in Paris", None)
    assert atlantis.result is None and atlantis.error == "LookupError: no such city"
    assert nope.name == "nope" and "unknown tool" in nope.error
    assert all(e.duration >= 0 for e in (paris, atlantis, nope))


def test_run_stream_and_a_given_correlation_id(emulator):
    tracer = llm.Tracer()
    emulator.reply(tool_calls=[ToolCallSpec("get_weather", {"city": "Oslo"}, id="c1")])
    emulator.reply(text="Cold.")
    with llm.Client("openai/m", base_url=emulator.url_for("openai"), api_key=SECRET, tracer=tracer) as client:
        with client.run_stream("Weather?", tools=[WEATHER], correlation_id="trip-7") as run:
            events = [e for e in run]
    assert events and run.correlation_id == "trip-7" and run.response.correlation_id == "trip-7"
    assert kinds(tracer.events(correlation_id="trip-7")) == ["llm_call", "llm_response", "tool_call",
                                                             "llm_call", "llm_response"]
    # the option is ours: never sent to the provider
    assert all(b"correlation_id" not in r.body for r in emulator.requests)


def test_a_correlation_id_without_a_tracer(emulator):
    emulator.reply(text="ok")
    emulator.reply(text="ok")
    with llm.Client("openai/m", base_url=emulator.url_for("openai"), api_key=SECRET) as client:
        assert client.complete("Hi").correlation_id is None  # none made up without tracing
        assert client.complete("Hi", correlation_id="abc").correlation_id == "abc"
        with pytest.raises(errors.ValidationError):
            client.complete("Hi", correlation_id=42)
    assert all(b"correlation_id" not in r.body for r in emulator.requests)


def test_queries_by_type_id_and_time(emulator):
    tracer = llm.Tracer()
    emulator.reply(text="a")
    emulator.reply(text="b")
    with llm.Client("openai/m", base_url=emulator.url_for("openai"), api_key=SECRET, tracer=tracer) as client:
        first = client.complete("1", correlation_id="first")
        middle = time.time()
        while time.time() <= middle:  # the next event is strictly later
            pass
        client.complete("2")
    assert first.correlation_id == "first"
    assert len(tracer.events(correlation_id="first")) == 2
    assert [e.correlation_id for e in tracer.events(until=middle)] == ["first", "first"]
    later = tracer.events(since=middle)
    assert len(later) == 2 and all(e.correlation_id != "first" for e in later)
    assert len(tracer.events(type="llm_response", since=middle)) == 1
    tracer.clear()
    assert tracer.events() == [] and len(tracer) == 0


def test_a_session_with_its_own_tracer(emulator):
    tracer = llm.Tracer()
    emulator.reply(text="Hello!")
    with llm.Client("openai/m", base_url=emulator.url_for("openai"), api_key=SECRET) as client:
        chat = llm.ChatSession(client, system="Be brief.", tracer=tracer)
        reply = chat.send("Hi")
        assert chat.tracer is tracer and client.tracer is None
        assert client.usage_totals().calls == 1  # the client still counts the session's calls
    assert kinds(tracer.events()) == ["llm_call", "llm_response"]
    assert tracer.events()[0].correlation_id == reply.correlation_id


def test_no_key_in_events_or_log_records(emulator, provider, caplog):
    tracer = llm.Tracer()
    emulator.reply(status=500, error="boom")
    emulator.reply(tool_calls=[ToolCallSpec("get_weather", {"city": "Rome"})])
    emulator.reply(text="Warm.")
    emulator.reply(status=401, error="bad key")
    caplog.set_level(logging.DEBUG, logger="llmunified")
    with llm.Client(model(provider), **settings(emulator, provider, retry=FAST, max_retries=None,
                                                 tracer=tracer)) as client:
        client.run("Weather in Rome?", tools=[WEATHER])
        with pytest.raises(errors.AuthenticationError):
            client.complete("Hi")
    assert len(tracer.events()) >= 8
    dumped = repr(tracer.to_dicts()) + repr(tracer.events())
    logged = "\n".join(r.getMessage() + repr(r.args) for r in caplog.records)
    assert caplog.records and SECRET not in dumped and SECRET not in logged


def test_a_router_failover_keeps_the_correlation_id(emulator):
    tracer = llm.Tracer()
    emulator.reply(status=503, error="down")   # the primary
    emulator.reply(text="from the backup")     # the backup (the same emulator, another wire)
    primary = llm.Client("openai/test-model", base_url=emulator.url_for("openai"), api_key=SECRET, max_retries=0,
                         label="primary", tracer=tracer)
    backup = llm.Client("anthropic/test-model", base_url=emulator.url_for("anthropic"), api_key=SECRET,
                        max_retries=0, label="backup", tracer=tracer)
    with llm.Router([primary, backup], tracer=tracer) as router:
        reply = router.complete("Hi", correlation_id="routed-1")
        totals = router.usage_totals()
    assert reply.text == "from the backup" and reply.correlation_id == "routed-1"
    assert kinds(tracer.events()) == ["llm_call", "llm_error", "failover", "llm_call", "llm_response"]
    assert {e.correlation_id for e in tracer.events()} == {"routed-1"}
    (failover,) = tracer.events(type=llm.FailoverEvent)
    assert (failover.from_label, failover.to_label, failover.error_type) == ("primary", "backup", "OverloadedError")
    assert [e.label for e in tracer.events(type="llm_call")] == ["primary", "backup"]
    assert (totals.calls, totals.errors) == (2, 1)
