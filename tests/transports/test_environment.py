"""Both transports read the environment's proxy and CA settings once, and honour them.

A tiny recording HTTP proxy on 127.0.0.1 stands in for a corporate proxy: a request sent through
it arrives with the absolute URL on its request line.
"""
import asyncio
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import llmunified as llm
import llmunified_async as allm
from llmunified._backends.base import EnvironmentSettings

COMPLETION = json.dumps({"id": "c1", "model": "m", "choices": [
    {"index": 0, "message": {"role": "assistant", "content": "via proxy"}, "finish_reason": "stop"}]}).encode()
PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy",
              "no_proxy", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


@pytest.fixture
def proxy(monkeypatch):
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            seen.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(COMPLETION)))
            self.end_headers()
            self.wfile.write(COMPLETION)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.seen = seen
    yield server
    server.shutdown()
    server.server_close()


def test_sync_transport_goes_through_the_environment_proxy(proxy, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.server_port}")
    with llm.Client("openai/m", base_url="http://llm.example.invalid/v1", api_key="k", max_retries=0) as client:
        monkeypatch.delenv("HTTP_PROXY")  # read once, when the client was made
        assert client.complete("hi").text == "via proxy"
    assert proxy.seen == ["http://llm.example.invalid/v1/chat/completions"]


def test_async_transport_goes_through_the_environment_proxy(proxy, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.server_port}")

    async def main():
        async with allm.Client("openai/m", base_url="http://llm.example.invalid/v1", api_key="k",
                               max_retries=0) as client:
            return (await client.complete("hi")).text
    assert asyncio.run(main(), debug=True) == "via proxy"
    assert proxy.seen == ["http://llm.example.invalid/v1/chat/completions"]


def test_no_proxy_hosts_connect_directly(proxy, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nobody there: using it would fail
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    url = f"http://127.0.0.1:{proxy.server_port}/v1"
    with llm.Client("openai/m", base_url=url, api_key="k", max_retries=0) as client:
        assert client.complete("hi").text == "via proxy"
    assert proxy.seen == ["/v1/chat/completions"]  # origin-form: no proxy in between


def test_environment_settings_rules():
    env = EnvironmentSettings({"HTTPS_PROXY": "http://p:3128", "NO_PROXY": "internal.example,.corp",
                               "REQUESTS_CA_BUNDLE": "/etc/ssl/corp.pem"})
    assert env.proxy_for("https://api.openai.com/v1/x") == "http://p:3128"
    assert env.proxy_for("http://api.openai.com/v1/x") is None        # only https was set
    assert env.proxy_for("https://internal.example/v1") is None
    assert env.verify == "/etc/ssl/corp.pem"
    assert EnvironmentSettings({"ALL_PROXY": "http://a:1"}).proxy_for("http://x.test/") == "http://a:1"
    assert EnvironmentSettings({}).verify is True
