"""The emulator's HTTP server: routing, recording, contract checks and body writing.

Standard library only. One ``ThreadingHTTPServer`` (HTTP/1.1, keep-alive) on 127.0.0.1, one
daemon thread per connection.
"""
import collections.abc
import json
import select
import socket
import socketserver
import threading
import time
import traceback
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Deque, Dict, Iterable, Iterator, List, Optional, Tuple, Union

from . import _anthropic, _contract, _ollama, _openai
from ._render import Context, dumps, last_user_text, merge_headers
from ._reply import Reply

HOST = "127.0.0.1"

ReplySource = Union[Reply, Callable[["RecordedRequest"], Reply]]

_PROVIDERS = {"openai": _openai, "anthropic": _anthropic, "ollama": _ollama}
_NOT_EMULATED = ("gemini", "google", "vertex", "cohere", "azure", "bedrock")
_DEFAULT_MODELS = {
    "openai": ["gpt-4o-mini", "gpt-4.1-nano", "o3-mini"],
    "anthropic": ["claude-sonnet-4-5", "claude-haiku-4-5"],
    "ollama": ["llama3.2", "qwen3:4b"],
}
_ABORT_ERRORS = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError,
                 socket.timeout)
_COALESCE_BYTES = 32 * 1024


class Headers(collections.abc.Mapping):
    """Read-only request headers with case-insensitive lookups (``h["Content-Type"]``)."""

    def __init__(self, items: Iterable[Tuple[str, str]] = ()) -> None:
        self._items = list(items)
        self._lower: Dict[str, str] = {}
        for name, value in self._items:
            key = name.lower()
            self._lower[key] = self._lower[key] + ", " + value if key in self._lower else value

    def __getitem__(self, name: str) -> str:
        return self._lower[name.lower()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._lower

    def __iter__(self) -> Iterator[str]:
        seen = set()
        for name, _ in self._items:
            if name.lower() not in seen:
                seen.add(name.lower())
                yield name

    def __len__(self) -> int:
        return len(self._lower)

    def items_raw(self) -> List[Tuple[str, str]]:
        """Headers exactly as received (original case, repeats kept)."""
        return list(self._items)

    def __repr__(self) -> str:
        return "Headers(%r)" % (self._items,)


@dataclass
class RecordedRequest:
    """One request as the emulator received it.

    ``headers`` look-ups are case-insensitive. ``json`` is the parsed body (None if the body
    was empty or not JSON). ``provider`` is ``openai``, ``anthropic`` or ``ollama``
    (guessed for unknown paths). ``violations`` lists the contract rules the request broke
    (empty when the request was valid). ``status`` is the HTTP status sent back and ``reply``
    the :class:`Reply` that answered it (None for non-chat endpoints and rejected requests).
    """

    method: str
    path: str
    headers: Headers
    body: bytes
    json: Any
    provider: str
    violations: List[str] = field(default_factory=list)
    query: str = ""
    endpoint: str = ""
    status: Optional[int] = None
    reply: Optional[Reply] = None

    @property
    def stream(self) -> bool:
        """True if this chat request asked for a streamed answer."""
        module = _PROVIDERS.get(self.provider)
        return bool(module is not None and self.endpoint == "chat"
                    and module.is_stream(self.json))

    @property
    def messages(self) -> List[Any]:
        """The request's ``messages`` list (empty if absent)."""
        if isinstance(self.json, dict) and isinstance(self.json.get("messages"), list):
            return self.json["messages"]
        return []


def _route(method: str, path: str, headers: Headers) -> Tuple[str, str]:
    """(provider, endpoint) for a request; endpoint ``unknown`` means 404."""
    path = path.rstrip("/") or "/"
    anthropic_like = "anthropic-version" in headers or "x-api-key" in headers
    table = {
        ("POST", "/v1/chat/completions"): ("openai", "chat"),
        ("POST", "/v1/messages"): ("anthropic", "chat"),
        ("POST", "/api/chat"): ("ollama", "chat"),
        ("GET", "/api/tags"): ("ollama", "tags"),
        ("GET", "/api/version"): ("ollama", "version"),
        ("GET", "/"): ("ollama", "root"),
    }
    if (method, path) in table:
        return table[(method, path)]
    if method == "GET" and path == "/v1/models":
        return ("anthropic" if anthropic_like else "openai"), "models"
    if path.startswith("/api/") or path == "/":
        return "ollama", "unknown"
    return ("anthropic" if anthropic_like else "openai"), "unknown"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    emulator: "Emulator"

    def server_bind(self) -> None:
        # Skip HTTPServer.server_bind: its getfqdn() call can stall on a slow resolver.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

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
            parts = []
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
        provider, endpoint = _route(self.command, path, headers)
        parsed, json_error = None, None
        if body:
            try:
                parsed = json.loads(body.decode("utf-8"))
            except (ValueError, UnicodeDecodeError) as exc:
                json_error = str(exc)
        elif endpoint == "chat":
            json_error = "empty body"
        rec = RecordedRequest(self.command, path, headers, body, parsed, provider,
                              query=query, endpoint=endpoint)
        try:
            violations = self._check(rec, json_error)
        except Exception:  # a bug in a contract check must not hide the request
            emu._internal_error(traceback.format_exc())
            violations = []
        rec.violations = [v.message for v in violations]
        seq = emu._record(rec)
        request_id = "req_%d" % seq
        try:
            if violations:
                self._send_violation(rec, violations[0], request_id)
            else:
                self._dispatch(rec, request_id, seq)
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

    def _check(self, rec: RecordedRequest, json_error: Optional[str]) -> List[_contract.Violation]:
        emu = self.server.emulator
        if rec.endpoint == "unknown":
            return []
        if rec.provider == "openai":
            out = _contract.openai_auth(rec.headers) if emu.require_auth else []
            if not out and rec.endpoint == "chat":
                out = _contract.openai_chat(rec.json, json_error)
            return out
        if rec.provider == "anthropic":
            out = _contract.anthropic_headers(rec.headers, emu.require_auth)
            if not out and rec.endpoint == "chat":
                out = _contract.anthropic_messages(rec.json, json_error)
            return out
        if rec.endpoint == "chat":
            return _contract.ollama_chat(rec.json, json_error)
        return []

    def _send_violation(self, rec: RecordedRequest, v: _contract.Violation,
                        request_id: str) -> None:
        module = _PROVIDERS[rec.provider]
        headers = dict(module.base_headers(request_id))
        if rec.provider == "anthropic":
            headers.update(_anthropic.error_headers(v.status))
        body = module.error_body(v.status, v.message, v.type, v.code, v.param, request_id)
        self._send(v.status, body, module.JSON_CONTENT_TYPE, headers, rec)

    def _dispatch(self, rec: RecordedRequest, request_id: str, seq: int) -> None:
        emu = self.server.emulator
        module = _PROVIDERS[rec.provider]
        base = dict(module.base_headers(request_id))
        if rec.endpoint == "unknown":
            rec.violations.append("unknown endpoint: %s %s" % (rec.method, rec.path))
            if rec.provider == "ollama":
                self._send(404, b"404 page not found", "text/plain", base, rec)
            elif rec.provider == "anthropic":
                self._send(404, _anthropic.not_found_body(rec.method, rec.path, request_id),
                           _anthropic.JSON_CONTENT_TYPE, base, rec)
            else:
                self._send(404, _openai.not_found_body(rec.method, rec.path),
                           _openai.JSON_CONTENT_TYPE, base, rec)
            return
        if rec.endpoint == "root":
            self._send(200, b"Ollama is running", "text/plain; charset=utf-8", base, rec)
            return
        if rec.endpoint == "models":
            models = emu.models.get(rec.provider) or []
            self._send(200, dumps(module.models_body(models)), module.JSON_CONTENT_TYPE, base, rec)
            return
        if rec.endpoint == "tags":
            self._send(200, dumps(_ollama.tags_body(emu.models.get("ollama") or [])),
                       _ollama.JSON_CONTENT_TYPE, base, rec)
            return
        if rec.endpoint == "version":
            self._send(200, dumps(_ollama.version_body()), _ollama.JSON_CONTENT_TYPE, base, rec)
            return

        # ---- chat ----
        ctx = Context(rec.json, request_id, seq, emu.openai_reasoning_field,
                      emu.ollama_legacy_tool_calls)
        if rec.provider == "ollama" and not rec.messages:
            # An empty message list only loads the model; it does not consume a reply.
            body = dumps(_ollama.load_body(ctx))
            if _ollama.is_stream(rec.json):
                self._stream(rec, iter([body + b"\n"]), _ollama.STREAM_CONTENT_TYPE, base,
                             Reply())
            else:
                self._send(200, body, _ollama.JSON_CONTENT_TYPE, base, rec)
            return
        reply = emu._next_reply(rec)
        rec.reply = reply
        headers = dict(base)
        streamed = reply.body is None and not reply.is_error and module.is_stream(rec.json)
        if reply.delay and not streamed:
            time.sleep(reply.delay)  # a slow server: nothing is sent before the delay is over
        if reply.body is not None:
            raw = reply.body.encode("utf-8") if isinstance(reply.body, str) else bytes(reply.body)
            headers.update(reply.headers)
            self._send(reply.status, raw, reply.content_type, headers, rec)
        elif reply.is_error:
            if rec.provider == "anthropic":
                headers.update(_anthropic.error_headers(reply.status))
            headers.update(reply.headers)
            body = module.error_body(reply.status, reply.error, reply.error_type,
                                     reply.error_code, None, request_id)
            self._send(reply.status, body, module.JSON_CONTENT_TYPE, headers, rec)
        elif streamed:
            headers.update(reply.headers)
            self._stream(rec, module.events(reply, ctx), module.STREAM_CONTENT_TYPE, headers,
                         reply)
        else:
            headers.update(reply.headers)
            self._send(200, dumps(module.render(reply, ctx)), module.JSON_CONTENT_TYPE,
                       headers, rec)

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
                headers: Dict[str, str], reply: Reply) -> None:
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
            self._start(200, content_type, headers, rec, extra)
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


class Emulator:
    """A loopback HTTP server speaking the OpenAI, Anthropic and Ollama chat wire formats.

    See the package docstring of :mod:`llmunified.testing` for a walkthrough.

    Args:
        default_reply: what to answer when the queue is empty: a :class:`Reply`, or a
            callable taking the :class:`RecordedRequest` and returning one. Default: echo
            ``"You said: <text of the last user message>"``.
        require_auth: reject OpenAI requests without ``Authorization: Bearer ...`` and
            Anthropic requests without ``x-api-key``/Bearer (401). Ollama never needs auth.
        models: model ids listed by ``/v1/models`` and ``/api/tags``; a list (used for every
            provider) or a dict ``{provider: [ids]}``.
        openai_reasoning_field: if set (e.g. ``"reasoning_content"`` as DeepSeek/vLLM send, or
            ``"reasoning"``), ``Reply.thinking`` is sent in that message/delta field on the
            OpenAI endpoint. Real OpenAI sends no reasoning text, so the default is None.
        ollama_legacy_tool_calls: render Ollama tool calls the old way (no ``id``, no
            ``function.index``).
        port: TCP port on 127.0.0.1 (0 = any free port).
    """

    def __init__(
        self,
        default_reply: Optional[ReplySource] = None,
        *,
        require_auth: bool = True,
        models: Union[None, List[str], Dict[str, List[str]]] = None,
        openai_reasoning_field: Optional[str] = None,
        ollama_legacy_tool_calls: bool = False,
        port: int = 0,
    ) -> None:
        self.default_reply = default_reply
        self.require_auth = require_auth
        if models is None:
            self.models = {k: list(v) for k, v in _DEFAULT_MODELS.items()}
        elif isinstance(models, dict):
            self.models = {k: list(v) for k, v in models.items()}
        else:
            self.models = {k: list(models) for k in _DEFAULT_MODELS}
        self.openai_reasoning_field = openai_reasoning_field
        self.ollama_legacy_tool_calls = ollama_legacy_tool_calls
        self._port = port
        self._cond = threading.Condition()
        self._queue: Deque[ReplySource] = collections.deque()
        self._requests: List[RecordedRequest] = []
        self._seq = 0
        self._aborted = 0
        self._connections_opened = 0
        self._open_sockets: set = set()
        self._internal_errors: List[str] = []
        self._server: Optional[_Server] = None
        self._thread: Optional[threading.Thread] = None

    # ---- lifecycle -------------------------------------------------------------------------
    def start(self) -> "Emulator":
        """Start serving (idempotent). Returns self."""
        if self._server is not None:
            return self
        server = _Server((HOST, self._port), _Handler)
        server.emulator = self
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                                        name="llmunified-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close every open connection (idempotent)."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        with self._cond:
            sockets = list(self._open_sockets)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> "Emulator":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the emulator is not running; call start() or use `with`")
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        return "http://%s:%d" % (HOST, self.port)

    def url_for(self, provider: str) -> str:
        """The base URL a client of ``provider`` should use.

        ``anthropic`` and ``ollama`` get :attr:`base_url`; ``openai``, ``lmstudio`` and any
        other OpenAI-compatible name get ``base_url + "/v1"``.
        """
        name = provider.lower().replace("_", "-")
        if name in ("anthropic", "ollama"):
            return self.base_url
        if name in _NOT_EMULATED:
            raise ValueError("the emulator does not speak the %s wire format" % provider)
        return self.base_url + "/v1"

    # ---- script ----------------------------------------------------------------------------
    def reply(self, **fields: Any) -> Reply:
        """Queue ``Reply(**fields)`` and return it."""
        reply = Reply(**fields)
        self.queue(reply)
        return reply

    def queue(self, *replies: ReplySource) -> None:
        """Queue replies (or callables ``request -> Reply``), served first in, first out."""
        for reply in replies:
            if not isinstance(reply, Reply) and not callable(reply):
                raise TypeError("queue() takes Reply objects or callables, got %r" % (reply,))
        with self._cond:
            self._queue.extend(replies)

    @property
    def pending_replies(self) -> int:
        """Number of queued replies not served yet."""
        with self._cond:
            return len(self._queue)

    def reset(self) -> None:
        """Forget queued replies, recorded requests and counters."""
        with self._cond:
            self._queue.clear()
            self._requests.clear()
            self._aborted = 0
            self._internal_errors.clear()

    # ---- observations ----------------------------------------------------------------------
    @property
    def requests(self) -> List[RecordedRequest]:
        """A snapshot of every request received, in arrival order."""
        with self._cond:
            return list(self._requests)

    @property
    def last_request(self) -> Optional[RecordedRequest]:
        with self._cond:
            return self._requests[-1] if self._requests else None

    @property
    def aborted_streams(self) -> int:
        """Streams whose client went away before the body was fully written."""
        with self._cond:
            return self._aborted

    @property
    def connections_opened(self) -> int:
        """TCP connections accepted so far (keep-alive reuse keeps this low)."""
        with self._cond:
            return self._connections_opened

    @property
    def internal_errors(self) -> List[str]:
        """Tracebacks of emulator bugs (should stay empty)."""
        with self._cond:
            return list(self._internal_errors)

    def wait_for_aborted(self, n: int = 1, timeout: float = 5.0) -> bool:
        """Wait until at least ``n`` streams were aborted by their client."""
        with self._cond:
            return self._cond.wait_for(lambda: self._aborted >= n, timeout)

    def wait_for_requests(self, n: int = 1, timeout: float = 5.0) -> bool:
        """Wait until at least ``n`` requests were recorded."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self._requests) >= n, timeout)

    # ---- called by the handler -------------------------------------------------------------
    def _record(self, rec: RecordedRequest) -> int:
        with self._cond:
            self._seq += 1
            self._requests.append(rec)
            self._cond.notify_all()
            return self._seq

    def _next_reply(self, rec: RecordedRequest) -> Reply:
        with self._cond:
            source: Optional[ReplySource] = self._queue.popleft() if self._queue else None
        if source is None:
            source = self.default_reply
        if source is None:
            return Reply(text="You said: " + last_user_text(rec.json))
        reply = source if isinstance(source, Reply) else source(rec)
        if not isinstance(reply, Reply):
            raise TypeError("a reply callable must return a Reply, got %r" % (reply,))
        return reply

    def _stream_aborted(self) -> None:
        with self._cond:
            self._aborted += 1
            self._cond.notify_all()

    def _connection_opened(self, sock: socket.socket) -> None:
        with self._cond:
            self._connections_opened += 1
            self._open_sockets.add(sock)

    def _connection_closed(self, sock: socket.socket) -> None:
        with self._cond:
            self._open_sockets.discard(sock)

    def _internal_error(self, text: str) -> None:
        with self._cond:
            self._internal_errors.append(text)

    def __repr__(self) -> str:
        state = self.base_url if self.running else "stopped"
        return "<Emulator %s, %d queued, %d requests>" % (state, self.pending_replies,
                                                         len(self.requests))
