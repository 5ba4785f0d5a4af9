"""Refreshing credentials never blocks the event loop (issue 8): a token credential that is due
(an azure-identity credential through ``CredentialToken``, Vertex AI's Application Default
Credentials) is refreshed before the request is built: in ``llmunified`` on the calling thread,
in ``llmunified_async`` on a worker thread, never on the loop's. Each fake records the thread
its refresh ran on.

Hand-written for the sync package; tests/_async/test_credential_refresh.py is generated from it.
"""
import threading
import time

import pytest

import llmunified as llm
from llmunified import errors
from tests._sync.helpers import model, settings

#: the generated twin runs these tests inside an event loop (on this thread)
ASYNC_TWIN = llm.__name__ == "llmunified_async"


class AccessToken:
    def __init__(self, token, expires_on):
        self.token = token
        self.expires_on = expires_on


class FakeCredential:
    """An azure-identity-like credential: ``get_token`` notes its thread and the scopes."""

    def __init__(self, lifetime=3600, fail=None):
        self.lifetime = lifetime
        self.fail = fail
        self.threads = []

    def get_token(self, *scopes):
        self.threads.append(threading.get_ident())
        if self.fail is not None:
            raise self.fail
        return AccessToken(f"entra-token-{len(self.threads)}", int(time.time()) + self.lifetime)


def ran_where_expected(threads, caller):
    """Sync: every refresh on the caller's thread. Async: none on the loop's (the caller's)."""
    return all((t != caller) if ASYNC_TWIN else (t == caller) for t in threads)


def test_a_token_due_for_refresh_is_fetched_off_the_event_loop(emulator):
    credential = FakeCredential(lifetime=60)  # inside the 5-minute margin: due before every request
    for text in ("one", "two", "three"):
        emulator.reply(text=text)
    caller = threading.get_ident()
    with llm.Client(model("azure"), **settings(emulator, "azure", api_key=credential)) as client:
        assert client.complete("Hi").text == "one"
        with client.stream("Hi") as stream:
            assert [e.text for e in stream if e.type == "text"] == ["two"]
        assert client.run("Hi", tools=[llm.Tool("t", "", {"type": "object"}, function=lambda: "x")]).text == "three"
    # one token per request, each fetched once, where it may be
    assert len(credential.threads) == 3
    assert ran_where_expected(credential.threads, caller)
    sent = [r.headers["authorization"] for r in emulator.requests]
    assert sent == ["Bearer entra-token-1", "Bearer entra-token-2", "Bearer entra-token-3"]


def test_a_valid_token_is_not_fetched_again(emulator):
    credential = FakeCredential(lifetime=3600)
    emulator.reply(text="one")
    emulator.reply(text="two")
    with llm.Client(model("azure"), **settings(emulator, "azure", api_key=credential)) as client:
        client.complete("Hi")
        with client.stream("Hi") as stream:
            for _ in stream:
                pass
    assert len(credential.threads) == 1
    assert {r.headers["authorization"] for r in emulator.requests} == {"Bearer entra-token-1"}


def test_a_failing_refresh_is_a_configuration_error_before_any_request(emulator):
    credential = FakeCredential(fail=RuntimeError("identity service down"))
    with llm.Client(model("azure"), **settings(emulator, "azure", api_key=credential)) as client:
        with pytest.raises(errors.ConfigurationError, match="identity service down"):
            client.complete("Hi")
        with pytest.raises(errors.ConfigurationError, match="identity service down"):
            with client.stream("Hi") as stream:
                for _ in stream:
                    pass
    assert emulator.requests == []


class FakeGoogleCredentials:
    """What the library uses of google.auth credentials; ``refresh`` notes its thread."""

    def __init__(self):
        self.token = None
        self.expiry = 0.0
        self.threads = []
        self.quota_project_id = None

    @property
    def valid(self):
        return self.token is not None and time.time() < self.expiry

    def refresh(self, request):
        self.threads.append(threading.get_ident())
        self.token = f"ya29.fake-{len(self.threads)}"
        self.expiry = time.time() + 3600

    def expire(self):
        self.expiry = 0.0


def test_vertex_adc_is_refreshed_off_the_event_loop(emulator, monkeypatch):
    google_auth = pytest.importorskip("google.auth")
    credentials = FakeGoogleCredentials()
    monkeypatch.setattr(google_auth, "default", lambda scopes=None, **kw: (credentials, "adc-project"))
    emulator.reply(text="one")
    emulator.reply(text="two")
    emulator.reply(text="three")
    caller = threading.get_ident()
    with llm.Client(model("vertex"), **settings(emulator, "vertex", api_key=None)) as client:
        client.complete("Hi")
        client.complete("Hi")  # still valid: no refresh
        credentials.expire()
        with client.stream("Hi") as stream:
            for _ in stream:
                pass
    assert len(credentials.threads) == 2
    assert ran_where_expected(credentials.threads, caller)
    assert [r.headers["authorization"] for r in emulator.requests] == [
        "Bearer ya29.fake-1", "Bearer ya29.fake-1", "Bearer ya29.fake-2"]
