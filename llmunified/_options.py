"""Call options and message coercion (sans-IO): what the caller wrote -> validated values."""
from __future__ import annotations
import json
from ._dc import dataclass, field, own_fields
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from ._reasoning import Reasoning, check_cache, check_reasoning
from ._types import ImagePart, Message, Part, TextPart, ThinkingPart, Tool, ToolCall, ToolResult
from .errors import ValidationError

__all__ = ["Options", "make_options", "to_messages", "to_tool", "OPTION_NAMES"]


@dataclass
class Options:
    """Provider-independent options of one call.

    ``extra`` is the escape hatch: a dict merged (deeply) into the provider's JSON body last, so
    any field the provider supports can be sent even when llmunified has no option for it.
    """

    temperature: Optional[float] = None
    max_tokens: Optional[int] = None
    top_p: Optional[float] = None
    stop: Optional[List[str]] = None
    seed: Optional[int] = None
    tools: Optional[List[Tool]] = None
    tool_choice: Optional[str] = None
    parallel_tool_calls: Optional[bool] = None
    timeout: Optional[float] = None
    #: structured output: a dataclass type, a JSON Schema dict or list[Dataclass]
    response_format: Any = None
    #: an effort level ("minimal", "low", "medium", "high"), a token budget (int) or False (off);
    #: each codec maps it (``llmunified._reasoning`` has the level <-> budget table)
    reasoning: Reasoning = None
    #: prompt-caching hints: a :class:`~llmunified._reasoning.CacheSpec` once checked (True, a
    #: breakpoint name or list, or a dict with ``breakpoints``/``key``/``ttl`` as given)
    cache: Any = None
    #: an option or input the model cannot take (``llmunified._capabilities``) is dropped, with a
    #: warning on the ``llmunified`` logger, instead of raising UnsupportedParameterError
    drop_unsupported: Optional[bool] = None
    #: how many answers to generate (``Response.choices``): OpenAI and compatible ``n``, Gemini's
    #: ``candidateCount``; a provider without it refuses n > 1 (UnsupportedParameterError)
    n: Optional[int] = None
    extra: Dict[str, Any] = field(default_factory=dict)


OPTION_NAMES: Tuple[str, ...] = own_fields(Options)
#: options of a call that the client itself takes (``llmunified._trace``), never sent: a path
#: that hands them on to the request builder leaves them out here
CALL_ONLY = frozenset(("correlation_id",))


def _number(name: str, value: Any, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValidationError(f"{name} must be a number, got {value!r}")
    if not lo <= value <= hi:
        raise ValidationError(f"{name} must be between {lo} and {hi}, got {value!r}")
    return value


def make_options(defaults: Mapping[str, Any], call: Mapping[str, Any]) -> Options:
    """Merge client defaults with per-call options (call wins) and validate them."""
    merged: Dict[str, Any] = dict(defaults)
    for k, v in call.items():
        if k in CALL_ONLY:  # the I/O layer's (a call's correlation id): never part of a request
            continue
        if k == "extra" and isinstance(v, Mapping) and isinstance(merged.get("extra"), Mapping):
            merged["extra"] = deep_merge(merged["extra"], v)
        else:
            merged[k] = v
    unknown = [k for k in merged if k not in OPTION_NAMES]
    if unknown:
        raise ValidationError(
            f"unknown option(s) {', '.join(sorted(unknown))}; known options: {', '.join(OPTION_NAMES)}. "
            "Send provider-specific fields with extra={...}")
    o = Options(**{k: v for k, v in merged.items() if v is not None})
    if o.temperature is not None:
        _number("temperature", o.temperature, 0, 2)
    if o.top_p is not None:
        _number("top_p", o.top_p, 0, 1)
    if o.max_tokens is not None and (isinstance(o.max_tokens, bool) or not isinstance(o.max_tokens, int)
                                     or o.max_tokens < 1):
        raise ValidationError(f"max_tokens must be a positive int, got {o.max_tokens!r}")
    if o.n is not None and (isinstance(o.n, bool) or not isinstance(o.n, int) or o.n < 1):
        raise ValidationError(f"n (how many answers) must be a positive int, got {o.n!r}")
    if o.seed is not None and (isinstance(o.seed, bool) or not isinstance(o.seed, int)):
        raise ValidationError(f"seed must be an int, got {o.seed!r}")
    if o.timeout is not None:
        _number("timeout", o.timeout, 0.001, 86400)
    if o.stop is not None:
        if isinstance(o.stop, str):
            o.stop = [o.stop]
        elif not (isinstance(o.stop, (list, tuple)) and all(isinstance(s, str) for s in o.stop)):
            raise ValidationError(f"stop must be a string or a list of strings, got {o.stop!r}")
        else:
            o.stop = list(o.stop)
    if not isinstance(o.extra, dict):
        raise ValidationError(f"extra must be a dict merged into the request body, got {type(o.extra).__name__}")
    if o.tools is not None:
        if not isinstance(o.tools, (list, tuple)):
            raise ValidationError(f"tools must be a list of tools, got {type(o.tools).__name__}; "
                                  "wrap a single tool in a list: tools=[my_tool]")
        o.tools = [to_tool(t) for t in o.tools]
        names = [t.name for t in o.tools]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValidationError(f"tool names must be unique in a request; repeated: {', '.join(sorted(dup))}")
        # every path that sends tools comes here; each tool object is checked once (_schema)
        (_validate_tools or _load_tool_validator())(o.tools)
    if o.response_format is not None:
        from ._structured import output_spec  # jsonschema loads only when structured output is used

        o.response_format = output_spec(o.response_format)
    if o.reasoning is not None:
        o.reasoning = check_reasoning(o.reasoning)
    if o.cache is not None:
        o.cache = check_cache(o.cache)
    if o.drop_unsupported is not None and not isinstance(o.drop_unsupported, bool):
        raise ValidationError(f"drop_unsupported must be True or False, got {o.drop_unsupported!r}")
    if o.tool_choice is not None:
        tc = o.tool_choice
        if not isinstance(tc, str) or not tc:
            raise ValidationError("tool_choice must be 'auto', 'none', 'required' or a tool name")
        if tc not in ("auto", "none", "required"):
            if not o.tools or tc not in {t.name for t in o.tools}:
                raise ValidationError(
                    f"tool_choice {tc!r} is not 'auto', 'none', 'required' or the name of a tool passed in tools")
    return o


_validate_tools: Optional[Callable[[Sequence[Tool]], None]] = None


def _load_tool_validator() -> Callable[[Sequence[Tool]], None]:
    # loaded on first use: import llmunified stays light (an import statement in make_options
    # would cost more than checking the tools themselves)
    global _validate_tools
    from ._schema import validate_tools

    _validate_tools = validate_tools
    return validate_tools


def deep_merge(base: Mapping[str, Any], extra: Mapping[str, Any]) -> Dict[str, Any]:
    """``extra`` merged into ``base``: nested dicts merge, everything else is replaced."""
    out = dict(base)
    for k, v in extra.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def to_tool(value: Any) -> Tool:
    """A Tool from a Tool, a function decorated as a tool, or an OpenAI/plain tool dict."""
    if isinstance(value, Tool):
        return value
    tool = getattr(value, "__llm_tool__", None)
    if isinstance(tool, Tool):
        return tool
    if isinstance(value, Mapping):
        spec = value.get("function") if value.get("type") == "function" else value
        if isinstance(spec, Mapping) and spec.get("name"):
            params = spec.get("parameters", spec.get("input_schema"))
            if params is not None and not isinstance(params, Mapping):
                raise ValidationError(f"tool {spec['name']!r}: parameters must be a JSON Schema object (a dict), "
                                      f"got {type(params).__name__}")
            return Tool(spec["name"], spec.get("description") or "",
                        dict(params) if params is not None else {"type": "object", "properties": {}})
    raise ValidationError(
        f"cannot use {value!r} as a tool: pass llm.Tool(name, description, parameters), a function decorated "
        "with @llm.tool, or a dict {'name': ..., 'description': ..., 'parameters': {...}}")


MessagesInput = Union[str, Message, Mapping[str, Any], Sequence[Union[Message, Mapping[str, Any]]]]


def to_messages(messages: Any) -> List[Message]:
    """Accept a prompt string, a Message, an OpenAI-style dict, or a list of those."""
    if isinstance(messages, str):
        return [Message("user", messages)]
    if isinstance(messages, Message):
        return [messages]
    if isinstance(messages, Mapping):
        return [_from_dict(messages)]
    if isinstance(messages, (list, tuple)):
        out = []
        for m in messages:
            if isinstance(m, Message):
                out.append(m)
            elif isinstance(m, Mapping):
                out.append(_from_dict(m))
            elif isinstance(m, str):
                out.append(Message("user", m))
            else:
                raise ValidationError(f"messages must be Message objects, dicts or strings, got {type(m).__name__}")
        if not out:
            raise ValidationError("messages is empty: pass at least one message or a prompt string")
        return out
    raise ValidationError(f"messages must be a string, a Message, a dict or a list, got {type(messages).__name__}")


#: the keys a message dict may have (OpenAI's shape), and those other APIs use for the same things
MESSAGE_KEYS: Tuple[str, ...] = ("role", "content", "name", "tool_call_id", "tool_calls")
_MESSAGE_ALIASES = {"text": "content", "parts": "content", "contents": "content", "message": "content",
                    "prompt": "content", "images": "content", "tool_use_id": "tool_call_id",
                    "function_call": "tool_calls", "toolCalls": "tool_calls"}
#: the keys of each content part type, by its ``type``
PART_KEYS: Dict[str, Tuple[str, ...]] = {
    "text": ("type", "text"),
    "image_url": ("type", "image_url"),
    "image": ("type", "url", "data", "media_type", "detail"),
    "thinking": ("type", "text", "thinking", "signature"),
}
_PART_ALIASES = {"content": "text", "value": "text", "source": "url", "image": "url", "mime_type": "media_type",
                 "mimeType": "media_type"}


def _check_keys(d: Mapping[str, Any], accepted: Tuple[str, ...], aliases: Mapping[str, str], what: str) -> None:
    """ValidationError naming a key of ``d`` the library would not read (its data would be lost),
    the accepted keys and the likeliest one meant. A key whose value is empty (None, "", [],
    {}) carries nothing and is let through: other SDKs' message objects dumped to dicts have
    ``refusal: None``, ``annotations: []``."""
    for key in d:
        if key in accepted:
            continue
        value = d[key]
        if value is None or (isinstance(value, (str, list, tuple, dict)) and not value):
            continue
        import difflib

        guess = aliases.get(key) if isinstance(key, str) else None
        if guess not in accepted:
            close = difflib.get_close_matches(str(key), accepted, n=1, cutoff=0.5)
            guess = close[0] if close else None
        hint = f"; did you mean {guess!r}?" if guess else ""
        raise ValidationError(f"{what} has the key {key!r}, which llmunified does not read (its value would be "
                              f"lost); accepted keys: {', '.join(accepted)}{hint}")


def _part_from_dict(d: Mapping[str, Any]) -> Part:
    kind = d.get("type")
    if len(d) > 2 or "text" not in d:
        accepted = PART_KEYS.get(kind) if isinstance(kind, str) else None
        if accepted is not None:
            _check_keys(d, accepted, _PART_ALIASES, f"a content part of type {kind!r}")
    if kind == "text":
        return TextPart(d.get("text", ""))
    if kind == "image_url":
        spec = d.get("image_url")
        if isinstance(spec, str):
            return ImagePart(url=spec)
        if isinstance(spec, Mapping):
            return ImagePart(url=spec.get("url"), detail=spec.get("detail"))
        raise ValidationError("an image_url part needs image_url.url")
    if kind == "image":
        return ImagePart(url=d.get("url"), data=d.get("data"), media_type=d.get("media_type"),
                         detail=d.get("detail"))
    if kind == "thinking":
        return ThinkingPart(d.get("text", d.get("thinking", "")), signature=d.get("signature"))
    raise ValidationError(f"unsupported content part type {kind!r} (use text or image_url parts)")


def _from_dict(d: Mapping[str, Any]) -> Message:
    role = d.get("role")
    if not isinstance(role, str):
        raise ValidationError(f"message dict needs a 'role', got {dict(d)!r}")
    if len(d) > 2 or "content" not in d:  # {"role", "content"}: the common case, nothing to look at
        _check_keys(d, MESSAGE_KEYS, _MESSAGE_ALIASES, f"a message dict (role {role!r})")
    content = d.get("content")
    if role == "tool":
        call_id = d.get("tool_call_id")
        if not call_id:
            raise ValidationError("a tool message dict needs 'tool_call_id' naming the call it answers")
        if isinstance(content, list):
            content = "".join(p.get("text", "") for p in content if isinstance(p, Mapping))
        return Message("tool", [ToolResult(call_id, content if content is not None else "", name=d.get("name"))])
    parts_or_text: Union[str, List[Part]]
    if isinstance(content, str):
        parts_or_text = content
    elif content is None:
        parts_or_text = ""
    elif isinstance(content, list):
        parts_or_text = [_part_from_dict(p) if isinstance(p, Mapping) else _bad_part(p) for p in content]
    else:
        raise ValidationError(f"message content must be a string or a list of parts, got {type(content).__name__}")
    calls = d.get("tool_calls")
    if calls:
        if role != "assistant":
            raise ValidationError("only assistant messages carry tool_calls")
        tcs: List[Part] = []
        if not isinstance(calls, (list, tuple)):
            raise ValidationError("tool_calls must be a list of {'id', 'type', 'function': {...}} dicts")
        for c in calls:
            if not isinstance(c, Mapping) or not isinstance(c.get("function"), Mapping):
                raise ValidationError(f"each tool call must be a dict with a 'function' dict, got {c!r}")
            fn = c["function"]
            args = fn.get("arguments", {})
            raw = None
            if isinstance(args, str):
                raw = args
                try:
                    args = json.loads(args) if args.strip() else {}
                except ValueError:
                    raise ValidationError(f"tool call {c.get('id')!r} has arguments that are not valid JSON") from None
            tcs.append(ToolCall(c.get("id") or "", fn.get("name") or "", args, raw_arguments=raw))
        if isinstance(parts_or_text, str):
            base: List[Part] = [TextPart(parts_or_text)] if parts_or_text else []
        else:
            base = parts_or_text
        return Message("assistant", base + tcs, name=d.get("name"))
    return Message(role, parts_or_text, name=d.get("name"))


def _bad_part(p: Any) -> Part:
    raise ValidationError(f"content parts must be dicts like {{'type': 'text', 'text': ...}}, got {p!r}")
