"""Shared by the command-line tests: run ``memograd`` in-process and capture what it prints."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from memograd import cli


@pytest.fixture
def run(capsys) -> Callable[..., tuple[int, str, str]]:
    """``run("paths", "--arch", ...)`` -> (exit status, stdout, stderr), as the shell sees them."""

    def invoke(*argv: str) -> tuple[int, str, str]:
        status = cli.main(list(argv))
        out, err = capsys.readouterr()
        return status, out, err

    return invoke
