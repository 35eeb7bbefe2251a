"""Small SVG helpers shared by the graph drawings, the plots and the report.

Several SVG documents end up inline in one HTML page, where every ``id`` shares a single
namespace; :func:`prefix_ids` makes each drawing's ids its own so markers and clip paths
of one figure never resolve to another's.
"""

from __future__ import annotations

import html
import os
import re
from dataclasses import dataclass
from pathlib import Path

from memograd._files import write_atomically

_PROLOG = re.compile(r"<\?xml[^>]*\?>|<!DOCTYPE[^>]*>|<!--.*?-->", re.DOTALL)
_ID_ATTR = re.compile(r'\bid="([^"]+)"')
_ID_REF = re.compile(r'(url\(#|href="#)([^")]+)')


def escape(text: object) -> str:
    """Text escaped for an SVG or HTML attribute or element body."""
    return html.escape(str(text), quote=True)


def strip_prolog(svg: str) -> str:
    """The ``<svg>`` element alone: no XML declaration, doctype or comments.

    Inline SVG inside HTML must not carry an XML prolog, and the comments that
    matplotlib and graphviz write (tool versions, dates) would make reports differ
    from run to run for no reason.
    """
    return _PROLOG.sub("", svg).strip()


def prefix_ids(svg: str, prefix: str) -> str:
    """Rename every ``id`` in ``svg`` to ``prefix + id`` and rewrite references to them."""
    ids = set(_ID_ATTR.findall(svg))
    if not ids:
        return svg
    svg = _ID_ATTR.sub(lambda m: f'id="{prefix}{m.group(1)}"', svg)

    def _ref(match: re.Match[str]) -> str:
        target = match.group(2)
        return match.group(1) + (prefix + target if target in ids else target)

    return _ID_REF.sub(_ref, svg)


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` as UTF-8 to ``path``; a reader sees the old file or the new, never half."""
    return write_atomically(path, lambda handle: handle.write(text.encode("utf-8")))


@dataclass(frozen=True)
class Drawing:
    """An SVG drawing: shows itself in Jupyter, embeds in HTML, saves to a file."""

    svg: str
    engine: str = "builtin"

    def _repr_svg_(self) -> str:
        return self.svg

    def __str__(self) -> str:
        return self.svg

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the drawing as a standalone ``.svg`` file (atomically)."""
        target = Path(path)
        if target.suffix.lower() != ".svg":
            raise ValueError(
                f"a drawing is saved as SVG: expected a path ending in .svg, got {path}"
            )
        return write_text_atomic(target, '<?xml version="1.0" encoding="UTF-8"?>\n' + self.svg)
