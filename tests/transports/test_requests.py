"""Unit tests of the blocking HTTP layer (RequestsTransport and the Client's retry loop) with
`responses` standing in for the network."""
import json

import pytest
import requests
import responses

import llmunified as llm
from llmunified import errors
from llmunified._backends.sync import RequestsTransport
from llmunified._http import USER_AGENT, HTTPRequest

URL = "https://api.example.test/v1/chat/completions"
COMPLETION = {"id": "chatcmpl-1", "model": "m", "choices": [
    {"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}}


def post(stream=False):
    return HTTPRequest("POST", URL, {"Content-Type": "application/json", "Authorization": "Bearer sk-x"},
                       b"{}", stream)


@responses.activate
def test_send_returns_status_lowercased_headers_and_body():
    responses.add(responses.POST, URL, json=COMPLETION, headers={"X-Request-ID": "req_1"})
    t = RequestsTransport()
    resp = t.send_request(post())
    assert resp.status == 200
    assert resp.headers["x-request-id"] == "req_1"
    assert json.loads(resp.body) == COMPLETION
    sent = responses.calls[0].request
    assert sent.headers["User-Agent"] == USER_AGENT
    assert sent.headers["Authorization"] == "Bearer sk-x"
    t.close()


@responses.activate
def test_connection_and_timeout_errors_are_typed_and_keyless():
    responses.add(responses.POST, URL, body=requests.exceptions.ConnectionError("refused"))
    responses.add(responses.POST, URL, body=requests.exceptions.ReadTimeout("read timed out"))
    responses.add(responses.POST, URL, body=requests.exceptions.ConnectTimeout("connect timed out"))
    t = RequestsTransport()
    with pytest.raises(errors.ConnectionError) as a:
        t.send_request(post())
    with pytest.raises(errors.TimeoutError):
        t.send_request(post())
    with pytest.raises(errors.TimeoutError):
        t.send_request(post())
    assert "sk-x" not in str(a.value)
    assert a.value.retryable


@responses.activate
def test_redirects_are_not_followed():
    responses.add(responses.POST, URL, status=307, headers={"Location": "https://elsewhere.test/"})
    resp = RequestsTransport().send_request(post())
    assert resp.status == 307


@responses.activate
def test_streaming_body_read_in_pieces_until_empty():
    sse = b'data: {"a": 1}\n\ndata: [DONE]\n\n'
    responses.add(responses.POST, URL, body=sse, content_type="text/event-stream")
    t = RequestsTransport()
    resp = t.send_request(post(stream=True))
    assert resp.body is None
    got = b""
    while True:
        piece = t.read_chunk(resp)
        if not piece:
            break
        got += piece
    assert got == sse and resp.eof
    t.close_response(resp)


@responses.activate
def test_client_retries_429_then_succeeds_with_retry_after_ms():
    responses.add(responses.POST, URL, status=429, json={"error": {"message": "slow", "type": "rate"}},
                  headers={"retry-after-ms": "5"})
    responses.add(responses.POST, URL, json=COMPLETION)
    with llm.Client("openai/m", base_url="https://api.example.test/v1", api_key="sk-x") as client:
        assert client.complete("hi").text == "hi"
    assert len(responses.calls) == 2
    body = json.loads(responses.calls[1].request.body)
    assert body["messages"] == [{"role": "user", "content": "hi"}]


@responses.activate
def test_client_does_not_retry_400_and_keeps_provider_message():
    responses.add(responses.POST, URL, status=400, json={"error": {
        "message": "Unsupported parameter: 'max_tokens'", "type": "invalid_request_error",
        "param": "max_tokens", "code": "unsupported_parameter"}}, headers={"x-request-id": "req_9"})
    with llm.Client("openai/m", base_url="https://api.example.test/v1", api_key="sk-x") as client:
        with pytest.raises(errors.BadRequestError) as info:
            client.complete("hi")
    assert len(responses.calls) == 1
    err = info.value
    assert err.code == "unsupported_parameter" and err.error_type == "invalid_request_error"
    assert "Unsupported parameter" in str(err) and err.request_id == "req_9"


@responses.activate
def test_client_closed_is_an_error():
    client = llm.Client("openai/m", base_url="https://api.example.test/v1", api_key="sk-x")
    client.close()
    with pytest.raises(errors.LLMError, match="closed"):
        client.complete("hi")


@responses.activate
def test_client_uses_your_requests_session_and_leaves_it_open():
    responses.add(responses.POST, URL, json=COMPLETION)
    responses.add(responses.POST, URL, json=COMPLETION)
    session = requests.Session()
    session.headers["X-Corp-Proxy-Auth"] = "team-7"   # e.g. a header a corporate gateway wants
    closed = []
    session.close = lambda: closed.append(True)       # type: ignore[method-assign]
    with llm.Client("openai/m", base_url="https://api.example.test/v1", api_key="sk-x",
                    transport=session) as client:
        assert client.complete("hi").text == "hi"
    assert responses.calls[0].request.headers["X-Corp-Proxy-Auth"] == "team-7"
    assert responses.calls[0].request.headers["Authorization"] == "Bearer sk-x"
    assert closed == []   # yours: the client does not close it
    # and llm.HTTPTransport(session=...) is the same thing, spelled out
    with llm.Client("openai/m", base_url="https://api.example.test/v1", api_key="sk-x",
                    transport=llm.HTTPTransport(session=session, read_timeout=5)) as client:
        assert client.complete("hi").text == "hi"
    assert closed == []


def test_transport_contract_is_a_protocol():
    assert isinstance(RequestsTransport(), llm.Transport)
    assert not isinstance(object(), llm.Transport)
    assert llm.HTTPTransport is RequestsTransport


@responses.activate
def test_query_parameter_auth_is_appended_and_escaped():
    # Auth schemes are data on a provider's entry; a query-key scheme extends the URL safely.
    from llmunified._registry import Auth

    headers = {}
    url = Auth.query("key").apply(headers, "https://h.test/v1beta/models/m:generateContent?alt=sse", "a/b&c")
    assert url == "https://h.test/v1beta/models/m:generateContent?alt=sse&key=a%2Fb%26c" and headers == {}
    assert Auth.query("key").apply({}, "https://h.test/x", "k") == "https://h.test/x?key=k"
    headers = {}
    assert Auth.header("x-goog-api-key").apply(headers, "https://h.test/x", "k") == "https://h.test/x"
    assert headers == {"x-goog-api-key": "k"}
    headers = {}
    Auth.bearer().apply(headers, "u", "tok")
    assert headers == {"Authorization": "Bearer tok"}
