"""The asyncio transport, on a pooled ``aiohttp.ClientSession``: the hand-written twin of
``sync.py`` (same methods, as coroutines). Knows nothing of providers, imports no ``requests``."""
from __future__ import annotations
import asyncio
import contextvars
import functools
import inspect
import logging
import time
import ssl
from typing import Any, Awaitable, Callable, Dict, List, Optional, Sequence, TypeVar, Union

import aiohttp

from .._http import USER_AGENT, HTTPRequest, TransportResponse
from ..errors import ConfigurationError, ConnectionError, TimeoutError
from .base import AsyncTransport as Transport
from .base import (EnvironmentSettings, StreamingResponse, ca_bundle_context, connect_failure,
                   connect_timeout_message, is_transport, log, log_exchange, read_failure, read_timeout_message,
                   response_headers, shown_url, stream_timeout_message)

__all__ = ["AiohttpTransport", "HTTPTransport", "Transport", "as_transport", "call_function", "run_all",
           "run_blocking", "WorkerPool"]

#: a connect timeout (aiohttp 3.10+ names it; older versions say "Connection timeout" in the text)
_CONNECT_TIMEOUT = getattr(aiohttp, "ConnectionTimeoutError", ())


class AiohttpTransport:
    """One ``aiohttp.ClientSession`` per Client, created on first use inside the running loop.

    Pass ``session=`` to use your own configured ``aiohttp.ClientSession`` (its connector's SSL
    context, proxies via ``trust_env``, limits): it is used as it is, and closing the transport
    leaves it open (it is yours). Without one, ``HTTP(S)_PROXY`` and ``NO_PROXY`` are honoured.
    """

    def __init__(self, *, connect_timeout: float = 5.0, read_timeout: float = 600.0, pool_size: int = 100,
                 session: Optional[aiohttp.ClientSession] = None) -> None:
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.pool_size = pool_size
        self._owns_session = session is None
        self._session: Optional[aiohttp.ClientSession] = session
        self._timeouts: Dict[Optional[float], aiohttp.ClientTimeout] = {}
        self._env: Optional[EnvironmentSettings] = None
        self._ssl: Union[bool, ssl.SSLContext] = True  # aiohttp's default verification, or the CA bundle's
        self._cafile: Optional[str] = None  # REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE, until its context is made

    def _proxy_for(self, url: str, method: str = "GET") -> Optional[str]:
        # aiohttp's trust_env re-reads the environment and ~/.netrc on every request (it cut
        # throughput to a quarter in scripts/bench.py); the settings are read once instead.
        # It also sets the TLS context the request is sent with (``ssl=self._ssl``, read after
        # this call): the CA bundle of REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE, as the sync twin
        # honours it, loaded for the first https request (a plain http one never pays for it).
        if not self._owns_session:
            return None  # the caller's session decides (its trust_env, its own proxy settings)
        env = self._env
        if env is None:
            env = self._env = EnvironmentSettings()
            if isinstance(env.verify, str):
                self._cafile = env.verify
        proxy = env.proxy_for(url)
        if self._cafile is not None and (url.startswith("https:") or (proxy or "").startswith("https:")):
            self._ssl = ca_bundle_context(self._cafile, f"{method} {shown_url(url)}")
            self._cafile = None
        return proxy

    def __repr__(self) -> str:
        return f"AiohttpTransport(connect_timeout={self.connect_timeout}, read_timeout={self.read_timeout})"

    def _get_session(self) -> aiohttp.ClientSession:
        session = self._session
        if session is not None and session.closed and not self._owns_session:
            raise ConfigurationError("the aiohttp.ClientSession given as transport= is closed")
        if session is None or session.closed:
            # No session-wide headers: merging them into every request costs more than the one
            # header set per request in send_request.
            session = self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=self.pool_size))
        return session

    def _timeout(self, read: Optional[float]) -> aiohttp.ClientTimeout:
        t = self._timeouts.get(read)
        if t is None:
            t = self._timeouts[read] = aiohttp.ClientTimeout(
                total=None, sock_connect=self.connect_timeout, sock_read=read or self.read_timeout)
        return t

    async def send_request(self, request: HTTPRequest, timeout: Optional[float] = None) -> TransportResponse:
        started = time.perf_counter()
        session = self._get_session()
        headers = request.headers
        if self._owns_session and "User-Agent" not in headers:
            headers["User-Agent"] = USER_AGENT
        read_timeout = timeout or self.read_timeout
        try:
            resp = await session.request(
                request.method, request.url, data=request.body, headers=headers,
                timeout=self._timeout(timeout), allow_redirects=False,
                proxy=self._proxy_for(request.url, request.method), ssl=self._ssl)
            body = None
            if not request.stream:
                try:
                    body = await resp.read()
                finally:
                    resp.release()
        except asyncio.TimeoutError as exc:
            if isinstance(exc, _CONNECT_TIMEOUT) or "connection timeout" in str(exc).lower():
                raise TimeoutError(connect_timeout_message(request.method, request.url, self.connect_timeout)) from None
            raise TimeoutError(read_timeout_message(request.method, request.url, read_timeout)) from None
        except aiohttp.ClientError as exc:
            raise ConnectionError(f"{request.method} {shown_url(request.url)} failed: "
                                  f"{connect_failure(exc, request.url)}") from None
        if log.isEnabledFor(logging.DEBUG):
            log_exchange(request, resp.status, started)
        if request.stream:
            return StreamingResponse(resp.status, response_headers(resp.headers), None, resp, read_timeout)
        return TransportResponse(resp.status, response_headers(resp.headers), body, resp)

    async def read_chunk(self, response: TransportResponse) -> bytes:
        try:
            return await response.handle.content.readany()
        except asyncio.TimeoutError:
            raise TimeoutError(stream_timeout_message(getattr(response, "read_timeout", None))) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise ConnectionError(read_failure(exc)) from None

    async def read_body(self, response: TransportResponse) -> bytes:
        try:
            if response.body is None:
                response.body = await response.handle.read()
            return response.body
        except asyncio.TimeoutError:
            raise TimeoutError(stream_timeout_message(getattr(response, "read_timeout", None),
                                                      "the reply's body")) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise ConnectionError(read_failure(exc, "the reply's body")) from None
        finally:
            response.handle.release()

    async def close_response(self, response: TransportResponse) -> None:
        handle: Any = response.handle
        if handle.content.at_eof():
            handle.release()  # fully read: the connection goes back to the pool
        else:
            handle.close()  # unfinished body: drop the socket now

    async def close(self) -> None:
        """Close the pool (a session you passed in stays open: it is yours)."""
        if self._owns_session:
            if self._session is not None and not self._session.closed:
                await self._session.close()
            self._session = None


#: the package's default transport under its twin-neutral name (``llmunified_async.HTTPTransport``)
HTTPTransport = AiohttpTransport


def as_transport(value: Any, *, connect_timeout: float, read_timeout: float, pool_size: Optional[int] = None) -> Any:
    """``Client(transport=...)``: None -> a new AiohttpTransport; an ``aiohttp.ClientSession`` ->
    an AiohttpTransport over it; any object with the transport coroutines -> itself."""
    if value is None:
        if pool_size is None:
            return AiohttpTransport(connect_timeout=connect_timeout, read_timeout=read_timeout)
        return AiohttpTransport(connect_timeout=connect_timeout, read_timeout=read_timeout, pool_size=pool_size)
    if isinstance(value, aiohttp.ClientSession):
        return AiohttpTransport(connect_timeout=connect_timeout, read_timeout=read_timeout, session=value)
    if is_transport(value):
        return value
    raise ConfigurationError(
        f"transport must be an aiohttp.ClientSession or an object with the coroutines send_request, read_chunk, "
        f"read_body, close_response and close (see llmunified._backends.base.AsyncTransport); "
        f"got {type(value).__name__}")


def _is_coroutine_function(fn: Any) -> bool:
    while isinstance(fn, functools.partial):
        fn = fn.func
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(getattr(fn, "__call__", None))


async def call_function(fn: Any, kwargs: Dict[str, Any]) -> Any:
    """Run a tool's function: coroutine functions are awaited on the loop; plain functions run
    in the loop's default executor (a worker thread, with the caller's context variables), so a
    blocking tool does not stall the event loop. A plain function that returns an awaitable has
    it awaited on the loop."""
    if _is_coroutine_function(fn):
        result = fn(**kwargs)
    else:
        result = await run_blocking(functools.partial(fn, **kwargs))
    if inspect.isawaitable(result):
        result = await result
    return result


_T = TypeVar("_T")


async def run_all(thunks: Sequence[Callable[[], Awaitable[_T]]], limit: int) -> List[_T]:
    """Await every thunk's coroutine, at most ``limit`` at a time (``asyncio.gather`` under a
    semaphore), and return their results in the thunks' order. With ``limit`` 1 or a single
    thunk they are awaited one after the other. Every one finishes before the first exception,
    in the thunks' order, is raised; cancelling the caller cancels them all."""
    if limit <= 1 or len(thunks) <= 1:
        return [await thunk() for thunk in thunks]
    gate = asyncio.Semaphore(limit)

    async def one(thunk: Callable[[], Awaitable[_T]]) -> _T:
        async with gate:
            return await thunk()

    results = await asyncio.gather(*[one(thunk) for thunk in thunks], return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results  # type: ignore[return-value]  # no exceptions among them


async def run_blocking(fn: Callable[..., _T], *args: Any) -> _T:
    """Run a blocking function (a credential refresh, a plain tool) in the event loop's default
    executor, with the caller's context variables, so the loop goes on serving other tasks."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, functools.partial(contextvars.copy_context().run, fn, *args))


class WorkerPool:
    """Runs coroutines as tasks on the event loop and hands back each one's outcome as it
    finishes: the twin of ``sync.WorkerPool`` (``Client.map``). ``size`` is the caller's
    bound (the driver never spawns more); ``stop_all()`` cancels the tasks still running and
    waits for them to end."""

    def __init__(self, size: int, name: str = "llmunified-map") -> None:
        self.size = size
        self.name = name
        self._tasks: Dict[Any, Any] = {}  # the running tasks -> their keys
        self._done: List[Any] = []
        self._wake: Optional[asyncio.Event] = None  # made on the running loop

    @property
    def running(self) -> int:
        """Calls started and not harvested yet."""
        return len(self._tasks)

    def spawn(self, key: Any, thunk: Callable[[], Awaitable[Any]]) -> None:
        if self._wake is None:
            self._wake = asyncio.Event()
        task = asyncio.ensure_future(thunk())
        self._tasks[task] = key
        task.add_done_callback(self._finished)

    def _finished(self, task: Any) -> None:
        self._done.append(task)
        if self._wake is not None:
            self._wake.set()

    async def harvest(self, timeout: Optional[float] = None) -> List[Any]:
        if not self._tasks:
            if timeout:
                await asyncio.sleep(timeout)
            return []
        if not self._done and self._wake is not None:
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout)
            except asyncio.TimeoutError:
                return []
        finished, self._done = self._done, []
        out = []
        for task in finished:
            key = self._tasks.pop(task)
            error: Optional[BaseException] = asyncio.CancelledError() if task.cancelled() else task.exception()
            out.append((key, None if error is not None else task.result(), error))
        return out

    async def stop_all(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        self._done.clear()
