"""The emulator's Azure OpenAI dialect (``llmunified.testing._dialects.azure``) over real sockets.

Only ``requests`` talks to it here, never the library client: the emulator is the oracle the
library's Azure codec is tested against, so its wire shapes are checked against the recording
``tests/fixtures/azure/chat_completion_content_filter_results.vcr.yaml`` where one exists.
"""
import json
import os
import uuid

import pytest
import requests
import yaml

from llmunified.testing import Emulator, Reply, ToolCallSpec
from llmunified.testing._dialects import DIALECTS, Dialect
from llmunified.testing._dialects.azure import (
    BLOCKED_PROMPT_MESSAGE,
    INVALID_KEY_MESSAGE,
    TOKEN_MESSAGE,
    Azure,
    apim_request_id,
)
from llmunified.testing._render import Context

KEY = {"api-key": "azure-key-0123"}
BEARER = {"Authorization": "Bearer entra-token-0123"}
USER = [{"role": "user", "content": "Hello there"}]
VERSION = "2024-10-21"
DEPLOYMENT = "gpt4o-prod"
RECORDING = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures",
                         "azure", "chat_completion_content_filter_results.vcr.yaml")
SAFE = {"filtered": False, "severity": "safe"}
UNDETECTED = {"detected": False, "filtered": False}
SERVER_HAS_REPLY_HOOK = hasattr(Dialect, "answer_with_reply")


@pytest.fixture
def emu():
    with Emulator(dialects=[*DIALECTS, Azure()]) as e:
        yield e
    assert e.internal_errors == []


@pytest.fixture
def http():
    with requests.Session() as s:
        yield s


@pytest.fixture(scope="module")
def recorded():
    with open(RECORDING, encoding="utf-8") as f:
        interaction, = yaml.safe_load(f)["interactions"]
    return interaction


# ---- helpers -----------------------------------------------------------------------------------

def deployments_url(emu, deployment=DEPLOYMENT, version=VERSION):
    url = emu.url_for("azure") + "/openai/deployments/%s/chat/completions" % deployment
    return url if version is None else url + "?api-version=" + version


def dep(emu, http, body=None, headers=KEY, version=VERSION, deployment=DEPLOYMENT, **kw):
    payload = {"messages": USER}
    payload.update(body or {})
    return http.post(deployments_url(emu, deployment, version), json=payload, headers=headers,
                     **kw)


def v1(emu, http, body=None, headers=KEY, query=""):
    payload = {"model": DEPLOYMENT, "messages": USER}
    payload.update(body or {})
    return http.post(emu.url_for("azure") + "/openai/v1/chat/completions" + query, json=payload,
                     headers=headers)


def chunks(text):
    """The JSON objects of an OpenAI-style SSE body (asserting the ``[DONE]`` terminator)."""
    datas = []
    for block in text.split("\n\n"):
        if block.strip():
            assert block.startswith("data: ") and "\n" not in block, block
            datas.append(block[len("data: "):])
    assert datas[-1] == "[DONE]"
    return [json.loads(d) for d in datas[:-1]]


def key_shape(value):
    """The keys of every object in ``value``, recursively (lists by their first item)."""
    if isinstance(value, dict):
        return {k: key_shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [key_shape(value[0])] if value else []
    return None


def is_uuid(text):
    try:
        return str(uuid.UUID(text)) == text
    except (TypeError, ValueError):
        return False


# ---- routes and whole answers ------------------------------------------------------------------

def test_deployments_answer_has_the_recorded_shape_and_headers(emu, http, recorded):
    emu.reply(text="The capital of France is **Paris**.", usage=(14, 9))
    r = dep(emu, http, {"model": "ignored-by-azure", "n": 1, "stream": False})
    assert r.status_code == 200, r.text
    body = r.json()
    expected = recorded["response"]["parsed_body"]
    assert key_shape(body) == key_shape(expected)
    assert list(body) == sorted(body)  # Azure sends sorted keys
    assert body["prompt_filter_results"] == expected["prompt_filter_results"]
    choice = body["choices"][0]
    assert choice["content_filter_results"] == expected["choices"][0]["content_filter_results"]
    assert choice["message"] == expected["choices"][0]["message"]
    assert choice["finish_reason"] == "stop" and body["object"] == "chat.completion"
    assert body["model"] == DEPLOYMENT  # the deployment, not the body's model
    assert body["usage"]["prompt_tokens"] == 14 and body["usage"]["total_tokens"] == 23
    for name in recorded["response"]["headers"]:
        if name not in ("content-length", "content-type", "cmp-upstream-response-duration",
                        "ms-azureml-model-time"):
            assert name in r.headers, name
    assert "x-request-id" not in r.headers and "openai-version" not in r.headers
    rec = emu.last_request
    assert rec.provider == "azure" and rec.endpoint == "chat" and not rec.violations
    assert rec.params == {"deployment": DEPLOYMENT} and rec.query_params == {"api-version": VERSION}


def test_reply_model_and_default_echo_on_both_routes(emu, http):
    emu.reply(text="hi", model="gpt-4o-2024-11-20")
    assert dep(emu, http).json()["model"] == "gpt-4o-2024-11-20"
    body = v1(emu, http, {"model": "my-deployment"}).json()
    assert body["model"] == "my-deployment"
    assert body["choices"][0]["message"]["content"] == "You said: Hello there"
    assert emu.last_request.path == "/openai/v1/chat/completions"
    assert emu.last_request.params == {} and not emu.last_request.violations


def test_api_version_rules_per_route(emu, http):
    emu.reply(text="kept for the valid request")
    r = dep(emu, http, version=None)
    assert r.status_code == 404
    assert r.json() == {"error": {"code": "404", "message": "Resource not found"}}
    assert emu.last_request.violations == ["Resource not found"]
    for bad in ("v1", "latest", "2024-10", "2024-10-21-beta"):
        r = dep(emu, http, version=bad)
        assert r.status_code == 400, bad
        assert r.json() == {"error": {"code": "BadRequest", "message": "API version not supported"}}
    r = v1(emu, http, query="?api-version=2025-01-01-preview")  # a dated version on v1
    assert r.status_code == 400 and r.json()["error"]["code"] == "BadRequest"
    assert emu.pending_replies == 1  # refused requests consume no reply
    assert v1(emu, http, query="?api-version=preview").status_code == 200
    assert dep(emu, http, version="2025-04-01-preview").status_code == 200
    assert v1(emu, http).status_code == 200


def test_the_version_is_checked_before_the_credentials(emu, http):
    r = dep(emu, http, headers={}, version=None)
    assert r.status_code == 404 and "apim-request-id" in r.headers


def test_v1_needs_the_model_and_deployments_do_not(emu, http):
    r = http.post(emu.url_for("azure") + "/openai/v1/chat/completions",
                  json={"messages": USER}, headers=KEY)
    assert r.status_code == 400
    err = r.json()["error"]
    assert set(err) == {"message", "type", "param", "code"}
    assert err["param"] == "model" and err["type"] == "invalid_request_error"
    assert dep(emu, http).status_code == 200  # no model in the body at all
    assert dep(emu, http, {"model": None}).status_code == 200


def test_openai_body_rules_apply_on_both_routes(emu, http):
    for send in (dep, v1):
        r = send(emu, http, {"messages": []})
        assert r.status_code == 400 and r.json()["error"]["code"] == "empty_array"
        r = send(emu, http, {"stream_options": {"include_usage": True}})
        assert r.status_code == 400 and r.json()["error"]["param"] == "stream_options"
    r = http.post(deployments_url(emu), data=b"{not json", headers=dict(KEY, **{
        "Content-Type": "application/json"}))
    assert r.status_code == 400 and "could not parse the JSON body" in r.json()["error"]["message"]


def test_models_lists_and_unknown_paths(emu, http):
    base = emu.url_for("azure")
    r = http.get(base + "/openai/models?api-version=" + VERSION, headers=KEY)
    assert r.status_code == 200
    assert [m["id"] for m in r.json()["data"]] == list(Azure.default_models)
    assert http.get(base + "/openai/v1/models", headers=BEARER).status_code == 200
    assert http.get(base + "/openai/models", headers=KEY).status_code == 404  # no api-version
    assert http.get(base + "/openai/v1/models").status_code == 401
    for method, path in (("POST", "/openai/deployments/x/audio/speech?api-version=" + VERSION),
                         ("POST", "/openai/deployments/x/completions?api-version=" + VERSION),
                         ("GET", "/openai/deployments/x/chat/completions?api-version=" + VERSION),
                         ("POST", "/openai/v1/responses")):
        r = http.request(method, base + path, json={}, headers=KEY)
        assert r.status_code == 404, path
        assert r.json() == {"error": {"code": "404", "message": "Resource not found"}}
        assert is_uuid(r.headers["apim-request-id"])
        assert emu.last_request.provider == "azure" and emu.last_request.endpoint == "unknown"
    with Emulator(dialects=[*DIALECTS, Azure()], models={"azure": ["my-gpt"]}) as other:
        r = http.get(other.url_for("azure") + "/openai/v1/models", headers=KEY)
        assert [m["id"] for m in r.json()["data"]] == ["my-gpt"]


def test_url_for_names_and_other_dialects_unaffected(emu, http):
    assert emu.url_for("azure") == emu.base_url
    assert emu.url_for("azure_openai") == emu.url_for("azure-openai") == emu.base_url
    with Emulator() as plain:
        if not any(d.name == "azure" for d in plain.dialects):
            with pytest.raises(ValueError):
                plain.url_for("azure")
    r = http.post(emu.url_for("openai") + "/chat/completions",
                  json={"model": "gpt-4o-mini", "messages": USER},
                  headers={"Authorization": "Bearer sk-test"})
    assert r.status_code == 200 and "prompt_filter_results" not in r.json()
    assert "apim-request-id" not in r.headers and emu.last_request.provider == "openai"
    r = http.get(emu.base_url + "/nowhere", headers=KEY)  # an api-key marks Azure
    assert r.status_code == 404 and r.json()["error"]["message"] == "Resource not found"


# ---- auth --------------------------------------------------------------------------------------

def test_api_key_or_bearer_token_is_accepted(emu, http):
    assert dep(emu, http, headers=KEY).status_code == 200
    assert dep(emu, http, headers=BEARER).status_code == 200
    assert v1(emu, http, headers={"authorization": "bearer lower-case-scheme"}).status_code == 200
    assert [r.violations for r in emu.requests] == [[], [], []]
    assert emu.requests[0].headers["api-key"] == "azure-key-0123"
    assert emu.requests[1].headers["authorization"] == "Bearer entra-token-0123"


def test_missing_or_bad_credentials_get_azure_401s(emu, http):
    emu.reply(text="not consumed")
    for send in (dep, v1):
        r = send(emu, http, headers={})
        assert r.status_code == 401
        assert r.json() == {"statusCode": 401, "message": TOKEN_MESSAGE}  # no "error" object
        for bad in ("Bearer", "Bearer  ", "Basic dXNlcjpwdw==", "entra-token-0123"):
            r = send(emu, http, headers={"Authorization": bad})
            assert r.status_code == 401 and r.json()["statusCode"] == 401, bad
        r = send(emu, http, headers={"api-key": ""})
        assert r.status_code == 401
        assert r.json() == {"error": {"code": "401", "message": INVALID_KEY_MESSAGE}}
    assert emu.pending_replies == 1
    assert all(rec.status == 401 and rec.violations for rec in emu.requests)


def test_both_credentials_are_refused(emu, http):
    for send in (dep, v1):
        r = send(emu, http, headers=dict(KEY, **BEARER))
        assert r.status_code == 400
        err = r.json()["error"]
        assert err["type"] == "invalid_request_error"
        assert "api-key" in err["message"] and "not both" in err["message"]
    r = dep(emu, http, headers={"api-key": "", "Authorization": ""})
    assert r.status_code == 400


def test_auth_can_be_disabled(http):
    with Emulator(dialects=[*DIALECTS, Azure()], require_auth=False) as e:
        assert dep(e, http, headers={}).status_code == 200
        assert dep(e, http, headers=dict(KEY, **BEARER)).status_code == 200
        assert dep(e, http, headers={}, version=None).status_code == 404  # still a bad URL


# ---- request ids -------------------------------------------------------------------------------

def test_every_answer_carries_an_apim_request_id(emu, http):
    emu.reply(text="whole")
    emu.reply(text="streamed")
    emu.reply(status=429, error="Too many.", headers={"retry-after": "2"})
    answers = [
        dep(emu, http),
        dep(emu, http, {"stream": True}),
        dep(emu, http),
        dep(emu, http, headers={}),
        dep(emu, http, version=None),
        dep(emu, http, {"messages": []}),
        http.get(emu.url_for("azure") + "/openai/v1/models", headers=KEY),
        http.post(emu.url_for("azure") + "/openai/nope", json={}, headers=KEY),
    ]
    ids = [r.headers.get("apim-request-id") for r in answers]
    assert all(is_uuid(i) for i in ids), ids
    assert len(set(ids)) == len(ids)
    assert ids == [apim_request_id("req_%d" % n) for n in range(1, len(ids) + 1)]
    assert all("x-request-id" not in r.headers for r in answers)


# ---- streams -----------------------------------------------------------------------------------

def test_stream_opens_with_the_prompt_filter_results_chunk(emu, http):
    emu.reply(text="Hello! I'm here.", model="gpt-4o-2024-05-13")
    r = dep(emu, http, {"stream": True})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    assert r.headers["transfer-encoding"] == "chunked" and is_uuid(r.headers["apim-request-id"])
    first, role, *rest = chunks(r.text)
    assert first == {"choices": [], "created": 0, "id": "", "model": "", "object": "",
                     "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {
                         "hate": SAFE, "jailbreak": UNDETECTED, "self_harm": SAFE,
                         "sexual": SAFE, "violence": SAFE}}]}
    assert role["choices"] == [{"content_filter_results": {}, "finish_reason": None, "index": 0,
                                "logprobs": None, "delta": {"content": "", "refusal": None,
                                                            "role": "assistant"}}]
    *content, finish = rest
    assert "".join(c["choices"][0]["delta"]["content"] for c in content) == "Hello! I'm here."
    assert len(content) == 3  # one chunk per word
    for c in content:
        assert c["choices"][0]["content_filter_results"] == {
            "hate": SAFE, "self_harm": SAFE, "sexual": SAFE, "violence": SAFE}
    assert finish["choices"] == [{"content_filter_results": {}, "delta": {},
                                  "finish_reason": "stop", "index": 0, "logprobs": None}]
    ids = {c["id"] for c in [role, *rest]}
    assert len(ids) == 1 and ids.pop().startswith("chatcmpl-")
    for c in [role, *rest]:
        assert c["object"] == "chat.completion.chunk" and c["model"] == "gpt-4o-2024-05-13"
        assert set(c) == {"choices", "created", "id", "model", "object", "system_fingerprint"}
        assert c["created"] > 0


def test_stream_usage_chunk_only_when_asked(emu, http):
    emu.reply(text="a b", usage=(5, 2))
    body = {"stream": True, "stream_options": {"include_usage": True}}
    events = chunks(dep(emu, http, body).text)
    assert all(e["usage"] is None for e in events[:-1])
    last = events[-1]
    assert last["choices"] == [] and last["id"] == events[1]["id"]
    assert last["usage"]["prompt_tokens"] == 5 and last["usage"]["completion_tokens"] == 2
    assert last["usage"]["total_tokens"] == 7
    events = chunks(dep(emu, http, {"stream": True}).text)
    assert all("usage" not in e for e in events)


def test_stream_model_is_the_deployment_or_the_v1_model(emu, http):
    assert chunks(dep(emu, http, {"stream": True, "model": "x"}).text)[1]["model"] == DEPLOYMENT
    assert chunks(v1(emu, http, {"stream": True, "model": "dep-b"}).text)[1]["model"] == "dep-b"


def test_stream_faults_work_as_on_openai(emu, http):
    emu.reply(text="partial answer", stream_error="The server had an error.")
    events = chunks(dep(emu, http, {"stream": True}).text + "data: [DONE]\n\n")
    assert events[-1] == {"error": {"message": "The server had an error.", "type": "server_error",
                                    "param": None, "code": None}}
    assert all("error" not in e for e in events[:-1])
    emu.reply(text="never finished", break_after=3)
    with dep(emu, http, {"stream": True}, stream=True) as r:
        assert r.status_code == 200
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            r.content  # noqa: B018 - reading the cut-off body raises
    emu.reply(text="x", repeat_chunks=50)
    events = chunks(dep(emu, http, {"stream": True}).text)
    assert "".join(e["choices"][0]["delta"].get("content") or "" for e in events[1:]) == "x" * 50


# ---- content filtering -------------------------------------------------------------------------

def test_a_filtered_completion_finishes_with_content_filter(emu, http):
    emu.reply(text="Par", finish_reason="content_filter")
    emu.reply(text="Par", finish_reason="content_filter")
    whole = dep(emu, http).json()["choices"][0]
    assert whole["finish_reason"] == "content_filter"
    assert whole["message"]["content"] == "Par"
    results = whole["content_filter_results"]
    assert results["hate"] == {"filtered": True, "severity": "medium"}
    assert [k for k, v in results.items() if v["filtered"]] == ["hate"]
    *_, finish = chunks(dep(emu, http, {"stream": True}).text)
    choice = finish["choices"][0]
    assert choice["finish_reason"] == "content_filter" and choice["delta"] == {}
    assert choice["content_filter_results"]["hate"] == {"filtered": True, "severity": "medium"}
    assert choice["content_filter_results"]["violence"] == SAFE


def blocked_body(category_results):
    return {"error": {"message": BLOCKED_PROMPT_MESSAGE, "type": None, "param": "prompt",
                      "code": "content_filter", "status": 400,
                      "innererror": {"code": "ResponsibleAIPolicyViolation",
                                     "content_filter_result": category_results}}}


def test_blocked_prompt_answer_built_by_the_dialect():
    azure = Azure()
    ctx = Context({"messages": USER}, "req_1", 1, params={"deployment": DEPLOYMENT})
    answer = azure.answer_with_reply(None, Reply(prompt_blocked="violence"), ctx)
    assert answer.status == 400 and answer.events is None
    assert answer.content_type == "application/json"
    assert json.loads(answer.body) == blocked_body({
        "hate": SAFE, "jailbreak": UNDETECTED, "self_harm": SAFE, "sexual": SAFE,
        "violence": {"filtered": True, "severity": "medium"}})
    assert list(json.loads(answer.body)["error"]) == [
        "message", "type", "param", "code", "status", "innererror"]  # the service's order

    def verdicts(blocked):
        body = json.loads(azure.answer_with_reply(None, Reply(prompt_blocked=blocked), ctx).body)
        return body["error"]["innererror"]["content_filter_result"]

    assert verdicts(True)["hate"] == {"filtered": True, "severity": "medium"}
    assert verdicts("Jailbreak")["jailbreak"] == {"detected": True, "filtered": True}
    assert verdicts("self-harm")["self_harm"]["filtered"] is True
    assert verdicts("self-harm")["hate"] == SAFE
    assert verdicts("profanity")["profanity"] == {"detected": True, "filtered": True}
    assert azure.answer_with_reply(None, Reply(text="fine"), ctx) is None
    assert azure.answer_with_reply(None, Reply(prompt_blocked="hate", status=503), ctx) is None


@pytest.mark.skipif(not SERVER_HAS_REPLY_HOOK,
                    reason="needs the server to ask Dialect.answer_with_reply once the reply is "
                           "known (proposed with this dialect, not in _server.py yet)")
def test_a_blocked_prompt_is_a_400_whole_or_streamed(emu, http):
    emu.reply(prompt_blocked="violence")
    emu.reply(prompt_blocked="self_harm", text="never sent")
    r = dep(emu, http)
    assert r.status_code == 400 and is_uuid(r.headers["apim-request-id"])
    assert r.json() == blocked_body({
        "hate": SAFE, "jailbreak": UNDETECTED, "self_harm": SAFE, "sexual": SAFE,
        "violence": {"filtered": True, "severity": "medium"}})
    r = dep(emu, http, {"stream": True})
    assert r.status_code == 400 and r.headers["content-type"] == "application/json"
    verdicts = r.json()["error"]["innererror"]["content_filter_result"]
    assert [k for k, v in verdicts.items() if v["filtered"]] == ["self_harm"]
    assert emu.pending_replies == 0 and [q.status for q in emu.requests] == [400, 400]
    assert all(q.reply is not None and q.reply.prompt_blocked for q in emu.requests)


def test_a_scripted_content_filter_error_gets_the_same_body(emu, http):
    emu.reply(status=400, error_code="content_filter")
    r = dep(emu, http)
    assert r.status_code == 400
    assert r.json() == blocked_body({
        "hate": {"filtered": True, "severity": "medium"}, "jailbreak": UNDETECTED,
        "self_harm": SAFE, "sexual": SAFE, "violence": SAFE})


# ---- tool calls --------------------------------------------------------------------------------

TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "parameters": {"type": "object",
                                          "properties": {"city": {"type": "string"}}}}}]


def test_tool_calls_whole_streamed_and_answered(emu, http):
    calls = [ToolCallSpec("get_weather", {"city": "Oslo"}, id="call_a"),
             ToolCallSpec("get_weather", {"city": "Paris, the capital of France"}, id="call_b")]
    emu.reply(tool_calls=calls)
    emu.reply(tool_calls=calls)
    emu.reply(text="Cold in Oslo.")
    whole = dep(emu, http, {"tools": TOOLS}).json()["choices"][0]
    assert whole["finish_reason"] == "tool_calls" and whole["message"]["content"] is None
    assert whole["message"]["tool_calls"] == [
        {"function": {"arguments": '{"city": "Oslo"}', "name": "get_weather"}, "id": "call_a",
         "type": "function"},
        {"function": {"arguments": '{"city": "Paris, the capital of France"}',
                      "name": "get_weather"}, "id": "call_b", "type": "function"}]

    events = chunks(dep(emu, http, {"tools": TOOLS, "stream": True}).text)
    assert events[0]["choices"] == []
    opened, args = {}, {}
    for event in events[1:]:
        choice = event["choices"][0]
        for frag in choice["delta"].get("tool_calls") or []:
            if "id" in frag:
                opened[frag["index"]] = (frag["id"], frag["function"]["name"])
            args[frag["index"]] = args.get(frag["index"], "") + frag["function"]["arguments"]
            assert choice["content_filter_results"] == {}
    assert opened == {0: ("call_a", "get_weather"), 1: ("call_b", "get_weather")}
    assert [json.loads(args[i]) for i in (0, 1)] == [{"city": "Oslo"},
                                                      {"city": "Paris, the capital of France"}]
    assert events[-1]["choices"][0]["finish_reason"] == "tool_calls"
    assert len([e for e in events if e["choices"] and "tool_calls" in e["choices"][0]["delta"]]) > 2

    turn = [{"role": "user", "content": "Weather?"},
            {"role": "assistant", "content": None, "tool_calls": whole["message"]["tool_calls"]},
            {"role": "tool", "tool_call_id": "call_a", "content": "-3C"},
            {"role": "tool", "tool_call_id": "call_b", "content": "12C"}]
    r = dep(emu, http, {"tools": TOOLS, "messages": turn})
    assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"] == "Cold in Oslo."
    r = dep(emu, http, {"tools": TOOLS, "messages": turn[:3]})  # call_b never answered
    assert r.status_code == 400 and "call_b" in r.json()["error"]["message"]


# ---- scripted errors ---------------------------------------------------------------------------

def test_front_door_errors_have_azure_codes(emu, http):
    emu.reply(status=429, error="Requests to the ChatCompletions_Create Operation have exceeded "
                                "token rate limit. Please retry after 2 seconds.",
              headers={"retry-after": "2", "retry-after-ms": "2000"})
    emu.reply(status=404, error="The API deployment for this resource does not exist.",
              error_code="DeploymentNotFound")
    emu.reply(status=401)
    emu.reply(status=429, stream_error="ignored")
    r = dep(emu, http)
    assert r.status_code == 429
    assert r.json() == {"error": {"code": "429", "message": "Requests to the ChatCompletions_"
                                  "Create Operation have exceeded token rate limit. Please retry "
                                  "after 2 seconds."}}
    assert r.headers["retry-after"] == "2" and r.headers["retry-after-ms"] == "2000"
    assert is_uuid(r.headers["apim-request-id"])
    r = dep(emu, http)
    assert r.status_code == 404 and r.json()["error"] == {
        "code": "DeploymentNotFound",
        "message": "The API deployment for this resource does not exist."}
    assert dep(emu, http).json() == {"error": {"code": "401", "message": INVALID_KEY_MESSAGE}}
    r = dep(emu, http, {"stream": True})  # an error status is never streamed
    assert r.status_code == 429 and r.headers["content-type"] == "application/json"
    assert "rate limit" in r.json()["error"]["message"] and "retry-after" not in r.headers


def test_other_errors_have_openai_shape(emu, http):
    emu.reply(status=500)
    emu.reply(status=400, error="Unrecognized request argument supplied: foo")
    emu.reply(status=429, error="Quota exceeded.", error_type="insufficient_quota",
              error_code="insufficient_quota")
    assert dep(emu, http).json() == {"error": {
        "message": "The server had an error while processing your request. Sorry about that!",
        "type": "server_error", "param": None, "code": None}}
    assert dep(emu, http).json() == {"error": {
        "message": "Unrecognized request argument supplied: foo",
        "type": "invalid_request_error", "param": None, "code": None}}
    r = dep(emu, http)
    assert r.status_code == 429 and r.json()["error"]["type"] == "insufficient_quota"
    assert set(r.json()["error"]) == {"message", "type", "param", "code"}
    emu.reply(body='{"custom": true}', status=503, content_type="application/json")
    r = dep(emu, http)
    assert r.status_code == 503 and r.json() == {"custom": True}
    assert is_uuid(r.headers["apim-request-id"])
