"""Helpers shared by the dialects' wire renderers (``_dialects/openai.py``, ...)."""
import base64
import hashlib
import json
import re
import time
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Tuple

from ._reply import Reply

_WORD = re.compile(r"\s*\S+|\s+")


def dumps(obj: Any) -> bytes:
    """Compact JSON as UTF-8 bytes (non-ASCII characters stay raw, as the real services send)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def split_words(text: str) -> List[str]:
    """Split text into token-like pieces (a word with its leading whitespace)."""
    return _WORD.findall(text) if text else []


def split_fixed(text: str, size: int) -> List[str]:
    return [text[i:i + size] for i in range(0, len(text), size)]


def estimate_tokens(chars: int) -> int:
    """Deterministic token estimate: one token per 4 characters, at least 1."""
    return max(1, (chars + 3) // 4)


def short_hash(*parts: Any, length: int = 24) -> str:
    """Deterministic alphanumeric string derived from ``parts``."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).digest()
    text = base64.b32encode(digest).decode("ascii").rstrip("=").lower()
    while len(text) < length:
        text += text
    return text[:length]


def thinking_signature(thinking: str) -> str:
    """A deterministic, opaque, base64-looking signature for a thinking block."""
    digest = hashlib.sha256(b"llmunified-emulator-thinking\x00" + thinking.encode("utf-8")).digest()
    return base64.b64encode(b"EmuSig\x01" + digest + digest[:9]).decode("ascii")


def tool_arguments_json(arguments: Any) -> str:
    """Arguments as the JSON string a provider would stream (a str is used verbatim)."""
    if isinstance(arguments, str):
        return arguments
    return json.dumps(arguments, ensure_ascii=False)


def tool_arguments_object(arguments: Any) -> Any:
    """Arguments as an object (a str is parsed; if that fails it is returned as-is)."""
    if isinstance(arguments, str):
        try:
            return json.loads(arguments)
        except ValueError:
            return arguments
    return arguments


def content_text(content: Any) -> str:
    """Plain text of a message ``content`` in any of the three providers' shapes."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        out = []
        for part in content:
            if isinstance(part, str):
                out.append(part)
            elif isinstance(part, dict):
                if isinstance(part.get("text"), str):
                    out.append(part["text"])
                elif part.get("type") == "tool_result":
                    out.append(content_text(part.get("content")))
        return "".join(out)
    return ""


def prompt_chars(body: Any) -> int:
    """Number of characters of prompt text in a chat request body (for usage estimates)."""
    if not isinstance(body, dict):
        return 0
    total = len(content_text(body.get("system")))
    for msg in body.get("messages") or []:
        if isinstance(msg, dict):
            total += len(content_text(msg.get("content")))
    return total


def last_user_text(body: Any) -> str:
    """Text of the newest ``user`` message of a chat request (for the default echo reply)."""
    if not isinstance(body, dict):
        return ""
    for msg in reversed(body.get("messages") or []):
        if isinstance(msg, dict) and msg.get("role") == "user":
            return content_text(msg.get("content"))
    return ""


class Context:
    """Everything a renderer needs to know about the request being answered."""

    def __init__(
        self,
        body: Any,
        request_id: str,
        seq: int,
        reasoning_field: Optional[str] = None,
        ollama_legacy_tool_calls: bool = False,
        params: Optional[Mapping[str, str]] = None,
    ) -> None:
        self.body = body if isinstance(body, dict) else {}
        self.request_id = request_id
        self.seq = seq
        self.created = int(time.time())
        self.reasoning_field = reasoning_field
        self.ollama_legacy_tool_calls = ollama_legacy_tool_calls
        self.params = dict(params or {})

    def model(self, reply: Reply) -> str:
        """The model to report: the reply's, the request body's, or the one in the URL path."""
        if reply.model:
            return reply.model
        model = self.body.get("model")
        if isinstance(model, str) and model:
            return model
        return self.params.get("model") or "emulator-model"

    def tokens(self, reply: Reply) -> Tuple[int, int]:
        """(input, output) in unified terms: input includes cached tokens."""
        if reply.usage is not None:
            return reply.usage
        out_chars = len(reply.full_text) + len(reply.thinking or "")
        for call in reply.tool_calls:
            out_chars += len(call.name) + len(tool_arguments_json(call.arguments))
        inp = estimate_tokens(prompt_chars(self.body)) + reply.cache_read + reply.cache_write
        return inp, estimate_tokens(out_chars)

    def tool_id(self, prefix: str, index: int, explicit: Optional[str]) -> str:
        if explicit:
            return explicit
        return prefix + short_hash(prefix, self.seq, index, length=24)


def text_pieces(reply: Reply) -> Iterator[str]:
    """The content deltas to stream for ``reply.text``."""
    if reply.repeat_chunks:
        if reply.text:
            for _ in range(reply.repeat_chunks):
                yield reply.text
        return
    for piece in split_words(reply.text):
        yield piece


def text_events(reply: Reply, frame: Callable[[str], bytes], reuse: bool = True) -> Iterator[bytes]:
    """One framed event per content delta of ``reply.text``.

    With ``repeat_chunks`` and ``reuse`` the delta is framed once and the same bytes repeated
    (benchmarks stream thousands of them).
    """
    if reuse and reply.repeat_chunks and reply.text:
        same = frame(reply.text)
        for _ in range(reply.repeat_chunks):
            yield same
        return
    for piece in text_pieces(reply):
        yield frame(piece)


def merge_headers(base: Dict[str, str], extra: Dict[str, str]) -> List[Tuple[str, str]]:
    """Base headers overridden (case-insensitively) by ``extra``."""
    out: Dict[str, Tuple[str, str]] = {}
    for name, value in list(base.items()) + list(extra.items()):
        out[name.lower()] = (name, str(value))
    return list(out.values())
