"""The emulator's token-counting endpoints: Anthropic ``/v1/messages/count_tokens``, Gemini
``:countTokens`` and, on Vertex AI, Gemini's ``:countTokens`` and Claude's
``count-tokens:rawPredict``.

The count is deterministic and easy to reproduce in a test (:func:`count_text`,
:func:`count_request`): every word and every punctuation mark of every text the request carries
(message text, system prompt, tool names, descriptions and schemas, tool calls and results) is
one token; each message costs :data:`PER_MESSAGE` more, each image :data:`PER_IMAGE`. Field
names, roles, the model name and other wire bookkeeping cost nothing. A scripted reply queued
with ``endpoint="count_tokens"`` is taken by the next counting request (and by no other): an
error status or a raw body is sent as for chat, ``usage=(n, 0)`` makes the count ``n``, and its
headers and delay apply.

Each function checks the request as the real endpoint would (the fields it takes, the ones it
refuses, the model it names) and answers 400 in the dialect's error shape, noted on
``request.violations``, when it breaks a rule.
"""
import re
from typing import TYPE_CHECKING, Any, Dict, Optional

from ._render import dumps

if TYPE_CHECKING:  # pragma: no cover
    from ._dialects._base import Answer, Dialect
    from ._request import RecordedRequest

__all__ = ["PER_MESSAGE", "PER_IMAGE", "count_text", "count_request", "anthropic", "gemini", "vertex_gemini"]

#: tokens each message (Anthropic ``messages`` entry, Gemini ``contents`` entry) adds
PER_MESSAGE = 3
#: tokens of one image (inline data or a file reference)
PER_IMAGE = 258
_PIECES = re.compile(r"\w+|[^\w\s]", re.UNICODE)
#: keys whose string values are bookkeeping, not text the model reads
_SKIP = frozenset(("role", "type", "model", "anthropic_version", "mimeType", "media_type", "mime_type", "id",
                   "tool_use_id", "signature", "thoughtSignature", "cache_control", "detail", "source"))
_IMAGE_KEYS = frozenset(("inlineData", "fileData", "inline_data", "file_data"))

#: what Anthropic's count_tokens takes (it refuses the rest: max_tokens, stream, temperature ...)
_ANTHROPIC_FIELDS = frozenset(("model", "messages", "system", "tools", "tool_choice", "thinking", "mcp_servers"))
#: what Vertex AI's countTokens takes
_VERTEX_FIELDS = frozenset(("contents", "systemInstruction", "tools", "generationConfig", "instances", "model"))


class _Bad(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def count_text(text: str) -> int:
    """Tokens of one text: its words and punctuation marks."""
    return len(_PIECES.findall(text))


def _walk(value: Any, key: Optional[str] = None) -> int:
    if isinstance(value, str):
        return 0 if key in _SKIP else count_text(value)
    if isinstance(value, dict):
        if value.get("type") == "image":  # an Anthropic image block
            return PER_IMAGE
        total = 0
        for k, v in value.items():
            if k in _IMAGE_KEYS:
                total += PER_IMAGE
            elif k not in _SKIP:
                total += _walk(v, k)
        return total
    if isinstance(value, list):
        return sum(_walk(v, key) for v in value)
    return 0


def count_request(body: Dict[str, Any]) -> int:
    """The emulator's count of a counting request's body (any of the three shapes)."""
    wrapped = body.get("generateContentRequest")
    inner: Dict[str, Any] = wrapped if isinstance(wrapped, dict) else body
    messages = inner.get("messages") if "messages" in inner else inner.get("contents")
    total = PER_MESSAGE * len(messages) if isinstance(messages, list) else 0
    for key in ("messages", "contents", "system", "systemInstruction", "tools"):
        if key in inner:
            total += _walk(inner[key], key)
    return total


def _answer(dialect: "Dialect", request: "RecordedRequest", build: Any) -> "Answer":
    from ._dialects._base import Answer

    try:
        body = request.json
        if not isinstance(body, dict):
            raise _Bad("The request body must be a JSON object.")
        out = build(body)
    except _Bad as bad:
        request.violations.append(bad.message)
        return Answer(bad.status, dialect.error_body(bad.status, bad.message), dialect.json_content_type)
    return Answer(200, dumps(out), dialect.json_content_type)


def _scripted(request: "RecordedRequest", computed: int) -> int:
    reply = getattr(request, "reply", None)
    usage = getattr(reply, "usage", None)
    return usage[0] if usage else computed


def _messages_rules(body: Dict[str, Any]) -> None:
    for key in sorted(body):
        if key not in _ANTHROPIC_FIELDS and key != "anthropic_version":
            raise _Bad("%s: Extra inputs are not permitted" % key)
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise _Bad("model: Field required")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _Bad("messages: Field required" if messages is None else "messages: at least one message is required")
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in ("user", "assistant"):
            raise _Bad("messages.%d.role: Input should be 'user' or 'assistant'" % i)


def anthropic(dialect: "Dialect", request: "RecordedRequest", vertex: bool = False) -> "Answer":
    """``POST /v1/messages/count_tokens`` -> ``{"input_tokens": N}``; on Vertex AI
    ``.../publishers/anthropic/models/count-tokens:rawPredict``, whose body also needs
    ``anthropic_version`` (and names the model, which the URL does not)."""

    def build(body: Dict[str, Any]) -> Dict[str, Any]:
        if vertex:
            if body.get("anthropic_version") != "vertex-2023-10-16":
                raise _Bad("anthropic_version: must be 'vertex-2023-10-16' on Vertex AI")
        elif "anthropic_version" in body:
            raise _Bad("anthropic_version: Extra inputs are not permitted")
        _messages_rules(body)
        return {"input_tokens": _scripted(request, count_request(body))}

    return _answer(dialect, request, build)


def gemini(dialect: "Dialect", request: "RecordedRequest") -> "Answer":
    """``POST models/{model}:countTokens`` -> ``{"totalTokens": N, "promptTokensDetails": [...]}``.
    The body is ``contents`` or ``generateContentRequest`` (naming ``models/{model}``), never
    both."""
    model = request.params.get("model", "")

    def build(body: Dict[str, Any]) -> Dict[str, Any]:
        extra = sorted(set(body) - {"contents", "generateContentRequest"})
        if extra:
            raise _Bad('Invalid JSON payload received. Unknown name "%s": Cannot find field.' % extra[0])
        if "contents" in body and "generateContentRequest" in body:
            raise _Bad("contents and generateContentRequest are mutually exclusive; send one of them")
        inner = body.get("generateContentRequest", body)
        if not isinstance(inner, dict):
            raise _Bad("generateContentRequest must be an object")
        if "generateContentRequest" in body and inner.get("model") != "models/" + model:
            raise _Bad("* CountTokensRequest.generate_content_request.model: must be models/%s, as in the URL"
                       % model)
        if not isinstance(inner.get("contents"), list) or not inner["contents"]:
            raise _Bad("* CountTokensRequest: contents is not specified")
        return _google_count(request, body)

    return _answer(dialect, request, build)


def vertex_gemini(dialect: "Dialect", request: "RecordedRequest") -> "Answer":
    """Vertex AI's ``:countTokens`` for Gemini: ``contents``, ``systemInstruction`` and ``tools``
    at the top level -> ``{"totalTokens", "totalBillableCharacters", "promptTokensDetails"}``."""

    def build(body: Dict[str, Any]) -> Dict[str, Any]:
        extra = sorted(set(body) - _VERTEX_FIELDS)
        if extra:
            raise _Bad('Invalid JSON payload received. Unknown name "%s": Cannot find field.' % extra[0])
        if not isinstance(body.get("contents"), list) or not body["contents"]:
            raise _Bad("contents is required")
        out = _google_count(request, body)
        out["totalBillableCharacters"] = sum(len(t) for t in _texts(body.get("contents")))
        return out

    return _answer(dialect, request, build)


def _google_count(request: "RecordedRequest", body: Dict[str, Any]) -> Dict[str, Any]:
    n = _scripted(request, count_request(body))
    return {"totalTokens": n, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": n}]}


def _texts(value: Any) -> Any:
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "text" and isinstance(v, str):
                yield v
            else:
                yield from _texts(v)
    elif isinstance(value, list):
        for v in value:
            yield from _texts(v)
