"""Benchmark by instruction counts: llmunified against raw requests / aiohttp, without timing noise.

On a busy or virtualised machine the timed benchmarks (scripts/bench.py) move by 10-30% from run
to run, more than the margins the speed issue's goals leave. Counting the CPU instructions a
run executes (valgrind's callgrind, which runs the program on a simulated CPU) gives the same
number on every run, so two versions, or ours and raw, compare exactly. Instructions are not
time (a cache miss costs more than an add), but for the same interpreter running similar
Python code they track it closely. They leave out the kernel's work (the socket system calls),
which is the same on both sides: so a ratio here is higher than the ratio of times, most of all
for calls, where the sockets are a large share of a call's time.

    python scripts/bench_instructions.py [--calls 500] [--streams 3]

Rows (each ours against its raw floor, measured here):

  calls     non-streaming calls to the benchmarks' loopback server (scripts/_benchserver.py,
            its own process, not counted): the sync client against ``requests.Session.post``
            and ``json.loads``, one call after another (goal <= 1.00x), and the async client
            against aiohttp and ``json.loads``, 100 calls at a time (goal <= 1.05x), per call.

  import    a whole fresh process: ``import llmunified; llmunified.Client(...)`` against
            ``import requests`` (and the async twin against ``import aiohttp``), start-up and
            teardown included. Shown as extra instructions, as a share of what the raw
            library's own import costs over a bare interpreter, and as milliseconds at that
            share of the raw import's time on the issue's reference machine (requests 90 ms,
            aiohttp 207 ms). Goal: <= +10 ms.
  stream    a 2,000-event OpenAI-style stream read through ``client.stream()`` from the
            benchmarks' loopback server (scripts/_benchserver.py, its own process, not counted)
            against the fastest raw loop the timed benchmark found (urllib3's ``read_chunked``,
            split lines, ``json.loads``, collect the text), per event. One event per HTTP chunk
            (how a server that flushes every event sends them) and four (the timed benchmark's
            server), with the standard library's JSON and, when installed, orjson. Goal: <= 1.15x.
            Then the same stream replayed in-process from its chunks, through a transport that
            hands them out, against the raw loop over the same chunks: the socket reading,
            the same for both, left out, so the ratio shows only the part that differs.

Needs valgrind (``apt install valgrind``); prints why and exits 2 without it. Only 127.0.0.1
is ever contacted.
"""
import argparse
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from typing import Dict, List, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
EVENTS = 2000
IMPORT_GOAL_MS = 10.0
#: the raw imports' times on the machine the speed issue's goals were set on (its table): the
#: share of instructions is turned into milliseconds at that speed, so the verdict does not
#: depend on how busy this machine is
REFERENCE_IMPORT_MS = {"requests": 90.0, "aiohttp": 207.0}
STREAM_GOAL = 1.15
SYNC_CALL_GOAL = 1.00
ASYNC_CALL_GOAL = 1.05
WARMUP_CALLS = 100  # not counted: lazy imports, the connection pool, the first replies


# ---- the child: what runs under valgrind --------------------------------------------------------

def _child(mode: str, per_chunk: int, streams: int, base: str) -> None:
    sys.path.insert(0, HERE)
    sys.path.insert(0, ROOT)
    import _benchworker as W
    from _benchutil import stream_events

    if mode.endswith("-calls"):  # non-streaming calls over the loopback server at ``base``
        _calls(mode, streams, base)
        return
    if mode in ("raw-socket", "ours-socket"):  # over the loopback server at ``base``
        if mode == "raw-socket":
            import requests

            session = requests.Session()
            url = base + "/chat/completions"

            def one() -> int:
                return W.raw_sync_stream_read_chunked(session, url)
        else:
            import llmunified as llm

            client = llm.Client(W.MODEL, base_url=base, api_key="bench")

            def one() -> int:
                return W.ours_sync_stream(client)
        one()  # the first stream loads what streams load, and connects: not counted
        for _ in range(streams):
            n = one()
            assert n == EVENTS, n
        return
    events = stream_events(EVENTS)
    chunks = [b"".join(events[i:i + per_chunk]) for i in range(0, len(events), per_chunk)]
    if mode == "raw":
        for _ in range(streams):
            n, parts = W._sse_from_chunks(iter(chunks))
            "".join(parts)
            assert n == EVENTS, n
        return
    import llmunified as llm
    from llmunified._http import TransportResponse

    class Replay:
        """A transport that answers every request with the recorded chunks."""

        def send_request(self, request: object, timeout: Optional[float] = None) -> TransportResponse:
            response = TransportResponse(200, {"content-type": "text/event-stream"}, None, None)
            response.chunks = iter(chunks)
            return response

        def read_chunk(self, response: TransportResponse) -> bytes:
            data = next(response.chunks, b"")  # type: ignore[arg-type]
            if not data:
                response.eof = True
            return data

        def read_body(self, response: TransportResponse) -> bytes:
            return b""

        def close_response(self, response: TransportResponse) -> None:
            pass

        def close(self) -> None:
            pass

    client = llm.Client(W.MODEL, base_url="http://127.0.0.1:9/v1", api_key="bench", transport=Replay())
    W.ours_sync_stream(client)  # the first stream loads what streams load: not counted
    for _ in range(streams):
        n = W.ours_sync_stream(client)
        assert n == EVENTS, n


def _calls(mode: str, calls: int, base: str) -> None:
    """``calls`` non-streaming calls (``sync-...``: one after another; ``async-...``: 100 at a
    time), after warm-up calls that are not counted."""
    import _benchworker as W

    url = base + "/chat/completions"
    if mode.startswith("sync-"):
        if mode == "sync-raw-calls":
            import requests

            session = requests.Session()

            def one() -> None:
                W.raw_sync_call(session, url)
        else:
            import llmunified as llm

            client = llm.Client(W.MODEL, base_url=base, api_key="bench")

            def one() -> None:
                W.ours_sync_call(client)
        for _ in range(WARMUP_CALLS):
            one()
        for _ in range(calls):
            one()
        return
    import asyncio

    async def run() -> None:
        if mode == "async-raw-calls":
            import aiohttp

            session = aiohttp.ClientSession()

            async def one() -> None:
                await W.raw_async_call(session, url)
            close = session.close
        else:
            import llmunified_async as allm

            client = allm.Client(W.MODEL, base_url=base, api_key="bench")

            async def one() -> None:
                await W.ours_async_call(client)
            close = client.close
        await asyncio.gather(*[one() for _ in range(WARMUP_CALLS)])
        for start in range(0, calls, 100):
            await asyncio.gather(*[one() for _ in range(min(100, calls - start))])
        await close()

    asyncio.run(run())


# ---- the parent ------------------------------------------------------------------------------------

_COLLECTED = re.compile(r"Collected : (\d+)")


def _count(args: List[str], env: Dict[str, str]) -> int:
    """The instructions one run of ``python args`` executes, start-up and teardown included."""
    done = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable] + args,
                          cwd=ROOT, env=env, capture_output=True, text=True)
    match = _COLLECTED.search(done.stderr)
    if done.returncode != 0 or match is None:
        raise RuntimeError(f"valgrind run failed ({' '.join(args)}):\n{done.stderr[-2000:]}")
    return int(match.group(1))


def _env(**extra: str) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "LLMUNIFIED_JSON")}
    env["PYTHONHASHSEED"] = "0"  # the same dict layouts, so the same count, on every run
    env.update(extra)
    return env


def bench_import() -> List[str]:
    env = _env()
    for stmt in ("import llmunified; llmunified.Client", "import llmunified_async; llmunified_async.Client"):
        subprocess.run([sys.executable, "-c", stmt], cwd=ROOT, env=env, check=True)  # write the .pyc files
    bare = _count(["-c", "pass"], env)
    rows = []
    for raw, pkg in (("requests", "llmunified"), ("aiohttp", "llmunified_async")):
        raw_count = _count(["-c", f"import {raw}"], env)
        ours = _count(["-c", f"import {pkg}; {pkg}.Client('openai/m', api_key='k')"], env)
        extra = ours - raw_count
        share = extra / (raw_count - bare)
        ms = share * REFERENCE_IMPORT_MS[raw]
        verdict = "GOAL MET" if ms <= IMPORT_GOAL_MS else "goal missed"
        rows.append(f"| `import {pkg}; {pkg}.Client(...)` vs `import {raw}` (whole process) | "
                    f"{(raw_count - bare) / 1e6:.1f} M | +{extra / 1e6:.1f} M | {share * 100:.1f}% of the raw "
                    f"import: +{ms:.1f} ms where it takes {REFERENCE_IMPORT_MS[raw]:.0f} ms | "
                    f"<= +{IMPORT_GOAL_MS:.0f} ms | {verdict} |")
    return rows


def bench_stream(streams: int) -> List[str]:
    sys.path.insert(0, HERE)
    from _benchutil import Server

    backends = ["json"]
    if importlib.util.find_spec("orjson") is not None:
        backends.append("orjson")
    me = os.path.abspath(__file__)
    rows = []
    for socket in (True, False):
        for per_chunk in (1, 4):
            server = Server(EVENTS, per_chunk) if socket else None
            try:
                def per_stream(mode: str, backend: str) -> float:
                    env = _env(LLMUNIFIED_JSON=backend)
                    args = [me, "--child", mode + ("-socket" if socket else ""), str(per_chunk), "{}",
                            server.base if server is not None else "-"]
                    zero = _count([a.format(0) for a in args], env)
                    return (_count([a.format(streams) for a in args], env) - zero) / streams

                raw = per_stream("raw", "json")
                for backend in backends:
                    ours = per_stream("ours", backend)
                    ratio = ours / raw
                    verdict = ("GOAL MET" if ratio <= STREAM_GOAL else "goal missed") if socket else "info"
                    what = "over the loopback socket" if socket else "replayed in-process (socket reading left out)"
                    rows.append(f"| {EVENTS}-event stream {what}, {per_chunk} event(s) per HTTP chunk, {backend} | "
                                f"{raw / EVENTS:,.0f} /event | {ours / EVENTS:,.0f} /event | {ratio:.3f}x | "
                                f"{f'<= {STREAM_GOAL}x' if socket else 'informational'} | {verdict} |")
            finally:
                if server is not None:
                    server.stop()
    return rows


def bench_calls(calls: int) -> List[str]:
    sys.path.insert(0, HERE)
    from _benchutil import Server

    me = os.path.abspath(__file__)
    rows = []
    server = Server()
    try:
        for twin, floor, goal in (("sync", "requests.Session.post + json.loads", SYNC_CALL_GOAL),
                                  ("async", "aiohttp + json.loads", ASYNC_CALL_GOAL)):
            def per_call(side: str) -> float:
                env = _env()
                args = [me, "--child", f"{twin}-{side}-calls", "0", "{}", server.base]
                zero = _count([a.format(0) for a in args], env)
                return (_count([a.format(calls) for a in args], env) - zero) / calls

            raw, ours = per_call("raw"), per_call("ours")
            ratio = ours / raw
            rows.append(f"| {twin} calls ({calls}{', 100 at a time' if twin == 'async' else ', one after another'}) "
                        f"vs {floor} | {raw:,.0f} /call | {ours:,.0f} /call | {ratio:.3f}x | <= {goal}x | "
                        f"{'GOAL MET' if ratio <= goal else 'goal missed'} |")
    finally:
        server.stop()
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--streams", type=int, default=3, help="streams counted per run (default 3)")
    ap.add_argument("--calls", type=int, default=500, help="calls counted per run (default 500)")
    ap.add_argument("--child", nargs=4, metavar=("MODE", "PER_CHUNK", "STREAMS", "BASE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(args.child[0], int(args.child[1]), int(args.child[2]), args.child[3])
        return 0
    if shutil.which("valgrind") is None:
        print("bench_instructions.py needs valgrind (apt install valgrind): it counts instructions with callgrind")
        return 2
    print("| measure | raw floor (instructions) | llmunified | ratio / extra | goal | verdict |")
    print("|---|---|---|---|---|---|")
    for row in bench_import() + bench_calls(args.calls) + bench_stream(args.streams):
        print(row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
