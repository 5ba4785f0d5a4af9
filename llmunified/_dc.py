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
import sys
import types
import typing
from operator import attrgetter
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


def _word(text: str, i: int) -> int:
    """The end of the run of regex ``\\w`` characters (``isalnum()`` or ``_``) from ``i``."""
    n = len(text)
    while i < n and (text[i].isalnum() or text[i] == "_"):
        i += 1
    return i


def _spaces(text: str, i: int) -> int:
    n = len(text)
    while i < n and text[i].isspace():
        i += 1
    return i


def _module_ident(text: str) -> Optional[Tuple[Optional[str], str]]:
    """What :mod:`dataclasses`' ``^(?:\\s*(\\w+)\\s*\\.)?\\s*(\\w+)`` matches in a string
    annotation (``(module or None, name)``), without compiling the regex at import."""
    # nearly every annotation is a name, or a name subscripted: ASCII identifier characters are
    # exactly the regex's \w there, and such a head has no space and no dot
    head = text.partition("[")[0]
    if head.isascii() and head.isidentifier():
        return None, head
    start = _spaces(text, 0)
    end = _word(text, start)
    if end == start:
        return None
    dot = _spaces(text, end)
    if dot < len(text) and text[dot] == ".":
        name_start = _spaces(text, dot + 1)
        name_end = _word(text, name_start)
        if name_end > name_start:
            return text[start:end], text[name_start:name_end]
    return None, text[start:end]


def _is_classvar(annotation: Any, module: Any) -> bool:
    """``ClassVar`` by :mod:`dataclasses`' own rule: a string annotation's first name is looked up in
    the class's module, or in :mod:`typing` after a ``module.`` prefix that names :mod:`typing` there;
    an evaluated annotation is ``typing.ClassVar`` or a subscript of it."""
    if isinstance(annotation, str):
        match = _module_ident(annotation)
        if match is None:
            return False
        namespace = getattr(module, "__dict__", None) or {}
        prefix, name = match
        if prefix:  # "typing.ClassVar[...]": the module must call typing so; the name is typing's
            if namespace.get(prefix) is not typing:
                return False
            namespace = vars(typing)
        annotation = namespace.get(name)
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


def _install(cls: Any, fields: List[_Field], repr_: bool, eq: bool, frozen: bool, module: Any) -> None:
    """Set the methods :mod:`dataclasses` would set. Only ``__init__`` is compiled (its signature is
    the class's): its source names only what varies (field names, which have defaults or factories)
    and its default values and annotations are set afterwards, so classes of one shape share a cache
    entry. The others are closures over the field names."""
    own = cls.__dict__
    names: Dict[str, Any] = {}
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
    defaults: List[Any] = []
    annotations: Dict[str, Any] = {}
    if "__init__" not in own:
        params, body = ["self"], []
        if frozen:
            names["__dc_object"] = object
        for f in fields:
            if f.init:
                annotations[f.name] = f.type
                if f.default_factory is not _MISSING:
                    params.append(f"{f.name}=0")
                    defaults.append(_HAS_DEFAULT_FACTORY)
                    names["__dc_factory"] = _HAS_DEFAULT_FACTORY
                    names[f"__dc_dflt_{f.name}"] = f.default_factory
                    value = f"__dc_dflt_{f.name}() if {f.name} is __dc_factory else {f.name}"
                else:
                    if f.default is not _MISSING:
                        params.append(f"{f.name}=0")
                        defaults.append(f.default)
                    else:
                        params.append(f.name)
                    value = f.name
            elif f.default_factory is not _MISSING:
                names[f"__dc_dflt_{f.name}"] = f.default_factory
                value = f"__dc_dflt_{f.name}()"
            else:
                continue  # init=False with a plain default: the class attribute holds it
            body.append(f"__dc_object.__setattr__(self,{f.name!r},{value})" if frozen
                        else f"self.{f.name}={value}")
        if hasattr(cls, "__post_init__"):
            body.append("self.__post_init__()")
        annotations["return"] = None
        lines += [f" def __init__({','.join(params)}):"] + [f"  {b}" for b in body or ["pass"]]
    generic: Dict[str, Any] = {}  # methods whose code is the same for every class (closures over names)
    if repr_ and "__repr__" not in own:
        generic["__repr__"] = _repr_fn(tuple(f.name for f in fields if f.repr))
    compared = tuple(f.name for f in fields if f.compare)
    if eq and "__eq__" not in own:
        generic["__eq__"] = _eq_fn(compared)
    if frozen:
        for name in ("__setattr__", "__delattr__"):
            if name in own:
                raise TypeError(f"Cannot overwrite attribute {name} in class {cls.__name__}")
        generic.update(zip(("__setattr__", "__delattr__"), _frozen_fns(cls, frozenset(f.name for f in fields))))
    class_hash = own.get("__hash__", _MISSING)
    explicit_hash = not (class_hash is _MISSING or (class_hash is None and "__eq__" in own))
    set_hash_none = False
    if eq and not explicit_hash:
        if frozen:
            generic["__hash__"] = _hash_fn(tuple(f.name for f in fields if (f.compare if f.hash is None else f.hash)))
        else:
            set_hash_none = True
    if _REPLACE and "__replace__" not in own:
        generic["__replace__"] = _replace
    for name, fn in generic.items():
        if fn is not _replace:
            fn.__qualname__ = f"{cls.__qualname__}.{name}"
        setattr(cls, name, fn)
    if lines:  # __init__: compiled (the signature is the class's), from the cache while loading
        keys = list(names)
        source = f"def __create_fn__({', '.join(keys)}):\n" + "\n".join(lines) + "\n return __init__"
        from ._dccache import code_for

        scope: Dict[str, Any] = {}
        exec(code_for(source), getattr(module, "__dict__", {}), scope)  # noqa: S102 - our own generated source
        init = scope["__create_fn__"](*[names[k] for k in keys])
        init.__qualname__ = f"{cls.__qualname__}.__init__"
        init.__defaults__ = tuple(defaults) or None
        init.__annotations__ = annotations
        cls.__init__ = init
    if set_hash_none:
        cls.__hash__ = None
    if _MATCH_ARGS and "__match_args__" not in own:
        setattr(cls, "__match_args__", tuple(f.name for f in fields if f.init))


def _values(names: Tuple[str, ...]) -> Any:
    """``obj -> (obj.a, obj.b, ...)`` for ``names`` (a tuple always, as dataclasses' ``(self.a,)``)."""
    if not names:
        return lambda obj: ()
    get = attrgetter(*names)
    return get if len(names) > 1 else (lambda obj: (get(obj),))


def _repr_fn(names: Tuple[str, ...]) -> Any:
    running: set = set()  # (id, thread) of the reprs under way: a recursive one shows "..."

    def __repr__(self: Any) -> str:
        key = id(self), _thread.get_ident()
        if key in running:
            return "..."
        running.add(key)
        try:
            return self.__class__.__qualname__ + "(" + ", ".join(
                [f"{name}={getattr(self, name)!r}" for name in names]) + ")"
        finally:
            running.discard(key)

    return __repr__


def _eq_fn(names: Tuple[str, ...]) -> Any:
    if _EQ_IS_AND_CHAIN:  # 3.13+: self is other, then self.a == other.a and self.b == other.b ...
        def __eq__(self: Any, other: Any) -> Any:
            if self is other:
                return True
            if other.__class__ is self.__class__:
                result: Any = True
                for name in names:
                    result = getattr(self, name) == getattr(other, name)
                    if not result:
                        return result
                return result
            return NotImplemented
    else:  # 3.9-3.12: (self.a, self.b) == (other.a, other.b)
        values = _values(names)

        def __eq__(self: Any, other: Any) -> Any:
            if other.__class__ is self.__class__:
                return values(self) == values(other)
            return NotImplemented

    return __eq__


def _hash_fn(names: Tuple[str, ...]) -> Any:
    values = _values(names)

    def __hash__(self: Any) -> int:
        return hash(values(self))

    return __hash__


def _frozen_fns(cls: Any, names: frozenset) -> Tuple[Any, Any]:
    def __setattr__(self: Any, name: str, value: Any) -> None:
        if type(self) is cls or name in names:
            raise _frozen_error()(f"cannot assign to field {name!r}")
        super(cls, self).__setattr__(name, value)

    def __delattr__(self: Any, name: str) -> None:
        if type(self) is cls or name in names:
            raise _frozen_error()(f"cannot delete field {name!r}")
        super(cls, self).__delattr__(name)

    return __setattr__, __delattr__


def _replace(self: Any, /, **changes: Any) -> Any:
    """``copy.replace`` support (3.13+), as dataclasses gives it."""
    import dataclasses

    return dataclasses.replace(self, **changes)


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
