"""One BLAS and torch thread for a serving process, set by whoever owns the process.

A request's math is small (a few hundred vectors): multithreaded BLAS only adds hand-offs, and
when the other core is busy its spinning threads made the home feed 6x slower here (52 ms against
8 ms mean). Concurrency comes from serving requests in parallel instead. This is a process-wide
setting, so library code never calls it: ``lookbook serve``, the serving benchmarks and the demo's
server do, once, at startup.
"""

from __future__ import annotations

__all__ = ["limit_math_threads"]


def limit_math_threads(threads: int = 1) -> None:
    """Limit numpy's BLAS and torch to ``threads`` threads in this process."""
    import torch
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads)
    torch.set_num_threads(threads)
