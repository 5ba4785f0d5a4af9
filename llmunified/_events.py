"""The unified stream events, and the accumulator that turns them into a Response.

Every provider's stream decoder produces these events through :class:`Accumulator`, and every
provider's non-streaming parser builds its Response through the same Accumulator, so a streamed
response and a non-streamed one for the same content are equal by construction.
"""
from __future__ import annotations
from ._dc import dataclass, field
from typing import Any, Dict, List, Literal, Optional, Union

from ._types import Choice, Message, Part, Response, TextPart, ThinkingPart, ToolCall, Usage, parse_arguments

__all__ = [
    "TextDelta",
    "ThinkingDelta",
    "ToolCallStart",
    "ToolCallDelta",
    "ToolCallEnd",
    "UsageEvent",
    "Finish",
    "ToolResultEvent",
    "RoundEnd",
    "ToolCallsPending",
    "StreamEvent",
    "Accumulator",
]


@dataclass
class TextDelta:
    """A piece of the answer's text. ``choice``: which answer it belongs to (0 but with ``n`` > 1;
    the content events and ``Finish`` all carry it)."""

    text: str
    choice: int = 0
    type: Literal["text"] = field(default="text", init=False)


@dataclass
class ThinkingDelta:
    """A piece of reasoning text (or, with ``signature``, the block's signature)."""

    text: str
    signature: Optional[str] = None
    choice: int = 0
    type: Literal["thinking"] = field(default="thinking", init=False)


@dataclass
class ToolCallStart:
    """The model began a tool call. ``index`` counts tool calls in this response (in its
    ``choice``) from 0."""

    index: int
    id: str
    name: str
    choice: int = 0
    type: Literal["tool_call_start"] = field(default="tool_call_start", init=False)


@dataclass
class ToolCallDelta:
    """A fragment of a tool call's JSON arguments."""

    index: int
    arguments: str
    choice: int = 0
    type: Literal["tool_call_delta"] = field(default="tool_call_delta", init=False)


@dataclass
class ToolCallEnd:
    """A tool call is complete; ``tool_call.arguments`` is parsed."""

    index: int
    tool_call: ToolCall
    choice: int = 0
    type: Literal["tool_call_end"] = field(default="tool_call_end", init=False)


@dataclass
class UsageEvent:
    """Token usage for the response (the final figures the provider reported)."""

    usage: Usage
    type: Literal["usage"] = field(default="usage", init=False)


@dataclass
class Finish:
    """The response is complete. Always the last event of a successful stream. With ``n`` > 1
    each answer ends with its own (``choice`` > 0 first; the last is choice 0's)."""

    finish_reason: str
    choice: int = 0
    type: Literal["finish"] = field(default="finish", init=False)


@dataclass
class ToolResultEvent:
    """(``run_stream``) A tool ran (or failed) and its result goes back to the model."""

    tool_call: ToolCall
    content: Any
    is_error: bool = False
    type: Literal["tool_result"] = field(default="tool_result", init=False)


@dataclass
class RoundEnd:
    """(``run_stream``) Marker between rounds: the model asked for tools, they ran, the next
    round (a new model call) follows. ``round`` counts from 1."""

    round: int
    type: Literal["round_end"] = field(default="round_end", init=False)


@dataclass
class ToolCallsPending:
    """(``run_stream`` with ``caller_tools=``) The loop waits for you: run these calls (their
    arguments validated) and answer each with ``run.submit(call.id, result)`` (or
    ``run.submit_all({id: result})``; an error with ``submit(call.id, error="...")``) before
    iterating on. The round's function tools have already run (their ``ToolResultEvent`` came
    first); ``round`` counts from 1."""

    tool_calls: List[ToolCall]
    round: int
    type: Literal["tool_calls_pending"] = field(default="tool_calls_pending", init=False)


StreamEvent = Union[TextDelta, ThinkingDelta, ToolCallStart, ToolCallDelta, ToolCallEnd, UsageEvent, Finish,
                    ToolResultEvent, RoundEnd, ToolCallsPending]


class _OpenCall:
    __slots__ = ("position", "index", "id", "name", "args", "ended")

    def __init__(self, position: int, index: int, id: str, name: str) -> None:
        self.position = position
        self.index = index
        self.id = id
        self.name = name
        self.args: List[str] = []
        self.ended = False


class Accumulator:
    """Builds a Response from content pieces and returns the matching events.

    Decoders call ``text()``, ``thinking()``, ``tool_start()`` ... in wire order; each call
    returns the event to hand to the caller (or None when there is nothing to report).
    Consecutive text pieces merge into one TextPart; a new thinking block must be opened with
    ``new_thinking_block()`` (Anthropic sends several, each with its own signature).

    With ``n`` > 1 the accumulator is choice 0's, and ``choice(i)`` is the accumulator of answer
    ``i`` (made on first use; its events carry ``choice=i``); :meth:`response` puts them in
    ``Response.other_choices``. Usage, id and model are the whole reply's, on this one.
    """

    __slots__ = ("provider", "model", "id", "parts", "_text", "_calls", "_ncalls", "usage",
                 "finish_reason", "raw", "finished", "headers", "citations", "choice_index", "_choices")

    def __init__(self, provider: str, model: Optional[str] = None, headers: Any = None,
                 choice_index: int = 0) -> None:
        self.choice_index = choice_index
        self._choices: Optional[Dict[int, "Accumulator"]] = None  # answers 1.. of an n > 1 reply
        self.provider = provider
        self.model = model
        self.id: Optional[str] = None
        self.parts: List[Part] = []
        self._text: Optional[List[str]] = None  # pieces of the trailing TextPart, joined lazily
        self._calls: Dict[Any, _OpenCall] = {}
        self._ncalls = 0
        self.usage: Optional[Usage] = None
        self.finish_reason: Optional[str] = None
        self.raw: Any = []  # a stream's decoded events; a parser sets the decoded body (a dict)
        self.finished = False
        self.headers = headers if headers is not None else {}
        self.citations: List[Any] = []  # Citation objects, in the order the provider sent them

    # -- text and thinking -------------------------------------------------------------------
    def _close_text(self) -> None:
        if self._text is not None:
            self.parts[-1] = TextPart("".join(self._text))
            self._text = None

    def text(self, piece: str) -> Optional[TextDelta]:
        if not piece:
            return None
        if self._text is None:
            self._text = [piece]
            self.parts.append(None)  # type: ignore[arg-type]  # filled by _close_text
        else:
            self._text.append(piece)
        return TextDelta(piece, self.choice_index)

    def new_thinking_block(self) -> None:
        self._open_thinking_block()

    def _open_thinking_block(self) -> ThinkingPart:
        self._close_text()
        block = ThinkingPart("")
        self.parts.append(block)
        return block

    def thinking(self, piece: str) -> Optional[ThinkingDelta]:
        if not piece:
            return None
        last = self.parts[-1] if self.parts else None
        if not isinstance(last, ThinkingPart) or last.redacted or self._text is not None:
            last = self._open_thinking_block()
        last.text += piece
        return ThinkingDelta(piece, None, self.choice_index)

    def thinking_signature(self, signature: str) -> Optional[ThinkingDelta]:
        if not signature:
            return None
        last = self.parts[-1] if self.parts else None
        if not isinstance(last, ThinkingPart) or self._text is not None:
            last = self._open_thinking_block()
        last.signature = (last.signature or "") + signature
        return ThinkingDelta("", signature, self.choice_index)

    def redacted_thinking(self, data: str) -> None:
        self._close_text()
        self.parts.append(ThinkingPart("", redacted=True, data=data))

    # -- tool calls --------------------------------------------------------------------------
    def tool_start(self, key: Any, id: Optional[str], name: str) -> ToolCallStart:
        if key in self._calls and not self._calls[key].ended:
            self.tool_end(key)  # a provider reused an index: the earlier call is complete
        self._close_text()
        index = self._ncalls
        self._ncalls += 1
        call_id = id or f"call_{index}"
        self._calls[key] = _OpenCall(len(self.parts), index, call_id, name)
        self.parts.append(None)  # type: ignore[arg-type]  # filled at tool_end
        return ToolCallStart(index, call_id, name, self.choice_index)

    def has_tool(self, key: Any) -> bool:
        return key in self._calls

    def tool_args(self, key: Any, fragment: str) -> Optional[ToolCallDelta]:
        if not fragment:
            return None
        call = self._calls[key]
        call.args.append(fragment)
        return ToolCallDelta(call.index, fragment, self.choice_index)

    def tool_end(self, key: Any, arguments: Optional[Dict[str, Any]] = None) -> Optional[ToolCallEnd]:
        """Close a call; ``arguments`` given as an object (Anthropic/Ollama non-stream) wins."""
        call = self._calls.get(key)
        if call is None or call.ended:
            return None
        call.ended = True
        if arguments is not None:
            tc = ToolCall(call.id, call.name, arguments)
        else:
            raw = "".join(call.args)
            tc = ToolCall(call.id, call.name, parse_arguments(raw), raw_arguments=raw)
        self.parts[call.position] = tc
        return ToolCallEnd(call.index, tc, self.choice_index)

    def end_open_tools(self) -> List[ToolCallEnd]:
        events = []
        for key in list(self._calls):
            ev = self.tool_end(key)
            if ev is not None:
                events.append(ev)
        return events

    def add_tool_call(self, id: Optional[str], name: str, arguments: Dict[str, Any],
                      raw_arguments: Optional[str] = None) -> List[Any]:
        """A whole tool call at once (non-streaming replies, Ollama, Groq-style deltas)."""
        key = ("whole", self._ncalls)
        start = self.tool_start(key, id, name)
        events: List[Any] = [start]
        if raw_arguments is not None:
            delta = self.tool_args(key, raw_arguments)
            if delta is not None:
                events.append(delta)
            end = self.tool_end(key)
        else:
            end = self.tool_end(key, arguments)
        events.append(end)
        return events

    # -- usage and finish --------------------------------------------------------------------
    def set_usage(self, usage: Usage) -> UsageEvent:
        self.usage = usage
        return UsageEvent(usage)

    def finish(self, reason: Optional[str] = None) -> Finish:
        if reason is not None:
            self.finish_reason = reason
        if self.finish_reason is None:
            self.finish_reason = "tool_calls" if self._ncalls else "stop"
        self.finished = True
        return Finish(self.finish_reason, self.choice_index)

    # -- several answers (n > 1) ---------------------------------------------------------------
    def choice(self, index: int) -> "Accumulator":
        """The accumulator of answer ``index`` (this one for 0)."""
        if index == 0:
            return self
        choices = self._choices
        if choices is None:
            choices = self._choices = {}
        acc = choices.get(index)
        if acc is None:
            acc = choices[index] = Accumulator(self.provider, self.model, self.headers, index)
        return acc

    @property
    def other_choices(self) -> List["Accumulator"]:
        """The accumulators of answers 1.. seen so far, in index order."""
        choices = self._choices
        return [choices[i] for i in sorted(choices)] if choices else []

    # -- result ------------------------------------------------------------------------------
    def _message(self) -> Message:
        open_calls = {c.position: c for c in self._calls.values() if not c.ended}
        last = len(self.parts) - 1
        parts: List[Part] = []
        for i, p in enumerate(self.parts):
            if p is None:
                if i == last and self._text is not None:  # the text run still being streamed
                    p = TextPart("".join(self._text))
                else:  # a tool call still open (the stream broke inside it)
                    call = open_calls[i]
                    raw = "".join(call.args)
                    p = ToolCall(call.id, call.name, parse_arguments(raw), raw_arguments=raw)
            elif isinstance(p, ThinkingPart):
                # a copy: thinking text grows in place while streaming (the constructor, not
                # dataclasses.replace, which inspects the fields on every call)
                p = ThinkingPart(p.text, p.signature, p.redacted, p.data)
            parts.append(p)
        if len(parts) == 1 and isinstance(parts[0], TextPart):
            content: Any = parts[0].text
        elif not parts:
            content = ""
        else:
            content = parts
        return Message("assistant", content)

    def _reason(self) -> str:
        return self.finish_reason or ("tool_calls" if self._ncalls else "stop")

    def response(self) -> Response:
        """The Response so far (complete after ``finish()``; partial before it).

        Reading it changes nothing: the stream can go on, and the parts returned are copies.
        """
        response = Response(
            message=self._message(),
            finish_reason=self._reason(),
            usage=self.usage if self.usage is not None else Usage(),
            model=self.model,
            provider=self.provider,
            id=self.id,
            raw=self.raw,
            headers=self.headers,
            citations=list(self.citations),
        )
        if self._choices:
            response.other_choices = [Choice(a.choice_index, a._message(), a._reason()) for a in self.other_choices]
        return response
