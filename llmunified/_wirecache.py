"""Request bodies that reuse the encoding of a conversation's older messages (sans-IO).

A chat session sends its whole history on every turn, and encoding every message to the
provider's wire form and then to JSON is most of what preparing such a request costs. A codec's
``encode_messages`` runs through a :class:`Conversation`: when the same conversation was encoded
before (the same codec, the same first message), and the messages that encoding covered still
hold what they held then, their wire entries and their JSON text are reused and only the
messages after them are encoded. ``encode_messages`` returns a :class:`WireMessages`: the same
list as always, that also knows the JSON text of its entries; :func:`encode_body` writes a
request body holding one exactly as the plain encoding would, byte for byte, with that text
spliced in.

Messages and parts are mutable, so before anything is reused the covered messages are checked:
each one's ``content``, ``role`` and ``name`` must be the very objects they were (strings are
immutable: the same object is the same text), each list of parts must hold the same parts, and
each part's attributes must equal a deep copy taken at the time (tool-call arguments and
tool-result content are dicts that can be edited in place). An edit in place that leaves a value
equal under ``==`` (``1`` to ``1.0`` or ``True``, a dict's keys reordered) is not noticed; any
other edit means a fresh encoding. The check costs a few C-level passes over the messages: a
fraction of encoding them.

What is kept for a conversation (its wire entries, which share the message texts, and their
JSON text) lives as long as its first message, in a table outside the messages: they are not
changed in any way. A conversation is only kept once it is seen to grow: an encoding that
cannot resume one kept before only notes which messages it had, and the next is kept if it
starts with those. So one-off requests, and conversations truncated at the front on every
turn, pay almost nothing for this.
"""
from __future__ import annotations
import copy
import threading
import weakref
from itertools import chain, islice
from operator import attrgetter, eq, is_
from typing import Any, Dict, Iterable, List, Optional, Tuple

from . import _json
from ._json import WireMessages, encode_body, encode_json
from ._types import Message

__all__ = ["WireMessages", "Conversation", "encode_body", "encode_json"]


# What is kept per conversation, by its first message: id(message) -> (a weak reference to it,
# {codec key: [_Memo, ...], codec key + "?": the ids of the messages of a first encoding}).
# Nothing here refers to a conversation's first message, so it goes when the message does.
_kept: Dict[int, Tuple["weakref.ref[Message]", Dict[str, Any]]] = {}
_MEMOS_KEPT = 2  # conversations sharing a first message (a fork) each keep theirs
_PIECES_KEPT = 32  # pieces of a memo's entries and JSON text before they are joined into one

_CONTENT = attrgetter("content")
_ROLE = attrgetter("role")
_NAME = attrgetter("name")
_IMMUTABLE = frozenset((str, int, float, bool, type(None), bytes))
_lock = threading.Lock()


def _snapshot(value: Any) -> Any:
    """A copy of ``value`` that later edits of ``value`` do not reach."""
    cls = value.__class__
    if cls in _IMMUTABLE:
        return value
    if cls is dict:
        return {k: _snapshot(v) for k, v in value.items()}
    if cls is list:
        return [_snapshot(v) for v in value]
    if cls is tuple:
        return tuple(_snapshot(v) for v in value)
    return copy.deepcopy(value)


class _Chunk:
    """The JSON text of some wire entries, joined by ``,`` (UTF-8, without brackets), made when
    first needed: from the entries, or by joining other chunks."""

    __slots__ = ("_entries", "_chunks", "_data")

    def __init__(self, entries: Optional[List[Dict[str, Any]]] = None,
                 chunks: Optional[List["_Chunk"]] = None) -> None:
        self._entries = entries
        self._chunks = chunks
        self._data: Any = None

    def data(self) -> Any:
        """bytes, or a memoryview of them (both join)."""
        data = self._data
        if data is None:
            if self._chunks is not None:
                data = b",".join([d for d in (c.data() for c in self._chunks) if d])
            else:
                data = memoryview(encode_json(self._entries).encode())[1:-1]  # "[...]": the inside
            self._data = data
            self._entries = self._chunks = None
        return data


class _Held:
    """What a chain of memos' messages held, in lists the chain shares: a memo reads only its
    first items, so a memo grown from another appends in place unless one already did (then,
    a fork, it copies)."""

    __slots__ = ("contents", "roles", "names", "deep", "lens", "parts", "snaps")

    def __init__(self) -> None:
        # each message's content, role and name: the objects (a pointer comparison tells)
        self.contents: List[Any] = []
        self.roles: List[Any] = []
        self.names: List[Any] = []
        self.deep: List[int] = []  # positions of the messages whose content is not a str
        self.lens: List[int] = []  # how many parts each of those has
        self.parts: List[Any] = []  # their parts, flat
        self.snaps: List[Dict[str, Any]] = []  # a deep copy of each part's attributes

    def copy(self, messages: int, deep: int, parts: int) -> "_Held":
        out = _Held()
        out.contents, out.roles, out.names = self.contents[:messages], self.roles[:messages], self.names[:messages]
        out.deep, out.lens = self.deep[:deep], self.lens[:deep]
        out.parts, out.snaps = self.parts[:parts], self.snaps[:parts]
        return out

    @classmethod
    def of(cls, messages: List[Message], start: int) -> "_Held":
        """What ``messages`` (at positions ``start`` on) hold."""
        out = cls()
        out.contents = contents = list(map(_CONTENT, messages))
        out.roles = list(map(_ROLE, messages))
        out.names = list(map(_NAME, messages))
        for i, content in enumerate(contents, start):
            if content.__class__ is not str:
                parts = list(content)
                out.deep.append(i)
                out.lens.append(len(parts))
                out.parts.extend(parts)
                out.snaps.extend({k: _snapshot(v) for k, v in vars(p).items()} for p in parts)
        return out

    def extend(self, other: "_Held") -> None:
        self.contents.extend(other.contents)
        self.roles.extend(other.roles)
        self.names.extend(other.names)
        self.deep.extend(other.deep)
        self.lens.extend(other.lens)
        self.parts.extend(other.parts)
        self.snaps.extend(other.snaps)


class _Memo:
    """The encoding of a conversation's first ``closed`` messages, what they held, and the
    codec's state after them."""

    __slots__ = ("closed", "held", "deep", "parts", "view", "chunks", "state")

    def __init__(self, closed: int, held: _Held, view: List[List[Dict[str, Any]]], chunks: List[_Chunk],
                 state: Any) -> None:
        self.closed = closed
        self.held = held
        self.deep = len(held.deep)  # how many of the shared lists' items are this memo's
        self.parts = len(held.parts)
        self.view = view  # the wire entries, in pieces
        self.chunks = chunks  # their JSON text, in pieces
        self.state = state

    def holds(self, messages: List[Message], names: bool) -> bool:
        """Do the first ``closed`` messages still hold what they held? (See the module
        docstring; ``names``: the codec sends ``Message.name``.) C-level passes, stopping at the
        first difference."""
        closed = self.closed
        if len(messages) < closed:
            return False
        held = self.held
        contents: Iterable[Any] = held.contents
        roles: Iterable[Any] = held.roles
        names_: Iterable[Any] = held.names
        if len(held.contents) != closed:  # a memo grew from this one: only the first items are its
            contents, roles, names_ = islice(contents, closed), islice(roles, closed), islice(names_, closed)
        if not (all(map(is_, map(_CONTENT, messages), contents)) and all(map(is_, map(_ROLE, messages), roles))
                and (not names or all(map(is_, map(_NAME, messages), names_)))):
            return False
        deep = self.deep
        if deep:
            parts = self.parts
            positions: Iterable[int] = held.deep
            lens: Iterable[int] = held.lens
            held_parts: List[Any] = held.parts
            snaps: Iterable[Dict[str, Any]] = held.snaps
            if len(held.deep) != deep or len(held.parts) != parts:
                positions, lens = islice(positions, deep), islice(lens, deep)
                held_parts, snaps = held_parts[:parts], islice(snaps, parts)
            lists = list(map(_CONTENT, map(messages.__getitem__, positions)))
            if not all(map(eq, map(len, lists), lens)):
                return False
            if not all(map(is_, chain.from_iterable(lists), held_parts)):  # the same parts, in order
                return False
            if not all(map(eq, map(vars, held_parts), snaps)):
                return False
        return True


def _keep(first: Message) -> Dict[str, Any]:
    key = id(first)

    def forget(ref: "weakref.ref[Message]") -> None:
        if _kept.get(key, (None,))[0] is ref:
            del _kept[key]

    store: Dict[str, Any] = {}
    _kept[key] = (weakref.ref(first, forget), store)
    return store


class Conversation:
    """One encoding of ``messages`` by the codec named ``key``, resuming from an earlier
    encoding of the same conversation when the messages it covered still hold what they held.

    ``names=False``: the codec never sends ``Message.name`` (a changed name needs no new
    encoding). The codec encodes :meth:`pending` (``messages[start:]``) from ``state`` (None when
    starting from scratch), :meth:`add`-ing each message's wire entries in order; calls
    :meth:`close` once the entries so far will not change when messages are appended, with its
    state at that point (which it must not modify later); may add more (an open end, encoded
    again next time); and returns :meth:`result`. A codec that finds the kept encoding does not
    fit what follows it calls :meth:`restart` first."""

    def __init__(self, messages: List[Message], key: str, *, names: bool = True) -> None:
        self.messages = messages
        self.key = key
        self.start = 0
        self.state: Any = None
        self._memo: Optional[_Memo] = None
        self._again = False  # encoded before: remember this encoding
        self._store: Optional[Dict[str, Any]] = None
        self._fresh: List[Dict[str, Any]] = []  # the entries added
        self._closed: Optional[tuple] = None  # (messages, entries, state) at close()
        self._plain = len(messages) < _json.MIN_MESSAGES
        if self._plain:
            return
        first = messages[0]
        kept = _kept.get(id(first))
        if kept is None or kept[0]() is not first:
            return
        store = self._store = kept[1]
        memos = store.get(key)
        if memos:
            for memo in memos:
                try:
                    holds = memo.holds(messages, names)
                except Exception:  # something unexpected in a message: encode afresh
                    holds = False
                if holds:
                    self._memo = memo
                    self.start = memo.closed
                    self.state = memo.state
                    return
        # Not resumable (new, edited, or its older messages dropped by truncation): keep this
        # encoding only if the last one that was not resumed is a prefix of it, i.e. the
        # conversation grows by appending. (Ids can be reused: at worst it is kept for nothing.)
        seen = store.get(key + "?")
        if seen is not None and len(seen) <= len(messages) and all(map(eq, map(id, messages), seen)):
            self._again = True

    def restart(self) -> None:
        """Encode everything after all (the codec found the kept encoding does not fit what
        follows it, e.g. a message that would have joined its last turn)."""
        self._memo = None
        self.start = 0
        self.state = None

    def pending(self) -> List[Message]:
        """The messages to encode: those after what is reused."""
        return self.messages[self.start:] if self.start else self.messages

    def add(self, entries: List[Dict[str, Any]]) -> None:
        self._fresh.extend(entries)

    def close(self, end: int, state: Any) -> None:
        """``messages[:end]`` are encoded for good: their entries are the ones added so far."""
        self._closed = (end, len(self._fresh), state)

    def result(self) -> List[Dict[str, Any]]:
        if self._plain:
            return self._fresh
        out = WireMessages()
        memo = self._memo
        view: List[List[Dict[str, Any]]] = memo.view if memo is not None else []
        chunks: List[_Chunk] = memo.chunks if memo is not None else []
        for piece in view:
            out.extend(piece)
        fresh = self._fresh
        out.extend(fresh)
        out._entries = len(out)
        if self._closed is None or not self.messages:
            out._chunks = chunks + [_Chunk(fresh)]
            return out
        end, entries, state = self._closed
        closed = fresh[:entries] if entries < len(fresh) else fresh
        closed_chunk = _Chunk(closed)
        out._chunks = chunks + [closed_chunk]
        if entries < len(fresh):
            out._chunks.append(_Chunk(fresh[entries:]))
        if end > self.start:
            try:
                self._remember(end, closed, closed_chunk, state)
            except Exception:  # an attribute that cannot be copied: this conversation is not kept
                pass
        return out

    def _remember(self, end: int, closed: List[Dict[str, Any]], chunk: _Chunk, state: Any) -> None:
        messages = self.messages
        old = self._memo
        store = self._store
        if store is None:
            store = self._store = _keep(messages[0])
        if not self._again and old is None:  # only note the messages, to know the conversation if it grows
            store[self.key + "?"] = list(map(id, islice(messages, end)))
            return
        window = messages[self.start:end] if self.start or end < len(messages) else messages
        added = _Held.of(window, self.start)  # may fail (a value deepcopy refuses): nothing shared is touched yet
        with _lock:
            if old is None:
                held = added
            else:
                mine = (old.closed, old.deep, old.parts)
                if (len(old.held.contents), len(old.held.deep), len(old.held.parts)) == mine:
                    held = old.held  # nothing grew from old yet: grow its lists in place
                else:  # a fork: another memo already grew from old
                    held = old.held.copy(old.closed, old.deep, old.parts)
                held.extend(added)
            view = (old.view if old is not None else []) + ([closed] if closed else [])
            if len(view) > _PIECES_KEPT:
                view = [list(chain.from_iterable(view))]
            chunks = (old.chunks if old is not None else []) + [chunk]
            if len(chunks) > _PIECES_KEPT:
                chunks = [_Chunk(chunks=chunks)]
            memo = _Memo(end, held, view, chunks, state)
            kept = [m for m in store.get(self.key) or () if m is not old]
            store[self.key] = [memo] + kept[:_MEMOS_KEPT - 1]
