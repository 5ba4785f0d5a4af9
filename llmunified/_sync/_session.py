"""ChatSession: a conversation that keeps its history and fits it to a token budget.

The source of ``llmunified_async/_session.py``; decisions live in ``llmunified._session_core``.
"""
import os
from typing import Any, Iterator, List, Optional, Union

from llmunified._cost import Cost
from llmunified._twin import io
from llmunified._session_core import SessionState
from llmunified._sync._client import Client, RunStream, Stream
from llmunified._types import Message, Response
from llmunified.errors import LLMError

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
    tools) is retried before its first content like :meth:`Client.stream`.

    ``token_counter`` is a counter object or a function ``message -> int``; by default tiktoken
    for OpenAI models when installed, else an estimate calibrated per provider family and
    corrected by the provider's reported input tokens after each reply. Other keyword
    arguments are options for every call (``temperature=...``).
    """

    _max_parallel_tools: Optional[int] = None

    def __init__(self, client: Client, system: Optional[str] = None, tools: Any = None,
                 max_context_tokens: Optional[int] = None, reserve_tokens: Optional[int] = None,
                 token_counter: Any = None, max_parallel_tools: Optional[int] = None, **options: Any) -> None:
        self.client = client
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
        """Send a user turn (text, a Message, a dict or a list of parts); returns the reply."""
        state = self._state
        mark, selection = state.prepare(content)
        try:
            if state.tools:
                response = self.client.run(selection.messages, tools=state.tools,
                                           max_parallel_tools=self.max_parallel_tools,
                                           **_with_cache(self.client, state.call_options(options)))
            else:
                response = self.client.complete(selection.messages, **_with_cache(self.client, state.call_options(options)))
        except BaseException:
            state.abort(mark)
            raise
        state.commit(selection, response)
        return response

    def stream(self, content: Any, **options: Any) -> "SessionStream":
        """Like :meth:`send`, streaming: history is updated when the stream completes; a stream
        that fails or is left early leaves the history as it was."""
        state = self._state
        mark, selection = state.prepare(content)
        if state.tools:
            inner: Union[Stream, RunStream] = self.client.run_stream(selection.messages, tools=state.tools,
                                                                      max_parallel_tools=self.max_parallel_tools,
                                                                      **_with_cache(self.client, state.call_options(options)))
        else:
            inner = self.client.stream(selection.messages, **_with_cache(self.client, state.call_options(options)))
        return SessionStream(state, inner, mark, selection)

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
        return self._state.history.estimated

    @property
    def cost(self) -> Optional[Cost]:
        """What the session's replies cost so far, summed over every billed call (tool-loop
        rounds included): a :class:`~llmunified.Cost`, or None before the first reply or when
        any price is unknown. Counted for this object's lifetime (a loaded session starts at
        None; a fork starts with its parent's)."""
        return self._state.cost

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
        return twin

    # -- files ---------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """The session as JSON-ready data (format ``llmunified.chat``, version 1)."""
        return self._state.to_dict(self.client.model)

    @classmethod
    def from_dict(cls, data: Any, client: Client, *, tools: Any = None, token_counter: Any = None,
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
    def load(cls, path: Union[str, "os.PathLike[str]"], client: Client, *, tools: Any = None,
             token_counter: Any = None, **options: Any) -> "ChatSession":
        """Read a session saved by :meth:`save` (SessionFileError / SessionVersionError when the
        file is corrupt or from a newer version; the file is left untouched)."""
        from llmunified._serialize import load_session

        return cls._restore(load_session(path), client, tools, token_counter, options)

    @classmethod
    def _restore(cls, data: Any, client: Client, tools: Any, token_counter: Any, options: Any) -> "ChatSession":
        session = cls.__new__(cls)
        session.client = client
        if options.get("max_parallel_tools") is not None:
            from llmunified._toolloop import check_parallel_tools

            session._max_parallel_tools = check_parallel_tools(options.pop("max_parallel_tools"))
        options.pop("max_parallel_tools", None)
        session._state = SessionState.from_data(data, client.provider, client.model_name, tools, token_counter,
                                                options)
        return session


def _with_cache(client: Any, options: Any) -> Any:
    """A send's options with the session's ``cache=True`` default, unless ``cache`` is set there
    or among the client's defaults."""
    if "cache" not in options and "cache" not in (getattr(getattr(client, "_endpoint", None), "defaults", None) or {}):
        options["cache"] = True
    return options


class SessionStream:
    """A streaming ``ChatSession`` turn: a context manager and an iterator of events."""

    def __init__(self, state: SessionState, inner: Any, mark: Any, selection: Any) -> None:
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
        """Close the connection; an unfinished turn leaves the history as it was."""
        self._inner.close()
        self._finish(None)

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
        except StopIteration:
            self._finish(self._inner.response)
            raise
        except BaseException:
            self._finish(None)
            raise

    @property
    def response(self) -> Response:
        """The reply, once the stream is complete (it is then in the session's history)."""
        if self._response is None:
            raise LLMError("the stream is not finished: iterate it to the end first")
        return self._response
