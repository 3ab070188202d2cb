"""Wall-clock timing shared by the benchmark scripts."""
from __future__ import annotations

import statistics
import time
from typing import Callable


def median_s(fn: Callable[[], object], repeats: int = 5) -> float:
    """Median wall time of ``repeats`` calls of ``fn``, in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
