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
    from ._cost import Cost
    from ._events import (Finish, StreamEvent, TextDelta, ThinkingDelta, ToolCallDelta, ToolCallEnd,
                          ToolCallStart, UsageEvent, ToolResultEvent, RoundEnd)
    from ._models import ModelFacts, model_info, register_model
    from ._registry import PROVIDERS
    from ._retry import RetryPolicy
    from ._tooldef import tool
    from ._sync._client import Client, HTTPTransport, RunStream, Stream, Transport, complete
    from ._sync._session import ChatSession, SessionStream
    from ._types import (Citation, ImagePart, Message, ModelInfo, Response, TextPart, ThinkingPart, Tool, ToolCall,
                         ToolResult, Usage, assistant, system, tool_result, user)
