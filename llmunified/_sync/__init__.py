"""The public namespace of the I/O layer. In this package it backs nothing public (``llmunified``
has its own); it is the source of ``llmunified_async/__init__.py``."""
from typing import TYPE_CHECKING

from llmunified._lazy import namespace
from llmunified._version import __version__

__all__, __getattr__, __dir__ = namespace(
    __name__, __name__ + "._client", {"errors": __name__ + ".errors", "testing": __name__ + ".testing"})

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from llmunified._events import (Finish, StreamEvent, TextDelta, ThinkingDelta, ToolCallDelta, ToolCallEnd,
                                    ToolCallStart, UsageEvent, ToolResultEvent, RoundEnd, ToolCallsPending)
    from llmunified._toolloop import ToolDecision, allow, deny, edit
    from llmunified._admin import ModelDetails, PullProgress
    from llmunified._cost import Cost
    from llmunified._trace import (FailoverEvent, LLMCallEvent, LLMErrorEvent, LLMResponseEvent, RetryEvent,
                                   ToolCallEvent, TraceEvent, Tracer)
    from llmunified._totals import UsageTotals
    from llmunified._models import ModelFacts, model_info, register_model
    from llmunified._registry import PROVIDERS
    from llmunified._retry import RetryPolicy
    from llmunified._tooldef import tool
    from llmunified._tokens import count_tokens
    from llmunified._types import Choice, TokenCount
    from llmunified._sync import errors, testing
    from llmunified._bulkplan import BulkResult
    from llmunified._sync._admin import PullStream
    from llmunified._sync._bulk import BulkRun
    from llmunified._sync._client import Client, HTTPTransport, Transport, complete, embed
    from llmunified._sync._stream import RunStream, Stream
    from llmunified._sync._session import ChatSession, SessionStream
    from llmunified._sync._batch import BatchJob
    from llmunified._batch import BatchCounts, BatchResult
    from llmunified._sync._router import Router, RouterStream
    from llmunified._types import (Citation, Embeddings, ImagePart, Message, ModelInfo, Response, TextPart,
                                   ThinkingPart, Tool, ToolCall, ToolResult, Usage, assistant, system, tool_result,
                                   user)
