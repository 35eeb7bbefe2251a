"""A self-contained HTML report: one file, no script, no network, printable.

Figures are inline SVG, the stylesheet is inline, formulas are MathML (typeset by the browser,
no MathJax). Text passed in is escaped; trusted fragments (an SVG, a MathML formula, a link)
are wrapped in :class:`Markup` to go in as they are. Sections, figures and tables are numbered
in the order they are added, and a table of contents with anchor links makes the page
navigable with JavaScript off.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from memograd.viz import mathml
from memograd.viz._svg import escape, write_text_atomic


class Markup(str):
    """A string of trusted HTML that the report inserts without escaping."""


Content = str | Markup


def _html(part: Content) -> str:
    return str(part) if isinstance(part, Markup) else escape(part)


def join(*parts: Content) -> Markup:
    """Text and markup joined into one fragment, the plain text escaped."""
    return Markup("".join(_html(p) for p in parts))


def code(text: str) -> Markup:
    return Markup(f"<code>{escape(text)}</code>")


def strong(text: str) -> Markup:
    return Markup(f"<strong>{escape(text)}</strong>")


def formula(text: str, *, block: bool = False) -> Markup:
    """The notes' notation (``∂L/∂W^1_11 = ...``) typeset as MathML."""
    return Markup(mathml.math(text, block=block))


@dataclass
class Section:
    """One numbered section of the report (or a lettered appendix); its methods append blocks
    in order."""

    anchor: str
    heading: str
    number: int | str
    _report: Report
    blocks: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        """``3.`` for a section, ``Appendix A.`` for an appendix."""
        return f"Appendix {self.number}." if isinstance(self.number, str) else f"{self.number}."

    def paragraph(self, *parts: Content) -> Section:
        self.blocks.append(f"<p>{join(*parts)}</p>")
        return self

    def subheading(self, text: str) -> Section:
        self.blocks.append(f"<h3>{escape(text)}</h3>")
        return self

    def math(self, text: str) -> Section:
        """A displayed formula in the notes' plain-text notation."""
        self.blocks.append(f'<div class="formula">{mathml.math(text, block=True)}</div>')
        return self

    def listing(self, code_text: str, caption: Content) -> Section:
        """A numbered code listing: code that ran (or will run) exactly as shown."""
        number = self._report._next("listing")
        self.blocks.append(
            f'<figure class="listing" id="{escape(self.anchor)}-listing{number}">'
            f"<pre><code>{escape(code_text)}</code></pre>"
            f"<figcaption><strong>Listing {number}.</strong> {_html(caption)}</figcaption>"
            "</figure>"
        )
        return self

    def facts(self, items: Sequence[tuple[str, Content]]) -> Section:
        """Headline numbers as a row of labelled cards."""
        cards = "".join(
            f'<div class="fact"><div class="fact-value">{_html(value)}</div>'
            f'<div class="fact-label">{escape(label)}</div></div>'
            for label, value in items
        )
        self.blocks.append(f'<div class="facts">{cards}</div>')
        return self

    def figure(
        self, svg: str, title: str, caption: Content, *, wide: bool = False, scroll: bool = False
    ) -> Section:
        """An inline SVG figure, numbered, with a bold title and a one-sentence caption.

        ``scroll=True`` keeps a large drawing at its natural size in a horizontally scrolling
        box instead of shrinking its text below reading size (on paper it is fitted to the page).
        """
        if not svg.lstrip().startswith("<svg"):
            raise ValueError("a figure must be an inline <svg> element")
        if not title.strip() or not str(caption).strip():
            raise ValueError("every figure needs a title and a caption")
        number = self._report._next("figure")
        css = "figure wide" if wide else "figure"
        self.blocks.append(
            f'<figure class="{css}" id="{escape(self.anchor)}-fig{number}">'
            f'<div class="plot{" scroll" if scroll else ""}">{svg}</div>'
            f"<figcaption><strong>Figure {number}. {escape(title)}.</strong> "
            f"{_html(caption)}</figcaption></figure>"
        )
        return self

    def figure_pair(self, svgs: tuple[str, str], title: str, caption: Content) -> Section:
        """Two SVG panels under one number: side by side on a wide screen, one above the other
        on a phone, where a single two-panel drawing would shrink its text to nothing."""
        if not all(svg.lstrip().startswith("<svg") for svg in svgs):
            raise ValueError("a figure must be an inline <svg> element")
        if not title.strip() or not str(caption).strip():
            raise ValueError("every figure needs a title and a caption")
        number = self._report._next("figure")
        panels = "".join(f'<div class="plot">{svg}</div>' for svg in svgs)
        self.blocks.append(
            f'<figure class="figure" id="{escape(self.anchor)}-fig{number}">'
            f'<div class="pair">{panels}</div>'
            f"<figcaption><strong>Figure {number}. {escape(title)}.</strong> "
            f"{_html(caption)}</figcaption></figure>"
        )
        return self

    def table(
        self,
        headers: Sequence[str],
        rows: Iterable[Sequence[Content]],
        caption: Content,
        *,
        numeric: Sequence[bool] | None = None,
        shaded: Sequence[bool] | None = None,
    ) -> Section:
        """A numbered table; columns flagged ``numeric`` are right-aligned with tabular digits,
        rows flagged ``shaded`` get a tinted background (the caption says what it marks)."""
        number = self._report._next("table")
        numeric = list(numeric) if numeric is not None else [False] + [True] * (len(headers) - 1)
        head = "".join(
            f'<th scope="col"{" class=num" if n else ""}>{escape(h)}</th>'
            for h, n in zip(headers, numeric, strict=True)
        )
        body = []
        for index, row in enumerate(rows):
            cells = list(row)
            if len(cells) != len(headers):
                raise ValueError(f"a table row has {len(cells)} cells, expected {len(headers)}")
            tint = shaded is not None and shaded[index]
            body.append(
                ("<tr class=shaded>" if tint else "<tr>")
                + "".join(
                    f"<td{' class=num' if n else ''}>{_html(c)}</td>"
                    for c, n in zip(cells, numeric, strict=True)
                )
                + "</tr>"
            )
        self.blocks.append(
            f'<div class="table-wrap"><table><caption><strong>Table {number}.</strong> '
            f"{_html(caption)}</caption><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table></div>"
        )
        return self

    def steps(self, panels: Sequence[tuple[str, str, Content]], caption: Content) -> Section:
        """Small multiples: (svg, step title, step text) panels in a grid, read in order.

        A plain grid, not a script-driven stepper, so every step is visible with JavaScript
        off and on paper.
        """
        number = self._report._next("figure")
        cells = "".join(
            f'<li class="step"><div class="step-title">{escape(title)}</div>'
            f'<div class="plot">{svg}</div><div class="step-text">{_html(text)}</div></li>'
            for svg, title, text in panels
        )
        self.blocks.append(
            f'<figure class="figure wide" id="{escape(self.anchor)}-fig{number}">'
            f'<ol class="steps">{cells}</ol>'
            f"<figcaption><strong>Figure {number}.</strong> {_html(caption)}</figcaption></figure>"
        )
        return self

    def html(self, fragment: Markup) -> Section:
        self.blocks.append(str(fragment))
        return self

    def render(self) -> str:
        return (
            f'<section id="{escape(self.anchor)}"><h2>{self.label} {escape(self.heading)}</h2>'
            + "".join(self.blocks)
            + "</section>"
        )


class Report:
    """A report under construction: add sections, then :meth:`render` or :meth:`write`."""

    def __init__(self, title: str, subtitle: Content = "", footer: Content = "") -> None:
        self.title = title
        self.subtitle = subtitle
        self.footer = footer
        self.sections: list[Section] = []
        self._counters: dict[str, int] = {}

    def _next(self, kind: str) -> int:
        self._counters[kind] = self._counters.get(kind, 0) + 1
        return self._counters[kind]

    def section(self, anchor: str, heading: str, *, appendix: bool = False) -> Section:
        """A new numbered section, or with ``appendix`` a lettered appendix (A, B, ...), which
        must come after every numbered section."""
        if any(s.anchor == anchor for s in self.sections):
            raise ValueError(f"a section with anchor {anchor!r} already exists")
        appendices = sum(isinstance(s.number, str) for s in self.sections)
        if appendix:
            number: int | str = chr(ord("A") + appendices)
        elif appendices:
            raise ValueError(f"section {heading!r} comes after an appendix; add it before them")
        else:
            number = len(self.sections) + 1
        section = Section(anchor, heading, number, self)
        self.sections.append(section)
        return section

    def render(self) -> str:
        toc = "".join(
            f'<li><a href="#{escape(s.anchor)}">{s.label} {escape(s.heading)}</a></li>'
            for s in self.sections
        )
        subtitle = f'<p class="subtitle">{_html(self.subtitle)}</p>' if self.subtitle else ""
        footer = f"<footer>{_html(self.footer)}</footer>" if self.footer else ""
        return (
            "<!DOCTYPE html>\n"
            '<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            # Nothing may load from anywhere, not even a favicon request.
            '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
            "style-src 'unsafe-inline'; img-src data:\">"
            '<link rel="icon" href="data:,">'
            f"<title>{escape(self.title)}</title><style>{STYLESHEET}</style></head>"
            f"<body><header><h1>{escape(self.title)}</h1>{subtitle}"
            f'<nav aria-label="Contents"><ol>{toc}</ol></nav></header>'
            f"<main>{''.join(s.render() for s in self.sections)}</main>{footer}</body></html>\n"
        )

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Write the report atomically: readers never see a half-written file."""
        return write_text_atomic(path, self.render())


STYLESHEET = """
:root { --ink:#1f2933; --muted:#5f6b7a; --rule:#dde2e8; --accent:#c2410c; --soft:#f6f7f9;
  --good:#2b8a3e; }
* { box-sizing: border-box; }
body { margin:0; color:var(--ink); background:#fff;
  font:16px/1.55 "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; }
header, main, footer { max-width:64rem; margin:0 auto; padding:0 1.25rem; }
header { padding-top:2rem; border-bottom:1px solid var(--rule); }
h1 { font-size:2rem; margin:0 0 .25rem; letter-spacing:-.01em; }
.subtitle { color:var(--muted); margin:0 0 1rem; font-size:1.05rem; }
nav ol { display:flex; flex-wrap:wrap; gap:.35rem 1.25rem; padding:0; margin:0 0 1rem;
  list-style:none; font-size:.95rem; }
nav a, a { color:var(--accent); text-decoration:none; }
nav a:hover, a:hover { text-decoration:underline; }
section { padding:1.5rem 0 1rem; border-bottom:1px solid var(--rule); }
h2 { font-size:1.45rem; margin:.5rem 0 .75rem; }
h3 { font-size:1.1rem; margin:1.25rem 0 .5rem; }
p { margin:.5rem 0 .9rem; max-width:46rem; }
code { font:0.92em "DejaVu Sans Mono", Menlo, Consolas, monospace; background:var(--soft);
  padding:.05em .3em; border-radius:3px; }
.formula { overflow-x:auto; background:var(--soft); border-left:3px solid var(--accent);
  padding:.6rem 1rem; margin:.75rem 0 1rem; font-size:1.15rem; }
/* Inline formulas keep their fractions at the size of the text around them. */
math { math-style:normal; }
pre { background:var(--soft); padding:.75rem 1rem; border-radius:6px; overflow-x:auto;
  margin:.5rem 0; font-size:.88rem; line-height:1.45; }
pre code { background:none; padding:0; }
.listing { margin:.75rem 0 1.25rem; }
.pair { display:flex; flex-wrap:wrap; gap:.5rem 1.5rem; }
.pair > .plot { flex:1 1 20rem; min-width:0; }
tr.shaded td { background:#fff1e6; }
.facts { display:flex; flex-wrap:wrap; gap:.75rem; margin:.75rem 0 1rem; }
.fact { flex:1 1 9rem; border:1px solid var(--rule); border-radius:8px; padding:.6rem .8rem; }
.fact-value { font-size:1.35rem; font-weight:bold; font-variant-numeric:tabular-nums; }
.fact-label { color:var(--muted); font-size:.85rem; }
figure { margin:1rem 0 1.5rem; }
figure .plot svg { max-width:100%; height:auto; display:block; margin:0 auto; }
.plot.scroll { overflow-x:auto; border:1px solid var(--rule); border-radius:8px; padding:.4rem; }
.plot.scroll svg { max-width:none; margin:0; }
figcaption { color:var(--muted); font-size:.92rem; margin-top:.4rem; max-width:46rem; }
figcaption strong { color:var(--ink); }
.table-wrap { overflow-x:auto; margin:.75rem 0 1.25rem; }
table { border-collapse:collapse; font-size:.92rem; }
caption { caption-side:bottom; text-align:left; color:var(--muted); font-size:.88rem;
  padding-top:.35rem; position:sticky; left:0; max-width:min(46rem, calc(100vw - 1.5rem)); }
th, td { padding:.3rem .7rem; border-bottom:1px solid var(--rule); text-align:left; }
td { white-space:nowrap; }
th { border-bottom:2px solid var(--ink); }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; }
ol.steps { list-style:none; padding:0; margin:0; display:grid; gap:.75rem;
  grid-template-columns:repeat(auto-fill, minmax(min(27rem, 100%), 1fr)); }
li.step { border:1px solid var(--rule); border-radius:8px; padding:.5rem .6rem; }
.step-title { font-weight:bold; font-size:.92rem; }
.step-text { font-size:.85rem; color:var(--ink); }
.digits { display:flex; flex-wrap:wrap; gap:.5rem; }
footer { color:var(--muted); font-size:.85rem; padding:1rem 1.25rem 2rem; }
.side { display:flex; flex-wrap:wrap; gap:.5rem 1.5rem; align-items:flex-start; }
.side > * { flex:1 1 22rem; min-width:0; }
@media (max-width: 40rem) {
  header, main, footer { padding:0 .75rem; }
  h1 { font-size:1.5rem; }
  th, td { padding:.25rem .45rem; }
}
@media print {
  body { font-size:11pt; }
  nav { display:none; }
  section { border:0; }
  figure, li.step, .facts, table, .formula { break-inside:avoid; }
  .plot.scroll { overflow:visible; border:0; }
  .plot.scroll svg { max-width:100%; }
  h2, h3 { break-after:avoid; }
  a { color:inherit; }
}
"""
