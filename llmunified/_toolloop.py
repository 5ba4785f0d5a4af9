"""The automatic tool loop's decisions (sans-IO): which tool a call names, whether its arguments
are valid, what goes back to the model. The I/O layer only calls the functions and the model."""
import dataclasses
import enum
import json
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence

from ._cost import bill, billed_parts
from ._options import to_tool
from ._types import Message, Response, Tool, ToolCall, ToolResult, Usage
from .errors import ToolLoopError, ValidationError

if TYPE_CHECKING:
    from ._schema import ArgumentsCheck

__all__ = ["ToolLoop", "ToolPlan", "DEFAULT_PARALLEL_TOOLS", "check_parallel_tools"]

#: how many tool calls of one round run at once unless ``max_parallel_tools`` says otherwise
DEFAULT_PARALLEL_TOOLS = 8


def check_parallel_tools(value: Any) -> int:
    """``max_parallel_tools`` checked: a positive int (1 runs the tools one by one)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(f"max_parallel_tools must be a positive int (1: one tool at a time), got {value!r}")
    return value


class ToolPlan:
    """What to do with one tool call: run ``tool.function(**kwargs)``, or answer ``error``."""

    __slots__ = ("call", "tool", "kwargs", "error")

    def __init__(self, call: ToolCall, tool: Optional[Tool], kwargs: Optional[Dict[str, Any]],
                 error: Optional[str]) -> None:
        self.call = call
        self.tool = tool
        self.kwargs = kwargs
        self.error = error


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _jsonable(v) for k, v in dataclasses.asdict(value).items()}
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

    def __init__(self, tools: Sequence[Any], max_rounds: int) -> None:
        if not tools:
            raise ValidationError("run() needs tools=[...]: functions decorated with @llm.tool or llm.Tool objects "
                                  "with a function")
        if isinstance(max_rounds, bool) or not isinstance(max_rounds, int) or max_rounds < 1:
            raise ValidationError(f"max_rounds must be a positive int, got {max_rounds!r}")
        self.tools: List[Tool] = [to_tool(t) for t in tools]
        from ._schema import validate_tools  # jsonschema loads only when tools are used

        validate_tools(self.tools)
        missing = [t.name for t in self.tools if t.function is None]
        if missing:
            raise ValidationError(
                f"tool(s) {', '.join(missing)} have no function to run: build them with @llm.tool or "
                "llm.Tool(..., function=callable)")
        self.by_name: Dict[str, Tool] = {t.name: t for t in self.tools}
        # per tool, made on its first call: its schema's validation, compiled once for the run
        self._checks: Dict[str, "ArgumentsCheck"] = {}
        self.max_rounds = max_rounds
        self.rounds = 0
        self.new: List[Message] = []
        self.usage = Usage()
        self.billed: List[Any] = []  # (provider, model, usage) per round: each priced at its own tier

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
        convert = getattr(tool, "convert_arguments", None)
        try:
            kwargs = convert(arguments) if convert is not None else dict(arguments)
        except (ValueError, TypeError, ValidationError) as exc:
            return ToolPlan(call, tool, None, f"invalid arguments: {exc}")
        return ToolPlan(call, tool, kwargs, None)

    def record(self, response: Response) -> List[ToolPlan]:
        """Take one model reply; the plans for its tool calls (empty: the loop is over)."""
        self.rounds += 1
        self.usage = self.usage + response.usage
        self.billed.extend(billed_parts(response))
        self.new.append(response.message)
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
        response.usage = self.usage
        bill(response, self.billed)
        response.messages = list(self.new)
        return response

    def error(self, last: Response) -> ToolLoopError:
        err = ToolLoopError(
            f"the model still asked for tools after max_rounds={self.max_rounds} rounds; the transcript so far "
            "is on error.messages", provider=last.provider, response=last, messages=list(self.new),
            usage=self.usage)
        err.billed = tuple(self.billed)  # every round was billed: error.cost sums them
        return err
