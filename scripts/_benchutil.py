"""What the benchmark scripts share."""
import statistics
import time
from typing import Callable


def median_us(fn: Callable[[], object], n: int) -> float:
    """The median wall time of ``n`` calls of ``fn``, in microseconds."""
    timings = []
    clock = time.perf_counter
    for _ in range(n):
        t0 = clock()
        fn()
        timings.append(clock() - t0)
    return statistics.median(timings) * 1e6
