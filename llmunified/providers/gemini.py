"""Google Gemini API, the Generative Language API with an AI Studio key
(``POST /v1beta/models/{model}:generateContent`` and ``:streamGenerateContent?alt=sse``).
Wire facts: docs/wire.md §5.

Decisions this codec makes (the behaviour tests hold it to them):

- **Tool-call ids.** Gemini's ``functionCall`` usually carries no ``id``. A call without one gets
  ``gemini_call_<responseId>_<n>`` (``n`` counts the response's calls from 0; without a
  ``responseId``, ``gemini_call_<n>``): the same for a streamed and a non-streamed reply, and
  distinct across the turns of a tool loop. Such generated ids are never sent to Gemini; an id
  the server gave is sent back on the ``functionCall`` and on its ``functionResponse``.
- **Tool results.** A ``functionResponse`` needs the function's name: the ToolResult's ``name``,
  else the name of the call with that id in an earlier assistant message; neither is a
  ValidationError before anything is sent. ``response`` must be an object: a dict result goes as
  it is, anything else as ``{"result": value}``, an error result as ``{"error": value}``. The
  results of consecutive tool messages form one user content (the answers to parallel calls).
- **Thought signatures** (docs/wire.md §5 Request body, "Thinking") go back unchanged, on the
  part kind they came with: a ``functionCall``'s on the ToolCall (``ToolCall.signature``); a
  thought part's on its ThinkingPart; a text part's (or the signature-only empty text part a
  stream ends with) as a ThinkingPart with no text and that signature, placed after the text
  run it closes, which the encoder puts back on that text part. So a streamed reply equals the
  non-streamed one. Unsigned thinking (thought summaries without a signature, other providers'
  reasoning) is not sent back: ``thinking_replay = "signed"``.
- **Schemas.** Models named ``gemini-1.*``, ``gemini-2.0*``, ``gemini-pro``, ``gemini-pro-vision``,
  ``gemini-ultra*`` and ``gemini-exp-*`` get their tool parameters as ``parameters`` and a
  response schema as ``responseSchema``, both rewritten to Gemini's OpenAPI subset (the
  ``gemini-openapi`` dialect of ``_schema_dialects``); every other name (2.5, 3 and anything
  newer or unknown) gets plain JSON Schema (``parametersJsonSchema``, ``responseJsonSchema``).
  A tool schema the rewrite cannot carry without changing its meaning is a ValidationError
  naming what cannot be expressed; a response schema in that case goes as
  ``responseJsonSchema`` instead (the reply is validated against the original schema either
  way, and ``gemini-2.0-flash`` was recorded accepting ``responseJsonSchema``:
  fixture ``gemini/structured_output_response_json_schema.vcr.yaml``).
- **Blocked prompts** (no candidates, ``promptFeedback.blockReason``) are a Response with
  ``finish_reason="content_filter"`` and no content, not an exception, like a candidate stopped
  by ``SAFETY``; the feedback is on ``response.raw``.
- **Images** go as ``inlineData`` (base64 data or a ``data:`` URL). A URL is sent as
  ``fileData`` only when it is a Files API URI (the entry's ``file_uri_prefixes`` detail, e.g.
  ``https://generativelanguage.googleapis.com/v1beta/files/...``); the API does not fetch
  other URLs, so any other URL-only image is a ValidationError asking for the data.
- ``parallel_tool_calls`` has no Gemini field: it is not sent (a debug log on ``llmunified``).
- Streams: SSE (``alt=sse``), and the JSON array the same endpoint sends without ``alt=sse``
  (a server or proxy that dropped the parameter), told apart by the first byte. A stream is
  complete when it ends after an event with a ``finishReason`` (or a blocked prompt). Function
  calls usually arrive whole (ToolCallStart, the arguments as one ToolCallDelta, ToolCallEnd).
  Vertex's streamed call arguments (``partialArgs``, opt-in, docs/wire.md §5 Streaming) make one
  call of several parts: the named part with ``willContinue`` starts it, nameless parts carry
  ``partialArgs`` (a JSON path, a typed value, ``willContinue`` on a string that goes on), an
  empty ``functionCall`` ends it. Each piece becomes a ToolCallDelta of JSON text (the arguments
  object written in order, strings as they grow), and ToolCallEnd has the arguments assembled
  from the paths. Should the paths come out of document order, no more deltas are sent for that
  call and ToolCallEnd's arguments (assembled from the paths) are what counts.
- ``ImagePart.detail`` has no per-image counterpart (Gemini's ``mediaResolution`` is set for the
  whole request, through ``extra``).
"""
from __future__ import annotations
import json
import logging
import re
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from .._http import HTTPRequest
from .._options import Options, deep_merge
from .._reasoning import EFFORT_BUDGETS, Reasoning
from .._registry import Auth, ProviderInfo
from .._types import ImagePart, Message, ModelInfo, Response, TextPart, ThinkingPart, ToolCall, ToolResult, Usage
from .._json import encode_json
from ..errors import APIError, LLMError, StreamError, ValidationError, error_for_status
from ._base import (Codec, StreamDecoderBase, body_text, decode_json, emit, int_or_none, loads, malformed,
                    put_sampling, shape_guard)
from ._base import count_of, epoch_seconds
from ._base import new_accumulator

if TYPE_CHECKING:  # the stream machinery loads with the first stream or accumulated reply
    from .._events import Accumulator, StreamEvent
    from .._sse import SSEDecoder, SSEEvent

__all__ = ["GeminiCodec", "GeminiStream", "map_finish_reason", "map_usage", "encode_contents", "retry_delay",
           "takes_json_schema", "thinking_config", "is_generated_id", "STATUS_BY_GOOGLE_STATUS", "GENERATED_ID_PREFIX"]

_log = logging.getLogger("llmunified")

#: ids this codec gives calls that came without one; never sent to the API
GENERATED_ID_PREFIX = "gemini_call_"

# docs/wire.md §0.4 (the Gemini column) and §5 Non-streaming response (the FinishReason values)
_FINISH = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
    "IMAGE_PROHIBITED_CONTENT": "content_filter",
    "IMAGE_RECITATION": "content_filter",
    "MALFORMED_FUNCTION_CALL": "error",
    "UNEXPECTED_TOOL_CALL": "error",
    "TOO_MANY_TOOL_CALLS": "error",
    "OTHER": "other",
    "LANGUAGE": "other",
    "NO_IMAGE": "other",
    "IMAGE_OTHER": "other",
    "FINISH_REASON_UNSPECIFIED": "other",
}

#: Google's ``error.status`` -> the HTTP status it stands for (docs/wire.md §5 Errors; the
#: google.rpc.Code mapping). Used where no HTTP status says it: an error inside a 200 reply.
STATUS_BY_GOOGLE_STATUS = {
    "INVALID_ARGUMENT": 400,
    "FAILED_PRECONDITION": 400,
    "OUT_OF_RANGE": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "NOT_FOUND": 404,
    "ALREADY_EXISTS": 409,
    "ABORTED": 409,
    "RESOURCE_EXHAUSTED": 429,
    "CANCELLED": 499,
    "UNKNOWN": 500,
    "INTERNAL": 500,
    "DATA_LOSS": 500,
    "UNIMPLEMENTED": 501,
    "UNAVAILABLE": 503,
    "DEADLINE_EXCEEDED": 504,
}

# Model families that predate JSON Schema in tool declarations and response schemas.
_OPENAPI_ONLY = re.compile(r"gemini-(?:1\.|2\.0|pro(?:-vision)?$|ultra|exp-)")
# Gemini 3 and later take a thinking level (docs/wire.md §5 Thinking: thinkingLevel, Gemini 3).
_LEVELS = re.compile(r"gemini-(?:[3-9]|[1-9][0-9])(?:[.-]|$)")
# Models whose thinking cannot be turned off (Google's thinking guide: 2.5 Pro takes budgets from
# 128 up, and Gemini 3 models think at their lowest level at least).
_ALWAYS_THINKS = re.compile(r"gemini-(?:2\.5-pro|(?:[3-9]|[1-9][0-9])(?:[.-]|$))")

_encode_args = encode_json  # compact UTF-8 JSON, as json.dumps(..., ensure_ascii=False, separators=(",", ":"))


def map_finish_reason(value: Optional[str]) -> Optional[str]:
    """Gemini ``finishReason`` -> unified finish reason (docs/wire.md §0.4); None stays None. STOP
    with function calls is turned into ``tool_calls`` by the caller, who knows about the calls."""
    if value is None:
        return None
    return _FINISH.get(value, "other")


def _count(value: Any) -> int:
    if type(value) is int:
        return value
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"a token count is {value!r}, not an integer")
    return value


def map_usage(u: Mapping[str, Any]) -> Usage:
    """``usageMetadata`` -> Usage (docs/wire.md §0.5): ``promptTokenCount`` already includes cached
    tokens; thoughts are not inside ``candidatesTokenCount``, so output adds them."""
    get = u.get
    prompt, candidates, thoughts = get("promptTokenCount", 0), get("candidatesTokenCount", 0), get(
        "thoughtsTokenCount", 0)
    total, cached = get("totalTokenCount", 0), get("cachedContentTokenCount", 0)
    # every stream event carries it: plain ints take the short way, anything else is checked
    if type(prompt) is int and type(candidates) is int and type(thoughts) is int and type(total) is int \
            and type(cached) is int:
        output = candidates + thoughts
        return Usage(prompt, output, total or prompt + output + _count(get("toolUsePromptTokenCount")), cached, 0,
                     thoughts)
    prompt = _count(u.get("promptTokenCount"))
    thoughts = _count(u.get("thoughtsTokenCount"))
    output = _count(u.get("candidatesTokenCount")) + thoughts
    total = _count(u.get("totalTokenCount")) or prompt + output + _count(u.get("toolUsePromptTokenCount"))
    return Usage(prompt, output, total, _count(u.get("cachedContentTokenCount")), 0, thoughts)


def thinking_config(model: str, reasoning: Reasoning) -> Optional[Dict[str, Any]]:
    """``generationConfig.thinkingConfig`` for ``reasoning=`` on ``model`` (see GeminiCodec)."""
    if reasoning is None:
        return None
    name = model.rsplit("/", 1)[-1].lower()
    if reasoning is False:
        if _ALWAYS_THINKS.match(name):
            raise ValidationError(
                f"{model} cannot turn thinking off (reasoning=False): its thinking has a floor. Ask for the least "
                "thinking instead: reasoning='low' (or 'minimal' on models that have it)")
        return {"thinkingBudget": 0}
    if isinstance(reasoning, int):
        return {"thinkingBudget": reasoning, "includeThoughts": True}
    if _LEVELS.match(name):
        return {"thinkingLevel": reasoning.upper(), "includeThoughts": True}
    return {"thinkingBudget": EFFORT_BUDGETS[reasoning], "includeThoughts": True}


def takes_json_schema(model: str) -> bool:
    """Whether a model takes plain JSON Schema (``parametersJsonSchema``, ``responseJsonSchema``):
    Gemini 2.5 and later, and any name not known to be older."""
    return not _OPENAPI_ONLY.match(model.rsplit("/", 1)[-1].lower())


def is_generated_id(call_id: str) -> bool:
    """True for an id this codec made up for a call that came without one."""
    return call_id.startswith(GENERATED_ID_PREFIX)


_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)s\s*$")


def retry_delay(data: Any) -> Optional[float]:
    """Seconds from a ``google.rpc.RetryInfo`` detail of a Google error body (``"34.4s"``), if any."""
    if isinstance(data, list) and data:
        data = data[0]
    err = data.get("error") if isinstance(data, dict) else None
    details = err.get("details") if isinstance(err, dict) else None
    for d in details if isinstance(details, list) else ():
        if not isinstance(d, dict) or not str(d.get("@type", "")).endswith("google.rpc.RetryInfo"):
            continue
        delay = d.get("retryDelay")
        if isinstance(delay, str):
            m = _DURATION.match(delay)
            if m:
                return float(m.group(1))
        elif isinstance(delay, dict):  # the proto form {"seconds": 12, "nanos": 5e8}
            try:
                return float(delay.get("seconds") or 0) + float(delay.get("nanos") or 0) / 1e9
            except (TypeError, ValueError):
                return None
    return None


# -- request ---------------------------------------------------------------------------------

def _function_response(result: ToolResult, name: str) -> Dict[str, Any]:
    content = result.content
    if result.is_error:
        response: Any = {"error": content}
    elif isinstance(content, dict):
        response = content
    else:
        response = {"result": content}
    out: Dict[str, Any] = {"name": name, "response": response}
    if not is_generated_id(result.tool_call_id):
        out["id"] = result.tool_call_id
    return {"functionResponse": out}


def _function_call(call: ToolCall) -> Dict[str, Any]:
    fc: Dict[str, Any] = {"name": call.name, "args": call.arguments}
    if not is_generated_id(call.id):
        fc["id"] = call.id
    part: Dict[str, Any] = {"functionCall": fc}
    if call.signature:
        part["thoughtSignature"] = call.signature
    return part


def _model_parts(parts: Sequence[Any], image: Callable[[ImagePart], Dict[str, Any]]) -> List[Dict[str, Any]]:
    out: List[Dict[str, Any]] = []
    text_entry: Optional[Dict[str, Any]] = None  # the wire part of the text just before, if any
    for p in parts:
        entry: Optional[Dict[str, Any]] = None
        if isinstance(p, TextPart):
            if p.text:
                entry = {"text": p.text}
        elif isinstance(p, ThinkingPart):
            if p.redacted or not p.signature:
                continue  # unsigned thinking is not sent back; redacted blocks are Anthropic's
            if p.text:
                entry = {"text": p.text, "thought": True, "thoughtSignature": p.signature}
            elif text_entry is not None:
                text_entry["thoughtSignature"] = p.signature  # the signature of the text it follows
                text_entry = None
                continue
            else:
                entry = {"text": "", "thoughtSignature": p.signature}
        elif isinstance(p, ToolCall):
            entry = _function_call(p)
        elif isinstance(p, ImagePart):
            entry = image(p)
        if entry is not None:
            out.append(entry)
            text_entry = entry if isinstance(p, TextPart) else None
    return out


def _no_name(call_id: str) -> ValidationError:
    return ValidationError(
        f"gemini needs the function name of every tool result, and the result for call id {call_id!r} has none: "
        "no earlier assistant message makes a call with that id. Pass the name "
        "(llm.tool_result(call_id, content, name='...')) or keep the assistant message with the call in the messages")


def encode_contents(messages: List[Message], image: Callable[[ImagePart], Dict[str, Any]]
                    ) -> Tuple[List[str], List[Dict[str, Any]]]:
    """(system texts, wire ``contents``).

    System and developer messages are lifted to ``systemInstruction`` wherever they are.
    Assistant turns have the role ``model``. Tool messages become ``user`` contents of
    ``functionResponse`` parts, one content for a run of consecutive tool messages (the
    answers to the parallel calls of one model turn). Other turns are not merged: the API does
    not require alternating roles.
    """
    system: List[str] = []
    contents: List[Dict[str, Any]] = []
    names: Dict[str, str] = {}  # call id -> function name, the nearest earlier call wins
    results: Optional[List[Dict[str, Any]]] = None  # the parts of the current run of tool results
    for m in messages:
        role = m.role
        if role in ("system", "developer"):
            if m.text:
                system.append(m.text)
            continue
        if role == "tool":
            parts = []
            for p in m.parts:
                if isinstance(p, ToolResult):
                    name = p.name or names.get(p.tool_call_id)
                    if not name:
                        raise _no_name(p.tool_call_id)
                    parts.append(_function_response(p, name))
            if results is None:
                results = parts
                contents.append({"role": "user", "parts": results})
            else:
                results.extend(parts)
            continue
        results = None
        if role == "assistant":
            wire = _model_parts(m.parts, image)
            for p in m.parts:
                if isinstance(p, ToolCall):
                    names[p.id] = p.name
            if wire:  # an empty model turn (nothing to send back) is left out: the API rejects it
                contents.append({"role": "model", "parts": wire})
            continue
        wire = []
        for p in m.parts:
            if isinstance(p, TextPart):
                if p.text:
                    wire.append({"text": p.text})
            elif isinstance(p, ImagePart):
                wire.append(image(p))
        contents.append({"role": "user", "parts": wire or [{"text": ""}]})
    return system, contents


class GeminiCodec(Codec):
    """The Gemini API (AI Studio). See the module docstring for the choices it makes.

    Options: ``temperature``, ``top_p`` (``topP``), ``max_tokens`` (``maxOutputTokens``),
    ``stop`` (``stopSequences``) and ``seed`` go in ``generationConfig``; ``extra`` is
    deep-merged into the body last, e.g.
    ``extra={"generationConfig": {"thinkingConfig": {"thinkingBudget": -1}}}``.

    ``reasoning=`` is ``generationConfig.thinkingConfig`` (docs/wire.md §5 Thinking), with
    ``includeThoughts: true`` whenever thinking is on (thought summaries come back as thinking):

    - a level on Gemini 3 and later (``gemini-3*``): ``thinkingLevel`` ``MINIMAL`` / ``LOW`` /
      ``MEDIUM`` / ``HIGH`` (which levels a model takes is the model's: Gemini 3 Pro has LOW and
      HIGH); on any other model: ``thinkingBudget`` by ``llmunified._reasoning``'s table
      (minimal 1,024, low 2,048, medium 8,192, high 24,576);
    - a budget: ``thinkingBudget`` as given, on every model (Gemini 3 still takes it);
    - ``False``: ``thinkingBudget: 0``. Gemini 2.5 Pro and Gemini 3 models cannot turn thinking
      off: ValidationError before the call, pointing to ``reasoning="low"``.

    ``cache=``: Gemini caches repeated prompt prefixes by itself (implicit caching), reported as
    ``usageMetadata.cachedContentTokenCount`` -> ``usage.cache_read_tokens``; nothing is sent.
    Explicit caches (``cachedContents``) are made through the API and named with
    ``extra={"cachedContent": "cachedContents/..."}``.
    """

    protocol = "gemini"
    choices_field = "candidateCount"  # n > 1: every candidate is read (Response.choices)
    thinking_replay = "signed"  # signatures must go back (Gemini 3 requires them in tool loops)
    structured_mode = "text"
    # Gemini words a prompt that is too long as "The input token count (N) exceeds the maximum
    # number of tokens allowed (M)."
    context_window_markers = Codec.context_window_markers + ("exceeds the maximum number of tokens",)

    _OPENAPI = ("object-root", "gemini-openapi")
    _JSON = ("object-root",)

    def __init__(self, config: Any, model: str) -> None:
        super().__init__(config, model)
        self._path = self.model_path(model)
        #: whether this model takes plain JSON Schema (else the gemini-openapi rewrite)
        self.json_schema = takes_json_schema(model)
        self._file_prefixes: Tuple[str, ...] = tuple(self.detail("file_uri_prefixes", ()))

    def model_path(self, model: str) -> str:
        """The model's resource path below the base URL; ``:generateContent`` and
        ``:streamGenerateContent`` are appended to it. A host with other paths overrides this."""
        # The default base URL is the host root; accept one that already names the version, as
        # the SDKs' base URLs (".../v1beta/") do.
        version = "" if re.search(r"/v1(?:alpha|beta)?\d*$", self.config.base_url) else "/v1beta"
        name = model if model.startswith(("models/", "tunedModels/")) else "models/" + model
        return f"{version}/{name}"

    # -- model listing -----------------------------------------------------------------------
    #: models asked for per page of GET models (the API's maximum; its default is 50)
    models_page_size = 1000

    def models_request(self, page_token: Optional[str] = None) -> HTTPRequest:
        # GET /v1beta/models?pageSize=&pageToken= (docs/wire.md §5)
        from urllib.parse import quote

        version = "" if re.search(r"/v1(?:alpha|beta)?\d*$", self.config.base_url) else "/v1beta"
        path = f"{version}/models?pageSize={self.models_page_size}"
        if page_token is not None:
            path += "&pageToken=" + quote(page_token, safe="")
        return self.request("GET", path, {"Accept": "application/json"})

    @shape_guard
    def parse_models(self, body: bytes, headers: Mapping[str, str]) -> Tuple[List[ModelInfo], Optional[str]]:
        data, items = self.listing(body, headers, "models")
        models = []
        for item in items:
            name = item["name"]
            if not isinstance(name, str):
                raise TypeError(f"a model name is not a string: {name!r}")
            display = item.get("displayName")
            methods = item.get("supportedGenerationMethods")
            models.append(ModelInfo(
                name[len("models/"):] if name.startswith("models/") else name, self.provider,
                display_name=display if isinstance(display, str) else None,
                context_window=int_or_none(item.get("inputTokenLimit")),
                max_output=int_or_none(item.get("outputTokenLimit")),
                methods=[m for m in methods if isinstance(m, str)] if isinstance(methods, list) else None, raw=item))
        token = data.get("nextPageToken")
        return models, (token if isinstance(token, str) and token else None)

    # -- requests ----------------------------------------------------------------------------
    def chat_request(self, messages: List[Message], options: Options, stream: bool) -> HTTPRequest:
        system, contents = encode_contents(messages, self._image)
        body: Dict[str, Any] = {"contents": contents}
        if system:
            body["systemInstruction"] = {"parts": [{"text": "\n\n".join(system)}]}
        config: Dict[str, Any] = {}
        put_sampling(config, options, "temperature", "topP", "maxOutputTokens", "stopSequences", "seed")
        if options.n is not None and options.n > 1:
            config["candidateCount"] = options.n
        if options.tools:
            body["tools"] = [{"functionDeclarations": [self._declaration(t) for t in options.tools]}]
            mode = self._calling_config(options.tool_choice)
            if mode is not None:
                body["toolConfig"] = {"functionCallingConfig": mode}
        elif options.tool_choice is not None:
            _log.debug("gemini: tool_choice=%r without tools is not sent", options.tool_choice)
        if options.parallel_tool_calls is not None:
            _log.debug("gemini: the Gemini API has no parallel_tool_calls field; parallel_tool_calls=%r not sent",
                       options.parallel_tool_calls)
        if options.response_format is not None:
            spec = options.response_format
            dialect = self.structured_dialect(spec)
            config["responseMimeType"] = "application/json"
            key = "responseSchema" if "gemini-openapi" in dialect else "responseJsonSchema"
            config[key] = spec.wire_schema(dialect).schema
        thinking = thinking_config(self.model, options.reasoning)
        if thinking is not None:
            config["thinkingConfig"] = thinking
        if config:
            body["generationConfig"] = config
        if options.extra:
            body = deep_merge(body, options.extra)
        path = self._path + (":streamGenerateContent?alt=sse" if stream else ":generateContent")
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream" if stream else "application/json"}
        return self.request("POST", path, headers, body, stream)

    # -- batch jobs (Client.batch; llmunified._batch): Batch Mode, inline or file-based -----------
    # POST models/{model}:batchGenerateContent {"batch": {"displayName", "inputConfig": ...}} ->
    # an Operation named batches/{id}, read with GET batches/{id}; its metadata carries the state
    # and batchStats. Inline (small jobs, up to 20 MB per the Batch Mode guide): inputConfig
    # {"requests": {"requests": [{"request": <a generateContent body>, "metadata": {"key": id}}]}},
    # results in response.inlinedResponses.inlinedResponses, in input order. File-based (larger
    # jobs): the JSONL of {"key": id, "request": <body>} lines goes up through the Files API's
    # resumable upload (POST /upload/v1beta/files with X-Goog-Upload-Protocol: resumable and
    # X-Goog-Upload-Command: start -> the X-Goog-Upload-URL header; then one POST of the bytes
    # there with X-Goog-Upload-Command: "upload, finalize" -> {"file": {"name": "files/..."}}),
    # inputConfig {"fileName": "files/..."}; results in the file response.responsesFile, read from
    # GET /download/v1beta/{file}:download?alt=media, one {"key", "response" | "error"} a line.
    #: the largest inline batch request body (bytes); a larger batch goes as a file
    batch_inline_limit = 20_000_000
    batch_modes = ("auto", "inline", "file")
    _BATCH_STATES = {"PENDING": "validating", "QUEUED": "validating", "RUNNING": "in_progress",
                     "SUCCEEDED": "completed", "FAILED": "failed", "CANCELLING": "cancelling",
                     "CANCELLED": "cancelled", "EXPIRED": "expired", "PAUSED": "in_progress",
                     "PARTIALLY_SUCCEEDED": "completed"}
    _INLINE_OVERHEAD = 128  # the inline body's wrapping around the entries

    def _batch_root(self) -> str:
        return "" if re.search(r"/v1(?:alpha|beta)?\d*$", self.config.base_url) else "/v1beta"

    def _host_root(self) -> Tuple[str, str]:
        """(the host part of the base URL, the API version) for the upload and download paths."""
        base = self.config.base_url.rstrip("/")
        m = re.search(r"/(v1(?:alpha|beta)?\d*)$", base)
        return (base[:m.start()], m.group(1)) if m else (base, "v1beta")

    def _batch_as_file(self, plan: Any) -> bool:
        if plan.mode == "file":
            return True
        if plan.mode == "inline":
            return False
        return plan.size + self._INLINE_OVERHEAD > self.batch_inline_limit

    def batch_line(self, custom_id: str, request: HTTPRequest) -> bytes:
        # the file line {"key": id, "request": body}; an inline job rewraps it (_inline_entry)
        from .._batch import json_str, wrap_body

        return wrap_body(b'{"key":' + json_str(custom_id) + b',"request":', request.body, b"}")

    @staticmethod
    def _inline_entry(line: bytes) -> bytes:
        """A file line as an inline entry: {"request": body, "metadata": {"key": id}} (the body's
        bytes kept as they are)."""
        text = line.decode("utf-8")
        _key, end = _KEY_DECODER.raw_decode(text, 7)  # after '{"key":'
        key = text[7:end].encode("utf-8")
        body = line[7 + len(key) + len(b',"request":'):-1]
        return b'{"request":' + body + b',"metadata":{"key":' + key + b"}}"

    def batch_upload_request(self, plan: Any) -> Optional[HTTPRequest]:
        if not self._batch_as_file(plan):
            return None
        root, version = self._host_root()
        headers = {"X-Goog-Upload-Protocol": "resumable", "X-Goog-Upload-Command": "start",
                   "X-Goog-Upload-Header-Content-Length": str(plan.size),
                   "X-Goog-Upload-Header-Content-Type": "application/jsonl",
                   "Content-Type": "application/json", "Accept": "application/json"}
        return self.request("POST", f"/upload/{version}/files", headers,
                            {"file": {"displayName": "llmunified-batch"}}, base=root)

    def batch_upload_next(self, plan: Any, body: bytes, headers: Mapping[str, str]) -> Optional[HTTPRequest]:
        if (headers.get("x-goog-upload-status") or "").lower() == "final":
            return None
        url = headers.get("x-goog-upload-url")
        if not url:
            if body.strip():
                return None  # the file itself
            raise malformed(self.provider, "the Files API started no upload (no X-Goog-Upload-URL header)",
                            body, headers)
        headers_out = {"X-Goog-Upload-Command": "upload, finalize", "X-Goog-Upload-Offset": "0",
                       "Content-Type": "application/jsonl", "Accept": "application/json"}
        return self.request("POST", "", headers_out, plan.jsonl(), base=url)

    @shape_guard
    def parse_batch_upload(self, body: bytes, headers: Mapping[str, str]) -> str:
        data = decode_json(self.provider, body, headers=headers, what="file upload reply")
        file = data.get("file") if isinstance(data.get("file"), dict) else data
        name = file["name"]
        if not isinstance(name, str) or not name:
            raise TypeError("the uploaded file has no name")
        return name

    def batch_create_request(self, plan: Any, file_id: Optional[str]) -> HTTPRequest:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if file_id is not None:
            return self.request("POST", self._path + ":batchGenerateContent", headers,
                                {"batch": {"displayName": "llmunified", "inputConfig": {"fileName": file_id}}})
        body = (b'{"batch":{"displayName":"llmunified","inputConfig":{"requests":{"requests":['
                + b",".join(self._inline_entry(line) for line in plan.lines) + b"]}}}}")
        if len(body) > self.batch_inline_limit:
            raise ValidationError(
                f"{self.provider}: this batch is {len(body) / 1e6:.1f} MB; Gemini takes inline batch requests up to "
                f"{self.batch_inline_limit / 1e6:.0f} MB: submit it with mode='file' (or the default mode='auto', "
                "which uploads large batches as a file)")
        return self.request("POST", self._path + ":batchGenerateContent", headers, body)

    @shape_guard
    def parse_batch(self, body: bytes, headers: Mapping[str, str]) -> Any:
        from .._batch import BatchCounts, BatchInfo

        data = decode_json(self.provider, body, headers=headers, what="batch operation")
        meta = data.get("metadata") if isinstance(data.get("metadata"), dict) else data
        state = str(meta.get("state") or ("BATCH_STATE_SUCCEEDED" if data.get("done") else "BATCH_STATE_PENDING"))
        status = self._BATCH_STATES.get(state.rsplit("_STATE_", 1)[-1], "in_progress")
        error = data.get("error")
        message = None
        if isinstance(error, dict):
            message = str(error.get("message") or error)
            if status not in ("cancelled", "expired"):
                status = "failed"
        stats = meta.get("batchStats") or {}
        number = (lambda v: int(v) if isinstance(v, str) and v.isdigit() else int_or_none(v))
        response = data.get("response") if isinstance(data.get("response"), dict) else {}
        output = response or (meta.get("output") if isinstance(meta.get("output"), dict) else {})
        inlined = (output.get("inlinedResponses") or {}) if isinstance(output, dict) else {}
        entries = inlined.get("inlinedResponses") if isinstance(inlined, dict) else inlined
        responses_file = output.get("responsesFile") if isinstance(output, dict) else None
        config = meta.get("inputConfig") if isinstance(meta.get("inputConfig"), dict) else {}
        ident = data.get("name") or meta.get("name")
        if not isinstance(ident, str):
            raise TypeError("the batch operation has no name")
        return BatchInfo(ident, status, state,
                         BatchCounts(number(stats.get("requestCount")), number(stats.get("successfulRequestCount")),
                                     number(stats.get("failedRequestCount"))),
                         epoch_seconds(meta.get("createTime")),
                         {"inline": entries if isinstance(entries, list) else None,
                          "file": responses_file if isinstance(responses_file, str) and responses_file else None,
                          "input_file": config.get("fileName")}, message, data)

    def batch_get_request(self, job_id: str) -> HTTPRequest:
        from urllib.parse import quote

        return self.request("GET", f"{self._batch_root()}/{quote(_batch_name(job_id), safe='/')}",
                            {"Accept": "application/json"})

    def batch_cancel_request(self, job_id: str) -> HTTPRequest:
        from urllib.parse import quote

        return self.request("POST", f"{self._batch_root()}/{quote(_batch_name(job_id), safe='/')}:cancel",
                            {"Accept": "application/json"})

    def parse_batch_cancel(self, body: bytes, headers: Mapping[str, str]) -> Any:
        return None  # google.protobuf.Empty: the operation is read again

    def batch_inline_results(self, info: Any) -> List[Any]:
        return info.output.get("inline") or []

    def batch_results_requests(self, info: Any) -> List[HTTPRequest]:
        name = info.output.get("file")
        if not name:
            return []
        from urllib.parse import quote

        root, version = self._host_root()
        return [self.request("GET", f"/download/{version}/{quote(name, safe='/')}:download?alt=media",
                             {"Accept": "*/*"}, base=root, stream=True)]

    def parse_batch_result(self, obj: Any, position: Optional[int]) -> Tuple[Optional[str], Optional[bytes], Any]:
        meta = obj.get("metadata")
        key = meta.get("key") if isinstance(meta, dict) else obj.get("key")  # inline: metadata.key; file: key
        cid = key if isinstance(key, str) else None
        if isinstance(obj.get("response"), dict):
            return cid, json.dumps(obj["response"], ensure_ascii=False).encode("utf-8"), None
        error = obj.get("error") if isinstance(obj.get("error"), dict) else {"message": "no response in the result"}
        raw = json.dumps({"error": error}, ensure_ascii=False)
        code_value = error.get("code")
        status = code_value if isinstance(code_value, int) else None
        message, etype, code = self.error_details({"error": error})
        return cid, None, self.make_error(status, {}, message or "the request failed", etype, code, raw)

    # -- token counting (docs/wire.md §5 Endpoints, §6) ---------------------------------------
    #: what ``:countTokens`` counts of a generateContent body: the prompt, the system
    #: instruction and the tool declarations (generation settings cost no prompt tokens)
    count_fields = ("contents", "systemInstruction", "tools", "toolConfig", "cachedContent")
    token_endpoint = True

    def count_tokens_request(self, messages: List[Message], options: Options) -> Optional[HTTPRequest]:
        body = self.chat_body(self.chat_request(messages, options, False))
        body = self.count_body({k: v for k, v in body.items() if k in self.count_fields})
        return self.request("POST", self._path + ":countTokens",
                            {"Content-Type": "application/json", "Accept": "application/json"}, body)

    def count_body(self, body: Dict[str, Any]) -> Dict[str, Any]:
        """The Gemini API counts a whole request as ``generateContentRequest`` (which names the
        model); bare ``contents`` would leave the system instruction and tools out."""
        name = self.model if self.model.startswith(("models/", "tunedModels/")) else "models/" + self.model
        return {"generateContentRequest": {"model": name, **body}}

    @shape_guard
    def parse_token_count(self, body: bytes, headers: Mapping[str, str]) -> Tuple[int, Dict[str, Any]]:
        # {"totalTokens": N, "cachedContentTokenCount"?, "promptTokensDetails"?}; proto3 JSON
        # leaves a zero out
        data = decode_json(self.provider, body, headers=headers, what="token count")
        return count_of(data, "totalTokens", 0), data

    def _image(self, p: ImagePart) -> Dict[str, Any]:
        if p.data:
            return {"inlineData": {"mimeType": p.media_type, "data": p.data}}
        url = p.url or ""
        if self._file_prefixes and url.startswith(self._file_prefixes):
            ref: Dict[str, Any] = {"fileUri": url}
            if p.media_type:
                ref["mimeType"] = p.media_type
            return {"fileData": ref}
        raise ValidationError(
            f"{self.provider} cannot send an image by URL ({url[:80]!r}): the Gemini API takes images as base64 "
            "data or as Files API URIs, and does not fetch other URLs. Download the image and pass "
            "ImagePart(data=<base64>, media_type='image/...') instead")

    @staticmethod
    def _calling_config(choice: Optional[str]) -> Optional[Dict[str, Any]]:
        if choice is None:
            return None
        if choice in ("auto", "none"):
            return {"mode": choice.upper()}
        if choice == "required":
            return {"mode": "ANY"}
        return {"mode": "ANY", "allowedFunctionNames": [choice]}

    def _declaration(self, tool: Any) -> Dict[str, Any]:
        decl: Dict[str, Any] = {"name": tool.name}
        if tool.description:
            decl["description"] = tool.description
        if self.json_schema:
            decl["parametersJsonSchema"] = tool.parameters
            return decl
        from .._schema_dialects import rewrite

        try:
            rewritten = rewrite(tool.parameters, "gemini-openapi")
        except ValidationError as exc:
            raise ValidationError(f"tool {tool.name!r} for {self.provider}/{self.model}: {exc.message}") from None
        if not rewritten.lossless:
            lost = "; ".join(n for n in rewritten.notes if n.endswith("[meaning changed]"))
            raise ValidationError(
                f"tool {tool.name!r}: its parameters cannot be sent to {self.model}, which takes only Gemini's "
                f"OpenAPI schema subset, without changing their meaning ({lost}). Simplify the schema, or use a "
                "Gemini 2.5 or later model (those take plain JSON Schema)")
        decl["parameters"] = rewritten.schema
        return decl

    def structured_dialect(self, spec: Any) -> Tuple[str, ...]:
        """``("object-root",)`` with ``responseJsonSchema``; for a model that predates JSON Schema
        ``("object-root", "gemini-openapi")`` with ``responseSchema``, unless that rewrite would
        change the schema's meaning (then the plain schema goes as ``responseJsonSchema``)."""
        if self.json_schema:
            return self._JSON
        try:
            if spec.wire_schema(self._OPENAPI).lossless:
                return self._OPENAPI
        except ValidationError:  # a recursive schema cannot be inlined
            pass
        return self._JSON

    # -- errors ------------------------------------------------------------------------------
    def error_details(self, data: Any) -> Tuple[Optional[str], Optional[str], Optional[str]]:
        """(message, status, code) of ``{"error": {"code", "message", "status", "details"}}``; the
        stream endpoint without ``alt=sse`` wraps it in a one-element array."""
        if isinstance(data, list) and data and isinstance(data[0], dict):
            data = data[0]
        if not isinstance(data, dict):
            return None, None, None
        err = data.get("error")
        if isinstance(err, str):
            return err, None, None
        if isinstance(err, dict):
            message, status, code = err.get("message"), err.get("status"), err.get("code")
            return (message if isinstance(message, str) else None), (status if isinstance(status, str) else None), \
                (str(code) if isinstance(code, (int, str)) and not isinstance(code, bool) else None)
        message = data.get("message")
        return (message if isinstance(message, str) else None), None, None

    stream_error_statuses = STATUS_BY_GOOGLE_STATUS

    def error_extras(self, err: APIError, data: Any) -> None:
        if err.retry_after is None:
            # Google sends no Retry-After: the wait is a RetryInfo detail (docs/wire.md §5 Errors).
            err.retry_after = retry_delay(data)

    # -- responses ---------------------------------------------------------------------------
    @shape_guard
    def parse_chat(self, body: bytes, headers: Mapping[str, str]) -> Response:
        data = decode_json(self.provider, body, headers=headers)
        if not isinstance(data, dict):
            raise malformed(self.provider, "expected a JSON object", body, headers)
        if data.get("error"):
            message, etype, code = self.error_details(data)
            status = STATUS_BY_GOOGLE_STATUS.get(etype or "")
            err = self.make_error(status, headers, message or "error", etype, code, body_text(body),
                                  cls=error_for_status(status) if status is not None else APIError)
            err.retry_after = err.retry_after if err.retry_after is not None else retry_delay(data)
            raise err
        acc = new_accumulator(self.provider, self.model, headers)
        acc.raw = data
        reply = _Reply(acc)
        reply.event(data, [])
        if not reply.candidates and not reply.blocked:
            raise malformed(self.provider, "no candidates and no promptFeedback.blockReason", body, headers)
        reply.complete([])
        return acc.response()

    def stream_decoder(self, headers: Mapping[str, str]) -> "GeminiStream":
        return GeminiStream(self, new_accumulator(self.provider, self.model, headers))

    # -- embeddings (docs/wire.md §5 Embeddings) ------------------------------------------------
    # One input: :embedContent; several: :batchEmbedContents, which takes up to 100 requests.
    # ``extra`` is merged into each input's entry (the embedContent body's fields, e.g. ``title``).
    embed_max_inputs = 100
    embed_max_tokens = 100_000

    def embed_entry(self, text: str, options: Any) -> Dict[str, Any]:
        """One input's ``embedContent`` body (a ``batchEmbedContents`` request entry, less its
        ``model``): content, ``taskType``, ``outputDimensionality``, then ``extra``."""
        from .._embed import gemini_task, unsupported

        entry: Dict[str, Any] = {"content": {"parts": [{"text": text}]}}
        if options.input_type is not None:
            entry["taskType"] = gemini_task(options.input_type)
        if options.dimensions is not None:
            entry["outputDimensionality"] = options.dimensions
        if options.truncate is not None:
            raise unsupported(self, "truncate", "the Gemini API truncates long inputs itself and has no switch")
        if options.extra:
            entry = deep_merge(entry, options.extra)
        return entry

    def embed_request(self, inputs: List[str], options: Any) -> HTTPRequest:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if len(inputs) == 1:
            return self.request("POST", self._path + ":embedContent", headers, self.embed_entry(inputs[0], options))
        found = re.search(r"(?:tunedModels|models)/[^/]+$", self._path)
        name = found.group(0) if found else self._path.lstrip("/")  # each entry names the model again
        requests = [dict(self.embed_entry(text, options), model=name) for text in inputs]
        return self.request("POST", self._path + ":batchEmbedContents", headers, {"requests": requests})

    @shape_guard
    def parse_embeddings(self, body: bytes, headers: Mapping[str, str]) -> Any:
        from operator import itemgetter

        from .._embed import EmbedBatch, as_vectors

        data = decode_json(self.provider, body, headers=headers, what="embeddings reply")
        if "embedding" in data:  # embedContent
            items = [data.pop("embedding")]
        else:
            items = data.pop("embeddings", None)
            if items is None:
                items = []  # proto3 JSON leaves an empty list out
        if not isinstance(items, list):
            raise TypeError("'embeddings' is not a list")
        meta = data.get("usageMetadata")
        count = int_or_none(meta.get("promptTokenCount")) if isinstance(meta, dict) else None
        usage = Usage(count, 0, count) if count is not None else None
        return EmbedBatch(as_vectors(list(map(itemgetter("values"), items))), usage, None, data)


_KEY_DECODER = json.JSONDecoder()


def _batch_name(job_id: str) -> str:
    """A batch's resource name (``batches/<id>``) from what the caller holds (the name or the bare id)."""
    return job_id if job_id.startswith("batches/") else "batches/" + job_id


def _str(value: Any, what: str) -> Optional[str]:
    if value is None or isinstance(value, str):
        return value
    raise TypeError(f"{what} is {type(value).__name__}, not a string")


class _Reply:
    """One reply's content, from response objects in wire order (the body of a non-streaming
    reply, or each stream event): both paths go through here, so they build equal Responses."""

    __slots__ = ("acc", "pending", "sealed", "calls", "finish", "done", "blocked", "candidates", "streamed",
                 "model_seen", "usage", "others")

    def __init__(self, acc: Accumulator) -> None:
        self.acc = acc
        self.streamed: Optional[_StreamedCall] = None  # a call whose arguments come in pieces
        self.pending: List[str] = []  # signatures of text parts, placed after their text run
        self.sealed = False  # the last thinking block is closed by its signature
        self.calls = 0
        self.finish: Optional[str] = None
        self.done = False  # a finishReason (or a blocked prompt) was seen
        self.blocked = False
        self.candidates = False
        self.model_seen: Any = None
        self.usage: Optional[Dict[str, Any]] = None  # the last usageMetadata, not mapped yet
        self.others: Optional[Dict[int, "_Reply"]] = None  # candidates 1.. (candidateCount > 1)

    def event(self, obj: Dict[str, Any], out: List[StreamEvent]) -> None:
        acc = self.acc
        if acc.id is None:
            rid = _str(obj.get("responseId"), "responseId")
            if rid:
                acc.id = rid
        model = obj.get("modelVersion")
        if model and model != self.model_seen:  # the same text on every event: read it once
            self.model_seen = model
            name = _str(model, "modelVersion") or ""
            acc.model = name[7:] if name.startswith("models/") else name
        candidates = obj.get("candidates")
        if candidates is not None:
            if candidates.__class__ is not list:
                raise TypeError("candidates is not a list")
            for cand in candidates:
                if cand.__class__ is not dict:
                    raise TypeError("a candidate is not an object")
                index = cand.get("index")
                if index:  # candidate 1.. of a call made with n > 1 (candidateCount)
                    self.other(index).candidate(cand, out)
                else:
                    self.candidate(cand, out)
        feedback = obj.get("promptFeedback")
        if feedback is not None and isinstance(feedback, dict) and feedback.get("blockReason"):
            self.blocked = self.done = True
        usage = obj.get("usageMetadata")
        if usage is not None:
            if usage.__class__ is not dict:
                raise TypeError("usageMetadata is not an object")
            # Cumulative on every stream event: the last one stands (docs/wire.md §5 Streaming).
            # Mapped when a Response is made (sync_usage), not on every event.
            self.usage = usage

    def other(self, index: Any) -> "_Reply":
        if type(index) is not int or index < 0:
            raise TypeError("candidate.index is not an int")
        others = self.others
        if others is None:
            others = self.others = {}
        reply = others.get(index)
        if reply is None:
            reply = others[index] = _Reply(self.acc.choice(index))
        return reply

    def sync_usage(self) -> None:
        """Bring the accumulator's usage up to the last usageMetadata seen."""
        usage = self.usage
        if usage is not None:
            self.usage = None
            self.acc.usage = map_usage(usage)

    def candidate(self, cand: Dict[str, Any], out: List[StreamEvent]) -> None:
        self.candidates = True
        content = cand.get("content")
        if content is not None:
            if not isinstance(content, dict):
                raise TypeError("candidate.content is not an object")
            parts = content.get("parts")
            if parts is not None:  # a candidate may end with no parts (MAX_TOKENS spent on thinking)
                if not isinstance(parts, list):
                    raise TypeError("content.parts is not a list")
                acc = self.acc
                for part in parts:
                    if type(part) is dict and len(part) == 1:  # the common part: {"text": ...} alone
                        text = part.get("text")
                        if type(text) is str:
                            if text:
                                out.append(acc.text(text))  # type: ignore[arg-type]  # never None here
                            continue
                    self.part(part, out)
        reason = _str(cand.get("finishReason"), "finishReason")
        if reason:
            self.finish = reason
            self.done = True

    def part(self, p: Any, out: List[StreamEvent]) -> None:
        if not isinstance(p, dict):
            raise TypeError("a part is not an object")
        acc = self.acc
        signature = _str(p.get("thoughtSignature"), "thoughtSignature")
        call = p.get("functionCall")
        if call is not None:
            self.flush(out)
            if isinstance(call, dict) and self.streamed is not None and not call.get("name"):
                self.call_piece(call, signature, out)  # a piece of the call being streamed
                return
            if not isinstance(call, dict) or not isinstance(call.get("name"), str) or not call["name"]:
                raise ValueError("a functionCall part without a name")
            if self.streamed is not None:  # a new call: the one streamed before is complete
                self.end_call(out)
            if call.get("willContinue") is True or call.get("partialArgs"):
                self.start_call(call, signature, out)
                return
            args = call.get("args")
            if args is None:
                args = {}
            if not isinstance(args, dict):
                raise TypeError("functionCall.args is not an object")
            call_id = _str(call.get("id"), "functionCall.id") or (
                f"{GENERATED_ID_PREFIX}{acc.id}_{self.calls}" if acc.id else f"{GENERATED_ID_PREFIX}{self.calls}")
            # Calls arrive whole: start, the arguments as one JSON fragment, end.
            events = acc.add_tool_call(call_id, call["name"], args, raw_arguments=_encode_args(args))
            if signature:
                events[-1].tool_call.signature = signature  # the ToolCall just stored on the reply
            out.extend(events)
            self.calls += 1
            return
        text = _str(p.get("text"), "text")
        if text is not None:
            if p.get("thought") is True:
                self.flush(out)
                if self.sealed and (text or signature):
                    acc.new_thinking_block()  # a signature ended the block before
                    self.sealed = False
                emit(out, acc.thinking(text))
                if signature:
                    emit(out, acc.thinking_signature(signature))
                    self.sealed = True
                return
            emit(out, acc.text(text))
        # A text part's signature (also the signature-only empty part a stream ends with), and
        # one on a part kind not modelled here (code execution, inline data), waits for the end
        # of the text run: wherever the stream split the text, it ends up in the same place.
        if signature:
            self.pending.append(signature)

    def flush(self, out: List[StreamEvent]) -> None:
        for signature in self.pending:
            self.acc.new_thinking_block()
            emit(out, self.acc.thinking_signature(signature))
            self.sealed = True
        self.pending = []

    # -- streamed function-call arguments (Vertex ``partialArgs``, docs/wire.md §5 Streaming) ---
    def start_call(self, call: Dict[str, Any], signature: Optional[str], out: List[StreamEvent]) -> None:
        acc = self.acc
        call_id = _str(call.get("id"), "functionCall.id") or (
            f"{GENERATED_ID_PREFIX}{acc.id}_{self.calls}" if acc.id else f"{GENERATED_ID_PREFIX}{self.calls}")
        key = ("streamed", self.calls)
        out.append(acc.tool_start(key, call_id, call["name"]))
        self.calls += 1
        self.streamed = _StreamedCall(key)
        self.call_piece(call, signature, out, first=True)

    def call_piece(self, call: Dict[str, Any], signature: Optional[str], out: List[StreamEvent],
                   first: bool = False) -> None:
        streamed = self.streamed
        assert streamed is not None
        if signature:
            streamed.signature = signature
        pieces = call.get("partialArgs")
        args = call.get("args")
        if not first and not pieces and not args:
            self.end_call(out)  # the empty functionCall that closes the call
            return
        if pieces is not None and not isinstance(pieces, list):
            raise TypeError("functionCall.partialArgs is not a list")
        if args is not None and not isinstance(args, dict):
            raise TypeError("functionCall.args is not an object")
        for piece in pieces or ():
            emit(out, self.acc.tool_args(streamed.key, streamed.piece(piece)))
        for name, value in (args or {}).items():
            emit(out, self.acc.tool_args(streamed.key, streamed.put((name,), value, False)))
        # A named part ends the call unless it says more follows; a piece ends it only when it
        # says so outright (proto3 JSON leaves a false willContinue out, so the empty closing
        # call is the usual end).
        will_continue = call.get("willContinue")
        if (first and will_continue is not True) or (not first and will_continue is False):
            self.end_call(out)

    def end_call(self, out: List[StreamEvent]) -> None:
        streamed, self.streamed = self.streamed, None
        if streamed is None:
            return
        acc = self.acc
        emit(out, acc.tool_args(streamed.key, streamed.close()))
        if streamed.text_matches():
            end = acc.tool_end(streamed.key)  # the arguments parsed from the text the deltas carried
        else:
            end = acc.tool_end(streamed.key, streamed.args)
            if end is not None:
                end.tool_call.raw_arguments = _encode_args(streamed.args)
        if end is not None:
            if streamed.signature:
                end.tool_call.signature = streamed.signature
            out.append(end)

    def complete(self, out: List[StreamEvent]) -> None:
        self.sync_usage()
        if self.others:
            for index in sorted(self.others):
                self.others[index].complete_choice(out)
        self.end_call(out)
        self.flush(out)
        reason = map_finish_reason(self.finish)
        if reason is None and self.blocked:
            reason = "content_filter"  # the prompt was blocked: no candidate at all
        if reason == "stop" and self.calls:
            reason = "tool_calls"  # Gemini has no finish reason of its own for calls
        acc = self.acc
        if acc.usage is not None:
            out.append(acc.set_usage(acc.usage))
        out.append(acc.finish(reason))

    def complete_choice(self, out: List[StreamEvent]) -> None:
        """The end of candidate 1.. (its usage is the whole reply's, on candidate 0)."""
        self.end_call(out)
        self.flush(out)
        reason = map_finish_reason(self.finish)
        if reason == "stop" and self.calls:
            reason = "tool_calls"
        out.append(self.acc.finish(reason))


_Path = Tuple[Union[str, int], ...]
_PATH_STEP = re.compile(r"""\.([^.\[\]]+)|\[(\d+)\]|\[('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")\]""")


def json_path(path: Any) -> _Path:
    """The steps of a ``partialArgs`` ``jsonPath`` (RFC 9535 normalized paths: ``$.a.b[0]``,
    ``$['a b']``): member names as strings, array indices as integers."""
    if not isinstance(path, str) or not path.startswith("$"):
        raise ValueError(f"a partialArgs jsonPath that is not a JSON path: {path!r}")
    steps: List[Union[str, int]] = []
    pos = 1
    while pos < len(path):
        m = _PATH_STEP.match(path, pos)
        if m is None:
            raise ValueError(f"a partialArgs jsonPath this codec cannot read: {path!r}")
        name, index, quoted = m.groups()
        if name is not None:
            steps.append(name)
        elif index is not None:
            steps.append(int(index))
        elif quoted[0] == '"':
            steps.append(json.loads(quoted))
        else:  # single quotes: \' is a quote, a bare " must be escaped for JSON
            inner = re.sub(r"""\\(.)|\"""", lambda e: "'" if e.group(1) == "'" else (e.group(0) if e.group(1) else '\\"'),
                           quoted[1:-1])
            steps.append(json.loads('"' + inner + '"'))
        pos = m.end()
    if not steps or not isinstance(steps[0], str):
        raise ValueError(f"a partialArgs jsonPath outside the arguments object: {path!r}")
    return tuple(steps)


_PIECE_VALUES = ("stringValue", "numberValue", "boolValue", "nullValue")


class _StreamedCall:
    """One function call whose arguments arrive in pieces (Vertex ``partialArgs``): the
    arguments object assembled from the paths, and the same object as JSON text written in
    order as the pieces come (the ToolCallDelta fragments). The text stays exact while the
    paths come in document order (each member once, array items in turn); otherwise no more
    text is written and the assembled object is what counts."""

    __slots__ = ("key", "signature", "args", "growing", "ordered", "text", "stack", "seen", "open_string")

    def __init__(self, key: Any) -> None:
        self.key = key
        self.signature: Optional[str] = None
        self.args: Dict[str, Any] = {}
        self.growing: Optional[_Path] = None  # the path of a string value that goes on
        self.ordered = True  # the text written so far is the start of the arguments' JSON
        self.text: List[str] = []
        self.stack: List[List[Any]] = []  # open containers: [path, is_object, members written]
        self.seen: set = set()  # every path written (containers and values)
        self.open_string: Optional[_Path] = None  # the text is inside this path's string

    def piece(self, piece: Any) -> str:
        """Take one ``partialArgs`` entry; returns the JSON text it adds."""
        if not isinstance(piece, dict):
            raise TypeError("a partialArgs entry is not an object")
        path = json_path(piece.get("jsonPath"))
        field = next((f for f in _PIECE_VALUES if f in piece), None)
        if field is None:  # no value: at most the end of a growing string
            return self.put(path, None, False, has_value=False)
        value = piece[field]
        if field == "stringValue":
            _str(value, "partialArgs.stringValue")
        elif field == "numberValue":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"partialArgs.numberValue is {value!r}, not a number")
        elif field == "boolValue":
            if not isinstance(value, bool):
                raise TypeError(f"partialArgs.boolValue is {value!r}, not a boolean")
        else:
            value = None  # nullValue: "NULL_VALUE"
        return self.put(path, value, piece.get("willContinue") is True and field == "stringValue")

    def put(self, path: _Path, value: Any, will_continue: bool, has_value: bool = True) -> str:
        """Set ``value`` at ``path`` (a string continuing the one growing there is appended);
        returns the JSON text this adds."""
        grows = isinstance(value, str) and self.growing == path
        if grows:
            self._set(path, self._get(path) + value)
        elif has_value:
            self._set(path, value)
        self.growing = path if will_continue and (grows or has_value) else None
        if not self.ordered:
            return ""
        fragment = self._write(path, value, will_continue, has_value)
        if fragment is None:
            self.ordered = False
            return ""
        self.text.append(fragment)
        return fragment

    def close(self) -> str:
        """The JSON text that closes the arguments object."""
        if not self.ordered:
            return ""
        out = []
        if self.open_string is not None:
            out.append('"')
        if not self.stack:
            out.append("{}")
        while self.stack:
            out.append("}" if self.stack.pop()[1] else "]")
        fragment = "".join(out)
        self.text.append(fragment)
        return fragment

    def text_matches(self) -> bool:
        """Whether the text written is the assembled arguments (the usual case)."""
        if not self.ordered:
            return False
        try:
            return bool(json.loads("".join(self.text)) == self.args)
        except ValueError:
            return False

    # -- the assembled object --------------------------------------------------------------
    def _get(self, path: _Path) -> Any:
        node: Any = self.args
        for step in path:
            node = node[step]
        return node

    def _set(self, path: _Path, value: Any) -> None:
        node: Any = self.args
        for i, step in enumerate(path):
            last = i == len(path) - 1
            fresh: Any = value if last else ([] if isinstance(path[i + 1], int) else {})
            if isinstance(step, int):
                if not isinstance(node, list):
                    raise ValueError(f"partialArgs paths disagree: {path!r} indexes an object")
                while len(node) <= step:
                    node.append(None)
                if last or node[step] is None:
                    node[step] = fresh
            else:
                if not isinstance(node, dict):
                    raise ValueError(f"partialArgs paths disagree: {path!r} names a member of an array")
                if last or step not in node:
                    node[step] = fresh
            node = node[step]

    # -- the text --------------------------------------------------------------------------
    def _write(self, path: _Path, value: Any, will_continue: bool, has_value: bool) -> Optional[str]:
        out = []
        if self.open_string is not None:
            if self.open_string == path and (isinstance(value, str) or not has_value):
                if has_value:
                    out.append(_encode_args(value)[1:-1])
                if not will_continue:
                    out.append('"')
                    self.open_string = None
                return "".join(out)
            out.append('"')
            self.open_string = None
        if not has_value:
            return "".join(out)
        if not self.stack:
            out.append("{")
            self.stack.append([(), True, 0])
        keep = 1
        while keep < len(self.stack) and keep < len(path) and self.stack[keep][0] == path[:keep]:
            keep += 1
        while len(self.stack) > keep:
            out.append("}" if self.stack.pop()[1] else "]")
        while True:
            top = self.stack[-1]
            where, is_object, count = top
            step = path[len(where)]
            child = where + (step,)
            if is_object != isinstance(step, str) or child in self.seen or (not is_object and step != count):
                return None  # out of document order: the text cannot follow
            self.seen.add(child)
            if count:
                out.append(",")
            if is_object:
                out.append(_encode_args(step) + ":")
            top[2] = count + 1
            if len(child) == len(path):
                if isinstance(value, str) and will_continue:
                    out.append(_encode_args(value)[:-1])
                    self.open_string = path
                else:
                    out.append(_encode_args(value))
                return "".join(out)
            opens_object = isinstance(path[len(child)], str)
            out.append("{" if opens_object else "[")
            self.stack.append([child, opens_object, 0])


class _ObjectSplitter:
    """The top-level JSON objects of a byte stream, as bytes, under any chunking: the elements of
    the JSON array ``streamGenerateContent`` sends without ``alt=sse`` (``[{...},\\r\\n{...}]``).
    Brackets, commas and whitespace between objects are skipped; anything else there comes out
    as a unit of its own (which then fails to decode, as it should)."""

    __slots__ = ("_buf", "_depth", "_string", "_escape", "_junk")

    _STRUCTURE = re.compile(rb'["\\{}]')
    _BETWEEN = b" \t\r\n[],"

    def __init__(self) -> None:
        self._buf = bytearray()  # the object being read
        self._depth = 0
        self._string = False
        self._escape = False  # a backslash ended the previous chunk inside a string
        self._junk = bytearray()

    def feed(self, chunk: bytes) -> List[bytes]:
        out: List[bytes] = []
        n = len(chunk)
        i = 0
        start = 0  # where the current object's bytes begin in this chunk
        if self._escape and n:
            self._escape = False
            i = 1
        depth, string = self._depth, self._string
        while i < n:
            if depth == 0:
                j = chunk.find(b"{", i)
                between = chunk[i:] if j < 0 else chunk[i:j]
                if between.translate(None, self._BETWEEN):
                    self._junk += between
                if j < 0:
                    break
                if self._junk:
                    out.append(bytes(self._junk))
                    self._junk = bytearray()
                depth, start, i = 1, j, j + 1
                continue
            m = self._STRUCTURE.search(chunk, i)
            if m is None:
                break
            c = chunk[m.start()]
            i = m.end()
            if string:
                if c == 0x5C:  # backslash: the next byte is escaped
                    if i < n:
                        i += 1
                    else:
                        self._escape = True
                elif c == 0x22:
                    string = False
            elif c == 0x22:
                string = True
            elif c == 0x7B:
                depth += 1
            elif c == 0x7D:
                depth -= 1
                if depth == 0:
                    if self._buf:
                        self._buf += chunk[start:i]
                        out.append(bytes(self._buf))
                        self._buf = bytearray()
                    else:
                        out.append(chunk[start:i])
        if depth:
            self._buf += chunk[start:]
        self._depth, self._string = depth, string
        return out

    def flush(self) -> List[bytes]:
        """What is left at end of input: an unfinished object or stray bytes (both undecodable)."""
        rest = bytes(self._buf) or bytes(self._junk)
        self._buf, self._junk, self._depth, self._string, self._escape = bytearray(), bytearray(), 0, False, False
        return [rest] if rest.strip() else []


_BOM = b"\xef\xbb\xbf"
_TAIL = 8192  # bytes of an SSE stream kept to find an error body sent without SSE framing


class GeminiStream(StreamDecoderBase):
    """``streamGenerateContent`` replies (docs/wire.md §5 Streaming) -> unified events: SSE
    events (``alt=sse``), or the elements of a JSON array; the first byte tells which."""

    def __init__(self, codec: Codec, acc: Accumulator) -> None:
        super().__init__(codec, acc)
        self.reply = _Reply(acc)
        self._mode: Optional[str] = None  # "sse" or "json", decided by the first byte
        self._head = b""
        from .._sse import SSEDecoder, SSEEvent

        self._sse = SSEDecoder()
        self._sse_event = SSEEvent  # the class handle() tells units by (its module loads with the stream)
        self._split = _ObjectSplitter()
        self._tail: List[bytes] = []  # the last reads (at least _TAIL bytes of them), joined at the end
        self._tail_size = 0

    def units(self, chunk: bytes) -> List[Any]:
        if self._mode is None:
            head = self._head + chunk
            probe = head.lstrip()
            if probe.startswith(_BOM):
                probe = probe[3:].lstrip()
            if not probe or _BOM.startswith(probe):
                self._head = head
                return []
            self._head = b""
            self._mode = "json" if probe[:1] in (b"[", b"{") else "sse"
            chunk = probe if self._mode == "json" else head
        if self._mode == "json":
            return self._split.feed(chunk)
        tail = self._tail
        tail.append(chunk)
        self._tail_size += len(chunk)
        while self._tail_size - len(tail[0]) >= _TAIL:
            self._tail_size -= len(tail.pop(0))
        return self._sse.feed(chunk)

    def flush_units(self) -> List[Any]:
        if self._mode == "json":
            return self._split.flush()
        if self._mode == "sse":
            return self._sse.flush()
        return []

    def handle(self, unit: Any, out: List[StreamEvent]) -> None:
        text = unit.data if unit.__class__ is self._sse_event else body_text(unit)
        try:
            obj = loads(text)
        except ValueError:
            raise self.broken(f"an event is not valid JSON: {text[:200]!r}", body=text) from None
        acc = self.acc
        acc.raw.append(obj)
        if obj.__class__ is not dict:
            raise self.broken(f"an event is not a JSON object: {text[:200]!r}", body=text)
        if obj.get("error"):
            self.reply.sync_usage()
            raise self.codec.stream_error(obj, acc, acc.headers)
        self.reply.event(obj, out)

    def response(self) -> Response:
        self.reply.sync_usage()
        return super().response()

    def broken(self, why: str, body: Optional[str] = None) -> StreamError:
        self.reply.sync_usage()
        return super().broken(why, body)

    def on_eof(self, out: List[StreamEvent]) -> None:
        # No end marker: the end of the connection after a finishReason is the end of the reply.
        if self.reply.done:
            self.reply.complete(out)
            return
        error = self._unframed_error()
        if error is not None:
            self.reply.sync_usage()
            raise self.codec.stream_error(error, self.acc, self.acc.headers)
        raise self.broken("the connection closed before an event with a finishReason")

    def _unframed_error(self) -> Optional[Dict[str, Any]]:
        """A Google error body in the stream without SSE framing (python-genai looks for one too;
        docs/wire.md §5 Streaming): the SSE parser skips its lines, so look in the last bytes."""
        tail = b"".join(self._tail)[-_TAIL:]
        if self._mode != "sse" or b'"error"' not in tail:
            return None
        text = tail.decode("utf-8", "replace")
        decoder = json.JSONDecoder()
        for tries, m in enumerate(re.finditer(r"\{", text)):
            if tries >= 64:
                break
            try:
                obj, _ = decoder.raw_decode(text, m.start())
            except ValueError:
                continue
            if isinstance(obj, dict) and isinstance(obj.get("error"), dict):
                return obj
        return None


#: the providers this codec serves; the registry collects them
PROVIDERS = [
    ProviderInfo("gemini", GeminiCodec, "https://generativelanguage.googleapis.com",
                 ("GEMINI_API_KEY", "GOOGLE_API_KEY"), "GEMINI_BASE_URL", True, "Google Gemini API (AI Studio key)",
                 auth=Auth.header("x-goog-api-key"), token_family="default",
                 details={"file_uri_prefixes": ("https://generativelanguage.googleapis.com/",), "batch": True}),
]
