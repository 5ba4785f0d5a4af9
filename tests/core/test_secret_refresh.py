"""Secret.stale()/refresh() and CredentialToken's refresh rules (llmunified/_registry.py): the
pieces the clients use to refresh a due credential before building a request (off the event
loop in the async twin; tests/_sync/test_credential_refresh.py runs them end to end)."""
import threading
import time

import pytest

from llmunified._registry import CredentialToken, Secret
from llmunified.errors import ConfigurationError


class Token:
    def __init__(self, token, expires_on):
        self.token = token
        self.expires_on = expires_on


class Credential:
    def __init__(self, lifetime=3600.0, slow=0.0):
        self.lifetime = lifetime
        self.slow = slow
        self.calls = 0

    def get_token(self, *scopes):
        self.calls += 1
        if self.slow:
            time.sleep(self.slow)
        return Token(f"tok-{self.calls}", time.time() + self.lifetime)


def test_fixed_keys_and_plain_callables_never_go_stale():
    for secret in (Secret("sk-1"), Secret(lambda: "tok")):
        assert not secret.refreshable and not secret.stale()
        secret.refresh()  # nothing to do


def test_a_credential_token_is_refreshable_and_stale_until_fetched():
    credential = Credential()
    secret = Secret(CredentialToken(credential, "scope"))
    assert secret.refreshable and secret.stale()
    secret.refresh()
    assert credential.calls == 1 and not secret.stale()
    assert secret.get() == "tok-1" and credential.calls == 1  # get() only reads the fresh token
    secret.refresh()
    assert credential.calls == 1  # not due: nothing fetched


def test_a_token_inside_the_margin_is_fetched_once_per_request():
    # shorter-lived than the margin: due before every request, yet one fetch per request (the
    # client's refresh, then the request's get() takes that token as it is)
    credential = Credential(lifetime=60)
    secret = Secret(CredentialToken(credential, "scope"))
    for n in (1, 2, 3):
        assert secret.stale()
        secret.refresh()
        assert secret.get() == f"tok-{n}"
    assert credential.calls == 3
    assert secret.get() == "tok-4"  # a request nobody refreshed for fetches its own


def test_threads_wait_for_one_refresh():
    credential = Credential(slow=0.05)
    token = CredentialToken(credential, "scope")
    barrier = threading.Barrier(8)

    def worker():
        barrier.wait()
        token.refresh()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert credential.calls == 1


def test_a_failing_refresh_is_a_configuration_error():
    class Broken:
        def get_token(self, *scopes):
            raise RuntimeError("identity service down")

    secret = Secret(CredentialToken(Broken(), "scope"))
    with pytest.raises(ConfigurationError, match="identity service down"):
        secret.refresh()
