"""reasoning= and cache= (issue 15 §3-4) against the emulator, for every wire protocol.

Hand-written for the sync package; tests/_async/test_reasoning.py is generated from this file by
scripts/gen_async.py. What each wire carries for a value is a row of ``Expect`` (helpers.py);
the emulator's contract checks hold the request to each provider's rules (thinking budgets and
their max_tokens, cache_control breakpoints and their limit of 4, thinkingConfig, think...).
"""
import pytest

import llmunified as llm
from llmunified import errors
from tests._sync.helpers import WEATHER, expect, model, provider, settings  # noqa: F401 - a fixture

REASONING_VALUES = ["minimal", "high", 4096, 20000, False]


@pytest.mark.parametrize("value", REASONING_VALUES, ids=str)
def test_reasoning_reaches_the_wire(emulator, provider, value):
    emulator.reply(text="4")
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        reply = client.complete("2+2?", reasoning=value)
    assert reply.text == "4"
    request = emulator.last_request
    assert request.violations == []
    exp = expect(provider)
    assert exp.reasoning_wire(request.json) == exp.reasoning_sent[value]


def test_reasoning_as_a_client_default_and_cleared_per_call(emulator, provider):
    emulator.reply(text="a")
    emulator.reply(text="b")
    exp = expect(provider)
    with llm.Client(model(provider), **settings(emulator, provider), reasoning="high") as client:
        client.complete("Hi")
        client.complete("Hi", reasoning=None)  # None: the provider's own default, nothing sent
    first, second = emulator.requests
    assert exp.reasoning_wire(first.json) == exp.reasoning_sent["high"]
    assert exp.reasoning_wire(second.json) == exp.reasoning_sent[None]


@pytest.mark.parametrize("value", [True, "extreme", 1.5, 0, -2, ["high"], {"effort": "high"}], ids=repr)
def test_bad_reasoning_is_a_typed_error_before_the_network(emulator, provider, value):
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        with pytest.raises(errors.ValidationError, match="reasoning"):
            client.complete("Hi", reasoning=value)
    with pytest.raises(errors.ValidationError, match="reasoning"):
        llm.Client(model(provider), **settings(emulator, provider), reasoning=value)
    assert emulator.requests == []


def test_thinking_and_reasoning_tokens_come_back(emulator, provider):
    exp = expect(provider)
    emulator.reply(thinking="Two and two.", thinking_signature="sig-1", text="4", usage=(10, 40),
                   reasoning_tokens=30, id="resp_same")
    emulator.reply(thinking="Two and two.", thinking_signature="sig-1", text="4", usage=(10, 40),
                   reasoning_tokens=30, id="resp_same")
    with llm.Client(model(provider), **settings(emulator, provider), reasoning="low") as client:
        whole = client.complete("2+2?")
        with client.stream("2+2?") as stream:
            events = [event for event in stream]
    assert stream.response == whole
    assert whole.text == "4"
    if exp.thinking_text:
        assert whole.thinking == "Two and two."
        assert "".join(e.text for e in events if e.type == "thinking") == "Two and two."
    assert whole.usage.reasoning_tokens == (30 if exp.usage_reports[2] else 0)
    assert all(r.violations == [] for r in emulator.requests)


def test_cache_hints(emulator, provider):
    emulator.reply(text="ok")
    with llm.Client(model(provider), **settings(emulator, provider), tools=[WEATHER]) as client:
        client.complete([llm.system("A long, stable system prompt."), llm.user("Hi"), llm.assistant("Hello"),
                         llm.user("Weather?")], cache=True)
    request = emulator.last_request
    assert request.violations == []
    marks = expect(provider).cache_marks(request.json)
    # explicit breakpoints where the wire has them: the system prompt, the last tool, the latest turn
    assert marks in ([], ["system", "tools[0]", "messages[2]"])
    assert (marks != []) == (provider in ("anthropic", "vertex-claude"))


@pytest.mark.parametrize("value", [True, ["system"], "conversation", {"key": "user-42", "ttl": "1h"}], ids=repr)
def test_cache_values_are_accepted_everywhere(emulator, provider, value):
    emulator.reply(text="ok")
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        assert client.complete([llm.system("S"), llm.user("Hi")], cache=value).text == "ok"
    assert emulator.last_request.violations == []


@pytest.mark.parametrize("value", ["my-key", 3, ["system", "everything"], {"key": ""}, {"ttl": "2h"},
                                   {"breakpoint": ["system"]}], ids=repr)
def test_bad_cache_is_a_typed_error_before_the_network(emulator, provider, value):
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        with pytest.raises(errors.ValidationError, match="cache"):
            client.complete("Hi", cache=value)
    assert emulator.requests == []


def test_usage_reports_cache_reads_and_writes(emulator, provider):
    read, write, _ = expect(provider).usage_reports
    emulator.reply(text="ok", usage=(2000, 5), cache_read=1500, cache_write=400)
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        usage = client.complete("Hi").usage
    assert usage.input_tokens == 2000
    assert (usage.cache_read_tokens, usage.cache_write_tokens) == (1500 if read else 0, 400 if write else 0)


def test_chat_session_caches_turn_after_turn(emulator, provider):
    for text in ("one", "two", "three"):
        emulator.reply(text=text)
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        chat = llm.ChatSession(client, system="You are helpful.")
        for question in ("First?", "Second?", "Third?"):
            chat.send(question)
    explicit = provider in ("anthropic", "vertex-claude")
    for n, request in enumerate(emulator.requests):
        assert request.violations == []
        last = len(request.json.get("messages") or request.json.get("contents")) - 1
        # the conversation breakpoint moves to the newest turn on every send
        assert expect(provider).cache_marks(request.json) == (["system", "messages[%d]" % last] if explicit else [])
        assert [role for role, _ in expect(provider).turns(request.json)].count("user") == n + 1


def test_chat_session_cache_off(emulator, provider):
    emulator.reply(text="one")
    emulator.reply(text="two")
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        llm.ChatSession(client, system="S", cache=False).send("Hi")
    with llm.Client(model(provider), **settings(emulator, provider), cache=False) as client:
        llm.ChatSession(client, system="S").send("Hi")  # the client's default is kept
    assert [expect(provider).cache_marks(r.json) for r in emulator.requests] == [[], []]


@pytest.mark.parametrize("provider", ["anthropic", "vertex-claude"])
@pytest.mark.parametrize("options, what", [
    (dict(reasoning=512), "at least 1024"),
    (dict(reasoning="high", max_tokens=1000), "greater than the thinking budget"),
    (dict(reasoning="low", temperature=0.2), "temperature"),
    (dict(reasoning="low", top_p=0.5), "top_p"),
    (dict(reasoning="low", tools=[WEATHER], tool_choice="required"), "forced tool"),
])
def test_anthropic_thinking_rules_checked_before_the_network(emulator, provider, options, what):
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        with pytest.raises(errors.ValidationError, match=what):
            client.complete("Hi", **options)
    assert emulator.requests == []


@pytest.mark.parametrize("provider", ["anthropic", "vertex-claude"])
def test_anthropic_thinking_tool_loop(emulator, provider):
    from llmunified.testing import ToolCallSpec

    emulator.reply(thinking="Need the weather.", thinking_signature="sig-7",
                   tool_calls=[ToolCallSpec("get_weather", {"city": "Paris"})])
    emulator.reply(text="Sunny.")
    with llm.Client(model(provider), **settings(emulator, provider), reasoning=2048, max_tokens=8000,
                    temperature=1) as client:
        reply = client.run("Weather in Paris?", tools=[llm.Tool("get_weather", "Weather.", WEATHER.parameters,
                                                                lambda city, days=1: "sunny")])
    assert reply.text == "Sunny."
    first, second = emulator.requests
    assert first.violations == [] and second.violations == []
    assert second.json["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert second.json["max_tokens"] == 8000
    # the signed thinking goes back ahead of the tool call, as the API requires
    assert second.json["messages"][1]["content"][0] == {"type": "thinking", "thinking": "Need the weather.",
                                                        "signature": "sig-7"}
