"""What the benchmark scripts share."""
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Callable, Optional

HERE = os.path.dirname(os.path.abspath(__file__))


class Server:
    """scripts/_benchserver.py in its own process on 127.0.0.1 (``chunks``: the length of its
    streams); ``base`` is its OpenAI-style API root, ``port`` its port."""

    def __init__(self, chunks: Optional[int] = None) -> None:
        fd, self.port_file = tempfile.mkstemp(prefix="bench-port-")
        os.close(fd)
        os.unlink(self.port_file)
        extra = ["--chunks", str(chunks)] if chunks is not None else []
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
