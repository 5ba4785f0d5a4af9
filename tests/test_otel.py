"""OpenTelemetry spans (issue 11 §2), checked with the SDK's in-memory exporter.

Run by the tox env ``otel`` (which installs opentelemetry-sdk); skipped when it is not installed.
Each test uses its own TracerProvider (``otel=provider``): the global one is never set, so
nothing leaks into other tests.
"""
import asyncio
import json
import subprocess
import sys

import pytest

import llmunified as llm
from llmunified import errors
from llmunified.testing import ToolCallSpec

pytest.importorskip("opentelemetry.sdk")

from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402
from opentelemetry.trace import SpanKind, StatusCode  # noqa: E402

SECRET = "sk-otel-SECRET-0123456789"


@pytest.fixture
def otel():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider, exporter
    provider.shutdown()


def get_weather(city: str) -> str:
    if city == "Atlantis":
        raise LookupError("no such city")
    return f"sunny in {city}"


WEATHER = llm.Tool("get_weather", "Weather for a city.", {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}, function=get_weather)


def no_secret(spans):
    for span in spans:
        dumped = json.dumps({"name": span.name, "attributes": dict(span.attributes or {}),
                             "events": [(e.name, dict(e.attributes or {})) for e in span.events],
                             "status": span.status.description}, default=str)
        assert SECRET not in dumped


def test_a_chat_span_follows_the_gen_ai_conventions(emulator, otel):
    provider, exporter = otel
    emulator.reply(text="Paris.", usage=(12, 3), model="gpt-4o-mini-2024-07-18", id="chatcmpl-1")
    with llm.Client("openai/gpt-4o-mini", base_url=emulator.url_for("openai"), api_key=SECRET, otel=provider,
                    temperature=0.2) as client:
        reply = client.complete("Capital of France?", max_tokens=50, correlation_id="cid-1")
    (span,) = exporter.get_finished_spans()
    assert span.name == "chat gpt-4o-mini" and span.kind == SpanKind.CLIENT
    a = dict(span.attributes)
    assert a["gen_ai.operation.name"] == "chat" and a["gen_ai.provider.name"] == "openai"
    assert a["gen_ai.request.model"] == "gpt-4o-mini" and a["gen_ai.response.model"] == "gpt-4o-mini-2024-07-18"
    assert a["gen_ai.request.temperature"] == 0.2 and a["gen_ai.request.max_tokens"] == 50
    assert (a["gen_ai.usage.input_tokens"], a["gen_ai.usage.output_tokens"]) == (12, 3)
    assert tuple(a["gen_ai.response.finish_reasons"]) == ("stop",) and a["gen_ai.response.id"] == "chatcmpl-1"
    assert a["server.address"] == "127.0.0.1" and a["llmunified.correlation_id"] == "cid-1" == reply.correlation_id
    assert "gen_ai.input.messages" not in a and "gen_ai.output.messages" not in a  # content only when opted in
    no_secret([span])


def test_failures_retries_and_streams(emulator, otel):
    provider, exporter = otel
    emulator.reply(status=503, error="busy")
    emulator.reply(text="ok")
    emulator.reply(status=401, error="bad key")
    fast = llm.RetryPolicy(max_retries=1, initial_delay=0.001, max_delay=0.001, jitter=0.0)
    with llm.Client("anthropic/claude-test", base_url=emulator.url_for("anthropic"), api_key=SECRET,
                    otel=provider, retry=fast) as client:
        with client.stream("Hi") as stream:
            [e for e in stream]
        with pytest.raises(errors.AuthenticationError):
            client.complete("Hi")
    streamed, failed = exporter.get_finished_spans()
    assert streamed.attributes["llmunified.streaming"] is True
    assert streamed.attributes["gen_ai.provider.name"] == "anthropic"
    assert [e.name for e in streamed.events] == ["llmunified.retry"]
    assert streamed.events[0].attributes["error.type"] == "OverloadedError"
    assert failed.status.status_code == StatusCode.ERROR and failed.attributes["error.type"] == "AuthenticationError"
    no_secret([streamed, failed])


def test_tool_spans_nest_under_the_callers_span(emulator, otel):
    provider, exporter = otel
    emulator.reply(tool_calls=[ToolCallSpec("get_weather", {"city": "Paris"}, id="c1"),
                               ToolCallSpec("get_weather", {"city": "Atlantis"}, id="c2")])
    emulator.reply(text="Sunny in Paris.")
    tracer = llm.Tracer(otel=provider)
    app = provider.get_tracer("app")
    with llm.Client("openai/m", base_url=emulator.url_for("openai"), api_key=SECRET, tracer=tracer) as client:
        with app.start_as_current_span("handle request") as root:
            reply = client.run("Weather?", tools=[WEATHER])
    spans = exporter.get_finished_spans()
    by_name = {}
    for span in spans:
        by_name.setdefault(span.name, []).append(span)
    assert sorted(by_name) == ["chat m", "execute_tool get_weather", "handle request"]
    root_id = root.get_span_context().span_id
    assert all(s.parent.span_id == root_id for s in spans if s.name != "handle request")
    paris, atlantis = sorted(by_name["execute_tool get_weather"], key=lambda s: s.attributes["gen_ai.tool.call.id"])
    assert paris.attributes["gen_ai.operation.name"] == "execute_tool"
    assert paris.attributes["gen_ai.tool.name"] == "get_weather" and paris.attributes["gen_ai.tool.call.id"] == "c1"
    assert paris.attributes["llmunified.correlation_id"] == reply.correlation_id
    assert "gen_ai.tool.call.arguments" not in paris.attributes
    assert atlantis.status.status_code == StatusCode.ERROR and atlantis.attributes["error.type"] == "LookupError"
    # the in-memory tracer saw the same calls
    assert len(tracer.events(type="tool_call")) == 2 and len(by_name["chat m"]) == 2
    no_secret(spans)


def test_content_only_when_opted_in(emulator, otel):
    provider, exporter = otel
    emulator.reply(tool_calls=[ToolCallSpec("get_weather", {"city": "Rome"}, id="c1")])
    emulator.reply(text="Warm.")
    tracer = llm.Tracer(otel=provider, capture_content=True)
    with llm.Client("openai/m", base_url=emulator.url_for("openai"), api_key=SECRET, tracer=tracer) as client:
        client.run([llm.system("Be brief."), llm.user("Weather in Rome?")], tools=[WEATHER])
    chat_first, tool, chat_last = exporter.get_finished_spans()
    assert json.loads(chat_first.attributes["gen_ai.input.messages"]) == [
        {"role": "user", "parts": [{"type": "text", "content": "Weather in Rome?"}]}]
    assert json.loads(chat_first.attributes["gen_ai.system_instructions"]) == [{"type": "text",
                                                                                 "content": "Be brief."}]
    assert json.loads(chat_last.attributes["gen_ai.output.messages"])[0]["parts"] == [{"type": "text",
                                                                                      "content": "Warm."}]
    assert json.loads(tool.attributes["gen_ai.tool.call.arguments"]) == {"city": "Rome"}
    assert tool.attributes["gen_ai.tool.call.result"] == "sunny in Rome"
    no_secret([chat_first, tool, chat_last])


def test_the_async_twin_emits_the_same_spans(emulator, otel):
    import llmunified_async as allm

    provider, exporter = otel
    emulator.reply(tool_calls=[ToolCallSpec("get_weather", {"city": "Oslo"}, id="c1")])
    emulator.reply(text="Cold.")

    async def main():
        async with allm.Client("openai/m", base_url=emulator.url_for("openai"), api_key=SECRET,
                               otel=provider) as client:
            return await client.run("Weather?", tools=[WEATHER])

    reply = asyncio.run(main())
    names = [s.name for s in exporter.get_finished_spans()]
    assert names == ["chat m", "execute_tool get_weather", "chat m"] and reply.text == "Cold."


def test_off_and_missing(emulator, otel, monkeypatch):
    provider, exporter = otel
    emulator.reply(text="ok")
    with llm.Client("openai/m", base_url=emulator.url_for("openai"), api_key=SECRET, otel=False,
                    tracer=llm.Tracer(otel=provider)) as client:
        client.complete("Hi")
    assert exporter.get_finished_spans() == ()  # otel=False on the client wins
    monkeypatch.setitem(sys.modules, "opentelemetry", None)  # as if opentelemetry-api were not installed
    with pytest.raises(errors.ConfigurationError, match=r"llmunified\[otel\]"):
        llm.Client("openai/m", api_key=SECRET, otel=True)


def test_automatic_when_the_application_configured_an_sdk_provider():
    code = (
        "import llmunified as llm\n"
        "c = llm.Client('openai/m', api_key='k')\n"
        "assert c._trace is None\n"
        "from opentelemetry import trace\n"
        "from opentelemetry.sdk.trace import TracerProvider\n"
        "c = llm.Client('openai/m', api_key='k')\n"
        "assert c._trace is None  # the API imported, no SDK provider: off\n"
        "trace.set_tracer_provider(TracerProvider())\n"
        "c = llm.Client('openai/m', api_key='k')\n"
        "assert c._trace is not None and c._trace.otel is not None and c._trace.tracer is None\n"
        "assert llm.Client('openai/m', api_key='k', otel=False)._trace is None\n"
        "import sys; assert 'opentelemetry' in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_import_llmunified_does_not_import_opentelemetry():
    code = "import sys, llmunified as llm; llm.Client('openai/m', api_key='k'); " \
           "assert not any(m.startswith('opentelemetry') for m in sys.modules), sorted(sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_router_calls_are_the_chat_spans_of_the_serving_entries(emulator, otel):
    provider, exporter = otel
    emulator.reply(status=503, error="down")
    emulator.reply(text="from the backup")
    tracer = llm.Tracer(otel=provider)
    primary = llm.Client("openai/primary-model", base_url=emulator.url_for("openai"), api_key=SECRET, max_retries=0,
                         label="primary")
    backup = llm.Client("anthropic/backup-model", base_url=emulator.url_for("anthropic"), api_key=SECRET,
                        max_retries=0, label="backup")
    app = provider.get_tracer("app")
    with llm.Router([primary, backup], tracer=tracer) as router:
        with app.start_as_current_span("handle request"):
            reply = router.complete("Hi", correlation_id="r-1")
    failed, served, root = exporter.get_finished_spans()
    assert (failed.name, served.name) == ("chat primary-model", "chat backup-model")
    assert failed.attributes["llmunified.label"] == "primary" and failed.attributes["error.type"] == "OverloadedError"
    assert served.attributes["llmunified.label"] == "backup"
    assert served.attributes["gen_ai.provider.name"] == "anthropic"
    assert {failed.attributes["llmunified.correlation_id"], served.attributes["llmunified.correlation_id"]} == {"r-1"}
    assert failed.parent.span_id == served.parent.span_id == root.get_span_context().span_id
    (event,) = root.events
    assert event.name == "llmunified.failover" and dict(event.attributes) == {
        "llmunified.from_label": "primary", "llmunified.to_label": "backup", "error.type": "OverloadedError"}
    assert reply.label == "backup" and len(tracer.events()) == 5
    no_secret([failed, served, root])


def test_embeddings_and_other_operations_have_their_spans(emulator, otel):
    provider, exporter = otel
    with llm.Client("openai/text-embedding-3-small", base_url=emulator.url_for("openai"), api_key=SECRET,
                    otel=provider) as client:
        result = client.embed(["one", "two"])
        client.list_models()
    with llm.Client("anthropic/claude-test", base_url=emulator.url_for("anthropic"), api_key=SECRET,
                    otel=provider) as client:
        count = client.count_tokens("How many?")
    embedded, listed, counted = exporter.get_finished_spans()
    assert embedded.name == "embeddings text-embedding-3-small" and embedded.kind == SpanKind.CLIENT
    a = dict(embedded.attributes)
    assert a["gen_ai.operation.name"] == "embeddings" and a["gen_ai.provider.name"] == "openai"
    assert a["gen_ai.request.model"] == "text-embedding-3-small"
    assert a["gen_ai.usage.input_tokens"] == result.usage.input_tokens > 0
    assert a["gen_ai.embeddings.dimension.count"] == result.dimensions and a["llmunified.correlation_id"]
    assert listed.name == "list_models text-embedding-3-small"
    assert listed.attributes["gen_ai.operation.name"] == "list_models"
    assert counted.name == "count_tokens claude-test" and counted.attributes["llmunified.token_count"] == count.tokens
    assert "gen_ai.usage.input_tokens" not in counted.attributes
    no_secret([embedded, listed, counted])


def test_a_sampled_out_span_is_left_alone(emulator):
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=ALWAYS_OFF)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    emulator.reply(status=503, error="busy")
    emulator.reply(text="ok")
    fast = llm.RetryPolicy(max_retries=1, initial_delay=0.001, max_delay=0.001, jitter=0.0)
    with llm.Client("openai/m", base_url=emulator.url_for("openai"), api_key=SECRET, otel=provider,
                    retry=fast) as client:
        assert client.complete("Hi").text == "ok"
        with pytest.raises(errors.AuthenticationError):
            emulator.reply(status=401, error="no")
            client.complete("Hi")
    assert exporter.get_finished_spans() == ()
    provider.shutdown()


def test_the_async_twin_traces_router_calls_and_embeddings(emulator, otel):
    import llmunified_async as allm

    provider, exporter = otel
    emulator.reply(status=503, error="down")
    emulator.reply(text="ok")
    tracer = llm.Tracer(otel=provider)

    async def main():
        primary = allm.Client("openai/primary-model", base_url=emulator.url_for("openai"), api_key=SECRET,
                              max_retries=0, label="primary")
        backup = allm.Client("openai/text-embedding-3-small", base_url=emulator.url_for("openai"), api_key=SECRET,
                             max_retries=0, label="backup")
        async with allm.Router([primary, backup], tracer=tracer) as router:
            reply = await router.complete("Hi")
            await router.embed("vector me")
        return reply

    reply = asyncio.run(main())
    names = [s.name for s in exporter.get_finished_spans()]
    assert names == ["chat primary-model", "chat text-embedding-3-small", "embeddings primary-model"]
    assert reply.label == "backup"
    assert [(e.type, getattr(e, "operation", None)) for e in tracer.events(type=["llm_call", "failover"])] == [
        ("llm_call", "chat"), ("failover", None), ("llm_call", "chat"), ("llm_call", "embeddings")]
    assert len({e.correlation_id for e in tracer.events()}) == 2  # one per router call


def test_a_router_tracer_respects_an_entry_with_otel_off(emulator, otel):
    provider, exporter = otel
    tracer = llm.Tracer(otel=provider)
    quiet = llm.Client("openai/quiet-model", base_url=emulator.url_for("openai"), api_key=SECRET, otel=False,
                       label="quiet")
    loud = llm.Client("openai/loud-model", base_url=emulator.url_for("openai"), api_key=SECRET, label="loud")
    with llm.Router([quiet, loud], strategy="round_robin", tracer=tracer) as router:
        router.complete("Hi")
        router.complete("Hi")
    assert [s.name for s in exporter.get_finished_spans()] == ["chat loud-model"]
    assert [e.label for e in tracer.events(type="llm_call")] == ["quiet", "loud"]  # the tracer sees both
