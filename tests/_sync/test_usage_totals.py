"""Per-client and per-session usage and cost totals (issue 17 §4) against the emulator: a mix of
calls, streams, tool loops, retries and failures. (8 threads at once: tests/test_usage_threads.py.)

Hand-written for the sync package; tests/_async/test_usage_totals.py is generated from it.
"""
import pytest

import llmunified as llm
from llmunified import errors
from llmunified.testing import ToolCallSpec
from tests._sync.helpers import SECRET, model, provider, settings  # noqa: F401 - provider is a fixture

FAST = llm.RetryPolicy(max_retries=2, initial_delay=0.001, max_delay=0.001, jitter=0.0)


def double(n: int) -> int:
    return 2 * n


DOUBLE = llm.Tool("double", "Twice n.", {"type": "object", "properties": {"n": {"type": "integer"}},
                                         "required": ["n"]}, function=double)


def test_totals_after_a_mix_of_calls(emulator):
    emulator.reply(text="a", usage=(10, 2))                                    # complete
    emulator.reply(text="b c", usage=(20, 3))                                  # stream
    emulator.reply(tool_calls=[ToolCallSpec("double", {"n": 2})], usage=(30, 4))  # run: round 1
    emulator.reply(text="4", usage=(40, 5))                                    # run: round 2
    emulator.reply(status=503, error="busy")                                   # retried...
    emulator.reply(text="d", usage=(50, 6))                                    # ...then served
    emulator.reply(status=400, error="bad request")                            # a failure
    emulator.reply(text="e " * 50, usage=(60, 7), break_after=4)               # a stream that breaks
    with llm.Client("openai/gpt-4o-mini", base_url=emulator.url_for("openai"), api_key=SECRET,
                    retry=FAST) as client:
        replies = [client.complete("1")]
        with client.stream("2") as stream:
            events = [e for e in stream]
        replies.append(stream.response)
        replies.append(client.run("3", tools=[DOUBLE]))
        replies.append(client.complete("4"))
        with pytest.raises(errors.BadRequestError):
            client.complete("5")
        with pytest.raises(errors.StreamError):
            with client.stream("6") as broken:
                for _ in broken:
                    pass
        totals = client.usage_totals()
    assert events
    assert (totals.calls, totals.errors, totals.retries) == (7, 2, 1)
    assert (totals.input_tokens, totals.output_tokens) == (150, 20)
    assert totals.unpriced_calls == 0
    assert totals.cost.total == pytest.approx(sum(r.cost.total for r in replies))


def test_reset_starts_again(emulator):
    emulator.reply(text="a", usage=(10, 2))
    emulator.reply(text="b", usage=(1, 1))
    with llm.Client("openai/no-such-model", base_url=emulator.url_for("openai"), api_key=SECRET) as client:
        client.complete("1")
        first = client.usage_totals(reset=True)
        assert (first.calls, first.input_tokens, first.cost, first.unpriced_calls) == (1, 10, None, 1)
        assert client.usage_totals() == llm.UsageTotals()
        client.complete("2")
        assert client.usage_totals().input_tokens == 1


def test_a_stream_left_early_still_counts(emulator):
    emulator.reply(text="word " * 100, chunk_size=8, usage=(5, 100))
    with llm.Client("openai/m", base_url=emulator.url_for("openai"), api_key=SECRET) as client:
        with client.stream("Talk") as stream:
            for event in stream:
                if event.type == "text":
                    break
        totals = client.usage_totals()
    assert (totals.calls, totals.errors) == (1, 0)


def test_session_totals_follow_its_exchanges(emulator, provider):
    emulator.reply(text="Hi!", usage=(10, 2))
    emulator.reply(tool_calls=[ToolCallSpec("double", {"n": 3})], usage=(20, 3))
    emulator.reply(text="6", usage=(30, 4))
    emulator.reply(text="streamed", usage=(40, 5))
    emulator.reply(status=500, error="boom")
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        chat = llm.ChatSession(client, tools=[DOUBLE])
        chat.send("Hello")
        chat.send("Double 3")
        with chat.stream("More") as stream:
            [e for e in stream]
        with pytest.raises(errors.ServerError):
            chat.send("Again")
        totals = chat.usage_totals()
        other = llm.ChatSession(client)
        assert other.usage_totals() == llm.UsageTotals()
        assert client.usage_totals().calls == 5
    assert (totals.calls, totals.errors) == (5, 1)
    assert (totals.input_tokens, totals.output_tokens) == (100, 14)
    # the session's own cost is the sum of its exchanges, as before (None: a test model has no price)
    assert chat.cost is None and totals.cost is None and totals.unpriced_calls == 4
