"""The sans-IO half of ``Client.map``: items, per-item results, scheduling and the results file.

``Client.map(items, ...)`` (``llmunified._sync._bulk``) runs one ``complete`` per item. Here:

- :func:`plan_items` checks the items before anything is sent (a prompt, a message list, or a
  request dict ``{"messages": ..., "id": ..., **options}``): unknown options, duplicate ids and
  bad values are a ValidationError for the whole run, not 10,000 per-item errors;
- :class:`BulkScheduler` decides what starts when (bounded concurrency, the
  :class:`~llmunified._ratelimit.RateLimiter`'s rpm / tpm budgets and its shared 429 backoff,
  each item's retries under the client's :class:`~llmunified.RetryPolicy`) and in what order
  the results come out;
- :class:`ResultsFile` is the JSON Lines file a run appends each finished item to, and that a
  rerun reads to skip what is already done.

Retries happen here rather than inside each call: the calls are made with retries off, so a 429
pauses every worker at once (one shared backoff) instead of each retrying on its own.
"""
from __future__ import annotations
import heapq
import json
from collections import deque
import logging
import os
from ._dc import dataclass, field
from typing import Any, Callable, Deque, Dict, List, Mapping, Optional, Tuple, Union

from . import errors as _errors
from ._options import OPTION_NAMES
from ._ratelimit import RateLimiter, check_positive
from ._retry import RetryPolicy
from ._types import Message, Response
from .errors import LLMError, ValidationError

__all__ = ["BulkResult", "BulkItem", "plan_items", "BulkScheduler", "ResultsFile", "check_map_args"]

_log = logging.getLogger("llmunified")

#: options a request dict may carry besides ``messages`` and ``id``
_ITEM_OPTIONS = frozenset(OPTION_NAMES) | {"correlation_id"}


@dataclass
class BulkResult:
    """One item's outcome in ``Client.map``: ``index`` (its place in the input), ``id`` (the
    request dict's ``"id"``, else None), and either ``response`` (a :class:`~llmunified.Response`)
    or ``error`` (the typed error of its last attempt); ``ok`` says which. ``attempts`` is how
    many requests it took; ``resumed`` is True when it was read back from the results file of
    an earlier run rather than called now."""

    index: int
    id: Optional[Any] = None
    response: Optional[Response] = field(default=None, repr=False)
    error: Optional[BaseException] = None
    attempts: int = 0
    resumed: bool = False

    @property
    def ok(self) -> bool:
        """True when the item has a response."""
        return self.error is None and self.response is not None

    @property
    def text(self) -> str:
        """The response's text ("" for a failed item)."""
        return self.response.text if self.response is not None else ""

    def __repr__(self) -> str:
        what = (f"text={self.response.text[:40]!r}" if self.response is not None
                else f"error={type(self.error).__name__}: {str(self.error)[:80]!r}")
        return f"BulkResult(index={self.index}, id={self.id!r}, {what})"


class BulkItem:
    """One item to run: its messages and options, and its scheduling state."""

    __slots__ = ("index", "id", "messages", "options", "tokens", "policy", "attempts", "ticket", "not_before")

    def __init__(self, index: int, id: Any, messages: Any, options: Dict[str, Any], policy: RetryPolicy) -> None:
        self.index = index
        self.id = id
        self.messages = messages
        self.options = options
        self.tokens: Optional[int] = None  # the estimate, made when first needed
        self.policy = policy
        self.attempts = 0
        self.ticket: Any = None
        self.not_before = 0.0

    @property
    def key(self) -> str:
        """What identifies the item in the results file: its id, else its index."""
        return key_for(self.index, self.id)

    def __repr__(self) -> str:
        return f"BulkItem({self.index}, id={self.id!r})"


def key_for(index: int, id: Any) -> str:
    return f"id:{id}" if id is not None else f"index:{index}"


def check_map_args(concurrency: Any, rpm: Any, tpm: Any, max_retries: Any) -> None:
    """ValidationError for a bad ``concurrency`` / ``rpm`` / ``tpm`` / ``max_retries``."""
    check_positive("concurrency", concurrency, integer=True, optional=False)
    check_positive("rpm", rpm)
    check_positive("tpm", tpm)
    if max_retries is not None and (isinstance(max_retries, bool) or not isinstance(max_retries, int)
                                    or max_retries < 0):
        raise ValidationError(f"max_retries must be an int >= 0 or None, got {max_retries!r}")


def plan_items(items: Any, options: Mapping[str, Any], policy: RetryPolicy) -> List[BulkItem]:
    """The items of a map run, checked: each a prompt string, a Message or a list of messages,
    a message dict (``{"role", "content"}``), or a request dict ``{"messages": ..., "id": ...,
    **options}`` (its options over ``options``, the run's). ValidationError names the first
    bad item."""
    if isinstance(items, (str, bytes, Message)) or isinstance(items, Mapping):
        raise ValidationError("map takes an iterable of items (prompts or request dicts), not a single "
                              f"{type(items).__name__}; wrap it in a list")
    try:
        listed = list(items)
    except TypeError:
        raise ValidationError(f"map takes an iterable of prompts or request dicts, got {type(items).__name__}") \
            from None
    bad = sorted(k for k in options if k not in _ITEM_OPTIONS)
    if bad:
        raise ValidationError(f"map: unknown option(s) {', '.join(bad)}; known options: {', '.join(OPTION_NAMES)}")
    out: List[BulkItem] = []
    seen: Dict[Any, int] = {}
    for index, item in enumerate(listed):
        item_id = None
        item_options: Dict[str, Any] = dict(options)
        if isinstance(item, Mapping) and "messages" in item:
            messages = item["messages"]
            item_id = item.get("id")
            extra = {k: v for k, v in item.items() if k not in ("messages", "id")}
            unknown = sorted(k for k in extra if k not in _ITEM_OPTIONS)
            if unknown:
                raise ValidationError(f"map: item {index} has unknown key(s) {', '.join(map(str, unknown))}; a "
                                      f"request dict takes 'messages', 'id' and options ({', '.join(OPTION_NAMES)})")
            item_options.update(extra)
            if item_id is not None:
                if isinstance(item_id, bool) or not isinstance(item_id, (str, int)):
                    raise ValidationError(f"map: item {index}'s id must be a string or an int, got {item_id!r}")
                if item_id in seen:
                    raise ValidationError(f"map: items {seen[item_id]} and {index} have the same id {item_id!r}; "
                                          "ids must be unique (the results file is keyed by them)")
                seen[item_id] = index
        elif isinstance(item, (str, Message, list, tuple)) or (isinstance(item, Mapping) and "role" in item):
            messages = item
        else:
            raise ValidationError(f"map: item {index} is a {type(item).__name__}; an item is a prompt string, a "
                                  "Message, a list of messages, or a dict {'messages': ..., 'id': ..., **options}")
        if isinstance(messages, (list, tuple)) and not messages or messages == "":
            raise ValidationError(f"map: item {index} has no messages")
        out.append(BulkItem(index, item_id, messages, item_options, policy))
    return out


def _usage_tokens(response: Response) -> Tuple[Optional[int], int]:
    """(total tokens the reply reported or None, its output tokens)."""
    usage = response.usage
    if usage is None or not (usage.total_tokens or usage.input_tokens or usage.output_tokens):
        return None, 0
    total = usage.total_tokens or usage.input_tokens + usage.output_tokens
    return total, usage.output_tokens


def is_rate_limited(error: BaseException) -> bool:
    return isinstance(error, _errors.RateLimitError) or getattr(error, "status", None) == 429


#: ordered runs: how many results per worker may wait for an earlier one before no new item
#: starts (a slow or backing-off item holds the results after it, not the whole input)
ORDERED_WINDOW_PER_WORKER = 16
#: ... and at least this many (a run with few workers still gets ahead of one slow item)
ORDERED_WINDOW_MIN = 64


class BulkScheduler:
    """What starts when, and what comes out when (sans-IO; ``now`` from the driver's clock).

    In order (``ordered``), a result waits until every earlier item's is out; at most
    :attr:`window` items past the earliest unfinished one are started, so the results held back
    stay bounded (memory) whatever one slow item does: past that, the run waits for it.

    The driver asks :meth:`next_start` for items to start until it answers ``(None, wait)``
    (``wait``: seconds until one could start, or None: only when a running call finishes),
    reports each outcome to :meth:`finished`, and yields :meth:`ready` results. ``estimate``
    turns an item into its token estimate (only called with a ``tpm`` budget).
    """

    def __init__(self, items: List[BulkItem], total: int, limiter: RateLimiter, concurrency: int,
                 ordered: bool = True, estimate: Optional[Callable[[BulkItem, int], int]] = None,
                 resumed: Optional[List[BulkResult]] = None) -> None:
        self.total = total
        self.limiter = limiter
        self.concurrency = concurrency
        self.ordered = ordered
        #: ordered: an item starts only if its index is below the next result's + this
        self.window = max(ORDERED_WINDOW_MIN, ORDERED_WINDOW_PER_WORKER * concurrency)
        self.estimate = estimate
        self._waiting: Deque[BulkItem] = deque(items)
        self._retrying: List[Tuple[float, int, BulkItem]] = []  # a heap by not_before
        self.running = 0
        self.done = 0
        self.errors = 0
        self.retries = 0
        self._outputs: List[int] = []  # the output tokens of the replies so far (the estimate's guess)
        self._output_sum = 0
        self._buffer: Dict[int, BulkResult] = {}  # ordered: finished, waiting for earlier ones
        self._next = 0  # ordered: the index to hand out next
        self._out: List[BulkResult] = []
        for result in resumed or ():
            self.done += 1
            self.errors += not result.ok
            self._deliver(result)

    @property
    def finished_all(self) -> bool:
        return not self._waiting and not self._retrying and self.running == 0

    @property
    def output_guess(self) -> int:
        """The average output tokens of the replies so far (0 before the first)."""
        return self._output_sum // len(self._outputs) if self._outputs else 0

    def next_start(self, now: float) -> Tuple[Optional[BulkItem], Optional[float]]:
        if self.running >= self.concurrency:
            return None, None
        retry_wait: Optional[float] = None
        item: Optional[BulkItem] = None
        if self._retrying:
            at = self._retrying[0][0]
            if at <= now:
                item = self._retrying[0][2]
            else:
                retry_wait = at - now
        if item is None:
            if not self._waiting:
                return None, retry_wait
            item = self._waiting[0]
            if self.ordered and item.index >= self._next + self.window:
                return None, retry_wait  # enough results wait for an earlier one: it goes first
        tokens = 0
        if self.limiter.tpm is not None and self.estimate is not None:
            if item.tokens is None:
                item.tokens = self.estimate(item, self.output_guess)
            tokens = item.tokens
        wait = self.limiter.delay(tokens, now)
        if wait > 0:
            return None, wait if retry_wait is None else min(wait, retry_wait)
        if self._retrying and self._retrying[0][2] is item:
            heapq.heappop(self._retrying)
        else:
            self._waiting.popleft()
        item.ticket = self.limiter.acquire(tokens, now)
        item.attempts += 1
        self.running += 1
        return item, 0.0

    def finished(self, item: BulkItem, response: Optional[Response], error: Optional[BaseException],
                 now: float) -> Optional[BulkResult]:
        """An attempt ended: the item's result, or None when it will be tried again."""
        self.running -= 1
        if error is None and response is not None:
            self.limiter.succeeded()
            total, output = _usage_tokens(response)
            self.limiter.settle(item.ticket, total)
            if total is not None:
                self._outputs.append(output)
                self._output_sum += output
                if len(self._outputs) > 1000:
                    self._output_sum -= self._outputs.pop(0)
            result = BulkResult(item.index, item.id, response=response, attempts=item.attempts)
        else:
            if error is None:
                error = LLMError("the call returned nothing")
            if isinstance(error, LLMError):
                delay = item.policy.delay_for(error)
                if is_rate_limited(error):
                    # one shared backoff: every worker waits, not only this one
                    pause = self.limiter.rate_limited(error.retry_after, now)
                    if delay is not None:
                        delay = max(delay, pause)
                if delay is not None:
                    item.policy = item.policy.increment(delay)
                    item.not_before = now + delay
                    heapq.heappush(self._retrying, (item.not_before, item.index, item))
                    self.retries += 1
                    return None
            result = BulkResult(item.index, item.id, error=error, attempts=item.attempts)
        self.done += 1
        self.errors += not result.ok
        self._deliver(result)
        return result

    def _deliver(self, result: BulkResult) -> None:
        if not self.ordered:
            self._out.append(result)
            return
        self._buffer[result.index] = result
        buffer = self._buffer
        while self._next in buffer:
            self._out.append(buffer.pop(self._next))
            self._next += 1

    def ready(self) -> List[BulkResult]:
        """The results that can be handed out now (in input order when ``ordered``)."""
        out, self._out = self._out, []
        return out


# -- the results file --------------------------------------------------------------------------

def error_record(error: BaseException) -> Dict[str, Any]:
    record: Dict[str, Any] = {"type": type(error).__name__, "message": str(error)}
    for name in ("status", "provider", "retry_after", "code", "request_id"):
        value = getattr(error, name, None)
        if value is not None:
            record[name] = value
    return record


def error_from_record(record: Mapping[str, Any]) -> LLMError:
    """The typed error a results file recorded (its class by name when it is one of ours)."""
    cls = getattr(_errors, str(record.get("type")), None)
    message = str(record.get("message", ""))
    if not (isinstance(cls, type) and issubclass(cls, LLMError)):
        cls = LLMError
        message = f"{record.get('type')}: {message}"  # not one of ours (a bug's exception): named
    kwargs = {k: record[k] for k in ("status", "provider", "retry_after", "code", "request_id") if k in record}
    try:
        error = cls(message, **kwargs)
    except TypeError:  # a class that needs more than the common fields
        error = LLMError(f"{record.get('type')}: {message}", **kwargs)
    return error


class ResultsFile:
    """A JSON Lines file of finished items, one object a line: ``{"key", "index", "id",
    "response": {...}}`` (the library's Response serialisation) or ``{..., "error": {"type",
    "message", "status", ...}}``. Appended to as items finish (flushed each line), read back by a
    rerun: a line that is not valid JSON (a run killed mid-write) is skipped and its item
    called again; for a key recorded twice the last line wins."""

    def __init__(self, path: Union[str, "os.PathLike[str]"]) -> None:
        self.path = os.fspath(path)
        self._handle: Any = None
        self._flushed = float("-inf")
        self.skipped_lines = 0

    def __repr__(self) -> str:
        return f"ResultsFile({self.path!r})"

    def load(self) -> Dict[str, BulkResult]:
        """The results recorded so far, by item key (empty when the file does not exist)."""
        from ._serialize import response_from_dict

        found: Dict[str, BulkResult] = {}
        try:
            handle = open(self.path, "r", encoding="utf-8")
        except FileNotFoundError:
            return found
        except OSError as exc:
            raise ValidationError(f"cannot read the results file {self.path!r}: {exc}") from None
        with handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                    key = record["key"]
                    if "response" in record:
                        result = BulkResult(int(record["index"]), record.get("id"),
                                            response=response_from_dict(record["response"]),
                                            attempts=int(record.get("attempts", 1)), resumed=True)
                    else:
                        result = BulkResult(int(record["index"]), record.get("id"),
                                            error=error_from_record(record["error"]),
                                            attempts=int(record.get("attempts", 1)), resumed=True)
                except (ValueError, KeyError, TypeError, LLMError) as exc:
                    self.skipped_lines += 1
                    _log.warning("%s line %d is not a result (%s); its item runs again", self.path, number, exc)
                    continue
                found[key] = result
        return found

    def open(self) -> None:
        """Open for appending (a last line cut short by a crash is ended first)."""
        if self._handle is not None:
            return
        try:
            handle = open(self.path, "a+b")
            handle.seek(0, os.SEEK_END)
            if handle.tell():
                handle.seek(-1, os.SEEK_END)
                if handle.read(1) != b"\n":
                    handle.write(b"\n")
        except OSError as exc:
            raise ValidationError(f"cannot write the results file {self.path!r}: {exc}") from None
        self._handle = handle

    #: seconds between flushes of the lines written (:meth:`flush_due`); closing flushes the rest
    FLUSH_EVERY = 0.25

    def write(self, result: BulkResult) -> None:
        """Append ``result``'s line (buffered: see :meth:`flush_due`; a line lost to a crash
        before its flush only means that item runs again on the rerun, never twice in the file)."""
        from ._serialize import response_to_dict

        record: Dict[str, Any] = {"key": key_for(result.index, result.id), "index": result.index, "id": result.id,
                                  "attempts": result.attempts}
        if result.response is not None and result.error is None:
            record["response"] = response_to_dict(result.response)
        else:
            record["error"] = error_record(result.error or LLMError("no response"))
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=str) + "\n"
        self._handle.write(line.encode("utf-8"))

    def flush_due(self, now: float) -> None:
        """Push the lines written to the file when :data:`FLUSH_EVERY` seconds have passed since
        the last push (``now``: the run's monotonic clock). A flush per line would cost a system
        call, and a thread switch, per item."""
        if self._handle is not None and now - self._flushed >= self.FLUSH_EVERY:
            self._handle.flush()
            self._flushed = now

    def close_file(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            handle.close()


def token_estimator(provider: str, model_name: str, default_max_tokens: Optional[int]
                    ) -> Callable[[BulkItem, int], int]:
    """A function estimating an item's tokens before it is sent, for the ``tpm`` budget: its
    prompt by the provider family's character ratios (``llmunified._tokens``, no tokenizer),
    plus its ``max_tokens`` (the item's, else the client's), else the average output so far."""
    from ._options import to_messages
    from ._tokens import EstimateCounter, family_for

    counter = EstimateCounter(family_for(provider, model_name))

    def estimate(item: BulkItem, output_guess: int) -> int:
        try:
            prompt = counter.per_request + sum(counter.count(m) for m in to_messages(item.messages))
        except LLMError:
            prompt = 0  # the call itself will say what is wrong with the messages
        output = item.options.get("max_tokens") or default_max_tokens or output_guess
        return int(prompt + (output if isinstance(output, int) else 0))

    return estimate
