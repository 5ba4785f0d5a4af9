"""Shared pieces of the behaviour tests (generated into tests/_async/helpers.py)."""
import pytest

import llmunified as llm

PROVIDERS = ["openai", "anthropic", "ollama", "lmstudio"]
SECRET = "sk-test-SECRET-0123456789"

WEATHER = llm.Tool("get_weather", "Current weather for a city.", {
    "type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
    "required": ["city"]})


@pytest.fixture(params=PROVIDERS)
def provider(request):
    return request.param


def settings(emulator, provider, **extra):
    """Client keyword arguments that point a client at the emulator."""
    values = {"base_url": emulator.url_for(provider), "api_key": SECRET, "max_retries": 0}
    values.update(extra)
    return values


def model(provider):
    return provider + "/test-model"
