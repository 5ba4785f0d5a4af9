"""client.map against the emulator: bounded concurrency, input order or as completed, per-item
errors, one shared backoff on 429, rpm pacing, progress, and resuming from a results file.

Hand-written for the sync package; tests/_async/test_bulk.py is generated from it by
scripts/gen_async.py.
"""
import json
import sys
import threading
import time

import pytest

import llmunified as llm
from llmunified import errors
from llmunified._twin import io
from llmunified.testing import RateLimit, Reply
from tests._sync.helpers import running_loop, settings, settled_requests, without_asyncio_debug

PROMPTS = [f"prompt {i}" for i in range(24)]


def echo_slowly(request):
    """The echo, the earlier prompts answering later (so completion order is not input order)."""
    text = request._dialect.last_user_text(request.json)
    number = int(text.split()[-1]) if text.split()[-1].isdigit() else 0
    return Reply(text="You said: " + text, delay=max(0.0, 0.06 - number * 0.005))


def test_results_in_input_order(emulator):
    emulator.default_reply = echo_slowly
    with llm.Client("openai/test-model", **settings(emulator, "openai")) as client:
        results = [result for result in client.map(PROMPTS, concurrency=8)]
    assert [r.index for r in results] == list(range(len(PROMPTS)))
    assert [r.text for r in results] == ["You said: " + p for p in PROMPTS]
    assert all(r.ok and r.error is None and r.attempts == 1 and not r.resumed for r in results)
    assert len(emulator.requests) == len(PROMPTS)


def first_is_slow(request):
    text = request._dialect.last_user_text(request.json)
    return Reply(text="You said: " + text, delay=0.4 if text == "prompt 0" else 0.0)


def test_as_completed(emulator):
    emulator.default_reply = first_is_slow
    with llm.Client("openai/test-model", **settings(emulator, "openai")) as client:
        results = [result for result in client.map(PROMPTS[:6], concurrency=6, ordered=False)]
    assert sorted(r.index for r in results) == list(range(6))
    assert [r.index for r in results] != list(range(6))  # prompt 0 answers last
    assert results[-1].index == 0


def test_in_order_one_slow_item_holds_back_a_bounded_number(emulator, monkeypatch):
    """Results wait for an earlier slow one in a bounded buffer: past ``window`` items beyond
    it, nothing new starts until it is out (memory stays bounded whatever one item does)."""
    from llmunified._bulkplan import BulkScheduler

    plan = sys.modules[BulkScheduler.__module__]  # a window of 4 items (shared by both twins)
    monkeypatch.setattr(plan, "ORDERED_WINDOW_MIN", 4)
    monkeypatch.setattr(plan, "ORDERED_WINDOW_PER_WORKER", 1)
    emulator.default_reply = first_is_slow
    seen = []
    with llm.Client("openai/test-model", **settings(emulator, "openai")) as client:
        for result in client.map(PROMPTS[:20], concurrency=2):
            if not seen:
                sent_by_then = len(emulator.requests)
            seen.append(result.index)
    assert seen == list(range(20))
    assert sent_by_then == 4  # prompt 0 and the three after it; the fifth waited for prompt 0


def test_request_dicts_ids_and_options(emulator):
    items = [{"messages": [llm.system("Be terse."), llm.user("a")], "id": "first", "temperature": 0.5},
             "b", {"messages": "c", "id": 7}]
    with llm.Client("openai/test-model", **settings(emulator, "openai")) as client:
        results = [result for result in client.map(items, max_tokens=20)]
    assert [(r.index, r.id) for r in results] == [(0, "first"), (1, None), (2, 7)]
    bodies = sorted((r.json for r in emulator.requests), key=lambda b: b["messages"][-1]["content"])
    assert bodies[0]["temperature"] == 0.5 and "temperature" not in bodies[1]
    assert all(b["max_completion_tokens"] == 20 for b in bodies)


def test_per_item_errors_do_not_end_the_run(emulator):
    def answer(request):
        text = request._dialect.last_user_text(request.json)
        if "bad" in text:
            return Reply(status=400, error="This prompt is not allowed")
        return Reply(text="ok " + text)

    emulator.default_reply = answer
    progress = []
    with llm.Client("openai/test-model", **settings(emulator, "openai")) as client:
        results = [result for result in client.map(["one", "bad two", "three", "bad four", "five"], concurrency=3,
                                                    on_progress=lambda *counts: progress.append(counts))]
    assert [r.ok for r in results] == [True, False, True, False, True]
    assert isinstance(results[1].error, errors.BadRequestError) and results[1].response is None
    assert "not allowed" in str(results[1].error) and results[1].text == ""
    assert results[4].text == "ok five"
    assert progress[-1] == (5, 5, 2) and [p[0] for p in progress] == [1, 2, 3, 4, 5]
    assert all(total == 5 for _, total, _ in progress)


def test_a_429_pauses_every_worker(emulator):
    limit = RateLimit(requests=3, window=0.3, retry_after=0.3)
    emulator.default_reply = limit
    started = time.monotonic()
    with llm.Client("openai/test-model", **settings(emulator, "openai")) as client:
        with client.map(PROMPTS[:9], concurrency=4, max_retries=20) as run:
            results = [result for result in run]
        pauses = run.pauses
    assert [r.text for r in results] == ["You said: " + p for p in PROMPTS[:9]]  # all, once, in order
    assert all(r.ok for r in results) and len(limit.answered) == 9
    assert limit.refused and pauses >= 1
    assert time.monotonic() - started >= 0.3 * (9 // 3 - 1)
    seen = limit.answered + limit.refused
    for refused_at in limit.refused:
        # a request already on its way may land just after the 429; then nothing until the pause is over
        during = [t for t in seen if refused_at + 0.05 < t < refused_at + 0.25]
        assert during == [], f"{len(during)} request(s) sent during the shared backoff"
    assert len(limit.refused) <= 4 * 3  # the workers waited together, they did not hammer


def test_without_retries_a_429_is_the_items_result(emulator):
    emulator.default_reply = RateLimit(requests=1, window=5.0)
    with llm.Client("openai/test-model", **settings(emulator, "openai")) as client:
        results = [result for result in client.map(["a", "b"], concurrency=1, max_retries=0)]
    assert results[0].ok and isinstance(results[1].error, errors.RateLimitError)
    assert results[1].error.retry_after > 0


def test_rpm_paces_the_requests(emulator):
    limit = RateLimit(requests=1000, window=60.0)
    emulator.default_reply = limit
    started = time.monotonic()
    with llm.Client("openai/test-model", **settings(emulator, "openai")) as client:
        results = [result for result in client.map(PROMPTS[:6], concurrency=6, rpm=1200)]  # one per 50 ms
    assert all(r.ok for r in results)
    assert time.monotonic() - started >= 0.25 - 0.01
    times = sorted(limit.answered)
    assert times[-1] - times[0] >= 0.25 - 0.05  # not all at once (a connection's setup may delay one)


def slow_after_three(request):
    text = request._dialect.last_user_text(request.json)
    return Reply(text="You said: " + text, delay=0.2 if int(text.split()[-1]) > 3 else 0.0)


def test_resume_from_a_results_file(emulator, tmp_path):
    path = tmp_path / "results.jsonl"
    items = [{"messages": p, "id": f"item-{i}"} for i, p in enumerate(PROMPTS[:10])]
    emulator.default_reply = slow_after_three
    with llm.Client("openai/test-model", **settings(emulator, "openai")) as client:
        with client.map(items, concurrency=2, results_file=path) as run:
            for result in run:
                if result.index == 3:
                    break  # interrupted: what is in flight is waited for (threads) or cancelled (tasks)
        first = settled_requests(emulator)  # (those in flight at the stop included)
        recorded = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        assert 4 <= len(recorded) <= first <= 6
        by_index = {r["index"]: r for r in recorded}  # written as they finished
        assert by_index[0]["response"]["message"]["content"] == "You said: prompt 0"
        assert by_index[0]["key"] == "id:item-0" and by_index[0]["id"] == "item-0"
        with open(path, "a", encoding="utf-8") as f:
            f.write('{"key": "id:item-9", "ind')  # a line torn by a crash
        progress = []
        with client.map(items, concurrency=3, results_file=path,
                        on_progress=lambda *counts: progress.append(counts)) as run:
            results = [result for result in run]
            resumed = run.resumed
    assert [r.id for r in results] == [f"item-{i}" for i in range(10)]
    assert [r.text for r in results] == ["You said: " + p for p in PROMPTS[:10]]
    assert resumed == len(recorded) and sum(r.resumed for r in results) == resumed
    assert len(emulator.requests) == first + 10 - resumed  # none recorded was called again
    assert progress[0] == (resumed, 10, 0) and progress[-1] == (10, 10, 0)
    keys = [json.loads(line)["key"] for line in path.read_text(encoding="utf-8").splitlines()
            if line.startswith("{") and line.endswith("}")]
    assert sorted(keys) == sorted(f"id:item-{i}" for i in range(10))
    with llm.Client("openai/test-model", **settings(emulator, "openai")) as client:
        again = [result for result in client.map(items, results_file=path)]
    assert all(r.resumed for r in again) and len(emulator.requests) == first + 10 - resumed


def test_the_results_file_is_read_with_the_first_step_off_the_event_loop(emulator, tmp_path, monkeypatch):
    """An earlier run's results file (it can hold thousands of responses) is read when the run
    starts, not when ``map()`` is called: on a worker thread in the async twin, so the event
    loop goes on serving other tasks; on the caller's thread in the sync one."""
    from llmunified._bulkplan import ResultsFile

    path = tmp_path / "results.jsonl"
    with llm.Client("openai/test-model", **settings(emulator, "openai")) as client:
        assert [r.ok for r in client.map(PROMPTS[:3], results_file=path)] == [True] * 3
        readers = []
        load = ResultsFile.load

        def recording_load(self):
            readers.append(threading.current_thread())
            return load(self)

        monkeypatch.setattr(ResultsFile, "load", recording_load)
        run = client.map(PROMPTS[:5], results_file=path)
        assert readers == [] and run.resumed == 0 and run.done == 0  # nothing read yet
        with run:
            results = [result for result in run]
    assert [r.resumed for r in results] == [True] * 3 + [False] * 2
    assert run.resumed == 3 and run.done == 5 and len(emulator.requests) == 5
    assert len(readers) == 1 and (readers[0] is threading.current_thread()) == (running_loop() is None)


def test_failed_items_run_again_when_asked(emulator, tmp_path):
    path = tmp_path / "out.jsonl"
    emulator.queue(Reply(status=400, error="nope"))
    with llm.Client("openai/test-model", **settings(emulator, "openai")) as client:
        first = [result for result in client.map(["x"], results_file=path)]
        kept = [result for result in client.map(["x"], results_file=path)]
        rerun = [result for result in client.map(["x"], results_file=path, retry_failed=True)]
    assert not first[0].ok and not kept[0].ok and kept[0].resumed
    assert isinstance(kept[0].error, errors.BadRequestError)
    assert rerun[0].ok and not rerun[0].resumed
    assert len(emulator.requests) == 2


@pytest.mark.parametrize("arguments, match", [({"concurrency": 0}, "concurrency"), ({"rpm": -1}, "rpm"),
                                              ({"tpm": 0}, "tpm"), ({"temprature": 1}, "unknown option")])
def test_bad_arguments(emulator, arguments, match):
    with llm.Client("openai/test-model", **settings(emulator, "openai")) as client:
        with pytest.raises(errors.ValidationError, match=match):
            client.map(["a"], **arguments)
        with pytest.raises(errors.ValidationError, match="same id"):
            client.map([{"messages": "a", "id": 1}, {"messages": "b", "id": 1}])
    assert emulator.requests == []


def test_tpm_budget_with_usage(emulator):
    emulator.default_reply = Reply(text="fine", usage=(5, 5))
    with llm.Client("openai/test-model", **settings(emulator, "openai")) as client:
        results = [result for result in client.map(PROMPTS[:4], concurrency=4, tpm=100_000)]
    assert all(r.ok and r.response.usage.total_tokens == 10 for r in results)


class Interrupted(Exception):
    """Stands for a KeyboardInterrupt in the middle of a run."""


#: a reply the emulator sends as it is (no rendering): 10,000 of them stay quick
FAST = Reply(body=json.dumps({"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "test-model",
                              "choices": [{"index": 0, "message": {"role": "assistant", "content": "done"},
                                           "finish_reason": "stop"}],
                              "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}}),
             content_type="application/json")


def test_ten_thousand_items_interrupted_and_resumed(emulator, tmp_path):
    loop = without_asyncio_debug()
    try:
        ten_thousand_items_interrupted_and_resumed(emulator, tmp_path)  # awaited in the async twin
    finally:
        if loop is not None:
            loop.set_debug(True)


@io
def ten_thousand_items_interrupted_and_resumed(emulator, tmp_path):
    path = tmp_path / "big.jsonl"
    n = 10_000
    emulator.default_reply = FAST
    items = [{"messages": f"n {i}", "id": i} for i in range(n)]

    def stop_at(done, total, errors):
        if done >= 4_000:
            raise Interrupted()

    with llm.Client("openai/test-model", **settings(emulator, "openai")) as client:
        seen = []
        with pytest.raises(Interrupted):
            with client.map(items, concurrency=4, results_file=path, on_progress=stop_at) as run:
                for result in run:
                    seen.append(result.index)
        first = settled_requests(emulator)  # (those in flight at the stop included)
        recorded = [json.loads(line)["index"] for line in path.read_text(encoding="utf-8").splitlines()]
        assert 4_000 <= len(recorded) == len(set(recorded)) < n and first < n
        results = [r for r in client.map(items, concurrency=4, results_file=path)]
    assert [r.index for r in results] == list(range(n))  # every index exactly once, in order
    assert all(r.ok and r.text == "done" for r in results)
    answered = sorted(int(r.json["messages"][-1]["content"].split()[-1]) for r in emulator.requests)
    assert set(answered) == set(range(n))  # every item was sent; only those in flight at the stop twice
    assert len(answered) - n <= 4
    assert sum(r.resumed for r in results) == len(recorded)
    assert len(emulator.requests) == first + n - len(recorded)  # nothing recorded was called again
    lines = path.read_text(encoding="utf-8").splitlines()
    assert sorted(json.loads(line)["index"] for line in lines) == list(range(n))  # the file: each once
