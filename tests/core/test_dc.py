"""``@dataclass`` without importing dataclasses (llmunified/_dc.py): a class it makes behaves exactly
as the standard library's ``dataclasses.dataclass`` would make it on the running interpreter --
constructor, defaults, repr, ==, hash, frozen-ness, the Field objects, copy, pickle and replace --
and ``import llmunified; llmunified.Client(...)`` never loads :mod:`dataclasses` for it.

Each made-up class below is defined twice from one body (same name, docstring and module), once with
``_dc`` and once with ``dataclasses``, and everything a user can observe is compared; every class of
both packages is held to the invariants and compared with a twin the real decorator makes from its
own source."""
import __future__
import abc
import ast
import copy
import dataclasses
import functools
import importlib
import inspect
import json
import os
import pickle
import pkgutil
import re
import subprocess
import sys
import types
import typing
from typing import ClassVar, Dict, List, Optional

import pytest

import llmunified
import llmunified_async
from llmunified import _dc

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NAN = float("nan")  # one object: (NAN,) == (NAN,) on 3.9-3.12, NAN == NAN is False (3.13 compares fields)
IntClassVar = ClassVar[int]  # an alias of a ClassVar, named in a string annotation below
FLAVOURS = {"dc": (_dc.dataclass, _dc.field), "real": (dataclasses.dataclass, dataclasses.field)}
TWINS: Dict[str, Dict[str, type]] = {"dc": {}, "real": {}}  # case name -> class, per flavour
BUILD = {}  # case name -> cls -> (an instance, one made alike, one made differently)


def shown(value):
    """repr without object addresses (twins' default factories, lambdas... are distinct objects)."""
    return re.sub(r" at 0x[0-9a-fA-F]+", "", repr(value))


def outcome(fn, *args):
    """What a call gives: its result shown, or its error's class and message."""
    try:
        return shown(fn(*args))
    except RecursionError:  # its message names the C function the limit was hit in: not behaviour
        return "builtins.RecursionError"
    except Exception as exc:  # noqa: BLE001 - the error is the observable
        return f"{type(exc).__module__}.{type(exc).__qualname__}: {exc}"


def case(name, doc, body, bases=(), args=(), other=None, plain=False, build=None, **params):
    """Define class ``name`` with each flavour's ``dataclass`` (``params``; none when ``plain``) and
    ``field``; ``bases`` name earlier cases (that flavour's twin) or are classes."""
    for flavour, (decorate, field) in FLAVOURS.items():
        made = TWINS[flavour]
        ns = {"__module__": __name__, "__qualname__": name, "__doc__": doc, **body(field, made)}
        cls = type(name, tuple(made[b] if isinstance(b, str) else b for b in bases), ns)
        made[name] = cls if plain else decorate(cls, **params)
    different = args if other is None else other
    BUILD[name] = build or (lambda cls: (cls(*args), cls(*args), cls(*different)))


# -- the corpus: name, docstring (None: none), body(field, classes made so far) -> namespace ------

case("Empty", "No fields at all.", lambda f, m: {})
case("Required", "Required fields only.", lambda f, m: {"__annotations__": {"x": int, "name": str}},
     args=(1, "a"), other=(2, "b"))
case("Defaults", "Plain defaults of several types.", lambda f, m: {
    "__annotations__": {"x": int, "name": str, "pair": tuple, "none": Optional[int]},
    "x": 0, "name": "n", "pair": (1, 2), "none": None}, other=(1, "m", (3,)))
case("Factories", "default_factory: list, dict, a lambda, another dataclass.", lambda f, m: {
    "__annotations__": {"items": list, "table": dict, "made": List[int], "inner": m["Defaults"]},
    "items": f(default_factory=list), "table": f(default_factory=dict), "made": f(default_factory=lambda: [1, 2]),
    "inner": f(default_factory=m["Defaults"])}, other=([1],))
case("FieldOptions", "repr=False, compare=False, metadata (the other instance is equal all the same).",
     lambda f, m: {"__annotations__": {"a": int, "secret": str, "note": str, "meta": int},
                   "secret": f(default="s", repr=False), "note": f(default="", compare=False),
                   "meta": f(default=0, metadata={"unit": "ms", "doc": "a duration"})},
     args=(1,), other=(1, "s", "another note"))
case("HashOptions", "hash=False on a compared field, hash=True on an uncompared one (frozen: hashed).",
     lambda f, m: {"__annotations__": {"a": int, "b": int, "c": int},
                   "a": f(hash=False), "b": f(compare=False, hash=True), "c": 0},
     args=(1, 2), other=(9, 2), frozen=True)
case("InitFalse", "init=False with a default, with a default_factory, and with neither (never set).",
     lambda f, m: {"__annotations__": {"x": int, "y": int, "z": list, "w": int}, "y": f(init=False, default=5),
                   "z": f(init=False, default_factory=list), "w": f(init=False, repr=False, compare=False)},
     args=(1,), other=(2,))
ONE_INT = lambda f, m: {"__annotations__": {"x": int}}  # noqa: E731
case("Frozen", "frozen=True (eq, so hashed).", lambda f, m: {"__annotations__": {"x": int, "y": str}, "y": "y"},
     args=(1,), other=(2,), frozen=True)
case("FrozenNoEq", "frozen without eq: identity equality and hash.", ONE_INT, args=(1,), other=(2,), frozen=True,
     eq=False)
case("NoEq", "eq=False.", ONE_INT, args=(1,), other=(2,), eq=False)
case("NoRepr", "repr=False.", ONE_INT, args=(1,), other=(2,), repr=False)
case("OwnHash", "An explicit __hash__ (kept although eq and not frozen).",
     lambda f, m: {"__annotations__": {"x": int}, "__hash__": lambda self: 7}, args=(1,), other=(2,))
OWN_EQ = lambda f, m: {"__annotations__": {"x": int}, "__eq__": lambda self, other: isinstance(other, type(self))}  # noqa: E731
case("OwnEq", "Its own __eq__ (so __hash__ is implicitly None).", OWN_EQ, args=(1,), other=(2,))
case("FrozenOwnEq", "Its own __eq__, frozen: the implicit None is not an explicit __hash__.", OWN_EQ,
     args=(1,), other=(2,), frozen=True)
case("OwnMethods", "Its own __init__ and __repr__.", lambda f, m: {
    "__annotations__": {"x": int}, "__init__": lambda self, x=3: setattr(self, "x", x * 2),
    "__repr__": lambda self: f"<{self.x}>"}, args=(1,), other=(2,))
case("PostInit", "__post_init__ filling an init=False field.", lambda f, m: {
    "__annotations__": {"x": int, "y": int, "total": int}, "y": 1, "total": f(init=False),
    "__post_init__": lambda self: setattr(self, "total", self.x + self.y)}, args=(1,), other=(1, 2))
case("ClassVars", "ClassVar annotations as typing objects (a mutable default is fine there).", lambda f, m: {
    "__annotations__": {"x": int, "cv": ClassVar[int], "tcv": typing.ClassVar[List[int]], "bare": ClassVar},
    "cv": 1, "tcv": [], "bare": 2}, args=(1,), other=(2,))
case("StringClassVars", "String annotations (from __future__ import annotations), ClassVars among them, "
     "resolved in this module, which has the names ClassVar and typing.", lambda f, m: {
         "__annotations__": {"x": "int", "y": "Optional[str]", "cv": "ClassVar[int]", "tcv": "typing.ClassVar[int]",
                             "spaced": " typing . ClassVar[int]"},
         "y": None, "cv": 1, "tcv": 2, "spaced": 3}, args=(1,), other=(2, "s"))
case("Point", "A base for the subclasses below.", lambda f, m: {"__annotations__": {"x": int, "y": int}, "y": 1},
     args=(1,), other=(2,))
case("SubPoint", "A dataclass subclass adding a field and overriding a default.", lambda f, m: {
    "__annotations__": {"y": int, "z": str}, "y": 2, "z": "z"}, bases=("Point",), args=(1,), other=(1, 3, "w"))
case("PlainSubPoint", "A plain subclass of a dataclass.", lambda f, m: {"norm": lambda self: self.x + self.y},
     bases=("Point",), args=(1,), other=(2,), plain=True)
case("FrozenSub", "A frozen subclass of a frozen dataclass.", lambda f, m: {
    "__annotations__": {"extra": int}, "extra": 0}, bases=("Frozen",), args=(1,), other=(1, "y", 5), frozen=True)
case("PlainFrozenSub", "A plain subclass of a frozen dataclass (may set its own attributes).", lambda f, m: {},
     bases=("Frozen",), args=(1,), other=(2,), plain=True)


def recursive(cls):
    node = cls(1)
    node.children.append(node)
    return node, node, cls(2)


case("Node", "A node that contains itself (repr shows ...).", lambda f, m: {
    "__annotations__": {"value": int, "children": list}, "children": f(default_factory=list)}, build=recursive)
NAN_FIELD = lambda f, m: {"__annotations__": {"x": float}}  # noqa: E731
case("NotANumber", "A NaN field: equal as a tuple member (3.9-3.12), not alone (3.13).", NAN_FIELD,
     args=(NAN,), other=(1.0,))
case("FrozenNotANumber", "A NaN field, hashed.", NAN_FIELD, args=(NAN,), other=(1.0,), frozen=True)


Shape = type("Shape", (abc.ABC,), {"__doc__": "An abstract base.", "area": abc.abstractmethod(lambda self: 0)})
RealBase = dataclasses.dataclass(type("RealBase", (), {"__doc__": "A base made by the real decorator.",
                                                       "__annotations__": {"x": int}, "x": 0}))
case("Circle", "An ABC base (ABCMeta), its abstract method implemented.", lambda f, m: {
    "__annotations__": {"r": float}, "area": lambda self: 3 * self.r ** 2}, bases=(Shape,), args=(1.0,), other=(2.0,))
case("OnRealBase", "A subclass of a real dataclass.", lambda f, m: {"__annotations__": {"y": int}, "y": 0},
     bases=(RealBase,), other=(1, 2))
case("Ordered", "order=True (handed to the real decorator).", ONE_INT, args=(1,), other=(2,), order=True)
case("UnsafeHash", "unsafe_hash=True (handed to the real decorator).", ONE_INT, args=(1,), other=(2,),
     unsafe_hash=True)
case("NoInit", "init=False (handed to the real decorator).", lambda f, m: {"__annotations__": {"x": int}, "x": 1},
     init=False)
case("NoDoc", None, ONE_INT, args=(1,), other=(2,))
case("WithInitVar", "An InitVar (handed to the real decorator).", lambda f, m: {
    "__annotations__": {"x": int, "scale": dataclasses.InitVar[int]}, "scale": 1,
    "__post_init__": lambda self, scale: setattr(self, "x", self.x * scale)}, args=(1, 3), other=(2,))

globals().update(TWINS["dc"])  # module-level names, for pickle (re-bound to the real twins to pickle those)
NAMES = list(TWINS["dc"])


def compare(name, observe):
    """The same observations of both twins."""
    assert outcome(observe, TWINS["dc"][name]) == outcome(observe, TWINS["real"][name])


def provider(cls, attr):
    """Which class in the MRO gives ``attr``, and what: None, a function's qualified name, a value.
    (3.9's dataclasses leaves its methods named ``__create_fn__.<locals>.__init__``; _dc names them
    ``Class.__init__`` everywhere, as 3.10+ does: that one difference is not compared.)"""
    for klass in cls.__mro__:
        if attr in vars(klass):
            value = vars(klass)[attr]
            if not callable(value):
                return klass.__qualname__, shown(value)
            return klass.__qualname__, value.__qualname__.replace("__create_fn__.<locals>", klass.__qualname__)
    return None


def field_records(cls):
    return [(f.name, shown(f.type), shown(f.default), getattr(f.default_factory, "__qualname__", shown(f.default_factory)),
             f.init, f.repr, f.hash, f.compare, dict(f.metadata), getattr(f, "kw_only", None))
            for f in dataclasses.fields(cls)]


def hash_of(obj):
    return "object.__hash__" if type(obj).__hash__ is object.__hash__ else outcome(hash, obj)


def first_field(obj):
    names = [f.name for f in dataclasses.fields(obj) if f.init]
    return names[0] if names else "x"


METHODS = ("__init__", "__repr__", "__eq__", "__ne__", "__hash__", "__setattr__", "__delattr__", "__match_args__")
#: what a class shows without an instance (3.13's real __replace__ is dataclasses._replace: only its presence)
CLASS_VIEWS = {
    "signature": lambda cls: str(inspect.signature(cls)),
    "__init__ annotations": lambda cls: cls.__init__.__annotations__,
    "__init__ defaults": lambda cls: cls.__init__.__defaults__,
    "methods and where from": lambda cls: [provider(cls, attr) for attr in METHODS],
    "__replace__": lambda cls: callable(getattr(cls, "__replace__", None)),
    "docstring": lambda cls: cls.__doc__,
    "class attributes of annotated names": lambda cls: {
        n: shown(vars(cls).get(n, "<absent>")) for klass in cls.__mro__ for n in vars(klass).get("__annotations__", {})},
    "fields": field_records,
    "parameters": lambda cls: cls.__dataclass_params__,
}


# -- the twins compared ----------------------------------------------------------------------

@pytest.mark.parametrize("view", CLASS_VIEWS)
@pytest.mark.parametrize("name", NAMES)
def test_class(name, view):
    """The constructor's signature, annotations and defaults, the methods (generated, its own,
    inherited or None), __match_args__, the docstring, the class attributes, the Fields."""
    compare(name, CLASS_VIEWS[view])


@pytest.mark.parametrize("name", NAMES)
def test_instances(name):
    """repr, ==, != and hash of instances made alike and made differently."""
    def observe(cls):
        a, alike, b = BUILD[name](cls)
        return [outcome(repr, a), outcome(repr, b), outcome(lambda: a == a), outcome(lambda: a == alike),
                outcome(lambda: a != alike), outcome(lambda: a == b), outcome(lambda: a != b),
                outcome(lambda: a == object()), hash_of(a), hash_of(alike) == hash_of(a), hash_of(b)]

    compare(name, observe)


@pytest.mark.parametrize("name", NAMES)
def test_setting_and_deleting(name):
    """Assigning and deleting a field and another attribute: allowed, or FrozenInstanceError with
    the same message (a plain subclass of a frozen class may set its own attributes)."""
    def observe(cls):
        obj = BUILD[name](cls)[0]
        field = first_field(obj)
        return [outcome(setattr, obj, field, 5), outcome(setattr, obj, "extra", 1), outcome(delattr, obj, "extra"),
                outcome(delattr, obj, field), outcome(delattr, obj, "missing"), outcome(repr, vars(obj))]

    compare(name, observe)


@pytest.mark.parametrize("name", NAMES)
def test_dataclasses_functions(name):
    """is_dataclass, asdict, astuple and replace, on the class and its instances."""
    def observe(cls):
        a, _, b = BUILD[name](cls)
        field = first_field(a)
        return [dataclasses.is_dataclass(cls), dataclasses.is_dataclass(a), outcome(dataclasses.asdict, a),
                outcome(dataclasses.astuple, a), outcome(dataclasses.replace, a),
                outcome(lambda: dataclasses.replace(a, **{field: getattr(b, field, None)}))]

    compare(name, observe)


@pytest.mark.parametrize("name", NAMES)
def test_copies(name):
    """copy.copy, copy.deepcopy, a pickle round trip and (3.13+) copy.replace."""
    def observe(cls):
        a, _, b = BUILD[name](cls)
        globals().update(TWINS[next(f for f, made in TWINS.items() if made[name] is cls)])
        try:
            copies = [copy.copy(a), copy.deepcopy(a), pickle.loads(pickle.dumps(a))]
        finally:
            globals().update(TWINS["dc"])
        seen = [(type(c) is cls, outcome(repr, c), outcome(lambda: c == a), outcome(vars, c)) for c in copies]
        if sys.version_info >= (3, 13):
            field = first_field(a)
            seen += [outcome(copy.replace, a), outcome(lambda: copy.replace(a, **{field: getattr(b, field, None)}))]
        return seen

    compare(name, observe)


# -- edge cases, errors and known differences ------------------------------------------------

def edge(annotations, attrs=lambda f: {}, bases=(), module=__name__, **params):
    """Observe the class these describe: whether it is made, its signature, an instance made without
    arguments, its Fields and class attributes."""
    def observe(flavour):
        decorate, field = FLAVOURS[flavour]
        ns = {"__module__": module, "__qualname__": "Edge", "__doc__": "An edge case.", **attrs(field)}
        if annotations is not None:
            ns["__annotations__"] = annotations
        made = [TWINS[flavour][b] if isinstance(b, str) else b for b in bases]
        cls = decorate(type("Edge", tuple(made), ns), **params)
        return ("made", outcome(lambda: str(inspect.signature(cls))), outcome(lambda: repr(cls())),
                outcome(lambda: [f.name for f in dataclasses.fields(cls)]),
                {n: shown(vars(cls).get(n, "<absent>")) for n in annotations or ()})
    return observe


def registrations(flavour):
    """The classes a base's __init_subclass__ sees for one dataclass whose Fields are read."""
    seen = []
    base = type("Registry", (), {"__init_subclass__": classmethod(lambda cls, **kw: seen.append(cls.__name__))})
    dataclasses.fields(FLAVOURS[flavour][0](type("Edge", (base,), {"__module__": __name__, "__doc__": "d"})))
    return seen


def class_keyword(flavour):
    """The Fields of a dataclass whose base's __init_subclass__ needs a class keyword."""
    class Tagged:
        def __init_subclass__(cls, *, tag, **kw):
            super().__init_subclass__(**kw)

    ns = {"__module__": __name__, "__doc__": "d", "__annotations__": {"x": int}}
    cls = FLAVOURS[flavour][0](types.new_class("Edge", (Tagged,), {"tag": "t"}, lambda body: body.update(ns)))
    return [f.name for f in dataclasses.fields(cls)]


def classvar_pseudo_fields(flavour):
    """__dataclass_fields__ holds the ClassVars too, their value as default."""
    cls = FLAVOURS[flavour][0](type("Edge", (), {"__module__": __name__, "__doc__": "d",
                                                 "__annotations__": {"x": int, "cv": ClassVar[int]}, "cv": 3}))
    return [(name, f._field_type, shown(f.default)) for name, f in cls.__dataclass_fields__.items()]


class Descriptor:
    """A descriptor-typed field: its default is what __get__(None, cls) gives."""

    def __get__(self, obj, owner):
        return 42 if obj is None else obj.__dict__.get("_value", 0)

    def __set__(self, obj, value):
        obj.__dict__["_value"] = value


def param(observe, name):
    return pytest.param(observe, id=name)


PY310, PY313 = sys.version_info >= (3, 10), sys.version_info >= (3, 13)
Unhashable = type("Unhashable", (), {"__hash__": None, "__repr__": lambda self: "Unhashable()"})
INT = {"x": int}
TYPING_ONLY = types.ModuleType("_test_dc_typing_only")  # `import typing`, no name ClassVar
TYPING_ONLY.typing = typing
ID_GLOBAL = types.ModuleType("_test_dc_id_global")  # a module-level name `id`
ID_GLOBAL.id = "an identifier"
sys.modules.update({TYPING_ONLY.__name__: TYPING_ONLY, ID_GLOBAL.__name__: ID_GLOBAL})
EDGES = [
    param(edge({"x": list}, lambda f: {"x": []}), "list default"),
    param(edge({"x": dict}, lambda f: {"x": f(default={})}), "dict field default"),
    param(edge({"x": Unhashable}, lambda f: {"x": Unhashable()}), "unhashable default"),
    param(edge(None, lambda f: {"x": f()}), "field without annotation"),
    param(edge(INT, lambda f: {"x": f(default=1, default_factory=int)}), "default and default_factory"),
    param(edge({"x": ClassVar[list]}, lambda f: {"x": f(default_factory=list)}), "ClassVar with default_factory"),
    param(edge(INT, bases=("Point",), frozen=True), "frozen from non-frozen"),
    param(edge(INT, bases=("Frozen",)), "non-frozen from frozen"),
    param(edge(INT, lambda f: {"__setattr__": lambda s, n, v: None}, frozen=True), "frozen with own __setattr__"),
    param(edge(INT, lambda f: {"__delattr__": lambda s, n: None}, frozen=True), "frozen with own __delattr__"),
    param(edge(INT, bases=(Shape,)), "abstract method left"),
    param(edge({"x": "IntClassVar"}, lambda f: {"x": 1}), "string naming a ClassVar alias"),
    param(edge({"x": int, "y": int}, lambda f: {"x": 1}), "non-default after default"),
    param(edge({"x": int, "y": int}, lambda f: {"x": 1, "__init__": lambda self: None}),
          "non-default after default, own __init__"),
    param(edge({"self": int}), "field named self"),
    param(edge({"y": int}, bases=("Point",)), "re-annotated inherited field"),
    param(edge(INT, bases=(type("Base", (), {"x": 5}),)), "default from a plain base's attribute"),
    param(edge(INT, lambda f: {"x": Descriptor()}), "descriptor-typed field"),
    param(edge(INT, lambda f: {"__slots__": ("x",)}), "__slots__ in the body"),
    param(edge({"x": ClassVar[int]}, lambda f: {"x": f(default=1)}), "ClassVar with field(default)"),
    param(edge({"x": "typing.ClassVar[int]"}, lambda f: {"x": 1}, module=TYPING_ONLY.__name__),
          "typing.ClassVar string, module without the name ClassVar"),
    param(edge({"y": ClassVar[int]}, lambda f: {"y": 2}, bases=("Point",)), "ClassVar re-annotating a field"),
    param(edge({}, bases=("PlainSubPoint", "SubPoint")), "plain class early in the MRO"),
    param(edge(INT, lambda f: {"x": 1}, module=ID_GLOBAL.__name__), "module with a global named id"),
    param(edge(INT, slots=True), "slots=True"),
    param(edge(INT, kw_only=True), "kw_only=True"),
    param(edge(INT, lambda f: {"x": f(kw_only=True)}), "field(kw_only=True)"),
    param(class_keyword, "base needing a class keyword"),
    param(registrations, "__init_subclass__ runs once"),
    param(classvar_pseudo_fields, "ClassVar pseudo-field default"),
]


@pytest.mark.parametrize("observe", EDGES)
def test_edge_cases(observe):
    """Errors (same type, same message) and corners, as the real decorator has them."""
    assert outcome(observe, "dc") == outcome(observe, "real")


# -- every class of both packages ------------------------------------------------------------

def our_modules():
    for package in (llmunified, llmunified_async):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if info.name.endswith(".__main__"):
                continue
            try:
                yield importlib.import_module(info.name)
            except ImportError:  # an optional extra (google-auth, opentelemetry) not installed
                continue


OURS = {f"{cls.__module__}.{cls.__qualname__}": cls for module in list(our_modules())
        for cls in list(vars(module).values()) if isinstance(cls, type) and "__llmunified_dc__" in vars(cls)}


def test_the_packages_have_classes_made_here():
    assert len(OURS) > 40 and "llmunified._types.Response" in OURS


@functools.lru_cache(maxsize=None)
def source_twins(module_name):
    """The module's classes made by _dc, made again from their source by the real decorator, in
    source order (so a base defined earlier in the module is its twin)."""
    module = sys.modules[module_name]
    future = getattr(module, "annotations", None) is __future__.annotations
    ns = dict(vars(module), dataclass=dataclasses.dataclass, field=dataclasses.field)
    made = {}
    for node in ast.parse(inspect.getsource(module)).body:
        if isinstance(node, ast.ClassDef) and f"{module_name}.{node.name}" in OURS:
            code = compile(ast.Module([node], []), module.__file__, "exec",
                           flags=__future__.annotations.compiler_flag if future else 0, dont_inherit=True)
            exec(code, ns)  # noqa: S102 - the package's own source
            made[node.name] = ns[node.name]
    return made


@pytest.mark.parametrize("key", sorted(OURS))
def test_package_class_matches_its_source_twin(key):
    """The class as the real decorator makes it from the same source."""
    cls = OURS[key]
    real = source_twins(cls.__module__)[cls.__qualname__]
    for view, observe in CLASS_VIEWS.items():
        assert outcome(observe, cls) == outcome(observe, real), view


@pytest.mark.parametrize("key", sorted(OURS))
def test_package_class_invariants(key):
    """A dataclass whose Fields, constructor, annotations, docstring, method names and frozen-ness
    agree with one another."""
    cls = OURS[key]
    assert dataclasses.is_dataclass(cls)
    fields = dataclasses.fields(cls)
    names = [f.name for f in fields]
    assert names == list(_dc.own_fields(cls))
    signature = inspect.signature(cls)
    assert list(signature.parameters) == [f.name for f in fields if f.init]
    assert "__dc_" not in str(signature)
    assert cls.__init__.__annotations__ == {**{f.name: f.type for f in fields if f.init}, "return": None}
    for f in fields:
        owner = next(k for k in cls.__mro__ if f.name in vars(k).get("__annotations__", {}))
        if getattr(sys.modules[owner.__module__], "annotations", None) is __future__.annotations:
            assert isinstance(f.type, str), f.name
    assert cls.__doc__ and cls.__doc__ == vars(cls)["__doc__"]
    assert not cls.__doc__.startswith(cls.__name__ + "(")  # not the docstring dataclasses writes
    for attr in ("__init__", "__repr__", "__eq__", "__hash__", "__setattr__", "__delattr__"):
        method = vars(cls).get(attr)
        if callable(method):
            assert method.__qualname__.startswith(cls.__qualname__ + "."), attr
    if sys.version_info >= (3, 13):  # one shared function, as dataclasses' own _replace
        assert vars(cls)["__replace__"] is _dc._replace
    if sys.version_info >= (3, 10):
        assert cls.__match_args__ == tuple(f.name for f in fields if f.init)
    params = cls.__dataclass_params__
    if params.eq:  # None when mutable, a hash of the fields when frozen
        assert (vars(cls)["__hash__"] is None) != params.frozen
    if params.frozen:
        obj = object.__new__(cls)
        for action in (lambda: setattr(obj, names[0], 1), lambda: delattr(obj, names[0]),
                       lambda: setattr(obj, "not_a_field", 1)):
            with pytest.raises(dataclasses.FrozenInstanceError):
                action()


# -- what importing costs, and the lazy Fields ------------------------------------------------

PROBE = """
import json, sys
{code}
loaded = [m for m in ('dataclasses', 'inspect') if m in sys.modules]
from llmunified import _dc, Response
fields = [[f.name, repr(f.type), 'MISSING' if f.default is sys.modules['dataclasses'].MISSING else repr(f.default),
           getattr(f.default_factory, '__qualname__', None), f.init, f.repr, f.compare] for f in _dc.fields(Response)]
print(json.dumps({{'loaded': loaded, 'after': 'dataclasses' in sys.modules, 'fields': fields}}))
"""


def probe(code):
    """What a fresh interpreter has loaded after ``code``, and then Response's Fields."""
    out = subprocess.run([sys.executable, "-c", PROBE.format(code=code)], capture_output=True, text=True,
                         cwd=ROOT, env=dict(os.environ), check=True)
    return json.loads(out.stdout)


@pytest.mark.parametrize("package, dependencies, avoided", [
    ("llmunified", "requests", {"dataclasses", "inspect"}),
    ("llmunified_async", "requests, aiohttp", {"dataclasses"}),  # aiohttp imports inspect itself
])
def test_client_does_not_import_dataclasses(package, dependencies, avoided):
    """``import llmunified; llmunified.Client(...)`` loads neither dataclasses nor inspect (beyond
    what its dependencies load: 3.13's importlib.metadata, which urllib3 imports, loads inspect);
    reading Response's Fields afterwards loads dataclasses and gives the real decorator's Fields."""
    baseline = set(probe(f"import {dependencies}")["loaded"])
    seen = probe(f"import {package}; {package}.Client('openai/m', api_key='k')")
    assert set(seen["loaded"]) & avoided <= baseline
    real = source_twins("llmunified._types")["Response"]
    assert seen["after"] and seen["fields"] == [
        [f.name, repr(f.type), "MISSING" if f.default is dataclasses.MISSING else repr(f.default),
         getattr(f.default_factory, "__qualname__", None), f.init, f.repr, f.compare] for f in dataclasses.fields(real)]
    assert "dataclasses" not in baseline


def fresh():
    """A class nobody has read the Fields of yet."""
    @_dc.dataclass
    class Fresh:
        """Made in the test."""

        x: int
        y: List[int] = _dc.field(default_factory=list)

    assert type(vars(Fresh)["__dataclass_fields__"]) is not dict
    return Fresh


@pytest.mark.parametrize("via", ["class", "instance", "plain subclass", "plain subclass instance"])
def test_fields_are_made_on_first_access_and_kept(via):
    """Read once (from the class, an instance, a plain subclass), the Fields and parameters are plain
    values on the class itself: the next read is a dict lookup."""
    cls = fresh()
    sub = type("Sub", (cls,), {})
    reader = {"class": cls, "instance": cls(1), "plain subclass": sub, "plain subclass instance": sub(1)}[via]
    assert [f.name for f in dataclasses.fields(reader)] == ["x", "y"]
    assert type(vars(cls)["__dataclass_fields__"]) is dict and list(vars(cls)["__dataclass_fields__"]) == ["x", "y"]
    assert isinstance(vars(cls)["__dataclass_params__"], type(RealBase.__dataclass_params__))
    assert reader.__dataclass_fields__ is cls.__dataclass_fields__ is cls(1).__dataclass_fields__
    assert "__dataclass_fields__" not in vars(sub)
    assert dataclasses.asdict(sub(1, [2])) == {"x": 1, "y": [2]}


@pytest.mark.parametrize("text", [
    "int", "  x", "ClassVar[int]", "typing.ClassVar[int]", " typing . ClassVar", "typing.", "typing. [", ".x", "",
    "   ", "[int]", "a.b.c", "ClassVar", "é_1.ü2[x]", "x1 .y", "x\t.\ty", "1x.2y", "x..y", "Optional['ClassVar']",
    "\x1c\x1fx\x0b.\x0cy", "x.", "x .", "typing.\u00e9", "\u00e9x", "x.\u00e9", "_", "__x__.__y__", "x-y", "x\n.y",
    # the shapes of nearly every annotation (a name, a subscripted name), and their near misses
    "Dict[str, Any]", "Optional[ClassVar[int]]", "x1", "1x[int]", "_x[int]", "int | None", "List [int]",
    "typing.ClassVar[int][x]", "\u00e9[int]", "x\u00b7y[int]", "[", "x[",
])
def test_the_annotation_scanner_matches_dataclasses_regex(text):
    """The first names of a string annotation are read as dataclasses' own regex reads them."""
    match = re.match(r"^(?:\s*(\w+)\s*\.)?\s*(\w+)", text)
    assert _dc._module_ident(text) == (match.groups() if match else None)
