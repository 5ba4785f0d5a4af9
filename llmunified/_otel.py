"""OpenTelemetry spans for LLM and tool calls, named by the gen_ai semantic conventions.

Loaded only when a client enables OpenTelemetry (``Client(otel=True)``, ``llm.Tracer(otel=True)``,
or automatically when the application has configured an SDK tracer provider); never at
``import llmunified``. Needs ``opentelemetry-api`` (``pip install 'llmunified[otel]'``).

Spans (https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/):

- ``chat {model}`` (kind CLIENT), one per model call (a stream's lasts until its end), under the
  caller's current span: ``gen_ai.operation.name`` = ``chat``, ``gen_ai.provider.name``,
  ``gen_ai.request.model``, the request parameters that are set (``gen_ai.request.temperature``,
  ``max_tokens``, ``top_p``, ``seed``, ``stop_sequences``), ``server.address`` /
  ``server.port``, then ``gen_ai.response.model``, ``gen_ai.response.id``,
  ``gen_ai.response.finish_reasons``, ``gen_ai.usage.input_tokens`` / ``output_tokens``; on
  failure ``error.type`` (the error's class name) and an ERROR status. Retries are span events
  (``llmunified.retry``); ``llmunified.correlation_id`` is an attribute, and
  ``llmunified.label`` when the client was given a label (not its default, ``provider/model``).
- ``embeddings {model}`` (kind CLIENT), one per ``embed`` call (over its batches):
  ``gen_ai.operation.name`` = ``embeddings``, the provider, model and server attributes, then
  ``gen_ai.usage.input_tokens``, ``gen_ai.response.model``, ``gen_ai.embeddings.dimension.count``.
  The other traced calls follow the same shape under this library's own operation names:
  ``count_tokens {model}`` (``llmunified.token_count``), ``list_models {model}``, and the Ollama
  model-management calls ``pull {name}``, ``create {name}``, ``show {name}``, ``delete {name}``,
  ``copy {name}``, ``running_models {model}``.
- ``execute_tool {name}`` (kind INTERNAL), one per tool call of the tool loop, under the span
  that was current when the loop ran: ``gen_ai.operation.name`` = ``execute_tool``,
  ``gen_ai.tool.name``, ``gen_ai.tool.call.id``, ``gen_ai.tool.type`` = ``function``,
  ``error.type`` when the tool raised.

Cost: the attributes that do not change between a client's calls are computed once per client
(``OTel._static``); a span the sampler dropped (not recording) gets nothing more set on it.
What remains per call is the SDK's own span creation and attribute validation.

Message content (``gen_ai.system_instructions``, ``gen_ai.input.messages``,
``gen_ai.output.messages``, ``gen_ai.tool.call.arguments`` / ``result``) only when opted in:
``llm.Tracer(otel=True, capture_content=True)`` or the environment variable
``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true``. Keys and headers never go on a span.
"""
from __future__ import annotations
import json
import os
from typing import Any, Dict, List, Optional
from urllib.parse import urlsplit

from .errors import ConfigurationError

__all__ = ["OTel", "PROVIDER_NAMES"]

#: our provider names -> the semantic conventions' ``gen_ai.provider.name`` values (others as ours)
PROVIDER_NAMES = {"gemini": "gcp.gemini", "vertex": "gcp.vertex_ai", "azure": "azure.ai.openai",
                  "openrouter": "openrouter", "mistral": "mistral_ai", "xai": "x_ai"}

_PARAMS = (("temperature", "gen_ai.request.temperature"), ("max_tokens", "gen_ai.request.max_tokens"),
           ("top_p", "gen_ai.request.top_p"), ("seed", "gen_ai.request.seed"),
           ("stop", "gen_ai.request.stop_sequences"))


def _import_api() -> Any:
    try:
        from opentelemetry import context, trace
    except ImportError:
        raise ConfigurationError("OpenTelemetry tracing needs opentelemetry-api: pip install 'llmunified[otel]' "
                                 "(or leave otel off)") from None
    return trace, context


class OTel:
    """Emits the spans of one client (or tracer). ``provider``: a TracerProvider to use instead
    of the global one (tests, several pipelines)."""

    def __init__(self, capture_content: bool = False, provider: Any = None) -> None:
        trace, context = _import_api()
        from ._version import __version__

        self._trace = trace
        self._context = context
        self._kind_client = trace.SpanKind.CLIENT
        self._kind_internal = trace.SpanKind.INTERNAL
        self._status = trace.Status
        self._code = trace.StatusCode.ERROR
        self.tracer = trace.get_tracer("llmunified", __version__, tracer_provider=provider)
        env = os.environ.get("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "").strip().lower()
        self.capture_content = capture_content or env in ("1", "true", "yes", "on")
        self._servers: Dict[str, Any] = {}
        self._statics: Dict[Any, Any] = {}

    # -- chat ------------------------------------------------------------------------------
    def _static(self, client: Any, operation: str, model_name: str) -> Dict[str, Any]:
        """The attributes of a client's spans that do not change from call to call (provider,
        model, label, server, the client's default request parameters), computed once per
        client and operation: a call copies them and adds its own."""
        endpoint = getattr(client, "_endpoint", None)
        label = getattr(client, "label", None)
        key = (id(endpoint), operation, model_name, label)
        found = self._statics.get(key)
        if found is not None and found[0] is endpoint:
            return found[1]
        provider = client.provider
        attributes: Dict[str, Any] = {
            "gen_ai.operation.name": operation,
            "gen_ai.provider.name": PROVIDER_NAMES.get(provider, provider),
            "gen_ai.request.model": model_name,
        }
        if label and label != client.model:  # a client's default label is its provider/model
            attributes["llmunified.label"] = label
        attributes.update(self._server(client.base_url))
        if operation == "chat":
            defaults = getattr(endpoint, "defaults", None) or {}
            attributes.update(_params(defaults))
        if len(self._statics) >= 256:  # many short-lived clients: start again rather than grow
            self._statics.clear()
        self._statics[key] = (endpoint, attributes)  # (the endpoint kept: its id is not reused meanwhile)
        return attributes

    def chat_span(self, client: Any, correlation_id: str, streaming: bool, messages: Any,
                  options: Optional[Dict[str, Any]]) -> Any:
        name = client.model_name
        attributes = dict(self._static(client, "chat", name))
        attributes["llmunified.correlation_id"] = correlation_id
        if streaming:
            attributes["llmunified.streaming"] = True
        if options:
            attributes.update(_params(options))
        if self.capture_content and messages is not None:
            attributes.update(_input_messages(messages))
        return self.tracer.start_span(f"chat {name}", kind=self._kind_client, attributes=attributes)

    def _server(self, base_url: str) -> Dict[str, Any]:
        found = self._servers.get(base_url)
        if found is None:
            found = {}
            try:
                parts = urlsplit(base_url)
                if parts.hostname:
                    found["server.address"] = parts.hostname
                port = parts.port or (443 if parts.scheme == "https" else 80 if parts.scheme == "http" else None)
                if port:
                    found["server.port"] = port
            except ValueError:
                pass
            self._servers[base_url] = found
        return found

    def retry(self, span: Any, attempt: int, wait: float, error: BaseException) -> None:
        if span.is_recording():
            span.add_event("llmunified.retry", {"llmunified.attempt": attempt, "llmunified.wait": wait,
                                                "error.type": type(error).__name__})

    def chat_done(self, span: Any, response: Any) -> None:
        if not span.is_recording():  # sampled out: nothing to fill in
            span.end()
            return
        usage = response.usage
        attributes: Dict[str, Any] = {"gen_ai.usage.input_tokens": usage.input_tokens,
                                      "gen_ai.usage.output_tokens": usage.output_tokens,
                                      "gen_ai.response.finish_reasons": [response.finish_reason]}
        if response.model:
            attributes["gen_ai.response.model"] = response.model
        if response.id:
            attributes["gen_ai.response.id"] = response.id
        if usage.cache_read_tokens:
            attributes["gen_ai.usage.cache_read.input_tokens"] = usage.cache_read_tokens
        if usage.cache_write_tokens:
            attributes["gen_ai.usage.cache_creation.input_tokens"] = usage.cache_write_tokens
        if response.attempts > 1:
            attributes["llmunified.attempts"] = response.attempts
        if self.capture_content:
            attributes["gen_ai.output.messages"] = _dumps([dict(_message(response.message),
                                                                finish_reason=response.finish_reason)])
        span.set_attributes(attributes)
        span.end()

    def chat_failed(self, span: Any, error: BaseException, kind: Optional[str] = None) -> None:
        if span.is_recording():
            span.set_attribute("error.type", kind or type(error).__name__)
            span.set_status(self._status(self._code, str(error)))
        span.end()

    # -- embeddings, token counts, listings, model management ------------------------------
    def operation_span(self, client: Any, correlation_id: str, operation: str, model_name: str) -> Any:
        """The span of a call other than a chat: ``{operation} {model}`` (``embeddings {model}``
        by the conventions; ``count_tokens``, ``list_models``, ``pull``... are this library's
        own operation names), kind CLIENT."""
        attributes = dict(self._static(client, operation, model_name))
        attributes["llmunified.correlation_id"] = correlation_id
        return self.tracer.start_span(f"{operation} {model_name}", kind=self._kind_client, attributes=attributes)

    def operation_done(self, span: Any, result: Any) -> None:
        if span.is_recording():
            attributes: Dict[str, Any] = {}
            usage = getattr(result, "usage", None)
            if usage is not None:
                attributes["gen_ai.usage.input_tokens"] = usage.input_tokens
            model = getattr(result, "model", None)
            if isinstance(model, str) and model:
                attributes["gen_ai.response.model"] = model
            vectors = getattr(result, "vectors", None)
            if vectors:
                attributes["gen_ai.embeddings.dimension.count"] = len(vectors[0])
            tokens = getattr(result, "tokens", None)
            if isinstance(tokens, int) and not isinstance(tokens, bool) and usage is None:
                attributes["llmunified.token_count"] = tokens  # count_tokens: the count, not usage
            if attributes:
                span.set_attributes(attributes)
        span.end()

    # -- tools -----------------------------------------------------------------------------
    def current_context(self) -> Any:
        return self._context.get_current()

    def tool_span(self, call: Any, parent: Any, correlation_id: str) -> Any:
        attributes: Dict[str, Any] = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": call.name,
                                      "gen_ai.tool.type": "function", "llmunified.correlation_id": correlation_id}
        if call.id:
            attributes["gen_ai.tool.call.id"] = call.id
        if self.capture_content:
            attributes["gen_ai.tool.call.arguments"] = _dumps(call.arguments)
        return self.tracer.start_span(f"execute_tool {call.name}", context=parent, kind=self._kind_internal,
                                      attributes=attributes)

    def tool_done(self, span: Any, value: Any, error: Optional[BaseException], refused: Optional[str]) -> None:
        if not span.is_recording():
            pass
        elif error is not None or refused is not None:
            span.set_attribute("error.type", type(error).__name__ if error is not None else "InvalidToolCall")
            span.set_status(self._status(self._code, f"{error}" if error is not None else refused))
        elif self.capture_content:
            span.set_attribute("gen_ai.tool.call.result", value if isinstance(value, str) else _dumps(value))
        span.end()

    # -- Router ----------------------------------------------------------------------------
    def failover(self, from_label: Optional[str], to_label: Optional[str], error: BaseException) -> None:
        span = self._trace.get_current_span()
        attributes = {"llmunified.from_label": str(from_label), "error.type": type(error).__name__}
        if to_label is not None:  # None: no entry was left to try
            attributes["llmunified.to_label"] = to_label
        span.add_event("llmunified.failover", attributes)


def _params(options: Dict[str, Any]) -> Dict[str, Any]:
    """The ``gen_ai.request.*`` attributes of the request parameters set in ``options``."""
    out: Dict[str, Any] = {}
    for option, attribute in _PARAMS:
        value = options.get(option)
        if value is None:
            continue
        if option == "stop":
            value = [value] if isinstance(value, str) else [str(v) for v in value]
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        out[attribute] = value
    return out


# -- content, when opted in ------------------------------------------------------------------

def _dumps(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(value)


def _message(message: Any) -> Dict[str, Any]:
    """A Message in the conventions' shape: ``{"role", "parts": [...]}``."""
    parts: List[Dict[str, Any]] = []
    content = message.content
    if isinstance(content, str):
        parts.append({"type": "text", "content": content})
    else:
        for part in content:
            kind = type(part).__name__
            if kind == "TextPart":
                parts.append({"type": "text", "content": part.text})
            elif kind == "ToolCall":
                parts.append({"type": "tool_call", "id": part.id, "name": part.name, "arguments": part.arguments})
            elif kind == "ToolResult":
                parts.append({"type": "tool_call_response", "id": part.tool_call_id, "response": part.content})
            elif kind == "ThinkingPart":
                parts.append({"type": "reasoning", "content": part.text})
            elif kind == "ImagePart":
                parts.append({"type": "uri" if part.url else "blob", "modality": "image"})
    return {"role": message.role, "parts": parts}


def _input_messages(messages: Any) -> Dict[str, Any]:
    from ._options import to_messages

    try:
        msgs = to_messages(messages)
    except Exception:  # the call itself reports bad input
        return {}
    system = [m for m in msgs if m.role == "system"]
    out: Dict[str, Any] = {"gen_ai.input.messages": _dumps([_message(m) for m in msgs if m.role != "system"])}
    if system:
        out["gen_ai.system_instructions"] = _dumps([{"type": "text", "content": m.text} for m in system])
    return out
