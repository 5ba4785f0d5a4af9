"""The ``@tool`` decorator and :class:`FunctionTool` (sans-IO): a typed, documented function as a tool.

The parameters' JSON Schema comes from their annotations (:mod:`llmunified._typeschema` has the
table), the descriptions from the docstring (:mod:`llmunified._docstrings`), and tool-call
arguments are converted back to the annotated types before the function is called.
"""
from __future__ import annotations
import inspect
import types
from typing import Any, Callable, Dict, List, Optional, Tuple

from ._dc import dataclass, replace
from ._docstrings import parse_docstring
from ._schema import CHECKED_MARK, TOOL_NAME_PATTERN
from ._typeschema import (Converter, SchemaBuilder, accepts_none, compile_converter, convert_value, is_class,
                          resolve_annotations, schema_for_type, with_default)
from ._types import Tool
from .errors import ValidationError

__all__ = ["tool", "FunctionTool",
           # these moved to _typeschema / _docstrings; still importable from here
           "schema_for_type", "parse_docstring", "convert_value", "is_class"]


@dataclass(eq=False, repr=False)
class FunctionTool(Tool):
    """A :class:`~llmunified.Tool` built from a Python function by :func:`tool`.

    Calling it calls the function (an ``async def`` gives a coroutine); ``__name__``, ``__doc__``
    and ``__wrapped__`` are the function's. As a method in a class body it binds like a function:
    ``obj.method`` is a tool whose function is the bound method. ``strict`` asks providers with a
    strict mode to use it (``None``: the library decides).
    """

    strict: Optional[bool] = None

    def __post_init__(self) -> None:
        super().__post_init__()
        fn = self.function
        if fn is None or not callable(fn):
            raise ValidationError(f"FunctionTool {self.name!r} needs a callable function")
        for attr in ("__module__", "__name__", "__qualname__", "__doc__"):
            try:
                object.__setattr__(self, attr, getattr(fn, attr))
            except AttributeError:
                pass
        self.__wrapped__ = fn
        self._types: Optional[Dict[str, Any]] = None
        # (namespace, the _types they were made from, {parameter: (converter, null means absent)}),
        # made on the first conversion; shared with the bound copies of a method tool
        self._converters: List[Optional[Tuple[Any, Dict[str, Any], Dict[str, Tuple[Converter, bool]]]]] = [None]
        self._method = False  # True when the schema skipped a leading self/cls: binds like a method

    @property
    def is_async(self) -> bool:
        """True when calling the tool returns a coroutine to await."""
        fn = self.function
        return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(getattr(fn, "__call__", None))

    def _callable(self) -> Callable[..., Any]:
        fn = self.function
        if fn is None:  # __post_init__ refuses None: only a later assignment gets here
            raise ValidationError(f"FunctionTool {self.name!r} has no function")
        return fn

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._callable()(*args, **kwargs)

    def __get__(self, instance: Any, owner: Optional[type] = None) -> "FunctionTool":
        if instance is None or not self._method:
            return self
        bound = replace(self, function=types.MethodType(self._callable(), instance))
        bound._types = self._types
        bound._converters = self._converters
        mark = self.__dict__.get(CHECKED_MARK)
        if mark is not None:  # same name, description and parameters: validated once, not per binding
            setattr(bound, CHECKED_MARK, mark)
        return bound

    # equal tools have equal names, so this agrees with Tool's value equality; a decorated
    # function stays usable as a dict key or set member, as the function was
    def __hash__(self) -> int:
        return hash((type(self), self.name))

    def __repr__(self) -> str:
        return f"FunctionTool(name={self.name!r}, description={self.description!r}, parameters={self.parameters!r})"

    def _param_types(self) -> Dict[str, Any]:
        if self._types is None:
            shared = self._converters[0]  # what a bound copy (or the tool it was bound from) found
            self._types = shared[1] if shared is not None else _signature_types(self._callable(), self.name)[0]
        return self._types

    def convert_arguments(self, arguments: Dict[str, Any]) -> Dict[str, Any]:
        """Tool-call arguments (decoded JSON, validated) as the function's annotated types.

        ``null`` for a parameter that has a default and does not accept ``None`` means "not
        given" (strict mode sends it) and is dropped, so the function's default applies.
        Raises :class:`ValidationError` naming the argument when a value cannot be converted.
        """
        if not isinstance(arguments, dict):
            raise ValidationError(f"tool {self.name!r}: arguments must be a JSON object, got {arguments!r}")
        hints = self._param_types()
        ns = getattr(self.function, "__globals__", None)
        cached = self._converters[0]
        if cached is None or cached[0] is not ns or cached[1] is not hints:
            # what convert_value would do for each parameter, compiled once (the annotations of
            # dataclasses they use are resolved on first use and kept)
            cached = self._converters[0] = (ns, hints, {
                key: (compile_converter(annotation, ns), has_default and not accepts_none(annotation))
                for key, (annotation, has_default) in hints.items()})
        converters = cached[2]
        name = self.name
        out = {}
        for key, value in arguments.items():
            entry = converters.get(key)
            if entry is None:
                out[key] = value
                continue
            convert, null_is_absent = entry
            if value is None and null_is_absent:
                continue
            out[key] = convert(value, f"{name}.{key}")
        return out


def _skips_self(fn: Callable[..., Any]) -> bool:
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return False
    return bool(params) and params[0].name in ("self", "cls") and params[0].annotation is inspect.Parameter.empty


def _signature_types(fn: Callable[..., Any], name: str) -> Tuple[Dict[str, Tuple[Any, bool]], List[inspect.Parameter]]:
    where = f"tool {name!r}"
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{where}: cannot read the function's signature: {exc}") from None
    target = fn
    if not inspect.isfunction(fn) and not inspect.ismethod(fn) and hasattr(fn, "__call__"):
        target = fn.__call__  # a callable object: its __call__ carries the annotations
    hints = resolve_annotations(target, getattr(target, "__globals__", None), where)
    params = list(sig.parameters.values())
    if _skips_self(fn):
        params = params[1:]  # an unbound method: the instance is not the model's to give
    out: Dict[str, Tuple[Any, bool]] = {}
    for p in params:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise ValidationError(
                f"{where}: parameter '{'*' if p.kind is p.VAR_POSITIONAL else '**'}{p.name}' is not supported: "
                "the model passes named arguments described by a schema; list each one")
        if p.kind is p.POSITIONAL_ONLY:
            raise ValidationError(f"{where}: parameter {p.name!r} is positional-only; tools are called with "
                                  "keyword arguments")
        if p.name not in hints:
            raise ValidationError(f"{where}: parameter {p.name!r} has no type annotation; annotate it "
                                  "(e.g. {p.name}: str) so its JSON Schema can be built".replace("{p.name}", p.name))
        out[p.name] = (hints[p.name], p.default is not p.empty)
    return out, params


def _function_schema(fn: Callable[..., Any], name: str, doc_params: Dict[str, str]) -> Dict[str, Any]:
    types_, params = _signature_types(fn, name)
    ns = getattr(fn, "__globals__", None)
    builder = SchemaBuilder(None, ns)
    props: Dict[str, Any] = {}
    required: List[str] = []
    for p in params:
        annotation, has_default = types_[p.name]
        sub = dict(builder.schema(annotation, f"tool {name!r}: parameter {p.name!r}"))
        if doc_params.get(p.name) and "description" not in sub:  # Annotated[..., "text"] wins
            sub["description"] = doc_params[p.name]
        if has_default:
            sub = with_default(sub, p.default)
        else:
            required.append(p.name)
        props[p.name] = sub
    schema: Dict[str, Any] = {"type": "object", "properties": props}
    if required:
        schema["required"] = required
    schema["additionalProperties"] = False
    if builder.defs:
        schema["$defs"] = builder.defs
    return schema


def tool(fn: Optional[Callable[..., Any]] = None, *, name: Optional[str] = None,
         description: Optional[str] = None, strict: Optional[bool] = None) -> Any:
    """Make a :class:`FunctionTool` from a typed, documented function.

    Usable bare (``@tool``) or with options (``@tool(name="weather", strict=True)``)::

        @llm.tool
        def get_weather(city: str, unit: Literal["C", "F"] = "C") -> str:
            '''Current weather for a city.

            Args:
                city: The city name, e.g. "Paris".
                unit: Temperature unit.
            '''

    The schema comes from the annotations (see this module's table), descriptions from the
    docstring (Google, NumPy or reST); parameters with defaults are optional. ``*args``,
    ``**kwargs``, positional-only and unannotated parameters raise :class:`ValidationError` at
    decoration time, as do unsupported annotations. A leading unannotated ``self``/``cls`` is
    skipped so methods work.
    """
    if fn is None:
        return lambda f: tool(f, name=name, description=description, strict=strict)
    if isinstance(fn, Tool):
        raise ValidationError(f"{fn.name!r} is already a tool")
    if isinstance(fn, (staticmethod, classmethod)):
        raise ValidationError("put @tool below @staticmethod/@classmethod (decorate the function itself)")
    if not callable(fn):
        raise ValidationError(f"@tool needs a function, got {type(fn).__name__}")
    tool_name = name if name is not None else getattr(fn, "__name__", None)
    if not isinstance(tool_name, str) or not TOOL_NAME_PATTERN.match(tool_name):
        raise ValidationError(f"tool name {tool_name!r} must be 1-64 letters, digits, '_' or '-'; "
                              "pass @tool(name=...) to choose one")
    doc_text, doc_params = parse_docstring(inspect.getdoc(fn))
    schema = _function_schema(fn, tool_name, doc_params)
    made = FunctionTool(tool_name, doc_text if description is None else description, schema, fn, strict=strict)
    made._method = _skips_self(fn)
    return made
