"""``memograd cost``: the table, JSON with exact integers, the plot, measurement, errors."""

import json

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
