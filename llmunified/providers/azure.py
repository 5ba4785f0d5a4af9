"""Azure OpenAI (``azure/<deployment>``): OpenAI's Chat Completions served from an Azure
resource. Wire facts: docs/wire.md §2.

Decisions this module makes (the behaviour tests hold it to them):

- **Endpoint.** ``base_url`` is the resource endpoint (``https://<resource>.openai.azure.com``,
  or an AI Foundry ``https://<resource>.services.ai.azure.com`` /
  ``https://<resource>.cognitiveservices.azure.com``), else ``AZURE_OPENAI_ENDPOINT``. There is no
  default: a missing endpoint is a ConfigurationError naming both, before any request.
- **Two URL styles.** The deployments API,
  ``/openai/deployments/{deployment}/chat/completions?api-version={api_version}``, with
  ``api_version=`` (else ``OPENAI_API_VERSION``, else the GA version :data:`DEFAULT_API_VERSION`);
  and the v1 API, ``/openai/v1/chat/completions`` with the deployment as ``model`` in the body and
  no ``api-version``, chosen by ``api_version="v1"`` or by a base URL that already ends in
  ``/openai/v1``. A base URL ending in ``/openai`` is taken as the resource endpoint.
- **The deployment** is the model part of the name (``azure/my-gpt-4o``): letters, digits, ``-``,
  ``_`` and ``.``, as Azure allows; anything else (a ``/``, a space) is a ConfigurationError
  before any request, not a 404 from a mangled URL.
- **Auth.** A string key (``api_key=`` or ``AZURE_OPENAI_API_KEY``) goes in the ``api-key``
  header. Microsoft Entra ID: ``api_key=`` a callable returning a bearer token (called per
  request; ``azure.identity.get_bearer_token_provider(...)`` is such a callable) or a token
  credential object itself (azure-identity's ``DefaultAzureCredential()`` and the like: its
  token for :data:`TOKEN_SCOPE` is kept until shortly before it expires), sent as
  ``Authorization: Bearer``. Exactly one of the two headers is ever sent.
- **Azure's additions to the reply** are kept as they came: ``prompt_filter_results`` and each
  choice's ``content_filter_results`` are on ``response.raw`` (the streamed ones on the raw event
  list, including the first chunk, which has empty ``choices`` and only the prompt's filter
  results). A completion the filter stopped ends with ``finish_reason="content_filter"``.
- **A prompt the content filter blocks** (HTTP 400, ``code: "content_filter"``, inner code
  ``ResponsibleAIPolicyViolation``) raises :class:`~llmunified.errors.ContentFilterError` whose
  ``categories`` are the filter's verdicts (``error.filtered`` names the flagged ones).
- ``apim-request-id`` is the request id of errors and responses when no ``x-request-id`` came.
"""
from __future__ import annotations
import json
import re
from typing import Mapping, Optional
from urllib.parse import quote

from .._registry import Auth, ProviderConfig, ProviderInfo, Setting
from ..errors import APIError, ConfigurationError, ContentFilterError
from .openai import OpenAICodec

__all__ = ["AzureCodec", "DEFAULT_API_VERSION", "TOKEN_SCOPE"]

#: the GA data-plane version sent when neither ``api_version=`` nor ``OPENAI_API_VERSION`` is set
DEFAULT_API_VERSION = "2024-10-21"
#: the scope of Microsoft Entra ID tokens for Azure OpenAI (asked of credential objects)
TOKEN_SCOPE = "https://cognitiveservices.azure.com/.default"

_DEPLOYMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_VERSION = re.compile(r"^(v1|\d{4}-\d{2}-\d{2}(-preview)?)$")


class AzureCodec(OpenAICodec):
    """Chat Completions on an Azure OpenAI deployment (see the module's notes)."""

    protocol = "azure"

    def __init__(self, config: ProviderConfig, model: str) -> None:
        super().__init__(config, model)
        version = config.settings.get("api_version") or DEFAULT_API_VERSION
        lowered = config.base_url.lower()
        # Paths follow base_url: the resource endpoint, or the same ending in /openai or /openai/v1.
        if lowered.endswith("/openai/v1"):
            self._v1, prefix = True, ""
        else:
            self._v1 = version == "v1"
            prefix = ("" if lowered.endswith("/openai") else "/openai") + (
                "/v1" if self._v1 else f"/deployments/{quote(model, safe='')}")
        self._prefix = prefix
        self._query = "" if self._v1 else f"?api-version={quote(version, safe='')}"

    @classmethod
    def for_model(cls, config: ProviderConfig, model: str) -> "AzureCodec":
        if not config.base_url:
            raise ConfigurationError(
                "azure needs the resource endpoint: set AZURE_OPENAI_ENDPOINT or pass "
                "base_url='https://<resource>.openai.azure.com' to the Client")
        if not config.base_url.startswith(("http://", "https://")):
            raise ConfigurationError(
                f"azure: the endpoint {config.base_url!r} is not an http(s) URL; expected "
                "'https://<resource>.openai.azure.com' (base_url=... or AZURE_OPENAI_ENDPOINT)")
        if not isinstance(model, str) or not _DEPLOYMENT.match(model) or len(model) > 64:
            raise ConfigurationError(
                f"azure: {model!r} is not a deployment name: name the deployment as azure/<deployment> (letters, "
                "digits, '-', '_' and '.', at most 64 characters)")
        version = config.settings.get("api_version")
        if version is not None and (not isinstance(version, str) or not _VERSION.match(version)):
            raise ConfigurationError(
                f"azure: api_version {version!r} is not an Azure OpenAI API version: expected a date such as "
                f"'{DEFAULT_API_VERSION}' or '2025-04-01-preview', or 'v1' for the v1 API "
                "(api_version=... or OPENAI_API_VERSION)")
        return cls(config, model)

    @property
    def v1(self) -> bool:
        """True when this client speaks the v1 API (no deployment in the URL, no api-version)."""
        return self._v1

    def path(self, endpoint: str) -> str:
        return f"{self._prefix}/{endpoint}{self._query}"

    #: Azure's batch entries and jobs name the endpoint without the version (its batch guide)
    batch_endpoint = "/chat/completions"

    def batch_path(self, endpoint: str) -> str:
        # Files and batches belong to the resource, not to a deployment: /openai/files?api-version=
        # (the entries' "model" names the Global Batch deployment), or /openai/v1/files.
        if self._v1:
            return f"{self._prefix}/{endpoint}"
        root = "" if self.config.base_url.lower().endswith("/openai") else "/openai"
        return f"{root}/{endpoint}{self._query}"

    def models_path(self) -> str:
        # The resource's base models (docs/wire.md §2 Models): /openai/models?api-version= on the
        # deployments API, /openai/v1/models on the v1 API; deployments are ARM's, not listed here.
        if self._v1:
            return f"{self._prefix}/models"
        root = "" if self.config.base_url.lower().endswith("/openai") else "/openai"
        return f"{root}/models{self._query}"

    def api_error(self, status: int, headers: Mapping[str, str], body: bytes) -> APIError:
        err = super().api_error(status, headers, body)
        verdicts = _blocked_prompt(err)
        if verdicts is None:
            return err
        blocked = self.make_error(status, headers, err.message, err.error_type, err.code, err.body,
                                  cls=ContentFilterError)
        blocked.categories = verdicts  # type: ignore[attr-defined]  # a ContentFilterError
        return blocked


def _blocked_prompt(err: APIError) -> Optional[dict]:
    """The filter's verdicts when ``err`` is Azure's content-filter refusal of the prompt, else None."""
    if err.status != 400 or not err.body:
        return None
    try:
        data = json.loads(err.body)
    except ValueError:
        return None
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict):
        return None
    inner = error.get("innererror")
    inner = inner if isinstance(inner, dict) else {}
    if error.get("code") != "content_filter" and inner.get("code") != "ResponsibleAIPolicyViolation":
        return None
    verdicts = inner.get("content_filter_result") or inner.get("content_filter_results") or {}
    return dict(verdicts) if isinstance(verdicts, dict) else {}


#: the providers this codec serves; the registry collects them
PROVIDERS = [
    ProviderInfo("azure", AzureCodec, "", "AZURE_OPENAI_API_KEY", "AZURE_OPENAI_ENDPOINT", True,
                 "Azure OpenAI (deployments, v1 API)",
                 auth=Auth.header("api-key"), token_auth=Auth.bearer(), token_family="openai",
                 details={"max_tokens_field": "max_completion_tokens", "token_scope": TOKEN_SCOPE, "batch": True},
                 settings=(Setting("api_version", env="OPENAI_API_VERSION", default=DEFAULT_API_VERSION,
                                   description="a date version such as '2025-04-01-preview', or 'v1'"),)),
]
