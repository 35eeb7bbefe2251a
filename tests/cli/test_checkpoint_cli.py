"""``memograd checkpoint``: the plans' counts, their measurement, and one line for bad input."""

from __future__ import annotations

import json
import math

import pytest

from memograd.engine.schedules import revolve_advances


def test_table_shows_the_three_schedules_counts(run) -> None:
    status, out, err = run("checkpoint", "--depth", "64", "--slots", "4")
    assert status == 0 and err == ""
    rows = [[c.strip() for c in line.split("│")[1:-1]] for line in out.splitlines() if "│" in line]
    assert rows == [
        ["store-all", "64", "+0 (1.00x)", "0", "65"],
        ["sqrt (8 segments)", "120", "+56 (1.88x)", "7", "16"],
        ["revolve (4 slots)", "264", "+200 (4.12x)", "4", "6"],
    ]


def test_json_counts_are_the_closed_form_and_the_plan(run) -> None:
    status, out, _ = run(
        "checkpoint", "--depth", "1024", "--slots", "10", "--kind", "revolve", "--json"
    )
    assert status == 0
    document = json.loads(out)
    kinds = [p["kind"] for p in document["plans"]]
    assert kinds == ["all", "revolve"]
    revolve = document["plans"][1]
    assert revolve["forward_evaluations"] == 1024 + revolve_advances(1024, 10)
    assert revolve["extra_evaluations"] == 5 * 1024 - math.comb(15, 11)
    assert revolve["peak_slots"] == 10 and "plan" not in revolve


def test_json_with_actions_lists_the_plan(run) -> None:
    status, out, _ = run("checkpoint", "--depth", "3", "--kind", "sqrt", "--json", "--actions")
    assert status == 0
    sqrt = json.loads(out)["plans"][1]
    assert sqrt["plan"] == [
        ["snapshot", 0],
        ["advance", 1],
        ["record", 2],
        ["backward", 2],
        ["restore", 0],
        ["record", 1],
        ["backward", 1],
        ["free", 0],
    ]


def test_measure_runs_every_plan_and_finds_the_same_gradients(run) -> None:
    status, out, _ = run(
        "checkpoint", "--depth", "12", "--slots", "2", "--measure", "--width", "16",
        "--batch", "4", "--repeats", "1", "--json",
    )  # fmt: skip
    assert status == 0
    document = json.loads(out)
    assert document["network"] == {
        "layers": 12, "width": 16, "batch": 4, "dtype": "float32", "repeats": 1,
    }  # fmt: skip
    state = 4 * 16 * 4
    for plan in document["plans"]:
        measured = plan["measured"]
        assert measured["same_gradients"] is True
        assert measured["forward_evaluations"] == plan["forward_evaluations"]
        assert measured["seconds"] > 0 and measured["traced_peak_bytes"] > 0
        # each block holds its input, its linear output and its relu output while recorded
        assert measured["held_bytes"] >= plan["peak_stored"] * state
    held = [p["measured"]["held_bytes"] for p in document["plans"]]
    assert held[0] > held[1] > held[2]


def test_measure_prints_a_table_with_the_measured_columns(run) -> None:
    status, out, _ = run(
        "checkpoint", "--depth", "6", "--slots", "2", "--measure", "--width", "8",
        "--batch", "2", "--repeats", "1",
    )  # fmt: skip
    assert status == 0
    assert "engine held" in out and "identical" in out and "DIFFERENT" not in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--depth", "64"], "--slots S is needed for revolve"),
        (["--depth", "64", "--slots", "0"], "expected a number >= 1, got 0"),
        (["--depth", "0", "--slots", "2"], "expected a number >= 1, got 0"),
        (["--depth", "64", "--slots", "2", "--kind", "sqrt"], "--slots is revolve's"),
        (["--depth", "64", "--kind", "binomial"], "invalid choice: 'binomial'"),
        (["--depth", "10000000", "--slots", "3"], "the plans for 10,000,000 steps would "),
        (
            ["--depth", "640", "--slots", "3", "--measure"],
            "measuring 3 plans on 640 layers of width 512, batch 256 would ",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_status_2(run, argv, message) -> None:
    status, out, err = run("checkpoint", *argv)
    assert status == 2 and out == ""
    assert message in err and err.count("\n") == 1
    if "would" in message:  # refused before any work: a soft budget, or the machine's memory
        assert "over the budget" in err or "available on this machine" in err
