"""The benchmark's header: the machine, the BLAS, the thread settings, the versions.

A timing means nothing without the conditions it was taken under. The same
NumPy can run a generic or a SkylakeX OpenBLAS kernel depending on two
environment variables, and PyTorch's thread count changes its small-batch
speed by a large factor, so all of it is recorded next to the numbers.
"""

from __future__ import annotations

import os
import platform
import sys
from datetime import UTC, datetime
from importlib import metadata

import memograd

# Environment variables that change what the BLAS does. OPENBLAS_CORETYPE forces
# a kernel (an old workaround that makes a current OpenBLAS fall back to a
# slower generic one); OPENBLAS_L2_SIZE overrides the cache size it tiles for.
BLAS_ENVIRONMENT = (
    "OPENBLAS_CORETYPE",
    "OPENBLAS_L2_SIZE",
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
)

# Distribution names of the peers, in the order the header lists them.
PEER_DISTRIBUTIONS = (
    "memograd",
    "numpy",
    "torch",
    "jax",
    "jaxlib",
    "mygrad",
    "autograd",
    "micrograd",
)


def core_count() -> int:
    """Cores this process may run on (the affinity mask, not the machine's total), as it was
    before :func:`configure_xla` pinned the process."""
    if _pinned:
        return _pinned_from[0]
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def cpu_model() -> str | None:
    """The CPU's model name from /proc/cpuinfo (Linux); None elsewhere."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None


def load_average() -> list[float] | None:
    """1, 5 and 15-minute load averages: on a shared machine, how busy the others kept it.

    A load above the core count means peers ran with fewer cores than they were given
    threads, which hurts multi-threaded peers (BLAS, PyTorch) far more than single-threaded
    ones; the header reports it at the start and the end of a run so a reader can tell.
    """
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):  # not available on this platform
        return None


_threads: list[int] = []  # the count set by set_peer_threads; empty means the core count


def set_peer_threads(threads: int | None) -> int:
    """Fix the thread count every peer gets (BLAS, PyTorch, XLA); None means the core count.

    Returns the count in force. By default everyone gets the machine's cores; a lower count
    is for a shared machine, where threads that wait for a busy core make timings erratic.
    """
    if threads is not None and threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    _threads[:] = [threads or core_count()]
    return _threads[0]


def peer_threads() -> int:
    """Threads each peer may use: what :func:`set_peer_threads` set, else the core count."""
    return _threads[0] if _threads else core_count()


_ONE_XLA_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


def configure_xla(threads: int) -> None:
    """Run JAX on the CPU and XLA on ``threads`` cores: set before jax is imported.

    XLA reads these environment variables once, when its backend starts, and they hold for the
    whole process. So only the benchmark's entry points call this, first thing; no module that
    the library imports touches them. The jaxlib of this bench ignores its thread flags (one
    step measured 10.1 ms of CPU in 5.4 ms of wall time with them set); what XLA does follow is
    the process's CPU affinity, by which it sizes its pools. So for fewer threads than cores the
    whole process is pinned to that many cores, every peer alike (each runs on ``threads``
    threads anyway), as JAX's maintainers advise (``taskset``).
    """
    if "jax" in sys.modules:
        raise RuntimeError("configure_xla() must run before jax is imported, or XLA ignores it")
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    if threads == 1:
        flags = os.environ.get("XLA_FLAGS", "")
        os.environ["XLA_FLAGS"] = f"{flags} {_ONE_XLA_THREAD}".strip()
    allowed = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if 0 < threads < len(allowed):
        _pinned_from[:] = [len(allowed)]
        os.sched_setaffinity(0, set(allowed[:threads]))
        _pinned[:] = allowed[:threads]


_pinned: list[int] = []  # the cores configure_xla pinned the process to (empty: not pinned)
_pinned_from: list[int] = []  # how many it could run on before


def pinned_cores() -> list[int]:
    """The cores :func:`configure_xla` pinned this process to (empty: not pinned)."""
    return list(_pinned)


def xla_threads() -> int | str:
    """XLA's threads as this process's CPU affinity and ``XLA_FLAGS`` set them (for the header)."""
    if _pinned:
        return len(_pinned)
    if _ONE_XLA_THREAD in os.environ.get("XLA_FLAGS", ""):
        return 1
    return "XLA's default (all cores)"


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def blas_info() -> list[dict[str, object]]:
    """The BLAS libraries loaded in this process, their kernel and thread count.

    threadpoolctl reads them from the loaded shared objects, so the answer is
    the kernel that actually runs (its ``architecture``), not the one NumPy
    was built against. Without threadpoolctl, NumPy's build configuration is
    the best we can say.
    """
    import numpy as np

    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        config = np.show_config(mode="dicts") if _accepts_mode() else {}
        blas = config.get("Build Dependencies", {}).get("blas", {}) if config else {}
        return [
            {
                "library": blas.get("name", "unknown"),
                "version": blas.get("version"),
                "kernel": "unknown (install threadpoolctl to see it)",
                "threads": None,
            }
        ]
    return [
        {
            "library": pool.get("internal_api"),
            "version": pool.get("version"),
            "kernel": pool.get("architecture"),
            "threads": pool.get("num_threads"),
            "file": os.path.basename(str(pool.get("filepath", ""))),
        }
        for pool in threadpool_info()
    ]


def _accepts_mode() -> bool:
    import inspect

    import numpy as np

    return "mode" in inspect.signature(np.show_config).parameters


def describe_environment() -> dict[str, object]:
    """Everything the header prints, as plain data (also the JSON ``header``)."""
    return {
        "date_utc": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": cpu_model() or platform.machine(),
        "cores": core_count(),
        "load_average": load_average(),
        "python": sys.version.split()[0],
        "blas": blas_info(),
        "environment": {name: os.environ.get(name) for name in BLAS_ENVIRONMENT},
        # Set by ``make bench``, which unsets the OpenBLAS workarounds: their values before.
        "unset_by_make_bench": os.environ.get("MEMOGRAD_BENCH_UNSET"),
        # memograd's own from the package imported (a checkout's src/ need not be installed).
        "versions": {
            name: memograd.__version__ if name == "memograd" else _version(name)
            for name in PEER_DISTRIBUTIONS
        },
    }


def pin_blas_threads(threads: int) -> int | str:
    """Limit NumPy's BLAS to ``threads`` threads, the count PyTorch is pinned to as well.

    Returns the count set, or a note when threadpoolctl is missing (the BLAS
    then keeps its own default, normally the core count).
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return "unchanged (threadpoolctl not installed)"
    # Without a ``with`` block the limit stays in force for the whole process.
    threadpool_limits(limits=threads, user_api="blas")
    return threads
