"""n > 1 answers against the emulator, for every wire protocol: ``response.choices``, streams
whose events carry their answer's index, and a clear refusal where the protocol has no ``n``.

Hand-written for the sync package; tests/_async/test_choices.py is generated from it by
scripts/gen_async.py.
"""
import pytest

import llmunified as llm
from llmunified import errors
from llmunified.testing import Reply, ToolCallSpec
from tests._sync.helpers import model, provider, provider_name, settings  # noqa: F401 - a fixture

#: protocols with several answers per call (OpenAI's n, Gemini's candidateCount)
WITH_N = ("openai", "lmstudio", "azure", "gemini", "vertex")


def sent_count(provider, body):
    if provider_name(provider) in ("gemini", "vertex"):
        return body["generationConfig"]["candidateCount"]
    return body["n"]


def test_complete_with_n(emulator, provider):
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        if provider not in WITH_N:
            with pytest.raises(errors.UnsupportedParameterError, match="one answer per call") as info:
                client.complete("Hi", n=3)
            assert info.value.option == "n=3"
            assert emulator.requests == []  # refused before anything was sent
            return
        reply = client.complete("Hi", n=3)
        assert sent_count(provider, emulator.last_request.json) == 3
        assert [c.index for c in reply.choices] == [0, 1, 2]
        assert [c.text for c in reply.choices] == ["You said: Hi", "You said: Hi (answer 2)",
                                                   "You said: Hi (answer 3)"]
        assert reply.text == "You said: Hi" and reply.choices[0].message == reply.message
        assert all(c.finish_reason == "stop" for c in reply.choices)
        single = client.complete("Hi")
        assert len(single.choices) == 1 and single.choices[0].text == single.text


def test_stream_with_n(emulator, provider):
    if provider not in WITH_N:
        return
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        with client.stream("Hi there", n=2) as stream:
            events = [event for event in stream]
        plain = client.complete("Hi there", n=2)
    texts = ["".join(e.text for e in events if e.type == "text" and e.choice == i) for i in (0, 1)]
    assert texts == ["You said: Hi there", "You said: Hi there (answer 2)"]
    assert sorted(e.choice for e in events if e.type == "finish") == [0, 1]
    assert events[-1].type == "finish" and events[-1].choice == 0
    response = stream.response
    assert [c.message for c in response.choices] == [c.message for c in plain.choices]
    assert response.usage.output_tokens == plain.usage.output_tokens


def test_tool_calls_in_every_choice(emulator, provider):
    if provider not in WITH_N:
        return
    emulator.queue(Reply(tool_calls=[ToolCallSpec("get_weather", {"city": "Paris"})]))
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        reply = client.complete("Weather?", n=2, tools=[{"name": "get_weather", "parameters": {
            "type": "object", "properties": {"city": {"type": "string"}}}}])
    assert [c.tool_calls[0].arguments for c in reply.choices] == [{"city": "Paris"}] * 2
    assert [c.finish_reason for c in reply.choices] == ["tool_calls", "tool_calls"]


def test_session_keeps_the_first_choice(emulator):
    with llm.Client("openai/test-model", **settings(emulator, "openai")) as client:
        chat = llm.ChatSession(client)
        reply = chat.send("Hello", n=2)
        assert len(reply.choices) == 2
        assert chat.messages[-1] == reply.message
        assert len(chat.messages) == 2


def test_drop_unsupported_sends_one_answer(emulator):
    with llm.Client("anthropic/test-model", **settings(emulator, "anthropic")) as client:
        reply = client.complete("Hi", n=3, drop_unsupported=True)
    assert len(reply.choices) == 1
