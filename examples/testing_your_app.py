"""Testing your own application with the emulator: no key, no network, scripted replies, and
every request your code sent, checked against the real API's rules.

    python -m pytest examples/testing_your_app.py     # the pytest way (the llm_emulator fixture)
    python examples/testing_your_app.py               # the same checks with unittest, no pytest

The application below builds its own client, with no test hook. ``LLMUNIFIED_EMULATOR`` points
every client of the process at the emulator (the emulator's path for each provider; a placeholder
key; keys in the environment are never sent there), so the code under test runs unchanged.
"""
import os
import unittest

import llmunified as llm
from llmunified.testing import Emulator, Reply, ToolCallSpec


# -- the application under test (normally imported from your package) ---------------------------

@llm.tool
def get_weather(city: str) -> dict:
    """Current weather for a city.

    Args:
        city: City name.
    """
    return {"city": city, "sky": "clear", "temperature_c": 18}


def weather_bot(question: str) -> str:
    """Answers a weather question, using the get_weather tool."""
    with llm.Client("anthropic/claude-sonnet-4-5", max_tokens=500) as client:
        return client.run(question, tools=[get_weather]).text


# -- with pytest: the llm_emulator fixture comes with the package -----------------------------------

def test_weather_bot(llm_emulator, monkeypatch):
    monkeypatch.setenv("LLMUNIFIED_EMULATOR", llm_emulator.base_url)
    llm_emulator.reply(tool_calls=[ToolCallSpec("get_weather", {"city": "Paris"})])
    llm_emulator.reply(text="Sunny in Paris, 18 °C.", usage=(40, 7))

    assert weather_bot("Weather in Paris?") == "Sunny in Paris, 18 °C."

    first, second = llm_emulator.requests
    assert first.path == "/v1/messages"  # Anthropic's wire format, as the real service gets it
    assert second.json["messages"][-1]["content"][0]["type"] == "tool_result"
    assert all(not r.violations for r in llm_emulator.requests)  # nothing the real API would refuse


def test_weather_bot_when_the_provider_is_overloaded(llm_emulator, monkeypatch):
    monkeypatch.setenv("LLMUNIFIED_EMULATOR", llm_emulator.base_url)
    for _ in range(3):  # the first call and its two retries
        llm_emulator.reply(Reply(status=529, error="Overloaded", headers={"retry-after": "0"}))
    try:
        weather_bot("Weather in Paris?")
    except llm.errors.OverloadedError as exc:
        assert exc.retryable and exc.status == 529
    else:
        raise AssertionError("expected OverloadedError")
    assert len(llm_emulator.requests) == 3


# -- without pytest: the emulator is a context manager ------------------------------------------------

class WeatherBotTest(unittest.TestCase):
    def setUp(self):
        self.emulator = Emulator().start()
        self.addCleanup(self.emulator.stop)
        previous = os.environ.get("LLMUNIFIED_EMULATOR")
        os.environ["LLMUNIFIED_EMULATOR"] = self.emulator.base_url
        self.addCleanup(lambda: os.environ.pop("LLMUNIFIED_EMULATOR") if previous is None
                        else os.environ.__setitem__("LLMUNIFIED_EMULATOR", previous))

    def test_answers_with_the_tool_result(self):
        self.emulator.reply(tool_calls=[ToolCallSpec("get_weather", {"city": "Oslo"})])
        self.emulator.reply(text="Clear in Oslo.")
        self.assertEqual(weather_bot("Weather in Oslo?"), "Clear in Oslo.")
        tool_turn = self.emulator.requests[1].json["messages"][-1]["content"][0]
        self.assertIn('"city": "Oslo"', tool_turn["content"])


def main() -> None:
    # The emulator in a plain script: `with Emulator() as emu:` starts it and stops it.
    with Emulator() as emu:
        emu.reply(text="Hello from the emulator.")
        with llm.Client("openai/gpt-4o-mini", base_url=emu.url_for("openai"), api_key="test") as client:
            print(client.complete("Hi").text)
        print(f"{len(emu.requests)} request(s) recorded, violations: {emu.requests[0].violations}")
    unittest.main(argv=[__file__, "-v"])


if __name__ == "__main__":
    main()
