"""RetryPolicy, parse_retry_after, parse_should_retry (llmunified/_retry.py), and the retry facts a
codec's errors carry (llmunified/providers/_base.py via the OpenAI codec)."""
import calendar
import dataclasses

import pytest

from llmunified import errors
from llmunified._registry import PROVIDERS, resolve_config
from llmunified._retry import RetryPolicy, parse_retry_after, parse_should_retry
from llmunified.providers.openai import OpenAICodec

KEY = "sk-test-very-secret-0123456789"


def server_error(**kw):
    return errors.ServerError("boom", provider="openai", status=500, **kw)


def delays(policy, error, rand, n):
    out = []
    for _ in range(n):
        out.append(policy.delay_for(error, rand=rand))
        policy = policy.increment()
    return out


# -- RetryPolicy -----------------------------------------------------------------------------

def test_defaults_match_the_sdks():
    p = RetryPolicy()
    assert (p.max_retries, p.initial_delay, p.max_delay, p.jitter, p.max_server_delay, p.attempt) == \
        (2, 0.5, 8.0, 0.25, 60.0, 0)


def test_frozen_and_increment_returns_new_policy():
    p = RetryPolicy()
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.attempt = 1  # type: ignore[misc]
    q = p.increment()
    assert q is not p
    assert (p.attempt, q.attempt) == (0, 1)
    assert q.increment().attempt == 2
    assert p.attempt == 0
    assert dataclasses.replace(q, attempt=0) == p
    hash(p)  # a frozen dataclass is a value


def test_delay_sequence_without_jitter_doubles_to_cap():
    seq = delays(RetryPolicy(max_retries=10), server_error(), lambda: 0.0, 6)
    assert seq == pytest.approx([0.5, 1, 2, 4, 8, 8])


def test_delay_sequence_with_full_jitter_factor():
    # backoff * (1 - 0.25 * 1) = 0.75 * backoff
    seq = delays(RetryPolicy(max_retries=10), server_error(), lambda: 1.0, 6)
    assert seq == pytest.approx([0.375, 0.75, 1.5, 3, 6, 6])


def test_delay_with_default_random_is_within_jitter_band():
    p = RetryPolicy(max_retries=10)
    for attempt, base in enumerate([0.5, 1, 2, 4, 8, 8]):
        d = p.delay_for(server_error())
        assert 0.75 * base <= d <= base
        p = p.increment()


def test_custom_values():
    p = RetryPolicy(max_retries=5, initial_delay=1.0, max_delay=3.0, jitter=0.0)
    assert delays(p, server_error(), lambda: 0.9, 5) == pytest.approx([1, 2, 3, 3, 3])


def test_gives_up_after_max_retries():
    seq = delays(RetryPolicy(), server_error(), lambda: 0.0, 4)
    assert seq == [0.5, 1.0, None, None]
    assert RetryPolicy(max_retries=0).delay_for(server_error()) is None


@pytest.mark.parametrize("err", [
    errors.BadRequestError("x", status=400),
    errors.AuthenticationError("x", status=401),
    errors.NotFoundError("x", status=404),
    errors.MalformedResponseError("x"),
    errors.StreamError("x"),
    errors.ConfigurationError("x"),
    errors.ServerError("x", status=500, retryable=False),
])
def test_non_retryable_errors_give_none(err):
    assert RetryPolicy(max_retries=5).delay_for(err, rand=lambda: 0.0) is None


@pytest.mark.parametrize("err", [
    errors.RateLimitError("x", status=429), errors.OverloadedError("x", status=529),
    errors.ServerError("x", status=502), errors.ConflictError("x", status=409),
    errors.TimeoutError("x"), errors.ConnectionError("x"),
    errors.BadRequestError("x", status=400, retryable=True),
])
def test_retryable_errors_get_a_delay(err):
    assert RetryPolicy().delay_for(err, rand=lambda: 0.0) == 0.5


@pytest.mark.parametrize("server, expected", [
    (0.001, 0.001), (3.0, 3.0), (60.0, 60.0),       # obeyed
    (60.5, 0.5), (3600.0, 0.5), (0.0, 0.5), (-2.0, 0.5), (None, 0.5),  # backoff instead
])
def test_server_retry_after_obeyed_only_in_range(server, expected):
    p = RetryPolicy()
    assert p.delay_for(server_error(retry_after=server), rand=lambda: 0.0) == pytest.approx(expected)


def test_server_retry_after_with_custom_cap_and_not_when_exhausted():
    assert RetryPolicy(max_server_delay=5).delay_for(server_error(retry_after=6), rand=lambda: 0) == 0.5
    assert RetryPolicy(max_server_delay=5).delay_for(server_error(retry_after=5), rand=lambda: 0) == 5
    # neither a server wait nor a non-retryable error overrides "give up"
    assert RetryPolicy(max_retries=0).delay_for(server_error(retry_after=1)) is None
    assert RetryPolicy().delay_for(errors.BadRequestError("x", retry_after=1)) is None


@pytest.mark.parametrize("kwargs", [
    {"max_retries": -1}, {"initial_delay": -0.1}, {"max_delay": -1}, {"jitter": -0.01}, {"jitter": 1.01},
])
def test_validation_of_bad_values(kwargs):
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)


def test_boundary_values_accepted():
    RetryPolicy(max_retries=0, initial_delay=0, max_delay=0, jitter=0)
    RetryPolicy(jitter=1)
    assert RetryPolicy(initial_delay=0).delay_for(server_error(), rand=lambda: 0.5) == 0


# -- parse_retry_after / parse_should_retry --------------------------------------------------

NOW = calendar.timegm((2015, 10, 21, 7, 27, 30, 0, 0, 0))  # 30 s before the date below


@pytest.mark.parametrize("headers, expected", [
    ({"retry-after-ms": "1500"}, 1.5),
    ({"retry-after-ms": "250.5"}, 0.2505),
    ({"retry-after": "12"}, 12.0),
    ({"retry-after": "1.5"}, 1.5),
    ({"retry-after": "0"}, 0.0),
    ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, 30.0),
    ({"retry-after": "Wed, 21 Oct 2015 07:27:00 GMT"}, -30.0),   # in the past: negative, policy ignores it
    ({"retry-after-ms": "2000", "retry-after": "9"}, 2.0),         # ms wins
    ({"retry-after-ms": "soon", "retry-after": "9"}, 9.0),         # garbage ms falls through
    ({"retry-after-ms": "", "retry-after": "4"}, 4.0),
])
def test_parse_retry_after(headers, expected):
    assert parse_retry_after(headers, now=NOW) == pytest.approx(expected)


@pytest.mark.parametrize("headers", [
    {}, {"retry-after": "soon"}, {"retry-after": ""}, {"retry-after-ms": "x"}, {"retry-after": "Wed, 99 Foo"},
    {"x-other": "1"},
])
def test_parse_retry_after_garbage_is_none(headers):
    assert parse_retry_after(headers, now=NOW) is None


def test_parse_retry_after_date_uses_clock_without_now():
    import email.utils
    import time
    value = email.utils.formatdate(time.time() + 100, usegmt=True)
    assert 95 <= parse_retry_after({"retry-after": value}) <= 101


@pytest.mark.parametrize("value, expected", [
    ("true", True), ("false", False), ("TRUE", None), ("1", None), ("", None), ("yes", None),
])
def test_parse_should_retry(value, expected):
    assert parse_should_retry({"x-should-retry": value}) is expected


def test_parse_should_retry_absent():
    assert parse_should_retry({}) is None


# -- errors built by a codec -----------------------------------------------------------------

@pytest.fixture
def codec():
    return OpenAICodec(resolve_config(PROVIDERS["openai"], api_key=KEY, environ={}), "test-model")


def body(message="boom", etype="server_error", code=None):
    import json
    return json.dumps({"error": {"message": message, "type": etype, "param": None, "code": code}}).encode()


@pytest.mark.parametrize("status, cls", [
    (408, errors.TimeoutError), (409, errors.ConflictError), (429, errors.RateLimitError),
    (500, errors.ServerError), (502, errors.ServerError), (503, errors.OverloadedError),
    (529, errors.OverloadedError),
])
def test_retryable_statuses(codec, status, cls):
    err = codec.api_error(status, {}, body())
    assert type(err) is cls
    assert err.retryable is True
    assert err.status == status and err.provider == "openai"
    assert RetryPolicy().delay_for(err, rand=lambda: 0) == 0.5


@pytest.mark.parametrize("status, cls", [
    (400, errors.BadRequestError), (401, errors.AuthenticationError), (403, errors.PermissionDeniedError),
    (404, errors.NotFoundError), (422, errors.BadRequestError),
])
def test_non_retryable_statuses(codec, status, cls):
    err = codec.api_error(status, {}, body())
    assert type(err) is cls
    assert isinstance(err, errors.APIError)
    assert err.retryable is False
    assert RetryPolicy().delay_for(err) is None


def test_x_should_retry_overrides_status(codec):
    no = codec.api_error(500, {"x-should-retry": "false"}, body())
    assert isinstance(no, errors.ServerError) and no.retryable is False
    yes = codec.api_error(400, {"x-should-retry": "true"}, body())
    assert isinstance(yes, errors.BadRequestError) and yes.retryable is True
    other = codec.api_error(500, {"x-should-retry": "maybe"}, body())
    assert other.retryable is True


def test_retry_after_and_request_id_from_headers(codec):
    err = codec.api_error(429, {"retry-after": "7", "x-request-id": "req_abc123"}, body("slow down", "requests"))
    assert err.retry_after == 7.0
    assert err.request_id == "req_abc123"
    assert "req_abc123" in str(err)
    assert err.headers == {"retry-after": "7", "x-request-id": "req_abc123"}
    assert RetryPolicy().delay_for(err) == 7.0
    err = codec.api_error(503, {"retry-after-ms": "120", "retry-after": "3"}, body())
    assert err.retry_after == pytest.approx(0.12)
    assert codec.api_error(500, {}, body()).retry_after is None
    assert codec.api_error(500, {"request-id": "r2"}, body()).request_id == "r2"


def test_context_window_exceeded(codec):
    err = codec.api_error(400, {}, body(
        "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.",
        "invalid_request_error", "context_length_exceeded"))
    assert type(err) is errors.ContextWindowExceededError
    assert isinstance(err, errors.BadRequestError)
    assert err.code == "context_length_exceeded"
    assert err.error_type == "invalid_request_error"
    assert err.retryable is False
    # a plain 400 is not
    assert type(codec.api_error(400, {}, body("bad temperature", "invalid_request_error"))) is errors.BadRequestError


def test_error_message_and_body_kept(codec):
    err = codec.api_error(502, {}, b"<html>Bad Gateway</html>")
    assert isinstance(err, errors.ServerError)
    assert err.body == "<html>Bad Gateway</html>"
    assert "Bad Gateway" in str(err)
    assert "(empty body)" in str(codec.api_error(500, {}, b""))


def _all_text(err):
    return " ".join([str(err), repr(err), err.message, str(err.body), repr(err.headers), repr(vars(err))])


@pytest.mark.parametrize("status", [400, 401, 403, 404, 408, 409, 422, 429, 500, 502, 503, 529])
def test_api_key_never_in_error(codec, status):
    for payload in (body(), b"", b"<html>oops</html>", b'{"error": "plain string"}'):
        err = codec.api_error(status, {"x-request-id": "req_1", "retry-after": "1"}, payload)
        assert KEY not in _all_text(err)
        assert KEY[3:] not in _all_text(err)


def test_api_key_echoed_by_server_is_redacted(codec):
    err = codec.api_error(401, {}, body(f"Incorrect API key provided: {KEY}", "invalid_request_error",
                                        "invalid_api_key"))
    assert KEY not in str(err)
    assert KEY not in (err.body or "")
