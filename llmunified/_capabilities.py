"""What a model can take, checked before the call (sans-IO).

Every call is held against the capabilities of its model, and what the model cannot take is
refused before anything is sent (:class:`~llmunified.errors.UnsupportedParameterError`, naming
model, option and why) or, with ``drop_unsupported=True`` (a Client or call option), dropped
with a warning on the ``llmunified`` logger. A fact nobody knows is ``None``, "unknown", and
never blocks anything: an unknown model is sent what the caller asked for, as before.

Where the facts come from, each layer over the one before (a layer says nothing about a flag
it leaves out; in ``profile=`` and ``capabilities=`` an explicit ``None`` sets a flag back to
unknown):

1. the wire protocol (``Codec.default_capabilities``: Anthropic's first turn must be a user
   turn and no turn may be empty; Ollama cannot force a tool call);
2. the host (``ProviderInfo.details["capabilities"]``, and its ``max_tokens_field`` detail):
   OpenAI takes ``developer`` messages, JSON schemas, strict tools and ``max_completion_tokens``;
   the OpenAI-compatible hosts are sent ``system`` instead of ``developer``; DeepSeek has JSON
   mode but no JSON schema;
3. the model registry (:func:`~llmunified.model_info`: the bundled snapshot, ``register_model``
   and ``LLMUNIFIED_MODELS`` files), for a model it knows;
4. ``profile=``: a named profile (any provider's name, for a server that behaves like it:
   ``Client("openai/qwen", base_url=..., profile="vllm")``, or ``"basic"``: a server that
   knows only the core of Chat Completions) or a dict of flags;
5. ``capabilities={...}`` on the Client: the caller's word, last.

The flags (:data:`FLAGS`; the martian-adapters names are accepted too, :data:`ALIASES`):

==============================  ========================================================================
flag                            when it is ``False``
==============================  ========================================================================
``tools``                       ``tools=`` is refused (dropped: tools, tool_choice, parallel_tool_calls)
``tool_choice_required``        ``tool_choice="required"`` is refused (dropped: the model decides)
``parallel_tools``              ``parallel_tool_calls=True`` is refused; ``False`` is not sent (it
                                asks for what the model does anyway)
``vision``                      images in the conversation are refused (dropped: the image parts)
``temperature``                 ``temperature=`` is refused (OpenAI's reasoning models take none)
``temperature_with_reasoning``  ``temperature=`` other than 1 with ``reasoning=`` is refused
                                (dropped: the temperature; Claude with thinking on)
``reasoning``                   ``reasoning=`` a level or a budget is refused (``False`` is fine)
``max_output`` (tokens)         ``max_tokens`` above it is refused (dropped: lowered to the limit)
``system_role``                 system (and developer) text is folded into the first user turn
``developer_role``              ``developer`` messages are sent as ``system`` (OpenAI protocol)
``multiple_system``             several system messages are joined into one, where the first was
``empty_content``               turns with no content (or only whitespace) are left out
``repeating_roles``             consecutive turns of one role are merged (tool results excepted)
``first_assistant``             a conversation starting with an assistant turn gets a user turn
                                :data:`FIRST_TURN_TEXT` (``"."``) before it
``last_assistant``              a conversation ending with an assistant turn (a prefill) is refused;
                                dropped: a user turn :data:`LAST_TURN_TEXT` (``"Continue."``) is added
``multiple_choices``            ``n`` > 1 is refused (dropped: n); always so on a protocol without
                                the field (``Codec.choices_field`` None: Anthropic, Cohere, Ollama)
==============================  ========================================================================

and, for the OpenAI-compatible wire: ``json_schema`` (``response_format`` json_schema is
taken), ``structured_output`` (the mechanism to use: ``json_schema``, ``tool``, ``json``,
``prompt``), ``strict_tools`` (``strict: true`` on tools and schemas), ``max_tokens_field``
(``max_tokens`` or ``max_completion_tokens``), ``streaming_usage`` (``stream_options`` is sent
for usage at the end of a stream). Structured output then goes (:func:`structured_via`) by a
native JSON schema, a forced tool call, JSON mode with the schema in the prompt, or the schema
in the prompt alone, so ``extract()`` works on a server without JSON schemas.

The conversation is reshaped on a copy (the caller's messages and lists are never changed),
each reshaping logged at debug level on ``llmunified``. Cost: the flags are resolved once per
Client, on its first call; a call with only the client's default options reuses their checked
:class:`Plan` (no check at all), and the conversation is looked at only for the flags that are
``False`` for this model.

Drops are reported in log records only: they happen before a stream opens, where the event
model has no place for a warning.
"""
from __future__ import annotations
import logging
from ._dc import dataclass, fields, replace
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from ._models import MAX_TOKENS_FIELDS, STRUCTURED_MODES
from ._options import Options
from ._types import ImagePart, Message, TextPart
from .errors import UnsupportedParameterError, ValidationError

__all__ = ["Capabilities", "Plan", "FLAGS", "BOOL_FLAGS", "ALIASES", "PROFILES", "FIRST_TURN_TEXT",
           "LAST_TURN_TEXT", "check_flags", "check_profile", "resolve", "prepare", "structured_via",
           "provider_defaults"]

_log = logging.getLogger("llmunified")

#: the yes/no flags
BOOL_FLAGS: Tuple[str, ...] = (
    "tools", "tool_choice_required", "parallel_tools", "vision", "temperature", "temperature_with_reasoning",
    "reasoning", "system_role", "developer_role", "multiple_system", "empty_content", "repeating_roles",
    "first_assistant", "last_assistant", "multiple_choices",
    "json_schema", "strict_tools", "streaming_usage",
)
#: every flag a profile or ``capabilities=`` may set
FLAGS: Tuple[str, ...] = BOOL_FLAGS + ("max_output", "structured_output", "max_tokens_field")

#: the martian-adapters names (and a few spellings of our own) -> ours
ALIASES: Dict[str, str] = {
    "supports_system": "system_role", "supports_multiple_system": "multiple_system",
    "supports_repeating_roles": "repeating_roles", "supports_first_assistant": "first_assistant",
    "supports_last_assistant": "last_assistant", "supports_empty_content": "empty_content",
    "supports_tool_choice_required": "tool_choice_required", "supports_n": "multiple_choices",
    "supports_tools": "tools", "supports_vision": "vision", "supports_temperature": "temperature",
    "supports_json_schema": "json_schema", "supports_developer": "developer_role",
    "supports_parallel_tools": "parallel_tools", "parallel_tool_calls": "parallel_tools",
    "stream_options": "streaming_usage", "n": "multiple_choices", "images": "vision",
}

#: named profiles that are no provider's (a provider's name is a profile too: its defaults)
PROFILES: Dict[str, Dict[str, Any]] = {
    # the core of Chat Completions and nothing more: what an unknown compatible server is
    # safest sent (llama.cpp's server, TGI, proxies)
    "basic": {"json_schema": False, "strict_tools": False, "developer_role": False,
              "max_tokens_field": "max_tokens", "streaming_usage": False, "parallel_tools": False},
}

#: the user turn put before a conversation that starts with an assistant turn, on models whose
#: first turn must be the user's: a turn that says nothing, yet is not empty (which the same
#: APIs refuse)
FIRST_TURN_TEXT = "."
#: the user turn put after a conversation that ends with an assistant turn, with
#: ``drop_unsupported=True``, on models that take no prefill
LAST_TURN_TEXT = "Continue."

_SYSTEM_ROLES = ("system", "developer")


# -- the flags ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Capabilities:
    """The resolved capability flags of one model on one Client (the module docstring has the
    table); ``None`` is unknown. ``model`` is the ``provider/model`` they are for."""

    model: str
    tools: Optional[bool] = None
    tool_choice_required: Optional[bool] = None
    parallel_tools: Optional[bool] = None
    vision: Optional[bool] = None
    temperature: Optional[bool] = None
    temperature_with_reasoning: Optional[bool] = None
    reasoning: Optional[bool] = None
    system_role: Optional[bool] = None
    developer_role: Optional[bool] = None
    multiple_system: Optional[bool] = None
    empty_content: Optional[bool] = None
    repeating_roles: Optional[bool] = None
    first_assistant: Optional[bool] = None
    last_assistant: Optional[bool] = None
    multiple_choices: Optional[bool] = None
    json_schema: Optional[bool] = None
    strict_tools: Optional[bool] = None
    streaming_usage: Optional[bool] = None
    max_output: Optional[int] = None
    structured_output: Optional[str] = None
    max_tokens_field: Optional[str] = None

    def known(self) -> Dict[str, Any]:
        """The flags that are known (not ``None``)."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if f.name != "model" and getattr(self, f.name) is not None}


def _flag_value(name: str, value: Any, where: str) -> Any:
    if value is None:
        return None
    if name in BOOL_FLAGS:
        if not isinstance(value, bool):
            raise ValidationError(f"{where}: {name} must be True, False or None (unknown), got {value!r}")
        return value
    if name == "max_output":
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValidationError(f"{where}: max_output must be a positive int (tokens) or None, got {value!r}")
        return value
    allowed = STRUCTURED_MODES if name == "structured_output" else MAX_TOKENS_FIELDS
    if value not in allowed:
        raise ValidationError(f"{where}: {name} must be one of {', '.join(map(repr, allowed))} or None, "
                              f"got {value!r}")
    return value


def check_flags(value: Any, where: str = "capabilities") -> Dict[str, Any]:
    """A caller's flags (``capabilities=``, a profile dict) checked, aliases resolved; raises
    ValidationError naming the flag. ``None`` is no flags."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValidationError(f"{where} must be a dict of capability flags such as {{'json_schema': False, "
                              f"'system_role': False}}, got {type(value).__name__} {value!r}")
    out: Dict[str, Any] = {}
    for key, flag_value in value.items():
        name = ALIASES.get(key, key) if isinstance(key, str) else key
        if name not in FLAGS:
            import difflib  # only for this error's hint: not loaded with the first call

            close = difflib.get_close_matches(str(key), FLAGS + tuple(ALIASES), n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValidationError(f"{where}: unknown capability flag {key!r}{hint}. Known flags: {', '.join(FLAGS)} "
                                  "(and the martian-adapters supports_* names)")
        out[name] = _flag_value(name, flag_value, where)
    return out


def provider_defaults(info: Any, codec_class: Any = None) -> Dict[str, Any]:
    """The flags a provider entry brings: its protocol's (the codec class's
    ``default_capabilities``), then the host's (``details["capabilities"]`` and the
    ``max_tokens_field`` detail)."""
    codec_class = codec_class if codec_class is not None else info.codec
    out: Dict[str, Any] = dict(getattr(codec_class, "default_capabilities", None) or {})
    details = info.details
    if details.get("max_tokens_field") is not None:
        out["max_tokens_field"] = details["max_tokens_field"]
    out.update(details.get("capabilities") or {})
    return out


def check_profile(value: Any) -> Dict[str, Any]:
    """``profile=``: a name (:data:`PROFILES`, or any provider's) or a dict of flags -> its
    flags; ValidationError for anything else."""
    if value is None:
        return {}
    if isinstance(value, str):
        name = value.strip().lower()
        if name in PROFILES:
            return dict(PROFILES[name])
        from .providers import lookup, provider_table

        info = lookup(name)
        if info is None:
            known = sorted(set(PROFILES) | set(provider_table()))
            raise ValidationError(f"unknown profile {value!r}: use a provider's name for a server that behaves "
                                  f"like it ({', '.join(known)}), or a dict of capability flags")
        return provider_defaults(info)
    if isinstance(value, Mapping):
        return check_flags(value, "profile")
    raise ValidationError(f"profile must be a profile's name (such as 'vllm' or 'basic') or a dict of capability "
                          f"flags, got {type(value).__name__} {value!r}")


#: the registry facts that are flags, under their names here
_FROM_FACTS = ("tools", "tool_choice_required", "parallel_tools", "vision", "temperature",
               "temperature_with_reasoning", "reasoning",
               "system_role", "developer_role", "multiple_system", "empty_content", "repeating_roles",
               "first_assistant", "last_assistant", "multiple_choices", "strict_tools", "streaming_usage",
               "max_output", "structured_output", "max_tokens_field")


def resolve(model: str, codec: Any, facts: Any = None, profile: Optional[Mapping[str, Any]] = None,
            overrides: Optional[Mapping[str, Any]] = None) -> Capabilities:
    """The :class:`Capabilities` of ``model`` (``provider/model``) served through ``codec``:
    provider defaults, then the registry's ``facts`` (a ModelFacts), then the (checked)
    ``profile`` and ``overrides``."""
    values: Dict[str, Any] = provider_defaults(codec.config.info, type(codec))
    values = {k: v for k, v in values.items() if v is not None}
    if facts is not None:
        for name in _FROM_FACTS:
            value = getattr(facts, name, None)
            if value is not None:
                values[name] = value
    values.update(profile or {})
    values.update(overrides or {})
    return Capabilities(model, **{k: v for k, v in values.items() if k in FLAGS})


def structured_via(caps: Capabilities) -> str:
    """How structured output travels to an OpenAI-compatible server: ``json_schema``
    (``response_format``), ``tool`` (a forced tool call), ``json`` (JSON mode, the schema in the
    prompt) or ``prompt`` (the schema in the prompt alone).

    The ``structured_output`` flag when it names one; a server without JSON schemas
    (``json_schema=False``) gets a forced tool call, or the prompt on a model without tool
    calling; everything else JSON schema, as always."""
    mode = caps.structured_output
    if caps.json_schema is False and mode in (None, "json_schema"):
        mode = "tool"
    if mode is None:
        mode = "json_schema"
    if mode == "tool" and caps.tools is False:
        mode = "prompt"
    return mode


# -- one call ------------------------------------------------------------------------------------

def _refusal(caps: Capabilities, provider: Optional[str], option: str, reason: str) -> UnsupportedParameterError:
    return UnsupportedParameterError(
        f"{caps.model} does not take {option}: {reason}. Pass drop_unsupported=True to drop it instead, or "
        f"capabilities={{...}} on the Client if the model can after all", model=caps.model, option=option,
        reason=reason, provider=provider)


class Plan:
    """One call's options as they are sent to this model (what it cannot take dropped, with
    ``drop_unsupported``), and ``reshape``: the conversation's transforms (None: sent as given)."""

    __slots__ = ("options", "reshape")

    def __init__(self, options: Options, reshape: Optional["Reshape"]) -> None:
        self.options = options
        self.reshape = reshape

    def __repr__(self) -> str:
        return f"Plan(reshape={self.reshape!r})"


def prepare(caps: Capabilities, codec: Any, options: Options, steps: Sequence["Step"] = (),
            kept: Optional[List[Optional["Reshape"]]] = None) -> Plan:
    """Check ``options`` against ``caps``: UnsupportedParameterError for what the model cannot
    take, or (``drop_unsupported``) the options without it and a warning. ``steps`` are the
    conversation transforms of these capabilities (:func:`conversation_steps`); ``kept``, a
    caller's ``[None, None]``, keeps their :class:`Reshape` (without and with
    ``drop_unsupported``) from one call to the next."""
    o = options
    # one test for the common case (nothing to refuse), the details only when something is
    if ((o.tools and (caps.tools is False or caps.tool_choice_required is False or caps.parallel_tools is False))
            or (o.temperature is not None and caps.temperature is False)
            or (o.max_tokens is not None and caps.max_output is not None and o.max_tokens > caps.max_output)
            or (o.reasoning and (caps.reasoning is False or (
                o.temperature is not None and caps.temperature_with_reasoning is False)))
            or (o.n is not None and o.n > 1 and (caps.multiple_choices is False
                                                  or getattr(codec, "choices_field", None) is None))):
        options = _checked(caps, codec, options)
    drop = options.drop_unsupported is True
    if options.response_format is not None and codec.structured_prompt:
        spec = options.response_format
        steps = (_instructions_step(spec, codec.structured_dialect(spec)),) + tuple(steps)
    elif not steps:
        return Plan(options, None)
    elif kept is not None:
        reshape = kept[drop]
        if reshape is None:
            reshape = kept[drop] = Reshape(caps.model, codec.provider, tuple(steps), drop, caps)
        return Plan(options, reshape)
    return Plan(options, Reshape(caps.model, codec.provider, tuple(steps), drop, caps))


def _checked(caps: Capabilities, codec: Any, options: Options) -> Options:
    drop = options.drop_unsupported is True
    changes: Dict[str, Any] = {}
    provider = codec.provider

    def unsupported(option: str, reason: str, replacement: Dict[str, Any], dropped: str = "dropped") -> None:
        if not drop:
            raise _refusal(caps, provider, option, reason)
        changes.update(replacement)
        _log.warning("%s: %s %s (drop_unsupported=True): %s", caps.model, option, dropped, reason)

    tools = options.tools
    if tools and caps.tools is False:
        unsupported("tools", "the model does not call tools (tools is False)",
                    {"tools": None, "tool_choice": None, "parallel_tool_calls": None})
        tools = None
    if tools and options.tool_choice == "required" and caps.tool_choice_required is False:
        unsupported("tool_choice='required'", "the model cannot be made to call a tool "
                    "(tool_choice_required is False)", {"tool_choice": None})
    if tools and options.parallel_tool_calls is not None and caps.parallel_tools is False:
        if options.parallel_tool_calls:
            unsupported("parallel_tool_calls=True", "the model makes one tool call at a time (parallel_tools is "
                        "False)", {"parallel_tool_calls": None})
        else:  # asks for what the model does anyway; a server without parallel calls may not know the field
            changes["parallel_tool_calls"] = None
            _log.debug("%s: parallel_tool_calls=False not sent: the model makes one call at a time", caps.model)
    if options.temperature is not None and caps.temperature is False:
        unsupported("temperature", "the model takes no temperature (temperature is False)", {"temperature": None})
    if options.max_tokens is not None and caps.max_output is not None and options.max_tokens > caps.max_output:
        unsupported(f"max_tokens={options.max_tokens}", f"the model writes at most {caps.max_output} tokens "
                    "(max_output)", {"max_tokens": caps.max_output}, f"lowered to {caps.max_output}")
    n = options.n
    if n is not None and n > 1:
        if getattr(codec, "choices_field", None) is None:
            api = getattr(codec, "protocol", provider)
            unsupported(f"n={n}", f"the {api} API returns one answer per call (no n); for several answers "
                        f"make several calls (client.map([prompt] * {n}) runs them concurrently)", {"n": None})
        elif caps.multiple_choices is False:
            unsupported(f"n={n}", "the model returns one answer per call (multiple_choices is False); make "
                        "several calls instead (client.map)", {"n": None})
    reasoning = options.reasoning
    if reasoning is not None and reasoning is not False and caps.reasoning is False:
        unsupported(f"reasoning={reasoning!r}", "the model does not reason (reasoning is False)", {"reasoning": None})
        reasoning = None
    temperature = changes.get("temperature", options.temperature)
    if (reasoning is not None and reasoning is not False and temperature is not None and temperature != 1
            and caps.temperature_with_reasoning is False):
        unsupported("temperature", f"the model takes no temperature other than 1 while it reasons "
                    f"(reasoning={reasoning!r}; temperature_with_reasoning is False)", {"temperature": None})
    return replace(options, **changes) if changes else options


# -- the conversation ---------------------------------------------------------------------------

class Reshape:
    """The conversation transforms of one call, in order; ``reshape(messages)`` -> the messages
    to send (a new list when anything changed; the input and its messages are never changed)."""

    __slots__ = ("model", "provider", "steps", "drop", "caps")

    def __init__(self, model: str, provider: Optional[str], steps: Tuple["Step", ...], drop: bool,
                 caps: Capabilities) -> None:
        self.model = model
        self.provider = provider
        self.steps = steps
        self.drop = drop
        self.caps = caps

    def __call__(self, messages: List[Message]) -> List[Message]:
        for step in self.steps:
            messages = step(self, messages)
        return messages

    def refuse(self, option: str, reason: str) -> UnsupportedParameterError:
        return _refusal(self.caps, self.provider, option, reason)

    def note(self, what: str) -> None:
        _log.debug("%s: %s", self.model, what)

    def __repr__(self) -> str:
        return f"Reshape({', '.join(getattr(s, '__name__', type(s).__name__) for s in self.steps)})"


Step = Callable[[Reshape, List[Message]], List[Message]]


def conversation_steps(caps: Capabilities, codec: Any) -> Tuple[Step, ...]:
    """The transforms these capabilities ask for, in the order they run."""
    steps: List[Step] = []
    if caps.vision is False:
        steps.append(_images)
    if caps.system_role is False:
        steps.append(_fold_system)
    elif caps.developer_role is False and getattr(codec, "passes_developer", False):
        steps.append(_developer_as_system)
    if caps.multiple_system is False and caps.system_role is not False:
        steps.append(_join_system)
    if caps.empty_content is False:
        steps.append(_leave_out_empty)
    if caps.repeating_roles is False:
        steps.append(_merge_repeats)
    if caps.first_assistant is False:
        steps.append(_user_first)
    if caps.last_assistant is False:
        steps.append(_user_last)
    return tuple(steps)


def _collapse(parts: List[Any]) -> Any:
    """Parts as content: text-only parts as one string, as the caller would have written it."""
    if all(p.__class__ is TextPart for p in parts):
        return "".join(p.text for p in parts)
    return parts


def _with(m: Message, role: Optional[str] = None, content: Any = None) -> Message:
    return Message(m.role if role is None else role, m.content if content is None else content, m.name)


def _instructions_step(spec: Any, dialect: Tuple[str, ...]) -> Step:
    """Structured output by the prompt: the schema, as instructions, in a system message after
    the conversation's own (the model's rules for system messages then apply to it as to any)."""
    from ._structured import prompt_instructions

    text = prompt_instructions(spec, dialect)

    def _instructions(ctx: Reshape, messages: List[Message]) -> List[Message]:
        at = 0
        while at < len(messages) and messages[at].role in _SYSTEM_ROLES:
            at += 1
        ctx.note("structured output asked for in the prompt (the server takes no JSON schema): "
                 "instructions added as a system message")
        return messages[:at] + [Message("system", text)] + messages[at:]

    return _instructions


def _images(ctx: Reshape, messages: List[Message]) -> List[Message]:
    found = [i for i, m in enumerate(messages) if m.content.__class__ is not str
             and any(p.__class__ is ImagePart for p in m.content)]
    if not found:
        return messages
    count = sum(sum(p.__class__ is ImagePart for p in messages[i].content) for i in found)
    reason = f"the model takes text only (vision is False); the conversation has {count} image(s)"
    if not ctx.drop:
        raise ctx.refuse("images", reason)
    _log.warning("%s: images dropped (drop_unsupported=True): %s", ctx.model, reason)
    out = list(messages)
    for i in found:
        m = messages[i]
        out[i] = _with(m, content=_collapse([p for p in m.content if p.__class__ is not ImagePart]))
    return out


def _developer_as_system(ctx: Reshape, messages: List[Message]) -> List[Message]:
    if not any(m.role == "developer" for m in messages):
        return messages
    ctx.note("developer messages sent as system messages (developer_role is False)")
    return [_with(m, role="system") if m.role == "developer" else m for m in messages]


def _fold_system(ctx: Reshape, messages: List[Message]) -> List[Message]:
    if not any(m.role in _SYSTEM_ROLES for m in messages):
        return messages
    text = "\n\n".join(t for t in (m.text for m in messages if m.role in _SYSTEM_ROLES) if t)
    rest = [m for m in messages if m.role not in _SYSTEM_ROLES]
    ctx.note("system text folded into the first user turn (system_role is False)")
    if not text:
        return rest
    if rest and rest[0].role == "user":
        first = rest[0]
        if first.content.__class__ is str:
            content: Any = f"{text}\n\n{first.content}" if first.content else text
        else:
            content = [TextPart(text + "\n\n")] + list(first.content) if first.content else text
        return [_with(first, content=content)] + rest[1:]
    return [Message("user", text)] + rest


def _join_system(ctx: Reshape, messages: List[Message]) -> List[Message]:
    where = [i for i, m in enumerate(messages) if m.role == "system"]
    if len(where) < 2:
        return messages
    text = "\n\n".join(t for t in (messages[i].text for i in where) if t)
    ctx.note(f"{len(where)} system messages joined into one (multiple_system is False)")
    out = [m for i, m in enumerate(messages) if m.role != "system" or i == where[0]]
    out[where[0]] = Message("system", text, messages[where[0]].name)
    return out


def _is_empty(m: Message) -> bool:
    content = m.content
    if content.__class__ is str:
        return not content or content.isspace()
    for p in content:
        if p.__class__ is not TextPart or (p.text and not p.text.isspace()):
            return False
    return True


def _any_empty(messages: List[Message]) -> bool:
    """``any(map(_is_empty, messages))``, inlined: this runs on every call of a model that takes
    no empty turn (Claude), over the whole history (about 25 ns a message)."""
    for m in messages:
        content = m.content
        if content.__class__ is str:
            if not content or content.isspace():
                return True
            continue
        for p in content:  # a list of parts: the first one usually decides
            if p.__class__ is not TextPart or (p.text and not p.text.isspace()):
                break
        else:
            return True
    return False


def _leave_out_empty(ctx: Reshape, messages: List[Message]) -> List[Message]:
    if not _any_empty(messages):  # the common case: nothing empty, nothing built
        return messages
    out = [m for m in messages if not _is_empty(m)]
    if not any(m.role not in _SYSTEM_ROLES for m in out):
        raise ctx.refuse("messages", "every turn of the conversation is empty, and the model takes no empty "
                         "turn (empty_content is False)")
    ctx.note(f"{len(messages) - len(out)} empty turn(s) left out (empty_content is False)")
    return out


def _merge(a: Message, b: Message) -> Message:
    name = a.name if a.name == b.name else None
    if a.content.__class__ is str and b.content.__class__ is str:
        return Message(a.role, "\n\n".join(t for t in (a.content, b.content) if t), name)
    first, second = list(a.parts), list(b.parts)
    between = [TextPart("\n\n")] if (first and second and first[-1].__class__ is TextPart
                                     and second[0].__class__ is TextPart) else []
    return Message(a.role, _collapse(first + between + second), name)


def _merge_repeats(ctx: Reshape, messages: List[Message]) -> List[Message]:
    roles = [m.role for m in messages]
    if not any(r == s and r != "tool" for r, s in zip(roles, roles[1:])):
        return messages
    out: List[Message] = []
    for m in messages:
        if out and out[-1].role == m.role and m.role != "tool":
            out[-1] = _merge(out[-1], m)
        else:
            out.append(m)
    ctx.note(f"consecutive turns of one role merged: {len(messages)} turns sent as {len(out)} "
             "(repeating_roles is False)")
    return out


#: one object for every call: a conversation whose encoding is kept between turns
#: (``llmunified._wirecache``, keyed by the first message) is then recognised again
_FIRST_TURN = Message("user", FIRST_TURN_TEXT)


def _user_first(ctx: Reshape, messages: List[Message]) -> List[Message]:
    at = 0
    while at < len(messages) and messages[at].role in _SYSTEM_ROLES:
        at += 1
    if at == len(messages) or messages[at].role != "assistant":
        return messages
    ctx.note(f"a user turn {FIRST_TURN_TEXT!r} put before the first assistant turn (first_assistant is False)")
    return messages[:at] + [_FIRST_TURN] + messages[at:]


def _user_last(ctx: Reshape, messages: List[Message]) -> List[Message]:
    if not messages or messages[-1].role != "assistant":
        return messages
    reason = ("the conversation ends with an assistant turn (a prefill to continue), and the model answers only "
              "after a user or tool turn (last_assistant is False)")
    if not ctx.drop:
        raise ctx.refuse("messages", reason)
    _log.warning("%s: a user turn %r added (drop_unsupported=True): %s", ctx.model, LAST_TURN_TEXT, reason)
    return messages + [Message("user", LAST_TURN_TEXT)]
