"""Lazy public namespaces: ``import llmunified`` stays cheap, names load on first use."""
from __future__ import annotations
import importlib
from typing import Any, Callable, Dict, List, Tuple

__all__ = ["CORE_EXPORTS", "IO_EXPORTS", "namespace"]

CORE_EXPORTS: Dict[str, str] = {
    # messages and content parts
    "Message": "llmunified._types", "TextPart": "llmunified._types", "ImagePart": "llmunified._types",
    "ToolCall": "llmunified._types", "ToolResult": "llmunified._types", "ThinkingPart": "llmunified._types",
    "system": "llmunified._types", "user": "llmunified._types", "assistant": "llmunified._types",
    "tool_result": "llmunified._types",
    # tools, responses
    "Tool": "llmunified._types", "Usage": "llmunified._types", "Response": "llmunified._types",
    "Citation": "llmunified._types", "Choice": "llmunified._types", "BulkResult": "llmunified._bulkplan",
    "ModelInfo": "llmunified._types", "Embeddings": "llmunified._types",
    "PullProgress": "llmunified._admin", "ModelDetails": "llmunified._admin",
    "BatchResult": "llmunified._batch", "BatchCounts": "llmunified._batch",
    # token counting (the local count; Client.count_tokens asks the provider)
    "TokenCount": "llmunified._types", "count_tokens": "llmunified._tokens",
    "tool": "llmunified._tooldef",
    # stream events
    "TextDelta": "llmunified._events", "ThinkingDelta": "llmunified._events",
    "ToolCallStart": "llmunified._events", "ToolCallDelta": "llmunified._events",
    "ToolCallEnd": "llmunified._events", "UsageEvent": "llmunified._events", "Finish": "llmunified._events",
    "ToolResultEvent": "llmunified._events", "RoundEnd": "llmunified._events",
    "ToolCallsPending": "llmunified._events", "StreamEvent": "llmunified._events",
    # steering the tool loop: an approver's decisions
    "allow": "llmunified._toolloop", "deny": "llmunified._toolloop", "edit": "llmunified._toolloop",
    "ToolDecision": "llmunified._toolloop",
    # configuration
    "RetryPolicy": "llmunified._retry", "PROVIDERS": "llmunified._registry",
    # the model registry and cost
    "model_info": "llmunified._models", "register_model": "llmunified._models", "ModelFacts": "llmunified._models",
    "Cost": "llmunified._cost",
    # tracing and usage totals
    "Tracer": "llmunified._trace", "TraceEvent": "llmunified._trace", "LLMCallEvent": "llmunified._trace",
    "LLMResponseEvent": "llmunified._trace", "LLMErrorEvent": "llmunified._trace", "RetryEvent": "llmunified._trace",
    "ToolCallEvent": "llmunified._trace", "FailoverEvent": "llmunified._trace", "UsageTotals": "llmunified._totals",
}

#: names that differ between the twins (the I/O layer)
IO_EXPORTS: Tuple[str, ...] = ("Client", "Stream", "RunStream", "complete", "embed", "ChatSession", "SessionStream",
                               "BulkRun", "HTTPTransport", "Transport", "Router", "RouterStream", "PullStream",
                               "BatchJob")
#: the module of each I/O name, relative to the I/O package
IO_MODULES: Dict[str, str] = {"Stream": "_stream", "RunStream": "_stream", "ChatSession": "_session", "SessionStream": "_session", "Router": "_router",
                              "RouterStream": "_router", "PullStream": "_admin", "BulkRun": "_bulk",
                              "BatchJob": "_batch"}


def namespace(package: str, io_module: str, submodules: Dict[str, str]
              ) -> Tuple[List[str], Callable[[str], Any], Callable[[], List[str]]]:
    """``(__all__, __getattr__, __dir__)`` for a package whose I/O names live in ``io_module``."""
    table = dict(CORE_EXPORTS)
    package_root = io_module.rsplit(".", 1)[0]
    table.update({name: package_root + "." + IO_MODULES[name] if name in IO_MODULES else io_module
                  for name in IO_EXPORTS})
    names = sorted(table) + sorted(submodules)

    def __getattr__(name: str) -> Any:
        module = table.get(name)
        if module is None and name not in submodules:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        from ._dccache import loading

        with loading:  # the dataclasses' methods from the cache, not compiled again
            value = getattr(importlib.import_module(module), name) if module is not None else \
                importlib.import_module(submodules[name])
        setattr(importlib.import_module(package), name, value)  # cache: next lookup is a dict hit
        return value

    def __dir__() -> List[str]:
        return names + ["__version__"]

    return names, __getattr__, __dir__
