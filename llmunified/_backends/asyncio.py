"""The asyncio transport, on a pooled ``aiohttp.ClientSession``: the hand-written twin of
``_transport_requests.py`` (same methods, as coroutines). Knows nothing of providers."""
import asyncio
import inspect
import logging
import time
import urllib.parse
import urllib.request
from typing import Any, Dict, Optional, Tuple

import aiohttp

from ._transport_requests import USER_AGENT, TransportResponse, _reason
from .errors import ConnectionError, TimeoutError
from .providers._base import HTTPRequest

__all__ = ["AiohttpTransport", "TransportResponse", "call_function"]

log = logging.getLogger("llmunified")


class AiohttpTransport:
    """One ``aiohttp.ClientSession`` per Client, created on first use inside the running loop."""

    def __init__(self, *, connect_timeout: float = 5.0, read_timeout: float = 600.0, pool_size: int = 100) -> None:
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.pool_size = pool_size
        self._session: Optional[aiohttp.ClientSession] = None
        self._timeouts: Dict[Optional[float], aiohttp.ClientTimeout] = {}
        self._proxies: Optional[Dict[str, str]] = None
        self._proxy_cache: Dict[Tuple[str, str], Optional[str]] = {}

    def _proxy_for(self, url: str) -> Optional[str]:
        # aiohttp's trust_env re-reads the environment and ~/.netrc on every request (it cut
        # throughput to a quarter in scripts/bench.py); the proxy settings are read once here and
        # the answer cached per scheme and host. HTTP(S)_PROXY and NO_PROXY are honoured.
        parts = urllib.parse.urlsplit(url)
        key = (parts.scheme, parts.netloc)
        if key not in self._proxy_cache:
            if self._proxies is None:
                self._proxies = urllib.request.getproxies_environment()
            proxy = self._proxies.get(parts.scheme)
            if proxy and urllib.request.proxy_bypass_environment(parts.hostname or "", self._proxies):
                proxy = None
            self._proxy_cache[key] = proxy or None
        return self._proxy_cache[key]

    def __repr__(self) -> str:
        return f"AiohttpTransport(connect_timeout={self.connect_timeout}, read_timeout={self.read_timeout})"

    def _get_session(self) -> aiohttp.ClientSession:
        session = self._session
        if session is None or session.closed:
            session = self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.pool_size),
                headers={"User-Agent": USER_AGENT})
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
        try:
            resp = await session.request(
                request.method, request.url, data=request.body, headers=request.headers,
                timeout=self._timeout(timeout), allow_redirects=False, proxy=self._proxy_for(request.url))
            body = None
            if not request.stream:
                try:
                    body = await resp.read()
                finally:
                    resp.release()
        except asyncio.TimeoutError as exc:
            raise TimeoutError(f"{request.method} {request.url} timed out: {type(exc).__name__}") from None
        except aiohttp.ClientError as exc:
            raise ConnectionError(f"{request.method} {request.url} failed: {_reason(exc)}") from None
        headers = {k.lower(): v for k, v in resp.headers.items()}
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s %s -> %s in %.1f ms", request.method, request.url, resp.status,
                      (time.perf_counter() - started) * 1000)
        return TransportResponse(resp.status, headers, body, resp)

    async def read_chunk(self, response: TransportResponse) -> bytes:
        try:
            return await response.handle.content.readany()
        except asyncio.TimeoutError:
            raise TimeoutError("reading the stream timed out") from None
        except (aiohttp.ClientError, OSError) as exc:
            raise ConnectionError(f"the connection broke while reading the stream: {_reason(exc)}") from None

    async def read_body(self, response: TransportResponse) -> bytes:
        try:
            if response.body is None:
                response.body = await response.handle.read()
            return response.body
        except (asyncio.TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise ConnectionError(f"the connection broke while reading the body: {_reason(exc)}") from None
        finally:
            response.handle.release()

    async def close_response(self, response: TransportResponse) -> None:
        handle: Any = response.handle
        if handle.content.at_eof():
            handle.release()  # fully read: the connection goes back to the pool
        else:
            handle.close()  # unfinished body: drop the socket now

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None


async def call_function(fn: Any, kwargs: Dict[str, Any]) -> Any:
    """Run a tool's function: coroutine functions are awaited, plain ones called."""
    result = fn(**kwargs)
    if inspect.isawaitable(result):
        result = await result
    return result
