"""Median time of the tool loop's per-call step for an ``@llm.tool`` function (budget: <= 15 us).

    python scripts/bench_tools.py [--n 20000]

What ``Client.run`` does for each tool call the model makes, before calling the function:
``ToolLoop.plan(call)`` - look the tool up by name, drop strict-mode nulls, validate the
arguments against the tool's schema and convert them to the annotated Python types. The tool has
a few typed parameters: ``str``, ``int``, ``Literal``, ``Optional``, a nested dataclass and a
``list[...]`` of dataclasses. Prints medians in microseconds (the step, then its parts); exits 1
when the step's median is over budget (a benchmark to run by hand, not a timed test).
"""
import argparse
import dataclasses
import os
import sys
from typing import List, Literal, Optional

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import llmunified as llm  # noqa: E402
from _benchutil import median_us  # noqa: E402
from llmunified._schema import ArgumentsCheck, validate_arguments  # noqa: E402
from llmunified._toolloop import ToolLoop  # noqa: E402
from llmunified._types import ToolCall  # noqa: E402

BUDGET_US = 15.0


@dataclasses.dataclass
class Location:
    """Where to look.

    Attributes:
        city: City name.
        country: ISO country code.
    """

    city: str
    country: Optional[str] = None


@dataclasses.dataclass
class Stop:
    name: str
    minutes: int = 0


@llm.tool
def plan_trip(title: str, days: int, unit: Literal["C", "F"], where: Location, stops: List[Stop],
              note: Optional[str] = None, budget: Optional[float] = None) -> str:
    """Plan a trip.

    Args:
        title: A title for the plan.
        days: How many days.
        unit: Temperature unit.
        where: The destination.
        stops: Stops on the way.
        note: A free-form note.
        budget: Money to spend.
    """
    return title


@llm.tool
def get_weather(city: str, unit: Literal["C", "F"] = "C") -> str:
    """Current weather for a city.

    Args:
        city: The city name, e.g. "Paris".
        unit: Temperature unit.
    """
    return city


ARGUMENTS = {"title": "Spring in Paris", "days": 3, "unit": "C",
             "where": {"city": "Paris", "country": "FR"},
             "stops": [{"name": "Lyon", "minutes": 90}, {"name": "Dijon"}],
             "note": None, "budget": 1200.0}




def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000, help="iterations per measurement")
    args = parser.parse_args()

    loop = ToolLoop([plan_trip], max_rounds=4)
    call = ToolCall("call_1", "plan_trip", ARGUMENTS)
    plan = loop.plan(call)  # warm the caches (and import jsonschema)
    assert plan.error is None, plan.error
    assert plan.kwargs == {"title": "Spring in Paris", "days": 3, "unit": "C", "where": Location("Paris", "FR"),
                           "stops": [Stop("Lyon", 90), Stop("Dijon")], "note": None,
                           "budget": 1200.0}, plan.kwargs
    arguments, errors = validate_arguments(plan_trip.parameters, ARGUMENTS)
    assert not errors, errors

    simple_loop = ToolLoop([get_weather], max_rounds=4)
    simple_call = ToolCall("call_2", "get_weather", {"city": "Paris", "unit": "F"})
    assert simple_loop.plan(simple_call).kwargs == {"city": "Paris", "unit": "F"}

    step = median_us(lambda: loop.plan(call), args.n)
    simple = median_us(lambda: simple_loop.plan(simple_call), args.n)
    check = ArgumentsCheck(plan_trip.parameters)
    checked = median_us(lambda: check(ARGUMENTS), args.n)
    convert = median_us(lambda: plan_trip.convert_arguments(arguments), args.n)
    validate = median_us(lambda: validate_arguments(plan_trip.parameters, ARGUMENTS), args.n)

    print(f"ToolLoop.plan() per tool call (lookup, validate, convert): {step:7.2f} us median  "
          f"(budget {BUDGET_US:.0f} us)")
    print(f"  its validation (strip nulls + check, compiled per tool): {checked:7.2f} us median")
    print(f"  its conversion (FunctionTool.convert_arguments):         {convert:7.2f} us median")
    print(f"reference: validate_arguments() with the schema cache:     {validate:7.2f} us median")
    print(f"reference: ToolLoop.plan() for get_weather(city, unit):    {simple:7.2f} us median")
    return 0 if step <= BUDGET_US else 1


if __name__ == "__main__":
    sys.exit(main())
