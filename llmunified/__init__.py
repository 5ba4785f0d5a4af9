"""llmunified: one small, fast, honest API for every large-language-model provider.

    import llmunified as llm
    print(llm.complete("openai/gpt-4o-mini", "Hi").text)

    with llm.Client("anthropic/claude-sonnet-4-5", temperature=0.2) as client:
        with client.stream("Tell me a story") as stream:
            for event in stream:
                if event.type == "text":
                    print(event.text, end="")

The same names, as coroutines, live in ``llmunified_async``. Names load on first use, so
``import llmunified`` is cheap and imports neither aiohttp, jsonschema nor dataclasses_json.
"""
from typing import TYPE_CHECKING

from ._lazy import namespace
from ._version import __version__

__all__, __getattr__, __dir__ = namespace(
    __name__, "llmunified._sync._client", {"errors": "llmunified.errors", "testing": "llmunified.testing"})

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from . import errors, testing
    from ._admin import ModelDetails, PullProgress
    from ._cost import Cost
    from ._trace import (FailoverEvent, LLMCallEvent, LLMErrorEvent, LLMResponseEvent, RetryEvent, ToolCallEvent,
                         TraceEvent, Tracer)
    from ._totals import UsageTotals
    from ._events import (Finish, StreamEvent, TextDelta, ThinkingDelta, ToolCallDelta, ToolCallEnd,
                          ToolCallStart, UsageEvent, ToolResultEvent, RoundEnd, ToolCallsPending)
    from ._toolloop import ToolDecision, allow, deny, edit
    from ._models import ModelFacts, model_info, register_model
    from ._registry import PROVIDERS
    from ._retry import RetryPolicy
    from ._tooldef import tool
    from ._tokens import count_tokens
    from ._types import TokenCount
    from ._bulkplan import BulkResult
    from ._sync._admin import PullStream
    from ._sync._bulk import BulkRun
    from ._sync._client import Client, HTTPTransport, Transport, complete, embed
    from ._sync._stream import RunStream, Stream
    from ._sync._session import ChatSession, SessionStream
    from ._sync._batch import BatchJob
    from ._batch import BatchCounts, BatchResult
    from ._sync._router import Router, RouterStream
    from ._types import Choice
    from ._types import (Citation, Embeddings, ImagePart, Message, ModelInfo, Response, TextPart, ThinkingPart, Tool,
                         ToolCall, ToolResult, Usage, assistant, system, tool_result, user)
