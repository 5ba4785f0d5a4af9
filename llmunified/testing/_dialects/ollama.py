"""Ollama's native API.

``POST /api/chat`` (streams unless ``"stream": false``), ``GET /api/tags``, ``GET /api/version``
and ``GET /``; model management (``/api/pull``, ``/api/create``, ``/api/show``,
``DELETE /api/delete``, ``/api/copy``, ``/api/ps``: ``testing/_ollama_admin.py``, which says how
to script a failing pull); ``url_for("ollama")`` is the base URL. Unknown paths under ``/api/`` get Ollama's
plain-text 404.
"""
import datetime
import hashlib
from typing import Any, Dict, Iterator, List, Optional, Sequence

from .._contract import Violation, type_name
from .._render import Context, dumps, short_hash, split_words, text_events, tool_arguments_object
from .._reply import Reply
from .._request import RecordedRequest
from .. import _ollama_admin
from ._base import Answer, Dialect, Route

VERSION = "0.12.6"

_FINISH = {"stop": "stop", "length": "length", "tool_calls": "stop", "content_filter": "stop"}


class Ollama(Dialect):
    name = "ollama"
    routes = (Route("POST", "/api/chat", "chat"),
              Route("GET", "/api/tags", "tags"),
              Route("GET", "/api/version", "version"),
              Route("GET", "/", "root"),
              Route("POST", "/api/embed", "embed"),
              # model management: llmunified/testing/_ollama_admin.py
              Route("POST", "/api/pull", "pull"),
              Route("POST", "/api/create", "create"),
              Route("POST", "/api/show", "show"),
              Route("DELETE", "/api/delete", "delete"),
              Route("POST", "/api/copy", "copy"),
              Route("GET", "/api/ps", "ps"))
    scripted_endpoints = ("pull", "create")  # a queued Reply scripts a failure (_ollama_admin)

    def embeddings(self, request: RecordedRequest) -> Answer:
        from .. import _embeddings

        return _embeddings.ollama(self, request)
    path_prefixes = ("/api/",)
    default_models = ("llama3.2", "qwen3:4b")
    json_content_type = "application/json; charset=utf-8"
    stream_content_type = "application/x-ndjson"
    error_messages = {
        400: "bad request",
        401: "unauthorized",
        403: "forbidden",
        404: "model not found, try pulling it first",
        429: "too many requests",
        500: "internal server error",
        503: "server busy, please try again",
    }
    fallback_error_message = "error"

    def owns_path(self, path: str) -> bool:
        return path == "/" or super().owns_path(path)

    def is_stream(self, body: Any, request: RecordedRequest) -> bool:
        # Ollama streams unless told not to.
        return not (isinstance(body, dict) and body.get("stream") is False)

    def check_body(self, body: Any, json_error: Optional[str]) -> List[Violation]:
        return check_chat(body, json_error)

    def error_body(self, status: int, message: Optional[str], type_: Optional[str] = None,
                   code: Optional[str] = None, param: Optional[str] = None,
                   request_id: str = "") -> bytes:
        return dumps({"error": self.error_message(status, message)})

    def not_found(self, request: RecordedRequest, request_id: str) -> Answer:
        return Answer(404, b"404 page not found", "text/plain")

    def serve(self, endpoint: str, request: RecordedRequest, models: Sequence[str]) -> Answer:
        if endpoint == "tags":
            return Answer(200, dumps(_tags_body(models)), self.json_content_type)
        if endpoint == "version":
            return Answer(200, dumps({"version": VERSION}), self.json_content_type)
        if endpoint == "root":
            return Answer(200, b"Ollama is running", "text/plain; charset=utf-8")
        if endpoint in _ollama_admin.ENDPOINTS:
            return _ollama_admin.serve(self, endpoint, request, models)  # type: ignore[arg-type]
        return super().serve(endpoint, request, models)

    def answer_without_reply(self, request: RecordedRequest, ctx: Context) -> Optional[Answer]:
        _ollama_admin.chat_seen(request)  # the model is loaded now (/api/ps)
        if request.messages:
            return None
        # An empty message list only loads the model; it does not consume a reply.
        model = ctx.body.get("model")
        body = dumps({"model": model if isinstance(model, str) else "",
                      "created_at": _created_at(),
                      "message": {"role": "assistant", "content": ""}, "done_reason": "load",
                      "done": True})
        if self.is_stream(request.json, request):
            return Answer(200, b"", self.stream_content_type, events=iter([body + b"\n"]))
        return Answer(200, body, self.json_content_type)

    def render(self, reply: Reply, ctx: Context) -> Dict[str, Any]:
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

    def events(self, reply: Reply, ctx: Context) -> Iterator[bytes]:
        """NDJSON lines of a streamed chat answer."""
        model = ctx.model(reply)

        def line(message: Dict[str, Any]) -> bytes:
            return dumps({"model": model, "created_at": _created_at(), "message": message,
                          "done": False}) + b"\n"

        if reply.thinking is not None:
            for piece in split_words(reply.thinking):
                yield line({"role": "assistant", "content": "", "thinking": piece})
        for event in text_events(reply, lambda piece: line({"role": "assistant",
                                                            "content": piece})):
            yield event
        if reply.stream_error is not None:
            yield dumps({"error": reply.stream_error}) + b"\n"
            return
        if reply.tool_calls:
            # Tool calls arrive whole, in one message (docs/wire.md §7 POST /api/chat).
            yield line({"role": "assistant", "content": "",
                        "tool_calls": _tool_calls(reply, ctx)})
        final: Dict[str, Any] = {"model": model, "created_at": _created_at(),
                                 "message": {"role": "assistant", "content": ""}}
        final.update(_final_fields(reply, ctx))
        yield dumps(final) + b"\n"


# ---- rendering helpers -------------------------------------------------------------------------

def _done_reason(reply: Reply) -> str:
    unified = reply.unified_finish_reason()
    return _FINISH.get(unified, unified)


def _created_at() -> str:
    now = datetime.datetime.now(datetime.timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + "%06d" % now.microsecond + "Z"


def _tool_calls(reply: Reply, ctx: Context) -> List[Dict[str, Any]]:
    out: List[Dict[str, Any]] = []
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
        "done_reason": _done_reason(reply),
        "done": True,
        "total_duration": 120000000 + out * 5000000,
        "load_duration": 20000000,
        "prompt_eval_count": inp,
        "prompt_eval_duration": 15000000,
        "eval_count": out,
        "eval_duration": out * 5000000,
    }


def _tags_body(models: Sequence[str]) -> Dict[str, Any]:
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


# ---- contract checks -----------------------------------------------------------------------------

_ROLES = ("system", "user", "assistant", "tool")


def _oll(message: str, status: int = 400) -> Violation:
    return Violation(status, message)


def _go_unmarshal(value: Any, field: str, go_type: str) -> Violation:
    kind = {"array": "array", "object": "object", "string": "string", "number": "number",
            "boolean": "bool", "null": "null"}.get(type_name(value), type_name(value))
    return _oll("json: cannot unmarshal %s into Go struct field %s of type %s"
                % (kind, field, go_type))


def check_chat(body: Any, json_error: Optional[str]) -> List[Violation]:
    if json_error is not None:
        return [_oll("invalid JSON in request body: %s" % json_error)]
    if not isinstance(body, dict):
        return [_go_unmarshal(body, "ChatRequest", "api.ChatRequest")]
    out: List[Violation] = []
    if not isinstance(body.get("model"), str) or not body.get("model"):
        out.append(_oll("model is required"))
    if "messages" not in body or body["messages"] is None:
        out.append(_oll("messages is required"))
    elif not isinstance(body["messages"], list):
        out.append(_go_unmarshal(body["messages"], "ChatRequest.messages", "[]api.Message"))
    else:
        for i, msg in enumerate(body["messages"]):
            if not isinstance(msg, dict):
                out.append(_go_unmarshal(msg, "ChatRequest.messages", "api.Message"))
                continue
            role = msg.get("role")
            if role not in _ROLES:
                out.append(_oll("invalid role %r in messages[%d]: expected one of system, user, "
                                "assistant, tool" % (role, i)))
            content = msg.get("content")
            if content is not None and not isinstance(content, str):
                out.append(_go_unmarshal(content, "Message.messages.content", "string"))
            images = msg.get("images")
            if images is not None and (not isinstance(images, list)
                                       or not all(isinstance(x, str) for x in images)):
                out.append(_go_unmarshal(images, "Message.messages.images", "[]api.ImageData"))
            elif images and any(x.startswith("data:") for x in images):
                out.append(_oll("illegal base64 data in messages[%d].images: send the raw base64 "
                                "without a data: URL prefix" % i))
            calls = msg.get("tool_calls")
            if calls is not None:
                if not isinstance(calls, list):
                    out.append(_go_unmarshal(calls, "Message.messages.tool_calls",
                                             "[]api.ToolCall"))
                    continue
                for call in calls:
                    fn = call.get("function") if isinstance(call, dict) else None
                    if not isinstance(fn, dict):
                        out.append(_go_unmarshal(fn, "ToolCall.messages.tool_calls.function",
                                                 "api.ToolCallFunction"))
                        continue
                    args = fn.get("arguments")
                    if args is not None and not isinstance(args, dict):
                        out.append(_go_unmarshal(
                            args, "ToolCallFunction.messages.tool_calls.function.arguments",
                            "api.ToolCallFunctionArguments"))
    tools = body.get("tools")
    if tools is not None:
        if not isinstance(tools, list):
            out.append(_go_unmarshal(tools, "ChatRequest.tools", "api.Tools"))
        else:
            for i, tool in enumerate(tools):
                fn = tool.get("function") if isinstance(tool, dict) else None
                if not isinstance(tool, dict) or tool.get("type") != "function":
                    out.append(_oll("tools[%d]: type must be \"function\"" % i))
                elif not isinstance(fn, dict) or not isinstance(fn.get("name"), str) \
                        or not fn.get("name"):
                    out.append(_oll("tools[%d]: function.name is required" % i))
    if "stream" in body and body["stream"] is not None and not isinstance(body["stream"], bool):
        out.append(_go_unmarshal(body["stream"], "ChatRequest.stream", "bool"))
    fmt = body.get("format")
    if fmt is not None and not isinstance(fmt, (str, dict)):
        out.append(_oll("invalid format: expected \"json\" or a JSON schema object"))
    elif isinstance(fmt, str) and fmt not in ("", "json"):
        out.append(_oll("invalid format: %r; expected \"json\" or a JSON schema object" % fmt))
    options = body.get("options")
    if options is not None and not isinstance(options, dict):
        out.append(_go_unmarshal(options, "ChatRequest.options", "map[string]interface {}"))
    think = body.get("think")
    if think is not None and not isinstance(think, bool) and think not in ("low", "medium", "high"):
        out.append(_oll("invalid think value: %r (expected true, false, \"low\", \"medium\" or "
                        "\"high\")" % (think,)))
    return out
