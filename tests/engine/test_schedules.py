"""The plans for a chain: revolve's count against its closed form and a brute-force search,
sqrt's and store-all's counts, and every invalid plan or argument refused in one line."""

from __future__ import annotations

import math
from collections import deque

import pytest

import memograd as mg
from memograd.engine.schedules import (
    Action,
    Plan,
    count_plan,
    revolve_advances,
    revolve_repetitions,
    schedule,
)


def fewest_advances(n: int, slots: int) -> int:
    """The fewest unrecorded step evaluations over every schedule that reverses n steps with at
    most ``slots`` snapshots, recording one step at a time: a shortest path (0-1 BFS) over the
    executor's states (current position or none, the positions kept in slots, the reversal
    front). It knows nothing of revolve: no closed form, no recursion, no split rule.
    """
    start = (0, frozenset(), n)
    best = {start: 0}
    queue = deque([start])
    while queue:
        state = queue.popleft()
        position, kept, front = state
        cost = best[state]
        if front == 0:
            return cost
        moves = []  # (next state, advances it costs)
        if position is not None:
            if position + 1 < front:
                moves.append(((position + 1, kept, front), 1))
            if position not in kept and len(kept) < slots:
                moves.append(((position, kept | {position}, front), 0))
            if position == front - 1:  # record the step and run its backward pass
                moves.append(((None, kept, front - 1), 0))
        for slot in kept:
            moves.append(((slot, kept, front), 0))  # restore
            moves.append(((position, kept - {slot}, front), 0))  # free
        for following, step in moves:
            if following not in best or best[following] > cost + step:
                best[following] = cost + step
                if step:
                    queue.append(following)
                else:
                    queue.appendleft(following)
    raise AssertionError(f"no schedule reverses {n} steps with {slots} slots")


# Computed once by the search above for n = 1..10 and 1..4 slots (rows: n; columns: slots).
BRUTE_FORCE_TABLE = {
    1: (0, 0, 0, 0),
    2: (1, 1, 1, 1),
    3: (3, 2, 2, 2),
    4: (6, 4, 3, 3),
    5: (10, 6, 5, 4),
    6: (15, 8, 7, 6),
    7: (21, 11, 9, 8),
    8: (28, 14, 11, 10),
    9: (36, 17, 13, 12),
    10: (45, 20, 15, 14),
}


def test_the_brute_force_table_is_what_the_search_finds() -> None:
    for n, row in BRUTE_FORCE_TABLE.items():
        assert tuple(fewest_advances(n, s) for s in range(1, 5)) == row, n


@pytest.mark.parametrize("n", sorted(BRUTE_FORCE_TABLE))
def test_revolve_count_equals_the_binomial_closed_form_and_the_brute_force_search(n: int) -> None:
    for slots, searched in enumerate(BRUTE_FORCE_TABLE[n], start=1):
        r = revolve_repetitions(n, slots)
        assert math.comb(slots + r, slots) >= n and (r == 0 or math.comb(slots + r - 1, slots) < n)
        closed = r * n - math.comb(slots + r, slots + 1)
        assert revolve_advances(n, slots) == closed == searched
        plan = schedule(n, slots, "revolve")
        assert plan.counts.forward_evaluations == n + closed
        assert plan.counts.extra_evaluations == closed
        assert plan.counts.peak_slots <= slots and plan.counts.peak_recorded == 1


def test_revolve_beyond_the_table_matches_the_recursion_it_solves() -> None:
    """T(l, s) = min over m of m + T(l - m, s - 1) + T(m, s): the recursion, by dynamic
    programming, for every n < 60 and s < 8, against the closed form and the plan's count."""
    table: dict[tuple[int, int], int] = {}
    for n in range(1, 60):
        for s in range(1, 8):
            if n == 1:
                table[n, s] = 0
            elif s == 1:
                table[n, s] = n * (n - 1) // 2
            else:
                table[n, s] = min(m + table[n - m, s - 1] + table[m, s] for m in range(1, n))
            assert revolve_advances(n, s) == table[n, s], (n, s)
    for n, s in [(59, 7), (37, 3), (50, 2), (44, 1)]:
        assert schedule(n, s).counts.forward_evaluations == n + table[n, s]


def test_revolve_with_one_slot_and_with_plenty() -> None:
    assert revolve_advances(100, 1) == 100 * 99 // 2  # walk from x_0 to every step in turn
    assert revolve_advances(100, 99) == 99  # one pass, a snapshot at every step
    assert revolve_advances(1024, 10) == 5 * 1024 - math.comb(15, 11)


def test_store_all_records_everything_once() -> None:
    plan = schedule(64, kind="all")
    assert plan.actions == (Action("record", 64), Action("backward", 64))
    assert plan.counts.forward_evaluations == 64 and plan.counts.extra_evaluations == 0
    assert plan.counts.peak_slots == 0 and plan.counts.peak_stored == 65


@pytest.mark.parametrize("n", [1, 2, 7, 64, 100, 1000])
def test_sqrt_splits_as_pytorch_and_pays_about_one_extra_forward(n: int) -> None:
    plan = schedule(n, kind="sqrt")
    segments = math.ceil(math.sqrt(n))
    size = n // segments
    assert plan.slots == segments - 1 == plan.counts.peak_slots
    assert plan.counts.forward_evaluations == n + (segments - 1) * size
    last = n - (segments - 1) * size
    assert plan.counts.peak_stored == segments + last if segments > 1 else n + 1
    assert plan.counts.peak_recorded == max(last, size)


def test_schedule_is_reached_as_mg_checkpoint_schedule() -> None:
    assert mg.checkpoint.schedule is schedule
    assert callable(mg.checkpoint)
    plan = mg.checkpoint.schedule(8, 2, "revolve")
    assert isinstance(plan, Plan) and plan.to_dict()["forward_evaluations"] == 22
    assert plan.to_dict(actions=True)["plan"][0] == ["snapshot", 0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((8, 0, "revolve"), "slots must be >= 1, got 0"),
        ((8, -3, "revolve"), "slots must be >= 1, got -3"),
        ((8, None, "revolve"), "revolve needs slots"),
        ((0, 2, "revolve"), "n must be >= 1, got 0"),
        ((8, 2, "binomial"), "kind must be one of all, sqrt, revolve; got 'binomial'"),
        ((8, 2, "all"), "store-all keeps every activation and takes no snapshots"),
        ((8, 8, "sqrt"), "needs 9 segments of at least one step, more than the 8 steps"),
    ],
)
def test_bad_arguments_are_one_clear_line(args: tuple, message: str) -> None:
    with pytest.raises(ValueError) as info:
        schedule(*args)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_bad_types_are_refused() -> None:
    with pytest.raises(TypeError, match="slots must be an int"):
        schedule(8, 2.5, "revolve")
    with pytest.raises(TypeError, match="n must be an int"):
        schedule(True, 2, "revolve")


@pytest.mark.parametrize(
    ("actions", "message"),
    [
        ([("restore", 0)], "slot 0 is empty"),
        ([("advance", 3)], "reaches the reversal front x_3"),
        ([("record", 2)], "must end at the reversal front x_3, not x_2"),
        ([("record", 3), ("backward", 2)], "the recorded steps do not match"),
        ([("record", 3), ("backward", 3), ("advance", 1)], "no current state to advance"),
        ([("snapshot", 0), ("snapshot", 0)], "slot 0 already holds x_0"),
        ([("snapshot", 0), ("advance", 1), ("record", 2), ("backward", 2)], "steps 1..1 not"),
        ([("leap", 1)], "unknown verb"),
    ],
)
def test_invalid_plans_are_refused_naming_the_action(actions: list, message: str) -> None:
    with pytest.raises(ValueError) as info:
        count_plan(3, [Action(*a) for a in actions])
    assert message in str(info.value) and "\n" not in str(info.value)


def test_a_plan_of_ones_own_is_counted() -> None:
    """Store the first step's input, record steps 2-3 first, then step 1 from the slot."""
    plan = Plan.from_actions(
        "custom",
        3,
        1,
        [
            Action("snapshot", 0),
            Action("advance", 1),
            Action("record", 2),
            Action("backward", 2),
            Action("restore", 0),
            Action("record", 1),
            Action("backward", 1),
            Action("free", 0),
        ],
    )
    assert plan.counts.forward_evaluations == 4 and plan.counts.peak_stored == 4
    assert str(plan).startswith("custom plan for 3 steps: 4 forward evaluations (1 extra)")
