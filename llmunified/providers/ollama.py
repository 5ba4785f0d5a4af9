"""Ollama's native API (``POST /api/chat``), local or Ollama Cloud. Wire facts: docs/wire.md §7.

Not to be confused with Ollama's OpenAI-compatible layer (``/v1``), which the OpenAI codec
speaks. The native API differs in ways that matter here:

- it streams unless told not to, so ``stream`` is always sent explicitly;
- sampling settings live in an ``options`` object (``num_predict`` is the token limit);
- tool-call arguments are JSON **objects**, both ways, and a tool call arrives whole;
- there is no ``tool_choice`` (see :meth:`OllamaCodec.chat_request`);
- images are bare base64 strings on the message (no URLs, no ``data:`` prefix);
- the stream is NDJSON; its last line has ``done: true`` with the reason and token counts.
"""
from __future__ import annotations
import json
import re
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Tuple

from .._options import Options, deep_merge
from .._reasoning import Reasoning, effort_for
from .._types import ImagePart, Message, ModelInfo, Response, ThinkingPart, ToolCall, ToolResult, Usage
from ..errors import LLMError, NotFoundError, ValidationError
from .._http import HTTPRequest
from .._registry import ProviderInfo
from ._base import (Codec, NDJSONStreamDecoder, body_text, decode_json, emit, int_or_none, malformed,
                    new_conversation, put_sampling, shape_guard)
from ._base import new_accumulator

if TYPE_CHECKING:  # the stream machinery loads with the first stream or accumulated reply
    from .._events import Accumulator, StreamEvent

__all__ = ["OllamaCodec", "OllamaStream", "map_done_reason", "map_usage", "encode_messages"]

_ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}

# done_reason values (docs/wire.md §0.4): "load"/"unload" come back when a request only (un)loads the
# model and nothing was generated.
_DONE = {"stop": "stop", "length": "length"}

# The Accumulator names calls the server left without an id "call_<n>". Such an id means nothing
# to the server, so it is not sent back (see _is_real_id).
_SYNTHETIC_ID = re.compile(r"call_[0-9]+\Z")


def map_done_reason(value: Optional[str], has_tool_calls: bool) -> Optional[str]:
    """Ollama's ``done_reason`` -> unified finish reason (None when the server sent none)."""
    if not value:
        return None
    if value == "stop" and has_tool_calls:
        return "tool_calls"  # Ollama has no separate value for "stopped to call tools"
    return _DONE.get(value, "other")


def map_usage(obj: Mapping[str, Any]) -> Usage:
    """Counts from the final object. Cloud replies may leave some out: those count as 0."""
    prompt = _count(obj.get("prompt_eval_count"))
    output = _count(obj.get("eval_count"))
    return Usage(prompt, output, prompt + output)


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _is_real_id(call_id: Optional[str]) -> bool:
    return bool(call_id) and not _SYNTHETIC_ID.match(call_id)  # type: ignore[arg-type]


def _image(p: ImagePart) -> str:
    if p.data:  # data: URLs were already split into media_type + data by ImagePart
        return p.data
    raise ValidationError(
        f"Ollama only accepts images as base64 data, not URLs (got {(p.url or '')[:80]!r}); download the image "
        "and pass ImagePart(data=<base64>, media_type=...) or a data: URL")


def _encode_results(m: Message, names: Dict[str, str]) -> List[Dict[str, Any]]:
    """A tool message's wire entries (``names``: tool call id -> tool name, from earlier turns)."""
    # One wire message per result; chat templates match results to calls by order and
    # ``tool_name`` (newer servers also read ``tool_call_id``).
    wire: List[Dict[str, Any]] = []
    for p in m.parts:
        if not isinstance(p, ToolResult):
            continue
        entry: Dict[str, Any] = {"role": "tool", "content": p.text}
        name = p.name or names.get(p.tool_call_id)
        if name:
            entry["tool_name"] = name
        if _is_real_id(p.tool_call_id):
            entry["tool_call_id"] = p.tool_call_id
        wire.append(entry)
    return wire


def _encode_turn(m: Message) -> Tuple[List[Dict[str, Any]], Tuple[Tuple[str, str], ...]]:
    """A non-tool message's wire entry, and the (call id, tool name) pairs its calls name."""
    entry: Dict[str, Any] = {"role": _ROLES[m.role], "content": m.text}
    named: Tuple[Tuple[str, str], ...] = ()
    if isinstance(m.content, list):
        images = [_image(p) for p in m.content if isinstance(p, ImagePart)]
        if images:
            entry["images"] = images
        thinking = "".join(p.text for p in m.content if isinstance(p, ThinkingPart) and not p.redacted)
        if thinking:
            entry["thinking"] = thinking
        calls = [p for p in m.content if isinstance(p, ToolCall)]
        if calls:
            entry["tool_calls"] = [_encode_call(c) for c in calls]
            named = tuple((c.id, c.name) for c in calls if c.id)
    return [entry], named


def encode_messages(messages: List[Message]) -> List[Dict[str, Any]]:
    """Unified messages -> Ollama ``messages``.

    A conversation encoded before is resumed after the messages it had, with the call names
    they gave (``llmunified._wirecache``).
    """
    conversation = new_conversation(messages, "ollama", names=False)  # Message.name is not sent
    names: Dict[str, str] = dict(conversation.state or {})  # tool call id -> tool name, from earlier turns
    for m in conversation.pending():
        if m.role == "tool":
            conversation.add(_encode_results(m, names))
            continue
        wire, named = _encode_turn(m)
        for call_id, name in named:
            names[call_id] = name
        conversation.add(wire)
    conversation.close(len(messages), names)
    return conversation.result()


def _encode_call(c: ToolCall) -> Dict[str, Any]:
    out: Dict[str, Any] = {"function": {"name": c.name, "arguments": c.arguments}}
    # Older servers know no id (ollama-python's ToolCall has only ``function``) but their JSON
    # decoder ignores unknown fields, so a real id is sent for the servers that do use it.
    if _is_real_id(c.id):
        out["id"] = c.id
    return out


class _Shape(Exception):
    """A reply object that is not the shape Ollama's API promises (turned into the right typed
    error by the caller: MalformedResponseError or StreamError)."""


def _add_message(acc: Accumulator, msg: Any, out: Optional[List[StreamEvent]]) -> int:
    """Feed one reply ``message`` (whole, or one stream line's fragment) to the accumulator;
    returns the number of tool calls it carried."""
    if msg is None:
        return 0
    if not isinstance(msg, dict):
        raise _Shape("'message' is not an object")
    thinking = msg.get("thinking")
    content = msg.get("content")
    calls = msg.get("tool_calls")
    if thinking is not None and not isinstance(thinking, str):
        raise _Shape("message.thinking is not a string")
    if content is not None and not isinstance(content, str):
        raise _Shape("message.content is not a string")
    if calls is not None and not isinstance(calls, list):
        raise _Shape("message.tool_calls is not a list")
    if thinking:
        thought = acc.thinking(thinking)
        if out is not None:
            emit(out, thought)
    if content:
        text = acc.text(content)
        if out is not None:
            emit(out, text)
    for call in calls or ():
        fn = call.get("function") if isinstance(call, dict) else None
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str) or not fn["name"]:
            raise _Shape("a tool call without function.name")
        call_id = call.get("id")
        call_id = call_id if isinstance(call_id, str) and call_id else None
        args = fn.get("arguments")
        if args is None:
            events = acc.add_tool_call(call_id, fn["name"], {})  # some calls carry no arguments at all
        elif isinstance(args, dict):
            events = acc.add_tool_call(call_id, fn["name"], args)
        elif isinstance(args, str):  # not seen from Ollama; kept as text rather than rejected
            events = acc.add_tool_call(call_id, fn["name"], {}, raw_arguments=args)
        else:
            raise _Shape("a tool call's function.arguments is not an object")
        if out is not None:
            out.extend(events)
    return len(calls or ())


def _finish(acc: Accumulator, obj: Mapping[str, Any], has_tool_calls: bool,
            out: Optional[List[StreamEvent]]) -> None:
    reason = obj.get("done_reason")
    usage_ev = acc.set_usage(map_usage(obj))
    finish_ev = acc.finish(map_done_reason(reason if isinstance(reason, str) else None, has_tool_calls))
    if out is not None:
        out.append(usage_ev)
        out.append(finish_ev)


# -- model management (llmunified._admin; docs/wire.md §7 "Other endpoints", ollama's openapi.yaml)
_ADMIN_ROUTES = {"pull": ("POST", "/api/pull"), "show": ("POST", "/api/show"), "delete": ("DELETE", "/api/delete"),
                 "copy": ("POST", "/api/copy"), "create": ("POST", "/api/create"), "running": ("GET", "/api/ps")}
# an in-stream error of a pull whose name the registry does not know (ollama's server/images.go)
_NOT_FOUND_MARKERS = ("file does not exist", "not found")


class _OllamaAdmin(Codec):
    """The model-management hooks of :class:`OllamaCodec` (kept apart from its chat hooks)."""

    def admin_check(self, operation: str) -> None:
        if operation not in _ADMIN_ROUTES:
            super().admin_check(operation)

    def admin_request(self, operation: str, body: Dict[str, Any]) -> HTTPRequest:
        method, path = _ADMIN_ROUTES[operation]
        streams = operation in ("pull", "create")  # NDJSON progress, "stream": true in the body
        headers = {"Accept": "application/x-ndjson" if streams else "application/json"}
        if method == "GET":
            return self.request(method, path, headers)
        headers["Content-Type"] = "application/json"
        return self.request(method, path, headers, body, streams)

    def parse_admin(self, operation: str, name: Optional[str], body: bytes, headers: Mapping[str, str]) -> Any:
        try:
            if operation == "show":
                return self._show(name or "", body, headers)
            return self._running(body, headers)
        except (AttributeError, TypeError, KeyError, IndexError, ValueError) as exc:
            if isinstance(exc, LLMError):
                raise
            raise malformed(self.provider, f"{type(exc).__name__}: {exc}", body, headers) from None

    def _show(self, name: str, body: bytes, headers: Mapping[str, str]) -> Any:
        from .._admin import ModelDetails, parse_parameters

        data = decode_json(self.provider, body, headers=headers, what="model description")
        if not isinstance(data, dict):
            raise malformed(self.provider, "expected a JSON object from /api/show", body, headers)

        def text(key: str) -> Optional[str]:
            value = data.get(key)
            return value if isinstance(value, str) else None

        details, info, caps = data.get("details"), data.get("model_info"), data.get("capabilities")
        return ModelDetails(name, self.provider, details if isinstance(details, dict) else {},
                            parse_parameters(data.get("parameters")), text("template"), text("system"),
                            text("license"), [c for c in caps if isinstance(c, str)] if isinstance(caps, list) else [],
                            info if isinstance(info, dict) else {}, text("modified_at"), data)

    def _running(self, body: bytes, headers: Mapping[str, str]) -> List[ModelInfo]:
        _, items = self.listing(body, headers, "models")
        models = []
        for item in items:
            name = item.get("name") or item["model"]
            if not isinstance(name, str):
                raise TypeError(f"a model name is not a string: {name!r}")
            details = dict(item["details"]) if isinstance(item.get("details"), dict) else {}
            for key in ("size_vram", "expires_at", "context_length"):
                if item.get(key) is not None:
                    details[key] = item[key]
            models.append(ModelInfo(name, self.provider, context_window=int_or_none(item.get("context_length")),
                                    size=int_or_none(item.get("size")), details=details, raw=item))
        return models

    def progress_decoder(self, what: str, headers: Mapping[str, str]) -> Any:
        from .._admin import ProgressDecoder

        def error_for(obj: Dict[str, Any], last: Any) -> LLMError:
            message = obj["error"] if isinstance(obj["error"], str) else json.dumps(obj["error"])
            lowered = message.lower()
            cls = NotFoundError if any(m in lowered for m in _NOT_FOUND_MARKERS) else None
            err = self.make_error(None, headers, f"{message} ({what})", None, None,
                                   json.dumps(obj, ensure_ascii=False), cls=cls)
            err.retryable = False  # progress already reached the caller: the caller decides
            return err

        return ProgressDecoder(self.provider, what, headers, error_for)


class OllamaCodec(_OllamaAdmin):
    """``/api/chat``. ``tool_choice`` has no Ollama field, so it is approximated:

    - ``"auto"`` (or unset): nothing is sent, the model decides;
    - ``"none"``: the tools are left out of the request, so the model cannot call one;
    - a tool name: only that tool is sent. This narrows the choice but does **not** force a
      call; the model may still answer in text;
    - ``"required"``: cannot be expressed at all, so it raises ValidationError.

    ``parallel_tool_calls`` has no Ollama equivalent and is ignored, and so is
    ``ToolResult.is_error`` (a tool message has only content and the tool's name).

    Tool-call ids: older servers send none (the Accumulator then names the calls ``call_0``,
    ``call_1``...); newer ones and Ollama Cloud send ``call_<random>``. Only server-made ids are
    sent back, as ``id`` on the call and ``tool_call_id`` on its result; ``tool_name`` is always
    sent when the name is known (from the ToolResult, or from the call with that id earlier in
    the same request), because that is how every server version pairs a result with its call.
    JSON structured output: ``extra={"format": "json"}`` or ``extra={"format": <JSON Schema>}``.

    ``reasoning=`` is the top-level ``think`` (docs/wire.md §7): ``False`` -> ``false``; on
    gpt-oss models (a name containing ``gpt-oss``), which take levels, a level as
    ``"low"``/``"medium"``/``"high"`` (``minimal`` as ``"low"``) and a budget as the nearest
    level of ``llmunified._reasoning``'s table; on any other model, whose thinking is only on or
    off, any level or budget -> ``true``. Thinking comes back in ``message.thinking``; Ollama
    reports no reasoning token count.

    ``cache=``: Ollama keeps the model's prompt cache between requests by itself; nothing is
    sent.
    """

    protocol = "ollama"
    thinking_replay = "all"  # thinking goes back as the message's "thinking" field
    default_capabilities = {"tool_choice_required": False}  # no tool_choice at all (above)

    @classmethod
    def base_url_from_env(cls, value: str) -> str:
        return normalise_host(value)

    def chat_request(self, messages: List[Message], options: Options, stream: bool) -> HTTPRequest:
        body: Dict[str, Any] = {"model": self.model, "messages": encode_messages(messages),
                                "stream": bool(stream)}  # always explicit: the server streams by default
        opts: Dict[str, Any] = {}
        put_sampling(opts, options, "temperature", "top_p", "num_predict", "stop", "seed")
        if opts:
            body["options"] = opts
        tools = list(options.tools or ())
        choice = options.tool_choice
        if choice == "required":
            raise ValidationError(
                "Ollama cannot force a tool call: its API has no tool_choice. Use tool_choice='auto' "
                "(or a tool name, which sends only that tool) and check reply.tool_calls")
        if choice == "none":
            tools = []
        elif choice not in (None, "auto"):
            tools = [t for t in tools if t.name == choice]
            if not tools:
                raise ValidationError(f"tool_choice {choice!r} names no tool passed in tools")
        if tools:
            body["tools"] = [{"type": "function", "function": {
                "name": t.name, "description": t.description, "parameters": t.parameters}} for t in tools]
        if options.response_format is not None:
            spec = options.response_format
            body["format"] = spec.wire_schema(self.structured_dialect(spec)).schema  # grammar-constrained JSON
        if options.reasoning is not None:
            body["think"] = think_value(self.model, options.reasoning)
        if options.extra:
            # e.g. extra={"think": True, "keep_alive": "5m", "format": {...}, "options": {"num_ctx": 8192}}
            body = deep_merge(body, options.extra)
        headers = {"Content-Type": "application/json",
                   "Accept": "application/x-ndjson" if stream else "application/json"}
        # A key (Ollama Cloud) goes as a bearer token; a local server needs none.
        return self.request("POST", "/api/chat", headers, body, stream)

    # -- model listing -----------------------------------------------------------------------
    def models_request(self, page_token: Optional[str] = None) -> HTTPRequest:
        # GET /api/tags: the models pulled to this server, in one page (docs/wire.md §7)
        return self.request("GET", "/api/tags", {"Accept": "application/json"})

    @shape_guard
    def parse_models(self, body: bytes, headers: Mapping[str, str]) -> Tuple[List[ModelInfo], Optional[str]]:
        _, items = self.listing(body, headers, "models")
        models = []
        for item in items:
            name = item.get("name") or item["model"]
            if not isinstance(name, str):
                raise TypeError(f"a model name is not a string: {name!r}")
            details = item.get("details")
            modified = item.get("modified_at")
            models.append(ModelInfo(name, self.provider, size=int_or_none(item.get("size")),
                                    modified_at=modified if isinstance(modified, str) else None,
                                    details=details if isinstance(details, dict) else None, raw=item))
        return models, None

    def error_details(self, data: Any) -> Tuple[Optional[str], Optional[str], Optional[str]]:
        if not isinstance(data, dict):
            return None, None, None
        err = data.get("error")
        if isinstance(err, str):
            return err, None, None
        if isinstance(err, dict):  # not seen from Ollama; tolerated for proxies in front of it
            msg = err.get("message")
            code = err.get("code")
            return (msg if isinstance(msg, str) else None, err.get("type"),
                    str(code) if code is not None else None)
        return None, None, None

    @shape_guard
    def parse_chat(self, body: bytes, headers: Mapping[str, str]) -> Response:
        data = decode_json(self.provider, body, headers=headers)
        if not isinstance(data, dict):
            raise malformed(self.provider, "expected a JSON object", body, headers)
        if data.get("error") is not None:
            # Ollama sends errors with a non-2xx status, but a proxy in front of it may not.
            message, etype, code = self.error_details(data)
            raise self.make_error(None, headers, message or "error", etype, code, body_text(body))
        if not isinstance(data.get("message"), dict):
            raise malformed(self.provider, "no 'message' object in the chat response", body, headers)
        model_name = data.get("model")
        acc = new_accumulator(self.provider, model_name if isinstance(model_name, str) and model_name else self.model,
                          headers)
        acc.raw = data
        try:
            ncalls = _add_message(acc, data["message"], None)
        except _Shape as exc:
            raise malformed(self.provider, str(exc), body, headers) from None
        _finish(acc, data, ncalls > 0, None)
        return acc.response()

    def stream_decoder(self, headers: Mapping[str, str]) -> "OllamaStream":
        return OllamaStream(self, new_accumulator(self.provider, self.model, headers))

    # -- embeddings: POST /api/embed (docs/wire.md §7) ----------------------------------------
    # No documented limit: batches of 512 keep one request's work (and its timeout) bounded.
    embed_max_inputs = 512
    embed_max_tokens = 200_000

    def embed_request(self, inputs: List[str], options: Any) -> HTTPRequest:
        from .._embed import truncate_flag, unsupported

        body: Dict[str, Any] = {"model": self.model, "input": inputs}
        if options.dimensions is not None:
            body["dimensions"] = options.dimensions
        if options.truncate is not None:
            body["truncate"] = truncate_flag(self, options.truncate)
        if options.input_type is not None:
            raise unsupported(self, "input_type", "/api/embed has no input type; prefix the text as the model "
                              "card says (nomic-embed-text: 'search_query: ...', 'search_document: ...')")
        if options.extra:
            body = deep_merge(body, options.extra)  # e.g. {"keep_alive": "5m", "options": {"num_ctx": 8192}}
        return self.request("POST", "/api/embed", {"Content-Type": "application/json",
                                                   "Accept": "application/json"}, body)

    @shape_guard
    def parse_embeddings(self, body: bytes, headers: Mapping[str, str]) -> Any:
        from .._embed import EmbedBatch, as_vectors

        data = decode_json(self.provider, body, headers=headers, what="embeddings reply")
        if data.get("error") is not None:  # a proxy answering an error with 200
            message, etype, code = self.error_details(data)
            raise self.make_error(None, headers, message or "error", etype, code, body_text(body))
        items = data.pop("embeddings")
        if not isinstance(items, list):
            raise TypeError("'embeddings' is not a list")
        count = data.get("prompt_eval_count")
        usage = Usage(count, 0, count) if isinstance(count, int) and not isinstance(count, bool) else None
        model = data.get("model")
        return EmbedBatch(as_vectors(items), usage, model if isinstance(model, str) and model else None,
                          data)


class OllamaStream(NDJSONStreamDecoder):
    """One JSON object per line; the line with ``done: true`` ends the reply. Tool calls arrive
    whole, so each gives a ToolCallStart and a ToolCallEnd at once (no argument deltas)."""

    def __init__(self, codec: Codec, acc: Accumulator) -> None:
        super().__init__(codec, acc)
        self._ncalls = 0

    def on_line(self, obj: Any, out: List[StreamEvent]) -> None:
        acc = self.acc
        acc.raw.append(obj)
        if not isinstance(obj, dict):
            raise self.broken(f"a line is not a JSON object: {json.dumps(obj)[:200]!r}")
        if obj.get("error") is not None:
            # ollama-python raises on any line with an "error" key (docs/wire.md §0.2).
            raise self.codec.stream_error(obj, acc, acc.headers)
        model = obj.get("model")
        if isinstance(model, str) and model:
            acc.model = model
        try:
            self._ncalls += _add_message(acc, obj.get("message"), out)
        except _Shape as exc:
            err = self.broken(str(exc))
            err.body = json.dumps(obj, ensure_ascii=False)
            raise err from None
        if obj.get("done") is True:
            _finish(acc, obj, self._ncalls > 0, out)


def think_value(model: str, reasoning: Reasoning) -> Any:
    """``think`` for ``reasoning=`` (not None) on ``model`` (see OllamaCodec)."""
    if reasoning is False:
        return False
    if "gpt-oss" not in model.lower():
        return True
    effort = effort_for(reasoning)  # type: ignore[arg-type]  # a level or a budget here
    return "low" if effort == "minimal" else effort


def normalise_host(value: str) -> str:
    """``OLLAMA_HOST`` as Ollama itself reads it: no scheme means http and port 11434; an explicit
    scheme without a port means that scheme's default port (80/443)."""
    value = value.strip().rstrip("/")
    if "://" in value:
        scheme, _, rest = value.partition("://")
        default_port = "443" if scheme == "https" else "80"
    else:
        scheme, rest, default_port = "http", value, "11434"
    host = rest.split("/", 1)[0]
    if ":" not in host.rsplit("]", 1)[-1]:
        rest = rest.replace(host, host + ":" + default_port, 1)
    return f"{scheme}://{rest}"


#: the providers this codec serves; the registry collects them
PROVIDERS = [
    ProviderInfo("ollama", OllamaCodec, "http://localhost:11434", "OLLAMA_API_KEY", "OLLAMA_HOST", False,
                 "Ollama native /api/chat", token_family="llama"),
]
