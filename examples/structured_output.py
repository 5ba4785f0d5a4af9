"""Structured output: the reply as a validated dataclass (or list of them).

    python examples/structured_output.py [provider/model]

``client.extract`` sends the schema the provider's own way (OpenAI ``json_schema``, Anthropic a
forced tool, Ollama ``format``...), validates the reply, and asks again with the validation
errors when it does not fit (``retries``); ``StructuredOutputError`` when no attempt fits.
"""
import json
from dataclasses import dataclass, field
from typing import List, Optional

from _emulated import model_or_emulator
from llmunified.testing import Reply

import llmunified as llm

MODEL = model_or_emulator("openai/gpt-4o-mini", replies=[
    Reply(text=json.dumps({"name": "Paris", "population": 2102650, "country": "France"})),
    Reply(text=json.dumps({"name": "Lyon"})),  # missing population: invalid, so it is asked again
    # a list is asked for inside an object ({"value": [...]}): most providers want an object at the root
    Reply(text=json.dumps({"value": [{"name": "Marseille", "population": 873076, "country": "France"},
                                     {"name": "Lyon", "population": 522250, "country": "France"}]})),
])


@dataclass
class City:
    name: str
    population: int = field(metadata={"description": "Inhabitants of the city proper"})
    country: Optional[str] = None


with llm.Client(MODEL) as client:
    city = client.extract(City, "Biggest city in France?")
    print(f"{city.name}: {city.population:,} inhabitants ({city.country})")

    cities: List[City] = client.extract(List[City], "The next two biggest cities in France", retries=2)
    for c in cities:
        print(f"{c.name}: {c.population:,}")
