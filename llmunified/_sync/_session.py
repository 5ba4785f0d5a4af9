"""ChatSession: a conversation that keeps its history and fits it to a token budget.

The source of ``llmunified_async/_session.py``; decisions live in ``llmunified._session_core``.
"""
import os
from typing import Any, Iterator, List, Optional, Union

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
    reserve_tokens``: the oldest turns go first (a tool call and its results go together; the
    newest user message never goes), and what was left out stays in ``dropped``. A newest turn
    that cannot fit raises ``ContextBudgetExceededError`` before any network call.

    ``token_counter`` is a counter object or a function ``message -> int``; by default tiktoken
    for OpenAI models when installed, else an estimate calibrated per provider family and
    corrected by the provider's reported input tokens after each reply. Other keyword
    arguments are options for every call (``temperature=...``).
    """

    def __init__(self, client: Client, system: Optional[str] = None, tools: Any = None,
                 max_context_tokens: Optional[int] = None, reserve_tokens: int = 1024,
                 token_counter: Any = None, **options: Any) -> None:
        self.client = client
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
                response = self.client.run(selection.messages, tools=state.tools, **state.call_options(options))
            else:
                response = self.client.complete(selection.messages, **state.call_options(options))
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
                                                                      **state.call_options(options))
        else:
            inner = self.client.stream(selection.messages, **state.call_options(options))
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
    def token_count(self) -> int:
        """Tokens of the kept history (an estimate unless the counter is exact)."""
        return self._state.history.token_count

    @property
    def token_count_estimated(self) -> bool:
        return self._state.history.estimated

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
        session._state = SessionState.from_data(data, client.provider, client.model_name, tools, token_counter,
                                                options)
        return session


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
