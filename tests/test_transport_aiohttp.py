"""The aiohttp transport reads proxy settings once (aiohttp's trust_env re-reads them per call)."""
from llmunified._transport_aiohttp import AiohttpTransport


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
