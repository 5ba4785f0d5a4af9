"""The client loops of scripts/bench.py, and its fresh-subprocess measurements.

bench.py imports the loops (raw requests / aiohttp and llmunified, same work on both sides) and
runs the memory measures by starting this file in a fresh interpreter, one measured side per
process, so that neither side's imports, caches or garbage show in the other's figures:

    python scripts/_benchworker.py async-calls raw|ours BASE_URL CALLS CONCURRENCY WARMUP
        times CALLS non-streaming calls at CONCURRENCY (after WARMUP calls); wall and CPU
        seconds, peak RSS (ru_maxrss, KiB on Linux).
    python scripts/_benchworker.py stream-mem sync|async raw|ours BASE_URL CALLS
        RSS (/proc/self/statm) before and after CALLS streamed calls, and the open file
        descriptors (/proc/self/fd) before the client exists, while it is open and after close.

Each prints one JSON object on stdout. A raw side imports only requests or aiohttp, never
llmunified. Only 127.0.0.1 is ever contacted (BASE_URL comes from bench.py's server).
"""
import gc
import json
import os
import resource
import sys
import time
from json import loads
from typing import Any, Callable, Dict, Iterable, List, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

MODEL = "openai/bench-model"
PROMPT = "Say hello."
PAYLOAD = {"model": "bench-model", "messages": [{"role": "user", "content": PROMPT}]}
HEADERS = {"Authorization": "Bearer bench", "Content-Type": "application/json"}
PAGE = os.sysconf("SC_PAGE_SIZE")
#: streams run before the memory is first read, on both sides: enough 50-chunk streams for
#: llmunified's lazy imports to be done, the last of them orjson (when installed), which its
#: JSON decoding imports once 3,000 texts have been decoded (llmunified._json.SWITCH_AFTER_COLD)
MEM_WARMUP_STREAMS = 70


def _body(stream: bool = False) -> bytes:
    # Serialised on every call, as a client must.
    return json.dumps({**PAYLOAD, "stream": True} if stream else PAYLOAD).encode()


# ---- sync: raw requests -------------------------------------------------------------------------

def raw_sync_call(session: Any, url: str) -> None:
    loads(session.post(url, data=_body(), headers=HEADERS).content)


def _sse_from_chunks(chunks: Iterable[bytes]) -> Tuple[int, List[str]]:
    # The minimal SSE loop over byte chunks: split lines, "data: " prefix, json.loads, collect text.
    n = 0
    parts: List[str] = []
    buf = b""
    for chunk in chunks:
        if buf:
            chunk = buf + chunk
        lines = chunk.split(b"\n")
        buf = lines.pop()
        for line in lines:
            if line[:6] == b"data: " and line[6:12] != b"[DONE]":
                for choice in loads(line[6:])["choices"]:
                    content = choice["delta"].get("content")
                    if content:
                        parts.append(content)
                        n += 1
    return n, parts


def raw_sync_stream_iter_lines(session: Any, url: str) -> int:
    n = 0
    parts = []
    with session.post(url, data=_body(True), headers=HEADERS, stream=True) as r:
        # Read to the end (past [DONE]) so the connection goes back to the pool.
        for line in r.iter_lines():
            if line[:6] == b"data: " and line[6:12] != b"[DONE]":
                for choice in loads(line[6:])["choices"]:
                    content = choice["delta"].get("content")
                    if content:
                        parts.append(content)
                        n += 1
    "".join(parts)
    return n


def raw_sync_stream_iter_content(session: Any, url: str) -> int:
    with session.post(url, data=_body(True), headers=HEADERS, stream=True) as r:
        n, parts = _sse_from_chunks(r.iter_content(chunk_size=None))
    "".join(parts)
    return n


def raw_sync_stream_read_chunked(session: Any, url: str) -> int:
    with session.post(url, data=_body(True), headers=HEADERS, stream=True) as r:
        n, parts = _sse_from_chunks(r.raw.read_chunked(None, decode_content=False))
    "".join(parts)
    return n


SYNC_STREAM_OLD_FLOOR = "requests iter_lines + json.loads"  # what the old stream budget compared with
RAW_SYNC_STREAMS: Dict[str, Callable[[Any, str], int]] = {
    SYNC_STREAM_OLD_FLOOR: raw_sync_stream_iter_lines,
    "requests iter_content(None) + split + json.loads": raw_sync_stream_iter_content,
    "urllib3 raw.read_chunked + split + json.loads": raw_sync_stream_read_chunked,
}


# ---- sync: llmunified ---------------------------------------------------------------------------

def ours_sync_call(client: Any) -> None:
    client.complete(PROMPT)


def ours_sync_stream(client: Any) -> int:
    n = 0
    with client.stream(PROMPT) as stream:
        for event in stream:
            if event.type == "text":
                n += 1
    stream.response
    return n


# ---- async: raw aiohttp -------------------------------------------------------------------------

async def raw_async_call(session: Any, url: str) -> None:
    async with session.post(url, data=_body(), headers=HEADERS) as r:
        loads(await r.read())


async def raw_async_stream_lines(session: Any, url: str) -> int:
    n = 0
    parts = []
    async with session.post(url, data=_body(True), headers=HEADERS) as r:
        async for line in r.content:
            if line[:6] == b"data: " and line[6:12] != b"[DONE]":
                for choice in loads(line[6:])["choices"]:
                    content = choice["delta"].get("content")
                    if content:
                        parts.append(content)
                        n += 1
    "".join(parts)
    return n


async def raw_async_stream_iter_any(session: Any, url: str) -> int:
    n = 0
    parts: List[str] = []
    buf = b""
    async with session.post(url, data=_body(True), headers=HEADERS) as r:
        async for chunk in r.content.iter_any():
            if buf:
                chunk = buf + chunk
            lines = chunk.split(b"\n")
            buf = lines.pop()
            for line in lines:
                if line[:6] == b"data: " and line[6:12] != b"[DONE]":
                    for choice in loads(line[6:])["choices"]:
                        content = choice["delta"].get("content")
                        if content:
                            parts.append(content)
                            n += 1
    "".join(parts)
    return n


ASYNC_STREAM_FLOOR = "aiohttp resp.content lines + json.loads"
RAW_ASYNC_STREAMS = {
    ASYNC_STREAM_FLOOR: raw_async_stream_lines,
    "aiohttp content.iter_any + split + json.loads": raw_async_stream_iter_any,
}


# ---- async: llmunified_async --------------------------------------------------------------------

async def ours_async_call(client: Any) -> None:
    await client.complete(PROMPT)


async def ours_async_stream(client: Any) -> int:
    n = 0
    async with client.stream(PROMPT) as stream:
        async for event in stream:
            if event.type == "text":
                n += 1
    stream.response
    return n


# ---- fresh-subprocess measurements --------------------------------------------------------------

def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def maxrss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def async_calls(side: str, base: str, calls: int, concurrency: int, warmup: int) -> Dict[str, Any]:
    import asyncio

    async def run() -> Dict[str, Any]:
        rss_start = rss_bytes()
        url = base + "/chat/completions"
        if side == "raw":
            import aiohttp
            session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency))

            async def one() -> None:
                await raw_async_call(session, url)
            close = session.close
        else:
            import inspect

            import llmunified_async as allm
            # The same pool size as the raw side's connector, where the client lets us set it.
            pool: Dict[str, Any] = {"pool_size": concurrency} if "pool_size" in inspect.signature(allm.Client).parameters else {}
            client = allm.Client(MODEL, base_url=base, api_key="bench", **pool)

            async def one() -> None:
                await ours_async_call(client)
            close = client.close

        async def worker(k: int) -> None:
            for _ in range(k):
                await one()

        async def batch(total: int) -> None:
            # `concurrency` workers in flight, each doing its share: no task per call, so the
            # harness adds next to nothing to either side's time or memory.
            q, r = divmod(total, concurrency)
            await asyncio.gather(*(worker(q + (i < r)) for i in range(concurrency)))

        rss_imported = rss_bytes()
        await batch(warmup)
        t, c = time.perf_counter(), time.process_time()
        await batch(calls)
        wall, cpu = time.perf_counter() - t, time.process_time() - c
        await close()
        return {"wall_s": wall, "cpu_s": cpu, "calls": calls, "rss_start_bytes": rss_start,
                "rss_imported_bytes": rss_imported,
                "pool_size": concurrency if side == "raw" or pool else None}

    out = asyncio.run(run())
    out["maxrss_kib"] = maxrss_kib()
    return out


def stream_mem(kind: str, side: str, base: str, calls: int) -> Dict[str, Any]:
    fds_start = open_fds()
    url = base + "/chat/completions"
    if kind == "sync":
        if side == "raw":
            import requests
            session = requests.Session()

            def one() -> int:
                return raw_sync_stream_iter_lines(session, url)
            close = session.close
        else:
            import llmunified as llm
            client = llm.Client(MODEL, base_url=base, api_key="bench")

            def one() -> int:
                return ours_sync_stream(client)
            close = client.close
        for _ in range(MEM_WARMUP_STREAMS):  # warm up: lazy imports, pools, caches
            one()
        gc.collect()
        rss0 = rss_bytes()
        for _ in range(calls):
            one()
        gc.collect()
        rss1 = rss_bytes()
        fds_open = open_fds()
        close()
        fds_closed = open_fds()
        return {"rss_before_bytes": rss0, "rss_after_bytes": rss1, "growth_bytes": rss1 - rss0,
                "fds_start": fds_start, "fds_open": fds_open, "fds_after_close": fds_closed,
                "maxrss_kib": maxrss_kib()}

    import asyncio

    async def run() -> Dict[str, Any]:
        fds_loop = open_fds()  # the event loop's own descriptors (epoll, self-pipe) are in here
        if side == "raw":
            import aiohttp
            session = aiohttp.ClientSession()

            async def one() -> int:
                return await raw_async_stream_lines(session, url)
            close = session.close
        else:
            import llmunified_async as allm
            client = allm.Client(MODEL, base_url=base, api_key="bench")

            async def one() -> int:
                return await ours_async_stream(client)
            close = client.close
        for _ in range(MEM_WARMUP_STREAMS):
            await one()
        gc.collect()
        rss0 = rss_bytes()
        for _ in range(calls):
            await one()
        gc.collect()
        rss1 = rss_bytes()
        fds_open = open_fds()
        await close()
        for _ in range(3):  # let closed transports finish (connection_lost is scheduled)
            await asyncio.sleep(0)
        fds_closed = open_fds()
        return {"rss_before_bytes": rss0, "rss_after_bytes": rss1, "growth_bytes": rss1 - rss0,
                "fds_start": fds_loop, "fds_open": fds_open, "fds_after_close": fds_closed}

    out = asyncio.run(run())
    out["fds_after_loop_close"] = open_fds()
    out["fds_process_start"] = fds_start
    out["maxrss_kib"] = maxrss_kib()
    return out


def main(argv: List[str]) -> None:
    mode = argv[0]
    if mode == "async-calls":
        side, base, calls, concurrency, warmup = argv[1], argv[2], int(argv[3]), int(argv[4]), int(argv[5])
        out = async_calls(side, base, calls, concurrency, warmup)
    elif mode == "stream-mem":
        kind, side, base, calls = argv[1], argv[2], argv[3], int(argv[4])
        out = stream_mem(kind, side, base, calls)
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])
