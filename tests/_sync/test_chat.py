"""Behaviour of Client / Stream / complete against the emulator, for every wire protocol.

Hand-written for the sync package; tests/_async/test_chat.py is generated from this file by
scripts/gen_async.py and runs the same tests against llmunified_async over real sockets.
"""
import time

import pytest

import llmunified as llm
from llmunified import errors
from llmunified._twin import io
from llmunified.testing import Reply, ToolCallSpec
from tests._sync.helpers import (SECRET, WEATHER, expect, model, provider, provider_name, provider_settings, sent_roles,  # noqa: F401 - a fixture
                                 settings, stream_error_class)

def test_complete_text(emulator, provider):
    emulator.reply(text="Bonjour, monde!", usage=(11, 3))
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        reply = client.complete([llm.system("Be terse."), llm.user("Say hello in French")])
    assert reply.text == "Bonjour, monde!"
    assert reply.finish_reason == "stop"
    assert (reply.usage.input_tokens, reply.usage.output_tokens, reply.usage.total_tokens) == (11, 3, 14)
    assert reply.provider == provider_name(provider)
    assert reply.model == model(provider).partition("/")[2]
    assert reply.message.role == "assistant"
    request = emulator.last_request
    assert request.violations == []
    body = request.json
    exp = expect(provider)
    system = exp.system(body)
    if system is None:  # it travels as the first turn
        assert sent_roles(provider, body) == ["system", "user"]
    else:
        assert system == "Be terse." and sent_roles(provider, body) == ["user"]
    header, prefix = exp.key_header
    assert request.headers[header] == prefix + SECRET


BARE_PROMPTS = ["Say hello", 'Quote "this" \\ and that', "Ünïcödé \U0001f600\nline two", "Say hello"]


@io
def send_bare_prompts(emulator, provider):
    """complete() each of BARE_PROMPTS on one client; what the emulator received of each."""
    start = len(emulator.requests)
    for prompt in BARE_PROMPTS:
        emulator.reply(text=f"re: {prompt}")
    with llm.Client(model(provider), **settings(emulator, provider), temperature=0.5) as client:
        replies = [client.complete(prompt).text for prompt in BARE_PROMPTS]
    assert replies == [f"re: {p}" for p in BARE_PROMPTS]
    requests = emulator.requests[start:]
    assert [r.violations for r in requests] == [[]] * len(BARE_PROMPTS)
    assert [expect(provider).turns(r.json)[-1][0] for r in requests] == ["user"] * len(BARE_PROMPTS)
    return [(r.method, r.path, r.body, r.headers.get("Content-Type")) for r in requests]


def test_bare_prompts_send_what_the_full_build_sends(emulator, provider, monkeypatch):
    """complete("...") with the client's defaults builds its request from a template after the
    first call (llmunified._endpoint._PromptCall): the same bytes as building it in full."""
    from llmunified._endpoint import Endpoint

    fast = send_bare_prompts(emulator, provider)
    monkeypatch.setattr(Endpoint, "prompt_fast_path", False)
    assert send_bare_prompts(emulator, provider) == fast


def test_options_reach_the_wire(emulator, provider):
    with llm.Client(model(provider), **settings(emulator, provider), temperature=0.3) as client:
        client.complete("Hi", max_tokens=50, top_p=0.9, stop=["END"], extra=expect(provider).extra[0])
    body = emulator.last_request.json
    _, read_back, expected = expect(provider).extra
    assert read_back(body) == expected
    assert expect(provider).sampling(body) == (0.3, 50, 0.9, ["END"])


def test_one_shot_complete_and_dict_messages(emulator, provider):
    emulator.reply(text="42")
    reply = llm.complete(model(provider), [{"role": "user", "content": "6 times 7?"}],
                         **settings(emulator, provider))
    assert reply.text == "42"
    assert emulator.last_request.violations == []


def test_stream_events_and_response_match_complete(emulator, provider):
    text = "Streaming ünïcödé 😀 across many tiny network chunks."
    emulator.reply(text=text, usage=(9, 14), id="resp_same", chunk_size=1)
    emulator.reply(text=text, usage=(9, 14), id="resp_same")
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        with client.stream("Go") as stream:
            events = [event for event in stream]
        whole = client.complete("Go")
    assert "".join(e.text for e in events if e.type == "text") == text
    assert events[-1].type == "finish" and events[-1].finish_reason == "stop"
    assert [e.type for e in events if e.type in ("usage", "finish")] == ["usage", "finish"]
    assert stream.response == whole
    assert stream.response.usage.total_tokens == 23


def test_tool_call_round_trip(emulator, provider):
    emulator.reply(tool_calls=[ToolCallSpec("get_weather", {"city": "Paris", "days": 2})])
    emulator.reply(text="Sunny, 21 degrees.")
    with llm.Client(model(provider), **settings(emulator, provider), tools=[WEATHER]) as client:
        question = [llm.user("Weather in Paris?")]
        first = client.complete(question)
        assert first.finish_reason == "tool_calls"
        assert len(first.tool_calls) == 1
        call = first.tool_calls[0]
        assert (call.name, call.arguments) == ("get_weather", {"city": "Paris", "days": 2})
        assert call.id
        followup = question + [first.message, llm.tool_result(call.id, {"temp_c": 21}, name=call.name)]
        second = client.complete(followup)
    assert second.text == "Sunny, 21 degrees."
    assert [r.violations for r in emulator.requests] == [[], []]
    sent = emulator.requests[1].json
    assert sent_roles(provider, sent)[-1] == expect(provider).tool_result_role
    tools = emulator.requests[0].json["tools"]
    assert len(tools) == 1


def test_stream_tool_call_events(emulator, provider):
    emulator.reply(tool_calls=[ToolCallSpec("get_weather", {"city": "Zürich"}),
                               ToolCallSpec("get_weather", {"city": "Oslo"})], chunk_size=5)
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        with client.stream("Weather?", tools=[WEATHER]) as stream:
            events = [event for event in stream]
    starts = [e for e in events if e.type == "tool_call_start"]
    ends = [e for e in events if e.type == "tool_call_end"]
    assert [s.name for s in starts] == ["get_weather", "get_weather"]
    assert [e.tool_call.arguments for e in ends] == [{"city": "Zürich"}, {"city": "Oslo"}]
    assert [e.index for e in ends] == [0, 1]
    assert stream.response.finish_reason == "tool_calls"
    assert [c.arguments["city"] for c in stream.response.tool_calls] == ["Zürich", "Oslo"]


@pytest.mark.parametrize("status,cls", [
    (400, errors.BadRequestError), (401, errors.AuthenticationError), (403, errors.PermissionDeniedError),
    (404, errors.NotFoundError), (422, errors.BadRequestError), (429, errors.RateLimitError),
    (500, errors.ServerError), (503, errors.OverloadedError), (529, errors.OverloadedError)])
def test_error_status_mapping(emulator, provider, status, cls):
    emulator.reply(status=status, error=f"scripted failure {status}", headers={"retry-after": "7"})
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        with pytest.raises(cls) as info:
            client.complete("Hi")
    err = info.value
    assert err.status == status
    assert err.provider == provider_name(provider)
    assert f"scripted failure {status}" in err.message
    assert err.retry_after == 7.0
    assert err.retryable == (status in (429, 500, 503, 529))
    assert err.body and f"scripted failure {status}" in err.body
    if expect(provider).request_ids:
        # from a request-id header (req_...), or repeated in the error body (Cohere's id)
        assert err.request_id and (err.request_id.startswith("req_") or f'"{err.request_id}"' in err.body)
    assert SECRET not in str(err) and SECRET not in repr(err)


def test_retry_honours_retry_after(emulator, provider):
    emulator.reply(status=429, error="slow down", headers={"retry-after-ms": "150"})
    emulator.reply(status=503, error="busy", headers={"retry-after": "0.1"})
    emulator.reply(text="finally")
    with llm.Client(model(provider), **settings(emulator, provider, max_retries=2)) as client:
        started = time.monotonic()
        reply = client.complete("Hi")
        elapsed = time.monotonic() - started
    assert reply.text == "finally"
    assert len(emulator.requests) == 3
    assert elapsed >= 0.25


def test_retry_gives_up_and_respects_x_should_retry(emulator, provider):
    emulator.reply(status=500, error="boom 1", headers={"retry-after-ms": "1"})
    emulator.reply(status=500, error="boom 2", headers={"retry-after-ms": "1"})
    emulator.reply(status=429, error="no retry please", headers={"x-should-retry": "false"})
    with llm.Client(model(provider), **settings(emulator, provider, max_retries=1)) as client:
        with pytest.raises(errors.ServerError) as info:
            client.complete("Hi")
        assert "boom 2" in info.value.message
        with pytest.raises(errors.RateLimitError) as info2:
            client.complete("Hi")
        assert info2.value.retryable is False
    assert len(emulator.requests) == 3


def test_stream_retried_only_before_content(emulator, provider):
    emulator.reply(status=529, error="overloaded", headers={"retry-after-ms": "1"})
    emulator.reply(text="ok after retry", chunk_size=4)
    with llm.Client(model(provider), **settings(emulator, provider, max_retries=1)) as client:
        with client.stream("Hi") as stream:
            events = [event for event in stream]
    assert "".join(e.text for e in events if e.type == "text") == "ok after retry"
    assert len(emulator.requests) == 2


def test_stream_broken_midway_keeps_partial(emulator, provider):
    emulator.reply(text="word ", repeat_chunks=7, break_after=4)
    received = []
    with llm.Client(model(provider), **settings(emulator, provider, max_retries=2)) as client:
        with pytest.raises(errors.StreamError) as info:
            with client.stream("Count") as stream:
                for event in stream:
                    if event.type == "text":
                        received.append(event.text)
    partial = info.value.response
    assert partial is not None
    assert partial.text == "".join(received)
    assert partial.text.startswith("word ") and len(partial.text) < len("word " * 7)
    assert len(emulator.requests) == 1  # never retried once content reached the caller


def test_error_event_inside_200_stream(emulator, provider):
    emulator.reply(text="partial answer", stream_error="Overloaded")
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        with pytest.raises(errors.APIError) as info:
            with client.stream("Hi") as stream:
                for _ in stream:
                    pass
    assert "Overloaded" in info.value.message
    assert info.value.response.text == "partial answer"
    assert isinstance(info.value, stream_error_class(provider, errors.OverloadedError))


def test_leaving_stream_early_closes_the_connection(emulator, provider):
    emulator.reply(text="word ", repeat_chunks=500, delay=0.005)
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        with client.stream("Talk") as stream:
            for event in stream:
                if event.type == "text":
                    break
        # Poll with sleeps rather than block: the async twin must let its loop run to close.
        deadline = time.monotonic() + 5.0
        while emulator.aborted_streams < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert emulator.aborted_streams == 1
        emulator.reply(text="still usable")
        assert client.complete("again").text == "still usable"


@pytest.mark.parametrize("body", ["<html><body>502 Bad Gateway</body></html>", '{"id": "x", "choi',
                                  '{"message": 5, "content": 5, "choices": 5}'])
def test_malformed_reply_keeps_raw_body(emulator, provider, body):
    emulator.reply(body=body)
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        with pytest.raises(errors.MalformedResponseError) as info:
            client.complete("Hi")
    assert info.value.body == body


def test_malformed_error_body_still_typed(emulator, provider):
    emulator.reply(status=502, body="<html>Bad gateway</html>", content_type="text/html")
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        with pytest.raises(errors.ServerError) as info:
            client.complete("Hi")
    assert "Bad gateway" in info.value.message
    assert info.value.body == "<html>Bad gateway</html>"


def test_connection_refused_is_typed(provider):
    with llm.Client(model(provider), base_url="http://127.0.0.1:9/v1", api_key=SECRET, max_retries=0,
                    **provider_settings(provider)) as client:
        with pytest.raises(errors.ConnectionError) as info:
            client.complete("Hi")
    assert SECRET not in str(info.value)


def test_read_timeout_is_typed(emulator, provider):
    emulator.reply(text="slow", delay=1.0, chunk_size=1)
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        with pytest.raises(errors.StreamError) as info:
            with client.stream("Hi", timeout=0.2) as stream:
                for _ in stream:
                    pass
    assert "timed out" in str(info.value)


def test_invalid_message_rejected_before_network(emulator, provider):
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        with pytest.raises(errors.ValidationError):
            client.complete([{"role": "wizard", "content": "hi"}])
        with pytest.raises(errors.ValidationError):
            client.complete([{"role": "tool", "content": "result without id"}])
        with pytest.raises(errors.ValidationError):
            client.complete("Hi", temperature="hot")
    assert emulator.requests == []


def test_missing_key_raises_before_network(emulator, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(errors.ConfigurationError, match="OPENAI_API_KEY"):
        llm.Client("openai/gpt-4o-mini", base_url=emulator.url_for("openai"))
    with pytest.raises(errors.ConfigurationError, match="ANTHROPIC_API_KEY"):
        llm.complete("anthropic/claude", "Hi", base_url=emulator.url_for("anthropic"))
    assert emulator.requests == []


def test_unknown_provider_lists_known_ones():
    with pytest.raises(errors.ConfigurationError) as info:
        llm.Client("nosuch/model")
    for name in ("openai", "anthropic", "ollama"):
        assert name in str(info.value)


def test_secret_never_in_repr_or_logs(emulator, provider, caplog):
    caplog.set_level("DEBUG", logger="llmunified")
    emulator.reply(status=401, error="bad key")
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        assert SECRET not in repr(client)
        with pytest.raises(errors.AuthenticationError) as info:
            client.complete("Hi")
    assert SECRET not in repr(info.value) and SECRET not in str(info.value)
    assert SECRET not in str(vars(info.value))
    assert SECRET not in caplog.text


def test_anthropic_thinking_signature_round_trip(emulator):
    emulator.reply(thinking="Let me check the weather tool.", thinking_signature="sig-opaque-123",
                   tool_calls=[ToolCallSpec("get_weather", {"city": "Paris"}, id="toolu_1")])
    emulator.reply(text="Sunny.")
    with llm.Client("anthropic/test-model", **settings(emulator, "anthropic"), tools=[WEATHER]) as client:
        first = client.complete("Weather in Paris?")
        thinking = [p for p in first.message.content if isinstance(p, llm.ThinkingPart)]
        assert [(t.text, t.signature) for t in thinking] == [("Let me check the weather tool.", "sig-opaque-123")]
        second = client.complete(["Weather in Paris?", first.message, llm.tool_result("toolu_1", "sunny")])
    assert second.text == "Sunny."
    sent = emulator.requests[1].json["messages"][1]["content"]
    assert sent[0] == {"type": "thinking", "thinking": "Let me check the weather tool.",
                       "signature": "sig-opaque-123"}
    assert sent[1]["type"] == "tool_use"
    assert emulator.requests[1].violations == []


def test_stream_thinking_events(emulator, provider):
    if not expect(provider).thinking_text:
        pytest.skip("no thinking text on this wire")
    emulator.reply(thinking="Pondering...", thinking_signature="sig-9", text="Answer.", chunk_size=3)
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        with client.stream("Think") as stream:
            events = [event for event in stream]
    assert "".join(e.text for e in events if e.type == "thinking") == "Pondering..."
    assert stream.response.thinking == "Pondering..."
    assert stream.response.text == "Answer."
    signatures = [p.signature for p in stream.response.message.content
                  if isinstance(p, llm.ThinkingPart) and p.signature]
    assert signatures == (["sig-9"] if expect(provider).signed_thinking else [])


def test_stream_response_before_end_is_an_error(emulator, provider):
    emulator.reply(text="a b ", repeat_chunks=4)
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        with client.stream("Hi") as stream:
            with pytest.raises(errors.LLMError, match="not finished"):
                stream.response
            final = stream.until_done()
    assert final.text == "a b a b a b a b "
    assert stream.response == final
