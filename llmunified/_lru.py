"""A small thread-safe LRU map (sans-IO utility): the schema, rewrite and output-spec caches."""
from __future__ import annotations
import threading
from collections import OrderedDict
from typing import Generic, Hashable, Optional, TypeVar

__all__ = ["LRU"]

V = TypeVar("V")


class LRU(Generic[V]):
    """A bounded map that forgets the least recently used entry first.

    Values are computed outside the lock by the caller (``get``, compute, ``put``): a race costs
    a duplicate computation, never a wrong answer. ``put`` keeps the first value stored under a
    key and returns it, so callers may rely on object identity. ``None`` cannot be stored: it is
    what ``get`` returns for a missing key.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._data: "OrderedDict[Hashable, V]" = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Optional[V]:
        with self._lock:
            try:
                value = self._data[key]
            except KeyError:
                return None
            self._data.move_to_end(key)
            return value

    def put(self, key: Hashable, value: V) -> V:
        with self._lock:
            existing = self._data.get(key)
            if existing is not None:
                self._data.move_to_end(key)
                return existing  # keep the first: callers may rely on object identity
            self._data[key] = value
            if len(self._data) > self._size:
                self._data.popitem(last=False)
            return value

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)
