"""Which providers exist, how a ``provider/model`` name is resolved, and how a key travels.

There is one table, :data:`PROVIDERS`, and nobody edits it: each provider codec module in
``llmunified/providers/`` declares the providers it serves (``PROVIDERS = [ProviderInfo(...)]``
at module level) and the table collects them on first use. Providers that share a wire
protocol (the OpenAI-compatible hosts) differ only by data on their entry: URLs, environment
variables, the :class:`Auth` scheme, the token-estimate family and ``details`` the codec reads.
"""
from __future__ import annotations
import os
import re
from ._dc import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Callable, Dict, Mapping, Optional, Tuple, Union

from .errors import ConfigurationError

if TYPE_CHECKING:  # pragma: no cover
    from .providers._base import Codec

__all__ = ["Auth", "BEARER", "Setting", "ProviderInfo", "PROVIDERS", "split_model", "Secret", "ProviderConfig",
           "resolve_config", "KeySource", "setting_names", "provider_settings", "CredentialToken", "check_base_url",
           "EMULATOR_ENV", "EMULATOR_KEY", "emulator_base_url"]

#: ``api_key=``: a string, or a callable returning the current key or token (called per request,
#: so refreshing credentials such as Vertex or Azure Entra ID tokens work).
KeySource = Union[str, Callable[[], str]]


@dataclass(frozen=True)
class Auth:
    """How a credential travels: in a header (``name: prefix + key``) or a query parameter.

    ``Auth.bearer()`` (``Authorization: Bearer <key>``), ``Auth.header("x-api-key")``,
    ``Auth.header("api-key")``, ``Auth.header("x-goog-api-key")``, ``Auth.query("key")``.
    """

    kind: str          # "header" or "query"
    name: str
    prefix: str = ""

    @classmethod
    def bearer(cls) -> "Auth":
        return cls("header", "Authorization", "Bearer ")

    @classmethod
    def header(cls, name: str, prefix: str = "") -> "Auth":
        return cls("header", name, prefix)

    @classmethod
    def query(cls, name: str) -> "Auth":
        return cls("query", name)

    def apply(self, headers: Dict[str, str], url: str, key: str) -> str:
        """Put ``key`` on the request; returns the (possibly extended) URL."""
        if self.kind == "query":
            from urllib.parse import quote

            return f"{url}{'&' if '?' in url else '?'}{self.name}={quote(key, safe='')}"
        headers[self.name] = self.prefix + key
        return url


BEARER = Auth.bearer()


@dataclass(frozen=True)
class Setting:
    """A provider-specific Client setting (``Client("vertex/...", project="p")``): taken from
    the argument of that name, else the first set environment variable of ``env``, else
    ``default``; a ``required`` one that is still missing is a ConfigurationError before any
    network call. The codec reads the resolved values from ``config.settings``."""

    name: str
    env: Union[None, str, Tuple[str, ...]] = None
    default: Optional[str] = None
    required: bool = False
    description: str = ""

    @property
    def envs(self) -> Tuple[str, ...]:
        env = self.env
        return () if env is None else ((env,) if isinstance(env, str) else tuple(env))


def _frozen(mapping: Optional[Mapping[str, Any]]) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class ProviderInfo:
    """Static facts about one provider name, declared by the codec module that speaks for it.

    :param codec: the codec class (a :class:`~llmunified.providers._base.Codec` subclass).
    :param api_key_env: the environment variable(s) read for the key, first set one wins.
    :param auth: how a string key is sent; ``token_auth`` how a callable's token is sent
        (default: the same), e.g. Azure's ``api-key`` header vs ``Authorization: Bearer``.
    :param token_family: the token-estimate family for this host's models (``_tokens.FAMILIES``).
    :param details: wire details that differ between hosts of one protocol, read by the codec
        (e.g. ``{"max_tokens_field": "max_completion_tokens"}``).
    :param settings: provider-specific Client settings (:class:`Setting`), such as Vertex AI's
        ``project`` and ``location`` or Azure's ``api_version``.
    """

    name: str
    codec: Any
    base_url: str
    api_key_env: Union[None, str, Tuple[str, ...]]
    base_url_env: Optional[str]
    key_required: bool
    description: str
    auth: Auth = BEARER
    token_auth: Optional[Auth] = None
    token_family: str = "default"
    details: Mapping[str, Any] = field(default_factory=lambda: _frozen(None), compare=False)
    settings: Tuple[Setting, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.details, MappingProxyType):
            object.__setattr__(self, "details", _frozen(self.details))

    @property
    def api_key_envs(self) -> Tuple[str, ...]:
        """Every environment variable read for the key, in order."""
        env = self.api_key_env
        return () if env is None else ((env,) if isinstance(env, str) else tuple(env))

    @property
    def protocol(self) -> str:
        """The wire protocol's name (the codec's ``protocol``)."""
        return str(getattr(self.codec, "protocol", self.codec.__name__))


def __getattr__(name: str) -> Any:
    if name == "PROVIDERS":  # built on first use: importing every codec is not import-time work
        from .providers import provider_table

        return provider_table()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _table() -> Dict[str, ProviderInfo]:
    from .providers import provider_table

    return provider_table()


def split_model(model: str) -> Tuple[ProviderInfo, str]:
    """``"openrouter/meta-llama/llama-3-70b"`` -> (openrouter info, ``"meta-llama/llama-3-70b"``)."""
    if not isinstance(model, str) or "/" not in model:
        raise ConfigurationError(
            f"model must be named 'provider/model' (e.g. 'openai/gpt-4o-mini'), got {model!r}; "
            f"known providers: {', '.join(sorted(_table()))}")
    provider, _, name = model.partition("/")
    from .providers import lookup

    info = lookup(provider.lower())
    if info is None:
        raise ConfigurationError(
            f"unknown provider {provider!r} in model {model!r}; known providers: {', '.join(sorted(_table()))}. "
            "For another OpenAI-compatible server use 'openai/<model>' with base_url=...")
    if not name:
        raise ConfigurationError(f"model {model!r} names no model after the provider")
    return info, name


class Secret:
    """Holds an API key, or a callable that returns the current one; its repr and str never show
    the value. ``get()`` calls the callable each time (refreshing tokens); ``known()`` lists the
    values seen so far, so error text echoing any of them can be scrubbed.

    A callable that can tell when it is due for a refresh (``stale()`` and ``refresh()``
    methods, as :class:`CredentialToken` and Vertex AI's ADC tokens have) makes the secret
    ``refreshable``: the client then calls :meth:`refresh` itself when :meth:`stale` says so,
    before building a request (on a worker thread in ``llmunified_async``), and ``get()`` only
    reads the fresh token."""

    __slots__ = ("_value", "_seen")

    def __init__(self, value: KeySource) -> None:
        self._value = value
        self._seen: Optional[str] = None if callable(value) else value

    @property
    def is_callable(self) -> bool:
        """True for a token provider (a callable), False for a fixed key."""
        return callable(self._value)

    @property
    def refreshable(self) -> bool:
        """True when the key source says when it needs a refresh (``stale()``/``refresh()``)."""
        value = self._value
        return callable(getattr(value, "stale", None)) and callable(getattr(value, "refresh", None))

    def stale(self) -> bool:
        """True when the next ``get()`` would first refresh the credential (a network call to an
        identity service); always False for a fixed key or a plain callable."""
        check = getattr(self._value, "stale", None)
        return bool(check()) if check is not None else False

    def refresh(self) -> None:
        """Refresh the credential now (blocking: the async client runs this on a worker thread).
        A failure is a ConfigurationError, as a failing ``get()`` is."""
        refresh = getattr(self._value, "refresh", None)
        if refresh is None:
            return
        try:
            refresh()
        except ConfigurationError:
            raise
        except Exception as exc:
            raise ConfigurationError(f"the api_key callable failed: {type(exc).__name__}: {exc}") from None

    def get(self) -> str:
        value = self._value
        if not callable(value):
            return value
        try:
            token = value()
        except Exception as exc:
            raise ConfigurationError(f"the api_key callable failed: {type(exc).__name__}: {exc}") from None
        token = getattr(token, "token", token)  # an azure-identity AccessToken works as it is
        if not isinstance(token, str) or not token:
            raise ConfigurationError(
                f"the api_key callable must return a non-empty string (the key or token), got {type(token).__name__}")
        self._seen = token
        return token

    def known(self) -> Optional[str]:
        """The last value handed out (None if a callable was never called)."""
        return self._seen

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self):  # pragma: no cover - refuse to pickle keys by accident
        raise TypeError("Secret values are not picklable")


class CredentialToken:
    """A token credential object (anything with ``get_token(*scopes)`` returning an object with
    ``token`` and ``expires_on``, as azure-identity's credentials do) as an ``api_key`` callable:
    one token is kept and asked for again a few minutes before it expires, so a request does
    not wait on the identity service. The token never appears in its repr.

    ``stale()`` says a new token is due; ``refresh()`` gets it (under a lock: threads that
    need it at once wait for one call). The client refreshes a stale token before building a
    request, off the event loop in ``llmunified_async``; calling the object refreshes only
    when nobody did."""

    __slots__ = ("_credential", "_scope", "_token", "_expires", "_lock", "_fresh")

    #: seconds before expiry at which a new token is asked for
    MARGIN = 300

    def __init__(self, credential: Any, scope: str) -> None:
        import threading

        self._credential = credential
        self._scope = scope
        self._token: Optional[str] = None
        self._expires = 0.0
        self._lock = threading.Lock()
        # a token refresh() just fetched and no request has used yet: the request being built
        # takes it even when it is already inside the margin (a lifetime shorter than MARGIN)
        self._fresh = False

    def stale(self) -> bool:
        """True when there is no token yet or it expires within :attr:`MARGIN` seconds."""
        import time

        return self._token is None or time.time() >= self._expires - self.MARGIN

    def __call__(self) -> str:
        token = self._token
        if token is None or (not self._fresh and self.stale()):
            token = self.refresh()
        self._fresh = False
        return token

    def refresh(self) -> str:
        """Ask the credential for a new token (unless another thread just did); returns it."""
        with self._lock:
            token = self._token
            if token is not None and (self._fresh or not self.stale()):
                return token
            token = self._fetch()
            self._fresh = True
            return token

    def _fetch(self) -> str:
        got = self._credential.get_token(self._scope)
        if hasattr(got, "__await__"):
            close = getattr(got, "close", None)
            if close is not None:
                close()  # never awaited: no "coroutine was never awaited" warning
            raise ConfigurationError(
                f"{type(self._credential).__name__}.get_token is a coroutine (an azure.identity.aio credential): "
                "pass the synchronous credential (azure.identity) or api_key=<a callable returning the token>")
        value = getattr(got, "token", got)
        if not isinstance(value, str) or not value:
            raise ConfigurationError(
                f"{type(self._credential).__name__}.get_token({self._scope!r}) returned no token")
        expires = getattr(got, "expires_on", None)
        self._token = value
        self._expires = float(expires) if isinstance(expires, (int, float)) and not isinstance(expires, bool) else 0.0
        return value

    def __repr__(self) -> str:
        return f"CredentialToken({type(self._credential).__name__}, scope={self._scope!r})"


@dataclass(frozen=True)
class ProviderConfig:
    """Everything a codec needs to address one provider. ``api_key`` is a :class:`Secret`."""

    info: ProviderInfo
    base_url: str
    api_key: Optional[Secret]
    headers: Tuple[Tuple[str, str], ...] = field(default=(), repr=False)  # may carry credentials
    #: the provider-specific settings, resolved (see :class:`Setting`)
    settings: Mapping[str, Any] = field(default_factory=lambda: _frozen(None))

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def auth(self) -> Auth:
        """How this configuration's credential travels (a callable's token may go another way)."""
        info = self.info
        if self.api_key is not None and self.api_key.is_callable and info.token_auth is not None:
            return info.token_auth
        return info.auth

    def authorize(self, headers: Dict[str, str], url: str) -> str:
        """Put the credential (if any) on a request being built; returns its URL."""
        if self.api_key is None:
            return url
        return self.auth.apply(headers, url, self.api_key.get())


def setting_names(info: ProviderInfo) -> Tuple[str, ...]:
    """The names of a provider's own Client settings."""
    return tuple(s.name for s in info.settings)


def provider_settings(model: str) -> Tuple[str, ...]:
    """The setting names of the provider a ``provider/model`` name addresses (none when the
    name does not resolve: the Client then says what is wrong)."""
    try:
        return setting_names(split_model(model)[0])
    except ConfigurationError:
        return ()


def _resolve_settings(info: ProviderInfo, given: Mapping[str, Any], env: Mapping[str, str]) -> Dict[str, Any]:
    unknown = sorted(set(given) - set(setting_names(info)))
    if unknown:
        raise ConfigurationError(f"{info.name} has no setting {', '.join(unknown)}; its settings: "
                                 f"{', '.join(setting_names(info)) or 'none'}")
    out: Dict[str, Any] = {}
    for s in info.settings:
        value = given.get(s.name)
        if value is None:
            value = next((env[v] for v in s.envs if env.get(v)), None)
        if value is None:
            value = s.default
        if value is None and s.required:
            where = f"set {' or '.join(s.envs)} or pass" if s.envs else "pass"
            raise ConfigurationError(f"{info.name} needs a {s.name}: {where} {s.name}=... to the Client"
                                     + (f" ({s.description})" if s.description else ""))
        out[s.name] = value
    return out


def _hide_password(url: str) -> str:
    """``url`` as an error message may show it: never a password (``user:***@host``)."""
    return re.sub(r"(?<=://)[^/@]*@", "***@", url)


def check_base_url(url: str, source: str = "base_url") -> None:
    """Raise :class:`ConfigurationError` unless ``url`` can be an API root: an http or https URL
    with a host, no whitespace, no query or fragment (paths are appended to it). Checked once,
    when a Client is made, so a typo is not sent, retried and reported as a connection error.
    ``source`` names where the URL came from (``base_url``, an environment variable)."""
    from urllib.parse import urlsplit

    problem = None
    if any(c.isspace() for c in url):
        problem = "it contains whitespace (a stray space or newline?)"
    elif "://" not in url:
        scheme = "http" if url.startswith(("localhost", "127.", "::1", "[::1")) else "https"
        problem = f"it has no scheme; write '{scheme}://{_hide_password(url)}'"
    else:
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https"):
            problem = f"the scheme is {parts.scheme!r}; use http:// or https://"
        elif not parts.hostname:
            problem = "it names no host"
        elif parts.query or parts.fragment or url.endswith(("?", "#")):
            problem = "it has a query string or fragment; give the API root only (paths are appended to it)"
        else:
            try:
                parts.port
            except ValueError:
                problem = f"its port {parts.netloc.rpartition(':')[2]!r} is not a number from 0 to 65535"
    if problem is not None:
        shown = _hide_password(url)
        fix = "" if source == "base_url" else (
            f" (fix {source}, or pass base_url=... to the Client)" if source.isupper() else " (fix the settings)")
        raise ConfigurationError(f"{source} {shown!r} is not an http(s) URL: {problem}{fix}")


#: The test switch: while this environment variable holds an emulator's address
#: (``http://127.0.0.1:PORT``, :attr:`llmunified.testing.Emulator.base_url`), every Client of
#: every provider talks to that emulator, at the path of the provider's dialect, whatever
#: ``base_url=`` or the provider's own variables say; without ``api_key=`` it sends the
#: placeholder key :data:`EMULATOR_KEY` and never reads a key from the environment.
EMULATOR_ENV = "LLMUNIFIED_EMULATOR"
EMULATOR_KEY = "llmunified-emulator"


def emulator_base_url(info: ProviderInfo, emulator: str) -> str:
    """The base URL ``info``'s clients use with the emulator at ``emulator`` (see :data:`EMULATOR_ENV`)."""
    from urllib.parse import urlsplit

    parts = urlsplit(emulator.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ConfigurationError(f"{EMULATOR_ENV}={emulator!r} is not an emulator's address: expected "
                                 "http://HOST:PORT, as Emulator().base_url gives (unset it to use the real providers)")
    from .testing._emulator import emulator_url

    try:
        return emulator_url(emulator.strip(), info.name)
    except ValueError as exc:
        raise ConfigurationError(f"{EMULATOR_ENV} is set but {exc}: {info.name} cannot be emulated") from None


def resolve_config(info: ProviderInfo, *, api_key: Optional[KeySource] = None, base_url: Optional[str] = None,
                   headers: Optional[Mapping[str, str]] = None,
                   environ: Optional[Mapping[str, str]] = None,
                   settings: Optional[Mapping[str, Any]] = None) -> ProviderConfig:
    """Arguments first, then environment variables, then defaults. Raises before any network
    call when a required key or setting is missing."""
    env = os.environ if environ is None else environ
    resolved = _resolve_settings(info, settings or {}, env)
    source = "base_url"
    emulator = env.get(EMULATOR_ENV) or None
    if emulator:  # the test switch wins over base_url= and every provider variable
        base_url, source = emulator_base_url(info, emulator), EMULATOR_ENV
    if base_url is None and info.base_url_env:
        base_url = env.get(info.base_url_env) or None
        if base_url:
            source = info.base_url_env
            base_url = info.codec.base_url_from_env(base_url)
    if base_url is None:
        base_url = info.codec.base_url_for(resolved)  # e.g. a regional host chosen by a setting
        source = f"the base URL {info.name}'s settings give" if base_url else f"{info.name}'s default base URL"
    base_url = (base_url or info.base_url).rstrip("/")
    if base_url:  # empty: a provider without a default (Azure) names what to set in its codec
        check_base_url(base_url, source)
    if api_key is not None and not callable(api_key) and not isinstance(api_key, str):
        scope = info.details.get("token_scope")
        if scope and callable(getattr(api_key, "get_token", None)):
            api_key = CredentialToken(api_key, scope)
    if api_key is not None and not callable(api_key) and not isinstance(api_key, str):
        raise ConfigurationError(
            f"api_key must be a string or a callable returning one, got {type(api_key).__name__}")
    if not api_key and emulator:
        api_key = EMULATOR_KEY  # real keys in the environment are never sent to a test server
    if not api_key:
        for var in info.api_key_envs:
            api_key = env.get(var) or None
            if api_key:
                break
    if not api_key and info.key_required:
        names = " or ".join(info.api_key_envs)
        token = (" (or a callable returning a bearer token" + (", or a token credential object"
                                                                if info.details.get("token_scope") else "") + ")"
                 if info.token_auth is not None else "")
        raise ConfigurationError(
            f"no API key for {info.name}: set the {names} environment variable "
            f"or pass api_key=...{token} to the Client")
    return ProviderConfig(info, base_url, Secret(api_key) if api_key else None,
                          tuple((headers or {}).items()), _frozen(resolved))
