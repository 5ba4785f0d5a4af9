"""Provider batch APIs (``Client.batch``, ``Client.batch_job``): the sans-IO half.

What is decided here, once, for every provider: how the caller's requests become the
provider's batch entries (each entry wraps the body the codec builds for a normal call, through
the same :meth:`~llmunified._endpoint.Endpoint.chat` path, so nothing is mapped twice), how a
job object reads as a unified :class:`BatchInfo`, and how result lines become
:class:`BatchResult` (a normal :class:`~llmunified.Response` parsed by the codec's
``parse_chat``, or the typed error of the codec's error mapping), reordered into input order.
The provider specifics are codec hooks (``batch_line``, ``batch_create_request``,
``parse_batch`` ... in ``llmunified/providers``); the I/O is ``llmunified/_sync/_batch.py``.

Unified statuses (:data:`STATUSES`): ``validating``, ``in_progress``, ``finalizing``,
``completed``, ``failed``, ``expired``, ``cancelling``, ``cancelled``; the last four but
``cancelling`` are final (:data:`FINAL`).
"""
from __future__ import annotations
import json
import re
from ._dc import dataclass, field
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple

from ._http import HTTPRequest
from ._types import Message, Response
from .errors import LLMError, MalformedResponseError, ValidationError

__all__ = ["BatchCounts", "BatchInfo", "BatchResult", "BatchPlan", "PlanIds", "ResultReader", "STATUSES", "FINAL",
           "plan_batch", "multipart_body", "default_custom_id", "order_ids"]

#: every unified status a :class:`~llmunified.BatchJob` can have
STATUSES = ("validating", "in_progress", "finalizing", "completed", "failed", "expired", "cancelling", "cancelled")
#: the statuses after which a job changes no more
FINAL = frozenset(("completed", "failed", "expired", "cancelled"))

_DEFAULT_ID = re.compile(r"^request-(\d+)$")


def default_custom_id(index: int) -> str:
    """The custom id of the request at ``index`` when the caller gives none: ``request-<index>``."""
    return f"request-{index}"


@dataclass
class BatchCounts:
    """How many requests of a job there are, have succeeded and have failed, as far as the
    provider says (None: it does not say)."""

    total: Optional[int] = None
    completed: Optional[int] = None
    failed: Optional[int] = None


@dataclass
class BatchInfo:
    """A provider's job object read by its codec: the unified ``status``, the provider's own
    (``provider_status``), ``counts``, ``created_at`` (Unix seconds), where the results are
    (``output``: provider-specific, e.g. file ids, a results URL, inline responses), a job-level
    ``error`` message (a failed job) and the decoded object (``raw``)."""

    id: str
    status: str
    provider_status: Optional[str] = None
    counts: BatchCounts = field(default_factory=BatchCounts)
    created_at: Optional[int] = None
    output: Dict[str, Any] = field(default_factory=dict)
    error: Optional[str] = None
    raw: Any = None


@dataclass
class BatchResult:
    """The outcome of one request of a batch: its ``custom_id``, its ``index`` in the submitted
    list (None when the job was resumed without knowing the order and the id does not say), and
    either the ``response`` (a normal :class:`~llmunified.Response`) or the typed ``error``
    (:mod:`llmunified.errors`: the provider's error for that request, an expired or cancelled
    request, a result line that could not be read). ``ok`` is True with a response."""

    custom_id: str
    index: Optional[int]
    response: Optional[Response] = None
    error: Optional[LLMError] = None

    @property
    def ok(self) -> bool:
        return self.response is not None

    @property
    def text(self) -> Optional[str]:
        """The response's text (None for an error)."""
        return self.response.text if self.response is not None else None

    def to_dict(self) -> Dict[str, Any]:
        """A JSON-ready summary (what ``llmunified batch results`` prints, one line each)."""
        out: Dict[str, Any] = {"custom_id": self.custom_id, "index": self.index}
        if self.response is not None:
            out["text"] = self.response.text
            out["finish_reason"] = self.response.finish_reason
            out["response"] = self.response.raw
        if self.error is not None:
            out["error"] = {"type": type(self.error).__name__, "message": self.error.message,
                            "status": self.error.status, "code": getattr(self.error, "code", None)}
        return out


class PlanIds(Sequence[str]):
    """The custom ids of a plan in input order, kept compactly: only the ids the caller chose
    are stored; the others are the default ``request-<index>`` (a 100,000-request batch with
    default ids holds no list of 100,000 strings). ``position_of(cid)`` is the index of an id."""

    __slots__ = ("_n", "_own", "_where")

    def __init__(self, ids: Optional[Iterable[str]] = None) -> None:
        self._n = 0
        self._own: Dict[int, str] = {}  # index -> an id the caller chose
        self._where: Dict[str, int] = {}  # such an id -> its index
        for cid in ids or ():
            self.add(cid)

    def add(self, cid: Optional[str] = None) -> None:
        """The next request's id (None: the default one)."""
        if cid is not None and cid != default_custom_id(self._n):
            self._own[self._n] = cid
            self._where[cid] = self._n
        self._n += 1

    def position_of(self, cid: str) -> Optional[int]:
        index = self._where.get(cid)
        if index is not None:
            return index
        m = _DEFAULT_ID.match(cid)
        if m is not None:
            index = int(m.group(1))
            if index < self._n and index not in self._own and cid == default_custom_id(index):
                return index
        return None

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._n))]
        if index < 0:
            index += self._n
        if not 0 <= index < self._n:
            raise IndexError("custom id index out of range")
        own = self._own.get(index)
        return own if own is not None else default_custom_id(index)

    def __eq__(self, other: Any) -> bool:
        if isinstance(other, (list, tuple, PlanIds)):
            return len(other) == self._n and all(a == b for a, b in zip(self, other))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"PlanIds({list(self[:5])}{' ...' if self._n > 5 else ''}, {self._n} in all)"


class BatchPlan:
    """A checked batch: the provider entries (one encoded JSON object per request, wrapping the
    codec's body for a normal call) as JSON Lines in a spooled temporary file (in memory while
    small, on disk beyond :data:`SPOOL_MEMORY` bytes: building a batch of any size takes
    constant memory), their custom ids in input order, the JSONL ``size`` in bytes and the
    ``mode`` asked for (``"auto"``, ``"inline"`` or ``"file"``: where the provider offers both,
    how the entries travel)."""

    __slots__ = ("custom_ids", "size", "mode", "_file", "_buffer", "_buffered", "_count")

    #: bytes of entries kept in memory before the spool file moves to disk
    SPOOL_MEMORY = 8 << 20
    _FLUSH = 1 << 20

    def __init__(self, lines: Optional[Iterable[bytes]] = None, custom_ids: Optional[Sequence[str]] = None,
                 mode: str = "auto") -> None:
        import tempfile

        self._file: Any = tempfile.SpooledTemporaryFile(max_size=self.SPOOL_MEMORY)
        self._buffer: List[bytes] = []
        self._buffered = 0
        self._count = 0
        self.size = 0
        self.mode = mode
        self.custom_ids: Sequence[str] = custom_ids if custom_ids is not None else PlanIds()
        for line in lines or ():
            self.add_line(line)

    def add_line(self, line: bytes) -> None:
        """Append one entry (written out in large chunks)."""
        self._buffer.append(line)
        self._buffer.append(b"\n")
        self._buffered += len(line) + 1
        self._count += 1
        if self._buffered >= self._FLUSH:
            self._flush()

    def _flush(self) -> None:
        if self._buffer:
            self._file.write(b"".join(self._buffer))
            self.size += self._buffered
            self._buffer = []
            self._buffered = 0

    def chunks(self, size: int = 1 << 20) -> Iterator[bytes]:
        """The JSONL content in pieces of about ``size`` bytes."""
        self._flush()
        self._file.seek(0)
        while True:
            chunk = self._file.read(size)
            if not chunk:
                return
            yield chunk

    def jsonl(self) -> bytes:
        """The entries as JSON Lines (an upload file's content)."""
        return b"".join(self.chunks())

    @property
    def lines(self) -> List[bytes]:
        """The entries (each without its newline), read back from the spool file."""
        return self.jsonl().split(b"\n")[:-1]

    def drop_spool(self) -> None:
        """Drop the spool file (the plan is empty after)."""
        self._file.close()

    def __enter__(self) -> "BatchPlan":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.drop_spool()

    def __del__(self) -> None:  # a plan dropped unclosed: its spool file goes quietly
        spool = getattr(self, "_file", None)
        if spool is not None:
            spool.close()

    def __len__(self) -> int:
        return self._count


def _split_request(request: Any, index: int) -> Tuple[Any, Dict[str, Any], Optional[str]]:
    """(messages, options, custom id) of one request as ``complete()`` takes it."""
    if isinstance(request, (str, Message, list, tuple)):
        return request, {}, None
    if isinstance(request, Mapping):
        if "messages" not in request:
            raise ValidationError(
                f"batch request {index}: a dict request needs 'messages' (a prompt string or a list of messages), "
                f"plus options such as temperature; got the keys {sorted(request)}")
        options = {k: v for k, v in request.items() if k not in ("messages", "custom_id")}
        cid = request.get("custom_id")
        return request["messages"], options, cid
    raise ValidationError(
        f"batch request {index}: expected a prompt string, a list of messages or a dict with 'messages', "
        f"got {type(request).__name__}")


#: strings no prompt or custom id contains: they mark where each goes in a template entry
_PROMPT_MARK = "\x00llmunified-batch-prompt-5d1f0a7c\x00"
_ID_MARK = "llmunifiedBatchId9b3e62d4c07a"  # letters and digits: every provider's id rules take it
#: texts a template is checked with against the codec's own entry (quotes, escapes, non-ASCII, lengths)
_PROBES = (('Say "hi" \\ \u00fcber \U0001f600\n\ttab', "probe-1"), ("x", default_custom_id(12345)))


#: a minimal request whose entry the codec builds to check a custom id by its rules
_ID_CHECK = HTTPRequest("POST", "", {}, b"{}")


class _Template:
    """The batch entry of a plain prompt under one checked options plan, as literal bytes around
    the prompt and the custom id: the codec builds and encodes the body once, and each request
    of a large batch only encodes its own prompt and id into it."""

    __slots__ = ("pieces", "id_first")

    def __init__(self, pieces: Tuple[bytes, bytes, bytes], id_first: bool) -> None:
        self.pieces = pieces
        self.id_first = id_first

    def line(self, prompt: str, cid: str) -> bytes:
        a, b, c = self.pieces
        if self.id_first:
            return a + _encode_str(cid).encode() + b + _encode_str(prompt).encode() + c
        return a + _encode_str(prompt).encode() + b + _encode_str(cid).encode() + c


def _template(endpoint: Any, plan: Any) -> Optional[_Template]:
    """The :class:`_Template` of ``plan``'s entries for plain prompts, or None when the codec's
    entry does not hold the prompt and id as plain JSON strings (each request is then built in
    full). The template must reproduce the codec's own entry byte for byte on probe prompts."""
    codec = endpoint.codec
    try:
        line = codec.batch_line(_ID_MARK, endpoint.planned_chat(_PROMPT_MARK, plan, False).request)
        prompt_mark, id_mark = json_str(_PROMPT_MARK), json_str(_ID_MARK)
        if line.count(prompt_mark) != 1 or line.count(id_mark) != 1:
            return None
        id_first = line.index(id_mark) < line.index(prompt_mark)
        first, second = (id_mark, prompt_mark) if id_first else (prompt_mark, id_mark)
        a, rest = line.split(first)
        b, c = rest.split(second)
        template = _Template((a, b, c), id_first)
        for text, cid in _PROBES:
            if template.line(text, cid) != codec.batch_line(cid, endpoint.planned_chat(text, plan, False).request):
                return None
        codec.batch_line(default_custom_id(0), _ID_CHECK)  # the codec's id rules are checked per id with it
    except Exception:  # a codec that cannot build the probes: build each request in full
        return None
    return template


def plan_batch(endpoint: Any, requests: Iterable[Any], custom_ids: Optional[Sequence[str]] = None,
               options: Optional[Mapping[str, Any]] = None, mode: str = "auto") -> BatchPlan:
    """Check ``requests`` and build their provider entries with the endpoint's codec
    (UnsupportedOperationError first for a provider without a batch API; ValidationError for
    streaming, an empty batch, a bad or duplicate custom id, an unknown ``mode``). Each
    request's body is built by the codec exactly as a normal call's (``endpoint.planned_chat``);
    options are checked once per distinct set, and plain prompts under the shared options fill
    a template the codec built once (see :class:`_Template`). The entries are written to the
    plan's spool file as they are built: memory stays flat however many requests there are."""
    codec = endpoint.codec
    codec.batch_check()
    modes = codec.batch_modes
    if mode not in modes:
        raise ValidationError(f"{codec.provider} batches take mode={' or '.join(repr(m) for m in modes)}, "
                              f"got {mode!r}")
    shared = dict(options or {})
    if custom_ids is not None:
        if isinstance(custom_ids, str):
            raise ValidationError("custom_ids takes a list of strings, one per request, not a string")
        custom_ids = list(custom_ids)
    ids = PlanIds()
    result = BatchPlan(custom_ids=ids, mode=mode)
    add_line = result.add_line
    seen = ids._where  # the ids the caller chose -> their index
    common = _batch_options(shared, None)
    plans: Dict[Any, Any] = {}  # distinct per-request options (hashable ones) -> [checked plan, template]
    common_plan: Any = None  # the shared options, checked once for every request without its own
    template: Any = False  # the shared options' _Template (False: not made yet; None: none)
    try:
        for index, request in enumerate(requests):
            if request.__class__ is str and custom_ids is None and request:
                messages, own, cid = request, None, None  # the common case: a plain prompt
            else:
                messages, own, cid = _split_request(request, index)
            if custom_ids is not None:
                if index >= len(custom_ids):
                    raise ValidationError(f"custom_ids has {len(custom_ids)} ids but there are more requests")
                if cid is not None and cid != custom_ids[index]:
                    raise ValidationError(f"batch request {index}: custom id {cid!r} in the request and "
                                          f"{custom_ids[index]!r} in custom_ids; give one")
                cid = custom_ids[index]
            if cid is None:
                cid = default_custom_id(index)
                if seen and cid in seen:
                    raise ValidationError(f"batch request {index}: duplicate custom id {cid!r} (also request "
                                          f"{seen[cid]}); custom ids must be unique")
                ids.add(None)
            else:
                if not isinstance(cid, str) or not cid:
                    raise ValidationError(f"batch request {index}: a custom id must be a non-empty string, "
                                          f"got {cid!r}")
                other = ids.position_of(cid)
                if other is not None:
                    raise ValidationError(f"batch request {index}: duplicate custom id {cid!r} (also request "
                                          f"{other}); custom ids must be unique")
                ids.add(cid)
            try:
                if own:
                    merged = _batch_options(dict(shared, **own), index)
                    try:
                        key: Any = tuple(sorted(merged.items()))
                        known = plans.get(key)
                    except TypeError:  # an unhashable option value (tools, a schema): checked each time
                        key, known = None, None
                    if known is None:
                        known = [endpoint.plan(merged), False]  # [plan, its template (False: not made yet)]
                        if key is not None and len(plans) < 256:
                            plans[key] = known
                    if messages.__class__ is str and messages and key is not None:
                        if known[1] is False:
                            known[1] = _template(endpoint, known[0])
                        if known[1] is not None:
                            if cid in seen:
                                codec.batch_line(cid, _ID_CHECK)
                            add_line(known[1].line(messages, cid))
                            continue
                    call = endpoint.planned_chat(messages, known[0], False)
                    add_line(codec.batch_line(cid, call.request))
                    continue
                if common_plan is None:
                    common_plan = endpoint.plan(common)
                if messages.__class__ is str and messages:
                    if template is False:
                        template = _template(endpoint, common_plan)
                    if template is not None:
                        if cid in seen:  # an id of the caller's: the codec's own id rules first
                            codec.batch_line(cid, _ID_CHECK)
                        add_line(template.line(messages, cid))
                        continue
                call = endpoint.planned_chat(messages, common_plan, False)
                add_line(codec.batch_line(cid, call.request))
            except LLMError as exc:
                exc.message = f"batch request {index} ({cid!r}): {exc.message}"
                exc.args = (exc.message,)
                raise
        if custom_ids is not None and len(custom_ids) != len(ids):
            raise ValidationError(f"custom_ids has {len(custom_ids)} ids for {len(ids)} requests")
        if not len(ids):
            raise ValidationError("a batch needs at least one request")
        result._flush()
    except BaseException:
        result.drop_spool()
        raise
    return result


def _batch_options(options: Dict[str, Any], index: Optional[int]) -> Dict[str, Any]:
    """A request's options as a batch sends them: no ``stream`` (ValidationError), no correlation id."""
    if options.get("stream"):
        where = f"batch request {index}" if index is not None else "batch"
        raise ValidationError(f"{where}: a batch API does not stream; drop stream=True")
    return {k: v for k, v in options.items() if k not in ("stream", "correlation_id")}


def wrap_body(prefix: bytes, body: Optional[bytes], suffix: bytes) -> bytes:
    """``prefix + body + suffix``: a batch entry around a codec-built JSON body, without decoding
    and encoding it again."""
    return prefix + (body or b"{}") + suffix


_encode_str = json.JSONEncoder(ensure_ascii=False).encode


def json_str(value: str) -> bytes:
    """A string as JSON bytes (a custom id in a batch entry)."""
    return _encode_str(value).encode("utf-8")


def multipart_body(fields: Mapping[str, str], file_field: str, filename: str, content: bytes,
                   content_type: str = "application/jsonl", boundary: Optional[str] = None) -> Tuple[bytes, str]:
    """(body, Content-Type header) of a ``multipart/form-data`` upload with text ``fields`` and
    one file: built here so that every transport sends it as plain bytes."""
    if boundary is None:
        import uuid

        boundary = "llmunified-" + uuid.uuid4().hex
    b = boundary.encode("ascii")
    parts: List[bytes] = []
    for name, value in fields.items():
        parts.append(b"--" + b + b"\r\nContent-Disposition: form-data; name=\"" + name.encode("utf-8") + b"\"\r\n\r\n"
                     + value.encode("utf-8") + b"\r\n")
    parts.append(b"--" + b + b"\r\nContent-Disposition: form-data; name=\"" + file_field.encode("utf-8")
                 + b"\"; filename=\"" + filename.encode("utf-8") + b"\"\r\nContent-Type: "
                 + content_type.encode("ascii") + b"\r\n\r\n")
    parts.append(content)
    parts.append(b"\r\n--" + b + b"--\r\n")
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class ResultReader:
    """Turns a job's result lines (from downloads read in chunks, or inline entries) into
    :class:`BatchResult` in input order.

    ``order`` is the custom ids in input order when known (the job was submitted by this
    process, the caller passed ``custom_ids=``, or the provider's input file was read). Results
    arrive in any order: one that comes before its turn is held until then. Up to
    ``hold_in_memory`` early results are held parsed; past that, an early result line is written
    as it came to a temporary file and parsed when its turn comes, so memory stays flat whatever
    the order (an offset per early result). Without an order, a default id (``request-<n>``) gives its index;
    other ids are yielded as they come, with ``index=None``. A line that cannot be read is kept
    as a per-item error (of the request it names, if its id can be found; else reported for every
    request left without a result); a request with no result at all gets an error too.
    """

    #: early results held parsed; later ones wait in the spill file as their raw lines
    hold_in_memory = 256

    def __init__(self, codec: Any, order: Optional[Sequence[str]] = None, total: Optional[int] = None) -> None:
        self.codec = codec
        self._spilled: Dict[int, int] = {}  # index -> offset of its raw line in self._spill
        self._spill: Any = None
        self._lookup: Any = (order.position_of if isinstance(order, PlanIds)
                             else {cid: i for i, cid in enumerate(order)}.get if order is not None else {}.get)
        self._ordered = order is not None
        self._order = order if isinstance(order, PlanIds) else list(order) if order is not None else None
        self._total = len(order) if order is not None else total
        self._held: Dict[int, BatchResult] = {}
        self._next = 0
        self._buffer = b""
        self._bad: List[str] = []
        self._extra: List[BatchResult] = []
        self._unplaced = False
        self._extra_ids: set = set()

    # -- input -----------------------------------------------------------------------------
    # Each input method has a list form (feed, end_file, entry, finish) and an iterator form
    # (iter_*): the iterator releases a long run of held results one at a time, so reading a
    # file whose results come in reverse order never holds them all parsed at once. Exhaust
    # one iterator before giving the reader more input.
    def feed(self, chunk: bytes) -> List[BatchResult]:
        """Results ready to yield after one chunk of a JSONL download."""
        return list(self.iter_feed(chunk))

    def iter_feed(self, chunk: bytes) -> Iterator[BatchResult]:
        data = self._buffer + chunk
        lines = data.split(b"\n")
        self._buffer = lines.pop()
        out: List[BatchResult] = []
        for line in lines:
            self._line(line, out)
        return self._drain(out)

    def end_file(self) -> List[BatchResult]:
        """The end of one download (its last line may lack a newline)."""
        return list(self.iter_end_file())

    def iter_end_file(self) -> Iterator[BatchResult]:
        out: List[BatchResult] = []
        rest, self._buffer = self._buffer, b""
        self._line(rest, out)
        return self._drain(out)

    def entry(self, obj: Any, position: Optional[int] = None) -> List[BatchResult]:
        """Results ready after one decoded entry (inline results: ``position`` is its place)."""
        return list(self.iter_entry(obj, position))

    def iter_entry(self, obj: Any, position: Optional[int] = None) -> Iterator[BatchResult]:
        out: List[BatchResult] = []
        self._take(obj, out, position)
        return self._drain(out)

    def _drain(self, out: List[BatchResult]) -> Iterator[BatchResult]:
        """``out``, then the held results that are next in order, one at a time."""
        yield from out
        while True:
            ready = self._pop(self._next)
            if ready is None:
                return
            self._next += 1
            yield ready

    def _line(self, line: bytes, out: List[BatchResult]) -> None:
        line = line.strip()
        if not line:
            return
        try:
            obj = json.loads(line)
            if not isinstance(obj, dict):
                raise ValueError("not a JSON object")
        except ValueError as exc:
            text = line.decode("utf-8", "replace")
            match = re.search(r'"(?:custom_id|key)"\s*:\s*"((?:[^"\\]|\\.)*)"', text)
            if match is not None:
                cid = match.group(1)
                self._emit(cid, self._failure(cid, f"its result line is not valid JSON ({exc}): {text[:200]!r}", text),
                           out)
            else:
                self._bad.append(text[:200])
            return
        self._take(obj, out, None, line)

    def _failure(self, cid: str, why: str, body: Optional[str] = None) -> LLMError:
        return MalformedResponseError(f"{self.codec.provider} batch: request {cid!r}: {why}",
                                      provider=self.codec.provider, body=body)

    def _take(self, obj: Any, out: List[BatchResult], position: Optional[int], raw: Optional[bytes] = None) -> None:
        try:
            cid, body, error = self.codec.parse_batch_result(obj, position)
        except LLMError as exc:
            self._bad.append(exc.message[:200])
            return
        if cid is None and position is not None and self._order is not None and position < len(self._order):
            cid = self._order[position]
        if cid is None:
            cid = default_custom_id(position) if position is not None else None
        if cid is None:
            self._bad.append(json.dumps(obj)[:200])
            return
        if raw is not None and len(self._held) >= self.hold_in_memory:
            index = self._position(cid, position)
            if index is not None and index > self._next and index not in self._held and index not in self._spilled:
                self._spilled[index] = self._spill_line(raw)  # early, and memory is full: wait on disk
                return
        self._emit(cid, self._item(cid, body, error), out, position)

    def _item(self, cid: str, body: Any, error: Optional[LLMError]) -> Any:
        """The result of one parsed line: a BatchResult with its Response, or its error."""
        if error is None:
            try:
                return BatchResult(cid, None, response=self.codec.parse_chat(body, {}))
            except LLMError as exc:
                return exc
        return error

    # -- early results past hold_in_memory: their raw lines in a temporary file -------------
    def _spill_line(self, line: bytes) -> int:
        if self._spill is None:
            import tempfile

            self._spill = tempfile.TemporaryFile()
        f = self._spill
        f.seek(0, 2)
        offset = f.tell()
        f.write(line + b"\n")  # one line: a JSON object without raw newlines
        return offset

    def _unspill(self, index: int) -> BatchResult:
        f = self._spill
        f.seek(self._spilled.pop(index))
        obj = json.loads(f.readline())
        cid, body, error = self.codec.parse_batch_result(obj, None)  # it parsed before: the same again
        item = self._item(cid, body, error)
        result = item if isinstance(item, BatchResult) else BatchResult(cid, None, error=item)
        result.index = index
        return result

    def _pop(self, index: int) -> Optional[BatchResult]:
        """The held result of ``index`` (from memory or the spill file), or None."""
        result = self._held.pop(index, None)
        if result is None and index in self._spilled:
            result = self._unspill(index)
        return result

    def discard(self) -> None:
        """Drop the spill file (results() does; a reader left unfinished closes it when collected)."""
        if self._spill is not None:
            self._spill.close()
            self._spill = None
        self._spilled.clear()

    # -- ordering --------------------------------------------------------------------------
    def _position(self, cid: str, position: Optional[int] = None) -> Optional[int]:
        index = self._lookup(cid)
        if index is None and not self._ordered and position is not None:
            index = position  # inline results come in input order
        if index is None and not self._ordered:
            m = _DEFAULT_ID.match(cid)
            if m is not None:
                index = int(m.group(1))
        return index

    def _emit(self, cid: str, item: Any, out: List[BatchResult], position: Optional[int] = None) -> None:
        result = item if isinstance(item, BatchResult) else BatchResult(cid, None, error=item)
        index = self._position(cid, position)
        result.index = index
        if index is None:
            if not self._ordered:
                self._unplaced = True
                out.append(result)  # an id that does not say its place: as it comes
            elif cid not in self._extra_ids:
                self._extra_ids.add(cid)  # an id the known order lacks: kept for the end, never lost
                self._extra.append(result)
            return
        if index < self._next or index in self._held or index in self._spilled:
            return  # a duplicate line: the first one counts
        if index == self._next:
            out.append(result)
            self._next += 1
        else:
            self._held[index] = result  # early: held until its turn (released by _drain)

    def finish(self, reason: str = "the provider sent no result for it") -> List[BatchResult]:
        """The rest, in order, at the end of every file: held results, and an error for each
        request that got none."""
        return list(self.iter_finish(reason))

    def iter_finish(self, reason: str = "the provider sent no result for it") -> Iterator[BatchResult]:
        yield from self.iter_end_file()
        why = reason
        if self._bad:
            why += "; unreadable result lines: " + "; ".join(self._bad[:3])
        total = self._total
        if total is None or self._unplaced:  # ids that do not say their place: no gaps can be told
            total = max(max(self._held, default=-1), max(self._spilled, default=-1)) + 1
            total = max(total, self._next)
        for index in range(self._next, total):
            result = self._pop(index)
            if result is None:
                cid = self._order[index] if self._order is not None else default_custom_id(index)
                result = BatchResult(cid, index, error=self._failure(cid, why))
            self._next = index + 1
            yield result
        for index in sorted(set(self._held) | set(self._spilled)):
            popped = self._pop(index)
            assert popped is not None
            yield popped
        extra, self._extra = self._extra, []
        yield from extra
        self.discard()


def error_from_item(codec: Any, status: Optional[int], message: str, etype: Optional[str] = None,
                    code: Optional[str] = None, body: Any = None) -> LLMError:
    """The typed error of one failed request of a batch, by the codec's error mapping (the HTTP
    status the request would have had, when the provider says)."""
    text = body if isinstance(body, str) or body is None else json.dumps(body, ensure_ascii=False)
    if status is not None and body is not None:
        raw = text.encode("utf-8") if text is not None else b""
        err = codec.api_error(status, {}, raw)
        return err
    return codec.make_error(status, {}, message, etype, code, text)


def iter_lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The lines of a JSONL body given in chunks (for tests and tools)."""
    buf = b""
    for chunk in chunks:
        buf += chunk
        *lines, buf = buf.split(b"\n")
        yield from lines
    if buf:
        yield buf


class _OrderReader:
    """Collects the custom ids of an input file read in chunks (only the ids are kept)."""

    def __init__(self, codec: Any, ids: List[str]) -> None:
        self.codec = codec
        self.ids = ids
        self._buffer = b""

    def feed(self, chunk: bytes) -> None:
        lines = (self._buffer + chunk).split(b"\n")
        self._buffer = lines.pop()
        for line in lines:
            self._line(line)

    def end_file(self) -> None:
        rest, self._buffer = self._buffer, b""
        self._line(rest)

    def _line(self, line: bytes) -> None:
        if not line.strip():
            return
        try:
            cid = self.codec.batch_order_ids(json.loads(line))
        except ValueError:
            cid = None
        if isinstance(cid, str):
            self.ids.append(cid)


def order_ids(codec: Any, ids: List[str]) -> _OrderReader:
    """A reader appending to ``ids`` the custom ids of an input file fed to it in chunks."""
    return _OrderReader(codec, ids)
