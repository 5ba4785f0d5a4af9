"""Provider batch APIs, sans-IO (``llmunified._batch`` and the codecs' batch hooks): entries built
from the codec's own request bodies, the multipart upload, job objects read as unified statuses,
result lines parsed by the codec (errors included) and put back into input order."""
import email.parser
import email.policy
import json
import random
from typing import Any, List

import pytest

import llmunified as llm
from llmunified._batch import STATUSES, BatchInfo, ResultReader, multipart_body, plan_batch
from llmunified._endpoint import Endpoint
from llmunified.errors import (APIError, BadRequestError, MalformedResponseError, RateLimitError,
                               UnsupportedOperationError, ValidationError)


def endpoint(model: str, **kw: Any) -> Endpoint:
    kw.setdefault("api_key", "sk-test-0123456789")
    return Endpoint(model, environ={}, **kw)


def lines_of(plan: Any) -> List[Any]:
    return [json.loads(line) for line in plan.jsonl().splitlines()]


# -- building the entries ---------------------------------------------------------------------------

def test_openai_entries_wrap_the_codec_body():
    ep = endpoint("openai/gpt-4o-mini")
    requests = ["Hi", [llm.system("Be terse."), llm.user("Yo")],
                {"messages": "Tools?", "tools": [llm.Tool("f", "F.", {"type": "object", "properties": {}})],
                 "temperature": 0.3, "custom_id": "mine"}]
    plan = plan_batch(ep, requests, None, {"max_tokens": 50})
    assert plan.custom_ids == ["request-0", "request-1", "mine"]
    entries = lines_of(plan)
    for entry, (messages, options) in zip(entries, [("Hi", {}), (requests[1], {}),
                                                    ("Tools?", {"tools": requests[2]["tools"], "temperature": 0.3})]):
        expected = json.loads(ep.chat(messages, dict({"max_tokens": 50}, **options), False).request.body)
        assert entry["body"] == expected
        assert entry["method"] == "POST" and entry["url"] == "/v1/chat/completions"
    assert entries[2]["body"]["temperature"] == 0.3 and entries[2]["body"]["tools"][0]["function"]["name"] == "f"
    assert "stream" not in entries[0]["body"] and entries[0]["body"]["max_completion_tokens"] == 50


def test_anthropic_and_gemini_entries():
    plan = plan_batch(endpoint("anthropic/claude-sonnet-4-5"), ["Hi"], ["a-1"])
    (entry,) = [json.loads(line) for line in plan.lines]
    assert entry["custom_id"] == "a-1" and entry["params"]["messages"][0]["content"] == "Hi"
    assert entry["params"]["model"] == "claude-sonnet-4-5" and "stream" not in entry["params"]
    plan = plan_batch(endpoint("gemini/gemini-2.5-flash"), ["Hi"], None, {"temperature": 0.1})
    (entry,) = [json.loads(line) for line in plan.lines]
    assert entry["key"] == "request-0" and set(entry) == {"key", "request"}  # a file line
    assert entry["request"]["generationConfig"]["temperature"] == 0.1
    inline = json.loads(endpoint("gemini/gemini-2.5-flash").codec.batch_create_request(plan, None).body)
    (entry,) = inline["batch"]["inputConfig"]["requests"]["requests"]  # an inline entry
    assert entry["metadata"] == {"key": "request-0"} and set(entry) == {"request", "metadata"}
    assert entry["request"]["generationConfig"]["temperature"] == 0.1


def test_create_requests():
    plan = plan_batch(endpoint("anthropic/claude-x"), ["a", "b"])
    request = endpoint("anthropic/claude-x").codec.batch_create_request(plan, None)
    assert request.url == "https://api.anthropic.com/v1/messages/batches"
    assert [r["custom_id"] for r in json.loads(request.body)["requests"]] == ["request-0", "request-1"]
    assert request.headers["anthropic-version"] and request.headers["x-api-key"].startswith("sk-test")
    ep = endpoint("gemini/gemini-2.5-flash")
    request = ep.codec.batch_create_request(plan_batch(ep, ["a"]), None)
    assert request.url.endswith("/v1beta/models/gemini-2.5-flash:batchGenerateContent")
    body = json.loads(request.body)
    assert body["batch"]["inputConfig"]["requests"]["requests"][0]["metadata"]["key"] == "request-0"
    ep = endpoint("openai/gpt-4o-mini")
    request = ep.codec.batch_create_request(plan_batch(ep, ["a"]), "file-1")
    assert request.url == "https://api.openai.com/v1/batches"
    assert json.loads(request.body) == {"input_file_id": "file-1", "endpoint": "/v1/chat/completions",
                                        "completion_window": "24h"}


def test_openai_upload_is_multipart():
    ep = endpoint("openai/gpt-4o-mini")
    plan = plan_batch(ep, ["a", "b"])
    request = ep.codec.batch_upload_request(plan)
    assert request.url == "https://api.openai.com/v1/files" and isinstance(request.body, bytes)
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + request.headers["Content-Type"].encode() + b"\r\n\r\n" + request.body)
    parts = {p.get_param("name", header="content-disposition"): p for p in message.iter_parts()}
    assert parts["purpose"].get_content().strip() == "batch"
    assert parts["file"].get_filename() == "batch.jsonl"
    assert parts["file"].get_payload(decode=True) == plan.jsonl()


def test_multipart_body_shape():
    body, ctype = multipart_body({"purpose": "batch"}, "file", "x.jsonl", b'{"a":1}\n', boundary="BOUND")
    assert ctype == "multipart/form-data; boundary=BOUND"
    assert body == (b'--BOUND\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n'
                    b'--BOUND\r\nContent-Disposition: form-data; name="file"; filename="x.jsonl"\r\n'
                    b'Content-Type: application/jsonl\r\n\r\n{"a":1}\n\r\n--BOUND--\r\n')


def test_azure_paths():
    dep = endpoint("azure/my-batch", base_url="https://r.openai.azure.com", defaults={"api_version": "2024-10-21"})
    plan = plan_batch(dep, ["a"])
    assert json.loads(plan.lines[0])["url"] == "/chat/completions"
    assert json.loads(plan.lines[0])["body"]["model"] == "my-batch"
    assert dep.codec.batch_upload_request(plan).url == "https://r.openai.azure.com/openai/files?api-version=2024-10-21"
    assert dep.codec.batch_get_request("batch_1").url == (
        "https://r.openai.azure.com/openai/batches/batch_1?api-version=2024-10-21")
    v1 = endpoint("azure/my-batch", base_url="https://r.openai.azure.com", defaults={"api_version": "v1"})
    assert v1.codec.batch_create_request(plan, "f").url == "https://r.openai.azure.com/openai/v1/batches"


@pytest.mark.parametrize("bad, why", [
    (["a", {"messages": "b", "custom_id": "request-0"}], "duplicate custom id"),
    ([{"messages": "b", "stream": True}], "does not stream"),
    ([{"content": "no messages"}], "needs 'messages'"),
    ([42], "expected a prompt"),
    ([], "at least one"),
    ([{"messages": "a", "custom_id": ""}], "non-empty"),
])
def test_bad_requests(bad, why):
    with pytest.raises(ValidationError, match=why):
        plan_batch(endpoint("openai/gpt-4o-mini"), bad)


def test_custom_ids_argument():
    with pytest.raises(ValidationError, match="duplicate"):
        plan_batch(endpoint("openai/gpt-4o-mini"), ["a", "b"], ["x", "x"])
    with pytest.raises(ValidationError, match="2 ids for 1"):
        plan_batch(endpoint("openai/gpt-4o-mini"), ["a"], ["x", "y"])
    with pytest.raises(ValidationError, match="custom id"):
        plan_batch(endpoint("anthropic/claude-x"), ["a"], ["has space"])


def test_bad_option_names_its_request():
    with pytest.raises(ValidationError, match=r"batch request 1 \('request-1'\)"):
        plan_batch(endpoint("anthropic/claude-x"), ["a", {"messages": "b", "reasoning": 10}])


@pytest.mark.parametrize("model, kw", [
    ("ollama/llama3.2", {}), ("cohere/command-a-03-2025", {}), ("groq/llama-3.3-70b", {}),
    ("vertex/gemini-2.5-flash", {"defaults": {"project": "p", "location": "us-central1"}}),
    ("vertex/claude-sonnet-4-5@20250929", {"defaults": {"project": "p", "location": "us-east5"}}),
])
def test_providers_without_batches_point_to_map(model, kw):
    with pytest.raises(UnsupportedOperationError, match=r"client\.map"):
        plan_batch(endpoint(model, **kw), ["a"])


def test_gemini_inline_limit():
    ep = endpoint("gemini/gemini-2.5-flash")
    codec = ep.codec
    codec.batch_inline_limit = 1000
    with pytest.raises(ValidationError, match="inline batch requests up to"):
        codec.batch_create_request(plan_batch(ep, ["x" * 600, "y" * 600]), None)


# -- job objects -> unified status -------------------------------------------------------------------

@pytest.mark.parametrize("status", ["validating", "in_progress", "finalizing", "completed", "failed", "expired",
                                    "cancelling", "cancelled"])
def test_openai_statuses(status):
    job = {"id": "batch_1", "object": "batch", "status": status, "created_at": 1714508499,
           "request_counts": {"total": 3, "completed": 2, "failed": 1}, "output_file_id": "file-o",
           "error_file_id": "file-e", "input_file_id": "file-i",
           "errors": {"object": "list", "data": [{"code": "x", "message": "bad line", "line": 2}]}}
    info = endpoint("openai/gpt-4o-mini").codec.parse_batch(json.dumps(job).encode(), {})
    assert info.status == status in STATUSES
    assert (info.counts.total, info.counts.completed, info.counts.failed) == (3, 2, 1)
    assert info.created_at == 1714508499 and info.error == "bad line" and info.raw == job
    requests = endpoint("openai/gpt-4o-mini").codec.batch_results_requests(info)
    assert [r.url for r in requests] == ["https://api.openai.com/v1/files/file-o/content",
                                         "https://api.openai.com/v1/files/file-e/content"]
    assert all(r.stream for r in requests)


@pytest.mark.parametrize("state, counts, cancel, status", [
    ("in_progress", {"processing": 2}, None, "in_progress"),
    ("canceling", {"processing": 2}, "2024-01-01T00:00:00Z", "cancelling"),
    ("ended", {"succeeded": 1, "errored": 1}, None, "completed"),
    ("ended", {"canceled": 2}, "2024-01-01T00:00:00Z", "cancelled"),
    ("ended", {"expired": 2}, None, "expired"),
    ("ended", {"succeeded": 1, "expired": 1}, None, "completed"),
])
def test_anthropic_statuses(state, counts, cancel, status):
    full = dict({"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}, **counts)
    job = {"id": "msgbatch_1", "type": "message_batch", "processing_status": state, "request_counts": full,
           "created_at": "2024-08-20T18:37:24.100435Z", "cancel_initiated_at": cancel,
           "results_url": "https://api.anthropic.com/v1/messages/batches/msgbatch_1/results" if state == "ended" else None}
    codec = endpoint("anthropic/claude-x").codec
    info = codec.parse_batch(json.dumps(job).encode(), {})
    assert info.status == status and info.counts.total == 2
    assert info.counts.completed == full["succeeded"]
    assert info.created_at == 1724179044
    if state == "ended":
        (request,) = codec.batch_results_requests(info)
        assert request.url == job["results_url"] and request.headers["x-api-key"].startswith("sk-test")


@pytest.mark.parametrize("state, status", [("BATCH_STATE_PENDING", "validating"), ("BATCH_STATE_RUNNING", "in_progress"),
                                           ("BATCH_STATE_SUCCEEDED", "completed"), ("BATCH_STATE_FAILED", "failed"),
                                           ("BATCH_STATE_CANCELLED", "cancelled"), ("BATCH_STATE_EXPIRED", "expired"),
                                           ("JOB_STATE_RUNNING", "in_progress")])
def test_gemini_statuses(state, status):
    op = {"name": "batches/123", "metadata": {"name": "batches/123", "state": state, "createTime": "2025-07-01T00:00:00Z",
                                              "batchStats": {"requestCount": "2", "successfulRequestCount": "1"}}}
    info = endpoint("gemini/gemini-2.5-flash").codec.parse_batch(json.dumps(op).encode(), {})
    assert info.status == status and info.id == "batches/123" and info.counts.total == 2


def test_gemini_job_urls():
    codec = endpoint("gemini/gemini-2.5-flash").codec
    assert codec.batch_get_request("batches/123").url.endswith("/v1beta/batches/123")
    assert codec.batch_get_request("123").url.endswith("/v1beta/batches/123")
    assert codec.batch_cancel_request("batches/123").url.endswith("/v1beta/batches/123:cancel")


def test_malformed_job_object():
    with pytest.raises(MalformedResponseError):
        endpoint("openai/gpt-4o-mini").codec.parse_batch(b'{"id": "x"}', {})


# -- result lines -------------------------------------------------------------------------------------

def completion(text: str) -> Any:
    return {"id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4o-mini",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}}


def openai_line(cid: str, text: str) -> bytes:
    return json.dumps({"id": "r", "custom_id": cid, "response": {"status_code": 200, "request_id": "req",
                                                                 "body": completion(text)}, "error": None}).encode()


def chunked(data: bytes, rng: random.Random) -> List[bytes]:
    out, i = [], 0
    while i < len(data):
        n = rng.randint(1, 40)
        out.append(data[i:i + n])
        i += n
    return out


@pytest.mark.parametrize("seed", range(5))
def test_results_come_back_in_input_order_from_any_order_and_chunking(seed):
    rng = random.Random(seed)
    ids = [f"request-{i}" for i in range(30)]
    lines = [openai_line(cid, f"answer {i}") for i, cid in enumerate(ids)]
    rng.shuffle(lines)
    reader = ResultReader(endpoint("openai/gpt-4o-mini").codec, ids)
    results = []
    for piece in chunked(b"\n".join(lines), rng):
        results.extend(reader.feed(piece))
    results.extend(reader.finish())
    assert [r.index for r in results] == list(range(30))
    assert [r.text for r in results] == [f"answer {i}" for i in range(30)]
    assert all(isinstance(r.response, llm.Response) and r.ok for r in results)


def test_result_held_only_until_its_turn():
    ids = ["a", "b", "c"]
    reader = ResultReader(endpoint("openai/gpt-4o-mini").codec, ids)
    assert reader.feed(openai_line("b", "B") + b"\n") == []
    assert [r.custom_id for r in reader.feed(openai_line("a", "A") + b"\n")] == ["a", "b"]
    assert [r.custom_id for r in reader.feed(openai_line("c", "C") + b"\n")] == ["c"]
    assert reader.finish() == []


def test_openai_error_lines_are_typed():
    codec = endpoint("openai/gpt-4o-mini").codec
    reader = ResultReader(codec, ["a", "b", "c", "d"])
    data = b"\n".join([
        json.dumps({"custom_id": "b", "response": {"status_code": 400, "request_id": "req_9", "body": {
            "error": {"message": "Invalid 'max_tokens'", "type": "invalid_request_error", "code": None}}},
            "error": None}).encode(),
        json.dumps({"custom_id": "c", "response": None, "error": {
            "code": "batch_expired", "message": "This request could not be executed before the completion window "
                                                "expired."}}).encode(),
        json.dumps({"custom_id": "d", "response": {"status_code": 429, "body": {"error": {"message": "slow down"}}},
                    "error": None}).encode(),
        openai_line("a", "A")])
    results = reader.feed(data) + reader.finish()
    assert [r.custom_id for r in results] == ["a", "b", "c", "d"]
    assert isinstance(results[1].error, BadRequestError) and results[1].error.request_id == "req_9"
    assert "max_tokens" in results[1].error.message and results[1].response is None
    assert isinstance(results[2].error, APIError) and results[2].error.code == "batch_expired"
    assert isinstance(results[3].error, RateLimitError)


def test_malformed_and_missing_lines_are_per_item_errors():
    codec = endpoint("openai/gpt-4o-mini").codec
    reader = ResultReader(codec, ["a", "b", "c", "d"])
    data = b"\n".join([openai_line("a", "A"), b'{"custom_id": "b", "response": {oops', b"not json at all",
                       openai_line("d", "D")]) + b"\n"
    results = reader.feed(data) + reader.finish()
    assert [r.custom_id for r in results] == ["a", "b", "c", "d"]
    assert results[0].ok and results[3].ok
    assert isinstance(results[1].error, MalformedResponseError) and "not valid JSON" in results[1].error.message
    assert isinstance(results[2].error, MalformedResponseError) and "no result" in results[2].error.message
    assert "not json at all" in results[2].error.message


def test_a_bad_response_body_is_an_item_error():
    reader = ResultReader(endpoint("openai/gpt-4o-mini").codec, ["a"])
    line = json.dumps({"custom_id": "a", "response": {"status_code": 200, "body": {"choices": []}}}).encode()
    (result,) = reader.feed(line + b"\n") + reader.finish()
    assert isinstance(result.error, MalformedResponseError)


def test_duplicate_lines_count_once_and_unknown_ids_are_kept():
    reader = ResultReader(endpoint("openai/gpt-4o-mini").codec, ["a"])
    results = reader.feed(b"\n".join([openai_line("a", "1"), openai_line("a", "2"), openai_line("zz", "3")]))
    results += reader.finish()
    assert [(r.custom_id, r.index, r.text) for r in results] == [("a", 0, "1"), ("zz", None, "3")]


def test_without_order_default_ids_give_their_index():
    reader = ResultReader(endpoint("openai/gpt-4o-mini").codec, None, total=3)
    results = reader.feed(b"\n".join([openai_line("request-2", "C"), openai_line("request-0", "A")]) + b"\n")
    results += reader.finish()
    assert [(r.index, r.ok) for r in results] == [(0, True), (1, False), (2, True)]


def test_anthropic_result_lines():
    codec = endpoint("anthropic/claude-x").codec
    message = {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x",
               "content": [{"type": "text", "text": "Hello"}], "stop_reason": "end_turn",
               "usage": {"input_tokens": 3, "output_tokens": 1}}
    data = b"\n".join(json.dumps(x).encode() for x in [
        {"custom_id": "e", "result": {"type": "expired"}},
        {"custom_id": "c", "result": {"type": "canceled"}},
        {"custom_id": "b", "result": {"type": "errored", "error": {"type": "error", "error": {
            "type": "invalid_request_error", "message": "max_tokens: Field required"}}}},
        {"custom_id": "a", "result": {"type": "succeeded", "message": message}}])
    reader = ResultReader(codec, ["a", "b", "c", "e"])
    results = reader.feed(data) + reader.finish()
    assert results[0].text == "Hello" and results[0].response.usage.input_tokens == 3
    assert isinstance(results[1].error, BadRequestError) and "max_tokens" in results[1].error.message
    assert results[2].error.code == "canceled" and "cancelled" in results[2].error.message
    assert results[3].error.code == "expired"


def test_gemini_inline_results():
    codec = endpoint("gemini/gemini-2.5-flash").codec
    op = {"name": "batches/1", "done": True, "metadata": {"state": "BATCH_STATE_SUCCEEDED"},
          "response": {"inlinedResponses": {"inlinedResponses": [
              {"response": {"candidates": [{"content": {"role": "model", "parts": [{"text": "A"}]},
                                            "finishReason": "STOP"}]}, "metadata": {"key": "x"}},
              {"error": {"code": 400, "message": "bad request", "status": "INVALID_ARGUMENT"},
               "metadata": {"key": "y"}}]}}}
    info = codec.parse_batch(json.dumps(op).encode(), {})
    reader = ResultReader(codec, ["x", "y"])
    results = []
    for position, entry in enumerate(codec.batch_inline_results(info)):
        results.extend(reader.entry(entry, position))
    results.extend(reader.finish())
    assert results[0].text == "A" and isinstance(results[1].error, BadRequestError)


def test_batch_result_to_dict():
    reader = ResultReader(endpoint("openai/gpt-4o-mini").codec, ["a"])
    (result,) = reader.feed(openai_line("a", "A") + b"\n") + reader.finish()
    out = result.to_dict()
    assert out["custom_id"] == "a" and out["text"] == "A" and out["finish_reason"] == "stop"
    json.dumps(out)


def test_info_defaults():
    info = BatchInfo("x", "validating")
    assert info.counts.total is None and info.output == {}


# -- early results past the in-memory hold wait on disk ----------------------------------------------

class WatchedReader(ResultReader):
    """A reader with a small in-memory hold that records the most results ever held parsed."""
    hold_in_memory = 4

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.most_held = 0

    def _emit(self, *args: Any, **kw: Any) -> None:
        super()._emit(*args, **kw)
        self.most_held = max(self.most_held, len(self._held))


def read_all(reader: ResultReader, data: bytes, rng: random.Random) -> List[Any]:
    out: List[Any] = []
    for piece in chunked(data, rng):
        for result in reader.iter_feed(piece):
            out.append(result)
    out.extend(reader.iter_finish())
    return out


@pytest.mark.parametrize("order", ["reverse", "shuffled", "input"])
@pytest.mark.parametrize("known_ids", [True, False])
def test_early_results_past_the_hold_are_spilled_and_come_back_intact(order, known_ids):
    rng = random.Random(f"{order}{known_ids}")
    n = 60
    ids = [f"request-{i}" for i in range(n)]
    lines = [openai_line(cid, f"answer {i}") for i, cid in enumerate(ids)]
    lines[7] = json.dumps({"custom_id": "request-7", "response": {"status_code": 429, "body": {
        "error": {"message": "slow down"}}}, "error": None}).encode()
    if order == "reverse":
        lines.reverse()
    elif order == "shuffled":
        rng.shuffle(lines)
    lines.insert(n // 2, lines[0])  # a duplicate of an early (likely spilled) line: the first counts
    reader = WatchedReader(endpoint("openai/gpt-4o-mini").codec, ids if known_ids else None,
                           total=None if known_ids else n)
    results = read_all(reader, b"\n".join(lines) + b"\n", rng)
    assert [r.index for r in results] == list(range(n))
    assert [r.custom_id for r in results] == ids
    assert [r.text for r in results if r.index != 7] == [f"answer {i}" for i in range(n) if i != 7]
    assert isinstance(results[7].error, RateLimitError) and results[7].response is None
    assert all(isinstance(r.response, llm.Response) for r in results if r.index != 7)
    assert reader.most_held <= WatchedReader.hold_in_memory
    if order == "reverse":
        assert reader._spill is None and not reader._spilled  # finished: the spill file is gone


def test_a_reverse_order_file_releases_its_results_one_at_a_time():
    # the last line read (request-0) makes the whole file ready: the results still come one by one,
    # each parsed only when its turn comes (never the whole run in a list)
    n = 40
    ids = [f"request-{i}" for i in range(n)]
    reader = WatchedReader(endpoint("openai/gpt-4o-mini").codec, ids)
    data = b"\n".join(openai_line(cid, f"answer {i}") for i, cid in reversed(list(enumerate(ids)))) + b"\n"
    released = reader.iter_feed(data)
    assert len(reader._spilled) == n - 1 - WatchedReader.hold_in_memory  # waiting on disk, not parsed
    first = next(released)
    assert first.index == 0 and len(reader._spilled) == n - 1 - WatchedReader.hold_in_memory
    rest = list(released)
    assert [r.index for r in rest] == list(range(1, n)) and not reader._spilled and not reader._held
    assert reader.finish() == []


def test_missing_results_among_spilled_ones_get_their_errors_in_place():
    n = 20
    ids = [f"r{i}" for i in range(n)]
    present = [i for i in range(n) if i % 3]  # 0, 3, 6 ... never come
    reader = WatchedReader(endpoint("openai/gpt-4o-mini").codec, ids)
    data = b"\n".join(openai_line(ids[i], f"answer {i}") for i in reversed(present)) + b"\n"
    results = reader.feed(data) + reader.finish("the batch expired before this request ran")
    assert [r.custom_id for r in results] == ids
    for i, r in enumerate(results):
        if i % 3:
            assert r.ok and r.text == f"answer {i}"
        else:
            assert isinstance(r.error, MalformedResponseError) and "expired" in r.error.message
