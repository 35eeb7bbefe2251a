"""The report builder: escaping, numbering, refusals, atomic writes, nothing that loads."""

from __future__ import annotations

import os
import re
from html.parser import HTMLParser

import pytest

from memograd.viz import _svg, html

SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    '<rect width="5" height="5"/></svg>'
)


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend(attrs)


def _report() -> html.Report:
    report = html.Report("A <report>", "sub & title")
    first = report.section("one", "First")
    first.paragraph("1 < 2 and <script>alert(1)</script>", html.code("x & y"))
    first.figure(SVG, "Tiny", "A caption.")
    first.table(["name", "count"], [["a", "1"], ["b", "2"]], "Counts.")
    second = report.section("two", "Second")
    second.figure(SVG, "Tiny again", "Another caption.")
    second.math("∂L/∂W^1_11 = ∂L/∂Ŷ × ∂Ŷ/∂O_21")
    return report


def test_text_is_escaped_and_trusted_markup_is_not():
    page = _report().render()
    assert "<script>" not in page
    assert "1 &lt; 2 and &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<code>x &amp; y</code>" in page
    assert "<title>A &lt;report&gt;</title>" in page


def test_figures_tables_and_sections_are_numbered_in_order_with_a_table_of_contents():
    page = _report().render()
    assert re.findall(r"<strong>Figure (\d+)\.", page) == ["1", "2"]
    assert "<strong>Table 1.</strong>" in page
    assert re.findall(r"<h2>(\d+)\. ", page) == ["1", "2"]
    assert '<a href="#one">1. First</a>' in page and '<a href="#two">2. Second</a>' in page


def test_page_has_no_script_no_event_handler_and_no_external_reference():
    collector = _Collector()
    collector.feed(_report().render())
    assert "script" not in collector.tags
    assert not [name for name, _ in collector.attrs if name.startswith("on")]
    for name, value in collector.attrs:
        if name in ("src", "href"):
            assert value is not None and (value.startswith("#") or value.startswith("data:"))
    assert "math" in collector.tags and "mfrac" in collector.tags


def test_bad_figures_and_tables_are_refused():
    section = html.Report("r").section("s", "S")
    with pytest.raises(ValueError, match="inline <svg>"):
        section.figure("<img src='x.png'>", "t", "c")
    with pytest.raises(ValueError, match="title and a caption"):
        section.figure(SVG, "t", " ")
    with pytest.raises(ValueError, match="has 1 cells, expected 2"):
        section.table(["a", "b"], [["only one"]], "c")
    with pytest.raises(ValueError, match="already exists"):
        section._report.section("s", "again")


def test_write_is_atomic_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    target = tmp_path / "report.html"
    target.write_text("old report")

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(_svg.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _report().write(target)
    assert target.read_text() == "old report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]
    monkeypatch.undo()
    _report().write(target)
    assert target.read_text().startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask


def test_prefix_ids_rewrites_ids_and_every_reference_to_them():
    svg = (
        '<svg><defs><marker id="m"/><clipPath id="c"/></defs>'
        '<path marker-end="url(#m)" clip-path="url(#c)"/><use href="#m"/>'
        '<a href="#elsewhere"/></svg>'
    )
    out = _svg.prefix_ids(svg, "p-")
    assert 'id="p-m"' in out and 'id="p-c"' in out
    assert "url(#p-m)" in out and "url(#p-c)" in out and 'href="#p-m"' in out
    assert 'href="#elsewhere"' in out  # not an id of this drawing: left alone
