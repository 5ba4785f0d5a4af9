"""The sans-IO half of a Client: every decision about one exchange with a provider.

Both twins' ``Client`` hold one :class:`Endpoint` and ask it, and only it, what to send and what
the bytes that came back mean: :meth:`Endpoint.chat` builds a :class:`Call`; :meth:`parse`,
:meth:`decoder` and :meth:`error` read replies, streams and failures; :meth:`validate`
checks structured output. The I/O layer moves bytes and waits, nothing else.

Every call is checked against the model's capabilities (``llmunified._capabilities``) before
its request is built: resolved once, on the client's first call (the registry loads then, not
at construction); the client's default options are checked once and their :class:`Plan` kept,
so a call without options of its own pays nothing more.
"""
from __future__ import annotations
import logging
from json.encoder import encode_basestring
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

from ._http import HTTPRequest
from ._options import MessagesInput, make_options, to_messages
from ._registry import KeySource, resolve_config, setting_names, split_model
from ._types import ModelInfo, Response
from .errors import APIError, ConfigurationError, ValidationError
from .providers import codec_for
from .providers._base import Codec, StreamDecoderBase

__all__ = ["Endpoint", "Call"]

_log = logging.getLogger("llmunified")


class Call:
    """One prepared call: the request, its read timeout and its structured-output spec."""

    __slots__ = ("request", "timeout", "spec")

    def __init__(self, request: HTTPRequest, timeout: Optional[float], spec: Any) -> None:
        self.request = request
        self.timeout = timeout
        self.spec = spec

    def __repr__(self) -> str:
        return f"Call({self.request!r}, timeout={self.timeout})"


# A prompt no caller sends (private-use code points around a fixed tag): where a bare prompt's
# JSON string goes in the request built for it.
_PROMPT_MARK = "\ue000llmunified-prompt-5c1f\ue001"
_PROMPT_MARK_JSON = encode_basestring(_PROMPT_MARK).encode()


class _PromptCall:
    """The call of a bare prompt string with the client's default options, as the bytes around
    the prompt's JSON string: what :meth:`Endpoint.chat` makes for ``complete("...")`` on every
    call, built once. The body is exactly what encoding the whole request writes (the string
    encoder is the one the body encoder uses); it is kept only after the full build of a real
    prompt gave the very same request."""

    __slots__ = ("head", "tail", "method", "url", "headers", "stream", "timeout", "spec")

    def __init__(self, template: Call) -> None:
        request = template.request
        self.head, self.tail = (request.body or b"").split(_PROMPT_MARK_JSON)
        self.method, self.url, self.headers, self.stream = request.method, request.url, request.headers, request.stream
        self.timeout, self.spec = template.timeout, template.spec

    def call(self, prompt: str) -> Optional[Call]:
        try:
            text = encode_basestring(prompt).encode()
        except UnicodeEncodeError:  # a lone surrogate: the full build says what is wrong
            return None
        # a fresh headers dict each time: a transport may add to the one it is given
        return Call(HTTPRequest(self.method, self.url, dict(self.headers), b"".join((self.head, text, self.tail)),
                                self.stream), self.timeout, self.spec)


def _same(a: Call, b: Call) -> bool:
    ra, rb = a.request, b.request
    return (ra.method, ra.url, ra.headers, ra.body, ra.stream, a.timeout) == (
        rb.method, rb.url, rb.headers, rb.body, rb.stream, b.timeout) and a.spec is b.spec


class Endpoint:
    """A resolved ``provider/model`` with its codec (bound to the model) and the caller's
    default options."""

    __slots__ = ("model", "provider", "model_name", "config", "codec", "defaults", "_default_options", "base_model",
                 "_profile", "_overrides", "_caps", "_steps", "_reshapes", "_plan", "_prompt_calls")

    #: build the call of a bare prompt from a template (tests turn it off to compare both ways)
    prompt_fast_path = True

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
        # The registry entry behind a deployment whose name says nothing (Azure): model_info()
        self.base_model: Optional[str] = self.defaults.pop("base_model", None)
        if self.base_model is not None and (not isinstance(self.base_model, str) or not self.base_model):
            raise ValidationError(f"base_model must be a model name such as 'gpt-4o', got {self.base_model!r}")
        # Capability profile and overrides (llmunified._capabilities), checked here: bad input
        # fails at construction; the registry is read on the first call.
        profile = self.defaults.pop("profile", None)
        overrides = self.defaults.pop("capabilities", None)
        self._profile: Optional[Dict[str, Any]] = None
        self._overrides: Optional[Dict[str, Any]] = None
        if profile is not None or overrides is not None:
            from ._capabilities import check_flags, check_profile

            self._profile = check_profile(profile)
            self._overrides = check_flags(overrides)
        self.config = resolve_config(info, api_key=api_key, base_url=base_url, headers=headers, environ=environ,
                                     settings=settings)
        self.codec: Codec = codec_for(self.config, name)
        # Validated once, here: a bad default fails at construction, and a call without options
        # of its own reuses the result (nothing downstream mutates an Options).
        self._default_options = make_options(self.defaults, {})
        self._caps: Any = None  # the resolved Capabilities, on the first call
        self._steps: Tuple[Any, ...] = ()  # their conversation transforms
        self._reshapes: List[Any] = [None, None]  # those transforms, without and with drop_unsupported
        self._plan: Any = None  # the default options' checked Plan
        # per stream flag: the _PromptCall of a bare prompt, False where there is none (a
        # credential that changes, a request that is not the prompt's JSON string in a fixed
        # frame), None until the first bare prompt
        self._prompt_calls: List[Union[_PromptCall, bool, None]] = [None, None]

    @property
    def base_url(self) -> str:
        return self.config.base_url

    def model_info(self) -> Any:
        """The registry's :class:`~llmunified.ModelFacts` for this model (or its ``base_model``)."""
        from ._models import model_info

        return model_info(self.model, base_model=self.base_model)

    def capabilities(self) -> Any:
        """The model's resolved :class:`~llmunified._capabilities.Capabilities` (provider
        defaults, the registry, ``profile=``, ``capabilities=``), worked out on first use."""
        caps = self._caps
        return caps if caps is not None else self._resolve()

    def _resolve(self) -> Any:
        from ._dccache import loading

        with loading:  # the first call loads the registry: its dataclasses' methods from the cache
            from ._capabilities import conversation_steps, resolve

        try:
            facts = self.model_info()
        except ConfigurationError as exc:
            # A broken LLMUNIFIED_MODELS file must not block calls: said once, then the bundled
            # registry (which the failed load left usable) answers.
            _log.warning("%s", exc)
            try:
                facts = self.model_info()
            except ConfigurationError:
                facts = None
        caps = resolve(self.model, self.codec, facts, self._profile, self._overrides)
        self.codec.use_capabilities(caps)
        self._steps = conversation_steps(caps, self.codec)
        self._caps = caps
        return caps

    def plan(self, options: Mapping[str, Any]) -> Any:
        """The checked :class:`~llmunified._capabilities.Plan` of a call's ``options`` (over the
        client's defaults): UnsupportedParameterError for what the model cannot take."""
        opts = make_options(self.defaults, options) if options else self._default_options
        caps = self._caps if self._caps is not None else self._resolve()
        plan = (_prepare or _load_prepare())(caps, self.codec, opts, self._steps, self._reshapes)
        if not options:
            self._plan = plan
        return plan

    # -- requests ------------------------------------------------------------------------------
    def chat(self, messages: MessagesInput, options: Mapping[str, Any], stream: bool) -> Call:
        """The call for a chat completion (``options`` over the client's defaults), checked
        against the model's capabilities and its conversation reshaped by them."""
        if options:
            return self.planned_chat(messages, self.plan(options), stream)
        bare = messages.__class__ is str and messages and not messages.isspace()  # (an empty turn may be left out)
        if bare:
            fast = self._prompt_calls[stream]
            if fast:
                call = fast.call(messages)  # type: ignore[union-attr,arg-type]
                if call is not None:
                    return call
        plan = self._plan or self.plan(options)
        call = self.planned_chat(messages, plan, stream)
        if bare and self._prompt_calls[stream] is None:
            self._learn_prompt(messages, plan, stream, call)  # type: ignore[arg-type]
        return call

    def _learn_prompt(self, prompt: str, plan: Any, stream: bool, built: Call) -> None:
        """Keep the template of a bare prompt's call, if the request is one (``built``: the call
        just built in full for ``prompt``, which the template must give back exactly)."""
        fast: Union[_PromptCall, bool] = False
        key = self.config.api_key
        if self.prompt_fast_path and (key is None or not key.is_callable):
            template = self.planned_chat(_PROMPT_MARK, plan, stream)
            body = template.request.body
            if (body.__class__ is bytes and body.count(_PROMPT_MARK_JSON) == 1
                    and _PROMPT_MARK not in template.request.url
                    and not any(_PROMPT_MARK in v for v in template.request.headers.values())):
                candidate = _PromptCall(template)
                again = candidate.call(prompt)
                if again is not None and _same(again, built):
                    fast = candidate
        self._prompt_calls[stream] = fast

    def planned_chat(self, messages: MessagesInput, plan: Any, stream: bool) -> Call:
        """:meth:`chat` with its options already checked (a :class:`Plan` from :meth:`plan`): many
        calls with the same options (a batch's requests) check them once."""
        msgs = to_messages(messages)
        if plan.reshape is not None:
            msgs = plan.reshape(msgs)
        opts = plan.options
        request = self.codec.chat_request(msgs, opts, stream)
        return Call(request, opts.timeout, opts.response_format)

    def models_request(self, page_token: Optional[str] = None) -> HTTPRequest:
        """The request for one page of the provider's model list (the first when ``page_token``
        is None); ConfigurationError for a provider without a listing."""
        return self.codec.models_request(page_token)

    def token_count(self, messages: MessagesInput, tools: Any, options: Mapping[str, Any]) -> Any:
        """``Client.count_tokens``: the :class:`Call` asking the provider's token-counting endpoint,
        or, for a provider without one, the local :class:`~llmunified.TokenCount` (never exact).
        The messages and options (over the client's defaults, ``tools`` included) are checked and
        reshaped as for a chat call, and the request is built from the chat request, so tools,
        system prompts and images count as they would be sent. ``cache`` is left out: it changes
        what is billed, not what is counted."""
        opts = {k: v for k, v in options.items() if k != "cache"}
        if tools is not None:
            opts["tools"] = tools
        plan = self.plan(opts) if opts else (self._plan or self.plan(opts))
        msgs = to_messages(messages)
        if plan.reshape is not None:
            msgs = plan.reshape(msgs)
        request = self.codec.count_tokens_request(msgs, plan.options)
        if request is None:
            from ._tokens import local_count

            return local_count(self.provider, self.model_name, msgs, plan.options.tools or (), self.model)
        return Call(request, plan.options.timeout, None)

    def parse_token_count(self, body: bytes, headers: Mapping[str, str]) -> Any:
        """The exact :class:`~llmunified.TokenCount` of a 2xx token-counting reply."""
        from ._types import TokenCount

        tokens, raw = self.codec.parse_token_count(body, headers)
        return TokenCount(tokens, True, "provider", self.model, raw)

    def embedding(self, inputs: Any, options: Mapping[str, Any]) -> Any:
        """An :class:`~llmunified._embed.EmbedJob` for ``Client.embed(inputs, **options)``:
        inputs and options checked (ValidationError, before any request), batches planned. The
        client's default options are chat options and do not apply."""
        from ._embed import EmbedJob

        return EmbedJob(self.codec, inputs, options)

    def admin(self) -> Any:
        """The sans-IO half of model management (:class:`~llmunified._admin.ModelAdmin`:
        ``Client.pull``, ``show``, ``delete_model`` ...; UnsupportedOperationError where the
        provider has none)."""
        from ._admin import ModelAdmin

        return ModelAdmin(self.codec)

    # -- replies -------------------------------------------------------------------------------
    def parse_models(self, body: bytes, headers: Mapping[str, str]) -> Tuple[List[ModelInfo], Optional[str]]:
        """(the models of one 2xx listing page, the next page's token or None)."""
        return self.codec.parse_models(body, headers)

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

        if self._caps is None:
            self._resolve()  # the codec's structured-output mechanism follows the capabilities
        return Extraction(self.codec, target, retries)

    def tool_loop(self, tools: Any, max_rounds: int) -> Any:
        """A tool-loop state (:class:`~llmunified._toolloop.ToolLoop`); ``tools`` defaults to the
        client's ``tools`` option."""
        from ._toolloop import ToolLoop

        return ToolLoop(tools if tools is not None else self.defaults.get("tools") or (), max_rounds)

    def __repr__(self) -> str:
        return f"Endpoint({self.model!r}, base_url={self.config.base_url!r})"


_prepare: Any = None


def _load_prepare() -> Any:
    # loaded with the first call, not at import (an import statement in plan() would cost more
    # per call than the check itself)
    global _prepare
    from ._capabilities import prepare

    _prepare = prepare
    return prepare
