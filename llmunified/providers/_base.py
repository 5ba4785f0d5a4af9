"""What every provider codec shares: request building with auth, JSON decoding with nothing
lost, error construction, and the stream-decoder skeleton. Sans-IO."""
from __future__ import annotations
import abc
import functools
import json
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Optional, Tuple, TypeVar

from .._http import HTTPRequest
from .._json import encode_body, fast_loads, fast_loads_bytes, std_loads
from .._options import Options
from .._registry import ProviderConfig
from .._retry import parse_retry_after, parse_should_retry
from .._types import Message, ModelInfo, Response
from ..errors import (APIError, ConfigurationError, ContextWindowExceededError, LLMError, MalformedResponseError,
                      StreamError, UnsupportedOperationError, error_for_status)

if TYPE_CHECKING:  # the stream machinery loads with the first stream (or multi-choice reply), not at import
    from .._events import Accumulator, StreamEvent
    from .._sse import SSEEvent
    from .._wirecache import Conversation

__all__ = ["Codec", "StreamDecoderBase", "SSEStreamDecoder", "NDJSONStreamDecoder", "decode_json", "loads",
           "std_loads", "body_text", "malformed", "shape_guard", "emit", "int_or_none", "epoch_seconds"]

_QUOTE = 2000  # characters of an unexpected body quoted in an error message

#: in-stream error types that mean the same on any wire, for a type the codec's own
#: ``stream_error_statuses`` does not name (OpenAI's ``server_error`` event): the class follows
#: the status, so a stream failing this way before any content is retried like a plain call
_COMMON_STREAM_ERROR_STATUSES = {"server_error": 500, "internal_server_error": 500, "internal_error": 500,
                                 "api_error": 500, "overloaded": 529, "overloaded_error": 529,
                                 "rate_limit_error": 429, "rate_limit_exceeded": 429, "service_unavailable": 503}


def loads(text: str) -> Any:
    """``json.loads`` for one stream event's text, without its per-call wrappers (two regex
    whitespace scans and a decoder lookup): the C scanner reads the value directly. Text it does
    not take as is (leading whitespace, trailing data, invalid JSON) goes to ``json.loads``, which
    gives the same value or raises the same ``ValueError``."""
    obj = fast_loads(text)  # orjson, when installed: the same value (llmunified._json)
    if obj is not NotImplemented:
        return obj
    return std_loads(text)


def body_text(body: bytes) -> str:
    return body.decode("utf-8", "replace")


def decode_json(provider: str, body: bytes, status: int = 200, headers: Optional[Mapping[str, str]] = None,
                what: str = "response") -> Any:
    """``json.loads`` that raises MalformedResponseError keeping the raw body."""
    tried = body.__class__ is bytes
    if tried:
        obj = fast_loads_bytes(body)  # orjson straight on the bytes, when installed
        if obj is not NotImplemented:
            return obj
    try:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return json.loads(body)  # json's own encoding detection (UTF-16/32) decides
        return std_loads(text) if tried else loads(text)
    except ValueError as exc:
        text = body_text(body)
        hint = " (it looks like HTML: is base_url pointing at the API?)" if text.lstrip()[:1] == "<" else ""
        raise MalformedResponseError(
            f"{provider} sent a {what} that is not valid JSON{hint}: {exc}; body starts {text[:200]!r}",
            provider=provider, status=status, body=text, headers=headers,
            request_id=_request_id(headers or {})) from None


def _request_id(headers: Mapping[str, str]) -> Optional[str]:
    return headers.get("x-request-id") or headers.get("request-id") or headers.get("apim-request-id")


def malformed(provider: str, what: str, data: Any, headers: Optional[Mapping[str, str]] = None,
              status: int = 200) -> MalformedResponseError:
    text = json.dumps(data, ensure_ascii=False) if not isinstance(data, (bytes, str)) else (
        body_text(data) if isinstance(data, bytes) else data)
    return MalformedResponseError(
        f"{provider} sent a reply of an unexpected shape: {what}; body starts {text[:200]!r}",
        provider=provider, status=status, body=text, headers=headers, request_id=_request_id(headers or {}))


class Codec(abc.ABC):
    """Translate unified calls to one provider's HTTP and back, for one model. Everything here
    is pure.

    A subclass implements the four hooks below and declares, as class attributes, the facts the
    rest of the library asks about its protocol (``protocol``, ``thinking_replay``,
    ``structured_mode``, ``context_window_markers``, ``base_url_from_env``). Facts that differ
    between hosts of the same protocol live on their ``ProviderInfo`` (``config.info``).
    """

    #: the wire protocol's name (the module's name by convention)
    protocol = "base"
    #: which thinking parts the encoder sends back to this provider: "none" (dropped), "signed"
    #: (only parts carrying the provider's signature) or "all"; token counting follows it
    thinking_replay = "none"
    #: words in an error message that mean "your prompt is too long"
    context_window_markers: Tuple[str, ...] = ("context_length_exceeded", "context window", "prompt is too long",
                                               "maximum context length", "too many tokens")

    #: capability flags of the protocol itself (``llmunified._capabilities``), under the host's
    #: (``ProviderInfo.details["capabilities"]``), the registry's and the caller's
    default_capabilities: Mapping[str, Any] = {}
    #: the request field that asks for several answers (``n`` > 1: OpenAI's ``n``, Gemini's
    #: ``candidateCount``); None: the protocol has none and ``n`` > 1 is refused before sending
    choices_field: Optional[str] = None
    #: the codec sends ``developer`` messages under that role (else it maps them itself, as
    #: every protocol without such a role does), so ``developer_role=False`` concerns it
    passes_developer = False
    #: the structured output's schema travels as instructions in the prompt, which the Endpoint
    #: adds (``llmunified._capabilities``); the codec then sends no schema of its own
    structured_prompt = False

    def __init__(self, config: ProviderConfig, model: str) -> None:
        self.config = config
        self.provider = config.name
        self.model = model
        #: the resolved :class:`~llmunified._capabilities.Capabilities` (None before the first call)
        self.capabilities: Any = None

    def use_capabilities(self, capabilities: Any) -> None:
        """Take the model's resolved capabilities (once, before the first request is built); a
        codec whose wire depends on them (OpenAI-compatible servers' profiles) reads them here."""
        self.capabilities = capabilities

    @classmethod
    def for_model(cls, config: ProviderConfig, model: str) -> "Codec":
        """The codec instance for one model (what ``codec_for`` calls). An entry whose models
        speak different protocols (Vertex AI: Gemini and Claude) returns an instance of
        another codec class here; by default, this class bound to the model."""
        return cls(config, model)

    @classmethod
    def base_url_for(cls, settings: Mapping[str, Any]) -> Optional[str]:
        """The default base URL when it depends on the provider's settings (a region's host),
        else None (the entry's ``base_url``)."""
        return None

    @classmethod
    def base_url_from_env(cls, value: str) -> str:
        """A base URL read from the provider's environment variable, as the provider's own tools
        read it (Ollama's ``OLLAMA_HOST`` may omit scheme and port)."""
        return value

    # -- hooks -----------------------------------------------------------------------------
    @abc.abstractmethod
    def chat_request(self, messages: List[Message], options: Options, stream: bool) -> HTTPRequest:
        """The HTTP request for a chat call."""

    @abc.abstractmethod
    def parse_chat(self, body: bytes, headers: Mapping[str, str]) -> Response:
        """The Response for a non-streaming reply body (decorate with ``shape_guard``)."""

    @abc.abstractmethod
    def stream_decoder(self, headers: Mapping[str, str]) -> "StreamDecoderBase":
        """A fresh decoder for one streaming reply."""

    @abc.abstractmethod
    def error_details(self, data: Any) -> Tuple[Optional[str], Optional[str], Optional[str]]:
        """(message, type, code) from a decoded error body."""

    # -- structured output -----------------------------------------------------------------
    #: "text": the answer's text is the JSON document; "tool": a forced tool call carries it
    structured_mode = "text"

    def structured_dialect(self, spec: Any) -> Tuple[str, ...]:
        """The schema rewrites this provider needs (``_schema.DIALECTS``); every provider gets an
        object root, so a list target travels as ``{"value": [...]}`` everywhere alike."""
        return ("object-root",)

    # -- shared ----------------------------------------------------------------------------
    def detail(self, name: str, default: Any = None) -> Any:
        """A wire detail declared on this provider's registry entry (``ProviderInfo.details``)."""
        return self.config.info.details.get(name, default)

    def request(self, method: str, path: str, headers: Dict[str, str], body: Any = None,
                stream: bool = False, base: Optional[str] = None) -> HTTPRequest:
        """An HTTP request to ``base_url + path`` (``base + path`` when given) carrying the
        credential (per the entry's auth scheme) and the caller's extra headers (which win). A
        ``body`` that is not bytes is sent as compact JSON."""
        config = self.config
        url = config.authorize(headers, (config.base_url if base is None else base) + path)
        if config.headers:
            headers.update(config.headers)
        if body is not None and not isinstance(body, bytes):
            body = encode_body(body)
        return HTTPRequest(method, url, headers, body, stream)

    # -- model listing (Client.list_models) ---------------------------------------------------
    def models_request(self, page_token: Optional[str] = None) -> HTTPRequest:
        """The GET request for one page of the provider's model list: the first page when
        ``page_token`` is None, else the page that token (from :meth:`parse_models`) names.
        By default the provider has no listing: ConfigurationError."""
        raise self.unsupported("listing models (Client.list_models)")

    def parse_models(self, body: bytes, headers: Mapping[str, str]) -> Tuple[List[ModelInfo], Optional[str]]:
        """(the :class:`~llmunified.ModelInfo` of one 2xx listing page, the next page's token or
        None when it was the last). Decorate with ``shape_guard``."""
        raise self.unsupported("listing models (Client.list_models)")

    # -- token counting (Client.count_tokens) ------------------------------------------------
    #: the provider has a token-counting endpoint (:meth:`count_tokens_request` builds requests
    #: for it); without one, counts are local and never exact
    token_endpoint = False

    def count_tokens_request(self, messages: List[Message], options: Options) -> Optional[HTTPRequest]:
        """The request asking the provider's token-counting endpoint for the prompt tokens of a
        chat request with these messages and options, or None when the provider has no such
        endpoint (the caller then counts locally, never exact). Build it from :meth:`chat_request`
        so that tools, system prompts and images count as they are sent."""
        return None

    def parse_token_count(self, body: bytes, headers: Mapping[str, str]) -> Tuple[int, Dict[str, Any]]:
        """(the token count, the decoded reply) of a 2xx token-counting reply (decorate with
        ``shape_guard``)."""
        raise self.unsupported("token counting (Client.count_tokens)")

    def chat_body(self, request: HTTPRequest) -> Dict[str, Any]:
        """The JSON body of a request this codec built (for hooks deriving one request from another)."""
        return json.loads(request.body or b"{}")

    # -- embeddings (Client.embed; the planning is llmunified._embed's) -------------------------
    #: the most inputs one embeddings request carries, and a rough cap on its tokens (estimated)
    embed_max_inputs = 2048
    embed_max_tokens = 300_000
    #: why this provider has no embeddings, and what to use instead
    no_embeddings = ("use a provider that has them: openai/text-embedding-3-small, gemini/gemini-embedding-001, "
                     "cohere/embed-v4.0, ollama/nomic-embed-text ...")

    def embed_limits(self) -> Tuple[int, float]:
        """(the most inputs per embeddings request, a rough cap on its estimated tokens);
        UnsupportedOperationError for a provider without embeddings (asked before anything else)."""
        if type(self).embed_request is Codec.embed_request:
            raise self.unsupported("embeddings (Client.embed)", self.no_embeddings)
        return self.embed_max_inputs, self.embed_max_tokens

    def embed_request(self, inputs: List[str], options: Any) -> HTTPRequest:
        """The request embedding ``inputs`` (one batch) with the checked
        :class:`~llmunified._embed.EmbedOptions`. By default the provider has none:
        UnsupportedOperationError."""
        raise self.unsupported("embeddings (Client.embed)", self.no_embeddings)

    def parse_embeddings(self, body: bytes, headers: Mapping[str, str]) -> Any:
        """The :class:`~llmunified._embed.EmbedBatch` of one 2xx embeddings reply (decorate with
        ``shape_guard``)."""
        raise self.unsupported("embeddings (Client.embed)", self.no_embeddings)

    # -- model management (Client.pull, show, delete_model ...; llmunified._admin) ---------------
    #: why this provider has no model management, and what has
    no_model_admin = "only Ollama's API manages models (llm.Client('ollama/...'))"

    def admin_check(self, operation: str) -> None:
        """Raise UnsupportedOperationError unless this provider offers ``operation`` (``pull``,
        ``show``, ``delete``, ``copy``, ``create``, ``running``: ``llmunified._admin.OPERATIONS``).
        By default it offers none."""
        from .._admin import OPERATIONS

        raise self.unsupported(OPERATIONS.get(operation, operation), self.no_model_admin)

    def admin_request(self, operation: str, body: Dict[str, Any]) -> HTTPRequest:
        """The request of a checked model-management ``operation`` (``body``: its JSON fields)."""
        raise self.unsupported(operation, self.no_model_admin)

    def parse_admin(self, operation: str, name: Optional[str], body: bytes, headers: Mapping[str, str]) -> Any:
        """The result of a 2xx reply to ``operation`` (``show``: a ModelDetails, ``running``: a
        list of ModelInfo)."""
        raise self.unsupported(operation, self.no_model_admin)

    def progress_decoder(self, what: str, headers: Mapping[str, str]) -> Any:
        """A :class:`~llmunified._admin.ProgressDecoder` for a 2xx progress stream (pull, create)."""
        raise self.unsupported(what, self.no_model_admin)

    # -- provider batch APIs (Client.batch, Client.batch_job; llmunified._batch) -------------------
    #: why this provider has no batch API, and what to use instead
    no_batch = ("its API has no batch jobs; run many calls concurrently with client.map(...) instead "
                "(batch APIs: openai, azure, anthropic, gemini)")

    #: the ``mode`` values ``Client.batch`` takes here: how the entries travel, where a provider
    #: offers more than one way (Gemini: ``"inline"`` or ``"file"``; ``"auto"`` chooses by size)
    batch_modes: Tuple[str, ...] = ("auto",)

    def batch_check(self) -> None:
        """Raise UnsupportedOperationError unless this provider (this host of the protocol: the
        entry's ``batch`` detail) has a batch API."""
        if not self.detail("batch", False):
            raise self.unsupported("batch jobs (Client.batch)", self.no_batch)

    def batch_line(self, custom_id: str, request: HTTPRequest) -> bytes:
        """One batch entry (encoded JSON) wrapping the body of ``request``, which this codec built
        for a normal non-streaming call."""
        raise self.unsupported("batch jobs (Client.batch)", self.no_batch)

    def batch_upload_request(self, plan: Any) -> Optional[HTTPRequest]:
        """The upload of the entries as a file, when the provider takes them so (OpenAI), else None."""
        return None

    def batch_upload_next(self, plan: Any, body: bytes, headers: Mapping[str, str]) -> Optional[HTTPRequest]:
        """The next request of an upload in several steps, from the 2xx reply to the last one
        (Gemini's resumable upload); None when that reply carries the file (the default)."""
        return None

    def parse_batch_upload(self, body: bytes, headers: Mapping[str, str]) -> str:
        """The file id of a 2xx upload reply."""
        raise self.unsupported("batch jobs (Client.batch)", self.no_batch)

    def batch_create_request(self, plan: Any, file_id: Optional[str]) -> HTTPRequest:
        """The request creating the job (``file_id``: the uploaded entries, if uploaded)."""
        raise self.unsupported("batch jobs (Client.batch)", self.no_batch)

    def parse_batch(self, body: bytes, headers: Mapping[str, str]) -> Any:
        """The :class:`~llmunified._batch.BatchInfo` of a 2xx job object (decorate with ``shape_guard``)."""
        raise self.unsupported("batch jobs (Client.batch)", self.no_batch)

    def batch_get_request(self, job_id: str) -> HTTPRequest:
        """The request reading the job ``job_id``."""
        raise self.unsupported("batch jobs (Client.batch)", self.no_batch)

    def batch_cancel_request(self, job_id: str) -> HTTPRequest:
        """The request cancelling the job ``job_id``."""
        raise self.unsupported("batch jobs (Client.batch)", self.no_batch)

    def parse_batch_cancel(self, body: bytes, headers: Mapping[str, str]) -> Any:
        """The job after a 2xx cancel reply, or None when the reply does not carry it (it is read then)."""
        return self.parse_batch(body, headers)

    def batch_results_requests(self, info: Any) -> List[HTTPRequest]:
        """The downloads of a finished job's JSONL result files, in reading order (none when the
        results come inline with the job)."""
        return []

    def batch_inline_results(self, info: Any) -> List[Any]:
        """The result entries that came inline with the job object (Gemini's small jobs)."""
        return []

    def batch_order_request(self, info: Any) -> Optional[HTTPRequest]:
        """A download listing the job's requests in input order (OpenAI's input file), for a job
        resumed without its custom ids; None when there is none."""
        return None

    def batch_order_ids(self, obj: Any) -> Optional[str]:
        """The custom id of one entry of the :meth:`batch_order_request` download."""
        return None

    def parse_batch_result(self, obj: Any, position: Optional[int]) -> Tuple[Optional[str], Optional[bytes],
                                                                             Optional[LLMError]]:
        """(custom id, the response body to parse with :meth:`parse_chat`, or the typed error) of
        one result entry; ``position`` is its place among inline results (None for a file line)."""
        raise self.unsupported("batch jobs (Client.batch)", self.no_batch)

    def unsupported(self, what: str, why: str = "") -> UnsupportedOperationError:
        """The error for an operation this provider (or this codec's host) does not offer."""
        return UnsupportedOperationError(f"{self.provider} does not support {what}" + (f": {why}" if why else ""),
                                  provider=self.provider)

    def listing(self, body: bytes, headers: Mapping[str, str], key: str) -> Tuple[Dict[str, Any], List[Any]]:
        """(the decoded object, its entries under ``key``) of a model-list reply. A top-level JSON
        list is taken as the entries themselves (some compatible servers send one); a missing or
        null ``key`` is no entries (proto3 JSON leaves empty lists out); anything else is
        MalformedResponseError."""
        data = decode_json(self.provider, body, headers=headers, what="model list")
        page: Dict[str, Any] = {}
        items: Any = None
        if isinstance(data, list):
            items = data
        elif isinstance(data, dict):
            page = data
            items = data.get(key)
            if items is None:
                items = []
        if not isinstance(items, list):
            raise malformed(self.provider, f"expected a JSON object with a {key!r} list", body, headers)
        return page, [item for item in items if isinstance(item, dict)]

    def api_error(self, status: int, headers: Mapping[str, str], body: bytes) -> APIError:
        """The typed error for a non-2xx reply."""
        text = body_text(body)
        message = code = etype = None
        try:
            data = json.loads(body) if body else None
        except ValueError:
            data = None
        if data is not None:
            try:
                message, etype, code = self.error_details(data)
            except (AttributeError, TypeError, KeyError):
                message = None
        if not message:
            snippet = " ".join(text.split())[:_QUOTE] if text else "(empty body)"
            message = f"HTTP {status}: {snippet}"
        err = self.make_error(status, headers, message, etype, code, text)
        if data is not None:
            self.error_extras(err, data)
        return err

    #: an error body's type -> the HTTP status it stands for, for errors inside a 200 stream
    #: (whose class then follows the type: overloaded -> OverloadedError)
    stream_error_statuses: Optional[Mapping[str, int]] = None

    def error_extras(self, err: APIError, data: Any) -> None:
        """Fill what a provider's decoded error body carries beyond message, type and code (a
        request id repeated in the body, a retry delay), for HTTP errors and in-stream errors
        alike. Nothing by default."""

    def make_error(self, status: Optional[int], headers: Mapping[str, str], message: str, etype: Optional[str],
                   code: Optional[str], body: Optional[str], response: Any = None,
                   cls: Optional[type] = None) -> APIError:
        if cls is None:
            cls = error_for_status(status) if status is not None else APIError
        lowered = " ".join(str(x).lower() for x in (message, etype, code) if x)
        if (status in (400, 413, None) or cls is APIError) and any(m in lowered for m in self.context_window_markers):
            cls = ContextWindowExceededError
        key = self.config.api_key.known() if self.config.api_key else None
        if key and len(key) >= 8:
            # A proxy may echo the key back in its error text: never let it into an exception.
            message = message.replace(key, "***")
            body = body.replace(key, "***") if body else body
        should = parse_should_retry(headers)
        return cls(message, provider=self.provider, status=status, request_id=_request_id(headers),
                   retryable=should if should is not None else None,
                   retry_after=parse_retry_after(headers), body=body, response=response, code=code,
                   error_type=etype, headers=headers)

    def stream_error(self, data: Any, acc: Accumulator, headers: Mapping[str, str],
                     status_by_type: Optional[Mapping[str, int]] = None) -> LLMError:
        """The typed error for an error event inside a 200 stream, carrying the partial reply."""
        message, etype, code = self.error_details(data)
        status = None
        if status_by_type is None:
            status_by_type = self.stream_error_statuses
        if status_by_type is not None and etype is not None:
            status = status_by_type.get(etype)
        if status is None and isinstance(etype, str):
            status = _COMMON_STREAM_ERROR_STATUSES.get(etype.lower())
        cls = error_for_status(status) if status is not None else APIError
        err = self.make_error(status, headers, message or "error inside the stream", etype, code,
                              json.dumps(data, ensure_ascii=False), response=acc.response(), cls=cls)
        # The class follows the error's type (overloaded -> OverloadedError), but there was no
        # HTTP error status: the stream itself answered 200.
        err.status = None
        # Content may already have reached the caller, which the decoder cannot know: the
        # stream decides, and retries a retryable kind before any content
        # (llmunified._retry.retryable_before_content).
        err.retryable = False
        self.error_extras(err, data)
        return err


class StreamDecoderBase(abc.ABC):
    """Bytes in, unified events out. ``eof()`` is called at end of input and raises
    StreamError when the provider's stream was not complete.

    Subclasses handle one decoded unit (an SSE event, an NDJSON line) in ``handle(unit, out)``.
    When a unit fails (an error event, a unit of the wrong shape), the events decoded before it
    in the same network chunk are still returned, and the error is raised by the next
    ``feed()``/``eof()``/``check()``: nothing the provider sent is withheld from the caller.
    """

    def __init__(self, codec: "Codec", acc: Accumulator) -> None:
        self.codec = codec
        self.acc = acc
        self.error: Optional[LLMError] = None

    @property
    def done(self) -> bool:
        return self.acc.finished

    def response(self) -> Response:
        return self.acc.response()

    def broken(self, why: str, body: Optional[str] = None) -> StreamError:
        acc = self.acc
        return StreamError(
            f"{self.codec.provider} stream broke before it was complete ({why}); "
            "the partial reply is on error.response", provider=self.codec.provider,
            request_id=_request_id(acc.headers), response=acc.response(), headers=acc.headers, body=body)

    def check(self) -> None:
        """Raise the error found after the events already returned, if any."""
        if self.error is not None:
            raise self.error

    @abc.abstractmethod
    def units(self, chunk: bytes) -> List[Any]:
        """Split bytes into complete units (SSE events, NDJSON lines)."""

    @abc.abstractmethod
    def flush_units(self) -> List[Any]:
        """The units left at end of input."""

    @abc.abstractmethod
    def handle(self, unit: Any, out: List[StreamEvent]) -> None:
        """Turn one unit into events appended to ``out`` (raise typed errors)."""

    @abc.abstractmethod
    def on_eof(self, out: List[StreamEvent]) -> None:
        """End of input before the provider's end marker: finish, or raise ``broken()``."""

    @staticmethod
    def unit_text(unit: Any) -> str:
        from .._sse import SSEEvent

        return unit.data if isinstance(unit, SSEEvent) else body_text(unit)

    def _run(self, units: List[Any], out: List[StreamEvent]) -> bool:
        acc, handle = self.acc, self.handle  # looked up once per read, not once per event
        for unit in units:
            if acc.finished:
                break
            try:
                handle(unit, out)
                continue
            except LLMError as exc:
                error = exc
            except (AttributeError, TypeError, KeyError, IndexError, ValueError) as exc:
                # A unit of the wrong shape: typed, with the offending unit kept.
                text = self.unit_text(unit)
                error = self.broken(f"an event has an unexpected shape ({exc}): {text[:200]!r}", body=text)
            self.error = error
            if not out:
                raise error
            return False
        return True

    def feed(self, chunk: bytes) -> List[StreamEvent]:
        if self.error is not None:  # check(), without the call on every read
            raise self.error
        out: List[StreamEvent] = []
        self._run(self.units(chunk), out)
        return out

    def eof(self) -> List[StreamEvent]:
        self.check()
        out: List[StreamEvent] = []
        if self._run(self.flush_units(), out) and not self.acc.finished:
            try:
                self.on_eof(out)
            except LLMError as exc:
                if not out:
                    raise
                self.error = exc
        return out


class SSEStreamDecoder(StreamDecoderBase):
    """Skeleton for SSE providers: subclasses implement ``handle(sse_event, out)`` and
    ``on_eof(out)``."""

    def __init__(self, codec: "Codec", acc: Accumulator) -> None:
        super().__init__(codec, acc)
        from .._sse import SSEDecoder

        self._sse = SSEDecoder()

    def units(self, chunk: bytes) -> List[Any]:
        return self._sse.feed(chunk)

    def flush_units(self) -> List[Any]:
        return self._sse.flush()

    def load(self, ev: SSEEvent) -> Any:
        try:
            return loads(ev.data)
        except ValueError:
            raise self.broken(f"an event's data is not valid JSON: {ev.data[:200]!r}", body=ev.data) from None

    def on_eof(self, out: List[StreamEvent]) -> None:
        raise self.broken("the connection closed before the end-of-stream marker")


class NDJSONStreamDecoder(StreamDecoderBase):
    """Skeleton for NDJSON providers: subclasses implement ``on_line(obj, out)``."""

    def __init__(self, codec: "Codec", acc: Accumulator) -> None:
        super().__init__(codec, acc)
        from .._sse import NDJSONDecoder

        self._nd = NDJSONDecoder()

    def units(self, chunk: bytes) -> List[Any]:
        return self._nd.feed(chunk)

    def flush_units(self) -> List[Any]:
        return self._nd.flush()

    def handle(self, unit: Any, out: List[StreamEvent]) -> None:
        try:
            try:
                text = unit.decode("utf-8")
            except UnicodeDecodeError:
                obj = json.loads(unit)  # json's own encoding detection (UTF-16/32) decides
            else:
                obj = loads(text)
        except ValueError:
            text = body_text(unit)
            raise self.broken(f"a line is not valid JSON: {text[:200]!r}", body=text) from None
        self.on_line(obj, out)

    @abc.abstractmethod
    def on_line(self, obj: Any, out: List[StreamEvent]) -> None:
        """Turn one decoded line into events."""

    def on_eof(self, out: List[StreamEvent]) -> None:
        raise self.broken("the connection closed before the final line")


_R = TypeVar("_R")


def shape_guard(parse: Callable[..., _R]) -> Callable[..., _R]:
    """Wrap a codec's ``parse_chat`` (or ``parse_models``): a reply of an unexpected shape that
    slipped past the codec's own checks becomes MalformedResponseError with the raw body, never
    a KeyError."""

    @functools.wraps(parse)
    def guarded(self: "Codec", body: bytes, headers: Mapping[str, str]) -> _R:
        try:
            return parse(self, body, headers)
        except (AttributeError, TypeError, KeyError, IndexError, ValueError) as exc:
            if isinstance(exc, LLMError):
                raise
            raise malformed(self.provider, f"{type(exc).__name__}: {exc}", body, headers) from None

    return guarded


def put_sampling(target: Dict[str, Any], options: Options, temperature: str, top_p: str, max_tokens: str,
                 stop: str, seed: str) -> None:
    """Copy the sampling options that are set into ``target`` under this wire's names
    (``top_p`` is Cohere's ``p``, Gemini's ``topP``, ...)."""
    if options.temperature is not None:
        target[temperature] = options.temperature
    if options.top_p is not None:
        target[top_p] = options.top_p
    if options.max_tokens is not None:
        target[max_tokens] = options.max_tokens
    if options.stop:
        target[stop] = list(options.stop)
    if options.seed is not None:
        target[seed] = options.seed


def new_accumulator(provider: str, model: Optional[str], headers: Mapping[str, str]) -> "Accumulator":
    """An :class:`~llmunified._events.Accumulator` (its module loads with the first one made)."""
    from .._events import Accumulator

    return Accumulator(provider, model, headers)


_Conversation: Any = None  # llmunified._wirecache.Conversation, once loaded


def new_conversation(messages: List[Message], key: str, names: bool = True) -> "Conversation":
    """A :class:`~llmunified._wirecache.Conversation` of ``messages`` for the codec ``key`` (its
    module loads with the first one made: a program that never sends a long history never
    loads it when its codec gates on ``_json.MIN_MESSAGES``)."""
    global _Conversation
    make = _Conversation
    if make is None:
        from .._wirecache import Conversation as make

        _Conversation = make
    return make(messages, key, names=names)


def emit(out: List[StreamEvent], ev: Optional[StreamEvent]) -> None:
    if ev is not None:
        out.append(ev)



def int_or_none(value: Any) -> Optional[int]:
    """``value`` when it is a whole number (not a bool), else None: a listing's optional counts."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def count_of(data: Any, key: str, default: Optional[int] = None) -> int:
    """The non-negative whole number under ``key`` of a token-counting reply (a string of digits
    too: proto3 JSON writes int64 so). A missing key is ``default``, when one is given (proto3 JSON
    leaves a zero out); anything else raises TypeError (``shape_guard`` makes it
    MalformedResponseError)."""
    if not isinstance(data, dict):
        raise TypeError("expected a JSON object")
    value = data.get(key, default)
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    count = int_or_none(value)
    if count is None or count < 0:
        raise TypeError(f"{key!r} is not a token count: {value!r}")
    return count


def epoch_seconds(value: Any) -> Optional[int]:
    """Unix seconds from an epoch number or an RFC 3339 timestamp (``2025-02-19T00:00:00Z``),
    else None."""
    number = int_or_none(value)
    if number is not None:
        return number
    if not isinstance(value, str) or not value:
        return None
    import datetime
    import re

    # Python 3.9's fromisoformat takes neither "Z" nor other than 3 or 6 fraction digits.
    text = re.sub(r"(\.\d+)", lambda m: (m.group(1) + "000000")[:7], value.strip().replace("Z", "+00:00"), count=1)
    try:
        stamp = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=datetime.timezone.utc)
    return int(stamp.timestamp())
