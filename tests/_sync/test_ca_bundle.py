"""A CA bundle named by the environment (``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE``), taken as
requests takes ``verify=path``, on every wire protocol against the emulator:

- a plain-http server (a local model, the emulator) never needs it, so one that cannot be read
  does not get in its way;
- an https request with one that does not exist fails before anything is sent, with a typed
  ConfigurationError naming the variable and the path, and is not retried;
- a directory of certificates is a bundle too.

Hand-written for the sync package; tests/_async/test_ca_bundle.py is generated from it.
"""
import socket

import pytest

import llmunified as llm
from llmunified import errors
from tests._sync.helpers import SECRET, model, provider, provider_settings, settings  # noqa: F401 - a fixture

BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


@pytest.fixture(autouse=True)
def no_environment_tls_or_proxy(monkeypatch):
    for name in BUNDLE_VARIABLES + ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY",
                                    "all_proxy"):
        monkeypatch.delenv(name, raising=False)


def free_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as sock:  # (sock.close() would read as the client's I/O to the generator)
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("variable", BUNDLE_VARIABLES)
def test_a_missing_bundle_does_not_stop_plain_http(emulator, provider, monkeypatch, tmp_path, variable):
    monkeypatch.setenv(variable, str(tmp_path / "missing.pem"))
    emulator.reply(text="hello over http")
    emulator.reply(text="hello over http")  # the call, then the stream
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        assert client.complete("Hi").text == "hello over http"
        with client.stream("Hi") as stream:
            assert "".join([e.text for e in stream if e.type == "text"]) == "hello over http"


@pytest.mark.parametrize("variable", BUNDLE_VARIABLES)
def test_an_https_request_with_a_missing_bundle_is_a_configuration_error(monkeypatch, tmp_path, variable):
    path = str(tmp_path / "missing.pem")
    monkeypatch.setenv(variable, path)
    url = f"https://127.0.0.1:{free_port()}/v1"  # nobody listens: the error comes before connecting
    with llm.Client("openai/m", base_url=url, api_key=SECRET, max_retries=3) as client:
        with pytest.raises(errors.ConfigurationError) as info:
            client.complete("Hi")
    err = info.value
    text = str(err)
    assert path in text and "REQUESTS_CA_BUNDLE" in text and "was not sent" in text
    assert url + "/chat/completions" in text
    assert not err.retryable and err.attempts == 1
    assert SECRET not in text


def test_a_directory_bundle_is_taken_for_https(monkeypatch, tmp_path):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path))  # a (here empty) directory of certificates
    url = f"https://127.0.0.1:{free_port()}/v1"
    with llm.Client("openai/m", base_url=url, api_key=SECRET, max_retries=0) as client:
        with pytest.raises(errors.ConnectionError) as info:  # the bundle was fine: the connection failed
            client.complete("Hi")
    assert "nothing is listening" in str(info.value)
