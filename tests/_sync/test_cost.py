"""Cost on every path a reply takes: complete, stream, the tool loop, extract's re-asks and
ChatSession, against the emulator for every wire protocol (both twins).

The test model of each provider is registered with round prices (USD per million tokens), so
every expected figure is plain arithmetic on the usage the wire carried back.
"""
import json
from dataclasses import dataclass

import pytest

import llmunified as llm
from llmunified._models import ENV, _reset
from llmunified.testing import Reply, ToolCallSpec
from tests._sync.helpers import expect, model, provider, settings  # noqa: F401 - provider is a fixture

PRICES = {"input": 2.0, "output": 10.0, "cache_read": 0.5, "cache_write": 4.0, "reasoning": 20.0}


@pytest.fixture(autouse=True)
def priced(monkeypatch, provider):
    monkeypatch.delenv(ENV, raising=False)
    _reset()
    llm.register_model(model(provider), prices=PRICES)
    yield
    _reset()


def by_hand(usage):
    """The price of one call's usage at PRICES, written out."""
    uncached = usage.input_tokens - usage.cache_read_tokens - usage.cache_write_tokens
    visible = usage.output_tokens - usage.reasoning_tokens
    return (uncached * 2.0 + usage.cache_read_tokens * 0.5 + usage.cache_write_tokens * 4.0 + visible * 10.0
            + usage.reasoning_tokens * 20.0) / 1e6


def echo(city):
    return {"city": city}


ECHO = llm.Tool("echo", "Echo a city.", {"type": "object", "properties": {"city": {"type": "string"}},
                                         "required": ["city"]}, function=echo)


@dataclass
class Answer:
    value: int


def test_complete_and_stream_cost(emulator, provider):
    emulator.reply(text="Hello", usage=(1000, 200))
    emulator.reply(text="Hello", usage=(1000, 200), chunk_size=3)
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        reply = client.complete("Hi")
        with client.stream("Hi") as stream:
            for _ in stream:
                pass
    # 1000 x 2 + 200 x 10
    assert reply.cost.total == pytest.approx(0.004, rel=1e-12)
    assert reply.cost.currency == "USD" and reply.cost.model == model(provider)
    assert stream.response.cost == reply.cost


def test_cache_and_reasoning_usage_priced_once(emulator, provider):
    emulator.reply(text="Hello", usage=(5000, 300), cache_read=3000, cache_write=1000, reasoning_tokens=120)
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        reply = client.complete("Hi")
    u = reply.usage
    assert (u.input_tokens, u.output_tokens) == (5000, 300)
    cost = reply.cost
    assert cost.total == pytest.approx(by_hand(u), rel=1e-12)
    assert cost.total == pytest.approx(cost.input + cost.cache_read + cost.cache_write + cost.output
                                       + cost.reasoning, rel=1e-12)
    if u.cache_read_tokens:  # the wires that carry them: every token priced once
        assert cost.cache_read == pytest.approx(u.cache_read_tokens * 0.5e-6)
    if u.reasoning_tokens:
        assert cost.reasoning == pytest.approx(120 * 20e-6)


def test_unknown_model_costs_none(emulator, provider):
    emulator.reply(text="Hello", usage=(10, 2))
    unlisted = model(provider).replace("test-model", "unlisted-model")
    with llm.Client(unlisted, **settings(emulator, provider)) as client:
        reply = client.complete("Hi")
    assert reply.usage.input_tokens == 10
    assert reply.cost is None


def test_run_sums_every_round(emulator, provider):
    emulator.reply(tool_calls=[ToolCallSpec("echo", {"city": "Paris"})], usage=(100, 10))
    emulator.reply(tool_calls=[ToolCallSpec("echo", {"city": "Rome"})], usage=(200, 20))
    emulator.reply(text="Done.", usage=(300, 30))
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        reply = client.run("Cities?", tools=[ECHO])
        with client.run_stream("Cities?", tools=[ECHO]) as run:
            emulator.reply(tool_calls=[ToolCallSpec("echo", {"city": "Oslo"})], usage=(100, 10), chunk_size=5)
            emulator.reply(text="Done.", usage=(300, 30), chunk_size=5)
            for _ in run:
                pass
    # (100 + 200 + 300) x 2 + (10 + 20 + 30) x 10
    assert reply.cost.total == pytest.approx(0.0018, rel=1e-12)
    assert run.response.cost.total == pytest.approx((400 * 2 + 40 * 10) / 1e6, rel=1e-12)


def test_extract_re_asks_are_billed(emulator, provider):
    def answer(value, usage):
        if expect(provider).structured_by_tool:
            return Reply(tool_calls=[ToolCallSpec("Answer", value)], usage=usage)
        return Reply(text=json.dumps(value), usage=usage)

    emulator.queue(answer({"value": "many"}, (100, 10)))
    emulator.queue(answer({"value": 42}, (150, 5)))
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        reply = client.extract(Answer, "How many?", return_response=True)
    assert reply.parsed == Answer(42)
    assert (reply.usage.input_tokens, reply.usage.output_tokens) == (250, 15)
    assert reply.cost.total == pytest.approx((250 * 2 + 15 * 10) / 1e6, rel=1e-12)


def test_errors_carry_what_was_billed(emulator, provider):
    def answer(value, usage):
        if expect(provider).structured_by_tool:
            return Reply(tool_calls=[ToolCallSpec("Answer", value)], usage=usage)
        return Reply(text=json.dumps(value), usage=usage)

    emulator.reply(tool_calls=[ToolCallSpec("echo", {"city": "Paris"})], usage=(100, 10))
    emulator.reply(tool_calls=[ToolCallSpec("echo", {"city": "Rome"})], usage=(200, 20))
    emulator.queue(answer({"value": "many"}, (100, 10)))
    emulator.queue(answer({"value": "lots"}, (150, 5)))
    emulator.reply(text="Hello there", usage=(500, 50), break_after=2)
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        with pytest.raises(llm.errors.ToolLoopError) as loop:
            client.run("Cities?", tools=[ECHO], max_rounds=2)
        with pytest.raises(llm.errors.StructuredOutputError) as structured:
            client.extract(Answer, "How many?", retries=1)
        with pytest.raises(llm.errors.StreamError) as broken:
            with client.stream("Hi") as stream:
                for _ in stream:
                    pass
    # the rounds and the attempts, each billed
    assert loop.value.cost.total == pytest.approx((300 * 2 + 30 * 10) / 1e6, rel=1e-12)
    assert structured.value.cost.total == pytest.approx((250 * 2 + 15 * 10) / 1e6, rel=1e-12)
    # a broken stream: whatever usage arrived before the break (none here), never a made-up figure
    partial = broken.value.response
    assert broken.value.cost == (partial.cost if partial is not None else None)


def test_chat_session_cost(emulator, provider):
    emulator.reply(text="One", usage=(100, 10))
    emulator.reply(text="Two", usage=(200, 20))
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        chat = llm.ChatSession(client, system="Be terse.")
        assert chat.cost is None
        chat.send("First")
        first = chat.cost
        twin = chat.fork()
        chat.send("Second")
    assert first.total == pytest.approx(0.0003, rel=1e-12)
    assert chat.cost.total == pytest.approx(0.0003 + 0.0006, rel=1e-12)
    assert twin.cost == first


def test_client_model_info_and_base_model(emulator, provider):
    emulator.reply(text="Hello", usage=(1000, 200))
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        assert client.model_info.known and client.model_info.prices.input == 2.0
    with llm.Client(model(provider), base_model="openai/gpt-4o", **settings(emulator, provider)) as client:
        assert client.model_info.model == "openai/gpt-4o" and client.model_info.context_window == 128000
    reply = llm.complete(model(provider), "Hi", base_model="openai/gpt-4o", **settings(emulator, provider))
    assert reply.cost.total == pytest.approx(0.004, rel=1e-12)  # the reply names its own model
    with pytest.raises(llm.errors.ValidationError, match="base_model"):
        llm.Client(model(provider), base_model=42, **settings(emulator, provider))
