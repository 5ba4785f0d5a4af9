"""Vertex AI behaviour against the emulator (both twins): the publisher follows the model name,
settings and credentials are checked before any call, and streamed function-call arguments
(partialArgs) assemble into one tool call.

Hand-written for the sync package; tests/_async/test_vertex.py is generated from it.
"""
import pytest

import llmunified as llm
from llmunified import errors
from llmunified.testing import ToolCallSpec
from tests._sync.helpers import SECRET, settings

STREAM_ARGUMENTS = {"toolConfig": {"functionCallingConfig": {"streamFunctionCallArguments": True}}}


def trip(city: str, nights: int, notes: str) -> dict:
    return {"booked": city, "nights": nights}


TRIP = llm.Tool("book_trip", "Book a trip.", {
    "type": "object", "properties": {"city": {"type": "string"}, "nights": {"type": "integer"},
                                     "notes": {"type": "string"}},
    "required": ["city", "nights", "notes"]}, function=trip)


def test_the_publisher_follows_the_model_name(emulator):
    emulator.reply(text="from gemini")
    emulator.reply(text="from claude")
    options = settings(emulator, "vertex", location="europe-west4")
    with llm.Client("vertex/gemini-2.5-pro", **options) as gemini:
        assert gemini.complete("Hi").text == "from gemini"
    with llm.Client("vertex/claude-sonnet-4-5@20250929", **options) as claude:
        assert claude.complete("Hi").text == "from claude"
    google, anthropic = emulator.requests
    assert google.path.startswith(
        "/v1/projects/test-project/locations/europe-west4/publishers/google/models/gemini-2.5-pro:generateContent")
    assert anthropic.path.startswith("/v1/projects/test-project/locations/europe-west4/publishers/anthropic/models/"
                                     "claude-sonnet-4-5@20250929:rawPredict")
    assert anthropic.json["anthropic_version"] == "vertex-2023-10-16" and "model" not in anthropic.json
    for request in (google, anthropic):
        assert request.headers["authorization"] == "Bearer " + SECRET
        assert "x-api-key" not in request.headers and not request.violations


def test_what_vertex_cannot_route_fails_before_the_network(emulator):
    base = settings(emulator, "vertex")
    no_project = dict(base)
    del no_project["project"]
    with pytest.raises(errors.ConfigurationError, match="GOOGLE_CLOUD_PROJECT"):
        llm.Client("vertex/gemini-2.5-pro", **dict(no_project, api_key=lambda: SECRET))
    with pytest.raises(errors.ConfigurationError, match="express-mode API keys serve Gemini models"):
        llm.Client("vertex/claude-sonnet-4-5@20250929", **no_project)
    with pytest.raises(errors.ConfigurationError, match="location"):
        llm.Client("vertex/gemini-2.5-pro", **dict(base, location="Europe West!"))
    with pytest.raises(errors.ConfigurationError, match="meta"):
        llm.Client("vertex/meta/llama-3", **base)
    assert emulator.requests == []


def test_streamed_function_call_arguments_assemble_into_one_call(emulator):
    arguments = {"city": "Lisbon", "nights": 3, "notes": "a room with a view of the river"}
    emulator.reply(tool_calls=[ToolCallSpec("book_trip", arguments)])   # the stream
    emulator.reply(tool_calls=[ToolCallSpec("book_trip", arguments)])   # run(): the call
    emulator.reply(text="Booked.")                                       # run(): the answer
    with llm.Client("vertex/gemini-3-pro", **settings(emulator, "vertex")) as client:
        with client.stream("Book Lisbon", tools=[TRIP], extra=STREAM_ARGUMENTS) as stream:
            events = [e for e in stream]
        reply = client.run("Book Lisbon", tools=[TRIP], extra=STREAM_ARGUMENTS)
    kinds = [e.type for e in events if e.type.startswith("tool_call")]
    assert kinds[0] == "tool_call_start" and kinds[-1] == "tool_call_end" and kinds.count("tool_call_start") == 1
    deltas = "".join(e.arguments for e in events if e.type == "tool_call_delta")
    call = stream.response.tool_calls[0]
    assert call.arguments == arguments and deltas == call.raw_arguments
    assert reply.text == "Booked." and reply.messages[1].content[0].content == {"booked": "Lisbon", "nights": 3}
    assert all(not r.violations for r in emulator.requests)


def test_a_refreshing_token_is_asked_for_every_call(emulator):
    tokens = iter(["ya29.first-token-000001", "ya29.second-token-00002"])
    emulator.reply(text="a")
    emulator.reply(text="b")
    options = dict(settings(emulator, "vertex"), api_key=lambda: next(tokens))
    with llm.Client("vertex/claude-haiku-4-5", **options) as client:
        client.complete("Hi")
        client.complete("Hi")
    assert [r.headers["authorization"] for r in emulator.requests] == [
        "Bearer ya29.first-token-000001", "Bearer ya29.second-token-00002"]


def test_express_mode_an_api_key_and_no_project(emulator):
    emulator.reply(text="express answer")
    emulator.reply(text="express stream")
    options = settings(emulator, "vertex", api_key="AQ.express-key-0123456789")
    del options["project"]
    with llm.Client("vertex/gemini-2.5-flash", **options) as client:
        assert client.complete("Hi").text == "express answer"
        with client.stream("Hi") as stream:
            assert "".join([e.text for e in stream if e.type == "text"]) == "express stream"
    for request in emulator.requests:
        assert request.path.startswith("/v1/publishers/google/models/gemini-2.5-flash:")
        assert request.headers["x-goog-api-key"] == "AQ.express-key-0123456789"
        assert "authorization" not in request.headers and not request.violations
