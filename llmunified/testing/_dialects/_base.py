"""The dialect interface: everything the emulator's HTTP plumbing asks of one provider.

A :class:`Dialect` owns its provider's routes, contract checks, headers, error shapes and the
rendering of a :class:`~llmunified.testing.Reply`. The server never looks at a provider's name.
"""
import re
from llmunified._dc import dataclass
from typing import Any, Dict, Iterator, List, Mapping, Optional, Pattern, Sequence, Tuple, Union
from urllib.parse import unquote

from .._contract import Violation
from .._render import Context, dumps, last_user_text
from .._reply import Reply
from .._request import RecordedRequest

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _template_regex(template: str) -> Pattern[str]:
    parts, pos = [], 0
    for m in _PLACEHOLDER.finditer(template):
        parts.append(re.escape(template[pos:m.start()]))
        parts.append("(?P<%s>[^/]+?)" % m.group(1))
        pos = m.end()
    parts.append(re.escape(template[pos:]))
    return re.compile("".join(parts))


class Route:
    """One endpoint of a dialect: an HTTP method and a path pattern, named ``endpoint``.

    ``path`` is a template matched against the whole request path (no query string, no
    trailing slash). A ``{name}`` placeholder matches the shortest non-empty run of characters
    other than ``/`` that lets the rest match, so ``/v1beta/models/{model}:{action}`` takes
    ``model`` and ``action`` apart at the colon. A compiled regex with named groups is also
    accepted. The captured values, URL-decoded, become ``RecordedRequest.params``.

    The endpoint ``"chat"`` is answered from the scripted replies; any other endpoint by
    :meth:`Dialect.serve`.
    """

    def __init__(self, method: str, path: Union[str, Pattern[str]], endpoint: str) -> None:
        self.method = method.upper()
        self.pattern = _template_regex(path) if isinstance(path, str) else path
        self.endpoint = endpoint

    def match(self, method: str, path: str) -> Optional[Dict[str, str]]:
        """The path parameters if this route takes the request, else None."""
        if method != self.method:
            return None
        m = self.pattern.fullmatch(path)
        if m is None:
            return None
        return {k: unquote(v) for k, v in m.groupdict().items() if v is not None}

    def __repr__(self) -> str:
        return "Route(%r, %r, %r)" % (self.method, self.pattern.pattern, self.endpoint)


@dataclass
class Answer:
    """A response a dialect hands back to the server: a whole body, or a stream of ``events``
    (already framed; the server adds the chunked transfer encoding); ``headers``: its own
    response headers (e.g. the Files API's ``X-Goog-Upload-URL``)."""

    status: int
    body: bytes
    content_type: str
    events: Optional[Iterator[bytes]] = None
    headers: Optional[Dict[str, str]] = None


class Dialect:
    """One provider's wire format. Subclass it, set the attributes, override what differs.

    Attributes:
        name: the provider name (``RecordedRequest.provider``, ``Emulator.models`` key,
            ``url_for`` name). aliases: other names ``url_for`` accepts.
        base_path: what ``url_for`` appends to the emulator's base URL.
        routes: the :class:`Route` objects this dialect answers.
        path_prefixes: unknown paths starting with one of these get this dialect's 404.
        default_models: model ids listed by the model-list endpoints by default.
        json_content_type, stream_content_type: Content-Type of whole and streamed answers.
        error_messages: default error message per HTTP status (else ``fallback_error_message``).
        error_types: default error type per HTTP status (else ``server_error_type`` for 5xx,
            ``client_error_type`` otherwise).
    """

    name: str = ""
    aliases: Tuple[str, ...] = ()
    base_path: str = ""
    routes: Tuple[Route, ...] = ()
    path_prefixes: Tuple[str, ...] = ()
    default_models: Tuple[str, ...] = ()
    json_content_type: str = "application/json"
    stream_content_type: str = "text/event-stream; charset=utf-8"
    error_messages: Mapping[int, str] = {}
    fallback_error_message: str = "Error."
    error_types: Mapping[int, str] = {}
    #: endpoints other than ``chat`` that take the next *queued* reply when there is one (it is
    #: ``request.reply`` in :meth:`serve`; its ``break_after``, ``delay`` and ``chunk_size`` pace
    #: a streamed answer as for chat)
    scripted_endpoints: Tuple[str, ...] = ()
    client_error_type: str = "invalid_request_error"
    server_error_type: str = "server_error"

    # ---- routing -----------------------------------------------------------------------------
    def claims(self, headers: Mapping[str, str]) -> bool:
        """True if the headers mark the request as this provider's. It settles a path that
        several dialects route (``GET /v1/models``) and picks the 404 shape for unknown paths."""
        return False

    def owns_path(self, path: str) -> bool:
        """True if an unknown ``path`` still belongs to this provider (for its 404 shape)."""
        return any(path.startswith(prefix) for prefix in self.path_prefixes)

    # ---- requests ----------------------------------------------------------------------------
    def is_stream(self, body: Any, request: RecordedRequest) -> bool:
        """True if the chat request asks for a streamed answer."""
        return isinstance(body, dict) and body.get("stream") is True

    def check(self, request: RecordedRequest, json_error: Optional[str],
              require_auth: bool) -> List[Violation]:
        """The contract rules the request breaks: headers first, then (chat only) the body.
        ``json_error`` says why the body is not JSON (None if it is)."""
        out = self.check_headers(request.headers, require_auth)
        if not out and request.endpoint == "chat":
            out = self.check_body(request.json, json_error)
        return out

    def check_headers(self, headers: Mapping[str, str], require_auth: bool) -> List[Violation]:
        return []

    def check_body(self, body: Any, json_error: Optional[str]) -> List[Violation]:
        return []

    def last_user_text(self, body: Any) -> str:
        """Text of the newest user message (the default reply echoes it)."""
        return last_user_text(body)

    # ---- headers and errors ------------------------------------------------------------------
    def base_headers(self, request_id: str) -> Dict[str, str]:
        """Headers of every response (``request_id`` is ``req_<n>``)."""
        return {}

    def error_headers(self, status: int) -> Dict[str, str]:
        """Extra headers of an error response."""
        return {}

    def error_message(self, status: int, message: Optional[str]) -> str:
        if message is not None:
            return message
        return self.error_messages.get(status, self.fallback_error_message)

    def error_type(self, status: int, type_: Optional[str] = None) -> str:
        if type_:
            return type_
        if status in self.error_types:
            return self.error_types[status]
        return self.server_error_type if status >= 500 else self.client_error_type

    def error_body(self, status: int, message: Optional[str], type_: Optional[str] = None,
                   code: Optional[str] = None, param: Optional[str] = None,
                   request_id: str = "") -> bytes:
        """The body of an error response (a Reply error or a contract violation)."""
        raise NotImplementedError

    def not_found(self, request: RecordedRequest, request_id: str) -> Answer:
        """The answer to a path no route takes."""
        return Answer(404, self.error_body(404, "Not Found", request_id=request_id),
                      self.json_content_type)

    # ---- answers -----------------------------------------------------------------------------
    def serve(self, endpoint: str, request: RecordedRequest, models: Sequence[str]) -> Answer:
        """The answer of a non-chat endpoint; ``models`` are ``Emulator.models[name]``."""
        if endpoint == "models":
            return Answer(200, dumps(self.models_body(models)), self.json_content_type)
        if endpoint == "embed":
            return self.embeddings(request)
        if endpoint == "count_tokens":
            return self.count_tokens(request)
        if endpoint.startswith("batch_"):
            from .. import _batches  # files and batch jobs: llmunified/testing/_batches.py

            return _batches.serve(self, endpoint, request)
        raise LookupError("the %s dialect has no %r endpoint" % (self.name, endpoint))

    def embeddings(self, request: RecordedRequest) -> Answer:
        """The answer of the ``embed`` endpoint (vectors from ``testing._embeddings``)."""
        raise LookupError("the %s dialect has no embeddings endpoint" % self.name)

    def count_tokens(self, request: RecordedRequest) -> Answer:
        """The answer of the ``count_tokens`` endpoint (counts from ``testing._counting``)."""
        raise LookupError("the %s dialect has no token-counting endpoint" % self.name)

    def models_body(self, models: Sequence[str]) -> Any:
        """The JSON of the model-list endpoint."""
        raise NotImplementedError

    def answer_without_reply(self, request: RecordedRequest, ctx: Context) -> Optional[Answer]:
        """An answer to a valid chat request that must not consume a scripted reply (None:
        answer with the next reply)."""
        return None

    def answer_with_reply(self, request: RecordedRequest, reply: Reply,
                          ctx: Context) -> Optional[Answer]:
        """An answer of the dialect's own to a valid chat request, once its reply is known, in
        place of the usual rendering (None: render ``reply`` as usual). Not asked for a reply
        with an error status or a raw ``body``. Azure answers ``Reply.prompt_blocked`` so: an
        HTTP 400 whether or not the request asked to stream."""
        return None

    def render(self, reply: Reply, ctx: Context) -> Any:
        """The JSON of a whole (not streamed) chat answer."""
        raise NotImplementedError

    def events(self, reply: Reply, ctx: Context) -> Iterator[bytes]:
        """The framed events of a streamed chat answer."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return "<%s dialect %r>" % (type(self).__name__, self.name)
