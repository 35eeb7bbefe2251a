"""The built-in layered layout: ranks, no overlaps, edges that start and end on their boxes."""

from __future__ import annotations

import pytest

from memograd.viz.layout import assign_ranks, layered_layout, topological_order


def test_topological_order_refuses_a_cycle_and_names_its_size():
    with pytest.raises(ValueError, match="cycle .3 nodes"):
        topological_order(4, [(0, 1), (1, 2), (2, 3), (3, 1)])


def test_every_edge_points_to_a_higher_rank_and_leaves_sit_next_to_their_consumer():
    # 0 -> 2 -> 3 -> 4, and leaf 1 used only by node 4: it belongs in rank(4) - 1, not rank 0.
    edges = [(0, 2), (2, 3), (3, 4), (1, 4)]
    ranks = assign_ranks(5, edges)
    assert all(ranks[t] > ranks[s] for s, t in edges)
    assert ranks == [0, 2, 1, 2, 3]


def _overlaps(placement, sizes):
    boxes = [
        (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
        for (cx, cy), (w, h) in zip(placement.centres, sizes, strict=True)
    ]
    return [
        (i, j)
        for i in range(len(boxes))
        for j in range(i + 1, len(boxes))
        if boxes[i][0] < boxes[j][2]
        and boxes[j][0] < boxes[i][2]
        and boxes[i][1] < boxes[j][3]
        and boxes[j][1] < boxes[i][3]
    ]


def test_layout_of_a_diamond_with_a_long_edge_has_no_overlaps_and_routes_touch_the_boxes():
    sizes = [(40.0, 20.0), (60.0, 30.0), (50.0, 20.0), (40.0, 20.0), (30.0, 20.0)]
    edges = [(0, 1), (0, 2), (1, 3), (2, 3), (0, 4), (3, 4)]
    placement = layered_layout(sizes, edges, margin=5)
    assert _overlaps(placement, sizes) == []
    for (s, t), route in zip(edges, placement.routes, strict=True):
        (sx, sy), (tx, ty) = placement.centres[s], placement.centres[t]
        assert route[0] == pytest.approx((sx + sizes[s][0] / 2, sy))
        assert route[-1] == pytest.approx((tx - sizes[t][0] / 2, ty))
    # The long edge 0 -> 4 crosses two ranks, so it bends through two dummy points.
    assert len(placement.routes[4]) == 4
    right = max(cx + w / 2 for (cx, _), (w, _) in zip(placement.centres, sizes, strict=True))
    assert placement.width == pytest.approx(right + 5)


def test_fixed_ranks_with_keep_order_keep_units_top_to_bottom():
    sizes = [(30.0, 20.0)] * 5
    edges = [(0, 2), (0, 3), (0, 4), (1, 2), (1, 3), (1, 4)]
    placement = layered_layout(sizes, edges, ranks=[0, 0, 1, 1, 1], keep_order=True)
    ys = [cy for _, cy in placement.centres]
    assert ys[0] < ys[1] and ys[2] < ys[3] < ys[4]
    assert _overlaps(placement, sizes) == []


def test_fixed_ranks_must_increase_along_every_edge():
    with pytest.raises(ValueError, match="edge 0->1"):
        layered_layout([(10.0, 10.0)] * 2, [(0, 1)], ranks=[1, 1])
