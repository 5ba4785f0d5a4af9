"""Azure OpenAI behaviour against the emulator (both twins): both URL styles, the two auth
schemes (never both headers), Azure's filter results kept on the reply, a blocked prompt as a
typed error with its categories, request ids, and bad settings refused before the network.

Everything the OpenAI provider does runs for ``azure`` in the shared behaviour tests
(tests/_sync/helpers.py PROVIDERS); this module checks what is Azure's own.
Hand-written for the sync package; tests/_async/test_azure.py is generated from it.
"""
import time

import pytest

import llmunified as llm
from llmunified import errors
from llmunified.testing import ToolCallSpec
from tests._sync.helpers import SECRET, WEATHER, settings


MODEL = "azure/gpt4o-prod"


def test_deployments_url_carries_the_api_version(emulator):
    emulator.reply(text="Paris.")
    with llm.Client(MODEL, **settings(emulator, "azure", api_version="2025-04-01-preview")) as client:
        reply = client.complete("Capital of France?")
    assert reply.text == "Paris."
    request, = emulator.requests
    assert request.path == "/openai/deployments/gpt4o-prod/chat/completions"
    assert request.query == "api-version=2025-04-01-preview"
    assert request.headers["api-key"] == SECRET and "authorization" not in request.headers
    assert not request.violations


def test_v1_api_by_setting_and_by_url(emulator):
    emulator.reply(text="one")
    emulator.reply(text="two")
    with llm.Client(MODEL, **settings(emulator, "azure", api_version="v1")) as client:
        assert client.complete("Hi").text == "one"
    with llm.Client(MODEL, **settings(emulator, "azure", base_url=emulator.url_for("azure") + "/openai/v1")) \
            as client:
        assert client.complete("Hi").text == "two"
    for request in emulator.requests:
        assert request.path == "/openai/v1/chat/completions" and request.query == ""
        assert request.json["model"] == "gpt4o-prod" and not request.violations


def test_entra_token_callable_is_sent_as_bearer_only(emulator):
    tokens = iter(["entra-token-first-0001", "entra-token-second-002"])
    emulator.reply(text="a")
    emulator.reply(text="b")
    with llm.Client(MODEL, **settings(emulator, "azure", api_key=lambda: next(tokens))) as client:
        client.complete("Hi")
        client.complete("Hi")
    first, second = emulator.requests
    assert first.headers["authorization"] == "Bearer entra-token-first-0001"
    assert second.headers["authorization"] == "Bearer entra-token-second-002"
    assert "api-key" not in first.headers and "api-key" not in second.headers
    assert not first.violations and not second.violations


class Token:
    def __init__(self, token, expires_on):
        self.token = token
        self.expires_on = expires_on


class Credential:
    """Has the shape of azure-identity's credentials (``get_token(*scopes)``)."""

    def __init__(self):
        self.scopes = []

    def get_token(self, *scopes):
        self.scopes.append(scopes)
        return Token(f"cred-token-{len(self.scopes):04d}-abcdef", int(time.time()) + 3600)


def test_a_credential_object_works_and_its_token_is_reused(emulator):
    credential = Credential()
    emulator.reply(text="a")
    emulator.reply(text="b")
    with llm.Client(MODEL, **settings(emulator, "azure", api_key=credential)) as client:
        client.complete("Hi")
        client.complete("Hi")
        assert "cred-token" not in repr(client)
    assert [r.headers["authorization"] for r in emulator.requests] == ["Bearer cred-token-0001-abcdef"] * 2
    assert credential.scopes == [("https://cognitiveservices.azure.com/.default",)]


def test_prompt_and_completion_filter_results_are_kept(emulator):
    emulator.reply(text="Paris.")
    emulator.reply(text="Par", finish_reason="content_filter")
    with llm.Client(MODEL, **settings(emulator, "azure")) as client:
        reply = client.complete("Capital of France?")
        with client.stream("Capital of France?") as stream:
            text = "".join([e.text for e in stream if e.type == "text"])
    assert reply.finish_reason == "stop"
    assert reply.raw["prompt_filter_results"][0]["content_filter_results"]["hate"]["filtered"] is False
    assert "content_filter_results" in reply.raw["choices"][0]
    streamed = stream.response
    assert text == "Par" and streamed.finish_reason == "content_filter"
    first = streamed.raw[0]
    assert first["choices"] == [] and "prompt_filter_results" in first


def test_a_blocked_prompt_is_a_content_filter_error(emulator):
    emulator.reply(prompt_blocked="violence")
    emulator.reply(prompt_blocked="self_harm")
    with llm.Client(MODEL, **settings(emulator, "azure")) as client:
        with pytest.raises(errors.ContentFilterError) as info:
            client.complete("something the filter refuses")
        with pytest.raises(errors.BadRequestError) as streamed:
            with client.stream("something the filter refuses") as stream:
                for _ in stream:
                    pass
    err = info.value
    assert err.status == 400 and err.code == "content_filter" and "violence" in err.filtered
    assert err.request_id and len(err.request_id) >= 8
    assert isinstance(streamed.value, errors.ContentFilterError) and "self_harm" in streamed.value.filtered
    assert len(emulator.requests) == 2  # not retried: the same prompt would be refused again


def test_request_ids_come_from_apim_request_id(emulator):
    emulator.reply(text="ok")
    emulator.reply(status=404, error="The API deployment for this resource does not exist.",
                   error_code="DeploymentNotFound")
    with llm.Client(MODEL, **settings(emulator, "azure")) as client:
        reply = client.complete("Hi")
        with pytest.raises(errors.NotFoundError) as info:
            client.complete("Hi")
    assert reply.request_id and len(reply.request_id) >= 8
    assert info.value.request_id and info.value.request_id != reply.request_id
    assert "DeploymentNotFound" in (info.value.code or "") and SECRET not in str(info.value)


def test_tool_loop_on_a_deployment(emulator):
    emulator.reply(tool_calls=[ToolCallSpec("get_weather", {"city": "Oslo"})])
    emulator.reply(text="Cold in Oslo.")
    weather = llm.Tool(WEATHER.name, WEATHER.description, WEATHER.parameters, function=lambda city, days=1: "-3C")
    with llm.Client(MODEL, **settings(emulator, "azure")) as client:
        reply = client.run("Weather in Oslo?", tools=[weather])
    assert reply.text == "Cold in Oslo."
    second = emulator.requests[1]
    assert second.json["messages"][-1] == {"role": "tool", "tool_call_id": second.json["messages"][-2]["tool_calls"][0]["id"],
                                           "content": "-3C"}
    assert all(r.path.startswith("/openai/deployments/gpt4o-prod/") and not r.violations for r in emulator.requests)


def test_bad_settings_fail_before_the_network(emulator, monkeypatch):
    monkeypatch.delenv("AZURE_OPENAI_ENDPOINT", raising=False)
    monkeypatch.delenv("OPENAI_API_VERSION", raising=False)
    base = settings(emulator, "azure")
    with pytest.raises(errors.ConfigurationError, match="AZURE_OPENAI_ENDPOINT"):
        llm.Client("azure/gpt4o-prod", **dict(base, base_url=None))
    with pytest.raises(errors.ConfigurationError, match="api_version"):
        llm.Client("azure/gpt4o-prod", **dict(base, api_version=""))
    with pytest.raises(errors.ConfigurationError, match="deployment"):
        llm.Client("azure/my deployment", **base)
    with pytest.raises(errors.ConfigurationError, match="deployment"):
        llm.Client("azure/team/gpt4o", **base)

    def broken_token():
        raise RuntimeError("no login session")

    with llm.Client(MODEL, **settings(emulator, "azure", api_key=broken_token)) as client:
        with pytest.raises(errors.ConfigurationError, match="no login session"):
            client.complete("Hi")
    with llm.Client(MODEL, **settings(emulator, "azure", api_key=lambda: 42)) as client:
        with pytest.raises(errors.ConfigurationError, match="non-empty string"):
            client.complete("Hi")
    assert emulator.requests == []
