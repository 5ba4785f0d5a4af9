"""Steering the tool loop (issue 17 sections 1-3) against the emulator: tools the caller runs
(streaming and not), approvals (allow, deny, edit), cancellation (between rounds and mid-stream)
and injected messages, the bad inputs of each, and a ChatSession doing all of it.

Hand-written for the sync package; tests/_async/test_tool_steering.py is generated from it.
"""
import time

import pytest

import llmunified as llm
from llmunified import errors
from llmunified._twin import io
from llmunified.testing import ToolCallSpec
from tests._sync.helpers import model, provider, settings  # noqa: F401 - provider is a fixture

RAN = []


def get_weather(city, days=1):
    RAN.append((city, days))
    return {"city": city, "days": days, "sky": "clear"}


WEATHER = llm.Tool("get_weather", "Weather for a city.", {
    "type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
    "required": ["city"], "additionalProperties": False}, function=get_weather)
# run by the caller (a human, a browser...): no function
ASK = llm.Tool("ask_user", "Ask the user a question.", {
    "type": "object", "properties": {"question": {"type": "string"}}, "required": ["question"]})


def one(emulator):
    """Client settings for the tests that need one wire only."""
    return {"base_url": emulator.url_for("anthropic"), "api_key": "k", "max_retries": 0}


def two_calls(emulator, **fields):
    emulator.reply(tool_calls=[ToolCallSpec("ask_user", {"question": "Which unit?"}, id="call_ask"),
                               ToolCallSpec("get_weather", {"city": "Paris"}, id="call_wx")], usage=(10, 2), **fields)


def tool_results(messages):
    return {p.tool_call_id: (p.content, p.is_error) for m in messages if m.role == "tool" for p in m.content}


@io
def wait_aborted(emulator, n=1):
    # Poll with sleeps rather than block: the async twin must let its loop run to close.
    deadline = time.monotonic() + 5.0
    while emulator.aborted_streams < n and time.monotonic() < deadline:
        time.sleep(0.01)
    return emulator.aborted_streams


@pytest.fixture(autouse=True)
def _reset():
    RAN.clear()


# -- 1. tools the caller runs -------------------------------------------------------------------------
def test_caller_tool_and_function_tool_streaming(emulator, provider):
    two_calls(emulator)
    emulator.reply(text="Clear, in Celsius.", usage=(20, 4))
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        with client.run_stream("Weather in Paris?", tools=[ASK, WEATHER], caller_tools={"ask_user"}) as run:
            kinds = []
            for event in run:
                kinds.append(event.type)
                if event.type == "tool_calls_pending":
                    assert [(c.name, c.arguments) for c in event.tool_calls] == [("ask_user",
                                                                                   {"question": "Which unit?"})]
                    assert event.round == 1 and run.pending == event.tool_calls
                    assert RAN == [("Paris", 1)]  # the function tool of the round already ran
                    run.submit(event.tool_calls[0].id, "Celsius")
                    assert run.pending == []
    assert kinds.count("tool_calls_pending") == 1
    pending_at = kinds.index("tool_calls_pending")
    assert kinds[pending_at - 1] == "tool_result" and kinds[pending_at + 1:pending_at + 3] == ["tool_result",
                                                                                                 "round_end"]
    reply = run.response
    assert reply.text == "Clear, in Celsius."
    assert [m.role for m in reply.messages] == ["assistant", "tool", "tool", "assistant"]
    results = tool_results(reply.messages)
    assert results[reply.messages[0].tool_calls[0].id] == ("Celsius", False)
    assert results[reply.messages[0].tool_calls[1].id][0]["sky"] == "clear"
    assert reply.usage.input_tokens == 30
    assert len(emulator.requests) == 2 and all(not r.violations for r in emulator.requests)


def test_caller_tool_non_streaming(emulator, provider):
    two_calls(emulator)
    emulator.reply(text="Clear, in Celsius.")
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        history = [llm.user("Weather in Paris?")]
        first = client.run(history, tools=[ASK, WEATHER], caller_tools=["ask_user"])
        assert first.finish_reason == "tool_calls"
        assert [(c.name, c.arguments) for c in first.pending_tool_calls] == [("ask_user", {"question": "Which unit?"})]
        assert [m.role for m in first.messages] == ["assistant", "tool"]  # the function's result is in
        assert RAN == [("Paris", 1)] and len(emulator.requests) == 1
        call = first.pending_tool_calls[0]
        history += first.messages + [llm.tool_result(call.id, "Celsius", name=call.name)]
        final = client.run(history, tools=[ASK, WEATHER], caller_tools=["ask_user"])
    assert final.text == "Clear, in Celsius." and final.pending_tool_calls == []
    assert len(emulator.requests) == 2 and all(not r.violations for r in emulator.requests)


def test_caller_tools_true_and_invalid_arguments(emulator):
    # caller_tools=True: every tool is the caller's; invalid arguments never reach the caller
    emulator.reply(tool_calls=[ToolCallSpec("ask_user", {"question": 42}, id="bad"),
                               ToolCallSpec("ask_user", {"question": "Sure?"}, id="good")])
    emulator.reply(text="done")
    with llm.Client("anthropic/test-model", **one(emulator)) as client:
        with client.run_stream("Hi", tools=[ASK], caller_tools=True) as run:
            for event in run:
                if event.type == "tool_calls_pending":
                    assert [c.id for c in event.tool_calls] == ["good"]
                    run.submit_all({"good": {"answer": "yes"}})
        results = tool_results(run.response.messages)
    assert results["bad"][1] and "invalid arguments" in results["bad"][0]
    assert results["good"] == ({"answer": "yes"}, False)


def test_errors_submitted_become_error_results(emulator):
    emulator.reply(tool_calls=[ToolCallSpec("ask_user", {"question": "a"}, id="c1"),
                               ToolCallSpec("ask_user", {"question": "b"}, id="c2")])
    emulator.reply(text="ok")
    with llm.Client("anthropic/test-model", **one(emulator)) as client:
        with client.run_stream("Hi", tools=[ASK], caller_tools={"ask_user"}) as run:
            for event in run:
                if event.type == "tool_calls_pending":
                    run.submit("c1", error="the user closed the window")
                    run.submit("c2", error=TimeoutError("no answer in 30 s"))
        results = tool_results(run.response.messages)
    assert results["c1"] == ("Error: the user closed the window", True)
    assert results["c2"] == ("Error: TimeoutError: no answer in 30 s", True)


def test_function_less_tools_must_be_declared_caller_run(emulator):
    with llm.Client("anthropic/test-model", **one(emulator)) as client:
        with pytest.raises(errors.ValidationError, match="caller_tools"):
            client.run("Hi", tools=[ASK, WEATHER])
        with pytest.raises(errors.ValidationError, match="'nope'"):
            client.run("Hi", tools=[ASK, WEATHER], caller_tools={"ask_user", "nope"})
        with pytest.raises(errors.ValidationError, match="approve"):
            client.run("Hi", tools=[WEATHER], approve="yes")
    assert emulator.requests == []


# -- 2. approvals -----------------------------------------------------------------------------------
def test_approvals_allow_deny(emulator, provider):
    emulator.reply(tool_calls=[ToolCallSpec("get_weather", {"city": "Paris"}, id="c1"),
                               ToolCallSpec("get_weather", {"city": "Oslo"}, id="c2"),
                               ToolCallSpec("get_weather", {"city": "Rome"}, id="c3"),
                               ToolCallSpec("get_weather", {"city": "Bern"}, id="c4")])
    emulator.reply(text="Paris and Rome are clear.")
    seen = []

    def approve(call):
        seen.append((call.id, call.name, call.arguments))
        return {"Paris": True, "Oslo": llm.deny("Oslo is off limits"), "Rome": llm.allow(), "Bern": False}[
            call.arguments["city"]]

    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        reply = client.run("Weather?", tools=[WEATHER], approve=approve)
    assert reply.text == "Paris and Rome are clear."
    assert [s[2]["city"] for s in seen] == ["Paris", "Oslo", "Rome", "Bern"]
    assert sorted(RAN) == [("Paris", 1), ("Rome", 1)]  # approved calls run once each (concurrently in the async twin)
    results = list(tool_results(reply.messages).values())
    assert [r[1] for r in results] == [False, True, False, True]
    assert "Oslo is off limits" in results[1][0] and "did not allow" in results[3][0]
    assert all(not r.violations for r in emulator.requests)


def test_approval_edit_is_validated_and_shown(emulator, provider):
    emulator.reply(tool_calls=[ToolCallSpec("get_weather", {"city": "Pari"}, id="c1")])
    emulator.reply(text="Clear.")
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        with client.run_stream("Weather?", tools=[WEATHER],
                               approve=lambda call: llm.edit({"city": "Paris", "days": 2})) as run:
            events = [event for event in run]
    assert RAN == [("Paris", 2)]
    result = [e for e in events if e.type == "tool_result"][0]
    assert result.tool_call.arguments == {"city": "Paris", "days": 2}
    # the transcript (and what went back to the model) shows the call as it ran
    assert run.response.messages[0].tool_calls[0].arguments == {"city": "Paris", "days": 2}
    assert all(not r.violations for r in emulator.requests)


def test_approvals_only_see_valid_calls_and_see_caller_tools(emulator):
    emulator.reply(tool_calls=[ToolCallSpec("get_weather", {"city": 1}, id="bad"),
                               ToolCallSpec("ask_user", {"question": "Go?"}, id="ask")])
    emulator.reply(text="ok")
    seen = []

    def approve(call):
        seen.append(call.id)
        return llm.deny("not now")

    with llm.Client("anthropic/test-model", **one(emulator)) as client:
        reply = client.run("Hi", tools=[WEATHER, ASK], caller_tools={"ask_user"}, approve=approve)
    assert seen == ["ask"]  # invalid arguments are answered with an error, never asked about
    assert reply.text == "ok" and reply.pending_tool_calls == []  # a denied caller tool is not pending
    assert tool_results(reply.messages)["ask"] == ("Error: not run: not now", True)


@pytest.mark.parametrize("streaming", [False, True])
def test_an_approver_that_raises_sends_nothing(emulator, streaming):
    emulator.reply(tool_calls=[ToolCallSpec("get_weather", {"city": "Paris"}, id="c1")])

    def approve(call):
        raise RuntimeError("approval service down")

    with llm.Client("anthropic/test-model", **one(emulator)) as client:
        with pytest.raises(errors.ToolApprovalError) as info:
            if streaming:
                with client.run_stream("Weather?", tools=[WEATHER], approve=approve) as run:
                    events = [event for event in run]
            else:
                client.run("Weather?", tools=[WEATHER], approve=approve)
    err = info.value
    assert isinstance(err.__cause__, RuntimeError) and "approval service down" in str(err)
    assert [m.role for m in err.messages] == ["assistant"] and err.messages[0].tool_calls[0].id == "c1"
    assert err.tool_call.id == "c1" and RAN == [] and len(emulator.requests) == 1
    if streaming:
        assert run.messages == err.messages
        with pytest.raises(errors.ToolSubmissionError, match="ended"):
            run.submit("c1", "x")
        assert [event for event in run] == []


@pytest.mark.parametrize("decision", [lambda call: llm.edit({"city": 5}), lambda call: llm.edit({}),
                                      lambda call: None, lambda call: "yes"])
def test_bad_decisions_are_typed_errors(emulator, decision):
    emulator.reply(tool_calls=[ToolCallSpec("get_weather", {"city": "Paris"}, id="c1")])
    with llm.Client("anthropic/test-model", **one(emulator)) as client:
        with pytest.raises(errors.ToolApprovalError) as info:
            client.run("Weather?", tools=[WEATHER], approve=decision)
    assert info.value.tool_call.id == "c1" and [m.role for m in info.value.messages] == ["assistant"]
    assert RAN == [] and len(emulator.requests) == 1


def test_edited_arguments_failing_the_schema_list_why(emulator):
    emulator.reply(tool_calls=[ToolCallSpec("get_weather", {"city": "Paris"}, id="c1")])
    with llm.Client("anthropic/test-model", **one(emulator)) as client:
        with client.run_stream("Weather?", tools=[WEATHER], approve=lambda call: llm.edit({"city": 5})) as run:
            with pytest.raises(errors.ToolApprovalError, match="invalid") as info:
                events = [event for event in run]
    assert info.value.errors and "5" in " ".join(info.value.errors)
    assert run.messages == info.value.messages and len(emulator.requests) == 1


# -- 3. cancellation and injection ------------------------------------------------------------------
def test_cancel_between_rounds(emulator):
    emulator.reply(tool_calls=[ToolCallSpec("get_weather", {"city": "Paris"}, id="c1")], usage=(10, 2))
    emulator.reply(text="never asked for")
    with llm.Client("anthropic/test-model", **one(emulator)) as client:
        with client.run_stream("Weather?", tools=[WEATHER]) as run:
            kinds = []
            for event in run:
                kinds.append(event.type)
                if event.type == "round_end":
                    run.cancel()
            assert run.cancelled and kinds[-1] == "round_end"
    assert len(emulator.requests) == 1 and emulator.pending_replies == 1
    assert [m.role for m in run.messages] == ["assistant", "tool"]
    with pytest.raises(errors.ToolLoopCancelledError) as info:
        run.response
    assert info.value.messages == run.messages and info.value.partial_response is None
    assert info.value.usage.input_tokens == 10


def test_cancel_mid_stream_closes_the_connection_at_once(emulator):
    emulator.reply(tool_calls=[ToolCallSpec("get_weather", {"city": "Paris"}, id="c1")])
    emulator.reply(text="word ", repeat_chunks=500, delay=0.005)
    with llm.Client("anthropic/test-model", **one(emulator)) as client:
        with client.run_stream("Weather?", tools=[WEATHER]) as run:
            texts = []
            for event in run:
                if event.type == "text":
                    texts.append(event.text)
                    run.cancel()
        assert wait_aborted(emulator) == 1
        assert texts == ["word "]
        assert [m.role for m in run.messages] == ["assistant", "tool"]
        assert run.partial_response is not None and run.partial_response.text.startswith("word")
        with pytest.raises(errors.ToolLoopCancelledError) as info:
            run.response
        assert info.value.partial_response.text.startswith("word")
        emulator.reply(text="still usable")
        assert client.complete("again").text == "still usable"


def test_leaving_the_with_block_cancels(emulator):
    emulator.reply(text="word ", repeat_chunks=500, delay=0.005)
    with llm.Client("anthropic/test-model", **one(emulator)) as client:
        with client.run_stream("Talk", tools=[WEATHER]) as run:
            for event in run:
                if event.type == "text":
                    break
        assert wait_aborted(emulator) == 1
    assert run.cancelled and run.messages == []
    with pytest.raises(errors.ToolSubmissionError, match="ended"):
        run.inject(llm.user("late"))


def test_cancel_while_waiting_for_the_caller(emulator):
    two_calls(emulator)
    with llm.Client("anthropic/test-model", **one(emulator)) as client:
        with client.run_stream("Hi", tools=[ASK, WEATHER], caller_tools={"ask_user"}) as run:
            for event in run:
                if event.type == "tool_calls_pending":
                    run.cancel()
    assert [m.role for m in run.messages] == ["assistant", "tool"] and len(emulator.requests) == 1
    with pytest.raises(errors.ToolSubmissionError, match="ended"):
        run.submit("call_ask", "too late")


def test_inject_goes_out_with_the_next_round(emulator, provider):
    emulator.reply(tool_calls=[ToolCallSpec("get_weather", {"city": "Paris"}, id="c1")], chunk_size=8)
    emulator.reply(text="Paris and Rome: clear.")
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        with client.run_stream("Weather in Paris?", tools=[WEATHER]) as run:
            for event in run:
                if event.type == "tool_call_start":
                    run.inject(llm.user("Also Rome, please."))
    reply = run.response
    assert [m.role for m in reply.messages] == ["assistant", "tool", "user", "assistant"]
    assert reply.messages[2].text == "Also Rome, please."
    assert "Also Rome, please." in emulator.requests[1].body.decode()
    assert "Also Rome, please." not in emulator.requests[0].body.decode()
    assert all(not r.violations for r in emulator.requests)


def test_inject_during_the_last_round_makes_one_more(emulator):
    emulator.reply(text="It is clear.", chunk_size=4)
    emulator.reply(text="In Fahrenheit: 68.")
    with llm.Client("anthropic/test-model", **one(emulator)) as client:
        with client.run_stream("Weather?", tools=[WEATHER]) as run:
            kinds = []
            for event in run:
                kinds.append(event.type)
                if event.type == "text" and kinds.count("text") == 1:
                    run.inject("In Fahrenheit?")
    assert kinds.count("round_end") == 1 and run.response.text == "In Fahrenheit: 68."
    assert [(m.role, m.text) for m in run.response.messages] == [
        ("assistant", "It is clear."), ("user", "In Fahrenheit?"), ("assistant", "In Fahrenheit: 68.")]
    assert len(emulator.requests) == 2


# -- bad input ----------------------------------------------------------------------------------------
def test_bad_submissions_are_typed_and_change_nothing(emulator):
    two_calls(emulator)
    emulator.reply(text="done")
    with llm.Client("anthropic/test-model", **one(emulator)) as client:
        with client.run_stream("Hi", tools=[ASK, WEATHER], caller_tools={"ask_user"}) as run:
            for event in run:
                if event.type == "tool_calls_pending":
                    break
            before = run.messages
            with pytest.raises(errors.ToolSubmissionError, match="call_nope") as info:
                run.submit("call_nope", "x")
            assert info.value.pending == ["call_ask"]
            with pytest.raises(errors.ToolSubmissionError, match="wait for your result"):
                events = [event for event in run]  # iterating on before answering
            with pytest.raises(errors.ToolSubmissionError):
                run.submit_all({"call_ask": "x", "call_nope": "y"})  # checked first: nothing recorded
            with pytest.raises(errors.ToolSubmissionError, match="already has a result"):
                run.submit("call_wx", "a function tool's call was answered by the loop")
            assert run.messages == before and [c.id for c in run.pending] == ["call_ask"]
            run.submit("call_ask", "yes")
            with pytest.raises(errors.ToolSubmissionError, match="already has a result"):
                run.submit("call_ask", "again")
            events = [event for event in run]
        assert events[-1].type == "finish" and run.response.text == "done"
        with pytest.raises(errors.ToolSubmissionError, match="ended"):
            run.submit("call_ask", "after the end")
    assert tool_results(run.response.messages)["call_ask"] == ("yes", False)


# -- ChatSession ------------------------------------------------------------------------------------
def test_chat_session_with_a_caller_tool(emulator, provider):
    two_calls(emulator)
    emulator.reply(text="Clear, in Celsius.")
    emulator.reply(text="You're welcome.")
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        chat = llm.ChatSession(client, tools=[ASK, WEATHER], caller_tools=["ask_user"])
        first = chat.send("Weather in Paris?")
        call = first.pending_tool_calls[0]
        assert [m.role for m in chat.messages] == ["user", "assistant", "tool"]
        with pytest.raises(errors.ToolSubmissionError, match="submit_tool_results"):
            chat.send("Hello?")
        with pytest.raises(errors.ToolSubmissionError, match="missing"):
            chat.submit_tool_results({})
        with pytest.raises(errors.ToolSubmissionError, match="nope"):
            chat.submit_tool_results({call.id: "Celsius", "nope": 1})
        assert chat.submit_tool_results({call.id: "Celsius"}).text == "Clear, in Celsius."
        with pytest.raises(errors.ToolSubmissionError, match="no tool call waits"):
            chat.submit_tool_results({call.id: "Celsius"})
        chat.send("Thanks")
    assert [m.role for m in chat.messages] == ["user", "assistant", "tool", "tool", "assistant", "user", "assistant"]
    assert all(not r.violations for r in emulator.requests)


def test_chat_session_stream_with_caller_tool_and_approvals(emulator):
    two_calls(emulator)
    emulator.reply(text="Clear, in Celsius.")
    asked = []

    def approve(call):
        asked.append(call.name)
        return True

    with llm.Client("anthropic/test-model", **one(emulator)) as client:
        chat = llm.ChatSession(client, tools=[ASK, WEATHER], caller_tools={"ask_user"}, approve=approve)
        with chat.stream("Weather in Paris?") as stream:
            for event in stream:
                if event.type == "tool_calls_pending":
                    assert stream.pending == event.tool_calls
                    stream.submit(event.tool_calls[0].id, "Celsius")
        assert stream.response.text == "Clear, in Celsius."
    assert asked == ["ask_user", "get_weather"]
    assert [m.role for m in chat.messages] == ["user", "assistant", "tool", "tool", "assistant"]


def test_chat_session_approval_denies(emulator):
    emulator.reply(tool_calls=[ToolCallSpec("get_weather", {"city": "Paris"}, id="c1")])
    emulator.reply(text="I may not check.")
    with llm.Client("anthropic/test-model", **one(emulator)) as client:
        chat = llm.ChatSession(client, tools=[WEATHER])
        reply = chat.send("Weather?", approve=lambda call: llm.deny("no network today"))
    assert reply.text == "I may not check." and RAN == []
    assert "no network today" in tool_results(chat.messages)["c1"][0]


def test_chat_session_cancel_keeps_the_completed_rounds(emulator):
    emulator.reply(text="Hi!")
    emulator.reply(tool_calls=[ToolCallSpec("get_weather", {"city": "Paris"}, id="c1")])
    emulator.reply(text="word ", repeat_chunks=500, delay=0.005)
    emulator.reply(text="word ", repeat_chunks=500, delay=0.005)
    with llm.Client("anthropic/test-model", **one(emulator)) as client:
        chat = llm.ChatSession(client, tools=[WEATHER])
        chat.send("Hello")
        with chat.stream("Weather in Paris?") as stream:
            for event in stream:
                if event.type == "text":
                    stream.cancel()
        assert wait_aborted(emulator) == 1
        # the completed round (the call and its result) stays; the cut reply does not
        assert [m.role for m in chat.messages] == ["user", "assistant", "user", "assistant", "tool"]
        assert [m.role for m in stream.messages] == ["assistant", "tool"]
        with chat.stream("Talk") as stream:
            for event in stream:
                if event.type == "text":
                    break  # leaving the block in the first round: nothing completed, nothing kept
        assert wait_aborted(emulator, 2) == 2
        assert len(chat.messages) == 5


# -- Router -----------------------------------------------------------------------------------------
def test_a_router_steers_like_a_client(emulator):
    two_calls(emulator)
    emulator.reply(text="Clear, in Celsius.")
    two_calls(emulator)
    emulator.reply(text="Clear again.")
    asked = []
    with llm.Router([llm.Client("anthropic/test-model", **one(emulator), label="only")]) as router:
        with router.run_stream("Weather?", tools=[ASK, WEATHER], caller_tools={"ask_user"},
                               approve=lambda call: asked.append(call.name) or True) as run:
            for event in run:
                if event.type == "tool_calls_pending":
                    run.submit_all({call.id: "Celsius" for call in event.tool_calls})
        assert run.response.text == "Clear, in Celsius." and asked == ["ask_user", "get_weather"]
        chat = llm.ChatSession(router, tools=[ASK, WEATHER], caller_tools={"ask_user"})
        first = chat.send("Weather?")
        assert chat.submit_tool_results({first.pending_tool_calls[0].id: "Celsius"}).text == "Clear again."
    assert [m.role for m in chat.messages] == ["user", "assistant", "tool", "tool", "assistant"]
    assert all(not r.violations for r in emulator.requests)
