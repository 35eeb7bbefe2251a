"""``memograd bench``: memograd's speed measured side by side with its peers.

- :mod:`~memograd.bench.harness`: timing in alternation over rounds, medians, ratios.
- :mod:`~memograd.bench.environment`: the header (cores, BLAS kernel and threads, versions).
- :mod:`~memograd.bench.mlp_steps`: one float32 MLP training step per peer;
  :func:`make_step` is the stable entry point other code reuses.

Peers that are not installed are skipped, never faked; ``pip install
'memograd[bench]'`` installs them all.
"""

from __future__ import annotations

from memograd.bench.mlp_steps import PEERS, MLPStep, PeerUnavailable, make_step

__all__ = ["PEERS", "MLPStep", "PeerUnavailable", "make_step"]
