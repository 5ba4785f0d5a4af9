"""Model management (Ollama's ``/api/pull``, ``/api/show``, ``/api/ps`` ...), sans-IO.

What the I/O layer (``llmunified/_sync/_admin.py``) asks before and after each exchange lives
here: the checked model names, the request of each operation (built by the codec's
``admin_request`` hook: only Ollama's codec has them, every other raises
UnsupportedOperationError), the result types (:class:`PullProgress`, :class:`ModelDetails`) and
the decoder of a progress stream (:class:`ProgressDecoder`), which takes bytes in any chunking.
"""
from __future__ import annotations
import json
import re
from ._dc import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Optional, Tuple

from ._http import HTTPRequest
from ._sse import NDJSONDecoder
from ._types import ModelInfo
from .errors import LLMError, StreamError, UnsupportedOperationError, ValidationError

if TYPE_CHECKING:  # pragma: no cover
    from .providers._base import Codec

__all__ = ["PullProgress", "ModelDetails", "ProgressDecoder", "ModelAdmin", "check_model_name", "parse_parameters"]


@dataclass
class PullProgress:
    """One status line of a model download (``client.pull``) or creation (``client.create_model``).

    ``status`` is the server's text (``"pulling manifest"``, ``"pulling 7cd4618c1faf"``,
    ``"verifying sha256 digest"``, ``"writing manifest"``, ``"success"``); while a layer
    downloads, ``digest`` names it and ``completed`` / ``total`` count its bytes (None when the
    line says nothing). ``fraction`` is ``completed / total`` when both are known; ``done`` is
    True on the final ``success``. ``raw`` is the line as sent.
    """

    status: str
    digest: Optional[str] = None
    completed: Optional[int] = None
    total: Optional[int] = None
    raw: Dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def fraction(self) -> Optional[float]:
        """How much of this layer has arrived, from 0.0 to 1.0 (None when unknown)."""
        if self.total is None or self.total <= 0 or self.completed is None:
            return None
        return min(1.0, max(0.0, self.completed / self.total))

    @property
    def done(self) -> bool:
        """True for the final ``success`` line."""
        return self.status == "success"


@dataclass
class ModelDetails:
    """What ``client.show(name)`` tells about a local model (Ollama's ``/api/show``).

    ``details`` (format, family, parameter size, quantization level), ``parameters`` (the
    model's default options, parsed: ``{"temperature": 0.7, "stop": ["<|eot|>"]}``; the text as
    sent is ``raw["parameters"]``), ``template`` (the prompt template), ``system`` (its system
    prompt), ``license``, ``capabilities`` (``["completion", "tools", "vision", ...]``),
    ``model_info`` (the GGUF metadata: architecture, context length, ...), ``modified_at`` (as
    sent). ``context_window`` reads ``<architecture>.context_length`` from ``model_info``.
    """

    name: str
    provider: str
    details: Dict[str, Any] = field(default_factory=dict)
    parameters: Dict[str, Any] = field(default_factory=dict)
    template: Optional[str] = None
    system: Optional[str] = None
    license: Optional[str] = None
    capabilities: List[str] = field(default_factory=list)
    model_info: Dict[str, Any] = field(default_factory=dict, repr=False)
    modified_at: Optional[str] = None
    raw: Dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def context_window(self) -> Optional[int]:
        """The model's trained context length, from ``model_info`` (None when it is not there)."""
        arch = self.model_info.get("general.architecture")
        value = self.model_info.get(f"{arch}.context_length") if isinstance(arch, str) else None
        return value if isinstance(value, int) and not isinstance(value, bool) else None


# Ollama's model names (ollama/ollama types/model/name.go): [host/][namespace/]model[:tag], parts
# of letters, digits, "_", "-" and "."; a host may carry a port. Looser than the server (which
# says what it refuses), strict enough to stop what can never be a name before any request.
_PART = r"[A-Za-z0-9_][A-Za-z0-9_.-]*"
_NAME = re.compile(rf"(?:{_PART}(?::[0-9]+)?/)?(?:{_PART}/)?{_PART}(?::[A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}})?"
                   r"(?:@sha256:[0-9a-f]{64})?\Z")


def check_model_name(name: Any, what: str = "name") -> str:
    """``name`` when it can be a model name (``llama3.2``, ``qwen3:4b``,
    ``hf.co/org/repo:Q4_K_M``), else ValidationError before any request."""
    if not isinstance(name, str) or not name.strip():
        raise ValidationError(f"{what} must be a model name such as 'llama3.2' or 'qwen3:4b', got {name!r}")
    if not _NAME.match(name):
        raise ValidationError(f"{what} {name!r} is not a valid model name: use [host/][namespace/]model[:tag] "
                              "with letters, digits, '_', '-' and '.' (e.g. 'llama3.2:3b')")
    return name


def parse_parameters(text: Any) -> Dict[str, Any]:
    """Ollama's ``parameters`` text (one ``name value`` per line, as in a Modelfile) as a dict:
    numbers as numbers, quoted strings unquoted, a name given more than once (``stop``) as a
    list of its values."""
    out: Dict[str, Any] = {}
    if not isinstance(text, str):
        return out
    repeated = set()
    for line in text.splitlines():
        key, _, value = line.strip().partition(" ")
        if not key:
            continue
        parsed = _parameter_value(value.strip())
        if key in out:
            if key not in repeated:
                out[key] = [out[key]]
                repeated.add(key)
            out[key].append(parsed)
        else:
            out[key] = [parsed] if key == "stop" else parsed
            if key == "stop":
                repeated.add(key)
    return out


def _parameter_value(value: str) -> Any:
    if value.startswith('"') and value.endswith('"') and len(value) >= 2:
        try:
            return json.loads(value)
        except ValueError:
            return value[1:-1]
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    if value in ("true", "false"):
        return value == "true"
    return value


def _tagged(name: str) -> str:
    """``llama3.2`` -> ``llama3.2:latest``: Ollama's name for a model without a tag."""
    return name if ":" in name.rsplit("/", 1)[-1] else name + ":latest"


def _count(value: Any) -> Optional[int]:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


class ProgressDecoder:
    """Bytes of an NDJSON progress stream in (any chunking), :class:`PullProgress` out.

    A line ``{"error": ...}`` raises the typed error ``error_for`` makes of it, and a stream that
    ends before its ``success`` line (:meth:`eof`) a StreamError; both carry the last progress
    as ``.progress``. ``layers`` keeps each layer's (completed, total) bytes, so
    :attr:`completed_bytes` / :attr:`total_bytes` cover the whole download.
    """

    def __init__(self, provider: str, what: str, headers: Mapping[str, str],
                 error_for: Callable[[Dict[str, Any], Optional[PullProgress]], LLMError]) -> None:
        self.provider = provider
        self.what = what  # "pull of 'llama3.2'": for messages
        self.headers = dict(headers)
        self._error_for = error_for
        self._lines = NDJSONDecoder()
        self.last: Optional[PullProgress] = None
        self.done = False
        self.error: Optional[LLMError] = None
        self.layers: Dict[str, Tuple[int, int]] = {}

    @property
    def completed_bytes(self) -> int:
        """Bytes of every layer seen so far that have arrived."""
        return sum(c for c, _ in self.layers.values())

    @property
    def total_bytes(self) -> int:
        """The size of every layer seen so far (grows as the server names more layers)."""
        return sum(t for _, t in self.layers.values())

    def check(self) -> None:
        """Raise the error found after the progress already returned, if any."""
        if self.error is not None:
            raise self.error

    def feed(self, chunk: bytes) -> List[PullProgress]:
        """The progress lines completed by ``chunk``. A failing line raises its error at once when
        nothing came before it in the chunk, else at the next ``feed`` / ``eof`` / ``check``: the
        progress the server sent is never withheld."""
        self.check()
        return self._run(self._lines.feed(chunk))

    def eof(self) -> List[PullProgress]:
        """End of the body: the last line, if unterminated; StreamError when no ``success`` came."""
        self.check()
        out = self._run(self._lines.flush())
        if not self.done and self.error is None:
            self.error = self.broken("the connection closed before the final 'success' line")
            if not out:
                raise self.error
        return out

    def _run(self, lines: List[bytes]) -> List[PullProgress]:
        out: List[PullProgress] = []
        for line in lines:
            try:
                self._line(line, out)
            except LLMError as exc:
                self.error = exc
                if not out:
                    raise
                break
        return out

    def broken(self, why: str, body: Optional[str] = None) -> StreamError:
        """The StreamError for a progress stream cut short (with the last progress)."""
        last = f"; the last status was {self.last.status!r}" if self.last is not None else ""
        err = StreamError(f"{self.provider} {self.what} broke before it finished ({why}){last}; the last progress "
                          "is on error.progress", provider=self.provider, body=body, headers=self.headers)
        err.progress = self.last  # type: ignore[attr-defined]
        return err

    def _line(self, line: bytes, out: List[PullProgress]) -> None:
        if self.done:
            return
        text = line.decode("utf-8", "replace")
        try:
            obj = json.loads(text)
        except ValueError:
            raise self.broken(f"a line is not valid JSON: {text[:200]!r}", body=text) from None
        if not isinstance(obj, dict):
            raise self.broken(f"a line is not a JSON object: {text[:200]!r}", body=text)
        if obj.get("error") is not None:
            err = self._error_for(obj, self.last)
            err.progress = self.last  # type: ignore[attr-defined]
            raise err
        status = obj.get("status")
        if not isinstance(status, str):
            raise self.broken(f"a line has no status: {text[:200]!r}", body=text)
        digest = obj.get("digest")
        progress = PullProgress(status, digest if isinstance(digest, str) and digest else None,
                                _count(obj.get("completed")), _count(obj.get("total")), obj)
        if progress.digest is not None and progress.total is not None:
            self.layers[progress.digest] = (min(progress.completed or 0, progress.total), progress.total)
        self.last = progress
        if progress.done:
            self.done = True
        out.append(progress)


#: what each operation is called in an UnsupportedOperationError
OPERATIONS = {"pull": "pulling models (Client.pull)", "show": "showing a model (Client.show)",
              "delete": "deleting models (Client.delete_model)", "copy": "copying models (Client.copy_model)",
              "create": "creating models (Client.create_model)",
              "running": "listing running models (Client.running_models)"}


class ModelAdmin:
    """The sans-IO half of the model-management calls of one client: checked arguments in,
    requests out (the codec's ``admin_request`` hook), replies in, results out."""

    def __init__(self, codec: "Codec") -> None:
        self.codec = codec
        self.provider = codec.provider

    def pull_request(self, name: str, insecure: bool = False) -> HTTPRequest:
        self.codec.admin_check("pull")  # an unsupported provider says so before the name is checked
        body: Dict[str, Any] = {"model": check_model_name(name), "stream": True}
        if insecure:
            body["insecure"] = True
        return self.codec.admin_request("pull", body)

    def show_request(self, name: str) -> HTTPRequest:
        self.codec.admin_check("show")
        return self.codec.admin_request("show", {"model": check_model_name(name)})

    def delete_request(self, name: str) -> HTTPRequest:
        self.codec.admin_check("delete")
        return self.codec.admin_request("delete", {"model": check_model_name(name)})

    def copy_request(self, source: str, destination: str) -> HTTPRequest:
        self.codec.admin_check("copy")
        return self.codec.admin_request("copy", {"source": check_model_name(source, "source"),
                                                 "destination": check_model_name(destination, "destination")})

    def create_request(self, name: str, from_: Optional[str], system: Optional[str], parameters: Optional[Mapping[str, Any]],
               template: Optional[str], extra: Optional[Mapping[str, Any]]) -> HTTPRequest:
        self.codec.admin_check("create")
        body: Dict[str, Any] = {"model": check_model_name(name)}
        if from_ is None:
            raise ValidationError("create_model needs from_=<an existing model>, e.g. "
                                  "client.create_model('terse', from_='llama3.2', system='Be terse.')")
        body["from"] = check_model_name(from_, "from_")
        if system is not None:
            if not isinstance(system, str):
                raise ValidationError(f"system must be a string, got {type(system).__name__}")
            body["system"] = system
        if template is not None:
            if not isinstance(template, str):
                raise ValidationError(f"template must be a string, got {type(template).__name__}")
            body["template"] = template
        if parameters is not None:
            if not isinstance(parameters, Mapping) or not all(isinstance(k, str) for k in parameters):
                raise ValidationError("parameters must be a dict of option names to values, e.g. "
                                      "{'temperature': 0.2, 'num_ctx': 8192}")
            body["parameters"] = dict(parameters)
        if extra:
            body.update(extra)  # quantize, license, messages, adapters ...
        body["stream"] = True
        return self.codec.admin_request("create", body)

    def running_request(self) -> HTTPRequest:
        self.codec.admin_check("running")
        return self.codec.admin_request("running", {})

    def decoder(self, what: str, headers: Mapping[str, str]) -> ProgressDecoder:
        """A fresh decoder for the progress stream of ``what`` (``"pull of 'llama3.2'"``)."""
        return self.codec.progress_decoder(what, headers)

    def parse_show(self, name: str, body: bytes, headers: Mapping[str, str]) -> ModelDetails:
        return self.codec.parse_admin("show", name, body, headers)

    def parse_running(self, body: bytes, headers: Mapping[str, str]) -> List[ModelInfo]:
        return self.codec.parse_admin("running", None, body, headers)

    def loaded_request(self) -> Optional[HTTPRequest]:
        """The request telling which listed models are loaded (Ollama's ``/api/ps``), or None."""
        try:
            self.codec.admin_check("running")
        except UnsupportedOperationError:
            return None
        return self.codec.admin_request("running", {})

    def mark_loaded(self, models: List[ModelInfo], body: bytes, headers: Mapping[str, str]) -> None:
        """Set ``details["loaded"]`` (and what the server says of the loaded ones) on ``models``."""
        running = {_tagged(m.id): m for m in self.parse_running(body, headers)}
        for info in models:
            loaded = running.get(_tagged(info.id))
            details = dict(info.details or {})
            details["loaded"] = loaded is not None
            if loaded is not None:
                for key in ("size_vram", "expires_at", "context_length"):
                    if key in (loaded.details or {}):
                        details[key] = loaded.details[key]  # type: ignore[index]
            info.details = details
