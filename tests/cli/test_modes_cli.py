"""memograd modes: forward vs reverse mode, passes and work counted exactly."""

from __future__ import annotations

import json


def test_counts_follow_the_shapes_and_both_ways_agree(run):
    status, out, err = run(
        "modes", "--arch", "2-2-2-1", "--shape", "3:7", "--shape", "7:3", "--json"
    )
    assert status == 0, err
    document = json.loads(out)
    (network,) = document["networks"]
    assert network == {
        "arch": "2-2-2-1",
        "parameters": 15,
        "forward_passes": 15,
        "forward_multiplications": 45,
        "reverse_passes": 1,
        "reverse_multiplications": 21,
    }
    few_inputs, few_outputs = document["jacobians"]
    # x @ A, tanh, @ B: three edges carry each pass's tangent (or adjoint)
    assert few_inputs["forward"] == {"passes": 3, "evaluations": 9}
    assert few_inputs["reverse"] == {"passes": 7, "evaluations": 21}
    assert few_outputs["forward"] == {"passes": 7, "evaluations": 21}
    assert few_outputs["reverse"] == {"passes": 3, "evaluations": 9}
    assert few_inputs["cheaper"] == "forward" and few_outputs["cheaper"] == "reverse"
    assert few_inputs["agree"] and few_outputs["agree"]


def test_text_and_measure(run):
    status, out, _ = run("modes", "--arch", "2-2-2-1", "--shape", "2:4", "--measure")
    assert status == 0
    assert "2-2-2-1" in out and "15, 45" in out and "1, 21" in out
    assert "forward / reverse time" in out


def test_bad_input_and_budgets_exit_2_with_one_line(run):
    for argv, message in [
        (("--shape", "3x4"), "expected inputs:outputs"),
        (("--shape", "0:4"), "expected a number >= 1, got 0"),
        (("--arch", "2-x-1"), "2-x-1"),
        (("--shape", "5000:5000"), "over the budget of 1,000,000 entries"),
    ]:
        status, out, err = run("modes", *argv)
        assert status == 2 and out == "", argv
        assert message in err and len(err.strip().splitlines()) == 1, err
