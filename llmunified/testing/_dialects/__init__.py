"""The emulator's dialects: one module per provider wire format, and their registry.

A dialect (:class:`Dialect`, defined in ``_base.py``) owns everything about one provider:
its routes, contract checks, headers, error shapes and how a scripted ``Reply`` is rendered.
The HTTP server only routes a request to a dialect (:func:`resolve`) and writes what the
dialect answers.

:data:`DIALECTS` is the default registry, in priority order: when several dialects route the
same request, the first one whose :meth:`Dialect.claims` accepts the headers wins, else the
first in the list. The first dialect (OpenAI) is also the fallback for unknown paths and for
``url_for`` names no dialect knows. ``Emulator(dialects=[...])`` replaces the registry for one
emulator (e.g. ``[*DIALECTS, MyDialect()]`` in a test).
"""
from typing import Dict, List, Mapping, Sequence, Tuple

from .._contract import Violation
from ._base import Answer, Dialect, Route
from .anthropic import Anthropic
from .azure import Azure
from .cohere import Cohere
from .gemini import Gemini
from .ollama import Ollama
from .openai import OpenAI
from .vertex import Vertex

DIALECTS: List[Dialect] = [
    OpenAI(),
    Anthropic(),
    Ollama(),
    Gemini(),
    Vertex(),
    Cohere(),
    Azure(),
]

NOT_EMULATED = ("bedrock",)
"""Real providers with no dialect yet: ``url_for`` refuses them rather than answering with the
OpenAI fallback. A dialect's name or alias takes precedence over this list."""


def resolve(dialects: Sequence[Dialect], method: str, path: str,
            headers: Mapping[str, str]) -> Tuple[Dialect, str, Dict[str, str]]:
    """``(dialect, endpoint, path params)`` for a request; endpoint ``unknown`` means 404."""
    path = path.rstrip("/") or "/"
    matches = []
    for dialect in dialects:
        for route in dialect.routes:
            params = route.match(method, path)
            if params is not None:
                matches.append((dialect, route.endpoint, params))
                break
    for match in matches:
        if match[0].claims(headers):
            return match
    if matches:
        return matches[0]
    for dialect in dialects:
        if dialect.owns_path(path):
            return dialect, "unknown", {}
    for dialect in dialects:
        if dialect.claims(headers):
            return dialect, "unknown", {}
    return dialects[0], "unknown", {}


__all__ = ["Answer", "Dialect", "Route", "Violation", "DIALECTS", "NOT_EMULATED", "resolve",
           "OpenAI", "Anthropic", "Ollama", "Gemini", "Vertex", "Cohere", "Azure"]
