"""OpenAI Chat Completions (also LM Studio and any OpenAI-compatible server).

``POST /v1/chat/completions`` and ``GET /v1/models``; ``url_for("openai")`` is
``base_url + "/v1"``. The first dialect of the registry, so it also answers unknown paths and
``url_for`` names no dialect claims.

``OpenAI(unsupported=[...])`` (``Emulator(openai_unsupported=[...])``) stands for a compatible
server that lacks some of the API: each feature of :data:`FEATURES` named is refused with a 400
as such servers refuse it (an unknown ``response_format`` type or role, an unrecognized
argument).
"""
from typing import AbstractSet, Any, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Set

from .._contract import TOOL_NAME, Violation, type_name
from .._render import (
    Context,
    dumps,
    short_hash,
    split_fixed,
    split_words,
    text_events,
    tool_arguments_json,
)
from .._choices import choice_count, choice_replies
from .._reply import Reply
from .._request import RecordedRequest
from ._base import Answer, Dialect, Route

FINGERPRINT = "fp_emulator01"

_FINISH = {"stop": "stop", "length": "length", "tool_calls": "tool_calls",
           "content_filter": "content_filter"}


#: what ``OpenAI(unsupported=...)`` can take away: ``response_format`` json_schema, the
#: ``developer`` role, ``stream_options``, ``strict`` on tools and JSON schemas,
#: ``max_completion_tokens``, ``parallel_tool_calls``
FEATURES = ("json_schema", "developer_role", "stream_options", "strict", "max_completion_tokens",
            "parallel_tool_calls")


class OpenAI(Dialect):
    name = "openai"
    aliases = ("lmstudio",)

    def __init__(self, unsupported: Iterable[str] = ()) -> None:
        names = tuple(unsupported)
        unknown = [n for n in names if n not in FEATURES]
        if unknown:
            raise ValueError("unknown OpenAI features %s; known: %s" % (", ".join(map(repr, unknown)),
                                                                       ", ".join(FEATURES)))
        #: the features this server refuses (see the module docstring)
        self.unsupported = frozenset(names)

    def __repr__(self) -> str:
        return "OpenAI(unsupported=%r)" % sorted(self.unsupported) if self.unsupported else "OpenAI()"
    base_path = "/v1"
    routes = (Route("POST", "/v1/chat/completions", "chat"),
              Route("GET", "/v1/models", "models"),
              Route("POST", "/v1/embeddings", "embed"),
              # batch jobs: llmunified/testing/_batches.py
              Route("POST", "/v1/files", "batch_file_upload"),
              Route("GET", "/v1/files/{file_id}/content", "batch_file_content"),
              Route("POST", "/v1/batches", "batch_create"),
              Route("GET", "/v1/batches", "batch_list"),
              Route("GET", "/v1/batches/{batch_id}", "batch_get"),
              Route("POST", "/v1/batches/{batch_id}/cancel", "batch_cancel"))
    default_models = ("gpt-4o-mini", "gpt-4.1-nano", "o3-mini")

    def embeddings(self, request: RecordedRequest) -> Answer:
        from .. import _embeddings

        return _embeddings.openai(self, request)
    error_messages = {
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
    error_types = {429: "requests"}

    def check_headers(self, headers: Mapping[str, str], require_auth: bool) -> List[Violation]:
        return check_auth(headers) if require_auth else []

    def check_body(self, body: Any, json_error: Optional[str]) -> List[Violation]:
        out = check_chat(body, json_error)
        if self.unsupported and isinstance(body, dict):
            out.extend(lacking(body, self.unsupported))
        return out

    def base_headers(self, request_id: str) -> Dict[str, str]:
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

    def error_object(self, status: int, message: Optional[str], type_: Optional[str] = None,
                     code: Optional[str] = None, param: Optional[str] = None) -> Dict[str, Any]:
        return {
            "message": self.error_message(status, message),
            "type": self.error_type(status, type_),
            "param": param,
            "code": code if code is not None else _default_error_code(status),
        }

    def error_body(self, status: int, message: Optional[str], type_: Optional[str] = None,
                   code: Optional[str] = None, param: Optional[str] = None,
                   request_id: str = "") -> bytes:
        return dumps({"error": self.error_object(status, message, type_, code, param)})

    def not_found(self, request: RecordedRequest, request_id: str) -> Answer:
        message = "Invalid URL (%s %s)" % (request.method, request.path)
        return Answer(404, self.error_body(404, message, "invalid_request_error"),
                      self.json_content_type)

    def models_body(self, models: Sequence[str]) -> Dict[str, Any]:
        return {
            "object": "list",
            "data": [{"id": m, "object": "model", "created": 1700000000, "owned_by": "system"}
                     for m in models],
        }

    def render(self, reply: Reply, ctx: Context) -> Dict[str, Any]:
        """The non-streaming ``chat.completion`` body (``n`` > 1: one choice per answer)."""
        n = choice_count(ctx.body.get("n"))
        if n > 1:
            answers = choice_replies(reply, n)
            body = self._render_one(reply, ctx)
            body["choices"] = [dict(self._render_one(r, ctx)["choices"][0], index=i) for i, r in enumerate(answers)]
            body["usage"] = _usage_object(reply, ctx, answers)
            return body
        return self._render_one(reply, ctx)

    def _render_one(self, reply: Reply, ctx: Context) -> Dict[str, Any]:
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
                         "finish_reason": _finish_reason(reply)}],
            "usage": _usage_object(reply, ctx),
            "service_tier": "default",
            "system_fingerprint": FINGERPRINT,
        }

    def events(self, reply: Reply, ctx: Context) -> Iterator[bytes]:
        """The SSE events of a streamed completion, each one fully framed. With ``n`` > 1 the
        answers' chunks interleave (each chunk's ``choices[0].index`` says whose), as OpenAI's do."""
        n = choice_count(ctx.body.get("n"))
        if n > 1:
            return self._events_n(choice_replies(reply, n), ctx)
        return self._events_one(reply, ctx)

    def _events_n(self, answers: List[Reply], ctx: Context) -> Iterator[bytes]:
        streams = [self._events_one(r, ctx, choice=i, last=False) for i, r in enumerate(answers)]
        while streams:  # round robin: one chunk of each answer in turn
            for stream in list(streams):
                event = next(stream, None)
                if event is None:
                    streams.remove(stream)
                else:
                    yield event
        options = ctx.body.get("stream_options")
        if isinstance(options, dict) and options.get("include_usage") is True:
            reply = answers[0]
            head = {"id": _completion_id(reply, ctx), "object": "chat.completion.chunk", "created": ctx.created,
                    "model": ctx.model(reply), "service_tier": "default", "system_fingerprint": FINGERPRINT,
                    "choices": [], "usage": _usage_object(reply, ctx, answers)}
            yield _event(dumps(head))
        yield _event(b"[DONE]")

    def _events_one(self, reply: Reply, ctx: Context, choice: int = 0, last: bool = True) -> Iterator[bytes]:
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
                obj["choices"] = [{"index": choice, "delta": delta, "logprobs": None,
                                   "finish_reason": finish}]
            if include_usage:
                obj["usage"] = None if not last else usage
            if obfuscate:
                counter[0] += 1
                obj["obfuscation"] = short_hash("obf", ctx.seq, counter[0],
                                                length=4 + counter[0] % 7)
            return _event(dumps(obj))

        calls = _tool_calls(reply, ctx)
        first: Dict[str, Any] = {"role": "assistant"}
        opening_call = (not reply.text and reply.thinking is None and calls
                        and not reply.stream_error)
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

        # Each obfuscated chunk differs, so repeated deltas are serialised once only without it.
        for event in text_events(reply, lambda piece: chunk({"content": piece}),
                                 reuse=not obfuscate):
            yield event

        if reply.stream_error is not None:
            err = self.error_object(500, reply.stream_error, reply.error_type or "server_error",
                                    reply.error_code)
            yield _event(dumps({"error": err}))
            return

        for index, call in enumerate(calls):
            if not (opening_call and index == 0):
                yield chunk({"tool_calls": [_opening_fragment(index, call)]})
            for piece in split_fixed(call["function"]["arguments"], 12):
                yield chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})

        yield chunk({}, _finish_reason(reply))
        if not last:
            return
        if include_usage:
            yield chunk(None, usage=_usage_object(reply, ctx))
        yield _event(b"[DONE]")


# ---- rendering helpers -------------------------------------------------------------------------

def _default_error_code(status: int) -> Optional[str]:
    if status == 401:
        return "invalid_api_key"
    if status == 429:
        return "rate_limit_exceeded"
    return None


def _finish_reason(reply: Reply) -> str:
    unified = reply.unified_finish_reason()
    return _FINISH.get(unified, unified)


def _usage_object(reply: Reply, ctx: Context, answers: Sequence[Reply] = ()) -> Dict[str, Any]:
    inp, out = ctx.tokens(reply)
    out += sum(ctx.tokens(r)[1] for r in answers[1:])  # n > 1: every answer's output, once
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


def _event(payload: bytes) -> bytes:
    return b"data: " + payload + b"\n\n"


def _opening_fragment(index: int, call: Dict[str, Any]) -> Dict[str, Any]:
    return {"index": index, "id": call["id"], "type": "function",
            "function": {"name": call["function"]["name"], "arguments": ""}}


# ---- contract checks -----------------------------------------------------------------------------

_ROLES = ("system", "developer", "user", "assistant", "tool")
_PART_TYPES = ("text", "image_url", "input_audio", "file", "refusal")


def check_auth(headers: Mapping[str, str]) -> List[Violation]:
    auth = (headers.get("authorization") or "").strip()
    if not auth:
        return [Violation(
            401,
            "You didn't provide an API key. You need to provide your API key in an "
            "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            code=None, type_="invalid_request_error")]
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return [Violation(
            401,
            "Malformed Authorization header: expected 'Authorization: Bearer YOUR_KEY'.",
            code="invalid_api_key", type_="invalid_request_error")]
    return []


def _oai(message: str, param: Optional[str] = None, code: Optional[str] = None) -> Violation:
    return Violation(400, message, param, code, "invalid_request_error")


def _oai_missing(param: str) -> Violation:
    return _oai("Missing required parameter: '%s'." % param, param, "missing_required_parameter")


def _oai_type(param: str, expected: str, value: Any) -> Violation:
    return _oai("Invalid type for '%s': expected %s, but got %s instead."
                % (param, expected, type_name(value)), param, "invalid_type")


def _oai_value(param: str, value: Any, supported: List[str]) -> Violation:
    quoted = ["'%s'" % s for s in supported]
    listing = ", ".join(quoted[:-1]) + ", and " + quoted[-1] if len(quoted) > 2 else " and ".join(quoted)
    return _oai("Invalid value: '%s'. Supported values are: %s." % (value, listing), param,
                "invalid_value")


def check_chat(body: Any, json_error: Optional[str]) -> List[Violation]:
    if json_error is not None:
        return [_oai("We could not parse the JSON body of your request. (HINT: This likely means "
                     "you aren't using your HTTP library correctly. The OpenAI API expects a JSON "
                     "payload, but what was sent was not valid JSON. Parser said: %s)" % json_error)]
    if not isinstance(body, dict):
        return [_oai_type("body", "an object", body)]
    out: List[Violation] = []
    model = body.get("model")
    if not isinstance(model, str) or not model:
        out.append(_oai("you must provide a model parameter", "model"))
    out.extend(_messages(body))
    out.extend(_tools(body))
    stream = body.get("stream")
    if "stream" in body and stream is not None and not isinstance(stream, bool):
        out.append(_oai_type("stream", "a boolean", stream))
    if body.get("stream_options") is not None and stream is not True:
        out.append(_oai("The 'stream_options' parameter is only allowed when 'stream' is enabled.",
                        "stream_options"))
    fmt = body.get("response_format")
    if fmt is not None:
        if not isinstance(fmt, dict):
            out.append(_oai_type("response_format", "an object", fmt))
        elif fmt.get("type") not in ("text", "json_object", "json_schema"):
            out.append(_oai_value("response_format.type", fmt.get("type"),
                                  ["text", "json_object", "json_schema"]))
        elif fmt.get("type") == "json_schema":
            schema = fmt.get("json_schema")
            if not isinstance(schema, dict):
                out.append(_oai_missing("response_format.json_schema"))
            elif not isinstance(schema.get("name"), str) or not schema.get("name"):
                out.append(_oai_missing("response_format.json_schema.name"))
    out.extend(_reasoning(body))
    key = body.get("prompt_cache_key")
    if key is not None and not isinstance(key, str):
        out.append(_oai_type("prompt_cache_key", "a string", key))
    n = body.get("n")
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 128):
        out.append(_oai("Invalid 'n': integer between 1 and 128 expected, got %r." % (n,), "n"))
    return out


def _unrecognized(param: str) -> Violation:
    return _oai("Unrecognized request argument supplied: %s" % param, param)


def lacking(body: Dict[str, Any], unsupported: AbstractSet[str]) -> List[Violation]:
    """The 400s of a compatible server without the ``unsupported`` :data:`FEATURES`."""
    out: List[Violation] = []
    fmt = body.get("response_format")
    if "json_schema" in unsupported and isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        out.append(_oai_value("response_format.type", "json_schema", ["text", "json_object"]))
    if "developer_role" in unsupported:
        for i, msg in enumerate(body.get("messages") or ()):
            if isinstance(msg, dict) and msg.get("role") == "developer":
                out.append(_oai_value("messages[%d].role" % i, "developer", ["system", "user", "assistant", "tool"]))
    for param in ("stream_options", "max_completion_tokens", "parallel_tool_calls"):
        if param in unsupported and param in body:
            out.append(_unrecognized(param))
    if "strict" in unsupported:
        strict = [("tools[%d].function.strict" % i) for i, t in enumerate(body.get("tools") or ())
                  if isinstance(t, dict) and isinstance(t.get("function"), dict) and "strict" in t["function"]]
        if isinstance(fmt, dict) and isinstance(fmt.get("json_schema"), dict) and fmt["json_schema"].get("strict"):
            strict.append("response_format.json_schema.strict")
        out.extend(_unrecognized(param) for param in strict)
    return out


#: ``reasoning_effort`` values of the current SDK (docs/wire.md §1 Request body); which of them a
#: model takes is the model's
REASONING_EFFORTS = ["none", "minimal", "low", "medium", "high", "xhigh", "max"]


def _reasoning(body: Dict[str, Any]) -> List[Violation]:
    """``reasoning_effort``, and the reasoning fields of compatible hosts this dialect also
    stands for: OpenRouter's ``reasoning`` object and DeepSeek's ``thinking`` switch."""
    out: List[Violation] = []
    effort = body.get("reasoning_effort")
    if effort is not None:
        if not isinstance(effort, str):
            out.append(_oai_type("reasoning_effort", "a string", effort))
        elif effort not in REASONING_EFFORTS:
            out.append(_oai_value("reasoning_effort", effort, REASONING_EFFORTS))
    reasoning = body.get("reasoning")
    if reasoning is not None:
        if not isinstance(reasoning, dict):
            out.append(_oai_type("reasoning", "an object", reasoning))
        else:
            if "effort" in reasoning and "max_tokens" in reasoning:
                out.append(_oai("Only one of 'reasoning.effort' and 'reasoning.max_tokens' may be given.",
                                "reasoning"))
            if reasoning.get("effort") is not None and reasoning["effort"] not in REASONING_EFFORTS:
                out.append(_oai_value("reasoning.effort", reasoning["effort"], REASONING_EFFORTS))
            budget = reasoning.get("max_tokens")
            if budget is not None and (not isinstance(budget, int) or isinstance(budget, bool) or budget < 0):
                out.append(_oai_type("reasoning.max_tokens", "a non-negative integer", budget))
    thinking = body.get("thinking")
    if thinking is not None and (not isinstance(thinking, dict)
                                 or thinking.get("type") not in ("enabled", "disabled")):
        out.append(_oai_value("thinking.type", thinking.get("type") if isinstance(thinking, dict) else thinking,
                              ["enabled", "disabled"]))
    return out


def _messages(body: Dict[str, Any]) -> List[Violation]:
    if "messages" not in body:
        return [_oai_missing("messages")]
    messages = body["messages"]
    if not isinstance(messages, list):
        return [_oai_type("messages", "an array", messages)]
    if not messages:
        return [_oai("Invalid 'messages': empty array. Expected an array with minimum length 1, "
                     "but got an empty array instead.", "messages", "empty_array")]
    out: List[Violation] = []
    open_calls: Optional[Dict[str, Any]] = None  # ids of the last assistant tool_calls -> index
    answered: Set[str] = set()
    open_at = -1

    def close_run() -> None:
        if open_calls is not None:
            missing = [cid for cid in open_calls if cid not in answered]
            if missing:
                out.append(_oai(
                    "An assistant message with 'tool_calls' must be followed by tool messages "
                    "responding to each 'tool_call_id'. The following tool_call_ids did not have "
                    "response messages: %s" % ", ".join(missing), "messages.[%d].role" % open_at))

    for i, msg in enumerate(messages):
        where = "messages[%d]" % i
        if not isinstance(msg, dict):
            out.append(_oai_type(where, "an object", msg))
            continue
        role = msg.get("role")
        if "role" not in msg:
            out.append(_oai_missing(where + ".role"))
            continue
        if role not in _ROLES:
            out.append(_oai_value(where + ".role", role, list(_ROLES)))
            continue
        if role != "tool":
            close_run()
            open_calls = None
        content = msg.get("content")
        if role in ("system", "developer", "user", "tool"):
            if "content" not in msg:
                out.append(_oai_missing(where + ".content"))
            elif not isinstance(content, (str, list)):
                out.append(_oai_type(where + ".content",
                                     "one of a string or array of objects", content))
            elif isinstance(content, list):
                out.extend(_parts(where + ".content", content, role))
        if role == "assistant":
            calls = msg.get("tool_calls")
            if calls is not None and not isinstance(calls, list):
                out.append(_oai_type(where + ".tool_calls", "an array", calls))
                calls = None
            if content is None and not calls and msg.get("function_call") is None:
                out.append(_oai("Invalid value for 'content': expected a string, got null.",
                                where + ".content"))
            elif content is not None and not isinstance(content, (str, list)):
                out.append(_oai_type(where + ".content",
                                     "one of a string or array of objects", content))
            if calls:
                ids = _assistant_tool_calls(where, calls, out)
                open_calls = dict.fromkeys(ids)
                answered = set()
                open_at = i
        elif role == "tool":
            call_id = msg.get("tool_call_id")
            if not isinstance(call_id, str) or not call_id:
                out.append(_oai("Missing parameter 'tool_call_id': messages with role 'tool' "
                                "must have a 'tool_call_id'.", where + ".tool_call_id"))
            elif open_calls is None:
                out.append(_oai("Invalid parameter: messages with role 'tool' must be a response "
                                "to a preceding message with 'tool_calls'.", where + ".role"))
            elif call_id not in open_calls:
                out.append(_oai("Invalid parameter: 'tool_call_id' of '%s' not found in "
                                "'tool_calls' of previous message." % call_id,
                                where + ".tool_call_id"))
            else:
                answered.add(call_id)
    close_run()
    return out


def _parts(where: str, parts: List[Any], role: str) -> List[Violation]:
    out: List[Violation] = []
    allowed = list(_PART_TYPES) if role == "user" else ["text"]
    for j, part in enumerate(parts):
        at = "%s[%d]" % (where, j)
        if not isinstance(part, dict):
            out.append(_oai_type(at, "an object", part))
        elif "type" not in part:
            out.append(_oai_missing(at + ".type"))
        elif part["type"] not in allowed:
            out.append(_oai_value(at + ".type", part["type"], allowed))
        elif part["type"] == "text" and not isinstance(part.get("text"), str):
            out.append(_oai_missing(at + ".text"))
        elif part["type"] == "image_url":
            image = part.get("image_url")
            if not isinstance(image, dict) or not isinstance(image.get("url"), str):
                out.append(_oai_missing(at + ".image_url.url"))
    return out


def _assistant_tool_calls(where: str, calls: List[Any], out: List[Violation]) -> List[str]:
    ids = []
    for j, call in enumerate(calls):
        at = "%s.tool_calls[%d]" % (where, j)
        if not isinstance(call, dict):
            out.append(_oai_type(at, "an object", call))
            continue
        if not isinstance(call.get("id"), str) or not call.get("id"):
            out.append(_oai_missing(at + ".id"))
        else:
            ids.append(call["id"])
        if call.get("type") != "function":
            if "type" not in call:
                out.append(_oai_missing(at + ".type"))
            else:
                out.append(_oai_value(at + ".type", call.get("type"), ["function"]))
        fn = call.get("function")
        if not isinstance(fn, dict):
            out.append(_oai_missing(at + ".function"))
            continue
        if not isinstance(fn.get("name"), str) or not fn.get("name"):
            out.append(_oai_missing(at + ".function.name"))
        if "arguments" not in fn:
            out.append(_oai_missing(at + ".function.arguments"))
        elif not isinstance(fn["arguments"], str):
            out.append(_oai_type(at + ".function.arguments", "a string", fn["arguments"]))
    return ids


def _tools(body: Dict[str, Any]) -> List[Violation]:
    out: List[Violation] = []
    tools = body.get("tools")
    if tools is not None:
        if not isinstance(tools, list):
            return [_oai_type("tools", "an array", tools)]
        for i, tool in enumerate(tools):
            at = "tools[%d]" % i
            if not isinstance(tool, dict):
                out.append(_oai_type(at, "an object", tool))
                continue
            if "type" not in tool:
                out.append(_oai_missing(at + ".type"))
                continue
            if tool["type"] != "function":
                out.append(_oai_value(at + ".type", tool["type"], ["function", "custom"]))
                continue
            fn = tool.get("function")
            if not isinstance(fn, dict):
                out.append(_oai_missing(at + ".function"))
                continue
            name = fn.get("name")
            if not isinstance(name, str) or not name:
                out.append(_oai_missing(at + ".function.name"))
            elif not TOOL_NAME.match(name):
                out.append(_oai("Invalid '%s.function.name': string does not match pattern. "
                                "Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'."
                                % at, at + ".function.name", "invalid_value"))
            params = fn.get("parameters")
            if params is not None and not isinstance(params, dict):
                out.append(_oai_type(at + ".function.parameters", "an object", params))
    choice = body.get("tool_choice")
    if choice is not None:
        if not tools:
            out.append(_oai("Invalid value for 'tool_choice': 'tool_choice' is only allowed when "
                            "'tools' are specified.", "tool_choice"))
        elif isinstance(choice, str):
            if choice not in ("none", "auto", "required"):
                out.append(_oai_value("tool_choice", choice, ["none", "auto", "required"]))
        elif isinstance(choice, dict):
            if choice.get("type") == "function":
                fn = choice.get("function")
                if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
                    out.append(_oai_missing("tool_choice.function.name"))
            elif choice.get("type") != "allowed_tools":
                out.append(_oai_value("tool_choice.type", choice.get("type"),
                                      ["function", "allowed_tools"]))
        else:
            out.append(_oai_type("tool_choice", "one of a string or object", choice))
    return out
