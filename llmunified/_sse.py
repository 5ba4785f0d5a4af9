"""Incremental decoders for Server-Sent Events and NDJSON (sans-IO, shared by both twins).

Both take raw bytes in whatever pieces the network delivers. Lines are split on bytes before any
decoding, and line terminators are ASCII, so a UTF-8 character split across two network chunks is
always decoded whole.
"""
from __future__ import annotations
from typing import List, Optional, Union

__all__ = ["SSEEvent", "SSEDecoder", "NDJSONDecoder"]


class SSEEvent:
    """One dispatched event: ``event`` (None when the server sent no ``event:`` line), ``data``,
    and ``id`` (the last event id seen, per the SSE spec)."""

    __slots__ = ("event", "data", "id", "retry")

    def __init__(self, data: str, event: Optional[str] = None, id: Optional[str] = None,
                 retry: Optional[int] = None) -> None:
        self.data = data
        self.event = event
        self.id = id
        self.retry = retry

    def __repr__(self) -> str:
        return f"SSEEvent(event={self.event!r}, data={self.data!r}, id={self.id!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SSEEvent):
            return NotImplemented
        return (self.data, self.event, self.id, self.retry) == (other.data, other.event, other.id, other.retry)


class SSEDecoder:
    """Feed bytes, get complete events (WHATWG event-stream rules).

    - lines end with ``\\n``, ``\\r\\n`` or ``\\r`` (a ``\\r`` at the end of a chunk is held back
      until the next byte shows whether ``\\n`` follows);
    - ``data:`` lines of one event join with ``\\n``; one space after the colon is dropped;
    - lines starting with ``:`` are comments (OpenRouter's keep-alives) and are skipped;
    - an event with no ``data:`` line is not dispatched;
    - at end of input, a last event that lacks its blank line is still dispatched (several real
      recordings end without a trailing newline).
    """

    __slots__ = ("_buf", "_data", "_event", "_id", "_retry", "_started")

    def __init__(self) -> None:
        self._buf = b""
        self._data: Optional[List[str]] = None
        self._event: Optional[str] = None
        self._id: Optional[str] = None
        self._retry: Optional[int] = None
        self._started = False

    def feed(self, chunk: bytes) -> List[SSEEvent]:
        return self._feed(chunk, False)  # type: ignore[return-value]  # not raw: SSEEvent objects only

    def feed_payloads(self, chunk: bytes) -> List[Union[bytes, SSEEvent]]:
        """:meth:`feed`, except that an event that is one ``data:`` line and nothing else, read on
        the common path (see :meth:`_simple`), comes as its data's raw bytes: no ``event``
        field, the ``id`` unchanged, the text not decoded (a decoder that parses the JSON from
        bytes skips decoding the text and encoding it back, and the event object). Any other
        event comes as an :class:`SSEEvent`."""
        if self._started and not self._buf and self._data is None and chunk[:6] == b"data: ":
            pieces = self._simple(chunk)  # the common read, without _feed's other checks
            if pieces is not None:
                return pieces  # type: ignore[return-value]  # a list of bytes is a list of the union
        return self._feed(chunk, True)

    def _feed(self, chunk: bytes, raw: bool) -> List[Union[bytes, SSEEvent]]:
        if not chunk:
            return []
        buf = self._buf + chunk if self._buf else chunk
        if not self._started:
            if len(buf) < 3 and b"\xef\xbb\xbf".startswith(buf):
                self._buf = buf
                return []
            self._started = True
            if buf.startswith(b"\xef\xbb\xbf"):
                buf = buf[3:]
        if not self._buf and self._data is None and buf[:6] == b"data: ":
            pieces = self._simple(buf)
            if pieces is not None:
                if raw:
                    return pieces  # type: ignore[return-value]  # a list of bytes is a list of the union
                last_id = self._id
                return [SSEEvent(p.decode("utf-8", "replace"), None, last_id, None) for p in pieces]
        if b"\r" in buf:
            hold = b""
            if buf.endswith(b"\r"):
                buf, hold = buf[:-1], b"\r"
            buf = buf.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            end = buf.rfind(b"\n")
            self._buf = buf[end + 1:] + hold
        else:
            end = buf.rfind(b"\n")
            self._buf = buf[end + 1:]
        if end < 0:
            return []
        # Complete lines end at a newline byte, which never falls inside a UTF-8 sequence: the
        # whole run decodes at once (one decode per network read, not one per line).
        return self._lines(buf[:end].decode("utf-8", "replace").split("\n"))  # type: ignore[return-value]

    def _simple(self, buf: bytes) -> Optional[List[bytes]]:
        """The common read, split without the line-by-line loop (the data of each event): only
        complete events that are each one ``data: `` line (LF or CRLF framing, as OpenAI and
        Gemini send them). Anything else (another field, a comment, a multi-line event, a
        partial event) returns None and the general decoder reads it, so the result is the same
        either way."""
        # the framing holds exactly two line ends per event: any other one is inside an event
        if buf[-2:] == b"\n\n" and b"\r" not in buf:
            pieces = buf[6:-2].split(b"\n\ndata: ")
            if buf.count(b"\n") != 2 * len(pieces):
                return None
        elif buf[-4:] == b"\r\n\r\n":
            pieces = buf[6:-4].split(b"\r\n\r\ndata: ")
            if buf.count(b"\n") != 2 * len(pieces) or buf.count(b"\r") != 2 * len(pieces):
                return None
        else:
            return None
        return pieces  # each event's data, not decoded yet

    def flush(self) -> List[SSEEvent]:
        """End of input: dispatch what is pending."""
        lines = []
        if self._buf:
            buf = self._buf.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            self._buf = b""
            lines = buf.split(b"\n")
        lines.append(b"")
        return self._lines([line.decode("utf-8", "replace") for line in lines])

    def _lines(self, lines: List[str]) -> List[SSEEvent]:
        events: List[SSEEvent] = []
        for line in lines:
            if not line:
                if self._data is not None:
                    data = self._data[0] if len(self._data) == 1 else "\n".join(self._data)
                    events.append(SSEEvent(data, self._event, self._id, self._retry))
                self._data = None
                self._event = None
                self._retry = None
                continue
            if line[0] == ":":  # a comment
                continue
            if line[:6] == "data: " and self._data is None:  # the common case, without partition
                self._data = [line[6:]]
                continue
            name, sep, value = line.partition(":")
            if sep and value[:1] == " ":
                value = value[1:]
            if name == "data":
                if self._data is None:
                    self._data = [value]
                else:
                    self._data.append(value)
            elif name == "event":
                self._event = value
            elif name == "id":
                if "\x00" not in value:
                    self._id = value
            elif name == "retry":
                if value.isascii() and value.isdigit():  # the spec allows ASCII digits only
                    self._retry = int(value)
        return events

    @property
    def pending(self) -> bool:
        """True when bytes or an undispatched event are buffered."""
        return bool(self._buf) or self._data is not None


class NDJSONDecoder:
    """Feed bytes, get complete non-empty lines (bytes, ready for ``json.loads``)."""

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = b""

    def feed(self, chunk: bytes) -> List[bytes]:
        if not chunk:
            return []
        buf = self._buf + chunk if self._buf else chunk
        lines = buf.split(b"\n")
        self._buf = lines.pop()
        return [line for line in lines if line.strip()]

    def flush(self) -> List[bytes]:
        rest, self._buf = self._buf, b""
        return [rest] if rest.strip() else []

    @property
    def pending(self) -> bool:
        return bool(self._buf.strip())
