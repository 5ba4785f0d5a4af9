"""The tool loop's steering decisions (sans-IO, llmunified._toolloop): caller-run tools, approval
decisions, submissions, injection and cancellation, without any I/O."""
import pytest

import llmunified as llm
from llmunified import errors
from llmunified._toolloop import ToolLoop, caller_tool_names

PARAMS = {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
          "required": ["city"], "additionalProperties": False}
WEATHER = llm.Tool("weather", "", PARAMS, function=lambda city, days=1: f"{city}: clear")
ASK = llm.Tool("ask", "", {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]})


def reply(*calls, text=""):
    parts = [llm.ToolCall(cid, name, args) for cid, name, args in calls]
    return llm.Response(llm.assistant(text, tool_calls=parts), usage=llm.Usage(10, 2, 12), provider="openai",
                        model="gpt-4o-mini")


def loop(caller=None, approve=None, tools=(WEATHER, ASK)):
    made = ToolLoop(list(tools), 5)
    made.steer(caller if caller is not None else {"ask"}, approve)
    return made


def test_decisions_and_their_reprs():
    assert llm.allow() == llm.allow() and repr(llm.deny("no")) == "deny('no')"
    assert llm.edit({"city": "Oslo"}).arguments == {"city": "Oslo"} and repr(llm.allow()) == "allow()"
    with pytest.raises(errors.ValidationError):
        llm.deny("")
    with pytest.raises(errors.ValidationError):
        llm.edit(["city"])


def test_caller_tool_names():
    assert caller_tool_names(None) == frozenset() and caller_tool_names("ask") == {"ask"}
    assert caller_tool_names([ASK, "x"]) == {"ask", "x"} and caller_tool_names(True) == {"*"}
    with pytest.raises(errors.ValidationError):
        caller_tool_names(5)
    with pytest.raises(errors.ValidationError):
        caller_tool_names([""])


def test_steer_checks_every_tool_can_run():
    with pytest.raises(errors.ValidationError, match="caller_tools=\\{'ask'\\}"):
        ToolLoop([WEATHER, ASK], 5).steer()
    with pytest.raises(errors.ValidationError, match="'nope'"):
        ToolLoop([WEATHER, ASK], 5).steer({"ask", "nope"})
    every = ToolLoop([WEATHER, ASK], 5)
    every.steer(True)
    assert every.caller == {"weather", "ask"} and every.steered
    plain = ToolLoop([WEATHER], 5)
    plain.steer()
    assert not plain.steered


def test_split_pending_and_submit_in_the_models_order():
    state = loop()
    plans = state.record(reply(("a1", "ask", {"q": "one"}), ("w1", "weather", {"city": "Paris"}),
                               ("a2", "ask", {"q": "two"}), ("a3", "ask", {"q": 3})))
    mine, theirs = state.split(plans)
    assert [p.call.id for p in mine] == ["w1", "a3"]  # a function tool, and invalid arguments
    assert [p.call.id for p in theirs] == ["a1", "a2"]
    for plan in mine:
        state.answer(plan, "done")
    calls = state.wait_for(theirs)
    assert [c.arguments for c in calls] == [{"q": "one"}, {"q": "two"}]
    assert state.submit("a2", {"answer": 2}) is None  # a1 still waits
    with pytest.raises(errors.ToolSubmissionError, match="already has a result"):
        state.submit("a2", "again")
    done = state.submit("a1", "first")
    assert [call.id for call, _ in done] == ["a1", "a2"]  # the model's order, whatever the caller's
    assert [m.content[0].tool_call_id for m in state.new if m.role == "tool"] == ["w1", "a3", "a1", "a2"]
    assert state.pending == {}
    with pytest.raises(errors.ToolSubmissionError, match="already has a result"):
        state.submit("a1", "late")
    with pytest.raises(errors.ToolSubmissionError, match="no tool call 'zz'"):
        state.submit("zz", 1)


def test_submit_all_checks_everything_first():
    state = loop()
    plans = state.record(reply(("a1", "ask", {"q": "one"}), ("a2", "ask", {"q": "two"})))
    state.wait_for(state.split(plans)[1])
    with pytest.raises(errors.ToolSubmissionError) as info:
        state.submit_all({"a1": "x", "bad": "y"})
    assert info.value.pending == ["a1", "a2"] and state._answers == {}
    with pytest.raises(errors.ToolSubmissionError, match="call_id: result"):
        state.submit_all(["a1"])
    done = state.submit_all({"a2": ValueError("nope"), "a1": "ok"})
    results = {m.content[0].tool_call_id: m.content[0] for _, m in done}
    assert results["a2"].is_error and results["a2"].content == "Error: ValueError: nope"
    assert results["a1"].content == "ok" and not results["a1"].is_error
    err = state.unanswered()
    assert isinstance(err, errors.ToolSubmissionError) and isinstance(err, errors.ValidationError)


def test_approval_decisions():
    state = loop(caller=(), approve=lambda call: True, tools=(WEATHER,))
    plans = state.record(reply(("c1", "weather", {"city": "Paris"}), ("c2", "weather", {"city": "Oslo"}),
                               ("c3", "weather", {"city": "Rome"}), ("c4", "weather", {"city": 4})))
    assert [p.call.id for p in state.to_approve(plans)] == ["c1", "c2", "c3"]
    state.decide(plans[0], llm.allow())
    state.decide(plans[1], llm.deny("closed"))
    state.decide(plans[2], llm.edit({"city": "Roma", "days": 3}))
    assert plans[0].error is None and plans[1].error == "not run: closed"
    assert plans[2].kwargs == {"city": "Roma", "days": 3}
    # the transcript shows the edited call
    assert state.new[-1].tool_calls[2].arguments == {"city": "Roma", "days": 3}
    assert plans[2].call.arguments == {"city": "Roma", "days": 3}
    message = state.answer(plans[1])
    assert message.content[0].is_error and "closed" in message.content[0].content


@pytest.mark.parametrize("decision, match", [(llm.edit({"city": 1}), "invalid"), (None, "returned None"),
                                             ("sure", "returned 'sure'")])
def test_bad_decisions_fail_the_loop_with_the_transcript(decision, match):
    state = loop(caller=(), approve=lambda call: True, tools=(WEATHER,))
    plans = state.record(reply(("c1", "weather", {"city": "Paris"})))
    with pytest.raises(errors.ToolApprovalError, match=match) as info:
        state.decide(plans[0], decision)
    assert info.value.messages == state.new and info.value.tool_call.id == "c1"
    assert isinstance(info.value, errors.ToolLoopError) and state.state == "failed"
    assert info.value.usage.input_tokens == 10 and info.value.billed
    with pytest.raises(errors.ToolSubmissionError, match="ended"):
        state.submit("c1", "x")


def test_approver_failure_message():
    state = loop(caller=(), approve=lambda call: True, tools=(WEATHER,))
    plans = state.record(reply(("c1", "weather", {"city": "Paris"})))
    err = state.approver_failed(plans[0], KeyError("boom"))
    assert "KeyError" in str(err) and "nothing was sent" in str(err)
    assert state.approval(plans[0])() is True


def test_inject_and_next_round():
    state = loop()
    with pytest.raises(errors.ValidationError):
        state.inject(llm.tool_result("x", "y"))
    with pytest.raises(errors.ValidationError):
        state.inject([llm.user("a"), llm.user("b")])
    state.inject("also Rome")
    state.inject({"role": "user", "content": "and Oslo"})
    assert not state.over([])  # the model answered, but a message waits: one more round
    state.next_round()
    assert [m.text for m in state.new] == ["also Rome", "and Oslo"] and state.injected == []
    assert state.over([])


def test_cancel_and_settled_transcript():
    state = loop()
    state.record(reply(("w1", "weather", {"city": "Paris"})))
    state.answer(state.plan(state.new[-1].tool_calls[0]), "clear")
    plans = state.record(reply(("a1", "ask", {"q": "?"}), ("w2", "weather", {"city": "Oslo"})))
    mine, theirs = state.split(plans)
    state.answer(mine[0], "rain")
    state.wait_for(theirs)
    assert [m.role for m in state.settled()] == ["assistant", "tool"]  # round 2 still waits
    assert state.set_cancelled() and not state.set_cancelled()
    err = state.cancelled_error(None)
    assert isinstance(err, errors.ToolLoopCancelledError) and len(err.messages) == 4
    assert err.usage.input_tokens == 20 and err.partial_response is None
    with pytest.raises(errors.ToolSubmissionError, match="cancelled"):
        state.submit("a1", "x")
    with pytest.raises(errors.ToolSubmissionError, match="cancelled"):
        state.inject("late")


def test_pause_for_a_non_streaming_run():
    state = loop()
    response = reply(("a1", "ask", {"q": "?"}))
    plans = state.record(response)
    paused = state.pause(response, state.wait_for(state.split(plans)[1]))
    assert [c.id for c in paused.pending_tool_calls] == ["a1"] and paused.messages == state.new
    assert state.state == "paused"
