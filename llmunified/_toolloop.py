"""The automatic tool loop's decisions (sans-IO): which tool a call names, whether its arguments
are valid, what goes back to the model. The I/O layer only calls the functions and the model."""
from __future__ import annotations
import enum
import functools
import json
from typing import TYPE_CHECKING, Any, Callable, Dict, FrozenSet, List, Mapping, Optional, Sequence, Tuple

from ._cost import bill, billed_parts
from ._dc import asdict, replace
from ._options import to_messages, to_tool
from ._types import Message, Response, Tool, ToolCall, ToolResult, Usage
from .errors import (ToolApprovalError, ToolLoopCancelledError, ToolLoopError, ToolSubmissionError,
                     ValidationError)

if TYPE_CHECKING:
    from ._schema import ArgumentsCheck

__all__ = ["ToolLoop", "ToolPlan", "DEFAULT_PARALLEL_TOOLS", "check_parallel_tools", "ToolDecision", "allow",
           "deny", "edit", "caller_tool_names"]

#: how many tool calls of one round run at once unless ``max_parallel_tools`` says otherwise
DEFAULT_PARALLEL_TOOLS = 8


def check_parallel_tools(value: Any) -> int:
    """``max_parallel_tools`` checked: a positive int (1 runs the tools one by one)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(f"max_parallel_tools must be a positive int (1: one tool at a time), got {value!r}")
    return value


class ToolPlan:
    """What to do with one tool call: run ``tool.function(**kwargs)``, or answer ``error``.

    ``arguments`` are the validated arguments (JSON values, the nulls of omitted optional
    parameters dropped): what an approver and the caller of a caller-run tool see."""

    __slots__ = ("call", "tool", "kwargs", "error", "arguments")

    def __init__(self, call: ToolCall, tool: Optional[Tool], kwargs: Optional[Dict[str, Any]],
                 error: Optional[str], arguments: Optional[Dict[str, Any]] = None) -> None:
        self.call = call
        self.tool = tool
        self.kwargs = kwargs
        self.error = error
        self.arguments = arguments


class ToolDecision:
    """What an approver decided about one planned tool call: made by :func:`allow`,
    :func:`deny` and :func:`edit` (an approver may also return ``True`` / ``False``)."""

    __slots__ = ("action", "reason", "arguments")

    def __init__(self, action: str, reason: Optional[str] = None,
                 arguments: Optional[Dict[str, Any]] = None) -> None:
        self.action = action
        self.reason = reason
        self.arguments = arguments

    def __repr__(self) -> str:
        if self.action == "deny":
            return f"deny({self.reason!r})"
        if self.action == "edit":
            return f"edit({self.arguments!r})"
        return "allow()"

    def __eq__(self, other: Any) -> bool:
        return (isinstance(other, ToolDecision)
                and (self.action, self.reason, self.arguments) == (other.action, other.reason, other.arguments))

    __hash__ = None  # type: ignore[assignment]  # mutable arguments


#: the reason sent to the model when an approver returns False
DENIED = "the user did not allow this tool call"


def allow() -> ToolDecision:
    """An approver's answer: run the tool call as the model asked (same as returning True)."""
    return ToolDecision("allow")


def deny(reason: str = DENIED) -> ToolDecision:
    """An approver's answer: do not run the call; the model gets an error result with ``reason``."""
    if not isinstance(reason, str) or not reason.strip():
        raise ValidationError(f"deny() needs a reason (a non-empty str) for the model, got {reason!r}")
    return ToolDecision("deny", reason=reason)


def edit(arguments: Mapping[str, Any]) -> ToolDecision:
    """An approver's answer: run the call with these arguments instead (checked against the
    tool's schema again; the transcript shows the call with them)."""
    if not isinstance(arguments, Mapping):
        raise ValidationError(f"edit() takes the new arguments as a dict, got {type(arguments).__name__}")
    return ToolDecision("edit", arguments=dict(arguments))


def caller_tool_names(value: Any) -> FrozenSet[str]:
    """``caller_tools=`` as a set of names: None (none), True (every tool), or names / tools."""
    if value is None or value is False:
        return frozenset()
    if value is True:
        return frozenset(["*"])
    if isinstance(value, (str, Tool)):
        value = [value]
    try:
        items = list(value)
    except TypeError:
        raise ValidationError(f"caller_tools must be tool names (or tools), or True for every tool; got "
                              f"{type(value).__name__}") from None
    names = []
    for item in items:
        name = item.name if isinstance(item, Tool) else item
        if not isinstance(name, str) or not name:
            raise ValidationError(f"caller_tools must be tool names (or tools), got {item!r}")
        names.append(name)
    return frozenset(names)


def _jsonable(value: Any) -> Any:
    if hasattr(type(value), "__dataclass_fields__"):  # a dataclass instance (dataclasses.is_dataclass's test)
        return {k: _jsonable(v) for k, v in asdict(value).items()}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    return value


def result_content(value: Any) -> Any:
    """A tool's return value as tool-result content: strings as they are, the rest as JSON."""
    if isinstance(value, str):
        return value
    value = _jsonable(value)
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return str(value)
    return value


class ToolLoop:
    """State of one ``Client.run``: the tools, the rounds used, the transcript so far and usage.

    ``parallel`` is how many tool calls of a round the I/O layer may run at once; whatever order
    they finish in, their results are recorded (``answer``) in the order the model asked.
    """

    parallel = DEFAULT_PARALLEL_TOOLS

    #: calls of the current round waiting for the caller's result, in the model's order
    pending: Dict[str, ToolPlan]
    #: messages queued by ``inject``, sent with the next round
    injected: List[Message]

    def __init__(self, tools: Sequence[Any], max_rounds: int) -> None:
        if not tools:
            raise ValidationError("run() needs tools=[...]: functions decorated with @llm.tool or llm.Tool objects "
                                  "with a function")
        if isinstance(max_rounds, bool) or not isinstance(max_rounds, int) or max_rounds < 1:
            raise ValidationError(f"max_rounds must be a positive int, got {max_rounds!r}")
        self.tools: List[Tool] = [to_tool(t) for t in tools]
        from ._schema import validate_tools  # jsonschema loads only when tools are used

        validate_tools(self.tools)
        self.by_name: Dict[str, Tool] = {t.name: t for t in self.tools}
        # per tool, made on its first call: its schema's validation, compiled once for the run
        self._checks: Dict[str, "ArgumentsCheck"] = {}
        self.max_rounds = max_rounds
        self.rounds = 0
        self.new: List[Message] = []
        self.usage = Usage()
        self.billed: List[Any] = []  # (provider, model, usage) per round: each priced at its own tier
        self.steered = False
        self.pending: Dict[str, ToolPlan] = {}
        self._answers: Dict[str, Message] = {}
        self._answered: set = set()
        self.injected: List[Message] = []

    # -- steering: caller-run tools, approvals, injection, cancellation -------------------------
    #: tools the caller runs (their calls wait for ``submit``); empty: the loop runs every tool
    caller: FrozenSet[str] = frozenset()
    #: the ``approve=`` callable, asked about every valid call before anything of its round runs
    approve: Optional[Callable[[ToolCall], Any]] = None
    #: "running", then "done" (final answer), "paused" (a non-streaming run returned with calls
    #: for the caller), "failed" or "cancelled"
    state = "running"

    def steer(self, caller_tools: Any = None, approve: Any = None) -> None:
        """Set ``caller_tools`` and ``approve`` (both optional), before the first round; checks
        every tool can be run by someone: a tool without a function must be one the caller runs
        (``Client.run`` always calls this, also without either)."""
        names = caller_tool_names(caller_tools)
        if "*" in names:
            names = frozenset(self.by_name)
        unknown = sorted(names - set(self.by_name))
        if unknown:
            raise ValidationError(f"caller_tools names {', '.join(map(repr, unknown))}, not among the tools: "
                                  f"{', '.join(sorted(self.by_name))}")
        missing = [t.name for t in self.tools if t.function is None and t.name not in names]
        if missing:
            raise ValidationError(
                f"tool(s) {', '.join(missing)} have no function to run: build them with @llm.tool or "
                "llm.Tool(..., function=callable), or run them yourself: caller_tools={"
                + ", ".join(map(repr, missing)) + "} (see Response.pending_tool_calls)")
        if approve is not None and not callable(approve):
            raise ValidationError(f"approve must be a callable taking a ToolCall, got {type(approve).__name__}")
        self.caller = names
        self.approve = approve
        self.steered = bool(names) or approve is not None

    def limit_parallel(self, value: Optional[int]) -> None:
        """Set ``parallel`` from ``max_parallel_tools`` (None: the default)."""
        self.parallel = DEFAULT_PARALLEL_TOOLS if value is None else check_parallel_tools(value)

    def plan(self, call: ToolCall) -> ToolPlan:
        tool = self.by_name.get(call.name)
        if tool is None:
            return ToolPlan(call, None, None, f"unknown tool {call.name!r}; available tools: "
                                              f"{', '.join(sorted(self.by_name))}")
        if not call.arguments_valid:
            return ToolPlan(call, tool, None, f"the arguments are not a valid JSON object: {call.raw_arguments!r}")
        check = self._checks.get(call.name)
        if check is None:
            from ._schema import ArgumentsCheck

            check = self._checks[call.name] = ArgumentsCheck(tool.parameters)
        # validate_arguments (which the check is, compiled for the run) also drops the nulls
        # strict mode makes models send for omitted optional parameters, so the function's own
        # defaults apply.
        arguments, errors = check(call.arguments)
        if errors:
            return ToolPlan(call, tool, None, "invalid arguments: " + "; ".join(errors))
        if tool.function is None:  # run by the caller: it gets the validated JSON arguments
            return ToolPlan(call, tool, None, None, arguments)
        convert = getattr(tool, "convert_arguments", None)
        try:
            kwargs = convert(arguments) if convert is not None else dict(arguments)
        except (ValueError, TypeError, ValidationError) as exc:
            return ToolPlan(call, tool, None, f"invalid arguments: {exc}")
        return ToolPlan(call, tool, kwargs, None, arguments)

    def record(self, response: Response) -> List[ToolPlan]:
        """Take one model reply; the plans for its tool calls (empty: the loop is over)."""
        self.rounds += 1
        self.usage = self.usage + response.usage
        self.billed.extend(billed_parts(response))
        self.new.append(response.message)
        self._last = response
        return [self.plan(call) for call in response.tool_calls]

    def answer(self, plan: ToolPlan, value: Any = None, error: Optional[BaseException] = None) -> Message:
        """Record and return the tool message for one call (a result, or an error result)."""
        if plan.error is not None:
            result = ToolResult(plan.call.id, f"Error: {plan.error}", name=plan.call.name, is_error=True)
        elif error is not None:
            result = ToolResult(plan.call.id, f"Error: {type(error).__name__}: {error}", name=plan.call.name,
                                is_error=True)
        else:
            result = ToolResult(plan.call.id, result_content(value), name=plan.call.name)
        message = Message("tool", [result])
        self.new.append(message)
        return message

    def exhausted(self) -> bool:
        return self.rounds >= self.max_rounds

    def finish(self, response: Response) -> Response:
        self.state = "done"
        response.usage = self.usage
        bill(response, self.billed)
        response.messages = list(self.new)
        return response

    def error(self, last: Response) -> ToolLoopError:
        self.state = "failed"
        err = ToolLoopError(
            f"the model still asked for tools after max_rounds={self.max_rounds} rounds; the transcript so far "
            "is on error.messages", provider=last.provider, response=last, messages=list(self.new),
            usage=self.usage)
        err.billed = tuple(self.billed)  # every round was billed: error.cost sums them
        return err

    # -- one round, steered ----------------------------------------------------------------------
    @property
    def ended(self) -> bool:
        return self.state != "running"

    def over(self, plans: List[ToolPlan]) -> bool:
        """After ``record``: True when the loop is over (no tool calls and nothing injected)."""
        return not plans and not self.injected

    def next_round(self) -> None:
        """Before a model call: the injected messages join the transcript (they go out now)."""
        if self.injected:
            self.new.extend(self.injected)
            self.injected = []

    def request(self, plan: ToolPlan) -> ToolCall:
        """The call as an approver or the caller sees it: its validated arguments."""
        call = plan.call
        if plan.arguments is None or plan.arguments == call.arguments:
            return call
        return replace(call, arguments=dict(plan.arguments), raw_arguments=None)

    def to_approve(self, plans: List[ToolPlan]) -> List[ToolPlan]:
        """The calls to ask the approver about (those that would run: valid arguments)."""
        if self.approve is None:
            return []
        return [p for p in plans if p.error is None]

    def approval(self, plan: ToolPlan) -> Callable[[], Any]:
        """The approver's question about ``plan``, as a call without arguments (a partial, so the
        async twin still sees a coroutine approver as one and awaits it)."""
        approve = self.approve
        if approve is None:
            raise ValidationError("this tool loop has no approver")
        return functools.partial(approve, self.request(plan))

    def decide(self, plan: ToolPlan, decision: Any) -> None:
        """Apply the approver's ``decision`` to ``plan``: allow leaves it, deny makes it an error
        result with the reason, edit re-validates the new arguments (invalid, or not a decision:
        :class:`ToolApprovalError`, the loop fails, nothing is sent)."""
        if decision is True or (isinstance(decision, ToolDecision) and decision.action == "allow"):
            return
        if decision is False:
            decision = deny()
        if not isinstance(decision, ToolDecision):
            raise self._approval_error(
                plan, f"the approver returned {decision!r} for tool call {plan.call.id!r} ({plan.call.name}); return "
                      "True or llm.allow(), False or llm.deny(reason), or llm.edit(arguments)")
        if decision.action == "deny":
            plan.error = f"not run: {decision.reason}"
            plan.kwargs = None
            return
        tool = plan.tool
        assert tool is not None and decision.arguments is not None
        check = self._checks[tool.name]
        arguments, errors = check(decision.arguments)
        kwargs: Optional[Dict[str, Any]] = None
        if not errors and tool.function is not None:
            convert = getattr(tool, "convert_arguments", None)
            try:
                kwargs = convert(arguments) if convert is not None else dict(arguments)
            except (ValueError, TypeError, ValidationError) as exc:
                errors = [str(exc)]
        if errors:
            raise self._approval_error(
                plan, f"the approver's edited arguments for tool call {plan.call.id!r} ({plan.call.name}) are "
                      f"invalid: {'; '.join(errors)}; nothing was sent", errors=errors)
        plan.arguments = arguments
        plan.kwargs = kwargs
        # the transcript shows the call as it runs, so the result answers what the model sees
        edited = replace(plan.call, arguments=dict(arguments), raw_arguments=None)
        last = self.new[-1] if self.new else None
        if last is not None and isinstance(last.content, list):
            last.content = [edited if part is plan.call else part for part in last.content]
        plan.call = edited

    def approver_failed(self, plan: ToolPlan, exc: BaseException) -> ToolApprovalError:
        """The error for an approver that raised ``exc`` (raise it ``from exc``)."""
        what = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, ValidationError) and "coroutine function" in str(exc):
            what = "it is a coroutine function: use llmunified_async, or give llmunified a plain function"
        return self._approval_error(plan, f"the approver failed on tool call {plan.call.id!r} ({plan.call.name}): "
                                          f"{what}; nothing was sent, the transcript so far is on error.messages")

    def _approval_error(self, plan: ToolPlan, message: str, errors: Any = None) -> ToolApprovalError:
        self.state = "failed"
        last = self._last
        err = ToolApprovalError(message, tool_call=self.request(plan), errors=errors, messages=list(self.new),
                                usage=self.usage, provider=last.provider if last is not None else None, response=last)
        err.billed = tuple(self.billed)
        return err

    _last: Optional[Response] = None

    def split(self, plans: List[ToolPlan]) -> Tuple[List[ToolPlan], List[ToolPlan]]:
        """(the plans the loop answers itself: functions and errors, the calls the caller runs)."""
        if not self.caller:
            return plans, []
        mine: List[ToolPlan] = []
        theirs: List[ToolPlan] = []
        for plan in plans:
            caller_runs = plan.call.name in self.caller or (plan.tool is not None and plan.tool.function is None)
            (theirs if plan.error is None and caller_runs else mine).append(plan)
        return mine, theirs

    def wait_for(self, plans: List[ToolPlan]) -> List[ToolCall]:
        """The caller-run calls of this round now wait for their results; returns them."""
        self.pending = {p.call.id: p for p in plans}
        self._answers = {}
        return [self.request(p) for p in plans]

    def pause(self, response: Response, calls: List[ToolCall]) -> Response:
        """A non-streaming run stops at a round with caller-run calls: ``response`` (this round's
        reply) carries them as ``pending_tool_calls`` and the transcript so far."""
        self.state = "paused"
        response.usage = self.usage
        bill(response, self.billed)
        response.messages = list(self.new)
        response.pending_tool_calls = list(calls)
        return response

    def submit(self, call_id: Any, value: Any = None, error: Any = None) -> Optional[List[Tuple[ToolCall, Message]]]:
        """Record the caller's result (or ``error``: a message or an exception) for a pending call.

        Returns None while other calls of the round still wait; once the last one is answered,
        the round's (call, tool message) pairs in the model's order (already in the transcript).
        Raises :class:`ToolSubmissionError` (nothing changes) for a call that is not waiting.
        """
        waiting = list(self.pending)
        if self.state != "running":
            raise ToolSubmissionError(f"the tool loop has ended ({self.state}); no result can be submitted now: "
                                      "continue the conversation with its messages instead", pending=[])
        if not isinstance(call_id, str):
            raise ToolSubmissionError(f"submit() takes the tool call's id (a str), got {call_id!r}", pending=waiting)
        if call_id in self._answers or (call_id not in self.pending and (call_id in self._answered or any(
                isinstance(p, ToolResult) and p.tool_call_id == call_id
                for m in self.new if m.role == "tool" for p in m.parts))):
            raise ToolSubmissionError(f"tool call {call_id!r} already has a result; each call is answered once",
                                      pending=waiting)
        plan = self.pending.get(call_id)
        if plan is None:
            raise ToolSubmissionError(
                f"no tool call {call_id!r} is waiting for a result; waiting: {', '.join(waiting) or 'none'}",
                pending=waiting)
        if error is not None:
            detail = f"{type(error).__name__}: {error}" if isinstance(error, BaseException) else str(error)
            result = ToolResult(call_id, f"Error: {detail}", name=plan.call.name, is_error=True)
        elif isinstance(value, BaseException):
            result = ToolResult(call_id, f"Error: {type(value).__name__}: {value}", name=plan.call.name,
                                is_error=True)
        else:
            result = ToolResult(call_id, result_content(value), name=plan.call.name)
        self._answers[call_id] = Message("tool", [result])
        self._answered.add(call_id)
        if len(self._answers) < len(self.pending):
            return None
        done = [(self.request(p), self._answers[cid]) for cid, p in self.pending.items()]
        self.new.extend(m for _, m in done)
        self.pending = {}
        self._answers = {}
        return done

    def submit_all(self, results: Mapping[str, Any]) -> Optional[List[Tuple[ToolCall, Message]]]:
        """``submit`` for each ``{call_id: value}`` (an exception as the value: an error result),
        checked first: a bad id changes nothing."""
        if not isinstance(results, Mapping):
            raise ToolSubmissionError(f"submit_all() takes {{call_id: result}}, got {type(results).__name__}",
                                      pending=list(self.pending))
        for call_id in results:
            if self.state == "running" and call_id in self.pending and call_id not in self._answers:
                continue
            self.submit(call_id, None)  # raises the error this id deserves
        done = None
        for call_id, value in results.items():
            done = self.submit(call_id, value)
        return done

    def waiting(self) -> List[ToolCall]:
        """The pending calls not answered yet, in the model's order."""
        return [self.request(plan) for call_id, plan in self.pending.items() if call_id not in self._answers]

    def unanswered(self) -> ToolSubmissionError:
        """The error for iterating on while calls wait for the caller's results."""
        waiting = [cid for cid in self.pending if cid not in self._answers]
        return ToolSubmissionError(
            f"tool call(s) {', '.join(waiting)} wait for your result: call submit(call_id, result) (or "
            "submit_all({call_id: result})) before iterating further, or cancel()", pending=waiting)

    def inject(self, message: Any) -> Message:
        """Queue a message (a Message, an OpenAI-style dict, or text for a user turn) for the next
        round; if the model answers meanwhile, the loop makes one more round to send it."""
        if self.ended:
            raise ToolSubmissionError(f"the tool loop has ended ({self.state}); nothing can be injected now")
        messages = to_messages(message)
        if len(messages) != 1:
            raise ValidationError("inject() takes one message (e.g. llm.user('...'))")
        if messages[0].role == "tool":
            raise ValidationError("inject() takes a user (or system) message; answer a tool call with submit()")
        self.injected.append(messages[0])
        return messages[0]

    def set_cancelled(self) -> bool:
        """Mark the loop cancelled (True), unless it had already ended (False)."""
        if self.ended:
            return False
        self.state = "cancelled"
        return True

    def settled(self) -> List[Message]:
        """The transcript up to its last point where every tool call has its result: what a
        session keeps of a loop that stopped early (whole rounds, sendable as they are)."""
        end = 0
        open_calls: set = set()
        for i, message in enumerate(self.new):
            if message.role == "assistant":
                open_calls.update(call.id for call in message.tool_calls)
            elif message.role == "tool" and isinstance(message.content, list):
                open_calls.difference_update(p.tool_call_id for p in message.content if isinstance(p, ToolResult))
            if not open_calls:
                end = i + 1
        return list(self.new[:end])

    def cancelled_error(self, partial: Optional[Response]) -> ToolLoopCancelledError:
        """What a cancelled loop's ``response`` raises: the transcript so far and the partial round."""
        last = partial if partial is not None else self._last
        err = ToolLoopCancelledError(
            "the tool loop was cancelled before its final answer; the transcript so far is on error.messages"
            + (", the interrupted round's partial reply on error.partial_response" if partial is not None else ""),
            messages=list(self.new), usage=self.usage, partial_response=partial, response=last,
            provider=last.provider if last is not None else None)
        err.billed = tuple(self.billed)
        return err
