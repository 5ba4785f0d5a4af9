"""Client(transport=...) and api_key=<callable> against the emulator, for every wire protocol.

Hand-written for the sync package; tests/_async/test_transport.py is generated from it.
"""
import pytest

import llmunified as llm
from llmunified import errors
from llmunified._twin import io
from tests._sync.helpers import expect, model, provider, settings  # noqa: F401 - provider is a fixture


class RecordingTransport(llm.HTTPTransport):
    """A user's own transport: the library's, with every request's URL noted."""

    def __init__(self) -> None:
        super().__init__(connect_timeout=5.0, read_timeout=30.0)
        self.urls = []
        self.closed = False

    @io
    def send_request(self, request, timeout=None):
        self.urls.append(request.url)
        return super().send_request(request, timeout)

    @io
    def close(self):
        self.closed = True
        super().close()


def test_a_transport_of_your_own_carries_every_call(emulator, provider):
    emulator.reply(text="one")
    emulator.reply(text="two")
    transport = RecordingTransport()
    options = settings(emulator, provider, transport=transport)
    with llm.Client(model(provider), **options) as client:
        assert client.complete("Hi").text == "one"
        with client.stream("Hi again") as stream:
            texts = [e.text for e in stream if e.type == "text"]
        assert "".join(texts) == "two"
    assert len(transport.urls) == 2 and all(u.startswith(emulator.url_for(provider)) for u in transport.urls)
    # the client did not close what it was given: the transport still serves another client
    assert not transport.closed
    emulator.reply(text="three")
    with llm.Client(model(provider), **options) as again:
        assert again.complete("Hi").text == "three"
    transport.close()
    assert all(not r.violations for r in emulator.requests)


def test_a_wrong_transport_is_refused_before_any_call(emulator, provider):
    with pytest.raises(errors.ConfigurationError, match="transport must be"):
        llm.Client(model(provider), **settings(emulator, provider, transport=object()))
    assert emulator.requests == []


def test_api_key_callable_is_asked_for_every_request(emulator, provider):
    issued = []

    def token():
        issued.append(f"sk-rotating-token-{len(issued):04d}")
        return issued[-1]

    emulator.reply(text="a")
    emulator.reply(text="b")
    with llm.Client(model(provider), **settings(emulator, provider, api_key=token)) as client:
        client.complete("Hi")
        client.complete("Hi")
    assert len(issued) == 2
    header, prefix = expect(provider).token_header
    for request, value in zip(emulator.requests, issued):
        assert request.headers[header] == prefix + value
        assert not request.violations
    assert "sk-rotating" not in repr(client)


def test_api_key_callable_failure_is_a_configuration_error(emulator, provider):
    def broken():
        raise RuntimeError("token service down")

    with llm.Client(model(provider), **settings(emulator, provider, api_key=broken)) as client:
        with pytest.raises(errors.ConfigurationError, match="api_key callable failed.*token service down"):
            client.complete("Hi")
    assert emulator.requests == []


def test_a_token_echoed_in_an_error_is_scrubbed(emulator, provider):
    token = "sk-rotating-token-echoed-1234"
    emulator.reply(status=401, error=f"invalid credential {token}")
    with llm.Client(model(provider), **settings(emulator, provider, api_key=lambda: token)) as client:
        with pytest.raises(errors.AuthenticationError) as exc:
            client.complete("Hi")
    assert token not in str(exc.value) and token not in (exc.value.body or "")


def test_pool_size_is_a_client_setting(emulator, provider):
    emulator.reply(text="ok")
    with llm.Client(model(provider), **settings(emulator, provider, pool_size=3)) as client:
        assert client.transport.pool_size == 3
        assert client.complete("Hi").text == "ok"
    for bad in (0, -1, 2.5, True, "8"):
        with pytest.raises(errors.ValidationError, match="pool_size must be a positive int"):
            llm.Client(model(provider), **settings(emulator, provider, pool_size=bad))
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        assert client.transport.pool_size >= 64  # the default serves a busy app without waiting


def test_requests_say_who_sent_them(emulator, provider):
    emulator.reply(text="ok")
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        client.complete("Hi")
    assert emulator.last_request.headers["user-agent"] == "llmunified/" + llm.__version__
