"""What a Router with healthy entries adds to a plain Client call (issue 11's budget: under 3%,
sync call time and async throughput), against the loopback bench server
(scripts/_benchserver.py, a separate process on 127.0.0.1 only).

    python scripts/bench_router.py [--calls N] [--rounds R] [--async-calls N] [--concurrency C]

  sync   ``client.complete`` against ``Router([client]).complete`` and a two-entry round-robin
         Router over two clients of the same server: ``R`` interleaved rounds (the order of the
         sides alternating from round to round) of ``N``
         sequential calls each, median per-call wall time (and this process's CPU time)
  async  the same in ``llmunified_async``: ``N`` calls at concurrency ``C`` (workers sharing the
         client or router), ``R`` interleaved rounds, median time per call; throughput ratio

Each row prints the difference to the plain client, in microseconds and percent. The loopback
rows move by a few percent from run to run on a shared machine, so a last line also measures the
router's own work in-process (both sides over a transport that answers at once, no sockets) and
gives it as a share of the loopback call. Exit status 0
(informational: timings on a shared machine are noisy; no timed assertion gates anything).
"""
import argparse
import asyncio
import statistics
import sys
import time
from typing import Any, Callable, Dict, List

from bench_trace import Server  # noqa: F401  (sets sys.path to this checkout first)

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
    for round_ in range(rounds):
        names = list(sides) if round_ % 2 == 0 else list(reversed(sides))  # no side always first
        for name in names:
            call = sides[name]
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
        for round_ in range(rounds):
            names = list(sides) if round_ % 2 == 0 else list(reversed(sides))
            for name in names:
                per_call[name].append(await batch(sides[name], calls))
        for target in sides.values():
            await target.close()
        return {name: statistics.median(v) for name, v in per_call.items()}

    return asyncio.run(run())


_BODY = (b'{"id":"x","object":"chat.completion","created":1,"model":"bench-model","choices":[{"index":0,'
         b'"message":{"role":"assistant","content":"Hello"},"finish_reason":"stop"}],'
         b'"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}')


def router_work(calls: int, rounds: int) -> Dict[str, float]:
    """The router's own work per call, without the network's noise: the same calls over a
    transport that answers at once (in-process), Router minus Client, sync and async, medians of
    interleaved rounds in microseconds."""
    import llmunified as llm
    import llmunified_async as allm
    from llmunified._http import TransportResponse

    class Instant:
        def send_request(self, request: Any, timeout: Any = None) -> Any:
            return TransportResponse(200, {"content-type": "application/json"}, _BODY, None)

        def read_chunk(self, response: Any) -> bytes:
            return b""

        def read_body(self, response: Any) -> bytes:
            return response.body

        def close_response(self, response: Any) -> None:
            pass

        def close(self) -> None:
            pass

    class AsyncInstant:
        async def send_request(self, request: Any, timeout: Any = None) -> Any:
            return TransportResponse(200, {"content-type": "application/json"}, _BODY, None)

        async def read_chunk(self, response: Any) -> bytes:
            return b""

        async def read_body(self, response: Any) -> bytes:
            return response.body

        async def close_response(self, response: Any) -> None:
            pass

        async def close(self) -> None:
            pass

    out: Dict[str, float] = {}
    plain = llm.Client("openai/bench-model", api_key="k", transport=Instant(), max_retries=0)
    router = llm.Router([llm.Client("openai/bench-model", api_key="k", transport=Instant(), max_retries=0)])
    times: Dict[str, List[float]] = {"Client": [], "Router": []}
    for round_ in range(rounds):
        for name, target in ((("Client", plain), ("Router", router)) if round_ % 2 == 0
                             else (("Router", router), ("Client", plain))):
            t0 = time.perf_counter()
            for _ in range(calls):
                target.complete("Hello")
            times[name].append((time.perf_counter() - t0) / calls * 1e6)
    out["sync"] = statistics.median(times["Router"]) - statistics.median(times["Client"])

    async def run() -> float:
        plain = allm.Client("openai/bench-model", api_key="k", transport=AsyncInstant(), max_retries=0)
        router = allm.Router([allm.Client("openai/bench-model", api_key="k", transport=AsyncInstant(),
                                          max_retries=0)])
        times: Dict[str, List[float]] = {"Client": [], "Router": []}
        for round_ in range(rounds):
            for name, target in ((("Client", plain), ("Router", router)) if round_ % 2 == 0
                                 else (("Router", router), ("Client", plain))):
                t0 = time.perf_counter()
                for _ in range(calls):
                    await target.complete("Hello")
                times[name].append((time.perf_counter() - t0) / calls * 1e6)
        return statistics.median(times["Router"]) - statistics.median(times["Client"])

    out["async"] = asyncio.run(run())
    return out


def main(argv: Any = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=400, help="sync calls per round (default 400)")
    parser.add_argument("--rounds", type=int, default=9, help="rounds per side, alternating the order (default 9)")
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
        work = router_work(3000, args.rounds)
        print(f"\nthe router's own work (in-process, a transport that answers at once): "
              f"sync {work['sync']:+.1f} us/call = {100 * work['sync'] / base_wall:.1f}% of the loopback call above; "
              f"async {work['async']:+.1f} us/call = {100 * work['async'] / base:.1f}%")
        print("budget (issue 11): a Router with healthy entries adds under 3% (sync time, async throughput)")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
