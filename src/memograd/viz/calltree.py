"""A recursion's call tree as SVG: one circle per call, repeated calls shaded, pruned ones faint.

Drawn by hand rather than with matplotlib or graphviz: a tree of a few dozen small circles
needs a tidy layout (leaves left to right, each parent over its children) and nothing else,
and it stays crisp at any size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from memograd.viz._svg import escape

STYLES = ("call", "repeat", "hit", "pruned")


@dataclass
class TreeNode:
    """One call: its label, how it is drawn, and the calls it makes (in order)."""

    label: str
    style: str = "call"  # call | repeat (shaded: recomputes an earlier value) | hit | pruned
    children: Sequence[TreeNode] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.style not in STYLES:
            raise ValueError(f"style must be one of {', '.join(STYLES)}, got {self.style!r}")


_FILL = {"call": "#ffffff", "repeat": "#fed7aa", "hit": "#dcfce7", "pruned": "#ffffff"}
_STROKE = {"call": "#6b7280", "repeat": "#c2410c", "hit": "#2b8a3e", "pruned": "#cfd5dc"}
_STEP_X, _STEP_Y, _RADIUS = 30, 46, 12


def draw_tree(root: TreeNode, title: str) -> str:
    """The tree as an inline ``<svg>`` with ``title`` as its accessible name."""
    placed: list[tuple[TreeNode, float, int]] = []
    edges: list[tuple[float, int, float, int, str]] = []
    leaves = 0

    def place(node: TreeNode, depth: int) -> float:
        nonlocal leaves
        if node.children:
            xs = [place(child, depth + 1) for child in node.children]
            x = sum(xs) / len(xs)
            for child, child_x in zip(node.children, xs, strict=True):
                edges.append((x, depth, child_x, depth + 1, child.style))
        else:
            x = leaves
            leaves += 1
        placed.append((node, x, depth))
        return x

    # An explicit stack would be needed for deep trees; call trees worth drawing are shallow.
    place(root, 0)
    depth = max(d for _, _, d in placed)
    width = leaves * _STEP_X + 20
    height = (depth + 1) * _STEP_Y + 10

    def at(x: float, d: int) -> tuple[float, float]:
        return 10 + _STEP_X / 2 + x * _STEP_X, 22 + d * _STEP_Y

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>"
    ]
    for x1, d1, x2, d2, style in edges:
        (ax, ay), (bx, by) = at(x1, d1), at(x2, d2)
        dash = ' stroke-dasharray="3 3"' if style == "pruned" else ""
        parts.append(
            f'<line x1="{ax:.1f}" y1="{ay}" x2="{bx:.1f}" y2="{by}" '
            f'stroke="{_STROKE[style]}" stroke-width="1.3"{dash}/>'
        )
    for node, x, d in placed:
        cx, cy = at(x, d)
        dash = ' stroke-dasharray="2 2"' if node.style == "pruned" else ""
        ink = "#c0c6ce" if node.style == "pruned" else "#1f2933"
        parts.append(
            f'<g class="call {node.style}"><circle cx="{cx:.1f}" cy="{cy}" r="{_RADIUS}" '
            f'fill="{_FILL[node.style]}" stroke="{_STROKE[node.style]}" stroke-width="1.6"{dash}/>'
            f'<text x="{cx:.1f}" y="{cy + 4}" text-anchor="middle" font-size="12" '
            f'font-family="DejaVu Sans, sans-serif" fill="{ink}">{escape(node.label)}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)
