"""``memograd demo``: its JSON, its agreement with ``memograd paths``, its refusals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from memograd.demo.runner import SECTIONS

from .conftest import run_cli


def test_quick_demo_writes_one_report_and_reports_every_section(quick_run):
    document = quick_run.document
    assert set(document["sections"]) == {module.ANCHOR for module in SECTIONS}
    assert Path(document["report"]) == quick_run.report
    assert document["settings"]["quick"] is True and document["settings"]["seed"] == 3
    # Only the report is left in the directory: no temporary file from the atomic write.
    assert sorted(p.name for p in quick_run.out.iterdir()) == ["report.html"]
    # Progress went to stderr, one line per section when not on a terminal.
    assert quick_run.stderr.count("memograd demo [") == len(SECTIONS) + 1
    assert f"[{len(SECTIONS) + 1}/{len(SECTIONS) + 1}] Drawing the figures" in quick_run.stderr


def test_quick_settings_bound_the_work_of_every_section():
    # Counts of work, not seconds (a wall-clock limit fails on a loaded machine): what --quick
    # asks each section to do, against the full run.
    import math

    from memograd.demo.settings import DemoSettings
    from memograd.fibonacci import fib_calls

    quick, full = DemoSettings.for_run(quick=True), DemoSettings.for_run(quick=False)
    assert fib_calls(quick.fib_naive_max_n, "naive") <= 25_000  # fib(20): 21,891 calls
    assert quick.cost_max_depth <= full.cost_max_depth and quick.timing_repeats == 1
    batches = quick.epochs * math.ceil(1437 / quick.batch_size)
    assert batches <= 1_000 < full.epochs * math.ceil(1437 / full.batch_size)
    # the speed appendix's planned timing: rounds x seconds per batch x three peers
    assert quick.speed_rounds * quick.speed_batch_seconds * 3 <= 1.5


def test_section_two_equals_memograd_paths_for_the_same_seed(quick_run):
    network = quick_run.document["sections"]["network"]
    result = run_cli("paths", "--arch", "2-2-2-1", "--param", "W1_11", "--seed", "3", "--json")
    assert result.returncode == 0, result.stderr
    paths = json.loads(result.stdout)
    for key in (
        "paths",
        "formula",
        "naive_gradient",
        "memo_gradient",
        "finite_difference",
        "naive_multiplications",
        "memo_multiplications",
        "input",
        "target",
        "loss",
    ):
        assert network[key] == paths[key], key
    assert network["paths"] == 2
    page = quick_run.report.read_text(encoding="utf-8")
    assert f"{paths['memo_gradient']:.10g}" in page
    assert f"{paths['naive_gradient']:.10g}" in page


def test_report_numbers_come_from_this_run(quick_run):
    sections = quick_run.document["sections"]
    page = quick_run.report.read_text(encoding="utf-8")
    model = sections["model"]
    assert f"{100 * model['test_accuracy']:.1f}%" in page
    assert model["test_accuracy"] > 0.9  # a real model, not a placeholder
    assert sum(map(sum, model["confusion_matrix"])) == model["test_examples"]
    fib = sections["memoization"]
    # Counted naive calls follow the closed form 2 F(n+1) - 1.
    values = dict(zip(fib["n"], fib["values"], strict=True))
    values[0], values[fib["n"][-1] + 1] = 0, values[fib["n"][-1]] + values[fib["n"][-2]]
    for n, calls in zip(fib["n"], fib["calls"]["naive"], strict=True):
        if calls is not None:
            assert calls == 2 * values[n + 1] - 1
    depth = sections["depth"]["rows"]
    assert [row["paths_per_first_layer_weight"] for row in depth] == [
        2 ** (row["depth"] - 1) for row in depth
    ]
    speed = sections["speed"]["peers"]
    assert {"memograd", "numpy"} <= set(speed)
    assert all(peer["median_ms"] > 0 for peer in speed.values())


def test_out_that_is_a_file_fails_with_one_line(tmp_path):
    target = tmp_path / "taken"
    target.write_text("not a directory")
    result = run_cli("demo", "--quick", "--out", str(target))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "is a file; expected a directory" in result.stderr
    assert target.read_text() == "not a directory"


def _unwritable_directory(tmp_path: Path) -> Path:
    if os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o555)
        return locked
    # Root writes through file modes; sysfs refuses even root.
    candidate = Path("/sys/kernel")
    if candidate.is_dir() and not os.access(candidate, os.W_OK | os.X_OK) or candidate.is_dir():
        try:
            (candidate / ".memograd-probe").touch()
        except OSError:
            return candidate
    pytest.skip("no directory here is unwritable for this user")


def test_unwritable_out_fails_with_one_line_before_measuring(tmp_path):
    directory = _unwritable_directory(tmp_path)
    result = run_cli("demo", "--quick", "--out", str(directory))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "cannot write in --out directory" in result.stderr
    assert "memograd demo [" not in result.stderr  # refused before any section ran


def test_bad_seed_is_a_usage_error():
    result = run_cli("demo", "--seed", "minus one")
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "--seed" in result.stderr


def test_an_interrupted_demo_leaves_no_report_and_no_temporary_file(tmp_path):
    out = tmp_path / "report-dir"
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from memograd.cli import main; sys.exit(main())",
            "demo",
            "--quick",
            "--out",
            str(out),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not out.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # inside the measurements
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1] == "memograd: interrupted"
    assert stdout == ""
    assert list(out.iterdir()) == []
