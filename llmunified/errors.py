"""Typed errors raised by llmunified (shared by ``llmunified`` and ``llmunified_async``).

Every error derives from :class:`LLMError` and carries what is known about the failure:

``provider``      the provider name (``"openai"``, ``"anthropic"``, ...), when known
``status``        the HTTP status, when there was one
``request_id``    the provider's request id (``x-request-id`` / ``request-id`` header)
``retryable``     whether the retry policy may try the call again
``retry_after``   the server's requested wait in seconds, when it gave one
``body``          the raw response body as text, so nothing the server said is lost
``response``      the partial :class:`~llmunified.Response` received before a stream failed
``code`` / ``error_type``   the provider's machine-readable error code and type
``attempts``      how many HTTP requests the call made before giving up (1: no retry)
``waits``         the seconds waited before each retry (a tuple, empty without retries)
``correlation_id``  the failed call's correlation id (with a tracer, or when the call was given one)

Which class is raised::

    LLMError
    |-- ConfigurationError          unknown provider, missing API key, bad option
    |   `-- UnsupportedOperationError  the provider has no such operation (embeddings on Anthropic)
    |-- ValidationError             an invalid message, tool or option of ours (also ValueError)
    |   |-- UnsupportedParameterError  an option or input the model cannot take (its capabilities)
    |   `-- SessionFileError        a chat session file is corrupt (SessionVersionError: newer)
    |-- APIError                    the provider answered with an error
    |   |-- BadRequestError         400, 413, 422
    |   |   |-- ContextWindowExceededError
    |   |   |   `-- ContextBudgetExceededError  (also a ValidationError: predicted before sending)
    |   |   `-- ContentFilterError  the provider's content filter refused the prompt (.categories)
    |   |-- AuthenticationError     401
    |   |   `-- PermissionDeniedError   403
    |   |-- NotFoundError           404
    |   |-- ConflictError           409
    |   |-- RateLimitError          429
    |   |-- OverloadedError         503, 529, "overloaded" in a stream
    |   `-- ServerError             other 5xx
    |-- TimeoutError                connect or read timed out (also the builtin TimeoutError)
    |-- ConnectionError             could not connect, connection dropped before a reply
    |                               (also the builtin ConnectionError)
    |-- MalformedResponseError      the reply is not what the provider's API promises
    |-- StreamError                 a stream broke or carried an error after HTTP 200
    |   |-- StreamTimeoutError      no data within the read timeout mid-stream (also TimeoutError)
    |   `-- StreamConnectionError   the connection broke mid-stream (also ConnectionError)
    |-- StructuredOutputError       structured output failed validation on every attempt
    |-- ToolLoopError               the tool loop reached max_rounds (transcript on .messages)
    |   |-- ToolApprovalError       an approver raised, returned nonsense or edited arguments
    |   |                           that fail the tool's schema: nothing was sent
    |   `-- ToolLoopCancelledError  the loop was cancelled (transcript so far on .messages)
    |-- RouterError                 every entry of a Router is open or failed (.errors, .entries)
    `-- (ValidationError) ToolSubmissionError  a caller-run tool's result submitted wrongly

Catching the way Python taught you: ``except TimeoutError:`` (the builtin) catches every
timeout of ours, and ``except ConnectionError:`` every connection failure, streaming or not.
A failure after a stream started is both kinds at once: ``StreamTimeoutError`` is a
``StreamError`` (the partial reply on ``.response``) and a ``TimeoutError``. It is retried like
a plain call's timeout while no content has reached the caller; once content has, it is never
retried and its ``retryable`` is False (the caller already holds part of the reply). Being
builtin ``TimeoutError`` / ``ConnectionError`` makes them ``OSError`` too: an ``except
OSError`` around a call catches them, as it catches requests' and aiohttp's own errors.
"""
from __future__ import annotations
import builtins
from typing import Any, Dict, List, Mapping, Optional, Tuple

__all__ = [
    "LLMError",
    "ConfigurationError",
    "UnsupportedOperationError",
    "ValidationError",
    "APIError",
    "BadRequestError",
    "ContextWindowExceededError",
    "ContentFilterError",
    "AuthenticationError",
    "PermissionDeniedError",
    "NotFoundError",
    "ConflictError",
    "RateLimitError",
    "OverloadedError",
    "ServerError",
    "TimeoutError",
    "ConnectionError",
    "MalformedResponseError",
    "StreamError",
    "StreamTimeoutError",
    "StreamConnectionError",
    "StructuredOutputError",
    "ToolLoopError",
    "ToolApprovalError",
    "ToolLoopCancelledError",
    "ToolSubmissionError",
    "ContextBudgetExceededError",
    "UnsupportedParameterError",
    "SessionFileError",
    "SessionVersionError",
    "RouterError",
    "error_for_status",
]


class LLMError(Exception):
    """Base class of every error raised by llmunified."""

    #: default for ``retryable`` when the constructor is not told
    default_retryable = False
    #: HTTP requests the failed call made (the retry loop notes more than one on the instance)
    attempts: int = 1
    #: seconds waited before each retry of the failed call
    waits: Tuple[float, ...] = ()
    #: the failed call's correlation id (with a tracer, or when the call was given one)
    correlation_id: Optional[str] = None

    def __init__(
        self,
        message: str,
        *,
        provider: Optional[str] = None,
        status: Optional[int] = None,
        request_id: Optional[str] = None,
        retryable: Optional[bool] = None,
        retry_after: Optional[float] = None,
        body: Optional[str] = None,
        response: Any = None,
        code: Optional[str] = None,
        error_type: Optional[str] = None,
        headers: Optional[Mapping[str, str]] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.status = status
        self.request_id = request_id
        self.retryable = self.default_retryable if retryable is None else retryable
        self.retry_after = retry_after
        self.body = body
        self.response = response
        self.code = code
        self.error_type = error_type
        # Response headers only (never request headers, which hold the API key).
        self.headers: Dict[str, str] = dict(headers or {})

    #: (provider, model, usage) of every billed call behind this error (a tool loop's rounds,
    #: structured output's attempts); empty: only ``response`` counts
    billed: Tuple[Any, ...] = ()

    @property
    def cost(self) -> Any:
        """What the calls behind this error cost (:class:`~llmunified.Cost`), when something was
        billed: the rounds of a tool loop that hit ``max_rounds``, every attempt of a structured
        output that never validated, the partial reply of a broken stream. ``None`` when nothing
        was billed or a needed price is unknown."""
        if self.billed:
            from ._cost import sum_parts

            return sum_parts(self.billed)
        response = self.response
        return response.cost if response is not None and hasattr(response, "usage") else None

    def __str__(self) -> str:
        parts = []
        if self.provider:
            parts.append(self.provider)
        if self.status is not None:
            parts.append(str(self.status))
        prefix = "[" + " ".join(parts) + "] " if parts else ""
        text = prefix + self.message
        if self.request_id:
            text += f" (request id {self.request_id})"
        return text

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class ConfigurationError(LLMError):
    """The call cannot be made as configured: unknown provider, missing API key, bad option."""


class UnsupportedOperationError(ConfigurationError):
    """The provider (or this host of its protocol) does not offer the operation asked for:
    embeddings on Anthropic, a model listing on Vertex AI, token counting without an endpoint.
    The message names the operation and, where there is one, what to use instead."""


class ValidationError(LLMError, ValueError):
    """An input of ours is invalid (a message, a tool definition, an option value)."""


class APIError(LLMError):
    """The provider answered with an error status (or an error inside a stream)."""


class BadRequestError(APIError):
    """400/413/422: the provider rejected the request; fix the request before retrying."""


class ContextWindowExceededError(BadRequestError):
    """The prompt does not fit the model's context window."""


class ContentFilterError(BadRequestError):
    """The provider's content filter refused the prompt itself (Azure OpenAI's 400
    ``content_filter`` / ``ResponsibleAIPolicyViolation``). ``categories`` holds the filter's
    verdict per category as the provider sent it (``{"hate": {"filtered": True, "severity":
    "high"}, ...}``; empty when it named none). A *completion* the filter cut short is not an
    error: it comes back with ``finish_reason="content_filter"``."""

    categories: Dict[str, Any]

    def __init__(self, message: str, *, categories: Optional[Mapping[str, Any]] = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.categories = dict(categories or {})

    @property
    def filtered(self) -> list:
        """The names of the categories the filter flagged (``filtered`` or ``detected``)."""
        return [name for name, verdict in self.categories.items()
                if isinstance(verdict, dict) and (verdict.get("filtered") or verdict.get("detected"))]


class AuthenticationError(APIError):
    """401: the API key is missing, wrong or expired."""


class PermissionDeniedError(AuthenticationError):
    """403: the key is valid but may not use this model or feature."""


class NotFoundError(APIError):
    """404: unknown model or endpoint."""


class ConflictError(APIError):
    """409: the provider reports a conflict; the SDKs retry these."""

    default_retryable = True


class RateLimitError(APIError):
    """429: too many requests or tokens; ``retry_after`` says how long the server asked to wait."""

    default_retryable = True


class OverloadedError(APIError):
    """503/529 or an ``overloaded`` stream error: the provider is busy; retry later."""

    default_retryable = True


class ServerError(APIError):
    """Other 5xx: the provider failed."""

    default_retryable = True


class TimeoutError(LLMError, builtins.TimeoutError):  # noqa: A001 - deliberately mirrors the builtin
    """Connecting or reading timed out (or the provider answered 408). A builtin
    ``TimeoutError`` too, so ``except TimeoutError:`` catches it; the message names the timeout
    that expired and the argument that raises it."""

    default_retryable = True


class ConnectionError(LLMError, builtins.ConnectionError):  # noqa: A001
    """The connection could not be made or dropped before a reply arrived. A builtin
    ``ConnectionError`` too; the message says what happened (nothing listening, the host not
    resolving, TLS failing, the peer closing the connection)."""

    default_retryable = True


class MalformedResponseError(LLMError):
    """The provider's reply is not valid JSON or not the shape its API promises.

    ``body`` holds the raw text received.
    """


class StreamError(LLMError):
    """A stream broke (connection dropped, truncated event) or carried an error after HTTP 200.

    ``response`` holds everything received before the failure (partial text, tool calls, usage).
    """

    default_retryable = False


class StreamTimeoutError(StreamError, TimeoutError):
    """No data arrived within the read timeout after the stream had started: a
    :class:`StreamError` (the partial reply on ``response``) that ``except TimeoutError:`` (ours
    or the builtin) also catches. Retried like a plain timeout until content reaches the caller;
    raised after content with ``retryable`` False."""

    default_retryable = False


class StreamConnectionError(StreamError, ConnectionError):
    """The connection broke after the stream had started: a :class:`StreamError` (the partial
    reply on ``response``) that ``except ConnectionError:`` (ours or the builtin) also catches.
    Retried like a plain connection error until content reaches the caller; raised after
    content with ``retryable`` False."""

    default_retryable = False


class StructuredOutputError(LLMError):
    """Structured output did not validate on any attempt.

    ``attempts`` holds the raw text of each attempt (here a list, one entry per model call,
    rather than the HTTP request count other errors carry), ``errors`` the validation errors of
    each, ``usage`` the total usage of all attempts.
    """

    attempts: List[str]  # type: ignore[assignment]  # its meaning predates the retry count

    def __init__(self, message: str, *, attempts: Any = None, errors: Any = None, usage: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.attempts = list(attempts or [])
        self.errors = list(errors or [])
        self.usage = usage


class ToolLoopError(LLMError):
    """``Client.run`` reached ``max_rounds`` while the model still asked for tools.

    ``messages`` holds the whole new transcript (assistant tool-call turns and tool results),
    ``usage`` the usage summed over the rounds, ``response`` the last reply.
    """

    def __init__(self, message: str, *, messages: Any = None, usage: Any = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.messages = list(messages or [])
        self.usage = usage


class ToolApprovalError(ToolLoopError):
    """The tool loop's ``approve=`` callable raised (the original exception is ``__cause__``),
    returned something that is not a decision, or edited arguments that fail the tool's schema
    (``errors`` lists why). Nothing of that round was run or sent; ``messages`` holds the
    transcript so far (ending with the model's tool-call turn), ``tool_call`` the call concerned.
    """

    def __init__(self, message: str, *, tool_call: Any = None, errors: Any = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.tool_call = tool_call
        self.errors = list(errors or [])


class ToolLoopCancelledError(ToolLoopError):
    """A streaming tool loop was cancelled (``cancel()``, or its ``with`` block was left) before
    its final answer. ``messages`` holds the transcript so far (nothing is lost),
    ``partial_response`` what had arrived of the round cut short (None between rounds)."""

    def __init__(self, message: str, *, partial_response: Any = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.partial_response = partial_response


class ToolSubmissionError(ValidationError):
    """A result for a caller-run tool was submitted wrongly: an unknown call id, a second
    result for the same call, a submission after the loop ended, or the loop iterated before
    every pending call was answered. The loop is unchanged: fix the call and go on.
    ``pending`` lists the ids still waiting for a result."""

    def __init__(self, message: str, *, pending: Any = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.pending = list(pending or [])


class ContextBudgetExceededError(ContextWindowExceededError, ValidationError):
    """The newest turn, with the system prompt and pinned messages, does not fit the budget.

    Raised by :meth:`History.select` before any network call. It is a
    ``ContextWindowExceededError`` (one ``except`` catches this prediction and the provider's
    own refusal) and a ``ValidationError`` (the input is what must change).

    ``needed`` and ``allowed`` are token counts; ``estimated`` says whether ``needed`` is an
    estimate; ``breakdown`` splits ``needed`` into ``kept`` (system and pinned messages),
    ``turn`` (the newest user message and what follows it) and ``overhead``.
    """

    def __init__(self, message: str, *, needed: int, allowed: int, estimated: bool,
                 breakdown: Dict[str, int]) -> None:
        super().__init__(message)
        self.needed = needed
        self.allowed = allowed
        self.estimated = estimated
        self.breakdown = dict(breakdown)


class UnsupportedParameterError(ValidationError):
    """An option or input the model cannot take, found from its capabilities before anything is
    sent: ``tools`` to a model without tool calling, images to a text-only model, ``temperature``
    on a model that rejects it, ``max_tokens`` above the model's output limit...

    ``model`` (``provider/model``), ``option`` (the option's name, or ``"images"`` /
    ``"messages"`` for the conversation) and ``reason`` (why, and the capability flag behind
    it). ``drop_unsupported=True`` (a Client or call option) drops what the model cannot take
    instead, with a warning on the ``llmunified`` logger.
    """

    def __init__(self, message: str, *, model: Optional[str] = None, option: Optional[str] = None,
                 reason: Optional[str] = None, **details: Any) -> None:
        super().__init__(message, **details)
        self.model = model
        self.option = option
        self.reason = reason


class SessionFileError(ValidationError):
    """A session file or dict is not a valid llmunified chat session.

    ``path`` names the file (None for a dict); ``where`` locates the fault inside it
    (``messages[3].content[1]``). A corrupt file is never written to.
    """

    def __init__(self, message: str, *, path: Optional[str] = None, where: Optional[str] = None) -> None:
        text = message
        if where:
            text = f"{where}: {text}"
        if path:
            text = f"{path}: {text}"
        super().__init__(text)
        self.path = path
        self.where = where


class SessionVersionError(SessionFileError):
    """The session was written by a newer llmunified (``version`` > ``supported``)."""

    def __init__(self, message: str, *, version: Any, supported: int = 1,
                 path: Optional[str] = None) -> None:
        super().__init__(message, path=path)
        self.version = version
        self.supported = supported



class RouterError(LLMError):
    """A Router call found no entry to serve it: every entry is open (its circuit breaker is
    cooling down) or failed with an error worth failing over on.

    ``errors``: ``(label, error)`` of each entry this call tried, in order. ``entries``:
    ``(label, state, last_error)`` of every entry of the router (``state``: ``"closed"``,
    ``"open"`` or ``"half_open"``; ``last_error``: the entry's latest failure, from this call or
    an earlier one, or None). ``attempts``: the HTTP requests this call made across the entries
    (each entry's own retries included). ``retry_after``: seconds until the first open entry
    lets a call through again (None when one is available now). The last error is the
    ``__cause__``.
    """

    default_retryable = True

    def __init__(self, message: str, *, errors: Any = None, entries: Any = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.errors: List[Tuple[str, BaseException]] = list(errors or [])
        self.entries: List[Tuple[str, str, Optional[BaseException]]] = list(entries or [])


_STATUS_CLASSES = {
    400: BadRequestError,
    401: AuthenticationError,
    402: PermissionDeniedError,
    403: PermissionDeniedError,
    404: NotFoundError,
    408: TimeoutError,
    409: ConflictError,
    413: BadRequestError,
    422: BadRequestError,
    429: RateLimitError,
    503: OverloadedError,
    529: OverloadedError,
}


def interrupted_stream(broken: StreamError, cause: LLMError) -> StreamError:
    """The error for a stream cut short by a transport failure.

    ``broken`` is the stream decoder's :class:`StreamError` (message, partial reply, request id);
    ``cause`` the transport's error. A timeout gives a :class:`StreamTimeoutError`, a connection
    failure a :class:`StreamConnectionError`, carrying everything ``broken`` does; anything
    else gives ``broken`` itself. Not retryable as made: the stream, which knows whether content
    reached the caller, decides (``llmunified._retry.retryable_before_content``).
    """
    if isinstance(cause, TimeoutError):
        cls: type = StreamTimeoutError
    elif isinstance(cause, ConnectionError):
        cls = StreamConnectionError
    else:
        return broken
    return cls(broken.message, provider=broken.provider or cause.provider, status=broken.status,
               request_id=broken.request_id, retryable=False, body=broken.body, response=broken.response,
               code=broken.code, error_type=broken.error_type, headers=broken.headers)


def error_for_status(status: int) -> type:
    """The :class:`APIError` subclass (or TimeoutError for 408) that stands for an HTTP status."""
    cls = _STATUS_CLASSES.get(status)
    if cls is not None:
        return cls
    if status >= 500:
        return ServerError
    return APIError
