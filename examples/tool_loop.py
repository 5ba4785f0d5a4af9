"""The automatic tool loop: the model calls your Python functions until it can answer.

    python examples/tool_loop.py [provider/model]

``@llm.tool`` turns a typed, documented function into a tool (JSON Schema from the annotations,
descriptions from the docstring). ``client.run`` sends the question, runs every tool call the
model makes (arguments validated first), sends the results back, and repeats until the model
answers (at most ``max_rounds`` times).
"""
from typing import Literal

from _emulated import model_or_emulator
from llmunified.testing import Reply, ToolCallSpec

import llmunified as llm

MODEL = model_or_emulator("openai/gpt-4o-mini", replies=[
    Reply(tool_calls=[ToolCallSpec("get_weather", {"city": "Paris"}),
                      ToolCallSpec("get_weather", {"city": "Oslo", "unit": "fahrenheit"})]),
    Reply(tool_calls=[ToolCallSpec("convert", {"celsius": 18})]),
    Reply(text="Paris is clear at 18 °C (64.4 °F); Oslo is snowy at 27 °F."),
])

WEATHER = {"Paris": (18, "clear"), "Oslo": (-3, "snow")}


@llm.tool
def get_weather(city: str, unit: Literal["celsius", "fahrenheit"] = "celsius") -> dict:
    """Current weather for a city.

    Args:
        city: City name, e.g. Paris.
        unit: Temperature unit.
    """
    celsius, sky = WEATHER.get(city, (20, "unknown"))
    temperature = celsius if unit == "celsius" else round(celsius * 9 / 5 + 32)
    return {"city": city, "temperature": temperature, "unit": unit, "sky": sky}


@llm.tool
def convert(celsius: float) -> float:
    """Convert a temperature from Celsius to Fahrenheit.

    Args:
        celsius: The temperature in degrees Celsius.
    """
    return celsius * 9 / 5 + 32


with llm.Client(MODEL) as client:
    reply = client.run("What's the weather in Paris and in Oslo (in Fahrenheit there)? "
                       "Give Paris in both units.", tools=[get_weather, convert], max_rounds=5)

for message in reply.messages:  # everything the run added, in order
    if message.role == "assistant" and message.tool_calls:
        for call in message.tool_calls:
            print(f"model calls  {call.name}({call.arguments})")
    elif message.role == "tool":
        for result in message.content:  # llm.ToolResult parts
            print(f"tool returns {result.text}")
print("answer:", reply.text)
print(f"usage over every round: {reply.usage.total_tokens} tokens")
