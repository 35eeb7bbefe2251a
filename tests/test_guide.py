"""docs/guide.md cannot go stale: its Python blocks run here, its command lines parse.

The Python blocks run in order in one namespace, like one session, inside a temporary
directory (the guide saves a few files). A failure names the block and its first line.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import traceback
from pathlib import Path

import pytest

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "guide.md"
FENCE = re.compile(r"^```(\w+)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def blocks(language: str) -> list[tuple[int, str]]:
    """(line number, source) of every fenced block in ``language``."""
    text = GUIDE.read_text(encoding="utf-8")
    return [
        (text.count("\n", 0, m.start()) + 1, m.group(2))
        for m in FENCE.finditer(text)
        if m.group(1) == language
    ]


def test_guide_has_code_to_run():
    assert len(blocks("python")) >= 10
    assert len(blocks("sh")) >= 4


def test_every_python_block_runs_in_order(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib", reason="the guide's drawing part needs memograd[cli]")
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "guide"}
    for line, source in blocks("python"):
        code = compile(source, f"{GUIDE.name}:{line}", "exec")
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                exec(code, namespace)  # noqa: S102 - running the guide is the point
        except Exception:  # noqa: BLE001 - report which block broke, with its traceback
            first = source.strip().splitlines()[0]
            pytest.fail(f"guide block at line {line} ({first!r}) failed:\n{traceback.format_exc()}")
    for name in ("neuron.svg", "two-paths.svg", "named.svg", "digits.npz", "my-report.html"):
        assert (tmp_path / name).stat().st_size > 0, name


def test_every_memograd_command_line_parses():
    from memograd.cli import build_parser

    parser = build_parser()
    commands = [
        shlex.split(line.split("#")[0])
        for _, source in blocks("sh")
        for line in source.splitlines()
        if line.startswith("memograd ")
    ]
    assert len(commands) >= 4
    for argv in commands:
        args = parser.parse_args(argv[1:])
        assert callable(args.func), argv
