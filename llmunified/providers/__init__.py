"""Provider codecs: one sans-IO module per wire protocol, named after it, owning every fact
about the providers it serves.

A codec module defines its :class:`~llmunified.providers._base.Codec` subclass and declares
``PROVIDERS = [ProviderInfo(...), ...]``; :func:`provider_table` finds every public module of this
package on first use and collects them. Adding a provider is adding a module (see the README's
development section); nothing central is edited.
"""
import importlib
import pkgutil
from typing import Dict, Optional

from .._registry import ProviderConfig, ProviderInfo
from ._base import Codec

__all__ = ["codec_for", "provider_table"]

_table: Optional[Dict[str, ProviderInfo]] = None


def provider_table() -> Dict[str, ProviderInfo]:
    """Every provider declared by a codec module, by name (built once)."""
    global _table
    if _table is None:
        table: Dict[str, ProviderInfo] = {}
        for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
            if module_info.name.startswith("_"):
                continue
            module = importlib.import_module(f"{__name__}.{module_info.name}")
            for info in getattr(module, "PROVIDERS", ()):
                if not isinstance(info, ProviderInfo) or not (isinstance(info.codec, type)
                                                              and issubclass(info.codec, Codec)):
                    raise TypeError(f"{module.__name__}.PROVIDERS holds {info!r}: expected ProviderInfo "
                                    "entries naming a Codec subclass")
                if info.name in table:
                    raise TypeError(f"provider {info.name!r} is declared twice ({module.__name__})")
                table[info.name] = info
        _table = table
    return _table


def codec_for(config: ProviderConfig, model: str) -> Codec:
    """The codec instance for a resolved provider configuration and a bare model name."""
    return config.info.codec(config, model)
