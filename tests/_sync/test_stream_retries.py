"""Streams retried like plain calls until content reaches the caller (issue 10 §1), for every
wire protocol against the emulator.

- a failure before the first content event (an error status, a connection dropped or stalled
  after the headers, an in-stream error of a retryable kind) is retried once and then succeeds,
  transparently: the caller sees the events of the successful attempt only, once;
- a failure after content is raised with the partial reply and never retried;
- ``attempts`` and ``waits`` on the response and on the error; ``retry-after-ms`` /
  ``retry-after`` read from each attempt's own reply; ``RetryPolicy(max_wait=...)`` fails fast.

Delays are milliseconds: nothing here sleeps for long, and no assertion depends on wall-clock
timing except an upper bound far above what the test takes when it passes.

Hand-written for the sync package; tests/_async/test_stream_retries.py is generated from it.
"""
import time

import pytest

import llmunified as llm
from llmunified import errors
from llmunified._twin import io
from llmunified.testing import ToolCallSpec
from tests._sync.helpers import WEATHER, model, provider, settings  # noqa: F401 - provider is a fixture

#: tiny, fixed backoff: a retry without a server-given wait sleeps 5 ms
FAST = llm.RetryPolicy(max_retries=2, initial_delay=0.005, max_delay=0.005, jitter=0.0)

#: error kinds a plain call retries, as statuses
RETRIED_STATUSES = [408, 409, 429, 500, 503, 529]

#: how many wire events each dialect sends before its first text event (a break after them
#: comes before any content; the text is "word " repeated)
EVENTS_BEFORE_TEXT = {"openai": 1, "lmstudio": 1, "azure": 2, "anthropic": 3, "vertex-claude": 3, "cohere": 2,
                      "ollama": 0, "gemini": 0, "vertex": 0}

#: wires whose in-stream error events carry a type (so a retryable kind can be told apart);
#: Ollama's and Cohere's carry only a message: a plain APIError, never retried
TYPED_STREAM_ERRORS = {"openai", "lmstudio", "azure", "anthropic", "vertex-claude", "gemini", "vertex"}


def weather_tool():
    def get_weather(city, days=1):
        return f"sunny in {city}"

    return llm.Tool(WEATHER.name, WEATHER.description, WEATHER.parameters, function=get_weather)


def client_for(emulator, provider, **extra) -> llm.Client:
    return llm.Client(model(provider), **settings(emulator, provider, **dict({"retry": FAST, "max_retries": None},
                                                                               **extra)))


def texts(events):
    return "".join(e.text for e in events if e.type == "text")


@io
def stream_all(client, prompt="Hi", **options):
    events = []
    with client.stream(prompt, **options) as stream:
        for event in stream:
            events.append(event)
    return events, stream.response


def assert_one_clean_run(events, response, text):
    """The events are those of one successful stream: its text once, one finish, at most one
    usage, the finish last."""
    assert texts(events) == text and response.text == text
    kinds = [e.type for e in events]
    assert kinds.count("finish") == 1 and kinds[-1] == "finish"
    assert kinds.count("usage") <= 1


# -- before content: retried ------------------------------------------------------------------

@pytest.mark.parametrize("status", RETRIED_STATUSES)
def test_an_error_status_before_the_stream_is_retried(emulator, provider, status):
    emulator.reply(status=status, error="busy, try again", headers={"retry-after-ms": "3"})
    emulator.reply(text="hello world")
    with client_for(emulator, provider) as client:
        events, response = stream_all(client)
    assert_one_clean_run(events, response, "hello world")
    assert len(emulator.requests) == 2
    assert response.attempts == 2 and response.waits == (0.003,)


def test_a_connection_dropped_before_content_is_retried(emulator, provider):
    emulator.reply(text="word " * 3, break_after=EVENTS_BEFORE_TEXT[provider])
    emulator.reply(text="hello world")
    with client_for(emulator, provider) as client:
        events, response = stream_all(client)
    assert_one_clean_run(events, response, "hello world")
    assert len(emulator.requests) == 2
    assert response.attempts == 2 and response.waits == (0.005,)


def test_a_stream_stalled_before_content_is_retried(emulator, provider):
    # the first write is 3 bytes: no event can be decoded from it; then the server goes quiet
    emulator.reply(text="word " * 3, chunk_size=3, delay=1.0)
    emulator.reply(text="hello world")
    with client_for(emulator, provider) as client:
        events, response = stream_all(client, timeout=0.3)
    assert_one_clean_run(events, response, "hello world")
    assert len(emulator.requests) == 2
    assert response.attempts == 2


def test_an_in_stream_error_before_content_is_retried_when_its_kind_is(emulator, provider):
    emulator.reply(text="", stream_error="Overloaded")
    emulator.reply(text="hello world")
    with client_for(emulator, provider) as client:
        if provider in TYPED_STREAM_ERRORS:  # overloaded / a server error: retried
            events, response = stream_all(client)
            assert_one_clean_run(events, response, "hello world")
            assert len(emulator.requests) == 2 and response.attempts == 2
        else:  # no kind to go by: raised as it came
            with pytest.raises(errors.APIError) as info:
                stream_all(client)
            assert info.value.message == "Overloaded" and info.value.retryable is False
            assert info.value.attempts == 1 and len(emulator.requests) == 1


def test_a_stream_that_said_x_should_retry_false_is_not_retried(emulator):
    emulator.reply(text="", stream_error="Overloaded", headers={"x-should-retry": "false"})
    emulator.reply(text="never sent")
    with client_for(emulator, "anthropic") as client:
        with pytest.raises(errors.OverloadedError) as info:
            stream_all(client)
    assert info.value.retryable is False and len(emulator.requests) == 1


@pytest.mark.parametrize("name, break_after", [("openai", 3), ("azure", 4)])
def test_events_held_before_a_failure_are_neither_lost_nor_repeated(emulator, name, break_after):
    # the first attempt gets as far as its usage (no content), then breaks: that usage is not
    # the reply's, and must not reach the caller; the second attempt's own usage does, once
    emulator.reply(text="", usage=(11, 1), break_after=break_after)
    emulator.reply(text="hello world", usage=(40, 7))
    with client_for(emulator, name) as client:
        events, response = stream_all(client)
    assert_one_clean_run(events, response, "hello world")
    usages = [e.usage for e in events if e.type == "usage"]
    assert [(u.input_tokens, u.output_tokens) for u in usages] == [(40, 7)]
    assert (response.usage.input_tokens, response.usage.output_tokens) == (40, 7)


def test_a_reply_without_content_still_hands_over_its_events(emulator, provider):
    emulator.reply(text="")
    with client_for(emulator, provider) as client:
        events, response = stream_all(client)
    assert [e.type for e in events][-1] == "finish" and response.text == ""
    assert response.attempts == 1 and response.waits == ()


def test_retries_before_content_share_the_budget_with_the_request(emulator):
    # one retry for the status, one for the break: the third failure is raised, noting both
    emulator.reply(status=503, error="busy", headers={"retry-after-ms": "2"})
    emulator.reply(text="word", break_after=0)
    emulator.reply(status=529, error="still busy", headers={"retry-after-ms": "4"})
    with client_for(emulator, "anthropic") as client:
        with pytest.raises(errors.OverloadedError) as info:
            stream_all(client)
    err = info.value
    assert len(emulator.requests) == 3
    assert err.attempts == 3 and err.waits == (0.002, 0.005)
    assert err.retryable is True  # nothing reached the caller: it may try again itself


# -- after content: raised, never retried -----------------------------------------------------

def test_a_connection_dropped_after_content_is_raised_with_the_partial_reply(emulator, provider):
    emulator.reply(text="word ", repeat_chunks=7, break_after=EVENTS_BEFORE_TEXT[provider] + 2)
    emulator.reply(text="never sent")
    received = []
    with client_for(emulator, provider) as client:
        with pytest.raises(errors.StreamConnectionError) as info:
            with client.stream("Count") as stream:
                for event in stream:
                    received.append(event)
    err = info.value
    assert texts(received) and err.response.text == texts(received)
    assert err.retryable is False and err.attempts == 1 and len(emulator.requests) == 1


@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini"])  # every wire: test_errors_catchable
def test_a_stall_after_content_is_raised_with_the_partial_reply(emulator, provider):
    emulator.reply(text="word ", repeat_chunks=50, chunk_size=1500, delay=1.0)
    received = []
    with client_for(emulator, provider) as client:
        with pytest.raises(errors.StreamTimeoutError) as info:
            with client.stream("Count", timeout=0.3) as stream:
                for event in stream:
                    received.append(event)
    assert texts(received) and info.value.response.text == texts(received)
    assert info.value.retryable is False and len(emulator.requests) == 1


def test_an_in_stream_error_after_content_is_raised_with_the_partial_reply(emulator, provider):
    emulator.reply(text="Partial answer", stream_error="Overloaded")
    emulator.reply(text="never sent")
    received = []
    with client_for(emulator, provider) as client:
        with pytest.raises(errors.APIError) as info:
            with client.stream("Hi") as stream:
                for event in stream:
                    received.append(event)
    err = info.value
    assert texts(received) == "Partial answer" == err.response.text
    assert err.retryable is False and len(emulator.requests) == 1


def test_a_failure_after_content_notes_the_retries_before_it(emulator):
    emulator.reply(status=500, error="boom", headers={"retry-after-ms": "2"})
    emulator.reply(text="word ", repeat_chunks=7, break_after=3)
    with client_for(emulator, "openai") as client:
        with pytest.raises(errors.StreamConnectionError) as info:
            stream_all(client)
    err = info.value
    assert len(emulator.requests) == 2
    assert err.attempts == 2 and err.waits == (0.002,)
    assert err.response.text and err.response.attempts == 2


# -- the server's wait, read fresh; the wait budget ------------------------------------------

def test_retry_after_is_read_from_each_attempts_own_reply(emulator):
    emulator.reply(status=429, error="slow down", headers={"retry-after-ms": "4"})
    emulator.reply(status=503, error="busy", headers={"retry-after": "0.006"})
    emulator.reply(text="hello world")
    with client_for(emulator, "openai") as client:
        events, response = stream_all(client)
    assert response.waits == (0.004, 0.006) and response.attempts == 3
    emulator.reply(status=429, error="slow down", headers={"retry-after-ms": "7"})
    emulator.reply(text="again")
    with client_for(emulator, "openai") as client:
        reply = client.complete("Hi")
    assert reply.text == "again" and reply.attempts == 2 and reply.waits == (0.007,)


@pytest.mark.parametrize("header, value", [("retry-after", "30"), ("retry-after-ms", "30000")])
def test_a_wait_longer_than_max_wait_fails_fast(emulator, provider, header, value):
    emulator.reply(status=429, error="slow down", headers={header: value})
    emulator.reply(status=429, error="slow down", headers={header: value})
    started = time.monotonic()
    with client_for(emulator, provider, retry=llm.RetryPolicy(max_wait=1.0)) as client:
        with pytest.raises(errors.RateLimitError) as info:
            client.complete("Hi")
        with pytest.raises(errors.RateLimitError) as streamed:
            stream_all(client)
    assert time.monotonic() - started < 10  # (it would have slept 30 s twice)
    for err in (info.value, streamed.value):
        assert err.retry_after == 30.0 and err.retryable is True
        assert err.attempts == 1 and err.waits == ()
    assert len(emulator.requests) == 2


def test_waits_add_up_against_max_wait(emulator):
    for _ in range(3):
        emulator.reply(status=503, error="busy", headers={"retry-after-ms": "40"})
    with client_for(emulator, "openai", retry=llm.RetryPolicy(max_retries=5, max_wait=0.07)) as client:
        with pytest.raises(errors.OverloadedError) as info:
            stream_all(client)
    # 40 ms fits in 70, another 40 does not: two requests, one wait
    assert info.value.attempts == 2 and info.value.waits == (0.04,)
    assert len(emulator.requests) == 2


# -- the streams built on Client.stream -------------------------------------------------------

def test_each_round_of_run_stream_is_retried_before_content(emulator):
    emulator.reply(status=503, error="busy", headers={"retry-after-ms": "1"})
    emulator.reply(tool_calls=[ToolCallSpec("get_weather", {"city": "Paris"})])
    emulator.reply(text="word", break_after=EVENTS_BEFORE_TEXT["openai"])
    emulator.reply(text="Sunny in Paris.")
    events = []
    with client_for(emulator, "openai") as client:
        with client.run_stream("Weather?", tools=[weather_tool()]) as run:
            for event in run:
                events.append(event)
    kinds = [e.type for e in events]
    assert kinds.count("tool_result") == 1 and kinds.count("round_end") == 1
    assert kinds.count("tool_call_start") == 1 and kinds.count("finish") == 2
    assert texts(events) == "Sunny in Paris." == run.response.text
    assert len(emulator.requests) == 4


def test_a_chat_session_stream_is_retried_before_content(emulator, provider):
    emulator.reply(status=529, error="overloaded", headers={"retry-after-ms": "1"})
    emulator.reply(text="Hello!")
    with client_for(emulator, provider) as client:
        chat = llm.ChatSession(client, system="Be brief.")
        with chat.stream("Hi") as stream:
            events = [e for e in stream]
        assert texts(events) == "Hello!" and stream.response.attempts == 2
        assert [m.role for m in chat.messages] == ["system", "user", "assistant"]
    assert len(emulator.requests) == 2
