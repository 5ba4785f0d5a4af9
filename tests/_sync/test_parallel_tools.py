"""The tool calls of one round run concurrently (issue 10 §4), for every wire protocol against
the emulator: bounded by ``max_parallel_tools`` (a thread pool in ``llmunified``; in
``llmunified_async`` ``asyncio.gather`` under a semaphore, plain functions on worker threads),
results sent back in the model's order, a failing tool an error result of its own.

Overlap is shown by rendezvous (a tool that waits for another to start), never by timing.

Hand-written for the sync package; tests/_async/test_parallel_tools.py is generated from it.
"""
import threading

import pytest

import llmunified as llm
from llmunified import errors
from llmunified.testing import ToolCallSpec
from tests._sync.helpers import model, provider, settings  # noqa: F401 - provider is a fixture

CITY = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
RENDEZVOUS = 2.0  # seconds a tool waits for its partner before concluding it runs alone


class Recorder:
    """Tools that note when they start and finish, and how many ran at once."""

    def __init__(self):
        self.lock = threading.Lock()
        self.log = []
        self.active = 0
        self.most = 0
        self.fast_started = threading.Event()

    def enter(self, name):
        with self.lock:
            self.log.append(("start", name))
            self.active += 1
            self.most = max(self.most, self.active)

    def leave(self, name):
        with self.lock:
            self.log.append(("end", name))
            self.active -= 1

    def tools(self):
        def slow(city):
            self.enter("slow")
            try:
                # finishes only once "fast" has started: it cannot, if the tools run one by one
                met = self.fast_started.wait(RENDEZVOUS)
                return f"{city}: slow, met fast: {met}"
            finally:
                self.leave("slow")

        def failing(city):
            self.enter("failing")
            self.leave("failing")
            raise RuntimeError(f"no data for {city}")

        def fast(city):
            self.enter("fast")
            self.leave("fast")  # noted before "slow" is released, so "slow" is noted ending after it
            self.fast_started.set()
            return f"{city}: fast"

        return [llm.Tool("slow", "A slow lookup.", CITY, function=slow),
                llm.Tool("failing", "A lookup that fails.", CITY, function=failing),
                llm.Tool("fast", "A fast lookup.", CITY, function=fast)]


def script_round(emulator, names=("slow", "failing", "fast")):
    emulator.reply(tool_calls=[ToolCallSpec(name, {"city": f"C{i}"}, id=f"call_{i}") for i, name in enumerate(names)])
    emulator.reply(text="done")


def tool_results(reply):
    return [(m.content[0].name, m.content[0].content, m.content[0].is_error) for m in reply.messages
            if m.role == "tool"]


def test_a_slow_and_a_failing_tool_run_together_and_answer_in_order(emulator, provider):
    rec = Recorder()
    script_round(emulator)
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        reply = client.run("Weather?", tools=rec.tools())
    assert reply.text == "done"
    # "slow" met "fast" while it ran: they overlapped; "fast" ended before "slow"
    assert tool_results(reply) == [("slow", "C0: slow, met fast: True", False),
                                   ("failing", "Error: RuntimeError: no data for C1", True),
                                   ("fast", "C2: fast", False)]
    assert rec.log.index(("end", "fast")) < rec.log.index(("end", "slow"))
    assert rec.most >= 2
    assert not emulator.requests[1].violations


def test_one_at_a_time_keeps_the_models_order(emulator):
    rec = Recorder()
    script_round(emulator, names=("failing", "fast", "slow"))  # "slow" last: it finds "fast" done
    with llm.Client(model("openai"), **settings(emulator, "openai")) as client:
        reply = client.run("Weather?", tools=rec.tools(), max_parallel_tools=1)
    assert [entry for entry in rec.log] == [("start", "failing"), ("end", "failing"), ("start", "fast"),
                                            ("end", "fast"), ("start", "slow"), ("end", "slow")]
    assert rec.most == 1
    assert [name for name, _, _ in tool_results(reply)] == ["failing", "fast", "slow"]


def test_the_bound_is_honoured(emulator):
    lock = threading.Lock()
    state = {"active": 0, "most": 0}
    pair = threading.Barrier(2, timeout=RENDEZVOUS)

    def lookup(city):
        with lock:
            state["active"] += 1
            state["most"] = max(state["most"], state["active"])
        try:
            pair.wait()  # two at a time: every one finds a partner
            return city
        finally:
            with lock:
                state["active"] -= 1

    emulator.reply(tool_calls=[ToolCallSpec("lookup", {"city": f"C{i}"}) for i in range(6)])
    emulator.reply(text="done")
    with llm.Client(model("openai"), **settings(emulator, "openai"), max_parallel_tools=2) as client:
        reply = client.run("Weather?", tools=[llm.Tool("lookup", "", CITY, function=lookup)])
    assert [content for _, content, _ in tool_results(reply)] == [f"C{i}" for i in range(6)]
    assert all(not is_error for _, _, is_error in tool_results(reply))
    assert state["most"] == 2


def test_run_stream_reports_results_in_the_models_order(emulator):
    rec = Recorder()
    script_round(emulator)
    with llm.Client(model("openai"), **settings(emulator, "openai")) as client:
        with client.run_stream("Weather?", tools=rec.tools()) as run:
            results = [(e.tool_call.name, e.is_error) for e in run if e.type == "tool_result"]
    assert results == [("slow", False), ("failing", True), ("fast", False)]
    assert tool_results(run.response)[0][1] == "C0: slow, met fast: True"


def test_a_chat_session_runs_its_tools_together_or_one_by_one(emulator):
    rec = Recorder()
    script_round(emulator)
    with llm.Client(model("openai"), **settings(emulator, "openai")) as client:
        chat = llm.ChatSession(client, tools=rec.tools())
        reply = chat.send("Weather?")
        assert tool_results(reply)[0][1] == "C0: slow, met fast: True"
        rec = Recorder()
        script_round(emulator, names=("failing", "fast", "slow"))
        chat = llm.ChatSession(client, tools=rec.tools(), max_parallel_tools=1)
        chat.send("Weather?")
        assert rec.most == 1 and chat.fork().max_parallel_tools == 1


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True])
def test_max_parallel_tools_must_be_a_positive_int(emulator, bad):
    with pytest.raises(errors.ValidationError, match="max_parallel_tools"):
        llm.Client(model("openai"), **settings(emulator, "openai"), max_parallel_tools=bad)
    with llm.Client(model("openai"), **settings(emulator, "openai")) as client:
        with pytest.raises(errors.ValidationError, match="max_parallel_tools"):
            client.run("Hi", tools=Recorder().tools(), max_parallel_tools=bad)
        with pytest.raises(errors.ValidationError, match="max_parallel_tools"):
            llm.ChatSession(client, tools=Recorder().tools(), max_parallel_tools=bad)
    assert emulator.requests == []
