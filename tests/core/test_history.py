"""History: cached counts, truncation rules, correction, rollback, fork (llmunified/_history.py).

Token counts in these tests come from a scripted counter: a message whose text starts with
``"<n>:"`` costs n tokens, any other message 10, so every expected figure is written by hand.
"""
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmunified._history import MAX_FACTOR, MIN_FACTOR, ContextBudgetExceededError, History, Selection
from llmunified._tokens import FunctionCounter
from llmunified._types import Message, ToolCall, ToolResult, assistant, system, tool_result, user
from llmunified.errors import ContextWindowExceededError, LLMError, ValidationError

_N = re.compile(r"^(\d+):")


class Scripted:
    """``"<n>:..."`` costs n tokens, anything else 10; records every count() call."""

    name = "scripted"

    def __init__(self, estimated=True):
        self.estimated = estimated
        self.calls = []

    def count(self, message):
        self.calls.append(message)
        text = message.text
        if not text and isinstance(message.content, list):
            for p in message.content:
                if isinstance(p, ToolResult) and isinstance(p.content, str):
                    text = p.content
                    break
        m = _N.match(text or "")
        return int(m.group(1)) if m else 10


def U(n, tag=""):
    return user(f"{n}:user {tag}")


def A(n, tag=""):
    return assistant(f"{n}:assistant {tag}")


def AT(n, *ids):
    return assistant(f"{n}:calls", tool_calls=[ToolCall(i, "lookup", {"q": i}) for i in ids])


def T(n, call_id):
    return tool_result(call_id, f"{n}:result of {call_id}")


def S(n):
    return system(f"{n}:be helpful")


def make(messages, **kw):
    counter = kw.pop("counter", None) or Scripted()
    return History(counter, messages, **kw), counter


# -- basics ------------------------------------------------------------------------------------

def test_no_budget_sends_everything():
    msgs = [S(5), U(7), A(8), U(9)]
    h, _ = make(msgs)
    sel = h.select()
    assert sel.messages == msgs and sel.dropped == [] and h.dropped == []
    assert sel.tokens == 29 and sel.raw_tokens == 29 and sel.budget is None and sel.overhead == 0
    assert sel.estimated is True
    assert h.token_count == 29 and len(h) == 4 and h.messages == msgs and list(h) == msgs
    assert h[0] is msgs[0] and h[-1] is msgs[-1]
    assert h.message_tokens(1) == 7


def test_fits_exactly_drops_nothing():
    msgs = [S(5), U(7), A(8), U(9)]
    h, _ = make(msgs)
    sel = h.select(29)
    assert sel.messages == msgs and sel.dropped == []


def test_oldest_turns_go_first_and_system_kept():
    s, u1, a1, u2, a2, u3 = S(5), U(10, "1"), A(10, "1"), U(10, "2"), A(10, "2"), U(10, "3")
    h, _ = make([s, u1, a1, u2, a2, u3])
    sel = h.select(35)  # s + u2 a2 u3 = 35
    assert sel.messages == [s, u2, a2, u3]
    assert sel.dropped == [u1, a1] and h.dropped == [u1, a1]
    assert sel.tokens == 35
    assert h.messages == [s, u2, a2, u3]


def test_developer_role_is_kept_like_system():
    d = Message("developer", "20:rules")
    u1, a1, u2 = U(10), A(10), U(10)
    h, _ = make([u1, a1, d, u2])
    sel = h.select(30)
    assert sel.messages == [d, u2]
    assert h.dropped == [u1, a1]


def test_system_message_in_the_middle_is_kept_in_place():
    u1, a1, s, u2, a2, u3 = U(10, "1"), A(10, "1"), S(3), U(10, "2"), A(10, "2"), U(10, "3")
    sel = History(Scripted(), [u1, a1, s, u2, a2, u3]).select(33)
    assert sel.messages == [s, u2, a2, u3]
    sel = History(Scripted(), [u1, a1, s, u2, a2, u3]).select(13)
    assert sel.messages == [s, u3]


def test_user_first_cut_never_starts_with_an_assistant():
    # Dropping u1 alone would leave a1 first (Anthropic: "first message must use the user role").
    s, u1, a1, u2, a2, u3 = S(5), U(10, "1"), A(1, "1"), U(10, "2"), A(10, "2"), U(10, "3")
    h, _ = make([s, u1, a1, u2, a2, u3])
    sel = h.select(40)  # s+a1+u2+a2+u3 = 36 would fit, but would open with a1
    assert sel.messages == [s, u2, a2, u3]
    assert sel.dropped == [u1, a1]


def test_unit_mode_cuts_at_any_unit():
    s, u1, a1, u2, a2, u3 = S(5), U(10, "1"), A(1, "1"), U(10, "2"), A(10, "2"), U(10, "3")
    h, _ = make([s, u1, a1, u2, a2, u3], user_first=False)
    sel = h.select(40)
    assert sel.messages == [s, a1, u2, a2, u3]
    assert sel.dropped == [u1]


def test_newest_user_message_and_what_follows_are_never_dropped():
    # A running tool loop: the newest user message, the call and its result are all mandatory.
    u1, a1, u2, at, t = U(10, "1"), A(10, "1"), U(10, "2"), AT(10, "c1"), T(10, "c1")
    h, _ = make([u1, a1, u2, at, t])
    sel = h.select(30)
    assert sel.messages == [u2, at, t]
    assert h.dropped == [u1, a1]


def test_error_when_the_newest_turn_cannot_fit():
    s, u1, a1, u2 = S(50), U(10), A(10), U(100)
    h, counter = make([s, u1, a1, u2])
    h.pin(u1)
    with pytest.raises(ContextBudgetExceededError) as info:
        h.select(200, overhead=45)
    err = info.value
    assert isinstance(err, ContextWindowExceededError) and isinstance(err, ValidationError)
    assert isinstance(err, LLMError) and isinstance(err, ValueError)
    assert err.retryable is False and err.status is None
    assert err.needed == 205 and err.allowed == 200 and err.estimated is True
    assert err.breakdown == {"kept": 60, "turn": 100, "overhead": 45}
    text = str(err)
    assert "205" in text and "200" in text and "about" in text and "nothing was sent" in text
    # nothing changed
    assert h.messages == [s, u1, a1, u2] and h.dropped == []
    assert h.select(205, overhead=45).messages == [s, u1, u2]


def test_error_for_exact_counter_does_not_say_about():
    h, _ = make([U(100)], counter=Scripted(estimated=False))
    with pytest.raises(ContextBudgetExceededError) as info:
        h.select(99)
    assert "about" not in str(info.value) and info.value.estimated is False


def test_only_system_messages_over_budget_raise():
    h, _ = make([S(50)])
    with pytest.raises(ContextBudgetExceededError):
        h.select(49)
    assert h.select(50).messages == h.messages


def test_history_without_user_keeps_the_last_unit():
    a1, a2, a3 = A(10, "1"), A(10, "2"), A(10, "3")
    h, _ = make([a1, a2, a3])
    assert h.select(10).messages == [a3]
    assert h.dropped == [a1, a2]


def test_overhead_counts_against_the_budget():
    u1, a1, u2 = U(10), A(10), U(10)
    h, _ = make([u1, a1, u2])
    sel = h.select(30, overhead=1)
    assert sel.messages == [u2] and sel.tokens == 11 and sel.overhead == 1


# -- tool groups --------------------------------------------------------------------------------

def test_tool_group_dropped_together():
    u1, at, t1, t2, a1, u2 = U(10), AT(10, "c1", "c2"), T(10, "c1"), T(10, "c2"), A(10), U(10)
    h, _ = make([u1, at, t1, t2, a1, u2], user_first=False)
    # budget 25: cutting inside the group (before t2: 30, before a1: 20) must not happen
    sel = h.select(25)
    assert sel.messages == [a1, u2]
    assert h.dropped == [u1, at, t1, t2]


def test_tool_group_kept_together():
    u1, at, t1, t2, a1, u2 = U(10), AT(1, "c1", "c2"), T(1, "c1"), T(1, "c2"), A(10), U(10)
    h, _ = make([u1, at, t1, t2, a1, u2], user_first=False)
    sel = h.select(23)
    assert sel.messages == [at, t1, t2, a1, u2]
    assert h.dropped == [u1]


def test_pinning_a_call_pins_its_results_and_vice_versa():
    for pick in (1, 2, 3):
        u1, at, t1, t2, a1, u2 = U(10), AT(10, "c1", "c2"), T(10, "c1"), T(10, "c2"), A(10), U(10)
        msgs = [u1, at, t1, t2, a1, u2]
        h, _ = make(msgs, user_first=False)
        h.pin(msgs[pick])
        assert h.pinned == [1, 2, 3]
        sel = h.select(40)
        assert sel.messages == [at, t1, t2, u2]
        assert h.dropped == [u1, a1]


def test_tool_result_arriving_after_pin_joins_the_pinned_unit():
    u1, at = U(10), AT(10, "c1")
    h, _ = make([u1, at])
    h.pin(at)
    t1 = T(10, "c1")
    h.extend([t1, A(10), U(10)])
    assert h.is_pinned(t1)
    assert h.pinned == [1, 2]


# -- pins --------------------------------------------------------------------------------------

def test_pinned_message_survives_truncation():
    u1, a1, u2, a2, u3, a3, u4 = U(10, "1"), A(10, "1"), U(10, "2"), A(10, "2"), U(10, "3"), A(10, "3"), U(10, "4")
    h, _ = make([u1, a1, u2, a2, u3, a3, u4])
    h.pin(0)
    h.pin(-4)  # a2; its question u2 is kept with it (user_first)
    sel = h.select(40)
    # u1, u2, a2 (30) + u4 (10) fill the budget: u3 and a3 go
    assert sel.messages == [u1, u2, a2, u4]
    assert h.dropped == [a1, u3, a3]
    assert h.pinned == [0, 2]
    assert h.select(40).messages == [u1, u2, a2, u4]


def test_pinned_answer_keeps_its_question():
    u1, a1, u2, a2, u3 = U(10, "1"), A(10, "1"), U(10, "2"), A(10, "2"), U(10, "3")
    h, _ = make([u1, a1, u2, a2, u3])
    h.pin(a1)
    assert h.pinned == [1] and not h.is_pinned(u1)
    sel = h.select(30)
    assert sel.messages == [u1, a1, u3]  # never [a1, u3]: the conversation opens with a user turn
    assert h.dropped == [u2, a2]
    h.unpin(a1)  # both go: the question was only kept for the answer
    assert h.messages == [u3] and h.dropped == [u1, a1, u2, a2]


def test_pinned_answer_in_unit_mode_keeps_only_itself():
    u1, a1, u2 = U(10, "1"), A(10, "1"), U(10, "2")
    h, _ = make([u1, a1, u2], user_first=False)
    h.pin(a1)
    assert h.select(20).messages == [a1, u2]


def test_anchor_stays_while_any_unit_of_its_turn_is_pinned():
    u1, at, t, a1, u2 = U(10), AT(10, "c"), T(10, "c"), A(10), U(10)
    h, _ = make([u1, at, t, a1, u2])
    h.pin(at)
    h.pin(a1)
    h.unpin(at)
    assert h.select(30).messages == [u1, a1, u2]
    assert h.dropped == [at, t]
    h.unpin(a1)
    assert h.messages == [u2] and h.dropped == [u1, at, t, a1]


def test_unpinning_a_question_whose_answer_is_pinned_keeps_it():
    u1, a1, u2 = U(10), A(10), U(10)
    h, _ = make([u1, a1, u2])
    h.pin(u1)
    h.pin(a1)
    h.unpin(u1)
    assert h.pinned == [1]
    assert h.select(30).messages == [u1, a1, u2]
    h.unpin(a1)
    assert h.select(10).messages == [u2]


def test_question_already_dropped_cannot_come_back():
    u1, a1, u2, a2, u3 = U(10, "1"), A(10, "1"), U(10, "2"), A(10, "2"), U(10, "3")
    h, _ = make([u1, a1, u2, a2, u3])
    h.select(30)
    assert h.messages == [u2, a2, u3]
    h.pin(a2)
    assert h.select(30).messages == [u2, a2, u3]
    h.append(A(10, "3"))
    h.append(U(10, "4"))
    assert h.select(30).messages == [u2, a2, U(10, "4")]


def test_pin_by_identity_and_errors():
    u1, a1, u2 = U(10), A(10), U(10)
    h, _ = make([u1, a1, u2])
    with pytest.raises(ValidationError, match="not in this history"):
        h.pin(U(10))
    with pytest.raises(ValidationError, match="index 3"):
        h.pin(3)
    with pytest.raises(ValidationError, match="int"):
        h.pin("0")
    with pytest.raises(ValidationError):
        h.pin(True)
    h.select(10)
    with pytest.raises(ValidationError, match="dropped"):
        h.pin(u1)
    h.pin(h.messages[0])  # pinning the kept newest turn is allowed (a no-op in effect)
    assert h.pinned == [0]


def test_pin_system_is_a_no_op():
    s, u1 = S(1), U(1)
    h, _ = make([s, u1])
    h.pin(s)
    assert h.pinned == [] and not h.is_pinned(s)


def test_unpin_after_the_cut_makes_it_droppable():
    u1, a1, u2 = U(10), A(10), U(10)
    h, _ = make([u1, a1, u2])
    h.pin(u1)
    h.unpin(u1)
    assert h.pinned == []
    assert h.select(10).messages == [u2]
    assert h.dropped == [u1, a1]


def test_unpin_before_the_cut_drops_it_in_conversation_order():
    u1, a1, u2, a2, u3, a3, u4 = U(10, "1"), A(10, "1"), U(10, "2"), A(10, "2"), U(10, "3"), A(10, "3"), U(10, "4")
    h, _ = make([u1, a1, u2, a2, u3, a3, u4])
    h.pin(u2)
    h.select(20)
    assert h.messages == [u2, u4] and h.dropped == [u1, a1, a2, u3, a3]
    h.unpin(u2)
    assert h.messages == [u4]
    assert h.dropped == [u1, a1, u2, a2, u3, a3]
    h.unpin(u4)  # not pinned: nothing happens
    assert h.messages == [u4]


# -- dropped order and stability ------------------------------------------------------------------

def test_dropped_accumulates_in_conversation_order():
    h, _ = make([S(1)])
    sent = []
    for i in range(6):
        u, a = U(10, str(i)), A(10, str(i))
        h.append(u)
        sel = h.select(31)
        sent.append(sel)
        h.append(a)
    all_msgs = [m for m in h.dropped] + h.messages[1:]
    assert [m.text for m in all_msgs] == [t for i in range(6) for t in (f"10:user {i}", f"10:assistant {i}")]
    # budget 31 holds the system message, one exchange and the new question: each new question
    # drops the oldest exchange
    assert [m.text for m in sent[-1].dropped] == ["10:user 3", "10:assistant 3"]
    assert [m.text for m in sent[-1].messages] == ["1:be helpful", "10:user 4", "10:assistant 4", "10:user 5"]
    assert sent[0].dropped == [] and sent[1].dropped == []
    assert h.messages[0].role == "system"


def test_repeated_selects_are_stable():
    msgs = [S(5), U(10), A(10), U(10), A(10), U(10)]
    h, _ = make(msgs)
    first = h.select(30)
    again = h.select(30)
    assert again.messages == first.messages and again.dropped == []
    bigger = h.select(1000)  # dropping is permanent
    assert bigger.messages == first.messages and bigger.dropped == []


# -- O(k): counter calls --------------------------------------------------------------------------

def test_each_message_is_counted_once():
    counter = Scripted()
    h = History(counter)
    for i in range(200):
        h.append(U(10, str(i)))
        h.append(A(10, str(i)))
    assert counter.calls == []  # appending does not count
    h.select(500)
    assert len(counter.calls) == 400
    for k in (1, 3, 7):
        before = len(counter.calls)
        for j in range(k):
            h.append(U(10, f"new {k} {j}"))
        sel = h.select(500)
        assert len(counter.calls) - before == k
        assert sel.tokens <= 500
    before = len(counter.calls)
    _ = h.token_count
    h.select(500)
    h.select(300)
    h.pin(-1)
    h.select(300)
    h.fork().select(200)
    assert len(counter.calls) == before


def test_new_messages_are_counted_on_first_need_only():
    counter = Scripted()
    h = History(counter, [U(10), A(10)])
    assert h.token_count == 20 and len(counter.calls) == 2
    h.append(U(5))
    assert h.token_count == 25 and len(counter.calls) == 3


def test_invalidate_recounts_an_edited_message():
    u1 = U(10)
    counter = Scripted()
    h = History(counter, [u1, A(10)])
    assert h.token_count == 20
    u1.content = "30:edited"
    assert h.token_count == 20  # cached by position
    h.invalidate(0)
    assert h.token_count == 40
    h.invalidate()
    assert h.token_count == 40 and len(counter.calls) == 5


# -- correction -----------------------------------------------------------------------------------

def test_correction_rescales_the_covered_estimate():
    counter = Scripted(estimated=True)
    h = History(counter, [S(10), U(20), A(30), U(40)])
    sel = h.select(1000, overhead=5)
    assert sel.tokens == 105
    factor = h.correct(sel, 155)  # (155 - 5) / 100
    assert factor == pytest.approx(1.5)
    assert h.factor == pytest.approx(1.5)
    assert h.token_count == 150  # the covered messages now cost what the provider said
    h.append(A(10))
    assert h.token_count == 165
    assert h.message_tokens(-1) == 15
    again = h.select(1000, overhead=5)
    assert again.tokens == 170 and again.raw_tokens == 110


def test_correction_changes_what_fits():
    msgs = [U(10, "1"), A(10, "1"), U(10, "2"), A(10, "2"), U(10, "3")]
    h, _ = make(msgs)
    sel = h.select(50)
    assert sel.messages == msgs
    h.correct(sel, 100)  # twice the estimate
    sel = h.select(50)
    assert sel.messages == msgs[4:] and sel.tokens == 20


@pytest.mark.parametrize("reported", [None, 0, -5, True, 1.5e3, "100", 10_000])
def test_unusable_reports_are_ignored(reported):
    h, _ = make([U(50), A(50)])
    sel = h.select(1000)
    assert h.correct(sel, reported) is None
    assert h.factor == 1.0


def test_factor_bounds():
    h, _ = make([U(50), A(50)])
    sel = h.select(1000)
    assert h.correct(sel, int(100 * MAX_FACTOR)) == pytest.approx(MAX_FACTOR)
    assert h.correct(sel, int(100 * MIN_FACTOR)) == pytest.approx(MIN_FACTOR)
    assert h.correct(sel, int(100 * MIN_FACTOR) - 1) is None
    assert h.factor == pytest.approx(MIN_FACTOR)


def test_no_correction_for_exact_counters():
    h, _ = make([U(50)], counter=Scripted(estimated=False))
    sel = h.select(1000)
    assert sel.estimated is False
    assert h.correct(sel, 80) is None and h.factor == 1.0


def test_overhead_only_report_is_ignored():
    h, _ = make([U(50)])
    sel = h.select(1000, overhead=20)
    assert h.correct(sel, 20) is None


# -- mark / rollback, clear, fork -----------------------------------------------------------------

def test_rollback_restores_messages_and_dropped():
    msgs = [S(5), U(10, "1"), A(10, "1"), U(10, "2"), A(10, "2")]
    h, counter = make(msgs)
    h.select(100)
    before_msgs, before_dropped = h.messages, h.dropped
    mark = h.mark()
    u3, at, t = U(10, "3"), AT(10, "c"), T(10, "c")
    h.append(u3)
    h.select(35)
    h.extend([at, t])
    h.select(45)
    assert h.dropped
    h.rollback(mark)
    assert h.messages == before_msgs and h.dropped == before_dropped
    assert h.token_count == 45
    # and it keeps working
    h.append(U(10, "x"))
    assert h.select(1000).messages == before_msgs + [h.messages[-1]]


def test_rollback_after_a_failed_select():
    h, _ = make([U(10), A(10)])
    mark = h.mark()
    h.append(U(500))
    with pytest.raises(ContextBudgetExceededError):
        h.select(100)
    h.rollback(mark)
    assert len(h) == 2 and h.dropped == []


def test_rollback_with_a_stale_mark():
    h, _ = make([U(10)])
    mark = h.mark()
    h.clear()
    with pytest.raises(ValidationError, match="mark"):
        h.rollback(mark)
    h2, _ = make([U(10), A(10), U(10)])
    m2 = h2.mark()
    h2.select(10)
    late = h2.mark()
    h2.rollback(m2)
    with pytest.raises(ValidationError):
        h2.rollback(late)


def test_clear():
    s = S(5)
    h, _ = make([s, U(10), A(10), U(10)])
    h.pin(1)
    h.select(25)
    f = h.correct(h.select(25), 30)
    h.clear(keep_system=True)
    assert h.messages == [s] and h.dropped == [] and h.pinned == []
    assert h.factor == f
    h.clear()
    assert h.messages == [] and len(h) == 0 and h.token_count == 0
    assert h.select(10).messages == []


def test_fork_is_independent():
    u1, a1, u2 = U(10, "1"), A(10, "1"), U(10, "2")
    h, _ = make([u1, a1, u2])
    h.select(20)
    b = h.fork()
    b.append(A(10, "b"))
    b.append(U(10, "b"))
    b.pin(0)
    b.select(25)
    assert h.messages == [u2] and h.pinned == [] and h.dropped == [u1, a1]
    assert b.messages[0] is u2 and b.pinned == [0]
    h.append(A(10, "main"))
    assert len(b) == 2 and b.messages[-1].text == "10:user b"
    assert b.counter is h.counter


# -- construction and validation -----------------------------------------------------------------

def test_constructed_from_saved_state():
    d1, d2 = U(10, "old"), A(10, "old")
    msgs = [S(5), U(10, "1"), A(10, "1"), U(10, "2")]
    h = History(Scripted(), msgs, dropped=[d1, d2], pinned=[1])
    assert h.dropped == [d1, d2] and h.pinned == [1]
    h.select(25)
    assert h.messages == [msgs[0], msgs[1], msgs[3]]
    assert h.dropped == [d1, d2, msgs[2]]


def test_starting_factor():
    h = History(Scripted(), [U(10)], factor=1.5)
    assert h.factor == 1.5 and h.token_count == 15
    for bad in (0.1, 5, "1", True, None):
        with pytest.raises(ValidationError, match="factor"):
            History(Scripted(), factor=bad)


def test_default_counter_is_the_default_estimate():
    h = History()
    assert h.counter.name == "estimate:default" and h.estimated is True
    h.append(user("hello"))
    assert h.token_count > 0
    assert "History 1 messages" in repr(h)


def test_bad_inputs():
    h = History(Scripted())
    with pytest.raises(ValidationError):
        h.append({"role": "user", "content": "hi"})
    with pytest.raises(ValidationError):
        History(object())
    with pytest.raises(ValidationError):
        h.select(10.5)
    with pytest.raises(ValidationError):
        h.select(True)
    with pytest.raises(ValidationError):
        h.select(10, overhead=-1)


@pytest.mark.parametrize("bad", [-1, "3", None, 2.5j, float("nan"), True])
def test_bad_counter_results(bad):
    class Bad:
        name, estimated = "bad", True

        def count(self, m):
            return bad

    h = History(Bad(), [U(1)])
    with pytest.raises(ValidationError, match="bad"):
        h.select(100)


def test_float_counts_are_rounded_up():
    h = History(FunctionCounter(lambda m: 2.2), [U(1), A(1)])
    assert h.token_count == 6


def test_selection_is_frozen():
    sel = History(Scripted(), [U(1)]).select()
    assert isinstance(sel, Selection)
    with pytest.raises(Exception):
        sel.tokens = 3


# -- differential test against a brute-force reference ------------------------------------------

def reference(messages, pinned_idx, budget, overhead, user_first, counts):
    """Straightforward O(n^2) statement of the rules, for the fuzzer to compare against."""
    n = len(messages)
    units = []  # (start, end)
    for i, m in enumerate(messages):
        if m.role in ("system", "developer"):
            continue
        if m.role == "tool" and units:
            continue
        units.append(i)
    bounds = [(s, units[j + 1] if j + 1 < len(units) else n) for j, s in enumerate(units)]
    kept = {i for i, m in enumerate(messages) if m.role in ("system", "developer")}
    users = [i for i in units if messages[i].role == "user"]

    def keep_unit(p):
        for s, e in bounds:
            if s <= p < e:
                kept.update(i for i in range(s, e) if messages[i].role not in ("system", "developer"))
                return s

    for p in pinned_idx:
        if messages[p].role in ("system", "developer"):
            continue
        start = keep_unit(p)
        before = [u for u in users if u <= start]
        if user_first and before:
            keep_unit(before[-1])  # the question of a pinned answer
    t = users[-1] if users else (units[-1] if units else n)

    def cost(c):
        return sum(counts[i] for i in range(n) if i in kept or i >= c)

    if budget is None or cost(0) + overhead <= budget:
        return list(range(n)), None
    if cost(t) + overhead > budget:
        return None, "error"
    cands = [c for c in (users if user_first else units) if 0 < c <= t] + [t]
    cut = next(c for c in cands if cost(c) + overhead <= budget)
    return [i for i in range(n) if i in kept or i >= cut], cut


roles = st.sampled_from(["system", "user", "user", "assistant", "assistant", "call", "tool"])


@st.composite
def conversations(draw):
    kinds = draw(st.lists(roles, min_size=0, max_size=25))
    msgs, open_ids, serial = [], [], 0
    for k in kinds:
        n = draw(st.integers(0, 30))
        if k == "system":
            msgs.append(system(f"{n}:s"))
        elif k == "user":
            msgs.append(user(f"{n}:u"))
        elif k == "assistant":
            msgs.append(assistant(f"{n}:a"))
        elif k == "call":
            ids = [f"c{serial + j}" for j in range(draw(st.integers(1, 3)))]
            serial += len(ids)
            msgs.append(assistant(f"{n}:calls", tool_calls=[ToolCall(i, "f", {}) for i in ids]))
            open_ids = list(ids)
            for i in list(open_ids):
                if draw(st.booleans()):
                    msgs.append(tool_result(i, f"{draw(st.integers(0, 30))}:r"))
        else:
            msgs.append(tool_result(open_ids[0] if open_ids else "orphan", f"{n}:r"))
    pins = draw(st.lists(st.integers(0, max(0, len(msgs) - 1)), max_size=3)) if msgs else []
    return msgs, sorted(set(pins))


def _tool_pairs_intact(original, sent):
    """No tool result whose assistant call was dropped; no call whose result was dropped."""
    sent_ids = {id(m) for m in sent}
    for i, m in enumerate(original):
        if m.role != "tool":
            continue
        j = i - 1
        while j >= 0 and original[j].role in ("tool", "system", "developer"):
            j -= 1
        if j >= 0 and original[j].tool_calls:
            assert (id(m) in sent_ids) == (id(original[j]) in sent_ids)


@settings(max_examples=500, deadline=None)
@given(conversations(), st.lists(st.tuples(st.one_of(st.integers(70, 105), st.integers(0, 120)), st.integers(0, 6)),
                                min_size=1, max_size=5),
       st.integers(0, 20), st.booleans(), st.integers(0, 25))
def test_matches_reference_and_keeps_invariants(conv, steps, overhead, user_first, first_chunk):
    """Append the conversation in chunks, selecting with a random budget after each chunk; every
    selection must equal the brute-force reference on the live messages, and keep the rules."""
    msgs, pins = conv
    counter = Scripted()
    counts = [counter.count(m) for m in msgs]
    pins = [p for p in pins if p < first_chunk]
    h = History(counter, msgs[:first_chunk], pinned=pins, user_first=user_first)
    pinned_positions = set(pins)
    appended = min(first_chunk, len(msgs))
    for percent, more in steps:
        h.extend(msgs[appended:appended + more])
        appended = min(appended + more, len(msgs))
        live_before = h.messages
        dropped_before = h.dropped
        idx = [next(i for i, x in enumerate(msgs) if x is m) for m in live_before]
        budget = (sum(counts[i] for i in idx) + overhead) * percent // 100  # a share of what is live
        sub = [msgs[i] for i in idx]
        sub_pins = [k for k, i in enumerate(idx) if i in pinned_positions]
        expect, cut = reference(sub, sub_pins, budget, overhead, user_first, [counts[i] for i in idx])
        if cut == "error":
            with pytest.raises(ContextBudgetExceededError) as info:
                h.select(budget, overhead=overhead)
            assert info.value.needed > budget and info.value.allowed == budget
            assert h.messages == live_before and h.dropped == dropped_before
            continue
        sel = h.select(budget, overhead=overhead)
        assert [id(m) for m in sel.messages] == [id(sub[i]) for i in expect]
        assert sel.tokens == sum(counts[idx[k]] for k in expect) + overhead
        assert sel.tokens <= budget
        assert h.token_count == sel.tokens - overhead
        # nothing lost, order kept: dropped + live is a rearrangement that keeps each in order
        assert sorted(id(m) for m in h.dropped + h.messages) == sorted(id(m) for m in dropped_before + live_before)
        assert [id(m) for m in h.dropped[:len(dropped_before)]] == [id(m) for m in dropped_before]
        assert [id(m) for m in h.dropped[len(dropped_before):]] == [id(m) for m in sel.dropped]
        order = {id(m): i for i, m in enumerate(msgs)}
        assert [order[id(m)] for m in h.dropped] == sorted(order[id(m)] for m in h.dropped)
        assert [order[id(m)] for m in sel.messages] == sorted(order[id(m)] for m in sel.messages)
        assert all(m.role in ("user", "assistant", "tool") for m in sel.dropped)
        _tool_pairs_intact(msgs[:appended], sel.messages)
        for i, m in enumerate(msgs[:appended]):
            if m.role == "system" or i in pinned_positions:
                assert any(x is m for x in sel.messages)
        users = [m for m in sub if m.role == "user"]
        if users:
            assert any(x is users[-1] for x in sel.messages)  # the newest user message is never dropped
        if user_first and cut is not None and users:
            assert sub[cut].role == "user"  # the conversation sent opens with a user turn


ops = st.lists(st.one_of(
    st.tuples(st.just("append"), st.integers(1, 5)),
    st.tuples(st.just("pin"), st.integers(0, 40)),
    st.tuples(st.just("unpin"), st.integers(0, 40)),
    st.tuples(st.just("select"), st.one_of(st.integers(70, 105), st.integers(0, 120))),
), min_size=1, max_size=14)


@settings(max_examples=400, deadline=None)
@given(conversations(), ops, st.integers(0, 10), st.booleans())
def test_pins_unpins_appends_and_selects_against_the_reference(conv, steps, overhead, user_first):
    msgs, _ = conv
    counter = Scripted()
    count = {id(m): counter.count(m) for m in msgs}
    order = {id(m): i for i, m in enumerate(msgs)}
    h = History(counter, user_first=user_first)
    appended = 0
    for op, arg in steps:
        if op == "append":
            h.extend(msgs[appended:appended + arg])
            appended = min(len(msgs), appended + arg)
        elif op in ("pin", "unpin") and len(h):
            getattr(h, op)(arg % len(h))
        elif op == "select":
            live = h.messages
            budget = (sum(count[id(m)] for m in live) + overhead) * arg // 100
            expect, cut = reference(live, h.pinned, budget, overhead, user_first, [count[id(m)] for m in live])
            if cut == "error":
                with pytest.raises(ContextBudgetExceededError):
                    h.select(budget, overhead=overhead)
                assert h.messages == live
            else:
                sel = h.select(budget, overhead=overhead)
                assert [id(m) for m in sel.messages] == [id(live[i]) for i in expect]
                assert sel.tokens == sum(count[id(live[i])] for i in expect) + overhead
        # always: nothing lost, everything in conversation order, pins live
        assert sorted(order[id(m)] for m in h.dropped + h.messages) == list(range(appended))
        assert [order[id(m)] for m in h.dropped] == sorted(order[id(m)] for m in h.dropped)
        assert [order[id(m)] for m in h.messages] == sorted(order[id(m)] for m in h.messages)
        assert all(0 <= i < len(h) for i in h.pinned)
        assert h.token_count == sum(count[id(m)] for m in h.messages)
