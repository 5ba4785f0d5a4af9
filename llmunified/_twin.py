"""Markers read by ``scripts/gen_async.py`` (the sync-to-async generator).

They do nothing at run time. ``@io`` marks a function or method that performs I/O (or
calls something that does): the generator turns it into ``async def`` in the async twin and
puts ``await`` before every call to it. An ``@io`` function that contains ``yield`` becomes an
async generator: calls to it are not awaited, and ``for`` over it becomes ``async for``.
"""
from __future__ import annotations
from typing import Callable, TypeVar

_F = TypeVar("_F", bound=Callable)


def io(fn: _F) -> _F:
    """Identity decorator: marks ``fn`` as an I/O function for the twin generator."""
    return fn
