"""Structured output decisions (sans-IO): how a reply becomes a validated value, what to send
back when it does not, and the error that keeps every attempt when all fail."""
import json
from typing import Any, List, Optional

from ._structured import OutputSpec, StructuredOutputAttemptError, output_spec
from ._types import Message, Response, ToolResult, Usage
from .errors import StructuredOutputError, ValidationError

__all__ = ["Extraction", "as_spec"]


def as_spec(target: Any) -> OutputSpec:
    return target if isinstance(target, OutputSpec) else output_spec(target)


class Extraction:
    """One structured-output job: the spec, the codec's way of carrying it, and the attempts."""

    def __init__(self, codec: Any, target: Any, retries: int = 0) -> None:
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ValidationError(f"retries must be an int >= 0, got {retries!r}")
        self.codec = codec
        self.spec = as_spec(target)
        self.retries = retries
        self.dialect = codec.structured_dialect(self.spec)
        self.attempts: List[Optional[str]] = []
        self.errors: List[List[str]] = []
        self.usage = Usage()
        self.new: List[Message] = []
        self.last: Optional[Response] = None

    def _reply_text(self, response: Response) -> Optional[str]:
        call = self._output_call(response)
        if call is not None:
            return call.raw_arguments if call.raw_arguments is not None else json.dumps(call.arguments)
        return response.text

    def _output_call(self, response: Response) -> Any:
        if self.codec.structured_mode == "tool":
            for call in response.tool_calls:
                if call.name == self.spec.name:
                    return call
        return None

    def check(self, response: Response) -> bool:
        """Parse one reply: True (``response.parsed`` set) or False (the attempt is recorded)."""
        self.last = response
        self.usage = self.usage + response.usage
        call = self._output_call(response)
        try:
            if call is not None:
                value = self.spec.parse_value(call.arguments, self.dialect, text=self._reply_text(response))
            else:
                value = self.spec.parse_text(response.text, self.dialect)
        except StructuredOutputAttemptError as exc:
            self.attempts.append(self._reply_text(response))
            self.errors.append(list(exc.errors))
            return False
        response.parsed = value
        return True

    def can_retry(self) -> bool:
        return len(self.attempts) <= self.retries

    def followup(self) -> List[Message]:
        """The messages that ask again: the failed reply, then the errors (as the tool's error
        result when the answer came as a forced tool call, which the provider requires)."""
        response = self.last
        assert response is not None
        prompt = self.spec.repair_prompt(self.errors[-1], self.attempts[-1])
        added = [response.message]
        # Every tool call the reply made must be answered (providers reject an unanswered one);
        # the answer to each is the repair prompt.
        for call in response.tool_calls:
            added.append(Message("tool", [ToolResult(call.id, prompt, name=call.name, is_error=True)]))
        if not response.tool_calls:
            added.append(Message("user", prompt))
        self.new.extend(added)
        return added

    def error(self) -> StructuredOutputError:
        n = len(self.attempts)
        last_errors = "; ".join(self.errors[-1][:5]) if self.errors else ""
        return StructuredOutputError(
            f"the reply did not match the requested {self.spec.name!r} schema after {n} attempt"
            f"{'s' if n != 1 else ''}: {last_errors}; every attempt's text is on error.attempts",
            attempts=self.attempts, errors=self.errors, usage=self.usage,
            provider=self.codec.provider, response=self.last)
