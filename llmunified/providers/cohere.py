"""Cohere v2 Chat (``POST /v2/chat``). Wire facts: docs/wire.md §8."""
from __future__ import annotations
import logging
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Tuple

from .._http import HTTPRequest
from .._options import Options, deep_merge
from .._reasoning import budget_for
from .._registry import ProviderInfo
from .._retry import parse_should_retry
from .. import _json
from .._types import (Citation, ImagePart, Message, ModelInfo, Response, TextPart, ThinkingPart, ToolCall,
                      ToolResult, Usage)
from ..errors import APIError, AuthenticationError, ValidationError
from ._base import (Codec, SSEStreamDecoder, decode_json, emit, int_or_none, loads, malformed, new_conversation,
                    put_sampling, shape_guard)
from ._base import new_accumulator

if TYPE_CHECKING:  # the stream machinery loads with the first stream or accumulated reply
    from .._events import Accumulator, StreamEvent
    from .._sse import SSEEvent

__all__ = ["CohereCodec", "CohereStream", "map_finish_reason", "map_usage", "encode_messages"]

_log = logging.getLogger("llmunified")

_FINISH = {
    "COMPLETE": "stop",
    "STOP_SEQUENCE": "stop",
    "MAX_TOKENS": "length",
    "TOOL_CALL": "tool_calls",
    "ERROR": "error",
    # The generation ran out of time and stopped unfinished: the reply is cut short by a
    # failure on Cohere's side, not by a limit the caller set, so "error" rather than "length".
    "TIMEOUT": "error",
    # Values of the SDK's older FinishReason (cohere-python ``types/finish_reason.py``), which
    # the v1 API sends: a toxic generation, and the model's context limit reached.
    "ERROR_TOXIC": "content_filter",
    "ERROR_LIMIT": "length",
}

#: statuses the generic table does not know (cohere-python ``v2/raw_client.py`` and the Errors
#: reference): 498 is the SDK's InvalidTokenError; 499 "Request Cancelled" comes with the
#: advice "try the request again", so it is retryable
_STATUS_CLASSES = {498: AuthenticationError, 499: APIError}
_RETRYABLE_STATUSES = (499,)


def map_finish_reason(value: Optional[str]) -> Optional[str]:
    """Cohere ``finish_reason`` -> unified finish reason; None stays None, unknown values are
    ``other``."""
    if value is None:
        return None
    return _FINISH.get(value, "other")


def _count(value: Any) -> int:
    # The API schema types token counts as numbers (the SDK: ``Optional[float]``).
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"a token count is {value!r}, not a number")
    return int(value)


def map_usage(u: Mapping[str, Any]) -> Usage:
    """Cohere ``usage`` -> Usage. ``tokens`` are what the model read and wrote (the prompt's
    cache hits, ``cached_tokens``, included); ``billed_units`` leave out what is not billed
    (system prompt overhead, cache hits), so they stand in only when ``tokens`` is missing, and
    then without a cache figure (the recordings: 507 tokens read, 448 cached, 12 billed)."""
    tokens = u.get("tokens")
    cached = 0
    if isinstance(tokens, dict):
        cached = _count(u.get("cached_tokens"))
    else:
        tokens = u.get("billed_units")
        if not isinstance(tokens, dict):
            tokens = {}
    prompt = _count(tokens.get("input_tokens"))
    output = _count(tokens.get("output_tokens"))
    return Usage(prompt, output, prompt + output, cached)


# -- request ---------------------------------------------------------------------------------

def _image(p: ImagePart) -> Dict[str, Any]:
    spec: Dict[str, Any] = {"url": p.as_data_url()}  # a web URL or a base64 data URI
    if p.detail:
        spec["detail"] = p.detail
    return {"type": "image_url", "image_url": spec}


def _tool_plan(parts: List[Any]) -> Optional[str]:
    """The text sent as ``tool_plan``: the last readable thinking part before the first tool
    call. A reply parsed here keeps Cohere's tool plan as exactly that part; for a reasoning
    model's reply it is the tool plan, not the reasoning before it (a separate part)."""
    plan = None
    for p in parts:
        if isinstance(p, ToolCall):
            break
        if isinstance(p, ThinkingPart) and not p.redacted and p.text:
            plan = p.text
    return plan


def _encode_message(m: Message) -> List[Dict[str, Any]]:
    """The wire entries of one message (a tool message gives one per result)."""
    role = m.role
    if role == "tool":
        # Cohere has no error flag on a tool result: the content says what went wrong.
        return [{"role": "tool", "tool_call_id": p.tool_call_id, "content": p.text}
                for p in m.parts if isinstance(p, ToolResult)]
    content = m.content
    if role in ("system", "developer"):
        return [{"role": "system", "content": content if isinstance(content, str) else m.text}]
    if isinstance(content, str):
        return [{"role": role, "content": content}]
    if role == "assistant":
        calls = [p for p in content if isinstance(p, ToolCall)]
        text = "".join(p.text for p in content if isinstance(p, TextPart))
        entry: Dict[str, Any] = {"role": "assistant"}
        if text or not calls:
            entry["content"] = text
        if calls:
            # The tool plan goes back with the calls it led to, as Cohere's tool-use guide
            # does; other thinking is not sent (the reply's reasoning is the model's own).
            plan = _tool_plan(content)
            if plan is not None:
                entry["tool_plan"] = plan
            entry["tool_calls"] = [{"id": c.id, "type": "function",
                                    "function": {"name": c.name, "arguments": c.arguments_json()}}
                                   for c in calls]
        return [entry]
    if all(isinstance(p, TextPart) for p in content):
        return [{"role": role, "content": "".join(p.text for p in content if isinstance(p, TextPart))}]
    items: List[Dict[str, Any]] = []
    for p in content:
        if isinstance(p, TextPart):
            items.append({"type": "text", "text": p.text})
        elif isinstance(p, ImagePart):
            items.append(_image(p))
    return [{"role": role, "content": items}]


def encode_messages(messages: List[Message]) -> List[Dict[str, Any]]:
    """The wire ``messages``. Each message's entries depend on it alone, so a long conversation
    encoded before is resumed after the messages it had (``llmunified._wirecache``)."""
    if len(messages) < _json.MIN_MESSAGES:  # a short history: nothing worth keeping
        return [entry for m in messages for entry in _encode_message(m)]
    conversation = new_conversation(messages, "cohere", names=False)  # Message.name is not sent
    for m in conversation.pending():
        conversation.add(_encode_message(m))
    conversation.close(len(messages), None)
    return conversation.result()


class CohereCodec(Codec):
    """Cohere v2 Chat.

    - ``top_p`` goes out as ``p`` and ``stop`` as ``stop_sequences``; ``parallel_tool_calls``
      has no Cohere counterpart and is dropped (logged at debug level).
    - ``tool_choice``: ``"auto"`` is Cohere's default (nothing sent), ``"required"`` and
      ``"none"`` are ``REQUIRED`` / ``NONE``. Cohere cannot name a tool, so a tool name sends
      ``REQUIRED`` with that tool alone in ``tools``: the model must call it.
    - Structured output is ``response_format: {"type": "json_object", "json_schema": ...}``;
      Cohere refuses it together with tools, so that combination is a ValidationError before
      any request is made.
    - ``reasoning=`` is ``thinking`` (docs/wire.md §8): a budget as
      ``{"type": "enabled", "token_budget": N}``, a level by ``llmunified._reasoning``'s table
      (minimal 1,024, low 2,048, medium 8,192, high 24,576), ``False`` as
      ``{"type": "disabled"}``.
    - ``cache=``: Cohere caches prompts by itself and reports the hits (``cached_tokens`` ->
      ``usage.cache_read_tokens``); nothing is sent.
    - A reply's ``tool_plan`` becomes a thinking part ahead of its tool calls, and is sent
      back as ``tool_plan`` with them; ``citations`` land on ``Response.citations``.
    """

    protocol = "cohere"
    # Only a tool plan goes back (with its tool calls); reasoning never does.
    thinking_replay = "none"
    #: Cohere's wording (the API's Errors reference) for a prompt too long for the model. The
    #: generic "too many tokens" is left out: Cohere starts other errors with it too ("too many
    #: tokens: max tokens must be less than or equal to 4096, the maximum output ...").
    context_window_markers = ("total number of tokens in the prompt cannot exceed", "size limit exceeded by",
                              "prompt is too long", "context_length_exceeded", "context window",
                              "maximum context length")

    def __init__(self, config: Any, model: str) -> None:
        super().__init__(config, model)
        # The SDK's base URL is the host (its paths start with v2/); accept one ending in /v2.
        self._path = "/chat" if config.base_url.rstrip("/").endswith("/v2") else "/v2/chat"

    def chat_request(self, messages: List[Message], options: Options, stream: bool) -> HTTPRequest:
        body: Dict[str, Any] = {"model": self.model, "messages": encode_messages(messages)}
        put_sampling(body, options, "temperature", "p", "max_tokens", "stop_sequences", "seed")
        tools = list(options.tools or ())
        choice = options.tool_choice
        if choice is not None and choice not in ("auto", "none", "required"):
            tools = [t for t in tools if t.name == choice]  # the named tool alone, and REQUIRED
            if not tools:
                raise ValidationError(f"tool_choice {choice!r} names no tool passed in tools")
        if options.response_format is not None:
            if tools:
                raise ValidationError(
                    f"{self.provider} cannot combine response_format with tools (its API refuses them together): "
                    "drop tools=... for a structured answer, or drop response_format and read the tool call's "
                    "arguments instead")
            spec = options.response_format
            body["response_format"] = {"type": "json_object",
                                       "json_schema": spec.wire_schema(self.structured_dialect(spec)).schema}
        if tools:
            body["tools"] = [{"type": "function", "function": {
                "name": t.name, "description": t.description, "parameters": t.parameters}} for t in tools]
            if any(getattr(t, "strict", None) for t in tools):
                body["strict_tools"] = True
        if choice == "none":
            body["tool_choice"] = "NONE"
        elif choice is not None and choice != "auto":
            body["tool_choice"] = "REQUIRED"
        if options.parallel_tool_calls is not None:
            _log.debug("cohere: the Chat API has no parallel_tool_calls; %r not sent", options.parallel_tool_calls)
        reasoning = options.reasoning
        if reasoning is False:
            body["thinking"] = {"type": "disabled"}
        elif reasoning is not None:
            body["thinking"] = {"type": "enabled", "token_budget": budget_for(reasoning)}
        if stream:
            body["stream"] = True
        if options.extra:
            body = deep_merge(body, options.extra)
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream" if stream else "application/json"}
        return self.request("POST", self._path, headers, body, stream)

    # -- model listing -----------------------------------------------------------------------
    def models_request(self, page_token: Optional[str] = None) -> HTTPRequest:
        # GET /v1/models?page_token= (docs/wire.md §8 Models), with the SDK's X-Client-Name.
        # A base URL ending in /v2 (chat's version) is the host with that version: v1 is beside it.
        from urllib.parse import quote

        base = self.config.base_url.rstrip("/")
        if base.endswith("/v2"):
            base = base[:-len("/v2")]
        path = "/v1/models"
        if page_token is not None:
            path += "?page_token=" + quote(page_token, safe="")
        return self.request("GET", path, {"Accept": "application/json", "X-Client-Name": "llmunified"}, base=base)

    @shape_guard
    def parse_models(self, body: bytes, headers: Mapping[str, str]) -> Tuple[List[ModelInfo], Optional[str]]:
        data, items = self.listing(body, headers, "models")
        models = []
        for item in items:
            name = item["name"]
            if not isinstance(name, str):
                raise TypeError(f"a model name is not a string: {name!r}")
            endpoints = item.get("endpoints")
            models.append(ModelInfo(name, self.provider, context_window=int_or_none(item.get("context_length")),
                                    methods=[e for e in endpoints if isinstance(e, str)]
                                    if isinstance(endpoints, list) else None, raw=item))
        token = data.get("next_page_token")
        return models, (token if isinstance(token, str) and token else None)

    # -- embeddings: POST /v2/embed (docs/wire.md §8 Embeddings) -----------------------------
    # Up to 96 texts per request (Cohere's Embed reference). ``input_type`` is required: the
    # default is search_document; ``embedding_types`` always asks for floats (others may be added
    # with extra=, and are kept on Embeddings.raw).
    embed_max_inputs = 96
    embed_max_tokens = 100_000

    def embed_request(self, inputs: List[str], options: Any) -> HTTPRequest:
        from .._embed import cohere_input_type

        body: Dict[str, Any] = {"model": self.model, "texts": inputs,
                                "input_type": cohere_input_type(options.input_type), "embedding_types": ["float"]}
        if options.dimensions is not None:
            body["output_dimension"] = options.dimensions
        if options.truncate is not None:
            truncate = options.truncate
            body["truncate"] = "END" if truncate is True else "NONE" if truncate is False else truncate.upper()
        if options.extra:
            body = deep_merge(body, options.extra)
        path = "/embed" if self._path == "/chat" else "/v2/embed"
        return self.request("POST", path, {"Content-Type": "application/json", "Accept": "application/json",
                                           "X-Client-Name": "llmunified"}, body)

    @shape_guard
    def parse_embeddings(self, body: bytes, headers: Mapping[str, str]) -> Any:
        from .._embed import EmbedBatch, as_vectors

        data = decode_json(self.provider, body, headers=headers, what="embeddings reply")
        kinds = data["embeddings"]
        items = kinds.pop("float") if isinstance(kinds, dict) else None
        if not isinstance(items, list):
            raise TypeError("no 'embeddings.float' list (embedding_types must include 'float')")
        if not kinds:
            data.pop("embeddings")
        data.pop("texts", None)  # the inputs, echoed
        meta = data.get("meta")
        billed = meta.get("billed_units") if isinstance(meta, dict) else None
        count = int_or_none(billed.get("input_tokens")) if isinstance(billed, dict) else None
        usage = Usage(count, 0, count) if count is not None else None
        return EmbedBatch(as_vectors(items), usage, None, data)

    # -- errors ------------------------------------------------------------------------------
    def error_details(self, data: Any) -> Tuple[Optional[str], Optional[str], Optional[str]]:
        # An error body is {"id"?: "...", "message": "..."}: flat, with no type or code. Inside a
        # stream, a message-end event says what failed in delta.error.
        if not isinstance(data, dict):
            return None, None, None
        message = data.get("message")
        if message is None and data.get("type") == "message-end" and isinstance(data.get("delta"), dict):
            message = data["delta"].get("error")
        return (message if isinstance(message, str) else None), None, None

    def make_error(self, status: Optional[int], headers: Mapping[str, str], message: str, etype: Optional[str],
                   code: Optional[str], body: Optional[str], response: Any = None,
                   cls: Optional[type] = None) -> APIError:
        if cls is None and status in _STATUS_CLASSES:
            cls = _STATUS_CLASSES[status]
        err = super().make_error(status, headers, message, etype, code, body, response=response, cls=cls)
        if status in _RETRYABLE_STATUSES and parse_should_retry(headers) is None:
            err.retryable = True
        return err

    def error_extras(self, err: APIError, data: Any) -> None:
        # The response headers carry no request id (X-Debug-Trace-ID is a trace, not one);
        # an error body's "id" names the failed request.
        if err.request_id is None and isinstance(data, dict):
            rid = data.get("id")
            if isinstance(rid, str) and rid:
                err.request_id = rid

    # -- responses ---------------------------------------------------------------------------
    @shape_guard
    def parse_chat(self, body: bytes, headers: Mapping[str, str]) -> Response:
        data = decode_json(self.provider, body, headers=headers)
        if not isinstance(data, dict):
            raise malformed(self.provider, "expected a JSON object", body, headers)
        message = data.get("message")
        if not isinstance(message, dict):
            raise malformed(self.provider, "no message in the reply", body, headers)
        acc = new_accumulator(self.provider, self.model, headers)  # the reply names no model
        rid = data.get("id")
        acc.id = rid if isinstance(rid, str) else None
        acc.raw = data
        content = message.get("content")
        if isinstance(content, str):
            acc.text(content)
        elif content is not None:
            if not isinstance(content, list):
                raise malformed(self.provider, "message.content is not a list", body, headers)
            for item in content:
                if not isinstance(item, dict):
                    raise malformed(self.provider, "a content item is not an object", body, headers)
                kind = item.get("type")
                if kind == "text":
                    acc.text(_string(item.get("text"), "a text item's text"))
                elif kind == "thinking":
                    acc.thinking(_string(item.get("thinking"), "a thinking item's thinking"))
        plan = message.get("tool_plan")
        if plan:
            acc.new_thinking_block()  # apart from any reasoning before it: it is what goes back
            acc.thinking(_string(plan, "message.tool_plan"))
        for call in message.get("tool_calls") or ():
            fn = call.get("function") if isinstance(call, dict) else None
            if not isinstance(fn, dict) or not fn.get("name"):
                raise malformed(self.provider, "a tool call without function.name", body, headers)
            args = fn.get("arguments")
            if isinstance(args, dict):
                acc.add_tool_call(_optional_str(call.get("id")), fn["name"], args)
            else:
                acc.add_tool_call(_optional_str(call.get("id")), fn["name"], {},
                                  raw_arguments=_string(args, "function.arguments") if args else "")
        for cite in message.get("citations") or ():
            acc.citations.append(_citation(cite))
        usage = data.get("usage")
        if isinstance(usage, dict):
            acc.set_usage(map_usage(usage))
        acc.finish(map_finish_reason(_optional_str(data.get("finish_reason"))))
        return acc.response()

    def stream_decoder(self, headers: Mapping[str, str]) -> "CohereStream":
        return CohereStream(self, new_accumulator(self.provider, self.model, headers))


def _string(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} is {type(value).__name__}, not a string")
    return value


def _optional_str(value: Any) -> Optional[str]:
    return value if isinstance(value, str) else None


def _offset(value: Any) -> Optional[int]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"a citation offset is {value!r}, not a number")
    return int(value)


def _citation(c: Any) -> Citation:
    """One Cohere citation: offsets into the answer's text, the cited span, its sources as sent."""
    if not isinstance(c, dict):
        raise TypeError("a citation is not an object")
    sources = c.get("sources")
    if sources is not None and not isinstance(sources, list):
        raise TypeError("citation.sources is not a list")
    text = c.get("text")
    return Citation(text if isinstance(text, str) else "", _offset(c.get("start")), _offset(c.get("end")),
                    sources or [], _optional_str(c.get("type")))


class CohereStream(SSEStreamDecoder):
    """Cohere's SSE events (docs/wire.md §8 Streaming) -> unified events. The event's type is
    read from its data (``{"type": ...}``); an ``event:`` line is only a fallback."""

    def __init__(self, codec: Codec, acc: Accumulator) -> None:
        super().__init__(codec, acc)
        self._plan = False  # inside the tool plan's thinking part

    def handle(self, ev: SSEEvent, out: List[StreamEvent]) -> None:
        data = ev.data
        try:
            obj = loads(data)
        except ValueError:
            if data == "[DONE]":  # not Cohere's, but the SDK tolerates one
                return
            raise self.broken(f"an event's data is not valid JSON: {data[:200]!r}", body=data) from None
        acc = self.acc
        acc.raw.append(obj)
        if type(obj) is not dict:
            raise self.broken(f"an event is not a JSON object: {data[:200]!r}", body=data)
        kind = obj.get("type") or ev.event
        if kind == "content-delta":  # the common event: kept short
            content = obj["delta"]["message"]["content"]
            text = content.get("text")
            if type(text) is str:
                if text:
                    out.append(acc.text(text))  # type: ignore[arg-type]  # never None here
                return
            if text is not None:
                raise TypeError(f"a content delta's text is {type(text).__name__}, not a string")
            thinking = content.get("thinking")
            if thinking is not None:
                emit(out, acc.thinking(_string(thinking, "a content delta's thinking")))
            return
        self._other(kind, obj, out)

    def _other(self, kind: Any, obj: Dict[str, Any], out: List[StreamEvent]) -> None:
        acc = self.acc
        if kind == "content-start":
            content = obj["delta"]["message"]["content"]
            if content.get("type") == "thinking":
                emit(out, acc.thinking(_string(content.get("thinking") or "", "a content start's thinking")))
            else:
                emit(out, acc.text(_string(content.get("text") or "", "a content start's text")))
        elif kind == "tool-plan-delta":
            piece = _string(obj["delta"]["message"]["tool_plan"], "delta.message.tool_plan")
            if piece:
                if not self._plan:
                    self._plan = True
                    acc.new_thinking_block()  # apart from any reasoning before it
                emit(out, acc.thinking(piece))
        elif kind == "tool-call-start":
            call = obj["delta"]["message"]["tool_calls"]
            fn = call.get("function") or {}
            index = obj.get("index")
            out.append(acc.tool_start(index, _optional_str(call.get("id")), _string(fn.get("name"), "function.name")))
            emit(out, acc.tool_args(index, _string(fn.get("arguments") or "", "function.arguments")))
        elif kind == "tool-call-delta":
            fragment = obj["delta"]["message"]["tool_calls"]["function"]["arguments"]
            emit(out, acc.tool_args(obj.get("index"), _string(fragment, "function.arguments")))
        elif kind == "tool-call-end":
            emit(out, acc.tool_end(obj.get("index")))  # no delta in between: arguments {}
        elif kind == "citation-start":
            acc.citations.append(_citation(obj["delta"]["message"]["citations"]))
        elif kind == "message-start":
            rid = obj.get("id")
            if isinstance(rid, str):
                acc.id = rid
        elif kind == "message-end":
            self._end(obj, out)
        # content-end, citation-end, debug and types added later carry nothing to report.

    def _end(self, obj: Dict[str, Any], out: List[StreamEvent]) -> None:
        acc = self.acc
        delta = obj.get("delta") or {}
        out.extend(acc.end_open_tools())
        usage = delta.get("usage")
        if isinstance(usage, dict):
            out.append(acc.set_usage(map_usage(usage)))
        finish = map_finish_reason(_optional_str(delta.get("finish_reason")))
        error = delta.get("error")
        if error:
            # The generation failed after the 200: a typed error carrying what arrived (its
            # message is read from the event by error_details).
            acc.finish_reason = finish or "error"
            raise self.codec.stream_error(obj, acc, acc.headers)
        out.append(acc.finish(finish))

    def on_eof(self, out: List[StreamEvent]) -> None:
        raise self.broken("the connection closed before message-end")


#: the providers this codec serves; the registry collects them
PROVIDERS = [
    ProviderInfo("cohere", CohereCodec, "https://api.cohere.com", ("CO_API_KEY", "COHERE_API_KEY"), "COHERE_BASE_URL",
                 True, "Cohere v2 Chat"),
]
