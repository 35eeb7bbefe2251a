"""Training to the accuracy target: ``memograd train --dataset digits`` against PyTorch.

The recipe is the digits row of ``mg.nn.recipes.RECIPES``, the table ``memograd train`` reads
(hidden sizes, dropout, epochs, batch size, learning rate), with the command's defaults for
what the recipe leaves to its flags (below; a test checks them against the command's parser):
the bundled digits, 20% held out (stratified), standardisation fitted on the training part,
a ReLU MLP trained by Adam. memograd trains with ``mg.nn.fit``; PyTorch trains the same network
from the same initial weights, with the same optimizer hyperparameters. Both evaluate the
held-out set after every epoch and stop at the first epoch whose accuracy reaches the target;
the clock covers training and those evaluations, not loading the data.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from benchmarks.environment import peer_threads
from benchmarks.results import Case, CaseResult, Row, Settings
from memograd.nn.recipes import RECIPES, Recipe
from memograd.timing import collector_sees_only_new_objects

ACCURACY_TARGET = 0.97
DATASET = "digits"
# `memograd train`'s defaults for what the recipe table leaves to its flags.
ACTIVATION = "relu"
OPTIMIZER = "adam"
TEST_SIZE = 0.2
SEED = 0


@dataclass
class Split:
    """The command's split: stratified, seeded; features left raw (the model standardises)."""

    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray


def digits_split() -> Split:
    from memograd.data import load_digits, train_test_split

    X, y = load_digits()
    train_x, test_x, train_y, test_y = train_test_split(
        X, y, test_size=TEST_SIZE, seed=SEED, stratify=True
    )
    return Split(train_x, train_y, test_x, test_y)


class _TargetReached(Exception):
    """Raised from the epoch callback to end training at the first epoch on target."""


@dataclass
class Run:
    seconds: float | None  # to the first epoch on target; None if never reached
    epochs: int
    accuracy: float
    seconds_per_epoch: float


def train_memograd(recipe: Recipe, split: Split) -> tuple[Run, list[np.ndarray]]:
    """What ``memograd train`` does (``MLPClassifier.fit``), spelled out to watch each epoch.

    The classifier builds ``Sequential(Standardize, MLP)`` from one seeded generator, which
    then also drives dropout and the batch order; the same calls in the same order here give
    the same run, plus a held-out evaluation after each epoch. Also returns the MLP's
    initial weights, for the PyTorch twin.
    """
    from memograd.data import Standardizer
    from memograd.nn import MLP, Sequential, Standardize, fit
    from memograd.seeding import generator

    rng = generator(SEED)
    sizes = [split.train_x.shape[1], *recipe.hidden, 10]
    mlp = MLP(sizes, activation=ACTIVATION, dropout=recipe.dropout, rng=rng)
    scaler = Standardizer().fit(split.train_x)
    model = Sequential(Standardize.fitted(scaler.mean_, scaler.scale_), mlp)
    initial = [p.data.copy() for p in mlp.parameters()]
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
            optimizer=OPTIMIZER,
            lr=recipe.lr,
            epochs=recipe.epochs,
            batch_size=recipe.batch_size,
            validation=(split.test_x, split.test_y),
            seed=rng,
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


def train_torch(
    recipe: Recipe, split: Split, initial: list[np.ndarray], max_epochs: int | None = None
) -> Run:
    """The same network, start and hyperparameters in PyTorch eager, evaluated every epoch.

    Standardisation is part of the model, as in memograd's; dropout masks and the batch
    order come from each library's own generator, so the two runs are twins, not clones.
    ``max_epochs`` cuts the run short (``--quick``): then only the time per epoch counts.
    """
    import torch
    import torch.nn.functional as F

    from memograd.data import BatchIterator, Standardizer
    from memograd.nn import MLP
    from memograd.nn.training import make_optimizer
    from memograd.seeding import generator

    torch.set_num_threads(peer_threads())
    torch.manual_seed(SEED)
    activations = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid}
    if ACTIVATION not in activations:
        raise ValueError(f"no PyTorch twin for activation {ACTIVATION!r}")
    scaler = Standardizer().fit(split.train_x)
    mean = torch.from_numpy(scaler.mean_.astype(np.float32))
    scale = torch.from_numpy(scaler.scale_.astype(np.float32))
    sizes = [split.train_x.shape[1], *recipe.hidden, 10]
    layers: list[torch.nn.Module] = []
    for k, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        linear = torch.nn.Linear(fan_in, fan_out)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(initial[2 * k].T.copy()))
            linear.bias.copy_(torch.from_numpy(initial[2 * k + 1]))
        layers.append(linear)
        if k < len(sizes) - 2:
            layers.append(activations[ACTIVATION]())
            if recipe.dropout > 0:
                layers.append(torch.nn.Dropout(recipe.dropout))
    network = torch.nn.Sequential(*layers)

    def model(x: Any) -> Any:
        return network((x - mean) / scale)

    # The optimizer memograd's fit builds for this recipe, hyperparameters read back from it.
    reference = make_optimizer(OPTIMIZER, MLP(sizes), recipe.lr)
    optimizer = _torch_optimizer(
        torch, type(reference).__name__, reference.param_groups[0], network
    )
    train_x = split.train_x.astype(np.float32)
    batches = BatchIterator(
        train_x, split.train_y, recipe.batch_size, shuffle=True, seed=generator(SEED)
    )
    test_x = torch.from_numpy(split.test_x.astype(np.float32))
    test_y = torch.from_numpy(split.test_y)
    start = time.perf_counter()
    accuracy, elapsed = 0.0, 0.0
    epochs = recipe.epochs if max_epochs is None else min(max_epochs, recipe.epochs)
    for epoch in range(1, epochs + 1):
        network.train()
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
        network.eval()
        with torch.no_grad():
            outputs = model(test_x)
            F.cross_entropy(outputs, test_y).item()
            accuracy = float((outputs.argmax(dim=1) == test_y).float().mean())
        elapsed = time.perf_counter() - start
        if accuracy >= ACCURACY_TARGET:
            return Run(elapsed, epoch, accuracy, elapsed / epoch)
    return Run(None, epochs, accuracy, elapsed / epochs)


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
    raise ValueError(f"no PyTorch twin for optimizer {name}")


def _median_run(runs: list[Run]) -> Run:
    """The run with the median time per epoch (epochs and accuracy are the same in all)."""
    return sorted(runs, key=lambda run: run.seconds_per_epoch)[len(runs) // 2]


def _run_training(settings: Settings, result: CaseResult) -> None:
    recipe = RECIPES[DATASET]
    split = digits_split()
    try:
        import torch  # noqa: F401
    except ImportError as exc:
        result.skip_peer("torch", f"not installed ({exc.name})")
        has_torch = False
    else:
        has_torch = True
    # Seeded runs repeat exactly, so repetitions differ only in the machine's noise: alternate
    # the two and keep each one's median run.
    repeats = 1 if settings.quick else 3
    if settings.quick and has_torch:
        result.notes.append("--quick: PyTorch trains 2 epochs, for its time per epoch only")
    trials: dict[str, list[Run]] = {"memograd": [], "torch": []}
    for _ in range(repeats):
        with collector_sees_only_new_objects():
            run, initial = train_memograd(recipe, split)
        trials["memograd"].append(run)
        if has_torch:
            with collector_sees_only_new_objects():
                trials["torch"].append(
                    train_torch(recipe, split, initial, max_epochs=2 if settings.quick else None)
                )
    runs = {name: _median_run(found) for name, found in trials.items() if found}
    memograd_run = runs["memograd"]
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
                note=f"MLP {arch}, {ACTIVATION}, dropout {recipe.dropout}, "
                f"{OPTIMIZER} lr {recipe.lr}, batch {recipe.batch_size}",
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
    if torch_run is not None:
        if torch_run.seconds is not None:
            result.verdict += f"; PyTorch {torch_run.seconds:.2f} s ({torch_run.epochs} epochs)"
        per_epoch = memograd_run.seconds_per_epoch / torch_run.seconds_per_epoch
        result.verdict += f"; per epoch {per_epoch:.2f}x PyTorch's time"


CASES: tuple[Case, ...] = (
    Case(
        name="train_digits",
        title=f"memograd train --dataset digits defaults: seconds to test accuracy >= "
        f"{ACCURACY_TARGET}, against PyTorch",
        target=f"reach >= {ACCURACY_TARGET} within the default epochs; report seconds",
        run=_run_training,
    ),
)
