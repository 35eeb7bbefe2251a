"""``memograd explore``: an explorable page where a learner changes the network and watches
the chain rule's paths, the memo table and the counts.

The page is plain HTML, CSS and JavaScript (``explore.html``, ``explore.css``, ``explore.js``
in this package), written as one self-contained file by :func:`write_page`. Its script
computes every number for whatever network the learner builds; the tests drive it in a
headless browser and compare what it shows with :func:`memograd.explain.explain` to 1e-9.
:mod:`.values` is the rule by which the page makes numbers for weights the starting network
did not have, in Python, so the test (or a learner) rebuilds the page's network exactly.
"""

from __future__ import annotations

from memograd.explore.page import LIMITS, PAGE_NAME, RULE, check_arch, page_html, write_page
from memograd.explore.values import fill_value, network_values, page_network, value_names

__all__ = [
    "LIMITS",
    "PAGE_NAME",
    "RULE",
    "check_arch",
    "fill_value",
    "network_values",
    "page_html",
    "page_network",
    "value_names",
    "write_page",
]
