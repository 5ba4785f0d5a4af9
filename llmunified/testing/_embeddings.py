"""The emulator's embeddings endpoints, for every dialect that has one.

Vectors are deterministic: derived from the input's text alone (SHAKE-256 of its UTF-8 bytes),
unit length, float32 values (so a base64 reply decodes to exactly the floats of a JSON one), of
:data:`DEFAULT_DIMENSIONS` values unless the request asks for another size. The same text gives
the same vector on every provider, in every batch, in every run. Token counts are about one per
four characters (at least one).

Each function checks the request as the real API would (the inputs' shape, the per-request
limits, the fields it requires) and answers a 400 in the dialect's error shape, noted on
``request.violations``, when it breaks a rule. Scripted replies answer embeddings requests too
(an error status, a raw body, headers, a delay): see the server's ``_dispatch``.
"""
import base64
import functools
import hashlib
import math
import struct
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

from ._render import dumps

if TYPE_CHECKING:  # pragma: no cover
    from ._dialects._base import Answer, Dialect
    from ._request import RecordedRequest

__all__ = ["DEFAULT_DIMENSIONS", "vector", "tokens", "openai", "ollama", "gemini", "vertex_predict", "cohere"]

#: the size of the vectors when a request asks for none
DEFAULT_DIMENSIONS = 8
#: the most inputs one request may carry, per wire (their documented limits)
LIMITS = {"openai": 2048, "gemini": 100, "vertex": 250, "cohere": 96, "ollama": 100_000}
_GEMINI_TASKS = ("TASK_TYPE_UNSPECIFIED", "RETRIEVAL_QUERY", "RETRIEVAL_DOCUMENT", "SEMANTIC_SIMILARITY",
                 "CLASSIFICATION", "CLUSTERING", "QUESTION_ANSWERING", "FACT_VERIFICATION", "CODE_RETRIEVAL_QUERY")
_COHERE_TYPES = ("search_document", "search_query", "classification", "clustering", "image")
#: models with one fixed vector size (they refuse a requested size, as the real ones do)
_FIXED = ("text-embedding-ada-002", "embed-english-v3", "embed-multilingual-v3", "textembedding-gecko")


class _Bad(Exception):
    """A request the real API would refuse: 400 with this message."""

    def __init__(self, message: str, param: Optional[str] = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


@functools.lru_cache(maxsize=65536)
def _vector(text: str, dims: int) -> Tuple[float, ...]:
    digest = hashlib.shake_256(text.encode("utf-8", "surrogatepass")).digest(4 * dims)
    raw = [x / 2147483648.0 - 1.0 for x in struct.unpack("<%dI" % dims, digest)]
    norm = math.sqrt(sum(v * v for v in raw)) or 1.0
    return struct.unpack("<%df" % dims, struct.pack("<%df" % dims, *[v / norm for v in raw]))


def vector(text: str, dims: int = DEFAULT_DIMENSIONS) -> List[float]:
    """The emulator's vector for ``text`` (what ``Client.embed`` gets back for it)."""
    return list(_vector(text, dims))


def _b64(values: Tuple[float, ...]) -> str:
    return base64.b64encode(struct.pack("<%df" % len(values), *values)).decode("ascii")


def tokens(text: str) -> int:
    """The emulator's token count of one input."""
    return max(1, (len(text) + 3) // 4)


def _answer(dialect: "Dialect", request: "RecordedRequest", build: Any, pretty: bool = False) -> "Answer":
    from ._dialects._base import Answer

    try:
        body = build()
    except _Bad as bad:
        request.violations.append(bad.message)
        return Answer(400, dialect.error_body(400, bad.message, param=bad.param), dialect.json_content_type)
    if pretty:
        import json

        return Answer(200, (json.dumps(body, indent=2) + "\n").encode("utf-8"), dialect.json_content_type)
    return Answer(200, dumps(body), dialect.json_content_type)


def _object(body: Any) -> Dict[str, Any]:
    if not isinstance(body, dict):
        raise _Bad("The request body must be a JSON object.")
    return body


def _texts(value: Any, field: str, limit: int) -> List[str]:
    texts = [value] if isinstance(value, str) else value
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        raise _Bad("'%s' must be a non-empty string or a non-empty list of strings." % field, field)
    if any(not t for t in texts):
        raise _Bad("'%s' must not contain empty strings." % field, field)
    if len(texts) > limit:
        raise _Bad("'%s' has %d items; at most %d are allowed per request." % (field, len(texts), limit), field)
    return texts


def _dimensions(value: Any, model: str, field: str) -> int:
    if value is None:
        return DEFAULT_DIMENSIONS
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 4096:
        raise _Bad("'%s' must be an integer between 1 and 4096." % field, field)
    if model.rsplit("/", 1)[-1].startswith(_FIXED):
        raise _Bad("This model does not support specifying dimensions.", field)
    return value


# ---- OpenAI, Azure and every compatible host: POST /v1/embeddings ---------------------------------

def openai(dialect: "Dialect", request: "RecordedRequest", deployment: Optional[str] = None) -> "Answer":
    def build() -> Dict[str, Any]:
        body = _object(request.json)
        model = deployment or body.get("model")
        if not isinstance(model, str) or not model:
            raise _Bad("you must provide a model parameter", "model")
        texts = _texts(body.get("input"), "input", LIMITS["openai"])
        dims = _dimensions(body.get("dimensions"), model, "dimensions")
        fmt = body.get("encoding_format", "float")
        if fmt not in ("float", "base64"):
            raise _Bad("'encoding_format' must be 'float' or 'base64'.", "encoding_format")
        total = sum(tokens(t) for t in texts)
        if total > 300_000:
            raise _Bad("Requested %d tokens, max 300000 tokens per request" % total, "input")
        if fmt == "base64":
            data = [{"object": "embedding", "index": i, "embedding": _b64(_vector(t, dims))}
                    for i, t in enumerate(texts)]
        else:
            data = [{"object": "embedding", "index": i, "embedding": _vector(t, dims)} for i, t in enumerate(texts)]
        return {"object": "list", "data": data, "model": model,
                "usage": {"prompt_tokens": total, "total_tokens": total}}

    return _answer(dialect, request, build)


# ---- Ollama: POST /api/embed ------------------------------------------------------------------------

def ollama(dialect: "Dialect", request: "RecordedRequest") -> "Answer":
    def build() -> Dict[str, Any]:
        body = _object(request.json)
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise _Bad("model is required")
        texts = _texts(body.get("input"), "input", LIMITS["ollama"])
        dims = _dimensions(body.get("dimensions"), model, "dimensions")
        if "truncate" in body and not isinstance(body["truncate"], bool):
            raise _Bad("truncate must be a boolean")
        return {"model": model, "embeddings": [_vector(t, dims) for t in texts], "total_duration": 14143917,
                "load_duration": 1019500, "prompt_eval_count": sum(tokens(t) for t in texts)}

    return _answer(dialect, request, build)


# ---- Gemini (and Vertex's newer models): :embedContent, :batchEmbedContents -----------------------

def _content_text(entry: Dict[str, Any], where: str) -> Tuple[str, int]:
    content = entry.get("content")
    parts = content.get("parts") if isinstance(content, dict) else None
    if not isinstance(parts, list) or not parts:
        raise _Bad("* %s.content: contents is not specified" % where, where + ".content")
    text = "".join(p.get("text", "") for p in parts if isinstance(p, dict))
    if not text:
        raise _Bad("* %s.content: the text is empty" % where, where + ".content")
    task = entry.get("taskType", entry.get("task_type"))
    if task is not None and task not in _GEMINI_TASKS:
        raise _Bad("Invalid value at '%s.task_type' (type.googleapis.com/google.ai.generativelanguage.v1beta."
                   "TaskType), \"%s\"" % (where, task), where + ".task_type")
    size = entry.get("outputDimensionality", entry.get("output_dimensionality"))
    return text, (DEFAULT_DIMENSIONS if size is None else _dimensions(size, "", "outputDimensionality"))


def gemini(dialect: "Dialect", request: "RecordedRequest", usage: bool = False) -> "Answer":
    """``usage``: add ``usageMetadata`` (Vertex's embedContent tells the tokens; AI Studio's not)."""
    action = request.params.get("action")
    model = request.params.get("model", "")

    def build() -> Dict[str, Any]:
        body = _object(request.json)
        if action == "embedContent":
            text, dims = _content_text(body, "EmbedContentRequest")
            out: Dict[str, Any] = {"embedding": {"values": _vector(text, dims)}}
            if usage:
                out["usageMetadata"] = {"promptTokenCount": tokens(text)}
            return out
        entries = body.get("requests")
        if not isinstance(entries, list) or not entries:
            raise _Bad("* BatchEmbedContentsRequest.requests: requests is not specified", "requests")
        if len(entries) > LIMITS["gemini"]:
            raise _Bad("* BatchEmbedContentsRequest.requests: at most %d requests can be in one batch"
                       % LIMITS["gemini"], "requests")
        values = []
        for i, entry in enumerate(entries):
            where = "BatchEmbedContentsRequest.requests[%d]" % i
            if not isinstance(entry, dict):
                raise _Bad("* %s: must be an object" % where, where)
            if entry.get("model") != "models/" + model:
                raise _Bad("* %s.model: the model must be models/%s, as in the URL" % (where, model),
                           where + ".model")
            text, dims = _content_text(entry, where)
            values.append({"values": _vector(text, dims)})
        return {"embeddings": values}

    return _answer(dialect, request, build, pretty=True)


# ---- Vertex AI's older text-embedding models: :predict -------------------------------------------

def vertex_predict(dialect: "Dialect", request: "RecordedRequest") -> "Answer":
    model = request.params.get("model", "")

    def build() -> Dict[str, Any]:
        body = _object(request.json)
        instances = body.get("instances")
        if not isinstance(instances, list) or not instances:
            raise _Bad("instances must be a non-empty list", "instances")
        limit = 5 if model.startswith("textembedding-gecko") else LIMITS["vertex"]
        if len(instances) > limit:
            raise _Bad("The model %s accepts at most %d instances per request, got %d."
                       % (model, limit, len(instances)), "instances")
        parameters = body.get("parameters") or {}
        dims = _dimensions(parameters.get("outputDimensionality"), model, "parameters.outputDimensionality") \
            if isinstance(parameters, dict) else DEFAULT_DIMENSIONS
        predictions, chars = [], 0
        for i, instance in enumerate(instances):
            text = instance.get("content") if isinstance(instance, dict) else None
            if not isinstance(text, str) or not text:
                raise _Bad("instances[%d].content must be a non-empty string" % i, "instances")
            task = instance.get("task_type")
            if task is not None and task not in _GEMINI_TASKS:
                raise _Bad("instances[%d].task_type %r is not a task type" % (i, task), "instances")
            chars += len(text)
            predictions.append({"embeddings": {"statistics": {"truncated": False, "token_count": tokens(text)},
                                               "values": _vector(text, dims)}})
        return {"predictions": predictions, "metadata": {"billableCharacterCount": chars}}

    return _answer(dialect, request, build, pretty=True)


# ---- Cohere: POST /v2/embed -----------------------------------------------------------------------

def cohere(dialect: "Dialect", request: "RecordedRequest") -> "Answer":
    def build() -> Dict[str, Any]:
        body = _object(request.json)
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise _Bad("invalid request: model is required", "model")
        texts = _texts(body.get("texts"), "texts", LIMITS["cohere"])
        kind = body.get("input_type")
        if kind not in _COHERE_TYPES:
            raise _Bad("invalid request: input_type must be one of %s" % ", ".join(_COHERE_TYPES), "input_type")
        dims = _dimensions(body.get("output_dimension"), model, "output_dimension")
        if body.get("truncate", "END") not in ("NONE", "START", "END"):
            raise _Bad("invalid request: truncate must be one of NONE, START, END", "truncate")
        kinds = body.get("embedding_types") or ["float"]
        embeddings: Dict[str, Any] = {}
        for name in kinds:
            if name == "float":
                embeddings["float"] = [_vector(t, dims) for t in texts]
            elif name == "int8":
                embeddings["int8"] = [[int(round(v * 127)) for v in _vector(t, dims)] for t in texts]
            else:
                raise _Bad("invalid request: embedding type %r is not supported here" % (name,), "embedding_types")
        return {"id": "emb-%08d" % len(request.body), "texts": texts, "embeddings": embeddings,
                "meta": {"api_version": {"version": "2"},
                         "billed_units": {"input_tokens": sum(tokens(t) for t in texts)}},
                "response_type": "embeddings_by_type"}

    return _answer(dialect, request, build)
