"""Provider codecs: one sans-IO module per wire protocol, named after it, owning every fact
about the providers it serves.

A codec module defines its :class:`~llmunified.providers._base.Codec` subclass and declares
``PROVIDERS = [ProviderInfo(...), ...]``; :func:`provider_table` finds every public module of this
package on first use and collects them. Adding a provider is adding a module (see the README's
development section); nothing central is edited.
"""
from __future__ import annotations
import importlib
import os
from typing import Dict, List, Optional

from .._registry import ProviderConfig, ProviderInfo
from ._base import Codec

__all__ = ["codec_for", "provider_table", "lookup", "codec_modules"]

_table: Optional[Dict[str, ProviderInfo]] = None


def codec_modules() -> List[str]:
    """The names of the codec modules in this package (public ``.py`` files), sorted."""
    names = set()
    for folder in __path__:
        for entry in os.listdir(folder):
            stem, ext = os.path.splitext(entry)
            if ext in (".py", ".pyc") and not stem.startswith("_") and stem.isidentifier():
                names.add(stem)
    return sorted(names)


def lookup(name: str) -> Optional[ProviderInfo]:
    """The entry for one provider name, importing as little as possible: a provider named after
    its codec module (``openai``, ``anthropic``, ``ollama``...) needs only that module; any other
    name builds the whole table."""
    if _table is None and name in codec_modules():
        for info in _declared(importlib.import_module(f"{__name__}.{name}")):
            if info.name == name:
                return info
    return provider_table().get(name)


def _declared(module: object) -> List[ProviderInfo]:
    entries = list(getattr(module, "PROVIDERS", ()))
    for info in entries:
        if not isinstance(info, ProviderInfo) or not (isinstance(info.codec, type) and issubclass(info.codec, Codec)):
            raise TypeError(f"{getattr(module, '__name__', module)}.PROVIDERS holds {info!r}: expected ProviderInfo "
                            "entries naming a Codec subclass")
    return entries


def provider_table() -> Dict[str, ProviderInfo]:
    """Every provider declared by a codec module, by name (built once)."""
    global _table
    if _table is None:
        table: Dict[str, ProviderInfo] = {}
        for name in codec_modules():
            module = importlib.import_module(f"{__name__}.{name}")
            for info in _declared(module):
                if info.name in table:
                    raise TypeError(f"provider {info.name!r} is declared twice ({module.__name__})")
                table[info.name] = info
        _table = table
    return _table


def codec_for(config: ProviderConfig, model: str) -> Codec:
    """The codec instance for a resolved provider configuration and a bare model name (the
    entry's codec class decides, through :meth:`Codec.for_model`)."""
    codec: Codec = config.info.codec.for_model(config, model)
    return codec
