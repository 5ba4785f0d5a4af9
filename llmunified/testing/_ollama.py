"""Ollama native API wire format (``/api/chat``, ``/api/tags``, ``/api/version``)."""
import datetime
import hashlib
from typing import Any, Dict, Iterator, List, Optional, Sequence

from ._render import Context, dumps, short_hash, split_words, text_pieces, tool_arguments_object
from ._reply import Reply

NAME = "ollama"
JSON_CONTENT_TYPE = "application/json; charset=utf-8"
STREAM_CONTENT_TYPE = "application/x-ndjson"
VERSION = "0.12.6"

_FINISH = {"stop": "stop", "length": "length", "tool_calls": "stop", "content_filter": "stop"}

_DEFAULT_MESSAGES = {
    400: "bad request",
    401: "unauthorized",
    403: "forbidden",
    404: "model not found, try pulling it first",
    429: "too many requests",
    500: "internal server error",
    503: "server busy, please try again",
}


def is_stream(body: Any) -> bool:
    # Ollama streams unless told not to.
    return not (isinstance(body, dict) and body.get("stream") is False)


def base_headers(request_id: str) -> Dict[str, str]:
    return {}


def error_body(status: int, message: Optional[str], type_: Optional[str] = None,
               code: Optional[str] = None, param: Optional[str] = None,
               request_id: str = "") -> bytes:
    if message is None:
        message = _DEFAULT_MESSAGES.get(status, "error")
    return dumps({"error": message})


def done_reason(reply: Reply) -> str:
    unified = reply.unified_finish_reason()
    return _FINISH.get(unified, unified)


def _created_at() -> str:
    now = datetime.datetime.now(datetime.timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + "%06d" % now.microsecond + "Z"


def _tool_calls(reply: Reply, ctx: Context) -> List[Dict[str, Any]]:
    out = []
    for i, call in enumerate(reply.tool_calls):
        args = tool_arguments_object(call.arguments)
        if ctx.ollama_legacy_tool_calls:
            out.append({"function": {"name": call.name, "arguments": args}})
        else:
            call_id = call.id or "call_" + short_hash("ollama-call", ctx.seq, i, length=8)
            out.append({"id": call_id,
                        "function": {"index": i, "name": call.name, "arguments": args}})
    return out


def _final_fields(reply: Reply, ctx: Context) -> Dict[str, Any]:
    inp, out = ctx.tokens(reply)
    return {
        "done_reason": done_reason(reply),
        "done": True,
        "total_duration": 120000000 + out * 5000000,
        "load_duration": 20000000,
        "prompt_eval_count": inp,
        "prompt_eval_duration": 15000000,
        "eval_count": out,
        "eval_duration": out * 5000000,
    }


def render(reply: Reply, ctx: Context) -> Dict[str, Any]:
    """The non-streaming ``/api/chat`` body."""
    message: Dict[str, Any] = {"role": "assistant", "content": reply.full_text}
    if reply.thinking is not None:
        message["thinking"] = reply.thinking
    if reply.tool_calls:
        message["tool_calls"] = _tool_calls(reply, ctx)
    obj: Dict[str, Any] = {"model": ctx.model(reply), "created_at": _created_at(),
                           "message": message}
    obj.update(_final_fields(reply, ctx))
    return obj


def load_body(ctx: Context) -> Dict[str, Any]:
    """Answer to a chat request with an empty ``messages`` list (it only loads the model)."""
    model = ctx.body.get("model")
    return {"model": model if isinstance(model, str) else "", "created_at": _created_at(),
            "message": {"role": "assistant", "content": ""}, "done_reason": "load",
            "done": True}


def events(reply: Reply, ctx: Context) -> Iterator[bytes]:
    """NDJSON lines of a streamed chat answer."""
    model = ctx.model(reply)

    def line(message: Dict[str, Any]) -> bytes:
        return dumps({"model": model, "created_at": _created_at(), "message": message,
                      "done": False}) + b"\n"

    if reply.thinking is not None:
        for piece in split_words(reply.thinking):
            yield line({"role": "assistant", "content": "", "thinking": piece})
    if reply.repeat_chunks and reply.text:
        same = line({"role": "assistant", "content": reply.text})
        for _ in range(reply.repeat_chunks):
            yield same
    else:
        for piece in text_pieces(reply):
            yield line({"role": "assistant", "content": piece})
    if reply.stream_error is not None:
        yield dumps({"error": reply.stream_error}) + b"\n"
        return
    if reply.tool_calls:
        # Tool calls arrive whole, in one message (WIRE.md section 7).
        yield line({"role": "assistant", "content": "", "tool_calls": _tool_calls(reply, ctx)})
    final: Dict[str, Any] = {"model": model, "created_at": _created_at(),
                             "message": {"role": "assistant", "content": ""}}
    final.update(_final_fields(reply, ctx))
    yield dumps(final) + b"\n"


def tags_body(models: Sequence[str]) -> Dict[str, Any]:
    out = []
    for name in models:
        full = name if ":" in name else name + ":latest"
        family = name.split(":")[0]
        out.append({
            "name": full,
            "model": full,
            "modified_at": "2025-01-01T00:00:00.000000000Z",
            "size": 2019393189,
            "digest": hashlib.sha256(full.encode("utf-8")).hexdigest(),
            "details": {"parent_model": "", "format": "gguf", "family": family,
                        "families": [family], "parameter_size": "3.2B",
                        "quantization_level": "Q4_K_M"},
        })
    return {"models": out}


def version_body() -> Dict[str, Any]:
    return {"version": VERSION}
