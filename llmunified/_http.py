"""The values that cross the transport boundary: what to send, what came back. Sans-IO.

Codecs build :class:`HTTPRequest`; transports (``llmunified/_backends/``) send it and return a
:class:`TransportResponse`. Neither side knows the other: a transport knows nothing of providers.
"""
from __future__ import annotations
import json
from typing import Any, Dict, Iterator, Optional

from ._version import __version__ as _version

__all__ = ["HTTPRequest", "TransportResponse", "USER_AGENT"]

USER_AGENT = f"llmunified/{_version}"


class HTTPRequest:
    """A request ready for a transport. ``headers`` may hold the API key: never log them."""

    __slots__ = ("method", "url", "headers", "body", "stream")

    def __init__(self, method: str, url: str, headers: Dict[str, str], body: Optional[bytes] = None,
                 stream: bool = False) -> None:
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.stream = stream

    def __repr__(self) -> str:  # headers deliberately left out: they carry the API key
        return f"HTTPRequest({self.method} {self.url}{' stream' if self.stream else ''})"

    def json(self) -> Any:
        """The body decoded as JSON (None without a body)."""
        return json.loads(self.body) if self.body else None


class TransportResponse:
    """What a transport returns: ``status`` and lower-cased ``headers``; ``body`` holds the whole
    body of a non-streaming call, ``handle`` the transport's own response object for a stream
    (read with the transport's ``read_chunk``). ``eof`` is set once a stream was read to its end."""

    __slots__ = ("status", "headers", "body", "handle", "eof", "chunks")

    def __init__(self, status: int, headers: Dict[str, str], body: Optional[bytes], handle: Any) -> None:
        self.status = status
        self.headers = headers
        self.body = body
        self.handle = handle
        self.eof = False
        #: a transport's own iterator over the body's pieces, when it needs one
        self.chunks: Optional[Iterator[bytes]] = None

    def __repr__(self) -> str:
        return f"<TransportResponse {self.status}>"
