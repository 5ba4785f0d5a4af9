"""Google Gemini: the Generative Language API (AI Studio key). docs/wire.md §5.

Routes (``/v1beta/`` or ``/v1/``; the model is in the path):

* ``POST /v1beta/models/{model}:generateContent``: one ``GenerateContentResponse``.
* ``POST /v1beta/models/{model}:streamGenerateContent``: with ``?alt=sse`` SSE events
  ``data: {...}\\r\\n\\r\\n`` (CRLF, no ``event:`` lines, no ``[DONE]``: the stream ends when the
  connection does); without it (or with ``alt=json``) the real API's progressive JSON array
  ``[{...}\\r\\n,\\r\\n{...}\\r\\n]`` (``application/json``; the separators follow third-party
  parsers of the real stream, unverified). The query decides, like on the real API; ``$alt``
  (the gapic spelling) counts too.
* ``GET /v1beta/models``: ``{"models": [...], "nextPageToken"}`` with ``pageSize`` /
  ``pageToken`` paging. ``GET /v1/models`` is shared with OpenAI and Anthropic: Gemini answers it
  when the request carries ``x-goog-api-key`` (or ``x-goog-api-client``); with only ``?key=`` the
  OpenAI dialect does.

``url_for("gemini")`` (alias ``google``) is the bare base URL: clients append ``/v1beta``.
Unknown paths under ``/v1beta/`` (and Gemini-style ``/v1/models/...:action`` paths) get the
Google 404 shape.

Auth: ``x-goog-api-key`` header or ``?key=`` query (any non-empty value). Without one the real
403 ``PERMISSION_DENIED`` (recorded message); an ``Authorization: Bearer`` that is not a Google
OAuth token (``ya29.``) gets the real 401 ``UNAUTHENTICATED``.

Errors: ``{"error": {"code", "message", "status", "details"?}}`` pretty-printed like the real
service. A 429 carries a ``google.rpc.QuotaFailure`` detail; any error reply with a
``retry-after`` or ``retry-after-ms`` header also carries ``google.rpc.RetryInfo`` with
``retryDelay: "<seconds>s"`` (the header is sent too). ``Reply.error_type`` overrides the
``status`` string (``RESOURCE_EXHAUSTED``, ``UNAVAILABLE``, ...). Contract violations are 400
``INVALID_ARGUMENT``; those about a malformed field carry a ``google.rpc.BadRequest``
``fieldViolations`` detail. Messages imitate the real ones where known (``Invalid JSON payload
received. Unknown name ...``, ``* GenerateContentRequest.contents: contents is not specified``,
``Please use a valid role: user, model.``, the function call/response turn rules, the Gemini 3
``Function call is missing a thought_signature ...``), otherwise they say plainly what is wrong.

Rendering a :class:`Reply`:

* parts in order: thinking as ``{"text": ..., "thought": true}``, the text, then one
  ``functionCall {name, args}`` part per tool call, with an ``id`` only when the
  :class:`ToolCallSpec` gives one (AI Studio sends none). The real API sends thought summaries
  only with ``thinkingConfig.includeThoughts: true``; the emulator, like its other dialects,
  sends ``Reply.thinking`` unless the request says ``includeThoughts: false`` (the thought
  tokens are counted either way).
* ``thoughtSignature``: only when the reply has ``thinking`` or ``thinking_signature`` (the value
  is ``thinking_signature`` or a deterministic opaque one). It rides the first ``functionCall``
  part, as Gemini 3 does for parallel calls; without calls it rides the first answer part (a
  stream ends with a signature-only part ``{"text": "", "thoughtSignature": ...}``, as recorded).
* ``finishReason``: ``STOP`` (also for tool calls, with ``finishMessage: "Model generated
  function call(s)."``), ``MAX_TOKENS``, ``SAFETY`` for ``content_filter``, ``OTHER``,
  ``MALFORMED_FUNCTION_CALL`` for ``error``; other strings verbatim (``RECITATION``, ...).
* ``usageMetadata``: ``promptTokenCount`` (= unified input, cached included),
  ``candidatesTokenCount`` + ``thoughtsTokenCount`` (= unified output), ``totalTokenCount``,
  ``cachedContentTokenCount`` for ``cache_read``, ``promptTokensDetails``. Thoughts are
  ``reasoning_tokens``, or estimated from ``thinking``. Zero counts are left out (proto3 JSON).
* ``Reply(prompt_blocked=True | "REASON")``: no ``candidates``, ``promptFeedback.blockReason``
  (``SAFETY`` for ``True``) and the prompt's usage.
* streams: one event per thought piece, per text piece and per function call, each a complete
  response holding only the new parts, ``usageMetadata`` cumulative on every event; the last
  event has ``finishReason``. ``stream_error`` sends, after the text, a Google error object
  (``{"error": {"code": 500, "message", "status": "INTERNAL"}}``; ``error_type`` picks another
  status) as an SSE event or array element, then ends the stream (closing the array). Real
  in-stream errors are not recorded (docs/wire.md §5 Streaming, §9): this shape is a choice.

Thought signatures are checked like Gemini 3 does: the emulator remembers, per ``host:port``,
each ``functionCall`` it signed (name, arguments, id). A later request whose current turn (the
model turns after the last user turn that is not only ``functionResponse`` parts) replays one
of those calls without a ``thoughtSignature`` on its part gets the real 400 "Function call is
missing a thought_signature in functionCall parts ...". Any non-empty signature is accepted.
A call is only remembered for requests that came after the one it answered, and a host's
memory is cleared when an emulator's first request (``req_1``) is a chat request, so emulators
reusing a port do not see each other's calls.
"""
import base64
import binascii
import json
import re
import threading
from collections import OrderedDict
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

from .._contract import Violation, is_int
from .._render import (
    Context,
    estimate_tokens,
    short_hash,
    split_words,
    text_pieces,
    thinking_signature,
    tool_arguments_json,
    tool_arguments_object,
)
from .._choices import choice_count, choice_replies
from .._reply import Reply
from .._request import RecordedRequest
from ._base import Answer, Dialect, Route

_V1 = "type.googleapis.com/google.ai.generativelanguage.v1beta."
_RPC = "type.googleapis.com/google.rpc."

_FINISH = {"stop": "STOP", "length": "MAX_TOKENS", "tool_calls": "STOP",
           "content_filter": "SAFETY", "error": "MALFORMED_FUNCTION_CALL", "other": "OTHER"}

_STATUS_CODES = {
    "INVALID_ARGUMENT": 400, "FAILED_PRECONDITION": 400, "OUT_OF_RANGE": 400,
    "UNAUTHENTICATED": 401, "PERMISSION_DENIED": 403, "NOT_FOUND": 404, "ABORTED": 409,
    "ALREADY_EXISTS": 409, "RESOURCE_EXHAUSTED": 429, "CANCELLED": 499, "INTERNAL": 500,
    "UNKNOWN": 500, "DATA_LOSS": 500, "NOT_IMPLEMENTED": 501, "UNIMPLEMENTED": 501,
    "UNAVAILABLE": 503, "DEADLINE_EXCEEDED": 504,
}

_MISSING_KEY = ("Method doesn't allow unregistered callers (callers without established "
                "identity). Please use API Key or other form of API consumer identity to call "
                "this API.")
_BAD_CREDENTIALS = ("Request had invalid authentication credentials. Expected OAuth 2 access "
                    "token, login cookie or other valid authentication credential. See "
                    "https://developers.google.com/identity/sign-in/web/devconsole-project.")
_FUNCTION_CALL_DONE = "Model generated function call(s)."
_SIGNATURE_MEMORY = 4096


class Gemini(Dialect):
    name = "gemini"
    aliases = ("google",)
    base_path = ""
    routes = (
        Route("POST", re.compile(r"/(?P<version>v1beta|v1)/models/(?P<model>[^/:]+)"
                                 r":(?P<action>generateContent|streamGenerateContent)"), "chat"),
        Route("GET", re.compile(r"/(?P<version>v1beta|v1)/models"), "models"),
        Route("POST", re.compile(r"/(?P<version>v1beta|v1)/models/(?P<model>[^/:]+)"
                                 r":(?P<action>embedContent|batchEmbedContents)"), "embed"),
        Route("POST", re.compile(r"/(?P<version>v1beta|v1)/models/(?P<model>[^/:]+):countTokens"), "count_tokens"),
        # Batch Mode (inline requests): llmunified/testing/_batches.py
        Route("POST", re.compile(r"/(?P<version>v1beta|v1)/models/(?P<model>[^/:]+):batchGenerateContent"),
              "batch_create"),
        Route("GET", re.compile(r"/(?P<version>v1beta|v1)/batches"), "batch_list"),
        Route("GET", re.compile(r"/(?P<version>v1beta|v1)/batches/(?P<batch_id>[^/:]+)"), "batch_get"),
        Route("POST", re.compile(r"/(?P<version>v1beta|v1)/batches/(?P<batch_id>[^/:]+):cancel"), "batch_cancel"),
        # the Files API's resumable upload and the download of a batch's responses file
        Route("POST", re.compile(r"/upload/(?P<version>v1beta|v1)/files"), "batch_file_upload"),
        Route("GET", re.compile(r"/download/(?P<version>v1beta|v1)/files/(?P<file_id>[^/:]+):download"),
              "batch_file_content"),
    )

    def count_tokens(self, request: RecordedRequest) -> Answer:
        from .. import _counting

        return _counting.gemini(self, request)

    def embeddings(self, request: RecordedRequest) -> Answer:
        from .. import _embeddings

        return _embeddings.gemini(self, request)
    path_prefixes = ("/v1beta/",)
    default_models = ("gemini-2.5-flash", "gemini-2.5-pro", "gemini-2.0-flash",
                      "gemini-3-pro-preview")
    json_content_type = "application/json; charset=UTF-8"
    # docs/wire.md §5 Errors.
    error_types = {
        400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
        404: "NOT_FOUND", 409: "ABORTED", 429: "RESOURCE_EXHAUSTED", 499: "CANCELLED",
        500: "INTERNAL", 501: "NOT_IMPLEMENTED", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED",
        529: "UNAVAILABLE",
    }
    client_error_type = "INVALID_ARGUMENT"
    server_error_type = "INTERNAL"
    error_messages = {
        400: "Request contains an invalid argument.",
        401: _BAD_CREDENTIALS,
        403: "The caller does not have permission",
        404: "Requested entity was not found.",
        429: "Resource has been exhausted (e.g. check quota).",
        500: "An internal error has occurred. Please retry or report in "
             "https://developers.generativeai.google/guide/troubleshooting",
        503: "The model is overloaded. Please try again later.",
        504: "Deadline expired before operation could complete.",
    }
    fallback_error_message = "Unknown error."

    def __init__(self) -> None:
        # The request being answered on this handler thread (set before a reply is taken), so
        # the content type of a stream and the RetryInfo of an error can depend on it.
        self._local = threading.local()
        self._lock = threading.Lock()
        # (host, name, canonical args) -> (signature, call id, seq of the request answered)
        self._signed: "OrderedDict[Tuple[str, str, str], Tuple[str, Optional[str], int]]" = \
            OrderedDict()

    # ---- routing -------------------------------------------------------------------------
    def claims(self, headers: Mapping[str, str]) -> bool:
        return "x-goog-api-key" in headers or "x-goog-api-client" in headers

    def owns_path(self, path: str) -> bool:
        return super().owns_path(path) or (path.startswith("/v1/models/") and ":" in path)

    # ---- requests ------------------------------------------------------------------------
    def is_stream(self, body: Any, request: RecordedRequest) -> bool:
        return request.params.get("action") == "streamGenerateContent"

    def check(self, request: RecordedRequest, json_error: Optional[str],
              require_auth: bool) -> List[Violation]:
        if require_auth:
            out = _check_auth(request)
            if out:
                return out
        if request.endpoint == "chat":
            return check_generate(request.json, json_error)
        return []

    def last_user_text(self, body: Any) -> str:
        contents = body.get("contents") if isinstance(body, dict) else None
        for content in reversed(contents if isinstance(contents, list) else []):
            if isinstance(content, dict) and content.get("role", "user") in ("user", "", None):
                return _parts_text(content.get("parts"))
        return ""

    @property
    def stream_content_type(self) -> str:  # type: ignore[override]
        """``text/event-stream`` for ``alt=sse``, else the JSON array's content type."""
        request = getattr(self._local, "request", None)
        if request is not None and not _wants_sse(request):
            return self.json_content_type
        return "text/event-stream"

    # ---- headers and errors --------------------------------------------------------------
    def base_headers(self, request_id: str) -> Dict[str, str]:
        return {"Vary": "Origin, X-Origin, Referer", "Server-Timing": "gfet4t7; dur=1"}

    def error_object(self, status: int, message: Optional[str],
                     type_: Optional[str] = None) -> Dict[str, Any]:
        return {"code": status, "message": self.error_message(status, message),
                "status": self.error_type(status, type_)}

    def error_body(self, status: int, message: Optional[str], type_: Optional[str] = None,
                   code: Optional[str] = None, param: Optional[str] = None,
                   request_id: str = "") -> bytes:
        error = self.error_object(status, message, type_)
        details: List[Dict[str, Any]] = []
        if param:
            details.append({"@type": _RPC + "BadRequest", "fieldViolations": [
                {"field": param, "description": error["message"]}]})
        if status == 429:
            details.append({"@type": _RPC + "QuotaFailure", "violations": [
                {"quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier"}]})
        delay = self._retry_delay(request_id)
        if delay is not None:
            details.append({"@type": _RPC + "RetryInfo", "retryDelay": delay})
        if details:
            error["details"] = details
        return _pretty({"error": error})

    def not_found(self, request: RecordedRequest, request_id: str) -> Answer:
        return Answer(404, self.error_body(404, "Method not found."), self.json_content_type)

    def _retry_delay(self, request_id: str) -> Optional[str]:
        """``retryDelay`` from the ``retry-after(-ms)`` header of the reply being answered."""
        request = self._current(request_id)
        reply = request.reply if request is not None else None
        if reply is None:
            return None
        headers = {k.lower(): v for k, v in reply.headers.items()}
        seconds: Optional[float] = None
        try:
            if "retry-after-ms" in headers:
                seconds = float(headers["retry-after-ms"]) / 1000.0
            elif "retry-after" in headers:
                seconds = float(headers["retry-after"])
        except ValueError:
            return None
        if seconds is None or seconds < 0:
            return None
        return ("%.3f" % seconds).rstrip("0").rstrip(".") + "s"

    # ---- answers -------------------------------------------------------------------------
    def serve(self, endpoint: str, request: RecordedRequest, models: Sequence[str]) -> Answer:
        if endpoint != "models":
            return super().serve(endpoint, request, models)
        query = request.query_params
        size_text = query.get("pageSize") or query.get("page_size") or ""
        token = query.get("pageToken") or query.get("page_token") or ""
        size = int(size_text) if size_text.isdigit() and int(size_text) > 0 else 50
        size = min(size, 1000)
        start = _page_offset(token)
        if start is None:
            return Answer(400, self.error_body(400, "Invalid page token.", param="page_token"),
                          self.json_content_type)
        page = list(models)[start:start + size]
        body: Dict[str, Any] = {"models": [_model_entry(m) for m in page]}
        if start + size < len(models):
            body["nextPageToken"] = _page_token(start + size)
        return Answer(200, _pretty(body), self.json_content_type)

    def models_body(self, models: Sequence[str]) -> Dict[str, Any]:
        return {"models": [_model_entry(m) for m in models]}

    def answer_without_reply(self, request: RecordedRequest, ctx: Context) -> Optional[Answer]:
        self._local.request = request
        self._local.request_id = ctx.request_id
        host = request.headers.get("host", "")
        with self._lock:
            if ctx.seq == 1:  # a new emulator on this port: forget what another one signed
                for key in [k for k in self._signed if k[0] == host]:
                    del self._signed[key]
            missing = _missing_signature(ctx.body, lambda name, args, call_id: self._was_signed(
                host, name, args, call_id, ctx.seq))
        if missing is None:
            return None
        request.violations.append(missing.message)
        return Answer(400, self.error_body(400, missing.message, missing.type),
                      self.json_content_type)

    def render(self, reply: Reply, ctx: Context) -> Dict[str, Any]:
        """The non-streaming ``GenerateContentResponse`` (``candidateCount`` > 1: one candidate
        per answer, ``usageMetadata`` counting them all)."""
        n = _candidate_count(ctx.body)
        if n > 1 and not reply.prompt_blocked:
            bodies = [self._render_one(r, ctx) for r in choice_replies(reply, n)]
            return _merged(bodies)
        return self._render_one(reply, ctx)

    def _render_one(self, reply: Reply, ctx: Context) -> Dict[str, Any]:
        plan = _Plan(reply, ctx)
        self._remember(plan, ctx)
        if plan.blocked is not None:
            return plan.response(None, plan.usage(plan.output_units))
        parts: List[Dict[str, Any]] = []
        if plan.show_thoughts:
            parts.append({"text": reply.thinking, "thought": True})
        if reply.full_text:
            parts.append({"text": reply.full_text})
        parts.extend(plan.call_parts())
        if plan.signature is not None and not plan.calls:
            answer = [p for p in parts if not p.get("thought")]
            if answer:
                answer[0]["thoughtSignature"] = plan.signature
            elif parts:
                parts[-1]["thoughtSignature"] = plan.signature
            # no parts at all (thinking used the budget): nothing carries a signature
        return plan.response(plan.candidate(parts, final=True), plan.usage(plan.output_units))

    def events(self, reply: Reply, ctx: Context) -> Iterator[bytes]:
        """The framed events of a stream: SSE with ``alt=sse``, else a JSON array."""
        request = getattr(self._local, "request", None)
        if request is not None and getattr(self._local, "request_id", None) == ctx.request_id \
                and not _wants_sse(request):
            return _array_frames(self._responses(reply, ctx))
        return (b"data: " + _sse_json(obj) + b"\r\n\r\n" for obj in self._responses(reply, ctx))

    def _responses(self, reply: Reply, ctx: Context) -> Iterator[Dict[str, Any]]:
        """Each streamed ``GenerateContentResponse`` (or the in-stream error object). With
        ``candidateCount`` > 1 each event carries the next piece of every answer still going."""
        n = _candidate_count(ctx.body)
        if n > 1 and not reply.prompt_blocked and reply.stream_error is None:
            streams = [list(self._responses_one(r, ctx)) for r in choice_replies(reply, n)]
            for step in range(max(len(events) for events in streams)):
                yield _merged([events[min(step, len(events) - 1)] for events in streams],
                              [step < len(events) for events in streams])
            return
        for obj in self._responses_one(reply, ctx):
            yield obj

    def _responses_one(self, reply: Reply, ctx: Context) -> Iterator[Dict[str, Any]]:
        plan = _Plan(reply, ctx)
        self._remember(plan, ctx)
        if plan.blocked is not None:
            yield plan.response(None, plan.usage(plan.output_units))
            return
        thought_pieces = split_words(reply.thinking or "") if plan.show_thoughts else []
        text = list(text_pieces(reply))
        calls = plan.call_parts()
        tail_signature = plan.signature is not None and not calls \
            and bool(text or thought_pieces)
        outputs = len(text) + len(calls) + (1 if tail_signature else 0)
        if reply.stream_error is not None:
            outputs = len(text)
        for n, piece in enumerate(thought_pieces, 1):
            parts = [{"text": piece, "thought": True}]
            yield plan.response(plan.candidate(parts), plan.usage(0, n, len(thought_pieces)))
        done = 0
        pending: List[List[Dict[str, Any]]] = [[{"text": piece}] for piece in text]
        if reply.stream_error is not None:
            for parts in pending:
                done += 1
                yield plan.response(plan.candidate(parts), plan.usage(done * plan.output_units
                                                                      // max(outputs, 1)))
            status = (reply.error_type or "INTERNAL").upper()
            yield {"error": self.error_object(_STATUS_CODES.get(status, 500), reply.stream_error,
                                              status)}
            return
        pending.extend([call] for call in calls)
        if tail_signature:
            pending.append([{"text": "", "thoughtSignature": plan.signature}])
        if not pending:
            yield plan.response(plan.candidate([], final=True), plan.usage(plan.output_units))
            return
        for parts in pending:
            done += 1
            final = done == len(pending)
            yield plan.response(plan.candidate(parts, final=final),
                                plan.usage(done * plan.output_units // outputs))

    # ---- thought signatures --------------------------------------------------------------
    def _current(self, request_id: str) -> Optional[RecordedRequest]:
        if request_id and getattr(self._local, "request_id", None) == request_id:
            return getattr(self._local, "request", None)
        return None

    def _remember(self, plan: "_Plan", ctx: Context) -> None:
        """Note the function call this answer signs, for the echo check of later requests."""
        request = self._current(ctx.request_id)
        if request is None or plan.signature is None or not plan.calls:
            return
        call = plan.calls[0]["functionCall"]
        key = (request.headers.get("host", ""), call["name"], _canonical(call["args"]))
        with self._lock:
            self._signed[key] = (plan.signature, call.get("id"), ctx.seq)
            self._signed.move_to_end(key)
            while len(self._signed) > _SIGNATURE_MEMORY:
                self._signed.popitem(last=False)

    def _was_signed(self, host: str, name: str, args: Any, call_id: Optional[str],
                    seq: int) -> bool:
        entry = self._signed.get((host, name, _canonical(args)))
        if entry is None or entry[2] >= seq:
            return False
        return entry[1] is None or entry[1] == call_id


# ---- rendering helpers -------------------------------------------------------------------------

class _Plan:
    """What one reply renders to, shared by the whole answer and the stream."""

    def __init__(self, reply: Reply, ctx: Context) -> None:
        self.reply = reply
        self.ctx = ctx
        body = ctx.body
        self.model = reply.model or ctx.params.get("model") or _body_model(body)
        self.response_id = reply.id or short_hash("gemini-response", ctx.seq, length=23)
        config = _get(body, "generationConfig")
        thinking_config = _get(config, "thinkingConfig") if isinstance(config, dict) else None
        include = _get(thinking_config, "includeThoughts") \
            if isinstance(thinking_config, dict) else None
        self.show_thoughts = reply.thinking is not None and bool(reply.thinking) \
            and include is not False
        blocked = reply.prompt_blocked
        self.blocked: Optional[str] = (blocked if isinstance(blocked, str) and blocked
                                       else "SAFETY" if blocked else None)
        self.signature: Optional[str] = None
        if reply.thinking_signature is not None or reply.thinking is not None:
            self.signature = reply.thinking_signature if reply.thinking_signature is not None \
                else thinking_signature(reply.thinking or "")
        self.calls: List[Dict[str, Any]] = []
        for call in reply.tool_calls:
            args = tool_arguments_object(call.arguments)
            fc: Dict[str, Any] = {"name": call.name, "args": args if isinstance(args, dict) else {}}
            if call.id:
                fc["id"] = call.id
            self.calls.append({"functionCall": fc})
        if self.calls and self.signature is not None:
            self.calls[0]["thoughtSignature"] = self.signature
        # usage, unified: output = candidates + thoughts
        thoughts = reply.reasoning_tokens
        if not thoughts and reply.thinking:
            thoughts = estimate_tokens(len(reply.thinking))
        if reply.usage is not None:
            self.input, output = reply.usage
            thoughts = min(thoughts, output)
        else:
            self.input = (estimate_tokens(_prompt_chars(body)) + reply.cache_read
                          + reply.cache_write)
            chars = len(reply.full_text)
            for call in reply.tool_calls:
                chars += len(call.name) + len(tool_arguments_json(call.arguments))
            output = thoughts + (estimate_tokens(chars) if chars else 0)
        if self.blocked is not None:
            output = thoughts = 0
        self.thoughts = max(0, thoughts)
        self.output_units = output - self.thoughts

    def call_parts(self) -> List[Dict[str, Any]]:
        return [dict(part) for part in self.calls]

    def finish_reason(self) -> str:
        unified = self.reply.unified_finish_reason()
        return _FINISH.get(unified, unified)

    def candidate(self, parts: List[Dict[str, Any]], final: bool = False) -> Dict[str, Any]:
        content: Dict[str, Any] = {"parts": parts, "role": "model"} if parts else {"role": "model"}
        out: Dict[str, Any] = {"content": content}
        if final:
            out["finishReason"] = self.finish_reason()
        out["index"] = 0
        if final and self.calls and out["finishReason"] == "STOP":
            out["finishMessage"] = _FUNCTION_CALL_DONE
        return out

    def usage(self, candidates: int, thought_step: Optional[int] = None,
              thought_steps: int = 1) -> Dict[str, Any]:
        """Cumulative ``usageMetadata`` with ``candidates`` output tokens so far (thoughts all
        counted unless ``thought_step`` of ``thought_steps`` says how far they have come)."""
        thoughts = self.thoughts if thought_step is None \
            else self.thoughts * thought_step // max(thought_steps, 1)
        inp, cached = self.input, self.reply.cache_read
        usage: Dict[str, Any] = {}
        if inp:
            usage["promptTokenCount"] = inp
        if candidates:
            usage["candidatesTokenCount"] = candidates
        if inp + candidates + thoughts:
            usage["totalTokenCount"] = inp + candidates + thoughts
        if cached:
            usage["cachedContentTokenCount"] = cached
        if inp:
            usage["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": inp}]
        if cached:
            usage["cacheTokensDetails"] = [{"modality": "TEXT", "tokenCount": cached}]
        if thoughts:
            usage["thoughtsTokenCount"] = thoughts
        return usage

    def response(self, candidate: Optional[Dict[str, Any]],
                 usage: Dict[str, Any]) -> Dict[str, Any]:
        out: Dict[str, Any] = {}
        if candidate is not None:
            out["candidates"] = [candidate]
        else:
            feedback: Dict[str, Any] = {"blockReason": self.blocked}
            if self.blocked == "SAFETY":
                feedback["safetyRatings"] = [
                    {"category": "HARM_CATEGORY_SEXUALLY_EXPLICIT", "probability": "NEGLIGIBLE"},
                    {"category": "HARM_CATEGORY_HATE_SPEECH", "probability": "NEGLIGIBLE"},
                    {"category": "HARM_CATEGORY_HARASSMENT", "probability": "NEGLIGIBLE"},
                    {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH",
                     "blocked": True},
                ]
            out["promptFeedback"] = feedback
        out["usageMetadata"] = usage
        out["modelVersion"] = self.model
        out["responseId"] = self.response_id
        return out


def _candidate_count(body: Any) -> int:
    config = _get(body, "generationConfig")
    return choice_count(_get(config, "candidateCount") if isinstance(config, dict) else None)


def _merged(bodies: List[Dict[str, Any]], live: Optional[List[bool]] = None) -> Dict[str, Any]:
    """One response holding answer ``i``'s candidate (of ``bodies[i]``) as candidate ``i``
    (only the ``live`` ones: a stream's answers end at different events), its usage the sum."""
    out = dict(bodies[0])
    out["candidates"] = [dict(b["candidates"][0], index=i) for i, b in enumerate(bodies)
                         if "candidates" in b and (live is None or live[i])]
    usage = dict(bodies[0].get("usageMetadata") or {})
    more = sum(int((b.get("usageMetadata") or {}).get("candidatesTokenCount", 0)) for b in bodies[1:])
    if more:
        usage["candidatesTokenCount"] = usage.get("candidatesTokenCount", 0) + more
        usage["totalTokenCount"] = usage.get("totalTokenCount", 0) + more
    out["usageMetadata"] = usage
    return out


def _pretty(obj: Any) -> bytes:
    """JSON laid out like Google's API frontends (two-space indent, final newline)."""
    return (json.dumps(obj, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _sse_json(obj: Any) -> bytes:
    """One line of JSON as in the recorded SSE events (``": "`` after keys, ``,`` alone)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ": ")).encode("utf-8")


def _array_frames(objects: Iterator[Dict[str, Any]]) -> Iterator[bytes]:
    """The progressive JSON array of a stream without ``alt=sse``:
    ``[{...}\\r\\n,\\r\\n{...}\\r\\n]``."""
    first = True
    for obj in objects:
        body = json.dumps(obj, ensure_ascii=False, indent=2).encode("utf-8")
        yield (b"[" if first else b"\r\n,\r\n") + body
        first = False
    yield b"[]" if first else b"\r\n]"


def _wants_sse(request: RecordedRequest) -> bool:
    query = request.query_params
    alt = query.get("alt", query.get("$alt", ""))
    return alt.lower().startswith("sse")


def _body_model(body: Mapping[str, Any]) -> str:
    model = body.get("model")
    if isinstance(model, str) and model:
        return model[len("models/"):] if model.startswith("models/") else model
    return "emulator-model"


def _canonical(args: Any) -> str:
    return json.dumps(args if args is not None else {}, sort_keys=True, ensure_ascii=False)


def _parts_text(parts: Any) -> str:
    """The text of a turn's parts; a function response counts as its JSON."""
    out = []
    for part in parts if isinstance(parts, list) else []:
        if not isinstance(part, dict) or part.get("thought"):
            continue
        if isinstance(part.get("text"), str):
            out.append(part["text"])
        response = _get(part, "functionResponse")
        if isinstance(response, dict) and "response" in response:
            out.append(json.dumps(response["response"], ensure_ascii=False))
    return "".join(out)


def _prompt_chars(body: Mapping[str, Any]) -> int:
    """Characters of prompt in a request (text, function calls and responses)."""
    total = 0
    system = _get(body, "systemInstruction")
    contents = list(body.get("contents") or []) if isinstance(body.get("contents"), list) else []
    for content in ([system] if isinstance(system, dict) else []) + contents:
        parts = content.get("parts") if isinstance(content, dict) else None
        for part in parts if isinstance(parts, list) else []:
            if not isinstance(part, dict):
                continue
            if isinstance(part.get("text"), str):
                total += len(part["text"])
            for key in ("functionCall", "functionResponse"):
                value = _get(part, key)
                if isinstance(value, dict):
                    total += len(json.dumps(value, ensure_ascii=False))
    return total


def _model_entry(model: str) -> Dict[str, Any]:
    """One ``models.list`` entry, shaped like the real listing."""
    display = " ".join(w.upper() if w in ("tts",) else w.capitalize()
                       for w in model.replace("-", " ").split())
    if "embedding" in model:
        return {"name": "models/" + model, "version": "001", "displayName": display,
                "description": "Obtain a distributed representation of a text.",
                "inputTokenLimit": 2048, "outputTokenLimit": 1,
                "supportedGenerationMethods": ["embedContent", "countTextTokens", "countTokens",
                                               "asyncBatchEmbedContent"]}
    return {"name": "models/" + model, "version": "001", "displayName": display,
            "description": "Emulated %s." % display,
            "inputTokenLimit": 1048576, "outputTokenLimit": 65536,
            "supportedGenerationMethods": ["generateContent", "countTokens",
                                           "createCachedContent", "batchGenerateContent"],
            "temperature": 1, "topP": 0.95, "topK": 64, "maxTemperature": 2, "thinking": True}


def _page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(b"emu-page:%d" % offset).decode("ascii").rstrip("=")


def _page_offset(token: str) -> Optional[int]:
    if not token:
        return 0
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
    except (ValueError, binascii.Error):
        return None
    prefix, _, number = raw.partition(":")
    return int(number) if prefix == "emu-page" and number.isdigit() else None


# ---- contract checks -----------------------------------------------------------------------------

def _snake(name: str) -> str:
    return re.sub(r"[A-Z]", lambda m: "_" + m.group(0).lower(), name)


def _get(obj: Any, camel: str) -> Any:
    """A field in camelCase or snake_case (proto JSON accepts both)."""
    if not isinstance(obj, dict):
        return None
    if camel in obj:
        return obj[camel]
    return obj.get(_snake(camel))


def _has(obj: Dict[str, Any], camel: str) -> bool:
    return camel in obj or _snake(camel) in obj


def _names(*camel: str) -> frozenset:
    return frozenset(list(camel) + [_snake(c) for c in camel])


_REQUEST_FIELDS = _names("model", "contents", "tools", "toolConfig", "safetySettings",
                         "systemInstruction", "generationConfig", "cachedContent")
_CONTENT_FIELDS = _names("role", "parts")
_DATA_FIELDS = ("text", "inlineData", "fileData", "functionCall", "functionResponse",
                "executableCode", "codeExecutionResult")
_PART_FIELDS = _names(*_DATA_FIELDS, "thought", "thoughtSignature", "videoMetadata",
                      "partMetadata", "mediaResolution")
_GENERATION_FIELDS = _names(
    "stopSequences", "responseMimeType", "responseSchema", "responseJsonSchema",
    "responseModalities", "candidateCount", "maxOutputTokens", "temperature", "topP", "topK",
    "seed", "presencePenalty", "frequencyPenalty", "responseLogprobs", "logprobs",
    "enableEnhancedCivicAnswers", "speechConfig", "thinkingConfig", "imageConfig",
    "mediaResolution", "audioTimestamp", "enableAffectiveDialog")
_THINKING_FIELDS = _names("includeThoughts", "thinkingBudget", "thinkingLevel")
_THINKING_LEVELS = ("THINKING_LEVEL_UNSPECIFIED", "MINIMAL", "LOW", "MEDIUM", "HIGH")
_TOOL_FIELDS = _names("functionDeclarations", "googleSearchRetrieval", "codeExecution",
                      "googleSearch", "urlContext", "computerUse", "fileSearch", "googleMaps",
                      "enterpriseWebSearch", "retrieval", "mcpServers")
_DECLARATION_FIELDS = _names("name", "description", "parameters", "parametersJsonSchema",
                             "response", "responseJsonSchema", "behavior")
_TOOL_CONFIG_FIELDS = _names("functionCallingConfig", "retrievalConfig")
_CALLING_FIELDS = _names("mode", "allowedFunctionNames")
_MODES = ("MODE_UNSPECIFIED", "AUTO", "ANY", "NONE", "VALIDATED")
_SCHEMA_FIELDS = _names(
    "type", "format", "title", "description", "nullable", "enum", "maxItems", "minItems",
    "properties", "required", "minProperties", "maxProperties", "minLength", "maxLength",
    "pattern", "example", "anyOf", "propertyOrdering", "default", "items", "minimum", "maximum",
    "additionalProperties") | {"$defs", "$ref", "defs", "ref"}
_SCHEMA_TYPES = ("TYPE_UNSPECIFIED", "STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT",
                 "NULL")
_MIME_TYPES = ("text/plain", "application/json", "application/xml", "application/yaml",
               "text/x.enum")
_MODALITIES = ("MODALITY_UNSPECIFIED", "TEXT", "IMAGE", "AUDIO")
_FUNCTION_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_.-]{0,63}$")
_HARM_CATEGORIES = (
    "HARM_CATEGORY_UNSPECIFIED", "HARM_CATEGORY_DEROGATORY", "HARM_CATEGORY_TOXICITY",
    "HARM_CATEGORY_VIOLENCE", "HARM_CATEGORY_SEXUAL", "HARM_CATEGORY_MEDICAL",
    "HARM_CATEGORY_DANGEROUS", "HARM_CATEGORY_HARASSMENT", "HARM_CATEGORY_HATE_SPEECH",
    "HARM_CATEGORY_SEXUALLY_EXPLICIT", "HARM_CATEGORY_DANGEROUS_CONTENT",
    "HARM_CATEGORY_CIVIC_INTEGRITY")
_THRESHOLDS = ("HARM_BLOCK_THRESHOLD_UNSPECIFIED", "BLOCK_LOW_AND_ABOVE",
               "BLOCK_MEDIUM_AND_ABOVE", "BLOCK_ONLY_HIGH", "BLOCK_NONE", "OFF")
_OAUTH_PREFIX = "ya29."


def _goog(message: str, field: Optional[str] = None, status: int = 400,
          kind: str = "INVALID_ARGUMENT") -> Violation:
    return Violation(status, message, param=field, type_=kind)


def _rule(path: str, text: str) -> Violation:
    """A semantic rule, worded like the real ``* GenerateContentRequest.<field>: ...`` lines."""
    return _goog("* GenerateContentRequest.%s: %s" % (path, text))


def _invalid(path: str, kind: str, value: Any) -> Violation:
    """A value of the wrong type, worded like the real proto JSON parser."""
    shown = json.dumps(value, ensure_ascii=False)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return _goog("Invalid value at '%s' (%s), %s" % (path, kind, shown), path)


def _unknown(obj: Dict[str, Any], allowed: frozenset, path: str) -> List[Violation]:
    out = []
    for key in obj:
        if key not in allowed:
            where = " at '%s'" % path if path else ""
            out.append(_goog('Invalid JSON payload received. Unknown name "%s"%s: Cannot find '
                             "field." % (key, where), path or None))
    return out


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_auth(request: RecordedRequest) -> List[Violation]:
    key = (request.headers.get("x-goog-api-key") or "").strip()
    if key or (request.query_params.get("key") or "").strip():
        return []
    auth = (request.headers.get("authorization") or "").strip()
    if auth:
        scheme, _, token = auth.partition(" ")
        if scheme.lower() == "bearer" and token.strip().startswith(_OAUTH_PREFIX):
            return []
        return [_goog(_BAD_CREDENTIALS, status=401, kind="UNAUTHENTICATED")]
    return [_goog(_MISSING_KEY, status=403, kind="PERMISSION_DENIED")]


def check_generate(body: Any, json_error: Optional[str]) -> List[Violation]:
    """The rules a ``generateContent`` / ``streamGenerateContent`` body must follow."""
    if json_error == "empty body":
        return [_rule("contents", "contents is not specified")]
    if json_error is not None:
        return [_goog("Invalid JSON payload received. %s" % json_error)]
    if not isinstance(body, dict):
        return [_goog('Invalid JSON payload received. Unknown name "": Root element must be a '
                      "message.")]
    out = _unknown(body, _REQUEST_FIELDS, "")
    out.extend(_contents(body))
    system = _get(body, "systemInstruction")
    if system is not None:
        if not isinstance(system, dict):
            out.append(_invalid("system_instruction", _V1 + "Content", system))
        else:
            out.extend(_unknown(system, _CONTENT_FIELDS, "system_instruction"))
            parts = system.get("parts")
            if not isinstance(parts, list) or not parts:
                out.append(_rule("system_instruction.parts", "contents.parts must not be empty."))
            else:
                for j, part in enumerate(parts):
                    out.extend(_part(part, "system_instruction.parts[%d]" % j, "system"))
    declared: List[str] = []
    tools = _get(body, "tools")
    if tools is not None:
        declared, problems = _tools(tools)
        out.extend(problems)
    config = _get(body, "toolConfig")
    if config is not None:
        out.extend(_tool_config(config, declared))
    generation = _get(body, "generationConfig")
    if generation is not None:
        out.extend(_generation_config(generation))
    safety = _get(body, "safetySettings")
    if safety is not None:
        out.extend(_safety(safety))
    cached = _get(body, "cachedContent")
    if cached is not None and not isinstance(cached, str):
        out.append(_invalid("cached_content", "TYPE_STRING", cached))
    return out


def _contents(body: Dict[str, Any]) -> List[Violation]:
    contents = body.get("contents")
    if contents is None or contents == []:
        return [_rule("contents", "contents is not specified")]
    if not isinstance(contents, list):
        return [_invalid("contents", _V1 + "Content", contents)]
    out: List[Violation] = []
    previous: Optional[Tuple[str, List[Dict[str, Any]]]] = None  # (role, functionCalls)
    for i, content in enumerate(contents):
        where = "contents[%d]" % i
        if not isinstance(content, dict):
            out.append(_invalid(where, _V1 + "Content", content))
            previous = None
            continue
        out.extend(_unknown(content, _CONTENT_FIELDS, where))
        role = content.get("role") or "user"
        if role not in ("user", "model"):
            out.append(_goog("Please use a valid role: user, model."))
            previous = None
            continue
        parts = content.get("parts")
        if parts is None or parts == []:
            out.append(_rule(where + ".parts", "contents.parts must not be empty."))
            previous = None
            continue
        if not isinstance(parts, list):
            out.append(_invalid(where + ".parts", _V1 + "Part", parts))
            previous = None
            continue
        calls: List[Dict[str, Any]] = []
        responses: List[Tuple[int, Dict[str, Any]]] = []
        for j, part in enumerate(parts):
            problems = _part(part, "%s.parts[%d]" % (where, j), role)
            out.extend(problems)
            if problems or not isinstance(part, dict):
                continue
            call = _get(part, "functionCall")
            if isinstance(call, dict):
                calls.append(call)
            response = _get(part, "functionResponse")
            if isinstance(response, dict):
                responses.append((j, response))
        if calls and (previous is None or previous[0] != "user"):
            out.append(_goog("Please ensure that function call turn comes immediately after a "
                             "user turn or after a function response turn."))
        if responses:
            out.extend(_pairing(where, responses, previous, i))
        previous = (role, calls)
    return out


def _pairing(where: str, responses: List[Tuple[int, Dict[str, Any]]],
             previous: Optional[Tuple[str, List[Dict[str, Any]]]], index: int) -> List[Violation]:
    """A functionResponse turn answers the function calls of the model turn just before it."""
    if previous is None or previous[0] != "model" or not previous[1]:
        return [_goog("Please ensure that function response turn comes immediately after a "
                      "function call turn.")]
    calls = previous[1]
    if len(responses) != len(calls):
        return [_goog("Please ensure that the number of function response parts is equal to the "
                      "number of function call parts of the function call turn.")]
    out: List[Violation] = []
    names = [c.get("name") for c in calls]
    ids: Dict[str, Any] = {str(c["id"]): c.get("name") for c in calls if c.get("id")}
    for j, response in responses:
        at = "%s.parts[%d].function_response" % (where, j)
        name = response.get("name")
        if ids:
            rid = response.get("id")
            if rid not in ids:
                out.append(_rule(at + ".id", "%r matches no function call id of the function "
                                 "call turn contents[%d] (ids: %s)."
                                 % (rid, index - 1, ", ".join(sorted(ids)))))
                continue
            if ids[rid] != name:
                out.append(_rule(at + ".name", "%r does not match the name %r of the function "
                                 "call with id %r." % (name, ids[rid], rid)))
                continue
        if name in names:
            names.remove(name)
        else:
            out.append(_rule(at + ".name", "%r matches no function call of the function call "
                             "turn contents[%d] (calls: %s)."
                             % (name, index - 1, ", ".join(str(c.get("name")) for c in calls))))
    return out


def _part(part: Any, at: str, role: str) -> List[Violation]:
    if not isinstance(part, dict):
        return [_invalid(at, _V1 + "Part", part)]
    out = _unknown(part, _PART_FIELDS, at)
    if out:
        return out
    data = [name for name in _DATA_FIELDS if _has(part, name)]
    if not data:
        return [_rule(at + ".data", "required oneof field 'data' must have one initialized field")]
    if len(data) > 1:
        return [_goog("Invalid JSON payload received. Oneof field 'data' is already set. Cannot "
                      "set '%s'" % data[1], at)]
    kind = data[0]
    value = _get(part, kind)
    if kind == "text":
        if not isinstance(value, str):
            out.append(_invalid(at + ".text", "TYPE_STRING", value))
    elif kind == "inlineData":
        out.extend(_blob(value, at + ".inline_data"))
    elif kind == "fileData":
        if not isinstance(value, dict):
            out.append(_invalid(at + ".file_data", _V1 + "FileData", value))
        elif not isinstance(_get(value, "fileUri"), str) or not _get(value, "fileUri"):
            out.append(_rule(at + ".file_data.file_uri", "file_uri is required."))
    elif kind == "functionCall":
        if role != "model":
            out.append(_rule(at + ".function_call",
                             "function calls are only allowed in model turns."))
        out.extend(_function_payload(value, at + ".function_call", "args", "FunctionCall"))
    elif kind == "functionResponse":
        if role != "user":
            out.append(_rule(at + ".function_response",
                             "function responses are only allowed in user turns."))
        out.extend(_function_payload(value, at + ".function_response", "response",
                                     "FunctionResponse"))
    thought = part.get("thought")
    if thought is not None and not isinstance(thought, bool):
        out.append(_invalid(at + ".thought", "TYPE_BOOL", thought))
    signature = _get(part, "thoughtSignature")
    if signature is not None and not isinstance(signature, str):
        out.append(_invalid(at + ".thought_signature", "TYPE_BYTES", signature))
    return out


def _blob(value: Any, at: str) -> List[Violation]:
    if not isinstance(value, dict):
        return [_invalid(at, _V1 + "Blob", value)]
    out = []
    mime = _get(value, "mimeType")
    if not isinstance(mime, str) or not mime:
        out.append(_rule(at + ".mime_type", "mime_type is required."))
    data = value.get("data")
    if not isinstance(data, str) or not data:
        out.append(_rule(at + ".data", "data is required."))
    elif not _is_base64(data):
        shown = data if len(data) <= 40 else data[:37] + "..."
        out.append(_goog("Invalid value at '%s.data' (TYPE_BYTES), Base64 decoding failed for "
                         "\"%s\"" % (at, shown), at + ".data"))
    return out


def _is_base64(data: str) -> bool:
    """Standard or URL-safe base64, padding optional (what proto JSON accepts for bytes)."""
    if not re.fullmatch(r"[A-Za-z0-9+/\-_]*={0,2}", data):
        return False
    stripped = data.rstrip("=")
    if len(stripped) % 4 == 1:
        return False
    try:
        base64.b64decode(stripped.replace("-", "+").replace("_", "/")
                         + "=" * (-len(stripped) % 4), validate=True)
    except (ValueError, binascii.Error):
        return False
    return True


def _function_payload(value: Any, at: str, payload: str, kind: str) -> List[Violation]:
    if not isinstance(value, dict):
        return [_invalid(at, _V1 + kind, value)]
    out = _unknown(value, _names("id", "name", payload, "willContinue", "partialArgs", "parts",
                                 "scheduling"), at)
    name = value.get("name")
    if not isinstance(name, str) or not name:
        out.append(_rule(at + ".name", "name is required."))
    if payload in value and not isinstance(value[payload], dict):
        out.append(_invalid(at + "." + payload, "type.googleapis.com/google.protobuf.Struct",
                            value[payload]))
    elif payload == "response" and payload not in value:
        out.append(_rule(at + ".response", "response is required."))
    if "id" in value and not isinstance(value["id"], str):
        out.append(_invalid(at + ".id", "TYPE_STRING", value["id"]))
    return out


def _tools(tools: Any) -> Tuple[List[str], List[Violation]]:
    if not isinstance(tools, list):
        return [], [_invalid("tools", _V1 + "Tool", tools)]
    declared: List[str] = []
    out: List[Violation] = []
    for i, tool in enumerate(tools):
        at = "tools[%d]" % i
        if not isinstance(tool, dict):
            out.append(_invalid(at, _V1 + "Tool", tool))
            continue
        out.extend(_unknown(tool, _TOOL_FIELDS, at))
        declarations = _get(tool, "functionDeclarations")
        if declarations is None:
            continue
        if not isinstance(declarations, list):
            out.append(_invalid(at + ".function_declarations", _V1 + "FunctionDeclaration",
                                declarations))
            continue
        for j, fd in enumerate(declarations):
            where = "%s.function_declarations[%d]" % (at, j)
            if not isinstance(fd, dict):
                out.append(_invalid(where, _V1 + "FunctionDeclaration", fd))
                continue
            out.extend(_unknown(fd, _DECLARATION_FIELDS, where))
            name = fd.get("name")
            if not isinstance(name, str) or not _FUNCTION_NAME.match(name):
                out.append(_rule(where + ".name", "Invalid function name. Must start with a "
                                 "letter or an underscore. Must be a-z, A-Z, 0-9, or contain "
                                 "underscores, dots and dashes, with a maximum length of 64."))
            elif name in declared:
                out.append(_rule(where + ".name", "Duplicate function declaration found: %s"
                                 % name))
            else:
                declared.append(name)
            description = fd.get("description")
            if description is not None and not isinstance(description, str):
                out.append(_invalid(where + ".description", "TYPE_STRING", description))
            if _has(fd, "parameters") and _has(fd, "parametersJsonSchema"):
                out.append(_rule(where, "only one of parameters and parameters_json_schema may "
                                 "be set."))
            elif _get(fd, "parameters") is not None:
                out.extend(_schema(_get(fd, "parameters"), where + ".parameters"))
            elif _get(fd, "parametersJsonSchema") is not None \
                    and not isinstance(_get(fd, "parametersJsonSchema"), dict):
                out.append(_invalid(where + ".parameters_json_schema",
                                    "type.googleapis.com/google.protobuf.Value",
                                    _get(fd, "parametersJsonSchema")))
    return declared, out


def _schema(schema: Any, at: str) -> List[Violation]:
    """Gemini's OpenAPI-subset ``Schema`` (docs/wire.md §5 Request body)."""
    if not isinstance(schema, dict):
        return [_invalid(at, _V1 + "Schema", schema)]
    out = _unknown(schema, _SCHEMA_FIELDS, at)
    kind = schema.get("type")
    if kind is not None and (not isinstance(kind, str) or kind.upper() not in _SCHEMA_TYPES):
        out.append(_invalid(at + ".type", _V1 + "Type", kind))
    properties = schema.get("properties")
    if properties is not None:
        if not isinstance(properties, dict):
            out.append(_invalid(at + ".properties", _V1 + "Schema", properties))
        else:
            for key, sub in properties.items():
                out.extend(_schema(sub, "%s.properties[%s]" % (at, key)))
    if schema.get("items") is not None:
        out.extend(_schema(schema["items"], at + ".items"))
    any_of = _get(schema, "anyOf")
    if any_of is not None:
        if not isinstance(any_of, list):
            out.append(_invalid(at + ".any_of", _V1 + "Schema", any_of))
        else:
            for k, sub in enumerate(any_of):
                out.extend(_schema(sub, "%s.any_of[%d]" % (at, k)))
    for key in ("enum", "required"):
        values = schema.get(key)
        if values is not None and (not isinstance(values, list)
                                   or not all(isinstance(v, str) for v in values)):
            out.append(_invalid("%s.%s" % (at, key), "TYPE_STRING", values))
    return out


def _tool_config(config: Any, declared: List[str]) -> List[Violation]:
    if not isinstance(config, dict):
        return [_invalid("tool_config", _V1 + "ToolConfig", config)]
    out = _unknown(config, _TOOL_CONFIG_FIELDS, "tool_config")
    calling = _get(config, "functionCallingConfig")
    if calling is None:
        return out
    at = "tool_config.function_calling_config"
    if not isinstance(calling, dict):
        return out + [_invalid(at, _V1 + "FunctionCallingConfig", calling)]
    out.extend(_unknown(calling, _CALLING_FIELDS, at))
    mode = calling.get("mode", "MODE_UNSPECIFIED")
    if not isinstance(mode, str) or mode.upper() not in _MODES:
        out.append(_invalid(at + ".mode", _V1 + "FunctionCallingConfig.Mode", mode))
        return out
    allowed = _get(calling, "allowedFunctionNames")
    if allowed is None:
        return out
    if not isinstance(allowed, list) or not all(isinstance(n, str) for n in allowed):
        out.append(_invalid(at + ".allowed_function_names", "TYPE_STRING", allowed))
    elif allowed and mode.upper() not in ("ANY", "VALIDATED"):
        out.append(_rule(at + ".allowed_function_names", "allowed_function_names may only be "
                         "set when mode is ANY or VALIDATED."))
    else:
        for name in allowed:
            if name not in declared:
                out.append(_rule(at + ".allowed_function_names", "%r is not the name of a "
                                 "declared function." % name))
    return out


def _generation_config(config: Any) -> List[Violation]:
    at = "generation_config"
    if not isinstance(config, dict):
        return [_invalid(at, _V1 + "GenerationConfig", config)]
    out = _unknown(config, _GENERATION_FIELDS, at)
    ranges = (("temperature", 0.0, 2.0), ("topP", 0.0, 1.0))
    for name, low, high in ranges:
        value = _get(config, name)
        if value is None:
            continue
        path = "%s.%s" % (at, _snake(name))
        if not _is_number(value):
            out.append(_invalid(path, "TYPE_FLOAT", value))
        elif not low <= value <= high:
            out.append(_rule(path, "%s must be in the range [%.1f, %.1f]."
                             % (_snake(name), low, high)))
    for name in ("maxOutputTokens", "candidateCount", "topK"):
        value = _get(config, name)
        if value is None:
            continue
        path = "%s.%s" % (at, _snake(name))
        if not is_int(value) and not (_is_number(value) and float(value).is_integer()):
            out.append(_invalid(path, "TYPE_INT32", value))
        elif value < 1:
            out.append(_rule(path, "%s must be a positive integer." % _snake(name)))
    stops = _get(config, "stopSequences")
    if stops is not None:
        if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops):
            out.append(_invalid(at + ".stop_sequences", "TYPE_STRING", stops))
        elif len(stops) > 5:
            out.append(_rule(at + ".stop_sequences", "at most 5 stop sequences are allowed, got "
                             "%d." % len(stops)))
    mime = _get(config, "responseMimeType")
    if mime is not None and (not isinstance(mime, str) or mime not in _MIME_TYPES):
        out.append(_rule(at + ".response_mime_type", "allowed mimetypes are `text/plain`, "
                         "`application/json`, `application/xml`, `application/yaml` and "
                         "`text/x.enum`."))
    schema, json_schema = _get(config, "responseSchema"), _get(config, "responseJsonSchema")
    if schema is not None and json_schema is not None:
        out.append(_rule(at, "only one of response_schema and response_json_schema may be set."))
    elif schema is not None or json_schema is not None:
        if mime not in ("application/json", "text/x.enum"):
            out.append(_rule(at + ".response_mime_type", "a response schema needs "
                             "response_mime_type application/json (or text/x.enum), got %s."
                             % json.dumps(mime)))
        if schema is not None:
            out.extend(_schema(schema, at + ".response_schema"))
        elif not isinstance(json_schema, dict):
            out.append(_invalid(at + ".response_json_schema",
                                "type.googleapis.com/google.protobuf.Value", json_schema))
    modalities = _get(config, "responseModalities")
    if modalities is not None and (not isinstance(modalities, list) or not all(
            isinstance(m, str) and m.upper() in _MODALITIES for m in modalities)):
        out.append(_invalid(at + ".response_modalities", _V1 + "GenerationConfig.Modality",
                            modalities))
    thinking = _get(config, "thinkingConfig")
    if thinking is not None:
        out.extend(_thinking_config(thinking, at + ".thinking_config"))
    return out


def _thinking_config(config: Any, at: str) -> List[Violation]:
    if not isinstance(config, dict):
        return [_invalid(at, _V1 + "ThinkingConfig", config)]
    out = _unknown(config, _THINKING_FIELDS, at)
    include = _get(config, "includeThoughts")
    if include is not None and not isinstance(include, bool):
        out.append(_invalid(at + ".include_thoughts", "TYPE_BOOL", include))
    budget = _get(config, "thinkingBudget")
    if budget is not None and (not is_int(budget) or budget < -1):
        out.append(_invalid(at + ".thinking_budget", "TYPE_INT32", budget))
    level = _get(config, "thinkingLevel")
    if level is not None and (not isinstance(level, str) or level.upper() not in _THINKING_LEVELS):
        out.append(_invalid(at + ".thinking_level", _V1 + "ThinkingConfig.ThinkingLevel", level))
    if budget is not None and level is not None:
        out.append(_rule(at, "only one of thinking_budget and thinking_level may be set."))
    return out


def _safety(settings: Any) -> List[Violation]:
    if not isinstance(settings, list):
        return [_invalid("safety_settings", _V1 + "SafetySetting", settings)]
    out: List[Violation] = []
    for i, setting in enumerate(settings):
        at = "safety_settings[%d]" % i
        if not isinstance(setting, dict):
            out.append(_invalid(at, _V1 + "SafetySetting", setting))
            continue
        out.extend(_unknown(setting, _names("category", "threshold", "method"), at))
        for key, values, kind in (("category", _HARM_CATEGORIES, "HarmCategory"),
                                  ("threshold", _THRESHOLDS,
                                   "SafetySetting.HarmBlockThreshold")):
            value = setting.get(key)
            if is_int(value):  # enum numbers (``$alt=json;enum-encoding=int`` clients)
                continue
            if not isinstance(value, str) or value not in values:
                out.append(_invalid("%s.%s" % (at, key), _V1 + kind, value))
    return out


# ---- thought signatures --------------------------------------------------------------------------

def _missing_signature(body: Dict[str, Any], was_signed: Any) -> Optional[Violation]:
    """The Gemini 3 rule: every function call of the current turn that came signed must be sent
    back with its ``thoughtSignature``. ``was_signed(name, args, id)`` says which came signed."""
    contents = body.get("contents")
    if not isinstance(contents, list):
        return None
    start = 0
    for i, content in enumerate(contents):
        if not isinstance(content, dict) or (content.get("role") or "user") != "user":
            continue
        parts = content.get("parts")
        if isinstance(parts, list) and any(
                isinstance(p, dict) and not _has(p, "functionResponse") for p in parts):
            start = i + 1
    for i in range(start, len(contents)):
        content = contents[i]
        if not isinstance(content, dict) or content.get("role") != "model":
            continue
        for part in content.get("parts") or []:
            call = _get(part, "functionCall") if isinstance(part, dict) else None
            if not isinstance(call, dict) or _get(part, "thoughtSignature"):
                continue
            if was_signed(call.get("name"), call.get("args"), call.get("id")):
                return _goog(
                    "Function call is missing a thought_signature in functionCall parts. This "
                    "is required for tools to work correctly, and missing thought_signature may "
                    "lead to degraded model performance. Additional data, function call "
                    "`default_api:%s` , position %d. Please refer to "
                    "https://ai.google.dev/gemini-api/docs/thought-signatures for more details."
                    % (call.get("name"), i + 1))
    return None
