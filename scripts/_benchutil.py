"""What the benchmark scripts share."""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Callable, List, Optional

HERE = os.path.dirname(os.path.abspath(__file__))


class Server:
    """scripts/_benchserver.py in its own process on 127.0.0.1 (``chunks``: the length of its
    streams, ``per_chunk``: events per HTTP chunk); ``base`` is its OpenAI-style API root,
    ``port`` its port."""

    def __init__(self, chunks: Optional[int] = None, per_chunk: Optional[int] = None) -> None:
        fd, self.port_file = tempfile.mkstemp(prefix="bench-port-")
        os.close(fd)
        os.unlink(self.port_file)
        extra = ["--chunks", str(chunks)] if chunks is not None else []
        if per_chunk is not None:
            extra += ["--per-chunk", str(per_chunk)]
        self.proc = subprocess.Popen([sys.executable, os.path.join(HERE, "_benchserver.py"), self.port_file] + extra)
        deadline = time.monotonic() + 10
        while not os.path.exists(self.port_file) or not open(self.port_file).read().strip():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.stop()
                raise RuntimeError("bench server did not start")
            time.sleep(0.01)
        with open(self.port_file) as f:
            self.port = int(f.read())
        self.base = f"http://127.0.0.1:{self.port}/v1"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait()
        if os.path.exists(self.port_file):
            os.unlink(self.port_file)


def median_us(fn: Callable[[], object], n: int) -> float:
    """The median wall time of ``n`` calls of ``fn``, in microseconds."""
    timings = []
    clock = time.perf_counter
    for _ in range(n):
        t0 = clock()
        fn()
        timings.append(clock() - t0)
    return statistics.median(timings) * 1e6


def stream_events(n: int) -> List[bytes]:
    """The SSE events of the benchmarks' streamed reply with ``n`` text chunks, each a ``data:``
    line and its blank line (what scripts/_benchserver.py serves)."""
    head = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1700000000,
            "model": "bench-model"}
    events = [b"data: " + json.dumps({**head, "choices": [
        {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}).encode() + b"\n\n"]
    for i in range(n):
        events.append(b"data: " + json.dumps({**head, "choices": [
            {"index": 0, "delta": {"content": f"tok{i} "}, "finish_reason": None}]}).encode() + b"\n\n")
    events.append(b"data: " + json.dumps({**head, "choices": [
        {"index": 0, "delta": {}, "finish_reason": "stop"}]}).encode() + b"\n\n")
    events.append(b"data: " + json.dumps({**head, "choices": [], "usage": {
        "prompt_tokens": 5, "completion_tokens": n, "total_tokens": n + 5}}).encode() + b"\n\n")
    events.append(b"data: [DONE]\n\n")
    return events
