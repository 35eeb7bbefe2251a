"""`python benchmarks/run.py --quick --json` runs every case and reports it in full.

No timing is asserted here (the benchmark itself judges speed); these tests
check that the command works end to end, that every case reports the keys a
reader and the docs rely on, and that a peer which is not installed is
reported as skipped rather than crashing the run or being faked.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.cases import CASE_NAMES
from benchmarks.mlp_peers import SWITCHED_OFF
from benchmarks.mlp_step_vs_peers import MLP_PEERS

from .conftest import HAS_JAX, RUN

CASE_KEYS = {
    "name",
    "title",
    "target",
    "status",
    "met",
    "verdict",
    "label_header",
    "ratio_header",
    "columns",
    "rows",
    "skipped",
    "notes",
    "seconds_spent",
}
ROW_KEYS = {"label", "seconds", "ratio", "extra", "note"}
HIDDEN_PEER = "mygrad"


def run_bench(
    *args: str, hide: Path | None = None, timeout: float = 120, **environment: str
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, **environment)
    if hide is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(hide), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, str(RUN), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One quick run of every case, with one peer made impossible to import and torch.compile
    switched off (its compiling takes tens of seconds per shape; it has tests of its own). Every
    case runs, so minutes on a busy machine."""
    shadow = tmp_path_factory.mktemp("shadow")
    (shadow / f"{HIDDEN_PEER}.py").write_text(
        f"raise ModuleNotFoundError('hidden by the test', name={HIDDEN_PEER!r})\n"
    )
    completed = run_bench("--quick", "--json", hide=shadow, timeout=400, TORCHDYNAMO_DISABLE="1")
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def test_quick_json_reports_every_case_in_order(quick_report: dict) -> None:
    assert [case["name"] for case in quick_report["cases"]] == list(CASE_NAMES)


def test_every_case_has_the_documented_keys_and_no_error(quick_report: dict) -> None:
    for case in quick_report["cases"]:
        assert set(case) == CASE_KEYS, case["name"]
        assert case["status"] in ("ok", "skipped"), (case["name"], case["verdict"], case["notes"])
        assert case["met"] in (True, False, None)
        assert case["target"] and case["verdict"], case["name"]
        for row in case["rows"]:
            assert set(row) == ROW_KEYS, case["name"]
            assert row["seconds"] is None or row["seconds"] > 0


def test_header_names_cores_blas_threads_and_versions(quick_report: dict) -> None:
    header = quick_report["header"]
    assert header["cores"] >= 1
    assert header["blas"] and all("kernel" in blas for blas in header["blas"])
    assert header["threads"]["torch"] == header["cores"]
    assert "OPENBLAS_CORETYPE" in header["environment"]
    assert header["versions"]["numpy"]
    # The header reads versions from package metadata, so a peer hidden from import still shows
    # its version when it is installed (the bench extra), and None when it is not (the test extra).
    try:
        installed = importlib.metadata.version(HIDDEN_PEER)
    except importlib.metadata.PackageNotFoundError:
        installed = None
    assert header["versions"][HIDDEN_PEER] == installed
    assert header["settings"]["quick"] is True


def test_missing_peer_is_reported_as_skipped_not_timed(quick_report: dict) -> None:
    mlp_cases = {
        case["name"]: case for case in quick_report["cases"] if case["name"].startswith("mlp_")
    }
    assert set(mlp_cases) == {"mlp_small_b32", "mlp_small_b1024", "mlp_large_b128"}
    for name, case in mlp_cases.items():
        skipped = {entry["peer"]: entry["reason"] for entry in case["skipped"]}
        timed = {row["label"] for row in case["rows"]}
        assert HIDDEN_PEER in skipped and HIDDEN_PEER not in timed, name
        assert "numpy" in timed  # the floor is always there
        assert timed | set(skipped) == set(MLP_PEERS) and not timed & set(skipped)
    # The batch-32 case times every peer even with --quick, so the reason is the missing module.
    reasons = {e["peer"]: e["reason"] for e in mlp_cases["mlp_small_b32"]["skipped"]}
    assert "not installed" in reasons[HIDDEN_PEER]


def test_compiled_cases_skip_a_switched_off_torch_compile_and_time_jax(quick_report: dict) -> None:
    compiled = [case for case in quick_report["cases"] if case["name"].startswith("compiled_")]
    assert len(compiled) == 3
    for case in compiled:
        skipped = {entry["peer"]: entry["reason"] for entry in case["skipped"]}
        timed = {row["label"] for row in case["rows"]}
        # jax is in the bench extra, not the test extra: a test run without it sees it skipped.
        without_jax = {} if HAS_JAX else {"jax_jit": "not installed (jax)"}
        assert skipped == {"torch_compile": SWITCHED_OFF, **without_jax}, case["name"]
        expected = {"memograd_compiled", "numpy", "torch"} | ({"jax_jit"} if HAS_JAX else set())
        assert expected <= timed, case["name"]
        assert case["met"] is not True and "not judged against torch_compile" in case["verdict"]


def test_unknown_case_is_a_one_line_usage_error() -> None:
    completed = run_bench("--only", "no_such_case", "--json")
    assert completed.returncode == 2
    assert completed.stdout == ""
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "no_such_case" in lines[0] and "mlp_small_b32" in lines[0]


def test_only_runs_just_the_named_case() -> None:
    completed = run_bench("--quick", "--json", "--only", "memoize_hit", "--rounds", "1")
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout)
    assert [case["name"] for case in report["cases"]] == ["memoize_hit"]
    assert report["header"]["settings"]["rounds"] == 1
    # The memoize figures say which hit path they measured (the C front, or pure Python).
    from memograd.memo import wrapper

    path = "hit path: C)" if wrapper.Memoized is not None else "hit path: pure Python"
    assert path in report["cases"][0]["verdict"]


def test_markdown_output_has_the_header_block_and_a_table_per_case() -> None:
    completed = run_bench("--quick", "--markdown", "--only", "fibonacci", "--rounds", "1")
    assert completed.returncode == 0, completed.stderr
    text = completed.stdout
    assert text.startswith("```\nmemograd bench, ")
    assert "cores" in text and "BLAS:" in text
    assert "| strategy | n | calls | closed form | median |" in text
    assert "| naive | 20 | 21,891 | 21,891 |" in text  # 2*F(21) - 1 calls
    assert "| `fibonacci` |" in text


def test_json_and_markdown_together_are_refused() -> None:
    completed = run_bench("--json", "--markdown", "--only", "fibonacci")
    assert completed.returncode == 2
    assert "choose one" in completed.stderr


def test_one_thread_pins_every_peer_and_xla_in_the_benchmarks_own_process() -> None:
    completed = run_bench(
        "--quick", "--json", "--only", "fibonacci", "--rounds", "1", "--threads", "1"
    )
    assert completed.returncode == 0, completed.stderr
    header = json.loads(completed.stdout)["header"]
    assert header["threads"] == {"blas": 1, "torch": 1, "xla": 1}
    # XLA ignores its thread flags; only pinning the process holds it to one core.
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    assert len(header["pinned_cores"]) == (1 if cores > 1 else 0)


def test_memograd_has_no_bench_command() -> None:
    """The benchmark runs from a checkout (make bench); the installed command line has none."""
    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from memograd.cli import main; sys.exit(main())",
            "bench",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 2
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1 and "invalid choice: 'bench'" in lines[0]
