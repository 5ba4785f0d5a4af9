"""Benchmarks: llmunified against raw requests / aiohttp, same loopback server, same run.

    python scripts/bench.py [--quick] [--json]

Prints each figure as a ratio against its baseline with the budget from the foundation issue:
  sync      one non-streaming call: ours / (requests.Session.post + json.loads)      <= 1.30
  async     2,000 calls at concurrency 100: our throughput / raw aiohttp's            >= 0.80
  stream    2,000-chunk SSE responses: our chunks/s / a minimal hand-written SSE loop >= 0.70
  import    `import llmunified` minus `import requests` (ms)                          <= 30
and checks that `import llmunified` imports neither aiohttp, jsonschema nor dataclasses_json.
The server is a separate process (scripts/_benchserver.py) so it does not share our GIL.
Exit status 1 when a budget is missed.
"""
import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

PAYLOAD = {"model": "bench-model", "messages": [{"role": "user", "content": "Say hello."}]}


class Server:
    def __init__(self, chunks: int) -> None:
        fd, self.port_file = tempfile.mkstemp()
        os.close(fd)
        os.unlink(self.port_file)
        self.proc = subprocess.Popen([sys.executable, os.path.join(ROOT, "scripts", "_benchserver.py"),
                                      self.port_file, "--chunks", str(chunks)])
        deadline = time.monotonic() + 10
        while not os.path.exists(self.port_file) or not open(self.port_file).read():
            if time.monotonic() > deadline:
                raise RuntimeError("bench server did not start")
            time.sleep(0.01)
        self.port = int(open(self.port_file).read())
        self.base = f"http://127.0.0.1:{self.port}/v1"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait()
        os.unlink(self.port_file)


def median_time(fn, n: int) -> float:
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)


def bench_sync(base: str, rounds: int) -> dict:
    import requests

    import llmunified as llm

    session = requests.Session()
    url = base + "/chat/completions"
    headers = {"Authorization": "Bearer bench", "Content-Type": "application/json"}

    def raw() -> None:
        r = session.post(url, data=json.dumps(PAYLOAD), headers=headers)
        json.loads(r.content)

    client = llm.Client("openai/bench-model", base_url=base, api_key="bench")

    def ours() -> None:
        client.complete("Say hello.")

    for _ in range(50):  # warm up both pools
        raw()
        ours()
    # Interleave the two in blocks so drift (CPU frequency, the other core) hits both alike.
    raw_t, ours_t = [], []
    for _ in range(5):
        raw_t.append(median_time(raw, rounds // 5))
        ours_t.append(median_time(ours, rounds // 5))
    client.close()
    session.close()
    r, o = statistics.median(raw_t), statistics.median(ours_t)
    return {"raw_us": r * 1e6, "ours_us": o * 1e6, "ratio": o / r, "budget": 1.30, "ok": o / r <= 1.30}


def bench_async(base: str, calls: int, concurrency: int) -> dict:
    import aiohttp

    import llmunified_async as allm

    async def run_raw() -> float:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
            sem = asyncio.Semaphore(concurrency)
            url = base + "/chat/completions"
            headers = {"Authorization": "Bearer bench", "Content-Type": "application/json"}

            async def one() -> None:
                async with sem:
                    async with session.post(url, data=json.dumps(PAYLOAD), headers=headers) as r:
                        json.loads(await r.read())

            await asyncio.gather(*(one() for _ in range(200)))  # warm up
            t = time.perf_counter()
            await asyncio.gather(*(one() for _ in range(calls)))
            return calls / (time.perf_counter() - t)

    async def run_ours() -> float:
        async with allm.Client("openai/bench-model", base_url=base, api_key="bench") as client:
            sem = asyncio.Semaphore(concurrency)

            async def one() -> None:
                async with sem:
                    await client.complete("Say hello.")

            await asyncio.gather(*(one() for _ in range(200)))
            t = time.perf_counter()
            await asyncio.gather(*(one() for _ in range(calls)))
            return calls / (time.perf_counter() - t)

    raws, ourss = [], []
    for _ in range(3):
        raws.append(asyncio.run(run_raw()))
        ourss.append(asyncio.run(run_ours()))
    r, o = statistics.median(raws), statistics.median(ourss)
    return {"raw_calls_per_s": r, "ours_calls_per_s": o, "ratio": o / r, "budget": 0.80, "ok": o / r >= 0.80}


def bench_stream(base: str, rounds: int, chunks: int) -> dict:
    import requests

    import llmunified as llm

    session = requests.Session()
    url = base + "/chat/completions"
    headers = {"Authorization": "Bearer bench", "Content-Type": "application/json"}
    body = json.dumps({**PAYLOAD, "stream": True})

    def raw() -> int:
        # The minimal hand-written loop: lines, "data: " prefix, json.loads, collect the text.
        n = 0
        parts = []
        with session.post(url, data=body, headers=headers, stream=True) as r:
            for line in r.iter_lines():
                if line.startswith(b"data: "):
                    data = line[6:]
                    if data == b"[DONE]":
                        break
                    obj = json.loads(data)
                    for choice in obj["choices"]:
                        content = choice["delta"].get("content")
                        if content:
                            parts.append(content)
                            n += 1
        "".join(parts)
        return n

    client = llm.Client("openai/bench-model", base_url=base, api_key="bench")

    def ours() -> int:
        n = 0
        with client.stream("Say hello.") as stream:
            for event in stream:
                if event.type == "text":
                    n += 1
        stream.response
        return n

    assert raw() == chunks and ours() == chunks, "both loops must see every chunk"
    raw_t, ours_t = [], []
    for _ in range(rounds):
        raw_t.append(median_time(raw, 1))
        ours_t.append(median_time(ours, 1))
    client.close()
    session.close()
    r, o = chunks / statistics.median(raw_t), chunks / statistics.median(ours_t)
    return {"raw_chunks_per_s": r, "ours_chunks_per_s": o, "ratio": o / r, "budget": 0.70, "ok": o / r >= 0.70}


def bench_import(rounds: int) -> dict:
    def cost(stmt: str) -> float:
        samples = []
        for _ in range(rounds):
            t = time.perf_counter()
            subprocess.run([sys.executable, "-c", stmt], check=True, cwd=ROOT)
            samples.append(time.perf_counter() - t)
        return statistics.median(samples)

    base = cost("pass")
    req = cost("import requests")
    ours = cost("import llmunified")
    heavy = subprocess.run(
        [sys.executable, "-c", "import sys, llmunified; print(sorted(m for m in ('aiohttp', 'jsonschema', "
         "'dataclasses_json', 'requests') if m in sys.modules))"],
        check=True, cwd=ROOT, capture_output=True, text=True).stdout.strip()
    delta = (ours - req) * 1000
    heavy_list = json.loads(heavy.replace("'", '"'))
    ok = delta <= 30 and not set(heavy_list) & {"aiohttp", "jsonschema", "dataclasses_json"}
    return {"python_ms": base * 1000, "requests_ms": req * 1000, "llmunified_ms": ours * 1000,
            "delta_ms": delta, "budget_ms": 30, "heavy_modules_imported": heavy_list, "ok": ok}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer rounds (a smoke run, noisier)")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    args = ap.parse_args()
    chunks = 2000
    server = Server(chunks)
    try:
        results = {
            "sync": bench_sync(server.base, 500 if args.quick else 3000),
            "async": bench_async(server.base, 2000, 100),
            "stream": bench_stream(server.base, 5 if args.quick else 15, chunks),
            "import": bench_import(5 if args.quick else 15),
        }
    finally:
        server.stop()
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        s, a, st, im = results["sync"], results["async"], results["stream"], results["import"]
        print(f"sync call    raw {s['raw_us']:.0f} us  ours {s['ours_us']:.0f} us  ratio {s['ratio']:.2f} "
              f"(budget <= 1.30) {'OK' if s['ok'] else 'MISSED'}")
        print(f"async 2000@100  raw {a['raw_calls_per_s']:.0f}/s  ours {a['ours_calls_per_s']:.0f}/s  "
              f"ratio {a['ratio']:.2f} (budget >= 0.80) {'OK' if a['ok'] else 'MISSED'}")
        print(f"stream 2000 chunks  raw {st['raw_chunks_per_s']:.0f}/s  ours {st['ours_chunks_per_s']:.0f}/s  "
              f"ratio {st['ratio']:.2f} (budget >= 0.70) {'OK' if st['ok'] else 'MISSED'}")
        print(f"import       python {im['python_ms']:.1f} ms  requests {im['requests_ms']:.1f} ms  "
              f"llmunified {im['llmunified_ms']:.1f} ms  delta {im['delta_ms']:+.1f} ms (budget <= 30); "
              f"heavy modules imported: {im['heavy_modules_imported']} {'OK' if im['ok'] else 'MISSED'}")
    return 0 if all(r["ok"] for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
