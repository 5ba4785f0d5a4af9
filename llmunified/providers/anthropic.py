"""Anthropic Messages API (``POST /v1/messages``). Wire facts: docs/wire.md §3."""
from __future__ import annotations
import json
import logging
import re
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Tuple

from .._options import Options, deep_merge
from .._reasoning import CacheSpec, budget_for
from .._types import ImagePart, Message, ModelInfo, Response, TextPart, ThinkingPart, ToolCall, ToolResult, Usage
from ..errors import APIError, LLMError, ValidationError, error_for_status
from .._http import HTTPRequest
from .._registry import Auth, ProviderInfo
from ._base import (Codec, SSEStreamDecoder, body_text, decode_json, emit, epoch_seconds, int_or_none, malformed,
                    new_conversation, shape_guard)
from ._base import count_of
from ._base import new_accumulator

if TYPE_CHECKING:  # the stream machinery loads with the first stream or accumulated reply
    from .._events import Accumulator, StreamEvent
    from .._sse import SSEEvent

__all__ = ["AnthropicCodec", "AnthropicStream", "map_stop_reason", "map_usage", "encode_messages",
           "STATUS_BY_ERROR_TYPE", "MIN_THINKING_BUDGET", "MAX_CACHE_BREAKPOINTS"]

_log = logging.getLogger("llmunified")
_CUSTOM_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # Message Batches' custom_id rule

API_VERSION = "2023-06-01"

#: the smallest ``thinking.budget_tokens`` the API takes (docs/wire.md §3 Extended thinking)
MIN_THINKING_BUDGET = 1024
#: blocks with ``cache_control`` one request may carry (the API's 400 names the limit:
#: "A maximum of 4 blocks with cache_control may be provided")
MAX_CACHE_BREAKPOINTS = 4

_STOP = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
    "pause_turn": "other",
}

#: Anthropic ``error.type`` -> the HTTP status it stands for (platform docs, "Errors"). Used for
#: errors that arrive without a status of their own: an ``error`` event inside a 200 stream.
STATUS_BY_ERROR_TYPE = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}


def map_stop_reason(value: Optional[str]) -> Optional[str]:
    """Anthropic ``stop_reason`` -> unified finish reason (docs/wire.md §0.4); None stays None."""
    if value is None:
        return None
    return _STOP.get(value, "other")


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0
    return int(value)


def map_usage(u: Mapping[str, Any]) -> Usage:
    """Anthropic usage -> Usage (docs/wire.md §0.5). ``input_tokens`` leaves cached tokens out, so
    the unified input figure adds the cache reads and writes back in."""
    uncached = _count(u.get("input_tokens"))
    written = _count(u.get("cache_creation_input_tokens"))
    read = _count(u.get("cache_read_input_tokens"))
    output = _count(u.get("output_tokens"))
    details = u.get("output_tokens_details")
    reasoning = _count(details.get("thinking_tokens")) if isinstance(details, dict) else 0
    prompt = uncached + written + read
    return Usage(prompt, output, prompt + output, read, written, reasoning)


# -- request ---------------------------------------------------------------------------------

def _image(p: ImagePart) -> Dict[str, Any]:
    if p.data:
        source: Dict[str, Any] = {"type": "base64", "media_type": p.media_type, "data": p.data}
    else:
        source = {"type": "url", "url": p.url}
    return {"type": "image", "source": source}


def _blocks(m: Message) -> List[Dict[str, Any]]:
    out: List[Dict[str, Any]] = []
    for p in m.parts:
        if isinstance(p, TextPart):
            if p.text:  # the API rejects empty text blocks
                out.append({"type": "text", "text": p.text})
        elif isinstance(p, ImagePart):
            out.append(_image(p))
        elif isinstance(p, ToolCall):
            out.append({"type": "tool_use", "id": p.id, "name": p.name, "input": p.arguments})
        elif isinstance(p, ToolResult):
            block: Dict[str, Any] = {"type": "tool_result", "tool_use_id": p.tool_call_id, "content": p.text}
            if p.is_error:
                block["is_error"] = True
            out.append(block)
        elif isinstance(p, ThinkingPart):
            if p.redacted:
                out.append({"type": "redacted_thinking", "data": p.data or ""})
            elif p.signature:
                out.append({"type": "thinking", "thinking": p.text, "signature": p.signature})
            # An unsigned thinking part came from another provider (or a stream cut off before
            # its signature): Anthropic verifies the signature and would reject the turn.
    return out


def _as_blocks(content: Any) -> List[Dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    return content


def _encode_run(run: List[Message], role: str) -> Dict[str, Any]:
    """The one wire turn of consecutive (system messages aside) messages of one role."""
    entry: Dict[str, Any] = {}
    for m in run:
        content: Any = m.content if isinstance(m.content, str) else _blocks(m)
        if entry:
            merged = _as_blocks(entry["content"]) + _as_blocks(content)
            if role == "user":
                # The tool-use guide: in the user turn answering tool calls, tool_result blocks
                # must come first and any text after them.
                merged = ([b for b in merged if b.get("type") == "tool_result"]
                          + [b for b in merged if b.get("type") != "tool_result"])
            entry["content"] = merged
        else:
            entry = {"role": role, "content": content}
    return entry


def _mark_last_block(entry: Dict[str, Any], control: Dict[str, Any]) -> Dict[str, Any]:
    """The turn with ``cache_control`` on its last block that can carry one (not thinking, not
    empty text); the turn itself when it has none. Block dicts are copied, never changed."""
    content = entry["content"]
    blocks = _as_blocks(content) if isinstance(content, str) else list(content)
    for i in range(len(blocks) - 1, -1, -1):
        block = blocks[i]
        if block.get("type") in ("thinking", "redacted_thinking") or (block.get("type") == "text"
                                                                       and not block.get("text")):
            continue
        blocks[i] = dict(block, cache_control=control)
        return {"role": entry["role"], "content": blocks}
    return entry


def encode_messages(messages: List[Message], cache_control: Optional[Dict[str, Any]] = None
                    ) -> Tuple[Optional[str], List[Dict[str, Any]]]:
    """(system prompt, wire messages); with ``cache_control``, the last turn's last block
    carries it (a prompt-caching breakpoint on the latest turn).

    System and developer messages are lifted to the top-level ``system`` wherever they are
    (the API has no system role). Tool messages become user turns of ``tool_result`` blocks.
    Consecutive turns of one role are merged, so the results of several tool messages form the
    single user turn the API requires right after the assistant's ``tool_use`` blocks.

    A conversation encoded before is resumed after its older turns (``llmunified._wirecache``);
    the last turn stays open, as a message appended next may join it (and is the one that may
    carry ``cache_control``: kept turns are never changed).
    """
    conversation = new_conversation(messages, "anthropic", names=False)  # Message.name is not sent
    if conversation.state is not None:
        # The kept turns end where a turn of the other role began; a message there now that
        # would join the last kept turn means encoding them again.
        after = next((m for m in conversation.pending() if m.role not in ("system", "developer")), None)
        if after is not None and ("assistant" if after.role == "assistant" else "user") == conversation.state[1]:
            conversation.restart()
        elif after is None and cache_control is not None:
            conversation.restart()  # the last turn is a kept one: encode it again, open, to mark it
    system: List[str] = list(conversation.state[0] if conversation.state else ())  # the older turns' system texts
    run: List[Message] = []  # the turn being collected
    role = last = ""
    run_start = kept = 0
    for i, m in enumerate(conversation.pending(), conversation.start):
        if m.role in ("system", "developer"):
            text = m.text
            if text:
                system.append(text)
            continue
        wire_role = "assistant" if m.role == "assistant" else "user"
        if run and wire_role == role:
            run.append(m)
            continue
        if run:
            conversation.add([_encode_run(run, role)])
            last = role
        run, role, run_start, kept = [m], wire_role, i, len(system)
    if run:
        # (the kept turns' system texts, the role of the last kept turn)
        conversation.close(run_start, (tuple(system[:kept]), last or (conversation.state or ((), ""))[1]))
        entry = _encode_run(run, role)
        conversation.add([_mark_last_block(entry, cache_control) if cache_control is not None else entry])
    else:
        conversation.close(len(messages), (tuple(system), last or (conversation.state or ((), ""))[1]))
    return ("\n\n".join(system) if system else None), conversation.result()


class AnthropicCodec(Codec):
    """Anthropic Messages.

    - ``max_tokens`` is required by the API; when the caller gives none,
      :attr:`default_max_tokens` is sent.
    - ``seed`` has no Anthropic counterpart: it is dropped (logged at debug level on the
      ``llmunified`` logger) rather than failing a call that other providers would accept.
    - ``temperature`` is passed through as given; Anthropic accepts 0-1 and answers 400 above.
    - ``reasoning=`` is ``thinking: {"type": "enabled", "budget_tokens": N}``: a budget as
      given, a level by ``llmunified._reasoning``'s table (minimal 1,024, low 2,048, medium
      8,192, high 24,576); ``False`` is ``{"type": "disabled"}``. The API's rules for thinking
      are checked before anything is sent (docs/wire.md §3 Extended thinking), each a
      ValidationError saying what to change: a budget of at least 1,024 tokens; ``max_tokens``
      above the budget (thinking counts toward it; when the caller set no ``max_tokens`` it is
      the budget plus :attr:`default_max_tokens`); no ``temperature`` other than 1 and no
      ``top_p`` below 0.95; no forced tool (``tool_choice`` ``"required"`` or a tool name, and
      so no ``response_format``, which is a forced tool here). Thinking blocks of earlier turns
      are sent back unchanged (signature included) as the API requires. Newer models' adaptive
      thinking (``{"type": "adaptive"}`` with ``output_config.effort``) goes through ``extra``.
    - ``cache=`` places ``cache_control: {"type": "ephemeral"}`` breakpoints (with ``ttl`` when
      the spec has one) on the last tool (``"tools"``), the system prompt (``"system"``, sent as
      one text block) and the last block of the latest turn (``"conversation"``): the cached
      prefix then grows with the conversation, and each request reads what the one before
      wrote (the API looks for earlier cache entries up to about 20 blocks back). That is at
      most 3 of the 4 breakpoints a request may carry; breakpoints the caller placed through
      ``extra`` count too, and when there would be more than 4, ours go first the tools', then
      the system's, then the conversation's.
    """

    protocol = "anthropic"
    thinking_replay = "signed"  # Anthropic verifies signatures: only signed thinking goes back
    # docs/wire.md §3 Other endpoints: no embeddings endpoint; Anthropic points to Voyage AI
    no_embeddings = ("Anthropic has no embeddings endpoint (it recommends Voyage AI); embed with another "
                     "provider, e.g. llm.Client('openai/text-embedding-3-small'), 'gemini/gemini-embedding-001', "
                     "'cohere/embed-v4.0' or 'ollama/nomic-embed-text'")
    structured_mode = "tool"
    # The Messages API: the first turn must be the user's; every turn but a final assistant one
    # must have content, and text blocks non-whitespace text (docs/wire.md §3 Request body); with
    # thinking on, no temperature but 1 (docs/wire.md §3 Extended thinking, checked in _thinking
    # too). System prompts and runs of one role the encoder joins itself.
    default_capabilities = {"first_assistant": False, "empty_content": False, "temperature_with_reasoning": False}
    #: sent as ``max_tokens`` when the caller set none (the API has no default of its own)
    default_max_tokens = 4096
    #: the ``anthropic-version`` header; None for a host that takes the version in the body
    version_header: Optional[str] = API_VERSION

    def __init__(self, config: Any, model: str) -> None:
        super().__init__(config, model)
        # OpenAI-style base URLs end in /v1; the Anthropic SDK's do not. Accept both.
        self._path = "/messages" if config.base_url.rstrip("/").endswith("/v1") else "/v1/messages"

    def chat_request(self, messages: List[Message], options: Options, stream: bool) -> HTTPRequest:
        cache: Optional[CacheSpec] = options.cache
        control = _cache_control(cache) if cache is not None and cache.breakpoints else None
        points = cache.breakpoints if control is not None else ()  # type: ignore[union-attr]
        system, wire = encode_messages(messages, control if "conversation" in points else None)
        ours: List[Tuple[str, Dict[str, Any]]] = []  # (breakpoint, the dict carrying our cache_control)
        if "conversation" in points and wire and isinstance(wire[-1].get("content"), list):
            ours.extend(("conversation", b) for b in wire[-1]["content"] if b.get("cache_control") is control)
        body: Dict[str, Any] = {
            "model": self.model,
            "max_tokens": options.max_tokens if options.max_tokens is not None else self.default_max_tokens,
            "messages": wire,
        }
        if system is not None:
            if "system" in points:
                block = {"type": "text", "text": system, "cache_control": control}
                body["system"] = [block]
                ours.append(("system", block))
            else:
                body["system"] = system
        if options.temperature is not None:
            body["temperature"] = options.temperature
        if options.top_p is not None:
            body["top_p"] = options.top_p
        if options.stop:
            body["stop_sequences"] = list(options.stop)
        if options.seed is not None:
            _log.debug("anthropic: the Messages API has no seed; seed=%r not sent", options.seed)
        if options.tools:
            tools = []
            for t in options.tools:
                spec: Dict[str, Any] = {"name": t.name}
                if t.description:
                    spec["description"] = t.description
                spec["input_schema"] = t.parameters
                tools.append(spec)
            body["tools"] = tools
        choice = self._tool_choice(options)
        if options.response_format is not None:
            # Structured output as one forced tool whose input schema is the wanted schema: it
            # works on every tool-capable Claude model (docs/wire.md §3 Request body, "Fallback ... forced tool use").
            output = options.response_format
            body.setdefault("tools", []).append({
                "name": output.name, "description": "Give the answer as this structured output.",
                "input_schema": output.wire_schema(self.structured_dialect(output)).schema})
            choice = {"type": "tool", "name": output.name}
        if choice is not None:
            body["tool_choice"] = choice
        if options.reasoning is not None:
            self._thinking(body, options)
        if "tools" in points and body.get("tools"):
            body["tools"][-1]["cache_control"] = control
            ours.append(("tools", body["tools"][-1]))
        if stream:
            body["stream"] = True
        body = self.adapt_body(body)
        if options.extra:
            body = deep_merge(body, options.extra)
            if control is not None:
                _fit_breakpoints(body, ours)
        headers = {"content-type": "application/json"}
        if self.version_header:
            headers["anthropic-version"] = self.version_header
        headers["accept"] = "text/event-stream" if stream else "application/json"
        return self.request("POST", self.request_path(stream), headers, body, stream)

    def _thinking(self, body: Dict[str, Any], options: Options) -> None:
        """``reasoning=`` as ``thinking``, with the API's rules checked (the class docstring)."""
        reasoning = options.reasoning
        if reasoning is False:
            body["thinking"] = {"type": "disabled"}
            return
        budget = budget_for(reasoning)  # type: ignore[arg-type]  # a level or a budget here
        where = f"{self.provider}/{self.model} with reasoning={reasoning!r}"
        if budget < MIN_THINKING_BUDGET:
            raise ValidationError(f"{where}: Anthropic's thinking budget must be at least {MIN_THINKING_BUDGET} "
                                  f"tokens; pass reasoning={MIN_THINKING_BUDGET} or more, or an effort level")
        if options.max_tokens is None:
            body["max_tokens"] = budget + self.default_max_tokens
        elif options.max_tokens <= budget:
            raise ValidationError(
                f"{where}: max_tokens ({options.max_tokens}) must be greater than the thinking budget ({budget}): "
                "on Anthropic thinking counts toward max_tokens. Raise max_tokens, lower the budget, or leave "
                f"max_tokens out (then the budget plus {self.default_max_tokens} is sent)")
        if options.temperature is not None and options.temperature != 1:
            raise ValidationError(f"{where}: Anthropic takes no temperature other than 1 with thinking on; "
                                  "drop temperature (or set it to 1), or drop reasoning")
        if options.top_p is not None and options.top_p < 0.95:
            raise ValidationError(f"{where}: Anthropic takes top_p only from 0.95 to 1 with thinking on; "
                                  "drop top_p (or raise it), or drop reasoning")
        if options.response_format is not None:
            raise ValidationError(f"{where}: structured output on Anthropic is a forced tool call, which the API "
                                  "refuses with thinking on; drop reasoning for this call")
        if options.tool_choice not in (None, "auto", "none"):
            raise ValidationError(f"{where}: Anthropic refuses a forced tool (tool_choice={options.tool_choice!r}) "
                                  "with thinking on; use tool_choice='auto' or drop reasoning")
        body["thinking"] = {"type": "enabled", "budget_tokens": budget}

    # -- hooks for hosts of the Messages API with their own URLs (docs/wire.md §4) --------------
    def request_path(self, stream: bool) -> str:
        """The path a chat request is sent to (below the base URL)."""
        return self._path

    def adapt_body(self, body: Dict[str, Any]) -> Dict[str, Any]:
        """The request body as this host takes it, before the caller's ``extra`` is merged in
        (the Messages API: as built)."""
        return body

    # -- batch jobs (Client.batch; llmunified._batch): Message Batches ------------------------------
    # POST /v1/messages/batches {"requests": [{"custom_id", "params": <a Messages body>}]}; GET
    # .../batches/{id} (processing_status in_progress | canceling | ended); results_url: JSONL of
    # {"custom_id", "result": {"type": succeeded | errored | canceled | expired, ...}}; POST .../cancel.
    def _batch_headers(self, content: bool = False) -> Dict[str, str]:
        headers = {"accept": "application/json"}
        if content:
            headers["content-type"] = "application/json"
        if self.version_header:
            headers["anthropic-version"] = self.version_header
        return headers

    def batch_line(self, custom_id: str, request: HTTPRequest) -> bytes:
        from .._batch import json_str, wrap_body

        if not _CUSTOM_ID.match(custom_id):
            raise ValidationError(f"Anthropic batch custom ids are 1 to 64 letters, digits, '-' or '_'; "
                                  f"{custom_id!r} is not one")
        return wrap_body(b'{"custom_id":' + json_str(custom_id) + b',"params":', request.body, b"}")

    def batch_create_request(self, plan: Any, file_id: Optional[str]) -> HTTPRequest:
        body = b'{"requests":[' + b",".join(plan.lines) + b"]}"
        return self.request("POST", self._path + "/batches", self._batch_headers(True), body)

    @shape_guard
    def parse_batch(self, body: bytes, headers: Mapping[str, str]) -> Any:
        from .._batch import BatchCounts, BatchInfo

        data = decode_json(self.provider, body, headers=headers, what="message batch")
        state = data["processing_status"]
        counts = data.get("request_counts") or {}
        n = {k: int_or_none(counts.get(k)) or 0 for k in ("processing", "succeeded", "errored", "canceled", "expired")}
        if state == "in_progress":
            status = "in_progress"
        elif state == "canceling":
            status = "cancelling"
        elif state != "ended":
            raise TypeError(f"unknown processing_status {state!r}")
        elif data.get("cancel_initiated_at"):
            status = "cancelled"
        elif n["expired"] and not (n["succeeded"] or n["errored"]):
            status = "expired"
        else:
            status = "completed"
        return BatchInfo(data["id"], status, state,
                         BatchCounts(sum(n.values()) if counts else None, n["succeeded"] if counts else None,
                                     n["errored"] + n["canceled"] + n["expired"] if counts else None),
                         epoch_seconds(data.get("created_at")), {"results_url": data.get("results_url")}, None, data)

    def batch_get_request(self, job_id: str) -> HTTPRequest:
        from urllib.parse import quote

        return self.request("GET", self._path + "/batches/" + quote(job_id, safe=""), self._batch_headers())

    def batch_cancel_request(self, job_id: str) -> HTTPRequest:
        from urllib.parse import quote

        return self.request("POST", self._path + "/batches/" + quote(job_id, safe="") + "/cancel",
                            self._batch_headers())

    def batch_results_requests(self, info: Any) -> List[HTTPRequest]:
        url = info.output.get("results_url")
        if not isinstance(url, str) or not url:
            return []
        headers = self._batch_headers()
        headers["accept"] = "application/binary"
        return [self.request("GET", "", headers, base=url, stream=True)]

    def parse_batch_result(self, obj: Any, position: Optional[int]) -> Tuple[Optional[str], Optional[bytes], Any]:
        cid = obj.get("custom_id")
        result = obj.get("result") if isinstance(obj.get("result"), dict) else {}
        kind = result.get("type")
        if kind == "succeeded":
            return cid, json.dumps(result.get("message"), ensure_ascii=False).encode("utf-8"), None
        raw = json.dumps(obj, ensure_ascii=False)
        if kind == "errored":
            error = result.get("error") if isinstance(result.get("error"), dict) else {}
            message, etype, code = self.error_details(error)
            status = STATUS_BY_ERROR_TYPE.get(etype) if etype else None
            return cid, None, self.make_error(status, {}, message or "the request failed", etype, code, raw)
        why = {"canceled": "the batch was cancelled before this request ran",
               "expired": "the batch expired (24 hours) before this request ran"}.get(
            str(kind), f"unknown result type {kind!r}")
        return cid, None, self.make_error(None, {}, why, kind, kind, raw)

    # -- token counting (docs/wire.md §3 Other endpoints) ------------------------------------
    #: what ``POST /v1/messages/count_tokens`` takes of a Messages body: the body minus
    #: ``max_tokens``, ``stream`` and the sampling fields, which the endpoint refuses
    count_fields = ("anthropic_version", "model", "messages", "system", "tools", "tool_choice", "thinking")
    token_endpoint = True

    def count_tokens_request(self, messages: List[Message], options: Options) -> Optional[HTTPRequest]:
        body = self.chat_body(self.chat_request(messages, options, False))
        body = self.count_body({k: v for k, v in body.items() if k in self.count_fields})
        headers = {"content-type": "application/json", "accept": "application/json"}
        if self.version_header:
            headers["anthropic-version"] = self.version_header
        return self.request("POST", self.count_path(), headers, body)

    def count_path(self) -> str:
        """The path of the token-counting endpoint (below the base URL)."""
        return self._path + "/count_tokens"

    def count_body(self, body: Dict[str, Any]) -> Dict[str, Any]:
        """The token-counting body as this host takes it (the Messages API: as built)."""
        return body

    @shape_guard
    def parse_token_count(self, body: bytes, headers: Mapping[str, str]) -> Tuple[int, Dict[str, Any]]:
        # {"input_tokens": N} (docs/wire.md §3 Other endpoints)
        data = decode_json(self.provider, body, headers=headers, what="token count")
        return count_of(data, "input_tokens"), data

    # -- model listing -----------------------------------------------------------------------
    #: models asked for per page of GET /v1/models (the API's maximum; its default is 20)
    models_page_size = 1000

    def models_request(self, page_token: Optional[str] = None) -> HTTPRequest:
        # GET /v1/models?limit=&after_id= (docs/wire.md §3 Other endpoints)
        from urllib.parse import quote

        path = self._path[:-len("/messages")] + f"/models?limit={self.models_page_size}"
        if page_token is not None:
            path += "&after_id=" + quote(page_token, safe="")
        headers = {"accept": "application/json"}
        if self.version_header:
            headers["anthropic-version"] = self.version_header
        return self.request("GET", path, headers)

    @shape_guard
    def parse_models(self, body: bytes, headers: Mapping[str, str]) -> Tuple[List[ModelInfo], Optional[str]]:
        data, items = self.listing(body, headers, "data")
        models = []
        for item in items:
            ident = item["id"]
            if not isinstance(ident, str):
                raise TypeError(f"a model id is not a string: {ident!r}")
            name = item.get("display_name")
            models.append(ModelInfo(ident, self.provider, display_name=name if isinstance(name, str) else None,
                                    context_window=int_or_none(item.get("max_input_tokens")),
                                    max_output=int_or_none(item.get("max_tokens")),
                                    created=epoch_seconds(item.get("created_at")), raw=item))
        last = data.get("last_id") or (models[-1].id if models else None)
        return models, (last if data.get("has_more") is True and isinstance(last, str) else None)

    @staticmethod
    def _tool_choice(options: Options) -> Optional[Dict[str, Any]]:
        tc = options.tool_choice
        choice: Optional[Dict[str, Any]]
        if tc is None:
            choice = None
        elif tc in ("auto", "none"):
            choice = {"type": tc}
        elif tc == "required":
            choice = {"type": "any"}
        else:
            choice = {"type": "tool", "name": tc}
        if options.parallel_tool_calls is False and options.tools:
            if choice is None:
                choice = {"type": "auto"}
            if choice["type"] != "none":  # tool_choice none has no such field
                choice["disable_parallel_tool_use"] = True
        return choice

    # -- errors ------------------------------------------------------------------------------
    def error_details(self, data: Any) -> Tuple[Optional[str], Optional[str], Optional[str]]:
        if not isinstance(data, dict):
            return None, None, None
        err = data.get("error")
        if isinstance(err, str):
            return err, None, None
        if isinstance(err, dict):
            message = err.get("message")
            # Anthropic: {"type":"error","error":{"type","message"}}; the Google front end of
            # Vertex answers auth and quota failures as {"error":{"code","message","status"}}.
            etype = err.get("type") or err.get("status")
            return (message if isinstance(message, str) else None), (str(etype) if etype else None), None
        message = data.get("message")
        return (message if isinstance(message, str) else None), None, None

    stream_error_statuses = STATUS_BY_ERROR_TYPE

    def error_extras(self, err: APIError, data: Any) -> None:
        if err.request_id is None:
            # Error bodies repeat the request id (docs/wire.md §3 Errors); the header may have been
            # stripped on the way (the SDK's recorded 400 in the fixtures has only the body's).
            err.request_id = _body_request_id(data)

    # -- responses ---------------------------------------------------------------------------
    @shape_guard
    def parse_chat(self, body: bytes, headers: Mapping[str, str]) -> Response:
        data = decode_json(self.provider, body, headers=headers)
        if not isinstance(data, dict):
            raise malformed(self.provider, "expected a JSON object", body, headers)
        if data.get("type") == "error" or data.get("error"):
            message, etype, code = self.error_details(data)
            status = STATUS_BY_ERROR_TYPE.get(etype or "")
            err = self.make_error(status, headers, message or "error", etype, code, body_text(body),
                                  cls=error_for_status(status) if status is not None else APIError)
            if err.request_id is None:
                err.request_id = _body_request_id(data)
            raise err
        content = data.get("content")
        if not isinstance(content, list):
            raise malformed(self.provider, "content is not a list of blocks", body, headers)
        acc = new_accumulator(self.provider, _str(data.get("model")) or self.model, headers)
        acc.id = _str(data.get("id"))
        acc.raw = data
        for block in content:
            if not isinstance(block, dict):
                raise malformed(self.provider, "a content block is not an object", body, headers)
            kind = block.get("type")
            if kind == "text":
                text = block.get("text")
                if not isinstance(text, str):
                    raise malformed(self.provider, "a text block without text", body, headers)
                acc.text(text)
            elif kind == "thinking":
                acc.new_thinking_block()
                acc.thinking(_str(block.get("thinking")) or "")
                acc.thinking_signature(_str(block.get("signature")) or "")
            elif kind == "redacted_thinking":
                acc.redacted_thinking(_str(block.get("data")) or "")
            elif kind == "tool_use":
                name = block.get("name")
                args = block.get("input")
                if args is None:
                    args = {}
                if not isinstance(name, str) or not name or not isinstance(args, dict):
                    raise malformed(self.provider, "a tool_use block without name or object input", body,
                                    headers)
                acc.add_tool_call(_str(block.get("id")), name, args)
            # Other block types (server tools, their results, ...) carry nothing we model.
        usage = data.get("usage")
        if isinstance(usage, dict):
            acc.set_usage(map_usage(usage))
        acc.finish(map_stop_reason(_str(data.get("stop_reason"))))
        return acc.response()

    def stream_decoder(self, headers: Mapping[str, str]) -> "AnthropicStream":
        return AnthropicStream(self, new_accumulator(self.provider, self.model, headers))


def _str(value: Any) -> Optional[str]:
    return value if isinstance(value, str) else None


def _cache_control(spec: CacheSpec) -> Dict[str, Any]:
    control: Dict[str, Any] = {"type": "ephemeral"}
    if spec.ttl is not None:
        control["ttl"] = spec.ttl
    return control


def _marked(blocks: Any) -> int:
    if not isinstance(blocks, list):
        return 0
    return sum(1 for b in blocks if isinstance(b, dict) and b.get("cache_control") is not None)


def count_breakpoints(body: Mapping[str, Any]) -> int:
    """The ``cache_control`` breakpoints of a request body: the top-level one (automatic
    caching), and those on system blocks, tools and message content blocks."""
    n = 1 if body.get("cache_control") is not None else 0
    n += _marked(body.get("system")) + _marked(body.get("tools"))
    messages = body.get("messages")
    for m in messages if isinstance(messages, list) else ():
        if isinstance(m, dict):
            n += _marked(m.get("content"))
    return n


_DROP_ORDER = ("tools", "system", "conversation")


def _fit_breakpoints(body: Dict[str, Any], ours: List[Tuple[str, Dict[str, Any]]]) -> None:
    """After the caller's ``extra`` is merged: keep the total of breakpoints within the API's
    limit, taking ours away first (tools, then system, then the latest turn's)."""
    messages = body.get("messages")
    last = messages[-1] if isinstance(messages, list) and messages and isinstance(messages[-1], dict) else {}
    where = {"tools": body.get("tools"), "system": body.get("system"), "conversation": last.get("content")}
    present = sorted(((name, d) for name, d in ours if _holds(where[name], d)),
                     key=lambda item: _DROP_ORDER.index(item[0]))
    excess = count_breakpoints(body) - MAX_CACHE_BREAKPOINTS
    for name, d in present:
        if excess <= 0:
            break
        del d["cache_control"]
        excess -= 1
        _log.debug("anthropic: the %s cache breakpoint left out: the request would carry more than %d",
                   name, MAX_CACHE_BREAKPOINTS)


def _holds(blocks: Any, d: Dict[str, Any]) -> bool:
    return isinstance(blocks, list) and any(b is d for b in blocks)


def _index(obj: Dict[str, Any]) -> Optional[int]:
    index = obj.get("index")
    return index if isinstance(index, int) else None


def _body_request_id(data: Any) -> Optional[str]:
    if isinstance(data, dict):
        return _str(data.get("request_id"))
    return None


class AnthropicStream(SSEStreamDecoder):
    """Anthropic's SSE events (docs/wire.md §3 Streaming) -> unified events."""

    def __init__(self, codec: Codec, acc: Accumulator) -> None:
        super().__init__(codec, acc)
        self._initial_input: Dict[Any, Dict[str, Any]] = {}  # tool_use input given in the start event
        self._got_args: set = set()  # tool blocks that received input_json_delta text
        self._usage: Dict[str, Any] = {}
        self._stop_seen = False
        self._stop_reason: Optional[str] = None

    def handle(self, ev: SSEEvent, out: List[StreamEvent]) -> None:
        obj = self.load(ev)
        acc = self.acc
        if not isinstance(obj, dict):
            raise self.broken(f"an event is not a JSON object: {ev.data[:200]!r}")
        acc.raw.append(obj)
        kind = obj.get("type")
        if not isinstance(kind, str):
            kind = ev.event
        if kind == "content_block_delta":
            self._delta(obj, out)
        elif kind == "content_block_start":
            self._start(obj, out)
        elif kind == "content_block_stop":
            index = _index(obj)
            if acc.has_tool(index):
                initial = self._initial_input.pop(index, None)
                emit(out, acc.tool_end(index, None if index in self._got_args else initial))
        elif kind == "message_start":
            message = obj.get("message")
            if isinstance(message, dict):
                if _str(message.get("id")):
                    acc.id = message["id"]
                if _str(message.get("model")):
                    acc.model = message["model"]
                self._update_usage(message.get("usage"))
        elif kind == "message_delta":
            delta = obj.get("delta")
            if isinstance(delta, dict) and _str(delta.get("stop_reason")):
                self._stop_seen = True
                self._stop_reason = map_stop_reason(delta["stop_reason"])
            self._update_usage(obj.get("usage"))
        elif kind == "message_stop":
            self._complete(out)
        elif kind == "error":
            raise self.codec.stream_error(obj, acc, acc.headers)
        # ping and event types added later are ignored, as the API asks.

    def _start(self, obj: Dict[str, Any], out: List[StreamEvent]) -> None:
        acc = self.acc
        index = _index(obj)
        block = obj.get("content_block")
        if not isinstance(block, dict):
            return
        kind = block.get("type")
        if kind == "text":
            emit(out, acc.text(_str(block.get("text")) or ""))
        elif kind == "thinking":
            acc.new_thinking_block()
            emit(out, acc.thinking(_str(block.get("thinking")) or ""))
            emit(out, acc.thinking_signature(_str(block.get("signature")) or ""))
        elif kind == "redacted_thinking":
            acc.redacted_thinking(_str(block.get("data")) or "")
        elif kind == "tool_use":
            if acc.has_tool(index):  # a repeated index (malformed): close the earlier call first
                emit(out, acc.tool_end(index))
            name = _str(block.get("name")) or ""
            out.append(acc.tool_start(index, _str(block.get("id")), name))
            initial = block.get("input")
            if isinstance(initial, dict) and initial:
                self._initial_input[index] = initial

    def _delta(self, obj: Dict[str, Any], out: List[StreamEvent]) -> None:
        acc = self.acc
        index = _index(obj)
        delta = obj.get("delta")
        if not isinstance(delta, dict):
            return
        kind = delta.get("type")
        if kind == "text_delta":
            emit(out, acc.text(_str(delta.get("text")) or ""))
        elif kind == "input_json_delta":
            # server_tool_use blocks stream input_json_delta too; only our tool calls matter.
            piece = _str(delta.get("partial_json")) or ""
            if piece and acc.has_tool(index):
                self._got_args.add(index)
                emit(out, acc.tool_args(index, piece))
        elif kind == "thinking_delta":
            emit(out, acc.thinking(_str(delta.get("thinking")) or ""))
        elif kind == "signature_delta":
            emit(out, acc.thinking_signature(_str(delta.get("signature")) or ""))
        # citations_delta: citations are not modelled.

    def _update_usage(self, usage: Any) -> None:
        # message_delta usage is cumulative and may revise input and cache figures, so the final
        # usage is message_start's updated by every figure a later event states.
        if not isinstance(usage, dict):
            return
        self._usage.update({k: v for k, v in usage.items() if v is not None})
        self.acc.usage = map_usage(self._usage)

    def _complete(self, out: List[StreamEvent]) -> None:
        acc = self.acc
        # A tool_use block cut off by max_tokens never gets its content_block_stop.
        out.extend(acc.end_open_tools())
        if self._usage:
            out.append(acc.set_usage(map_usage(self._usage)))
        out.append(acc.finish(self._stop_reason))

    def on_eof(self, out: List[StreamEvent]) -> None:
        # A stop_reason means the model finished; only the closing message_stop was lost.
        if self._stop_seen:
            self._complete(out)
            return
        raise self.broken("the connection closed before message_stop")


#: the providers this codec serves; the registry collects them
PROVIDERS = [
    ProviderInfo("anthropic", AnthropicCodec, "https://api.anthropic.com", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL",
                 True, "Anthropic Messages", auth=Auth.header("x-api-key"),
                 token_family="anthropic", details={"batch": True}),
]
