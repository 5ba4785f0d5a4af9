"""ChatSession against the emulator, for every wire protocol: history, tools, streaming,
truncation to a token budget, fork, and session files."""
import json

import pytest

import llmunified as llm
from llmunified import errors
from llmunified.testing import ToolCallSpec
from tests._sync.helpers import WEATHER, expect, model, provider, sent_roles, settings  # noqa: F401 - provider is a fixture


def ten_tokens(message):
    return 10


def weather(city, days=1):
    return {"city": city, "sky": "clear"}


WEATHER_TOOL = llm.Tool(WEATHER.name, WEATHER.description, WEATHER.parameters, function=weather)


def sent_texts(provider, request):
    """The text of each turn the emulator received (system prompt first where lifted)."""
    exp = expect(provider)
    system = exp.system(request.json)
    return ([system] if system is not None else []) + [text for _, text in exp.turns(request.json)]


def test_send_keeps_the_conversation(emulator, provider):
    emulator.reply(text="Hello!")
    emulator.reply(text="You said hi before.")
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        chat = llm.ChatSession(client, system="Be brief.", temperature=0.5)
        first = chat.send("Hi")
        second = chat.send("What did I say?")
    assert (first.text, second.text) == ("Hello!", "You said hi before.")
    assert [(m.role, m.text) for m in chat.messages] == [
        ("system", "Be brief."), ("user", "Hi"), ("assistant", "Hello!"), ("user", "What did I say?"),
        ("assistant", "You said hi before.")]
    assert sent_texts(provider, emulator.last_request) == ["Be brief.", "Hi", "Hello!", "What did I say?"]
    assert all(r.violations == [] for r in emulator.requests)
    assert chat.token_count > 0 and chat.token_count_estimated


def test_send_with_tools_keeps_every_tool_turn(emulator, provider):
    emulator.reply(tool_calls=[ToolCallSpec("get_weather", {"city": "Paris"})])
    emulator.reply(text="Clear in Paris.")
    emulator.reply(text="Anytime.")
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        chat = llm.ChatSession(client, tools=[WEATHER_TOOL])
        assert chat.send("Weather in Paris?").text == "Clear in Paris."
        chat.send("Thanks")
    assert [m.role for m in chat.messages] == ["user", "assistant", "tool", "assistant", "user", "assistant"]
    assert all(r.violations == [] for r in emulator.requests)


def test_stream_updates_history_only_when_complete(emulator, provider):
    emulator.reply(text="Streamed answer.", chunk_size=4)
    emulator.reply(text="word ", repeat_chunks=6, break_after=5)
    emulator.reply(text="word ", repeat_chunks=300, delay=0.002)
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        chat = llm.ChatSession(client)
        with chat.stream("First") as stream:
            text = "".join([e.text for e in stream if e.type == "text"])
        assert text == "Streamed answer." and stream.response.text == text
        before = chat.messages
        with pytest.raises(errors.StreamError) as info:
            with chat.stream("Second") as stream:
                for _ in stream:
                    pass
        assert info.value.response.text.startswith("word ")
        assert chat.messages == before
        with chat.stream("Third") as stream:
            for event in stream:
                break
        assert chat.messages == before
    assert [m.text for m in chat.messages] == ["First", "Streamed answer."]


def test_truncation_to_the_budget(emulator, provider):
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        # every message counts 10 tokens; 75 - 10 leaves room for 6 messages
        chat = llm.ChatSession(client, system="System rules.", max_context_tokens=75, reserve_tokens=10,
                               token_counter=ten_tokens)
        chat.send("Pinned fact")
        chat.pin(1)
        for i in range(4):
            chat.send(f"question {i}")
    sent = sent_texts(provider, emulator.last_request)
    assert sent[0] == "System rules." and sent[1].startswith("Pinned fact")  # Anthropic merges user turns
    assert sent[-1].endswith("question 3")
    assert "question 0" not in "".join(sent) and "question 2" in "".join(sent)
    assert [m.text for m in chat.dropped][:2] == ["You said: Pinned fact", "question 0"]
    kept = [m.text for m in chat.messages]
    assert "question 0" not in kept and kept[0] == "System rules." and kept[1] == "Pinned fact"
    assert all(r.violations == [] for r in emulator.requests)


def test_tool_turns_are_dropped_together(emulator, provider):
    emulator.reply(tool_calls=[ToolCallSpec("get_weather", {"city": "Paris"})])
    emulator.reply(text="Clear.")
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        chat = llm.ChatSession(client, tools=[WEATHER_TOOL], max_context_tokens=45, reserve_tokens=0,
                               token_counter=ten_tokens)
        chat.send("Weather?")
        chat.send("Something else")
    body = emulator.last_request.json
    # the tool call and its result ({"city": "Paris"}) went out together, and a user turn leads
    assert "Paris" not in json.dumps(body.get("messages") or body.get("contents"))
    assert sent_roles(provider, body)[0] == "user"
    assert [m.role for m in chat.dropped][:3] == ["user", "assistant", "tool"]
    assert emulator.last_request.violations == []


def test_newest_turn_that_cannot_fit_fails_before_the_network(emulator, provider):
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        chat = llm.ChatSession(client, max_context_tokens=30, reserve_tokens=25, token_counter=ten_tokens)
        with pytest.raises(errors.ContextBudgetExceededError) as info:
            chat.send("too long")
    assert isinstance(info.value, errors.ContextWindowExceededError)
    assert emulator.requests == [] and chat.messages == []


def test_fork_branches_independently(emulator, provider):
    emulator.reply(text="A")
    emulator.reply(text="B1")
    emulator.reply(text="B2")
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        chat = llm.ChatSession(client)
        chat.send("start")
        branch = chat.fork()
        chat.send("left")
        branch.send("right")
    assert [m.text for m in chat.messages] == ["start", "A", "left", "B1"]
    assert [m.text for m in branch.messages] == ["start", "A", "right", "B2"]


def test_save_and_load_round_trip(emulator, provider, tmp_path):
    emulator.reply(thinking="Hmm.", thinking_signature="sig-1",
                   tool_calls=[ToolCallSpec("get_weather", {"city": "Paris", "days": 2})])
    emulator.reply(text="Clear.")
    emulator.reply(text="Again clear.")
    path = tmp_path / "chat.json"
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        chat = llm.ChatSession(client, system="Sys", tools=[WEATHER_TOOL], temperature=0.2)
        # images are kept by reference (URL) where the provider takes URLs, else as base64
        image = expect(provider).image()
        chat.send(["Look:", image])
        chat.save(path)
        loaded = llm.ChatSession.load(path, client, tools=[WEATHER_TOOL])
        assert loaded.messages == chat.messages
        assert llm.ChatSession.from_dict(json.loads(path.read_text()), client).messages == chat.messages
        loaded.send("And now?")
    assert emulator.requests[-1].violations == []
    assert loaded.messages[-1].text == "Again clear."


def test_corrupt_or_newer_files_are_typed_and_never_overwritten(emulator, provider, tmp_path):
    corrupt = tmp_path / "corrupt.json"
    corrupt.write_text('{"format": "llmunified.chat", "version": 1, "messages": [{"role": "wizard"')
    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps({"format": "llmunified.chat", "version": 99, "messages": []}))
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        with pytest.raises(errors.SessionFileError):
            llm.ChatSession.load(corrupt, client)
        with pytest.raises(errors.SessionVersionError) as info:
            llm.ChatSession.load(newer, client)
        assert info.value.version == 99
        chat = llm.ChatSession(client)
        with pytest.raises(errors.SessionFileError):
            chat.save(corrupt)
    assert corrupt.read_text().endswith('"wizard"')


def test_reported_input_tokens_correct_the_estimate(emulator, provider):
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        chat = llm.ChatSession(client, system="Be brief.")
        estimate = chat._state.counter.count(llm.system("Be brief.")) + chat._state.counter.count(
            llm.user("Hello there, how are you?"))
        emulator.reply(text="ok", usage=(2 * estimate, 1))  # the provider counts twice our estimate
        before = chat.token_count
        chat.send("Hello there, how are you?")
    assert chat.token_count_estimated
    assert 1.5 < chat._state.history.factor <= 2.0
    assert chat.token_count > before + estimate
