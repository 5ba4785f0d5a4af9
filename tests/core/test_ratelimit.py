"""The sans-IO rate limiter and the bulk scheduler (llmunified._ratelimit, llmunified._bulkplan):
driven by a fake clock, nothing sleeps."""
import json

import pytest

from llmunified import errors
from llmunified._bulkplan import (BulkResult, BulkScheduler, ResultsFile, check_map_args, error_from_record,
                                  plan_items, token_estimator)
from llmunified._ratelimit import RateLimiter
from llmunified._retry import RetryPolicy
from llmunified._types import Message, Response, Usage
from llmunified.errors import ValidationError

NO_JITTER = RetryPolicy(max_retries=3, initial_delay=1.0, max_delay=8.0, jitter=0.0)


class Clock:
    def __init__(self, now=100.0):
        self.now = now

    def __call__(self):
        return self.now


def reply(text="ok", total=10, output=4):
    return Response(Message("assistant", text), usage=Usage(total - output, output, total))


def rate_limited(retry_after=None):
    return errors.RateLimitError("slow down", status=429, retry_after=retry_after, provider="openai")


# -- RateLimiter ---------------------------------------------------------------------------------

def test_no_limits_never_wait():
    limiter = RateLimiter()
    for _ in range(1000):
        assert limiter.delay(10_000, now=0.0) == 0.0
        limiter.acquire(10_000, now=0.0)


def test_rpm_paces_starts_evenly():
    clock = Clock(0.0)
    limiter = RateLimiter(rpm=120, clock=clock)
    starts = []
    while len(starts) < 5:
        wait = limiter.delay()
        if wait:
            clock.now += wait
            continue
        limiter.acquire()
        starts.append(clock.now)
    assert starts == [0.0, 0.5, 1.0, 1.5, 2.0]


def test_rpm_after_an_idle_spell_starts_at_once():
    limiter = RateLimiter(rpm=60)
    limiter.acquire(now=0.0)
    assert limiter.delay(now=0.5) == pytest.approx(0.5)
    assert limiter.delay(now=30.0) == 0.0
    limiter.acquire(now=30.0)
    assert limiter.delay(now=30.0) == pytest.approx(1.0)


def test_tpm_sliding_window():
    limiter = RateLimiter(tpm=1000)
    limiter.acquire(600, now=0.0)
    limiter.acquire(300, now=10.0)
    assert limiter.delay(100, now=11.0) == 0.0
    assert limiter.delay(200, now=11.0) == pytest.approx(49.0)  # the first entry leaves at 60
    assert limiter.delay(500, now=11.0) == pytest.approx(49.0)
    assert limiter.delay(800, now=11.0) == pytest.approx(59.0)  # both must leave
    assert limiter.delay(200, now=60.0) == 0.0
    assert limiter.tokens_in_window(now=60.0) == 300


def test_tpm_settle_corrects_the_estimate():
    limiter = RateLimiter(tpm=1000)
    ticket = limiter.acquire(900, now=0.0)
    assert limiter.delay(500, now=1.0) > 0
    limiter.settle(ticket, 200)  # the reply used far less
    assert limiter.tokens_in_window(now=1.0) == 200
    assert limiter.delay(500, now=1.0) == 0.0
    limiter.settle(None, 5)  # no tpm: no ticket, nothing to do
    assert limiter.tokens_in_window(now=61.0) == 0
    limiter.settle(ticket, 999)  # left the window already: the total is not touched
    assert limiter.tokens_in_window(now=61.0) == 0


def test_tpm_request_bigger_than_the_budget_goes_alone():
    limiter = RateLimiter(tpm=100)
    assert limiter.delay(5000, now=0.0) == 0.0
    limiter.acquire(5000, now=0.0)
    assert limiter.delay(1, now=1.0) == pytest.approx(59.0)
    assert limiter.delay(5000, now=60.0) == 0.0


def test_shared_pause_holds_every_start():
    limiter = RateLimiter(rpm=6000)
    assert limiter.rate_limited(retry_after=2.5, now=10.0) == pytest.approx(2.5)
    assert limiter.delay(now=10.0) == pytest.approx(2.5)
    assert limiter.delay(now=12.0) == pytest.approx(0.5)
    assert limiter.delay(now=12.5) == 0.0
    assert limiter.pauses == 1
    # a shorter pause inside a longer one does not shorten it
    limiter.pause(5.0, now=20.0)
    limiter.pause(1.0, now=21.0)
    assert limiter.paused_until == 25.0
    assert limiter.pauses == 2


def test_backoff_without_retry_after_doubles_and_resets():
    limiter = RateLimiter(initial_backoff=1.0, max_backoff=5.0)
    waits = [limiter.rate_limited(now=float(t) * 100) for t in range(5)]
    assert waits == [1.0, 2.0, 4.0, 5.0, 5.0]
    limiter.succeeded()
    assert limiter.rate_limited(now=1000.0) == 1.0


@pytest.mark.parametrize("name, value", [("rpm", 0), ("rpm", -5), ("tpm", 0), ("rpm", True), ("tpm", "10")])
def test_bad_limits(name, value):
    with pytest.raises(ValidationError, match=name):
        RateLimiter(**{name: value})


@pytest.mark.parametrize("args, match", [((0, None, None, None), "concurrency"), ((-1, None, None, None), "concurrency"),
                                         ((2.5, None, None, None), "concurrency"), ((4, 0, None, None), "rpm"),
                                         ((4, None, -1, None), "tpm"), ((4, None, None, -1), "max_retries")])
def test_bad_map_arguments(args, match):
    with pytest.raises(ValidationError, match=match):
        check_map_args(*args)


# -- items ---------------------------------------------------------------------------------------

def test_items_of_every_shape():
    items = plan_items(["hi", Message("user", "m"), [{"role": "user", "content": "x"}],
                        {"role": "user", "content": "y"}, {"messages": "z", "id": "r1", "temperature": 0.5}],
                       {"max_tokens": 10}, NO_JITTER)
    assert [i.index for i in items] == [0, 1, 2, 3, 4]
    assert items[4].id == "r1" and items[4].options == {"max_tokens": 10, "temperature": 0.5}
    assert items[0].options == {"max_tokens": 10}
    assert items[4].key == "id:r1" and items[0].key == "index:0"


@pytest.mark.parametrize("items, match", [
    ("one prompt", "not a single str"),
    ({"messages": "x"}, "not a single"),
    ([{"messages": "a", "id": "x"}, {"messages": "b", "id": "x"}], "same id"),
    ([{"messages": "a", "temprature": 1}], "unknown key"),
    ([42], "item 0 is a int"),
    ([[]], "no messages"),
    ([{"messages": "a", "id": 1.5}], "id must be"),
])
def test_bad_items(items, match):
    with pytest.raises(ValidationError, match=match):
        plan_items(items, {}, NO_JITTER)


def test_unknown_run_option():
    with pytest.raises(ValidationError, match="unknown option"):
        plan_items(["a"], {"temprature": 1}, NO_JITTER)


def test_token_estimate_counts_prompt_and_output():
    estimate = token_estimator("openai", "gpt-4o-mini", None)
    short, long_ = plan_items(["hi", "word " * 400], {}, NO_JITTER)
    assert 0 < estimate(short, 0) < estimate(long_, 0)
    assert estimate(short, 50) == estimate(short, 0) + 50  # the average output so far
    capped = plan_items([{"messages": "hi", "max_tokens": 300}], {}, NO_JITTER)[0]
    assert estimate(capped, 50) == estimate(short, 0) + 300


# -- the scheduler -------------------------------------------------------------------------------

def scheduler(n, concurrency=2, ordered=True, rpm=None, tpm=None, policy=NO_JITTER, resumed=None):
    items = plan_items([f"p{i}" for i in range(n)], {}, policy)
    if resumed:
        items = [i for i in items if i.index not in {r.index for r in resumed}]
    limiter = RateLimiter(rpm, tpm)
    return BulkScheduler(items, n, limiter, concurrency, ordered, lambda item, guess: 100, resumed), limiter


def start_all(sched, now):
    started = []
    while True:
        item, wait = sched.next_start(now)
        if item is None:
            return started, wait
        started.append(item)


def test_concurrency_bound_and_input_order():
    sched, _ = scheduler(4, concurrency=2)
    started, wait = start_all(sched, 0.0)
    assert [i.index for i in started] == [0, 1] and wait is None  # wait for a completion
    sched.finished(started[1], reply("b"), None, 1.0)
    assert sched.ready() == []  # item 0 first
    more, _ = start_all(sched, 1.0)
    assert [i.index for i in more] == [2]
    sched.finished(started[0], reply("a"), None, 2.0)
    assert [r.index for r in sched.ready()] == [0, 1]
    assert sched.done == 2 and not sched.finished_all


def test_in_order_the_results_held_back_are_bounded():
    """One slow item does not let the rest of the input pile up behind it: at most ``window``
    items past the earliest unfinished one start; as it finishes, the run moves on."""
    sched, _ = scheduler(1000, concurrency=2)
    assert sched.window == 64  # the minimum (16 per worker would be 32)
    slow, other = start_all(sched, 0.0)[0]
    highest = other.index
    while True:  # item 0 stays out; the other worker finishes each item at once and starts the next
        sched.finished(other, reply(), None, 0.0)
        other, wait = sched.next_start(0.0)
        if other is None:
            break
        highest = other.index
    assert wait is None  # it waits for item 0 to finish, not for a clock
    assert highest == 63 and sched.ready() == [] and sched.done == 63
    sched.finished(slow, reply(), None, 1.0)
    assert [r.index for r in sched.ready()] == list(range(64))
    item, _ = sched.next_start(1.0)
    assert item is not None and item.index == 64


def test_the_window_grows_with_the_workers_and_is_not_used_out_of_order():
    assert scheduler(10, concurrency=8)[0].window == 128
    sched, _ = scheduler(200, concurrency=1, ordered=False)
    first, _ = sched.next_start(0.0)
    for n in range(1, 150):  # item 0 never finishes: out of order, nothing waits for it
        item, _ = sched.next_start(0.0)
        assert item is None
        sched.running -= 1  # (as if another worker were free)
        item, _ = sched.next_start(0.0)
        assert item.index == n


def test_as_completed():
    sched, _ = scheduler(3, concurrency=3, ordered=False)
    started, _ = start_all(sched, 0.0)
    sched.finished(started[2], reply(), None, 1.0)
    assert [r.index for r in sched.ready()] == [2]


def test_per_item_error_is_a_result_not_an_end():
    sched, _ = scheduler(2, concurrency=2)
    started, _ = start_all(sched, 0.0)
    bad = errors.BadRequestError("no", status=400)
    result = sched.finished(started[0], None, bad, 1.0)
    assert result.error is bad and not result.ok and result.attempts == 1
    sched.finished(started[1], reply(), None, 1.0)
    assert [r.ok for r in sched.ready()] == [False, True]
    assert sched.errors == 1 and sched.finished_all


def test_a_429_pauses_everyone_and_is_retried():
    sched, limiter = scheduler(5, concurrency=2)
    started, _ = start_all(sched, 0.0)
    assert sched.finished(started[0], None, rate_limited(retry_after=3.0), 1.0) is None
    assert limiter.paused_until == 4.0
    item, wait = sched.next_start(1.0)
    assert item is None and wait == pytest.approx(3.0)  # nothing starts during the pause
    item, wait = sched.next_start(3.9)
    assert item is None
    item, _ = sched.next_start(4.0)
    assert item.index == 0 and item.attempts == 2  # the refused item first
    assert sched.retries == 1


def test_retries_run_out():
    sched, _ = scheduler(1, concurrency=1, policy=RetryPolicy(max_retries=1, jitter=0.0, initial_delay=0.5))
    now = 0.0
    item, _ = sched.next_start(now)
    assert sched.finished(item, None, errors.ServerError("boom", status=500), now) is None
    item, wait = sched.next_start(now)
    assert item is None and wait == pytest.approx(0.5)  # this item's own backoff, not a shared pause
    item, _ = sched.next_start(0.5)
    result = sched.finished(item, None, errors.ServerError("boom again", status=500), 0.5)
    assert result is not None and str(result.error) .endswith("boom again") and result.attempts == 2


def test_tpm_budget_holds_starts_and_usage_corrects_it():
    sched, limiter = scheduler(3, concurrency=3, tpm=250)
    started, wait = start_all(sched, 0.0)
    assert [i.index for i in started] == [0, 1] and wait == pytest.approx(60.0)  # 100 + 100, the third would be 300
    sched.finished(started[0], reply(total=10), None, 1.0)  # it used 10, not 100
    item, _ = sched.next_start(1.0)
    assert item is not None and item.index == 2


def test_resumed_results_come_out_in_their_place():
    done = [BulkResult(1, None, response=reply("from file"), resumed=True)]
    sched, _ = scheduler(3, concurrency=3, resumed=done)
    assert sched.done == 1 and sched.ready() == []
    started, _ = start_all(sched, 0.0)
    assert [i.index for i in started] == [0, 2]
    sched.finished(started[0], reply("a"), None, 1.0)
    out = sched.ready()
    assert [r.index for r in out] == [0, 1] and out[1].resumed


# -- the results file ----------------------------------------------------------------------------

def test_results_file_round_trip(tmp_path):
    path = tmp_path / "out.jsonl"
    f = ResultsFile(path)
    f.open()
    f.write(BulkResult(0, None, response=reply("zero"), attempts=1))
    f.write(BulkResult(1, "b", error=rate_limited(retry_after=2.0), attempts=3))
    f.close_file()
    loaded = ResultsFile(path).load()
    assert set(loaded) == {"index:0", "id:b"}
    assert loaded["index:0"].response == reply("zero") and loaded["index:0"].resumed
    err = loaded["id:b"].error
    assert isinstance(err, errors.RateLimitError) and err.status == 429 and err.retry_after == 2.0
    assert loaded["id:b"].attempts == 3


def test_results_file_skips_a_torn_line_and_appends_on_a_new_one(tmp_path):
    path = tmp_path / "out.jsonl"
    good = json.dumps({"key": "index:0", "index": 0, "id": None, "response": {"message": {"role": "assistant",
                                                                                         "content": "a"}}})
    path.write_text(good + "\n" + '{"key": "index:1", "ind', encoding="utf-8")
    f = ResultsFile(path)
    assert list(f.load()) == ["index:0"] and f.skipped_lines == 1
    f.open()
    f.write(BulkResult(1, None, response=reply("b")))
    f.close_file()
    again = ResultsFile(path)
    assert sorted(again.load()) == ["index:0", "index:1"] and again.skipped_lines == 1


def test_error_record_of_an_unknown_type():
    err = error_from_record({"type": "KeyError", "message": "'x'"})
    assert type(err) is errors.LLMError and "KeyError" in str(err)
