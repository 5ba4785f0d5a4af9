"""What the emulator records of each request: :class:`RecordedRequest` and its :class:`Headers`."""
import collections.abc
from llmunified._dc import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, Iterable, Iterator, List, Optional, Tuple
from urllib.parse import parse_qsl

from ._reply import Reply

if TYPE_CHECKING:  # pragma: no cover
    from ._dialects import Dialect


class Headers(collections.abc.Mapping):
    """Read-only request headers with case-insensitive lookups (``h["Content-Type"]``)."""

    def __init__(self, items: Iterable[Tuple[str, str]] = ()) -> None:
        self._items = list(items)
        self._lower: Dict[str, str] = {}
        for name, value in self._items:
            key = name.lower()
            self._lower[key] = self._lower[key] + ", " + value if key in self._lower else value

    def __getitem__(self, name: str) -> str:
        return self._lower[name.lower()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._lower

    def __iter__(self) -> Iterator[str]:
        seen = set()
        for name, _ in self._items:
            if name.lower() not in seen:
                seen.add(name.lower())
                yield name

    def __len__(self) -> int:
        return len(self._lower)

    def items_raw(self) -> List[Tuple[str, str]]:
        """Headers exactly as received (original case, repeats kept)."""
        return list(self._items)

    def __repr__(self) -> str:
        return "Headers(%r)" % (self._items,)


@dataclass
class RecordedRequest:
    """One request as the emulator received it.

    ``headers`` look-ups are case-insensitive. ``json`` is the parsed body (None if the body
    was empty or not JSON). ``provider`` is the name of the dialect that answered
    (``openai``, ``anthropic``, ``ollama``; guessed for unknown paths) and ``endpoint`` its
    endpoint (``chat``, ``models``, ... or ``unknown``). ``params`` holds the values a route
    took from the path (e.g. ``{"model": ...}``), ``query`` the raw query string and
    ``query_params`` its parsed form. ``violations`` lists the contract rules the request broke
    (empty when the request was valid). ``status`` is the HTTP status sent back and ``reply``
    the :class:`Reply` that answered it (None for non-chat endpoints and rejected requests).
    """

    method: str
    path: str
    headers: Headers
    body: bytes
    json: Any
    provider: str
    violations: List[str] = field(default_factory=list)
    query: str = ""
    endpoint: str = ""
    status: Optional[int] = None
    reply: Optional[Reply] = None
    params: Dict[str, str] = field(default_factory=dict)
    _dialect: Optional["Dialect"] = field(default=None, init=False, repr=False, compare=False)
    #: the answering dialect's state in this emulator (``Emulator._dialect_state``): e.g. the
    #: Ollama dialect's local and loaded models
    _state: Dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)
    #: the emulator that received it (endpoints that answer from its reply script: batch jobs)
    _emulator: Any = field(default=None, init=False, repr=False, compare=False)

    @property
    def stream(self) -> bool:
        """True if this chat request asked for a streamed answer."""
        dialect = self._dialect
        return bool(dialect is not None and self.endpoint == "chat"
                    and dialect.is_stream(self.json, self))

    @property
    def messages(self) -> List[Any]:
        """The request's ``messages`` list (empty if absent)."""
        if isinstance(self.json, dict) and isinstance(self.json.get("messages"), list):
            return self.json["messages"]
        return []

    @property
    def query_params(self) -> Dict[str, str]:
        """The query string parsed (``?alt=sse&key=k`` -> ``{"alt": "sse", "key": "k"}``)."""
        return dict(parse_qsl(self.query, keep_blank_values=True))
