"""The public :class:`Emulator`: lifecycle, the reply script and what was observed."""
import collections
import dataclasses
import socket
import threading
from typing import Any, Callable, Deque, Dict, List, Optional, Sequence, Set, Union

from ._dialects import DIALECTS, NOT_EMULATED, Dialect, OpenAI
from ._reply import Reply
from ._request import RecordedRequest
from ._server import HOST, _Handler, _Server

ReplySource = Union[Reply, Callable[[RecordedRequest], Reply]]


def emulator_url(base_url: str, provider: str, dialects: Optional[Sequence[Dialect]] = None) -> str:
    """The base URL a client of ``provider`` should use with an emulator at ``base_url``
    (``http://127.0.0.1:PORT``): ``base_url`` plus the path of the provider's dialect
    (``/v1`` for OpenAI and every OpenAI-compatible name, nothing for Anthropic, Ollama...).
    ``Emulator.url_for`` and the ``LLMUNIFIED_EMULATOR`` environment variable use it.
    Raises ValueError for a provider whose wire format the emulator does not speak."""
    dialects = DIALECTS if dialects is None else dialects
    base_url = base_url.rstrip("/")
    name = provider.lower().replace("_", "-")
    for dialect in dialects:
        if name == dialect.name or name in dialect.aliases:
            return base_url + dialect.base_path
    if name in NOT_EMULATED:
        raise ValueError("the emulator does not speak the %s wire format" % provider)
    return base_url + dialects[0].base_path


class Emulator:
    """A loopback HTTP server speaking the chat wire formats of its dialects (by default
    OpenAI, Anthropic and Ollama).

    See the package docstring of :mod:`llmunified.testing` for a walkthrough. To point every
    client of a process at it, with no change to the code that builds them, set the environment
    variable ``LLMUNIFIED_EMULATOR`` to :attr:`base_url` (``docs/testing.md``).

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
        openai_unsupported: features the OpenAI endpoint refuses with a 400, to stand for a
            compatible server that lacks them (vLLM, LM Studio and proxies vary): any of
            ``"json_schema"`` (``response_format`` json_schema), ``"developer_role"``,
            ``"stream_options"``, ``"strict"``, ``"max_completion_tokens"``,
            ``"parallel_tool_calls"`` (``llmunified.testing._dialects.openai.FEATURES``).
        port: TCP port on 127.0.0.1 (0 = any free port).
        dialects: the provider dialects to speak, in priority order (default: the registry
            ``llmunified.testing._dialects.DIALECTS``); the first one answers unknown paths.
    """

    def __init__(
        self,
        default_reply: Optional[ReplySource] = None,
        *,
        require_auth: bool = True,
        models: Union[None, List[str], Dict[str, List[str]]] = None,
        openai_reasoning_field: Optional[str] = None,
        ollama_legacy_tool_calls: bool = False,
        openai_unsupported: Sequence[str] = (),
        port: int = 0,
        dialects: Optional[Sequence[Dialect]] = None,
    ) -> None:
        self.dialects: List[Dialect] = list(DIALECTS if dialects is None else dialects)
        if not self.dialects:
            raise ValueError("the emulator needs at least one dialect")
        if openai_unsupported:
            if isinstance(openai_unsupported, str):
                raise TypeError("openai_unsupported takes a list of feature names, got the string %r"
                                % (openai_unsupported,))
            lacking = OpenAI(openai_unsupported)
            self.dialects = [lacking if type(d) is OpenAI else d for d in self.dialects]
        self.default_reply = default_reply
        self.require_auth = require_auth
        self.models: Dict[str, List[str]]
        if models is None:
            self.models = {d.name: list(d.default_models) for d in self.dialects}
        elif isinstance(models, dict):
            self.models = {k: list(v) for k, v in models.items()}
        else:
            self.models = {d.name: list(models) for d in self.dialects}
        self.openai_reasoning_field = openai_reasoning_field
        self.ollama_legacy_tool_calls = ollama_legacy_tool_calls
        self._port = port
        self._cond = threading.Condition()
        self._queue: Deque[ReplySource] = collections.deque()
        self._requests: List[RecordedRequest] = []
        self._seq = 0
        self._aborted = 0
        self._connections_opened = 0
        self._open_sockets: Set[socket.socket] = set()
        self._internal_errors: List[str] = []
        self._states: Dict[str, Dict[str, Any]] = {}  # per dialect: what it keeps between requests
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
        other OpenAI-compatible name get ``base_url + "/v1"`` (each dialect's ``base_path``).
        """
        return emulator_url(self.base_url, provider, self.dialects)

    # ---- script ----------------------------------------------------------------------------
    def reply(self, reply: Optional[Reply] = None, /, **fields: Any) -> Reply:
        """Queue a reply and return it: ``emu.reply(text="Hi", usage=(10, 2))`` builds
        ``Reply(**fields)``; ``emu.reply(Reply(...))`` queues that one (keyword fields given
        too replace its fields, on a copy)."""
        if reply is None:
            reply = Reply(**fields)
        elif not isinstance(reply, Reply):
            raise TypeError("reply() takes a Reply or keyword fields (text=..., tool_calls=[...], status=...), "
                            "got %r; to queue a callable use queue()" % (reply,))
        elif fields:
            reply = dataclasses.replace(reply, **fields)
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

    def script_batches(self, outcome: str = "completed", *, polls: int = 1, count: Optional[int] = None) -> None:
        """How the batch jobs created next end (OpenAI, Azure, Anthropic and Gemini batch APIs):
        ``outcome`` ``"completed"`` (the default), ``"failed"`` (the whole job fails, no results)
        or ``"expired"`` (the first half of the requests ran, the rest expired), after ``polls``
        reads of the job in progress (0: final at the first read); ``count`` jobs, else every job
        from now on. Each request of a job takes the next scripted reply (or the default echo) at
        creation, in input order. See ``llmunified/testing/_batches.py``."""
        from ._batches import script

        script(self, outcome, polls, count)

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
            dialect = rec._dialect or self.dialects[0]
            return Reply(text="You said: " + dialect.last_user_text(rec.json))
        reply = source if isinstance(source, Reply) else source(rec)
        if not isinstance(reply, Reply):
            raise TypeError("a reply callable must return a Reply, got %r" % (reply,))
        return reply

    def _next_queued(self, rec: RecordedRequest) -> Optional[Reply]:
        """The next queued reply (a callable's result), or None when the queue is empty: for
        endpoints that compute their answer (embeddings) and take scripted failures."""
        with self._cond:
            if rec.endpoint == "count_tokens":
                # only a reply queued for it: the chat replies of a ChatSession counting with
                # the provider stay in order
                head = self._queue[0] if self._queue else None
                if not (isinstance(head, Reply) and head.endpoint == "count_tokens"):
                    return None
            source: Optional[ReplySource] = self._queue.popleft() if self._queue else None
        if source is None:
            return None
        reply = source if isinstance(source, Reply) else source(rec)
        if not isinstance(reply, Reply):
            raise TypeError("a reply callable must return a Reply, got %r" % (reply,))
        return reply

    def _dialect_state(self, name: str) -> Dict[str, Any]:
        """The state the dialect ``name`` keeps in this emulator between requests (a dict it owns;
        the Ollama dialect's local and loaded models)."""
        with self._cond:
            return self._states.setdefault(name, {})

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
