"""Tracing (sans-IO): typed events of every LLM call and tool call, with correlation ids.

    tracer = llm.Tracer()
    with llm.Client("openai/gpt-4o-mini", tracer=tracer) as client:
        reply = client.run("Weather in Paris?", tools=[get_weather])
    tracer.events(correlation_id=reply.correlation_id)   # the call, its tool calls, retries...

A :class:`Tracer` given to a ``Client``, a ``ChatSession`` or a ``Router`` records, per call:

=================  ====================  ===============================================================
event              ``type``              what it carries
=================  ====================  ===============================================================
LLMCallEvent       ``"llm_call"``        model, provider, label, streaming (a call starting)
LLMResponseEvent   ``"llm_response"``    duration, tokens, cost when known, finish reason, attempts
LLMErrorEvent      ``"llm_error"``       the error's type and message, status, duration, attempts
RetryEvent         ``"retry"``           the attempt that failed, the wait before the next one, error
ToolCallEvent      ``"tool_call"``       tool name, call id, arguments, result or error, duration
FailoverEvent      ``"failover"``        the Router entry that failed, the next one, the error
=================  ====================  ===============================================================

The call, response, error and retry events carry ``operation``: ``"chat"`` for model calls,
else ``"embeddings"``, ``"count_tokens"`` (a provider's counting endpoint), ``"list_models"``
or a model-management call (``"pull"``, ``"create"``, ``"show"``, ``"delete"``, ``"copy"``,
``"running_models"``).

Every event has ``time`` (Unix seconds, when it happened), ``correlation_id`` (one per
top-level call: the same through its retries, tool-loop rounds, tool calls and Router
failovers) and ``type``. Keys never appear in events (errors never carry one).

Without a tracer (and without OpenTelemetry) nothing here runs: the client checks one
attribute per call. The in-memory buffer is a ring (``max_events``, oldest dropped first);
``on_event`` is called with each event as it is recorded (a log shipper, a metrics sink), on
the thread that made the call.

The I/O layer talks to :class:`Hooks` (built by :func:`hooks_for` when a client gets a tracer
or OpenTelemetry), which feeds the tracer and, when enabled, ``llmunified._otel``.
"""
from __future__ import annotations
import os
import threading
import time
from collections import deque
from ._dc import asdict, dataclass, field
from typing import Any, Callable, Deque, Dict, List, Optional, Sequence, Tuple, Type, Union

__all__ = ["Tracer", "TraceEvent", "LLMCallEvent", "LLMResponseEvent", "LLMErrorEvent", "RetryEvent",
           "ToolCallEvent", "FailoverEvent", "EVENT_TYPES", "new_correlation_id", "hooks_for", "Hooks",
           "CallTrace", "OpTrace", "check_correlation_id", "Joined", "entry_tracer", "hooks_of",
           "record_failover"]


def new_correlation_id() -> str:
    """A fresh correlation id: 16 random hex digits (64 bits from ``os.urandom``, the source of
    ``uuid4``, which would cost several times more per call)."""
    return os.urandom(8).hex()


def check_correlation_id(value: Any) -> str:
    """A caller-supplied ``correlation_id`` option, checked."""
    if not isinstance(value, str) or not value or len(value) > 200:
        from .errors import ValidationError

        raise ValidationError(f"correlation_id must be a non-empty string of at most 200 characters, got {value!r}")
    return value


# -- events -----------------------------------------------------------------------------------

@dataclass
class TraceEvent:
    """What every trace event has: ``time`` (Unix seconds), ``correlation_id`` and ``type``."""

    time: float
    correlation_id: str
    type: str = field(default="event", init=False)

    def to_dict(self) -> Dict[str, Any]:
        """The event as JSON-ready data (an error result or value is kept as given)."""
        return asdict(self)


@dataclass
class LLMCallEvent(TraceEvent):
    """A model call starting."""

    model: str = ""
    provider: str = ""
    label: Optional[str] = None
    streaming: bool = False
    #: what the call does: ``"chat"`` (complete, stream, each tool-loop round), ``"embeddings"``,
    #: ``"count_tokens"``, ``"list_models"``, or a model-management call (``"pull"``, ``"show"``...)
    operation: str = "chat"
    type: str = field(default="llm_call", init=False)


@dataclass
class LLMResponseEvent(TraceEvent):
    """A model call that returned: ``duration`` in seconds (for a stream, until its end),
    the tokens, ``cost`` (USD or the registry's currency; None when unknown), the finish
    reason and the HTTP ``attempts`` it took."""

    model: str = ""
    provider: str = ""
    label: Optional[str] = None
    streaming: bool = False
    duration: float = 0.0
    response_model: Optional[str] = None
    response_id: Optional[str] = None
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    cost: Optional[float] = None
    currency: Optional[str] = None
    finish_reason: Optional[str] = None
    attempts: int = 1
    operation: str = "chat"
    type: str = field(default="llm_response", init=False)


@dataclass
class LLMErrorEvent(TraceEvent):
    """A model call that failed (after its retries): the error's class name and message, its
    HTTP status when there was one, the duration and the attempts. A stream closed by the
    caller before its end is ``error_type="StreamClosed"``."""

    model: str = ""
    provider: str = ""
    label: Optional[str] = None
    streaming: bool = False
    duration: float = 0.0
    error_type: str = ""
    error: str = ""
    status: Optional[int] = None
    attempts: int = 1
    operation: str = "chat"
    type: str = field(default="llm_error", init=False)


@dataclass
class RetryEvent(TraceEvent):
    """A failed attempt about to be retried: ``attempt`` (1: the first request failed), the
    ``wait`` in seconds before the next one, and the error."""

    model: str = ""
    provider: str = ""
    label: Optional[str] = None
    attempt: int = 1
    wait: float = 0.0
    error_type: str = ""
    error: str = ""
    status: Optional[int] = None
    operation: str = "chat"
    type: str = field(default="retry", init=False)


@dataclass
class ToolCallEvent(TraceEvent):
    """A tool call of the tool loop: its ``arguments`` (as the model sent them), ``result``
    (what the function returned) or ``error`` (what it raised, or why it was not run: unknown
    tool, invalid arguments), and ``duration`` in seconds."""

    name: str = ""
    call_id: str = ""
    arguments: Any = None
    result: Any = None
    error: Optional[str] = None
    duration: float = 0.0
    type: str = field(default="tool_call", init=False)


@dataclass
class FailoverEvent(TraceEvent):
    """A Router moving a call from one entry to the next after ``error``: ``to_label`` is the
    entry it tries next (entries whose breaker is open are skipped, never named), None when no
    entry was left to try."""

    from_label: Optional[str] = None
    to_label: Optional[str] = None
    error_type: str = ""
    error: str = ""
    type: str = field(default="failover", init=False)


EVENT_TYPES: Dict[str, Type[TraceEvent]] = {cls.type: cls for cls in (
    LLMCallEvent, LLMResponseEvent, LLMErrorEvent, RetryEvent, ToolCallEvent, FailoverEvent)}
# (dataclass fields with a default are class attributes: ``LLMCallEvent.type == "llm_call"``)


# -- the tracer -------------------------------------------------------------------------------

class Tracer:
    """Records typed events of LLM calls and tool calls, in memory (a ring of ``max_events``,
    oldest dropped first; 0 keeps none, for ``on_event`` or OpenTelemetry alone).

    :param max_events: how many events are kept (default 10,000).
    :param on_event: called with each event as it is recorded (on the calling thread; an
        exception it raises is logged on the ``llmunified`` logger, never raised into the call).
    :param otel: also emit OpenTelemetry spans (needs ``opentelemetry-api``:
        ``pip install 'llmunified[otel]'``) for the clients this tracer is given to: True (the
        global tracer provider) or a ``TracerProvider`` to use.
    :param capture_content: put the messages, tool arguments and tool results on those spans
        (off by default: they may hold personal data). The in-memory tool events always carry
        arguments and results.

    Safe to share between clients and threads. Query with :meth:`events`; :meth:`clear` empties.
    """

    def __init__(self, max_events: int = 10_000, *, on_event: Optional[Callable[[TraceEvent], Any]] = None,
                 otel: Any = False, capture_content: bool = False) -> None:
        if isinstance(max_events, bool) or not isinstance(max_events, int) or max_events < 0:
            from .errors import ValidationError

            raise ValidationError(f"max_events must be an int >= 0, got {max_events!r}")
        if on_event is not None and not callable(on_event):
            from .errors import ValidationError

            raise ValidationError(f"on_event must be a callable taking an event, got {on_event!r}")
        self.max_events = max_events
        self.on_event = on_event
        self.otel = otel
        self.capture_content = bool(capture_content)
        self._events: Deque[TraceEvent] = deque(maxlen=max_events)
        self._lock = threading.Lock()
        #: events dropped from the ring since the last clear()
        self.dropped = 0

    def __repr__(self) -> str:
        return f"<Tracer {len(self)} events (max {self.max_events})>"

    def __len__(self) -> int:
        return len(self._events)

    def record(self, event: TraceEvent) -> None:
        """Add an event (the library does this; you may add your own :class:`TraceEvent`)."""
        with self._lock:
            if len(self._events) == self.max_events:
                self.dropped += 1
            if self.max_events:
                self._events.append(event)
        if self.on_event is not None:
            try:
                self.on_event(event)
            except Exception as exc:  # a sink's failure must not break the call being traced
                import logging

                logging.getLogger("llmunified").warning("tracer on_event raised %s: %s", type(exc).__name__, exc)

    def events(self, type: Union[None, str, Type[TraceEvent], Sequence[Union[str, Type[TraceEvent]]]] = None,
               correlation_id: Optional[str] = None, since: Optional[float] = None,
               until: Optional[float] = None) -> List[TraceEvent]:
        """The recorded events, oldest first, filtered: ``type`` (a type name such as
        ``"tool_call"``, an event class, or a list of those), ``correlation_id``, and ``time``
        within ``since <= time <= until`` (Unix seconds, as ``time.time()``)."""
        kinds: Optional[Tuple[str, ...]] = None
        if type is not None:
            wanted = type if isinstance(type, (list, tuple, set, frozenset)) else (type,)
            names = []
            for kind in wanted:
                name = kind if isinstance(kind, str) else getattr(kind, "type", None)
                if not isinstance(name, str):
                    from .errors import ValidationError

                    raise ValidationError(f"type must be an event type name ({', '.join(EVENT_TYPES)}) or an event "
                                          f"class, got {kind!r}")
                names.append(name)
            kinds = tuple(names)
        with self._lock:
            snapshot = list(self._events)
        return [e for e in snapshot
                if (kinds is None or e.type in kinds)
                and (correlation_id is None or e.correlation_id == correlation_id)
                and (since is None or e.time >= since)
                and (until is None or e.time <= until)]

    def clear(self) -> None:
        """Forget every recorded event."""
        with self._lock:
            self._events.clear()
            self.dropped = 0

    def to_dicts(self, **query: Any) -> List[Dict[str, Any]]:
        """:meth:`events` (same filters) as JSON-ready dicts."""
        return [e.to_dict() for e in self.events(**query)]


# -- what the I/O layer calls -------------------------------------------------------------------

def _error_fields(error: BaseException) -> Tuple[str, str, Optional[int]]:
    return type(error).__name__, str(error), getattr(error, "status", None)


class Hooks:
    """A client's tracing: its tracer (or None) and its OpenTelemetry emitter (or None). Built
    only when one of them is there; the I/O layer calls it at the points of a call's life."""

    __slots__ = ("tracer", "otel", "label")

    def __init__(self, tracer: Optional[Tracer], otel: Any, label: Optional[str] = None) -> None:
        self.tracer = tracer
        self.otel = otel
        self.label = label

    def call(self, client: Any, correlation_id: str, streaming: bool, messages: Any = None,
             options: Optional[Dict[str, Any]] = None) -> "CallTrace":
        """A model call starting (its events and span until :meth:`CallTrace.done` / ``failed``)."""
        return CallTrace(self, client, correlation_id, streaming, messages, options)

    def operation(self, client: Any, correlation_id: str, operation: str, model: Optional[str] = None,
                  streaming: bool = False) -> "OpTrace":
        """A call other than a chat starting (``operation``: ``"embeddings"``, ``"count_tokens"``,
        ``"list_models"``, ``"pull"``...; ``model``: the model it is about, by default the
        client's)."""
        return OpTrace(self, client, correlation_id, operation, model, streaming)

    def tools(self, correlation_id: str) -> "ToolTrace":
        """The tracing of one round's tool calls (the parent span taken on the calling thread)."""
        return ToolTrace(self, correlation_id)

    def failover(self, correlation_id: str, from_label: Optional[str], to_label: Optional[str],
                 error: BaseException) -> None:
        if self.tracer is not None:
            kind, message, _ = _error_fields(error)
            self.tracer.record(FailoverEvent(time.time(), correlation_id, from_label, to_label, kind, message))
        if self.otel is not None:
            self.otel.failover(from_label, to_label, error)


class CallTrace:
    """One model call being traced (a plain call or a stream, over its retries)."""

    __slots__ = ("hooks", "correlation_id", "model", "provider", "label", "streaming", "started", "span", "ended")

    def __init__(self, hooks: Hooks, client: Any, correlation_id: str, streaming: bool, messages: Any,
                 options: Optional[Dict[str, Any]]) -> None:
        self.hooks = hooks
        self.correlation_id = correlation_id
        self.model = client.model
        self.provider = client.provider
        self.label = getattr(client, "label", None) or hooks.label
        self.streaming = streaming
        self.ended = False
        tracer = hooks.tracer
        self.started = time.perf_counter()
        if tracer is not None:
            tracer.record(LLMCallEvent(time.time(), correlation_id, self.model, self.provider, self.label, streaming))
        self.span = hooks.otel.chat_span(client, correlation_id, streaming, messages, options) \
            if hooks.otel is not None else None

    def retry(self, attempt: int, wait: float, error: BaseException) -> None:
        """Attempt number ``attempt`` failed with ``error``; the next one comes after ``wait`` s."""
        _record_retry(self, attempt, wait, error, "chat")

    def done(self, response: Any) -> None:
        if self.ended:
            return
        self.ended = True
        duration = time.perf_counter() - self.started
        tracer = self.hooks.tracer
        if tracer is not None:
            usage = response.usage
            cost = response.cost
            tracer.record(LLMResponseEvent(
                time.time(), self.correlation_id, self.model, self.provider, self.label, self.streaming, duration,
                response.model, response.id, usage.input_tokens, usage.output_tokens, usage.cache_read_tokens,
                usage.cache_write_tokens, usage.reasoning_tokens, cost.total if cost is not None else None,
                cost.currency if cost is not None else None, response.finish_reason, response.attempts))
        if self.span is not None:
            self.hooks.otel.chat_done(self.span, response)

    def failed(self, error: BaseException, attempts: Optional[int] = None, kind: Optional[str] = None) -> None:
        _record_failure(self, error, kind, attempts if attempts is not None else getattr(error, "attempts", 1),
                        "chat")

    def closed(self, attempts: int) -> None:
        """A stream the caller closed before its end."""
        if not self.ended:
            from .errors import StreamError

            self.failed(StreamError("the stream was closed by the caller before it finished"), attempts,
                        "StreamClosed")


class OpTrace:
    """One call other than a chat being traced (embeddings, a token count, a model listing, a
    model-management call): an ``llm_call`` event, then ``llm_response`` or ``llm_error``, each
    with ``operation``; retries as ``retry`` events; with OpenTelemetry an ``{operation} {model}``
    span (``embeddings {model}`` by the gen_ai conventions)."""

    __slots__ = ("hooks", "correlation_id", "operation", "model", "provider", "label", "streaming", "started",
                 "span", "ended")

    def __init__(self, hooks: Hooks, client: Any, correlation_id: str, operation: str, model: Optional[str],
                 streaming: bool) -> None:
        self.hooks = hooks
        self.correlation_id = correlation_id
        self.operation = operation
        self.provider = client.provider
        self.model = f"{self.provider}/{model}" if model else client.model
        self.label = getattr(client, "label", None) or hooks.label
        self.streaming = streaming
        self.ended = False
        self.started = time.perf_counter()
        if hooks.tracer is not None:
            hooks.tracer.record(LLMCallEvent(time.time(), correlation_id, self.model, self.provider, self.label,
                                             streaming, operation))
        self.span = hooks.otel.operation_span(client, correlation_id, operation, model or client.model_name) \
            if hooks.otel is not None else None

    def retry(self, attempt: int, wait: float, error: BaseException) -> None:
        _record_retry(self, attempt, wait, error, self.operation)

    def done(self, result: Any = None) -> None:
        """It returned ``result`` (Embeddings: its tokens, cost and model are recorded)."""
        if self.ended:
            return
        self.ended = True
        duration = time.perf_counter() - self.started
        tracer = self.hooks.tracer
        if tracer is not None:
            usage = getattr(result, "usage", None)
            tokens = usage.input_tokens if usage is not None else 0
            cost = getattr(result, "cost", None) if usage is not None else None
            model = getattr(result, "model", None)
            tracer.record(LLMResponseEvent(
                time.time(), self.correlation_id, self.model, self.provider, self.label, self.streaming, duration,
                model if isinstance(model, str) and model else None, None, tokens, 0, 0, 0, 0,
                cost.total if cost is not None else None, cost.currency if cost is not None else None, None, 1,
                self.operation))
        if self.span is not None:
            self.hooks.otel.operation_done(self.span, result)

    def failed(self, error: BaseException, kind: Optional[str] = None) -> None:
        """The call failed: its ``llm_error`` event and span; an LLMError gets the call's
        correlation id (the caller re-raises it)."""
        from .errors import LLMError

        if isinstance(error, LLMError):
            error.correlation_id = self.correlation_id
        _record_failure(self, error, kind, _attempts(error), self.operation)


def _record_retry(trace: Any, attempt: int, wait: float, error: BaseException, operation: str) -> None:
    """Attempt ``attempt`` of ``trace``'s call failed with ``error``; the next comes after ``wait``
    seconds: a ``retry`` event and a span event."""
    tracer = trace.hooks.tracer
    if tracer is not None:
        kind, message, status = _error_fields(error)
        tracer.record(RetryEvent(time.time(), trace.correlation_id, trace.model, trace.provider, trace.label, attempt,
                                 wait, kind, message, status, operation))
    if trace.span is not None:
        trace.hooks.otel.retry(trace.span, attempt, wait, error)


def _record_failure(trace: Any, error: BaseException, kind: Optional[str], attempts: int, operation: str) -> None:
    """End ``trace`` (a :class:`CallTrace` or :class:`OpTrace`) with ``error``, once: its
    ``llm_error`` event and its span's error status."""
    if trace.ended:
        return
    trace.ended = True
    duration = time.perf_counter() - trace.started
    tracer = trace.hooks.tracer
    if tracer is not None:
        error_type, message, status = _error_fields(error)
        tracer.record(LLMErrorEvent(time.time(), trace.correlation_id, trace.model, trace.provider, trace.label,
                                    trace.streaming, duration, kind or error_type, message, status, attempts,
                                    operation))
    if trace.span is not None:
        trace.hooks.otel.chat_failed(trace.span, error, kind)


def _attempts(error: BaseException) -> int:
    attempts = getattr(error, "attempts", 1)
    return attempts if isinstance(attempts, int) and not isinstance(attempts, bool) else 1


class ToolTrace:
    """The tool calls of one tool-loop round."""

    __slots__ = ("hooks", "correlation_id", "parent")

    def __init__(self, hooks: Hooks, correlation_id: str) -> None:
        self.hooks = hooks
        self.correlation_id = correlation_id
        # the caller's current span, taken here (on the calling thread): tool calls running on
        # pool threads nest under it all the same
        self.parent = hooks.otel.current_context() if hooks.otel is not None else None

    def start(self, call: Any) -> Any:
        """A tool call starting: (its start time, its span or None)."""
        span = self.hooks.otel.tool_span(call, self.parent, self.correlation_id) if self.hooks.otel is not None \
            else None
        return time.perf_counter(), span

    def end(self, token: Any, call: Any, value: Any, error: Optional[BaseException], refused: Optional[str]) -> None:
        """A tool call ended: its ``value``, or the ``error`` it raised, or ``refused`` (why it was
        not run: unknown tool, invalid arguments)."""
        started, span = token
        duration = time.perf_counter() - started
        message = refused if refused is not None else (
            f"{type(error).__name__}: {error}" if error is not None else None)
        tracer = self.hooks.tracer
        if tracer is not None:
            tracer.record(ToolCallEvent(time.time(), self.correlation_id, call.name, call.id, call.arguments,
                                        value if message is None else None, message, duration))
        if span is not None:
            self.hooks.otel.tool_done(span, value, error, refused)


def record_failover(tracers: Sequence[Tracer], entry: Any, to_label: Optional[str], error: BaseException,
                    correlation_id: Optional[str]) -> None:
    """A Router call leaving ``entry`` after ``error`` for the entry labelled ``to_label`` (the
    one it tries next; None when none was left): a :class:`FailoverEvent` on each of
    ``tracers`` and an ``llmunified.failover`` event on the current OpenTelemetry span (when the
    entry's client has OpenTelemetry on)."""
    hooks = hooks_of(entry.client)
    otel = hooks.otel if hooks is not None else None
    if tracers:
        kind, message, _ = _error_fields(error)
        event = FailoverEvent(time.time(), correlation_id or "", entry.label, to_label, kind, message)
        for tracer in tracers:
            tracer.record(event)
    if otel is not None:
        otel.failover(entry.label, to_label, error)


def hooks_of(client: Any) -> Optional[Hooks]:
    """The tracing hooks of a Client (None when it traces nothing, or for another object)."""
    hooks = getattr(client, "_trace", None)
    return hooks if isinstance(hooks, Hooks) else None


class Joined(Tracer):
    """What a Router gives the view of an entry's client: records each event into several
    tracers (the router's, a ChatSession's, the client's own), each once, and carries the
    OpenTelemetry emitter the view uses (the client's own, else the router tracer's). Keeps
    no events itself."""

    def __init__(self, tracers: Sequence[Tracer], emitter: Any) -> None:
        super().__init__(0)
        self.tracers: Tuple[Tracer, ...] = tuple(tracers)
        self.emitter = emitter

    def record(self, event: TraceEvent) -> None:
        for tracer in self.tracers:
            tracer.record(event)

    def __repr__(self) -> str:
        return f"<Joined tracer of {len(self.tracers)}>"


def entry_tracer(client: Any, tracers: Sequence[Tracer]) -> Optional[Tracer]:
    """The tracer for the view of a Router entry's ``client`` through which ``tracers`` record
    its calls, or None when the client already records into each of them (no view needed: no
    event is recorded twice). The client's own tracer keeps recording, and its OpenTelemetry
    emitter (``otel=`` on the client, or found automatically) stays the one spans go through;
    without one, the router tracer's (``Tracer(otel=...)``), unless the client has ``otel=False``."""
    hooks = hooks_of(client)
    own = hooks.tracer if hooks is not None else None
    owned: Tuple[Tracer, ...] = own.tracers if isinstance(own, Joined) else ((own,) if own is not None else ())
    missing = [t for t in tracers if all(t is not o for o in owned)]
    if not missing:
        return None
    targets: List[Tracer] = []
    for tracer in list(owned) + missing:
        if all(tracer is not t for t in targets):
            targets.append(tracer)
    emitter = hooks.otel if hooks is not None else None
    args = getattr(client, "_args", None)
    off = isinstance(args, dict) and args.get("otel") is False  # Client(otel=False) wins here too
    if emitter is None and not off:
        for tracer in missing:
            found = hooks_for(tracer, None)
            if found is not None and found.otel is not None:
                emitter = found.otel
                break
    return Joined(targets, emitter)


def hooks_for(tracer: Optional[Tracer], otel: Any, label: Optional[str] = None) -> Optional[Hooks]:
    """A client's :class:`Hooks`, or None when it has neither a tracer nor OpenTelemetry.

    ``otel``: True on, False off, a TracerProvider (on, with it), None: what the tracer says
    (``Tracer(otel=...)``), else automatic: on when the application has configured an
    OpenTelemetry SDK tracer provider (found without importing opentelemetry)."""
    if tracer is not None and not isinstance(tracer, Tracer):
        from .errors import ValidationError

        raise ValidationError(f"tracer must be an llm.Tracer, got {type(tracer).__name__}")
    if isinstance(tracer, Joined):
        return Hooks(tracer, tracer.emitter, label)
    setting = otel if otel is not None else (tracer.otel if tracer is not None and tracer.otel is not False else None)
    emitter = None
    if setting is None:
        if _sdk_configured():
            from ._otel import OTel

            emitter = OTel(capture_content=bool(tracer is not None and tracer.capture_content))
    elif setting is not False:
        from ._otel import OTel

        emitter = OTel(capture_content=bool(tracer is not None and tracer.capture_content),
                       provider=None if setting is True else setting)
    if tracer is None and emitter is None:
        return None
    return Hooks(tracer, emitter, label)


def _sdk_configured() -> bool:
    """An application configured an OpenTelemetry SDK tracer provider (found without importing
    opentelemetry: only when the application already did)."""
    import sys

    api = sys.modules.get("opentelemetry.trace")
    if api is None:
        return False
    try:
        provider = api.get_tracer_provider()
    except Exception:  # pragma: no cover - a broken installation: no spans
        return False
    return type(provider).__name__ not in ("ProxyTracerProvider", "NoOpTracerProvider")
