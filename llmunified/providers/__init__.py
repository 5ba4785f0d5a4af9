"""Provider codecs: one module per wire protocol, named after it. Imported on first use."""
import importlib
from typing import Dict

from .._registry import ProviderConfig
from ._base import Codec

__all__ = ["codec_for"]

_CLASSES = {"openai": "OpenAICodec", "anthropic": "AnthropicCodec", "ollama": "OllamaCodec"}
_cache: Dict[str, type] = {}


def codec_for(config: ProviderConfig) -> Codec:
    """The codec instance for a resolved provider configuration."""
    name = config.info.codec
    cls = _cache.get(name)
    if cls is None:
        module = importlib.import_module(f"{__name__}.{name}")
        cls = _cache[name] = getattr(module, _CLASSES[name])
    return cls(config)
