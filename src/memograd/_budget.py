"""Estimate first, then refuse: the one check every command runs before big work.

A command that is asked for a size computes, from the arguments alone, what the work would
take (an :class:`Estimate`: peak memory in bytes, and work in a unit the command counts, such
as calls or graph nodes) and hands it to :func:`check` with its :class:`Budget`. Two kinds of
limit apply:

* **soft budgets**: the memory and the work a command may take unasked (by default 1 GB of
  memory; the work budget is the command's own). ``--force`` (``force=True``) lifts them: a user
  who knows the machine may insist.
* **the machine's memory**: what the operating system says is available now (``MemAvailable``,
  lowered by a cgroup's or ``ulimit -v``'s limit when one is set). Nothing lifts it: past it the
  run would be killed or would swap the machine to a halt, so it is refused even with ``--force``.

A refusal is a :class:`BudgetExceeded`, a ``ValueError`` whose message is one line saying what
the work would take and which limit it passes, so the command line prints it with exit status 2.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from memograd._numbers import readable_count

DEFAULT_MEMORY_BUDGET = 1_000_000_000
"""Bytes a command may plan to use without ``--force`` (1 GB): a laptop stays usable meanwhile."""

DATA_MEMORY_BUDGET = 4 * 2**30
"""Bytes a data or model file may take once loaded without ``force`` (4 GiB): a real data set
that size is possible but unusual enough to need consent."""


@dataclass(frozen=True)
class Estimate:
    """What one piece of work would take, computed before any of it is done.

    ``what`` names the work as the refusal will say it ("fib 1000000 by memo"); ``bytes`` is its
    peak memory; ``work`` counts its steps in ``unit`` ("calls", "Value nodes"), 0 when the
    memory is all that matters.
    """

    what: str
    bytes: int
    work: int = 0
    unit: str = ""


@dataclass(frozen=True)
class Budget:
    """The soft limits of one command, and whether the user lifted them with ``--force``."""

    memory: int | None = None  # bytes; None: DEFAULT_MEMORY_BUDGET
    work: int | None = None  # in the estimate's unit; None: no work budget
    force: bool = False


class BudgetExceeded(ValueError):
    """Refused before starting: the estimate passes a budget or the machine's memory."""

    def __init__(self, message: str, estimate: Estimate, *, hard: bool) -> None:
        super().__init__(message)
        self.estimate = estimate
        self.hard = hard  # True: the machine's memory, which --force does not lift


def readable_bytes(count: float) -> str:
    """``3.9 GB``, ``120 MB``, ``512 bytes``: decimal units, two or three significant figures."""
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= size:
            scaled = count / size
            return f"{scaled:.2g} {unit}" if scaled < 10 else f"{scaled:.0f} {unit}"
    return f"{int(count)} bytes"


def available_memory() -> int | None:
    """Bytes this process can still allocate without swapping or being killed, or None if unknown.

    The least of: the kernel's ``MemAvailable``; the room left under a cgroup (v2 or v1) memory
    limit, which is what a container really has; the room left under ``ulimit -v``.
    """
    candidates = [
        value
        for value in (_meminfo_available(), _cgroup_room(), _address_space_room())
        if value is not None
    ]
    if not candidates:
        try:  # other Unixes: free physical pages
            return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            return None
    return max(0, min(candidates))


def refusal(
    estimate: Estimate,
    budget: Budget,
    *,
    instead: str = "",
    lift: str = "--force runs it anyway",
) -> BudgetExceeded | None:
    """The error :func:`check` would raise for ``estimate``, or None when it fits.

    The message is one line: what the work would take, the limit it passes, then how to lift
    a soft budget (``lift``) and what to do instead (``instead``, e.g. "use --strategy table").
    """
    available = available_memory()
    if available is not None and estimate.bytes > available:
        message = (
            f"{estimate.what} would need about {readable_bytes(estimate.bytes)} of memory, more "
            f"than the {readable_bytes(available)} available on this machine "
            "(--force does not lift this)"
        )
        if instead:
            message += f"; {instead}"
        return BudgetExceeded(message, estimate, hard=True)
    if budget.force:
        return None
    over = []
    memory = DEFAULT_MEMORY_BUDGET if budget.memory is None else budget.memory
    if estimate.bytes > memory:
        over.append((f"about {readable_bytes(estimate.bytes)} of memory", readable_bytes(memory)))
    if budget.work is not None and estimate.work > budget.work:
        over.append(
            (
                readable_count(estimate.work, estimate.unit),
                readable_count(budget.work, estimate.unit),
            )
        )
    if not over:
        return None
    needs = " and ".join(need for need, _ in over)
    limits = " and ".join(limit for _, limit in over)
    plural = "s" if len(over) > 1 else ""
    message = f"{estimate.what} would take {needs}, over the budget{plural} of {limits}; {lift}"
    if instead:
        message += f", or {instead}"
    return BudgetExceeded(message, estimate, hard=False)


def check(
    estimate: Estimate,
    budget: Budget,
    *,
    instead: str = "",
    lift: str = "--force runs it anyway",
) -> None:
    """Raise :class:`BudgetExceeded` (one line) unless ``estimate`` fits ``budget`` and the machine.

    ``lift`` says how to lift a soft budget, ``instead`` what to do instead (see :func:`refusal`).
    """
    error = refusal(estimate, budget, instead=instead, lift=lift)
    if error is not None:
        raise error


def _meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _cgroup_room() -> int | None:
    for limit_file, usage_file in (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
        (
            "/sys/fs/cgroup/memory/memory.limit_in_bytes",
            "/sys/fs/cgroup/memory/memory.usage_in_bytes",
        ),
    ):
        try:
            with open(limit_file, encoding="ascii") as handle:
                limit_text = handle.read().strip()
            with open(usage_file, encoding="ascii") as handle:
                usage = int(handle.read().strip())
        except (OSError, ValueError):
            continue
        if limit_text == "max" or int(limit_text) >= 2**60:  # no limit set
            return None
        return int(limit_text) - usage
    return None


def _address_space_room() -> int | None:
    try:
        import resource  # Unix only
    except ImportError:
        return None
    limit = resource.getrlimit(resource.RLIMIT_AS)[0]
    if limit == resource.RLIM_INFINITY:
        return None
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmSize:"):
                    return limit - int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def check_memory(
    nbytes: int,
    what: str,
    *,
    budget: int | None = DATA_MEMORY_BUDGET,
    force: bool = False,
    override: str = "force=True",
) -> None:
    """A loader's check: raise :class:`BudgetExceeded` if ``what`` would need more than
    ``budget`` bytes or than the machine has free.

    ``what`` starts the message (name the file: ``"data.npy: its 10^9 x 10 float64 array"``);
    ``override`` names the switch that lifts the soft budget (``"--force"`` on the command
    line). ``budget=None`` or ``force=True`` leaves only the hard limit of available memory.
    """
    nbytes = int(nbytes)
    estimate = Estimate(what, nbytes)
    available = available_memory()
    if available is not None and nbytes > available:
        raise BudgetExceeded(
            f"{what} would take {readable_bytes(nbytes)}, more than the "
            f"{readable_bytes(available)} of memory available",
            estimate,
            hard=True,
        )
    if budget is not None and not force and nbytes > budget:
        raise BudgetExceeded(
            f"{what} would take {readable_bytes(nbytes)}, more than the "
            f"{readable_bytes(budget)} budget ({override} lifts it)",
            estimate,
            hard=False,
        )
