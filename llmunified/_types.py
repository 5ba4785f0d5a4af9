"""Plain dataclasses for messages, content parts, tools, usage and responses.

Validation happens at construction (``__post_init__``) so a bad message fails where it is
written, not later inside a provider codec.
"""
from __future__ import annotations
import json
from ._dc import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Literal, Mapping, Optional, Sequence, Tuple, Union, cast

from .errors import ValidationError

if TYPE_CHECKING:  # pragma: no cover - the cost module loads on the first .cost
    from ._cost import Cost

__all__ = [
    "TextPart",
    "ImagePart",
    "ToolCall",
    "ToolResult",
    "ThinkingPart",
    "Part",
    "Message",
    "system",
    "user",
    "assistant",
    "tool_result",
    "Tool",
    "Usage",
    "Citation",
    "Choice",
    "Response",
    "ModelInfo",
    "TokenCount",
    "Embeddings",
    "ROLES",
    "FINISH_REASONS",
]

ROLES = ("system", "developer", "user", "assistant", "tool")
FINISH_REASONS = ("stop", "length", "tool_calls", "content_filter", "error", "other")


@dataclass
class TextPart:
    """A piece of text."""

    text: str
    type: Literal["text"] = field(default="text", init=False)

    def __post_init__(self) -> None:
        if not isinstance(self.text, str):
            raise ValidationError(f"TextPart.text must be a str, got {type(self.text).__name__}")


@dataclass
class ImagePart:
    """An image, by URL (``https://`` or ``data:``) or as base64 ``data`` with a ``media_type``."""

    url: Optional[str] = None
    data: Optional[str] = None
    media_type: Optional[str] = None
    detail: Optional[str] = None
    type: Literal["image"] = field(default="image", init=False)

    def __post_init__(self) -> None:
        for name in ("url", "data", "media_type", "detail"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise ValidationError(f"ImagePart.{name} must be a string, got {type(value).__name__}")
        if not self.url and not self.data:
            raise ValidationError("ImagePart needs a url or base64 data (with media_type); got neither")
        if self.url and self.url.startswith("data:") and not self.data:
            # Normalise data URLs so every codec sees (media_type, data).
            head, sep, payload = self.url.partition(",")
            if not sep or ";base64" not in head:
                raise ValidationError("ImagePart data URL must look like data:<type>;base64,<data>")
            self.media_type = head[5:].split(";", 1)[0] or self.media_type
            self.data = payload
            self.url = None
        if self.data and not self.media_type:
            raise ValidationError("ImagePart with base64 data needs media_type, e.g. 'image/png'")

    def as_data_url(self) -> str:
        if self.url:
            return self.url
        return f"data:{self.media_type};base64,{self.data}"


@dataclass
class ToolCall:
    """A tool call made by the model. ``arguments`` is the parsed JSON object."""

    id: str
    name: str
    arguments: Dict[str, Any] = field(default_factory=dict)
    #: the arguments exactly as the provider sent them, when they came as a JSON string; if that
    #: string was not a valid JSON object (e.g. cut off by max_tokens), ``arguments`` is ``{}``
    #: and this keeps what was received
    raw_arguments: Optional[str] = field(default=None, compare=False, repr=False)
    #: an opaque signature the provider attached to the call (Gemini's ``thoughtSignature`` on a
    #: ``functionCall`` part), sent back unchanged with the call in later turns. Left out of a
    #: serialised part while None (the ``dataclasses_json`` metadata: ``config(exclude=...)``).
    signature: Optional[str] = field(default=None, repr=False,
                                     metadata={"dataclasses_json": {"exclude": lambda v: v is None}})
    type: Literal["tool_call"] = field(default="tool_call", init=False)

    def __post_init__(self) -> None:
        if not self.name:
            raise ValidationError("ToolCall needs a name")
        if not isinstance(self.arguments, dict):
            raise ValidationError(
                f"ToolCall.arguments must be a dict (parsed JSON), got {type(self.arguments).__name__}")

    def arguments_json(self) -> str:
        """The arguments as a JSON string (the provider's own text when it is valid)."""
        if self.raw_arguments is not None and self.raw_arguments.strip() and self.arguments_valid:
            return self.raw_arguments
        return json.dumps(self.arguments, ensure_ascii=False, separators=(",", ":"))

    @property
    def arguments_valid(self) -> bool:
        """False when the provider's argument text was not a JSON object."""
        if self.raw_arguments is None or self.arguments:
            return True
        return _parses_to_object(self.raw_arguments)


def _parses_to_object(text: str) -> bool:
    if not text.strip():
        return True  # an empty argument string means "no arguments"
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def parse_arguments(text: Optional[str]) -> Dict[str, Any]:
    """Parse a tool call's JSON argument text; ``{}`` when empty or not a JSON object."""
    if not text or not text.strip():
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


@dataclass
class ToolResult:
    """The result of running a tool, sent back to the model in a ``tool`` message."""

    tool_call_id: str
    content: Any = ""
    name: Optional[str] = None
    is_error: bool = False
    type: Literal["tool_result"] = field(default="tool_result", init=False)

    def __post_init__(self) -> None:
        if not self.tool_call_id:
            raise ValidationError("ToolResult needs the tool_call_id of the call it answers")

    @property
    def text(self) -> str:
        """The content as text (JSON-encoded when it is not a string)."""
        if isinstance(self.content, str):
            return self.content
        return json.dumps(self.content, ensure_ascii=False)


@dataclass
class ThinkingPart:
    """Reasoning text from the model. ``signature`` (Anthropic) must be sent back unchanged.

    ``redacted`` blocks carry opaque ``data`` instead of text.
    """

    text: str = ""
    signature: Optional[str] = None
    redacted: bool = False
    data: Optional[str] = None
    type: Literal["thinking"] = field(default="thinking", init=False)


Part = Union[TextPart, ImagePart, ToolCall, ToolResult, ThinkingPart]
_PART_TYPES = (TextPart, ImagePart, ToolCall, ToolResult, ThinkingPart)


@dataclass
class Message:
    """One conversation turn. ``content`` is a string or a list of parts."""

    role: str
    content: Union[str, List[Part]] = ""
    name: Optional[str] = None

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValidationError(f"unknown message role {self.role!r}; use one of {', '.join(ROLES)}")
        content = self.content
        if content is None:
            self.content = content = ""
        if isinstance(content, str):
            if self.role == "tool":
                raise ValidationError(
                    "a tool message needs a ToolResult part (with tool_call_id), not plain text; "
                    "use llm.tool_result(call_id, content)")
            return
        if isinstance(content, (tuple, list)):
            parts = list(content)
            for p in parts:
                if not isinstance(p, _PART_TYPES):
                    raise ValidationError(
                        f"message content parts must be TextPart/ImagePart/ToolCall/ToolResult/ThinkingPart, "
                        f"got {type(p).__name__}")
            if self.role == "tool" and not any(isinstance(p, ToolResult) for p in parts):
                raise ValidationError("a tool message must contain at least one ToolResult")
            if self.role != "tool" and any(isinstance(p, ToolResult) for p in parts):
                raise ValidationError("ToolResult parts belong in a message with role 'tool'")
            if self.role != "assistant" and any(isinstance(p, (ToolCall, ThinkingPart)) for p in parts):
                raise ValidationError("ToolCall and ThinkingPart parts belong in an assistant message")
            self.content = parts
            return
        raise ValidationError(f"message content must be a str or a list of parts, got {type(content).__name__}")

    @property
    def parts(self) -> List[Part]:
        """The content as a list of parts (a string becomes one TextPart)."""
        if isinstance(self.content, str):
            return [TextPart(self.content)] if self.content else []
        return self.content

    @property
    def text(self) -> str:
        """All text parts joined."""
        if isinstance(self.content, str):
            return self.content
        return "".join(p.text for p in self.content if isinstance(p, TextPart))

    @property
    def tool_calls(self) -> List[ToolCall]:
        if isinstance(self.content, str):
            return []
        return [p for p in self.content if isinstance(p, ToolCall)]

    @property
    def thinking(self) -> str:
        if isinstance(self.content, str):
            return ""
        return "".join(p.text for p in self.content if isinstance(p, ThinkingPart))


def system(text: str) -> Message:
    """A system message."""
    return Message("system", text)


def user(content: Union[str, Sequence[Part]]) -> Message:
    """A user message (text, or a list of parts such as text and images)."""
    return Message("user", content if isinstance(content, str) else list(content))


def assistant(content: Union[str, Sequence[Part]] = "", tool_calls: Sequence[ToolCall] = ()) -> Message:
    """An assistant message, optionally with the tool calls it made."""
    if tool_calls:
        parts: List[Part] = [TextPart(content)] if isinstance(content, str) and content else (
            [] if isinstance(content, str) else list(content))
        return Message("assistant", parts + list(tool_calls))
    return Message("assistant", content if isinstance(content, str) else list(content))


def tool_result(tool_call_id: str, content: Any, *, name: Optional[str] = None, is_error: bool = False) -> Message:
    """A ``tool`` message answering one tool call."""
    return Message("tool", [ToolResult(tool_call_id, content, name=name, is_error=is_error)])


@dataclass
class Tool:
    """A tool the model may call: a name, a description and a JSON Schema for its arguments.

    ``function`` (optional) is the Python callable the tool loop runs.
    """

    name: str
    description: str = ""
    parameters: Dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})
    function: Optional[Callable[..., Any]] = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValidationError("Tool needs a non-empty name")
        if not isinstance(self.parameters, dict):
            raise ValidationError(f"Tool {self.name!r}: parameters must be a JSON Schema dict")


@dataclass
class Usage:
    """Token counts. ``input_tokens`` includes cached tokens; ``output_tokens`` includes reasoning.

    ``estimated`` is True when any figure was estimated rather than reported by the provider.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    estimated: bool = False

    def __add__(self, other: "Usage") -> "Usage":
        if not isinstance(other, Usage):
            return NotImplemented
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.total_tokens + other.total_tokens,
            self.cache_read_tokens + other.cache_read_tokens,
            self.cache_write_tokens + other.cache_write_tokens,
            self.reasoning_tokens + other.reasoning_tokens,
            self.estimated or other.estimated,
        )


@dataclass
class Citation:
    """A span of the answer grounded in sources (Cohere's ``citations``, RAG ``documents``).

    ``start``/``end`` are character offsets into the response's text and ``text`` is that span
    (as the provider reported it); ``sources`` are the provider's source objects, unchanged (a
    document with its id and fields, a tool result); ``type`` is the provider's citation type
    when it gives one (``TEXT_CONTENT``, ``THINKING_CONTENT``...)."""

    text: str
    start: Optional[int] = None
    end: Optional[int] = None
    sources: List[Any] = field(default_factory=list)
    type: Optional[str] = None


@dataclass
class Choice:
    """One of the answers of a call made with ``n`` > 1 (:attr:`Response.choices`): its
    ``index`` (0 is the response's own ``message``), ``message`` and ``finish_reason``."""

    index: int
    message: Message
    finish_reason: str = "stop"

    @property
    def text(self) -> str:
        return self.message.text

    @property
    def tool_calls(self) -> List[ToolCall]:
        return self.message.tool_calls

    @property
    def thinking(self) -> str:
        return self.message.thinking


@dataclass
class Response:
    """What a completion returned.

    ``raw`` is the provider's decoded JSON (for a stream, the list of decoded events); it is left
    out of equality so a streamed response equals the non-streamed one for the same content.
    """

    message: Message
    finish_reason: str = "stop"
    usage: Usage = field(default_factory=Usage)
    model: Optional[str] = None
    provider: Optional[str] = None
    id: Optional[str] = None
    raw: Any = field(default=None, compare=False, repr=False)
    headers: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)
    #: the validated structured output, when the call asked for one (``response_format``)
    parsed: Any = field(default=None, repr=False)
    #: after ``Client.run``: every message the run added (assistant turns and tool results)
    messages: Optional[List[Message]] = field(default=None, compare=False, repr=False)
    #: the answer's grounding, when the provider cites sources (:class:`Citation`)
    citations: List[Citation] = field(default_factory=list, repr=False)
    #: after ``Client.run`` with ``caller_tools=``: the calls of this round the caller must run
    #: and answer (their arguments validated); ``messages`` then holds the transcript so far,
    #: including the results of the round's function tools. Continue with
    #: ``client.run(history + response.messages + [llm.tool_result(call.id, value), ...], ...)``
    pending_tool_calls: List[ToolCall] = field(default_factory=list, compare=False, repr=False)
    #: with ``n`` > 1, the answers after the first (``choices[1:]``); read :attr:`choices`
    other_choices: List[Choice] = field(default_factory=list, repr=False)
    #: the label of the Client that returned it (``Client(label=...)``, by default its model
    #: name): behind a Router, the entry that served the call
    label: Optional[str] = field(default=None, compare=False, repr=False)
    # Not fields (unannotated on purpose): how the reply was obtained, not what it says, so
    # equality, repr and saved files leave them out. The retry loop sets them when it retried.
    #: HTTP requests this reply took (1: no retry; a stream retried before content counts each)
    attempts = 1
    #: the seconds waited before each retry (see :class:`~llmunified.RetryPolicy`)
    waits = cast(Tuple[float, ...], ())
    #: the call's correlation id (with a tracer, or when the call was given ``correlation_id=``)
    correlation_id = cast(Optional[str], None)
    #: behind a Router: ``(label, error)`` of each entry tried before the one that served it
    #: (empty when the first entry tried answered)
    failovers = cast(Tuple[Tuple[str, BaseException], ...], ())

    @property
    def text(self) -> str:
        return self.message.text

    @property
    def tool_calls(self) -> List[ToolCall]:
        return self.message.tool_calls

    @property
    def thinking(self) -> str:
        return self.message.thinking

    @property
    def choices(self) -> List[Choice]:
        """Every answer of the call, in index order: one for a plain call, ``n`` for a call made
        with ``n=...`` (``client.complete(q, n=3).choices``). The first is this response's own
        ``message`` and ``finish_reason`` (what ``text``, ``tool_calls`` ... read); ``usage``
        covers them all."""
        return [Choice(0, self.message, self.finish_reason)] + self.other_choices

    @property
    def request_id(self) -> Optional[str]:
        """The provider's id for this request, from the reply's headers (``x-request-id``,
        ``request-id``, Azure's ``apim-request-id``): the thing to quote to its support."""
        h = self.headers
        return h.get("x-request-id") or h.get("request-id") or h.get("apim-request-id") if h else None

    @property
    def cost(self) -> Optional["Cost"]:
        """What this reply cost (:class:`~llmunified.Cost`: ``total``, its parts, currency and
        price date), priced from ``usage`` with the model registry's prices for ``provider`` and
        ``model`` (a dated version the provider reports resolves). ``None`` when a needed price
        is unknown (an unknown model, cache reads without a cache-read price): never a made-up 0.
        After ``Client.run`` or ``extract``, every billed round is priced and summed."""
        from ._cost import response_cost

        return response_cost(self)


@dataclass
class ModelInfo:
    """One model a provider offers, as ``Client.list_models()`` reports it.

    ``id`` is the name to put after ``provider/`` in a Client (Gemini's without its ``models/``
    prefix, Ollama's with its tag). The other fields are what the provider's listing says, or
    ``None`` where it says nothing: ``context_window`` (input tokens: Gemini's
    ``inputTokenLimit``, Cohere's ``context_length``, a compatible server's ``context_length`` /
    ``max_model_len``), ``max_output`` (Gemini's ``outputTokenLimit``), ``created`` (Unix
    seconds), ``owned_by``, ``display_name``, ``size`` in bytes and ``details`` (Ollama),
    ``modified_at`` (Ollama, as sent), ``methods`` (Gemini's ``supportedGenerationMethods``,
    Cohere's ``endpoints``). ``raw`` is the provider's entry, unchanged.

    This is what the server says; the bundled registry's facts about the model (limits,
    capabilities, prices) are :meth:`facts` (``llm.model_info``, a :class:`~llmunified.ModelFacts`).
    """

    id: str
    provider: str
    display_name: Optional[str] = None
    context_window: Optional[int] = None
    max_output: Optional[int] = None
    created: Optional[int] = None
    owned_by: Optional[str] = None
    size: Optional[int] = None
    modified_at: Optional[str] = None
    details: Optional[Dict[str, Any]] = field(default=None, repr=False)
    methods: Optional[List[str]] = field(default=None, repr=False)
    raw: Dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def name(self) -> str:
        """``provider/id``: what ``llm.Client(...)`` and ``llm.model_info(...)`` take."""
        return f"{self.provider}/{self.id}"

    def facts(self) -> Any:
        """The bundled registry's :class:`~llmunified.ModelFacts` for this model
        (``llm.model_info(self.name)``; ``known=False`` when the registry has no entry)."""
        from ._models import model_info

        return model_info(self.name)


@dataclass(frozen=True)
class TokenCount:
    """How many prompt tokens some messages (and tools) take: what ``Client.count_tokens()`` and
    ``llm.count_tokens()`` return.

    ``tokens`` the count; ``exact`` True only when the provider's own token-counting endpoint
    answered (Anthropic, Gemini, Vertex AI), never for a local count; ``source`` where the figure
    comes from: ``"provider"``, ``"tiktoken"`` (OpenAI's tokenizer, with the documented framing
    around it: close, not exact) or ``"estimate"`` (characters per token, calibrated per provider
    family); ``model`` the ``provider/model`` counted for; ``raw`` the provider's reply (None for
    a local count). ``int(count)`` is ``count.tokens``.
    """

    tokens: int
    exact: bool
    source: str
    model: str = ""
    raw: Optional[Dict[str, Any]] = field(default=None, compare=False, repr=False)

    def __int__(self) -> int:
        return self.tokens

    def __index__(self) -> int:
        return self.tokens


@dataclass(repr=False)
class Embeddings:
    """What ``Client.embed()`` returns: one vector per input, in the inputs' order.

    ``vectors`` is a list of float lists (base64 replies are decoded to the same floats);
    ``usage.input_tokens`` sums what the provider billed over every batch (``usage.estimated``
    when a provider tells nothing, as Gemini's API, and the figure is the library's estimate);
    ``model`` is the model the provider says answered (else the one asked for). ``raw`` holds,
    per request sent (in input order), the provider's reply without its vectors: ids, metadata,
    Vertex's per-input statistics, any other embedding types asked for through ``extra=``.

    It behaves as a sequence of vectors: ``len(e)``, ``e[0]``, ``for vector in e``.
    """

    vectors: List[List[float]]
    usage: Usage = field(default_factory=Usage)
    model: str = ""
    provider: str = ""
    raw: List[Dict[str, Any]] = field(default_factory=list, compare=False)

    @property
    def dimensions(self) -> Optional[int]:
        """The length of the vectors (None when there are none)."""
        return len(self.vectors[0]) if self.vectors else None

    @property
    def cost(self) -> Optional["Cost"]:
        """What the embeddings cost (:class:`~llmunified.Cost`, the model's input price from the
        bundled registry), or None when the price is unknown: never a made-up 0."""
        from ._cost import price_usage

        return price_usage(self.provider, self.model, self.usage)

    def __len__(self) -> int:
        return len(self.vectors)

    def __iter__(self) -> Any:
        return iter(self.vectors)

    def __getitem__(self, index: Any) -> Any:
        return self.vectors[index]

    def __repr__(self) -> str:
        return (f"Embeddings({len(self.vectors)} vectors of {self.dimensions} dimensions, model={self.model!r}, "
                f"provider={self.provider!r}, usage={self.usage!r})")
