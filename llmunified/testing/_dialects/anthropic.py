"""Anthropic Messages.

``POST /v1/messages`` and ``GET /v1/models`` (sent with an ``anthropic-version`` or
``x-api-key`` header; paged as the API pages it: ``limit`` 1-1000, default 20, ``after_id`` /
``before_id``, and ``has_more``, ``first_id``, ``last_id`` in the reply); ``url_for("anthropic")``
is the base URL.
"""
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence

from .._contract import TOOL_NAME, Violation, is_int
from .._render import (
    Context,
    dumps,
    short_hash,
    split_fixed,
    split_words,
    text_events,
    thinking_signature,
    tool_arguments_json,
    tool_arguments_object,
)
from .._reply import Reply
from .._request import RecordedRequest
from ._base import Answer, Dialect, Route

_FINISH = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use",
           "content_filter": "refusal"}


class Anthropic(Dialect):
    name = "anthropic"
    routes = (Route("POST", "/v1/messages", "chat"),
              Route("GET", "/v1/models", "models"),
              Route("POST", "/v1/messages/count_tokens", "count_tokens"),
              # Message Batches: llmunified/testing/_batches.py
              Route("POST", "/v1/messages/batches", "batch_create"),
              Route("GET", "/v1/messages/batches", "batch_list"),
              Route("GET", "/v1/messages/batches/{batch_id}", "batch_get"),
              Route("POST", "/v1/messages/batches/{batch_id}/cancel", "batch_cancel"),
              Route("GET", "/v1/messages/batches/{batch_id}/results", "batch_results"))
    default_models = ("claude-sonnet-4-5", "claude-haiku-4-5")
    # docs/wire.md §3 Errors.
    error_types = {
        400: "invalid_request_error",
        401: "authentication_error",
        402: "billing_error",
        403: "permission_error",
        404: "not_found_error",
        413: "request_too_large",
        429: "rate_limit_error",
        500: "api_error",
        504: "timeout_error",
        529: "overloaded_error",
    }
    server_error_type = "api_error"
    error_messages = {
        400: "Invalid request.",
        401: "invalid x-api-key",
        402: "Your credit balance is too low to access the Anthropic API.",
        403: "Your API key does not have permission to use the specified resource.",
        404: "Not found.",
        413: "Request exceeds the maximum allowed number of bytes.",
        429: "Number of request tokens has exceeded your per-minute rate limit.",
        500: "Internal server error",
        504: "Request timed out.",
        529: "Overloaded",
    }
    fallback_error_message = "Error"

    def claims(self, headers: Mapping[str, str]) -> bool:
        return "anthropic-version" in headers or "x-api-key" in headers

    def check_headers(self, headers: Mapping[str, str], require_auth: bool) -> List[Violation]:
        return check_headers(headers, require_auth)

    def check_body(self, body: Any, json_error: Optional[str]) -> List[Violation]:
        return check_messages(body, json_error)

    def count_tokens(self, request: RecordedRequest) -> Answer:
        from .. import _counting

        return _counting.anthropic(self, request)

    def base_headers(self, request_id: str) -> Dict[str, str]:
        return {
            "request-id": request_id,
            "anthropic-organization-id": "00000000-0000-4000-8000-000000000000",
        }

    def error_headers(self, status: int) -> Dict[str, str]:
        retry = status in (408, 409, 429) or status >= 500
        return {"x-should-retry": "true" if retry else "false"}

    def error_object(self, status: int, message: Optional[str],
                     type_: Optional[str] = None) -> Dict[str, Any]:
        return {"type": self.error_type(status, type_),
                "message": self.error_message(status, message)}

    def error_body(self, status: int, message: Optional[str], type_: Optional[str] = None,
                   code: Optional[str] = None, param: Optional[str] = None,
                   request_id: str = "") -> bytes:
        return dumps({"type": "error", "error": self.error_object(status, message, type_),
                      "request_id": request_id})

    def serve(self, endpoint: str, request: RecordedRequest, models: Sequence[str]) -> Answer:
        if endpoint != "models":
            return super().serve(endpoint, request, models)
        query = request.query_params
        limit_text = query.get("limit") or "20"
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= 1000:
            return Answer(400, self.error_body(400, "limit: Input should be between 1 and 1000"),
                          self.json_content_type)
        limit, listed = int(limit_text), list(models)
        start, end = 0, len(listed)
        for key in ("after_id", "before_id"):
            ident = query.get(key)
            if ident is None:
                continue
            if ident not in listed:
                return Answer(404, self.error_body(404, "model: %s" % ident), self.json_content_type)
            if key == "after_id":
                start = listed.index(ident) + 1
            else:
                end = listed.index(ident)
        if "before_id" in query and "after_id" not in query:
            start = max(0, end - limit)  # the page just before before_id
        page = listed[start:min(end, start + limit)]
        body = self.models_body(page)
        body["has_more"] = start + limit < end if "before_id" not in query or "after_id" in query else start > 0
        return Answer(200, dumps(body), self.json_content_type)

    def models_body(self, models: Sequence[str]) -> Dict[str, Any]:
        data = [{"type": "model", "id": m, "display_name": m,
                 "created_at": "2025-01-01T00:00:00Z"} for m in models]
        return {"data": data, "has_more": False,
                "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None}

    def render(self, reply: Reply, ctx: Context) -> Dict[str, Any]:
        """The non-streaming ``message`` body."""
        content: List[Dict[str, Any]] = []
        if reply.thinking is not None:
            content.append({"type": "thinking", "thinking": reply.thinking,
                            "signature": _signature(reply)})
        if reply.full_text:
            content.append({"type": "text", "text": reply.full_text})
        blocks = _tool_blocks(reply, ctx)
        for block in blocks:
            if not isinstance(block["input"], dict):
                block["input"] = {}
        content.extend(blocks)
        return {
            "model": ctx.model(reply),
            "id": _message_id(reply, ctx),
            "type": "message",
            "role": "assistant",
            "content": content,
            "stop_reason": _stop_reason(reply),
            "stop_sequence": None,
            "usage": _usage_object(reply, ctx),
        }

    def events(self, reply: Reply, ctx: Context) -> Iterator[bytes]:
        """The SSE events of a streamed message, each one fully framed."""
        frame = _Framer()
        yield frame({
            "type": "message_start",
            "message": {
                "id": _message_id(reply, ctx), "type": "message", "role": "assistant",
                "model": ctx.model(reply), "content": [], "stop_reason": None,
                "stop_sequence": None, "usage": _usage_object(reply, ctx, output_tokens=1),
            },
        })
        index = 0
        pinged = [False]

        def start(block: Dict[str, Any]) -> Iterator[bytes]:
            yield frame({"type": "content_block_start", "index": index, "content_block": block})
            if not pinged[0]:
                pinged[0] = True
                yield _PING

        def delta(d: Dict[str, Any]) -> bytes:
            return frame({"type": "content_block_delta", "index": index, "delta": d})

        if reply.thinking is not None:
            for ev in start({"type": "thinking", "thinking": "", "signature": ""}):
                yield ev
            for piece in split_words(reply.thinking):
                yield delta({"type": "thinking_delta", "thinking": piece})
            yield delta({"type": "signature_delta", "signature": _signature(reply)})
            yield frame({"type": "content_block_stop", "index": index})
            index += 1

        if reply.text or reply.stream_error is not None:
            for ev in start({"type": "text", "text": ""}):
                yield ev
            for ev in text_events(reply, lambda piece: delta({"type": "text_delta",
                                                              "text": piece})):
                yield ev
            if reply.stream_error is not None:
                err = self.error_object(529, reply.stream_error,
                                        reply.error_type or "overloaded_error")
                yield frame({"type": "error", "error": err})
                return
            yield frame({"type": "content_block_stop", "index": index})
            index += 1

        for call, block in zip(reply.tool_calls, _tool_blocks(reply, ctx)):
            for ev in start({"type": "tool_use", "id": block["id"], "name": block["name"],
                             "input": {}}):
                yield ev
            yield delta({"type": "input_json_delta", "partial_json": ""})
            arguments = tool_arguments_json(call.arguments)
            if arguments != "{}":
                for piece in split_fixed(arguments, 12):
                    yield delta({"type": "input_json_delta", "partial_json": piece})
            yield frame({"type": "content_block_stop", "index": index})
            index += 1

        if not pinged[0]:
            yield _PING
        final_usage = _input_parts(reply, ctx)
        final_usage["output_tokens"] = ctx.tokens(reply)[1]
        if reply.reasoning_tokens:
            final_usage["output_tokens_details"] = {"thinking_tokens": reply.reasoning_tokens}
        yield frame({"type": "message_delta",
                     "delta": {"stop_reason": _stop_reason(reply), "stop_sequence": None},
                     "usage": final_usage})
        yield frame({"type": "message_stop"})


# ---- rendering helpers -------------------------------------------------------------------------

def _stop_reason(reply: Reply) -> str:
    unified = reply.unified_finish_reason()
    return _FINISH.get(unified, unified)


def _input_parts(reply: Reply, ctx: Context) -> Dict[str, Any]:
    inp, _ = ctx.tokens(reply)
    return {
        # Anthropic's input_tokens leaves the cached tokens out (docs/wire.md §0.5).
        "input_tokens": max(0, inp - reply.cache_read - reply.cache_write),
        "cache_creation_input_tokens": reply.cache_write,
        "cache_read_input_tokens": reply.cache_read,
    }


def _usage_object(reply: Reply, ctx: Context, output_tokens: Optional[int] = None) -> Dict[str, Any]:
    usage = _input_parts(reply, ctx)
    usage["cache_creation"] = {"ephemeral_5m_input_tokens": reply.cache_write,
                               "ephemeral_1h_input_tokens": 0}
    usage["output_tokens"] = ctx.tokens(reply)[1] if output_tokens is None else output_tokens
    if reply.reasoning_tokens and output_tokens is None:
        usage["output_tokens_details"] = {"thinking_tokens": reply.reasoning_tokens}
    usage["service_tier"] = "standard"
    return usage


def _message_id(reply: Reply, ctx: Context) -> str:
    return reply.id or "msg_01" + short_hash("msg", ctx.seq, length=22)


def _signature(reply: Reply) -> str:
    if reply.thinking_signature is not None:
        return reply.thinking_signature
    return thinking_signature(reply.thinking or "")


def _tool_blocks(reply: Reply, ctx: Context) -> List[Dict[str, Any]]:
    return [
        {"type": "tool_use", "id": ctx.tool_id("toolu_01", i, call.id), "name": call.name,
         "input": tool_arguments_object(call.arguments)}
        for i, call in enumerate(reply.tool_calls)
    ]


class _Framer:
    """Frames events as ``event: X`` + ``data: {...}``, padding some JSON like the real API."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, obj: Dict[str, Any]) -> bytes:
        self.count += 1
        data = dumps(obj)
        pad = (self.count * 5) % 11
        if pad and data.endswith(b"}"):
            data = data[:-1] + b" " * pad + b"}"
        return b"event: " + obj["type"].encode("ascii") + b"\ndata: " + data + b"\n\n"


_PING = b'event: ping\ndata: {"type": "ping"}\n\n'


# ---- contract checks -----------------------------------------------------------------------------

_ROLES = ("user", "assistant")


def _ant(message: str, status: int = 400, type_: str = "invalid_request_error") -> Violation:
    return Violation(status, message, type_=type_)


def check_headers(headers: Mapping[str, str], require_auth: bool) -> List[Violation]:
    if require_auth:
        key = (headers.get("x-api-key") or "").strip()
        auth = (headers.get("authorization") or "").strip()
        bearer = auth.lower().startswith("bearer ") and auth[7:].strip()
        if not key and not bearer:
            return [_ant("x-api-key header is required", 401, "authentication_error")]
    if not (headers.get("anthropic-version") or "").strip():
        return [_ant("anthropic-version: header is required")]
    return []


def check_messages(body: Any, json_error: Optional[str]) -> List[Violation]:
    if json_error is not None:
        return [_ant("There was an error parsing the body of your request: %s" % json_error)]
    if not isinstance(body, dict):
        return [_ant("body: Input should be a valid dictionary")]
    out: List[Violation] = []
    if not isinstance(body.get("model"), str) or not body.get("model"):
        out.append(_ant("model: Field required" if "model" not in body
                        else "model: Input should be a valid string"))
    max_tokens: Any = body.get("max_tokens")
    if "max_tokens" not in body:
        out.append(_ant("max_tokens: Field required"))
    elif not is_int(max_tokens):
        out.append(_ant("max_tokens: Input should be a valid integer"))
    elif max_tokens < 1:
        out.append(_ant("max_tokens: Input should be greater than or equal to 1"))
    out.extend(_message_list(body))
    system = body.get("system")
    if system is not None and not isinstance(system, (str, list)):
        out.append(_ant("system: Input should be a valid string or a list of text blocks"))
    elif isinstance(system, list):
        for j, block in enumerate(system):
            if not isinstance(block, dict) or block.get("type") != "text" \
                    or not isinstance(block.get("text"), str):
                out.append(_ant("system.%d: Input should be a text block "
                                "({\"type\": \"text\", \"text\": ...})" % j))
    out.extend(_tools(body))
    temperature = body.get("temperature")
    if temperature is not None:
        if not isinstance(temperature, (int, float)) or isinstance(temperature, bool):
            out.append(_ant("temperature: Input should be a valid number"))
        elif not 0 <= temperature <= 1:
            out.append(_ant("temperature: Input should be less than or equal to 1"
                            if temperature > 1 else
                            "temperature: Input should be greater than or equal to 0"))
    thinking = body.get("thinking")
    if thinking is not None:
        if not isinstance(thinking, dict) or thinking.get("type") not in (
                "enabled", "disabled", "adaptive"):
            out.append(_ant("thinking: Input tag '%s' found using 'type' does not match any of "
                            "the expected tags: 'enabled', 'disabled', 'adaptive'"
                            % (thinking.get("type") if isinstance(thinking, dict) else thinking)))
        elif thinking["type"] == "enabled":
            budget: Any = thinking.get("budget_tokens")
            if not is_int(budget):
                out.append(_ant("thinking.enabled.budget_tokens: Field required"
                                if budget is None else
                                "thinking.enabled.budget_tokens: Input should be a valid integer"))
            elif budget < 1024:
                out.append(_ant("thinking.enabled.budget_tokens: Input should be greater than "
                                "or equal to 1024"))
            elif is_int(max_tokens) and max_tokens <= budget:
                out.append(_ant("`max_tokens` must be greater than `thinking.budget_tokens`."))
            out.extend(_thinking_rules(body))
    out.extend(_cache_controls(body))
    if "stream" in body and not isinstance(body["stream"], bool):
        out.append(_ant("stream: Input should be a valid boolean"))
    return out


def _thinking_rules(body: Dict[str, Any]) -> List[Violation]:
    """What the API refuses together with enabled thinking (docs/wire.md §3 Extended thinking):
    a temperature other than 1, top_p below 0.95, top_k, a forced tool."""
    out: List[Violation] = []
    temperature = body.get("temperature")
    if temperature is not None and temperature != 1:
        out.append(_ant("`temperature` may only be set to 1 when thinking is enabled."))
    top_p = body.get("top_p")
    if isinstance(top_p, (int, float)) and not isinstance(top_p, bool) and top_p < 0.95:
        out.append(_ant("`top_p` must be greater than or equal to 0.95 or unset when thinking is enabled."))
    if body.get("top_k") is not None:
        out.append(_ant("`top_k` must be unset when thinking is enabled."))
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") in ("any", "tool"):
        out.append(_ant("Thinking may not be enabled when tool_choice forces tool use."))
    return out


#: blocks with ``cache_control`` one request may carry
MAX_CACHE_BREAKPOINTS = 4


def _cache_controls(body: Dict[str, Any]) -> List[Violation]:
    """Each ``cache_control`` well formed, on a block that can carry one, and at most
    :data:`MAX_CACHE_BREAKPOINTS` of them (the top-level one of automatic caching included)."""
    out: List[Violation] = []
    found = 0

    def visit(obj: Any, at: str, kind: Optional[str] = None) -> None:
        nonlocal found
        if not isinstance(obj, dict) or "cache_control" not in obj:
            return
        control = obj["cache_control"]
        if control is None:
            return
        found += 1
        if kind in ("thinking", "redacted_thinking"):
            out.append(_ant("%s.%s.cache_control: Extra inputs are not permitted" % (at, kind)))
        elif kind == "text" and obj.get("text") == "":
            out.append(_ant("%s: cache_control cannot be set for empty text blocks" % at))
        if not isinstance(control, dict) or control.get("type") != "ephemeral":
            out.append(_ant("%s.cache_control.type: Input should be 'ephemeral'" % at))
        elif control.get("ttl") not in (None, "5m", "1h"):
            out.append(_ant("%s.cache_control.ttl: Input should be '5m' or '1h'" % at))

    visit(body, "body")
    for name in ("system", "tools"):
        blocks = body.get(name)
        for j, block in enumerate(blocks if isinstance(blocks, list) else ()):
            visit(block, "%s.%d" % (name, j), block.get("type") if isinstance(block, dict) else None)
    messages = body.get("messages")
    for i, msg in enumerate(messages if isinstance(messages, list) else ()):
        content = msg.get("content") if isinstance(msg, dict) else None
        for j, block in enumerate(content if isinstance(content, list) else ()):
            visit(block, "messages.%d.content.%d" % (i, j), block.get("type") if isinstance(block, dict) else None)
    if found > MAX_CACHE_BREAKPOINTS:
        out.append(_ant("A maximum of %d blocks with cache_control may be provided. Found %d."
                        % (MAX_CACHE_BREAKPOINTS, found)))
    return out


def _message_list(body: Dict[str, Any]) -> List[Violation]:
    if "messages" not in body:
        return [_ant("messages: Field required")]
    messages = body["messages"]
    if not isinstance(messages, list):
        return [_ant("messages: Input should be a valid list")]
    if not messages:
        return [_ant("messages: at least one message is required")]
    out: List[Violation] = []
    prev_tool_ids: Optional[List[str]] = None  # tool_use ids of the previous assistant message
    for i, msg in enumerate(messages):
        where = "messages.%d" % i
        if not isinstance(msg, dict):
            out.append(_ant(where + ": Input should be a valid dictionary"))
            prev_tool_ids = None
            continue
        role = msg.get("role")
        if role == "system":
            out.append(_ant(where + ".role: Unexpected role \"system\". The Messages API accepts "
                            "a top-level `system` parameter, not \"system\" as an input message "
                            "role."))
            prev_tool_ids = None
            continue
        if role not in _ROLES:
            out.append(_ant(where + ".role: Input should be 'user' or 'assistant'"))
            prev_tool_ids = None
            continue
        if i == 0 and role != "user":
            out.append(_ant(where + ".role: first message must use the \"user\" role"))
        if "content" not in msg:
            out.append(_ant(where + ".content: Field required"))
            prev_tool_ids = None
            continue
        content = msg["content"]
        last = i == len(messages) - 1
        if isinstance(content, str):
            if not content and not (last and role == "assistant"):
                out.append(_ant(where + ": all messages must have non-empty content except for "
                                "the optional final assistant message"))
            blocks: List[Any] = []
        elif isinstance(content, list):
            blocks = content
            if not blocks and not (last and role == "assistant"):
                out.append(_ant(where + ": all messages must have non-empty content except for "
                                "the optional final assistant message"))
        else:
            out.append(_ant(where + ".content: Input should be a valid list"))
            prev_tool_ids = None
            continue

        results: List[str] = []
        tool_ids: List[str] = []
        for j, block in enumerate(blocks):
            at = "%s.content.%d" % (where, j)
            if not isinstance(block, dict):
                out.append(_ant(at + ": Input should be a valid dictionary"))
                continue
            kind = block.get("type")
            if "type" not in block:
                out.append(_ant(at + ".type: Field required"))
            elif kind == "text":
                if not isinstance(block.get("text"), str):
                    out.append(_ant(at + ".text.text: Field required"))
            elif kind == "tool_use":
                if role != "assistant":
                    out.append(_ant(at + ": `tool_use` blocks can only be in `assistant` "
                                    "messages"))
                for key in ("id", "name"):
                    if not isinstance(block.get(key), str) or not block.get(key):
                        out.append(_ant(at + ".tool_use.%s: Field required" % key))
                if "input" not in block:
                    out.append(_ant(at + ".tool_use.input: Field required"))
                elif not isinstance(block["input"], dict):
                    out.append(_ant(at + ".tool_use.input: Input should be a valid dictionary"))
                if isinstance(block.get("id"), str):
                    tool_ids.append(block["id"])
            elif kind == "tool_result":
                if role != "user":
                    out.append(_ant(at + ": `tool_result` blocks can only be in `user` messages"))
                tid = block.get("tool_use_id")
                if not isinstance(tid, str) or not tid:
                    out.append(_ant(at + ".tool_result.tool_use_id: Field required"))
                    continue
                results.append(tid)
                if prev_tool_ids is None or tid not in prev_tool_ids:
                    out.append(_ant(
                        at + ": unexpected `tool_use_id` found in `tool_result` blocks: %s. "
                        "Each `tool_result` block must have a corresponding `tool_use` block in "
                        "the previous message." % tid))
                rc = block.get("content")
                if rc is not None and not isinstance(rc, (str, list)):
                    out.append(_ant(at + ".tool_result.content: Input should be a valid list"))
            elif kind == "thinking":
                if role != "assistant":
                    out.append(_ant(at + ": `thinking` blocks can only be in `assistant` messages"))
                if not isinstance(block.get("thinking"), str):
                    out.append(_ant(at + ".thinking.thinking: Field required"))
                if not isinstance(block.get("signature"), str) or not block.get("signature"):
                    out.append(_ant(at + ".thinking.signature: Field required"))
            elif kind == "redacted_thinking":
                if not isinstance(block.get("data"), str):
                    out.append(_ant(at + ".redacted_thinking.data: Field required"))
            elif kind == "image":
                source = block.get("source")
                if not isinstance(source, dict) or source.get("type") not in (
                        "base64", "url", "file"):
                    out.append(_ant(at + ".image.source: Input should be a valid dictionary "
                                    "with type 'base64', 'url' or 'file'"))
        if prev_tool_ids:
            missing = [t for t in prev_tool_ids if t not in results]
            if missing:
                out.append(_ant(
                    "messages.%d: `tool_use` ids were found without `tool_result` blocks "
                    "immediately after: %s. Each `tool_use` block must have a corresponding "
                    "`tool_result` block in the next message." % (i - 1, ", ".join(missing))))
        prev_tool_ids = tool_ids if role == "assistant" else None
    return out


def _tools(body: Dict[str, Any]) -> List[Violation]:
    out: List[Violation] = []
    tools = body.get("tools")
    names: List[str] = []
    if tools is not None:
        if not isinstance(tools, list):
            return [_ant("tools: Input should be a valid list")]
        for i, tool in enumerate(tools):
            at = "tools.%d" % i
            if not isinstance(tool, dict):
                out.append(_ant(at + ": Input should be a valid dictionary"))
                continue
            if tool.get("type") not in (None, "custom"):
                # A server tool (web_search_..., bash_..., ...): only a name is needed.
                if not isinstance(tool.get("name"), str):
                    out.append(_ant(at + ".name: Field required"))
                continue
            name = tool.get("name")
            if not isinstance(name, str) or not name:
                out.append(_ant(at + ".custom.name: Field required"))
            elif not TOOL_NAME.match(name):
                out.append(_ant(at + ".custom.name: String should match pattern "
                                "'^[a-zA-Z0-9_-]{1,64}$'"))
            else:
                names.append(name)
            schema = tool.get("input_schema")
            if "input_schema" not in tool:
                out.append(_ant(at + ".custom.input_schema: Field required"))
            elif not isinstance(schema, dict):
                out.append(_ant(at + ".custom.input_schema: Input should be a valid dictionary"))
            elif schema.get("type") != "object":
                out.append(_ant(at + ".custom.input_schema.type: Input should be 'object'"))
    choice = body.get("tool_choice")
    if choice is not None:
        if not isinstance(choice, dict):
            out.append(_ant("tool_choice: Input should be a valid dictionary"))
        elif choice.get("type") not in ("auto", "any", "tool", "none"):
            out.append(_ant("tool_choice: Input tag '%s' found using 'type' does not match any of "
                            "the expected tags: 'auto', 'any', 'tool', 'none'"
                            % choice.get("type")))
        elif choice["type"] == "tool" and not isinstance(choice.get("name"), str):
            out.append(_ant("tool_choice.tool.name: Field required"))
    return out
