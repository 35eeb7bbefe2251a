"""``memograd cost``: the table, JSON with exact integers, the plot, measurement, errors."""

import json
from fractions import Fraction

import pytest


def test_table_lists_every_depth_with_exact_counts(run):
    status, out, err = run("cost", "--width", "2", "--max-depth", "4")
    assert status == 0 and err == ""
    lines = [line for line in out.splitlines() if line.startswith("│")]
    assert len(lines) == 4
    assert [cell.strip() for cell in lines[1].split("│")[1:-1]] == [
        "2",
        "10",
        "2",
        "34",
        "16",
        "2.12",
    ]


def test_json_rows_are_exact_integers(run):
    status, out, _ = run("cost", "--width", "10", "--max-depth", "30", "--json")
    assert status == 0
    document = json.loads(out)
    rows = document["rows"]
    assert [row["depth"] for row in rows] == list(range(1, 31))
    last = rows[-1]
    assert last["paths_per_first_layer_weight"] == 10**29
    assert last["naive_multiplications"] == sum(m * 10**m for m in range(1, 32))
    assert last["backprop_multiplications"] == 59 * 100 + 20
    assert last["ratio"] == pytest.approx(last["naive_multiplications"] / 5920)
    assert document["plot"] is None and document["measured"] is False


def test_measure_and_plot(run, tmp_path):
    target = tmp_path / "cost.svg"
    status, out, _ = run(
        "cost",
        "--width",
        "2",
        "--max-depth",
        "5",
        "--measure",
        "--budget",
        "300",
        "--plot",
        str(target),
        "--json",
    )
    assert status == 0
    document = json.loads(out)
    rows = document["rows"]
    assert all(row["sweep_seconds"] > 0 for row in rows)
    assert rows[0]["naive_seconds"] > 0 and rows[-1]["naive_seconds"] is None
    assert document["plot"] == str(target)
    assert "<svg" in target.read_text()


def test_plot_is_reported_in_text_mode(run, tmp_path):
    target = tmp_path / "cost.png"
    status, out, _ = run("cost", "--width", "3", "--max-depth", "3", "--plot", str(target))
    assert status == 0
    assert f"plot written to {target}" in out
    assert target.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--width", "0", "--max-depth", "3"], ">= 1, got 0"),
        (["--width", "3", "--max-depth", "0"], ">= 1, got 0"),
        (["--width", "x", "--max-depth", "3"], "whole number"),
        (["--width", "3", "--max-depth", "5000"], "at most 1000"),
        (["--width", "3", "--max-depth", "3", "--plot", "cost.pdf"], ".png or .svg"),
        (["--width", "3"], "--max-depth"),
    ],
)
def test_bad_input_exits_2_with_one_line(run, argv, fragment):
    status, out, err = run("cost", *argv)
    assert status == 2
    assert out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    assert fragment in err


@pytest.mark.parametrize(("width", "depth"), [("3", "1000"), ("10", "310")])
def test_the_documented_range_works_and_fits_80_columns(run, monkeypatch, width, depth):
    # Used to fail with "integer division result too large for a float".
    monkeypatch.setenv("COLUMNS", "80")
    status, out, err = run("cost", "--width", width, "--max-depth", depth)
    assert status == 0 and err == ""
    assert max(len(line) for line in out.splitlines()) <= 80
    rows = [line for line in out.splitlines() if line.startswith("│")]
    assert len(rows) == int(depth)
    if width == "3":
        cells = [cell.strip() for cell in rows[-1].split("│")[1:-1]]
        # 3^999 paths, 3·Σ... naive, (2·1000 - 1)·9 + 6 backprop: short, exact where short.
        assert cells == ["1000", "9,003", "4.41e+476", "5.95e+480", "17,997", "3.31e+476"]
        assert "3^999 = 4.41e+476 has 477 digits" in " ".join(out.split())


def test_json_ratios_are_exact_fractions_past_the_float_range(run):
    status, out, _ = run("cost", "--width", "10", "--max-depth", "310", "--json")
    assert status == 0
    last = json.loads(out)["rows"][-1]
    assert last["ratio"] is None
    exact = Fraction(last["ratio_exact"]["numerator"], last["ratio_exact"]["denominator"])
    assert exact == Fraction(last["naive_multiplications"], last["backprop_multiplications"])
    assert last["naive_multiplications"] == sum(m * 10**m for m in range(1, 312))


def test_measuring_past_the_node_budget_is_refused_before_any_graph(run, monkeypatch):
    # Used to run for 106 s building Value graphs of up to 6 million nodes.
    from memograd.explain import measure

    def refuse(*args, **kwargs):
        raise AssertionError("measured past the budget")

    monkeypatch.setattr(measure, "time_backward", refuse)
    status, out, err = run("cost", "--width", "1000", "--max-depth", "2", "--measure")
    assert status == 2 and out == ""
    assert err.count("\n") == 1
    assert (
        "timing the engine on 2 networks would take about 3.6 GB of memory and 54,084,036 "
        "Value nodes, over the budgets of 1 GB and 250,000 Value nodes; --force measures "
        "anyway, or lower --width or --max-depth"
    ) in err


def test_force_lifts_the_measurement_budget(run, monkeypatch):
    from memograd.explain import sizes

    monkeypatch.setattr(sizes, "DEFAULT_MAX_ENGINE_NODES", 100)
    argv = ("cost", "--width", "2", "--max-depth", "2", "--measure", "--json")
    status, _, err = run(*argv)
    assert status == 2 and "over the budget of 100 Value nodes" in err
    status, out, _ = run(*argv, "--force")
    assert status == 0
    assert all(row["sweep_seconds"] > 0 for row in json.loads(out)["rows"])


def test_measured_times_get_a_table_of_their_own(run, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    status, out, _ = run("cost", "--width", "2", "--max-depth", "6", "--measure", "--budget", "50")
    assert status == 0
    assert max(len(line) for line in out.splitlines()) <= 80
    timing = [line for line in out.splitlines() if line.startswith("│")][6:]
    cells = [[cell.strip() for cell in line.split("│")[1:-1]] for line in timing]
    assert [row[0] for row in cells] == ["1", "2", "3", "4", "5", "6"]
    assert cells[-1][1] == "not run" and cells[0][1].endswith(("µs", "ms", " s"))


def test_too_many_digits_are_refused_before_computing_them(run):
    status, out, err = run("cost", "--width", "1000000000", "--max-depth", "1000")
    assert status == 2 and out == ""
    assert "the exact cost table for width 1,000,000,000 to depth 1,000 would take" in err
    assert "over the budget of 10,000,000 digits; --force computes it anyway" in err


def test_a_plot_past_the_float_range_says_how_deep_it_can_go(run, tmp_path):
    target = tmp_path / "cost.svg"
    status, out, err = run("cost", "--width", "3", "--max-depth", "700", "--plot", str(target))
    assert status == 2 and out == "" and not target.exists()
    assert "the naive count passes it at depth 517; plot up to --max-depth 516" in err
