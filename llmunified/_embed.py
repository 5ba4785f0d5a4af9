"""Embeddings, sans-IO: the options of ``Client.embed``, splitting the inputs into batches the
provider accepts, and putting the replies back together in the inputs' order.

Both twins' ``Client.embed`` ask an :class:`EmbedJob` (made by ``Endpoint.embedding``) for each
batch's request, hand each 2xx body back to it and take the :class:`~llmunified.Embeddings` it
assembles; the I/O layer sends the batches at most ``max_concurrency`` at a time. The wire of
each provider is its codec's (``Codec.embed_request`` / ``Codec.parse_embeddings``).

Memory: the vectors are the only per-input objects kept (lists of floats); a reply's other
fields are kept once per request (``Embeddings.raw``), its vectors taken out of it.
"""
from __future__ import annotations
import array
import base64
import binascii
import sys
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple, Union

from ._types import Embeddings, Usage
from .errors import LLMError, MalformedResponseError, UnsupportedParameterError, ValidationError

if TYPE_CHECKING:  # pragma: no cover
    from ._http import HTTPRequest
    from .providers._base import Codec

__all__ = ["EmbedOptions", "EmbedBatch", "EmbedJob", "make_embed_options", "check_inputs", "plan_batches",
           "decode_base64", "as_vector", "as_vectors", "unsupported", "gemini_task", "cohere_input_type", "truncate_flag",
           "EMBED_OPTIONS", "DEFAULT_CONCURRENCY"]

#: the options ``Client.embed`` takes
EMBED_OPTIONS = ("dimensions", "input_type", "truncate", "encoding_format", "extra", "timeout", "batch_size",
                 "max_concurrency")
#: batches in flight at once by default
DEFAULT_CONCURRENCY = 4

#: unified input types (Cohere's names) -> Gemini's / Vertex's task types
_GEMINI_TASKS = {
    "search_document": "RETRIEVAL_DOCUMENT", "search_query": "RETRIEVAL_QUERY",
    "classification": "CLASSIFICATION", "clustering": "CLUSTERING",
    "semantic_similarity": "SEMANTIC_SIMILARITY", "question_answering": "QUESTION_ANSWERING",
    "fact_verification": "FACT_VERIFICATION", "code_retrieval_query": "CODE_RETRIEVAL_QUERY",
}
_COHERE_TYPES = ("search_document", "search_query", "classification", "clustering", "image")
_FROM_GEMINI = {v: k for k, v in _GEMINI_TASKS.items()}

#: model names (prefixes, after any ``publisher/``) whose vectors have one fixed size: they take
#: no ``dimensions`` (OpenAI: only text-embedding-3 and later; Google's and Cohere's older models)
_FIXED_SIZE = ("text-embedding-ada-002", "textembedding-gecko", "embedding-001", "embedding-gecko-001",
               "embed-english-v", "embed-multilingual-v", "embed-english-light-v", "embed-multilingual-light-v")


class EmbedOptions(NamedTuple):
    """The checked options of one ``Client.embed`` call (what each codec reads)."""

    dimensions: Optional[int] = None
    input_type: Optional[str] = None
    truncate: Optional[Union[bool, str]] = None
    encoding_format: Optional[str] = None
    extra: Optional[Mapping[str, Any]] = None
    timeout: Optional[float] = None
    batch_size: Optional[int] = None
    max_concurrency: int = DEFAULT_CONCURRENCY


class EmbedBatch(NamedTuple):
    """What a codec reads from one 2xx embeddings reply: the vectors in the order of the inputs
    sent, the usage (None when the reply tells none), the model named (None when none) and the
    reply's other fields (its vectors taken out)."""

    vectors: List[List[float]]
    usage: Optional[Usage]
    model: Optional[str]
    raw: Dict[str, Any]


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(f"{name} must be a positive int, got {value!r}")
    return value


def make_embed_options(options: Mapping[str, Any]) -> EmbedOptions:
    """The checked :class:`EmbedOptions` of ``Client.embed``'s keyword arguments: ValidationError
    naming unknown options and bad values."""
    unknown = sorted(k for k in options if k not in EMBED_OPTIONS)
    if unknown:
        raise ValidationError(f"Client.embed got unknown option(s) {', '.join(map(repr, unknown))}; it takes "
                              f"{', '.join(EMBED_OPTIONS)} (send a provider's own fields with extra={{...}})")
    dimensions = options.get("dimensions")
    if dimensions is not None:
        _positive_int("dimensions", dimensions)
    input_type = options.get("input_type")
    if input_type is not None and (not isinstance(input_type, str) or not input_type):
        raise ValidationError(f"input_type must be a string such as 'search_document', got {input_type!r}")
    truncate = options.get("truncate")
    if isinstance(truncate, str):
        truncate = truncate.lower()
        if truncate not in ("none", "start", "end"):
            raise ValidationError(f"truncate must be True, False, 'start', 'end' or 'none', got {truncate!r}")
    elif truncate is not None and not isinstance(truncate, bool):
        raise ValidationError(f"truncate must be True, False, 'start', 'end' or 'none', got {truncate!r}")
    encoding = options.get("encoding_format")
    if encoding is not None and encoding not in ("float", "base64"):
        raise ValidationError(f"encoding_format must be 'float' or 'base64', got {encoding!r}")
    extra = options.get("extra")
    if extra is not None and not isinstance(extra, Mapping):
        raise ValidationError(f"extra must be a dict of fields to send, got {type(extra).__name__}")
    timeout = options.get("timeout")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0):
        raise ValidationError(f"timeout must be a positive number of seconds, got {timeout!r}")
    batch_size = options.get("batch_size")
    if batch_size is not None:
        _positive_int("batch_size", batch_size)
    concurrency = options.get("max_concurrency")
    concurrency = DEFAULT_CONCURRENCY if concurrency is None else _positive_int("max_concurrency", concurrency)
    return EmbedOptions(dimensions, input_type, truncate, encoding, extra, timeout, batch_size, concurrency)


def check_inputs(inputs: Any) -> List[str]:
    """The inputs as a list of strings (one string is a list of one): ValidationError for
    anything else, naming the first bad input by its index."""
    if isinstance(inputs, str):
        texts = [inputs]
    elif isinstance(inputs, (bytes, bytearray, Mapping)) or not hasattr(inputs, "__iter__"):
        raise ValidationError(f"Client.embed takes a string or a list of strings, got {type(inputs).__name__}")
    else:
        texts = inputs if type(inputs) is list else list(inputs)
    if set(map(type, texts)) <= {str} and "" not in texts:
        return texts  # the common case, checked at C speed
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise ValidationError(f"embedding input {i} is {type(text).__name__}, not a string: {text!r:.80}")
        if not text:
            raise ValidationError(f"embedding input {i} is an empty string, which providers refuse; leave it out")
    return texts


def plan_batches(sizes: Sequence[float], max_count: int, max_tokens: float) -> List[Tuple[int, int]]:
    """``(start, stop)`` ranges over inputs of the given (estimated) token ``sizes``: each at most
    ``max_count`` inputs and, unless one input alone exceeds it, ``max_tokens`` tokens."""
    batches: List[Tuple[int, int]] = []
    start, total = 0, 0.0
    for i, size in enumerate(sizes):
        if i > start and (i - start >= max_count or total + size > max_tokens):
            batches.append((start, i))
            start, total = i, 0.0
        total += size
    if start < len(sizes):
        batches.append((start, len(sizes)))
    return batches


def decode_base64(text: str) -> List[float]:
    """A vector sent as base64 (OpenAI's ``encoding_format: "base64"``: little-endian float32)."""
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"an embedding is a string that is not base64: {text[:40]!r}") from None
    if len(data) % 4:
        raise ValueError(f"a base64 embedding has {len(data)} bytes, not a whole number of float32 values")
    values = array.array("f")
    values.frombytes(data)
    if sys.byteorder == "big":
        values.byteswap()
    return values.tolist()


def as_vector(value: Any) -> List[float]:
    """One vector from a reply: a JSON list of numbers, or a base64 string of float32 values."""
    if type(value) is list:
        return value
    if isinstance(value, str):
        return decode_base64(value)
    raise TypeError(f"an embedding is {type(value).__name__}, not a list of numbers")


def as_vectors(values: List[Any]) -> List[List[float]]:
    """The vectors of a reply: ``values`` itself when every one is a JSON list (checked at C
    speed: the common case costs nothing per vector), else each through :func:`as_vector`."""
    if set(map(type, values)) <= {list}:
        return values
    return [as_vector(v) for v in values]


def unsupported(codec: "Codec", option: str, why: str) -> UnsupportedParameterError:
    """The error for an embeddings option this provider's wire has no field for."""
    return UnsupportedParameterError(f"{codec.provider} embeddings take no {option}: {why}",
                                     model=f"{codec.provider}/{codec.model}", option=option, reason=why,
                                     provider=codec.provider)


def gemini_task(input_type: str) -> str:
    """Gemini's ``taskType`` for an input type: Cohere's names (``search_document`` ->
    ``RETRIEVAL_DOCUMENT``, ``search_query`` -> ``RETRIEVAL_QUERY``, ``classification``,
    ``clustering``...) are mapped; Gemini's own upper-case names pass through."""
    task = _GEMINI_TASKS.get(input_type.lower())
    if task is not None:
        return task
    if input_type.isupper() and input_type.replace("_", "").isalpha():
        return input_type
    raise ValidationError(f"input_type {input_type!r} is not one of {', '.join(_GEMINI_TASKS)} "
                          "(or a Gemini task type such as 'RETRIEVAL_QUERY')")


def cohere_input_type(input_type: Optional[str]) -> str:
    """Cohere's ``input_type`` (which it requires; default ``search_document``): its own names,
    or Gemini's task types that mean the same (``RETRIEVAL_QUERY`` -> ``search_query``)."""
    if input_type is None:
        return "search_document"
    lowered = _FROM_GEMINI.get(input_type, input_type.lower())
    if lowered in _COHERE_TYPES:
        return lowered
    raise ValidationError(f"input_type {input_type!r} is not one of Cohere's: {', '.join(_COHERE_TYPES)}")


def truncate_flag(codec: "Codec", truncate: Union[bool, str]) -> bool:
    """``truncate`` on a wire whose switch is a boolean (truncate the end, or refuse long inputs)."""
    if truncate == "start":
        raise unsupported(codec, "truncate='start'", "this provider can only cut the end of a long input "
                                                     "(truncate=True) or refuse it (truncate=False)")
    return truncate is True or truncate == "end"


def _fixed_size(model: str) -> bool:
    bare = model.rsplit("/", 1)[-1].lower()
    return bare.startswith(_FIXED_SIZE)


class EmbedJob:
    """One ``Client.embed`` call: the checked inputs and options, the batches (``(start, stop)``
    ranges of inputs), and the replies as they come back, in any order.

    ``request(i)`` builds batch ``i``'s request; ``record(i, body, headers)`` reads its 2xx
    reply; ``failed(i, error)`` names the batch's inputs on its error; ``result()`` puts the
    :class:`~llmunified.Embeddings` together once every batch is recorded.
    """

    __slots__ = ("codec", "texts", "options", "batches", "concurrency", "timeout", "_sizes", "_results")

    def __init__(self, codec: "Codec", inputs: Any, options: Mapping[str, Any]) -> None:
        opts = make_embed_options(options)
        texts = check_inputs(inputs)
        if opts.dimensions is not None and _fixed_size(codec.model):
            raise UnsupportedParameterError(
                f"{codec.provider}/{codec.model} makes vectors of one fixed size: it takes no dimensions "
                "(choose a model that does, e.g. OpenAI's text-embedding-3-*, Gemini's gemini-embedding-001, "
                "Cohere's embed-v4.0)", model=f"{codec.provider}/{codec.model}", option="dimensions",
                reason="fixed-size embedding model", provider=codec.provider)
        self.codec = codec
        self.texts = texts
        self.options = opts
        max_count, max_tokens = codec.embed_limits()
        if opts.batch_size is not None:
            max_count = opts.batch_size
        # estimated tokens per input: for the token cap, and for the usage of a reply that tells
        # none (worked out then, when batch_size alone decides the batches)
        self._sizes: Optional[List[float]] = None
        if opts.batch_size is None:
            self._sizes = _estimates(codec, texts)
            self.batches = plan_batches(self._sizes, max_count, max_tokens)
        else:
            self.batches = [(i, min(i + max_count, len(texts))) for i in range(0, len(texts), max_count)]
        self.concurrency = min(opts.max_concurrency, max(1, len(self.batches)))
        self.timeout = opts.timeout
        self._results: List[Optional[EmbedBatch]] = [None] * len(self.batches)

    def request(self, index: int) -> "HTTPRequest":
        """The request of batch ``index``."""
        start, stop = self.batches[index]
        return self.codec.embed_request(self.texts[start:stop], self.options)

    def record(self, index: int, body: bytes, headers: Mapping[str, str]) -> None:
        """Read batch ``index``'s 2xx reply (MalformedResponseError when it does not hold one
        vector per input sent)."""
        start, stop = self.batches[index]
        batch = self.codec.parse_embeddings(body, headers)
        if len(batch.vectors) != stop - start:
            raise MalformedResponseError(
                f"{self.codec.provider} sent {len(batch.vectors)} embeddings for the {stop - start} inputs of one "
                "request", provider=self.codec.provider, body=body.decode("utf-8", "replace")[:2000],
                headers=headers)
        self._results[index] = batch

    def failed(self, index: int, error: LLMError) -> LLMError:
        """``error`` (of batch ``index``) saying which inputs failed: in its message and as
        ``error.input_range`` (a ``range`` of input indexes)."""
        start, stop = self.batches[index]
        if getattr(error, "input_range", None) is None:
            where = (f"embedding inputs {start}-{stop - 1} of {len(self.texts)} (request {index + 1} of "
                     f"{len(self.batches)}) failed")
            error.message = f"{error.message} [{where}]"
            error.args = (error.message,)
            error.input_range = range(start, stop)  # type: ignore[attr-defined]
        if error.provider is None:
            error.provider = self.codec.provider
        return error

    def result(self) -> Embeddings:
        """The Embeddings of every batch recorded, in input order, usage summed."""
        codec = self.codec
        vectors: List[List[float]] = []
        raw: List[Dict[str, Any]] = []
        usage = Usage()
        model: Optional[str] = None
        for index, batch in enumerate(self._results):
            if batch is None:
                raise LLMError(f"embeddings request {index + 1} of {len(self.batches)} has no reply",
                               provider=codec.provider)
            vectors.extend(batch.vectors)
            raw.append(batch.raw)
            if batch.usage is not None:
                usage = usage + batch.usage
            else:
                start, stop = self.batches[index]
                if self._sizes is None:
                    self._sizes = _estimates(codec, self.texts)
                guess = int(sum(self._sizes[start:stop]) + 0.5)
                usage = usage + Usage(guess, 0, guess, estimated=True)
            model = model or batch.model
        return Embeddings(vectors, usage, model or codec.model, codec.provider, raw)


def _estimates(codec: "Codec", texts: List[str]) -> List[float]:
    """Each input's estimated tokens (the library's calibrated character estimate)."""
    from ._tokens import EstimateCounter, family_for

    counter = EstimateCounter(family_for(codec.provider, codec.model))
    tokens = counter.text_tokens
    ratio = 1.0 / counter.family.chars_per_token  # what text_tokens gives an ASCII text, inlined
    return [len(text) * ratio if text.isascii() else tokens(text) for text in texts]
