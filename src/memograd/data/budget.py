"""Memory budgets: refuse work whose size is known to be too big before allocating anything.

A loader reads a file's header (an IDX shape, an .npy header, a model's array list), works out
how many bytes it would take, and asks :func:`check_memory` first. Two limits apply:

* a **soft budget** (``DEFAULT_BUDGET``, 4 GiB, or what the caller passes): a size beyond it is
  possible but unusual enough to need consent, which ``force=True`` (the command line's
  ``--force``) gives;
* the **memory available** to this process right now (the kernel's ``MemAvailable``, lowered to
  the container's cgroup limit when there is one): past it the work would swap or be killed, so
  ``force`` does not lift it.

The refusal is one line saying what the work would take and which limit it exceeds, so the
command line prints it as is.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_BUDGET = 4 * 2**30

_UNITS = ("bytes", "kB", "MB", "GB", "TB", "PB", "EB")


class OverBudget(ValueError):
    """Work refused before it started because it would need more memory than allowed."""

    def __init__(self, message: str, nbytes: int, limit: int, soft: bool) -> None:
        super().__init__(message)
        self.nbytes = nbytes
        self.limit = limit
        self.soft = soft


def format_bytes(nbytes: int | float) -> str:
    """``1536`` -> ``"1.5 kB"``; decimal units, as disk and memory sizes are usually quoted."""
    value = float(nbytes)
    for unit in _UNITS:
        if abs(value) < 1000 or unit == _UNITS[-1]:
            return f"{int(value)} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def available_memory() -> int | None:
    """Bytes this process could still allocate without swapping, or None when unknown.

    The smallest of the kernel's ``MemAvailable`` (which counts reclaimable page cache), the
    room left under a cgroup v2 or v1 memory limit (a container is killed at its limit long
    before the host runs out) and the room left under this process's address-space limit
    (``ulimit -v``).
    """
    candidates = [
        n for n in (_meminfo_available(), _cgroup_room(), _address_space_room()) if n is not None
    ]
    if candidates:
        return min(candidates)
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_memory(
    nbytes: int,
    what: str,
    *,
    budget: int | None = DEFAULT_BUDGET,
    force: bool = False,
    override: str = "force=True",
) -> None:
    """Raise :class:`OverBudget` if ``what`` would need more than ``budget`` or than is free.

    ``what`` starts the message (name the file: ``"data.npy: its 10^9 x 10 float64 array"``);
    ``override`` names the switch that lifts the soft budget (``"--force"`` on the command
    line). ``budget=None`` or ``force=True`` leaves only the hard limit of available memory.
    """
    nbytes = int(nbytes)
    available = available_memory()
    if available is not None and nbytes > available:
        raise OverBudget(
            f"{what} would take {format_bytes(nbytes)}, more than the "
            f"{format_bytes(available)} of memory available",
            nbytes,
            available,
            soft=False,
        )
    if budget is not None and not force and nbytes > budget:
        raise OverBudget(
            f"{what} would take {format_bytes(nbytes)}, more than the {format_bytes(budget)} "
            f"budget ({override} lifts it)",
            nbytes,
            budget,
            soft=True,
        )


def _meminfo_available() -> int | None:
    try:
        text = Path("/proc/meminfo").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("MemAvailable:"):
            parts = line.split()
            if len(parts) >= 2 and parts[1].isdigit():
                return int(parts[1]) * 1024
    return None


def _address_space_room() -> int | None:
    try:
        import resource  # Unix only

        limit = resource.getrlimit(resource.RLIMIT_AS)[0]
    except (ImportError, OSError, ValueError):
        return None
    if limit == resource.RLIM_INFINITY:
        return None
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmSize:"):
            return max(0, limit - int(line.split()[1]) * 1024)
    return None


def _cgroup_room() -> int | None:
    """The limit minus the usage of this process's memory cgroup (v2, else v1), if limited."""
    pairs = (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
        (
            "/sys/fs/cgroup/memory/memory.limit_in_bytes",
            "/sys/fs/cgroup/memory/memory.usage_in_bytes",
        ),
    )
    for limit_file, usage_file in pairs:
        try:
            limit_text = Path(limit_file).read_text().strip()
            usage_text = Path(usage_file).read_text().strip()
        except OSError:
            continue
        if not (limit_text.isdigit() and usage_text.isdigit()):
            return None  # "max": no limit
        limit = int(limit_text)
        if limit >= 2**60:  # cgroup v1 writes "no limit" as a huge number
            return None
        return max(0, limit - int(usage_text))
    return None
