"""What a Router with healthy entries adds to a plain Client call (issue 11's budget: under 3%,
sync call time and async throughput), against the loopback bench server
(scripts/_benchserver.py, a separate process on 127.0.0.1 only).

    python scripts/bench_router.py [--calls N] [--rounds R] [--async-calls N] [--concurrency C]

  sync   ``client.complete`` against ``Router([client]).complete`` and a two-entry round-robin
         Router over two clients of the same server: ``R`` interleaved rounds of ``N``
         sequential calls each, median per-call wall time (and this process's CPU time)
  async  the same in ``llmunified_async``: ``N`` calls at concurrency ``C`` (workers sharing the
         client or router), ``R`` interleaved rounds, median time per call; throughput ratio

Each row prints the difference to the plain client, in microseconds and percent. Exit status 0
(informational: timings on a shared machine are noisy; no timed assertion gates anything).
"""
import argparse
import asyncio
import statistics
import sys
import time
from typing import Any, Callable, Dict, List

from bench_trace import Server  # the same loopback server process

from _benchutil import median_us  # noqa: E402


def sync_side(base: str, calls: int, rounds: int) -> Dict[str, Any]:
    import llmunified as llm

    common = dict(base_url=base, api_key="sk-bench", max_retries=0)
    plain = llm.Client("openai/bench-model", **common)
    one = llm.Router([llm.Client("openai/bench-model", label="only", **common)])
    two = llm.Router([llm.Client("openai/bench-model", label="a", **common),
                      llm.Client("openai/bench-model", label="b", **common)], strategy="round_robin")
    sides: Dict[str, Callable[[], Any]] = {
        "Client": lambda: plain.complete("Hello"),
        "Router, one entry": lambda: one.complete("Hello"),
        "Router, two entries round robin": lambda: two.complete("Hello"),
    }
    for call in sides.values():
        for _ in range(100):
            call()
    wall: Dict[str, List[float]] = {name: [] for name in sides}
    cpu: Dict[str, List[float]] = {name: [] for name in sides}
    for _ in range(rounds):
        for name, call in sides.items():
            c0 = time.process_time()
            wall[name].append(median_us(call, calls))
            cpu[name].append((time.process_time() - c0) / calls * 1e6)
    plain.close()
    one.close()
    two.close()
    return {name: (statistics.median(wall[name]), statistics.median(cpu[name])) for name in sides}


def async_side(base: str, calls: int, concurrency: int, rounds: int) -> Dict[str, float]:
    import llmunified_async as allm

    async def run() -> Dict[str, float]:
        common = dict(base_url=base, api_key="sk-bench", max_retries=0, pool_size=concurrency)
        plain = allm.Client("openai/bench-model", **common)
        one = allm.Router([allm.Client("openai/bench-model", label="only", **common)])
        two = allm.Router([allm.Client("openai/bench-model", label="a", **common),
                           allm.Client("openai/bench-model", label="b", **common)], strategy="round_robin")
        sides = {"Client": plain, "Router, one entry": one, "Router, two entries round robin": two}

        async def batch(target: Any, total: int) -> float:
            async def worker(k: int) -> None:
                for _ in range(k):
                    await target.complete("Hello")
            q, r = divmod(total, concurrency)
            t0 = time.perf_counter()
            await asyncio.gather(*(worker(q + (i < r)) for i in range(concurrency)))
            return (time.perf_counter() - t0) / total * 1e6

        for target in sides.values():
            await batch(target, concurrency * 5)
        per_call: Dict[str, List[float]] = {name: [] for name in sides}
        for _ in range(rounds):
            for name, target in sides.items():
                per_call[name].append(await batch(target, calls))
        for target in sides.values():
            await target.close()
        return {name: statistics.median(v) for name, v in per_call.items()}

    return asyncio.run(run())


def main(argv: Any = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=400, help="sync calls per round (default 400)")
    parser.add_argument("--rounds", type=int, default=7, help="rounds per side (default 7)")
    parser.add_argument("--async-calls", type=int, default=2000, help="async calls per round (default 2000)")
    parser.add_argument("--concurrency", type=int, default=100, help="async concurrency (default 100)")
    args = parser.parse_args(argv)
    server = Server()
    try:
        sync = sync_side(server.base, args.calls, args.rounds)
        base_wall, base_cpu = sync["Client"]
        print(f"{'sync, per call':34} {'wall us':>9} {'vs Client':>17} {'CPU us':>9} {'vs Client':>17}")
        for name, (w, c) in sync.items():
            print(f"{name:34} {w:9.1f} {w - base_wall:+8.1f}us {100 * (w - base_wall) / base_wall:+6.1f}% "
                  f"{c:9.1f} {c - base_cpu:+8.1f}us {100 * (c - base_cpu) / base_cpu:+6.1f}%")
        asyn = async_side(server.base, args.async_calls, args.concurrency, args.rounds)
        base = asyn["Client"]
        print(f"\n{'async, per call at concurrency ' + str(args.concurrency):34} {'us':>9} {'vs Client':>17} "
              f"{'throughput':>11}")
        for name, us in asyn.items():
            print(f"{name:34} {us:9.1f} {us - base:+8.1f}us {100 * (us - base) / base:+6.1f}% {base / us:10.3f}x")
        print("\nbudget (issue 11): a Router with healthy entries adds under 3% (sync time, async throughput)")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
