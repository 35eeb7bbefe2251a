"""memograd._budget: refused past a soft budget (force lifts it) or the machine's memory."""

from __future__ import annotations

import subprocess
import sys

import pytest

from memograd import _budget
from memograd._budget import Budget, BudgetExceeded, Estimate, check, readable_bytes, refusal


@pytest.fixture
def machine(monkeypatch):
    """Pretend the machine has ``available`` bytes free (so the hard limit is deterministic)."""

    def set_available(available: int | None) -> None:
        monkeypatch.setattr(_budget, "available_memory", lambda: available)

    set_available(100 * 10**9)
    return set_available


def test_within_every_limit_passes(machine):
    assert refusal(Estimate("small", 10**6, 10, "calls"), Budget(work=100)) is None
    check(Estimate("small", 10**6), Budget())


def test_over_the_memory_budget_says_what_it_would_take_and_force_lifts_it(machine):
    estimate = Estimate("the network 1000-1000", 3_900_000_000)
    error = refusal(estimate, Budget(), instead="use a smaller network")
    assert isinstance(error, BudgetExceeded) and isinstance(error, ValueError)
    assert not error.hard and error.estimate is estimate
    assert str(error) == (
        "the network 1000-1000 would take about 3.9 GB of memory, over the budget of 1 GB; "
        "--force runs it anyway, or use a smaller network"
    )
    assert "\n" not in str(error)
    assert refusal(estimate, Budget(force=True)) is None
    assert refusal(estimate, Budget(memory=4 * 10**9)) is None


def test_the_default_memory_budget_is_read_when_checking(machine, monkeypatch):
    estimate = Estimate("x", 5000)
    assert refusal(estimate, Budget()) is None
    monkeypatch.setattr(_budget, "DEFAULT_MEMORY_BUDGET", 1000)
    assert "over the budget of 1 kB" in str(refusal(estimate, Budget()))


def test_over_the_work_budget_names_the_unit_exactly_and_both_limits_at_once(machine):
    error = refusal(Estimate("g", 5 * 10**9, 7_000_007, "Value nodes"), Budget(work=250_000))
    assert str(error) == (
        "g would take about 5 GB of memory and 7,000,007 Value nodes, over the budgets of 1 GB "
        "and 250,000 Value nodes; --force runs it anyway"
    )
    huge = refusal(Estimate("naive", 0, 3**999, "calls"), Budget(work=10**8), lift="no")
    assert "about 4.41e+476 calls (477 digits), over the budget of 100,000,000 calls; no" in str(
        huge
    )


def test_the_machines_memory_is_never_lifted(machine):
    machine(23 * 10**9)
    estimate = Estimate("fib 1,000,000 by memo", 46 * 10**9)
    for force in (False, True):
        error = refusal(estimate, Budget(force=force), instead="use --strategy table")
        assert error is not None and error.hard
        assert str(error) == (
            "fib 1,000,000 by memo would need about 46 GB of memory, more than the 23 GB "
            "available on this machine (--force does not lift this); use --strategy table"
        )
    with pytest.raises(BudgetExceeded, match="does not lift"):
        check(estimate, Budget(memory=10**12, force=True))


def test_unknown_available_memory_leaves_the_soft_budget(machine):
    machine(None)
    assert refusal(Estimate("x", 10**15), Budget(force=True)) is None
    assert not refusal(Estimate("x", 10**15), Budget()).hard


def test_available_memory_sees_the_address_space_limit():
    # ulimit -v in a child process: what is left under it is what can be allocated.
    code = (
        "import resource; limit = 3 * 10**9; "
        "hard = resource.getrlimit(resource.RLIMIT_AS)[1]; "
        "resource.setrlimit(resource.RLIMIT_AS, (limit, hard)); "
        "from memograd._budget import available_memory; print(available_memory(), limit)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    available, limit = map(int, done.stdout.split())
    assert 0 < available < limit


def test_available_memory_is_a_plausible_number_here():
    available = _budget.available_memory()
    assert available is None or 0 <= available < 2**60


@pytest.mark.parametrize(
    ("count", "text"),
    [(512, "512 bytes"), (1000, "1 kB"), (3.94e9, "3.9 GB"), (46.4e9, "46 GB"), (1e9, "1 GB")],
)
def test_readable_bytes(count, text):
    assert readable_bytes(count) == text
