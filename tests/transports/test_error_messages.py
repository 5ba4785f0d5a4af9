"""What the transports say when the network fails: the reason in plain words and what to do,
never the HTTP library's retry wording, a password or a query string (llmunified/_backends)."""
import asyncio
import socket
import ssl

import aiohttp
import pytest
import requests
import responses

from llmunified import errors
from llmunified._backends.asyncio import AiohttpTransport
from llmunified._backends.base import connect_failure, shown_url
from llmunified._backends.sync import RequestsTransport
from llmunified._http import HTTPRequest

URL = "https://api.example.test/v1/chat/completions"


def post(url=URL, stream=False):
    return HTTPRequest("POST", url, {"Authorization": "Bearer sk-secret-123"}, b"{}", stream)


def wrapped(root: BaseException, outer: BaseException) -> BaseException:
    """``outer`` raised while handling ``root``, as the HTTP libraries wrap their causes."""
    try:
        try:
            raise root
        except BaseException:
            raise outer
    except BaseException as exc:
        return exc


def test_urls_in_messages_lose_credentials_and_query():
    assert shown_url("https://user:pw@host.test:8443/v1/x?key=abc#f") == "https://host.test:8443/v1/x"


@pytest.mark.parametrize("root, phrase", [
    (ConnectionRefusedError(111, "Connection refused"), "nothing is listening at https://api.example.test "
                                                        "(is the server running?)"),
    (socket.gaierror(-2, "Name or service not known"), "cannot resolve the host 'api.example.test'"),
    (ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"),
     "set REQUESTS_CA_BUNDLE"),
    (ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number"), "is the server plain http?"),
    (ConnectionResetError(104, "Connection reset by peer"), "closed the connection without answering"),
    (OSError(101, "Network is unreachable"), "is unreachable from here"),
    (ValueError("something odd"), "could not reach https://api.example.test: something odd"),
])
def test_connect_failures_in_plain_words(root, phrase):
    exc = wrapped(root, requests.exceptions.ConnectionError(
        "HTTPSConnectionPool(host='api.example.test', port=443): Max retries exceeded with url: /v1"))
    message = connect_failure(exc, URL)
    assert phrase in message
    assert "Max retries" not in message


def test_a_proxy_failure_names_the_variables_and_hides_the_password():
    exc = wrapped(OSError("Tunnel connection failed: 407 via http://bob:hunter2@proxy.corp:3128"),
                  requests.exceptions.ProxyError("Unable to connect to proxy"))
    message = connect_failure(exc, URL)
    assert "HTTPS_PROXY" in message and "NO_PROXY" in message
    assert "hunter2" not in message


def test_a_real_refusal_through_requests():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(errors.ConnectionError) as info:
        RequestsTransport(connect_timeout=2).send_request(post(f"http://127.0.0.1:{port}/v1/chat/completions?key=k"))
    message = str(info.value)
    assert message == (f"POST http://127.0.0.1:{port}/v1/chat/completions failed: nothing is listening at "
                       f"http://127.0.0.1:{port} (is the server running?)")


@responses.activate
def test_requests_timeouts_name_the_limit_and_the_argument():
    responses.add(responses.POST, URL, body=requests.exceptions.ConnectTimeout("connect timed out"))
    responses.add(responses.POST, URL, body=requests.exceptions.ReadTimeout("read timed out"))
    responses.add(responses.POST, URL, body=requests.exceptions.ReadTimeout("read timed out"))
    t = RequestsTransport(connect_timeout=2.5, read_timeout=30)
    with pytest.raises(errors.TimeoutError) as connect:
        t.send_request(post())
    assert "timed out after 2.5 s connecting to https://api.example.test" in str(connect.value)
    assert "connect_timeout=" in str(connect.value)
    with pytest.raises(errors.TimeoutError) as read:
        t.send_request(post())
    assert "timed out after 30 s waiting for the reply" in str(read.value) and "timeout=" in str(read.value)
    with pytest.raises(errors.TimeoutError, match="after 0.5 s"):
        t.send_request(post(), timeout=0.5)  # the call's own timeout is the one named


class _FailingSession:
    """Stands in for an aiohttp.ClientSession whose request raises ``exc``."""

    closed = False

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    async def request(self, *args, **kwargs):
        raise self.exc


@pytest.mark.parametrize("exc, phrase", [
    (aiohttp.ServerTimeoutError("Connection timeout to host https://api.example.test"),
     "timed out after 2.5 s connecting to https://api.example.test"),
    (aiohttp.ServerTimeoutError("Timeout on reading data from socket"), "timed out after 30 s waiting for the reply"),
])
def test_aiohttp_timeouts_name_the_limit_and_the_argument(exc, phrase):
    async def go():
        t = AiohttpTransport(connect_timeout=2.5, read_timeout=30, session=_FailingSession(exc))
        with pytest.raises(errors.TimeoutError) as info:
            await t.send_request(post())
        assert phrase in str(info.value)
    asyncio.run(go(), debug=True)


def test_an_aiohttp_dns_failure_in_plain_words():
    async def go():
        key = aiohttp.client_reqrep.ConnectionKey("api.example.test", 443, True, True, None, None, None)
        exc = aiohttp.ClientConnectorError(key, socket.gaierror(-2, "Name or service not known"))
        t = AiohttpTransport(session=_FailingSession(exc))
        with pytest.raises(errors.ConnectionError) as info:
            await t.send_request(post())
        assert "cannot resolve the host 'api.example.test'" in str(info.value)
        assert "sk-secret-123" not in str(info.value)
    asyncio.run(go(), debug=True)
