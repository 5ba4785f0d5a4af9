"""The sans-IO half of a Client: every decision about one exchange with a provider.

Both twins' ``Client`` hold one :class:`Endpoint` and ask it, and only it, what to send and what
the bytes that came back mean: :meth:`Endpoint.chat` builds a :class:`Call`; :meth:`parse`,
:meth:`decoder` and :meth:`error` read replies, streams and failures; :meth:`validate`
checks structured output. The I/O layer moves bytes and waits, nothing else.
"""
from typing import Any, Dict, Mapping, Optional

from ._http import HTTPRequest
from ._options import MessagesInput, make_options, to_messages
from ._registry import KeySource, resolve_config, setting_names, split_model
from ._types import Response
from .errors import APIError
from .providers import codec_for
from .providers._base import Codec, StreamDecoderBase

__all__ = ["Endpoint", "Call"]


class Call:
    """One prepared call: the request, its read timeout and its structured-output spec."""

    __slots__ = ("request", "timeout", "spec")

    def __init__(self, request: HTTPRequest, timeout: Optional[float], spec: Any) -> None:
        self.request = request
        self.timeout = timeout
        self.spec = spec

    def __repr__(self) -> str:
        return f"Call({self.request!r}, timeout={self.timeout})"


class Endpoint:
    """A resolved ``provider/model`` with its codec (bound to the model) and the caller's
    default options."""

    __slots__ = ("model", "provider", "model_name", "config", "codec", "defaults", "_default_options")

    def __init__(self, model: str, *, api_key: Optional[KeySource] = None, base_url: Optional[str] = None,
                 headers: Optional[Mapping[str, str]] = None, defaults: Optional[Mapping[str, Any]] = None,
                 environ: Optional[Mapping[str, str]] = None) -> None:
        info, name = split_model(model)
        self.model = model
        self.provider = info.name
        self.model_name = name
        self.defaults: Dict[str, Any] = dict(defaults or {})
        # The provider's own settings (Vertex's project, Azure's api_version) travel with the
        # default options; they are taken out here.
        settings = {k: self.defaults.pop(k) for k in setting_names(info) if k in self.defaults}
        self.config = resolve_config(info, api_key=api_key, base_url=base_url, headers=headers, environ=environ,
                                     settings=settings)
        self.codec: Codec = codec_for(self.config, name)
        # Validated once, here: a bad default fails at construction, and a call without options
        # of its own reuses the result (nothing downstream mutates an Options).
        self._default_options = make_options(self.defaults, {})

    @property
    def base_url(self) -> str:
        return self.config.base_url

    # -- requests ------------------------------------------------------------------------------
    def chat(self, messages: MessagesInput, options: Mapping[str, Any], stream: bool) -> Call:
        """The call for a chat completion (``options`` over the client's defaults)."""
        opts = make_options(self.defaults, options) if options else self._default_options
        request = self.codec.chat_request(to_messages(messages), opts, stream)
        return Call(request, opts.timeout, opts.response_format)

    # -- replies -------------------------------------------------------------------------------
    def parse(self, body: bytes, headers: Mapping[str, str]) -> Response:
        """The Response for a 2xx non-streaming reply (typed errors for a malformed one)."""
        return self.codec.parse_chat(body, headers)

    def decoder(self, headers: Mapping[str, str]) -> StreamDecoderBase:
        """A fresh stream decoder for a 2xx streaming reply."""
        return self.codec.stream_decoder(headers)

    def error(self, status: int, headers: Mapping[str, str], body: bytes) -> APIError:
        """The typed error for a non-2xx reply (the retry policy reads it)."""
        return self.codec.api_error(status, headers, body)

    def validate(self, call: Call, response: Response) -> Response:
        """With structured output requested, set ``response.parsed`` or raise
        StructuredOutputError; otherwise the response unchanged."""
        if call.spec is not None:
            job = self.extraction(call.spec)
            if not job.check(response):
                raise job.error()
        return response

    # -- jobs that span calls ------------------------------------------------------------------
    def extraction(self, target: Any, retries: int = 0) -> Any:
        """A structured-output job (:class:`~llmunified._structured.Extraction`) for ``target``."""
        from ._structured import Extraction  # jsonschema loads only when structured output is used

        return Extraction(self.codec, target, retries)

    def tool_loop(self, tools: Any, max_rounds: int) -> Any:
        """A tool-loop state (:class:`~llmunified._toolloop.ToolLoop`); ``tools`` defaults to the
        client's ``tools`` option."""
        from ._toolloop import ToolLoop

        return ToolLoop(tools if tools is not None else self.defaults.get("tools") or (), max_rounds)

    def __repr__(self) -> str:
        return f"Endpoint({self.model!r}, base_url={self.config.base_url!r})"
