"""How big each part of the demo is: the full run, and ``--quick`` (under 15 seconds)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from memograd.nn.recipes import RECIPES

DIGITS = RECIPES["digits"]


@dataclass(frozen=True)
class DemoSettings:
    """Every size the demo uses, so ``--quick`` differs from the full run in one place."""

    seed: int
    quick: bool
    # 1. Fibonacci: n from 1 to fib_max_n; naive is timed up to fib_naive_max_n.
    fib_max_n: int
    fib_naive_max_n: int
    # 2. The notes' network.
    arch: str = "2-2-2-1"
    param: str = "W1_11"
    # 3. Depth: width and depths of the cost table; naive backward timed within the budget.
    cost_width: int = 2
    cost_max_depth: int = 10
    naive_path_budget: int = 20_000
    timing_repeats: int = 3
    # 5. What memoization costs: plans for these depths, trade-off curves at a few, and one
    # chain (depth, width, batch) run under every plan.
    checkpoint_depths: tuple[int, ...] = (8, 16, 32, 64, 128, 256, 512, 1024)
    checkpoint_curve_depths: tuple[int, ...] = (8, 64, 1024)
    checkpoint_measured: tuple[int, int, int] = (32, 128, 64)
    # 6. The digits model: the full run trains with `memograd train`'s digits recipe.
    hidden: tuple[int, ...] = (64,)
    dropout: float = 0.0
    epochs: int = 30
    batch_size: int = 32
    learning_rate: float = 1e-3
    misclassified_shown: int = 8
    # Appendix. Speed: one training step of this MLP at this batch size.
    speed_sizes: tuple[int, ...] = (64, 256, 256, 10)
    speed_batch: int = 32
    speed_rounds: int = 9
    speed_batch_seconds: float = 0.2

    @classmethod
    def for_run(cls, *, quick: bool, seed: int = 0) -> DemoSettings:
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed must be a whole number >= 0, got {seed!r}")
        if quick:
            return cls(
                seed=seed,
                quick=True,
                fib_max_n=24,
                fib_naive_max_n=20,
                cost_max_depth=9,
                timing_repeats=1,
                hidden=(64,),
                epochs=20,
                speed_rounds=9,
                speed_batch_seconds=0.05,
                checkpoint_measured=(16, 32, 16),
            )
        return cls(
            seed=seed,
            quick=False,
            fib_max_n=30,
            fib_naive_max_n=27,
            cost_width=3,
            cost_max_depth=10,
            naive_path_budget=100_000,
            hidden=DIGITS.hidden,
            dropout=DIGITS.dropout,
            epochs=DIGITS.epochs,
            batch_size=DIGITS.batch_size,
            learning_rate=DIGITS.lr,
        )

    def as_dict(self) -> dict[str, object]:
        return asdict(self)
