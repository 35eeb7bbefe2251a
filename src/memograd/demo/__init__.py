"""``memograd demo``: the notes' story measured on this machine, ending in an HTML report.

Five sections, in the notes' order, each a module with ``measure`` and ``render``:
:mod:`.memoization` (Fibonacci three ways), :mod:`.notes_network` (the 2-2-2-1 network, its
two chain-rule paths and the backward sweep step by step), :mod:`.depth` (paths and work
against depth), :mod:`.model` (a digits classifier trained with memograd) and :mod:`.speed`
(one training step against hand-written NumPy and PyTorch). :mod:`.runner` sequences them.
"""

from __future__ import annotations

from memograd.demo.runner import DemoResult, build_report, measure_all, run_demo
from memograd.demo.settings import DemoSettings

__all__ = ["DemoResult", "DemoSettings", "build_report", "measure_all", "run_demo"]
