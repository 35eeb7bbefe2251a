"""``memograd train``: train an MLP on a built-in data set or a file, test it, save it.

    memograd train                                   the bundled digits, the digits recipe
    memograd train --dataset moons --json            a toy set; one JSON document on stdout
    memograd train --data iris.csv --target species --hidden 32 --epochs 100 --out iris.npz

The rows are split once (seeded, stratified by class) into 80% for training and 20% held out;
the held-out rows are touched only for the final score. Inputs are standardised with the
training rows' statistics, inside the saved model, so ``memograd predict`` takes raw features.

Each built-in data set comes with a recipe (hidden sizes, dropout, epochs, learning rate) that
reaches its accuracy target in a second or two here: 0.97+ on digits, 0.99+ on the 2-D sets.
Any flag given explicitly overrides the recipe.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from memograd.cli import _common
from memograd.nn.recipes import RECIPES, Recipe

DATASETS = ("digits", "moons", "circles", "spirals", "blobs")
ACTIVATIONS = ("relu", "leaky_relu", "gelu", "tanh", "sigmoid")
OPTIMIZERS = ("adam", "adamw", "sgd")
# The command's activation names -> the estimators' (scikit-learn's) where they differ.
ESTIMATOR_ACTIVATIONS = {"sigmoid": "logistic"}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train an MLP on built-in data or a file, report held-out accuracy, save the model",
        description=(
            "Train a multilayer perceptron with a progress bar, evaluate it on a held-out 20% "
            "of the rows, and save it (with its input standardisation and class names) to one "
            ".npz file that 'memograd predict' reads. Unset flags come from the data set's "
            "recipe: digits 256 hidden units, dropout 0.3, 40 epochs, lr 0.002; the 2-D sets "
            "64,64, 60 epochs, lr 0.003; files 128,64, 20 epochs, lr 0.001, batches of 64."
        ),
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--dataset", choices=DATASETS, help="a built-in data set (default: digits)")
    source.add_argument(
        "--data",
        metavar="FILE",
        help="your data: CSV with a header, .npy, .npz (arrays X and y) or MNIST-style IDX",
    )
    parser.add_argument(
        "--target",
        metavar="COL",
        help="with --data: the label column (CSV name or index, default the last column; "
        ".npz array name; for IDX the labels file, default the *-labels-idx1-ubyte sibling)",
    )
    parser.add_argument(
        "--hidden", type=hidden_sizes, metavar="SIZES", help="hidden sizes, e.g. 64,32"
    )
    parser.add_argument("--activation", choices=ACTIVATIONS, default="relu", help="default: relu")
    parser.add_argument(
        "--dropout", type=dropout_rate, metavar="P", help="dropout after hidden layers"
    )
    parser.add_argument("--epochs", type=at_least_one, metavar="N")
    parser.add_argument("--batch-size", type=at_least_one, metavar="N")
    parser.add_argument("--lr", type=_common.positive_float, metavar="X", help="learning rate")
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default="adam", help="default: adam")
    parser.add_argument(
        "--test-size", type=fraction, default=0.2, metavar="F", help="held-out fraction (0.2)"
    )
    parser.add_argument(
        "--seed", type=_common.non_negative_int, default=0, metavar="S", help="default: 0"
    )
    parser.add_argument("--out", default="model.npz", metavar="PATH", help="default: model.npz")
    _common.add_json_flag(parser)
    parser.set_defaults(func=run)


def at_least_one(text: str) -> int:
    value = _common.parse(text, int, "a whole number")
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {value}")
    return value


def hidden_sizes(text: str) -> tuple[int, ...]:
    parts = [part.strip() for part in text.split(",")]
    try:
        sizes = tuple(int(part) for part in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated layer sizes such as 64,32, got {text!r}"
        ) from None
    if any(size < 1 for size in sizes):
        raise argparse.ArgumentTypeError(f"every hidden size must be >= 1, got {text!r}")
    return sizes


def dropout_rate(text: str) -> float:
    value = _common.parse(text, float, "a number")
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a probability in [0, 1), got {text}")
    return value


def fraction(text: str) -> float:
    value = _common.parse(text, float, "a number")
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a fraction between 0 and 1, got {text}")
    return value


def run(args: argparse.Namespace) -> int:
    import memograd as mg
    from memograd.nn.estimators.scaling import fit_standardized

    out = Path(args.out)
    if out.is_dir():
        raise ValueError(f"--out {args.out}: is a directory; give a file name such as model.npz")
    if not out.parent.is_dir():
        raise ValueError(f"--out {args.out}: directory {str(out.parent)!r} does not exist")
    if args.target is not None and args.data is None:
        raise ValueError("--target needs --data FILE (the built-in data sets know their labels)")
    name = args.dataset or ("file" if args.data else "digits")
    dataset = _load(args, name)
    if dataset.y is None:
        raise ValueError(f"{args.data}: no target column found; name it with --target COL")
    recipe = _recipe(name, args)
    regression = dataset.y.dtype.kind == "f"
    stratify = not regression
    X_train, X_test, y_train, y_test = mg.data.train_test_split(
        dataset.X, dataset.y, test_size=args.test_size, seed=args.seed, stratify=stratify
    )
    estimator_class = mg.MLPRegressor if regression else mg.MLPClassifier
    estimator = estimator_class(
        **recipe.estimator_params(),
        activation=ESTIMATOR_ACTIVATIONS.get(args.activation, args.activation),
        # The command never set a weight decay, and AdamW without one is Adam.
        solver="sgd" if args.optimizer == "sgd" else "adam",
        random_state=args.seed,
        progress_bar=not args.json,
    )
    started = time.perf_counter()
    train_accuracy = fit_standardized(estimator, X_train, y_train)
    seconds = time.perf_counter() - started
    result: dict[str, Any] = {
        "dataset": args.data or name,
        "task": "regression" if regression else "classification",
        "rows_train": int(len(X_train)),
        "rows_test": int(len(X_test)),
        "features": int(dataset.n_features),
        "sizes": [int(dataset.n_features), *recipe.hidden, int(estimator.n_outputs_)],
        "activation": args.activation,
        "dropout": recipe.dropout,
        "optimizer": args.optimizer,
        "lr": recipe.lr,
        "batch_size": recipe.batch_size,
        "seed": args.seed,
        "parameters": int(sum(a.size for a in (*estimator.coefs_, *estimator.intercepts_))),
        "epochs": estimator.n_iter_,
        "train_loss": estimator.loss_curve_,
        "train_accuracy": train_accuracy,
        "seconds": seconds,
        "model_path": str(out),
    }
    if regression:
        result["test_accuracy"] = None
        result["test_r2"] = estimator.score(X_test, y_test)
        result["test_mse"] = float(np.mean((estimator.predict(X_test) - y_test) ** 2))
    else:
        result["test_accuracy"] = estimator.score(X_test, y_test)
        result["classes"] = estimator.classes_.tolist()
    estimator.save(
        out,
        feature_names=list(dataset.feature_names),
        target_name=dataset.target_name,
        dataset=result["dataset"],
        test_accuracy=result["test_accuracy"],
    )
    if args.json:
        _common.emit_json(result)
    else:
        _print_summary(result, regression)
    return 0


def _load(args: argparse.Namespace, name: str):
    import memograd as mg

    if args.data is not None:
        target = mg.data.loading.AUTO if args.target is None else args.target
        return mg.data.load_file(args.data, target=target)
    if name == "digits":
        return mg.data.load_digits()
    return getattr(mg.data, name)(seed=args.seed)


def _recipe(name: str, args: argparse.Namespace) -> Recipe:
    recipe = RECIPES[name]
    overrides = {
        "hidden": args.hidden,
        "dropout": args.dropout,
        "epochs": args.epochs,
        "lr": args.lr,
        "batch_size": args.batch_size,
    }
    return replace(recipe, **{k: v for k, v in overrides.items() if v is not None})


def _print_summary(result: dict[str, Any], regression: bool) -> None:
    sizes = "-".join(str(s) for s in result["sizes"])
    dropout = f", dropout {result['dropout']}" if result["dropout"] else ""
    print(
        f"{result['dataset']}: {result['rows_train']} training rows, {result['rows_test']} "
        f"held out, {result['features']} features"
    )
    print(
        f"model {sizes} {result['activation']}{dropout} ({result['parameters']:,} parameters), "
        f"{result['optimizer']} lr {result['lr']:g}, {result['epochs']} epochs of "
        f"{result['batch_size']}, seed {result['seed']}"
    )
    if regression:
        score = f"test R^2 {result['test_r2']:.4f}  test MSE {result['test_mse']:.4g}"
    else:
        score = f"test accuracy {result['test_accuracy']:.4f}"
    print(f"{score}  final train loss {result['train_loss'][-1]:.4f}  {result['seconds']:.1f} s")
    path = result["model_path"]
    print(f"saved {path}  (next: memograd predict --model {path} --data FILE)")
