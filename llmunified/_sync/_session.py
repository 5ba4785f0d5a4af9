"""ChatSession: a conversation that keeps its history and fits it to a token budget.

The source of ``llmunified_async/_session.py``; decisions live in ``llmunified._session_core``.
"""
from __future__ import annotations
import os
from typing import TYPE_CHECKING, Any, Iterator, List, Mapping, Optional, Union, cast

from llmunified._cost import Cost
from llmunified._twin import io
from llmunified._session_core import SessionState
from llmunified._sync._client import Client
from llmunified._sync._stream import RunStream, Stream
from llmunified._types import Message, Response
from llmunified._usage import UsageCounter
from llmunified.errors import LLMError, ToolLoopCancelledError, ToolSubmissionError, ValidationError

if TYPE_CHECKING:  # pragma: no cover
    from llmunified._sync._router import Router, RouterStream
    from llmunified._totals import UsageTotals
    from llmunified._trace import Tracer

__all__ = ["ChatSession", "SessionStream"]


class ChatSession:
    """A conversation with one Client: ``send`` appends the user turn and the reply.

    ``system`` is always kept. With ``tools``, every send runs the tool loop and keeps every
    tool turn. With ``max_context_tokens``, the history sent fits ``max_context_tokens -
    reserve_tokens`` (``reserve_tokens``, room kept for the reply, is by default 1024 or a
    quarter of a smaller ``max_context_tokens``; a value given must be below it): the oldest
    turns go first (a tool call and its results go together; the newest user message never
    goes), and what was left out stays in ``dropped``. A newest turn that cannot fit raises
    ``ContextBudgetExceededError`` before any network call.

    Prompt caching is on by default: every send passes ``cache=True`` (unless the send, the
    session's options or the client's defaults set ``cache``), so on providers with explicit
    cache breakpoints (Anthropic, Claude on Vertex AI) the breakpoint follows the latest turn
    and each turn reads the conversation so far from the cache; elsewhere it sends nothing.
    Pass ``cache=False`` to the session (or a send) to turn it off.

    ``max_parallel_tools`` bounds how many tool calls of one round run at once (see
    :meth:`Client.run`; default: the client's). Each streamed turn (and each round of one with
    tools) is retried before its first content like :meth:`Client.stream`. ``approve=`` and
    ``caller_tools=`` (for the session, or one send) steer the tool loop as in
    :meth:`Client.run`: :meth:`submit_tool_results` answers a reply's ``pending_tool_calls``;
    a streamed turn has the loop's ``submit``, ``inject`` and ``cancel`` (a cancelled turn keeps
    its completed rounds).

    ``token_counter`` is a counter object or a function ``message -> int``; by default tiktoken
    for OpenAI models when installed, else an estimate calibrated per provider family and
    corrected by the provider's reported input tokens after each reply. ``"provider"`` uses the
    provider's token-counting endpoint (Anthropic, Gemini, Vertex AI; elsewhere the default
    counter): before each turn one request counts the conversation, and each message keeps the
    figure it was given, so an unchanged history is not counted again (a stream counts when it
    is entered). Other keyword arguments are options for every call (``temperature=...``).

    ``tracer``: an :class:`~llmunified.Tracer` recording this session's calls (instead of the
    client's own tracer, for them); :meth:`usage_totals` counts the session's calls.
    """

    _max_parallel_tools: Optional[int] = None
    #: the client as the session calls it: a view of it traced by the session's tracer, if any
    _via: Any = None
    _usage: Optional[UsageCounter] = None

    def __init__(self, client: Union[Client, "Router"], system: Optional[str] = None, tools: Any = None,
                 max_context_tokens: Optional[int] = None, reserve_tokens: Optional[int] = None,
                 token_counter: Any = None, max_parallel_tools: Optional[int] = None, tracer: Optional["Tracer"] = None,
                 **options: Any) -> None:
        self.client = client
        if tracer is not None:
            self._via = _traced(client, tracer)
        if max_parallel_tools is not None:
            from llmunified._toolloop import check_parallel_tools

            self._max_parallel_tools = check_parallel_tools(max_parallel_tools)
        self._state = SessionState(client.provider, client.model_name, system, tools, max_context_tokens,
                                   reserve_tokens, token_counter, options)

    def __repr__(self) -> str:
        return f"<ChatSession {self.client.model!r} {len(self.messages)} messages, {self.token_count} tokens>"

    # -- conversation --------------------------------------------------------------------------
    @io
    def send(self, content: Any, **options: Any) -> Response:
        """Send a user turn (text, a Message, a dict or a list of parts); returns the reply.

        With tools, ``approve=`` and ``caller_tools=`` (given here or to the session) work as for
        :meth:`Client.run`: a reply with ``pending_tool_calls`` is kept in the history as far as
        it goes, and :meth:`submit_tool_results` answers those calls and continues."""
        self._state.check_no_pending()
        mark, selection = self._state.prepare(_count_turn(self.client, self._state, content))
        return self._exchange(mark, selection, options)

    @io
    def submit_tool_results(self, results: Mapping[str, Any], **options: Any) -> Response:
        """Answer the ``pending_tool_calls`` of the last reply (``caller_tools=``): ``{call_id:
        result}`` for every one of them (an exception as a result sends an error result), and
        continue the tool loop; returns the reply, like :meth:`send`. A wrong, missing or
        unknown id raises :class:`~llmunified.errors.ToolSubmissionError` and changes nothing."""
        mark, selection = self._state.prepare_results(results)
        return self._exchange(mark, selection, options)

    @io
    def _exchange(self, mark: Any, selection: Any, options: Any) -> Response:
        state = self._state
        caller = self._via or self.client
        try:
            if state.tools:
                response = caller.run(selection.messages, tools=state.tools,
                                      max_parallel_tools=self.max_parallel_tools,
                                      **_with_cache(self.client, state.call_options(options)))
            else:
                response = caller.complete(selection.messages,
                                           **_with_cache(self.client, _plain(state.call_options(options))))
        except BaseException as exc:
            state.abort(mark)
            _count_failure(self._counter(), exc)
            raise
        state.commit(selection, response)
        _count(self._counter(), response)
        return response

    def stream(self, content: Any, **options: Any) -> "SessionStream":
        """Like :meth:`send`, streaming: history is updated when the stream completes; a stream
        that fails or is left early leaves the history as it was."""
        state = self._state
        state.check_no_pending()
        if state.needs_provider_count(content):  # token_counter="provider": counted on entering
            return cast(SessionStream, _CountingStream(self, state, content, options))
        mark, selection = state.prepare(content)
        caller = self._via or self.client
        if state.tools:
            inner: Union[Stream, RunStream, "RouterStream"] = caller.run_stream(
                selection.messages, tools=state.tools, max_parallel_tools=self.max_parallel_tools,
                **_with_cache(self.client, state.call_options(options)))
        else:
            inner = caller.stream(selection.messages, **_with_cache(self.client, _plain(state.call_options(options))))
        return SessionStream(state, inner, mark, selection, self._counter())

    # -- state ---------------------------------------------------------------------------------
    @property
    def system(self) -> Optional[str]:
        return self._state.system

    @property
    def messages(self) -> List[Message]:
        """The conversation kept (system message first, when there is one)."""
        return list(self._state.history.messages)

    @property
    def dropped(self) -> List[Message]:
        """Messages truncation left out, oldest first (nothing is lost)."""
        return list(self._state.history.dropped)

    @property
    def max_parallel_tools(self) -> Optional[int]:
        """How many tool calls of one round run at once (None: the client's setting)."""
        return self._max_parallel_tools

    @property
    def token_count(self) -> int:
        """Tokens of the kept history (an estimate unless the counter is exact)."""
        return self._state.history.token_count

    @property
    def token_count_estimated(self) -> bool:
        """Whether :attr:`token_count` is an estimate (with ``token_counter="provider"``: until the
        provider has counted every message, as it does before each turn)."""
        history = self._state.history
        history.token_count  # every message counted first: the answer is about all of them
        return history.estimated

    @property
    def cost(self) -> Optional[Cost]:
        """What the session's replies cost so far, summed over every billed call (tool-loop
        rounds included): a :class:`~llmunified.Cost`, or None before the first reply or when
        any price is unknown. Counted for this object's lifetime (a loaded session starts at
        None; a fork starts with its parent's)."""
        return self._state.cost

    @property
    def tracer(self) -> Optional["Tracer"]:
        """The tracer of this session's calls (its own ``tracer=``, else the client's), or None."""
        via = self._via
        return via.tracer if via is not None else getattr(self.client, "tracer", None)

    def usage_totals(self, reset: bool = False) -> "UsageTotals":
        """What this session's exchanges consumed (a :class:`~llmunified.UsageTotals`): each
        model call of its sends and streams (every tool-loop round), failed ones included, for
        this object's lifetime (a fork starts from zero). The client's own totals count the
        same calls too. ``reset=True`` returns them and starts again from zero."""
        return self._counter().totals(reset)

    def _counter(self) -> UsageCounter:
        counter = self._usage
        if counter is None:
            counter = self._usage = UsageCounter()
        return counter

    def pin(self, message: Union[int, Message]) -> None:
        """Never drop this message (an index into ``messages`` or the message itself)."""
        self._state.history.pin(message)

    def unpin(self, message: Union[int, Message]) -> None:
        self._state.history.unpin(message)

    def clear(self) -> None:
        """Forget the conversation (the system prompt stays)."""
        self._state.history.clear(keep_system=True)

    def fork(self) -> "ChatSession":
        """A copy to branch the conversation; the two evolve independently (same client)."""
        twin = ChatSession.__new__(ChatSession)
        twin.client = self.client
        twin._state = self._state.fork()
        twin._max_parallel_tools = self._max_parallel_tools
        twin._via = self._via
        return twin

    # -- files ---------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """The session as JSON-ready data (format ``llmunified.chat``, version 1)."""
        return self._state.to_dict(self.client.model)

    @classmethod
    def from_dict(cls, data: Any, client: Union[Client, "Router"], *, tools: Any = None, token_counter: Any = None,
                  **options: Any) -> "ChatSession":
        """Rebuild a session from :meth:`to_dict` data (tools, which are code, are given again)."""
        from llmunified._serialize import session_from_dict

        return cls._restore(session_from_dict(data), client, tools, token_counter, options)

    def save(self, path: Union[str, "os.PathLike[str]"]) -> None:
        """Write the session to ``path`` atomically. A file there that is not a session this
        library can read (corrupt, newer) is never overwritten: SessionFileError instead."""
        from llmunified._serialize import save_atomic

        save_atomic(path, self.to_dict())

    @classmethod
    def load(cls, path: Union[str, "os.PathLike[str]"], client: Union[Client, "Router"], *, tools: Any = None,
             token_counter: Any = None, **options: Any) -> "ChatSession":
        """Read a session saved by :meth:`save` (SessionFileError / SessionVersionError when the
        file is corrupt or from a newer version; the file is left untouched)."""
        from llmunified._serialize import load_session

        return cls._restore(load_session(path), client, tools, token_counter, options)

    @classmethod
    def _restore(cls, data: Any, client: Union[Client, "Router"], tools: Any, token_counter: Any,
                 options: Any) -> "ChatSession":
        session = cls.__new__(cls)
        session.client = client
        if options.get("max_parallel_tools") is not None:
            from llmunified._toolloop import check_parallel_tools

            session._max_parallel_tools = check_parallel_tools(options.pop("max_parallel_tools"))
        options.pop("max_parallel_tools", None)
        tracer = options.pop("tracer", None)
        if tracer is not None:
            session._via = _traced(client, tracer)
        session._state = SessionState.from_data(data, client.provider, client.model_name, tools, token_counter,
                                                options)
        return session


class _CountingStream:
    """``ChatSession.stream`` with ``token_counter="provider"``: the provider counts what the turn
    adds when the stream is entered (or first iterated), an I/O step ``stream()`` cannot take;
    entering it gives the turn's :class:`SessionStream` itself."""

    def __init__(self, session: ChatSession, state: SessionState, content: Any, options: Any) -> None:
        self._session = session
        self._state = state
        self._content = content
        self._options = options
        self._stream: Optional[SessionStream] = None

    @io
    def _start_counted(self) -> "SessionStream":
        stream = self._stream
        if stream is None:
            message = _count_turn(self._session.client, self._state, self._content)
            stream = self._stream = self._session.stream(message, **self._options)
        return stream

    def __enter__(self) -> "SessionStream":
        return self._start_counted()

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    @io
    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()

    def __iter__(self) -> "_CountingStream":
        return self

    def __next__(self) -> Any:
        stream = self._start_counted()
        return stream.__next__()

    def __getattr__(self, name: str) -> Any:
        stream = self.__dict__.get("_stream")
        if stream is None:
            raise AttributeError(f"{name!r}: enter the stream first (with chat.stream(...) as s: ...)")
        return getattr(stream, name)


@io
def _count_turn(client: Any, state: SessionState, content: Any) -> Any:
    """With ``token_counter="provider"``: the provider counts what this turn adds before the
    budget is applied (one request per turn, none when nothing is new; see
    ``llmunified._tokens.ProviderCounter``). Returns the turn to prepare."""
    message, plan = state.provider_plan(content)
    if plan is None:
        return message
    if getattr(client, "count_tokens", None) is None:
        raise ValidationError(f"token_counter='provider' needs a client with count_tokens(); "
                              f"{type(client).__name__} has none")
    results = []
    for messages, tools in plan.requests:
        results.append(client.count_tokens(messages, tools=tools or []))
    state.provider_counted(plan, results)
    return message


def _traced(client: Any, tracer: Any) -> Any:
    """The session's way to call ``client``: a view of it (same pool, defaults and usage totals)
    whose calls ``tracer`` records."""
    with_tracer = getattr(client, "_with_tracer", None)
    if with_tracer is None:
        raise ValidationError(f"ChatSession(tracer=...) needs a Client; give the tracer to the {type(client).__name__} "
                              "itself")
    return with_tracer(tracer)


def _count(counter: UsageCounter, response: Response) -> None:
    """A finished exchange in the session's totals: each billed call (tool-loop rounds) once."""
    from llmunified._cost import billed_parts

    counter.add_parts(billed_parts(response), response.attempts)


def _count_failure(counter: UsageCounter, error: BaseException) -> None:
    """A failed exchange: what it billed (a tool loop's rounds, a broken stream's partial reply)
    and one failed call. A send never started (bad input, an interrupt) counts nothing."""
    if not isinstance(error, LLMError) or isinstance(error, ValidationError):
        return
    if error.billed:
        counter.add_parts(error.billed, failed=True)
    else:
        counter.failed(error)


def _with_cache(client: Any, options: Any) -> Any:
    """A send's options with the session's ``cache=True`` default, unless ``cache`` is set there
    or among the client's defaults."""
    if "cache" not in options and "cache" not in (getattr(getattr(client, "_endpoint", None), "defaults", None) or {}):
        options["cache"] = True
    return options


def _plain(options: Any) -> Any:
    """A send's options for a session without tools: the tool loop's own options dropped."""
    options.pop("approve", None)
    options.pop("caller_tools", None)
    return options


class SessionStream:
    """A streaming ``ChatSession`` turn: a context manager and an iterator of events."""

    def __init__(self, state: SessionState, inner: Any, mark: Any, selection: Any,
                 usage: Optional[UsageCounter] = None) -> None:
        self._usage = usage  # the session's usage totals
        self._state = state
        self._inner = inner
        self._mark = mark
        self._selection = selection
        self._done = False
        self._response: Optional[Response] = None

    def __enter__(self) -> "SessionStream":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    @io
    def close(self) -> None:
        """Close the connection; an unfinished turn leaves the history as it was (a tool loop's
        whole rounds are kept, as :meth:`cancel` does)."""
        self._inner.close()
        self._stopped()

    @io
    def cancel(self) -> None:
        """Stop the turn now (the connection closes at once). With tools, the rounds completed
        so far (each tool call with its result) stay in the session's history, the rest is on
        :attr:`messages`; without tools, the history is as it was."""
        self._inner.close()
        self._stopped()

    def _stopped(self) -> None:
        inner = self._inner
        if self._done or not isinstance(inner, RunStream) or not inner.cancelled:
            self._finish(None)
            return
        self._done = True
        try:
            inner.response
        except ToolLoopCancelledError as exc:  # what it carries: the rounds billed so far
            self._state.keep_partial(self._mark, inner.completed_messages, exc.billed)
            if self._usage is not None:
                self._usage.add_parts(exc.billed)

    def _run(self, what: str) -> Any:
        if not isinstance(self._inner, RunStream):
            raise ValidationError(f"{what} needs a session with tools (ChatSession(client, tools=[...]))")
        return self._inner

    # -- steering a turn with tools (see RunStream) ------------------------------------------------
    def submit(self, call_id: str, result: Any = None, *, error: Any = None) -> None:
        """Answer a pending caller-run tool call (see :meth:`RunStream.submit`)."""
        self._run("submit()").submit(call_id, result, error=error)

    def submit_all(self, results: Mapping[str, Any]) -> None:
        """Answer several pending caller-run tool calls (see :meth:`RunStream.submit_all`)."""
        self._run("submit_all()").submit_all(results)

    def inject(self, message: Any) -> None:
        """Queue a message for the next round of the turn's tool loop (see :meth:`RunStream.inject`)."""
        self._run("inject()").inject(message)

    @property
    def pending(self) -> List[Any]:
        """The caller-run tool calls waiting for :meth:`submit` (empty without)."""
        return self._inner.pending if isinstance(self._inner, RunStream) else []

    @property
    def messages(self) -> List[Message]:
        """What this turn added so far (with tools: every round's messages)."""
        if isinstance(self._inner, RunStream):
            return self._inner.messages
        partial = self._inner.partial_response
        return [partial.message] if partial is not None else []

    def _finish(self, response: Optional[Response]) -> None:
        if self._done:
            return
        self._done = True
        state = self._state
        if response is None:
            state.abort(self._mark)
        else:
            state.commit(self._selection, response)
            self._response = response

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        try:
            return self._inner.__next__()
        except ToolSubmissionError:
            raise  # iterating before submitting: the turn goes on once the calls are answered
        except StopIteration:
            if isinstance(self._inner, RunStream) and self._inner.cancelled:
                self._stopped()
                raise
            first, response = not self._done, self._inner.response
            self._finish(response)
            if first and self._usage is not None:
                _count(self._usage, response)
            raise
        except BaseException as exc:
            first = not self._done
            self._finish(None)
            if first and self._usage is not None:
                _count_failure(self._usage, exc)
            raise

    @property
    def response(self) -> Response:
        """The reply, once the stream is complete (it is then in the session's history)."""
        if self._response is None:
            raise LLMError("the stream is not finished: iterate it to the end first")
        return self._response
