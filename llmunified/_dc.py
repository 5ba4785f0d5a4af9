"""``@dataclass`` for llmunified's own types, without the cost of the :mod:`dataclasses` module at import.

Importing :mod:`dataclasses` pulls in :mod:`inspect` (and with it ``ast``, ``dis``, ``tokenize``...),
about 4-7 ms that ``requests`` users do not otherwise pay, and processing each class (collecting
``Field`` objects, checking every string annotation for ``ClassVar``/``InitVar``, writing method
source) costs about 0.1 ms more per class. ``import llmunified; llmunified.Client(...)`` makes
31 of them.

:func:`dataclass` here gives a class the very methods :mod:`dataclasses` would, written the way the
running Python's own :mod:`dataclasses` writes them (``__init__`` with its annotations and
defaults, the recursion-safe ``__repr__``, ``__eq__`` as 3.9-3.12 or 3.13 compare, ``__hash__`` and
the frozen ``__setattr__``/``__delattr__`` by the same rules, ``__match_args__``, ``__replace__``
on 3.13+), compiled once per interpreter through :mod:`llmunified._dccache`. What the class does
not carry until asked is the ``dataclasses`` bookkeeping: ``__dataclass_fields__`` and
``__dataclass_params__`` are computed on first access by running the real
:func:`dataclasses.dataclass` over a stand-in class with the same annotations and defaults, so :func:`dataclasses.fields`,
:func:`~dataclasses.asdict`, :func:`~dataclasses.replace`, :func:`~dataclasses.is_dataclass` and
libraries built on them (``dataclasses-json``) see exactly the ``Field`` objects they always saw
(and whoever calls them has imported :mod:`dataclasses` already).

Anything outside the subset llmunified uses (``InitVar``, ``KW_ONLY``, ``kw_only``, ``slots``,
``order``, ``unsafe_hash``, ``init=False``, a real :class:`dataclasses.Field` or ``__slots__`` in the
body, a field named ``self``, a base that is (or inherits from) a dataclass made elsewhere, no
docstring, abstract methods, Python 3.14's lazy annotations) goes to the real
:func:`dataclasses.dataclass` instead, so the result is always a plain dataclass.
``tests/core/test_dc.py`` holds every class of both packages, and a corpus of made-up ones, to the
real decorator's behaviour on each interpreter.
"""
from __future__ import annotations
import _thread
import re
import sys
import types
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

__all__ = ["dataclass", "field", "own_fields", "fields", "replace", "asdict"]

_MISSING: Any = type("_MISSING_TYPE", (), {"__repr__": lambda self: "<dataclasses.MISSING>"})()


class _FactoryMarker:
    """The default ``__init__`` shows for a field with a ``default_factory`` (``<factory>``,
    as :mod:`dataclasses`' own marker)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<factory>"


_HAS_DEFAULT_FACTORY = _FactoryMarker()
_SPEC = "__llmunified_dc__"
_MADE = "__llmunified_dc_made__"  # the real decorator's results, once asked for
_STANDIN = "standin"  # the class's own field records, for subclasses and the lazy Fields
_EQ_IS_AND_CHAIN = sys.version_info >= (3, 13)
_MATCH_ARGS = sys.version_info >= (3, 10)
_REPLACE = sys.version_info >= (3, 13)
_NAMED_ORDER_ERROR = sys.version_info >= (3, 13)  # "... follows default argument 'x'"
_UNHASHABLE_RULE = sys.version_info >= (3, 11)  # a default is "mutable" when unhashable (before: list, dict, set)
_SUPPORTED = sys.version_info < (3, 14)  # 3.14 evaluates annotations lazily: leave it to dataclasses
_MODULE_IDENT = re.compile(r"^(?:\s*(\w+)\s*\.)?\s*(\w+)")
_MemberDescriptor = types.MemberDescriptorType


class _Spec:
    """What ``field(...)`` leaves in a class body (the subset of :func:`dataclasses.field` used here)."""

    __slots__ = ("default", "default_factory", "init", "repr", "hash", "compare", "metadata", "extra")

    def __init__(self, default: Any, default_factory: Any, init: bool, repr: bool,  # noqa: A002
                 hash: Optional[bool], compare: bool, metadata: Any, extra: Dict[str, Any]) -> None:  # noqa: A002
        if default is not _MISSING and default_factory is not _MISSING:
            raise ValueError("cannot specify both default and default_factory")
        self.extra = extra  # kw_only=... (3.10+): the class goes to the real decorator
        self.default = default
        self.default_factory = default_factory
        self.init = init
        self.repr = repr
        self.hash = hash
        self.compare = compare
        self.metadata = metadata

    def real(self) -> Any:
        """The :func:`dataclasses.field` this stands for."""
        import dataclasses

        return dataclasses.field(
            default=dataclasses.MISSING if self.default is _MISSING else self.default,
            default_factory=dataclasses.MISSING if self.default_factory is _MISSING else self.default_factory,
            init=self.init, repr=self.repr, hash=self.hash, compare=self.compare, metadata=self.metadata, **self.extra)


class _Field:
    """One field as the generated methods need it."""

    __slots__ = ("name", "type", "default", "default_factory", "init", "repr", "hash", "compare", "spec")

    def __init__(self, name: str, type: Any, spec: Optional[_Spec], default: Any) -> None:  # noqa: A002
        self.name = name
        self.type = type
        self.spec = spec  # None: a plain default (or none) in the class body
        if spec is None:
            self.default, self.default_factory = default, _MISSING
            self.init, self.repr, self.hash, self.compare = True, True, None, True
        else:
            self.default, self.default_factory = spec.default, spec.default_factory
            self.init, self.repr, self.hash, self.compare = spec.init, spec.repr, spec.hash, spec.compare

    @property
    def has_default(self) -> bool:
        return self.default is not _MISSING or self.default_factory is not _MISSING


if TYPE_CHECKING:  # type checkers see the real decorator and functions
    from dataclasses import asdict as asdict, dataclass as dataclass, field as field, fields as fields
    from dataclasses import replace as replace
else:
    def fields(class_or_instance: Any) -> Any:
        """:func:`dataclasses.fields` (the module loaded on the first call, not at import)."""
        import dataclasses

        return dataclasses.fields(class_or_instance)

    def replace(obj: Any, /, **changes: Any) -> Any:
        """:func:`dataclasses.replace` (the module loaded on the first call, not at import)."""
        import dataclasses

        return dataclasses.replace(obj, **changes)

    def asdict(obj: Any, **kwargs: Any) -> Any:
        """:func:`dataclasses.asdict` (the module loaded on the first call, not at import)."""
        import dataclasses

        return dataclasses.asdict(obj, **kwargs)

    def field(*, default: Any = _MISSING, default_factory: Any = _MISSING, init: bool = True,
              repr: bool = True, hash: Optional[bool] = None, compare: bool = True,  # noqa: A002
              metadata: Any = None, **extra: Any) -> Any:
        """:func:`dataclasses.field`, for classes made by :func:`dataclass` here."""
        return _Spec(default, default_factory, init, repr, hash, compare, metadata, extra)

    def dataclass(cls: Any = None, *, init: bool = True, repr: bool = True, eq: bool = True,  # noqa: A002
                  order: bool = False, unsafe_hash: bool = False, frozen: bool = False, **extra: Any) -> Any:
        """:func:`dataclasses.dataclass` (``init``, ``repr``, ``eq``, ``frozen``), without importing
        :mod:`dataclasses` while the class is made; other options (``slots``, ``kw_only``...) go to
        the real decorator."""

        def wrap(cls: Any) -> Any:
            if not init or order or unsafe_hash or extra:
                return _real(cls, dict(init=init, repr=repr, eq=eq, order=order, unsafe_hash=unsafe_hash,
                                       frozen=frozen, **extra))
            return _process(cls, repr, eq, frozen)

        return wrap if cls is None else wrap(cls)


def own_fields(cls: type) -> Tuple[str, ...]:
    """The field names of a class made here (or by :mod:`dataclasses`), in order, without making
    ``Field`` objects."""
    spec = cls.__dict__.get(_SPEC)
    if spec is not None:
        return tuple(f.name for f in spec[0])
    import dataclasses

    return tuple(f.name for f in dataclasses.fields(cls))


def _real(cls: Any, params: Dict[str, Any]) -> Any:
    """The class handed to :func:`dataclasses.dataclass`, our ``field()`` markers made real."""
    import dataclasses

    for name, value in list(cls.__dict__.items()):
        if isinstance(value, _Spec):
            setattr(cls, name, value.real())
    return dataclasses.dataclass(cls, **params)


def _is_classvar(annotation: Any, module: Any) -> bool:
    """``ClassVar`` by :mod:`dataclasses`' own rule: a string annotation's first name is looked up in
    the class's module, or in :mod:`typing` after a ``module.`` prefix that names :mod:`typing` there;
    an evaluated annotation is ``typing.ClassVar`` or a subscript of it."""
    import typing

    if isinstance(annotation, str):
        match = _MODULE_IDENT.match(annotation)
        if not match:
            return False
        namespace = getattr(module, "__dict__", None) or {}
        if match.group(1):  # "typing.ClassVar[...]": the module must call typing so; the name is typing's
            if namespace.get(match.group(1)) is not typing:
                return False
            namespace = vars(typing)
        annotation = namespace.get(match.group(2))
    return annotation is typing.ClassVar or (
        type(annotation) is typing._GenericAlias and annotation.__origin__ is typing.ClassVar)  # type: ignore


def _special(annotation: Any) -> bool:
    """``InitVar`` or ``KW_ONLY``: pseudo-fields only :mod:`dataclasses` itself handles."""
    text = annotation if isinstance(annotation, str) else repr(annotation)
    return "InitVar" in text or "KW_ONLY" in text


def _handled(cls: Any) -> bool:
    """Whether :func:`_process` makes exactly what :mod:`dataclasses` would (else the real one runs)."""
    own = cls.__dict__
    if not _SUPPORTED or not own.get("__doc__") or "__slots__" in own or getattr(cls, "__abstractmethods__", None):
        return False
    for base in cls.__mro__[1:-1]:
        if _SPEC in base.__dict__:
            continue
        # a dataclass made elsewhere, or a plain class that inherits fields from one
        if any("__dataclass_fields__" in b.__dict__ or _SPEC in b.__dict__ for b in base.__mro__):
            return False
    annotations = own.get("__annotations__", {})
    if "self" in annotations:  # dataclasses renames __init__'s self then
        return False
    for name, annotation in annotations.items():
        value = own.get(name)
        if _special(annotation) or (isinstance(value, _Spec) and value.extra) or (
                type(value).__name__ == "Field" and type(value).__module__ == "dataclasses"):
            return False
    return True


def _process(cls: Any, repr_: bool, eq: bool, frozen: bool) -> Any:
    """:func:`dataclasses._process_class`'s steps, in its order, for the classes :func:`_handled` accepts."""
    params = dict(init=True, repr=repr_, eq=eq, order=False, unsafe_hash=False, frozen=frozen)
    if not _handled(cls):
        return _real(cls, params)
    own = cls.__dict__
    fields: Dict[str, _Field] = {}
    frozen_bases: List[bool] = []
    for base in cls.__mro__[-1:0:-1]:
        if _SPEC in base.__dict__:
            base_fields, base_params = base.__dict__[_SPEC]
            frozen_bases.append(base_params["frozen"])
            for f in base_fields:
                fields[f.name] = f
    module = sys.modules.get(cls.__module__)
    annotations = own.get("__annotations__", {})
    mine: List[Tuple[_Field, bool]] = []  # (field, is a ClassVar)
    for name, annotation in annotations.items():
        default = getattr(cls, name, _MISSING)  # dataclasses' rule: inherited attributes and descriptors count
        if isinstance(default, _Spec):
            spec: Optional[_Spec] = default
            default = _MISSING
        else:
            spec = None
            if isinstance(default, _MemberDescriptor):  # a __slots__ entry of a base: no default
                default = _MISSING
        f = _Field(name, annotation, spec, default)
        classvar = _is_classvar(annotation, module)
        if classvar and f.default_factory is not _MISSING:
            raise TypeError(f"field {name} cannot have a default factory")
        if not classvar and f.default is not _MISSING and (
                f.default.__class__.__hash__ is None if _UNHASHABLE_RULE
                else isinstance(f.default, (list, dict, set))):
            raise ValueError(f"mutable default {type(f.default)} for field {name} is not allowed: "
                             "use default_factory")
        mine.append((f, classvar))
    for f, classvar in mine:
        if classvar:
            fields.pop(f.name, None)  # a ClassVar replaces an inherited field of that name
        else:
            fields[f.name] = f
        if isinstance(getattr(cls, f.name, None), _Spec):  # what dataclasses does: the default, or nothing
            if f.default is _MISSING:
                delattr(cls, f.name)
            else:
                setattr(cls, f.name, f.default)
    for name, value in own.items():
        if isinstance(value, _Spec) and name not in annotations:
            raise TypeError(f"{name!r} is a field but has no type annotation")
    if frozen_bases and any(frozen_bases) and not frozen:
        raise TypeError("cannot inherit non-frozen dataclass from a frozen one")
    if frozen_bases and not any(frozen_bases) and frozen:
        raise TypeError("cannot inherit frozen dataclass from a non-frozen one")
    field_list = list(fields.values())
    setattr(cls, _SPEC, (field_list, params))
    _install(cls, field_list, repr_, eq, frozen, module)
    cls.__dataclass_fields__ = _Lazy(cls, "__dataclass_fields__")
    cls.__dataclass_params__ = _Lazy(cls, "__dataclass_params__")
    return cls


def _tuple(obj: str, fields: List[_Field]) -> str:
    return f"({','.join(f'{obj}.{f.name}' for f in fields)},)" if fields else "()"


def _install(cls: Any, fields: List[_Field], repr_: bool, eq: bool, frozen: bool, module: Any) -> None:
    """Write and set the methods :mod:`dataclasses` would set, in one compiled unit."""
    own = cls.__dict__
    names: Dict[str, Any] = {"__dc_object": object, "__dc_factory": _HAS_DEFAULT_FACTORY, "__dc_cls": cls,
                             "__dc_frozen_error": _frozen_error, "__dc_ident": _thread.get_ident, "__dc_id": id, "__dc_none": None,
                             "__dc_running": set()}
    made: List[str] = []
    lines: List[str] = []
    seen_default: Optional[_Field] = None
    for f in fields:  # checked even when the class writes its own __init__, as dataclasses does
        if not f.init:
            continue
        if f.has_default:
            seen_default = f
        elif seen_default is not None:
            raise TypeError(f"non-default argument {f.name!r} follows default argument"
                            + (f" {seen_default.name!r}" if _NAMED_ORDER_ERROR else ""))
    if "__init__" not in own:
        params, body = ["self"], []
        for f in fields:
            names[f"__dc_type_{f.name}"] = f.type
            if f.init:
                if f.default_factory is not _MISSING:
                    params.append(f"{f.name}:__dc_type_{f.name}=__dc_factory")
                    names[f"__dc_dflt_{f.name}"] = f.default_factory
                    value = f"__dc_dflt_{f.name}() if {f.name} is __dc_factory else {f.name}"
                elif f.default is not _MISSING:
                    params.append(f"{f.name}:__dc_type_{f.name}=__dc_dflt_{f.name}")
                    names[f"__dc_dflt_{f.name}"] = f.default
                    value = f.name
                else:
                    params.append(f"{f.name}:__dc_type_{f.name}")
                    value = f.name
            elif f.default_factory is not _MISSING:
                names[f"__dc_dflt_{f.name}"] = f.default_factory
                value = f"__dc_dflt_{f.name}()"
            else:
                continue  # init=False with a plain default: the class attribute holds it
            body.append(f"__dc_object.__setattr__(self, {f.name!r}, {value})" if frozen
                        else f"self.{f.name} = {value}")
        if hasattr(cls, "__post_init__"):
            body.append("self.__post_init__()")
        lines += [f" def __init__({','.join(params)})->__dc_none:"] + [f"  {b}" for b in body or ["pass"]]
        made.append("__init__")
    if repr_ and "__repr__" not in own:
        shown = ", ".join(f"{f.name}={{self.{f.name}!r}}" for f in fields if f.repr)
        lines += [" def __repr__(self):",
                  "  key = __dc_id(self), __dc_ident()",
                  "  if key in __dc_running:",
                  "   return '...'",
                  "  __dc_running.add(key)",
                  "  try:",
                  f"   return self.__class__.__qualname__ + f\"({shown})\"",
                  "  finally:",
                  "   __dc_running.discard(key)"]
        made.append("__repr__")
    compared = [f for f in fields if f.compare]
    if eq and "__eq__" not in own:
        if _EQ_IS_AND_CHAIN:
            terms = " and ".join(f"self.{f.name}==other.{f.name}" for f in compared) or "True"
            lines += [" def __eq__(self, other):", "  if self is other:", "   return True",
                      "  if other.__class__ is self.__class__:", f"   return {terms}", "  return NotImplemented"]
        else:
            lines += [" def __eq__(self, other):", "  if other.__class__ is self.__class__:",
                      f"   return {_tuple('self', compared)}=={_tuple('other', compared)}", "  return NotImplemented"]
        made.append("__eq__")
    if frozen:
        for name in ("__setattr__", "__delattr__"):
            if name in own:
                raise TypeError(f"Cannot overwrite attribute {name} in class {cls.__name__}")
        condition = "type(self) is __dc_cls"
        if fields:
            condition += " or name in {" + ", ".join(repr(f.name) for f in fields) + "}"
        lines += [" def __setattr__(self, name, value):", f"  if {condition}:",
                  "   raise __dc_frozen_error()(f\"cannot assign to field {name!r}\")",
                  "  super(__dc_cls, self).__setattr__(name, value)",
                  " def __delattr__(self, name):", f"  if {condition}:",
                  "   raise __dc_frozen_error()(f\"cannot delete field {name!r}\")",
                  "  super(__dc_cls, self).__delattr__(name)"]
        made += ["__setattr__", "__delattr__"]
    class_hash = own.get("__hash__", _MISSING)
    explicit_hash = not (class_hash is _MISSING or (class_hash is None and "__eq__" in own))
    set_hash_none = False
    if eq and not explicit_hash:
        if frozen:
            hashed = [f for f in fields if (f.compare if f.hash is None else f.hash)]
            lines += [" def __hash__(self):", f"  return hash({_tuple('self', hashed)})"]
            made.append("__hash__")
        else:
            set_hash_none = True
    if _REPLACE and "__replace__" not in own:
        lines += [" def __replace__(self, /, **changes):", "  import dataclasses",
                  "  return dataclasses.replace(self, **changes)"]
        made.append("__replace__")
    if made:
        keys = list(names)
        source = (f"def __create_fn__({', '.join(keys)}):\n" + "\n".join(lines)
                  + f"\n return ({', '.join(made)},)")
        from ._dccache import code_for

        scope: Dict[str, Any] = {}
        exec(code_for(source), getattr(module, "__dict__", {}), scope)  # noqa: S102 - our own generated source
        for name, fn in zip(made, scope["__create_fn__"](*[names[k] for k in keys])):
            fn.__qualname__ = f"{cls.__qualname__}.{fn.__name__}"
            setattr(cls, name, fn)
    if set_hash_none:
        cls.__hash__ = None
    if _MATCH_ARGS and "__match_args__" not in own:
        setattr(cls, "__match_args__", tuple(f.name for f in fields if f.init))


def _frozen_error() -> Any:
    from dataclasses import FrozenInstanceError

    return FrozenInstanceError


class _Lazy:
    """``__dataclass_fields__`` / ``__dataclass_params__``, made by :func:`dataclasses.dataclass` on a
    copy of the class body the first time anything reads them, then set on the class itself."""

    __slots__ = ("cls", "name")

    def __init__(self, cls: type, name: str) -> None:
        self.cls = cls
        self.name = name

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        made = _materialize(self.cls)
        return made[self.name]


def _materialize(cls: Any) -> Dict[str, Any]:
    """Run the real decorator over a stand-in: a class with ``cls``'s annotations, each field's
    ``field(...)`` or default (read as ``cls`` saw it) and each ClassVar's value, whose bases are the
    stand-ins of ``cls``'s dataclass bases. Made with ``type()`` from those alone, it runs no
    ``__init_subclass__`` or metaclass of ``cls``'s own bases."""
    made = cls.__dict__.get(_MADE)
    if made is not None:
        return made
    import dataclasses

    fields, params = cls.__dict__[_SPEC]
    mine = {f.name: f for f in fields}
    own = cls.__dict__.get("__annotations__", {})
    namespace: Dict[str, Any] = {"__module__": cls.__module__, "__qualname__": cls.__qualname__,
                                 "__doc__": cls.__doc__, "__annotations__": dict(own)}
    for name in own:
        f = mine.get(name)
        if f is not None and own[name] is f.type and f.spec is not None:
            namespace[name] = f.spec.real()
        elif f is not None and own[name] is f.type:
            if f.default is not _MISSING:
                namespace[name] = f.default
        else:  # a ClassVar: its value, as dataclasses records it
            value = getattr(cls, name, _MISSING)
            if value is not _MISSING:
                namespace[name] = value
    bases = tuple(_materialize(b)[_STANDIN] for b in cls.__bases__ if _SPEC in b.__dict__)
    standin: Any = dataclasses.dataclass(type(cls.__name__, bases, namespace), **params)
    made = {"__dataclass_fields__": standin.__dataclass_fields__,
            "__dataclass_params__": standin.__dataclass_params__, _STANDIN: standin}
    for name in ("__dataclass_fields__", "__dataclass_params__"):
        type.__setattr__(cls, name, made[name])
    type.__setattr__(cls, _MADE, made)
    return made
