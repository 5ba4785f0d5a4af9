"""The Ollama dialect's model management: ``/api/pull``, ``/api/create`` (NDJSON progress),
``/api/show``, ``DELETE /api/delete``, ``/api/copy`` and ``/api/ps``.

Each emulator keeps its own local models: ``Emulator.models["ollama"]`` (what ``/api/tags``
lists), which a pull, copy or create adds to and a delete removes from; and the loaded ones (a
chat request loads its model for five minutes, ``keep_alive: 0`` unloads it), which ``/api/ps``
lists. Shapes follow ollama's ``docs/openapi.yaml`` and the recorded pull in
``tests/fixtures/ollama/pull_stream.httprr``.

Scripting: the Ollama registry the emulator pretends to pull from knows every well-formed name
except those containing ``nonexistent`` (Ollama's in-stream ``pull model manifest: file does
not exist``). A *queued* reply, when there is one, scripts the next pull or create:
``Reply(status=500, error="...")`` answers with that HTTP error; ``Reply(stream_error="...")``
sends that error line half way through the download; ``Reply(break_after=N)`` cuts the
connection after N lines; ``delay`` and ``chunk_size`` pace the lines as for chat.
"""
import datetime
import hashlib
from typing import Any, Dict, Iterator, List, Optional, Sequence

from ._dialects._base import Answer, Dialect
from ._render import dumps
from ._request import RecordedRequest

#: the sum of a pulled model's layers is what /api/tags reports as its size
MODEL_SIZE = 2019393189
_SMALL_LAYERS = (("template", 1429), ("license", 7711), ("params", 96))
_WEIGHT_STEPS = 8  # progress lines of the weights layer
_KEEP_ALIVE = datetime.timedelta(minutes=5)
_PARAMETERS = 'stop                           "<|start_header_id|>"\nstop                           "<|eot_id|>"\n' \
              'temperature                    0.7'
_TEMPLATE = "{{ if .System }}<|start_header_id|>system<|end_header_id|>\n\n{{ .System }}<|eot_id|>{{ end }}" \
            "<|start_header_id|>user<|end_header_id|>\n\n{{ .Prompt }}<|eot_id|>"


def full_name(name: str) -> str:
    """``llama3.2`` -> ``llama3.2:latest`` (a name without a tag means ``latest``)."""
    return name if ":" in name.rsplit("/", 1)[-1] else name + ":latest"


def _index(models: Sequence[str], name: str) -> Optional[int]:
    wanted = full_name(name)
    for i, have in enumerate(models):
        if full_name(have) == wanted:
            return i
    return None


def _digest(*parts: Any) -> str:
    return hashlib.sha256("/".join(str(p) for p in parts).encode("utf-8")).hexdigest()


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def _stamp(when: datetime.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + "%06d" % when.microsecond + "Z"


def _details(name: str) -> Dict[str, Any]:
    family = name.rsplit("/", 1)[-1].split(":")[0]
    return {"parent_model": "", "format": "gguf", "family": family, "families": [family],
            "parameter_size": "3.2B", "quantization_level": "Q4_K_M"}


def _created(request: RecordedRequest) -> Dict[str, Dict[str, Any]]:
    """What ``create`` and ``copy`` set on a local model (its system prompt, template ...)."""
    return request._state.setdefault("custom", {})


def _embeds(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in ("embed", "minilm", "bge-"))


def _error(dialect: Dialect, status: int, message: str) -> Answer:
    return Answer(status, dialect.error_body(status, message), dialect.json_content_type)


def _scripted_error(dialect: Dialect, request: RecordedRequest) -> Optional[Answer]:
    reply = request.reply
    if reply is None:
        return None
    if reply.body is not None:
        raw = reply.body.encode("utf-8") if isinstance(reply.body, str) else bytes(reply.body)
        return Answer(reply.status, raw, reply.content_type)
    if reply.is_error:
        return _error(dialect, reply.status, dialect.error_message(reply.status, reply.error))
    return None


def _name(request: RecordedRequest, key: str = "model") -> Optional[str]:
    body = request.json if isinstance(request.json, dict) else {}
    name = body.get(key)
    if name is None and key == "model":
        name = body.get("name")  # the older field name, still accepted by the server
    return name if isinstance(name, str) and name else None


def _progress(dialect: Dialect, request: RecordedRequest, lines: List[Dict[str, Any]],
              on_success: Any) -> Answer:
    """The NDJSON answer of pull / create: ``lines`` (the last one ``success``, which runs
    ``on_success`` as it is sent), or just the final object when the request said
    ``"stream": false``."""
    reply = request.reply
    body = request.json if isinstance(request.json, dict) else {}
    if body.get("stream") is False:
        errors = [line for line in lines if "error" in line]
        if errors or (reply is not None and reply.stream_error):
            message = errors[0]["error"] if errors else reply.stream_error  # type: ignore[union-attr]
            return _error(dialect, 500, str(message))
        on_success()
        return Answer(200, dumps({"status": "success"}), dialect.json_content_type)
    if reply is not None and reply.stream_error:
        cut = max(1, len(lines) // 2)
        lines = lines[:cut] + [{"error": reply.stream_error}]

    def events() -> Iterator[bytes]:
        for line in lines:
            if line.get("status") == "success":
                on_success()
            yield dumps(line) + b"\n"

    return Answer(200, b"", dialect.stream_content_type, events=events())


def pull(dialect: Dialect, request: RecordedRequest, models: List[str]) -> Answer:
    scripted = _scripted_error(dialect, request)
    if scripted is not None:
        return scripted
    name = _name(request)
    if name is None:
        return _error(dialect, 400, "model is required")
    lines: List[Dict[str, Any]] = [{"status": "pulling manifest"}]
    if "nonexistent" in name:
        lines.append({"error": "pull model manifest: file does not exist"})
        return _progress(dialect, request, lines, lambda: None)
    weights = MODEL_SIZE - sum(size for _, size in _SMALL_LAYERS)
    layers = [("model", weights)] + list(_SMALL_LAYERS)
    for kind, size in layers:
        digest = _digest(full_name(name), kind)
        status = "pulling " + digest[:12]
        steps = _WEIGHT_STEPS if size == weights else 1
        if steps > 1:
            lines.append({"status": status, "digest": "sha256:" + digest, "total": size})
        for step in range(1, steps + 1):
            lines.append({"status": status, "digest": "sha256:" + digest, "total": size,
                          "completed": size * step // steps})
    lines += [{"status": "verifying sha256 digest"}, {"status": "writing manifest"}, {"status": "success"}]

    def done() -> None:
        if _index(models, name) is None:
            models.append(name)
        _created(request).pop(full_name(name), None)

    return _progress(dialect, request, lines, done)


def create(dialect: Dialect, request: RecordedRequest, models: List[str]) -> Answer:
    scripted = _scripted_error(dialect, request)
    if scripted is not None:
        return scripted
    name, source = _name(request), _name(request, "from")
    if name is None:
        return _error(dialect, 400, "model is required")
    if source is None:
        return _error(dialect, 400, "neither 'from' or 'files' was specified")
    if _index(models, source) is None:
        return _error(dialect, 404, "model '%s' not found" % source)
    body = request.json
    custom = dict(_created(request).get(full_name(source), {}))
    for key in ("system", "template", "parameters", "license"):
        if body.get(key) is not None:
            custom[key] = body[key]
    custom["parent_model"] = full_name(source)
    lines: List[Dict[str, Any]] = [{"status": "using existing layer sha256:" + _digest(full_name(source), "model")}]
    for key in ("system", "template", "parameters"):
        if key in body:
            lines.append({"status": "creating new layer sha256:" + _digest(full_name(name), key, body[key])})
    lines += [{"status": "writing manifest"}, {"status": "success"}]

    def done() -> None:
        if _index(models, name) is None:
            models.append(name)
        _created(request)[full_name(name)] = custom

    return _progress(dialect, request, lines, done)


def show(dialect: Dialect, request: RecordedRequest, models: List[str]) -> Answer:
    name = _name(request)
    if name is None:
        return _error(dialect, 400, "model is required")
    if _index(models, name) is None:
        return _error(dialect, 404, "model '%s' not found" % name)
    custom = _created(request).get(full_name(name), {})
    details = _details(name)
    if custom.get("parent_model"):
        details["parent_model"] = custom["parent_model"]
    family = details["family"]
    parameters = _PARAMETERS
    if isinstance(custom.get("parameters"), dict):  # a created model's own, in place of its parent's
        own = custom["parameters"]
        lines = [line for line in parameters.split("\n") if line.split(" ", 1)[0] not in own]
        for key, value in own.items():
            for item in value if isinstance(value, list) else [value]:
                text = dumps(item).decode("utf-8") if isinstance(item, str) else str(item).lower() \
                    if isinstance(item, bool) else str(item)
                lines.append("%-30s %s" % (key, text))
        parameters = "\n".join(lines)
    out: Dict[str, Any] = {
        "license": custom.get("license", "LLAMA 3.2 COMMUNITY LICENSE AGREEMENT"),
        "modelfile": "# Modelfile generated by \"ollama show\"\nFROM %s\n" % full_name(name),
        "parameters": parameters,
        "template": custom.get("template", _TEMPLATE),
        "details": details,
        "model_info": {"general.architecture": "llama", "general.parameter_count": 3212749888,
                       "general.file_type": 15, "llama.context_length": 131072,
                       "llama.embedding_length": 3072, "llama.block_count": 28,
                       "general.basename": family},
        # an embedding model (nomic-embed-text, all-minilm, bge-m3) only embeds, as on a real server
        "capabilities": ["embedding"] if _embeds(name) else ["completion", "tools"],
        "modified_at": "2025-01-01T00:00:00.000000000Z",
    }
    if custom.get("system"):
        out["system"] = custom["system"]
    return Answer(200, dumps(out), dialect.json_content_type)


def delete(dialect: Dialect, request: RecordedRequest, models: List[str]) -> Answer:
    name = _name(request)
    if name is None:
        return _error(dialect, 400, "model is required")
    i = _index(models, name)
    if i is None:
        return _error(dialect, 404, "model '%s' not found" % name)
    del models[i]
    _created(request).pop(full_name(name), None)
    request._state.setdefault("loaded", {}).pop(full_name(name), None)
    return Answer(200, b"", dialect.json_content_type)


def copy(dialect: Dialect, request: RecordedRequest, models: List[str]) -> Answer:
    source, destination = _name(request, "source"), _name(request, "destination")
    if source is None or destination is None:
        return _error(dialect, 400, "source and destination are required")
    if _index(models, source) is None:
        return _error(dialect, 404, "model '%s' not found" % source)
    if _index(models, destination) is None:
        models.append(destination)
    custom = _created(request)
    if full_name(source) in custom:
        custom[full_name(destination)] = dict(custom[full_name(source)])
    return Answer(200, b"", dialect.json_content_type)


def running(dialect: Dialect, request: RecordedRequest) -> Answer:
    loaded: Dict[str, datetime.datetime] = request._state.setdefault("loaded", {})
    now = _now()
    out = []
    for name, expires in sorted(loaded.items()):
        if expires <= now:
            continue
        out.append({"name": name, "model": name, "size": 3355443200, "digest": _digest(name, "model"),
                    "details": _details(name), "expires_at": _stamp(expires), "size_vram": 3355443200,
                    "context_length": 4096})
    return Answer(200, dumps({"models": out}), dialect.json_content_type)


def chat_seen(request: RecordedRequest) -> None:
    """A chat request loads its model for five minutes (``keep_alive``: ``0`` unloads it; a
    number of seconds or a duration such as ``"10m"`` keeps it that long)."""
    body = request.json if isinstance(request.json, dict) else {}
    name = body.get("model")
    if not isinstance(name, str) or not name:
        return
    loaded: Dict[str, datetime.datetime] = request._state.setdefault("loaded", {})
    keep = _keep_alive(body.get("keep_alive"))
    if keep is not None and keep.total_seconds() <= 0:
        loaded.pop(full_name(name), None)
    else:
        loaded[full_name(name)] = _now() + (keep or _KEEP_ALIVE)


def _keep_alive(value: Any) -> Optional[datetime.timedelta]:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return datetime.timedelta(seconds=value) if value >= 0 else datetime.timedelta(days=3650)
    if isinstance(value, str) and value[:-1].replace(".", "", 1).isdigit():
        unit = {"s": 1, "m": 60, "h": 3600}.get(value[-1])
        if unit is not None:
            return datetime.timedelta(seconds=float(value[:-1]) * unit)
    return None


def serve(dialect: Dialect, endpoint: str, request: RecordedRequest, models: List[str]) -> Answer:
    if endpoint == "pull":
        return pull(dialect, request, models)
    if endpoint == "create":
        return create(dialect, request, models)
    if endpoint == "show":
        return show(dialect, request, models)
    if endpoint == "delete":
        return delete(dialect, request, models)
    if endpoint == "copy":
        return copy(dialect, request, models)
    return running(dialect, request)


ENDPOINTS = ("pull", "create", "show", "delete", "copy", "ps")
