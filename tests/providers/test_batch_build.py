"""Building large batches (``llmunified._batch.plan_batch``): the entries of plain prompts come
from a template the codec built once, and must be byte for byte what the codec builds for each
request in full; ids are kept compactly; the spool file holds the JSONL."""
import json
from typing import Any

import pytest

import llmunified as llm
from llmunified._batch import BatchPlan, PlanIds, ResultReader, plan_batch
from llmunified._endpoint import Endpoint
from llmunified.errors import ValidationError

MODELS = ["openai/gpt-4o-mini", "anthropic/claude-sonnet-4-5", "gemini/gemini-2.5-flash",
          "azure/my-deployment"]
PROMPTS = ["plain", 'quotes " and \\ backslashes', "unicode \u00e9\u00e8 \u4e2d\u6587 \U0001f600", "new\nline\ttab",
           "\x00 nul and \x1f controls", "x" * 5000, "</script> & <b>"]


def endpoint(model: str) -> Endpoint:
    kw: Any = {"api_key": "sk-test-0123456789"}
    if model.startswith("azure/"):
        kw.update(base_url="https://res.openai.azure.com")
    return Endpoint(model, environ={}, **kw)


def full_line(ep: Endpoint, cid: str, messages: Any, options: Any) -> bytes:
    return ep.codec.batch_line(cid, ep.chat(messages, options, False).request)


@pytest.mark.parametrize("model", MODELS)
def test_template_lines_equal_the_full_build(model):
    ep = endpoint(model)
    shared = {"temperature": 0.25, "max_tokens": 77}
    requests = list(PROMPTS) + [{"messages": p, "max_tokens": 12} for p in PROMPTS] + [
        {"messages": p, "custom_id": f"own_{i}", "top_p": 0.5} for i, p in enumerate(PROMPTS)]
    plan = plan_batch(ep, requests, None, shared)
    lines = plan.lines
    assert len(lines) == len(requests) == len(plan)
    for i, (line, request) in enumerate(zip(lines, requests)):
        if isinstance(request, str):
            expected = full_line(ep, f"request-{i}", request, shared)
        else:
            own = {k: v for k, v in request.items() if k not in ("messages", "custom_id")}
            expected = full_line(ep, request.get("custom_id", f"request-{i}"), request["messages"],
                                 dict(shared, **own))
        assert line == expected, (i, request)
        json.loads(line)
    plan.drop_spool()


def test_own_ids_still_follow_the_providers_rules():
    with pytest.raises(ValidationError, match="custom ids"):
        plan_batch(endpoint("anthropic/claude-sonnet-4-5"), ["a", "b"], ["ok", "not ok!"])


def test_duplicates_against_default_ids():
    ep = endpoint("openai/gpt-4o-mini")
    with pytest.raises(ValidationError, match="duplicate custom id 'request-1'"):
        plan_batch(ep, [{"messages": "a", "custom_id": "request-1"}, "b"])
    with pytest.raises(ValidationError, match="duplicate custom id 'request-0'"):
        plan_batch(ep, ["a", {"messages": "b", "custom_id": "request-0"}])
    plan = plan_batch(ep, ["a", {"messages": "b", "custom_id": "request-1"}, {"messages": "c", "custom_id": "request-02"}])
    assert plan.custom_ids == ["request-0", "request-1", "request-02"]


def test_plan_ids_are_compact():
    ids = PlanIds()
    for cid in [None, "mine", None, "request-3"]:
        ids.add(cid)
    assert list(ids) == ["request-0", "mine", "request-2", "request-3"] and len(ids) == 4
    assert ids[-1] == "request-3" and ids[1:3] == ["mine", "request-2"]
    assert [ids.position_of(c) for c in ("request-0", "mine", "request-1", "request-3", "request-9")] == [
        0, 1, None, 3, None]
    assert ids._own == {1: "mine"}  # only the caller's own ids are stored


def test_the_spool_goes_to_disk_and_reads_back(monkeypatch):
    monkeypatch.setattr(BatchPlan, "SPOOL_MEMORY", 1000)
    monkeypatch.setattr(BatchPlan, "_FLUSH", 300)
    plan = plan_batch(endpoint("openai/gpt-4o-mini"), [f"prompt {i}" for i in range(50)])
    assert plan._file._rolled  # on disk
    content = plan.jsonl()
    assert plan.size == len(content) and content.count(b"\n") == 50
    assert b"".join(plan.chunks(97)) == content
    plan.drop_spool()


def test_results_of_compact_ids_in_input_order():
    ep = endpoint("openai/gpt-4o-mini")
    plan = plan_batch(ep, ["a", {"messages": "b", "custom_id": "mine"}, "c"])
    reader = ResultReader(ep.codec, plan.custom_ids)
    plan.drop_spool()

    def line(cid, text):
        body = {"id": "x", "object": "chat.completion", "created": 1, "model": "m",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}]}
        return json.dumps({"custom_id": cid, "response": {"status_code": 200, "body": body}}).encode() + b"\n"

    out = reader.feed(line("request-2", "C") + line("mine", "B"))
    assert out == []  # both early: held
    out = reader.feed(line("request-0", "A")) + reader.finish()
    assert [(r.index, r.custom_id, r.text) for r in out] == [(0, "request-0", "A"), (1, "mine", "B"),
                                                             (2, "request-2", "C")]
