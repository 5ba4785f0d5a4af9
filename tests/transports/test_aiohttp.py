"""The aiohttp transport: proxy settings read once (aiohttp's trust_env re-reads them per call),
error mapping, and a caller's own ClientSession."""
import asyncio
import socket

import aiohttp
import pytest

from llmunified import errors
from llmunified._backends.asyncio import AiohttpTransport
from llmunified._http import HTTPRequest


def test_environment_proxies_are_honoured_and_cached(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
    t = AiohttpTransport()
    assert t._proxy_for("https://api.openai.com/v1/chat/completions") == "http://proxy.internal:3128"
    assert t._proxy_for("http://127.0.0.1:11434/api/chat") is None
    assert t._proxy_for("http://localhost:1234/v1/chat/completions") is None
    monkeypatch.delenv("HTTPS_PROXY")
    # cached: the environment is read once per transport, not per request
    assert t._proxy_for("https://api.openai.com/v1/models") == "http://proxy.internal:3128"
    assert AiohttpTransport()._proxy_for("https://api.openai.com/v1/models") is None


def test_no_proxy_by_default(monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    assert AiohttpTransport()._proxy_for("https://api.anthropic.com/v1/messages") is None


def _run(coro):
    return asyncio.run(coro, debug=True)


def test_connection_refused_is_a_typed_keyless_connection_error():
    async def go():
        t = AiohttpTransport(connect_timeout=2)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        sock.close()  # nobody listens there now
        try:
            request = HTTPRequest("POST", f"http://127.0.0.1:{port}/v1/chat/completions",
                                  {"Authorization": "Bearer sk-secret-aiohttp"}, b"{}")
            with pytest.raises(errors.ConnectionError) as exc:
                await t.send_request(request)
            assert "sk-secret-aiohttp" not in str(exc.value) and exc.value.retryable
        finally:
            await t.close()
    _run(go())


def test_read_timeout_is_a_typed_timeout_error(emulator):
    async def go():
        emulator.reply(text="late", delay=1.0)
        t = AiohttpTransport(read_timeout=0.2)
        try:
            request = HTTPRequest("POST", emulator.url_for("openai") + "/chat/completions",
                                  {"Authorization": "Bearer k", "Content-Type": "application/json"},
                                  b'{"model": "m", "messages": [{"role": "user", "content": "hi"}]}')
            with pytest.raises(errors.TimeoutError) as exc:
                await t.send_request(request)
            assert isinstance(exc.value, errors.LLMError) and exc.value.retryable
        finally:
            await t.close()
    _run(go())


def test_client_uses_your_aiohttp_session_and_leaves_it_open(emulator):
    import llmunified_async as llm

    async def go():
        emulator.reply(text="hi")
        emulator.reply(text="again")
        async with aiohttp.ClientSession(headers={"X-Corp-Proxy-Auth": "team-7"}) as session:
            async with llm.Client("openai/m", base_url=emulator.url_for("openai"), api_key="sk-x",
                                  transport=session) as client:
                assert (await client.complete("hi")).text == "hi"
            assert not session.closed  # yours: the client does not close it
            async with llm.Client("openai/m", base_url=emulator.url_for("openai"), api_key="sk-x",
                                  transport=llm.HTTPTransport(session=session)) as client:
                assert (await client.complete("hi")).text == "again"
            assert not session.closed
        assert emulator.requests[0].headers["x-corp-proxy-auth"] == "team-7"
        assert isinstance(AiohttpTransport(), llm.Transport)
    _run(go())


def test_a_closed_session_of_yours_is_a_clear_error():
    async def go():
        session = aiohttp.ClientSession()
        await session.close()
        t = AiohttpTransport(session=session)
        with pytest.raises(errors.ConfigurationError, match="is closed"):
            await t.send_request(HTTPRequest("GET", "http://127.0.0.1:9/", {}))
    _run(go())


def test_the_ca_bundle_is_loaded_for_the_first_https_request_only(monkeypatch, tmp_path):
    """REQUESTS_CA_BUNDLE is honoured as the sync twin honours it, but loading a bundle costs
    milliseconds and most of a megabyte: plain-http requests (a local server) never load it."""
    import ssl

    import certifi

    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())
    t = AiohttpTransport()
    assert t._proxy_for("http://127.0.0.1:11434/api/chat", "POST") is None
    assert t._ssl is True  # aiohttp's own default: nothing loaded for http
    t._proxy_for("https://api.openai.com/v1/chat/completions", "POST")
    context = t._ssl
    assert isinstance(context, ssl.SSLContext) and context.verify_mode == ssl.CERT_REQUIRED
    assert context.cert_store_stats()["x509_ca"] > 10  # the bundle's CAs, loaded once
    t._proxy_for("https://api.anthropic.com/v1/messages", "POST")
    assert t._ssl is context


def test_a_ca_bundle_that_is_not_pem_is_a_configuration_error(monkeypatch, tmp_path):
    path = tmp_path / "ca.pem"
    path.write_text("not a certificate\n")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(path))
    t = AiohttpTransport()
    with pytest.raises(errors.ConfigurationError) as info:
        t._proxy_for("https://api.openai.com/v1/chat/completions", "POST")
    text = str(info.value)
    assert "POST https://api.openai.com/v1/chat/completions was not sent" in text
    assert str(path) in text and "REQUESTS_CA_BUNDLE" in text
