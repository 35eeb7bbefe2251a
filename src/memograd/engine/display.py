"""How a graph node shows itself in a notebook: a hook that a higher layer fills in.

Jupyter calls ``_repr_svg_`` on the last value of a cell. Drawing a graph is the job of
``memograd.viz``, which sits above the engine and must not be imported by it; so the engine only
keeps this slot, and the package root (``memograd/__init__.py``, the top of the import order)
installs a renderer that imports viz the first time a node is displayed. A node with no renderer
installed (the engine used on its own) returns None, and Jupyter falls back to its ``repr``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_renderer: list[Callable[[Any], str]] = []


def set_svg_renderer(render: Callable[[Any], str]) -> None:
    """Install ``render(node) -> SVG text`` as the notebook display of Values and Tensors."""
    _renderer[:] = [render]


def svg_of(node: Any) -> str | None:
    """The node's graph as SVG, or None when no renderer is installed."""
    return _renderer[0](node) if _renderer else None
