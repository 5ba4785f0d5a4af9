"""Google Cloud Vertex AI (``vertex/<model>``): Google's Gemini models and Anthropic's Claude
models, each publisher with its own wire protocol. Wire facts: docs/wire.md §4 (Anthropic on
Vertex) and §6 (Gemini on Vertex).

Decisions this module makes (the behaviour tests hold it to them):

- **Settings.** ``project`` (required: the ``project=`` Client argument, else
  ``GOOGLE_CLOUD_PROJECT``) and ``location`` (``location=``, else ``GOOGLE_CLOUD_LOCATION``,
  else ``us-central1``). The location picks the host (docs/wire.md §4 URL): ``global`` ->
  ``aiplatform.googleapis.com``, ``us`` / ``eu`` -> ``aiplatform.{us,eu}.rep.googleapis.com``, a
  region such as ``europe-west4`` -> ``europe-west4-aiplatform.googleapis.com``. Any other
  location, or a project id with characters a project id cannot have, is a ConfigurationError
  before any request. An explicit ``base_url`` (or ``VERTEX_BASE_URL``) wins over the host; a
  base URL already ending in the API version (``.../v1``, ``.../v1beta1``) is used as it is,
  otherwise ``/v1`` is added.
- **Publisher from the model name.** ``claude-*`` (or ``anthropic/<model>``) goes to Anthropic:
  ``.../publishers/anthropic/models/{model}:rawPredict`` (``:streamRawPredict`` streaming), the
  Messages body without ``model`` and with ``"anthropic_version": "vertex-2023-10-16"``, no
  ``anthropic-version`` header (:class:`VertexAnthropicCodec`). Any other name (or
  ``google/<model>``) goes to Google: ``.../publishers/google/models/{model}:generateContent``
  (``:streamGenerateContent?alt=sse``) with the Gemini body (:class:`VertexGeminiCodec`).
  Replies, streams, thinking signatures and errors are decoded by the Anthropic and Gemini
  codecs unchanged. Another publisher (``meta/...``) or an empty name is a ConfigurationError
  naming the supported forms. The entry's codec, :class:`VertexCodec`, only chooses
  (``Codec.for_model``).
- **Auth.** ``Authorization: Bearer <token>``, never ``x-api-key``. The token is ``api_key=``: a
  string, or a callable returning a fresh token (called per request). Without one,
  Application Default Credentials through google-auth (``llmunified._google_auth``, imported
  only then), refreshed before they expire, with ``x-goog-user-project`` when the credentials
  name a quota project; google-auth missing or finding no credentials is a ConfigurationError
  when the client is made, a failed refresh an AuthenticationError.
- **Express mode** (Vertex AI in express mode: an express-mode API key, no project): a string
  ``api_key=`` with no project set goes to the global host ``aiplatform.googleapis.com`` at
  ``/v1/publishers/google/models/{model}:generateContent`` (Google's express-mode REST reference:
  no projects or locations in the path), the key in ``x-goog-api-key`` as Google's own SDK sends
  it. Gemini models only: Claude's ``rawPredict`` takes no API keys, so a Claude model without a
  project is a ConfigurationError saying so. A callable ``api_key`` (a token) or no key at all
  still needs a project.
- Images: ``gs://`` URIs go as ``fileData`` (Vertex reads Cloud Storage); other URL-only images
  are a ValidationError, as for the Gemini API.
- ``reasoning=`` and ``cache=`` are the publisher codec's: ``thinking`` (with its rules) and
  ``cache_control`` breakpoints for Claude, ``thinkingConfig`` for Gemini (see AnthropicCodec,
  GeminiCodec).
"""
from __future__ import annotations
import dataclasses
import re
from typing import Any, Dict, List, Mapping, Optional, Tuple

from .._registry import Auth, ProviderConfig, ProviderInfo, Setting
from ..errors import ConfigurationError, ValidationError
from .._http import HTTPRequest
from .._types import ModelInfo, Usage
from ._base import Codec, decode_json, shape_guard
from .anthropic import AnthropicCodec
from .gemini import GeminiCodec

__all__ = ["VertexCodec", "VertexGeminiCodec", "VertexAnthropicCodec", "host_for", "route", "express", "ANTHROPIC_VERSION",
           "EXPRESS_HOST"]

#: the ``anthropic_version`` body field on Vertex (docs/wire.md §4 Body)
ANTHROPIC_VERSION = "vertex-2023-10-16"

_REGION = re.compile(r"^[a-z]+-[a-z]+[0-9]+$")  # us-central1, europe-west4, asia-northeast1
_PROJECT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.:_-]*$")  # ids, numbers, "example.com:my-project"
_VERSIONED = re.compile(r"/v1(?:alpha|beta)?\d*$")

_FORMS = ("vertex/<Gemini model> (e.g. vertex/gemini-2.5-flash), vertex/claude-<...> "
          "(e.g. vertex/claude-sonnet-4@20250514), or with the publisher named: vertex/google/<model>, "
          "vertex/anthropic/<model>")


def host_for(location: Any) -> str:
    """The Vertex AI host for a location (docs/wire.md §4 URL, §6 URL)."""
    if location == "global":
        return "https://aiplatform.googleapis.com"
    if location in ("us", "eu"):
        return f"https://aiplatform.{location}.rep.googleapis.com"
    if isinstance(location, str) and _REGION.match(location):
        return f"https://{location}-aiplatform.googleapis.com"
    raise ConfigurationError(
        f"vertex: unknown location {location!r}: expected 'global', 'us', 'eu' or a region such as 'us-central1' "
        "or 'europe-west4' (location=... or GOOGLE_CLOUD_LOCATION)")


def route(model: str) -> Tuple[str, str]:
    """(publisher, model id) for a model name: ``("anthropic", ...)`` or ``("google", ...)``."""
    if not isinstance(model, str) or not model.strip():
        raise ConfigurationError(f"vertex needs a model name; the supported forms: {_FORMS}")
    publisher, sep, name = model.partition("/")
    if sep:
        if publisher not in ("google", "anthropic") or not name or "/" in name:
            raise ConfigurationError(
                f"vertex cannot route the model {model!r}: only Google's and Anthropic's models are supported, "
                f"named {_FORMS}")
        return publisher, name
    return ("anthropic" if model.startswith("claude") else "google"), model


#: the host of Vertex AI in express mode (no project, no location)
EXPRESS_HOST = "https://aiplatform.googleapis.com"
#: how an express-mode API key travels (as Google's SDK sends it)
EXPRESS_AUTH = Auth.header("x-goog-api-key")


def express(config: ProviderConfig) -> bool:
    """True when a configuration means Vertex AI in express mode: a plain API key, no project."""
    key = config.api_key
    return not config.settings.get("project") and key is not None and not key.is_callable


def _resource(config: ProviderConfig, publisher: str, model: str) -> str:
    """``/v1/projects/{project}/locations/{location}/publishers/{publisher}/models/{model}``, or
    in express mode ``/v1/publishers/google/models/{model}``."""
    settings = config.settings
    project, location = settings.get("project"), settings.get("location")
    version = "" if _VERSIONED.search(config.base_url) else "/v1"
    if express(config):
        if publisher != "google":
            raise ConfigurationError(
                f"vertex: {model!r} is an Anthropic model, which Vertex AI serves only to a project with OAuth "
                "credentials (express-mode API keys serve Gemini models): set GOOGLE_CLOUD_PROJECT or pass "
                "project=..., and a token or Application Default Credentials instead of the API key")
        return f"{version}/publishers/google/models/{model}"
    if not project:
        raise ConfigurationError(
            "vertex needs a project: set GOOGLE_CLOUD_PROJECT or pass project=... to the Client (or, for Vertex AI "
            "in express mode, pass your express-mode API key as api_key='...' without a project)")
    if not isinstance(project, str) or not _PROJECT.match(project):
        raise ConfigurationError(f"vertex: {project!r} is not a Google Cloud project id (project=...)")
    host_for(location)  # validates the location, also when base_url names the host
    return f"{version}/projects/{project}/locations/{location}/publishers/{publisher}/models/{model}"


#: why Vertex AI has no ``list_models``
_NO_LISTING = ("the publisher model catalogue (Model Garden) has no listing endpoint in the wire facts this library "
               "is built on; see the Vertex AI console, or name the model directly (vertex/gemini-2.5-flash, "
               "vertex/claude-sonnet-4-5@20250929)")


class _NoListing(Codec):
    """Vertex AI hosts: no model listing (ConfigurationError before any request)."""

    def models_request(self, page_token: Optional[str] = None) -> HTTPRequest:
        raise self.unsupported("listing models (Client.list_models)", _NO_LISTING)

    def parse_models(self, body: bytes, headers: Mapping[str, str]) -> Tuple[List[ModelInfo], Optional[str]]:
        raise self.unsupported("listing models (Client.list_models)", _NO_LISTING)


class VertexGeminiCodec(_NoListing, GeminiCodec):
    """Gemini on Vertex AI (docs/wire.md §6): the Gemini codec with Vertex's resource path."""

    def __init__(self, config: ProviderConfig, model: str) -> None:
        self._resource = _resource(config, "google", model)
        super().__init__(config, model)

    def model_path(self, model: str) -> str:
        return self._resource

    def count_body(self, body: Dict[str, Any]) -> Dict[str, Any]:
        # Vertex's countTokens takes contents, systemInstruction and tools at the top level
        # (its CountTokensRequest has no generateContentRequest and no toolConfig)
        body.pop("toolConfig", None)
        body.pop("cachedContent", None)
        return body

    # -- embeddings (docs/wire.md §6 Embeddings) ------------------------------------------------
    # The older text-embedding models (text-embedding-00x, text-multilingual-embedding-*,
    # textembedding-gecko*) answer ``:predict`` with ``instances``; newer ones (gemini-embedding-*)
    # ``:embedContent``, one input per request (Vertex has no batchEmbedContents). Vertex caps a
    # predict request at 250 texts and 20,000 tokens (gecko models: 5 texts).
    def _predict(self) -> bool:
        return self.model.startswith(_PREDICT_MODELS)

    def embed_limits(self) -> Tuple[int, float]:
        if not self._predict():
            return 1, float("inf")
        return (5 if self.model.startswith("textembedding-gecko") else 250), 20_000

    def embed_request(self, inputs: List[str], options: Any) -> HTTPRequest:
        if not self._predict():
            if len(inputs) > 1:
                raise ValidationError(f"vertex/{self.model} embeds one input per request (:embedContent): "
                                      "leave batch_size unset or set it to 1")
            return super().embed_request(inputs, options)
        from .._embed import gemini_task, truncate_flag
        from .._options import deep_merge

        instance: Dict[str, Any] = {}
        if options.input_type is not None:
            instance["task_type"] = gemini_task(options.input_type)
        body: Dict[str, Any] = {"instances": [dict(instance, content=text) for text in inputs]}
        parameters: Dict[str, Any] = {}
        if options.dimensions is not None:
            parameters["outputDimensionality"] = options.dimensions
        if options.truncate is not None:
            parameters["autoTruncate"] = truncate_flag(self, options.truncate)
        if parameters:
            body["parameters"] = parameters
        if options.extra:
            body = deep_merge(body, options.extra)
        return self.request("POST", self._resource + ":predict",
                            {"Content-Type": "application/json", "Accept": "application/json"}, body)

    def parse_embeddings(self, body: bytes, headers: Mapping[str, str]) -> Any:
        if not self._predict():
            return super().parse_embeddings(body, headers)
        return _parse_predict(self, body, headers)


#: model-name prefixes that embed through ``:predict`` on Vertex AI
_PREDICT_MODELS = ("text-embedding-", "text-multilingual-embedding-", "textembedding-gecko")


@shape_guard
def _parse_predict(codec: Codec, body: bytes, headers: Mapping[str, str]) -> Any:
    """``{"predictions": [{"embeddings": {"values", "statistics": {"token_count", "truncated"}}}]}``:
    the usage is the sum of the token counts; the statistics stay on ``raw["statistics"]``."""
    from .._embed import EmbedBatch, as_vector

    data = decode_json(codec.provider, body, headers=headers, what="embeddings reply")
    predictions = data.pop("predictions")
    if not isinstance(predictions, list):
        raise TypeError("'predictions' is not a list")
    vectors, statistics, tokens = [], [], 0
    for item in predictions:
        embedding = item["embeddings"]
        vectors.append(as_vector(embedding["values"]))
        stats = embedding.get("statistics")
        statistics.append(stats)
        count = stats.get("token_count") if isinstance(stats, dict) else None
        tokens += int(count) if isinstance(count, (int, float)) and not isinstance(count, bool) else 0
    data["statistics"] = statistics
    usage = Usage(tokens, 0, tokens) if any(isinstance(s, dict) and "token_count" in s for s in statistics) else None
    return EmbedBatch(vectors, usage, None, data)


class VertexAnthropicCodec(_NoListing, AnthropicCodec):
    """Claude on Vertex AI (docs/wire.md §4): the Anthropic codec with Vertex's URL, the API
    version in the body instead of a header, and the model only in the URL."""

    version_header = None

    def __init__(self, config: ProviderConfig, model: str) -> None:
        self._resource = _resource(config, "anthropic", model)
        super().__init__(config, model)

    def request_path(self, stream: bool) -> str:
        return self._resource + (":streamRawPredict" if stream else ":rawPredict")

    def adapt_body(self, body: Dict[str, Any]) -> Dict[str, Any]:
        body.pop("model", None)
        return {"anthropic_version": ANTHROPIC_VERSION, **body}

    # Token counting (docs/wire.md §4): one ``count-tokens`` publisher model for every Claude
    # model, so the model goes in the body, beside ``anthropic_version``.
    def count_path(self) -> str:
        return self._resource.rsplit("/models/", 1)[0] + "/models/count-tokens:rawPredict"

    def count_body(self, body: Dict[str, Any]) -> Dict[str, Any]:
        return {**body, "model": self.model}


class VertexCodec(Codec):
    """The ``vertex`` entry's codec: it only chooses, per model, the codec that speaks the
    publisher's protocol (:meth:`for_model`); it is never instantiated itself."""

    protocol = "vertex"
    thinking_replay = "signed"  # both publishers' codecs send back signed thinking only
    token_endpoint = True  # both publishers' codecs count (docs/wire.md §4, §6)

    @classmethod
    def for_model(cls, config: ProviderConfig, model: str) -> Codec:
        publisher, name = route(model)
        _resource(config, publisher, name)  # a bad project or location fails before credentials are looked for
        if express(config):
            config = dataclasses.replace(config, info=dataclasses.replace(config.info, auth=EXPRESS_AUTH))
        elif config.api_key is None:
            from .._google_auth import adc_secret  # google-auth, only now that it is needed

            secret = adc_secret(config.name)
            headers = config.headers
            quota = secret.quota_project
            if quota and not any(k.lower() == "x-goog-user-project" for k, _ in headers):
                # the project billed for user credentials' quota, as google-auth itself would send
                # it (docs/wire.md §6 Auth); the caller's header wins
                headers = headers + (("x-goog-user-project", quota),)
            config = dataclasses.replace(config, api_key=secret, headers=headers)
        codec_class = VertexAnthropicCodec if publisher == "anthropic" else VertexGeminiCodec
        return codec_class(config, name)

    @classmethod
    def base_url_for(cls, settings: Mapping[str, Any]) -> Optional[str]:
        if not settings.get("project"):
            return EXPRESS_HOST  # express mode; without a key the codec refuses before any call
        return host_for(settings.get("location"))


#: the providers this codec serves; the registry collects them
PROVIDERS = [
    ProviderInfo("vertex", VertexCodec, "https://us-central1-aiplatform.googleapis.com", None, "VERTEX_BASE_URL", False,
                 "Vertex AI (Gemini, Claude)",
                 auth=Auth.bearer(), token_auth=Auth.bearer(), token_family="default",
                 details={"file_uri_prefixes": ("gs://",)},
                 settings=(Setting("project", env="GOOGLE_CLOUD_PROJECT",
                                   description="the Google Cloud project id (none in express mode)"),
                           Setting("location", env="GOOGLE_CLOUD_LOCATION", default="us-central1",
                                   description="'global', 'us', 'eu' or a region such as 'europe-west4'"))),
]
