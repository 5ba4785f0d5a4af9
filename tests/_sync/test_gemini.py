"""Gemini-specific behaviour against the emulator (both twins): tool calls without ids, thought
signatures carried through a tool loop, blocked prompts, and the key from the environment.

Hand-written for the sync package; tests/_async/test_gemini.py is generated from it.
"""
import llmunified as llm
from llmunified.testing import ToolCallSpec
from tests._sync.helpers import SECRET, settings


def weather(city: str) -> dict:
    return {"city": city, "sky": "clear"}


WEATHER = llm.Tool("get_weather", "Current weather for a city.", {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}, function=weather)


def test_a_thinking_models_tool_loop_sends_the_signatures_back(emulator):
    # Gemini's calls come without ids and, on thinking models, with a thoughtSignature that must
    # be echoed on the call in the next request (the emulator refuses the turn otherwise, as
    # Gemini 3 does).
    emulator.reply(thinking="Need the weather tool.", thinking_signature="sig-gem-1",
                   tool_calls=[ToolCallSpec("get_weather", {"city": "Paris"})])
    emulator.reply(text="Clear in Paris.")
    with llm.Client("gemini/gemini-3-pro", **settings(emulator, "gemini")) as client:
        reply = client.run("Weather in Paris?", tools=[WEATHER])
    assert reply.text == "Clear in Paris."
    call = reply.messages[0].tool_calls[0]
    assert call.id and call.signature == "sig-gem-1"
    assert all(not r.violations for r in emulator.requests), [r.violations for r in emulator.requests]
    replayed = emulator.requests[1].json["contents"][1]["parts"]
    assert any(p.get("thoughtSignature") == "sig-gem-1" and "functionCall" in p for p in replayed)
    assert "id" not in replayed[-1].get("functionCall", {})  # our own id never goes to the server
    result = emulator.requests[1].json["contents"][2]["parts"][0]["functionResponse"]
    assert result["name"] == "get_weather" and result["response"] == {"city": "Paris", "sky": "clear"}


def test_server_ids_go_back_with_the_results(emulator):
    emulator.reply(tool_calls=[ToolCallSpec("get_weather", {"city": "Oslo"}, id="fc-77"),
                               ToolCallSpec("get_weather", {"city": "Rome"}, id="fc-78")])
    emulator.reply(text="Both clear.")
    with llm.Client("gemini/gemini-2.5-flash", **settings(emulator, "gemini")) as client:
        reply = client.run("Weather in Oslo and Rome?", tools=[WEATHER])
    assert reply.text == "Both clear."
    turn = emulator.requests[1].json["contents"][2]
    assert turn["role"] == "user"  # both results in one turn, paired by the server's ids
    assert [p["functionResponse"]["id"] for p in turn["parts"]] == ["fc-77", "fc-78"]
    assert not emulator.requests[1].violations


def test_a_blocked_prompt_is_a_content_filter_reply(emulator):
    emulator.reply(prompt_blocked="PROHIBITED_CONTENT")
    with llm.Client("gemini/gemini-2.5-flash", **settings(emulator, "gemini")) as client:
        reply = client.complete("something unspeakable")
        emulator.reply(prompt_blocked=True)
        with client.stream("again") as stream:
            events = [e for e in stream]
    assert (reply.finish_reason, reply.text) == ("content_filter", "")
    assert reply.raw["promptFeedback"]["blockReason"] == "PROHIBITED_CONTENT"
    assert stream.response.finish_reason == "content_filter" and events[-1].type == "finish"


def test_the_key_comes_from_gemini_api_key_then_google_api_key(emulator, monkeypatch):
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.setenv("GOOGLE_API_KEY", "google-key-1234567890")
    emulator.reply(text="a")
    emulator.reply(text="b")
    options = settings(emulator, "gemini")
    del options["api_key"]
    with llm.Client("gemini/gemini-2.5-flash", **options) as client:
        client.complete("Hi")
    monkeypatch.setenv("GEMINI_API_KEY", SECRET)
    with llm.Client("gemini/gemini-2.5-flash", **options) as client:
        client.complete("Hi")
    assert [r.headers["x-goog-api-key"] for r in emulator.requests] == ["google-key-1234567890", SECRET]
