"""OpenAI Chat Completions, and every OpenAI-compatible server (LM Studio, Groq, Together,
OpenRouter, DeepSeek, vLLM, Ollama's /v1). Wire facts: docs/wire.md §1."""
from __future__ import annotations
import json
import logging
import re
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Tuple, Union

from .._options import Options, deep_merge
from .._reasoning import Reasoning, effort_for
from .. import _json
from .._types import ImagePart, Message, ModelInfo, Response, TextPart, ThinkingPart, ToolCall, ToolResult, Usage
from .._http import HTTPRequest
from .._registry import ProviderInfo
from ..errors import APIError, StreamError
from ._base import (Codec, SSEStreamDecoder, decode_json, emit, epoch_seconds, int_or_none, loads, malformed,
                    new_conversation, put_sampling, shape_guard, std_loads)
from ._base import new_accumulator

if TYPE_CHECKING:  # the stream machinery loads with the first stream or accumulated reply
    from .._events import Accumulator, StreamEvent
    from .._sse import SSEEvent

__all__ = ["OpenAICodec", "map_finish_reason", "map_usage", "REASONING_STYLES"]

_log = logging.getLogger("llmunified")

#: how each host takes ``reasoning=`` (the entry's ``reasoning`` detail; see OpenAICodec)
REASONING_STYLES = ("effort", "groq", "deepseek", "openrouter")

_FINISH = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "content_filter",
    "error": "error",
}


def map_finish_reason(value: Optional[str]) -> Optional[str]:
    if value is None:
        return None
    return _FINISH.get(value, "other")


def _string(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} is {type(value).__name__}, not a string")
    return value


def _count(value: Any) -> int:
    if type(value) is int:
        return value
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"a token count is {value!r}, not an integer")
    return value


def map_usage(u: Mapping[str, Any]) -> Usage:
    # (an int is taken as it is; anything else goes through _count, which checks it)
    prompt = u.get("prompt_tokens")
    if prompt.__class__ is not int:
        prompt = _count(prompt)
    completion = u.get("completion_tokens")
    if completion.__class__ is not int:
        completion = _count(completion)
    total = u.get("total_tokens")
    if total.__class__ is not int:
        total = _count(total)
    details = u.get("prompt_tokens_details")
    cached = (details.get("cached_tokens") if details else None) or u.get("prompt_cache_hit_tokens")  # DeepSeek's name
    written = details.get("cache_write_tokens") if details else None
    out_details = u.get("completion_tokens_details")
    reasoning = out_details.get("reasoning_tokens") if out_details else None
    return Usage(prompt, completion, total or prompt + completion, _count(cached), _count(written), _count(reasoning))


def _content(parts: List[Any]) -> Any:
    out: List[Dict[str, Any]] = []
    for p in parts:
        if isinstance(p, TextPart):
            out.append({"type": "text", "text": p.text})
        elif isinstance(p, ImagePart):
            img: Dict[str, Any] = {"url": p.as_data_url()}
            if p.detail:
                img["detail"] = p.detail
            out.append({"type": "image_url", "image_url": img})
    return out


def _encode_message(m: Message, details: bool = False) -> List[Dict[str, Any]]:
    """The wire entries of one message (a tool message gives one per result); ``details``: the
    host takes OpenRouter's ``reasoning_details`` back on assistant turns."""
    if m.role == "tool":
        return [{"role": "tool", "tool_call_id": p.tool_call_id, "content": p.text}
                for p in m.parts if isinstance(p, ToolResult)]
    entry: Dict[str, Any] = {"role": m.role}
    if isinstance(m.content, str):
        entry["content"] = m.content
    elif m.role == "assistant":
        calls = [p for p in m.content if isinstance(p, ToolCall)]
        text = "".join(p.text for p in m.content if isinstance(p, TextPart))
        # Reasoning is not sent back: Chat Completions has no field for it (DeepSeek rejects it).
        entry["content"] = text if text or not calls else None
        if calls:
            entry["tool_calls"] = [{"id": c.id, "type": "function",
                                    "function": {"name": c.name, "arguments": c.arguments_json()}}
                                   for c in calls]
        if details:
            # OpenRouter: the reply's reasoning_details go back unchanged, signatures included
            # (its reasoning-tokens guide, "Preserving reasoning blocks").
            kept = _kept_details(m.content)
            if kept:
                entry["reasoning_details"] = kept
    elif all(isinstance(p, TextPart) for p in m.content):
        entry["content"] = "".join(p.text for p in m.content if isinstance(p, TextPart))  # a plain string: every server takes it
    else:
        entry["content"] = _content(m.content)
    if m.name:
        entry["name"] = m.name
    return [entry]


def encode_messages(messages: List[Message], details: bool = False) -> List[Dict[str, Any]]:
    """The wire ``messages`` (``details``: with OpenRouter's ``reasoning_details`` on assistant
    turns). Each message's entries depend on it alone, so a conversation encoded before is
    resumed after the messages it had (``llmunified._wirecache``): a long conversation is not
    encoded again on every turn."""
    if len(messages) < _json.MIN_MESSAGES:  # a short history: nothing worth keeping
        return [entry for m in messages for entry in _encode_message(m, details)]
    conversation = new_conversation(messages, "openai+details" if details else "openai")
    for m in conversation.pending():
        conversation.add(_encode_message(m, details))
    conversation.close(len(messages), None)
    return conversation.result()


# -- OpenRouter's reasoning_details ------------------------------------------------------------
# A reply's reasoning arrives as plain text (``reasoning``) and as ``reasoning_details``: typed
# items (``reasoning.text`` with a ``signature``, ``reasoning.summary``, ``reasoning.encrypted``
# with opaque ``data``), which a stream sends in pieces keyed by ``index``. The text goes to the
# thinking part as usual, each signature to that part's ``signature``, and the items, merged per
# index, are kept as JSON text in the first thinking part's ``data`` so that they go back exactly
# as received (``_kept_details``).

_DETAIL_PIECES = ("text", "summary", "data", "signature")


def _merge_details(acc: Accumulator, details: Any, merged: Dict[Any, Dict[str, Any]], has_text: bool,
                   out: Optional[List[StreamEvent]]) -> None:
    """Feed ``reasoning_details`` items to the accumulator (their text only when the plain
    ``reasoning`` text did not carry it) and merge them into ``merged``."""
    if not isinstance(details, list):
        raise TypeError("reasoning_details is not a list")
    for item in details:
        if not isinstance(item, dict):
            continue
        key = item.get("index", len(merged))
        kept = merged.get(key)
        if kept is None:
            kept = merged[key] = {}
        for name, value in item.items():
            if name in _DETAIL_PIECES and isinstance(value, str):
                kept[name] = kept.get(name, "") + value
            elif kept.get(name) in (None, ""):
                kept[name] = value
        kind = item.get("type")
        piece = item.get("text") if kind == "reasoning.text" else (
            item.get("summary") if kind == "reasoning.summary" else None)
        if isinstance(piece, str) and piece and not has_text:
            ev = acc.thinking(piece)
            if out is not None:
                emit(out, ev)
        elif kind == "reasoning.encrypted":
            last = acc.parts[-1] if acc.parts else None
            if not isinstance(last, ThinkingPart) or last.redacted:
                acc.new_thinking_block()  # a part to keep the opaque item on
        signature = item.get("signature")
        if isinstance(signature, str) and signature:
            ev = acc.thinking_signature(signature)
            if out is not None:
                emit(out, ev)


def _attach_details(acc: Accumulator, merged: Dict[Any, Dict[str, Any]]) -> None:
    """Keep the merged items on the reply's first thinking part (made if there is none)."""
    if not merged:
        return
    part = next((p for p in acc.parts if isinstance(p, ThinkingPart) and not p.redacted), None)
    if part is None:
        acc.new_thinking_block()
        part = acc.parts[-1]  # type: ignore[assignment]
    part.data = _json.encode_json(list(merged.values()))  # type: ignore[union-attr]


def _kept_details(parts: List[Any]) -> List[Dict[str, Any]]:
    """The ``reasoning_details`` items kept on an assistant message's thinking parts."""
    out: List[Dict[str, Any]] = []
    for p in parts:
        if isinstance(p, ThinkingPart) and not p.redacted and p.data and p.data.startswith("["):
            try:
                items = json.loads(p.data)
            except ValueError:
                continue
            if isinstance(items, list):
                out.extend(i for i in items if isinstance(i, dict) and str(i.get("type", "")).startswith("reasoning."))
    return out


class OpenAICodec(Codec):
    """Chat Completions. ``max_tokens`` goes out under the entry's ``max_tokens_field`` detail:
    ``max_completion_tokens`` to OpenAI itself (reasoning models reject the old name, docs/wire.md §1 Request body)
    and ``max_tokens`` to compatible servers, most of which only know the old name.

    ``reasoning=`` by the entry's ``reasoning`` detail (docs/wire.md §1; a budget becomes the
    nearest level of ``llmunified._reasoning``'s table: up to 4,096 tokens ``low``, up to 16,384
    ``medium``, above ``high``):

    ==============================  ===================================  ============================
    host (style)                    a level / a budget                   ``False``
    ==============================  ===================================  ============================
    OpenAI, Azure, LM Studio,       ``reasoning_effort: <level>``        nothing sent (see below)
    Together, vLLM (``effort``)
    Groq (``groq``)                 ``reasoning_effort``; ``minimal`` is nothing sent
                                    sent as ``low`` (gpt-oss has no
                                    ``minimal``)
    DeepSeek (``deepseek``)         ``thinking: {"type": "enabled"}``    ``thinking: {"type":
                                    and ``reasoning_effort``             "disabled"}``
    OpenRouter (``openrouter``)     ``reasoning: {"effort": <level>}`` / ``reasoning: {"effort":
                                    ``reasoning: {"max_tokens": N}``     "none"}``
    ==============================  ===================================  ============================

    ``False`` on Chat Completions: whether a model reasons is a property of the model; non-reasoning
    models answer 400 to any ``reasoning_effort`` and the values that lower reasoning the most
    (``none``, ``minimal``) exist only on some models, so nothing is sent and the model's default
    applies (send ``extra={"reasoning_effort": "none"}`` to a model that takes it). Groq's
    ``reasoning_format`` is not sent: gpt-oss returns its reasoning in ``reasoning`` (read as
    thinking) by default; Qwen models there need ``extra={"reasoning_format": "parsed"}``.

    Reasoning comes back as thinking from ``reasoning_content`` (DeepSeek, vLLM), ``reasoning``
    (Groq, OpenRouter, Ollama's /v1) and OpenRouter's ``reasoning_details``, whose items are kept
    (signatures included) and sent back on the assistant turn to OpenRouter; reasoning tokens from
    ``completion_tokens_details.reasoning_tokens``.

    ``cache=``: OpenAI caches long prompts by itself (docs/wire.md §1 Prompt caching), so
    ``cache=True`` sends nothing; a cache key (``cache={"key": "..."}``) goes to OpenAI as
    ``prompt_cache_key`` (the entry's ``prompt_cache_key`` detail) and is ignored elsewhere.

    Capability profiles (``llmunified._capabilities``: the host's defaults, the registry,
    ``profile=`` and ``capabilities=`` on the Client) decide the rest of the wire:
    ``max_tokens_field``; ``strict_tools=False`` sends no ``strict`` anywhere (tools marked
    strict go plain; JSON schemas with ``strict: false``); ``streaming_usage=False`` sends no
    ``stream_options``; and structured output goes as ``response_format`` json_schema, as a
    forced tool call (``tool_choice`` naming a tool whose parameters are the schema), as JSON
    mode (``response_format: {"type": "json_object"}``, the schema in the prompt) or by the
    prompt alone (:func:`~llmunified._capabilities.structured_via` chooses).
    """

    protocol = "openai"
    passes_developer = True  # Chat Completions has the role (compatible servers may not: developer_role)
    choices_field = "n"  # every choices[i] is read: Response.choices, stream events tagged by index

    def __init__(self, config: Any, model: str) -> None:
        super().__init__(config, model)
        self._max_tokens_field = self.detail("max_tokens_field", "max_tokens")
        self._reasoning_style = self.detail("reasoning", "effort")
        self._details = bool(self.detail("reasoning_details", False))
        self._cache_key = bool(self.detail("prompt_cache_key", False))
        self._strict = True  # strict: true is sent where asked for and lossless
        self._stream_usage = True  # stream_options.include_usage
        self._structured_via = "json_schema"

    def use_capabilities(self, capabilities: Any) -> None:
        from .._capabilities import structured_via

        super().use_capabilities(capabilities)
        if capabilities.max_tokens_field is not None:
            self._max_tokens_field = capabilities.max_tokens_field
        self._strict = capabilities.strict_tools is not False
        self._stream_usage = capabilities.streaming_usage is not False
        via = self._structured_via = structured_via(capabilities)
        self.structured_mode = "tool" if via == "tool" else "text"
        self.structured_prompt = via in ("json", "prompt")

    def chat_request(self, messages: List[Message], options: Options, stream: bool) -> HTTPRequest:
        body: Dict[str, Any] = {"model": self.model, "messages": encode_messages(messages, self._details)}
        put_sampling(body, options, "temperature", "top_p", self._max_tokens_field, "stop", "seed")
        if options.n is not None and options.n > 1:
            body["n"] = options.n
        if options.tools:
            body["tools"] = [self._tool(t) for t in options.tools]
            if options.parallel_tool_calls is not None:
                body["parallel_tool_calls"] = options.parallel_tool_calls
        if options.tool_choice is not None:
            tc = options.tool_choice
            body["tool_choice"] = tc if tc in ("auto", "none", "required") else {
                "type": "function", "function": {"name": tc}}
        if options.response_format is not None:
            self._structured(body, options.response_format)
        if options.reasoning is not None:
            self.reasoning_fields(body, options.reasoning)
        cache = options.cache
        if cache is not None and cache.key is not None:
            if self._cache_key:
                body["prompt_cache_key"] = cache.key
            else:
                _log.debug("%s: no prompt cache key field; cache key %r not sent", self.provider, cache.key)
        if stream:
            body["stream"] = True
            if self._stream_usage:
                body["stream_options"] = {"include_usage": True}
        if options.extra:
            body = deep_merge(body, options.extra)
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream" if stream else "application/json"}
        return self.request("POST", self.path("chat/completions"), headers, body, stream)

    def _structured(self, body: Dict[str, Any], spec: Any) -> None:
        """Structured output by the mechanism the capabilities chose (the class docstring); for
        ``json`` and ``prompt`` the Endpoint has put the schema in the prompt."""
        via = self._structured_via
        dialect = self.structured_dialect(spec)
        if via == "json_schema":
            body["response_format"] = {"type": "json_schema", "json_schema": {
                "name": spec.name, "schema": spec.wire_schema(dialect).schema, "strict": "openai-strict" in dialect}}
        elif via == "tool":
            fn: Dict[str, Any] = {"name": spec.name, "description": "Give the answer as this structured output.",
                                  "parameters": spec.wire_schema(dialect).schema}
            if "openai-strict" in dialect:
                fn["strict"] = True
            body.setdefault("tools", []).append({"type": "function", "function": fn})
            body["tool_choice"] = {"type": "function", "function": {"name": spec.name}}
        elif via == "json":
            body["response_format"] = {"type": "json_object"}

    def reasoning_fields(self, body: Dict[str, Any], reasoning: Reasoning) -> None:
        """Put ``reasoning=`` on the body as this host takes it (the class docstring's table)."""
        style = self._reasoning_style
        if style == "openrouter":
            if reasoning is False:
                body["reasoning"] = {"effort": "none"}
            elif isinstance(reasoning, int):
                body["reasoning"] = {"max_tokens": reasoning}
            else:
                body["reasoning"] = {"effort": reasoning}
            return
        if reasoning is False:
            if style == "deepseek":
                body["thinking"] = {"type": "disabled"}
            else:
                _log.debug("%s: Chat Completions has no portable way to turn reasoning off; reasoning=False "
                           "sends nothing", self.provider)
            return
        effort = effort_for(reasoning)  # type: ignore[arg-type]  # a level or a budget here
        if style == "groq" and effort == "minimal":
            effort = "low"
        if style == "deepseek":
            body["thinking"] = {"type": "enabled"}
        body["reasoning_effort"] = effort

    def path(self, endpoint: str) -> str:
        """The URL path (after ``base_url``) of an endpoint such as ``chat/completions``; hosts
        that address it otherwise (Azure's deployments) override this."""
        return "/" + endpoint

    # -- model listing ---------------------------------------------------------------------
    def models_path(self) -> str:
        """The model list's path after ``base_url`` (Azure overrides it)."""
        return self.path("models")

    def models_request(self, page_token: Optional[str] = None) -> HTTPRequest:
        # GET /v1/models: one page (docs/wire.md §1 Models); a compatible host that pages it with
        # OpenAI's list cursor (has_more, last_id) is followed with ?after=
        path = self.models_path()
        if page_token is not None:
            from urllib.parse import quote

            path += ("&" if "?" in path else "?") + "after=" + quote(page_token, safe="")
        return self.request("GET", path, {"Accept": "application/json"})

    @shape_guard
    def parse_models(self, body: bytes, headers: Mapping[str, str]) -> Tuple[List[ModelInfo], Optional[str]]:
        data, items = self.listing(body, headers, "data")
        models = [self.model_entry(item) for item in items]
        last = data.get("last_id") or (models[-1].id if models else None)
        return models, (last if data.get("has_more") is True and isinstance(last, str) else None)

    def model_entry(self, item: Dict[str, Any]) -> ModelInfo:
        """One ``data`` entry: OpenAI's ``id``, ``created``, ``owned_by``, and the context length
        compatible servers add (OpenRouter ``context_length``, vLLM ``max_model_len``, Groq
        ``context_window``; OpenRouter's ``top_provider.max_completion_tokens``)."""
        ident = item["id"]
        if not isinstance(ident, str):
            raise TypeError(f"a model id is not a string: {ident!r}")
        context = None
        for key in ("context_length", "max_model_len", "context_window", "max_context_length"):
            context = int_or_none(item.get(key))
            if context is not None:
                break
        top = item.get("top_provider")
        output = int_or_none(top.get("max_completion_tokens")) if isinstance(top, dict) else None
        owner = item.get("owned_by")
        name = item.get("name") if isinstance(item.get("name"), str) else None
        return ModelInfo(ident, self.provider, display_name=name, context_window=context, max_output=output,
                         created=epoch_seconds(item.get("created", item.get("created_at"))),
                         owned_by=owner if isinstance(owner, str) else None, raw=item)

    # -- batch jobs (Client.batch; llmunified._batch): the Batch API ---------------------------------
    # Upload the entries as JSONL (POST /files, multipart, purpose=batch), then POST /batches with
    # the file id; results in the output and error files (GET /files/{id}/content). Job statuses
    # are already the unified names.
    #: the ``url`` of each batch entry and the job's ``endpoint`` (Azure: ``/chat/completions``)
    batch_endpoint = "/v1/chat/completions"

    def batch_path(self, endpoint: str) -> str:
        """The path of a batch endpoint (``files``, ``batches/{id}``); Azure's are not below a deployment."""
        return self.path(endpoint)

    def batch_line(self, custom_id: str, request: HTTPRequest) -> bytes:
        from .._batch import json_str

        middle = b',"method":"POST","url":' + json_str(self.batch_endpoint) + b',"body":'
        return b"".join((b'{"custom_id":', json_str(custom_id), middle, request.body or b"{}", b"}"))

    def batch_upload_request(self, plan: Any) -> Optional[HTTPRequest]:
        from .._batch import multipart_body

        body, content_type = multipart_body({"purpose": "batch"}, "file", "batch.jsonl", plan.jsonl())
        return self.request("POST", self.batch_path("files"), {"Content-Type": content_type,
                                                              "Accept": "application/json"}, body)

    @shape_guard
    def parse_batch_upload(self, body: bytes, headers: Mapping[str, str]) -> str:
        data = decode_json(self.provider, body, headers=headers, what="file upload reply")
        ident = data["id"]
        if not isinstance(ident, str):
            raise TypeError("the uploaded file has no id")
        return ident

    def batch_create_request(self, plan: Any, file_id: Optional[str]) -> HTTPRequest:
        return self.request("POST", self.batch_path("batches"), {"Content-Type": "application/json",
                                                                "Accept": "application/json"},
                            {"input_file_id": file_id, "endpoint": self.batch_endpoint, "completion_window": "24h"})

    @shape_guard
    def parse_batch(self, body: bytes, headers: Mapping[str, str]) -> Any:
        from .._batch import STATUSES, BatchCounts, BatchInfo

        data = decode_json(self.provider, body, headers=headers, what="batch")
        status = data["status"]
        counts = data.get("request_counts") or {}
        errors = data.get("errors") or {}
        problems = [str(e["message"]) for e in errors.get("data") or () if isinstance(e, dict) and e.get("message")]
        return BatchInfo(data["id"], status if status in STATUSES else "in_progress", status,
                         BatchCounts(int_or_none(counts.get("total")), int_or_none(counts.get("completed")),
                                     int_or_none(counts.get("failed"))),
                         epoch_seconds(data.get("created_at")),
                         {k: data.get(k) for k in ("input_file_id", "output_file_id", "error_file_id")},
                         "; ".join(problems) or None, data)

    def batch_get_request(self, job_id: str) -> HTTPRequest:
        from urllib.parse import quote

        return self.request("GET", self.batch_path("batches/" + quote(job_id, safe="")), {"Accept": "application/json"})

    def batch_cancel_request(self, job_id: str) -> HTTPRequest:
        from urllib.parse import quote

        return self.request("POST", self.batch_path("batches/" + quote(job_id, safe="") + "/cancel"),
                            {"Accept": "application/json"})

    def _file_content(self, file_id: str) -> HTTPRequest:
        from urllib.parse import quote

        return self.request("GET", self.batch_path("files/" + quote(file_id, safe="") + "/content"), {}, stream=True)

    def batch_results_requests(self, info: Any) -> List[HTTPRequest]:
        return [self._file_content(info.output[k]) for k in ("output_file_id", "error_file_id")
                if isinstance(info.output.get(k), str) and info.output[k]]

    def batch_order_request(self, info: Any) -> Optional[HTTPRequest]:
        ident = info.output.get("input_file_id")
        return self._file_content(ident) if isinstance(ident, str) and ident else None

    def batch_order_ids(self, obj: Any) -> Optional[str]:
        return obj.get("custom_id") if isinstance(obj, dict) else None

    def parse_batch_result(self, obj: Any, position: Optional[int]) -> Tuple[Optional[str], Optional[bytes], Any]:
        # {"custom_id", "response": {"status_code", "request_id", "body"} | null, "error": {"code", "message"} | null}
        cid = obj.get("custom_id")
        response = obj.get("response")
        error = obj.get("error")
        if isinstance(response, dict) and isinstance(response.get("status_code"), int):
            status = response["status_code"]
            body = json.dumps(response.get("body"), ensure_ascii=False).encode("utf-8")
            if status < 300:
                return cid, body, None
            rid = response.get("request_id")
            return cid, None, self.api_error(status, {"x-request-id": rid} if isinstance(rid, str) else {}, body)
        if not isinstance(error, dict):
            error = {"message": "the batch result has neither a response nor an error"}
        return cid, None, self.make_error(None, {}, str(error.get("message") or error.get("code") or "failed"),
                                          None, error.get("code"), json.dumps(obj, ensure_ascii=False))

    # -- embeddings (docs/wire.md §1 Models and embeddings) ----------------------------------------
    # OpenAI takes up to 2048 inputs and 300,000 tokens per request (the base class's limits).
    def embed_request(self, inputs: List[str], options: Any) -> HTTPRequest:
        from .._embed import unsupported

        body: Dict[str, Any] = {"model": self.model, "input": inputs}
        if options.encoding_format is not None:
            body["encoding_format"] = options.encoding_format
        if options.dimensions is not None:
            body["dimensions"] = options.dimensions
        if options.input_type is not None:
            raise unsupported(self, "input_type", "the embeddings API has no input type; for a model that wants "
                              "one, prefix the text as its model card says (e.g. 'search_query: ...')")
        if options.truncate is not None:
            raise unsupported(self, "truncate", "an input over the model's limit is refused; shorten it")
        if options.extra:
            body = deep_merge(body, options.extra)
        return self.request("POST", self.path("embeddings"), {"Content-Type": "application/json",
                                                               "Accept": "application/json"}, body)

    @shape_guard
    def parse_embeddings(self, body: bytes, headers: Mapping[str, str]) -> Any:
        from operator import itemgetter, methodcaller

        from .._embed import EmbedBatch, as_vectors

        data = decode_json(self.provider, body, headers=headers, what="embeddings reply")
        items = data.pop("data")
        if not isinstance(items, list):
            raise TypeError("'data' is not a list")
        # map() with C getters: no Python bytecode per item on the common path (issue 12 Speed)
        if list(map(methodcaller("get", "index"), items)) != list(range(len(items))):
            items = sorted(items, key=lambda item: item["index"])
        vectors = as_vectors(list(map(itemgetter("embedding"), items)))
        u = data.get("usage")
        usage = None
        if isinstance(u, dict):
            prompt = _count(u.get("prompt_tokens"))
            usage = Usage(prompt, 0, _count(u.get("total_tokens")) or prompt)
        model = data.get("model")
        return EmbedBatch(vectors, usage, model if isinstance(model, str) and model else None, data)

    _STRICT = ("object-root", "openai-strict")

    def structured_dialect(self, spec: Any) -> Tuple[str, ...]:
        # Strict mode guarantees the schema, but only when the rewrite keeps its meaning; then
        # strict:true, else the plain schema and our own validation (the _schema module says why).
        # A schema in the prompt, or a server without strict mode, gets the plain one.
        if not self._strict or self._structured_via not in ("json_schema", "tool"):
            return ("object-root",)
        return self._STRICT if spec.wire_schema(self._STRICT).lossless else ("object-root",)

    def _tool(self, t: Any) -> Dict[str, Any]:
        fn: Dict[str, Any] = {"name": t.name, "description": t.description, "parameters": t.parameters}
        # Strict function calling only on request (@llm.tool(strict=True)): OpenAI documents it
        # as incompatible with parallel tool calls, which are on by default.
        if getattr(t, "strict", None) and not self._strict:
            _log.debug("%s: the server takes no strict tools (strict_tools is False); %s sent without strict",
                       self.provider, t.name)
        elif getattr(t, "strict", None):
            from .._schema_dialects import rewrite

            fn["parameters"] = rewrite(t.parameters, "openai-strict").schema
            fn["strict"] = True
        return {"type": "function", "function": fn}

    def api_error(self, status: int, headers: Mapping[str, str], body: bytes) -> APIError:
        err = super().api_error(status, headers, body)
        # A 404 from a root without its API version (http://localhost:8000 for vLLM's
        # http://localhost:8000/v1) is the commonest misconfiguration of a compatible server.
        # Only this protocol's own paths: Azure (a subclass) builds its URLs otherwise.
        if status == 404 and self.protocol == "openai":
            hint = _missing_version(self.config.base_url)
            if hint:
                err.message += hint
                err.args = (err.message,)
        return err

    def error_details(self, data: Any) -> Tuple[Optional[str], Optional[str], Optional[str]]:
        err = data.get("error", data) if isinstance(data, dict) else None
        if isinstance(err, str):
            return err, None, None
        if not isinstance(err, dict):
            return None, None, None
        code = err.get("code")
        return err.get("message"), err.get("type"), str(code) if code is not None else None

    @shape_guard
    def parse_chat(self, body: bytes, headers: Mapping[str, str]) -> Response:
        data = decode_json(self.provider, body, headers=headers)
        if not isinstance(data, dict):
            raise malformed(self.provider, "expected a JSON object", body, headers)
        if data.get("error"):
            # Some compatible servers answer 200 with an error object.
            message, etype, code = self.error_details(data)
            raise self.make_error(None, headers, message or "error", etype, code, json.dumps(data))
        choices = data.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise malformed(self.provider, "no choices[0] in the completion", body, headers)
        if len(choices) == 1 and self.plain_fast_path:
            response = self._plain_reply(data, choices[0], headers)
            if response is not None:
                return response
        acc = new_accumulator(self.provider, data.get("model") or self.model, headers)
        acc.id = data.get("id")
        acc.raw = data
        for position, choice in enumerate(choices):
            if not isinstance(choice, dict):
                raise malformed(self.provider, f"choices[{position}] is not an object", body, headers)
            index = choice.get("index") if len(choices) > 1 else 0  # a lone choice is the answer
            if index is None:
                index = position
            if type(index) is not int or index < 0:
                raise malformed(self.provider, f"choices[{position}].index is not an int", body, headers)
            self._parse_choice(acc.choice(index), choice, position, body, headers)
        usage = data.get("usage")
        if isinstance(usage, dict):
            acc.set_usage(map_usage(usage))
        return acc.response()

    #: parse the common reply (one answer, plain text) without the accumulator; tests turn it off
    #: to check that both ways give the same Response
    plain_fast_path = True

    def _plain_reply(self, data: Dict[str, Any], choice: Dict[str, Any], headers: Mapping[str, str]) -> Optional[Response]:
        """The Response of a reply with one answer of plain text and nothing else (no tool
        calls, reasoning or refusal), made directly: exactly what the accumulator would make of
        it, without its bookkeeping. None for any other reply (the accumulator takes it)."""
        message = choice.get("message")
        if not isinstance(message, dict):
            return None
        content = message.get("content")
        if (content.__class__ is not str or not content or message.get("tool_calls") or message.get("reasoning_content")
                or message.get("reasoning") or message.get("reasoning_details")):
            return None
        usage = data.get("usage")
        return Response(message=Message("assistant", content),
                        finish_reason=map_finish_reason(choice.get("finish_reason")) or "stop",
                        usage=map_usage(usage) if isinstance(usage, dict) else Usage(),
                        model=data.get("model") or self.model, provider=self.provider, id=data.get("id"), raw=data,
                        headers=headers if headers is not None else {}, citations=[])

    def _parse_choice(self, acc: Accumulator, choice: Dict[str, Any], position: int, body: bytes,
                      headers: Mapping[str, str]) -> None:
        """One answer of a completion (``choices[position]``) into its accumulator."""
        message = choice.get("message")
        if not isinstance(message, dict):
            raise malformed(self.provider, f"choices[{position}].message is missing", body, headers)
        reasoning = message.get("reasoning_content") or message.get("reasoning")
        if isinstance(reasoning, str):
            acc.thinking(reasoning)
        details = message.get("reasoning_details")
        merged: Dict[Any, Dict[str, Any]] = {}
        if details:
            _merge_details(acc, details, merged, isinstance(reasoning, str) and bool(reasoning), None)
        content = message.get("content")
        refusal = message.get("refusal")
        if isinstance(content, str):
            acc.text(content)
        elif isinstance(content, list):  # a few compatible servers return parts
            for part in content:
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    acc.text(part["text"])
        finish = map_finish_reason(choice.get("finish_reason"))
        if not content and isinstance(refusal, str) and refusal:
            acc.text(refusal)
            finish = "content_filter"
        for call in message.get("tool_calls") or ():
            fn = call.get("function") if isinstance(call, dict) else None
            if not isinstance(fn, dict) or not fn.get("name"):
                raise malformed(self.provider, "a tool call without function.name", body, headers)
            args = fn.get("arguments")
            if isinstance(args, dict):  # non-standard servers send an object
                acc.add_tool_call(call.get("id"), fn["name"], args)
            else:
                acc.add_tool_call(call.get("id"), fn["name"], {},
                                  raw_arguments=_string(args, "function.arguments") if args else "")
        _attach_details(acc, merged)
        acc.finish(finish)

    def stream_decoder(self, headers: Mapping[str, str]) -> "OpenAIStream":
        return OpenAIStream(self, new_accumulator(self.provider, self.model, headers))


class _ChoiceState:
    """What the stream decoder keeps per answer (the decoder itself is answer 0's); with ``n`` >
    1 the chunks carry ``choices[].index``, interleaved as the server pleases."""

    __slots__ = ("acc", "_finish", "_refusal", "_got_text", "_details")

    def __init__(self, acc: Accumulator) -> None:
        self.acc = acc
        self._finish: Optional[str] = None
        self._refusal = False
        self._got_text = False
        self._details: Dict[Any, Dict[str, Any]] = {}


class OpenAIStream(SSEStreamDecoder):
    def __init__(self, codec: Codec, acc: Accumulator) -> None:
        super().__init__(codec, acc)
        self._finish: Optional[str] = None
        self._refusal = False
        self._got_text = False
        self._details: Dict[Any, Dict[str, Any]] = {}  # OpenRouter's reasoning_details, merged per index
        self._others: Optional[Dict[int, _ChoiceState]] = None  # answers 1.. (n > 1)
        self._read: Any = _json.reader(0)  # the JSON reader of raw event data (kept current by units())

    def units(self, chunk: bytes) -> List[Any]:
        units = self._sse.feed_payloads(chunk)  # the common event as its data's bytes (handle reads both)
        if not _json.settled:  # orjson or json for this read's events (counted), until that is final
            self._read = _json.reader(len(units))
        return units

    def handle(self, ev: Union[SSEEvent, bytes], out: List[StreamEvent]) -> None:
        if ev.__class__ is bytes:  # an event that is one data line: its JSON straight from the bytes
            if ev == b"[DONE]":
                self._complete(out)
                return
            try:
                obj = self._read(ev)
                if obj is NotImplemented:  # orjson refused it: json decides (the same value, or the error)
                    obj = std_loads(ev)
            except ValueError:
                raise self._invalid(ev.decode("utf-8", "replace")) from None
            event = None
        else:
            data = ev.data  # type: ignore[union-attr]
            if data == "[DONE]":
                self._complete(out)
                return
            try:
                obj = loads(data)
            except ValueError:
                raise self._invalid(data) from None
            event = ev.event  # type: ignore[union-attr]
        acc = self.acc
        acc.raw.append(obj)
        if type(obj) is not dict:
            raise self.broken(f"an event is not a JSON object: {self.unit_text(ev)[:200]!r}")
        if obj.get("error") or event == "error":
            for end in acc.end_open_tools():
                out.append(end)
            raise self.codec.stream_error(obj, acc, acc.headers)
        if acc.id is None and obj.get("id"):
            acc.id = obj["id"]
        model = obj.get("model")
        if model:
            acc.model = model
        choices = obj.get("choices")
        if choices:
            for choice in choices:
                index = choice.get("index")
                if index:  # answer 1.. of a call made with n > 1
                    self._choice(choice, out, self._other(index))
                    continue
                # The common event, a plain text delta ({"content": ...}, perhaps with the role),
                # takes a short path; anything else goes through _choice.
                delta = choice.get("delta")
                if type(delta) is dict and not choice.get("finish_reason") and (
                        len(delta) == 1 or (len(delta) == 2 and "role" in delta)):
                    text = delta.get("content")
                    if type(text) is str:
                        if text:
                            self._got_text = True
                            out.append(acc.text(text))  # type: ignore[arg-type]  # never None here
                        continue
                self._choice(choice, out)
        usage = obj.get("usage")
        if usage is None:
            groq = obj.get("x_groq")  # Groq sends the final usage under x_groq
            if groq:
                usage = groq.get("usage")
        if type(usage) is dict:
            out.append(acc.set_usage(map_usage(usage)))

    def _invalid(self, data: str) -> StreamError:
        return self.broken(f"an event's data is not valid JSON: {data[:200]!r}", body=data)

    def _other(self, index: Any) -> _ChoiceState:
        if type(index) is not int or index < 0:
            raise TypeError("choices[].index is not an int")
        others = self._others
        if others is None:
            others = self._others = {}
        state = others.get(index)
        if state is None:
            state = others[index] = _ChoiceState(self.acc.choice(index))
        return state

    def _choice(self, choice: Dict[str, Any], out: List[StreamEvent], state: Any = None) -> None:
        st = self if state is None else state  # the decoder holds answer 0's state itself
        acc = st.acc
        delta = choice.get("delta") or {}
        reasoning = delta.get("reasoning_content") or delta.get("reasoning")
        if reasoning:
            emit(out, acc.thinking(_string(reasoning, "delta.reasoning")))
        details = delta.get("reasoning_details")
        if details:
            _merge_details(acc, details, st._details, bool(reasoning), out)
        text = delta.get("content")
        if text:
            st._got_text = True
            emit(out, acc.text(_string(text, "delta.content")))
        refusal = delta.get("refusal")
        if refusal and not st._got_text:
            st._refusal = True
            emit(out, acc.text(_string(refusal, "delta.refusal")))
        calls = delta.get("tool_calls")
        if calls:
            for position, call in enumerate(calls):
                key = call.get("index", position)
                fn = call.get("function") or {}
                if not acc.has_tool(key):
                    out.append(acc.tool_start(key, call.get("id"), fn.get("name") or ""))
                args = fn.get("arguments")
                if isinstance(args, dict):  # Groq-style whole calls from some servers send an object
                    args = json.dumps(args)
                if args:
                    emit(out, acc.tool_args(key, _string(args, "function.arguments")))
        finish = choice.get("finish_reason")
        if finish:
            st._finish = "content_filter" if st._refusal else map_finish_reason(finish)
            out.extend(acc.end_open_tools())

    def _complete(self, out: List[StreamEvent]) -> None:
        if self._others:
            for index in sorted(self._others):
                st = self._others[index]
                out.extend(st.acc.end_open_tools())
                _attach_details(st.acc, st._details)
                out.append(st.acc.finish(st._finish))
        out.extend(self.acc.end_open_tools())
        _attach_details(self.acc, self._details)
        out.append(self.acc.finish(self._finish))

    def on_eof(self, out: List[StreamEvent]) -> None:
        # Some compatible servers close without [DONE]; a finish_reason already seen means the
        # reply was complete.
        if self._finish is not None:
            self._complete(out)
            return
        raise self.broken("the connection closed before finish_reason and [DONE]")


_VERSIONED = r"(?i)/v\d+[a-z0-9]*(/|$)"  # compiled (and cached by re) on first use: an error path


def _missing_version(base_url: str) -> str:
    """The hint for a 404 when ``base_url`` has no version segment (``/v1``, ``/v1beta``)."""
    shown = re.sub(r"(?<=://)[^/@]*@", "", base_url.split("?")[0])
    path = shown.split("://", 1)[-1].partition("/")[2]
    if re.search(_VERSIONED, "/" + path):
        return ""
    return (f"; base_url may be missing /v1: OpenAI-compatible servers serve the API under /v1 "
            f"(try base_url='{shown}/v1')")


def _compatible(name: str, base_url: str, label: str, *, key_required: bool = True,
                family: str = "default", details: Optional[Dict[str, Any]] = None) -> ProviderInfo:
    upper = name.upper()
    return ProviderInfo(name, OpenAICodec, base_url, f"{upper}_API_KEY", f"{upper}_BASE_URL", key_required,
                        f"{label} (OpenAI-compatible)", token_family=family, details=details or {})


#: Capability profiles (``llmunified._capabilities``), the ``capabilities`` detail. OpenAI takes
#: the whole of Chat Completions. The compatible hosts are sent ``system`` for ``developer``:
#: the role is OpenAI's (docs/wire.md §1 Messages), and a server that passes it to a model's chat
#: template finds a role the template does not know; ``system`` means the same to every one of
#: them. DeepSeek has JSON mode and no JSON schema (its JSON Output guide). What is not known
#: about a host stays out: the wire is then as it always was.
_OPENAI_PROFILE = {"json_schema": True, "strict_tools": True, "developer_role": True, "streaming_usage": True}
_COMPATIBLE_PROFILE = {"developer_role": False}

#: the providers this codec serves; the registry collects them
PROVIDERS = [
    ProviderInfo("openai", OpenAICodec, "https://api.openai.com/v1", "OPENAI_API_KEY", "OPENAI_BASE_URL", True,
                 "OpenAI Chat Completions", token_family="openai",
                 details={"max_tokens_field": "max_completion_tokens", "prompt_cache_key": True, "batch": True,
                          "capabilities": _OPENAI_PROFILE}),
    _compatible("lmstudio", "http://localhost:1234/v1", "LM Studio", key_required=False, family="llama",
                details={"capabilities": _COMPATIBLE_PROFILE}),
    _compatible("groq", "https://api.groq.com/openai/v1", "Groq", family="llama",
                details={"reasoning": "groq", "capabilities": _COMPATIBLE_PROFILE}),
    _compatible("together", "https://api.together.xyz/v1", "Together AI", family="llama",
                details={"capabilities": _COMPATIBLE_PROFILE}),
    _compatible("openrouter", "https://openrouter.ai/api/v1", "OpenRouter",
                details={"reasoning": "openrouter", "reasoning_details": True, "capabilities": _COMPATIBLE_PROFILE}),
    _compatible("deepseek", "https://api.deepseek.com/v1", "DeepSeek", family="deepseek",
                details={"reasoning": "deepseek", "capabilities": dict(_COMPATIBLE_PROFILE, json_schema=False,
                                                                       structured_output="json")}),
    _compatible("vllm", "http://localhost:8000/v1", "vLLM server", key_required=False, family="llama",
                details={"capabilities": _COMPATIBLE_PROFILE}),
]
