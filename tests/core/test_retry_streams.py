"""The retry policy's wait budget and record (``max_wait``, ``waits``), and the sans-IO rules a
stream's retries follow: what content is, which stream failures are retried before content,
and how the attempts are noted (llmunified/_retry.py; in-stream error classes from
llmunified/providers/_base.py)."""
import dataclasses
import math

import pytest

from llmunified import errors
from llmunified._events import (Finish, TextDelta, ThinkingDelta, ToolCallDelta, ToolCallEnd, ToolCallStart,
                                UsageEvent)
from llmunified._registry import PROVIDERS, resolve_config
from llmunified._retry import (CONTENT_EVENTS, RetryPolicy, has_content, record_attempts,
                               retryable_before_content)
from llmunified._types import Message, Response, ToolCall, Usage
from llmunified.providers.openai import OpenAICodec


def rate_limited(retry_after=None):
    return errors.RateLimitError("slow down", provider="openai", status=429, retry_after=retry_after)


# -- the record: attempt and waits -------------------------------------------------------------

def test_defaults_have_no_budget_and_no_waits():
    p = RetryPolicy()
    assert p.max_wait is None and p.waits == () and p.waited == 0


def test_increment_records_the_wait_taken():
    p = RetryPolicy().increment(0.5).increment(1.25)
    assert p.attempt == 2 and p.waits == (0.5, 1.25) and p.waited == 1.75
    assert RetryPolicy().increment().waits == ()  # no wait given: none recorded
    assert p == RetryPolicy(attempt=2, waits=(0.5, 1.25))
    hash(p)


def test_waits_given_as_a_list_become_a_tuple():
    p = RetryPolicy(waits=[0.1, 0.2])  # type: ignore[arg-type]
    assert p.waits == (0.1, 0.2)
    hash(p)


@pytest.mark.parametrize("value", [-1, -0.001, True, math.nan])
def test_max_wait_must_be_seconds_or_none(value):
    with pytest.raises(ValueError, match="max_wait"):
        RetryPolicy(max_wait=value)


def test_max_wait_zero_turns_waiting_off():
    assert RetryPolicy(max_wait=0).delay_for(rate_limited(), rand=lambda: 0) is None
    assert RetryPolicy(max_wait=0).delay_for(rate_limited(retry_after=0.001)) is None


# -- the budget ----------------------------------------------------------------------------------

def test_a_server_wait_within_the_budget_is_obeyed():
    assert RetryPolicy(max_wait=10).delay_for(rate_limited(retry_after=3)) == 3


def test_a_server_wait_past_the_budget_fails_fast():
    p = RetryPolicy(max_wait=10)
    assert p.delay_for(rate_limited(retry_after=30)) is None
    # also past max_server_delay, where without a budget the backoff would apply instead
    assert RetryPolicy().delay_for(rate_limited(retry_after=3600), rand=lambda: 0) == 0.5
    assert p.delay_for(rate_limited(retry_after=3600), rand=lambda: 0) is None


def test_waits_already_taken_count_against_the_budget():
    p = RetryPolicy(max_retries=5, max_wait=1.0).increment(0.7)
    assert p.delay_for(rate_limited(retry_after=0.3)) == pytest.approx(0.3)
    assert p.delay_for(rate_limited(retry_after=0.31)) is None
    # a backoff is held to the budget too
    assert p.delay_for(rate_limited(), rand=lambda: 0) is None  # 1.0 s backoff, 0.3 s left
    assert p.increment(0.3).delay_for(rate_limited(retry_after=0.001)) is None  # nothing left


def test_the_budget_never_overrides_giving_up():
    assert RetryPolicy(max_retries=0, max_wait=100).delay_for(rate_limited(retry_after=1)) is None
    assert RetryPolicy(max_wait=100).delay_for(errors.BadRequestError("x", status=400)) is None


def test_max_wait_is_a_plain_replaceable_field():
    p = dataclasses.replace(RetryPolicy(), max_wait=5)
    assert p.max_wait == 5 and "max_wait" in (RetryPolicy.__doc__ or "")


# -- content ---------------------------------------------------------------------------------------

CALL = ToolCall("call_1", "f", {})


@pytest.mark.parametrize("event, is_content", [
    (TextDelta("a"), True), (ThinkingDelta("hm"), True), (ThinkingDelta("", signature="sig"), True),
    (ToolCallStart(0, "call_1", "f"), True), (ToolCallDelta(0, "{"), True), (ToolCallEnd(0, CALL), True),
    (UsageEvent(Usage(1, 2)), False), (Finish("stop"), False),
])
def test_content_is_text_thinking_and_tool_calls(event, is_content):
    assert has_content([event]) is is_content
    assert (event.type in CONTENT_EVENTS) is is_content


def test_has_content_looks_at_every_event():
    assert has_content([UsageEvent(Usage(1, 2)), TextDelta("a")])
    assert not has_content([UsageEvent(Usage(1, 2)), Finish("stop")])
    assert not has_content([])


# -- which stream failures are retried before content --------------------------------------------

def broken():
    return errors.StreamError("broke", provider="openai")


@pytest.mark.parametrize("err, expected", [
    (errors.interrupted_stream(broken(), errors.TimeoutError("t")), True),
    (errors.interrupted_stream(broken(), errors.ConnectionError("c")), True),
    # an in-stream error event (no HTTP status) of a retryable kind
    (errors.OverloadedError("o", retryable=False), True),
    (errors.RateLimitError("r", retryable=False), True),
    (errors.ServerError("s", retryable=False), True),
    # ... and of a kind that is not, or of no kind at all
    (errors.BadRequestError("b", retryable=False), False),
    (errors.APIError("?", retryable=False), False),
    # the server's word on the stream's reply wins
    (errors.OverloadedError("o", retryable=False, headers={"x-should-retry": "false"}), False),
    (errors.APIError("?", retryable=False, headers={"x-should-retry": "true"}), True),
    # an HTTP error status keeps the verdict a plain call got
    (errors.ServerError("s", status=500, retryable=False), False),
    (errors.RateLimitError("r", status=429), True),
    # a stream whose bytes made no sense is not retried
    (broken(), False),
    (errors.MalformedResponseError("m"), False),
])
def test_retryable_before_content_is_what_a_plain_call_would_do(err, expected):
    assert retryable_before_content(err) is expected


def test_interrupted_streams_are_made_not_retryable():
    # the stream, which knows whether content reached the caller, decides
    for cause in (errors.TimeoutError("t"), errors.ConnectionError("c")):
        assert errors.interrupted_stream(broken(), cause).retryable is False


def openai_codec():
    return OpenAICodec(resolve_config(PROVIDERS["openai"], api_key="sk-test-0123456789", environ={}), "gpt-4o")


@pytest.mark.parametrize("etype, cls", [
    ("server_error", errors.ServerError), ("rate_limit_exceeded", errors.RateLimitError),
    ("overloaded_error", errors.OverloadedError), ("invalid_request_error", errors.APIError),
])
def test_in_stream_error_types_any_wire_shares_give_their_class(etype, cls):
    decoder = openai_codec().stream_decoder({})
    body = b'data: {"error": {"message": "m", "type": "%s"}}\n\n' % etype.encode()
    with pytest.raises(errors.APIError) as info:
        decoder.feed(body)
    err = info.value
    assert type(err) is cls and err.status is None and err.retryable is False
    assert retryable_before_content(err) is cls.default_retryable


# -- noting the attempts -----------------------------------------------------------------------------

def test_record_attempts_notes_retries_only():
    response = Response(Message("assistant", "hi"))
    assert record_attempts(response, RetryPolicy()) is response
    assert response.attempts == 1 and response.waits == ()
    record_attempts(response, RetryPolicy().increment(0.25).increment(0.5))
    assert response.attempts == 3 and response.waits == (0.25, 0.5)
    err = record_attempts(rate_limited(), RetryPolicy().increment(0.1))
    assert err.attempts == 2 and err.waits == (0.1,)
    assert errors.LLMError("x").attempts == 1 and errors.LLMError("x").waits == ()


def test_attempts_are_not_part_of_a_replys_equality_or_repr():
    a, b = Response(Message("assistant", "hi")), Response(Message("assistant", "hi"))
    record_attempts(a, RetryPolicy().increment(0.5))
    assert a == b and "attempts" not in repr(a)


def test_structured_output_error_keeps_its_attempt_texts():
    err = errors.StructuredOutputError("bad", attempts=["{", "[]"])
    assert err.attempts == ["{", "[]"]
