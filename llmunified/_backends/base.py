"""The transport contract and the little both hand-written transports share.

A transport is anything with these five methods (``typing.Protocol``, so no base class is
needed). The sync client calls them plainly; the async client awaits them
(:class:`AsyncTransport`). ``Client(transport=...)`` accepts one, which is the seam for a custom
HTTP stack: a configured ``requests.Session`` (proxies, mTLS, a custom CA), a recording or a
mock transport in tests.
"""
from __future__ import annotations
import errno
import logging
import os
import re
import socket
import ssl
import time
import urllib.parse
import urllib.request
from typing import Any, Dict, Iterator, List, Mapping, Optional, Set, Tuple, Union

from .._http import USER_AGENT, HTTPRequest, TransportResponse
from ..errors import ConfigurationError

try:  # typing.Protocol is 3.8+; runtime_checkable lets Client(transport=...) check its argument
    from typing import Protocol, runtime_checkable
except ImportError:  # pragma: no cover
    from typing_extensions import Protocol, runtime_checkable  # type: ignore

__all__ = ["Transport", "AsyncTransport", "USER_AGENT", "reason", "response_headers", "log_exchange",
           "is_transport", "EnvironmentSettings", "StreamingResponse", "causes", "shown_url", "connect_failure",
           "connect_timeout_message", "read_timeout_message", "stream_timeout_message", "read_failure",
           "ca_bundle_context", "tls_files_error"]

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
        if not self._proxies:  # the common case: no proxy configured, nothing to parse
            return None
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


def ca_bundle_context(path: str, request: str) -> ssl.SSLContext:
    """A TLS context that trusts the CA certificates at ``path`` and nothing else, as requests
    takes ``verify=path``: a PEM bundle, or a directory of hashed certificates. Loading a bundle
    costs milliseconds and most of a megabyte, so a transport makes it for its first ``https``
    request, never for plain ``http`` (a local server). ConfigurationError when it cannot be read
    (``request``: the method and URL of the request that needed it, for the message)."""
    try:
        if os.path.isdir(path):
            return ssl.create_default_context(capath=path)
        return ssl.create_default_context(cafile=path)
    except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError: not PEM, no certificate in it
        raise tls_files_error(f"{request} was not sent: the CA bundle {path!r} cannot be used ({reason(exc)})"
                              ) from None


def tls_files_error(problem: str) -> ConfigurationError:
    """The error for local TLS files that cannot be used, raised before anything is sent."""
    return ConfigurationError(f"{problem}; a CA bundle comes from REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE (or the "
                              "verify= of a session you passed), a client certificate from its cert=: point them "
                              "at readable files, or unset them")


class StreamingResponse(TransportResponse):
    """A streaming :class:`TransportResponse` that remembers its read timeout, so a stream that
    stalls can say which limit expired and how long it was."""

    __slots__ = ("read_timeout",)

    def __init__(self, status: int, headers: Dict[str, str], body: Optional[bytes], handle: Any,
                 read_timeout: Optional[float]) -> None:
        super().__init__(status, headers, body, handle)
        self.read_timeout = read_timeout


# Error-path patterns stay source strings: re compiles one on first use and caches it, so
# importing the transports does not pay for compiling them (~1 ms).
_USERINFO = r"(?<=://)[^/@\s]+@"


def reason(exc: BaseException) -> str:
    """An exception's text for an error message (library errors can be long; no headers in them;
    a proxy's ``user:password@`` is masked)."""
    text = re.sub(_USERINFO, "***@", str(exc))
    return text[:300] if text else type(exc).__name__


def causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and everything it wraps, outermost first: ``__cause__``/``__context__``, and the
    wrapping conventions of urllib3 (``reason``), requests (the first argument) and aiohttp
    (``os_error``). The root cause of a library's "Max retries exceeded" is in here."""
    seen: Set[int] = set()
    pending: List[BaseException] = [exc]
    while pending and len(seen) < 32:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        inner: List[Any] = [getattr(current, "reason", None), getattr(current, "os_error", None)]
        inner += [a for a in current.args if isinstance(a, BaseException)]
        inner += [current.__cause__, current.__context__]
        pending.extend(e for e in inner if isinstance(e, BaseException))


def shown_url(url: str) -> str:
    """``url`` fit for a message: no ``user:password@``, no query string (it may carry a key)."""
    parts = urllib.parse.urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _origin(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


_REFUSED = rf"(?i)connection refused|actively refused|\[errno {errno.ECONNREFUSED}\]"
_DNS = (r"(?i)name or service not known|nodename nor servname|getaddrinfo failed|failed to resolve|"
        r"temporary failure in name resolution|no address associated")
_UNREACHABLE = {errno.ENETUNREACH, errno.EHOSTUNREACH}


def connect_failure(exc: BaseException, url: str) -> str:
    """What went wrong reaching ``url``, from a library's connection error, in words that say
    what to do: "nothing is listening at http://127.0.0.1:9 (is the server running?)" rather
    than urllib3's "Max retries exceeded ... NewConnectionError(...)"."""
    chain = list(causes(exc))
    origin = _origin(url)
    names = " ".join(type(e).__name__ for e in chain)
    text = " ".join(str(e) for e in chain)
    if "Proxy" in names:
        return (f"the HTTP proxy did not connect us to {origin} ({reason(chain[-1])}); check HTTPS_PROXY / "
                "HTTP_PROXY, or list the host in NO_PROXY to bypass it")
    if any(isinstance(e, ConnectionRefusedError) or getattr(e, "errno", None) == errno.ECONNREFUSED
           for e in chain) or re.search(_REFUSED, text):
        return f"nothing is listening at {origin} (is the server running?)"
    if any(isinstance(e, socket.gaierror) for e in chain) or "DNSError" in names or "NameResolution" in names \
            or re.search(_DNS, text):
        host = urllib.parse.urlsplit(url).hostname or origin
        return f"cannot resolve the host {host!r} (check the host in base_url, and the network or DNS)"
    if any(isinstance(e, (ssl.SSLError, ssl.CertificateError)) for e in chain) or "SSL" in names \
            or "Certificate" in names:
        hint = ("a private CA: set REQUESTS_CA_BUNDLE or pass a configured session as transport=" if
                "CERTIFICATE_VERIFY_FAILED" in text or "certificate" in text.lower() else
                "is the server plain http? then base_url must start with http://")
        return f"TLS with {origin} failed: {reason(chain[-1])} ({hint})"
    if any(getattr(e, "errno", None) in _UNREACHABLE for e in chain):
        return f"{origin} is unreachable from here (network down, a firewall, or a wrong address in base_url?)"
    if any(isinstance(e, (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)) for e in chain) \
            or "Disconnected" in names or "Connection aborted" in text:
        return f"{origin} closed the connection without answering"
    return f"could not reach {origin}: {reason(chain[-1])}"


def read_failure(exc: BaseException, what: str = "the stream") -> str:
    """A connection that broke while a body was being read (after the reply's headers)."""
    chain = list(causes(exc))
    if any(isinstance(e, (ConnectionResetError, BrokenPipeError)) for e in chain):
        return f"the server reset the connection while {what} was being read"
    return f"the connection closed before {what} ended ({reason(chain[0])})"


def _seconds(value: Optional[float]) -> str:
    return "?" if value is None else f"{value:g}"


def connect_timeout_message(method: str, url: str, connect_timeout: Optional[float]) -> str:
    """A connect timeout: which limit expired, and the argument that raises it."""
    return (f"{method} {shown_url(url)}: timed out after {_seconds(connect_timeout)} s connecting to "
            f"{_origin(url)} (the connect timeout; raise it with connect_timeout=... on the Client, or check "
            "that the host is reachable)")


def read_timeout_message(method: str, url: str, read_timeout: Optional[float]) -> str:
    """A read timeout before the whole reply arrived."""
    return (f"{method} {shown_url(url)}: timed out after {_seconds(read_timeout)} s waiting for the reply "
            "(the read timeout; raise it with timeout=... on the call or the Client)")


def stream_timeout_message(read_timeout: Optional[float], what: str = "the stream") -> str:
    """A read timeout while a streaming body was being read."""
    return (f"timed out after {_seconds(read_timeout)} s without data while reading {what}, the read timeout; "
            "raise it with timeout=... on the call or the Client")


def response_headers(raw: Mapping[str, str]) -> Dict[str, str]:
    """Header names lower-cased once, so every codec looks them up one way."""
    return {k.lower(): v for k, v in raw.items()}


def log_exchange(request: HTTPRequest, status: int, started: float) -> None:
    """One debug line per exchange (no headers: they carry keys)."""
    if log.isEnabledFor(logging.DEBUG):
        log.debug("%s %s -> %s in %.1f ms", request.method, request.url, status,
                  (time.perf_counter() - started) * 1000)
