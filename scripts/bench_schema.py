"""Median time to validate a tool call's arguments against a cached schema (budget: < 50 us).

    python scripts/bench_schema.py [--n 20000]

Measures ``llmunified._schema.validate`` (cache lookup by canonical JSON + compiled check) on a
typical three-property tool schema, for valid arguments (the common case) and for invalid ones
(which go through jsonschema for the error messages), plus ``validate_arguments`` as the tool
loop calls it. Prints medians in microseconds; exits 1 when the valid-arguments median is over
budget (a benchmark to run by hand, not a timed test).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from _benchutil import median_us  # noqa: E402
from llmunified._schema import validate, validate_arguments, validator_for  # noqa: E402

BUDGET_US = 50.0

SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "description": "City name, e.g. Paris"},
        "days": {"type": "integer", "minimum": 1, "maximum": 16, "description": "Forecast length"},
        "unit": {"type": "string", "enum": ["C", "F"], "default": "C"},
    },
    "required": ["city", "days"],
    "additionalProperties": False,
}
VALID = {"city": "Paris", "days": 3, "unit": "C"}
INVALID = {"city": "Paris", "days": "two"}




def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000, help="iterations per measurement")
    args = parser.parse_args()

    assert validate(SCHEMA, VALID) == []
    assert validate(SCHEMA, INVALID) == ["$.days: 'two' is not of type 'integer'"]
    jsonschema_validator = validator_for(SCHEMA)  # warm the cache (and import jsonschema)

    valid = median_us(lambda: validate(SCHEMA, VALID), args.n)
    loop = median_us(lambda: validate_arguments(SCHEMA, VALID), args.n)
    invalid = median_us(lambda: validate(SCHEMA, INVALID), max(1, args.n // 4))
    raw = median_us(lambda: jsonschema_validator.is_valid(VALID), args.n)

    print(f"validate(), valid arguments, cached schema:   {valid:7.2f} us median  (budget {BUDGET_US:.0f} us)")
    print(f"validate_arguments(), valid arguments:         {loop:7.2f} us median")
    print(f"validate(), invalid arguments (with messages): {invalid:7.2f} us median")
    print(f"reference: jsonschema is_valid alone:          {raw:7.2f} us median")
    return 0 if valid < BUDGET_US else 1


if __name__ == "__main__":
    sys.exit(main())
