"""The model registry and cost budgets (issue 15): lookups, the first load, pricing a response.

    python scripts/bench_models.py [--n 20000]

Budgets: ``model_info`` under 5 us after the first lookup of a name, the first load of the
registry under 30 ms, ``Response.cost`` under 10 us, and ``import llmunified`` unchanged (it
must not import the registry or the cost module, nor read the data file). Prints medians;
exits 1 when a budget is missed (a benchmark to run by hand, not a timed test).
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)

from _benchutil import median_us  # noqa: E402
from llmunified import _models  # noqa: E402
from llmunified._types import Response, Usage, assistant  # noqa: E402

BUDGETS = {"lookup_us": 5.0, "first_load_ms": 30.0, "cost_us": 10.0}




def first_load_ms(repeats: int = 15) -> float:
    """Median time of the first lookup after the registry was forgotten (read, parse, index)."""
    timings = []
    for _ in range(repeats):
        _models._reset()
        t0 = time.perf_counter()
        _models.model_info("anthropic/claude-sonnet-4-5")
        timings.append(time.perf_counter() - t0)
    return statistics.median(timings) * 1e3


def cold_process_ms() -> float:
    """A fresh interpreter: import llmunified, then the first model_info (module imports included)."""
    code = ("import time, llmunified as llm\n"
            "t = time.perf_counter(); llm.model_info('anthropic/claude-sonnet-4-5')\n"
            "print((time.perf_counter() - t) * 1e3)\n")
    env = dict(os.environ)
    env.pop(_models.ENV, None)
    runs = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                 cwd=ROOT, env=env).stdout) for _ in range(5)]
    return statistics.median(runs)


def import_footprint() -> "tuple[bool, float]":
    """(import llmunified leaves the registry alone, median import time in ms)."""
    code = ("import sys, time; t = time.perf_counter(); import llmunified\n"
            "dt = (time.perf_counter() - t) * 1e3\n"
            "bad = [m for m in ('llmunified._models', 'llmunified._cost') if m in sys.modules]\n"
            "print(dt, ','.join(bad) or '-')\n")
    times, clean = [], True
    for _ in range(7):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                             cwd=ROOT).stdout.split()
        times.append(float(out[0]))
        clean = clean and out[1] == "-"
    return clean, statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000, help="iterations per measurement")
    args = parser.parse_args()
    os.environ.pop(_models.ENV, None)

    load = first_load_ms()
    cold = cold_process_ms()
    _models._reset()
    _models.model_info("anthropic/claude-sonnet-4-5")
    lookup = median_us(lambda: _models.model_info("anthropic/claude-sonnet-4-5"), args.n)
    dated = median_us(lambda: _models.model_info("vertex/claude-sonnet-4-5-20250929"), args.n)

    reply = Response(assistant("x"), usage=Usage(1532, 33, 1565, 1111, 418, 0), model="claude-sonnet-4-5-20250929",
                     provider="anthropic")
    assert reply.cost is not None
    cost = median_us(lambda: reply.cost, args.n)
    unknown = Response(assistant("x"), usage=Usage(10, 10), model="not-a-model", provider="openai")
    assert unknown.cost is None
    cost_unknown = median_us(lambda: unknown.cost, args.n)
    clean, import_ms = import_footprint()

    print(f"first registry load:            {load:8.2f} ms  (budget {BUDGETS['first_load_ms']} ms)")
    print(f"  in a fresh process, imports:  {cold:8.2f} ms")
    print(f"model_info, repeated:           {lookup:8.3f} us  (budget {BUDGETS['lookup_us']} us)")
    print(f"model_info, a dated alias:      {dated:8.3f} us")
    print(f"Response.cost (cache, tiers):   {cost:8.3f} us  (budget {BUDGETS['cost_us']} us)")
    print(f"Response.cost, unknown model:   {cost_unknown:8.3f} us")
    print(f"import llmunified:              {import_ms:8.2f} ms, registry untouched: {clean}")
    ok = (load < BUDGETS["first_load_ms"] and lookup < BUDGETS["lookup_us"] and cost < BUDGETS["cost_us"]
          and clean)
    print("OK" if ok else "OVER BUDGET")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
