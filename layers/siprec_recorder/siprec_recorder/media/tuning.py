"""Process tuning for a decode: the allocator keeps its freed chunk buffers instead of unmapping.

The decoder allocates a few buffers of about one chunk (1 MiB) per chunk: the bytes read, the
reader's buffer, the gathered audio. glibc serves allocations that large with mmap and unmaps
them on free, so every chunk faults its pages in again: on a 2-hour call ~36 000 page faults,
a third of the decode time. Raising the mmap and trim thresholds makes those buffers come from
the heap and stay there for reuse. Without glibc (musl, macOS) nothing changes.
"""

from __future__ import annotations

import os

M_TRIM_THRESHOLD = -1
M_TOP_PAD = -2
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20  # glibc's own dynamic upper bound (DEFAULT_MMAP_THRESHOLD_MAX)
TRIM_THRESHOLD = 64 << 20
TOP_PAD = 8 << 20


def tune_process() -> bool:
    """Tune this process for decoding (call before numpy is imported); True if glibc took it.

    OPENBLAS_NUM_THREADS=1 (unless set): numpy otherwise starts one BLAS thread per core on
    import, which decoding never uses and which costs start-up time on a busy machine.
    """
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    try:
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    done = [
        mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD),
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD),
        mallopt(M_TOP_PAD, TOP_PAD),
    ]
    return all(done)
