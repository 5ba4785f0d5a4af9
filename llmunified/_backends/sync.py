"""The blocking transport, on a pooled ``requests.Session``. Knows nothing of providers.

Its hand-written twin, ``asyncio.py``, has the same methods as coroutines. Both map library
exceptions to ``llmunified.errors`` and never put request headers (API keys) in messages.
"""
from __future__ import annotations
import builtins
import logging
import socket
import time
import types
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, TypeVar

import requests
import requests.adapters
import urllib3.exceptions

from .._http import USER_AGENT, HTTPRequest, TransportResponse
from .._twin import io
from ..errors import ConfigurationError, ConnectionError, TimeoutError, ValidationError
from .base import (EnvironmentSettings, StreamingResponse, Transport, causes, connect_failure,
                   connect_timeout_message, is_transport, log, log_exchange, read_failure, read_timeout_message,
                   response_headers, shown_url, stream_timeout_message, tls_files_error)

__all__ = ["RequestsTransport", "HTTPTransport", "Transport", "as_transport", "call_function", "run_all",
           "run_blocking", "WorkerPool"]


#: what a read that ran out of time raises, somewhere in the chain of requests' wrappers (not
#: urllib3's TimeoutError: its NewConnectionError, a refused connection, derives from it)
_TIMEOUTS = (requests.exceptions.Timeout, urllib3.exceptions.ReadTimeoutError, socket.timeout, builtins.TimeoutError)


def _timed_out(exc: BaseException) -> bool:
    return any(isinstance(e, _TIMEOUTS) for e in causes(exc))


def _chunks(raw: Any) -> Iterator[bytes]:
    # Chunked bodies (what streaming APIs send): one item per HTTP chunk as it arrives, from
    # urllib3's own iterator (no generator of ours in between: one resume less per read).
    if raw.chunked and raw.supports_chunked_reads():
        return raw.read_chunked(None, decode_content=True)
    return _available(raw)


def _available(raw: Any) -> Iterator[bytes]:
    # Anything else: whatever bytes are available, without waiting for a full buffer.
    read1 = getattr(raw, "read1", None)
    while True:
        data = read1(65536) if read1 is not None else raw.read(8192, decode_content=True)
        if not data:
            return
        yield data


class RequestsTransport:
    """One ``requests.Session`` (connection pool) per Client; safe to share between threads.

    Pass ``session=`` to use your own configured ``requests.Session`` (proxies, client
    certificates, a custom CA bundle in ``session.verify``, mounted adapters): it is used as it
    is, and closing the transport leaves it open (it is yours).

    Without one, the environment's proxy and CA-bundle settings (``HTTPS_PROXY``, ``NO_PROXY``,
    ``REQUESTS_CA_BUNDLE``, ...) are read once, when the transport is made, rather than by
    requests on every call (see :class:`~llmunified._backends.base.EnvironmentSettings`);
    ``~/.netrc`` is not read (the provider's key is the credential).
    """

    def __init__(self, *, connect_timeout: float = 5.0, read_timeout: float = 600.0, pool_size: int = 64,
                 session: Optional[requests.Session] = None) -> None:
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.pool_size = pool_size
        self._owns_session = session is None
        self._env: Optional[EnvironmentSettings] = None
        if session is None:
            session = requests.Session()
            adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            session.headers["User-Agent"] = USER_AGENT
            session.trust_env = False  # the environment is read once, below
            self._env = EnvironmentSettings()
            session.verify = self._env.verify
        self._session = session

    def __repr__(self) -> str:
        return f"RequestsTransport(connect_timeout={self.connect_timeout}, read_timeout={self.read_timeout})"

    @io
    def send_request(self, request: HTTPRequest, timeout: Optional[float] = None) -> TransportResponse:
        """Send; for a streaming request the body is left unread on the returned handle."""
        started = time.perf_counter()
        proxies = None
        if self._env is not None:
            proxy = self._env.proxy_for(request.url)
            if proxy is not None:
                proxies = {request.url.partition(":")[0]: proxy}
        read_timeout = timeout or self.read_timeout
        try:
            resp = self._session.request(
                request.method, request.url, data=request.body, headers=request.headers,
                stream=request.stream, timeout=(self.connect_timeout, read_timeout),
                allow_redirects=False, proxies=proxies)
            body = None if request.stream else resp.content
        except requests.exceptions.ConnectTimeout:
            raise TimeoutError(connect_timeout_message(request.method, request.url, self.connect_timeout)) from None
        except requests.exceptions.RequestException as exc:
            if _timed_out(exc):  # ReadTimeout, or a body read that stalled (requests wraps it)
                raise TimeoutError(read_timeout_message(request.method, request.url, read_timeout)) from None
            raise ConnectionError(f"{request.method} {shown_url(request.url)} failed: "
                                  f"{connect_failure(exc, request.url)}") from None
        except OSError as exc:
            # requests checks the local TLS files before connecting and raises a plain OSError
            # ("Could not find a suitable TLS CA certificate bundle, invalid path: ...")
            if not str(exc).startswith("Could not find"):
                raise
            raise tls_files_error(f"{request.method} {shown_url(request.url)} was not sent: {exc}") from None
        if log.isEnabledFor(logging.DEBUG):
            log_exchange(request, resp.status_code, started)
        if request.stream:
            return StreamingResponse(resp.status_code, response_headers(resp.headers), None, resp, read_timeout)
        return TransportResponse(resp.status_code, response_headers(resp.headers), body, resp)

    @io
    def read_chunk(self, response: TransportResponse) -> bytes:
        """The next piece of a streaming body as it arrives; ``b""`` at its end."""
        it = response.chunks
        if it is None:
            it = response.chunks = _chunks(response.handle.raw)
        try:
            data = next(it, b"")
        except Exception as exc:  # urllib3 protocol/read errors, socket timeouts
            if _timed_out(exc) or "timed out" in str(exc).lower():
                raise TimeoutError(stream_timeout_message(getattr(response, "read_timeout", None))) from None
            raise ConnectionError(read_failure(exc)) from None
        if not data:
            response.eof = True
        return data

    @io
    def read_body(self, response: TransportResponse) -> bytes:
        """The whole (rest of the) body of a streaming response, then release it."""
        try:
            if response.body is None:
                response.body = response.handle.content
            return response.body
        except Exception as exc:
            if _timed_out(exc):
                raise TimeoutError(stream_timeout_message(getattr(response, "read_timeout", None),
                                                          "the reply's body")) from None
            raise ConnectionError(read_failure(exc, "the reply's body")) from None
        finally:
            response.handle.close()

    @io
    def close_response(self, response: TransportResponse) -> None:
        """Release a streaming response; an unfinished body closes its socket at once."""
        if response.eof:
            response.handle.raw.release_conn()  # fully read: the connection goes back to the pool
        else:
            response.handle.close()

    @io
    def close(self) -> None:
        """Close the pool (a session you passed in stays open: it is yours)."""
        if self._owns_session:
            self._session.close()


#: the package's default transport under its twin-neutral name (``llmunified.HTTPTransport``)
HTTPTransport = RequestsTransport


def as_transport(value: Any, *, connect_timeout: float, read_timeout: float, pool_size: Optional[int] = None) -> Any:
    """``Client(transport=...)``: None -> a new RequestsTransport; a ``requests.Session`` -> a
    RequestsTransport over it; any object with the transport methods -> itself."""
    if value is None:
        if pool_size is None:
            return RequestsTransport(connect_timeout=connect_timeout, read_timeout=read_timeout)
        return RequestsTransport(connect_timeout=connect_timeout, read_timeout=read_timeout, pool_size=pool_size)
    if isinstance(value, requests.Session):
        return RequestsTransport(connect_timeout=connect_timeout, read_timeout=read_timeout, session=value)
    if is_transport(value):
        return value
    raise ConfigurationError(
        f"transport must be a requests.Session or an object with send_request, read_chunk, read_body, "
        f"close_response and close (see llmunified._backends.base.Transport); got {type(value).__name__}")


@io
def call_function(fn: Any, kwargs: Dict[str, Any]) -> Any:
    """Run a tool's function (the async twin also awaits coroutine functions)."""
    result = fn(**kwargs)
    if isinstance(result, types.CoroutineType):  # inspect.iscoroutine (inspect costs ~4 ms to import)
        result.close()
        raise ValidationError(f"tool function {getattr(fn, '__name__', fn)!r} is a coroutine function: "
                              "run it with llmunified_async, or give the sync client a plain function")
    return result


_T = TypeVar("_T")


@io
def run_all(thunks: Sequence[Callable[[], _T]], limit: int) -> List[_T]:
    """Call every thunk, at most ``limit`` at a time, and return their results in the thunks'
    order (the async twin: ``asyncio.gather`` under a semaphore).

    With ``limit`` 1 or a single thunk they run one after the other on the calling thread, as
    plain calls. Otherwise they run in a thread pool made for this call (each in a copy of the
    caller's context variables) and the call returns once every one has finished. The first
    exception, in the thunks' order, is raised once the thunks before it have finished; thunks
    not started by then are cancelled, those running are waited for (threads cannot be stopped).
    """
    if limit <= 1 or len(thunks) <= 1:
        return [thunk() for thunk in thunks]
    import contextvars  # here, not at import: a plain call needs neither (requests does not load it)
    from concurrent.futures import ThreadPoolExecutor  # only for a round with several tools

    pool = ThreadPoolExecutor(max_workers=min(limit, len(thunks)), thread_name_prefix="llmunified-tool")
    try:
        futures = [pool.submit(contextvars.copy_context().run, thunk) for thunk in thunks]
        return [future.result() for future in futures]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


@io
def run_blocking(fn: Callable[..., _T], *args: Any) -> _T:
    """Run a blocking function (a credential refresh): here simply a call. The async twin runs
    it in the event loop's default executor so the loop is not held up."""
    return fn(*args)


class WorkerPool:
    """Runs calls on at most ``size`` worker threads and hands back each one's outcome as it
    finishes (``Client.map``; the async twin's is tasks on the event loop).

    ``spawn(key, thunk)`` starts ``thunk()`` (in a copy of the caller's context variables);
    ``harvest(timeout)`` waits until at least one has finished (or ``timeout`` seconds passed:
    then ``[]``) and returns ``(key, value, exception)`` for every one finished since the last
    harvest; ``stop_all()`` cancels what has not started and waits for what has (threads
    cannot be stopped). One thread drives a pool (spawn, harvest and stop_all).
    """

    def __init__(self, size: int, name: str = "llmunified-map") -> None:
        import queue

        self.size = size
        self.name = name
        self._pool: Any = None
        self._futures: Dict[Any, Any] = {}  # the running futures -> their keys
        self._done: "queue.SimpleQueue[Any]" = queue.SimpleQueue()

    @property
    def running(self) -> int:
        """Calls started and not harvested yet."""
        return len(self._futures)

    def spawn(self, key: Any, thunk: Callable[[], Any]) -> None:
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(max_workers=self.size, thread_name_prefix=self.name)
        from contextvars import copy_context

        future = self._pool.submit(copy_context().run, thunk)
        self._futures[future] = key
        future.add_done_callback(self._done.put)

    @io
    def harvest(self, timeout: Optional[float] = None) -> List[Any]:
        import queue

        if not self._futures:
            if timeout:
                time.sleep(timeout)
            return []
        try:
            finished = [self._done.get(timeout=timeout)]
        except queue.Empty:
            return []
        while True:
            try:
                finished.append(self._done.get_nowait())
            except queue.Empty:
                break
        out = []
        for future in finished:
            key = self._futures.pop(future)
            error = None if future.cancelled() else future.exception()
            if future.cancelled():
                from concurrent.futures import CancelledError

                error = CancelledError()
            out.append((key, None if error is not None else future.result(), error))
        return out

    @io
    def stop_all(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        self._futures.clear()
