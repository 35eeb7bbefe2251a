"""The report's "What memoization costs": every stored value named with its readers, the plans'
counts equal to their closed forms, and the measured run agreeing with the counts."""

from __future__ import annotations

import math

from memograd.demo.memory import HEADING, revolve_slots, stored_activations
from memograd.engine.schedules import revolve_advances
from memograd.explain import build_network


def test_the_notes_network_stores_every_value_its_backward_pass_reads() -> None:
    rows = stored_activations(build_network("2-2-2-1", seed=0))
    assert [r["symbol"] for r in rows] == ["x_1", "x_2", "O_11", "O_12", "O_21", "O_22", "Ŷ"]
    by_symbol = {r["symbol"]: r["read_by"] for r in rows}
    assert by_symbol["x_1"] == ["∂L/∂W¹₁₁, ∂L/∂W¹₁₂ (each: its unit's ∂L/∂O × slope × this)"]
    assert by_symbol["O_11"][0] == "its own slope σ′(z) = O(1 − O)"
    assert "W²₁₁" in by_symbol["O_11"][1] and "W²₁₂" in by_symbol["O_11"][1]
    assert by_symbol["O_21"][1] == "∂L/∂W³₁₁ (each: its unit's ∂L/∂O × slope × this)"
    assert by_symbol["Ŷ"] == ["∂L/∂Ŷ = 2(Ŷ − y)"]


def test_the_quick_reports_counts_and_measurements(quick_run) -> None:
    data = quick_run.document["sections"]["memory"]
    depths = [row["depth"] for row in data["rows"]]
    assert depths[0] == 8 and depths[-1] == 1024
    for row in data["rows"]:
        n = row["depth"]
        store_all, sqrt, revolve = row["plans"]
        assert store_all["forward_evaluations"] == n and store_all["peak_stored"] == n + 1
        segments = math.ceil(math.sqrt(n))
        assert sqrt["forward_evaluations"] == n + (segments - 1) * (n // segments)
        assert revolve["slots"] == revolve_slots(n) == math.ceil(math.log2(n))
        assert revolve["forward_evaluations"] == n + revolve_advances(n, revolve["slots"])
        assert revolve["peak_stored"] < sqrt["peak_stored"] < store_all["peak_stored"]
    for n, curve in data["curves"].items():
        evaluations = [point[1] for point in curve["revolve"]]
        assert evaluations == sorted(evaluations, reverse=True), n  # more slots, less work
    measured = data["measured"]
    plans = measured["plans"]
    assert all(p["measured"]["same_gradients"] for p in plans)
    assert [p["measured"]["forward_evaluations"] for p in plans] == [
        p["forward_evaluations"] for p in plans
    ]
    held = [p["measured"]["held_bytes"] for p in plans]
    assert held == sorted(held, reverse=True)
    for p in plans:  # the states, and the linear's output inside each recorded layer
        count = p["peak_stored"] + p["peak_recorded"]
        assert p["measured"]["held_bytes"] == count * measured["state_bytes"], p["kind"]
    page = quick_run.report.read_text(encoding="utf-8")
    assert HEADING in page and "Memory against recomputation" in page
