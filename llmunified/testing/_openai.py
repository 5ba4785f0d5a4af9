"""OpenAI Chat Completions wire format (also LM Studio and other OpenAI-compatible servers)."""
from typing import Any, Dict, Iterator, List, Optional, Sequence

from ._render import (
    Context,
    dumps,
    short_hash,
    split_fixed,
    split_words,
    text_pieces,
    tool_arguments_json,
)
from ._reply import Reply

NAME = "openai"
JSON_CONTENT_TYPE = "application/json"
STREAM_CONTENT_TYPE = "text/event-stream; charset=utf-8"
FINGERPRINT = "fp_emulator01"

_FINISH = {"stop": "stop", "length": "length", "tool_calls": "tool_calls",
           "content_filter": "content_filter"}

_DEFAULT_MESSAGES = {
    400: "Bad request.",
    401: "Incorrect API key provided. You can find your API key at "
         "https://platform.openai.com/account/api-keys.",
    403: "You are not allowed to perform this request.",
    404: "The model does not exist or you do not have access to it.",
    408: "Request timed out.",
    409: "Conflict.",
    413: "Request too large.",
    422: "Unprocessable entity.",
    429: "Rate limit reached for requests. Please try again later.",
    500: "The server had an error while processing your request. Sorry about that!",
    502: "Bad gateway.",
    503: "The server is overloaded or not ready yet.",
    504: "Gateway timeout.",
}


def is_stream(body: Any) -> bool:
    return isinstance(body, dict) and body.get("stream") is True


def base_headers(request_id: str) -> Dict[str, str]:
    return {
        "x-request-id": request_id,
        "openai-version": "2020-10-01",
        "openai-processing-ms": "1",
        "x-ratelimit-limit-requests": "10000",
        "x-ratelimit-remaining-requests": "9999",
        "x-ratelimit-reset-requests": "6ms",
        "x-ratelimit-limit-tokens": "1000000",
        "x-ratelimit-remaining-tokens": "999990",
        "x-ratelimit-reset-tokens": "0s",
    }


def default_error_type(status: int) -> str:
    if status == 429:
        return "requests"
    if status >= 500:
        return "server_error"
    return "invalid_request_error"


def default_error_code(status: int) -> Optional[str]:
    if status == 401:
        return "invalid_api_key"
    if status == 429:
        return "rate_limit_exceeded"
    return None


def error_object(status: int, message: Optional[str], type_: Optional[str] = None,
                 code: Optional[str] = None, param: Optional[str] = None) -> Dict[str, Any]:
    return {
        "message": message if message is not None else _DEFAULT_MESSAGES.get(status, "Error."),
        "type": type_ or default_error_type(status),
        "param": param,
        "code": code if code is not None else default_error_code(status),
    }


def error_body(status: int, message: Optional[str], type_: Optional[str] = None,
               code: Optional[str] = None, param: Optional[str] = None,
               request_id: str = "") -> bytes:
    return dumps({"error": error_object(status, message, type_, code, param)})


def finish_reason(reply: Reply) -> str:
    unified = reply.unified_finish_reason()
    return _FINISH.get(unified, unified)


def usage_object(reply: Reply, ctx: Context) -> Dict[str, Any]:
    inp, out = ctx.tokens(reply)
    prompt_details: Dict[str, Any] = {"cached_tokens": reply.cache_read, "audio_tokens": 0}
    if reply.cache_write:
        prompt_details["cache_write_tokens"] = reply.cache_write
    return {
        "prompt_tokens": inp,
        "completion_tokens": out,
        "total_tokens": inp + out,
        "prompt_tokens_details": prompt_details,
        "completion_tokens_details": {
            "reasoning_tokens": reply.reasoning_tokens,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _completion_id(reply: Reply, ctx: Context) -> str:
    return reply.id or "chatcmpl-" + short_hash("chatcmpl", ctx.seq, length=29)


def _tool_calls(reply: Reply, ctx: Context) -> List[Dict[str, Any]]:
    return [
        {
            "id": ctx.tool_id("call_", i, call.id),
            "type": "function",
            "function": {"name": call.name, "arguments": tool_arguments_json(call.arguments)},
        }
        for i, call in enumerate(reply.tool_calls)
    ]


def render(reply: Reply, ctx: Context) -> Dict[str, Any]:
    """The non-streaming ``chat.completion`` body."""
    text = reply.full_text
    message: Dict[str, Any] = {
        "role": "assistant",
        "content": text if (text or not reply.tool_calls) else None,
    }
    if reply.thinking is not None and ctx.reasoning_field:
        message[ctx.reasoning_field] = reply.thinking
    if reply.tool_calls:
        message["tool_calls"] = _tool_calls(reply, ctx)
    message["refusal"] = None
    message["annotations"] = []
    return {
        "id": _completion_id(reply, ctx),
        "object": "chat.completion",
        "created": ctx.created,
        "model": ctx.model(reply),
        "choices": [{"index": 0, "message": message, "logprobs": None,
                     "finish_reason": finish_reason(reply)}],
        "usage": usage_object(reply, ctx),
        "service_tier": "default",
        "system_fingerprint": FINGERPRINT,
    }


def _event(payload: bytes) -> bytes:
    return b"data: " + payload + b"\n\n"


def events(reply: Reply, ctx: Context) -> Iterator[bytes]:
    """The SSE events of a streamed completion, each one fully framed."""
    options = ctx.body.get("stream_options")
    options = options if isinstance(options, dict) else {}
    include_usage = options.get("include_usage") is True
    obfuscate = options.get("include_obfuscation") is not False
    head = {
        "id": _completion_id(reply, ctx),
        "object": "chat.completion.chunk",
        "created": ctx.created,
        "model": ctx.model(reply),
        "service_tier": "default",
        "system_fingerprint": FINGERPRINT,
    }
    counter = [0]

    def chunk(delta: Optional[Dict[str, Any]], finish: Optional[str] = None,
              usage: Optional[Dict[str, Any]] = None) -> bytes:
        obj: Dict[str, Any] = dict(head)
        if delta is None:
            obj["choices"] = []
        else:
            obj["choices"] = [{"index": 0, "delta": delta, "logprobs": None,
                               "finish_reason": finish}]
        if include_usage:
            obj["usage"] = usage
        if obfuscate:
            counter[0] += 1
            obj["obfuscation"] = short_hash("obf", ctx.seq, counter[0], length=4 + counter[0] % 7)
        return _event(dumps(obj))

    calls = _tool_calls(reply, ctx)
    first: Dict[str, Any] = {"role": "assistant"}
    opening_call = not reply.text and reply.thinking is None and calls and not reply.stream_error
    if opening_call:
        first["content"] = None
        first["tool_calls"] = [_opening_fragment(0, calls[0])]
    else:
        first["content"] = ""
    first["refusal"] = None
    yield chunk(first)

    if reply.thinking is not None and ctx.reasoning_field:
        for piece in split_words(reply.thinking):
            yield chunk({ctx.reasoning_field: piece})

    if reply.repeat_chunks and reply.text:
        # Benchmarks: serialise the repeated delta once.
        if obfuscate:
            for piece in text_pieces(reply):
                yield chunk({"content": piece})
        else:
            same = chunk({"content": reply.text})
            for _ in range(reply.repeat_chunks):
                yield same
    else:
        for piece in text_pieces(reply):
            yield chunk({"content": piece})

    if reply.stream_error is not None:
        err = error_object(500, reply.stream_error, reply.error_type or "server_error",
                           reply.error_code)
        yield _event(dumps({"error": err}))
        return

    for index, call in enumerate(calls):
        if not (opening_call and index == 0):
            yield chunk({"tool_calls": [_opening_fragment(index, call)]})
        for piece in split_fixed(call["function"]["arguments"], 12):
            yield chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})

    yield chunk({}, finish_reason(reply))
    if include_usage:
        yield chunk(None, usage=usage_object(reply, ctx))
    yield _event(b"[DONE]")


def _opening_fragment(index: int, call: Dict[str, Any]) -> Dict[str, Any]:
    return {"index": index, "id": call["id"], "type": "function",
            "function": {"name": call["function"]["name"], "arguments": ""}}


def models_body(models: Sequence[str]) -> Dict[str, Any]:
    return {
        "object": "list",
        "data": [{"id": m, "object": "model", "created": 1700000000, "owned_by": "system"}
                 for m in models],
    }


def not_found_body(method: str, path: str) -> bytes:
    return error_body(404, "Invalid URL (%s %s)" % (method, path), "invalid_request_error")
