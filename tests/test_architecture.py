"""The layering rules, checked: they are what keeps the tree readable in a minute.

- ``llmunified/_*.py`` (the root modules), ``errors.py`` and ``providers/`` are the sans-IO core:
  no I/O library, no socket, no sleeping, nothing from ``_sync/`` or ``_backends/``.
- ``_backends/`` (the hand-written transports) is a leaf: it knows nothing of providers.
- ``llmunified_async`` never imports ``requests``.
- Provider facts live in the provider's codec module: no core module compares a provider's
  name with a string.
- The two ``TYPE_CHECKING`` import blocks list exactly the lazily exported names.
"""
import ast
import os
import subprocess
import sys
from typing import Iterator, List, Set, Tuple

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def read(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read()

PKG = os.path.join(ROOT, "llmunified")

IO_LIBRARIES = {"requests", "aiohttp", "urllib3", "socket", "http", "asyncio", "ssl", "selectors"}
# Modules at the package root that are not part of the sans-IO core: the front door, the CLI and
# the lazy namespace (they import the I/O layer on purpose).
NOT_CORE = {"__init__.py", "__main__.py", "cli.py", "_lazy.py"}


def core_files() -> List[str]:
    files = [os.path.join(PKG, f) for f in sorted(os.listdir(PKG))
             if f.endswith(".py") and f not in NOT_CORE]
    files += [os.path.join(PKG, "providers", f) for f in sorted(os.listdir(os.path.join(PKG, "providers")))
              if f.endswith(".py")]
    return files


def imports(path: str) -> Iterator[Tuple[int, str]]:
    """(line, absolute module name) of every import in a file, lazy ones inside functions too."""
    tree = ast.parse(read(path), path)
    rel = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
    package = rel.rsplit(".", 1)[0] if not rel.endswith("__init__") else rel[: -len(".__init__")]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            yield node.lineno, name
            for alias in node.names:  # "from . import x" imports the submodule x
                if not node.module:
                    yield node.lineno, name + "." + alias.name


def short(path: str) -> str:
    return os.path.relpath(path, ROOT)


@pytest.mark.parametrize("path", core_files(), ids=short)
def test_the_core_does_no_io(path):
    bad = []
    for line, name in imports(path):
        top = name.split(".")[0]
        if top in IO_LIBRARIES or name.startswith(("llmunified._sync", "llmunified._backends", "llmunified_async")):
            bad.append(f"{short(path)}:{line} imports {name}")
    source = read(path)
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "sleep" and isinstance(node.value, ast.Name) \
                and node.value.id == "time":
            bad.append(f"{short(path)}:{node.lineno} calls time.sleep")
    assert bad == [], "the sans-IO core must not do I/O:\n" + "\n".join(bad)


@pytest.mark.parametrize("name", sorted(f for f in os.listdir(os.path.join(PKG, "_backends")) if f.endswith(".py")))
def test_transports_know_nothing_of_providers(name):
    path = os.path.join(PKG, "_backends", name)
    allowed = ("llmunified._http", "llmunified._twin", "llmunified.errors", "llmunified._version",
               "llmunified._backends")
    bad = [f"{short(path)}:{line} imports {mod}" for line, mod in imports(path)
           if mod.startswith("llmunified") and not mod.startswith(allowed)]
    assert bad == []


def test_the_sync_backend_is_the_only_requests_user_and_the_async_one_the_only_aiohttp_user():
    users = {"requests": set(), "aiohttp": set()}  # type: dict
    for folder, _, files in os.walk(PKG):
        for f in files:
            if f.endswith(".py"):
                path = os.path.join(folder, f)
                for _, mod in imports(path):
                    top = mod.split(".")[0]
                    if top in users:
                        users[top].add(short(path))
    assert users == {"requests": {os.path.join("llmunified", "_backends", "sync.py")},
                     "aiohttp": {os.path.join("llmunified", "_backends", "asyncio.py")}}


def test_the_async_twin_never_imports_requests():
    code = ("import sys, asyncio, llmunified_async as llm\n"
            "async def main():\n"
            "    async with llm.Client('openai/m', api_key='k', base_url='http://127.0.0.1:9/v1') as c:\n"
            "        llm.ChatSession(c); llm.complete; llm.HTTPTransport; llm.errors; llm.testing\n"
            "asyncio.run(main())\n"
            "print(sorted(m for m in sys.modules if m == 'requests' or m.startswith('requests.')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"


def _compares_a_provider_name(node: ast.Compare, names: Set[str]) -> bool:
    def is_name(n: ast.AST) -> bool:
        return isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value in names

    def is_tuple_of_names(n: ast.AST) -> bool:
        return isinstance(n, (ast.Tuple, ast.List, ast.Set)) and any(is_name(e) for e in n.elts)

    def subject(n: ast.AST) -> bool:
        label = n.id if isinstance(n, ast.Name) else (n.attr if isinstance(n, ast.Attribute) else "")
        return label in ("provider", "name", "codec", "prov", "protocol")

    parts = [node.left] + list(node.comparators)
    return any(subject(p) for p in parts) and any(is_name(p) or is_tuple_of_names(p) for p in parts)


def test_no_core_module_branches_on_a_provider_name():
    from llmunified._registry import PROVIDERS

    names = set(PROVIDERS)
    bad = []
    for path in core_files() + [os.path.join(PKG, "_sync", f) for f in os.listdir(os.path.join(PKG, "_sync"))
                                if f.endswith(".py")]:
        if os.path.dirname(path).endswith("providers") and not path.endswith("_base.py"):
            continue  # a codec may name its own providers
        for node in ast.walk(ast.parse(read(path))):
            if isinstance(node, ast.Compare) and _compares_a_provider_name(node, names):
                bad.append(f"{short(path)}:{node.lineno}")
    assert bad == [], "provider facts belong on the provider's entry or codec: " + ", ".join(bad)


def test_every_codec_module_declares_its_providers():
    import importlib
    import pkgutil

    import llmunified.providers as providers
    from llmunified._registry import PROVIDERS
    from llmunified.providers._base import Codec

    declared = []
    for info in pkgutil.iter_modules(providers.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"llmunified.providers.{info.name}")
        entries = getattr(module, "PROVIDERS", None)
        assert entries, f"llmunified/providers/{info.name}.py declares no PROVIDERS"
        for entry in entries:
            assert issubclass(entry.codec, Codec) and entry.codec.__module__ == module.__name__
            declared.append(entry.name)
    assert sorted(declared) == sorted(PROVIDERS)


def _type_checking_names(path: str) -> Set[str]:
    tree = ast.parse(read(path))
    names: Set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for stmt in node.body:
                if isinstance(stmt, ast.ImportFrom):
                    names.update(a.asname or a.name for a in stmt.names)
    return names


@pytest.mark.parametrize("path", ["llmunified/__init__.py", "llmunified/_sync/__init__.py"])
def test_type_checking_imports_match_the_lazy_exports(path):
    from llmunified._lazy import CORE_EXPORTS, IO_EXPORTS

    expected = set(CORE_EXPORTS) | set(IO_EXPORTS) | {"errors", "testing"}
    assert _type_checking_names(os.path.join(ROOT, path)) == expected


@pytest.mark.parametrize("name", sorted(f for f in os.listdir(os.path.join(PKG, "_sync")) if f.endswith(".py")))
def test_the_io_layer_never_reaches_into_another_classs_private_members(name):
    # Client, Stream, RunStream and ChatSession talk through public methods (and what a client
    # hands a stream at construction); only the sans-IO Endpoint knows the codec. A class may
    # touch its own private attributes on another instance of itself (fork, restore).
    path = os.path.join(PKG, "_sync", name)
    bad = []
    for cls in ast.walk(ast.parse(read(path))):
        if not isinstance(cls, ast.ClassDef):
            continue
        own = {node.attr for node in ast.walk(cls) if isinstance(node, ast.Attribute)
               and isinstance(node.value, ast.Name) and node.value.id == "self" and node.attr.startswith("_")}
        own |= {n.name for n in cls.body if isinstance(n, ast.FunctionDef)}
        for node in ast.walk(cls):
            if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
                owner = node.value
                if not (isinstance(owner, ast.Name) and owner.id in ("self", "cls")) and node.attr not in own:
                    bad.append(f"{short(path)}:{node.lineno} {cls.name} reads .{node.attr}")
    assert bad == []
