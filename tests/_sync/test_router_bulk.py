"""Router.map and Router.batch / Router.batch_job against emulators: map fails over per item
(each result says which entry served it), batch goes to the first entry with a batch API (the
job says which), batch_job resumes on the named entry.

Hand-written for the sync package; tests/_async/test_router_bulk.py is generated from it by
scripts/gen_async.py.
"""
import pytest

import llmunified as llm
from llmunified import errors
from llmunified.testing import Emulator, Reply
from tests._sync.helpers import SECRET

QUICK = 0.001


@pytest.fixture
def backup():
    with Emulator() as emu:
        yield emu
    assert emu.internal_errors == []


def client_of(emulator, provider, label, **extra):
    return llm.Client(provider + "/test-model", **dict({"base_url": emulator.url_for(provider), "api_key": SECRET,
                                                        "max_retries": 0, "label": label}, **extra))


def every_third_overloaded(request):
    text = request._dialect.last_user_text(request.json)
    if int(text.split()[-1]) % 3 == 0:
        return Reply(status=503, error="Overloaded.")
    return Reply(text="primary: " + text)


def test_map_fails_over_per_item(emulator, backup):
    emulator.default_reply = every_third_overloaded
    prompts = [f"item {i}" for i in range(30)]
    with llm.Router([client_of(emulator, "openai", "primary"), client_of(backup, "anthropic", "backup")],
                    failure_threshold=1000) as router:
        progress = []
        results = [r for r in router.map(prompts, concurrency=6, on_progress=lambda *c: progress.append(c))]
    assert [r.index for r in results] == list(range(30)) and all(r.ok for r in results)
    for i, r in enumerate(results):
        if i % 3 == 0:
            assert r.response.label == "backup" and r.text == f"You said: item {i}"
            assert [label for label, _ in r.response.failovers] == ["primary"]
        else:
            assert r.response.label == "primary" and r.text == f"primary: item {i}"
    assert len(emulator.requests) == 30 and len(backup.requests) == 10
    assert progress[-1] == (30, 30, 0)


def test_map_keeps_an_item_that_failed_everywhere_as_its_error(emulator, backup):
    emulator.default_reply = Reply(status=503, error="Overloaded.")
    backup.default_reply = Reply(status=503, error="Overloaded too.")
    with llm.Router([client_of(emulator, "openai", "primary"), client_of(backup, "anthropic", "backup")],
                    failure_threshold=1000) as router:
        results = [r for r in router.map(["a", "b"], concurrency=2)]
    assert [r.index for r in results] == [0, 1]
    assert all(isinstance(r.error, errors.RouterError) and not r.ok for r in results)


def test_map_resumes_from_a_results_file(emulator, backup, tmp_path):
    path = tmp_path / "out.jsonl"
    with llm.Router([client_of(emulator, "openai", "primary"), client_of(backup, "anthropic", "backup")]) as router:
        with router.map([f"p {i}" for i in range(6)], concurrency=1, results_file=path) as run:
            for result in run:
                if result.index == 2:
                    break
        done = len(emulator.requests)
        results = [r for r in router.map([f"p {i}" for i in range(6)], results_file=path)]
    assert [r.text for r in results] == [f"You said: p {i}" for i in range(6)]
    assert sum(r.resumed for r in results) == done and len(emulator.requests) == 6


def test_batch_goes_to_the_first_entry_with_a_batch_api(emulator, backup):
    with llm.Router([client_of(emulator, "ollama", "local"), client_of(backup, "anthropic", "cloud"),
                     client_of(emulator, "openai", "other")]) as router:
        job = router.submit_batch(["one", "two"])
        assert job.label == "cloud" and "cloud" in repr(job)
        assert emulator.requests == [] and len(backup.requests) == 1
        job.until_done(poll=QUICK)
        assert [r.text for r in job.results()] == ["You said: one", "You said: two"]
        again = router.batch_job(job.id, label="cloud").until_done(poll=QUICK)
        assert again.label == "cloud" and [r.index for r in again.results()] == [0, 1]
        found = router.batch_job(job.id)  # no label: the entries with a batch API that know it
        assert found.label == "cloud"
        with pytest.raises(errors.ValidationError, match="no entry labelled"):
            router.batch_job(job.id, label="nobody")
        with pytest.raises(errors.NotFoundError):
            router.batch_job("msgbatch_unknown", label="cloud")
    assert router.breaker("local").state == "closed"


def test_batch_fails_over_when_the_entry_is_down(backup):
    down = llm.Client("openai/test-model", base_url="http://127.0.0.1:9/v1", api_key=SECRET, max_retries=0,
                      label="down", timeout=2)
    with llm.Router([down, client_of(backup, "anthropic", "up")], failure_threshold=1) as router:
        job = router.submit_batch(iter(["x", "y"]))  # an iterator: kept for the next entry
        assert job.label == "up"
        assert router.breaker("down").state == "open"
        assert [r.text for r in job.until_done(poll=QUICK).results()] == ["You said: x", "You said: y"]


def test_batch_when_no_entry_has_a_batch_api(emulator):
    with llm.Router([client_of(emulator, "ollama", "a"), client_of(emulator, "cohere", "b")]) as router:
        with pytest.raises(errors.UnsupportedOperationError, match=r"client\.map"):
            router.submit_batch(["x"])
    assert emulator.requests == []


def test_the_router_aliases():
    assert llm.Router.batch is llm.Router.submit_batch
