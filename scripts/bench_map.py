"""``Client.map`` against hand-written loops on the same loopback server (issue 13's budgets).

    python scripts/bench_map.py [--calls 5000] [--concurrency 200] [--threads 16] [--runs 3]

  async  ``llmunified_async.Client.map(prompts, concurrency=200)`` against ``asyncio.gather``
         over an ``asyncio.Semaphore(200)`` posting with one raw ``aiohttp.ClientSession`` (and
         ``json.loads`` of each reply)                        goal: throughput >= 0.9x the raw loop
  sync   ``llmunified.Client.map(prompts, concurrency=16)`` (worker threads) against a
         ``ThreadPoolExecutor(16)`` posting with one ``requests.Session`` (pool of 16)
                                                              goal: throughput >= 0.8x the raw loop

Both sides make the same number of non-streaming calls to scripts/_benchserver.py (a separate
process on 127.0.0.1, so it does not share our GIL), and both read every reply; ``map`` keeps
results in input order and a per-item result object, as it does for users. Each side runs in a
fresh interpreter (this file with ``--side``), ``--runs`` times, alternating which goes first;
figures are medians of wall time. Exit status 0 (informational), 1 if a measure fails to run.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any, Dict, List

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

MODEL = "openai/bench-model"
PAYLOAD = {"model": "bench-model", "messages": [{"role": "user", "content": "Say hello."}]}
HEADERS = {"Authorization": "Bearer bench", "Content-Type": "application/json"}


def side_async_raw(base: str, calls: int, concurrency: int) -> float:
    import asyncio

    import aiohttp

    async def run() -> float:
        connector = aiohttp.TCPConnector(limit=concurrency)
        async with aiohttp.ClientSession(connector=connector) as session:
            gate = asyncio.Semaphore(concurrency)
            url = base + "/chat/completions"

            async def one(i: int) -> Any:
                async with gate:
                    body = json.dumps({**PAYLOAD, "messages": [{"role": "user", "content": f"Say hello {i}."}]})
                    async with session.post(url, data=body.encode(), headers=HEADERS) as resp:
                        return json.loads(await resp.read())

            await asyncio.gather(*[one(i) for i in range(50)])  # warm the pool
            t0 = time.perf_counter()
            out = await asyncio.gather(*[one(i) for i in range(calls)])
            seconds = time.perf_counter() - t0
            assert len(out) == calls and all(o["choices"] for o in out)
            return seconds

    return asyncio.run(run())


def side_async_ours(base: str, calls: int, concurrency: int) -> float:
    import asyncio

    import llmunified_async as llm

    async def run() -> float:
        async with llm.Client(MODEL, base_url=base, api_key="bench", pool_size=concurrency) as client:
            [r async for r in client.map([f"Say hello {i}." for i in range(50)], concurrency=concurrency)]
            prompts = [f"Say hello {i}." for i in range(calls)]
            t0 = time.perf_counter()
            results = [r async for r in client.map(prompts, concurrency=concurrency)]
            seconds = time.perf_counter() - t0
            assert len(results) == calls and all(r.ok for r in results)
            return seconds

    return asyncio.run(run())


def side_sync_raw(base: str, calls: int, threads: int) -> float:
    from concurrent.futures import ThreadPoolExecutor

    import requests

    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=threads)
    session.mount("http://", adapter)
    url = base + "/chat/completions"

    def one(i: int) -> Any:
        body = json.dumps({**PAYLOAD, "messages": [{"role": "user", "content": f"Say hello {i}."}]})
        resp = session.post(url, data=body.encode(), headers=HEADERS)
        return json.loads(resp.content)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(one, range(50)))
        t0 = time.perf_counter()
        out = list(pool.map(one, range(calls)))
        seconds = time.perf_counter() - t0
    assert len(out) == calls and all(o["choices"] for o in out)
    session.close()
    return seconds


def side_sync_ours(base: str, calls: int, threads: int) -> float:
    import llmunified as llm

    with llm.Client(MODEL, base_url=base, api_key="bench", pool_size=threads) as client:
        [r for r in client.map([f"Say hello {i}." for i in range(50)], concurrency=threads)]
        prompts = [f"Say hello {i}." for i in range(calls)]
        t0 = time.perf_counter()
        results = [r for r in client.map(prompts, concurrency=threads)]
        seconds = time.perf_counter() - t0
    assert len(results) == calls and all(r.ok for r in results)
    return seconds


SIDES = {"async-raw": side_async_raw, "async-ours": side_async_ours, "sync-raw": side_sync_raw,
         "sync-ours": side_sync_ours}


def run_side(side: str, base: str, calls: int, concurrency: int) -> float:
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--side", side, "--base", base,
                          "--calls", str(calls), "--concurrency", str(concurrency)],
                         cwd=ROOT, capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"{side} failed: {(out.stderr.strip().splitlines() or ['no output'])[-1]}")
    return float(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=200, help="async tasks at once")
    parser.add_argument("--threads", type=int, default=16, help="sync worker threads")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--side", choices=sorted(SIDES), help=argparse.SUPPRESS)
    parser.add_argument("--base", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        print(SIDES[args.side](args.base, args.calls, args.concurrency))
        return 0

    from _benchutil import Server  # the loopback server process

    server = Server(chunks=10)
    try:
        rows: List[Dict[str, Any]] = []
        for kind, conc, goal in (("async", args.concurrency, 0.9), ("sync", args.threads, 0.8)):
            times: Dict[str, List[float]] = {"raw": [], "ours": []}
            for i in range(args.runs):
                for who in (("raw", "ours") if i % 2 == 0 else ("ours", "raw")):
                    times[who].append(run_side(f"{kind}-{who}", server.base, args.calls, conc))
            raw, ours = statistics.median(times["raw"]), statistics.median(times["ours"])
            ratio = raw / ours  # throughput ours / raw
            rows.append({"kind": kind, "concurrency": conc, "raw_calls_per_s": args.calls / raw,
                         "ours_calls_per_s": args.calls / ours, "throughput_ratio": ratio, "goal": goal})
            print(f"{kind:5s} {args.calls} calls, concurrency {conc:3d}: raw {args.calls / raw:8.0f} calls/s, "
                  f"map {args.calls / ours:8.0f} calls/s, throughput {ratio:.2f}x (goal >= {goal}x) "
                  f"{'GOAL MET' if ratio >= goal else 'goal missed'}")
    finally:
        server.stop()
    print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
