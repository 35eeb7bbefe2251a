"""Write the explorable page: one HTML file with its script, styles and starting network inside.

The page (``explore.html``, ``explore.css``, ``explore.js`` beside this module) computes every
number itself, so a learner can change the network freely. What Python contributes is the
starting point: the explainer's own network for ``arch`` and ``seed`` (weights, biases, input,
target), embedded as JSON, so the page opens on exactly the numbers ``memograd paths`` prints.
The Content-Security-Policy allows the page's one script by its hash and nothing else: no
request can leave the page.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from importlib import resources
from pathlib import Path

from memograd._version import __version__
from memograd.explain.arch import Architecture, parse_arch
from memograd.explain.network import ACTIVATIONS, build_network
from memograd.explore.values import network_values

PAGE_NAME = "explore.html"
# The activations the page's script implements (explore.js), a subset of the explainer's.
PAGE_ACTIVATIONS = ("sigmoid", "tanh", "relu", "identity")
assert set(PAGE_ACTIVATIONS) <= set(ACTIVATIONS)
LIMITS = {"inputs": 4, "hidden_layers": 5, "width": 5, "outputs": 3}
"""The largest network the page offers: its drawing stays readable on a phone."""
FIB_N = 5
FIB_MAX_N = 10  # fib(10) is 177 calls: the largest tree that still reads as a tree

RULE = (
    "How the page makes numbers the starting network does not have: every number has a name "
    "(W2_1_3 is W²₁₃, b2_1, x1, y1) and keeps its value while the network has it; a new name "
    "gets fill_value(seed, name) from memograd.explore: a 32-bit hash of \u201cseed/name\u201d "
    "(FNV-1a, then murmur3's finalizer) read as u in [0, 1), giving weights and inputs "
    "2u \u2212 1, biases 0.1 (2u \u2212 1) and targets u. memograd.explore.page_network "
    "rebuilds the same network in Python, bit for bit."
)


def check_arch(arch: Architecture) -> None:
    """Refuse, naming the limit, a network larger than the page can draw and offer."""
    sizes = arch.sizes
    problems = []
    if sizes[0] > LIMITS["inputs"]:
        problems.append(f"{sizes[0]} inputs (at most {LIMITS['inputs']})")
    if len(sizes) - 2 > LIMITS["hidden_layers"]:
        problems.append(f"{len(sizes) - 2} hidden layers (at most {LIMITS['hidden_layers']})")
    wide = [size for size in sizes[1:-1] if size > LIMITS["width"]]
    if wide:
        problems.append(f"a hidden layer of {max(wide)} units (at most {LIMITS['width']})")
    if sizes[-1] > LIMITS["outputs"]:
        problems.append(f"{sizes[-1]} outputs (at most {LIMITS['outputs']})")
    if problems:
        raise ValueError(
            f"--arch {arch.text} is too large for the explorable page: {'; '.join(problems)}"
        )


def _asset(name: str) -> str:
    return resources.files("memograd.explore").joinpath(name).read_text(encoding="utf-8")


def _csp_hash(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def page_html(arch: str = "2-2-2-1", *, seed: int = 0, activation: str = "sigmoid") -> str:
    """The page for the explainer's ``build_network(arch, seed=seed, activation=activation)``."""
    architecture = parse_arch(arch)
    check_arch(architecture)
    if activation not in PAGE_ACTIVATIONS:
        raise ValueError(
            f"unknown activation {activation!r}; expected one of {', '.join(PAGE_ACTIVATIONS)}"
        )
    network = build_network(architecture, activation=activation, seed=seed)
    data = {
        "arch": list(architecture.sizes),
        "seed": seed,
        "activation": activation,
        "values": network_values(network),
        "limits": LIMITS,
        "fib_n": FIB_N,
        "fib_max_n": FIB_MAX_N,
    }
    # "</" would end the script element early; JSON allows the escaped form.
    embedded = json.dumps(data, allow_nan=False).replace("</", "<\\/")
    script, style = _asset("explore.js"), _asset("explore.css")
    csp = (
        f"default-src 'none'; script-src {_csp_hash(script)}; style-src {_csp_hash(style)}; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )
    options = "".join(f'<option value="{name}">{name}</option>' for name in PAGE_ACTIVATIONS)
    replacements = {
        "{{CSP}}": csp,
        "{{STYLE}}": style,
        "{{SCRIPT}}": script,
        "{{DATA}}": embedded,
        "{{ACTIVATION_OPTIONS}}": options,
        "{{RULE}}": _escape(RULE),
        "{{VERSION}}": __version__,
        "{{ARCH}}": architecture.text,
        "{{SEED}}": str(seed),
    }
    page = _asset("explore.html")
    for marker, value in replacements.items():
        if marker not in page:
            raise RuntimeError(f"the page template lost its {marker} marker")
        page = page.replace(marker, value)
    return page


def write_page(
    out: str | os.PathLike[str],
    arch: str = "2-2-2-1",
    *,
    seed: int = 0,
    activation: str = "sigmoid",
) -> Path:
    """Write ``out/explore.html`` atomically (``out`` is created if needed) and return its path."""
    from memograd._files import prepare_output_dir, write_atomically  # --out as the report's

    page = page_html(arch, seed=seed, activation=activation).encode("utf-8")
    directory = prepare_output_dir(out)
    return write_atomically(directory / PAGE_NAME, lambda handle: handle.write(page))
