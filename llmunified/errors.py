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

Which class is raised::

    LLMError
    |-- ConfigurationError          unknown provider, missing API key, bad option
    |-- ValidationError             an invalid message, tool or option of ours (also ValueError)
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
    |-- TimeoutError                connect or read timed out
    |-- ConnectionError             could not connect, connection dropped before a reply
    |-- MalformedResponseError      the reply is not what the provider's API promises
    |-- StreamError                 a stream broke or carried an error after HTTP 200
    |-- StructuredOutputError       structured output failed validation on every attempt
    `-- ToolLoopError               the tool loop reached max_rounds (transcript on .messages)
"""
from typing import Any, Dict, Mapping, Optional

__all__ = [
    "LLMError",
    "ConfigurationError",
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
    "StructuredOutputError",
    "ToolLoopError",
    "ContextBudgetExceededError",
    "SessionFileError",
    "SessionVersionError",
    "error_for_status",
]


class LLMError(Exception):
    """Base class of every error raised by llmunified."""

    #: default for ``retryable`` when the constructor is not told
    default_retryable = False

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


class TimeoutError(LLMError):  # noqa: A001 - deliberately mirrors requests.exceptions naming
    """Connecting or reading timed out."""

    default_retryable = True


class ConnectionError(LLMError):  # noqa: A001
    """The connection could not be made or dropped before a reply arrived."""

    default_retryable = True


class MalformedResponseError(LLMError):
    """The provider's reply is not valid JSON or not the shape its API promises.

    ``body`` holds the raw text received.
    """


class StreamError(LLMError):
    """A stream broke (connection dropped, truncated event) or carried an error after HTTP 200.

    ``response`` holds everything received before the failure (partial text, tool calls, usage).
    """


class StructuredOutputError(LLMError):
    """Structured output did not validate on any attempt.

    ``attempts`` holds the raw text of each attempt, ``errors`` the validation errors of each,
    ``usage`` the total usage of all attempts.
    """

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


def error_for_status(status: int) -> type:
    """The :class:`APIError` subclass (or TimeoutError for 408) that stands for an HTTP status."""
    cls = _STATUS_CLASSES.get(status)
    if cls is not None:
        return cls
    if status >= 500:
        return ServerError
    return APIError
