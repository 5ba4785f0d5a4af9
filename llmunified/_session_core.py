"""ChatSession's decisions (sans-IO): history, truncation to the token budget, what a finished
exchange adds, and the session file. Both twins' ChatSession hold one ``SessionState``."""
from __future__ import annotations
import json
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, cast

from ._cost import Cost, billed_parts, sum_parts
from ._history import History, Mark, Selection
from ._options import to_messages, to_tool
from ._tokens import as_counter, prompt_overhead
from ._types import ImagePart, Message, Response, TextPart
from .errors import ValidationError

__all__ = ["SessionState", "default_reserve", "DEFAULT_RESERVE"]

#: tokens kept free for the reply when ``reserve_tokens`` is not given (a small budget keeps a quarter)
DEFAULT_RESERVE = 1024


def default_reserve(max_context_tokens: Optional[int]) -> int:
    """The default ``reserve_tokens``: 1024, or a quarter of a smaller budget, so that
    ``ChatSession(client, max_context_tokens=1000)`` leaves 750 tokens for the conversation."""
    if max_context_tokens is None:
        return DEFAULT_RESERVE
    return min(DEFAULT_RESERVE, max_context_tokens // 4)


def user_message(content: Any) -> Message:
    """What ``send`` accepts: text, a Message, a dict, or a list of parts."""
    if (isinstance(content, (list, tuple)) and any(isinstance(p, (TextPart, ImagePart)) for p in content)
            and all(isinstance(p, (str, TextPart, ImagePart)) for p in content)):
        return Message("user", [TextPart(p) if isinstance(p, str) else p for p in content])
    messages = to_messages(content)
    if len(messages) != 1:
        raise ValidationError("send() takes one message (text, a Message, a dict or a list of parts)")
    return messages[0]


class SessionState:
    """History + budget + options of one chat session."""

    def __init__(self, provider: str, model_name: str, system: Optional[str] = None, tools: Any = None,
                 max_context_tokens: Optional[int] = None, reserve_tokens: Optional[int] = None,
                 token_counter: Any = None,
                 options: Optional[Dict[str, Any]] = None, history: Optional[History] = None) -> None:
        if system is not None and not isinstance(system, str):
            raise ValidationError(f"system must be a string, got {type(system).__name__}")
        for name, value in (("max_context_tokens", max_context_tokens), ("reserve_tokens", reserve_tokens)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise ValidationError(f"{name} must be a non-negative int, got {value!r}")
        if reserve_tokens is None:  # scaled to the budget; an explicit value is checked as given
            reserve_tokens = default_reserve(max_context_tokens)
        if max_context_tokens is not None and max_context_tokens <= reserve_tokens:
            raise ValidationError(f"max_context_tokens ({max_context_tokens}) must exceed reserve_tokens "
                                  f"({reserve_tokens}): nothing would be left for the conversation")
        self.provider = provider
        self.model_name = model_name
        self.system = system
        self.tools = [to_tool(t) for t in tools] if tools else None
        self.max_context_tokens = max_context_tokens
        self.reserve_tokens = reserve_tokens
        self.options = dict(options or {})
        self.counter = as_counter(token_counter, provider, model_name)
        self.overhead = prompt_overhead(self.counter, self.tools or ())
        if history is None:
            history = History(self.counter, [Message("system", system)] if system else [])
        self.history = history
        self.last_selection: Optional[Selection] = None
        #: (provider, model, usage) of every billed call of the session's exchanges
        self.billed: List[Any] = []

    @property
    def budget(self) -> Optional[int]:
        if self.max_context_tokens is None:
            return None
        return self.max_context_tokens - self.reserve_tokens

    # -- token_counter="provider": the I/O layer asks the provider before prepare() ----------
    def provider_plan(self, content: Any) -> Tuple[Any, Any]:
        """(the user turn, as a Message when counting with the provider, and the
        :class:`~llmunified._tokens.CountPlan` of what to ask it before that turn is selected,
        or None: nothing new to count, or the counting is local)."""
        from ._tokens import ProviderCounter

        counter = self.counter
        if not isinstance(counter, ProviderCounter) or counter.available is False:
            return content, None
        message = user_message(content)
        return message, counter.plan(self.history.messages + [message], self.tools)

    def needs_provider_count(self, content: Any) -> bool:
        """Whether a turn with ``content`` must wait for the provider's count (a stream then
        counts when it is entered)."""
        from ._tokens import ProviderCounter

        counter = self.counter
        if not isinstance(counter, ProviderCounter) or counter.available is False:
            return False
        return not isinstance(content, Message) or self.provider_plan(content)[1] is not None

    def provider_counted(self, plan: Any, results: Sequence[Any]) -> None:
        """Take the provider's counts for ``plan``: per-message figures replace the local
        stand-ins the history holds, and the tool definitions' measured cost the overhead."""
        history = self.history
        stale = cast(Any, self.counter).record(plan, results)
        if stale:
            where = {id(m): i for i, m in enumerate(history.messages)}
            for message in stale:
                index = where.get(id(message))
                if index is not None:
                    history.invalidate(index)
        self.overhead = prompt_overhead(self.counter, self.tools or ())

    # -- one exchange ------------------------------------------------------------------------
    def prepare(self, content: Any) -> Tuple[Mark, Selection]:
        """Append the user turn and choose what to send; raises before any network call when
        the newest turn cannot fit (nothing changes then)."""
        message = user_message(content)
        mark = self.history.mark()
        self.history.append(message)
        try:
            selection = self.history.select(self.budget, overhead=self.overhead)
        except BaseException:
            self.history.rollback(mark)
            raise
        self.last_selection = selection
        return mark, selection

    def call_options(self, options: Dict[str, Any]) -> Dict[str, Any]:
        merged = dict(self.options)
        merged.update(options)
        return merged

    def commit(self, selection: Selection, response: Response) -> None:
        """A finished exchange: keep the assistant turn (and with tools, every tool turn)."""
        added: Sequence[Message] = response.messages if response.messages is not None else [response.message]
        self.history.extend(added)
        self.billed.extend(billed_parts(response))
        # The provider's input count covers exactly the selection only for a single call.
        if len(added) == 1 and response.usage.input_tokens:
            self.history.correct(selection, response.usage.input_tokens)

        # a tool loop that stopped at calls the caller runs: they wait for ChatSession.submit_tool_results
        self.pending = {call.id: call for call in response.pending_tool_calls}

    # -- caller-run tools and cancelled loops ----------------------------------------------------
    pending: Dict[str, Any] = {}

    def check_no_pending(self) -> None:
        if self.pending:
            from .errors import ToolSubmissionError

            raise ToolSubmissionError(
                f"tool call(s) {', '.join(self.pending)} wait for your results: answer them with "
                "chat.submit_tool_results({call_id: result, ...}) before sending a new message",
                pending=list(self.pending))

    def prepare_results(self, results: Any) -> Tuple[Mark, Selection]:
        """``submit_tool_results``: the tool messages answering every pending call, appended;
        then what to send."""
        from ._toolloop import result_content
        from ._types import ToolResult
        from .errors import ToolSubmissionError

        waiting = list(self.pending)
        if not waiting:
            raise ToolSubmissionError("no tool call waits for a result: submit_tool_results() answers the "
                                      "pending_tool_calls of the last reply", pending=[])
        if not isinstance(results, Mapping):
            raise ToolSubmissionError(f"submit_tool_results() takes {{call_id: result}}, got "
                                      f"{type(results).__name__}", pending=waiting)
        unknown = [cid for cid in results if cid not in self.pending]
        if unknown:
            raise ToolSubmissionError(f"no tool call {', '.join(map(repr, unknown))} waits for a result; "
                                      f"waiting: {', '.join(waiting)}", pending=waiting)
        missing = [cid for cid in waiting if cid not in results]
        if missing:
            raise ToolSubmissionError(f"answer every pending tool call at once; missing: {', '.join(missing)}",
                                      pending=waiting)
        messages = []
        for cid, call in self.pending.items():
            value = results[cid]
            if isinstance(value, BaseException):
                part = ToolResult(cid, f"Error: {type(value).__name__}: {value}", name=call.name, is_error=True)
            else:
                part = ToolResult(cid, result_content(value), name=call.name)
            messages.append(Message("tool", [part]))
        mark = self.history.mark()
        self.history.extend(messages)
        try:
            selection = self.history.select(self.budget, overhead=self.overhead)
        except BaseException:
            self.history.rollback(mark)
            raise
        self.pending = {}
        self.last_selection = selection
        return mark, selection

    def keep_partial(self, mark: Mark, messages: Sequence[Message], billed: Sequence[Any]) -> None:
        """A tool loop cancelled mid-turn: keep its whole rounds (``messages``, every tool call
        answered); with none, the turn is undone as a failed one is."""
        self.billed.extend(billed)
        if messages:
            self.history.extend(messages)
        else:
            self.history.rollback(mark)

    @property
    def cost(self) -> Optional[Cost]:
        """The summed cost of the exchanges so far (None before the first, or when any is unknown)."""
        return sum_parts(self.billed) if self.billed else None

    def abort(self, mark: Mark) -> None:
        self.history.rollback(mark)

    # -- copies and files --------------------------------------------------------------------
    def fork(self) -> "SessionState":
        twin = SessionState.__new__(SessionState)
        twin.__dict__.update(self.__dict__)
        twin.options = dict(self.options)
        twin.tools = list(self.tools) if self.tools else None
        twin.history = self.history.fork()
        twin.billed = list(self.billed)
        return twin

    def _offset(self) -> int:
        h = self.history.messages
        return 1 if self.system is not None and h and h[0].role == "system" and h[0].content == self.system else 0

    def to_dict(self, model: str) -> Dict[str, Any]:
        from ._serialize import session_to_dict

        off = self._offset()
        options = {}
        for key, value in self.options.items():
            try:
                json.dumps(value)
            except (TypeError, ValueError):
                continue  # tools, response_format types...: given again on load
            options[key] = value
        meta = {"model": model, "token_factor": self.history.factor, "counter": self.counter.name,
                "max_context_tokens": self.max_context_tokens, "reserve_tokens": self.reserve_tokens}
        return session_to_dict(self.system, self.history.messages[off:], self.history.dropped,
                               [i - off for i in self.history.pinned if i >= off], options, meta)

    @classmethod
    def from_data(cls, data: Any, provider: str, model_name: str, tools: Any, token_counter: Any,
                  options: Dict[str, Any]) -> "SessionState":
        meta = data.meta or {}
        state = cls(provider, model_name, data.system, tools, meta.get("max_context_tokens"),
                    meta.get("reserve_tokens"), token_counter, {**data.options, **options})
        head: List[Message] = [Message("system", data.system)] if data.system is not None else []
        factor = meta.get("token_factor", 1.0)
        state.history = History(state.counter, head + list(data.messages), dropped=data.dropped,
                                pinned=[i + len(head) for i in data.pinned],
                                factor=factor if isinstance(factor, (int, float)) and 0 < factor else 1.0)
        return state

