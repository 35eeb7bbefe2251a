"""The explorable page driven in a real headless browser (the shared ``browser`` fixture).

For several networks, built with the page's own controls, and several parameters, every number
the page shows is read back and compared with memograd's explainer on the same network to 1e-9:
the formula (as text, exactly), the path count, every listed factor (value and how it is made),
the path products, the naive, backprop, forward-mode and finite-difference gradients, the memo
table after the sweep, the multiplication counts, and forward mode's tangents against finite
differences. The network itself is read back from the page's Python line and rebuilt from the
documented rule (``memograd.explore.page_network``) bit for bit. Then: no request leaves the
page, the console stays clean, nothing overflows at 390 px, and it works from the keyboard.
"""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest

import memograd as mg
from memograd.explain import cost
from memograd.explain.symbols import unit_text
from memograd.explore import network_values, page_network, write_page
from memograd.fibonacci import fib_calls

from ..conftest import ARTIFACTS

TOLERANCE = 1e-9
DIFFERENCES: list[tuple[str, float]] = []  # (what, |page - Python|), summarized at the end
SEED = 0
WRITTEN = "2-2-2-1"


@pytest.fixture(scope="module")
def page_file(tmp_path_factory):
    return write_page(tmp_path_factory.mktemp("explore"), WRITTEN, seed=SEED)


@pytest.fixture
def page(browser, page_file):
    browser.open(page_file)
    browser.driver.find_element("css selector", "body.ready")
    yield browser
    assert browser.console_problems() == []


def by_id(page, element_id):
    return page.driver.find_element("id", element_id)


def type_number(page, element_id, value) -> None:
    """Select the field's text and type ``value``, then Enter: what a learner does."""
    from selenium.webdriver.common.keys import Keys

    field = by_id(page, element_id)
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(str(value), Keys.ENTER)


def build(page, sizes, activation, typed) -> None:
    from selenium.webdriver.support.ui import Select

    type_number(page, "inputs", sizes[0])
    type_number(page, "hidden-layers", len(sizes) - 2)
    for k in range(1, len(sizes) - 1):
        type_number(page, f"width-{k}", sizes[k])
    type_number(page, "outputs", sizes[-1])
    Select(by_id(page, "activation")).select_by_value(activation)
    for name, value in typed.items():
        type_number(page, name, value)


def choose(page, param) -> None:
    from selenium.webdriver.support.ui import Select

    Select(by_id(page, "param")).select_by_value(param)


READ = """
const num = (e) => (e && e.hasAttribute('data-value') ? Number(e.dataset.value) : null);
const rows = (selector) => [...document.querySelectorAll(selector)];
const text = (e) => e.textContent;
return {
  formula: document.getElementById('formula').getAttribute('data-text'),
  paths: num(document.getElementById('path-count')),
  loss: num(document.getElementById('loss-value')),
  path_rows: rows('#path-rows tr').map((r) => ({
    factors: [...r.querySelectorAll('.factor-value')].map((f) => ({
      symbol: f.dataset.symbol, expression: f.dataset.expression,
      value: num(f.querySelector('.value')), raw: f.querySelector('.value').dataset.value,
      shown: text(f.querySelector('.value'))})),
    product: num(r.querySelector('[data-product]')),
  })),
  gradients: Object.fromEntries(rows('#gradient-rows tr').map((r) => [r.dataset.method,
    {value: num(r.querySelector('.value')), shown: text(r.querySelector('.value')),
     mults: num(r.cells[2])}])),
  every: Object.fromEntries(rows('#every-rows tr').map((r) => [r.dataset.method, num(r.cells[1])])),
  growth: rows('#growth-rows tr').map((r) => [r.dataset.arch, ...[...r.cells].slice(1).map(num)]),
  memo: rows('#memo-rows tr').map((r) => [r.dataset.key, num(r.querySelector('.value')),
    Number(r.cells[3].textContent)]),
  so_far: num(document.getElementById('count-so-far')),
  python: document.getElementById('python-code').textContent,
};
"""


def read(page) -> dict:
    return page.driver.execute_script(READ)


def close(page_value, python_value, what: str) -> None:
    difference = abs(page_value - python_value)
    DIFFERENCES.append((what, difference))
    assert difference <= TOLERANCE, f"{what}: page {page_value!r}, Python {python_value!r}"


def python_explanation(shown: dict):
    """Run the page's own Python line; it must rebuild the page's network."""
    namespace: dict = {}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(shown["python"], namespace)  # noqa: S102 - the page's line is the point
    return namespace["e"]


def forward_count(sizes, ref) -> int:
    """Forward mode's multiplications in closed form: n_(k+1) + Σ_{m=k+2}^{K} n_(m-1) n_m + n_K."""
    depth, k = len(sizes) - 1, ref.layer
    if k == depth:
        return 0 if ref.kind == "O" else 1
    first = sizes[k + 1] if ref.kind != "O" else 0
    return first + sum(sizes[m - 1] * sizes[m] for m in range(k + 2, depth + 1)) + sizes[depth]


CASES = [
    # (architecture, hidden activation, parameter, numbers the learner types)
    ("2-2-2-1", "sigmoid", "W1_1_1", {}),  # the notes' network, as written
    ("2-2-2-1", "sigmoid", "O1_2", {}),  # a unit output
    ("3-4-2-2", "tanh", "W1_3_2", {"x1": 0.5, "y2": -0.25}),
    ("2-3-3-3-1", "relu", "b2_2", {"x2": -1.5}),
    ("4-5-5-5-1", "sigmoid", "W1_2_3", {}),  # 25 paths: the formula is elided
    ("1-1", "identity", "W1_1_1", {}),  # no hidden layer
    ("2-3-3-3", "tanh", "W2_1_2", {"y3": 0.75}),  # three outputs
    ("3-2-2-1", "sigmoid", "O3_1", {}),  # the output Ŷ itself
]


@pytest.mark.parametrize(("arch", "activation", "param", "typed"), CASES)
def test_every_number_the_page_shows_equals_the_explainer(page, arch, activation, param, typed):
    sizes = [int(n) for n in arch.split("-")]
    build(page, sizes, activation, typed)
    choose(page, param)
    by_id(page, "step-end").click()
    shown = read(page)

    # The network: the page's Python line rebuilds it, and so does the documented rule.
    e = python_explanation(shown)
    written = network_values(mg.explain.build_network(WRITTEN, seed=SEED))
    rebuilt = page_network(arch, seed=SEED, known={**written, **typed}, activation=activation)
    assert e.arch.text == arch and e.ref.name == param
    for ours, theirs in zip(
        (*rebuilt.weights, *rebuilt.biases, rebuilt.x, rebuilt.target),
        (*e.network.weights, *e.network.biases, e.network.x, e.network.target),
        strict=True,
    ):
        assert np.array_equal(ours, theirs)
    assert e.network.activations == rebuilt.activations

    close(shown["loss"], e.network.forward.loss, "loss")
    assert shown["formula"] == e.formula
    assert shown["paths"] == e.paths
    assert len(shown["path_rows"]) == len(e.shown_paths) == min(e.paths, 8)
    for row, path in zip(shown["path_rows"], e.shown_paths, strict=True):
        assert [f["symbol"] for f in row["factors"]] == [f.symbol for f in path.factors]
        assert [f["expression"] for f in row["factors"]] == [f.expression for f in path.factors]
        for f, factor in zip(row["factors"], path.factors, strict=True):
            close(f["value"], factor.value, f"{path.text}: {factor.symbol}")
            assert f["shown"] == format(float(f["raw"]), ".6g")  # the text is the number
        close(row["product"], path.product, f"product of {path.text}")

    gradients = shown["gradients"]
    close(gradients["naive"]["value"], e.naive_gradient, "naive gradient")
    close(gradients["reverse"]["value"], e.memo.gradient, "memo table gradient")
    close(gradients["reverse"]["value"], e.memo_gradient, "engine's backward")
    close(gradients["forward"]["value"], e.memo_gradient, "forward mode")
    close(gradients["fd"]["value"], e.finite_difference, "finite difference")
    assert gradients["reverse"]["shown"] == f"{gradients['reverse']['value']:.10g}"
    assert gradients["naive"]["mults"] == e.naive_multiplications
    assert gradients["reverse"]["mults"] == e.memo_multiplications
    assert gradients["forward"]["mults"] == forward_count(sizes, e.ref)

    # The memo table after the whole sweep: the explainer's adjoints, then the gradient.
    memo = shown["memo"]
    adjoints = dict(e.memo.adjoints)
    units = [(key, value) for key, value, _ in memo if key in adjoints]
    assert [key for key, _ in units] == list(adjoints)
    for key, value in units:
        close(value, adjoints[key], f"memo table entry ∂L/∂{key}")
    close(memo[-1][1], e.memo.gradient, "the last entry")
    assert sum(m for *_, m in memo) == shown["so_far"] == e.memo_multiplications

    # Every weight at once, and the same gradient as the network grows: exact counts.
    assert shown["every"]["naive"] == cost.naive_multiplications(arch)
    assert shown["every"]["reverse"] == cost.backprop_multiplications(arch)
    assert shown["every"]["forward"] == sum(
        sizes[k - 1] * sizes[k] * forward_count(sizes, mg.explain.ParamRef("W", k, 1, 1))
        for k in range(1, len(sizes))
    )
    for grown, paths, naive, backprop, forward in shown["growth"]:
        ref = mg.explain.parse_param(param, grown)
        assert paths == mg.explain.count_paths(mg.explain.parse_arch(grown), ref)
        assert naive == mg.explain.naive_multiplication_count(mg.explain.parse_arch(grown), ref)
        assert backprop == mg.explain.memo_multiplication_count(mg.explain.parse_arch(grown), ref)
        assert forward == forward_count([int(n) for n in grown.split("-")], ref)


@pytest.mark.parametrize(("arch", "activation", "param", "typed"), CASES[1:5])
def test_forward_mode_tangents_are_finite_differences_and_end_in_the_gradient(
    page, arch, activation, param, typed
):
    sizes = [int(n) for n in arch.split("-")]
    build(page, sizes, activation, typed)
    choose(page, param)
    page.driver.find_element("css selector", 'input[name="mode"][value="forward"]').click()
    by_id(page, "step-end").click()
    shown = read(page)
    e = python_explanation(shown)
    network, ref = e.network, e.ref
    symbols = {
        unit_text(network.arch, k, j): (k, j)
        for k in range(1, len(sizes))
        for j in range(1, sizes[k] + 1)
    }
    h = 1e-6
    up, down = network.run_forward((ref, h)), network.run_forward((ref, -h))
    *tangents, last = shown["memo"]
    for key, value, _ in tangents:
        k, j = symbols[key]
        difference = (up.outputs[k][j - 1] - down.outputs[k][j - 1]) / (2 * h)
        assert value == pytest.approx(difference, rel=1e-6, abs=1e-8), key
    assert last[0] == "L"
    close(last[1], e.memo_gradient, "forward mode's ∂L/∂p")
    assert sum(m for *_, m in shown["memo"]) == shown["so_far"] == forward_count(sizes, ref)


def test_the_fill_rule_and_the_number_format_are_pythons_bit_for_bit(page):
    from memograd.explore import fill_value

    names = ["W1_1_1", "W5_4_3", "b3_2", "b1_1", "x1", "x4", "y1", "y3"]
    seeds = [0, 1, 7, 123456]
    got = page.driver.execute_script(
        "return arguments[0].map(([s, n]) => window.memogradExplore.fillValue(s, n));",
        [[s, n] for s in seeds for n in names],
    )
    assert got == [fill_value(s, n) for s in seeds for n in names]
    rng = np.random.default_rng(0)
    values = [0.125, 2.5, 0.5, -0.0, 1e-5, 9.9999995e-5, 123456789.0, 1e16, -3.14159e-7]
    values += (rng.standard_normal(200) * 10.0 ** rng.integers(-8, 8, 200)).tolist()
    for digits in (4, 6, 10):
        shown = page.driver.execute_script(
            "return arguments[0].map((x) => window.memogradExplore.fmtG(x, arguments[1]));",
            values,
            digits,
        )
        assert shown == [format(v, f".{digits}g") for v in values]


@pytest.mark.parametrize("n", [0, 1, 2, 5, 10])
def test_fibonacci_call_counts_are_memograd_fibonaccis(page, n):
    type_number(page, "fib-n", n)
    counts = page.driver.execute_script(
        "return ['fib-calls-naive', 'fib-calls-memo', 'fib-calls-pruned'].map("
        "(id) => Number(document.getElementById(id).dataset.value));"
    )
    assert counts == [
        fib_calls(n, "naive"),
        fib_calls(n, "memo"),
        fib_calls(n, "naive") - fib_calls(n, "memo"),
    ]
    calls = page.driver.find_elements("css selector", "#fib-tree g.call")
    assert len(calls) == fib_calls(n, "naive")
    by_id(page, "fib-memo").click()
    pruned = page.driver.find_elements("css selector", "#fib-tree g.call.pruned")
    hits = page.driver.find_elements("css selector", "#fib-tree g.call.hit")
    assert len(calls) - len(pruned) == fib_calls(n, "memo")
    assert len(hits) == max(0, n - 2)  # fib(k - 2) found in the memo, for k = n..3


def test_the_sweep_steps_forward_and_back_naming_the_adjoints_it_reuses(page):
    step = by_id(page, "step-next")
    for _ in range(4):
        step.click()
    assert by_id(page, "step-count").text == "step 4 of 5"
    # Step 4 is ∂L/∂O_11 = ∂L/∂O_21 × ∂O_21/∂O_11 + ∂L/∂O_22 × ∂O_22/∂O_11.
    reuse = by_id(page, "step-reuse").text
    assert "Reuses 2 stored adjoints: ∂L/∂O₂₁ (step 2), ∂L/∂O₂₂ (step 3)" in reuse
    assert page.driver.find_elements("css selector", "#graph .edge.read") != []
    assert len(page.driver.find_elements("css selector", "#memo-rows tr.stored")) == 3
    by_id(page, "step-back").click()
    assert by_id(page, "step-count").text == "step 3 of 5"
    assert len(page.driver.find_elements("css selector", "#memo-rows tr.current")) == 1
    assert by_id(page, "count-so-far").get_attribute("data-value") == "2"


def test_no_request_leaves_the_page(browser, page_file):
    browser.open(page_file)
    build(browser, [3, 4, 4, 2], "tanh", {"x1": 0.25})
    by_id(browser, "step-end").click()
    type_number(browser, "fib-n", 8)
    sent = browser.requests()
    assert [url for _, url in sent if not url.startswith("data:")] == [page_file.as_uri()]
    assert browser.console_problems() == []
    # The one inline script runs by its hash; nothing else may load or run.
    policy = browser.driver.find_element(
        "css selector", 'meta[http-equiv="Content-Security-Policy"]'
    ).get_attribute("content")
    assert policy.startswith("default-src 'none'; script-src 'sha256-")


def test_on_a_phone_nothing_overflows_and_fractions_are_body_size(browser, page_file):
    browser.open(page_file, width=390)
    for state in ("as written", "largest"):
        if state == "largest":
            build(browser, [4, 5, 5, 5, 5, 5, 3], "sigmoid", {})
            type_number(browser, "fib-n", 10)
            by_id(browser, "step-end").click()
        overflow, culprits = browser.horizontal_overflow()
        assert overflow == 0, (state, culprits)
    sizes = browser.driver.execute_script(
        "const px = (e) => parseFloat(getComputedStyle(e).fontSize);"
        "return [px(document.body), px(document.querySelector('#formula .frac .num'))];"
    )
    assert sizes[1] == sizes[0] == 16
    assert browser.console_problems() == []


def test_the_page_works_from_the_keyboard(page):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    driver = page.driver

    def active() -> str:
        return driver.execute_script(
            "const a = document.activeElement;"
            "return a.id || a.getAttribute('data-ref') || a.className.baseVal || a.className;"
        )

    def tab_to(target, limit=60, backwards=False) -> None:
        for _ in range(limit):
            if active() == target:
                return
            keys = (Keys.SHIFT, Keys.TAB) if backwards else (Keys.TAB,)
            ActionChains(driver).send_keys(*keys).perform()
        raise AssertionError(f"Tab never reached {target!r}; stopped on {active()!r}")

    def press(*keys) -> None:
        ActionChains(driver).send_keys(*keys).perform()

    tab_to("inputs")
    press(Keys.ARROW_UP)  # a control changed from the keyboard: 3 inputs
    assert active() == "inputs"
    assert len(driver.find_elements("css selector", "#graph .unit.input")) == 3
    tab_to("param")
    press(Keys.ARROW_DOWN)  # the next parameter in the list
    assert by_id(page, "param").get_attribute("value") == "W1_1_2"
    tab_to("W1_1_2")  # into the drawing: one tab stop, arrows move, Enter picks
    press(Keys.ARROW_RIGHT)
    press(Keys.ENTER)
    assert by_id(page, "param").get_attribute("value") == "W1_2_1"
    press(Keys.TAB)  # on to the formula's first factor: its value and how it is made
    tab_to("frac factor")
    press(Keys.ARROW_RIGHT)
    assert "σ'(z" in by_id(page, "factor-detail").text or "×" in by_id(page, "factor-detail").text
    tab_to("step-next")
    press(Keys.ENTER)
    press(Keys.SPACE)
    assert by_id(page, "step-count").text.startswith("step 2 of")
    tab_to("step-back", backwards=True)
    press(Keys.ENTER)
    assert by_id(page, "step-count").text.startswith("step 1 of")


def test_screenshots_at_desktop_and_phone_width(browser, page_file):
    browser.open(page_file)
    by_id(browser, "step-next").click()
    by_id(browser, "step-next").click()
    by_id(browser, "step-next").click()
    browser.driver.execute_script("document.querySelector('#formula .factor').focus()")
    by_id(browser, "fib-memo").click()
    for width in (1280, 390):
        target = browser.screenshot(f"explore-{width}.png", width=width)
        assert target.stat().st_size > 50_000


def test_largest_difference_from_python_is_recorded():
    assert DIFFERENCES, "the comparisons ran first"
    largest = max(DIFFERENCES, key=lambda pair: pair[1])
    exact = [d for what, d in DIFFERENCES if "finite difference" not in what]
    ARTIFACTS.mkdir(exist_ok=True)
    summary = {
        "comparisons": len(DIFFERENCES),
        "largest": largest[1],
        "largest_is": largest[0],
        "largest_without_finite_differences": max(exact),
    }
    (ARTIFACTS / "explore-differences.json").write_text(json.dumps(summary) + "\n")
    assert largest[1] <= TOLERANCE
