"""The transport contract and the little both hand-written transports share.

A transport is anything with these five methods (``typing.Protocol``, so no base class is
needed). The sync client calls them plainly; the async client awaits them
(:class:`AsyncTransport`). ``Client(transport=...)`` accepts one, which is the seam for a custom
HTTP stack: a configured ``requests.Session`` (proxies, mTLS, a custom CA), a recording or a
mock transport in tests.
"""
import logging
import os
import time
import urllib.parse
import urllib.request
from typing import Any, Dict, Mapping, Optional, Tuple, Union

from .._http import USER_AGENT, HTTPRequest, TransportResponse

try:  # typing.Protocol is 3.8+; runtime_checkable lets Client(transport=...) check its argument
    from typing import Protocol, runtime_checkable
except ImportError:  # pragma: no cover
    from typing_extensions import Protocol, runtime_checkable  # type: ignore

__all__ = ["Transport", "AsyncTransport", "USER_AGENT", "reason", "response_headers", "log_exchange",
           "is_transport", "EnvironmentSettings"]

log = logging.getLogger("llmunified")

_METHODS = ("send_request", "read_chunk", "read_body", "close_response", "close")


@runtime_checkable
class Transport(Protocol):
    """What the blocking client needs from an HTTP stack.

    - ``send_request(request, timeout)``: send; return status and lower-cased headers, with the
      whole ``body`` read unless ``request.stream`` is true (then the body stays unread on
      ``handle``). ``timeout`` is the read timeout for this call (None: the transport's own).
      Library errors become ``llmunified.errors.TimeoutError`` / ``ConnectionError``; never
      put ``request.headers`` (they carry the API key) in a message. Redirects are not followed.
    - ``read_chunk(response)``: the next piece of a streaming body as it arrives, ``b""`` at its
      end (set ``response.eof``).
    - ``read_body(response)``: the whole (rest of the) body of a streaming response, then release it.
    - ``close_response(response)``: release a streaming response: back to the pool when read to
      the end, otherwise drop the connection at once.
    - ``close()``: release the pool.
    """

    def send_request(self, request: HTTPRequest, timeout: Optional[float] = None) -> TransportResponse: ...

    def read_chunk(self, response: TransportResponse) -> bytes: ...

    def read_body(self, response: TransportResponse) -> bytes: ...

    def close_response(self, response: TransportResponse) -> None: ...

    def close(self) -> None: ...


@runtime_checkable
class AsyncTransport(Protocol):
    """:class:`Transport` for ``llmunified_async``: the same five methods, as coroutines."""

    async def send_request(self, request: HTTPRequest, timeout: Optional[float] = None) -> TransportResponse: ...

    async def read_chunk(self, response: TransportResponse) -> bytes: ...

    async def read_body(self, response: TransportResponse) -> bytes: ...

    async def close_response(self, response: TransportResponse) -> None: ...

    async def close(self) -> None: ...


def is_transport(value: Any) -> bool:
    """True when ``value`` has the five transport methods."""
    return all(callable(getattr(value, name, None)) for name in _METHODS)


class EnvironmentSettings:
    """The HTTP settings a process's environment asks for, read once per transport.

    requests (``trust_env``) and aiohttp (``trust_env=True``) re-read the environment, and
    requests ``~/.netrc`` too, on every request: that alone cost a sync call more than all of
    llmunified's own work (``scripts/bench.py``). A transport that owns its session reads them
    here once instead and caches the answer per scheme and host: ``HTTP_PROXY`` /
    ``HTTPS_PROXY`` / ``ALL_PROXY`` with ``NO_PROXY`` (the standard library's rules), and the
    CA bundle of ``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE``. Changing them needs a new Client.
    """

    __slots__ = ("_proxies", "_cache", "verify")

    def __init__(self, environ: Optional[Mapping[str, str]] = None) -> None:
        env = os.environ if environ is None else environ
        if environ is None:
            proxies = urllib.request.getproxies_environment()
        else:  # the same rules as the standard library, on a given mapping (tests)
            proxies = {k[:-6].lower(): v for k, v in env.items() if k.lower().endswith("_proxy") and v}
        self._proxies: Dict[str, str] = proxies
        self._cache: Dict[Tuple[str, str], Optional[str]] = {}
        bundle = env.get("REQUESTS_CA_BUNDLE") or env.get("CURL_CA_BUNDLE")
        #: what to verify TLS against: True (the default store) or a CA bundle path
        self.verify: Union[bool, str] = bundle or True

    def proxy_for(self, url: str) -> Optional[str]:
        """The proxy URL to use for ``url``, or None to connect directly."""
        parts = urllib.parse.urlsplit(url)
        key = (parts.scheme, parts.netloc)
        try:
            return self._cache[key]
        except KeyError:
            pass
        proxies = self._proxies
        proxy = proxies.get(parts.scheme) or proxies.get("all")
        if proxy:
            # proxy_bypass_environment is public in CPython but missing from typeshed
            bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
            if bypass(parts.hostname or "", proxies):
                proxy = None
        self._cache[key] = proxy or None
        return proxy or None


def reason(exc: BaseException) -> str:
    """An exception's text for an error message (library errors can be long; no headers in them)."""
    text = str(exc)
    return text[:300] if text else type(exc).__name__


def response_headers(raw: Mapping[str, str]) -> Dict[str, str]:
    """Header names lower-cased once, so every codec looks them up one way."""
    return {k.lower(): v for k, v in raw.items()}


def log_exchange(request: HTTPRequest, status: int, started: float) -> None:
    """One debug line per exchange (no headers: they carry keys)."""
    if log.isEnabledFor(logging.DEBUG):
        log.debug("%s %s -> %s in %.1f ms", request.method, request.url, status,
                  (time.perf_counter() - started) * 1000)
