"""Cohere v2 Chat. docs/wire.md §8 (``/work/shared/wire/WIRE.md``).

Routes (``url_for("cohere")`` is the host root; clients append ``/v2/chat``):

* ``POST /v2/chat``: one chat response, or an SSE stream when the body says ``"stream": true``.
* ``GET /v1/models``: ``{"models": [{"name", "endpoints", "finetuned", "context_length",
  "default_endpoints"}], "next_page_token"?}``, paged by ``page_size`` / ``page_token`` (an
  opaque token taken from ``next_page_token``) and filtered by ``endpoint`` (``chat``,
  ``embed``, ...); ``default_only`` is accepted and ignored. The path is shared with OpenAI,
  Anthropic and Gemini: Cohere answers it when the request carries ``X-Client-Name`` (the
  optional header the Cohere SDK sends) or an ``X-Fern-SDK-Name`` naming cohere; with a bare
  ``Authorization: Bearer`` the OpenAI dialect does. Model names containing ``embed`` are listed
  with the ``embed`` endpoint, names containing ``rerank`` with ``rerank``, others with ``chat``.
* Unknown paths under ``/v2/`` get Cohere's 404. Embeddings (``/v2/embed``) are not emulated
  (no dialect emulates embeddings yet).

Auth: ``Authorization: Bearer <key>``, any non-empty key (like the OpenAI dialect); checked on
every route unless ``Emulator(require_auth=False)``. Without a key: 401 ``no api key supplied``;
another scheme: 401 ``invalid api token`` (both wordings as reported by users of the real API).

Errors are flat: ``{"id": "<uuid>", "message": "..."}`` (recorded:
``error_404_embed_model_not_found``). ``Reply.error_type`` / ``error_code`` have no place in that
shape and are ignored; scripted headers (``retry-after``, ...) are sent as given.

Facts verified by the recordings in ``tests/fixtures/cohere/``:

* the non-streaming body and its key order: ``id``, ``message`` (``role``, ``content`` as a list
  of ``{"type": "thinking", "thinking"}`` / ``{"type": "text", "text"}`` blocks, ``citations``
  with ``start``/``end``/``text``/``sources``/``type``), ``finish_reason``, ``usage``;
* ``usage``: ``billed_units`` and ``tokens``, each ``{input_tokens, output_tokens}`` as
  integers, then ``cached_tokens`` (absent when nothing was cached, as in ``chat_basic``);
* the finish reasons ``COMPLETE`` and ``MAX_TOKENS``;
* the stream's data objects for text: ``message-start`` (``id`` before ``type``, the empty
  skeleton ``{role, content: [], tool_plan: "", tool_calls: [], citations: []}``),
  ``content-start`` / ``content-delta`` / ``content-end`` with ``index``, and
  ``message-end`` with ``delta.finish_reason`` and ``delta.usage``;
* the deltas: one per word, punctuation apart (``" Paris"``, ``"."``); the thinking and the
  plan are cut the same way, ``Reply.repeat_chunks`` sends the text as that many equal deltas;
* the response headers ``access-control-expose-headers: X-Debug-Trace-ID``, the no-cache
  headers and ``vary: Origin``.

From WIRE.md and the Cohere SDK's types, not recorded (unverified):

* the SSE framing ``event: <type>`` + ``data: {...}`` (WIRE.md: seen only in third-party mocks)
  and the content type (the emulator's default ``text/event-stream; charset=utf-8``);
* the shapes of ``tool-plan-delta``, ``tool-call-start`` / ``-delta`` / ``-end`` (no delta for a
  call without arguments), ``citation-start`` / ``citation-end`` (one citation per pair, sent
  after the text deltas and before the text's ``content-end``, as Cohere's stream docs list
  them), a thinking block streamed as its own content block before the text;
* the finish reasons ``TOOL_CALL``, ``STOP_SEQUENCE``, ``ERROR``, ``TIMEOUT``;
* tool call ids ``<name>_<random>`` and the response id as a UUID;
* ``message-end.delta.error``: the Cohere SDK (``ChatMessageEndEventDelta.error``, "An error
  message if an error occurred during the generation") is the only source for an error inside
  a stream, so ``Reply.stream_error`` ends the stream after the text with
  ``content-end`` then ``message-end {"delta": {"error", "finish_reason": "ERROR", "usage"}}``.
  ``Reply.break_after`` remains the way to cut a stream off with no ending at all;
* contract messages: ``unknown field: parameter 'x' is not a valid field. ...`` with status 422
  (reported by users of the real API, also for a key nested in a tool definition); the other
  rules answer 400 ``invalid request: ...`` with a plain message (their real wording is not
  known).

Rendering a :class:`Reply`:

* ``content``: a thinking block when ``thinking`` is set, then the text block (left out when
  the reply has only tool calls or a plan); ``tool_plan`` from ``Reply.plan``; ``tool_calls``
  with ``arguments`` as a JSON string; ``citations`` from ``Reply.citations`` as given.
* finish reasons: ``stop`` -> ``COMPLETE``, ``length`` -> ``MAX_TOKENS``, ``tool_calls`` ->
  ``TOOL_CALL``, ``content_filter`` and ``error`` -> ``ERROR`` (v2 has no content-filter
  reason); other strings are sent verbatim (``STOP_SEQUENCE``, ``TIMEOUT``).
* usage: ``tokens`` is the unified ``(input, output)``; ``billed_units`` bills the input not
  read from the cache (``input - cache_read``) and the whole output; ``cached_tokens`` is
  ``cache_read`` when non-zero. Reasoning tokens have no field of their own.
"""
import base64
import hashlib
import re
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Set

from .._contract import Violation, is_int, type_name
from .._render import (
    Context,
    dumps,
    short_hash,
    split_fixed,
    text_events,
    tool_arguments_json,
)
from .._reply import Reply
from .._request import RecordedRequest
from ._base import Answer, Dialect, Route

_FINISH = {"stop": "COMPLETE", "length": "MAX_TOKENS", "tool_calls": "TOOL_CALL",
           "content_filter": "ERROR", "error": "ERROR"}

_DOCS = "https://docs.cohere.com/reference/chat"

# A word with its leading whitespace, or a run of punctuation: the recorded stream sends
# " Paris" and "." as two deltas.
_PIECE = re.compile(r"\s*\w+|\s*[^\w\s]+|\s+")

# The body keys of the v2 chat request (cohere-python ``v2/raw_client.py``; ``return_prompt``
# was sent by SDK releases before July 2025).
_REQUEST_KEYS = frozenset((
    "model", "messages", "tools", "strict_tools", "documents", "citation_options",
    "response_format", "safety_mode", "max_tokens", "stop_sequences", "temperature", "seed",
    "frequency_penalty", "presence_penalty", "k", "p", "logprobs", "tool_choice", "thinking",
    "priority", "stream", "return_prompt",
))
_MESSAGE_KEYS = {
    "system": frozenset(("role", "content")),
    "user": frozenset(("role", "content")),
    "assistant": frozenset(("role", "content", "tool_plan", "tool_calls", "citations")),
    "tool": frozenset(("role", "tool_call_id", "content")),
}
_PART_TYPES = {
    "system": ("text",),
    "user": ("text", "image_url", "document"),
    "assistant": ("text", "thinking"),
    "tool": ("text", "document"),
}
_PART_KEYS = {
    "text": frozenset(("type", "text")),
    "thinking": frozenset(("type", "thinking")),
    "image_url": frozenset(("type", "image_url")),
    "document": frozenset(("type", "document")),
}
_TOOL_KEYS = frozenset(("type", "function"))
_FUNCTION_KEYS = frozenset(("name", "description", "parameters"))
_CALL_KEYS = frozenset(("id", "type", "function"))
_CALL_FUNCTION_KEYS = frozenset(("name", "arguments"))
_TOOL_CHOICES = ("REQUIRED", "NONE")


class Cohere(Dialect):
    name = "cohere"
    base_path = ""
    routes = (Route("POST", "/v2/chat", "chat"),
              Route("GET", "/v1/models", "models"),
              Route("POST", "/v2/embed", "embed"))
    path_prefixes = ("/v2/",)

    def embeddings(self, request: RecordedRequest) -> Answer:
        from .. import _embeddings

        return _embeddings.cohere(self, request)
    default_models = ("command-a-03-2025", "command-r7b-12-2024", "command-a-reasoning-08-2025",
                      "embed-v4.0")
    # Statuses the SDK maps (docs/wire.md §8 Errors); the wording is plain, not the real one,
    # except for 401 and 498.
    error_messages = {
        400: "invalid request",
        401: "invalid api token",
        402: "payment required",
        403: "forbidden",
        404: "not found",
        422: "unprocessable entity",
        429: "too many requests",
        498: "invalid api token",
        499: "client closed request",
        500: "internal server error",
        501: "not implemented",
        503: "service unavailable",
        504: "gateway timeout",
    }
    fallback_error_message = "error"

    # ---- routing -------------------------------------------------------------------------
    def claims(self, headers: Mapping[str, str]) -> bool:
        if "x-client-name" in headers:
            return True
        return "cohere" in (headers.get("x-fern-sdk-name") or "").lower()

    # ---- requests ------------------------------------------------------------------------
    def check_headers(self, headers: Mapping[str, str], require_auth: bool) -> List[Violation]:
        return check_auth(headers) if require_auth else []

    def check_body(self, body: Any, json_error: Optional[str]) -> List[Violation]:
        return check_chat(body, json_error)

    # ---- headers and errors --------------------------------------------------------------
    def base_headers(self, request_id: str) -> Dict[str, str]:
        return {
            "access-control-expose-headers": "X-Debug-Trace-ID",
            "cache-control": "no-cache, no-store, no-transform, must-revalidate, private, "
                             "max-age=0",
            "expires": "Thu, 01 Jan 1970 00:00:00 UTC",
            "pragma": "no-cache",
            "vary": "Origin",
            "x-debug-trace-id": _hex("trace", request_id, length=32),
        }

    def error_body(self, status: int, message: Optional[str], type_: Optional[str] = None,
                   code: Optional[str] = None, param: Optional[str] = None,
                   request_id: str = "") -> bytes:
        return dumps({"id": _uuid("error", request_id),
                      "message": self.error_message(status, message)})

    def not_found(self, request: RecordedRequest, request_id: str) -> Answer:
        message = "no route for %s %s" % (request.method, request.path)
        return Answer(404, self.error_body(404, message, request_id=request_id),
                      self.json_content_type)

    # ---- answers -------------------------------------------------------------------------
    def serve(self, endpoint: str, request: RecordedRequest, models: Sequence[str]) -> Answer:
        if endpoint != "models":
            return super().serve(endpoint, request, models)
        query = request.query_params
        wanted = query.get("endpoint") or ""
        listed = [m for m in models if not wanted or wanted in _endpoints(m)]
        size_text = query.get("page_size") or ""
        size = int(size_text) if size_text.isdigit() and int(size_text) > 0 else 20
        start = _page_offset(query.get("page_token") or "")
        if start is None:
            return Answer(400, self.error_body(400, "invalid request: invalid page_token"),
                          self.json_content_type)
        body: Dict[str, Any] = {"models": [_model_entry(m) for m in listed[start:start + size]]}
        if start + size < len(listed):
            body["next_page_token"] = _page_token(start + size)
        return Answer(200, dumps(body), self.json_content_type)

    def models_body(self, models: Sequence[str]) -> Dict[str, Any]:
        return {"models": [_model_entry(m) for m in models]}

    def render(self, reply: Reply, ctx: Context) -> Dict[str, Any]:
        """The non-streaming chat response."""
        message: Dict[str, Any] = {"role": "assistant"}
        content: List[Dict[str, Any]] = []
        if reply.thinking is not None:
            content.append({"type": "thinking", "thinking": reply.thinking})
        if _has_text_block(reply):
            content.append({"type": "text", "text": reply.full_text})
        if content:
            message["content"] = content
        if reply.plan is not None:
            message["tool_plan"] = reply.plan
        calls = _tool_calls(reply, ctx)
        if calls:
            message["tool_calls"] = calls
        if reply.citations:
            message["citations"] = [dict(c) for c in reply.citations]
        return {
            "id": _response_id(reply, ctx),
            "message": message,
            "finish_reason": _finish_reason(reply),
            "usage": _usage(reply, ctx),
        }

    def events(self, reply: Reply, ctx: Context) -> Iterator[bytes]:
        """The SSE events of a streamed chat response, each one fully framed."""
        yield _frame({
            "id": _response_id(reply, ctx),
            "type": "message-start",
            "delta": {"message": {"role": "assistant", "content": [], "tool_plan": "",
                                  "tool_calls": [], "citations": []}},
        })
        index = 0
        if reply.thinking is not None:
            yield _content_start(index, {"type": "thinking", "thinking": ""})
            for piece in _pieces(reply.thinking):
                yield _content_delta(index, {"thinking": piece})
            yield _frame({"type": "content-end", "index": index})
            index += 1

        if reply.stream_error is not None:
            yield _content_start(index, {"type": "text", "text": ""})
            for event in _text_deltas(reply, index):
                yield event
            yield _frame({"type": "content-end", "index": index})
            yield _frame({"type": "message-end",
                          "delta": {"error": reply.stream_error, "finish_reason": "ERROR",
                                    "usage": _usage(reply, ctx)}})
            return

        if reply.plan:
            for piece in _pieces(reply.plan):
                yield _frame({"type": "tool-plan-delta",
                              "delta": {"message": {"tool_plan": piece}}})

        if _has_text_block(reply):
            yield _content_start(index, {"type": "text", "text": ""})
            for event in _text_deltas(reply, index):
                yield event
            for n, citation in enumerate(reply.citations):
                yield _frame({"type": "citation-start", "index": n,
                              "delta": {"message": {"citations": dict(citation)}}})
                yield _frame({"type": "citation-end", "index": n})
            yield _frame({"type": "content-end", "index": index})
            index += 1

        for n, call in enumerate(_tool_calls(reply, ctx)):
            arguments = call["function"]["arguments"]
            yield _frame({"type": "tool-call-start", "index": n, "delta": {"message": {
                "tool_calls": {"id": call["id"], "type": "function",
                               "function": {"name": call["function"]["name"],
                                            "arguments": ""}}}}})
            if arguments not in ("", "{}"):
                for piece in split_fixed(arguments, 12):
                    yield _frame({"type": "tool-call-delta", "index": n, "delta": {"message": {
                        "tool_calls": {"function": {"arguments": piece}}}}})
            yield _frame({"type": "tool-call-end", "index": n})

        yield _frame({"type": "message-end",
                      "delta": {"finish_reason": _finish_reason(reply),
                                "usage": _usage(reply, ctx)}})


# ---- rendering helpers -------------------------------------------------------------------------

def _frame(obj: Dict[str, Any]) -> bytes:
    return b"event: " + obj["type"].encode("ascii") + b"\ndata: " + dumps(obj) + b"\n\n"


def _content_start(index: int, block: Dict[str, Any]) -> bytes:
    return _frame({"type": "content-start", "index": index,
                   "delta": {"message": {"content": block}}})


def _content_delta(index: int, piece: Dict[str, Any]) -> bytes:
    return _frame({"type": "content-delta", "index": index,
                   "delta": {"message": {"content": piece}}})


def _pieces(text: str) -> List[str]:
    return _PIECE.findall(text) if text else []


def _text_deltas(reply: Reply, index: int) -> Iterator[bytes]:
    if reply.repeat_chunks:
        return text_events(reply, lambda piece: _content_delta(index, {"text": piece}))
    return (_content_delta(index, {"text": piece}) for piece in _pieces(reply.text))


def _has_text_block(reply: Reply) -> bool:
    """A text block is sent when there is text, or when there is nothing else to send."""
    return bool(reply.full_text) or (not reply.tool_calls and not reply.plan)


def _finish_reason(reply: Reply) -> str:
    unified = reply.unified_finish_reason()
    return _FINISH.get(unified, unified)


def _usage(reply: Reply, ctx: Context) -> Dict[str, Any]:
    inp, out = ctx.tokens(reply)
    usage: Dict[str, Any] = {
        "billed_units": {"input_tokens": max(0, inp - reply.cache_read), "output_tokens": out},
        "tokens": {"input_tokens": inp, "output_tokens": out},
    }
    if reply.cache_read:
        usage["cached_tokens"] = reply.cache_read
    return usage


def _hex(*parts: Any, length: int) -> str:
    text = "\x1f".join(str(p) for p in parts).encode("utf-8")
    return hashlib.sha256(b"llmunified-emulator-cohere\x00" + text).hexdigest()[:length]


def _uuid(*parts: Any) -> str:
    """A deterministic id shaped like a version-4 UUID (Cohere's ids are UUIDs)."""
    h = _hex(*parts, length=32)
    return "%s-%s-4%s-a%s-%s" % (h[:8], h[8:12], h[13:16], h[17:20], h[20:32])


def _response_id(reply: Reply, ctx: Context) -> str:
    return reply.id or _uuid("response", ctx.seq)


def _tool_calls(reply: Reply, ctx: Context) -> List[Dict[str, Any]]:
    return [
        {
            "id": call.id or "%s_%s" % (call.name, short_hash("cohere-call", ctx.seq, i,
                                                             length=12)),
            "type": "function",
            "function": {"name": call.name, "arguments": tool_arguments_json(call.arguments)},
        }
        for i, call in enumerate(reply.tool_calls)
    ]


def _endpoints(model: str) -> List[str]:
    if "embed" in model:
        return ["embed"]
    if "rerank" in model:
        return ["rerank"]
    return ["chat"]


def _model_entry(model: str) -> Dict[str, Any]:
    endpoints = _endpoints(model)
    return {"name": model, "endpoints": endpoints, "finetuned": False,
            "context_length": 128000 if endpoints == ["embed"] else 256000,
            "default_endpoints": []}


def _page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(b"offset:%d" % offset).decode("ascii")


def _page_offset(token: str) -> Optional[int]:
    if not token:
        return 0
    try:
        text = base64.urlsafe_b64decode(token.encode("ascii")).decode("ascii")
    except (ValueError, UnicodeError):
        return None
    label, _, number = text.partition(":")
    if label != "offset" or not number.isdigit():
        return None
    return int(number)


# ---- contract checks -----------------------------------------------------------------------------

def check_auth(headers: Mapping[str, str]) -> List[Violation]:
    auth = (headers.get("authorization") or "").strip()
    scheme, _, token = auth.partition(" ")
    if not auth or (scheme.lower() == "bearer" and not token.strip()):
        return [Violation(401, "no api key supplied")]
    if scheme.lower() != "bearer":
        return [Violation(401, "invalid api token")]
    return []


def _bad(message: str) -> Violation:
    return Violation(400, "invalid request: " + message)


def _unknown(keys: Any, allowed: frozenset) -> List[Violation]:
    """422 for each key the real API does not know (it refuses unknown fields at any depth)."""
    return [Violation(422, "unknown field: parameter '%s' is not a valid field. For proper "
                           "usage, please refer to %s" % (key, _DOCS))
            for key in keys if key not in allowed]


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_chat(body: Any, json_error: Optional[str]) -> List[Violation]:
    if json_error is not None:
        return [_bad("the body is not valid JSON (%s)" % json_error)]
    if not isinstance(body, dict):
        return [_bad("the body must be a JSON object, got %s" % type_name(body))]
    out: List[Violation] = _unknown(body, _REQUEST_KEYS)
    model = body.get("model")
    if not isinstance(model, str) or not model:
        out.append(_bad("model is required" if model is None
                        else "model must be a non-empty string"))
    out.extend(_messages(body))
    out.extend(_tools(body))
    if "stream" in body and not isinstance(body["stream"], bool):
        out.append(_bad("stream must be a boolean, got %s" % type_name(body["stream"])))
    for key in ("temperature", "p", "frequency_penalty", "presence_penalty"):
        if body.get(key) is not None and not _is_number(body[key]):
            out.append(_bad("%s must be a number, got %s" % (key, type_name(body[key]))))
    for key in ("max_tokens", "k", "seed"):
        if body.get(key) is not None and not is_int(body[key]):
            out.append(_bad("%s must be an integer, got %s" % (key, type_name(body[key]))))
    if is_int(body.get("max_tokens")) and body["max_tokens"] < 1:
        out.append(_bad("max_tokens must be at least 1"))
    stops = body.get("stop_sequences")
    if stops is not None and (not isinstance(stops, list)
                              or not all(isinstance(s, str) for s in stops)):
        out.append(_bad("stop_sequences must be a list of strings"))
    out.extend(_response_format(body))
    out.extend(_thinking(body.get("thinking")))
    return out


def _messages(body: Dict[str, Any]) -> List[Violation]:
    messages = body.get("messages")
    if messages is None:
        return [_bad("messages is required")]
    if not isinstance(messages, list):
        return [_bad("messages must be a list, got %s" % type_name(messages))]
    if not messages:
        return [_bad("messages must contain at least one message")]
    out: List[Violation] = []
    open_calls: Optional[List[str]] = None  # ids of the last assistant message's tool calls
    answered: Set[str] = set()
    open_at = -1

    def close_run() -> None:
        if open_calls is not None:
            missing = [cid for cid in open_calls if cid not in answered]
            if missing:
                out.append(_bad("messages[%d]: the tool calls %s have no tool message with "
                                "their result" % (open_at, ", ".join(missing))))

    for i, msg in enumerate(messages):
        where = "messages[%d]" % i
        if not isinstance(msg, dict):
            out.append(_bad("%s must be an object, got %s" % (where, type_name(msg))))
            continue
        role = msg.get("role")
        if role not in _MESSAGE_KEYS:
            out.append(_bad("%s: role must be one of system, user, assistant, tool; got %r"
                            % (where, role)))
            continue
        out.extend(_unknown(msg, _MESSAGE_KEYS[role]))
        if role != "tool":
            close_run()
            open_calls = None
        content = msg.get("content")
        if role != "assistant" and content is None:
            out.append(_bad("%s: content is required for a %s message" % (where, role)))
        elif content is not None:
            out.extend(_content(where, role, content))
        if role == "assistant":
            plan = msg.get("tool_plan")
            if plan is not None and not isinstance(plan, str):
                out.append(_bad("%s: tool_plan must be a string" % where))
            calls = msg.get("tool_calls")
            if calls is not None and not isinstance(calls, list):
                out.append(_bad("%s: tool_calls must be a list" % where))
                calls = None
            if content is None and not calls:
                out.append(_bad("%s: an assistant message needs content or tool_calls" % where))
            if calls:
                open_calls = _assistant_calls(where, calls, out)
                answered = set()
                open_at = i
        elif role == "tool":
            call_id = msg.get("tool_call_id")
            if not isinstance(call_id, str) or not call_id:
                out.append(_bad("%s: tool_call_id is required for a tool message" % where))
            elif open_calls is None:
                out.append(_bad("%s: a tool message must follow an assistant message with "
                                "tool_calls" % where))
            elif call_id not in open_calls:
                out.append(_bad("%s: tool_call_id '%s' does not match a tool call of the "
                                "previous assistant message" % (where, call_id)))
            else:
                answered.add(call_id)
    close_run()
    return out


def _content(where: str, role: str, content: Any) -> List[Violation]:
    if isinstance(content, str):
        return []
    if not isinstance(content, list):
        return [_bad("%s: content must be a string or a list of content blocks, got %s"
                     % (where, type_name(content)))]
    out: List[Violation] = []
    allowed = _PART_TYPES[role]
    for j, part in enumerate(content):
        at = "%s.content[%d]" % (where, j)
        if not isinstance(part, dict):
            out.append(_bad("%s must be an object" % at))
            continue
        kind = part.get("type")
        if kind not in allowed:
            out.append(_bad("%s: type must be one of %s for a %s message, got %r"
                            % (at, ", ".join(allowed), role, kind)))
            continue
        out.extend(_unknown(part, _PART_KEYS[kind]))
        if kind in ("text", "thinking") and not isinstance(part.get(kind), str):
            out.append(_bad("%s: %s must be a string" % (at, kind)))
        elif kind == "image_url":
            image = part.get("image_url")
            if not isinstance(image, dict) or not isinstance(image.get("url"), str):
                out.append(_bad("%s: image_url.url is required" % at))
        elif kind == "document" and not isinstance(part.get("document"), dict):
            out.append(_bad("%s: document must be an object" % at))
    return out


def _assistant_calls(where: str, calls: List[Any], out: List[Violation]) -> List[str]:
    ids: List[str] = []
    for j, call in enumerate(calls):
        at = "%s.tool_calls[%d]" % (where, j)
        if not isinstance(call, dict):
            out.append(_bad("%s must be an object" % at))
            continue
        out.extend(_unknown(call, _CALL_KEYS))
        if not isinstance(call.get("id"), str) or not call["id"]:
            out.append(_bad("%s: id is required" % at))
        else:
            ids.append(call["id"])
        if call.get("type", "function") != "function":
            out.append(_bad("%s: type must be 'function'" % at))
        fn = call.get("function")
        if not isinstance(fn, dict):
            out.append(_bad("%s: function is required" % at))
            continue
        out.extend(_unknown(fn, _CALL_FUNCTION_KEYS))
        if not isinstance(fn.get("name"), str) or not fn["name"]:
            out.append(_bad("%s: function.name is required" % at))
        if "arguments" in fn and not isinstance(fn["arguments"], str):
            out.append(_bad("%s: function.arguments must be a JSON string, got %s"
                            % (at, type_name(fn["arguments"]))))
    return ids


def _tools(body: Dict[str, Any]) -> List[Violation]:
    out: List[Violation] = []
    tools = body.get("tools")
    if tools is not None:
        if not isinstance(tools, list):
            return [_bad("tools must be a list, got %s" % type_name(tools))]
        for i, tool in enumerate(tools):
            at = "tools[%d]" % i
            if not isinstance(tool, dict):
                out.append(_bad("%s must be an object" % at))
                continue
            out.extend(_unknown(tool, _TOOL_KEYS))
            if tool.get("type") != "function":
                out.append(_bad("%s: type must be 'function', got %r" % (at, tool.get("type"))))
            fn = tool.get("function")
            if not isinstance(fn, dict):
                out.append(_bad("%s: function is required" % at))
                continue
            out.extend(_unknown(fn, _FUNCTION_KEYS))
            if not isinstance(fn.get("name"), str) or not fn["name"]:
                out.append(_bad("%s: function.name is required" % at))
            params = fn.get("parameters")
            if params is not None and not isinstance(params, dict):
                out.append(_bad("%s: function.parameters must be a JSON schema object" % at))
    if "strict_tools" in body and not isinstance(body["strict_tools"], bool):
        out.append(_bad("strict_tools must be a boolean"))
    choice = body.get("tool_choice")
    if choice is not None and choice not in _TOOL_CHOICES:
        # Cohere's only values; "auto" is expressed by leaving tool_choice out.
        out.append(_bad("tool_choice must be one of REQUIRED, NONE; got %r" % (choice,)))
    return out


def _response_format(body: Dict[str, Any]) -> List[Violation]:
    fmt = body.get("response_format")
    if fmt is None:
        return []
    if not isinstance(fmt, dict):
        return [_bad("response_format must be an object")]
    out = _unknown(fmt, frozenset(("type", "json_schema")))
    kind = fmt.get("type")
    if kind not in ("text", "json_object"):
        out.append(_bad("response_format.type must be one of text, json_object; got %r"
                        % (kind,)))
    elif kind == "text" and "json_schema" in fmt:
        out.append(_bad("response_format.json_schema must not be set when the type is text"))
    elif fmt.get("json_schema") is not None and not isinstance(fmt["json_schema"], dict):
        out.append(_bad("response_format.json_schema must be an object"))
    # The SDK's ResponseFormatV2: "not supported when used in combinations with the
    # `documents` or `tools` parameters".
    for other in ("tools", "documents"):
        if body.get(other):
            out.append(_bad("response_format cannot be combined with %s" % other))
    return out


def _thinking(thinking: Any) -> List[Violation]:
    if thinking is None:
        return []
    if not isinstance(thinking, dict):
        return [_bad("thinking must be an object")]
    out = _unknown(thinking, frozenset(("type", "token_budget")))
    if thinking.get("type") not in ("enabled", "disabled"):
        out.append(_bad("thinking.type must be one of enabled, disabled; got %r"
                        % (thinking.get("type"),)))
    budget = thinking.get("token_budget")
    if budget is not None and (not is_int(budget) or budget < 1):
        out.append(_bad("thinking.token_budget must be a positive integer"))
    return out
