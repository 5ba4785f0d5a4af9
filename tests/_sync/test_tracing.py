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
    *first_round, nope = tracer.events(type=llm.ToolCallEvent)
    # round 1's calls run concurrently: each is recorded as it ends, in either order
    paris, atlantis = sorted(first_round, key=lambda e: e.call_id)
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


# -- a Router's tracer records every call it makes ----------------------------------------------

def entries(emulator, **primary_extra):
    primary = llm.Client("openai/test-model", base_url=emulator.url_for("openai"), api_key=SECRET, max_retries=0,
                         label="primary", **primary_extra)
    backup = llm.Client("anthropic/test-model", base_url=emulator.url_for("anthropic"), api_key=SECRET,
                        max_retries=0, label="backup")
    return [primary, backup]


def test_a_router_tracer_records_the_calls_of_untraced_entries(emulator):
    tracer = llm.Tracer()
    emulator.reply(text="first")
    emulator.reply(status=503, error="down")
    emulator.reply(text="from the backup")
    with llm.Router(entries(emulator), tracer=tracer) as router:
        first = router.complete("Hi")
        second = router.complete("Again")
        assert all(c.tracer is None for c in router.clients)  # the clients themselves are untouched
    assert first.correlation_id and second.correlation_id and first.correlation_id != second.correlation_id
    one = tracer.events(correlation_id=first.correlation_id)
    assert kinds(one) == ["llm_call", "llm_response"] and [e.label for e in one] == ["primary", "primary"]
    two = tracer.events(correlation_id=second.correlation_id)
    assert kinds(two) == ["llm_call", "llm_error", "failover", "llm_call", "llm_response"]
    assert [getattr(e, "label", None) for e in two] == ["primary", "primary", None, "backup", "backup"]
    assert len(tracer.events()) == 7 and second.text == "from the backup"


def test_a_clients_own_tracer_keeps_recording_and_nothing_is_recorded_twice(emulator):
    tracer, own = llm.Tracer(), llm.Tracer()
    emulator.reply(status=503, error="down")
    emulator.reply(text="ok")
    with llm.Router(entries(emulator, tracer=own), tracer=tracer) as router:
        reply = router.complete("Hi", correlation_id="both")
        assert router.clients[0].tracer is own
    assert kinds(tracer.events()) == ["llm_call", "llm_error", "failover", "llm_call", "llm_response"]
    assert kinds(own.events()) == ["llm_call", "llm_error"]  # the primary's own calls, once each
    assert {e.correlation_id for e in tracer.events() + own.events()} == {"both"} == {reply.correlation_id}


def test_a_router_stream_is_traced_across_its_failover(emulator):
    tracer = llm.Tracer()
    emulator.reply(status=500, error="oops")
    emulator.reply(text="streamed")
    with llm.Router(entries(emulator), tracer=tracer) as router:
        with router.stream("Hi") as stream:
            texts = [e.text for e in stream if e.type == "text"]
    assert "".join(texts) == "streamed"
    events = tracer.events()
    assert kinds(events) == ["llm_call", "llm_error", "failover", "llm_call", "llm_response"]
    assert {e.correlation_id for e in events} == {stream.correlation_id} and stream.correlation_id
    assert events[0].streaming and events[-1].streaming and events[-1].label == "backup"
    assert events[2].to_label == "backup"


def test_a_router_tool_loop_is_one_correlation_id(emulator):
    tracer = llm.Tracer()
    emulator.reply(tool_calls=[ToolCallSpec("get_weather", {"city": "Paris"}, id="c1")])
    emulator.reply(status=503, error="down")  # the second round fails over
    emulator.reply(text="Sunny.")
    with llm.Router(entries(emulator), tracer=tracer) as router:
        reply = router.run("Weather?", tools=[WEATHER])
    assert reply.text == "Sunny." and reply.label == "backup"
    assert kinds(tracer.events()) == ["llm_call", "llm_response", "tool_call", "llm_call", "llm_error", "failover",
                                      "llm_call", "llm_response"]
    assert {e.correlation_id for e in tracer.events()} == {reply.correlation_id}


def test_failover_names_the_entry_actually_tried_next(emulator):
    tracer = llm.Tracer()
    clients = [llm.Client("openai/test-model", base_url=emulator.url_for("openai"), api_key=SECRET, max_retries=0,
                          label=label) for label in ("first", "second", "third")]
    emulator.reply(status=503, error="first down")
    emulator.reply(text="from the third")
    emulator.reply(status=503, error="first down again")
    emulator.reply(status=500, error="third down")
    with llm.Router(clients, tracer=tracer, failure_threshold=5) as router:
        router.breaker("second").trip(errors.ServerError("earlier"))  # open: skipped, never named
        reply = router.complete("Hi")
        assert reply.label == "third" and [label for label, _ in reply.failovers] == ["first"]
        with pytest.raises(errors.RouterError):
            router.complete("Again")
    first, second, last = tracer.events(type=llm.FailoverEvent)
    assert (first.from_label, first.to_label) == ("first", "third")
    assert (second.from_label, second.to_label) == ("first", "third")
    assert (last.from_label, last.to_label, last.error_type) == ("third", None, "ServerError")  # none left
    assert "second" not in [e.label for e in tracer.events(type="llm_call")]


def test_a_session_over_a_traced_router_records_into_both_tracers(emulator):
    tracer, session_tracer = llm.Tracer(), llm.Tracer()
    emulator.reply(text="Hello!")
    with llm.Router(entries(emulator), tracer=tracer) as router:
        chat = llm.ChatSession(router, tracer=session_tracer)
        reply = chat.send("Hi")
        assert chat.tracer is session_tracer and router.tracer is tracer
    assert kinds(tracer.events()) == kinds(session_tracer.events()) == ["llm_call", "llm_response"]
    assert tracer.events()[0].correlation_id == session_tracer.events()[0].correlation_id == reply.correlation_id


def test_a_router_without_a_tracer_gives_traced_entries_one_id(emulator):
    own = llm.Tracer()
    emulator.reply(status=503, error="down")
    emulator.reply(text="ok")
    primary = llm.Client("openai/test-model", base_url=emulator.url_for("openai"), api_key=SECRET, max_retries=0,
                         label="primary", tracer=own)
    backup = llm.Client("anthropic/test-model", base_url=emulator.url_for("anthropic"), api_key=SECRET,
                        max_retries=0, label="backup", tracer=own)
    with llm.Router([primary, backup]) as router:
        reply = router.complete("Hi")
    assert kinds(own.events()) == ["llm_call", "llm_error", "llm_call", "llm_response"]  # no router tracer: no failover
    assert {e.correlation_id for e in own.events()} == {reply.correlation_id} and reply.correlation_id


def test_router_embed_is_traced(emulator):
    tracer = llm.Tracer()
    claude = llm.Client("anthropic/test-model", base_url=emulator.url_for("anthropic"), api_key=SECRET,
                        label="claude")
    openai = llm.Client("openai/text-embedding-3-small", base_url=emulator.url_for("openai"), api_key=SECRET,
                        label="embedder")
    with llm.Router([claude, openai], tracer=tracer) as router:
        result = router.embed(["a", "b"], correlation_id="emb-1")
    assert len(result.vectors) == 2
    start, done = tracer.events()  # the entry without embeddings is skipped: no request, no failover
    assert (start.type, start.operation, start.label) == ("llm_call", "embeddings", "embedder")
    assert (done.type, done.operation, done.label) == ("llm_response", "embeddings", "embedder")
    assert done.input_tokens == result.usage.input_tokens > 0 and done.response_model == result.model
    assert start.correlation_id == done.correlation_id == "emb-1"


# -- embeddings, token counts, listings and model management are traced --------------------------

def test_embed_is_traced_with_its_retries_and_failures(emulator):
    tracer = llm.Tracer()
    emulator.reply(status=503, error="busy")
    with llm.Client("openai/text-embedding-3-small", base_url=emulator.url_for("openai"), api_key=SECRET,
                    retry=FAST, tracer=tracer) as client:
        result = client.embed(["one", "two"])
        emulator.reply(status=400, error="too long")
        with pytest.raises(errors.BadRequestError) as info:
            client.embed("three")
    call, retry, done, call2, failed = tracer.events()
    assert kinds([call, retry, done]) == ["llm_call", "retry", "llm_response"]
    assert {e.operation for e in (call, retry, done)} == {"embeddings"} and call.model == client.model
    assert done.input_tokens == result.usage.input_tokens and done.cost == pytest.approx(result.cost.total)
    assert call.correlation_id == retry.correlation_id == done.correlation_id
    assert (failed.type, failed.operation, failed.error_type, failed.status) == (
        "llm_error", "embeddings", "BadRequestError", 400)
    assert info.value.correlation_id == failed.correlation_id == call2.correlation_id
    assert tracer.events(type="llm_call")[0].operation == "embeddings"
    assert all(b"correlation_id" not in r.body for r in emulator.requests)


def test_count_tokens_is_traced_only_when_a_provider_counts(emulator):
    tracer = llm.Tracer()
    with llm.Client("anthropic/test-model", base_url=emulator.url_for("anthropic"), api_key=SECRET,
                    tracer=tracer) as client:
        count = client.count_tokens("How many?", correlation_id="count-1")
    start, done = tracer.events()
    assert (start.operation, done.operation, done.type) == ("count_tokens", "count_tokens", "llm_response")
    assert start.correlation_id == done.correlation_id == "count-1" and count.exact
    assert done.input_tokens == 0 and done.cost is None  # a count is not a billed call
    tracer.clear()
    with llm.Client("openai/gpt-4o-mini", base_url=emulator.url_for("openai"), api_key=SECRET,
                    tracer=tracer) as client:
        client.count_tokens("Counted here")
    assert tracer.events() == []  # no request: nothing to trace


def test_list_models_is_traced(emulator):
    tracer = llm.Tracer()
    with llm.Client("openai/m", base_url=emulator.url_for("openai"), api_key=SECRET, tracer=tracer) as client:
        models = client.list_models()
    with llm.Client("openai/m", base_url=emulator.url_for("openai") + "/nowhere", api_key=SECRET,
                    tracer=tracer) as client:
        with pytest.raises(errors.NotFoundError) as info:
            client.list_models()
    assert models
    assert kinds(tracer.events()) == ["llm_call", "llm_response", "llm_call", "llm_error"]
    assert {e.operation for e in tracer.events()} == {"list_models"}
    assert info.value.correlation_id == tracer.events()[-1].correlation_id


def test_ollama_model_management_is_traced(emulator):
    tracer = llm.Tracer()
    with llm.Client("ollama/anything", base_url=emulator.url_for("ollama"), api_key=SECRET,
                    tracer=tracer) as client:
        client.show("llama3.2")
        with pytest.raises(errors.NotFoundError):
            client.show("not-pulled")
        client.copy_model("llama3.2", "mine")
        client.delete_model("mine")
        client.running_models()
        client.pull("gemma3:1b").until_done()
        with client.pull("qwen3:0.6b"):
            pass  # opened, closed before its progress was read
    calls = tracer.events(type="llm_call")
    assert [(e.operation, e.model) for e in calls] == [
        ("show", "ollama/llama3.2"), ("show", "ollama/not-pulled"), ("copy", "ollama/llama3.2"),
        ("delete", "ollama/mine"), ("running_models", "ollama/anything"), ("pull", "ollama/gemma3:1b"),
        ("pull", "ollama/qwen3:0.6b")]
    assert [e.streaming for e in calls][-2:] == [True, True]
    ends = tracer.events(type=["llm_response", "llm_error"])
    assert [(e.type, e.operation) for e in ends] == [
        ("llm_response", "show"), ("llm_error", "show"), ("llm_response", "copy"), ("llm_response", "delete"),
        ("llm_response", "running_models"), ("llm_response", "pull"), ("llm_error", "pull")]
    assert ends[1].status == 404 and ends[-1].error_type == "StreamClosed"
    assert [e.correlation_id for e in calls] == [e.correlation_id for e in ends]
    assert len({e.correlation_id for e in calls}) == 7
