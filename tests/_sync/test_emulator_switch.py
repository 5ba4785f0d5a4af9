"""The test kit's switch, ``LLMUNIFIED_EMULATOR``: an application's own clients, built with no
base_url and no key, talk to the emulator for every wire protocol; and a ChatSession with a
small budget (``max_context_tokens=1000``) works with the default reserve."""
import pytest

import llmunified as llm
from llmunified import errors
from llmunified.testing import Reply
from tests._sync.helpers import SECRET, expect, model, provider, provider_settings  # noqa: F401 - provider is a fixture

PROVIDER_KEYS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY", "CO_API_KEY",
                 "COHERE_API_KEY", "AZURE_OPENAI_API_KEY", "OLLAMA_API_KEY", "LMSTUDIO_API_KEY")


@pytest.fixture
def switched(emulator, monkeypatch):
    """The emulator, with every client of the process pointed at it and real keys in the environment."""
    for var in PROVIDER_KEYS:
        monkeypatch.setenv(var, SECRET)
    monkeypatch.setenv("OPENAI_BASE_URL", "https://api.example.invalid/v1")  # the switch wins over it
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://example.invalid")
    monkeypatch.setenv("LLMUNIFIED_EMULATOR", emulator.base_url)
    return emulator


def test_every_provider_goes_to_the_emulator_and_no_real_key_is_sent(switched, provider):
    switched.reply(text="Hello from the emulator.")
    switched.reply(text="Streamed from the emulator.", chunk_size=7)
    # the application's code, unchanged: no base_url, no key
    with llm.Client(model(provider), **provider_settings(provider)) as client:
        assert client.complete("Hi").text == "Hello from the emulator."
        with client.stream("Hi again") as stream:
            pieces = [e.text for e in stream if e.type == "text"]
    assert "".join(pieces) == "Streamed from the emulator."
    assert len(switched.requests) == 2
    assert all(r.violations == [] for r in switched.requests)
    for request in switched.requests:
        assert SECRET not in repr(sorted(request.headers.items())) + request.query


def test_the_switch_wins_over_base_url_and_an_explicit_key_is_used(switched, provider):
    switched.reply(text="ok")
    with llm.Client(model(provider), base_url="https://api.example.invalid/v1", api_key="sk-given",
                    **provider_settings(provider)) as client:
        assert client.complete("Hi").text == "ok"
    request = switched.last_request
    assert "sk-given" in repr(sorted(request.headers.items())) + request.query
    assert expect(provider).key_header[0].lower() in {k.lower() for k in request.headers} or "key=" in request.query


def test_a_malformed_switch_is_a_configuration_error(monkeypatch):
    monkeypatch.setenv("LLMUNIFIED_EMULATOR", "127.0.0.1:8080")
    with pytest.raises(errors.ConfigurationError, match="LLMUNIFIED_EMULATOR"):
        llm.Client("openai/gpt-4o-mini")


def test_emulator_reply_takes_a_reply_object(emulator):
    queued = emulator.reply(Reply(text="from a Reply"))
    changed = emulator.reply(Reply(text="base", usage=(3, 4)), text="overridden")
    assert queued.text == "from a Reply" and changed.text == "overridden" and changed.usage == (3, 4)
    with pytest.raises(TypeError, match="takes a Reply or keyword fields"):
        emulator.reply("just text")
    with llm.Client("openai/m", base_url=emulator.url_for("openai"), api_key="k") as client:
        assert client.complete("a").text == "from a Reply"
        assert client.complete("b").text == "overridden"


def test_a_small_budget_gets_a_scaled_reserve(emulator, provider):
    emulator.reply(text="Fits.")
    with llm.Client(model(provider), base_url=emulator.url_for(model(provider).partition("/")[0]),
                    api_key=SECRET, **provider_settings(provider)) as client:
        chat = llm.ChatSession(client, max_context_tokens=1000)
        assert chat.send("Hello").text == "Fits."
        assert chat.to_dict()["meta"]["reserve_tokens"] == 250  # a quarter of a budget under 4096
        assert llm.ChatSession.from_dict(chat.to_dict(), client).to_dict()["meta"]["reserve_tokens"] == 250
        big = llm.ChatSession(client, max_context_tokens=100_000)
        assert big.to_dict()["meta"]["reserve_tokens"] == 1024
        with pytest.raises(errors.ValidationError, match="must exceed reserve_tokens"):
            llm.ChatSession(client, max_context_tokens=1000, reserve_tokens=1000)
        with pytest.raises(errors.ValidationError, match="must exceed reserve_tokens"):
            llm.ChatSession(client, max_context_tokens=0)
