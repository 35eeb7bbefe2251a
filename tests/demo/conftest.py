"""One ``memograd demo --quick`` run shared by every test of the demo (it is the slow part)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``memograd ARGS`` in a fresh interpreter, exactly as a user runs it."""
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from memograd.cli import main; sys.exit(main())",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
    )


@dataclass(frozen=True)
class QuickRun:
    out: Path
    report: Path
    document: dict
    seconds: float
    stderr: str


@pytest.fixture(scope="session")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> QuickRun:
    out = tmp_path_factory.mktemp("demo") / "report-dir"
    started = time.perf_counter()
    result = run_cli("demo", "--quick", "--seed", "3", "--out", str(out), "--json")
    seconds = time.perf_counter() - started
    assert result.returncode == 0, result.stderr
    return QuickRun(out, out / "report.html", json.loads(result.stdout), seconds, result.stderr)
