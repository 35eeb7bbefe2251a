"""``memograd explore`` without a browser: the page file, its embedded network, the rule for
new numbers, and the command line's errors."""

from __future__ import annotations

import base64
import hashlib
import json
import re

import numpy as np
import pytest

from memograd.cli import main
from memograd.explain import build_network
from memograd.explain.arch import parse_arch
from memograd.explore import (
    LIMITS,
    check_arch,
    fill_value,
    network_values,
    page_html,
    page_network,
    value_names,
    write_page,
)


def embedded(page: str) -> dict:
    match = re.search(r'<script type="application/json" id="explore-data">(.*?)</script>', page)
    assert match is not None
    return json.loads(match.group(1))


def test_the_page_embeds_the_explainers_network_for_its_arch_and_seed():
    page = page_html("3-2-1", seed=4, activation="tanh")
    data = embedded(page)
    network = build_network("3-2-1", seed=4, activation="tanh")
    assert data["arch"] == [3, 2, 1] and data["seed"] == 4 and data["activation"] == "tanh"
    assert data["values"] == network_values(network)
    assert list(data["values"]) == value_names("3-2-1")
    assert data["limits"] == LIMITS


def test_the_script_is_inline_allowed_by_its_hash_and_nothing_is_fetched():
    page = page_html()
    scripts = re.findall(r"<script>(.*?)</script>", page, flags=re.DOTALL)
    assert len(scripts) == 1
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode()).digest()).decode()
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page).group(1)
    assert f"script-src 'sha256-{digest}'" in policy and policy.startswith("default-src 'none'")
    # No src= or href= that leaves the page; the only URL is the SVG namespace, a name.
    assert not re.search(r'\b(src|href)="(?!#|data:)', page)
    assert set(re.findall(r"https?://[^\s\"')]+", page)) == {"http://www.w3.org/2000/svg"}
    assert "fetch(" not in page and "XMLHttpRequest" not in page and "import(" not in page


def test_page_network_is_the_written_network_where_it_has_the_numbers():
    written = build_network("2-2-2-1", seed=0)
    same = page_network("2-2-2-1", seed=0, known=network_values(written))
    for ours, theirs in zip(
        (*same.weights, *same.biases, same.x, same.target),
        (*written.weights, *written.biases, written.x, written.target),
        strict=True,
    ):
        assert np.array_equal(ours, theirs)
    wider = page_network("2-3-2-1", seed=0, known={**network_values(written), "x1": 0.5})
    assert wider.weight(1, 1, 1) == written.weight(1, 1, 1)  # kept
    assert wider.weight(1, 1, 3) == fill_value(0, "W1_1_3")  # new: the rule
    assert wider.x[0] == 0.5


def test_fill_value_is_in_the_explainers_ranges_and_depends_on_seed_and_name():
    names = [f"W{k}_{i}_{j}" for k in range(1, 4) for i in range(1, 5) for j in range(1, 5)]
    weights = [fill_value(seed, name) for seed in range(5) for name in names]
    assert all(-1 <= w < 1 for w in weights) and len(set(weights)) == len(weights)
    assert abs(np.mean(weights)) < 0.1 and 0.5 < np.std(weights) < 0.65  # U(-1, 1): std 0.577
    assert all(-0.1 <= fill_value(s, f"b1_{j}") < 0.1 for s in range(20) for j in range(1, 5))
    assert all(0 <= fill_value(s, f"y{j}") < 1 for s in range(20) for j in range(1, 4))
    # The hash is fixed: these exact numbers are what every page and Python make.
    assert fill_value(0, "W1_1_1") == fill_value(0, "W1_1_1")
    assert fill_value(0, "W1_1_1") != fill_value(1, "W1_1_1")
    with pytest.raises(ValueError, match="expected a name like W2_1_3"):
        fill_value(0, "z1")
    with pytest.raises(ValueError, match="seed must be"):
        fill_value(-1, "W1_1_1")


def test_fill_value_is_the_documented_hash():
    def fnv1a_fmix(text: str) -> int:
        h = 2166136261
        for byte in text.encode():
            h = ((h ^ byte) * 16777619) % 2**32
        for shift, factor in ((16, 0x85EBCA6B), (13, 0xC2B2AE35)):
            h = ((h ^ (h >> shift)) * factor) % 2**32
        return h ^ (h >> 16)

    for seed, name in [(0, "W2_1_3"), (7, "b1_2"), (3, "x4"), (11, "y1")]:
        u = fnv1a_fmix(f"{seed}/{name}") / 2**32
        expected = {"W": 2 * u - 1, "x": 2 * u - 1, "b": 0.1 * (2 * u - 1), "y": u}[name[0]]
        assert fill_value(seed, name) == expected


@pytest.mark.parametrize(
    ("arch", "limit"),
    [
        ("5-2-1", "5 inputs"),
        ("2-6-1", "6 units"),
        ("2-2-2-2-2-2-2-1", "6 hidden"),
        ("2-4", "4 out"),
    ],
)
def test_networks_larger_than_the_page_are_refused_naming_the_limit(arch, limit):
    with pytest.raises(ValueError, match=limit):
        check_arch(parse_arch(arch))


def test_write_page_leaves_one_file(tmp_path):
    path = write_page(tmp_path / "out", "2-2-1", seed=2)
    assert path.name == "explore.html" and [p.name for p in path.parent.iterdir()] == [path.name]
    assert embedded(path.read_text(encoding="utf-8"))["seed"] == 2


def test_the_command_writes_the_page_and_prints_json(tmp_path, capsys):
    status = main(["explore", "--out", str(tmp_path), "--arch", "3-3-1", "--seed", "5", "--json"])
    out, err = capsys.readouterr()
    assert status == 0 and err == ""
    document = json.loads(out)
    assert document == {
        "page": str(tmp_path / "explore.html"),
        "arch": "3-3-1",
        "seed": 5,
        "activation": "sigmoid",
    }
    data = embedded((tmp_path / "explore.html").read_text(encoding="utf-8"))
    assert data["values"] == network_values(build_network("3-3-1", seed=5))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--arch", "2-9-1"], "too large for the explorable page: a hidden layer of 9 units"),
        (["--arch", "2-x-1"], "layer 1 is 'x'"),
        (["--activation", "softmax"], "invalid choice: 'softmax'"),
        (["--seed", "-1"], "expected a number >= 0"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, argv, message):
    status = main(["explore", "--out", str(tmp_path), *argv])
    out, err = capsys.readouterr()
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and message in err
    assert not (tmp_path / "explore.html").exists()


def test_an_out_that_is_a_file_is_refused(tmp_path, capsys):
    target = tmp_path / "taken"
    target.write_text("mine")
    assert main(["explore", "--out", str(target)]) == 2
    assert "is a file; expected a directory" in capsys.readouterr().err
    assert target.read_text() == "mine"
