"""Azure OpenAI: OpenAI's Chat Completions served from an Azure resource. docs/wire.md §2 (Azure
OpenAI) and §1 (OpenAI, which it follows).

``url_for("azure")`` is the bare base URL: the emulator stands for the resource endpoint
``https://<resource>.openai.azure.com``, and clients append the paths below.

Routes:

* ``POST /openai/deployments/{deployment}/chat/completions?api-version=<version>``: the
  deployments API. The deployment in the path is the model: ``model`` in the body is optional and
  ignored, answers report ``Reply.model`` or else the deployment name.
* ``POST /openai/v1/chat/completions``: the v1 API; ``model`` (the deployment) is required in
  the body and no ``api-version`` is needed.
* ``GET /openai/models?api-version=<version>`` and ``GET /openai/v1/models``: the model list in
  the OpenAI dialect's shape (Azure's real list carries more fields; not emulated).
* Any other path under ``/openai/`` gets Azure's 404 ``{"error": {"code": "404", "message":
  "Resource not found"}}``. Embeddings and images are not emulated (the OpenAI dialect has none
  either).

Request rules, in the order they are checked (the first broken one is answered):

1. ``api-version``. Deployments API: missing, the 404 ``Resource not found`` above (the real
   service answers a missing version so: MicrosoftDocs/azure-docs#114602, deepchat#262); not a
   date ``YYYY-MM-DD`` with an optional ``-preview``, 400 ``{"error": {"code": "BadRequest",
   "message": "API version not supported"}}``. v1 API: none needed; a dated one gets that same
   400 (openai/codex#3725 shows it for ``/openai/v1/...?api-version=2025-01-01-preview``);
   ``preview`` and ``latest`` are accepted (**unverified**: the values of the v1 preview).
2. Auth (unless ``Emulator(require_auth=False)``): exactly one of ``api-key: <key>`` (any
   non-empty key) and ``Authorization: Bearer <token>`` (any non-empty token: a Microsoft Entra
   ID token in real life). Neither, or a malformed ``Authorization``: 401 ``{"statusCode": 401,
   "message": "Unauthorized. Access token is missing, invalid, audience is incorrect
   (https://cognitiveservices.azure.com), or have expired."}`` (note: no ``error`` object; the
   shape and wording are in many user reports against ``*.openai.azure.com``, that a request
   with no credential at all gets it is **unverified**). An empty ``api-key``: 401 ``{"error":
   {"code": "401", "message": "Access denied due to invalid subscription key or wrong API
   endpoint. ..."}}`` (the invalid-key answer; reported with its ``apim-request-id`` header).
   Both headers: 400 ``invalid_request_error`` saying to send one. What the real service does
   with both is **unverified** (openai-python never sends both); the emulator refuses so a test
   catches a client that does.
3. Chat bodies: everything the OpenAI dialect checks (``openai.check_chat``), with the model
   taken from the path on the deployments API; on the v1 API ``model`` is required as on OpenAI.

Headers of every answer: ``apim-request-id`` (a UUID derived from the emulator's request number,
see :func:`apim_request_id`), ``strict-transport-security``, ``azureml-model-session``
(recorded), ``x-content-type-options``, ``x-ms-region`` and ``x-ratelimit-remaining-requests`` /
``-tokens`` (seen in user reports: openai/openai-python#937, Azure/azure-rest-api-specs#26884).
No ``x-request-id`` and no ``openai-*`` headers: the recording has none, and an openai-python
error from Azure shows ``request_id`` None.

Rendering a :class:`Reply` (OpenAI's shapes with Azure's additions):

* Whole answers: ``chat.completion`` like the OpenAI dialect, plus ``prompt_filter_results:
  [{"prompt_index": 0, "content_filter_results": {...}}]`` (``hate``, ``jailbreak``
  ``{filtered, detected}``, ``self_harm``, ``sexual``, ``violence``) and per choice
  ``content_filter_results`` (``hate``, ``protected_material_code``, ``protected_material_text``,
  ``self_harm``, ``sexual``, ``violence``); every verdict ``{"filtered": false, "severity":
  "safe"}`` or ``{"filtered": false, "detected": false}``. No ``service_tier`` and no
  ``message.annotations``. Keys are sorted, as Azure sends them.
* Finish reason ``content_filter``: the choice's results flag one category ``{"filtered": true,
  "severity": "medium"}`` (``hate``: a Reply cannot name the category of a filtered completion
  yet).
* Streams: first a chunk with ``choices: []``, ``id: ""``, ``model: ""``, ``object: ""``,
  ``created: 0`` and only ``prompt_filter_results``; then the role chunk (``delta: {"content":
  "", "refusal": null, "role": "assistant"}``, ``content_filter_results: {}``), one chunk per
  word whose choice carries ``content_filter_results`` with the four severity categories, the
  tool-call fragments (OpenAI's pattern, ``content_filter_results: {}``), the finish chunk
  (``delta: {}``, ``content_filter_results: {}``, or the flagged results when the finish reason
  is ``content_filter``), the usage chunk (``choices: []``) when ``stream_options.include_usage``
  is true (then every chunk has ``usage: null`` as on OpenAI), and ``data: [DONE]``. No
  ``obfuscation``, no ``service_tier``. ``Reply.stream_error`` ends the stream after the text
  with OpenAI's ``data: {"error": {...}}``.
* ``Reply.thinking`` is never sent: Azure's Chat Completions return no reasoning text
  (``Emulator(openai_reasoning_field=...)`` concerns the OpenAI dialect only).
* ``Reply.prompt_blocked`` (a category such as ``"violence"``, or True for ``hate``): HTTP 400
  before anything is generated, streamed request or not: ``{"error": {"message": "The response
  was filtered due to the prompt triggering Azure OpenAI's content management policy. ...",
  "type": null, "param": "prompt", "code": "content_filter", "status": 400, "innererror":
  {"code": "ResponsibleAIPolicyViolation", "content_filter_result": {...}}}}`` where the named
  category is ``{"filtered": true, "severity": "medium"}`` (``jailbreak`` and the other
  detection categories: ``{"filtered": true, "detected": true}``) and the rest are safe. A
  scripted ``Reply(status=400, error_code="content_filter")`` gets the same body (category
  ``hate``).

Errors: the real service answers in two shapes, and so does the emulator.

* Azure's front door (401, 403, 404, 408, 429 and the api-version 400): ``{"error": {"code":
  "<status>", "message": ...}}`` with the code as a string (``"Timeout"`` for 408), or
  ``Reply.error_code`` when given (``DeploymentNotFound``, ...). Default messages: 401 the
  invalid-key one, 404 ``Resource not found``, 429 Azure's token rate-limit wording (without its
  "retry after N seconds"), 403 ``Access denied due to Virtual Network/Firewall rules.`` and 408
  ``The operation was timeout.`` (the last two **unverified**).
* Everything else (400, 409, 413, 422, 5xx), and any error with a ``Reply.error_type``: OpenAI's
  ``{"error": {"message", "type", "param", "code"}}`` with the OpenAI dialect's defaults.
* Scripted ``Reply.headers`` (``retry-after``, ``retry-after-ms``, ...) are sent as given, as on
  the OpenAI dialect; no retry header is added by default.

Verified by the recording ``tests/fixtures/azure/chat_completion_content_filter_results.vcr.yaml``:
the deployments URL with ``api-version``, the whole answer's shape (filter results included) and
the headers ``apim-request-id``, ``azureml-model-session``, ``strict-transport-security``. From
third-party captures of the real service (not recordings in this repository): the blocked-prompt
400 body (Mirascope/mirascope ``test_refusal`` snapshots, also for a streamed request) and the
stream's chunks (an ``@azure/openai`` stream dump in dto-btn/ssc-assistant, Microsoft's
content-streaming docs). Everything else marked above is from WIRE.md or user reports.
"""
import hashlib
import re
import uuid
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence

from .._contract import Violation
from .._render import Context, dumps, split_fixed, text_events
from .._choices import choice_count
from .._reply import Reply
from .._request import RecordedRequest
from ._base import Answer, Dialect, Route
from .openai import (
    FINGERPRINT,
    OpenAI,
    _completion_id,
    _event,
    _finish_reason,
    _opening_fragment,
    _tool_calls,
    _usage_object,
    check_chat,
)

_DATED_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}(-preview)?$")
_V1_VERSIONS = ("preview", "latest")

SEVERITY_CATEGORIES = ("hate", "self_harm", "sexual", "violence")
"""Categories judged by severity (``{"filtered", "severity"}``)."""
PROMPT_CATEGORIES = ("hate", "jailbreak", "self_harm", "sexual", "violence")
"""The categories of ``prompt_filter_results`` (as recorded)."""
COMPLETION_CATEGORIES = ("hate", "protected_material_code", "protected_material_text", "self_harm",
                         "sexual", "violence")
"""The categories of a whole answer's ``choices[].content_filter_results`` (as recorded)."""
DEFAULT_CATEGORY = "hate"
"""The category flagged when a Reply does not name one."""

BLOCKED_PROMPT_MESSAGE = (
    "The response was filtered due to the prompt triggering Azure OpenAI's content management "
    "policy. Please modify your prompt and retry. To learn more about our content filtering "
    "policies please read our documentation: https://go.microsoft.com/fwlink/?linkid=2198766")
INVALID_KEY_MESSAGE = (
    "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a "
    "valid key for an active subscription and use a correct regional API endpoint for your "
    "resource.")
TOKEN_MESSAGE = ("Unauthorized. Access token is missing, invalid, audience is incorrect "
                 "(https://cognitiveservices.azure.com), or have expired.")

# Violation.type markers choosing the body shape (never sent: error_body reads them).
_FRONT_DOOR = "azure:front-door"  # {"error": {"code", "message"}}
_TOKEN_SHAPE = "azure:token"  # {"statusCode", "message"}

_FRONT_DOOR_STATUSES = {401: "401", 403: "403", 404: "404", 408: "Timeout", 429: "429"}
_FRONT_DOOR_MESSAGES = {
    401: INVALID_KEY_MESSAGE,
    403: "Access denied due to Virtual Network/Firewall rules.",
    404: "Resource not found",
    408: "The operation was timeout.",
    429: "Requests to the ChatCompletions_Create Operation under Azure OpenAI API have exceeded "
         "token rate limit of your current OpenAI S0 pricing tier. Please retry later. Please go "
         "here: https://aka.ms/oai/quotaincrease if you would like to further increase the "
         "default rate limit.",
}


def apim_request_id(request_id: str) -> str:
    """The ``apim-request-id`` (a UUID) of the answer to the emulator's request ``req_<n>``."""
    digest = hashlib.sha256(b"llmunified-emulator-apim\x00" + request_id.encode("utf-8")).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def filter_verdicts(categories: Sequence[str], flagged: Optional[str] = None) -> Dict[str, Any]:
    """Content-filter results for ``categories``, all safe except ``flagged`` (sorted keys)."""
    out: Dict[str, Any] = {}
    for name in sorted(set(categories) | ({flagged} if flagged else set())):
        hit = name == flagged
        if name in SEVERITY_CATEGORIES:
            out[name] = {"filtered": hit, "severity": "medium" if hit else "safe"}
        else:
            out[name] = {"detected": hit, "filtered": hit}
    return out


def blocked_category(value: Any) -> str:
    """The category a ``Reply.prompt_blocked`` names (``True``: the default one)."""
    if not isinstance(value, str) or not value.strip():
        return DEFAULT_CATEGORY
    name = value.strip().lower().replace("-", "_").replace(" ", "_")
    return "self_harm" if name == "selfharm" else name


_OPENAI = OpenAI()


class Azure(Dialect):
    """Azure OpenAI: the OpenAI dialect's contract and rendering on Azure's routes, auth, headers,
    content-filter results and error shapes (see the module's notes)."""

    name = "azure"
    aliases = ("azure-openai", "azureopenai")
    base_path = ""
    routes = (Route("POST", "/openai/deployments/{deployment}/chat/completions", "chat"),
              Route("POST", "/openai/v1/chat/completions", "chat"),
              Route("GET", "/openai/models", "models"),
              Route("GET", "/openai/v1/models", "models"),
              Route("POST", "/openai/deployments/{deployment}/embeddings", "embed"),
              Route("POST", "/openai/v1/embeddings", "embed"),
              # batch jobs (a Global Batch deployment): llmunified/testing/_batches.py
              *(Route(method, root + path, endpoint) for root in ("/openai", "/openai/v1")
                for method, path, endpoint in (
                    ("POST", "/files", "batch_file_upload"), ("GET", "/files/{file_id}/content", "batch_file_content"),
                    ("POST", "/batches", "batch_create"), ("GET", "/batches", "batch_list"),
                    ("GET", "/batches/{batch_id}", "batch_get"), ("POST", "/batches/{batch_id}/cancel", "batch_cancel"))))

    def embeddings(self, request: RecordedRequest) -> Answer:
        from .. import _embeddings

        return _embeddings.openai(self, request, request.params.get("deployment"))
    path_prefixes = ("/openai/",)
    default_models = ("gpt-4o", "gpt-4o-mini", "gpt-4.1-nano")
    error_messages = OpenAI.error_messages
    error_types = OpenAI.error_types

    # ---- routing -------------------------------------------------------------------------------
    def claims(self, headers: Mapping[str, str]) -> bool:
        return "api-key" in headers

    # ---- requests ------------------------------------------------------------------------------
    def check(self, request: RecordedRequest, json_error: Optional[str],
              require_auth: bool) -> List[Violation]:
        out = _check_version(request)
        if out:
            return out
        out = check_auth(request.headers) if require_auth else []
        if not out and request.endpoint == "chat":
            body = request.json
            deployment = request.params.get("deployment")
            if deployment is not None and isinstance(body, dict):
                body = dict(body, model=deployment)  # the path names the model, not the body
            out = check_chat(body, json_error)
        return out

    # ---- headers and errors --------------------------------------------------------------------
    def base_headers(self, request_id: str) -> Dict[str, str]:
        return {
            "apim-request-id": apim_request_id(request_id),
            "azureml-model-session": "v20250225-1-161802030",
            "strict-transport-security": "max-age=31536000; includeSubDomains; preload",
            "x-content-type-options": "nosniff",
            "x-ms-region": "East US",
            "x-ratelimit-remaining-requests": "9999",
            "x-ratelimit-remaining-tokens": "999990",
        }

    def error_body(self, status: int, message: Optional[str], type_: Optional[str] = None,
                   code: Optional[str] = None, param: Optional[str] = None,
                   request_id: str = "") -> bytes:
        if type_ == _TOKEN_SHAPE:
            return dumps({"statusCode": status, "message": message or TOKEN_MESSAGE})
        if status == 400 and code == "content_filter" and type_ is None:
            return blocked_prompt_body(DEFAULT_CATEGORY, message)
        if type_ == _FRONT_DOOR or (type_ is None and status in _FRONT_DOOR_STATUSES):
            default = _FRONT_DOOR_MESSAGES.get(status, self.error_message(status, None))
            return dumps({"error": {"code": code or _FRONT_DOOR_STATUSES.get(status, str(status)),
                                    "message": message if message is not None else default}})
        return _OPENAI.error_body(status, message, type_, code, param, request_id)

    def not_found(self, request: RecordedRequest, request_id: str) -> Answer:
        return Answer(404, self.error_body(404, None), self.json_content_type)

    def models_body(self, models: Sequence[str]) -> Dict[str, Any]:
        return _OPENAI.models_body(models)

    # ---- answers -------------------------------------------------------------------------------
    def answer_with_reply(self, request: RecordedRequest, reply: Reply,
                          ctx: Context) -> Optional[Answer]:
        """Azure refuses a blocked prompt before generating: HTTP 400, streamed request or not.

        The server asks this once the reply is known (``Dialect.answer_with_reply``). A server
        that does not ask renders such a reply as a normal answer instead, finishing with
        ``content_filter``."""
        if not reply.prompt_blocked or reply.is_error or reply.body is not None:
            return None
        return Answer(400, blocked_prompt_body(blocked_category(reply.prompt_blocked)),
                      self.json_content_type)

    def render(self, reply: Reply, ctx: Context) -> Dict[str, Any]:
        """The whole ``chat.completion`` body with Azure's filter results."""
        actx = _azure_context(ctx)
        out = _OPENAI.render(reply, actx)
        out.pop("service_tier", None)
        choice = out["choices"][0]
        choice["message"].pop("annotations", None)
        choice["content_filter_results"] = filter_verdicts(COMPLETION_CATEGORIES,
                                                           _completion_flag(reply))
        out["prompt_filter_results"] = [_prompt_filter_result()]
        return _sorted(out)

    def events(self, reply: Reply, ctx: Context) -> Iterator[bytes]:
        """The SSE events of a streamed completion, each one fully framed."""
        actx = _azure_context(ctx)
        if choice_count(actx.body.get("n")) > 1:  # n > 1: the answers interleaved, OpenAI's chunks
            return _OPENAI.events(reply, actx)
        return self._events_one(reply, actx)

    def _events_one(self, reply: Reply, actx: Context) -> Iterator[bytes]:
        options = actx.body.get("stream_options")
        include_usage = isinstance(options, dict) and options.get("include_usage") is True
        head = {"created": actx.created, "id": _completion_id(reply, actx),
                "model": actx.model(reply), "object": "chat.completion.chunk",
                "system_fingerprint": FINGERPRINT}

        def frame(obj: Dict[str, Any]) -> bytes:
            if include_usage and "usage" not in obj:
                obj["usage"] = None
            return _event(dumps(_sorted(obj)))

        def chunk(delta: Dict[str, Any], filters: Dict[str, Any],
                  finish: Optional[str] = None) -> bytes:
            return frame(dict(head, choices=[{"content_filter_results": filters, "delta": delta,
                                              "finish_reason": finish, "index": 0,
                                              "logprobs": None}]))

        # Azure's own first chunk: the prompt's verdicts, nothing else (recorded).
        yield frame({"choices": [], "created": 0, "id": "", "model": "", "object": "",
                     "prompt_filter_results": [_prompt_filter_result()]})

        calls = _tool_calls(reply, actx)
        first: Dict[str, Any] = {"role": "assistant", "refusal": None}
        opening_call = not reply.text and bool(calls) and not reply.stream_error
        if opening_call:
            first["content"] = None
            first["tool_calls"] = [_opening_fragment(0, calls[0])]
        else:
            first["content"] = ""
        yield chunk(first, {})

        safe = filter_verdicts(SEVERITY_CATEGORIES)
        for event in text_events(reply, lambda piece: chunk({"content": piece}, safe)):
            yield event

        if reply.stream_error is not None:
            err = _OPENAI.error_object(500, reply.stream_error,
                                       reply.error_type or "server_error", reply.error_code)
            yield _event(dumps({"error": err}))
            return

        for index, call in enumerate(calls):
            if not (opening_call and index == 0):
                yield chunk({"tool_calls": [_opening_fragment(index, call)]}, {})
            for piece in split_fixed(call["function"]["arguments"], 12):
                yield chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]},
                            {})

        flagged = _completion_flag(reply)
        yield chunk({}, filter_verdicts(SEVERITY_CATEGORIES, flagged) if flagged else {},
                    _finish_reason(reply))
        if include_usage:
            yield frame(dict(head, choices=[], usage=_usage_object(reply, actx)))
        yield _event(b"[DONE]")


# ---- helpers -------------------------------------------------------------------------------------

def blocked_prompt_body(category: str, message: Optional[str] = None) -> bytes:
    """The 400 body of a prompt the content filter refused (key order as the service sends)."""
    return dumps({"error": {
        "message": message if message is not None else BLOCKED_PROMPT_MESSAGE,
        "type": None,
        "param": "prompt",
        "code": "content_filter",
        "status": 400,
        "innererror": {"code": "ResponsibleAIPolicyViolation",
                       "content_filter_result": filter_verdicts(PROMPT_CATEGORIES, category)},
    }})


def _prompt_filter_result() -> Dict[str, Any]:
    return {"prompt_index": 0, "content_filter_results": filter_verdicts(PROMPT_CATEGORIES)}


def _completion_flag(reply: Reply) -> Optional[str]:
    return DEFAULT_CATEGORY if _finish_reason(reply) == "content_filter" else None


def _azure_context(ctx: Context) -> Context:
    """``ctx`` for rendering: on the deployments API the model is the deployment (the body's
    ``model`` is ignored), and no reasoning text is ever sent."""
    body, params = ctx.body, dict(ctx.params)
    deployment = params.get("deployment")
    if deployment is not None:
        body = {k: v for k, v in body.items() if k != "model"}
        params["model"] = deployment
    out = Context(body, ctx.request_id, ctx.seq, None, ctx.ollama_legacy_tool_calls, params)
    out.created = ctx.created
    return out


def _sorted(value: Any) -> Any:
    """``value`` with every object's keys in sorted order (Azure sends them sorted)."""
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


# ---- contract checks -----------------------------------------------------------------------------

def _check_version(request: RecordedRequest) -> List[Violation]:
    query = request.query_params
    version = query.get("api-version")
    if request.path.startswith("/openai/v1/"):
        if version is None or version in _V1_VERSIONS:
            return []
    elif version is None:
        return [Violation(404, "Resource not found", type_=_FRONT_DOOR)]
    elif _DATED_VERSION.match(version):
        return []
    return [Violation(400, "API version not supported", code="BadRequest", type_=_FRONT_DOOR)]


def check_auth(headers: Mapping[str, str]) -> List[Violation]:
    """Exactly one of ``api-key`` and ``Authorization: Bearer``, non-empty."""
    has_key, has_auth = "api-key" in headers, "authorization" in headers
    if has_key and has_auth:
        return [Violation(
            400, "Send exactly one credential: the 'api-key' header or 'Authorization: Bearer "
                 "<token>', not both (the llmunified emulator refuses both; what Azure does with "
                 "them is not known).", type_="invalid_request_error")]
    if has_key:
        if not headers["api-key"].strip():
            return [Violation(401, INVALID_KEY_MESSAGE, code="401", type_=_FRONT_DOOR)]
        return []
    scheme, _, token = (headers.get("authorization") or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return [Violation(401, TOKEN_MESSAGE, type_=_TOKEN_SHAPE)]
    return []
