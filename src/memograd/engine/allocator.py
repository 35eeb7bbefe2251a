"""Opt-in: keep freed array memory in the process instead of handing it back to the OS.

Why this exists: at large batches a training step allocates and frees the same few megabytes of
activations and gradients every step. glibc's malloc returns the top of its heap to the OS
whenever more than its trim threshold (a couple of megabytes once it adapts) is free, and the next
step takes the memory back one zero-filled page fault at a time. Measured on an MLP 64-256-256-10
at batch 1024 (float32, one BLAS thread): about 1,600 page faults and a ~1.7x slower step,
whichever engine runs it, NumPy by hand included; which run is hit depends on where earlier
allocations happened to leave holes in the heap, so timings flip between runs.

Raising the thresholds makes large allocations reuse the heap, as PyTorch's caching allocator
does for its own tensors. It is process-wide, so it is never done on import: a training loop or
a benchmark calls :func:`keep_freed_memory` once, and every peer in that process benefits alike.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

# mallopt parameter numbers, from glibc's <malloc.h>
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

# glibc caps the mmap threshold at 32 MiB on 64-bit builds (HEAP_MAX_SIZE / 2).
_MAX_MMAP_THRESHOLD = 32 * 2**20


def keep_freed_memory(
    trim_threshold: int = 512 * 2**20, mmap_threshold: int = _MAX_MMAP_THRESHOLD
) -> bool:
    """Tell glibc to keep up to ``trim_threshold`` bytes of freed heap, and to serve requests up
    to ``mmap_threshold`` bytes from the heap rather than from fresh ``mmap`` pages.

    Returns True when the settings were applied, False where the C library is not glibc (macOS,
    Windows, musl), in which case nothing changes.
    """
    for name, value in (("trim_threshold", trim_threshold), ("mmap_threshold", mmap_threshold)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"keep_freed_memory: {name} must be an int >= 0, got {value!r}")
    if mmap_threshold > _MAX_MMAP_THRESHOLD:
        raise ValueError(
            f"keep_freed_memory: mmap_threshold must be at most {_MAX_MMAP_THRESHOLD} "
            f"(glibc's limit), got {mmap_threshold}"
        )
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    # mallopt returns 1 on success; setting either value turns off glibc's own adaptation.
    return bool(mallopt(_M_MMAP_THRESHOLD, mmap_threshold)) and bool(
        mallopt(_M_TRIM_THRESHOLD, min(trim_threshold, 2**31 - 1))
    )
