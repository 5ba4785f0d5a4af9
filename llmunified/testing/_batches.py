"""The emulator's batch APIs: OpenAI's (and Azure's) files and batches, Anthropic's Message
Batches, Gemini's Batch Mode (inline requests, or a JSONL file sent through the Files API's
resumable upload, with the results in a responses file to download).

A job's state moves over polls: created ``validating`` (Anthropic: ``in_progress``, Gemini:
``BATCH_STATE_PENDING``), ``in_progress`` at the first read, and final after ``polls`` more reads
(:meth:`Emulator.script_batches`). How jobs end is scripted per emulator, for the jobs created
next: ``completed`` (default), ``failed`` (the whole job; no results), ``expired`` (the first half
of the requests ran, the rest expired). Each request is answered at creation, in input order,
exactly as the chat endpoint would answer it: its body is checked against the dialect's
contract (a violation is that request's error) and takes the next scripted reply (an error
reply is that request's error) or the default echo. Result files list results in reverse input
order, as real ones come in any order.
"""
import itertools
import json
import re
import threading
import time
from typing import Any, Dict, List, Optional, Tuple

from ._render import Context, dumps
from ._request import RecordedRequest

OUTCOMES = ("completed", "failed", "expired")
_LOCK = threading.Lock()
_IDS = itertools.count(1)
_ANTHROPIC_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def script(emulator: Any, outcome: str = "completed", polls: int = 1, count: Optional[int] = None) -> None:
    """How the next batch jobs end (``count`` of them, else every one from now on)."""
    if outcome not in OUTCOMES:
        raise ValueError("outcome must be one of %s, got %r" % (", ".join(OUTCOMES), outcome))
    if not isinstance(polls, int) or polls < 0:
        raise ValueError("polls must be a whole number >= 0, got %r" % (polls,))
    state = emulator._dialect_state("batches")
    with _LOCK:
        state["script"] = {"outcome": outcome, "polls": polls, "count": count}


def _plan(state: Dict[str, Any]) -> Tuple[str, int]:
    with _LOCK:
        plan = state.get("script")
        if plan is None:
            return "completed", 1
        if plan["count"] is not None:
            plan["count"] -= 1
            if plan["count"] <= 0:
                state.pop("script")
        return plan["outcome"], plan["polls"]


def _answer(dialect: Any, status: int, obj: Any, content_type: Optional[str] = None) -> Any:
    from ._dialects._base import Answer

    body = obj if isinstance(obj, bytes) else dumps(obj)
    return Answer(status, body, content_type or dialect.json_content_type)


def _error(dialect: Any, status: int, message: str) -> Any:
    from ._dialects._base import Answer

    return Answer(status, dialect.error_body(status, message), dialect.json_content_type)


def _run_one(dialect: Any, emulator: Any, request: RecordedRequest, body: Any, params: Dict[str, str]
             ) -> Tuple[int, Any]:
    """(status, JSON body) of one batch request, as the chat endpoint would answer it."""
    rec = RecordedRequest("POST", request.path, request.headers, dumps(body), body, dialect.name,
                          endpoint="chat", params=params)
    rec._dialect = dialect
    violations = dialect.check_body(body, None) if isinstance(body, dict) else []
    if not isinstance(body, dict):
        return 400, json.loads(dialect.error_body(400, "the request body must be a JSON object"))
    if violations:
        v = violations[0]
        return v.status, json.loads(dialect.error_body(v.status, v.message, v.type, v.code, v.param))
    reply = emulator._next_reply(rec)
    if reply.is_error:
        return reply.status, json.loads(dialect.error_body(reply.status, reply.error, reply.error_type,
                                                           reply.error_code))
    with _LOCK:
        seq = next(_IDS)
    ctx = Context(body, "req_batch_%d" % seq, seq, emulator.openai_reasoning_field,
                  emulator.ollama_legacy_tool_calls, params)
    return 200, dialect.render(reply, ctx)


def _job_base(state: Dict[str, Any], kind: str, outcome: str, polls: int) -> Dict[str, Any]:
    with _LOCK:
        n = next(_IDS)
    return {"n": n, "kind": kind, "outcome": outcome, "polls": polls, "reads": 0, "created": int(time.time()),
            "cancelled": False, "results": [], "final": False}


def _advance(job: Dict[str, Any]) -> None:
    """One read of the job: the state moves (validating -> in_progress -> final)."""
    job["reads"] += 1
    if job["cancelled"] or job["reads"] > job["polls"]:
        job["final"] = True


def serve(dialect: Any, endpoint: str, request: RecordedRequest) -> Any:
    emulator = request._emulator
    state = emulator._dialect_state("batches")
    jobs = state.setdefault("jobs", {})
    family = "openai" if dialect.name in ("openai", "azure") else dialect.name
    handler = globals().get("_%s_%s" % (family, endpoint))
    if handler is None:
        raise LookupError("the %s dialect has no %r endpoint" % (dialect.name, endpoint))
    return handler(dialect, emulator, state, jobs, request)


# ---- OpenAI (and Azure) -----------------------------------------------------------------------
def _multipart(request: RecordedRequest) -> Dict[str, Tuple[Optional[str], bytes]]:
    """{field: (filename, content)} of a multipart/form-data body."""
    ctype = request.headers.get("content-type") or ""
    m = re.search(r'boundary="?([^";]+)"?', ctype)
    if not ctype.startswith("multipart/form-data") or m is None:
        raise ValueError("expected a multipart/form-data body with a boundary")
    out: Dict[str, Tuple[Optional[str], bytes]] = {}
    for part in request.body.split(b"--" + m.group(1).encode("ascii")):
        head, sep, content = part.partition(b"\r\n\r\n")
        if not sep:
            continue
        disposition = head.decode("utf-8", "replace")
        name = re.search(r'name="([^"]*)"', disposition)
        if name is None:
            continue
        filename = re.search(r'filename="([^"]*)"', disposition)
        if content.endswith(b"\r\n"):
            content = content[:-2]
        out[name.group(1)] = (filename.group(1) if filename else None, content)
    return out


def _openai_batch_file_upload(dialect: Any, emulator: Any, state: Dict[str, Any], jobs: Dict[str, Any],
                              request: RecordedRequest) -> Any:
    try:
        fields = _multipart(request)
    except ValueError as exc:
        return _error(dialect, 400, str(exc))
    if "file" not in fields or fields["file"][0] is None:
        return _error(dialect, 400, "Missing file: upload it as the multipart field 'file' with a filename")
    purpose = fields.get("purpose", (None, b""))[1].decode("utf-8", "replace")
    if purpose != "batch":
        return _error(dialect, 400, "'%s' is not one of ['fine-tune', 'assistants', 'batch', ...] - 'purpose'"
                      % purpose)
    with _LOCK:
        ident = "file-emu%d" % next(_IDS)
    filename, content = fields["file"]
    files = state.setdefault("files", {})
    files[ident] = content
    return _answer(dialect, 200, {"id": ident, "object": "file", "bytes": len(content), "created_at": int(time.time()),
                                  "filename": filename, "purpose": "batch", "status": "processed"})


def _openai_batch_file_content(dialect: Any, emulator: Any, state: Dict[str, Any], jobs: Dict[str, Any],
                               request: RecordedRequest) -> Any:
    content = state.get("files", {}).get(request.params.get("file_id"))
    if content is None:
        return _error(dialect, 404, "No such File object: %s" % request.params.get("file_id"))
    return _answer(dialect, 200, content, "application/octet-stream")


def _openai_endpoint(dialect: Any) -> str:
    return "/chat/completions" if dialect.name == "azure" else "/v1/chat/completions"


def _openai_batch_create(dialect: Any, emulator: Any, state: Dict[str, Any], jobs: Dict[str, Any],
                         request: RecordedRequest) -> Any:
    body = request.json if isinstance(request.json, dict) else {}
    endpoint = _openai_endpoint(dialect)
    file_id = body.get("input_file_id")
    content = state.get("files", {}).get(file_id)
    if content is None:
        return _error(dialect, 400 if file_id is None else 404, "No such File object: %s" % file_id)
    if body.get("endpoint") != endpoint:
        return _error(dialect, 400, "Invalid 'endpoint': expected %r" % endpoint)
    if body.get("completion_window") != "24h":
        return _error(dialect, 400, "Invalid 'completion_window': only '24h' is supported")
    outcome, polls = _plan(state)
    job = _job_base(state, "openai", outcome, polls)
    ident = "batch_emu%d" % job["n"]
    job.update(id=ident, input_file_id=file_id, endpoint=endpoint, problems=[])
    seen = set()
    for number, line in enumerate(content.splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            if not isinstance(entry, dict):
                raise ValueError("not an object")
        except ValueError:
            job["problems"].append({"code": "invalid_json_line", "line": number,
                                    "message": "This line is not parseable as valid JSON."})
            continue
        cid = entry.get("custom_id")
        if not isinstance(cid, str) or cid in seen:
            job["problems"].append({"code": "duplicate_custom_id" if cid in seen else "missing_required_parameter",
                                    "line": number, "message": "The custom_id for this request is a duplicate of "
                                    "another request. The custom_id parameter must be unique for each request in "
                                    "a batch." if cid in seen else "custom_id is required"})
            continue
        seen.add(cid)
        if entry.get("method") != "POST" or entry.get("url") != endpoint:
            job["problems"].append({"code": "invalid_url", "line": number,
                                    "message": "The URL provided for this request does not match the batch "
                                    "endpoint."})
            continue
        params = {}
        if dialect.name == "azure":
            params = {"deployment": (entry.get("body") or {}).get("model") or ""}
        status, result = _run_one(dialect, emulator, request, entry.get("body"), params)
        job["results"].append((cid, status, result))
    if job["problems"]:
        job["outcome"] = "failed"
    jobs[ident] = job
    return _answer(dialect, 200, _openai_object(job, state))


def _openai_object(job: Dict[str, Any], state: Dict[str, Any]) -> Dict[str, Any]:
    total = len(job["results"])
    status = "validating" if job["reads"] == 0 else "in_progress"
    counts = {"total": total, "completed": 0, "failed": 0}
    out: Dict[str, Any] = {"id": job["id"], "object": "batch", "endpoint": job["endpoint"], "errors": None,
                           "input_file_id": job["input_file_id"], "completion_window": "24h", "status": status,
                           "output_file_id": None, "error_file_id": None, "created_at": job["created"],
                           "request_counts": counts, "metadata": None}
    if job["cancelled"] and not job["final"]:
        out["status"] = "cancelling"
    if not job["final"]:
        return out
    if "files_written" not in job:
        job["files_written"] = _openai_files(job, state)
    output_id, error_id, done, failed = job["files_written"]
    out.update(output_file_id=output_id, error_file_id=error_id)
    counts.update(completed=done, failed=failed)
    if job["cancelled"]:
        out["status"] = "cancelled"
    elif job["outcome"] == "failed":
        out["status"] = "failed"
        counts.update(total=0)
        out["errors"] = {"object": "list", "data": job["problems"] or [
            {"code": "emulated_failure", "line": None, "message": "The batch failed (scripted)."}]}
    else:
        out["status"] = job["outcome"]
    return out


def _openai_files(job: Dict[str, Any], state: Dict[str, Any]) -> Tuple[Optional[str], Optional[str], int, int]:
    if job["outcome"] == "failed" or job["cancelled"]:
        return None, None, 0, 0
    results = job["results"]
    ran = len(results) if job["outcome"] == "completed" else len(results) // 2
    good: List[bytes] = []
    bad: List[bytes] = []
    for i, (cid, status, body) in reversed(list(enumerate(results))):
        if i >= ran:
            bad.append(dumps({"id": "batch_req_%d_%d" % (job["n"], i), "custom_id": cid, "response": None,
                              "error": {"code": "batch_expired", "message": "This request could not be executed "
                                        "before the completion window expired."}}))
            continue
        line = dumps({"id": "batch_req_%d_%d" % (job["n"], i), "custom_id": cid,
                      "response": {"status_code": status, "request_id": "req_batch_%d_%d" % (job["n"], i),
                                   "body": body}, "error": None})
        (good if status < 300 else bad).append(line)
    files = state.setdefault("files", {})
    ids: List[Optional[str]] = []
    for lines in (good, bad):
        if lines:
            with _LOCK:
                ident = "file-emu%d" % next(_IDS)
            files[ident] = b"".join(x + b"\n" for x in lines)
            ids.append(ident)
        else:
            ids.append(None)
    return ids[0], ids[1], len(good), len(bad)


def _openai_find(dialect: Any, jobs: Dict[str, Any], request: RecordedRequest) -> Any:
    job = jobs.get(request.params.get("batch_id") or "")
    if job is None or job["kind"] != "openai":
        return None, _error(dialect, 404, "No batch found with id '%s'." % request.params.get("batch_id"))
    return job, None


def _openai_batch_get(dialect: Any, emulator: Any, state: Dict[str, Any], jobs: Dict[str, Any],
                      request: RecordedRequest) -> Any:
    job, missing = _openai_find(dialect, jobs, request)
    if missing is not None:
        return missing
    _advance(job)
    return _answer(dialect, 200, _openai_object(job, state))


def _openai_batch_cancel(dialect: Any, emulator: Any, state: Dict[str, Any], jobs: Dict[str, Any],
                         request: RecordedRequest) -> Any:
    job, missing = _openai_find(dialect, jobs, request)
    if missing is not None:
        return missing
    if job["final"]:
        return _error(dialect, 409, "Cannot cancel a batch with status '%s'." % _openai_object(job, state)["status"])
    job["cancelled"] = True
    return _answer(dialect, 200, _openai_object(job, state))


def _openai_batch_list(dialect: Any, emulator: Any, state: Dict[str, Any], jobs: Dict[str, Any],
                       request: RecordedRequest) -> Any:
    data = [_openai_object(j, state) for j in jobs.values() if j["kind"] == "openai"]
    return _answer(dialect, 200, {"object": "list", "data": data[::-1], "has_more": False})


# ---- Anthropic Message Batches ---------------------------------------------------------------------
def _iso(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime(seconds))


def _anthropic_batch_create(dialect: Any, emulator: Any, state: Dict[str, Any], jobs: Dict[str, Any],
                            request: RecordedRequest) -> Any:
    body = request.json
    entries = body.get("requests") if isinstance(body, dict) else None
    if not isinstance(entries, list) or not entries:
        return _error(dialect, 400, "requests: Field required (a non-empty list)")
    seen = set()
    for i, entry in enumerate(entries):
        cid = entry.get("custom_id") if isinstance(entry, dict) else None
        if not isinstance(cid, str) or not _ANTHROPIC_ID.match(cid):
            return _error(dialect, 400, "requests.%d.custom_id: String should match pattern '^[a-zA-Z0-9_-]{1,64}$'"
                          % i)
        if cid in seen:
            return _error(dialect, 400, "Duplicate custom_id values are not allowed: %s" % cid)
        seen.add(cid)
        params = entry.get("params")
        if not isinstance(params, dict):
            return _error(dialect, 400, "requests.%d.params: Field required" % i)
        if params.get("stream"):
            return _error(dialect, 400, "requests.%d.params.stream: streaming is not supported in batches" % i)
    outcome, polls = _plan(state)
    job = _job_base(state, "anthropic", outcome, polls)
    ident = "msgbatch_emu%d" % job["n"]
    job.update(id=ident, host=request.headers.get("host") or "127.0.0.1")
    for entry in entries:
        status, result = _run_one(dialect, emulator, request, entry["params"], {})
        job["results"].append((entry["custom_id"], status, result))
    jobs[ident] = job
    return _answer(dialect, 200, _anthropic_object(job))


def _anthropic_kind(job: Dict[str, Any], i: int, status: int) -> str:
    if job["cancelled"]:
        return "canceled"
    if job["outcome"] == "expired" and i >= len(job["results"]) // 2:
        return "expired"
    if job["outcome"] == "failed" or status >= 300:
        return "errored"
    return "succeeded"


def _anthropic_object(job: Dict[str, Any]) -> Dict[str, Any]:
    n = len(job["results"])
    counts = {"processing": n, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
    out: Dict[str, Any] = {"id": job["id"], "type": "message_batch", "processing_status": "in_progress",
                           "request_counts": counts, "ended_at": None, "created_at": _iso(job["created"]),
                           "expires_at": _iso(job["created"] + 86400), "archived_at": None,
                           "cancel_initiated_at": _iso(job["created"]) if job["cancelled"] else None,
                           "results_url": None}
    if not job["final"]:
        if job["cancelled"]:
            out["processing_status"] = "canceling"
        return out
    counts["processing"] = 0
    for i, (_cid, status, _body) in enumerate(job["results"]):
        counts[_anthropic_kind(job, i, status)] += 1
    out.update(processing_status="ended", ended_at=_iso(time.time()),
               results_url="http://%s/v1/messages/batches/%s/results" % (job["host"], job["id"]))
    return out


def _anthropic_find(dialect: Any, jobs: Dict[str, Any], request: RecordedRequest) -> Any:
    job = jobs.get(request.params.get("batch_id") or "")
    if job is None or job["kind"] != "anthropic":
        return None, _error(dialect, 404, "Message batch %s not found" % request.params.get("batch_id"))
    return job, None


def _anthropic_batch_get(dialect: Any, emulator: Any, state: Dict[str, Any], jobs: Dict[str, Any],
                         request: RecordedRequest) -> Any:
    job, missing = _anthropic_find(dialect, jobs, request)
    if missing is not None:
        return missing
    _advance(job)
    return _answer(dialect, 200, _anthropic_object(job))


def _anthropic_batch_cancel(dialect: Any, emulator: Any, state: Dict[str, Any], jobs: Dict[str, Any],
                            request: RecordedRequest) -> Any:
    job, missing = _anthropic_find(dialect, jobs, request)
    if missing is not None:
        return missing
    if not job["final"]:
        job["cancelled"] = True
    return _answer(dialect, 200, _anthropic_object(job))


def _anthropic_batch_list(dialect: Any, emulator: Any, state: Dict[str, Any], jobs: Dict[str, Any],
                          request: RecordedRequest) -> Any:
    data = [_anthropic_object(j) for j in jobs.values() if j["kind"] == "anthropic"][::-1]
    return _answer(dialect, 200, {"data": data, "has_more": False, "first_id": data[0]["id"] if data else None,
                                  "last_id": data[-1]["id"] if data else None})


def _anthropic_batch_results(dialect: Any, emulator: Any, state: Dict[str, Any], jobs: Dict[str, Any],
                             request: RecordedRequest) -> Any:
    job, missing = _anthropic_find(dialect, jobs, request)
    if missing is not None:
        return missing
    if not job["final"]:
        return _error(dialect, 400, "Message batch %s is still processing; results are not available yet"
                      % job["id"])
    lines = []
    for i, (cid, status, body) in reversed(list(enumerate(job["results"]))):
        kind = _anthropic_kind(job, i, status)
        result: Dict[str, Any] = {"type": kind}
        if kind == "succeeded":
            result["message"] = body
        elif kind == "errored":
            result["error"] = body if status >= 300 else json.loads(dialect.error_body(500, "The batch failed "
                                                                                       "(scripted)."))
        lines.append(dumps({"custom_id": cid, "result": result}) + b"\n")
    return _answer(dialect, 200, b"".join(lines), "application/binary")


# ---- Gemini Batch Mode (inline requests) -------------------------------------------------------------
_GEMINI_STATES = {"completed": "BATCH_STATE_SUCCEEDED", "failed": "BATCH_STATE_FAILED",
                  "expired": "BATCH_STATE_EXPIRED"}


def _gemini_batch_file_upload(dialect: Any, emulator: Any, state: Dict[str, Any], jobs: Dict[str, Any],
                              request: RecordedRequest) -> Any:
    """The Files API's resumable upload: ``start`` (metadata; the size and type in
    X-Goog-Upload-Header-*) answers with the upload URL in X-Goog-Upload-URL; ``upload,
    finalize`` at that URL with the bytes answers with the file."""
    from urllib.parse import parse_qs

    command = (request.headers.get("x-goog-upload-command") or "").replace(" ", "").lower()
    uploads = state.setdefault("gemini_uploads", {})
    if command == "start":
        if (request.headers.get("x-goog-upload-protocol") or "").lower() != "resumable":
            return _error(dialect, 400, "Upload protocol must be 'resumable' (X-Goog-Upload-Protocol)")
        size = request.headers.get("x-goog-upload-header-content-length")
        if size is None or not size.isdigit():
            return _error(dialect, 400, "X-Goog-Upload-Header-Content-Length is required for a resumable upload")
        meta = request.json if isinstance(request.json, dict) else {}
        with _LOCK:
            upload_id = "emu-upload-%d" % next(_IDS)
        uploads[upload_id] = {"size": int(size), "meta": meta.get("file") or {},
                              "type": request.headers.get("x-goog-upload-header-content-type") or ""}
        host = request.headers.get("host") or "127.0.0.1"
        url = "http://%s%s?upload_id=%s&upload_protocol=resumable" % (host, request.path, upload_id)
        answer = _answer(dialect, 200, b"")
        answer.headers = {"X-Goog-Upload-URL": url, "X-Goog-Upload-Status": "active"}
        return answer
    if command not in ("upload,finalize", "upload"):
        return _error(dialect, 400, "X-Goog-Upload-Command must be 'start' or 'upload, finalize'")
    upload_id = (parse_qs(request.query or "").get("upload_id") or [""])[0]
    upload = uploads.get(upload_id)
    if upload is None:
        return _error(dialect, 404, "No such upload session: %r" % upload_id)
    if (request.headers.get("x-goog-upload-offset") or "0") != "0" or len(request.body) != upload["size"]:
        return _error(dialect, 400, "The upload has %d bytes at offset %s; %d were announced"
                      % (len(request.body), request.headers.get("x-goog-upload-offset"), upload["size"]))
    del uploads[upload_id]
    with _LOCK:
        name = "files/emu%d" % next(_IDS)
    state.setdefault("gemini_files", {})[name] = request.body
    answer = _answer(dialect, 200, {"file": {"name": name, "displayName": upload["meta"].get("displayName", ""),
                                             "mimeType": upload["type"], "sizeBytes": str(len(request.body)),
                                             "createTime": _iso(time.time()), "state": "ACTIVE",
                                             "uri": "http://%s/v1beta/%s" % (request.headers.get("host"), name)}})
    answer.headers = {"X-Goog-Upload-Status": "final"}
    return answer


def _gemini_batch_file_content(dialect: Any, emulator: Any, state: Dict[str, Any], jobs: Dict[str, Any],
                               request: RecordedRequest) -> Any:
    name = "files/" + (request.params.get("file_id") or "")
    content = state.get("gemini_files", {}).get(name)
    if content is None or name not in state.get("gemini_outputs", ()):
        # uploaded files cannot be downloaded; only files the service generated
        return _error(dialect, 404 if content is None else 403, "File %s not found or not downloadable." % name)
    return _answer(dialect, 200, content, "application/octet-stream")


def _gemini_batch_create(dialect: Any, emulator: Any, state: Dict[str, Any], jobs: Dict[str, Any],
                         request: RecordedRequest) -> Any:
    body = request.json if isinstance(request.json, dict) else {}
    batch: Dict[str, Any] = body["batch"] if isinstance(body.get("batch"), dict) else {}
    config = batch.get("inputConfig") or batch.get("input_config") or {}
    file_name = (config.get("fileName") or config.get("file_name")) if isinstance(config, dict) else None
    keyed: List[Tuple[Any, Any]] = []  # (key, request body) of each entry
    if file_name is not None:
        content = state.get("gemini_files", {}).get(file_name)
        if content is None:
            return _error(dialect, 404, "File %s not found." % file_name)
        for number, line in enumerate(content.splitlines(), 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
                if not isinstance(entry, dict) or set(entry) - {"key", "request"}:
                    raise ValueError("a line holds a key and a request, nothing else")
            except ValueError as exc:
                return _error(dialect, 400, "Invalid JSON line %d of %s: %s" % (number, file_name, exc))
            keyed.append((entry.get("key"), entry.get("request")))
    else:
        holder = config.get("requests") if isinstance(config, dict) else None
        entries = holder.get("requests") if isinstance(holder, dict) else None
        if not isinstance(entries, list) or not entries:
            return _error(dialect, 400, "batch.input_config.requests.requests: at least one request is required")
        for entry in entries:
            if not isinstance(entry, dict) or set(entry) - {"request", "metadata"}:
                return _error(dialect, 400, "Invalid JSON payload received. An inlined request holds 'request' "
                              "and 'metadata' only.")
            meta = entry.get("metadata")
            keyed.append((meta.get("key") if isinstance(meta, dict) else None, entry.get("request")))
    if not keyed:
        return _error(dialect, 400, "The batch input has no requests.")
    outcome, polls = _plan(state)
    job = _job_base(state, "gemini", outcome, polls)
    ident = "batches/emu%d" % job["n"]
    model = request.params.get("model") or ""
    job.update(id=ident, model="models/" + model, display=batch.get("displayName") or "", input_file=file_name)
    for key, entry_body in keyed:
        status, result = _run_one(dialect, emulator, request, entry_body, {"model": model, "action": "generateContent"})
        job["results"].append((key, status, result))
    jobs[ident.split("/", 1)[1]] = job
    return _answer(dialect, 200, _gemini_object(job, state))


def _gemini_object(job: Dict[str, Any], state: Dict[str, Any]) -> Dict[str, Any]:
    n = len(job["results"])
    meta: Dict[str, Any] = {"@type": "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch",
                            "model": job["model"], "displayName": job["display"], "name": job["id"],
                            "createTime": _iso(job["created"]), "updateTime": _iso(time.time()),
                            "batchStats": {"requestCount": str(n), "pendingRequestCount": str(n)},
                            "state": "BATCH_STATE_PENDING" if job["reads"] == 0 else "BATCH_STATE_RUNNING"}
    if job.get("input_file"):
        meta["inputConfig"] = {"fileName": job["input_file"]}
    out: Dict[str, Any] = {"name": job["id"], "metadata": meta}
    if not job["final"]:
        return out
    out["done"] = True
    if job["cancelled"]:
        meta["state"] = "BATCH_STATE_CANCELLED"
        out["error"] = {"code": 1, "message": "The batch was cancelled.", "status": "CANCELLED"}
        return out
    meta["state"] = _GEMINI_STATES[job["outcome"]]
    if job["outcome"] != "completed":
        out["error"] = {"code": 4 if job["outcome"] == "expired" else 13,
                        "message": "The batch %s (scripted)." % job["outcome"],
                        "status": "DEADLINE_EXCEEDED" if job["outcome"] == "expired" else "INTERNAL"}
        return out
    responses = []
    good = 0
    for key, status, body in job["results"]:
        item: Dict[str, Any] = {"metadata": {"key": key}} if key is not None else {}
        if status < 300:
            item["response"] = body
            good += 1
        else:
            item["error"] = body.get("error", body) if isinstance(body, dict) else {"message": str(body)}
        responses.append(item)
    meta["batchStats"] = {"requestCount": str(n), "successfulRequestCount": str(good),
                          "failedRequestCount": str(n - good)}
    kind = "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatchOutput"
    if job.get("input_file"):  # a file job: its results in a responses file, in any order (here: reversed)
        if "output_file" not in job:
            lines = []
            for item in reversed(responses):
                line: Dict[str, Any] = {"key": item.get("metadata", {}).get("key")}
                line.update((k, v) for k, v in item.items() if k != "metadata")
                lines.append(dumps(line) + b"\n")
            with _LOCK:
                job["output_file"] = "files/emu-out%d" % next(_IDS)
            state.setdefault("gemini_files", {})[job["output_file"]] = b"".join(lines)
            state.setdefault("gemini_outputs", set()).add(job["output_file"])
        meta["output"] = {"responsesFile": job["output_file"]}
        out["response"] = {"@type": kind, "responsesFile": job["output_file"]}
        return out
    out["response"] = {"@type": kind, "inlinedResponses": {"inlinedResponses": responses}}
    return out


def _gemini_find(dialect: Any, jobs: Dict[str, Any], request: RecordedRequest) -> Any:
    job = jobs.get(request.params.get("batch_id") or "")
    if job is None or job["kind"] != "gemini":
        return None, _error(dialect, 404, "Requested entity was not found.")
    return job, None


def _gemini_batch_get(dialect: Any, emulator: Any, state: Dict[str, Any], jobs: Dict[str, Any],
                      request: RecordedRequest) -> Any:
    job, missing = _gemini_find(dialect, jobs, request)
    if missing is not None:
        return missing
    _advance(job)
    return _answer(dialect, 200, _gemini_object(job, state))


def _gemini_batch_cancel(dialect: Any, emulator: Any, state: Dict[str, Any], jobs: Dict[str, Any],
                         request: RecordedRequest) -> Any:
    job, missing = _gemini_find(dialect, jobs, request)
    if missing is not None:
        return missing
    if not job["final"]:
        job["cancelled"] = True
    return _answer(dialect, 200, {})


def _gemini_batch_list(dialect: Any, emulator: Any, state: Dict[str, Any], jobs: Dict[str, Any],
                       request: RecordedRequest) -> Any:
    return _answer(dialect, 200, {"operations": [_gemini_object(j, state) for j in jobs.values()
                                                 if j["kind"] == "gemini"]})

