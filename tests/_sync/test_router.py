"""llm.Router (issue 11 §1) against two emulators: failover per error class, no failover on the
caller's mistakes, refused keys opening a breaker, labels on responses, round-robin and weighted
distribution, the all-open error, breakers driven by a fake clock, ChatSession, run(),
run_stream() and streams (failover before content only), and a 1,000-call soak.

Hand-written for the sync package; tests/_async/test_router.py is generated from it.
"""
import functools
import gc
import os
import socket
import threading
import time
import tracemalloc
from collections import Counter

import pytest

import llmunified as llm
from llmunified import errors
from llmunified._backends.sync import run_all
from llmunified._twin import io
from llmunified.testing import Emulator, Reply, ToolCallSpec
from tests._sync.helpers import SECRET, WEATHER, without_asyncio_debug


@pytest.fixture
def backup():
    with Emulator() as emu:
        yield emu
    assert emu.internal_errors == []


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def primary_client(emulator, label="primary", **extra):
    return llm.Client("openai/test-model", **dict({"base_url": emulator.url_for("openai"), "api_key": SECRET,
                                                   "max_retries": 0, "label": label}, **extra))


def backup_client(emulator, label="backup", **extra):
    return llm.Client("anthropic/test-model", **dict({"base_url": emulator.url_for("anthropic"), "api_key": SECRET,
                                                      "max_retries": 0, "label": label}, **extra))


def pair(primary, backup, **extra):
    return [primary_client(primary, **extra), backup_client(backup, **extra)]


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def weather_tool(calls):
    def get_weather(city, days=1):
        calls.append(city)
        return f"sunny in {city}"

    return llm.Tool(WEATHER.name, WEATHER.description, WEATHER.parameters, function=get_weather)


# -- labels ----------------------------------------------------------------------------------

def test_a_client_labels_its_responses(emulator):
    with llm.Client("openai/test-model", base_url=emulator.url_for("openai"), api_key=SECRET) as client:
        assert client.label == "openai/test-model" and "label" not in repr(client)
        assert client.complete("Hi").label == "openai/test-model"
    with llm.Client("openai/test-model", base_url=emulator.url_for("openai"), api_key=SECRET,
                    label="eu-key") as client:
        assert "label='eu-key'" in repr(client)
        assert client.complete("Hi").label == "eu-key"
        with client.stream("Hi") as stream:
            events = [e for e in stream]
        assert events and stream.response.label == "eu-key" and stream.partial_response.label == "eu-key"


def test_a_label_must_be_a_non_empty_string():
    with pytest.raises(errors.ValidationError):
        llm.Client("openai/test-model", api_key=SECRET, label="")
    with pytest.raises(errors.ValidationError):
        llm.Client("openai/test-model", api_key=SECRET, label=3)


def test_the_label_survives_a_saved_response(emulator):
    from llmunified._serialize import response_from_dict, response_to_dict

    with llm.Client("openai/test-model", base_url=emulator.url_for("openai"), api_key=SECRET, label="x") as client:
        response = client.complete("Hi")
    again = response_from_dict(response_to_dict(response))
    assert again == response and again.label == "x"


def test_two_entries_need_two_labels(emulator):
    with pytest.raises(errors.ValidationError, match="label"):
        llm.Router([primary_client(emulator, label="same"), primary_client(emulator, label="same")])
    with pytest.raises(errors.ValidationError):
        llm.Router([])
    with pytest.raises(errors.ValidationError):
        llm.Router(["openai/gpt-4o"])
    with pytest.raises(errors.ValidationError, match="context_windows"):
        llm.Router([primary_client(emulator)], context_windows={"nobody": 1000})


def test_the_router_looks_like_its_first_entry(emulator, backup):
    with llm.Router(pair(emulator, backup), label="main") as router:
        assert router.model == "openai/test-model" and router.provider == "openai"
        assert router.model_name == "test-model" and router.labels == ["primary", "backup"]
        assert router.states() == {"primary": "closed", "backup": "closed"}
        assert repr(router) == "<Router 'main' fallback [primary=closed, backup=closed]>"
        assert [c.label for c in router.clients] == ["primary", "backup"]
        response = router.complete("Hi")
    assert (response.label, response.provider, response.failovers) == ("primary", "openai", ())
    assert backup.requests == []


# -- failover per error class --------------------------------------------------------------

@pytest.mark.parametrize("status, cls", [(429, errors.RateLimitError), (500, errors.ServerError),
                                         (502, errors.ServerError), (503, errors.OverloadedError),
                                         (529, errors.OverloadedError), (408, errors.TimeoutError)])
def test_fails_over_on_a_status_worth_it(emulator, backup, status, cls):
    emulator.reply(status=status, error="not now")
    with llm.Router(pair(emulator, backup)) as router:
        response = router.complete("Hi")
    assert response.text == "You said: Hi"
    assert (response.label, response.provider) == ("backup", "anthropic")
    [(label, error)] = response.failovers
    assert label == "primary" and isinstance(error, cls) and error.status == status
    assert len(emulator.requests) == 1 and len(backup.requests) == 1


def test_fails_over_on_a_refused_connection(backup):
    dead = llm.Client("openai/test-model", base_url=f"http://127.0.0.1:{closed_port()}/v1", api_key=SECRET,
                      max_retries=0, label="dead")
    with llm.Router([dead, backup_client(backup)]) as router:
        response = router.complete("Hi")
    assert response.label == "backup" and isinstance(response.failovers[0][1], errors.ConnectionError)


def test_fails_over_on_a_timeout(emulator, backup):
    emulator.reply(text="too late", delay=0.5)
    with llm.Router([primary_client(emulator, timeout=0.05), backup_client(backup)]) as router:
        response = router.complete("Hi")
    assert response.label == "backup" and isinstance(response.failovers[0][1], errors.TimeoutError)


def test_each_entry_retries_under_its_own_policy_first(emulator, backup):
    emulator.reply(status=503, error="busy")
    emulator.reply(status=503, error="busy")
    fast = llm.RetryPolicy(max_retries=1, initial_delay=0.001, max_delay=0.001, jitter=0.0)
    with llm.Router([primary_client(emulator, retry=fast, max_retries=None), backup_client(backup)]) as router:
        response = router.complete("Hi")
    assert response.label == "backup" and response.failovers[0][1].attempts == 2
    assert len(emulator.requests) == 2


@pytest.mark.parametrize("status, cls", [(400, errors.BadRequestError), (404, errors.NotFoundError),
                                         (422, errors.BadRequestError), (409, errors.ConflictError)])
def test_no_failover_on_the_callers_mistakes(emulator, backup, status, cls):
    emulator.reply(status=status, error="your fault")
    with llm.Router(pair(emulator, backup)) as router:
        with pytest.raises(cls) as info:
            router.complete("Hi")
        assert router.states() == {"primary": "closed", "backup": "closed"}
    assert info.value.status == status and backup.requests == []


def test_no_failover_on_our_own_validation(emulator, backup):
    with llm.Router(pair(emulator, backup)) as router:
        with pytest.raises(errors.ValidationError):
            router.complete([])
        with pytest.raises(errors.ValidationError):
            router.complete("Hi", reasoning="extreme")
    assert emulator.requests == [] and backup.requests == []


def test_a_refused_key_opens_that_entry_and_moves_on(emulator, backup):
    emulator.reply(status=401, error="bad key")
    clock = FakeClock()
    with llm.Router(pair(emulator, backup), failure_threshold=5, cooldown=60, clock=clock) as router:
        first = router.complete("one")
        assert router.states()["primary"] == "open"
        assert isinstance(router.breaker("primary").last_error, errors.AuthenticationError)
        second = router.complete("two")  # straight to the backup: the primary is not asked
        clock.now += 60
        third = router.complete("three")  # the probe: the key works again
    assert [r.label for r in (first, second, third)] == ["backup", "backup", "primary"]
    assert isinstance(first.failovers[0][1], errors.AuthenticationError) and second.failovers == ()
    assert len(emulator.requests) == 2


def test_a_permission_error_also_opens_the_entry(emulator, backup):
    emulator.reply(status=403, error="no access to this model")
    with llm.Router(pair(emulator, backup)) as router:
        assert router.complete("Hi").label == "backup"
        assert router.states()["primary"] == "open"


def test_context_window_exceeded_goes_only_to_a_larger_entry(emulator, backup):
    third = Emulator().start()
    try:
        emulator.reply(status=400, error="This model's maximum context length is 8192 tokens",
                       error_code="context_length_exceeded")
        clients = [primary_client(emulator, label="small"),
                   llm.Client("openai/test-model", base_url=third.url_for("openai"), api_key=SECRET, max_retries=0,
                              label="same"),
                   backup_client(backup, label="big")]
        with llm.Router(clients, context_windows={"small": 8192, "same": 8192, "big": 200000}) as router:
            response = router.complete("a very long prompt")
        assert response.label == "big" and third.requests == []
        assert isinstance(response.failovers[0][1], errors.ContextWindowExceededError)
        assert router.states()["small"] == "closed"  # the entry is fine; the prompt was too long
    finally:
        third.stop()


def test_context_window_exceeded_is_raised_when_no_larger_entry_is_known(emulator, backup):
    emulator.reply(status=400, error="prompt is too long", error_code="context_length_exceeded")
    with llm.Router(pair(emulator, backup)) as router:  # the registry knows neither test model
        with pytest.raises(errors.ContextWindowExceededError):
            router.complete("a very long prompt")
    assert backup.requests == []


def test_a_content_filter_fails_over_only_when_configured(emulator, backup):
    def azure(label):
        return llm.Client("azure/test-model", base_url=emulator.url_for("azure"), api_key=SECRET,
                          api_version="2024-10-21", max_retries=0, label=label)

    emulator.reply(prompt_blocked="violence")
    with llm.Router([azure("strict"), backup_client(backup)]) as router:
        with pytest.raises(errors.ContentFilterError):
            router.complete("something")
    assert backup.requests == []
    emulator.reply(prompt_blocked="violence")
    with llm.Router([azure("strict"), backup_client(backup)],
                    fail_over_on=llm.Router.DEFAULT_FAIL_OVER + (errors.ContentFilterError,)) as router:
        response = router.complete("something")
        assert router.states()["strict"] == "closed"
    assert response.label == "backup" and isinstance(response.failovers[0][1], errors.ContentFilterError)


def test_fail_over_on_refuses_caller_errors(emulator):
    with pytest.raises(errors.ValidationError, match="never fails over"):
        llm.Router([primary_client(emulator)], fail_over_on=[errors.BadRequestError])


# -- every entry down ----------------------------------------------------------------------

def test_every_entry_failing_raises_a_router_error(emulator, backup):
    emulator.reply(status=503, error="primary down")
    backup.reply(status=500, error="backup down")
    with llm.Router(pair(emulator, backup)) as router:
        with pytest.raises(errors.RouterError) as info:
            router.complete("Hi")
    err = info.value
    assert [(label, type(e)) for label, e in err.errors] == [("primary", errors.OverloadedError),
                                                            ("backup", errors.ServerError)]
    assert [(label, state) for label, state, _ in err.entries] == [("primary", "closed"), ("backup", "closed")]
    assert err.__cause__ is err.errors[-1][1] and err.attempts == 2
    assert "'primary' closed" in str(err) and "primary down" in str(err) and "backup down" in str(err)
    assert isinstance(err, errors.LLMError) and SECRET not in str(err)


def test_all_open_raises_at_once_then_probes_after_the_cooldown(emulator, backup):
    clock = FakeClock()
    emulator.reply(status=503, error="primary down")
    backup.reply(status=429, error="slow down", headers={"retry-after": "90"})
    with llm.Router(pair(emulator, backup), failure_threshold=1, cooldown=30, clock=clock) as router:
        with pytest.raises(errors.RouterError):
            router.complete("Hi")
        assert router.states() == {"primary": "open", "backup": "open"}
        with pytest.raises(errors.RouterError) as info:
            router.complete("Hi again")  # nothing is sent
        err = info.value
        assert err.errors == [] and err.attempts == 0 and "every entry is open" in str(err)
        assert err.retry_after == pytest.approx(30)
        assert [state for _, state, _ in err.entries] == ["open", "open"]
        assert isinstance(err.entries[1][2], errors.RateLimitError) and "retry in 90.0s" in str(err)
        assert isinstance(err.__cause__, errors.OverloadedError)
        assert len(emulator.requests) == 1 and len(backup.requests) == 1
        clock.now += 30  # the primary's cooldown is over; the backup asked for 90 s
        assert router.states() == {"primary": "half_open", "backup": "open"}
        response = router.complete("Back?")
        assert response.label == "primary" and router.states()["primary"] == "closed"


def test_breaker_transitions_through_the_router(emulator, backup):
    clock = FakeClock()
    with llm.Router(pair(emulator, backup), failure_threshold=2, cooldown=10, clock=clock) as router:
        emulator.reply(status=500, error="x")
        emulator.reply(status=500, error="x")
        assert [router.complete("Hi").label for _ in range(2)] == ["backup", "backup"]
        assert router.states()["primary"] == "open"
        assert router.complete("Hi").label == "backup" and len(emulator.requests) == 2  # skipped
        clock.now += 10
        emulator.reply(status=500, error="still down")  # the probe fails: open again
        assert router.complete("Hi").label == "backup" and router.states()["primary"] == "open"
        clock.now += 9
        assert router.complete("Hi").label == "backup" and len(emulator.requests) == 3
        clock.now += 1
        assert router.complete("Hi").label == "primary"  # the probe succeeds: closed
        assert router.states()["primary"] == "closed" and router.breaker("primary").failures == 0


def test_a_failure_rate_opens_an_entry_that_never_fails_twice_in_a_row(emulator, backup):
    clock = FakeClock()
    with llm.Router(pair(emulator, backup), failure_threshold=5, failure_rate=0.5, window=4, min_calls=4,
                    cooldown=10, clock=clock) as router:
        assert router.breaker("primary").failure_rate == 0.5 and router.breaker("backup").window == 4
        for _ in range(2):
            emulator.reply(status=503, error="down")
            emulator.reply(text="up")
        labels = [router.complete("Hi").label for _ in range(4)]
        assert labels == ["backup", "primary", "backup", "primary"]
        assert router.states()["primary"] == "closed"  # 2 of 4 failed, but the 4th call succeeded
        emulator.reply(status=503, error="down")
        assert router.complete("Hi").label == "backup"  # the window 200, 503, 200, 503: half failed
        assert router.states()["primary"] == "open" and len(emulator.requests) == 5
        assert router.complete("Hi").label == "backup" and len(emulator.requests) == 5  # skipped
        clock.now += 10
        assert router.complete("Hi").label == "primary"  # the probe succeeds: closed, the window empty
        assert router.states()["primary"] == "closed" and router.breaker("primary").observed_rate is None
        emulator.reply(status=503, error="down")
        assert router.complete("Hi").label == "backup"  # one failure after closing: too few calls to judge
        assert router.states()["primary"] == "closed"


@pytest.mark.parametrize("kwargs", [{"failure_rate": 0}, {"failure_rate": 1.01}, {"failure_rate": "half"},
                                    {"failure_rate": 0.5, "window": 0}, {"failure_rate": 0.5, "min_calls": 30}])
def test_bad_failure_rate_settings_are_refused(emulator, backup, kwargs):
    with pytest.raises(errors.ValidationError):
        llm.Router(pair(emulator, backup), **kwargs)


# -- strategies ------------------------------------------------------------------------------

def test_round_robin_spreads_the_calls(emulator, backup):
    with llm.Router(pair(emulator, backup), strategy="round_robin") as router:
        labels = [router.complete(f"call {i}").label for i in range(10)]
    assert labels == ["primary", "backup"] * 5
    assert len(emulator.requests) == 5 and len(backup.requests) == 5


def test_weighted_follows_the_weights(emulator, backup):
    with llm.Router(pair(emulator, backup), strategy="weighted", weights=[3, 1]) as router:
        labels = Counter([router.complete(f"call {i}").label for i in range(8)])
    assert labels == {"primary": 6, "backup": 2}


def test_round_robin_still_fails_over(emulator, backup):
    backup.reply(status=503, error="busy")
    with llm.Router(pair(emulator, backup), strategy="round_robin") as router:
        first, second = router.complete("a"), router.complete("b")
    assert (first.label, second.label) == ("primary", "primary") and second.failovers[0][0] == "backup"


def test_one_router_from_many_callers(emulator, backup):
    with llm.Router(pair(emulator, backup), strategy="round_robin") as router:
        calls = [functools.partial(router.complete, f"call {i}") for i in range(40)]
        responses = run_all(calls, 8)
    assert [r.text for r in responses] == [f"You said: call {i}" for i in range(40)]
    assert Counter(r.label for r in responses) == {"primary": 20, "backup": 20}


# -- other methods -------------------------------------------------------------------------

def test_extract_fails_over(emulator, backup):
    emulator.reply(status=503, error="busy")
    backup.reply(tool_calls=[ToolCallSpec("output", {"city": "Paris"})])  # a forced tool on this wire
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    with llm.Router(pair(emulator, backup)) as router:
        value = router.extract(schema, "Capital of France?")
        emulator.reply(text='{"city": "Rome"}')
        response = router.extract(schema, "Capital of Italy?", return_response=True)
    assert value == {"city": "Paris"}
    assert response.parsed == {"city": "Rome"} and response.label == "primary"


def test_embed_skips_entries_without_embeddings(emulator, backup):
    clients = [backup_client(backup, label="claude"), primary_client(emulator, label="openai")]
    with llm.Router(clients) as router:
        result = router.embed(["a", "b"])
    assert len(result.vectors) == 2 and backup.requests == []
    with llm.Router([backup_client(backup)]) as router:
        with pytest.raises(errors.UnsupportedOperationError):
            router.embed(["a"])


def test_count_tokens_goes_through_the_router(emulator, backup):
    with llm.Router(pair(emulator, backup)) as router:
        count = router.count_tokens("How many tokens is this?")
    assert count.tokens > 0 and count.model == "openai/test-model"


def test_run_fails_over_round_by_round_and_runs_each_tool_once(emulator, backup):
    calls = []
    emulator.reply(tool_calls=[ToolCallSpec("get_weather", {"city": "Paris"})])
    emulator.reply(status=503, error="busy")
    backup.reply(text="Sunny in Paris.")
    with llm.Router(pair(emulator, backup)) as router:
        response = router.run("Weather in Paris?", tools=[weather_tool(calls)])
    assert response.text == "Sunny in Paris." and response.label == "backup"
    assert calls == ["Paris"] and [m.role for m in response.messages] == ["assistant", "tool", "assistant"]
    assert backup.requests[0].json["messages"][-1]["content"][0]["type"] == "tool_result"


def test_run_stream_fails_over_before_content(emulator, backup):
    calls = []
    emulator.reply(tool_calls=[ToolCallSpec("get_weather", {"city": "Oslo"})])
    emulator.reply(text="never sent", break_after=0)
    backup.reply(text="Cold in Oslo.")
    with llm.Router(pair(emulator, backup)) as router:
        with router.run_stream("Weather in Oslo?", tools=[weather_tool(calls)]) as run:
            events = [e for e in run]
    assert "".join(e.text for e in events if e.type == "text") == "Cold in Oslo."
    assert run.response.label == "backup" and calls == ["Oslo"]


def test_chat_session_over_a_router(emulator, backup):
    emulator.reply(text="Hello!")
    emulator.reply(status=529, error="overloaded")
    with llm.Router(pair(emulator, backup)) as router:
        session = llm.ChatSession(router, system="Be brief.")
        assert session.send("Hi").label == "primary"
        second = session.send("Again")
        assert second.label == "backup" and second.failovers[0][0] == "primary"
        emulator.reply(status=503, error="down")
        with session.stream("Once more") as stream:
            text = "".join([e.text for e in stream if e.type == "text"])
        assert text == "You said: Once more" and stream.response.label == "backup"
        assert [m.role for m in session.messages] == ["system", "user", "assistant", "user", "assistant", "user",
                                                      "assistant"]
    sent = backup.requests[0].json  # the backup got the whole conversation so far
    assert "Be brief." in str(sent["system"])
    assert [m["role"] for m in sent["messages"]] == ["user", "assistant", "user"]


# -- streams -------------------------------------------------------------------------------

def test_a_stream_fails_over_on_an_error_status(emulator, backup):
    emulator.reply(status=503, error="busy")
    with llm.Router(pair(emulator, backup)) as router:
        with router.stream("Hi") as stream:
            assert stream.label == "backup"
            events = [e for e in stream]
    assert "".join(e.text for e in events if e.type == "text") == "You said: Hi"
    response = stream.response
    assert response.label == "backup" and isinstance(response.failovers[0][1], errors.OverloadedError)
    assert stream.failovers == response.failovers


def test_a_stream_fails_over_when_broken_before_content(emulator, backup):
    emulator.reply(text="never", break_after=0)
    with llm.Router(pair(emulator, backup)) as router:
        stream = router.stream("Hi")
        response = stream.until_done()
    assert response.text == "You said: Hi" and response.label == "backup"
    assert isinstance(response.failovers[0][1], errors.StreamError)


def test_a_stream_never_fails_over_after_content(emulator, backup):
    emulator.reply(text="partial answer", stream_error="overloaded")
    with llm.Router(pair(emulator, backup)) as router:
        with pytest.raises(errors.APIError) as info:
            with router.stream("Hi") as stream:
                texts = [e.text for e in stream if e.type == "text"]
        assert router.breaker("primary").failures == 1
    assert backup.requests == []
    assert stream.partial_response.text.startswith("partial") and info.value.response is not None


def test_a_stream_failing_everywhere_raises_a_router_error(emulator, backup):
    emulator.reply(status=500, error="down")
    backup.reply(status=500, error="down too")
    with llm.Router(pair(emulator, backup)) as router:
        with pytest.raises(errors.RouterError) as info:
            with router.stream("Hi") as stream:
                [e for e in stream]
    assert [label for label, _ in info.value.errors] == ["primary", "backup"]


def test_a_stream_left_early_releases_the_probe(emulator, backup):
    clock = FakeClock()
    emulator.reply(status=500, error="down")
    with llm.Router(pair(emulator, backup), failure_threshold=1, cooldown=5, clock=clock) as router:
        assert router.complete("Hi").label == "backup"
        clock.now += 5
        emulator.reply(text="a long answer " * 20, chunk_size=8)
        with router.stream("Hi") as stream:
            first = stream.next_event()
        assert first is not None and stream.label == "primary"
        assert router.states()["primary"] == "closed"  # the probe's first event closed it
        stream.close()


def test_a_stream_refused_before_sending_frees_the_probe(emulator, backup):
    clock = FakeClock()
    emulator.reply(status=500, error="down")
    with llm.Router(pair(emulator, backup), failure_threshold=1, cooldown=5, clock=clock) as router:
        router.complete("Hi")
        clock.now += 5
        with pytest.raises(errors.ValidationError):
            with router.stream([]) as stream:
                [e for e in stream]
        assert router.states()["primary"] == "half_open" and router.complete("Hi").label == "primary"


def test_a_stream_not_started_closes_cleanly(emulator, backup):
    with llm.Router(pair(emulator, backup)) as router:
        stream = router.stream("Hi")
        stream.close()
        with pytest.raises(errors.LLMError):
            stream.response
    assert emulator.requests == []


# -- soak ----------------------------------------------------------------------------------

def _fd_count():
    return len(os.listdir("/proc/self/fd"))


@io
def _batch(router, start, n):
    """Calls ``start`` .. ``start + n - 1`` through ``router``, eight at a time (threads here,
    tasks in the async twin), in order."""
    return run_all([functools.partial(router.complete, f"call {i}") for i in range(start, start + n)], 8)


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts file descriptors in /proc")
def test_soak_a_thousand_calls_one_entry_failing_thirty_percent():
    lock = threading.Lock()
    served = Counter()
    seen = {"flaky": 0}

    def flaky_reply(request):
        with lock:
            seen["flaky"] += 1
            fail = seen["flaky"] % 10 in (1, 4, 7)  # 30% of its calls
            if not fail:
                served["flaky"] += 1
        if fail:
            return Reply(status=503, error="overloaded")
        return Reply(text="You said: " + request.messages[-1]["content"])

    def steady_reply(request):
        with lock:
            served["steady"] += 1
        return Reply(text="You said: " + request.messages[-1]["content"])

    with Emulator(flaky_reply) as flaky, Emulator(steady_reply) as steady:
        clients = [llm.Client("openai/test-model", base_url=flaky.url_for("openai"), api_key=SECRET, max_retries=0,
                              label="flaky"),
                   llm.Client("openai/test-model", base_url=steady.url_for("openai"), api_key=SECRET,
                              max_retries=0, label="steady")]
        with llm.Router(clients, failure_threshold=3, cooldown=0.01) as router:
            texts = []
            labels = Counter()
            loop = without_asyncio_debug()
            try:
                fds_before = _fd_count()  # the emulators listening, no connection yet
                fds = []
                memory = []
                for start in range(0, 1000, 100):
                    if start == 500:
                        tracemalloc.start()
                    for response in _batch(router, start, 100):
                        texts.append(response.text)
                        labels[response.label] += 1
                    flaky.reset()  # the emulators' own records of the requests
                    steady.reset()
                    gc.collect()  # a failover's error holds its frames, in a cycle the collector frees
                    fds.append(_fd_count())
                    if start >= 500:
                        memory.append(tracemalloc.get_traced_memory()[0])
            finally:
                tracemalloc.stop()
                if loop is not None:
                    loop.set_debug(True)
    # No descriptor piles up while it runs: each client's pool holds about as many connections as
    # calls were in flight at once (8; how many overlap, and when, depends on timing), each two
    # descriptors here (the emulators are in this process), and a failed call's error can keep
    # its connection open while the error lives (a failover record, the breaker's last error):
    # bounded, where a leak would grow with the 1,000 calls.
    assert max(fds) <= fds_before + 2 * 2 * 16, f"file descriptors grew: {fds_before} -> {fds}"
    assert memory[-1] - memory[0] < 500_000, f"memory grew: {memory}"
    assert texts == [f"You said: call {i}" for i in range(1000)]  # none lost, none duplicated, in order
    assert labels["flaky"] + labels["steady"] == 1000
    assert labels["flaky"] == served["flaky"] and labels["steady"] == served["steady"]  # one reply per call
    assert labels["flaky"] > 300 and labels["steady"] > 200
