"""Errors users can catch the way Python taught them, with messages that say what to do, for
every wire protocol against the emulator (and a port nobody listens on).

- ``except TimeoutError:`` / ``except ConnectionError:`` (the builtins) catch ours;
- a stream that stalls or breaks after it started is both a ``StreamError`` carrying the partial
  reply and the matching timeout / connection error, and is not retried;
- a refused connection says nothing is listening (no urllib3 "Max retries exceeded"), a
  timeout names the limit that expired and the argument that raises it, a 404 from an
  OpenAI-compatible root without ``/v1`` says so.

Hand-written for the sync package; tests/_async/test_errors_catchable.py is generated from it.
"""
import builtins
import os
import socket

import pytest

import llmunified as llm
from llmunified import errors
from tests._sync.helpers import (SECRET, model, open_fds_settle, provider, provider_name,  # noqa: F401 - a fixture
                                 provider_settings, settings)


def free_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as sock:  # (sock.close() would read as the client's I/O to the generator)
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_read_timeout_is_caught_by_the_builtin_timeout_error(emulator, provider):
    emulator.reply(text="too late", delay=1.0)
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        with pytest.raises(builtins.TimeoutError) as info:
            client.complete("Hi", timeout=0.2)
    err = info.value
    assert isinstance(err, errors.TimeoutError) and not isinstance(err, errors.StreamError)
    assert err.retryable and err.provider == provider_name(provider)
    assert "timed out after 0.2 s" in str(err) and "raise it with timeout=" in str(err)
    assert SECRET not in str(err)


def test_a_stream_that_stalls_is_a_stream_error_and_a_timeout_error(emulator, provider):
    # the first write carries a few text events, then the server goes quiet
    emulator.reply(text="word ", repeat_chunks=50, chunk_size=1500, delay=0.8)
    received = []
    with llm.Client(model(provider), **settings(emulator, provider, max_retries=2)) as client:
        with pytest.raises(builtins.TimeoutError) as info:
            with client.stream("Count", timeout=0.2) as stream:
                for event in stream:
                    if event.type == "text":
                        received.append(event.text)
    err = info.value
    assert isinstance(err, errors.StreamTimeoutError)
    assert isinstance(err, errors.StreamError) and isinstance(err, errors.TimeoutError)
    assert received and err.response.text == "".join(received)
    assert len(err.response.text) < len("word " * 50)
    assert err.retryable is False
    assert "0.2 s" in str(err) and "timeout=" in str(err)
    assert len(emulator.requests) == 1  # content had reached the caller: never retried


def test_a_stream_cut_off_is_a_stream_error_and_a_connection_error(emulator, provider):
    emulator.reply(text="word ", repeat_chunks=7, break_after=4)
    received = []
    with llm.Client(model(provider), **settings(emulator, provider, max_retries=2)) as client:
        with pytest.raises(builtins.ConnectionError) as info:
            with client.stream("Count") as stream:
                for event in stream:
                    if event.type == "text":
                        received.append(event.text)
    err = info.value
    assert isinstance(err, errors.StreamConnectionError)
    assert isinstance(err, errors.StreamError) and isinstance(err, errors.ConnectionError)
    assert err.response is not None and err.response.text == "".join(received)
    assert err.retryable is False
    assert len(emulator.requests) == 1


def test_one_except_catches_a_stream_failure_as_a_stream_error_too(emulator):
    emulator.reply(text="word ", repeat_chunks=7, break_after=4)
    with llm.Client(model("openai"), **settings(emulator, "openai")) as client:
        with pytest.raises(errors.StreamError) as info:
            with client.stream("Count") as stream:
                for _ in stream:
                    pass
    assert info.value.response.text.startswith("word ")


def test_a_refused_connection_says_nothing_is_listening(provider):
    port = free_port()
    with llm.Client(model(provider), base_url=f"http://127.0.0.1:{port}/v1", api_key=SECRET, max_retries=0,
                    **provider_settings(provider)) as client:
        with pytest.raises(builtins.ConnectionError) as info:
            client.complete("Hi")
    message = str(info.value)
    assert isinstance(info.value, errors.ConnectionError) and info.value.retryable
    assert f"nothing is listening at http://127.0.0.1:{port} (is the server running?)" in message
    for library_wording in ("Max retries exceeded", "NewConnectionError", "HTTPConnectionPool", "Connect call failed",
                            "ssl:"):
        assert library_wording not in message
    assert SECRET not in message


def test_a_refused_stream_says_nothing_is_listening(provider):
    port = free_port()
    with llm.Client(model(provider), base_url=f"http://127.0.0.1:{port}/v1", api_key=SECRET, max_retries=0,
                    **provider_settings(provider)) as client:
        with pytest.raises(builtins.ConnectionError, match="nothing is listening"):
            with client.stream("Hi") as stream:
                for _ in stream:
                    pass


@pytest.mark.parametrize("name", ["openai", "lmstudio"])
def test_a_404_from_an_openai_style_root_without_v1_hints_at_it(emulator, name):
    root = emulator.url_for(name)[: -len("/v1")]
    with llm.Client(model(name), **settings(emulator, name, base_url=root)) as client:
        with pytest.raises(errors.NotFoundError) as info:
            client.complete("Hi")
    assert "base_url may be missing /v1" in str(info.value)
    assert f"base_url='{root}/v1'" in str(info.value)


def test_a_404_with_v1_in_the_url_gives_no_such_hint(emulator):
    emulator.reply(status=404, error="The model 'test-model' does not exist")
    with llm.Client(model("openai"), **settings(emulator, "openai")) as client:
        with pytest.raises(errors.NotFoundError) as info:
            client.complete("Hi")
    assert "does not exist" in str(info.value) and "/v1" not in info.value.message


@pytest.mark.parametrize("name", ["anthropic", "azure"])
def test_other_protocols_get_no_v1_hint(emulator, name):
    emulator.reply(status=404, error="not found")
    with llm.Client(model(name), **settings(emulator, name)) as client:
        with pytest.raises(errors.NotFoundError) as info:
            client.complete("Hi")
    assert "may be missing /v1" not in str(info.value)


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts file descriptors in /proc")
def test_errors_kept_after_close_hold_no_connection(emulator, provider):
    """Errors a program keeps (a log, a list of failures, a Router's last error) do not keep
    their replies' connections open: once the client is closed, every socket it opened is."""
    before = len(os.listdir("/proc/self/fd"))
    kept = []
    client = llm.Client(model(provider), **settings(emulator, provider))
    for status in (500, 429, 400):
        emulator.reply(status=status, error="no")
        with pytest.raises(errors.APIError) as info:
            client.complete("Hi")
        kept.append(info.value)
    client.close()
    assert open_fds_settle(before) <= before  # (a socket of an earlier test may close meanwhile)
    assert [e.status for e in kept] == [500, 429, 400]
