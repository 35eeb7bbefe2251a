"""docs/guide.md, docs/pytorch.md and README.md cannot go stale: their Python blocks run here,
their command lines parse.

The Python blocks of one document run in order in one namespace, like one session, inside a
temporary directory (the guide saves a few files). A failure names the document, the block and
its first line.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import traceback
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "guide.md"
README = ROOT / "README.md"
PYTORCH = ROOT / "docs" / "pytorch.md"
FENCE = re.compile(r"^```(\w+)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def blocks(document: Path, language: str) -> list[tuple[int, str]]:
    """(line number, source) of every fenced block in ``language``."""
    text = document.read_text(encoding="utf-8")
    return [
        (text.count("\n", 0, m.start()) + 1, m.group(2))
        for m in FENCE.finditer(text)
        if m.group(1) == language
    ]


def run_python_blocks(document: Path) -> None:
    namespace: dict[str, object] = {"__name__": document.stem}
    for line, source in blocks(document, "python"):
        code = compile(source, f"{document.name}:{line}", "exec")
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                exec(code, namespace)  # noqa: S102 - running the document is the point
        except Exception:  # noqa: BLE001 - report which block broke, with its traceback
            first = source.strip().splitlines()[0]
            pytest.fail(
                f"{document.name} block at line {line} ({first!r}) failed:\n"
                f"{traceback.format_exc()}"
            )


def test_guide_has_code_to_run():
    assert len(blocks(GUIDE, "python")) >= 10
    assert len(blocks(GUIDE, "sh")) >= 4


def test_every_guide_python_block_runs_in_order(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib", reason="the guide's drawing part needs memograd[cli]")
    monkeypatch.chdir(tmp_path)
    run_python_blocks(GUIDE)
    for name in ("neuron.svg", "two-paths.svg", "named.svg", "digits.npz", "my-report.html"):
        assert (tmp_path / name).stat().st_size > 0, name


def test_readme_python_tour_runs(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib", reason="the README's drawing line needs memograd[cli]")
    monkeypatch.chdir(tmp_path)
    assert blocks(README, "python"), "the README has a Python tour"
    run_python_blocks(README)
    assert (tmp_path / "digits.npz").stat().st_size > 0


def test_pytorch_page_python_blocks_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert blocks(PYTORCH, "python"), "docs/pytorch.md shows its examples"
    run_python_blocks(PYTORCH)


@pytest.mark.parametrize("document", [GUIDE, README], ids=lambda p: p.name)
def test_every_memograd_command_line_parses(document):
    from memograd.cli import build_parser

    parser = build_parser()
    commands = [
        shlex.split(line.split("#")[0])
        for _, source in blocks(document, "sh")
        for line in source.splitlines()
        if line.startswith("memograd ")
    ]
    assert len(commands) >= 4
    for argv in commands:
        args = parser.parse_args(argv[1:])
        assert callable(args.func), argv
