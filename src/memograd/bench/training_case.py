"""Training to the accuracy target: ``memograd train --dataset digits`` against PyTorch.

The recipe is whatever ``memograd train --dataset digits`` uses by default (read from the
command's own parser, so the two cannot drift apart): the bundled digits, 20% held out
(stratified), features standardised on the training part, an MLP of the default hidden sizes
and activation, the default optimizer, learning rate, batch size and epochs. memograd trains
with ``mg.nn.fit``; PyTorch trains the same network from the same initial weights, with the
same optimizer hyperparameters and the same shuffled batches. Both evaluate the held-out set
after every epoch and stop at the first epoch whose accuracy reaches the target; the clock
covers training and those evaluations, not loading the data.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from memograd.bench.environment import peer_threads
from memograd.bench.harness import collector_sees_only_new_objects
from memograd.bench.results import Case, CaseResult, Row, Settings
from memograd.bench.unavailable import FeatureMissing

ACCURACY_TARGET = 0.97
TEST_FRACTION = 0.2


@dataclass(frozen=True)
class Recipe:
    """The defaults of ``memograd train --dataset digits``."""

    hidden: tuple[int, ...]
    activation: str
    epochs: int
    batch_size: int
    lr: float | None
    optimizer: str
    seed: int


def train_defaults() -> Recipe:
    """Parse ``memograd train --dataset digits`` and keep the options the training depends on."""
    from memograd.cli import COMMANDS, build_parser

    if "train" not in COMMANDS:
        raise FeatureMissing("memograd has no train command yet")
    args = build_parser().parse_args(["train", "--dataset", "digits"])
    hidden = args.hidden
    if isinstance(hidden, str):
        hidden = [int(part) for part in hidden.split(",") if part.strip()]
    return Recipe(
        hidden=tuple(int(h) for h in hidden),
        activation=args.activation,
        epochs=int(args.epochs),
        batch_size=int(args.batch_size),
        lr=None if args.lr is None else float(args.lr),
        optimizer=str(args.optimizer).lower(),
        seed=int(args.seed) if args.seed is not None else 0,
    )


@dataclass
class Split:
    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray


def digits_split(seed: int) -> Split:
    from memograd.data import Standardizer, load_digits, train_test_split

    X, y = load_digits()
    train_x, test_x, train_y, test_y = train_test_split(
        X, y, test_size=TEST_FRACTION, seed=seed, stratify=True
    )
    scaler = Standardizer().fit(train_x)
    return Split(
        scaler.transform(train_x).astype(np.float32),
        train_y,
        scaler.transform(test_x).astype(np.float32),
        test_y,
    )


class _TargetReached(Exception):
    """Raised from the epoch callback to end training at the first epoch on target."""


@dataclass
class Run:
    seconds: float | None  # to the first epoch on target; None if never reached
    epochs: int
    accuracy: float
    seconds_per_epoch: float


def train_memograd(recipe: Recipe, split: Split) -> tuple[Run, list[np.ndarray]]:
    """``mg.nn.fit`` with the recipe; also returns the initial weights for the PyTorch twin."""
    from memograd.nn import MLP, fit

    sizes = [split.train_x.shape[1], *recipe.hidden, 10]
    model = MLP(sizes, activation=recipe.activation, rng=recipe.seed)
    initial = [p.data.copy() for p in model.parameters()]
    reached: dict[str, Any] = {}
    start = time.perf_counter()

    def on_epoch(epoch: int, history: Any) -> None:
        reached["epoch"], reached["accuracy"] = epoch, history.val_accuracy[-1]
        reached["elapsed"] = time.perf_counter() - start
        if history.val_accuracy[-1] >= ACCURACY_TARGET:
            raise _TargetReached

    try:
        fit(
            model,
            split.train_x,
            split.train_y,
            loss="cross_entropy",
            optimizer=recipe.optimizer,
            lr=recipe.lr,
            epochs=recipe.epochs,
            batch_size=recipe.batch_size,
            validation=(split.test_x, split.test_y),
            seed=recipe.seed,
            verbose=False,
            on_epoch=on_epoch,
        )
    except _TargetReached:
        pass
    on_target = reached["accuracy"] >= ACCURACY_TARGET
    return (
        Run(
            seconds=reached["elapsed"] if on_target else None,
            epochs=reached["epoch"],
            accuracy=reached["accuracy"],
            seconds_per_epoch=reached["elapsed"] / reached["epoch"],
        ),
        initial,
    )


def train_torch(recipe: Recipe, split: Split, initial: list[np.ndarray]) -> Run:
    """The same network, start and batches in PyTorch eager, optimizer hyperparameters copied."""
    import torch
    import torch.nn.functional as F

    from memograd.data import BatchIterator
    from memograd.data.seeding import generator
    from memograd.nn import MLP
    from memograd.nn.training import make_optimizer

    torch.set_num_threads(peer_threads())
    activations = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid}
    if recipe.activation not in activations:
        raise FeatureMissing(f"no PyTorch twin for activation {recipe.activation!r}")
    sizes = [split.train_x.shape[1], *recipe.hidden, 10]
    layers: list[torch.nn.Module] = []
    for k, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        linear = torch.nn.Linear(fan_in, fan_out)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(initial[2 * k].T.copy()))
            linear.bias.copy_(torch.from_numpy(initial[2 * k + 1]))
        layers.append(linear)
        if k < len(sizes) - 2:
            layers.append(activations[recipe.activation]())
    model = torch.nn.Sequential(*layers)
    # The optimizer memograd's fit builds for this recipe, hyperparameters read back from it.
    reference = make_optimizer(recipe.optimizer, MLP(sizes), recipe.lr)
    optimizer = _torch_optimizer(torch, type(reference).__name__, reference.param_groups[0], model)
    batches = BatchIterator(
        split.train_x, split.train_y, recipe.batch_size, shuffle=True, seed=generator(recipe.seed)
    )
    test_x, test_y = torch.from_numpy(split.test_x), torch.from_numpy(split.test_y)
    start = time.perf_counter()
    accuracy, elapsed = 0.0, 0.0
    for epoch in range(1, recipe.epochs + 1):
        model.train()
        total, correct, seen = 0.0, 0, 0
        for xb, yb in batches:
            inputs, labels = torch.from_numpy(xb), torch.from_numpy(yb)
            outputs = model(inputs)
            loss = F.cross_entropy(outputs, labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += float(loss.item()) * len(xb)  # the same bookkeeping fit does
            correct += int((outputs.argmax(dim=1) == labels).sum())
            seen += len(xb)
        model.eval()
        with torch.no_grad():
            outputs = model(test_x)
            F.cross_entropy(outputs, test_y).item()
            accuracy = float((outputs.argmax(dim=1) == test_y).float().mean())
        elapsed = time.perf_counter() - start
        if accuracy >= ACCURACY_TARGET:
            return Run(elapsed, epoch, accuracy, elapsed / epoch)
    return Run(None, recipe.epochs, accuracy, elapsed / recipe.epochs)


def _torch_optimizer(torch: Any, name: str, group: dict[str, Any], model: Any) -> Any:
    params = model.parameters()
    if name in ("Adam", "AdamW"):
        return getattr(torch.optim, name)(
            params,
            lr=group["lr"],
            betas=tuple(group["betas"]),
            eps=group["eps"],
            weight_decay=group["weight_decay"],
        )
    if name == "SGD":
        return torch.optim.SGD(
            params,
            lr=group["lr"],
            momentum=group["momentum"],
            dampening=group["dampening"],
            weight_decay=group["weight_decay"],
            nesterov=group["nesterov"],
        )
    raise FeatureMissing(f"no PyTorch twin for optimizer {name}")


def _run_training(settings: Settings, result: CaseResult) -> None:
    recipe = train_defaults()
    split = digits_split(recipe.seed)
    with collector_sees_only_new_objects():
        memograd_run, initial = train_memograd(recipe, split)
    runs = {"memograd": memograd_run}
    try:
        import torch  # noqa: F401
    except ImportError as exc:
        result.skip_peer("torch", f"not installed ({exc.name})")
    else:
        with collector_sees_only_new_objects():
            runs["torch"] = train_torch(recipe, split, initial)
    arch = "-".join(map(str, [split.train_x.shape[1], *recipe.hidden, 10]))
    result.columns = ("epochs", "test_accuracy", "seconds_per_epoch")
    for name, run in runs.items():
        ratio = None
        if memograd_run.seconds is not None and run.seconds is not None:
            ratio = memograd_run.seconds / run.seconds
        result.rows.append(
            Row(
                label=name,
                seconds=run.seconds,
                ratio=ratio,
                extra={
                    "epochs": run.epochs,
                    "test_accuracy": round(run.accuracy, 4),
                    "seconds_per_epoch": round(run.seconds_per_epoch, 4),
                },
                note=f"MLP {arch}, {recipe.activation}, {recipe.optimizer}, "
                f"batch {recipe.batch_size}",
            )
        )
    result.met = memograd_run.seconds is not None
    if memograd_run.seconds is None:
        result.verdict = (
            f"test accuracy {memograd_run.accuracy:.4f} after {memograd_run.epochs} epochs: "
            f"below {ACCURACY_TARGET}"
        )
        return
    result.verdict = (
        f"{memograd_run.accuracy:.4f} after {memograd_run.epochs} epochs, "
        f"{memograd_run.seconds:.2f} s"
    )
    torch_run = runs.get("torch")
    if torch_run is not None and torch_run.seconds is not None:
        result.verdict += (
            f"; PyTorch {torch_run.seconds:.2f} s ({torch_run.epochs} epochs); "
            f"per epoch {memograd_run.seconds_per_epoch / torch_run.seconds_per_epoch:.2f}x "
            "PyTorch's time"
        )


TRAINING_CASES: tuple[Case, ...] = (
    Case(
        name="train_digits",
        title=f"memograd train --dataset digits defaults: seconds to test accuracy >= "
        f"{ACCURACY_TARGET}, against PyTorch",
        target=f"reach >= {ACCURACY_TARGET} within the default epochs; report seconds",
        run=_run_training,
    ),
)
