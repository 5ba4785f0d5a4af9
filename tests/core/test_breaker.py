"""The Router's sans-IO core (llmunified._breaker): the circuit breaker's every transition
driven by a fake clock (nothing sleeps), the failover decision per error class, and the
entry order of each strategy."""
import threading
from collections import Counter

import pytest

from llmunified import errors
from llmunified._breaker import (ANSWERED, CLOSED, DEFAULT_FAIL_OVER, DISABLE, FAIL_OVER, HALF_OPEN, LARGER, OPEN,
                                 RAISE, SKIP, Breaker, Rotation, check_fail_over_on, counts_as_failure, decide)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def breaker(threshold=3, cooldown=30.0):
    clock = FakeClock()
    return Breaker(threshold, cooldown, clock), clock


def fail(b, n=1, error=None):
    for _ in range(n):
        probe = b.admit()
        assert probe is False
        b.failure(error or errors.ServerError("boom"), probe)


# -- closed -> open ----------------------------------------------------------------------------

def test_a_new_breaker_is_closed_and_admits_normal_calls():
    b, _ = breaker()
    assert b.state == CLOSED and b.available()
    assert b.admit() is False  # a normal call, not a probe
    assert b.retry_in() == 0.0 and b.last_error is None


def test_it_opens_after_threshold_consecutive_failures():
    b, _ = breaker(threshold=3)
    fail(b, 2)
    assert b.state == CLOSED and b.failures == 2
    fail(b)
    assert b.state == OPEN and b.opened == 1
    assert b.admit() is None and not b.available()
    assert isinstance(b.last_error, errors.ServerError)


def test_a_success_resets_the_consecutive_count():
    b, _ = breaker(threshold=3)
    fail(b, 2)
    b.success(b.admit())
    assert b.failures == 0
    fail(b, 2)
    assert b.state == CLOSED


# -- open -> half open -> closed / open ------------------------------------------------------

def test_open_for_the_cooldown_then_half_open():
    b, clock = breaker(threshold=1, cooldown=30)
    fail(b)
    clock.advance(29.9)
    assert b.state == OPEN and b.admit() is None
    assert b.retry_in() == pytest.approx(0.1)
    clock.advance(0.1)
    assert b.state == HALF_OPEN and b.available() and b.retry_in() == 0.0


def test_the_probe_succeeding_closes_the_breaker():
    b, clock = breaker(threshold=1, cooldown=5)
    fail(b)
    clock.advance(5)
    probe = b.admit()
    assert probe is True
    assert b.state == HALF_OPEN and b.admit() is None  # only one probe
    b.success(probe)
    assert b.state == CLOSED and b.admit() is False and b.failures == 0


def test_the_probe_failing_opens_it_again_for_another_cooldown():
    b, clock = breaker(threshold=2, cooldown=5)
    fail(b, 2)
    clock.advance(5)
    probe = b.admit()
    b.failure(errors.TimeoutError("slow"), probe)
    assert b.state == OPEN and b.opened == 2 and isinstance(b.last_error, errors.TimeoutError)
    clock.advance(4.9)
    assert b.admit() is None
    clock.advance(0.1)
    assert b.admit() is True


def test_a_released_probe_frees_the_slot_for_the_next_caller():
    b, clock = breaker(threshold=1, cooldown=1)
    fail(b)
    clock.advance(1)
    probe = b.admit()
    assert b.admit() is None
    b.release(probe)  # interrupted: nothing learnt
    assert b.state == HALF_OPEN
    assert b.admit() is True


def test_release_of_a_normal_call_changes_nothing():
    b, _ = breaker(threshold=2)
    fail(b)
    b.release(b.admit())
    assert b.state == CLOSED and b.failures == 1


# -- Retry-After --------------------------------------------------------------------------------

def test_a_retry_after_longer_than_the_cooldown_keeps_it_open_longer():
    b, clock = breaker(threshold=1, cooldown=10)
    fail(b, error=errors.RateLimitError("slow down", retry_after=60))
    clock.advance(59)
    assert b.state == OPEN and b.retry_in() == pytest.approx(1)
    clock.advance(1)
    assert b.admit() is True


def test_a_retry_after_shorter_than_the_cooldown_does_not_shorten_it():
    b, clock = breaker(threshold=1, cooldown=10)
    fail(b, error=errors.RateLimitError("slow down", retry_after=2))
    clock.advance(9)
    assert b.admit() is None
    clock.advance(1)
    assert b.admit() is True


def test_a_late_failure_while_open_only_extends_for_a_longer_retry_after():
    b, clock = breaker(threshold=1, cooldown=10)
    early = b.admit()  # admitted while closed, ends after the breaker opened
    fail(b)
    b.failure(errors.ServerError("late"), early)
    assert b.retry_in() == pytest.approx(10)
    b.failure(errors.RateLimitError("late", retry_after=100), early)
    assert b.retry_in() == pytest.approx(100)


def test_a_late_success_while_open_does_not_close_it():
    b, _ = breaker(threshold=1)
    early = b.admit()
    fail(b)
    b.success(early)
    assert b.state == OPEN


# -- trip (refused credentials) ----------------------------------------------------------------

def test_trip_opens_at_once_whatever_the_count():
    b, clock = breaker(threshold=5, cooldown=7)
    b.trip(errors.AuthenticationError("bad key", status=401), b.admit())
    assert b.state == OPEN and isinstance(b.last_error, errors.AuthenticationError)
    clock.advance(7)
    probe = b.admit()
    b.trip(errors.PermissionDeniedError("still bad"), probe)
    assert b.state == OPEN and b.admit() is None


# -- concurrency -------------------------------------------------------------------------------

def test_half_open_lets_exactly_one_probe_through_under_concurrency():
    b, clock = breaker(threshold=1, cooldown=1)
    fail(b)
    clock.advance(1)
    results = []
    start = threading.Barrier(16)

    def caller():
        start.wait()
        results.append(b.admit())

    threads = [threading.Thread(target=caller) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(True) == 1 and results.count(None) == 15


def test_concurrent_failures_open_it_once():
    b, _ = breaker(threshold=50, cooldown=1)
    start = threading.Barrier(8)

    def caller():
        start.wait()
        for _ in range(100):
            probe = b.admit()
            if probe is not None:
                b.failure(errors.ServerError("x"), probe)

    threads = [threading.Thread(target=caller) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert b.state == OPEN and b.opened == 1


# -- arguments ---------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs", [{"failure_threshold": 0}, {"failure_threshold": True},
                                    {"failure_threshold": 1.5}, {"cooldown": -1}, {"cooldown": "30"},
                                    {"cooldown": float("nan")}])
def test_bad_settings_are_refused(kwargs):
    with pytest.raises(errors.ValidationError):
        Breaker(**kwargs)


def test_the_default_clock_is_monotonic_time():
    b = Breaker(1, 0.0)
    fail(b)
    assert b.admit() is True  # a zero cooldown: the probe may go at once


# -- the failover decision -----------------------------------------------------------------------

@pytest.mark.parametrize("error, decision", [
    (errors.ConnectionError("refused"), FAIL_OVER),
    (errors.TimeoutError("slow"), FAIL_OVER),
    (errors.RateLimitError("429", status=429), FAIL_OVER),
    (errors.OverloadedError("529", status=529), FAIL_OVER),
    (errors.ServerError("500", status=500), FAIL_OVER),
    (errors.StreamError("broken"), FAIL_OVER),
    (errors.StreamConnectionError("cut"), FAIL_OVER),
    (errors.ContextWindowExceededError("too long", status=400), LARGER),
    (errors.AuthenticationError("bad key", status=401), DISABLE),
    (errors.PermissionDeniedError("no access", status=403), DISABLE),
    (errors.UnsupportedOperationError("no embeddings"), SKIP),
    (errors.BadRequestError("bad", status=400), RAISE),
    (errors.ContentFilterError("blocked", status=400), RAISE),  # only when configured
    (errors.NotFoundError("no such model", status=404), RAISE),
    (errors.ValidationError("bad message"), RAISE),
    (errors.UnsupportedParameterError("no tools here"), RAISE),
    (errors.ContextBudgetExceededError("over budget", needed=10, allowed=5, estimated=True, breakdown={}), RAISE),
    (errors.StructuredOutputError("never valid"), RAISE),
    (errors.MalformedResponseError("garbage"), RAISE),
    (KeyboardInterrupt(), RAISE),
    (ValueError("a bug"), RAISE),
])
def test_decide(error, decision):
    assert decide(error, DEFAULT_FAIL_OVER) == decision


def test_nothing_fails_over_after_content():
    assert decide(errors.StreamConnectionError("cut"), DEFAULT_FAIL_OVER, content=True) == RAISE
    assert decide(errors.OverloadedError("x"), DEFAULT_FAIL_OVER, content=True) == RAISE


def test_a_content_filter_fails_over_when_configured():
    classes = check_fail_over_on(DEFAULT_FAIL_OVER + (errors.ContentFilterError,))
    assert decide(errors.ContentFilterError("blocked", status=400), classes) == ANSWERED


def test_fail_over_on_can_narrow_the_defaults():
    classes = check_fail_over_on([errors.ConnectionError])
    assert decide(errors.ConnectionError("x"), classes) == FAIL_OVER
    assert decide(errors.RateLimitError("x"), classes) == RAISE
    assert decide(errors.AuthenticationError("x"), classes) == DISABLE  # always
    assert check_fail_over_on(errors.TimeoutError) == (errors.TimeoutError,)
    assert check_fail_over_on(None) == DEFAULT_FAIL_OVER


@pytest.mark.parametrize("bad", [errors.BadRequestError, errors.ValidationError, errors.UnsupportedParameterError,
                                 errors.AuthenticationError, ValueError, "RateLimitError", [1], 3])
def test_fail_over_on_refuses_caller_errors_and_non_errors(bad):
    with pytest.raises(errors.ValidationError):
        check_fail_over_on([bad] if not isinstance(bad, int) else bad)


def test_counts_as_failure():
    assert counts_as_failure(errors.RateLimitError("x")) and counts_as_failure(errors.StreamError("x"))
    assert not counts_as_failure(errors.BadRequestError("x"))
    assert not counts_as_failure(errors.AuthenticationError("x"))


# -- the order of the entries ------------------------------------------------------------------

def test_fallback_always_starts_with_the_first():
    r = Rotation(3)
    assert [r.order() for _ in range(3)] == [[0, 1, 2]] * 3


def test_round_robin_rotates_the_first_and_keeps_the_rest_as_fallbacks():
    r = Rotation(3, "round_robin")
    assert [r.order() for _ in range(4)] == [[0, 1, 2], [1, 2, 0], [2, 0, 1], [0, 1, 2]]


def test_weighted_is_exact_and_evenly_spread():
    r = Rotation(3, "weighted", [5, 1, 1])
    firsts = [r.order()[0] for _ in range(7)]
    assert Counter(firsts) == {0: 5, 1: 1, 2: 1}
    assert firsts == [0, 0, 1, 0, 2, 0, 0]  # spread out, not five in a row
    firsts = [r.order()[0] for _ in range(700)]
    assert Counter(firsts) == {0: 500, 1: 100, 2: 100}
    assert r.order() == [0, 1, 2] and r.order() == [0, 1, 2] and r.order() == [1, 0, 2]


def test_a_zero_weight_is_only_a_fallback():
    r = Rotation(2, "weighted", [1, 0])
    orders = [r.order() for _ in range(10)]
    assert all(order == [0, 1] for order in orders)


def test_weighted_without_weights_is_even():
    r = Rotation(2, "weighted")
    assert Counter(r.order()[0] for _ in range(10)) == {0: 5, 1: 5}


@pytest.mark.parametrize("args", [(2, "random"), (2, "round_robin", [1, 1]), (2, "weighted", [1]),
                                  (2, "weighted", [0, 0]), (2, "weighted", [1, -1]), (2, "weighted", [1, "2"])])
def test_bad_strategies_and_weights_are_refused(args):
    with pytest.raises(errors.ValidationError):
        Rotation(*args)


def test_round_robin_is_exact_across_threads():
    r = Rotation(4, "round_robin")
    firsts = []
    lock = threading.Lock()

    def caller():
        for _ in range(250):
            first = r.order()[0]
            with lock:
                firsts.append(first)

    threads = [threading.Thread(target=caller) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Counter(firsts) == {0: 500, 1: 500, 2: 500, 3: 500}


# -- the failure-rate trigger ------------------------------------------------------------------

def rated(rate=0.5, window=10, min_calls=None, threshold=100, cooldown=30.0):
    clock = FakeClock()
    return Breaker(threshold, cooldown, clock, failure_rate=rate, window=window, min_calls=min_calls), clock


def outcome(b, failed, error=None):
    probe = b.admit()
    assert probe is not None
    if failed:
        b.failure(error or errors.ServerError("boom"), probe)
    else:
        b.success(probe)
    return probe


def test_the_rate_trips_at_the_rate_and_not_below():
    b, _ = rated(rate=0.5, window=10)
    for failed in (0, 1, 0, 1, 0, 1, 0, 1, 0, 0):  # 4 of 10 failed: below the rate
        outcome(b, failed)
    assert b.state == CLOSED and b.observed_rate == pytest.approx(0.4) and b.opened == 0
    outcome(b, 1)  # the oldest (a success) leaves the window: 5 of the last 10 failed
    assert b.state == OPEN and b.opened == 1
    assert b.observed_rate is None  # the window empties when it opens


def test_never_two_in_a_row_yet_the_rate_opens_it():
    b, _ = rated(rate=0.5, window=6, min_calls=6, threshold=2)
    for failed in (1, 0, 1, 0, 1):
        outcome(b, failed)
        assert b.state == CLOSED  # the consecutive count never reaches 2
    outcome(b, 0)  # 3 of 6 failed, but the last call succeeded: the rate is judged on failures only
    assert b.state == CLOSED
    outcome(b, 1)  # window 0,1,0,1,0,1: 3 of 6
    assert b.state == OPEN


def test_no_verdict_before_min_calls():
    b, _ = rated(rate=0.5, window=10, min_calls=4)
    outcome(b, 1)
    outcome(b, 1)
    outcome(b, 1)  # 3 of 3 failed: too few calls to judge
    assert b.state == CLOSED and b.observed_rate == 1.0
    outcome(b, 1)
    assert b.state == OPEN


def test_min_calls_defaults_to_ten_or_the_window():
    assert rated(window=20)[0].min_calls == 10
    assert rated(window=4)[0].min_calls == 4
    assert rated()[0].window == 10 and Breaker().window == 20 and Breaker().failure_rate is None


def test_the_rate_opens_for_the_cooldown_then_the_probe_decides_and_closing_resets_the_window():
    b, clock = rated(rate=0.5, window=4, cooldown=30)
    for failed in (1, 0, 1, 1):
        outcome(b, failed)
    assert b.state == OPEN and b.admit() is None
    clock.advance(30)
    assert b.state == HALF_OPEN
    probe = b.admit()
    assert probe is True and b.admit() is None  # one probe only
    b.failure(errors.ServerError("still down"), probe)  # the probe fails: open again
    assert b.state == OPEN and b.opened == 2 and b.retry_in() == pytest.approx(30)
    clock.advance(30)
    assert outcome(b, 0) is True  # the probe succeeds: closed, the window empty
    assert b.state == CLOSED and b.observed_rate is None
    for failed in (1, 0, 1):  # 2 of 3, fewer than min_calls (4) since closing: stays closed
        outcome(b, failed)
    assert b.state == CLOSED
    outcome(b, 0)
    assert b.state == CLOSED and b.observed_rate == 0.5  # 2 of 4: at the rate, but a success
    outcome(b, 1)  # 1,0,1,0 -> 0,1,0,1: 2 of 4 on a failure
    assert b.state == OPEN and b.opened == 3


def test_a_rate_of_one_needs_every_call_in_the_window_to_fail():
    b, _ = rated(rate=1.0, window=3, min_calls=3)
    for failed in (1, 1, 0, 1, 1):
        outcome(b, failed)
    assert b.state == CLOSED
    outcome(b, 1)
    assert b.state == OPEN


def test_the_consecutive_threshold_still_applies_with_a_rate():
    b, _ = rated(rate=0.9, window=20, threshold=3)
    for failed in (0, 0, 0, 1, 1, 1):
        outcome(b, failed)
    assert b.state == OPEN


def test_late_results_while_open_do_not_count_in_the_window():
    b, clock = rated(rate=0.5, window=4)
    early = b.admit()
    for failed in (1, 1, 0, 1):
        outcome(b, failed)
    assert b.state == OPEN
    b.success(early)  # admitted before it opened
    b.failure(errors.ServerError("late"), False)
    assert b.state == OPEN and b.observed_rate is None


def test_without_a_rate_nothing_is_kept():
    b, _ = breaker()
    for failed in (1, 0, 1, 0):
        outcome(b, failed)
    assert b.observed_rate is None and "rate" not in repr(b)


def test_the_window_state_is_in_the_repr():
    b, _ = rated(rate=0.5, window=10)
    outcome(b, 1)
    outcome(b, 0)
    assert "rate=1/2" in repr(b)


@pytest.mark.parametrize("kwargs", [
    {"failure_rate": 0}, {"failure_rate": 1.5}, {"failure_rate": -0.1}, {"failure_rate": True},
    {"failure_rate": "0.5"}, {"failure_rate": float("nan")}, {"failure_rate": 0.5, "window": 0},
    {"failure_rate": 0.5, "window": True}, {"failure_rate": 0.5, "window": 2.5},
    {"failure_rate": 0.5, "min_calls": 0}, {"failure_rate": 0.5, "window": 5, "min_calls": 6},
    {"failure_rate": 0.5, "min_calls": 1.0},
])
def test_bad_rate_settings_are_refused(kwargs):
    with pytest.raises(errors.ValidationError) as info:
        Breaker(3, 30.0, FakeClock(), **kwargs)
    assert any(name in str(info.value) for name in ("failure_rate", "window", "min_calls"))
