"""OpenAI Chat Completions, and every OpenAI-compatible server (LM Studio, Groq, Together,
OpenRouter, DeepSeek, vLLM, Ollama's /v1). Wire facts: docs/wire.md §1."""
import json
from typing import Any, Dict, List, Mapping, Optional, Tuple

from .._events import Accumulator, StreamEvent
from .._options import Options, deep_merge
from .._sse import SSEEvent
from .. import _wirecache
from .._types import ImagePart, Message, Response, TextPart, ThinkingPart, ToolCall, ToolResult, Usage
from .._http import HTTPRequest
from .._registry import ProviderInfo
from ._base import Codec, SSEStreamDecoder, decode_json, emit, loads, malformed, shape_guard

__all__ = ["OpenAICodec", "map_finish_reason", "map_usage"]

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
    prompt = _count(u.get("prompt_tokens"))
    completion = _count(u.get("completion_tokens"))
    details = u.get("prompt_tokens_details") or {}
    cached = _count(details.get("cached_tokens") or u.get("prompt_cache_hit_tokens"))  # DeepSeek's name
    written = _count(details.get("cache_write_tokens"))
    reasoning = _count((u.get("completion_tokens_details") or {}).get("reasoning_tokens"))
    return Usage(prompt, completion, _count(u.get("total_tokens")) or prompt + completion, cached, written, reasoning)


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


def _encode_message(m: Message) -> List[Dict[str, Any]]:
    """The wire entries of one message (a tool message gives one per result)."""
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
    elif all(isinstance(p, TextPart) for p in m.content):
        entry["content"] = "".join(p.text for p in m.content if isinstance(p, TextPart))  # a plain string: every server takes it
    else:
        entry["content"] = _content(m.content)
    if m.name:
        entry["name"] = m.name
    return [entry]


def encode_messages(messages: List[Message]) -> List[Dict[str, Any]]:
    """The wire ``messages``. Each message's entries depend on it alone, so a conversation
    encoded before is resumed after the messages it had (``llmunified._wirecache``): a long
    conversation is not encoded again on every turn."""
    if len(messages) < _wirecache.MIN_MESSAGES:  # a short history: nothing worth keeping
        return [entry for m in messages for entry in _encode_message(m)]
    conversation = _wirecache.Conversation(messages, "openai")
    for m in conversation.pending():
        conversation.add(_encode_message(m))
    conversation.close(len(messages), None)
    return conversation.result()


class OpenAICodec(Codec):
    """Chat Completions. ``max_tokens`` goes out under the entry's ``max_tokens_field`` detail:
    ``max_completion_tokens`` to OpenAI itself (reasoning models reject the old name, docs/wire.md §1 Request body)
    and ``max_tokens`` to compatible servers, most of which only know the old name."""

    protocol = "openai"

    def __init__(self, config: Any, model: str) -> None:
        super().__init__(config, model)
        self._max_tokens_field = self.detail("max_tokens_field", "max_tokens")

    def chat_request(self, messages: List[Message], options: Options, stream: bool) -> HTTPRequest:
        body: Dict[str, Any] = {"model": self.model, "messages": encode_messages(messages)}
        if options.temperature is not None:
            body["temperature"] = options.temperature
        if options.top_p is not None:
            body["top_p"] = options.top_p
        if options.max_tokens is not None:
            body[self._max_tokens_field] = options.max_tokens
        if options.stop:
            body["stop"] = options.stop
        if options.seed is not None:
            body["seed"] = options.seed
        if options.tools:
            body["tools"] = [self._tool(t) for t in options.tools]
            if options.parallel_tool_calls is not None:
                body["parallel_tool_calls"] = options.parallel_tool_calls
        if options.tool_choice is not None:
            tc = options.tool_choice
            body["tool_choice"] = tc if tc in ("auto", "none", "required") else {
                "type": "function", "function": {"name": tc}}
        if options.response_format is not None:
            spec = options.response_format
            dialect = self.structured_dialect(spec)
            body["response_format"] = {"type": "json_schema", "json_schema": {
                "name": spec.name, "schema": spec.wire_schema(dialect).schema, "strict": "openai-strict" in dialect}}
        if stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        if options.extra:
            body = deep_merge(body, options.extra)
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream" if stream else "application/json"}
        return self.request("POST", self.path("chat/completions"), headers, body, stream)

    def path(self, endpoint: str) -> str:
        """The URL path (after ``base_url``) of an endpoint such as ``chat/completions``; hosts
        that address it otherwise (Azure's deployments) override this."""
        return "/" + endpoint

    _STRICT = ("object-root", "openai-strict")

    def structured_dialect(self, spec: Any) -> Tuple[str, ...]:
        # Strict mode guarantees the schema, but only when the rewrite keeps its meaning; then
        # strict:true, else the plain schema and our own validation (the _schema module says why).
        return self._STRICT if spec.wire_schema(self._STRICT).lossless else ("object-root",)

    def _tool(self, t: Any) -> Dict[str, Any]:
        fn: Dict[str, Any] = {"name": t.name, "description": t.description, "parameters": t.parameters}
        # Strict function calling only on request (@llm.tool(strict=True)): OpenAI documents it
        # as incompatible with parallel tool calls, which are on by default.
        if getattr(t, "strict", None):
            from .._schema_dialects import rewrite

            fn["parameters"] = rewrite(t.parameters, "openai-strict").schema
            fn["strict"] = True
        return {"type": "function", "function": fn}

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
        message = choices[0].get("message")
        if not isinstance(message, dict):
            raise malformed(self.provider, "choices[0].message is missing", body, headers)
        acc = Accumulator(self.provider, data.get("model") or self.model, headers)
        acc.id = data.get("id")
        acc.raw = data
        reasoning = message.get("reasoning_content") or message.get("reasoning")
        if isinstance(reasoning, str):
            acc.thinking(reasoning)
        content = message.get("content")
        refusal = message.get("refusal")
        if isinstance(content, str):
            acc.text(content)
        elif isinstance(content, list):  # a few compatible servers return parts
            for part in content:
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    acc.text(part["text"])
        finish = map_finish_reason(choices[0].get("finish_reason"))
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
        usage = data.get("usage")
        if isinstance(usage, dict):
            acc.set_usage(map_usage(usage))
        acc.finish(finish)
        return acc.response()

    def stream_decoder(self, headers: Mapping[str, str]) -> "OpenAIStream":
        return OpenAIStream(self, Accumulator(self.provider, self.model, headers))


class OpenAIStream(SSEStreamDecoder):
    def __init__(self, codec: Codec, acc: Accumulator) -> None:
        super().__init__(codec, acc)
        self._finish: Optional[str] = None
        self._refusal = False
        self._got_text = False

    def handle(self, ev: SSEEvent, out: List[StreamEvent]) -> None:
        data = ev.data
        if data == "[DONE]":
            self._complete(out)
            return
        try:
            obj = loads(data)
        except ValueError:
            raise self.broken(f"an event's data is not valid JSON: {data[:200]!r}", body=data) from None
        acc = self.acc
        acc.raw.append(obj)
        if type(obj) is not dict:
            raise self.broken(f"an event is not a JSON object: {data[:200]!r}")
        if obj.get("error") or ev.event == "error":
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
                if choice.get("index", 0) != 0:
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

    def _choice(self, choice: Dict[str, Any], out: List[StreamEvent]) -> None:
        acc = self.acc
        delta = choice.get("delta") or {}
        reasoning = delta.get("reasoning_content") or delta.get("reasoning")
        if reasoning:
            emit(out, acc.thinking(_string(reasoning, "delta.reasoning")))
        text = delta.get("content")
        if text:
            self._got_text = True
            emit(out, acc.text(_string(text, "delta.content")))
        refusal = delta.get("refusal")
        if refusal and not self._got_text:
            self._refusal = True
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
            self._finish = "content_filter" if self._refusal else map_finish_reason(finish)
            out.extend(acc.end_open_tools())

    def _complete(self, out: List[StreamEvent]) -> None:
        out.extend(self.acc.end_open_tools())
        out.append(self.acc.finish(self._finish))

    def on_eof(self, out: List[StreamEvent]) -> None:
        # Some compatible servers close without [DONE]; a finish_reason already seen means the
        # reply was complete.
        if self._finish is not None:
            self._complete(out)
            return
        raise self.broken("the connection closed before finish_reason and [DONE]")


def _compatible(name: str, base_url: str, label: str, *, key_required: bool = True,
                family: str = "default") -> ProviderInfo:
    upper = name.upper()
    return ProviderInfo(name, OpenAICodec, base_url, f"{upper}_API_KEY", f"{upper}_BASE_URL", key_required,
                        f"{label} (OpenAI-compatible)", token_family=family)


#: the providers this codec serves; the registry collects them
PROVIDERS = [
    ProviderInfo("openai", OpenAICodec, "https://api.openai.com/v1", "OPENAI_API_KEY", "OPENAI_BASE_URL", True,
                 "OpenAI Chat Completions", token_family="openai",
                 details={"max_tokens_field": "max_completion_tokens"}),
    _compatible("lmstudio", "http://localhost:1234/v1", "LM Studio", key_required=False, family="llama"),
    _compatible("groq", "https://api.groq.com/openai/v1", "Groq", family="llama"),
    _compatible("together", "https://api.together.xyz/v1", "Together AI", family="llama"),
    _compatible("openrouter", "https://openrouter.ai/api/v1", "OpenRouter"),
    _compatible("deepseek", "https://api.deepseek.com/v1", "DeepSeek", family="deepseek"),
    _compatible("vllm", "http://localhost:8000/v1", "vLLM server", key_required=False, family="llama"),
]
