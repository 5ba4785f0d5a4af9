"""Request checks, the shared part: the emulator answers a request that the real service would
refuse with the real service's error status and shape.

Each dialect's ``check`` (see :mod:`._dialects`) returns a list of :class:`Violation`; the first
one is what the client gets back, all of them are recorded on the request. The rules
themselves live in the dialect modules; the messages imitate the real APIs' wording where it is
known (docs/wire.md and the recordings in tests/fixtures/) and otherwise say plainly what is wrong.
"""
import re
from typing import Any, Optional

TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
"""A function/tool name as OpenAI and Anthropic accept it."""


class Violation:
    """One broken rule: HTTP status plus the message/param/code/type to report."""

    __slots__ = ("status", "message", "param", "code", "type")

    def __init__(self, status: int, message: str, param: Optional[str] = None,
                 code: Optional[str] = None, type_: Optional[str] = None) -> None:
        self.status = status
        self.message = message
        self.param = param
        self.code = code
        self.type = type_

    def __repr__(self) -> str:
        return "Violation(%d, %r)" % (self.status, self.message)


def type_name(value: Any) -> str:
    """The JSON type name of a parsed value (``null``, ``boolean``, ``string``, ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def is_int(value: Any) -> bool:
    """True for a JSON integer (a bool is not one)."""
    return isinstance(value, int) and not isinstance(value, bool)
