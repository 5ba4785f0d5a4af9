"""Anthropic Messages wire format."""
from typing import Any, Dict, Iterator, List, Optional, Sequence

from ._render import (
    Context,
    dumps,
    short_hash,
    split_fixed,
    split_words,
    text_pieces,
    thinking_signature,
    tool_arguments_json,
    tool_arguments_object,
)
from ._reply import Reply

NAME = "anthropic"
JSON_CONTENT_TYPE = "application/json"
STREAM_CONTENT_TYPE = "text/event-stream; charset=utf-8"

_FINISH = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use",
           "content_filter": "refusal"}

# WIRE.md section 3, error table.
_ERROR_TYPES = {
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

_DEFAULT_MESSAGES = {
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


def is_stream(body: Any) -> bool:
    return isinstance(body, dict) and body.get("stream") is True


def base_headers(request_id: str) -> Dict[str, str]:
    return {
        "request-id": request_id,
        "anthropic-organization-id": "00000000-0000-4000-8000-000000000000",
    }


def error_headers(status: int) -> Dict[str, str]:
    retry = status in (408, 409, 429) or status >= 500
    return {"x-should-retry": "true" if retry else "false"}


def default_error_type(status: int) -> str:
    if status in _ERROR_TYPES:
        return _ERROR_TYPES[status]
    return "api_error" if status >= 500 else "invalid_request_error"


def error_object(status: int, message: Optional[str], type_: Optional[str] = None) -> Dict[str, Any]:
    return {
        "type": type_ or default_error_type(status),
        "message": message if message is not None else _DEFAULT_MESSAGES.get(status, "Error"),
    }


def error_body(status: int, message: Optional[str], type_: Optional[str] = None,
               code: Optional[str] = None, param: Optional[str] = None,
               request_id: str = "") -> bytes:
    return dumps({"type": "error", "error": error_object(status, message, type_),
                  "request_id": request_id})


def stop_reason(reply: Reply) -> str:
    unified = reply.unified_finish_reason()
    return _FINISH.get(unified, unified)


def _input_parts(reply: Reply, ctx: Context) -> Dict[str, Any]:
    inp, _ = ctx.tokens(reply)
    return {
        # Anthropic's input_tokens leaves the cached tokens out (WIRE.md 0.5).
        "input_tokens": max(0, inp - reply.cache_read - reply.cache_write),
        "cache_creation_input_tokens": reply.cache_write,
        "cache_read_input_tokens": reply.cache_read,
    }


def usage_object(reply: Reply, ctx: Context, output_tokens: Optional[int] = None) -> Dict[str, Any]:
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


def render(reply: Reply, ctx: Context) -> Dict[str, Any]:
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
        "stop_reason": stop_reason(reply),
        "stop_sequence": None,
        "usage": usage_object(reply, ctx),
    }


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


def events(reply: Reply, ctx: Context) -> Iterator[bytes]:
    """The SSE events of a streamed message, each one fully framed."""
    frame = _Framer()
    yield frame({
        "type": "message_start",
        "message": {
            "id": _message_id(reply, ctx), "type": "message", "role": "assistant",
            "model": ctx.model(reply), "content": [], "stop_reason": None,
            "stop_sequence": None, "usage": usage_object(reply, ctx, output_tokens=1),
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
        if reply.repeat_chunks and reply.text:
            same = delta({"type": "text_delta", "text": reply.text})
            for _ in range(reply.repeat_chunks):
                yield same
        else:
            for piece in text_pieces(reply):
                yield delta({"type": "text_delta", "text": piece})
        if reply.stream_error is not None:
            err = error_object(529, reply.stream_error, reply.error_type or "overloaded_error")
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
                 "delta": {"stop_reason": stop_reason(reply), "stop_sequence": None},
                 "usage": final_usage})
    yield frame({"type": "message_stop"})


def models_body(models: Sequence[str]) -> Dict[str, Any]:
    data = [{"type": "model", "id": m, "display_name": m, "created_at": "2025-01-01T00:00:00Z"}
            for m in models]
    return {"data": data, "has_more": False,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None}


def not_found_body(method: str, path: str, request_id: str) -> bytes:
    return error_body(404, "Not Found", "not_found_error", request_id=request_id)
