"""Dataclass methods compiled once per interpreter instead of once per process.

A dataclass's ``__init__``, ``__repr__``, ``__eq__`` (and, when frozen, ``__setattr__``,
``__delattr__``, ``__hash__``) are generated source, compiled every time the defining module is
imported. For llmunified's ~60 dataclasses that compilation was about a third of what
``import llmunified; llmunified.Client(...)`` cost on Python 3.9-3.12 (~18 ms of ~55 ms on a slow
machine).

While :data:`loading` is active, :func:`code_for` (what :mod:`llmunified._dc` compiles the methods it
writes with) takes a code object kept in a cache file, keyed by the generated source itself, so the
class gets exactly what compiling the source would have given it. The classes the real
:mod:`dataclasses` makes (those ``_dc`` hands over) use it too when that module is loaded already:
the ``exec`` it calls (a module-level name it looks up in its own globals before the builtins) is
:func:`_exec` here for llmunified's own classes, while any other package's dataclasses go straight
to the builtin. The cache file sits with the package's ``.pyc`` files and follows their rules:
``__pycache__`` (or ``sys.pycache_prefix``), one file per interpreter version, nothing written under
``PYTHONDONTWRITEBYTECODE`` / ``-B``, written atomically, and a missing, unreadable, foreign or
corrupt file only means compiling as usual (it is then rewritten). The cached code objects are
dropped when the outermost ``with loading:`` ends; only the methods stay, as always.
"""
from __future__ import annotations
import builtins
import marshal
import os
import sys
import threading
from typing import Any, Dict, Optional, Set

__all__ = ["loading", "cache_path", "code_for"]

_OURS = ("llmunified.", "llmunified_async.")
_lock = threading.Lock()
_depth = 0
_installed = False
_codes: Optional[Dict[str, Any]] = None  # source -> code object, read on first use while loading
_dirty = False
_used: Set[str] = set()  # the sources asked for in this scope: what a cache grown too large keeps
_FORMAT = 2  # 2: compiled without inheriting this module's __future__ flags (1 gave string annotations)
_LIMIT = 1000  # entries (llmunified has ~150): past it, stale sources from edited classes are dropped
stats = {"compiled": 0, "cached": 0, "written": 0}  # for tests and the benchmark


def cache_path() -> str:
    """Where this interpreter's cache lives (like a ``.pyc``: ``__pycache__`` or ``sys.pycache_prefix``)."""
    from importlib.util import cache_from_source

    pyc = cache_from_source(os.path.join(os.path.dirname(os.path.abspath(__file__)), "_dataclass_methods.py"))
    return pyc[:-len(".pyc")] + ".marshal" if pyc.endswith(".pyc") else pyc + ".marshal"


def _header() -> Any:
    from importlib.util import MAGIC_NUMBER

    return MAGIC_NUMBER, sys.version, _FORMAT


def _read() -> Dict[str, Any]:
    try:
        with open(cache_path(), "rb") as f:
            header, codes = marshal.loads(f.read())
        if header == _header() and isinstance(codes, dict):
            return codes
    except Exception:  # missing, unreadable, truncated, another format: compile as usual  # noqa: BLE001
        pass
    return {}


def _write(codes: Dict[str, Any]) -> None:
    if sys.dont_write_bytecode:
        return
    path = cache_path()
    tmp = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(marshal.dumps((_header(), codes)))
        os.replace(tmp, path)
        stats["written"] += 1
    except (OSError, ValueError):  # a read-only install: compiling each time is the price
        try:
            os.unlink(tmp)
        except OSError:
            pass


def code_for(source: str) -> Any:
    """The compiled ``source`` (methods :mod:`llmunified._dc` writes): from the cache file while
    :data:`loading` is active, else compiled here."""
    global _dirty, _codes
    if not _depth:
        stats["compiled"] += 1
        return compile(source, "<string>", "exec", dont_inherit=True)
    with _lock:
        return _cached(source)


def _exec(source: Any, globals: Any = None, locals: Any = None) -> None:  # noqa: A002 - exec's own names
    name = globals.get("__name__", "") if isinstance(globals, dict) else ""
    if not _installed or not isinstance(source, str) or not name.startswith(_OURS):
        return builtins.exec(source, globals, locals)
    return builtins.exec(_cached(source), globals, locals)


def _cached(source: str) -> Any:
    global _dirty, _codes
    codes = _codes
    if codes is None:  # read on the first class actually made, not on every lookup of a lazy name
        codes = _codes = _read()
    _used.add(source)
    code = codes.get(source)
    if code is None:
        code = codes[source] = compile(source, "<string>", "exec", dont_inherit=True)
        _dirty = True
        stats["compiled"] += 1
    else:
        stats["cached"] += 1
    return code


class _Loading:
    """Use the cache for the dataclasses llmunified's modules define while this is active
    (reentrant, thread-safe; a no-op when something else already replaced ``dataclasses.exec``)."""

    __slots__ = ()

    def __enter__(self) -> None:
        global _depth, _installed, _codes, _dirty
        with _lock:
            _depth += 1
            if _depth == 1:
                _codes = None
                _dirty = False
                # a class the real dataclasses makes (one _dc hands over, or any other) uses the
                # cache too, when that module is loaded already: it is not imported for this
                dataclasses = sys.modules.get("dataclasses")
                if dataclasses is not None and "exec" not in vars(dataclasses):
                    dataclasses.exec = _exec  # type: ignore[attr-defined]
                    _installed = True

    def __exit__(self, *exc: Any) -> None:
        global _depth, _installed, _codes
        with _lock:
            _depth -= 1
            if _depth == 0:
                if _installed:
                    del sys.modules["dataclasses"].exec
                    _installed = False
                codes, _codes = _codes, None
                if _dirty and codes is not None:
                    _write(codes if len(codes) <= _LIMIT else {k: v for k, v in codes.items() if k in _used})
                _used.clear()


#: ``with loading: import ...``
loading = _Loading()
