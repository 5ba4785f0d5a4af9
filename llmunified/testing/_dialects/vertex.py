"""Google Cloud Vertex AI: Google's Gemini models and Anthropic's Claude models. docs/wire.md §4
(Anthropic on Vertex) and §6 (Gemini on Vertex).

One dialect, two publishers, each speaking its own wire format behind Google's front end. The
model is in the path; ``{version}`` is ``v1`` or ``v1beta1``, ``{project}`` and ``{location}``
are anything (``global``, ``us-central1``, ...):

* ``POST /{version}/projects/{project}/locations/{location}/publishers/google/models/{model}:
  generateContent`` and ``:streamGenerateContent`` (SSE with ``?alt=sse``, else the progressive
  JSON array): the Gemini dialect's contract, rendering and streaming (``gemini.py``), with
  Vertex's differences below.
* ``POST /{version}/projects/{project}/locations/{location}/publishers/anthropic/models/{model}:
  rawPredict`` and ``:streamRawPredict``: the Anthropic dialect's Messages contract, rendering
  and SSE events (``anthropic.py``), with Vertex's body rules below. (``count-tokens:rawPredict``
  is not emulated: it gets the 404.)

``url_for("vertex")`` is the bare base URL (the host root): clients append ``/v1/projects/...``.
Unknown paths under ``/v1/projects/`` and ``/v1beta1/projects/`` get the Google 404 shape.

Auth (both publishers): ``Authorization: Bearer <token>``, any non-empty token (the request's
headers are recorded, so a test sees which token each request carried, e.g. after a refresh).
Without one, the Google front end's 401 ``UNAUTHENTICATED`` ("Request is missing required
authentication credential. ..."); another scheme or an empty token, the 401 "Request had invalid
authentication credentials. ...". Both carry a ``google.rpc.ErrorInfo`` detail (``reason``
``CREDENTIALS_MISSING`` / ``ACCESS_TOKEN_TYPE_UNSUPPORTED``). An ``x-goog-api-key`` alone is not
enough there. ``Emulator(require_auth=False)`` skips the check.

Express mode (Vertex AI with an express-mode API key, Google's express-mode REST reference): the
Google publisher's two methods without projects or locations, ``POST /{version}/publishers/google/
models/{model}:generateContent`` / ``:streamGenerateContent``, authenticated by an
``x-goog-api-key`` header or a ``?key=`` parameter (a bearer token is accepted too); the Google
publisher's contract and rendering otherwise.

Google publisher (docs/wire.md §6):

* Contract: everything ``gemini.check_generate`` checks, plus: every ``contents[]`` entry needs a
  ``role`` (the Gemini API defaults it to ``user``; Vertex refuses the request: issue
  BerriAI/litellm#32731), and the Vertex-only request fields ``labels`` (a string map) and
  ``toolConfig.functionCallingConfig.streamFunctionCallArguments`` (a bool) are accepted. The two
  messages known from Vertex are worded like Vertex ("Unable to submit request because Please use
  a valid role: user, model.. Learn more: ...", "Unable to submit request because at least one
  contents field is required. ..."); the rest are the Gemini API's.
* Rendering: the Gemini dialect's, plus ``createTime`` on every response,
  ``usageMetadata.trafficType: "ON_DEMAND"`` and ``candidatesTokensDetails``, ``avgLogprobs`` on
  a whole answer's candidate, and no ``index: 0`` on candidates (as recorded in
  ``gemini/vertex_generate_content.vcr.yaml``).
* Streamed function-call arguments: when the request sets ``toolConfig.functionCallingConfig.
  streamFunctionCallArguments: true`` (the real switch; the Gemini API does not have it), each
  function call of a *streamed* answer arrives in pieces, one event each (docs/wire.md §5
  Streaming): ``{"functionCall": {"name", "id"?, "willContinue": true}}`` (with the
  ``thoughtSignature`` when the call is signed), then one ``{"functionCall": {"partialArgs":
  [{"jsonPath": "$.city", "stringValue": "Par", "willContinue": true}]}}`` per piece (strings in
  pieces of 4 characters, the last piece without ``willContinue``; numbers, booleans and nulls
  whole as ``numberValue``/``boolValue``/``nullValue: "NULL_VALUE"``; nested values by their RFC
  9535 path such as ``$.trip.stops[0].name``; empty objects and arrays are not sent), then an
  empty ``{"functionCall": {}}`` closing the call. The events of one call repeat its cumulative
  ``usageMetadata``; ``finishReason`` rides the last event. Whole answers are unchanged.
* Errors: the Google shape (``gemini.py``), ``google.rpc.RetryInfo`` from a ``retry-after(-ms)``
  header, ``google.rpc.BadRequest`` for a malformed field; no AI Studio ``QuotaFailure`` on a 429
  (its message is Vertex's "Resource exhausted. Please try again later. ..."). A ``Reply`` with
  ``error_code`` adds a ``google.rpc.ErrorInfo`` detail with that ``reason``.

Anthropic publisher (docs/wire.md §4):

* Contract: no ``x-api-key`` header and no ``anthropic-version`` header (Vertex uses neither);
  the body must have ``"anthropic_version": "vertex-2023-10-16"`` and must not have ``model``
  (it is in the URL); ``:streamRawPredict`` needs ``"stream": true`` in the body, and
  ``"stream": true`` on ``:rawPredict`` is refused too (the docs only say the streaming method
  still needs the flag; a client sending it to the one-body method has mixed them up). Each is a
  400 ``invalid_request_error`` in Anthropic's shape saying what to do. Then everything
  ``anthropic.check_messages`` checks (with the model taken from the URL).
* Rendering and streams: the Anthropic dialect's (``model`` is the one in the URL).
* Errors: Anthropic's shape, except what Google's front end answers: a 401, or a scripted error
  whose ``error_type`` is a Google status (``RESOURCE_EXHAUSTED``, ``UNAVAILABLE``, ...), gets
  the Google shape (docs/wire.md §4 Errors).
"""
import json
import re
import threading
import time
from typing import Any, Dict, Iterator, List, Mapping, Optional, Tuple

from .._contract import Violation
from .._render import Context, split_fixed
from .._reply import Reply
from .._request import RecordedRequest
from ._base import Answer, Dialect, Route
from .anthropic import Anthropic, check_messages
from .gemini import _RPC, _STATUS_CODES, Gemini, _get, _goog, _invalid, _pretty, check_generate

ANTHROPIC_VERSION = "vertex-2023-10-16"
"""The ``anthropic_version`` a Messages body on Vertex must carry (docs/wire.md §4 Body)."""

_RESOURCE = r"/(?P<version>v1|v1beta1)/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)"
_STREAMING = ("streamGenerateContent", "streamRawPredict")
_LEARN_MORE = (" Learn more: "
               "https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/gemini")
# Gemini API wording -> Vertex wording, for the messages seen from Vertex (issues
# gethnet/litellm-connector-copilot#64, BerriAI/litellm#9733).
_VERTEX_WORDING = {
    "Please use a valid role: user, model.":
        "Unable to submit request because Please use a valid role: user, model.." + _LEARN_MORE,
    "* GenerateContentRequest.contents: contents is not specified":
        "Unable to submit request because at least one contents field is required." + _LEARN_MORE,
}
_MISSING_CREDENTIAL = ("Request is missing required authentication credential. Expected OAuth 2 "
                       "access token, login cookie or other valid authentication credential. See "
                       "https://developers.google.com/identity/sign-in/web/devconsole-project.")
_INVALID_CREDENTIAL = ("Request had invalid authentication credentials. Expected OAuth 2 access "
                       "token, login cookie or other valid authentication credential. See "
                       "https://developers.google.com/identity/sign-in/web/devconsole-project.")
_PIECE = 4  # characters of a string argument per partialArgs event


class _GooglePublisher(Gemini):
    """The Gemini dialect with Vertex's response fields, errors and streamed arguments."""

    name = "vertex"
    error_messages = {
        **Gemini.error_messages,
        429: "Resource exhausted. Please try again later. Please refer to "
             "https://cloud.google.com/vertex-ai/generative-ai/docs/error-code-429 for more "
             "details.",
    }

    def bind(self, request: RecordedRequest, request_id: str) -> None:
        """Make ``request`` the one being answered on this thread (for RetryInfo), as the Gemini
        dialect's ``answer_without_reply`` does, when the answer is not the Gemini dialect's."""
        self._local.request = request
        self._local.request_id = request_id

    def error_body(self, status: int, message: Optional[str], type_: Optional[str] = None,
                   code: Optional[str] = None, param: Optional[str] = None,
                   request_id: str = "") -> bytes:
        body = json.loads(super().error_body(status, message, type_, code, param, request_id))
        error = body["error"]
        details = [d for d in error.pop("details", [])
                   if d.get("@type") != _RPC + "QuotaFailure"]  # an AI Studio free-tier quota
        if code:
            details.insert(0, {"@type": _RPC + "ErrorInfo", "reason": code,
                               "domain": "googleapis.com",
                               "metadata": {"service": "aiplatform.googleapis.com"}})
        if details:
            error["details"] = details
        return _pretty(body)

    def render(self, reply: Reply, ctx: Context) -> Dict[str, Any]:
        return _vertexify(super().render(reply, ctx), ctx, whole=True)

    def _responses(self, reply: Reply, ctx: Context) -> Iterator[Dict[str, Any]]:
        split = _streams_arguments(ctx.body)
        for response in super()._responses(reply, ctx):
            if "error" in response:
                yield response
                continue
            for piece in (_split_call(response) if split else [response]):
                yield _vertexify(piece, ctx, whole=False)


class _AnthropicPublisher(Anthropic):
    """The Anthropic dialect answering Vertex's ``rawPredict`` / ``streamRawPredict``."""

    name = "vertex"


class Vertex(Dialect):
    """Vertex AI: routes each request to its publisher's dialect (Google's or Anthropic's)."""

    name = "vertex"
    aliases = ("vertex-ai", "vertexai")
    base_path = ""
    routes = (
        Route("POST", re.compile(_RESOURCE + r"/publishers/(?P<publisher>google)/models/"
                                 r"(?P<model>[^/:]+):(?P<action>generateContent|"
                                 r"streamGenerateContent)"), "chat"),
        Route("POST", re.compile(_RESOURCE + r"/publishers/(?P<publisher>anthropic)/models/"
                                 r"(?!count-tokens:)(?P<model>[^/:]+)"
                                 r":(?P<action>rawPredict|streamRawPredict)"), "chat"),
        # express mode: no project, no location
        Route("POST", re.compile(r"/(?P<version>v1|v1beta1)/publishers/(?P<publisher>google)/models/"
                                 r"(?P<model>[^/:]+):(?P<action>generateContent|streamGenerateContent)"), "chat"),
        # embeddings: newer models :embedContent, the older text-embedding ones :predict
        Route("POST", re.compile(r"(?:" + _RESOURCE + r"|/(?P<xversion>v1|v1beta1))/publishers/(?P<publisher>google)"
                                 r"/models/(?P<model>[^/:]+):(?P<action>embedContent|predict)"), "embed"),
        # token counting: Gemini's :countTokens; Claude's one count-tokens publisher model
        Route("POST", re.compile(r"(?:" + _RESOURCE + r"|/(?P<xversion>v1|v1beta1))/publishers/(?P<publisher>google)"
                                 r"/models/(?P<model>[^/:]+):(?P<action>countTokens)"), "count_tokens"),
        Route("POST", re.compile(_RESOURCE + r"/publishers/(?P<publisher>anthropic)/models/"
                                 r"(?P<model>count-tokens):(?P<action>rawPredict)"), "count_tokens"),
    )

    def count_tokens(self, request: RecordedRequest) -> Answer:
        from .. import _counting

        if request.params.get("publisher") == "anthropic":
            return _counting.anthropic(self, request, vertex=True)
        return _counting.vertex_gemini(self, request)

    def embeddings(self, request: RecordedRequest) -> Answer:
        from .. import _embeddings

        if request.params.get("action") == "predict":
            return _embeddings.vertex_predict(self, request)
        return _embeddings.gemini(self, request, usage=True)
    path_prefixes = ("/v1/projects/", "/v1beta1/projects/", "/v1/publishers/", "/v1beta1/publishers/")
    default_models = ("gemini-2.5-flash", "gemini-2.5-pro", "claude-sonnet-4-5@20250929",
                      "claude-haiku-4-5@20251001")

    def __init__(self) -> None:
        self._google = _GooglePublisher()
        self._anthropic = _AnthropicPublisher()
        # Per handler thread: the publisher of the request being answered, and whether the
        # body being sent is Google-shaped (for the Content-Type the server asks for next).
        self._local = threading.local()

    # ---- which publisher ---------------------------------------------------------------------
    def _publisher(self) -> str:
        return getattr(self._local, "publisher", "google")

    def _for(self, ctx: Context) -> Dialect:
        return self._anthropic if ctx.params.get("publisher") == "anthropic" else self._google

    # ---- requests ------------------------------------------------------------------------------
    def is_stream(self, body: Any, request: RecordedRequest) -> bool:
        return request.params.get("action") in _STREAMING

    def check(self, request: RecordedRequest, json_error: Optional[str],
              require_auth: bool) -> List[Violation]:
        publisher = request.params.get("publisher", "google")
        self._local.publisher = publisher
        self._local.google_shaped = publisher != "anthropic"
        if require_auth:
            if "project" not in request.params and _express_key(request):
                out: List[Violation] = []
            else:
                out = check_bearer(request.headers)
            if out:
                return out
        if request.endpoint != "chat":
            return []  # embeddings are checked as they are answered (testing._embeddings)
        if publisher == "anthropic":
            return check_raw_predict(request, json_error)
        return check_vertex_generate(request.json, json_error)

    def last_user_text(self, body: Any) -> str:
        if isinstance(body, dict) and "messages" in body:
            return self._anthropic.last_user_text(body)
        return self._google.last_user_text(body)

    # ---- headers and errors ------------------------------------------------------------------
    @property
    def json_content_type(self) -> str:  # type: ignore[override]
        """Google's JSON type for Google-shaped bodies, Anthropic's for the others."""
        if getattr(self._local, "google_shaped", True):
            return self._google.json_content_type
        return self._anthropic.json_content_type

    @property
    def stream_content_type(self) -> str:  # type: ignore[override]
        if self._publisher() == "anthropic":
            return self._anthropic.stream_content_type
        return self._google.stream_content_type

    def base_headers(self, request_id: str) -> Dict[str, str]:
        return self._google.base_headers(request_id)  # Google's front end answers both

    def error_body(self, status: int, message: Optional[str], type_: Optional[str] = None,
                   code: Optional[str] = None, param: Optional[str] = None,
                   request_id: str = "") -> bytes:
        google = (self._publisher() != "anthropic" or status == 401
                  or (type_ or "") in _STATUS_CODES)
        self._local.google_shaped = google
        dialect: Dialect = self._google if google else self._anthropic
        return dialect.error_body(status, message, type_, code, param, request_id)

    def not_found(self, request: RecordedRequest, request_id: str) -> Answer:
        self._local.publisher = "google"
        self._local.google_shaped = True
        return self._google.not_found(request, request_id)

    # ---- answers -------------------------------------------------------------------------------
    def answer_without_reply(self, request: RecordedRequest, ctx: Context) -> Optional[Answer]:
        if ctx.params.get("publisher") == "anthropic":
            self._google.bind(request, ctx.request_id)  # a Google-shaped error may follow
            return self._anthropic.answer_without_reply(request, ctx)
        return self._google.answer_without_reply(request, ctx)

    def render(self, reply: Reply, ctx: Context) -> Any:
        return self._for(ctx).render(reply, ctx)

    def events(self, reply: Reply, ctx: Context) -> Iterator[bytes]:
        return self._for(ctx).events(reply, ctx)


# ---- rendering helpers -------------------------------------------------------------------------

def _vertexify(response: Dict[str, Any], ctx: Context, whole: bool) -> Dict[str, Any]:
    """A Gemini API ``GenerateContentResponse`` as Vertex sends it (docs/wire.md §6 Body and
    response; the recording ``gemini/vertex_generate_content.vcr.yaml``)."""
    out: Dict[str, Any] = {}
    for key, value in response.items():
        if key == "candidates":
            value = [_candidate(c, whole) for c in value]
        elif key == "usageMetadata":
            value = _usage(value)
        elif key == "responseId":
            out["createTime"] = _create_time(ctx)
        out[key] = value
    return out


def _candidate(candidate: Dict[str, Any], whole: bool) -> Dict[str, Any]:
    out = {k: v for k, v in candidate.items() if k != "index" or v}  # proto3 JSON: 0 is left out
    if whole and "finishReason" in out and out.get("content", {}).get("parts"):
        out["avgLogprobs"] = -0.0625
    return out


def _usage(usage: Dict[str, Any]) -> Dict[str, Any]:
    out = dict(usage)
    candidates = usage.get("candidatesTokenCount")
    if candidates:
        out["candidatesTokensDetails"] = [{"modality": "TEXT", "tokenCount": candidates}]
    out["trafficType"] = "ON_DEMAND"
    return out


def _create_time(ctx: Context) -> str:
    """RFC 3339 with microseconds, as Vertex sends it (``2025-06-27T08:48:21.154666Z``)."""
    micros = (ctx.seq * 104729) % 1000000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ctx.created)) + ".%06dZ" % micros


def _streams_arguments(body: Any) -> bool:
    """True if the request asks for function-call arguments in pieces (Vertex only)."""
    calling = _get(_get(body, "toolConfig"), "functionCallingConfig")
    return _get(calling, "streamFunctionCallArguments") is True


def _split_call(response: Dict[str, Any]) -> List[Dict[str, Any]]:
    """A streamed response holding one whole ``functionCall`` part, as the events Vertex sends
    with ``streamFunctionCallArguments`` (docs/wire.md §5 Streaming); other responses as-is."""
    candidates = response.get("candidates")
    candidate = candidates[0] if isinstance(candidates, list) and candidates else None
    if not isinstance(candidate, dict):
        return [response]
    parts = candidate.get("content", {}).get("parts")
    if not isinstance(parts, list) or len(parts) != 1 or "functionCall" not in parts[0]:
        return [response]
    part = parts[0]
    call = part["functionCall"]
    opening: Dict[str, Any] = {"name": call["name"]}
    if "id" in call:
        opening["id"] = call["id"]
    opening["willContinue"] = True
    first: Dict[str, Any] = {"functionCall": opening}
    if "thoughtSignature" in part:
        first["thoughtSignature"] = part["thoughtSignature"]
    pieces: List[Dict[str, Any]] = [first]
    for path, value in _leaves(call.get("args") or {}, "$"):
        for arg in _partial_args(path, value):
            pieces.append({"functionCall": {"partialArgs": [arg]}})
    pieces.append({"functionCall": {}})
    out = []
    final = {k: candidate[k] for k in ("finishReason", "finishMessage") if k in candidate}
    for n, piece in enumerate(pieces, 1):
        new_candidate = {k: v for k, v in candidate.items() if k not in final}
        new_candidate["content"] = dict(candidate["content"], parts=[piece])
        if n == len(pieces):
            new_candidate.update(final)
        out.append(dict(response, candidates=[new_candidate]))
    return out


def _leaves(value: Any, path: str) -> Iterator[Tuple[str, Any]]:
    """``(RFC 9535 JSON path, scalar)`` for every scalar in ``value``, in order."""
    if isinstance(value, dict):
        for key, item in value.items():
            for leaf in _leaves(item, path + _member(str(key))):
                yield leaf
    elif isinstance(value, list):
        for i, item in enumerate(value):
            for leaf in _leaves(item, "%s[%d]" % (path, i)):
                yield leaf
    else:
        yield path, value


def _member(key: str) -> str:
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
        return "." + key
    return "['%s']" % key.replace("\\", "\\\\").replace("'", "\\'")


def _partial_args(path: str, value: Any) -> List[Dict[str, Any]]:
    if isinstance(value, str):
        pieces = split_fixed(value, _PIECE) or [""]
        out: List[Dict[str, Any]] = []
        for n, piece in enumerate(pieces, 1):
            arg: Dict[str, Any] = {"jsonPath": path, "stringValue": piece}
            if n < len(pieces):
                arg["willContinue"] = True
            out.append(arg)
        return out
    if isinstance(value, bool):
        return [{"jsonPath": path, "boolValue": value}]
    if isinstance(value, (int, float)):
        return [{"jsonPath": path, "numberValue": value}]
    return [{"jsonPath": path, "nullValue": "NULL_VALUE"}]


# ---- contract checks -----------------------------------------------------------------------------

def _unauthenticated(message: str, reason: str) -> Violation:
    return Violation(401, message, code=reason, type_="UNAUTHENTICATED")


def _express_key(request: RecordedRequest) -> bool:
    """An express-mode API key on the request (``x-goog-api-key`` or ``?key=``)."""
    if (request.headers.get("x-goog-api-key") or "").strip():
        return True
    return bool(request.query_params.get("key", "").strip())


def check_bearer(headers: Mapping[str, str]) -> List[Violation]:
    """Vertex authenticates with an OAuth2 access token: ``Authorization: Bearer <token>``."""
    auth = (headers.get("authorization") or "").strip()
    if not auth:
        return [_unauthenticated(_MISSING_CREDENTIAL, "CREDENTIALS_MISSING")]
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return [_unauthenticated(_INVALID_CREDENTIAL, "ACCESS_TOKEN_TYPE_UNSUPPORTED")]
    return []


def check_vertex_generate(body: Any, json_error: Optional[str]) -> List[Violation]:
    """The Gemini API's ``generateContent`` rules as Vertex applies them."""
    out: List[Violation] = []
    if json_error is None and isinstance(body, dict):
        contents = body.get("contents")
        for content in contents if isinstance(contents, list) else []:
            if isinstance(content, dict) and not content.get("role"):
                out.append(_goog("Please use a valid role: user, model."))
                break
        body, problems = _vertex_fields(body)
        out.extend(problems)
    out.extend(check_generate(body, json_error))
    return [_vertex_wording(v) for v in out]


def _vertex_wording(violation: Violation) -> Violation:
    message = _VERTEX_WORDING.get(violation.message)
    if message is None:
        return violation
    return Violation(violation.status, message, violation.param, violation.code, violation.type)


def _vertex_fields(body: Dict[str, Any]) -> Tuple[Dict[str, Any], List[Violation]]:
    """The body without the fields only Vertex has (checked here), for the Gemini API checks."""
    out: List[Violation] = []
    body = dict(body)
    labels = body.pop("labels", None)
    if labels is not None and (not isinstance(labels, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in labels.items())):
        out.append(_invalid("labels", "TYPE_STRING", labels))
    for key in ("toolConfig", "tool_config"):
        config = body.get(key)
        if not isinstance(config, dict):
            continue
        config = body[key] = dict(config)
        for calling_key in ("functionCallingConfig", "function_calling_config"):
            calling = config.get(calling_key)
            if not isinstance(calling, dict):
                continue
            calling = config[calling_key] = dict(calling)
            for flag in ("streamFunctionCallArguments", "stream_function_call_arguments"):
                value = calling.pop(flag, False)
                if not isinstance(value, bool):
                    out.append(_invalid("tool_config.function_calling_config."
                                        "stream_function_call_arguments", "TYPE_BOOL", value))
    return body, out


def _ant(message: str) -> Violation:
    return Violation(400, message, type_="invalid_request_error")


def check_raw_predict(request: RecordedRequest, json_error: Optional[str]) -> List[Violation]:
    """Vertex's rules for a Messages request (docs/wire.md §4), then the Messages rules."""
    headers = request.headers
    out: List[Violation] = []
    if "x-api-key" in headers:
        out.append(_ant("x-api-key: Vertex AI does not take an Anthropic API key; authenticate "
                        "with an 'Authorization: Bearer <Google access token>' header instead."))
    if "anthropic-version" in headers:
        out.append(_ant("anthropic-version: on Vertex AI the API version goes in the body, as "
                        "\"anthropic_version\": \"%s\", not in a header." % ANTHROPIC_VERSION))
    if out:
        return out
    body = request.json
    if json_error is not None or not isinstance(body, dict):
        return check_messages(body, json_error)
    if "model" in body:
        out.append(_ant("model: Extra inputs are not permitted. On Vertex AI the model is in "
                        "the URL (.../publishers/anthropic/models/{model}:rawPredict), not in "
                        "the body."))
    if "anthropic_version" not in body:
        out.append(_ant("anthropic_version: Field required. Vertex AI needs "
                        "\"anthropic_version\": \"%s\" in the body." % ANTHROPIC_VERSION))
    elif body["anthropic_version"] != ANTHROPIC_VERSION:
        out.append(_ant("anthropic_version: Input should be '%s', got %s."
                        % (ANTHROPIC_VERSION, json.dumps(body["anthropic_version"]))))
    streaming = request.params.get("action") == "streamRawPredict"
    if streaming and body.get("stream") is not True:
        out.append(_ant("stream: :streamRawPredict needs \"stream\": true in the body."))
    elif not streaming and body.get("stream") is True:
        out.append(_ant("stream: \"stream\": true needs :streamRawPredict; :rawPredict answers "
                        "with one JSON body."))
    out.extend(check_messages(dict(body, model=request.params.get("model", "")), None))
    return out
