"""client.count_tokens() against the emulator on every wire protocol (the provider's count where it
has an endpoint, exact; the local count elsewhere, never exact), its errors and retries, and
ChatSession(token_counter="provider"): the budget on the provider's figures, each message counted
once.

Hand-written for the sync package; tests/_async/test_count_tokens.py is generated from it by
scripts/gen_async.py.
"""
import importlib
import sys

import pytest

import llmunified as llm
from llmunified import errors
from llmunified.testing import Reply
from tests._sync.helpers import WEATHER, model, provider, settings  # noqa: F401 - a fixture

#: the test providers whose wire has a token-counting endpoint
COUNTING = ("anthropic", "gemini", "vertex", "vertex-claude")
QUICK = llm.RetryPolicy(max_retries=2, initial_delay=0.001, max_delay=0.001)
CONVERSATION = [llm.system("Be terse."), llm.user("Hello there, how are you?")]
WEATHER_TOOL = llm.Tool(WEATHER.name, WEATHER.description, WEATHER.parameters, function=lambda city, days=1: "sunny")


@pytest.fixture(autouse=True)
def no_tiktoken(monkeypatch):
    """Local counts use the estimate: an installed tiktoken would fetch its encoding files."""
    monkeypatch.setitem(sys.modules, "tiktoken", None)


def count_request(body):
    """The emulator's count of a counting request (one module serves both twins' tests)."""
    return importlib.import_module("llmunified.testing._counting").count_request(body)


def counts(emulator):
    return [r for r in emulator.requests if r.endpoint == "count_tokens"]


def chats(emulator):
    return [r for r in emulator.requests if r.endpoint == "chat"]


def test_count_on_every_provider(emulator, provider):
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        count = client.count_tokens(CONVERSATION)
    assert isinstance(count, llm.TokenCount) and count.model == model(provider)
    if provider not in COUNTING:
        assert (count.exact, count.source) in ((False, "estimate"), (False, "tiktoken"))
        assert emulator.requests == [], "counted locally, without a request"
        return
    assert (count.exact, count.source) == (True, "provider")
    [request] = emulator.requests
    assert request.endpoint == "count_tokens" and request.violations == []
    assert count.tokens == count_request(request.json)
    assert count.raw is not None


def test_tools_are_counted(emulator, provider):
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        plain = client.count_tokens(CONVERSATION)
        with_tools = client.count_tokens(CONVERSATION, tools=[WEATHER])
    assert with_tools.tokens > plain.tokens
    assert with_tools.exact is (provider in COUNTING)
    if provider in COUNTING:
        assert "get_weather" in counts(emulator)[-1].body.decode()


def test_client_options_apply(emulator):
    with llm.Client("anthropic/test-model", tools=[WEATHER], temperature=0.5,
                    **settings(emulator, "anthropic")) as client:
        client.count_tokens("Hi", timeout=30, correlation_id="abc")
    [request] = emulator.requests
    assert request.violations == [] and request.json["tools"][0]["name"] == "get_weather"
    assert "temperature" not in request.json and "max_tokens" not in request.json


@pytest.mark.parametrize("status, error", [(400, errors.BadRequestError), (401, errors.AuthenticationError),
                                           (404, errors.NotFoundError), (429, errors.RateLimitError)])
@pytest.mark.parametrize("which", COUNTING)
def test_errors_are_typed(emulator, which, status, error):
    emulator.reply(Reply(status=status, error="scripted failure", endpoint="count_tokens"))
    with llm.Client(model(which), **settings(emulator, which)) as client:
        with pytest.raises(error) as info:
            client.count_tokens("Hi")
    assert info.value.status == status and "scripted failure" in str(info.value)
    assert info.value.provider == model(which).partition("/")[0]


@pytest.mark.parametrize("which", COUNTING)
def test_retries(emulator, which):
    emulator.reply(Reply(status=503, endpoint="count_tokens"))
    emulator.reply(Reply(status=429, endpoint="count_tokens", headers={"retry-after": "0"}))
    with llm.Client(model(which), **settings(emulator, which, retry=QUICK, max_retries=None)) as client:
        count = client.count_tokens("Hi")
    assert count.exact and len(counts(emulator)) == 3


def test_no_retry_left(emulator):
    for _ in range(3):
        emulator.reply(Reply(status=529, endpoint="count_tokens"))
    with llm.Client("anthropic/test-model", **settings(emulator, "anthropic", retry=QUICK, max_retries=None)) as client:
        with pytest.raises(errors.OverloadedError) as info:
            client.count_tokens("Hi")
    assert info.value.attempts == 3


def test_scripted_count_and_chat_replies_stay_in_order(emulator):
    emulator.reply(text="the chat reply")
    emulator.reply(Reply(usage=(1234, 0), endpoint="count_tokens"))
    with llm.Client("anthropic/test-model", **settings(emulator, "anthropic")) as client:
        first = client.count_tokens("Hi")  # the chat reply at the head is not taken
        assert emulator.pending_replies == 2
        reply = client.complete("Hi")
        second = client.count_tokens("Hi")
    assert first.tokens == count_request(counts(emulator)[0].json)
    assert reply.text == "the chat reply" and second.tokens == 1234


def test_malformed_reply(emulator):
    emulator.reply(Reply(body='{"input_tokens": "many"}', endpoint="count_tokens"))
    with llm.Client("anthropic/test-model", **settings(emulator, "anthropic")) as client:
        with pytest.raises(errors.MalformedResponseError) as info:
            client.count_tokens("Hi")
    assert "many" in info.value.body


def test_bad_input_before_the_network(emulator):
    with llm.Client("anthropic/test-model", **settings(emulator, "anthropic")) as client:
        with pytest.raises(errors.ValidationError):
            client.count_tokens([])
        with pytest.raises(errors.ValidationError):
            client.count_tokens("Hi", tools=[42])
        with pytest.raises(errors.ValidationError):
            client.count_tokens("Hi", bogus_option=1)
    assert emulator.requests == []


def test_count_is_not_a_model_call(emulator):
    with llm.Client("gemini/test-model", **settings(emulator, "gemini")) as client:
        client.count_tokens("Hi")
        totals = client.usage_totals()
    assert totals.calls == 0


# -- ChatSession(token_counter="provider") ---------------------------------------------------------

@pytest.mark.parametrize("which", COUNTING)
def test_session_counts_each_turn_once(emulator, which):
    with llm.Client(model(which), **settings(emulator, which)) as client:
        chat = llm.ChatSession(client, system="Be terse.", token_counter="provider", max_context_tokens=5000)
        for question in ("Hello there", "How are you today?", "And tomorrow?"):
            emulator.reply(text="Fine, thank you. " + question)
            chat.send(question)
            selection = chat._state.last_selection
            # the budget used the provider's figures: they add up to what it counted
            assert selection.tokens == count_request(counts(emulator)[-1].json)
            assert not selection.estimated
        assert len(counts(emulator)) == 3 and len(chats(emulator)) == 3
        assert chat.token_count_estimated  # the last reply: a local stand-in until the next turn
        assert [r.text for r in chat.messages[2::2]] == ["Fine, thank you. Hello there",
                                                         "Fine, thank you. How are you today?",
                                                         "Fine, thank you. And tomorrow?"]


def test_session_unchanged_history_is_not_counted_again(emulator):
    question = llm.user("Hello there")
    with llm.Client("anthropic/test-model", **settings(emulator, "anthropic")) as client:
        chat = llm.ChatSession(client, token_counter="provider", max_context_tokens=5000)
        emulator.reply(status=400, error="refused")
        with pytest.raises(errors.BadRequestError):
            chat.send(question)
        assert len(counts(emulator)) == 1 and chat.messages == []
        emulator.reply(text="Hi!")
        chat.send(question)  # the same message: its figure is known, nothing new to count
    assert len(counts(emulator)) == 1 and len(chats(emulator)) == 2


def test_session_tools_measured_once(emulator):
    with llm.Client("anthropic/test-model", **settings(emulator, "anthropic")) as client:
        chat = llm.ChatSession(client, tools=[WEATHER_TOOL], token_counter="provider", max_context_tokens=5000)
        emulator.reply(text="One.")
        chat.send("First")
        assert len(counts(emulator)) == 3  # the conversation, and a probe with and without the tools
        probe_with, probe_without = counts(emulator)[1:3]
        overhead = count_request(probe_with.json) - count_request(probe_without.json)
        assert chat._state.overhead == overhead > 0
        emulator.reply(text="Two.")
        chat.send("Second")
    assert len(counts(emulator)) == 4
    last = counts(emulator)[-1]
    assert chat._state.last_selection.tokens == count_request(last.json)


def test_session_budget_on_provider_figures(emulator):
    long = " ".join(["word"] * 80)
    with llm.Client("gemini/test-model", **settings(emulator, "gemini")) as client:
        chat = llm.ChatSession(client, token_counter="provider", max_context_tokens=160, reserve_tokens=10)
        emulator.reply(text="ok")
        chat.send(long)
        emulator.reply(text="ok")
        chat.send(long)  # 83 + 4 + 83 tokens: over 150, so the first exchange goes
        assert [m.text for m in chat.dropped] == [long, "ok"]
        assert chat._state.last_selection.tokens <= 150
        with pytest.raises(errors.ContextBudgetExceededError):
            chat.send(" ".join(["word"] * 200))
    assert len(chats(emulator)) == 2


def test_session_stream_counts_when_entered(emulator):
    with llm.Client("anthropic/test-model", **settings(emulator, "anthropic")) as client:
        chat = llm.ChatSession(client, token_counter="provider", max_context_tokens=5000)
        emulator.reply(text="Streamed answer.")
        stream = chat.stream("Hello")
        assert emulator.requests == [], "nothing is sent before the stream is entered"
        with stream as s:
            events = [e for e in s]
        assert events and s.response.text == "Streamed answer."
        assert [r.endpoint for r in emulator.requests] == ["count_tokens", "chat"]
        assert [m.text for m in chat.messages] == ["Hello", "Streamed answer."]
        emulator.reply(text="Again.")
        with chat.stream(chat.messages[0]) as s:  # a message already counted: no deferral needed
            [e for e in s]
    assert len(counts(emulator)) == 2


def test_session_provider_counter_without_an_endpoint(emulator):
    with llm.Client("openai/test-model", **settings(emulator, "openai")) as client:
        chat = llm.ChatSession(client, token_counter="provider", max_context_tokens=5000)
        emulator.reply(text="a")
        chat.send("Hello")
        emulator.reply(text="b")
        chat.send("Again")
        assert chat.token_count_estimated
        assert "no token-counting endpoint" in chat._state.counter.name
    assert counts(emulator) == [] and len(chats(emulator)) == 2


@pytest.mark.parametrize("bad", ["exact", "providers", ""])
def test_session_unknown_token_counter(emulator, bad):
    with llm.Client("anthropic/test-model", **settings(emulator, "anthropic")) as client:
        with pytest.raises(errors.ValidationError, match="token_counter"):
            llm.ChatSession(client, token_counter=bad)
    assert emulator.requests == []


def test_session_fork_keeps_counting_right(emulator):
    with llm.Client("anthropic/test-model", **settings(emulator, "anthropic")) as client:
        chat = llm.ChatSession(client, system="Be terse.", token_counter="provider", max_context_tokens=5000)
        emulator.reply(text="First answer.")
        chat.send("First question")
        branch = chat.fork()
        for session, question in ((chat, "Main line"), (branch, "A branch, with more words"), (chat, "Again")):
            emulator.reply(text="Answer to " + question)
            session.send(question)
            assert session._state.last_selection.tokens == count_request(counts(emulator)[-1].json)
    assert len(counts(emulator)) == 4
