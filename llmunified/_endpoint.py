"""The sans-IO half of a Client: resolve the model, validate options, build requests.

Both twins' ``Client`` hold one ``Endpoint`` and only move bytes.
"""
from typing import Any, Dict, Mapping, Optional, Tuple

from ._options import Options, make_options, to_messages
from ._registry import resolve_config, split_model
from .providers import codec_for
from .providers._base import Codec, HTTPRequest

__all__ = ["Endpoint"]


class Endpoint:
    """A resolved ``provider/model`` with its codec and the caller's default options."""

    __slots__ = ("model", "provider", "model_name", "config", "codec", "defaults")

    def __init__(self, model: str, *, api_key: Optional[str] = None, base_url: Optional[str] = None,
                 headers: Optional[Mapping[str, str]] = None, defaults: Optional[Mapping[str, Any]] = None,
                 environ: Optional[Mapping[str, str]] = None) -> None:
        info, name = split_model(model)
        self.model = model
        self.provider = info.name
        self.model_name = name
        self.config = resolve_config(info, api_key=api_key, base_url=base_url, headers=headers, environ=environ)
        self.codec: Codec = codec_for(self.config)
        self.defaults: Dict[str, Any] = dict(defaults or {})
        make_options(self.defaults, {})  # fail at construction on a bad default, not at the first call

    @property
    def base_url(self) -> str:
        return self.config.base_url

    def chat(self, messages: Any, options: Mapping[str, Any], stream: bool) -> Tuple[HTTPRequest, Options]:
        """The HTTP request for a chat call, and the merged options (for ``timeout``)."""
        opts = make_options(self.defaults, options)
        return self.codec.chat_request(self.model_name, to_messages(messages), opts, stream), opts

    def __repr__(self) -> str:
        return f"Endpoint({self.model!r}, base_url={self.config.base_url!r})"
