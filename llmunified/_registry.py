"""Which providers exist, where they live, and how a ``provider/model`` name is resolved."""
import os
from dataclasses import dataclass, field
from typing import Dict, Mapping, Optional, Tuple

from .errors import ConfigurationError

__all__ = ["ProviderInfo", "PROVIDERS", "split_model", "Secret", "ProviderConfig", "resolve_config"]


@dataclass(frozen=True)
class ProviderInfo:
    """Static facts about one provider name."""

    name: str
    codec: str                    # module in llmunified.providers that speaks its wire format
    base_url: str
    api_key_env: Optional[str]
    base_url_env: Optional[str]
    key_required: bool
    description: str


def _p(name: str, codec: str, base_url: str, key_env: Optional[str], url_env: Optional[str],
       key_required: bool, description: str) -> ProviderInfo:
    return ProviderInfo(name, codec, base_url, key_env, url_env, key_required, description)


PROVIDERS: Dict[str, ProviderInfo] = {p.name: p for p in (
    _p("openai", "openai", "https://api.openai.com/v1", "OPENAI_API_KEY", "OPENAI_BASE_URL", True,
       "OpenAI Chat Completions"),
    _p("anthropic", "anthropic", "https://api.anthropic.com", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", True,
       "Anthropic Messages"),
    _p("ollama", "ollama", "http://localhost:11434", "OLLAMA_API_KEY", "OLLAMA_HOST", False,
       "Ollama native /api/chat"),
    _p("lmstudio", "openai", "http://localhost:1234/v1", "LMSTUDIO_API_KEY", "LMSTUDIO_BASE_URL", False,
       "LM Studio (OpenAI-compatible)"),
    _p("groq", "openai", "https://api.groq.com/openai/v1", "GROQ_API_KEY", "GROQ_BASE_URL", True,
       "Groq (OpenAI-compatible)"),
    _p("together", "openai", "https://api.together.xyz/v1", "TOGETHER_API_KEY", "TOGETHER_BASE_URL", True,
       "Together AI (OpenAI-compatible)"),
    _p("openrouter", "openai", "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY", "OPENROUTER_BASE_URL", True,
       "OpenRouter (OpenAI-compatible)"),
    _p("deepseek", "openai", "https://api.deepseek.com/v1", "DEEPSEEK_API_KEY", "DEEPSEEK_BASE_URL", True,
       "DeepSeek (OpenAI-compatible)"),
    _p("vllm", "openai", "http://localhost:8000/v1", "VLLM_API_KEY", "VLLM_BASE_URL", False,
       "vLLM server (OpenAI-compatible)"),
)}


def split_model(model: str) -> Tuple[ProviderInfo, str]:
    """``"openrouter/meta-llama/llama-3-70b"`` -> (openrouter info, ``"meta-llama/llama-3-70b"``)."""
    if not isinstance(model, str) or "/" not in model:
        raise ConfigurationError(
            f"model must be named 'provider/model' (e.g. 'openai/gpt-4o-mini'), got {model!r}; "
            f"known providers: {', '.join(sorted(PROVIDERS))}")
    provider, _, name = model.partition("/")
    info = PROVIDERS.get(provider.lower())
    if info is None:
        raise ConfigurationError(
            f"unknown provider {provider!r} in model {model!r}; known providers: {', '.join(sorted(PROVIDERS))}. "
            "For another OpenAI-compatible server use 'openai/<model>' with base_url=...")
    if not name:
        raise ConfigurationError(f"model {model!r} names no model after the provider")
    return info, name


class Secret:
    """Holds an API key; its repr and str never show the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self):  # pragma: no cover - refuse to pickle keys by accident
        raise TypeError("Secret values are not picklable")


@dataclass(frozen=True)
class ProviderConfig:
    """Everything a codec needs to address one provider. ``api_key`` is a :class:`Secret`."""

    info: ProviderInfo
    base_url: str
    api_key: Optional[Secret]
    headers: Tuple[Tuple[str, str], ...] = field(default=(), repr=False)  # may carry credentials

    @property
    def name(self) -> str:
        return self.info.name


def _normalise_ollama_host(value: str) -> str:
    """OLLAMA_HOST as Ollama itself reads it: no scheme means http and port 11434; an explicit
    scheme without a port means that scheme's default port (80/443)."""
    value = value.strip().rstrip("/")
    if "://" in value:
        scheme, _, rest = value.partition("://")
        default_port = "443" if scheme == "https" else "80"
    else:
        scheme, rest, default_port = "http", value, "11434"
    host = rest.split("/", 1)[0]
    if ":" not in host.rsplit("]", 1)[-1]:
        rest = rest.replace(host, host + ":" + default_port, 1)
    return f"{scheme}://{rest}"


def resolve_config(info: ProviderInfo, *, api_key: Optional[str] = None, base_url: Optional[str] = None,
                   headers: Optional[Mapping[str, str]] = None,
                   environ: Optional[Mapping[str, str]] = None) -> ProviderConfig:
    """Arguments first, then environment variables, then defaults. Raises before any network
    call when a required key is missing."""
    env = os.environ if environ is None else environ
    if base_url is None and info.base_url_env:
        base_url = env.get(info.base_url_env) or None
        if base_url and info.name == "ollama":
            base_url = _normalise_ollama_host(base_url)
    base_url = (base_url or info.base_url).rstrip("/")
    if not api_key and info.api_key_env:
        api_key = env.get(info.api_key_env) or None
    if not api_key and info.key_required:
        raise ConfigurationError(
            f"no API key for {info.name}: set the {info.api_key_env} environment variable "
            f"or pass api_key=... to the Client")
    return ProviderConfig(info, base_url, Secret(api_key) if api_key else None,
                          tuple((headers or {}).items()))
