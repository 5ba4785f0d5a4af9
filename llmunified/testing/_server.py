"""The emulator's HTTP plumbing: socket server, request parsing, recording, keep-alive and
(chunked) body writing.

Standard library only. One ``ThreadingHTTPServer`` (HTTP/1.1, keep-alive) on 127.0.0.1, one
daemon thread per connection. Everything a provider decides (routes, checks, headers, bodies)
is asked of the request's dialect (:mod:`._dialects`); nothing here knows a provider's name.
"""
import json
import select
import socket
import socketserver
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Optional

from ._contract import Violation
from ._dialects import Answer, Dialect, resolve
from ._render import Context, dumps, merge_headers
from ._reply import Reply
from ._request import Headers, RecordedRequest

if TYPE_CHECKING:  # pragma: no cover
    from ._emulator import Emulator

HOST = "127.0.0.1"

_ABORT_ERRORS = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError,
                 socket.timeout)
_COALESCE_BYTES = 32 * 1024


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    emulator: "Emulator"

    def server_bind(self) -> None:
        # Skip HTTPServer.server_bind: its getfqdn() call can stall on a slow resolver.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), port

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that vanish mid-request are normal here; never print tracebacks.
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "llmunified-emulator/1"
    sys_version = ""
    disable_nagle_algorithm = True
    server: _Server

    # ---- plumbing --------------------------------------------------------------------------
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base signature
        pass

    def version_string(self) -> str:
        return self.server_version

    def setup(self) -> None:
        super().setup()
        self.server.emulator._connection_opened(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self.server.emulator._connection_closed(self.connection)

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    # ---- request handling ------------------------------------------------------------------
    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            parts: List[bytes] = []
            while True:
                size_line = self.rfile.readline(1024)
                size = int(size_line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline(1024)
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0:
            raise ValueError("negative Content-Length")
        return self.rfile.read(length) if length else b""

    def _handle(self) -> None:
        emu = self.server.emulator
        self._headers_done = False
        try:
            body = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        path, _, query = self.path.partition("?")
        headers = Headers(self.headers.items())
        dialect, endpoint, params = resolve(emu.dialects, self.command, path, headers)
        parsed, json_error = None, None
        if body:
            try:
                parsed = json.loads(body.decode("utf-8"))
            except (ValueError, UnicodeDecodeError) as exc:
                json_error = str(exc)
        elif endpoint == "chat":
            json_error = "empty body"
        rec = RecordedRequest(self.command, path, headers, body, parsed, dialect.name,
                              query=query, endpoint=endpoint, params=params)
        rec._dialect = dialect
        rec._state = emu._dialect_state(dialect.name)
        rec._emulator = emu
        violations: List[Violation] = []
        if endpoint != "unknown":
            try:
                violations = dialect.check(rec, json_error, emu.require_auth)
            except Exception:  # a bug in a contract check must not hide the request
                emu._internal_error(traceback.format_exc())
        rec.violations = [v.message for v in violations]
        seq = emu._record(rec)
        request_id = "req_%d" % seq
        try:
            if violations:
                v = violations[0]
                self._send_error(rec, dialect, request_id, v.status, v.message, v.type, v.code,
                                 v.param)
            else:
                self._dispatch(rec, dialect, request_id, seq)
        except _ABORT_ERRORS:
            self.close_connection = True
        except Exception:  # a bug in the emulator: report it, never crash the thread noisily
            emu._internal_error(traceback.format_exc())
            self.close_connection = True
            if not self._headers_done:
                try:
                    self._send(500, dumps({"error": {"message": "llmunified emulator internal "
                                                                "error; see emu.internal_errors",
                                                     "type": "server_error", "param": None,
                                                     "code": None}}),
                               "application/json", {}, rec)
                except OSError:
                    pass

    def _send_error(self, rec: RecordedRequest, dialect: Dialect, request_id: str, status: int,
                    message: Optional[str], type_: Optional[str], code: Optional[str],
                    param: Optional[str], extra: Optional[Dict[str, str]] = None) -> None:
        """An error in the dialect's shape (a contract violation or a scripted error)."""
        headers = dict(dialect.base_headers(request_id))
        headers.update(dialect.error_headers(status))
        headers.update(extra or {})
        body = dialect.error_body(status, message, type_, code, param, request_id)
        self._send(status, body, dialect.json_content_type, headers, rec)

    def _answer(self, rec: RecordedRequest, answer: Answer, headers: Dict[str, str],
                reply: Optional[Reply] = None) -> None:
        if answer.headers:
            headers = dict(headers, **answer.headers)
        if answer.events is not None:
            self._stream(rec, answer.events, answer.content_type, headers, reply or Reply(),
                         answer.status)
        else:
            self._send(answer.status, answer.body, answer.content_type, headers, rec)

    def _dispatch(self, rec: RecordedRequest, dialect: Dialect, request_id: str,
                  seq: int) -> None:
        emu = self.server.emulator
        base = dict(dialect.base_headers(request_id))
        if rec.endpoint == "unknown":
            rec.violations.append("unknown endpoint: %s %s" % (rec.method, rec.path))
            self._answer(rec, dialect.not_found(rec, request_id), base)
            return
        if rec.endpoint != "chat":
            if rec.endpoint in ("embed", "count_tokens") and self._scripted(rec, dialect, request_id, base):
                return
            # the emulator's own list, which an endpoint may change (Ollama's pull, copy, delete)
            models = emu.models.setdefault(dialect.name, [])
            if rec.endpoint in dialect.scripted_endpoints:
                rec.reply = emu._next_queued(rec)  # it paces a streamed answer as for chat
            self._answer(rec, dialect.serve(rec.endpoint, rec, models), base, rec.reply)
            return

        # ---- chat ----
        ctx = Context(rec.json, request_id, seq, emu.openai_reasoning_field,
                      emu.ollama_legacy_tool_calls, rec.params)
        early = dialect.answer_without_reply(rec, ctx)
        if early is not None:
            self._answer(rec, early, base)
            return
        reply = emu._next_reply(rec)
        rec.reply = reply
        headers = dict(base)
        own = None
        if reply.body is None and not reply.is_error:
            own = dialect.answer_with_reply(rec, reply, ctx)
        if own is not None:
            if reply.delay and own.events is None:
                time.sleep(reply.delay)
            headers.update(reply.headers)
            self._answer(rec, own, headers, reply)
            return
        streamed = (reply.body is None and not reply.is_error
                    and dialect.is_stream(rec.json, rec))
        if reply.delay and not streamed:
            time.sleep(reply.delay)  # a slow server: nothing is sent before the delay is over
        if reply.body is not None:
            raw = reply.body.encode("utf-8") if isinstance(reply.body, str) else bytes(reply.body)
            headers.update(reply.headers)
            self._send(reply.status, raw, reply.content_type, headers, rec)
        elif reply.is_error:
            self._send_error(rec, dialect, request_id, reply.status, reply.error,
                             reply.error_type, reply.error_code, None, reply.headers)
        elif streamed:
            headers.update(reply.headers)
            self._stream(rec, dialect.events(reply, ctx), dialect.stream_content_type, headers,
                         reply)
        else:
            headers.update(reply.headers)
            self._send(200, dumps(dialect.render(reply, ctx)), dialect.json_content_type,
                       headers, rec)

    def _scripted(self, rec: RecordedRequest, dialect: Dialect, request_id: str, base: Dict[str, str]) -> bool:
        """An embeddings request takes the next queued reply, if any: an error status or a raw
        body is sent as for chat (True: answered); any other reply lends its delay and headers to
        the computed answer (False). With an empty queue the answer is computed."""
        reply = self.server.emulator._next_queued(rec)
        if reply is None:
            return False
        rec.reply = reply
        if reply.delay:
            time.sleep(reply.delay)
        if reply.body is not None:
            raw = reply.body.encode("utf-8") if isinstance(reply.body, str) else bytes(reply.body)
            self._send(reply.status, raw, reply.content_type, dict(base, **reply.headers), rec)
            return True
        if reply.is_error:
            self._send_error(rec, dialect, request_id, reply.status, reply.error, reply.error_type,
                             reply.error_code, None, reply.headers)
            return True
        base.update(reply.headers)
        return False

    # ---- writing ---------------------------------------------------------------------------
    def _start(self, status: int, content_type: str, headers: Dict[str, str],
               rec: RecordedRequest, extra: Dict[str, str]) -> None:
        rec.status = status
        self.send_response(status)
        base = {"Content-Type": content_type}
        base.update(extra)
        for name, value in merge_headers(base, headers):
            self.send_header(name, value)
        self.end_headers()
        self._headers_done = True

    def _send(self, status: int, body: bytes, content_type: str, headers: Dict[str, str],
              rec: RecordedRequest) -> None:
        extra = {}
        if not any(k.lower() == "content-length" for k in headers):
            extra["Content-Length"] = str(len(body))
        self._start(status, content_type, headers, rec, extra)
        if self.command != "HEAD":
            self.wfile.write(body)

    def _client_gone(self) -> bool:
        """True if the peer has closed its side (checked only on delayed streams)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            if readable:
                return self.connection.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True
        return False

    def _stream(self, rec: RecordedRequest, events: Iterator[bytes], content_type: str,
                headers: Dict[str, str], reply: Reply, status: int = 200) -> None:
        emu = self.server.emulator
        chunked = self.request_version == "HTTP/1.1"
        extra = {"Cache-Control": "no-cache"} if content_type.startswith("text/event") else {}
        if chunked:
            extra["Transfer-Encoding"] = "chunked"
        else:
            self.close_connection = True  # HTTP/1.0: the body ends when the connection does
        limit = reply.break_after
        state = {"writes": 0, "broken": limit is not None}

        def pieces() -> Iterator[bytes]:
            """The payload of each write, after break_after / chunk_size / coalescing."""
            size = reply.chunk_size
            coalesce = size is None and not reply.delay and bool(reply.repeat_chunks)
            buf = bytearray()
            for n, event in enumerate(events):
                if limit is not None and n >= limit:
                    break
                if size:
                    buf += event
                    while len(buf) >= size:
                        yield bytes(buf[:size])
                        del buf[:size]
                elif coalesce:
                    buf += event
                    if len(buf) >= _COALESCE_BYTES:
                        yield bytes(buf)
                        buf.clear()
                else:
                    yield event
            if buf:
                yield bytes(buf)

        def emit(data: bytes, last: bool) -> None:
            if state["writes"] and reply.delay:
                time.sleep(reply.delay)
                if self._client_gone():
                    raise BrokenPipeError("client closed the stream")
            state["writes"] += 1
            if chunked:
                # The final chunk goes out with the last event, so a client that stops
                # reading at the stream's terminator event has received the whole body.
                frame = b"%x\r\n" % len(data) + data + b"\r\n" if data else b""
                self.wfile.write(frame + (b"0\r\n\r\n" if last else b""))
            elif data:
                self.wfile.write(data)

        try:
            self._start(status, content_type, headers, rec, extra)
            pending: Optional[bytes] = None
            for piece in pieces():
                if pending is not None:
                    emit(pending, last=False)
                pending = piece
            if state["broken"]:
                if pending is not None:
                    emit(pending, last=False)
                # Scripted failure: no terminator, no final chunk; the peer sees EOF.
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            emit(pending or b"", last=True)
        except _ABORT_ERRORS:
            self.close_connection = True
            emu._stream_aborted()
