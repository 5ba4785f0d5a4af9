"""The automatic tool loop (Client.run) against the emulator, for every wire protocol."""
import pytest

import llmunified as llm
from llmunified import errors
from llmunified.testing import ToolCallSpec
from tests._sync.helpers import expect, model, provider, settings  # noqa: F401 - provider is a fixture

CALLS = []


def get_weather(city, days=1):
    CALLS.append((city, days))
    if city == "Atlantis":
        raise LookupError("no such city")
    return {"city": city, "days": days, "sky": "clear"}


WEATHER = llm.Tool("get_weather", "Weather for a city.", {
    "type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
    "required": ["city"], "additionalProperties": False}, function=get_weather)


@pytest.fixture(autouse=True)
def _reset_calls():
    CALLS.clear()


def tool_results(message):
    return [(p.tool_call_id, p.content, p.is_error) for p in message.content]


def test_run_loops_until_the_model_answers(emulator, provider):
    emulator.reply(tool_calls=[ToolCallSpec("get_weather", {"city": "Paris"}, id="call_a"),
                               ToolCallSpec("get_weather", {"city": "Oslo", "days": 2}, id="call_b")],
                   usage=(10, 5))
    emulator.reply(tool_calls=[ToolCallSpec("get_weather", {"city": "Rome"}, id="call_c")], usage=(20, 5))
    emulator.reply(text="Clear everywhere.", usage=(30, 4))
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        reply = client.run("Weather in Paris, Oslo and Rome?", tools=[WEATHER])
    assert reply.text == "Clear everywhere."
    # round 1's two calls run concurrently (either may run first), round 2's after them
    assert sorted(CALLS[:2]) == [("Oslo", 2), ("Paris", 1)] and CALLS[2:] == [("Rome", 1)]
    assert (reply.usage.input_tokens, reply.usage.output_tokens) == (60, 14)
    roles = [m.role for m in reply.messages]
    assert roles == ["assistant", "tool", "tool", "assistant", "tool", "assistant"]
    first_results = tool_results(reply.messages[1]) + tool_results(reply.messages[2])
    assert [r[0] for r in first_results] == [reply.messages[0].tool_calls[0].id, reply.messages[0].tool_calls[1].id]
    assert first_results[0][1] == {"city": "Paris", "days": 1, "sky": "clear"}
    assert all(not r.violations for r in emulator.requests)
    assert len(emulator.requests) == 3


def test_tool_errors_go_back_to_the_model(emulator, provider):
    emulator.reply(tool_calls=[ToolCallSpec("get_weather", {"city": "Atlantis"}),
                               ToolCallSpec("get_weather", {"city": 42}),
                               ToolCallSpec("no_such_tool", {}),
                               ToolCallSpec("get_weather", '{"city": "Par')])
    emulator.reply(text="Sorry.")
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        reply = client.run("Weather?", tools=[WEATHER])
    assert reply.text == "Sorry."
    assert CALLS == [("Atlantis", 1)]  # only the call with valid arguments ran
    results = [r for m in reply.messages if m.role == "tool" for r in tool_results(m)]
    assert [r[2] for r in results] == [True, True, True, True]
    assert "LookupError: no such city" in results[0][1]
    assert "invalid arguments" in results[1][1] and "42" in results[1][1]
    assert "unknown tool 'no_such_tool'" in results[2][1]
    # Broken JSON text travels as such on string-argument wires; an object wire has none.
    assert expect(provider).broken_arguments_error in results[3][1]
    assert all(not r.violations for r in emulator.requests)


def test_max_rounds_raises_with_the_transcript(emulator, provider):
    for _ in range(3):
        emulator.reply(tool_calls=[ToolCallSpec("get_weather", {"city": "Paris"})], usage=(5, 1))
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        with pytest.raises(errors.ToolLoopError) as info:
            client.run("Loop forever", tools=[WEATHER], max_rounds=2)
    err = info.value
    assert [m.role for m in err.messages] == ["assistant", "tool", "assistant"]
    assert err.usage.input_tokens == 10
    assert len(CALLS) == 1 and len(emulator.requests) == 2


def test_run_transcript_continues_the_conversation(emulator, provider):
    emulator.reply(tool_calls=[ToolCallSpec("get_weather", {"city": "Paris"})])
    emulator.reply(text="Clear.")
    emulator.reply(text="You're welcome.")
    with llm.Client(model(provider), **settings(emulator, provider), tools=[WEATHER]) as client:
        history = [llm.user("Weather in Paris?")]
        reply = client.run(history)
        history += reply.messages + [llm.user("Thanks!")]
        follow = client.complete(history)
    assert follow.text == "You're welcome."
    assert emulator.requests[-1].violations == []


def test_run_rejects_bad_tools_before_any_call(emulator, provider):
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        with pytest.raises(errors.ValidationError, match="no function"):
            client.run("x", tools=[llm.Tool("f", "no function", {"type": "object", "properties": {}})])
        with pytest.raises(errors.ValidationError, match="bad name"):
            client.run("x", tools=[llm.Tool("bad name", "d", {"type": "object"}, function=get_weather)])
        with pytest.raises(errors.ValidationError):
            client.run("x", tools=[llm.Tool("f", "d", {"type": "object", "properties": {"a": {"type": "strin"}}},
                                            function=get_weather)])
    assert emulator.requests == []


def test_run_stream_events_across_rounds(emulator, provider):
    emulator.reply(text="Checking. ", tool_calls=[ToolCallSpec("get_weather", {"city": "Paris"})], chunk_size=7,
                   usage=(10, 3))
    emulator.reply(text="It is clear.", chunk_size=5, usage=(20, 4))
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        with client.run_stream("Weather in Paris?", tools=[WEATHER]) as run:
            events = [event for event in run]
    kinds = [e.type for e in events]
    assert kinds.count("finish") == 2 and kinds.count("round_end") == 1
    marker = kinds.index("round_end")
    assert kinds[marker - 1] == "tool_result" and kinds[marker - 2] == "finish"
    result = events[marker - 1]
    assert result.tool_call.arguments == {"city": "Paris"} and not result.is_error
    assert "".join(e.text for e in events[marker:] if e.type == "text") == "It is clear."
    assert run.response.text == "It is clear."
    assert [m.role for m in run.response.messages] == ["assistant", "tool", "assistant"]
    assert run.response.usage.input_tokens == 30
    assert CALLS == [("Paris", 1)]
    assert all(not r.violations for r in emulator.requests)
