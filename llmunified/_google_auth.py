"""Google Application Default Credentials (ADC) as the key source of a client given no
``api_key`` (Vertex AI).

This is the one module that touches ``google-auth``, an optional dependency
(``pip install 'llmunified[google]'``). It is imported only when a client that needs Google
credentials is made without a key, never by ``import llmunified``; ``google.auth`` itself is
imported inside the functions below.

What it hands the codec is what a caller could pass as ``api_key=``: a callable returning the
current access token, called for every request, that also says when it is due for a refresh
(``stale()``: google-auth no longer calls the token valid, which it does a few minutes before
its expiry time) and does it (``refresh()``): one HTTPS call to Google's token endpoint about
once an hour, made by google-auth with its ``requests`` transport, under a lock (concurrent
requests wait for one refresh instead of starting several). The client refreshes a stale token
before it builds a request: in the asyncio twin on a worker thread, so the event loop is never
blocked by it; building the request then only reads the token.

Tokens are never logged, never in a repr and never in an error message.
"""
from __future__ import annotations
import threading
from typing import Any, Optional, Tuple

from ._registry import Secret
from .errors import AuthenticationError, ConfigurationError

__all__ = ["SCOPES", "ADCTokens", "TokenSecret", "adc_secret"]

#: the OAuth2 scope Vertex AI needs (docs/wire.md §4 Auth)
SCOPES: Tuple[str, ...] = ("https://www.googleapis.com/auth/cloud-platform",)

_INSTALL = "pip install 'llmunified[google]'"


class ADCTokens:
    """A thread-safe callable returning a valid access token of ``credentials`` (a
    ``google.auth.credentials.Credentials``), refreshing them first when they are not valid
    (no token yet, or expiring soon). A failed refresh is an AuthenticationError saying what to
    do, not google-auth's exception."""

    def __init__(self, credentials: Any, provider: str) -> None:
        self.credentials = credentials
        self.provider = provider
        self._lock = threading.Lock()
        self._request: Any = None  # google-auth's transport, made at the first refresh
        self.refreshes = 0

    def stale(self) -> bool:
        """True when the next token needs a refresh first (none yet, or expiring soon)."""
        credentials = self.credentials
        return not credentials.valid or not credentials.token

    def refresh(self) -> None:
        """Refresh the credentials now, unless another thread just did (blocking)."""
        with self._lock:
            if self.stale():
                self._refresh()

    def __call__(self) -> str:
        with self._lock:
            credentials = self.credentials
            if not credentials.valid or not credentials.token:
                self._refresh()
            token = credentials.token
        if not isinstance(token, str) or not token:
            raise AuthenticationError(
                f"the Google credentials gave no access token after a refresh ({type(self.credentials).__name__})",
                provider=self.provider)
        return token

    def _refresh(self) -> None:
        from google.auth import exceptions

        try:
            if self._request is None:
                from google.auth.transport.requests import Request

                self._request = Request()
            self.credentials.refresh(self._request)
        except exceptions.GoogleAuthError as exc:
            raise self._failed(exc, retryable=isinstance(exc, exceptions.TransportError)
                               or bool(getattr(exc, "retryable", False))) from None
        except Exception as exc:  # a credentials type of another library
            raise self._failed(exc, retryable=False) from None
        self.refreshes += 1

    def _failed(self, exc: BaseException, retryable: bool) -> AuthenticationError:
        # google-auth's errors carry (message, response data): the message is what helps
        first = exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)
        detail = " ".join(first.split())
        token = getattr(self.credentials, "token", None)
        if isinstance(token, str) and len(token) >= 8:
            detail = detail.replace(token, "***")
        return AuthenticationError(
            f"the Google Application Default Credentials ({type(self.credentials).__name__}) could not be "
            f"refreshed: {type(exc).__name__}: {detail[:500]}. Run 'gcloud auth application-default login', "
            "check GOOGLE_APPLICATION_CREDENTIALS, or pass api_key=<access token or a callable returning one>",
            provider=self.provider, retryable=retryable)

    def __repr__(self) -> str:
        return f"ADCTokens({type(self.credentials).__name__})"


class TokenSecret(Secret):
    """A :class:`Secret` over a token callable of ours: its typed errors pass through as they
    are (a caller's own callable failing is wrapped in ConfigurationError by ``Secret``)."""

    __slots__ = ("_tokens",)

    def __init__(self, tokens: ADCTokens) -> None:
        super().__init__(tokens)
        self._tokens = tokens

    @property
    def quota_project(self) -> Optional[str]:
        """The credentials' quota project (``x-goog-user-project``), if they name one."""
        value = getattr(self._tokens.credentials, "quota_project_id", None)
        return value if isinstance(value, str) and value else None

    def get(self) -> str:
        token = self._tokens()
        self._seen = token
        return token

    def refresh(self) -> None:
        self._tokens.refresh()  # its AuthenticationError says what to do: not wrapped


def adc_secret(provider: str, what: str = "Vertex AI") -> TokenSecret:
    """The key source for ``provider`` from Application Default Credentials. Raises
    ConfigurationError (before any request) when google-auth is not installed or finds no
    credentials."""
    try:
        import google.auth
        from google.auth import exceptions
    except ImportError:
        raise ConfigurationError(
            f"{provider} needs credentials for {what}: pass api_key=<OAuth2 access token, or a callable returning "
            f"one>, or install google-auth ({_INSTALL}) to use Application Default Credentials") from None
    try:
        credentials, _project = google.auth.default(scopes=list(SCOPES))
    except exceptions.DefaultCredentialsError as exc:
        raise ConfigurationError(
            f"{provider} found no Google Application Default Credentials ({' '.join(str(exc).split())[:300]}): run "
            "'gcloud auth application-default login', set GOOGLE_APPLICATION_CREDENTIALS to a service account key "
            "file, or pass api_key=<OAuth2 access token, or a callable returning one>") from None
    return TokenSecret(ADCTokens(credentials, provider))

