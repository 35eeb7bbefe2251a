"""Threads that backpropagate through independent graphs sharing a leaf get exact gradients.

The graphs are built so that the race is wide open: the shared leaf ``x`` is complete (ready to
receive its gradient) at the very start of each backward pass and is delivered only at its end,
after thousands of nodes that do not involve it; at a 0.1 ms switch interval another thread's
pass starts in between on every run. Without the engine's lock that second pass took over the
leaf's working state and gradients went missing.
"""

from __future__ import annotations

import sys
import threading

import numpy as np
import pytest

import memograd as mg

THREADS = 4
ROUNDS = 4
TERMS = 3000


@pytest.fixture
def fast_switching():
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-4)
    yield
    sys.setswitchinterval(previous)


def run_threads(work) -> None:
    start = threading.Barrier(THREADS)

    def body():
        start.wait()
        for _ in range(ROUNDS):
            work()

    threads = [threading.Thread(target=body) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


@pytest.mark.parametrize("strategy", ["sweep", "memo"])
def test_shared_value_leaf(fast_switching, strategy):
    x = mg.Value(3.0)

    def work():
        s = mg.Value(0.0)
        for _ in range(TERMS):  # a long chain that x is not part of
            s = s + mg.Value(1.0)
        (x * s).backward(strategy=strategy)  # d/dx = s = TERMS

    run_threads(work)
    assert x.grad == TERMS * THREADS * ROUNDS


def test_shared_tensor_leaf(fast_switching):
    w = mg.Tensor(np.array([1.0, 2.0]), requires_grad=True)

    def work():
        s = mg.Tensor(np.zeros(2), requires_grad=True)
        for _ in range(TERMS // 10):
            s = s + 1.0
        (w * s).sum().backward()  # d/dw = s

    run_threads(work)
    np.testing.assert_array_equal(w.grad, np.full(2, TERMS // 10 * THREADS * ROUNDS))
