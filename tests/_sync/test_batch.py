"""Provider batch jobs against the emulator (OpenAI, Azure, Anthropic, Gemini): submit, poll, wait,
results in input order with per-request errors, cancel, failed and expired jobs, resume by id
from a fresh client, and the providers without a batch API.

Hand-written for the sync package; tests/_async/test_batch.py is generated from it by
scripts/gen_async.py. ``client.submit_batch`` / ``job.until_done`` / ``job.poll`` are the
methods also named ``client.batch`` / ``job.wait`` / ``job.refresh``.
"""
import json

import pytest

import llmunified as llm
from llmunified import errors
from tests._sync.helpers import SECRET, model, settings

BATCH_PROVIDERS = ["openai", "anthropic", "gemini", "azure"]
QUICK = 0.001


@pytest.fixture(params=BATCH_PROVIDERS)
def batch_provider(request):
    return request.param


def test_submit_wait_results_in_input_order(emulator, batch_provider):
    emulator.reply(text="first answer")
    with llm.Client(model(batch_provider), **settings(emulator, batch_provider)) as client:
        job = client.submit_batch(["one", [llm.system("Be terse."), llm.user("two")],
                                   {"messages": "three", "max_tokens": 30, "custom_id": "third"}])
        assert job.status in ("validating", "in_progress") and not job.done
        assert job.custom_ids == ["request-0", "request-1", "third"]
        assert job.until_done(poll=QUICK) is job
        assert job.status == "completed" and job.done
        assert job.counts.total == 3 and job.counts.completed == 3 and job.counts.failed == 0
        assert job.created_at is not None and job.raw
        results = [r for r in job.results()]
    assert [(r.custom_id, r.index) for r in results] == [("request-0", 0), ("request-1", 1), ("third", 2)]
    assert [r.text for r in results] == ["first answer", "You said: two", "You said: three"]
    assert all(r.ok and isinstance(r.response, llm.Response) and r.error is None for r in results)
    assert results[0].response.usage.output_tokens > 0
    assert emulator.internal_errors == []


def test_states_move_over_polls(emulator, batch_provider):
    emulator.script_batches("completed", polls=2)
    with llm.Client(model(batch_provider), **settings(emulator, batch_provider)) as client:
        job = client.submit_batch(["a"])
        assert job.poll().status == "in_progress"
        assert job.poll().status == "in_progress"
        assert job.poll().status == "completed"


def test_per_request_errors(emulator, batch_provider):
    emulator.reply(text="ok")
    emulator.reply(status=400, error="This request is not valid.")
    emulator.reply(status=429, error="Too many tokens.")
    with llm.Client(model(batch_provider), **settings(emulator, batch_provider)) as client:
        job = client.submit_batch(["a", "b", "c", "d"])
        job.until_done(poll=QUICK)
        results = [r for r in job.results()]
    assert [r.index for r in results] == [0, 1, 2, 3]
    assert results[0].text == "ok" and results[3].text == "You said: d"
    assert isinstance(results[1].error, errors.BadRequestError) and "not valid" in results[1].error.message
    assert isinstance(results[2].error, errors.RateLimitError)
    assert results[1].response is None and not results[1].ok
    assert job.counts.failed == 2


def test_expired_job(emulator, batch_provider):
    emulator.script_batches("expired", polls=0)
    with llm.Client(model(batch_provider), **settings(emulator, batch_provider)) as client:
        job = client.submit_batch(["a", "b", "c", "d"])
        job.until_done(poll=QUICK)
        assert job.status == "expired" if batch_provider == "gemini" else job.status in ("expired", "completed")
        results = [r for r in job.results()]
    assert [r.custom_id for r in results] == ["request-0", "request-1", "request-2", "request-3"]
    assert all(isinstance(r.error, errors.LLMError) for r in results[2:])
    assert "expired" in results[3].error.message or results[3].error.code in ("batch_expired", "expired")
    if batch_provider != "gemini":  # Gemini's expired job carries no partial results
        assert [r.ok for r in results[:2]] == [True, True]


def test_failed_job(emulator, batch_provider):
    emulator.script_batches("failed", polls=0, count=1)
    with llm.Client(model(batch_provider), **settings(emulator, batch_provider)) as client:
        job = client.submit_batch(["a", "b"])
        job.until_done(poll=QUICK)
        if batch_provider == "anthropic":  # Message Batches have no failed state: every request errored
            assert job.status == "completed" and job.counts.failed == 2
        else:
            assert job.status == "failed" and job.error
        results = [r for r in job.results()]
        assert [r.index for r in results] == [0, 1] and not any(r.ok for r in results)
        # only that job failed
        job = client.submit_batch(["c"]).until_done(poll=QUICK)
        assert job.status == "completed"


def test_cancel(emulator, batch_provider):
    emulator.script_batches("completed", polls=5)
    with llm.Client(model(batch_provider), **settings(emulator, batch_provider)) as client:
        job = client.submit_batch(["a", "b"])
        job.cancel()
        assert job.status in ("cancelling", "cancelled")
        job.until_done(poll=QUICK)
        assert job.status == "cancelled"
        results = [r for r in job.results()]
    assert [r.index for r in results] == [0, 1] and all(r.error is not None for r in results)


def test_resume_from_a_fresh_client(emulator, batch_provider):
    emulator.reply(text="kept")
    with llm.Client(model(batch_provider), **settings(emulator, batch_provider)) as client:
        job_id = client.submit_batch(["x", "y", "z"]).id
    with llm.Client(model(batch_provider), **settings(emulator, batch_provider)) as fresh:
        job = fresh.batch_job(job_id)
        assert job.id == job_id
        job.until_done(poll=QUICK)
        results = [r for r in job.results()]
    assert [(r.index, r.text) for r in results] == [(0, "kept"), (1, "You said: y"), (2, "You said: z")]


def test_resume_with_own_ids(emulator, batch_provider):
    ids = ["zeta", "alpha", "mid"]
    with llm.Client(model(batch_provider), **settings(emulator, batch_provider)) as client:
        job_id = client.submit_batch(["1", "2", "3"], custom_ids=ids).id
    with llm.Client(model(batch_provider), **settings(emulator, batch_provider)) as fresh:
        job = fresh.batch_job(job_id, custom_ids=ids)
        job.until_done(poll=QUICK)
        results = [r for r in job.results()]
    assert [r.custom_id for r in results] == ids
    assert [r.text for r in results] == ["You said: 1", "You said: 2", "You said: 3"]


def test_unknown_job_id(emulator, batch_provider):
    with llm.Client(model(batch_provider), **settings(emulator, batch_provider)) as client:
        with pytest.raises(errors.NotFoundError, match="batch job"):
            client.batch_job("batch_does_not_exist")


def test_results_before_the_end(emulator):
    emulator.script_batches("completed", polls=50)
    with llm.Client(model("openai"), **settings(emulator, "openai")) as client:
        job = client.submit_batch(["a"])
        with pytest.raises(errors.ValidationError, match="wait"):
            [r for r in job.results()]
        with pytest.raises(errors.TimeoutError, match="still in_progress"):
            job.until_done(poll=QUICK, timeout=0.05)


def test_request_bodies_are_the_normal_ones(emulator):
    tool = llm.Tool("lookup", "Look up.", {"type": "object", "properties": {"q": {"type": "string"}}})
    with llm.Client(model("openai"), **settings(emulator, "openai")) as client:
        client.submit_batch([{"messages": "hi", "tools": [tool], "temperature": 0.5}], max_tokens=20)
    upload = [r for r in emulator.requests if r.path == "/v1/files"][0]
    entry = json.loads(upload.body.split(b"\r\n\r\n")[-1].split(b"\r\n--")[0])
    assert entry["url"] == "/v1/chat/completions" and entry["body"]["temperature"] == 0.5
    assert entry["body"]["tools"][0]["function"]["name"] == "lookup"
    assert entry["body"]["max_completion_tokens"] == 20
    assert upload.headers["authorization"] == "Bearer " + SECRET


def test_bad_input_before_any_request(emulator):
    with llm.Client(model("openai"), **settings(emulator, "openai")) as client:
        with pytest.raises(errors.ValidationError, match="duplicate"):
            client.submit_batch(["a", "b"], custom_ids=["x", "x"])
        with pytest.raises(errors.ValidationError, match="stream"):
            client.submit_batch(["a"], stream=True)
    assert emulator.requests == []


@pytest.mark.parametrize("provider", ["ollama", "cohere", "vertex", "lmstudio"])
def test_providers_without_a_batch_api(emulator, provider):
    with llm.Client(model(provider), **settings(emulator, provider)) as client:
        with pytest.raises(errors.UnsupportedOperationError, match=r"client\.map"):
            client.submit_batch(["a"])
        with pytest.raises(errors.UnsupportedOperationError, match=r"client\.map"):
            client.batch_job("batch_1")
    assert emulator.requests == []


def test_the_aliases():
    assert llm.Client.batch is llm.Client.submit_batch
    assert llm.BatchJob.wait is llm.BatchJob.until_done and llm.BatchJob.refresh is llm.BatchJob.poll


def test_resume_when_the_input_file_is_gone(emulator):
    with llm.Client(model("openai"), **settings(emulator, "openai")) as client:
        job = client.submit_batch(["x", "y"]).until_done(poll=QUICK)
        input_file = job.raw["input_file_id"]
        del emulator._dialect_state("batches")["files"][input_file]  # deleted since
    with llm.Client(model("openai"), **settings(emulator, "openai")) as fresh:
        job = fresh.batch_job(job.id)
        results = [r for r in job.results()]
    assert [(r.index, r.text) for r in results] == [(0, "You said: x"), (1, "You said: y")]


# -- Gemini file-based batches: the Files API's resumable upload, the responses file ----------------

def test_gemini_file_mode_end_to_end(emulator):
    emulator.reply(text="first answer")
    emulator.reply(status=400, error="This request is not valid.")
    with llm.Client(model("gemini"), **settings(emulator, "gemini")) as client:
        job = client.submit_batch(["one", "two", {"messages": "three", "custom_id": "third", "max_tokens": 30}],
                                  mode="file")
        start, upload, create = emulator.requests
        assert start.path.endswith("/upload/v1beta/files") and start.headers["x-goog-upload-command"] == "start"
        assert start.headers["x-goog-upload-protocol"] == "resumable"
        assert int(start.headers["x-goog-upload-header-content-length"]) == len(upload.body)
        assert upload.headers["x-goog-upload-command"] == "upload, finalize" and "upload_id=" in upload.query
        assert upload.headers["x-goog-api-key"] == SECRET
        lines = [json.loads(line) for line in upload.body.splitlines()]
        assert [line["key"] for line in lines] == ["request-0", "request-1", "third"]
        assert all(set(line) == {"key", "request"} for line in lines)
        assert lines[2]["request"]["generationConfig"]["maxOutputTokens"] == 30
        assert create.path.endswith(":batchGenerateContent")
        assert create.json["batch"]["inputConfig"] == {"fileName": job.raw["metadata"]["inputConfig"]["fileName"]}
        job.until_done(poll=QUICK)
        assert job.status == "completed" and job.counts.total == 3 and job.counts.failed == 1
        results = [r for r in job.results()]
    download = emulator.requests[-1]
    assert download.method == "GET" and download.path.endswith(":download") and download.query == "alt=media"
    assert [(r.custom_id, r.index) for r in results] == [("request-0", 0), ("request-1", 1), ("third", 2)]
    assert results[0].text == "first answer" and results[2].text == "You said: three"
    assert isinstance(results[1].error, errors.BadRequestError) and "not valid" in results[1].error.message
    assert emulator.internal_errors == []


def test_gemini_file_mode_resume_from_a_fresh_client(emulator):
    with llm.Client(model("gemini"), **settings(emulator, "gemini")) as client:
        default_id = client.submit_batch(["x", "y", "z"], mode="file").id
        own_id = client.submit_batch(["1", "2", "3"], custom_ids=["zeta", "alpha", "mid"], mode="file").id
    with llm.Client(model("gemini"), **settings(emulator, "gemini")) as fresh:
        job = fresh.batch_job(default_id).until_done(poll=QUICK)
        results = [r for r in job.results()]
        assert [(r.index, r.text) for r in results] == [(0, "You said: x"), (1, "You said: y"), (2, "You said: z")]
        job = fresh.batch_job(own_id, custom_ids=["zeta", "alpha", "mid"]).until_done(poll=QUICK)
        results = [r for r in job.results()]
        assert [(r.custom_id, r.text) for r in results] == [("zeta", "You said: 1"), ("alpha", "You said: 2"),
                                                           ("mid", "You said: 3")]
        job = fresh.batch_job(own_id).until_done(poll=QUICK)  # ids of its own, order unknown: every one, once
        results = [r for r in job.results()]
        assert sorted(r.custom_id for r in results) == ["alpha", "mid", "zeta"]


def test_gemini_chooses_the_file_by_size(emulator, monkeypatch):
    from llmunified.providers.gemini import GeminiCodec

    monkeypatch.setattr(GeminiCodec, "batch_inline_limit", 1500)
    with llm.Client(model("gemini"), **settings(emulator, "gemini")) as client:
        small = client.submit_batch(["short"])
        assert [r.path.rsplit(":", 1)[-1] for r in emulator.requests] == ["batchGenerateContent"]
        assert "requests" in emulator.requests[0].json["batch"]["inputConfig"]
        big = client.submit_batch([f"prompt {i} " + "x" * 100 for i in range(20)])
        assert [r.headers.get("x-goog-upload-command") for r in emulator.requests[1:3]] == ["start", "upload, finalize"]
        assert "fileName" in emulator.requests[3].json["batch"]["inputConfig"]
        with pytest.raises(errors.ValidationError, match="mode='file'"):
            client.submit_batch([f"prompt {i} " + "x" * 100 for i in range(20)], mode="inline")
        texts = [[r.text for r in job.until_done(poll=QUICK).results()] for job in (small, big)]
    assert texts[0] == ["You said: short"]
    assert texts[1] == [f"You said: prompt {i} " + "x" * 100 for i in range(20)]


def test_gemini_file_results_with_a_malformed_line(emulator):
    with llm.Client(model("gemini"), **settings(emulator, "gemini")) as client:
        job = client.submit_batch(["a", "b", "c"], mode="file").until_done(poll=QUICK)
        state = emulator._dialect_state("batches")
        name = job.raw["response"]["responsesFile"]
        lines = state["gemini_files"][name].splitlines()
        lines[0] = b'{"key": "request-2", "response": {"candidates": [tr'  # torn
        state["gemini_files"][name] = b"\n".join(lines) + b"\n"
        results = [r for r in job.results()]
    assert [r.index for r in results] == [0, 1, 2]
    assert [r.text for r in results[:2]] == ["You said: a", "You said: b"]
    assert isinstance(results[2].error, errors.MalformedResponseError)


def test_batch_mode_is_checked(emulator):
    with llm.Client(model("openai"), **settings(emulator, "openai")) as client:
        with pytest.raises(errors.ValidationError, match="mode"):
            client.submit_batch(["a"], mode="file")
    with llm.Client(model("gemini"), **settings(emulator, "gemini")) as client:
        with pytest.raises(errors.ValidationError, match="mode"):
            client.submit_batch(["a"], mode="files")
    assert emulator.requests == []
