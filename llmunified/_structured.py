"""Structured output (sans-IO): what ``client.extract(target, ...)`` asks for and how it reads it.

:func:`output_spec` turns a target — a dataclass type, a JSON Schema dict, ``list[Dataclass]`` or
any annotation :func:`~llmunified._typeschema.schema_for_type` supports — into an :class:`OutputSpec`:
the schema to request, its provider dialects (:meth:`OutputSpec.wire_schema`), and
:meth:`OutputSpec.parse_text`, which decodes, validates and converts one reply or raises
:class:`StructuredOutputAttemptError` with the errors to send back in the re-ask
(:meth:`OutputSpec.repair_prompt`). :class:`Extraction` keeps one job's attempts and decides
what to send back; the retry loop itself lives in the I/O layer.

Replies are decoded tolerantly, because models wrap JSON even when told not to: the whole text
as JSON first; then the first fenced block (```` ```json ... ``` ````); then the first ``{`` or
``[`` from which a complete JSON document decodes, ignoring prose before and after it.
"""
from __future__ import annotations
import copy
import dataclasses
import json
import re
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union, get_args, get_origin

from ._cost import bill, billed_parts
from ._lru import LRU
from ._schema import canonical, check_schema, strip_optional_nulls, validate
from ._schema_dialects import Rewritten, rewrite
from ._typeschema import convert_value, is_class, schema_for_type
from ._types import Message, Response, ToolResult, Usage
from .errors import StructuredOutputError, ValidationError

__all__ = ["OutputSpec", "output_spec", "prompt_instructions", "StructuredOutputAttemptError", "find_json",
           "Extraction"]

_TARGET_HELP = "target must be a dataclass type, a JSON Schema dict or list[Dataclass]"
_MAX_ERRORS_IN_PROMPT = 20


class StructuredOutputAttemptError(Exception):
    """One reply failed: ``errors`` says why (readable lines), ``text`` is what was received.

    Internal: the I/O layer re-asks with :meth:`OutputSpec.repair_prompt` and, when attempts run
    out, raises the public :class:`~llmunified.errors.StructuredOutputError`.
    """

    def __init__(self, errors: Sequence[str], text: Optional[str] = None) -> None:
        self.errors = list(errors)
        self.text = text
        super().__init__("; ".join(self.errors))


def _safe_name(name: str) -> str:
    cleaned = re.sub(r"[^a-zA-Z0-9_-]", "_", name).strip("_")[:64]
    return cleaned or "output"


class OutputSpec:
    """A structured-output request: ``schema`` to ask for, ``target`` to build.

    ``name`` is provider-safe (``^[a-zA-Z0-9_-]{1,64}$``: the dataclass name, ``<Name>_list``, a
    schema's ``title`` or ``"output"``). ``target`` is the Python type to convert to, or ``None``
    when a JSON Schema dict was given (the validated JSON value is returned as is).
    ``needs_object_root`` is True when the root is not an object schema, so providers that need
    one get the ``object-root`` wrapper (``{"value": ...}``).
    """

    __slots__ = ("name", "schema", "target", "needs_object_root", "_wire")

    def __init__(self, name: str, schema: Dict[str, Any], target: Any = None) -> None:
        self.name = name
        self.schema = schema
        self.target = target
        self.needs_object_root = not (isinstance(schema, dict) and schema.get("type") == "object" and not any(
            k in schema for k in ("anyOf", "oneOf", "allOf", "$ref")))
        self._wire: Dict[Tuple[str, ...], Rewritten] = {}

    def __repr__(self) -> str:
        return f"OutputSpec(name={self.name!r}, target={self.target!r}, needs_object_root={self.needs_object_root})"

    def wire_schema(self, dialect: Union[str, Sequence[str]]) -> Rewritten:
        """The schema rewritten for a provider (cached), e.g. ``("object-root", "openai-strict")``."""
        key = (dialect,) if isinstance(dialect, str) else tuple(dialect)
        hit = self._wire.get(key)
        if hit is None:
            hit = self._wire[key] = rewrite(self.schema, key)
        return hit

    def parse_text(self, text: Any, dialect: Union[None, str, Sequence[str]] = None) -> Any:
        """Decode, validate and convert one reply's text; raise StructuredOutputAttemptError.

        ``dialect``: the dialect(s) the schema was sent in (see :meth:`wire_schema`), whose
        changes are undone first (the ``{"value": ...}`` wrapper, strict-mode nulls).
        """
        ok, value = find_json(text)
        if not ok:
            raise StructuredOutputAttemptError([value], text if isinstance(text, str) else None)
        return self.parse_value(value, dialect, text=text)

    def parse_value(self, obj: Any, dialect: Union[None, str, Sequence[str]] = None, *,
                    text: Optional[str] = None) -> Any:
        """Validate and convert an already-decoded value (e.g. a forced tool call's arguments).

        Without ``dialect``, an invalid value is retried once with the library's own wire
        conventions undone (a ``{"value": ...}`` wrapper when the schema needed one, ``null`` for
        absent optional properties), since those are what a provider may hand back.
        """
        if dialect:
            obj = self.wire_schema(dialect).restore(obj)
        errors = validate(self.schema, obj)
        if errors and not dialect:
            alt = obj
            if self.needs_object_root and isinstance(alt, dict) and set(alt) == {"value"}:
                alt = alt["value"]
            alt = strip_optional_nulls(self.schema, alt)
            if alt is not obj and not validate(self.schema, alt):
                obj, errors = alt, []
        if errors:
            raise StructuredOutputAttemptError(errors, text)
        if self.target is None:
            return obj
        try:
            return convert_value(obj, self.target)
        except ValidationError as exc:
            raise StructuredOutputAttemptError([exc.message], text) from None

    def repair_prompt(self, errors: Sequence[str], text: Optional[str] = None) -> str:
        """The follow-up user message after a failed attempt, listing what was wrong.

        Send it after the failed reply (as an assistant message), so the model sees both.
        """
        shown = list(errors)[:_MAX_ERRORS_IN_PROMPT]
        lines = ["Your previous reply could not be used:"]
        if text is not None and not str(text).strip():
            lines = ["Your previous reply was empty."]
        lines.extend(f"- {e}" for e in shown)
        if len(errors) > len(shown):
            lines.append(f"- ... and {len(errors) - len(shown)} more problems")
        lines.append("Reply again with only the corrected JSON document matching the requested schema: "
                     "no explanation, no code fences.")
        return "\n".join(lines)


def find_json(text: Any) -> Tuple[bool, Any]:
    """``(True, value)`` for the JSON document in a reply, else ``(False, reason)``.

    Tolerates a fenced block and prose around a single JSON object or array (see the module
    docstring). NaN/Infinity are rejected (not JSON).
    """
    if not isinstance(text, str):
        return False, f"the reply is not text (got {type(text).__name__})"
    stripped = text.strip()
    if not stripped:
        return False, "the reply was empty; expected a JSON document"
    first_error = None
    try:
        return True, _loads(stripped)
    except ValueError as exc:
        first_error = exc
    for block in re.finditer(r"```[A-Za-z0-9_-]*[ \t]*\r?\n?(.*?)```", stripped, re.S):
        try:
            return True, _loads(block.group(1).strip())
        except ValueError:
            pass
    decoder = json.JSONDecoder(parse_constant=_no_constant)
    tries = 0
    for m in re.finditer(r"[\[{]", stripped):
        try:
            value, _end = decoder.raw_decode(stripped, m.start())
        except ValueError:
            tries += 1
            if tries >= 32:  # a long prose reply full of brackets: stop, it is not JSON
                break
            continue
        if isinstance(value, (dict, list)):
            return True, value
    return False, f"the reply is not valid JSON ({_describe(first_error)})"


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _loads(text: str) -> Any:
    return json.loads(text, parse_constant=_no_constant)


def _describe(exc: Optional[Exception]) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at line {exc.lineno} column {exc.colno}"
    return str(exc)


_specs: "LRU[OutputSpec]" = LRU(256)


def output_spec(target: Any) -> OutputSpec:
    """The :class:`OutputSpec` for a target (cached per target).

    Accepted: a dataclass type; a JSON Schema dict (checked with :func:`check_schema`);
    ``list[Dataclass]`` / ``List[...]``; any other annotation ``schema_for_type`` supports
    (``int``, ``Literal[...]``, ``dict[str, X]``, ...). Anything else raises
    :class:`ValidationError`.
    """
    if isinstance(target, OutputSpec):
        return target
    if isinstance(target, dict):
        key: Any = ("schema", canonical(target, where="target schema"))
    else:
        try:
            hash(target)
            key = ("type", target)
        except TypeError:
            key = None
    if key is not None:
        hit = _specs.get(key)
        if hit is not None:
            return hit
    spec = _build_spec(target)
    return _specs.put(key, spec) if key is not None else spec


def _build_spec(target: Any) -> OutputSpec:
    if isinstance(target, dict):
        check_schema(target, where="target schema")
        title = target.get("title")
        return OutputSpec(_safe_name(title) if isinstance(title, str) else "output", copy.deepcopy(target), None)
    if isinstance(target, bool) or target is None or isinstance(target, (str, bytes, int, float, list, tuple)):
        raise ValidationError(f"{_TARGET_HELP}; got {target!r}")
    if dataclasses.is_dataclass(target) and not is_class(target):
        raise ValidationError(f"{_TARGET_HELP}; got an instance of {type(target).__qualname__} "
                              "(pass the class itself)")
    if not is_class(target) and get_origin(target) is None:
        raise ValidationError(f"{_TARGET_HELP}; got {target!r}")
    try:
        schema = schema_for_type(target, where="target")
    except ValidationError as exc:
        raise ValidationError(f"{_TARGET_HELP}; {exc.message}") from None
    return OutputSpec(_target_name(target), schema, target)


def _target_name(target: Any) -> str:
    if is_class(target):
        return _safe_name(target.__name__)
    origin, args = get_origin(target), get_args(target)
    if origin in (list, tuple, set, frozenset) or (origin is not None and args and getattr(origin, "__name__", "") in (
            "Sequence", "MutableSequence", "Set", "AbstractSet")):
        if args and is_class(args[0]):
            return _safe_name(f"{args[0].__name__}_list")
    return "output"


def prompt_instructions(spec: OutputSpec, dialect: Union[None, str, Sequence[str]] = None) -> str:
    """Instructions for a server without a native structured-output mechanism (a compatible
    server without JSON schemas: ``llmunified._capabilities.structured_via`` chooses). With
    ``dialect``, the schema shown is the one the reply is read back with (the ``{"value": ...}``
    wrapper of a non-object root), so a prompted reply is parsed like a native one."""
    schema = spec.wire_schema(dialect).schema if dialect else spec.schema
    return ("Answer with only a JSON document (no prose before or after it, no code fences) that matches "
            "this JSON Schema:\n" + json.dumps(schema, ensure_ascii=False, separators=(",", ":")))


class Extraction:
    """One structured-output job: the spec, the codec's way of carrying it, and the attempts."""

    def __init__(self, codec: Any, target: Any, retries: int = 0) -> None:
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ValidationError(f"retries must be an int >= 0, got {retries!r}")
        self.codec = codec
        self.spec = output_spec(target)
        self.retries = retries
        self.dialect = codec.structured_dialect(self.spec)
        self.attempts: List[Optional[str]] = []
        self.errors: List[List[str]] = []
        self.usage = Usage()
        self.billed: List[Any] = []  # (provider, model, usage) of every attempt, for the cost
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
        self.billed.extend(billed_parts(response))
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
        if len(self.billed) > 1:  # after re-asks the answer stands for every attempt
            response.usage = self.usage
            bill(response, self.billed)
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
        err = StructuredOutputError(
            f"the reply did not match the requested {self.spec.name!r} schema after {n} attempt"
            f"{'s' if n != 1 else ''}: {last_errors}; every attempt's text is on error.attempts",
            attempts=self.attempts, errors=self.errors, usage=self.usage,
            provider=self.codec.provider, response=self.last)
        err.billed = tuple(self.billed)  # every attempt was billed: error.cost sums them
        return err
