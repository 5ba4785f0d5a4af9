"""Conversation history with cached token counts and truncation to a token budget (sans-IO).

:class:`History` is the decision half of ``ChatSession``: it holds the messages, counts each
one once, and decides what to send before each call. The rules of :meth:`History.select`:

1. System and developer messages are always kept.
2. Pinned messages are always kept. Pinning a message pins its whole unit (see 4) and, with
   ``user_first``, keeps the user message that opened its turn, so a pinned answer is never
   sent without its question (unless that question was dropped before the pin).
3. Everything from the newest user message to the end (the turn in progress, including the tool
   calls and results of a running tool loop) is always kept. If that, with 1 and 2, does not fit,
   :class:`ContextBudgetExceededError` is raised and nothing changes.
4. The other messages form atomic units: a user message; an assistant message that called
   tools together with the tool messages answering it; a plain assistant message. A tool message
   joins the unit before it, so no tool result is ever sent without its call or a call without
   its results.
5. The oldest units are dropped first, until the rest fits. With ``user_first=True`` (the
   default) the cut only falls before a user message, so the conversation sent never opens
   with an assistant turn: Anthropic rejects that ("messages: first message must use the
   "user" role"), and a reply without its question misleads every model.
6. Dropped messages move to :attr:`History.dropped`, in conversation order; the remaining
   messages keep their order. Dropping is permanent (a later, larger budget does not bring
   them back), so repeated selections are stable.

Cost: each message is counted once, when a selection (or ``token_count``) first needs it.
Prefix sums of the counts make the fit test O(1) and the choice of the cut a binary search, and
the cut only moves forward, so appending k messages and selecting again costs O(k) amortised
counter work plus O(log n) (building the list sent copies references, a C-level slice).

Counts are cached by position: the History assumes its messages are not edited in place.
After an in-place edit call :meth:`History.invalidate`.
"""
from __future__ import annotations
import math
from bisect import bisect_left, bisect_right
from ._dc import dataclass, field
from typing import Any, Dict, Iterable, Iterator, List, Optional, Union

from ._types import Message
from .errors import ContextBudgetExceededError, ContextWindowExceededError, ValidationError  # noqa: F401

__all__ = ["History", "Selection", "Mark", "ContextBudgetExceededError", "MIN_FACTOR", "MAX_FACTOR"]

# Bounds on the correction factor (reported / estimated). A report outside them says more
# about the report than about our estimate: Ollama omits or undercounts prompt_eval_count when
# its KV cache served the prompt (ollama/ollama#2068, #3427), and a server that truncated the
# prompt to its own context reports what it kept.
MIN_FACTOR = 0.5
MAX_FACTOR = 3.0

_KEEP_SYSTEM = 1
_KEEP_PINNED = 2
_KEEP_ANCHOR = 3  # the user message opening the turn of a pinned assistant unit (user_first)
_SYSTEM_ROLES = ("system", "developer")


@dataclass(frozen=True)
class Selection:
    """What :meth:`History.select` decided for one call.

    ``messages``  the messages to send, in conversation order
    ``dropped``   the messages this selection dropped (now also in ``History.dropped``)
    ``tokens``    estimated prompt tokens: the messages (corrected by reported usage) + overhead
    ``estimated`` whether ``tokens`` is an estimate (the counter's label)
    ``budget``    the budget it was selected for (None: no truncation)
    ``overhead``  tokens reserved besides the messages (tool definitions, reply priming)
    ``raw_tokens`` the counter's own total for ``messages`` (before correction)
    """

    messages: List[Message]
    dropped: List[Message]
    tokens: int
    estimated: bool
    budget: Optional[int] = None
    overhead: int = 0
    raw_tokens: int = field(default=0, repr=False)


@dataclass(frozen=True)
class Mark:
    """A point to :meth:`History.rollback` to (taken by :meth:`History.mark`)."""

    length: int
    cut: int
    epoch: int


def _ceil(x: float) -> int:
    return int(math.ceil(x - 1e-9))


class History:
    """Messages of one conversation, their token counts, and truncation to a budget.

    ``counter`` is a :class:`~llmunified._tokens.TokenCounter` (default: the ``"default"``
    estimate). ``messages`` are appended in order; ``dropped`` are earlier-dropped messages
    (e.g. from a saved session); ``pinned`` are indices into ``messages`` to pin; ``factor`` is a
    correction factor to start from (e.g. :attr:`factor` saved with the session, for the same
    counter); ``user_first`` see rule 5.
    """

    def __init__(self, counter: Any = None, messages: Iterable[Message] = (), *,
                 dropped: Iterable[Message] = (), pinned: Iterable[int] = (), user_first: bool = True,
                 factor: float = 1.0) -> None:
        if counter is None:
            from ._tokens import EstimateCounter
            counter = EstimateCounter("default")
        if not callable(getattr(counter, "count", None)):
            raise ValidationError(f"counter must have count(message) -> int, got {type(counter).__name__}")
        if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not (
                MIN_FACTOR <= factor <= MAX_FACTOR):
            raise ValidationError(f"factor must be a number between {MIN_FACTOR} and {MAX_FACTOR}, got {factor!r}")
        self._counter = counter
        self.user_first = bool(user_first)
        self._factor = float(factor)
        self._epoch = 0
        self._reset()
        for m in dropped:
            self._check(m)
            self._dropped.append(m)
            self._dropped_pos.append(-1)  # before everything
        self.extend(messages)
        for i in pinned:
            self.pin(i)

    def _reset(self) -> None:
        self._log: List[Message] = []
        self._flag = bytearray()
        self._counts: List[int] = []
        self._pd: List[int] = [0]  # prefix sums of droppable counts, by position
        self._pk: List[int] = [0]  # prefix sums of kept (system / pinned) counts
        self._unit_starts: List[int] = []
        self._user_starts: List[int] = []
        self._cut = 0  # positions before the cut are kept (system / pinned) or dropped
        self._head: List[int] = []  # kept positions before the cut
        self._dropped: List[Message] = []
        self._dropped_pos: List[int] = []

    # -- reading -----------------------------------------------------------------------------
    @property
    def counter(self) -> Any:
        return self._counter

    @property
    def estimated(self) -> bool:
        """Whether counts are estimates (then :meth:`correct` rescales them)."""
        return bool(self._counter.estimated)

    @property
    def factor(self) -> float:
        """The correction factor from reported usage (1.0 until :meth:`correct` applies one)."""
        return self._factor

    @property
    def messages(self) -> List[Message]:
        """The live messages (not dropped), in conversation order. A new list each time."""
        log = self._log
        return [log[p] for p in self._head] + log[self._cut:]

    @property
    def dropped(self) -> List[Message]:
        """Messages dropped by truncation, in conversation order. A new list each time."""
        return list(self._dropped)

    @property
    def pinned(self) -> List[int]:
        """Indices (into :attr:`messages`) of the pinned messages."""
        flag = self._flag
        live = self._head + list(range(self._cut, len(self._log)))
        return [i for i, p in enumerate(live) if flag[p] == _KEEP_PINNED]

    def __len__(self) -> int:
        return len(self._head) + len(self._log) - self._cut

    def __iter__(self) -> Iterator[Message]:
        return iter(self.messages)

    def __getitem__(self, index: int) -> Message:
        return self._log[self._position(index)]

    def __repr__(self) -> str:
        return (f"<History {len(self)} messages, {len(self._dropped)} dropped, "
                f"counter={getattr(self._counter, 'name', self._counter)!r}>")

    @property
    def token_count(self) -> int:
        """Tokens of the live messages: the counter's figures times the correction factor."""
        self._sync()
        n = len(self._log)
        return _ceil((self._pk[n] + self._pd[n] - self._pd[self._cut]) * self._factor)

    def message_tokens(self, index: int) -> int:
        """Tokens of one live message (corrected)."""
        p = self._position(index)
        self._sync()
        return _ceil(self._counts[p] * self._factor)

    # -- appending ---------------------------------------------------------------------------
    @staticmethod
    def _check(message: Any) -> None:
        if not isinstance(message, Message):
            raise ValidationError(f"History holds Message objects, got {type(message).__name__}")

    def append(self, message: Message) -> None:
        """Add a message at the end. O(1): it is counted when first needed."""
        self._check(message)
        p = len(self._log)
        role = message.role
        flag = 0
        if role in _SYSTEM_ROLES:
            flag = _KEEP_SYSTEM
        elif role == "tool" and self._unit_starts:
            # A tool result belongs to the assistant turn that called it (rule 4); it shares
            # that unit's pin.
            flag = self._flag[self._unit_starts[-1]]
        else:
            self._unit_starts.append(p)
            if role == "user":
                self._user_starts.append(p)
        self._log.append(message)
        self._flag.append(flag)

    def extend(self, messages: Iterable[Message]) -> None:
        for m in messages:
            self.append(m)

    # -- pinning -----------------------------------------------------------------------------
    def _position(self, index: Any) -> int:
        if isinstance(index, bool) or not isinstance(index, int):
            raise ValidationError(f"expected a message index (int), got {type(index).__name__}")
        h = len(self._head)
        size = h + len(self._log) - self._cut
        i = index + size if index < 0 else index
        if not 0 <= i < size:
            raise ValidationError(f"no message at index {index}: the history has {size} messages")
        return self._head[i] if i < h else self._cut + i - h

    def _find(self, target: Union[int, Message]) -> int:
        if not isinstance(target, Message):
            return self._position(target)
        log = self._log
        for p in self._head:
            if log[p] is target:
                return p
        for p in range(self._cut, len(log)):
            if log[p] is target:
                return p
        if any(m is target for m in self._dropped):
            raise ValidationError("that message was dropped by truncation; it is in History.dropped")
        raise ValidationError("that message is not in this history (messages are matched by identity)")

    def _unit(self, p: int) -> range:
        starts = self._unit_starts
        i = bisect_right(starts, p) - 1
        if i < 0:
            return range(p, p + 1)
        end = starts[i + 1] if i + 1 < len(starts) else len(self._log)
        return range(starts[i], end)

    def _invalidate_from(self, p: int) -> None:
        if len(self._pd) > p + 1:
            del self._pd[p + 1:]
            del self._pk[p + 1:]

    def pin(self, target: Union[int, Message]) -> None:
        """Always keep this message (an index into :attr:`messages`, or the message itself).

        Pinning a message pins its unit: an assistant message with tool calls and the tool
        results answering it are kept together. With ``user_first`` the user message that
        opened the pinned unit's turn is kept too (while it is still there), so a pinned answer
        never opens the conversation without its question. System messages are kept anyway.
        """
        p = self._find(target)
        flag = self._flag
        if flag[p] == _KEEP_SYSTEM:
            return
        unit = self._unit(p)
        self._set(unit, (0, _KEEP_ANCHOR), _KEEP_PINNED)
        if self.user_first:
            self._refresh_anchor(unit.start)
        self._invalidate_from(unit.start)

    def unpin(self, target: Union[int, Message]) -> None:
        """Let a pinned message (and its unit) be dropped again.

        A unit older than the current truncation point would already have gone had it not been
        pinned, so it moves to :attr:`dropped` at once (in its conversation-order place).
        """
        p = self._find(target)
        if self._flag[p] != _KEEP_PINNED:
            return
        unit = self._unit(p)
        self._set(unit, (_KEEP_PINNED,), 0)
        if self.user_first:
            self._refresh_anchor(unit.start)
        self._invalidate_from(unit.start)
        self._bury()

    def is_pinned(self, target: Union[int, Message]) -> bool:
        return self._flag[self._find(target)] == _KEEP_PINNED

    def _set(self, positions: range, old: tuple, new: int) -> None:
        flag = self._flag
        for q in positions:
            if flag[q] in old:
                flag[q] = new

    def _refresh_anchor(self, start: int) -> None:
        """Keep (or release) the user message that opens the turn containing ``start``."""
        users = self._user_starts
        i = bisect_right(users, start) - 1
        if i < 0:
            return
        u = users[i]
        flag = self._flag
        if u < self._cut and flag[u] == 0:
            return  # already dropped: it cannot come back
        question = self._unit(u)
        turn_end = users[i + 1] if i + 1 < len(users) else len(self._log)
        needed = any(flag[q] == _KEEP_PINNED for q in range(question.stop, turn_end))
        if needed:
            self._set(question, (0,), _KEEP_ANCHOR)
        else:
            self._set(question, (_KEEP_ANCHOR,), 0)
        self._invalidate_from(u)

    def _bury(self) -> None:
        """Kept positions before the cut that are no longer kept move to ``dropped``."""
        flag = self._flag
        gone = [q for q in self._head if not flag[q]]
        if not gone:
            return
        self._head = [q for q in self._head if flag[q]]
        for q in gone:
            i = bisect_right(self._dropped_pos, q)
            self._dropped_pos.insert(i, q)
            self._dropped.insert(i, self._log[q])

    # -- counting ----------------------------------------------------------------------------
    def _sync(self) -> None:
        """Count new messages and extend the prefix sums (O(new) work)."""
        log = self._log
        n = len(log)
        counts = self._counts
        if len(counts) < n:
            count = self._counter.count
            for p in range(len(counts), n):
                c = count(log[p])
                if c.__class__ is not int or c < 0:
                    c = _checked_count(c, self._counter)
                counts.append(c)
        pd, pk = self._pd, self._pk
        v = len(pd) - 1
        if v < n:
            d, k = pd[v], pk[v]
            flag = self._flag
            for p in range(v, n):
                if flag[p]:
                    k += counts[p]
                else:
                    d += counts[p]
                pd.append(d)
                pk.append(k)

    def invalidate(self, index: Optional[int] = None) -> None:
        """Recount one live message (after editing it in place), or every message."""
        if index is None:
            self._counts = []
            self._invalidate_from(0)
            return
        p = self._position(index)
        self._sync()
        c = self._counter.count(self._log[p])
        self._counts[p] = c if c.__class__ is int and c >= 0 else _checked_count(c, self._counter)
        self._invalidate_from(p)

    # -- selecting ---------------------------------------------------------------------------
    def select(self, budget: Optional[int] = None, *, overhead: int = 0) -> Selection:
        """Choose the messages to send so that they and ``overhead`` fit ``budget`` tokens.

        ``budget`` is ``max_context_tokens - reserve_tokens`` (None: send everything).
        ``overhead`` is what the request costs besides the messages (see
        ``llmunified._tokens.prompt_overhead``). Drops the oldest units as the module docstring
        says, moving them to :attr:`dropped`; raises :class:`ContextBudgetExceededError`, with
        nothing changed, when the newest turn cannot fit.
        """
        if budget is not None and (isinstance(budget, bool) or not isinstance(budget, int)):
            raise ValidationError(f"budget must be an int number of tokens or None, got {budget!r}")
        if isinstance(overhead, bool) or not isinstance(overhead, int) or overhead < 0:
            raise ValidationError(f"overhead must be a non-negative int, got {overhead!r}")
        self._sync()
        log, pd = self._log, self._pd
        n = len(log)
        cut = self._cut
        f = self._factor
        base = self._pk[n] + pd[n]  # cost(s) = base - pd[s]: kept + droppable from s on
        s = cut
        if budget is not None:
            avail = budget - overhead
            if (base - pd[cut]) * f > avail + 1e-9:
                s = self._cut_for(avail, base, f, budget, overhead)
        dropped_now: List[Message] = []
        if s > cut:
            flag, head = self._flag, self._head
            for p in range(cut, s):
                if flag[p]:
                    head.append(p)
                else:
                    dropped_now.append(log[p])
                    self._dropped_pos.append(p)
            self._dropped.extend(dropped_now)
            self._cut = s
        raw = base - pd[s]
        sent = [log[p] for p in self._head] + log[s:]
        return Selection(sent, dropped_now, _ceil(raw * f) + overhead, self.estimated, budget, overhead, raw)

    def _tail_start(self) -> int:
        if self._user_starts:
            t = self._user_starts[-1]
        elif self._unit_starts:
            t = self._unit_starts[-1]
        else:
            t = len(self._log)
        return max(t, self._cut)

    def _cut_for(self, avail: int, base: int, f: float, budget: int, overhead: int) -> int:
        pd = self._pd
        t = self._tail_start()
        if (base - pd[t]) * f > avail + 1e-9:
            n = len(self._log)
            kept = _ceil(self._pk[n] * f)
            turn = _ceil((pd[n] - pd[t]) * f)
            needed = _ceil((base - pd[t]) * f) + overhead
            approx = "about " if self.estimated else ""
            raise ContextBudgetExceededError(
                f"the newest message does not fit the context budget: it needs {approx}{needed:,} tokens "
                f"(system and pinned messages {kept:,}, newest turn {turn:,}, tool definitions and framing "
                f"{overhead:,}) but the budget is {budget:,} (max_context_tokens - reserve_tokens); nothing "
                "was sent. Shorten the message, unpin messages, or raise max_context_tokens.",
                needed=needed, allowed=budget, estimated=self.estimated,
                breakdown={"kept": kept, "turn": turn, "overhead": overhead})
        cands = self._user_starts if self.user_first else self._unit_starts
        lo = bisect_right(cands, self._cut)
        hi = bisect_right(cands, t)
        # cost is non-increasing in the cut position: find the first candidate that fits.
        while lo < hi:
            mid = (lo + hi) // 2
            if (base - pd[cands[mid]]) * f > avail + 1e-9:
                lo = mid + 1
            else:
                hi = mid
        if lo < len(cands) and cands[lo] <= t:
            return cands[lo]
        return t

    # -- correcting --------------------------------------------------------------------------
    def correct(self, selection: Selection, reported_input_tokens: Any) -> Optional[float]:
        """Calibrate the estimate from the provider's reported input tokens for ``selection``.

        Only for estimating counters. The factor ``(reported - overhead) / raw_tokens`` becomes
        the History's single correction factor: it makes the estimate for the messages that
        selection covered equal to what the provider counted, and carries over to messages added
        later (same tokenizer, same kind of text). One running factor, not per-message figures,
        keeps the prefix sums valid, so a correction is O(1). Returns the factor applied, or None
        when the report was ignored (not an estimate; no usable report; outside
        [MIN_FACTOR, MAX_FACTOR], e.g. a cache-shortened Ollama count).
        """
        if not self.estimated:
            return None
        if isinstance(reported_input_tokens, bool) or not isinstance(reported_input_tokens, int):
            return None
        covered = reported_input_tokens - selection.overhead
        if covered <= 0 or selection.raw_tokens <= 0:
            return None
        factor = covered / selection.raw_tokens
        if not MIN_FACTOR <= factor <= MAX_FACTOR:
            return None
        self._factor = factor
        return factor

    # -- undo, clear, fork -------------------------------------------------------------------
    def mark(self) -> Mark:
        """Remember the current state; :meth:`rollback` returns to it."""
        return Mark(len(self._log), self._cut, self._epoch)

    def rollback(self, mark: Mark) -> None:
        """Undo the appends and drops made since ``mark`` (a failed send leaves no trace).

        Pins changed since the mark stay as they are; the correction factor is kept (it is
        knowledge about the tokenizer, not about this exchange).
        """
        if mark.epoch != self._epoch or mark.length > len(self._log) or mark.cut > self._cut:
            raise ValidationError("this mark does not belong to the history as it is now "
                                  "(it was cleared or rolled back past the mark)")
        n0 = mark.length
        del self._log[n0:]
        del self._flag[n0:]
        del self._counts[n0:]
        self._invalidate_from(n0)
        del self._unit_starts[bisect_left(self._unit_starts, n0):]
        del self._user_starts[bisect_left(self._user_starts, n0):]
        i = bisect_left(self._dropped_pos, mark.cut)
        del self._dropped[i:]
        del self._dropped_pos[i:]
        del self._head[bisect_left(self._head, mark.cut):]
        self._cut = mark.cut

    def clear(self, *, keep_system: bool = False) -> None:
        """Forget every message, dropped ones and pins included (``keep_system``: keep the live
        system/developer messages). The correction factor is kept."""
        system = [m for m in self.messages if m.role in _SYSTEM_ROLES] if keep_system else []
        self._epoch += 1
        self._reset()
        self.extend(system)

    def fork(self) -> "History":
        """An independent copy to branch the conversation: lists are copied, the Message
        objects (not edited in place, see the module docstring) and the counter are shared."""
        new = History.__new__(History)
        new._counter = self._counter
        new.user_first = self.user_first
        new._factor = self._factor
        new._epoch = self._epoch
        new._log = list(self._log)
        new._flag = bytearray(self._flag)
        new._counts = list(self._counts)
        new._pd = list(self._pd)
        new._pk = list(self._pk)
        new._unit_starts = list(self._unit_starts)
        new._user_starts = list(self._user_starts)
        new._cut = self._cut
        new._head = list(self._head)
        new._dropped = list(self._dropped)
        new._dropped_pos = list(self._dropped_pos)
        return new


def _checked_count(value: Any, counter: Any) -> int:
    name = getattr(counter, "name", type(counter).__name__)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or value < 0 \
            or value == float("inf"):
        raise ValidationError(f"token counter {name} returned {value!r}; it must return an int >= 0")
    return int(math.ceil(value))
