"""The error classes themselves (llmunified/errors.py): the builtins they also are, and that
being an OSError changes nothing users rely on (constructor, args, str, repr, pickling)."""
import builtins
import copy
import pickle

import pytest

from llmunified import errors
from llmunified._retry import RetryPolicy

ALL = [getattr(errors, name) for name in errors.__all__ if isinstance(getattr(errors, name), type)]
SIMPLE = [cls for cls in ALL if cls not in (errors.ContextBudgetExceededError, errors.SessionFileError,
                                              errors.SessionVersionError)]


@pytest.mark.parametrize("ours, builtin", [
    (errors.TimeoutError, builtins.TimeoutError),
    (errors.ConnectionError, builtins.ConnectionError),
    (errors.StreamTimeoutError, builtins.TimeoutError),
    (errors.StreamConnectionError, builtins.ConnectionError),
])
def test_the_builtin_except_clause_catches_ours(ours, builtin):
    with pytest.raises(builtin):
        raise ours("x")
    try:
        raise ours("x", provider="openai")
    except builtin as caught:  # the way Python taught users to write it
        assert isinstance(caught, errors.LLMError) and caught.provider == "openai"


def test_stream_failures_are_both_kinds_and_never_retryable():
    timeout = errors.StreamTimeoutError("stalled")
    broken = errors.StreamConnectionError("cut")
    assert isinstance(timeout, errors.StreamError) and isinstance(timeout, errors.TimeoutError)
    assert isinstance(broken, errors.StreamError) and isinstance(broken, errors.ConnectionError)
    assert not isinstance(timeout, errors.ConnectionError) and not isinstance(broken, errors.TimeoutError)
    assert timeout.retryable is False and broken.retryable is False
    assert RetryPolicy().delay_for(timeout) is None and RetryPolicy().delay_for(broken) is None
    # the plain ones stay retryable: nothing reached the caller yet
    assert errors.TimeoutError("x").retryable and errors.ConnectionError("x").retryable
    assert errors.StreamError("x").retryable is False


def test_the_hierarchy_docstring_and_all_name_the_stream_classes():
    for name in ("StreamTimeoutError", "StreamConnectionError"):
        assert name in errors.__all__ and name in errors.__doc__


@pytest.mark.parametrize("cls", SIMPLE, ids=lambda c: c.__name__)
def test_constructor_args_str_repr_and_pickling_are_unchanged(cls):
    err = cls("it broke", provider="openai", status=503, request_id="req_1", retry_after=2.0, body="{}",
              response={"partial": True}, code="c", error_type="t", headers={"x-request-id": "req_1"})
    assert err.args == ("it broke",)
    assert err.message == "it broke"
    assert str(err) == "[openai 503] it broke (request id req_1)"
    assert repr(err) == f"{cls.__name__}('[openai 503] it broke (request id req_1)')"
    for again in (pickle.loads(pickle.dumps(err)), copy.copy(err), copy.deepcopy(err)):
        assert type(again) is cls
        assert str(again) == str(err) and again.args == err.args
        assert (again.provider, again.status, again.request_id, again.retryable, again.retry_after, again.body,
                again.response, again.code, again.error_type, again.headers) == \
               (err.provider, err.status, err.request_id, err.retryable, err.retry_after, err.body, err.response,
                err.code, err.error_type, err.headers)


def test_being_an_oserror_adds_no_errno_text():
    err = errors.TimeoutError("POST http://x/v1/chat/completions: timed out after 5 s")
    assert isinstance(err, OSError)
    assert err.errno is None and err.strerror is None
    assert str(err) == "POST http://x/v1/chat/completions: timed out after 5 s"


def test_interrupted_stream_keeps_everything_the_decoder_knew():
    partial = {"text": "Once upon"}
    broken = errors.StreamError("openai stream broke before it was complete (x)", provider="openai",
                                request_id="req_9", response=partial, headers={"x-request-id": "req_9"}, body="b")
    for cause, cls in ((errors.TimeoutError("t"), errors.StreamTimeoutError),
                       (errors.ConnectionError("c"), errors.StreamConnectionError)):
        err = errors.interrupted_stream(broken, cause)
        assert type(err) is cls
        assert (err.message, err.provider, err.request_id, err.response, err.headers, err.body) == \
               (broken.message, "openai", "req_9", partial, {"x-request-id": "req_9"}, "b")
        assert err.retryable is False
    other = errors.MalformedResponseError("m")
    assert errors.interrupted_stream(broken, other) is broken
