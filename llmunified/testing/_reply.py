"""The scripted-reply data model of the emulator: :class:`Reply` and :class:`ToolCallSpec`.

Both are plain dataclasses written in provider-neutral ("unified") terms. The dialects in
``_dialects/`` (one module per provider) turn one :class:`Reply` into the wire format of
whichever endpoint asked for it.
"""
from llmunified._dc import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union


@dataclass
class ToolCallSpec:
    """One tool call the scripted model makes.

    ``arguments`` is normally a dict. It is rendered as a JSON *string* for OpenAI, as an
    object for Anthropic (``tool_use.input``) and Ollama. A ``str`` is also accepted and sent
    as-is where the wire carries a string (OpenAI ``function.arguments``, Anthropic
    ``partial_json`` fragments), which lets a test feed a client broken JSON arguments.

    ``id`` defaults to a deterministic provider-style id (``call_...`` for OpenAI and Ollama,
    ``toolu_...`` for Anthropic); Gemini sends no id unless one is given, like the real API.
    """

    name: str
    arguments: Union[Dict[str, Any], str] = field(default_factory=dict)
    id: Optional[str] = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError("ToolCallSpec.name must be a non-empty string")
        if self.arguments is None:
            self.arguments = {}
        if not isinstance(self.arguments, (dict, str)):
            raise TypeError(
                "ToolCallSpec.arguments must be a dict (or a raw JSON str), got %s"
                % type(self.arguments).__name__
            )


@dataclass
class Reply:
    """A scripted answer, served to the next chat request whatever its provider.

    Content:
        text: the assistant text.
        thinking: reasoning text (Anthropic ``thinking`` block, Ollama ``message.thinking``;
            OpenAI only if the emulator was built with ``openai_reasoning_field``).
        thinking_signature: the signature of the thinking (Anthropic ``signature``, Gemini
            ``thoughtSignature``); a deterministic opaque one is generated when None. Gemini
            signs a reply only when it has ``thinking`` or ``thinking_signature``.
        tool_calls: list of :class:`ToolCallSpec`.
        finish_reason: unified ``stop|length|tool_calls|content_filter`` (other strings are sent
            verbatim). Default: ``tool_calls`` if there are tool calls, ``content_filter`` if
            ``prompt_blocked``, else ``stop``.
        prompt_blocked: the service refused the prompt itself, before generating anything.
            ``True`` for a generic safety reason, or the provider's reason code as a str (Gemini
            ``promptFeedback.blockReason``: ``SAFETY``, ``PROHIBITED_CONTENT``, ``BLOCKLIST``,
            ``OTHER``). Gemini answers with no candidates at all; dialects without such a shape
            render the reply as usual (its finish reason defaults to ``content_filter``).
            Azure answers a blocked prompt with HTTP 400 ``content_filter`` naming the category
            (the str, default ``hate``).
        plan: the model's plan before its tool calls (Cohere ``tool_plan``; other dialects
            ignore it).
        citations: spans of ``text`` grounded in sources, each a dict ``{"start", "end",
            "text", "sources": [...], "type"?}`` (Cohere ``citations``; other dialects ignore
            them).
        usage: ``(input_tokens, output_tokens)``; input counts cached tokens too (unified
            meaning). Default: about one token per 4 characters, at least 1.
        cache_read, cache_write, reasoning_tokens: extra usage numbers.
        model: model name to report (default: the requested one). id: response/message id.
        endpoint: ``"count_tokens"`` queues the reply for the next token-counting request only
            (an error, a raw body, or ``usage=(n, 0)`` as the count); token-counting requests
            take no other reply, so they never consume the chat replies queued around them.

    Errors:
        status: HTTP status; >= 400 gives an error body in the provider's shape.
        error: the error message (needs ``status >= 400``).
        error_type, error_code: override the provider's error ``type`` / ``code``.
        headers: extra response headers (they win over the emulator's own).
        body, content_type: raw body sent verbatim instead of any rendering.

    Streaming (only when the request asked to stream):
        chunk_size: cut the whole body into writes of this many bytes (None: one write per
            event). delay: seconds to sleep between writes (for an answer that is not streamed:
            seconds to wait before sending it). break_after: drop the connection
            after this many events (no terminator, no final chunk). stream_error: after the
            text, send this error message inside the 200 stream. repeat_chunks: send ``text``
            as this many identical content deltas (the content becomes ``text * n``).
    """

    text: str = ""
    thinking: Optional[str] = None
    thinking_signature: Optional[str] = None
    tool_calls: List[ToolCallSpec] = field(default_factory=list)
    finish_reason: Optional[str] = None
    usage: Optional[Tuple[int, int]] = None
    cache_read: int = 0
    cache_write: int = 0
    reasoning_tokens: int = 0
    model: Optional[str] = None
    id: Optional[str] = None
    # errors and raw bodies
    status: int = 200
    error: Optional[str] = None
    error_type: Optional[str] = None
    error_code: Optional[str] = None
    headers: Dict[str, str] = field(default_factory=dict)
    body: Optional[Union[str, bytes]] = None
    content_type: str = "application/json"
    # streaming controls
    chunk_size: Optional[int] = None
    delay: float = 0.0
    break_after: Optional[int] = None
    stream_error: Optional[str] = None
    repeat_chunks: Optional[int] = None
    # a prompt refused before generation (last, so positional arguments keep their meaning)
    prompt_blocked: Union[bool, str] = False
    plan: Optional[str] = None
    citations: List[Dict[str, Any]] = field(default_factory=list)
    #: None: the next request that takes scripted replies; "count_tokens": only the next
    #: token-counting request (which otherwise computes its count and takes no queued reply)
    endpoint: Optional[str] = None

    def __post_init__(self) -> None:
        if not isinstance(self.text, str):
            raise TypeError("Reply.text must be a str")
        calls = []
        for call in self.tool_calls or []:
            if isinstance(call, ToolCallSpec):
                calls.append(call)
            elif isinstance(call, Mapping):
                calls.append(ToolCallSpec(**dict(call)))
            elif isinstance(call, (tuple, list)):
                calls.append(ToolCallSpec(*call))
            else:
                raise TypeError("Reply.tool_calls items must be ToolCallSpec, got %r" % (call,))
        self.tool_calls = calls
        if not isinstance(self.status, int) or not 100 <= self.status <= 599:
            raise ValueError("Reply.status must be an HTTP status code, got %r" % (self.status,))
        if self.error is not None and self.status < 400 and self.body is None:
            raise ValueError(
                "Reply(error=...) needs status >= 400; use stream_error for an error "
                "inside a 200 stream"
            )
        if self.usage is not None:
            if len(self.usage) != 2:
                raise ValueError("Reply.usage must be (input_tokens, output_tokens)")
            self.usage = (int(self.usage[0]), int(self.usage[1]))
        if self.chunk_size is not None and self.chunk_size < 1:
            raise ValueError("Reply.chunk_size must be >= 1")
        if self.break_after is not None and self.break_after < 0:
            raise ValueError("Reply.break_after must be >= 0")
        if self.repeat_chunks is not None and self.repeat_chunks < 1:
            raise ValueError("Reply.repeat_chunks must be >= 1")
        if self.delay < 0:
            raise ValueError("Reply.delay must be >= 0")
        if not isinstance(self.prompt_blocked, (bool, str)):
            raise TypeError("Reply.prompt_blocked must be a bool or a reason code str")
        self.headers = dict(self.headers or {})
        if self.endpoint not in (None, "count_tokens"):
            raise ValueError("Reply.endpoint must be None or 'count_tokens', got %r" % (self.endpoint,))

    # ---- derived values shared by the renderers -------------------------------------------
    @property
    def is_error(self) -> bool:
        return self.status >= 400

    @property
    def full_text(self) -> str:
        """The complete assistant text (``text`` repeated ``repeat_chunks`` times)."""
        return self.text * (self.repeat_chunks or 1)

    def unified_finish_reason(self) -> str:
        if self.finish_reason:
            return self.finish_reason
        if self.tool_calls:
            return "tool_calls"
        return "content_filter" if self.prompt_blocked else "stop"
