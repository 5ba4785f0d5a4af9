"""Token counting for chat history truncation (sans-IO).

A counter turns one :class:`~llmunified.Message` into a number of prompt tokens. ChatSession
asks it once per message (the History caches the answer), so a counter may be slow-ish but must
be deterministic for a given message.

Four kinds:

``EstimateCounter(family)``  no dependency; characters-per-token ratios per provider family.
                             Always labelled ``estimated = True``.
``TiktokenCounter(model)``   OpenAI's real tokenizer when ``tiktoken`` is installed (extra
                             ``llmunified[tiktoken]``); falls back to the OpenAI estimate when it
                             is not, or when its encoding files cannot be loaded. tiktoken fetches
                             those files on first use; a failure to load them (offline) is said
                             once per process on the ``llmunified`` logger, with the fix
                             (``TIKTOKEN_CACHE_DIR``), and not tried again with the same module.
``FunctionCounter(fn)``      wraps a plain ``fn(message) -> int`` supplied by the user.
``ProviderCounter(local)``   ``token_counter="provider"``: figures from the provider's
                             token-counting endpoint, which ChatSession's I/O layer asks before
                             each turn (see the class; the difference method).

``counter_for(provider, model)`` picks one; ``as_counter(x, provider, model)`` turns whatever a
user passed as ``token_counter=`` (None, ``"local"``, ``"provider"``, a counter, or a function)
into a counter. ``count_tokens(model, messages, tools)`` (public as ``llm.count_tokens``) and
``local_count`` count a whole request locally: a :class:`~llmunified.TokenCount`, never exact.

Where the estimate's constants come from (rough published figures, not measurements of ours):

- OpenAI: "1 token ~= 4 characters of English text" (OpenAI help centre, *What are tokens and how
  to count them?*). Per message 3 framing tokens, +1 for a ``name``, +3 per request to prime the
  reply (OpenAI cookbook, *How to count tokens with tiktoken*, for gpt-3.5/gpt-4 chat formats).
  Images: 85 tokens at ``detail="low"``, otherwise 765 = a 1024x1024 image at high detail
  (85 base + 170 per 512-px tile, 4 tiles; OpenAI vision pricing docs).
- Anthropic: "a token approximately represents 3.5 English characters" (Anthropic docs, older
  glossary). Images: ~1,600 tokens, the documented ceiling (tokens ~= width*height/750; larger
  images are scaled down to about 1.15 megapixels). When tools are sent Anthropic adds a hidden
  tool-use system prompt of ~346 tokens (tool-use pricing table, Claude 4 / 3.7 models).
- Llama family (Ollama, LM Studio, vLLM, Groq, Together): no single tokenizer; SentencePiece
  models (Llama 2, Mistral) run at ~3.5 characters per token, tiktoken-style 128k vocabularies
  (Llama 3) nearer 4, so 3.5 errs on the safe side. Chat templates add ~5 tokens per message
  (Llama 3: ``<|start_header_id|>role<|end_header_id|>\\n\\n ... <|eot_id|>``). Images: 576
  tokens (LLaVA-1.5: a 336-px image in 14-px patches, 24x24).
- DeepSeek: "1 English character ~= 0.3 token, 1 Chinese character ~= 0.6 token" (DeepSeek API
  docs, *Token & Token Usage*).
- default: 3.5 characters per token, 4 framing tokens, 1,000 per image.

Non-ASCII text tokenizes far worse than English (a CJK character is often a whole token or more),
so each extra UTF-8 byte beyond the first of a character adds ``non_ascii`` tokens (e.g. OpenAI:
0.25 + 2 * 0.375 = 1 token per CJK character). JSON (tool arguments, tool results, schemas) is
counted at 80% of the text ratio: punctuation and quoted keys split into more tokens than prose.
Tool calls and tool results carry a fixed 8 tokens each for their id and framing (a guess: the
providers do not publish how tool turns are rendered).

Thinking is counted only where the codec sends it back: never for the OpenAI codec (Chat
Completions has no field for reasoning), only signed or redacted blocks for Anthropic, the text
for Ollama. Anthropic leaves thinking of earlier turns out of the context, so counting it there
errs high; the History's correction from reported usage absorbs that.
"""
from __future__ import annotations
import json
import logging
import math
import sys
from ._dc import dataclass
from typing import (Any, Callable, Dict, Iterable, List, Optional, Protocol, Sequence, Tuple, Union, cast,
                    runtime_checkable)

from ._types import ImagePart, Message, TextPart, ThinkingPart, TokenCount, ToolCall, ToolResult
from .errors import ConfigurationError, ValidationError

_log = logging.getLogger("llmunified")

__all__ = [
    "TokenCounter",
    "EstimateCounter",
    "TiktokenCounter",
    "FunctionCounter",
    "Family",
    "FAMILIES",
    "counter_for",
    "as_counter",
    "family_for",
    "encoding_for",
    "tiktoken_available",
    "tools_tokens",
    "prompt_overhead",
    "count_tokens",
    "local_count",
    "ProviderCounter",
    "CountPlan",
]


@runtime_checkable
class TokenCounter(Protocol):
    """What the History needs from a token counter.

    ``count(message)`` returns the prompt tokens the message costs (framing included);
    ``estimated`` says whether that is an approximation (then provider-reported usage may
    correct it); ``name`` identifies the counter in messages and files. A counter may also have
    ``per_request`` (tokens every request adds, e.g. reply priming) and ``tools_overhead``
    (tokens a provider adds whenever tools are sent); see :func:`prompt_overhead`.
    """

    # read-only properties: a plain attribute satisfies them, and so does a computed property
    # (TiktokenCounter's change when tiktoken turns out to be unavailable)
    @property
    def name(self) -> str:  # pragma: no cover - protocol
        ...

    @property
    def estimated(self) -> bool:  # pragma: no cover - protocol
        ...

    def count(self, message: Message) -> int:  # pragma: no cover - protocol
        ...


@dataclass(frozen=True)
class Family:
    """Calibration of the estimate for one provider family (see the module docstring)."""

    name: str
    chars_per_token: float
    non_ascii: float          # tokens added per UTF-8 byte beyond the first of a character
    per_message: int          # role and framing tokens of every message (and every tool result)
    per_name: int             # extra tokens when a message has a ``name``
    per_request: int          # tokens every request adds (reply priming)
    image: int                # fixed cost of one image
    image_low: int            # ... with detail="low" (OpenAI only; others: same as image)
    tools_overhead: int       # hidden prompt added when any tool is sent
    thinking: str             # which thinking parts are sent back: "none" | "signed" | "all"


_TOOL_FRAMING = 8  # id and framing of one tool call or tool result (a guess, see module doc)
_JSON_DENSITY = 0.8  # JSON packs fewer characters into a token than prose

FAMILIES: Dict[str, Family] = {f.name: f for f in (
    Family("openai", 4.0, 0.375, 3, 1, 3, 765, 85, 0, "none"),
    Family("anthropic", 3.5, 0.4, 3, 1, 0, 1600, 1600, 346, "signed"),
    Family("llama", 3.5, 0.4, 5, 1, 0, 576, 576, 0, "all"),
    Family("deepseek", 1 / 0.3, 0.15, 3, 1, 3, 1000, 1000, 0, "none"),
    Family("default", 3.5, 0.4, 4, 1, 0, 1000, 1000, 0, "all"),
)}
_FAMILY_ALIASES = {"ollama": "llama", "meta": "llama", "claude": "anthropic", "gpt": "openai"}
_THINKING_MODES = ("none", "signed", "all")


def _json_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    except (TypeError, ValueError):  # circular structures and the like: count their repr
        return str(value)


def _result_text(result: ToolResult) -> str:
    return _json_text(result.content)


class _PartCounter:
    """Shared walk over a message's parts; subclasses say how to count a piece of text."""

    family: Family
    thinking: str

    def text_tokens(self, text: str) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def json_tokens(self, text: str) -> float:
        return self.text_tokens(text)

    def image_tokens(self, part: ImagePart) -> int:
        return self.family.image_low if part.detail == "low" else self.family.image

    def count(self, message: Message) -> int:
        fam = self.family
        total = 0.0
        framed = False
        if message.name:
            total += fam.per_name + self.text_tokens(message.name)
        content = message.content
        if isinstance(content, str):
            total += self.text_tokens(content) if content else 0
        else:
            for p in content:
                if isinstance(p, TextPart):
                    total += self.text_tokens(p.text)
                elif isinstance(p, ToolCall):
                    total += _TOOL_FRAMING + self.text_tokens(p.name) + self.json_tokens(p.arguments_json())
                elif isinstance(p, ToolResult):
                    # The OpenAI codec sends one wire message per result: each pays the framing.
                    total += fam.per_message + _TOOL_FRAMING + self.json_tokens(_result_text(p))
                    framed = True
                elif isinstance(p, ImagePart):
                    total += self.image_tokens(p)
                elif isinstance(p, ThinkingPart):
                    total += self._thinking(p)
        if not framed:
            total += fam.per_message
        return int(math.ceil(total - 1e-9))

    def _thinking(self, p: ThinkingPart) -> float:
        mode = self.thinking
        if mode == "signed":  # Anthropic: signed blocks, and redacted ones (opaque data, sent verbatim)
            if p.redacted:
                return self.text_tokens(p.data or "")
            return self.text_tokens(p.text) if p.signature else 0
        if mode == "all":  # Ollama: the text of every block that has text
            return 0 if p.redacted else self.text_tokens(p.text)
        return 0


class EstimateCounter(_PartCounter):
    """Counts tokens from character counts, calibrated per provider family. No dependency.

    ``family`` is one of :data:`FAMILIES` (``"openai"``, ``"anthropic"``, ``"llama"``
    (alias ``"ollama"``), ``"deepseek"``, ``"default"``). ``thinking`` overrides which thinking
    parts count (``"none"``, ``"signed"``, ``"all"``); by default the family's codec decides.
    Always ``estimated = True``.
    """

    estimated = True

    def __init__(self, family: str = "default", *, thinking: Optional[str] = None) -> None:
        key = _FAMILY_ALIASES.get(family, family) if isinstance(family, str) else family
        fam = FAMILIES.get(key) if isinstance(key, str) else None
        if fam is None:
            raise ConfigurationError(
                f"unknown token-estimate family {family!r}; use one of {', '.join(sorted(FAMILIES))}")
        if thinking is not None and thinking not in _THINKING_MODES:
            raise ConfigurationError(f"thinking must be one of {', '.join(_THINKING_MODES)}, got {thinking!r}")
        self.family = fam
        self.thinking = thinking or fam.thinking
        self.name = "estimate:" + fam.name
        self.per_request = fam.per_request
        self.tools_overhead = fam.tools_overhead
        self._ratio = 1.0 / fam.chars_per_token
        self._json_ratio = self._ratio / _JSON_DENSITY

    def text_tokens(self, text: str) -> float:
        if text.isascii():
            return len(text) * self._ratio
        extra = len(text.encode("utf-8", "surrogatepass")) - len(text)
        return len(text) * self._ratio + extra * self.family.non_ascii

    def json_tokens(self, text: str) -> float:
        if text.isascii():
            return len(text) * self._json_ratio
        extra = len(text.encode("utf-8", "surrogatepass")) - len(text)
        return len(text) * self._json_ratio + extra * self.family.non_ascii

    def count_text(self, text: str) -> int:
        """Tokens of a bare piece of text (no message framing)."""
        return int(math.ceil(self.text_tokens(text) - 1e-9))

    def __repr__(self) -> str:
        return f"EstimateCounter({self.family.name!r}, thinking={self.thinking!r})"


# -- tiktoken ----------------------------------------------------------------------------------

# Model-name prefixes and their tiktoken encodings (tiktoken's own model table, restated so a
# model newer than the installed tiktoken still gets the right encoding). Longest prefix wins.
_ENCODINGS = (
    ("gpt-4o", "o200k_base"), ("gpt-4.1", "o200k_base"), ("gpt-4.5", "o200k_base"),
    ("gpt-5", "o200k_base"), ("gpt-oss", "o200k_base"), ("chatgpt-4o", "o200k_base"),
    ("o1", "o200k_base"), ("o3", "o200k_base"), ("o4", "o200k_base"), ("omni-moderation", "o200k_base"),
    ("gpt-4", "cl100k_base"), ("gpt-3.5", "cl100k_base"), ("gpt-35", "cl100k_base"),
    ("text-embedding-3", "cl100k_base"), ("text-embedding-ada-002", "cl100k_base"),
)
_DEFAULT_ENCODING = "o200k_base"  # every OpenAI chat model since gpt-4o


def _bare_model(model: Optional[str]) -> str:
    name = (model or "").strip().lower()
    if name.startswith("ft:"):  # fine-tunes: ft:gpt-4o-mini-2024-07-18:org::id
        name = name[3:]
    return name.rsplit("/", 1)[-1]  # openrouter-style "openai/gpt-4o"


def encoding_for(model: Optional[str]) -> str:
    """The tiktoken encoding name for an OpenAI model (``o200k_base`` or ``cl100k_base``)."""
    name = _bare_model(model)
    best = ""
    choice = _DEFAULT_ENCODING
    for prefix, encoding in _ENCODINGS:
        if name.startswith(prefix) and len(prefix) > len(best):
            best, choice = prefix, encoding
    return choice


def tiktoken_available() -> bool:
    """True when ``import tiktoken`` would succeed (checked without importing it)."""
    if "tiktoken" in sys.modules:
        return sys.modules["tiktoken"] is not None
    import importlib.util
    try:
        return importlib.util.find_spec("tiktoken") is not None
    except (ImportError, ValueError):
        return False


#: encodings tiktoken failed to load in this process (name -> (the tiktoken module, why)): not
#: tried again with the same module
_ENCODING_FAILURES: Dict[str, Tuple[Any, str]] = {}
_warned_offline = False


def _warn_tiktoken_offline(encoding: str, error: str) -> None:
    """Say once per process that tiktoken could not load its encoding files, and how to fix it."""
    global _warned_offline
    if _warned_offline:
        return
    _warned_offline = True
    _log.warning(
        "tiktoken is installed but could not load its %r encoding (%s); OpenAI token counts are estimates "
        "(source='estimate') until it can. tiktoken downloads its encoding files on first use: on a machine "
        "without network access set TIKTOKEN_CACHE_DIR to a directory pre-seeded with them (see 'Counting "
        "tokens' in the llmunified README).", encoding, _short(error, 300))


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."


class TiktokenCounter(_PartCounter):
    """OpenAI's tokenizer (``tiktoken``) for the text; OpenAI's documented framing around it.

    ``tiktoken`` is imported, and its encoding loaded, on the first count. If either fails
    (not installed; the encoding files cannot be downloaded) the counter falls back to
    ``EstimateCounter("openai")`` and says so: ``estimated`` becomes True, ``name`` and
    ``error`` tell why.
    """

    def __init__(self, model: Optional[str] = None, *, encoding: Optional[str] = None,
                 thinking: str = "none") -> None:
        if thinking not in _THINKING_MODES:
            raise ConfigurationError(f"thinking must be one of {', '.join(_THINKING_MODES)}, got {thinking!r}")
        self.model = model
        self.encoding_name = encoding or encoding_for(model)
        self.family = FAMILIES["openai"]
        self.thinking = thinking
        self.per_request = self.family.per_request
        self.tools_overhead = self.family.tools_overhead
        self.error: Optional[str] = None
        self._encode: Optional[Callable[[str], Any]] = None
        self._fallback: Optional[EstimateCounter] = None

    def _load(self) -> None:
        try:
            import tiktoken  # noqa: PLC0415 - optional dependency, imported on first use
            failed = _ENCODING_FAILURES.get(self.encoding_name)
            if failed is not None and failed[0] is tiktoken:
                # tried before in this process: do not wait on the network again
                self.error = failed[1]
                self._fallback = EstimateCounter("openai", thinking=self.thinking)
                return
            enc = None
            if self.model and self.encoding_name == encoding_for(self.model):
                try:
                    enc = tiktoken.encoding_for_model(_bare_model(self.model))
                except KeyError:  # a model newer than this tiktoken: use our table's choice
                    enc = None
            if enc is None:
                enc = tiktoken.get_encoding(self.encoding_name)
            self.encoding_name = getattr(enc, "name", self.encoding_name)
            self._encode = enc.encode_ordinary  # ordinary: "<|endoftext|>" in user text is just text
        except Exception as exc:  # noqa: BLE001 - ImportError, download failures, bad files
            self.error = f"{type(exc).__name__}: {exc}"
            self._fallback = EstimateCounter("openai", thinking=self.thinking)
            if not isinstance(exc, ImportError):
                _ENCODING_FAILURES[self.encoding_name] = (sys.modules.get("tiktoken"), self.error)
                _warn_tiktoken_offline(self.encoding_name, self.error)

    @property
    def estimated(self) -> bool:
        if self._encode is None and self._fallback is None:
            self._load()
        return self._fallback is not None

    @property
    def name(self) -> str:
        if self._encode is None and self._fallback is None:
            self._load()
        if self._fallback is not None:
            return "estimate:openai (tiktoken unavailable)"
        return "tiktoken:" + self.encoding_name

    def text_tokens(self, text: str) -> float:
        if not text:
            return 0
        return len(self._encode(text))  # type: ignore[misc]

    def count(self, message: Message) -> int:
        if self._encode is None:
            if self._fallback is None:
                self._load()
            if self._fallback is not None:
                return self._fallback.count(message)
        return super().count(message)

    def __repr__(self) -> str:
        return f"TiktokenCounter(model={self.model!r}, encoding={self.encoding_name!r})"


# -- user functions ----------------------------------------------------------------------------

class FunctionCounter:
    """Adapts a plain ``fn(message) -> int`` to the :class:`TokenCounter` protocol.

    A user's function is taken to be exact (``estimated=False``: reported usage does not
    rescale it) unless told otherwise. Its results are checked: a negative or non-integer
    count raises :class:`~llmunified.errors.ValidationError` naming the function.
    """

    def __init__(self, fn: Callable[[Message], int], *, estimated: bool = False,
                 name: Optional[str] = None, per_request: int = 0) -> None:
        if not callable(fn):
            raise ConfigurationError(f"token_counter must be callable(message) -> int, got {type(fn).__name__}")
        self.fn = fn
        self.estimated = bool(estimated)
        self.name = name or "function:" + getattr(fn, "__qualname__", getattr(fn, "__name__", type(fn).__name__))
        self.per_request = per_request
        self.tools_overhead = 0

    def count(self, message: Message) -> int:
        value = self.fn(message)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValidationError(f"token counter {self.name} returned {value!r}; it must return an int")
        if value != value or value < 0 or value == float("inf"):
            raise ValidationError(f"token counter {self.name} returned {value!r}; it must be >= 0")
        return int(math.ceil(value)) if isinstance(value, float) else value

    def __repr__(self) -> str:
        return f"FunctionCounter({self.name!r}, estimated={self.estimated})"


# -- choosing a counter ------------------------------------------------------------------------

_OPENAI_PREFIXES = ("gpt-", "gpt4", "o1", "o3", "o4", "chatgpt", "text-embedding", "davinci", "babbage",
                    "omni-moderation", "codex")
_LLAMA_HINTS = ("llama", "mistral", "mixtral", "qwen", "gemma", "phi", "codestral", "falcon", "vicuna",
                "llava", "granite", "olmo", "smollm", "starcoder", "nemotron", "yi-", "command-r")


def _is_openai_model(model: str) -> bool:
    vendor, _, bare = model.rpartition("/")
    if vendor:
        return vendor == "openai" or vendor.endswith("/openai")  # openrouter "openai/gpt-4o"
    if bare.startswith("ft:"):
        bare = bare[3:]
    # gpt-oss uses o200k_harmony, which is o200k_base plus special tokens: tiktoken fits it too.
    return bare.startswith(_OPENAI_PREFIXES)


def family_for(provider: Optional[str], model: Optional[str] = None) -> str:
    """The estimate family for a provider and model name (model name hints win)."""
    prov = (provider or "").lower()
    lowered = (model or "").lower()
    if lowered:
        if _is_openai_model(lowered):
            return "openai"
        if "claude" in lowered or lowered.startswith("anthropic/"):
            return "anthropic"
        if "deepseek" in lowered:
            return "deepseek"
        if any(h in lowered for h in _LLAMA_HINTS):
            return "llama"
    info = _provider_info(prov)
    return info.token_family if info is not None else "default"


def _provider_info(provider: Optional[str]) -> Any:
    # Each provider's entry declares its family and its codec's thinking replay.
    if not provider:
        return None
    from ._registry import PROVIDERS

    return PROVIDERS.get(provider.lower())


def _thinking_mode(provider: Optional[str]) -> Optional[str]:
    """Which thinking parts the provider's codec sends back (the codec's ``thinking_replay``)."""
    info = _provider_info(provider)
    return info.codec.thinking_replay if info is not None else None


def counter_for(provider: Optional[str], model: Optional[str] = None) -> "TokenCounter":
    """The default counter for a provider/model: tiktoken for OpenAI models when installed,
    otherwise the family estimate."""
    family = family_for(provider, model)
    thinking = _thinking_mode(provider)
    if family == "openai" and tiktoken_available():
        return TiktokenCounter(model, thinking=thinking or "none")
    return EstimateCounter(family, thinking=thinking)


def as_counter(value: Union[None, "TokenCounter", Callable[[Message], int]] = None,
               provider: Optional[str] = None, model: Optional[str] = None) -> "TokenCounter":
    """Whatever ``token_counter=`` was given -> a counter.

    None -> :func:`counter_for`; an object with ``count`` -> itself; a callable -> wrapped in
    :class:`FunctionCounter`.
    """
    if value is None:
        return counter_for(provider, model)
    if isinstance(value, str):
        if value == "local":
            return counter_for(provider, model)
        if value == "provider":
            return ProviderCounter(counter_for(provider, model))
        raise ValidationError(
            f"token_counter={value!r} is not a counter: pass 'provider' (the provider's token-counting endpoint "
            "where it has one), 'local' (the default: tiktoken or the estimate), a function message -> int, "
            "or an object with count(message) and estimated")
    if callable(getattr(value, "count", None)) and hasattr(value, "estimated"):
        return cast("TokenCounter", value)  # duck-typed, as documented: count() and estimated suffice
    if callable(value):
        return FunctionCounter(value)
    raise ConfigurationError(
        f"token_counter must be a callable(message) -> int or an object with count(message), "
        f"estimated and name; got {type(value).__name__}")


def tools_tokens(counter: "TokenCounter", tools: Iterable[Any]) -> int:
    """Estimated prompt tokens of tool definitions (name, description, JSON Schema)."""
    specs = []
    for t in tools or ():
        specs.append({"name": getattr(t, "name", ""), "description": getattr(t, "description", ""),
                      "parameters": getattr(t, "parameters", {})})
    if not specs:
        return 0
    text = json.dumps(specs, ensure_ascii=False, separators=(",", ":"), default=str)
    return counter.count(Message("system", text)) + int(getattr(counter, "tools_overhead", 0) or 0)


def prompt_overhead(counter: "TokenCounter", tools: Iterable[Any] = ()) -> int:
    """Tokens a request costs besides its messages: reply priming plus tool definitions.

    Pass it as ``History.select(budget, overhead=...)``; compute it once per tool set.
    """
    if isinstance(counter, ProviderCounter):
        return counter.overhead(tools)
    return int(getattr(counter, "per_request", 0) or 0) + tools_tokens(counter, tools)


# -- counting a whole request locally (llm.count_tokens, Client.count_tokens without an endpoint) --

def local_count(provider: Optional[str], model: Optional[str], messages: Iterable[Message],
                tools: Iterable[Any] = (), label: str = "") -> TokenCount:
    """The local count of a request: the default counter's figure for every message, plus reply
    priming and tool definitions. Never exact: ``source`` is ``"tiktoken"`` when OpenAI's
    tokenizer counted the text, else ``"estimate"``."""
    counter = counter_for(provider, model)
    total = sum(counter.count(m) for m in messages) + prompt_overhead(counter, tools)
    return TokenCount(total, False, "estimate" if counter.estimated else "tiktoken", label)


def count_tokens(model: str, messages: Any, tools: Any = None) -> TokenCount:
    """Count the prompt tokens of ``messages`` (and ``tools``) for ``model``, locally: no network.

    ``model`` is ``provider/model`` (a bare model name works too: the name alone picks the
    estimate's family); ``messages`` whatever ``complete()`` takes; ``tools`` tools or tool dicts.
    OpenAI models are counted with tiktoken when it is installed and its encoding files can be
    loaded, everything else with the estimate calibrated per provider family. The result is
    never ``exact``: for the provider's own figure use ``Client.count_tokens``.
    """
    from ._options import to_messages, to_tool
    from ._registry import PROVIDERS

    if not isinstance(model, str) or not model.strip():
        raise ValidationError(f"count_tokens needs a model name such as 'openai/gpt-4o-mini', got {model!r}")
    prefix, sep, name = model.strip().partition("/")
    provider: Optional[str] = prefix.lower() if sep and prefix.lower() in PROVIDERS else None
    if provider is None:
        name = model.strip()
    msgs = to_messages(messages)
    tool_list = [to_tool(t) for t in (tools or ())]
    return local_count(provider, name, msgs, tool_list, model.strip())


# -- ChatSession(token_counter="provider") -------------------------------------------------------

#: the one-message request that measures what tool definitions cost (with and without the tools)
_PROBE = Message("user", "Hi")


class CountPlan:
    """What ChatSession asks the provider before selecting a turn (see :class:`ProviderCounter`):
    ``requests`` are ``(messages, tools)`` pairs for ``Client.count_tokens``, answered in order."""

    __slots__ = ("live", "tools", "requests", "measure")

    def __init__(self, live: List[Message], tools: Optional[List[Any]], measure: bool) -> None:
        self.live = live
        self.tools = tools
        self.measure = measure
        self.requests: List[Tuple[List[Message], Optional[List[Any]]]] = [(live, tools)]
        if measure:
            self.requests += [([_PROBE], tools), ([_PROBE], None)]

    def __repr__(self) -> str:
        return f"CountPlan({len(self.live)} messages, {len(self.requests)} requests)"


def _tools_key(tools: Optional[Sequence[Any]]) -> Any:
    return tuple(id(t) for t in tools) if tools else None


class ProviderCounter:
    """A token counter fed by the provider's token-counting endpoint (``token_counter="provider"``).

    Counting is I/O, and a :class:`~llmunified._history.History` asks its counter synchronously,
    so the session's I/O layer asks first: before each turn is selected it calls :meth:`plan`
    with the live history plus the new user message; when some message has no provider figure
    yet, the plan's first request counts that whole conversation (``Client.count_tokens``) and
    :meth:`record` turns the answer into per-message figures by difference: the new total minus
    the figures already known (and minus the tool definitions) is what the new messages cost,
    shared between them in proportion to their local estimates, so the figures of the kept
    messages always add up to what the provider counted for the conversation. Each message is
    counted once, cached by identity: an unchanged history makes no request at all, and a
    conversation growing by one exchange makes one. Tool definitions are measured once per tool
    set, with a one-message probe counted with and without them (two small extra requests).

    Between turns a message the provider has not seen (the assistant's reply, until the next
    turn) counts with the local counter and :attr:`estimated` is True. When the provider has no
    endpoint (OpenAI, Ollama, Cohere: ``count_tokens`` answers with a local figure) the counter
    says so once in the log and behaves as the local counter from then on.
    """

    per_request = 0
    tools_overhead = 0

    def __init__(self, local: Any) -> None:
        self.local = local
        #: None until the provider first answered; False when it has no endpoint
        self.available: Optional[bool] = None
        #: requests made to the provider's endpoint
        self.calls = 0
        self._figures: Dict[int, Tuple[Message, int]] = {}
        self._handed: Dict[int, Message] = {}  # messages given a local stand-in figure
        self._tools_key: Any = None
        self._tools_tokens: Optional[int] = None

    @property
    def name(self) -> str:
        if self.available is False:
            return f"{getattr(self.local, 'name', 'local')} (the provider has no token-counting endpoint)"
        return "provider"

    @property
    def estimated(self) -> bool:
        if self.available is not True:
            return bool(getattr(self.local, "estimated", True))
        return bool(self._handed)

    def count(self, message: Message) -> int:
        got = self._figures.get(id(message))
        if got is not None and got[0] is message:
            return got[1]
        if self.available is not False:
            self._handed[id(message)] = message
        return int(self.local.count(message))

    def overhead(self, tools: Iterable[Any] = ()) -> int:
        """Tokens the tool definitions cost: measured by the provider, else the local estimate."""
        tools = list(tools or ())
        if self.available is True and self._tools_tokens is not None and self._tools_key == _tools_key(tools):
            return self._tools_tokens
        if self.available is True and not tools:
            return 0
        return prompt_overhead(self.local, tools)

    def plan(self, live: List[Message], tools: Optional[Sequence[Any]] = None) -> Optional[CountPlan]:
        """The requests to make before selecting ``live`` (the history plus the new user turn),
        or None when the provider already counted every message (and the tools)."""
        if self.available is False:
            return None
        tool_list = list(tools) if tools else None
        measure = bool(tool_list) and self._tools_key != _tools_key(tool_list)
        if not measure and all(self._known(m) for m in live):
            return None
        return CountPlan(list(live), tool_list, measure)

    def _known(self, message: Message) -> bool:
        got = self._figures.get(id(message))
        return got is not None and got[0] is message

    def record(self, plan: CountPlan, results: Sequence[TokenCount]) -> List[Message]:
        """Take the answers to ``plan.requests``; returns the messages of ``plan.live`` that had a
        local stand-in figure, whose counts the History must refresh (``History.invalidate``)."""
        if len(results) != len(plan.requests):
            raise ValidationError(f"expected {len(plan.requests)} token counts, got {len(results)}")
        if not all(r.exact for r in results):
            self.available = False
            self._handed.clear()
            self._figures.clear()
            _log.info("token_counter='provider': %s has no token-counting endpoint; counting locally (%s)",
                      results[0].model or "this provider", results[0].source)
            return []
        self.calls += len(results)
        self.available = True
        if plan.measure:
            self._tools_key = _tools_key(plan.tools)
            self._tools_tokens = max(0, results[1].tokens - results[2].tokens)
        overhead = self._tools_tokens or 0 if plan.tools else 0
        live = plan.live
        new = [m for m in live if not self._known(m)]
        known = sum(self._figures[id(m)][1] for m in live if self._known(m))
        for message, share in zip(new, _shares(results[0].tokens - overhead - known,
                                               [max(1, int(self.local.count(m))) for m in new])):
            self._figures[id(message)] = (message, share)
        # Figures stay for every message counted (a fork of the session shares this counter and
        # its messages); only the stand-ins of this conversation are replaced now.
        stale = [m for m in live if id(m) in self._handed]
        for message in stale:
            del self._handed[id(message)]
        return stale


def _shares(total: int, weights: List[int]) -> List[int]:
    """``total`` split in proportion to ``weights`` (integers summing to ``total``; 0s when it is
    not positive)."""
    if not weights:
        return []
    if total <= 0:
        return [0] * len(weights)
    whole = sum(weights)
    shares = [total * w // whole for w in weights]
    left = total - sum(shares)
    order = sorted(range(len(weights)), key=lambda i: -(total * weights[i] % whole))
    for i in order[:left]:
        shares[i] += 1
    return shares
