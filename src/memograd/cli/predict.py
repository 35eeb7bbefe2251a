"""``memograd predict``: run a saved model on a data file, one prediction per row.

    memograd predict --model model.npz --data new.csv            TSV: row, prediction, confidence
    memograd predict --model model.npz --data new.csv --json     one JSON document

The file may hold exactly the model's features, or more columns: a CSV whose header names every
feature the model was trained on is matched by name (so the training file itself, target column
and all, works). When the file also holds the target (that CSV column, an .npz ``y``, an IDX
labels sibling), the accuracy is reported too, and a label the model was never trained on is an
error naming its row. Predictions go to stdout; the accuracy line goes to stderr, so stdout
stays a clean table.
"""

from __future__ import annotations

import argparse
import csv
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from memograd.cli import _common


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "predict",
        help="predictions of a model saved by 'memograd train' for each row of a data file",
        description=(
            "Load a model saved by 'memograd train' (or MLPClassifier/MLPRegressor.save) and "
            "print its prediction for every row of FILE (CSV with a header, .npy, .npz or IDX)."
        ),
    )
    parser.add_argument("--model", required=True, metavar="PATH", help="the saved model (.npz)")
    parser.add_argument("--data", required=True, metavar="FILE", help="rows to predict")
    _common.add_json_flag(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from memograd.data import check_labels_in_classes
    from memograd.nn import MLPClassifier, MLPRegressor, load_checkpoint

    checkpoint = load_checkpoint(args.model)
    meta = checkpoint.metadata
    kinds = {"MLPClassifier": MLPClassifier, "MLPRegressor": MLPRegressor}
    kind = meta.get("estimator")
    if not isinstance(kind, str) or kind not in kinds:
        raise ValueError(
            f"{args.model}: a plain saved network, not a model from 'memograd train' (no "
            "estimator metadata); load it in Python with memograd.nn.load"
        )
    target_name = meta.get("target_name")
    if target_name is not None and not isinstance(target_name, str):
        raise ValueError(
            f"{args.model}: metadata field 'target_name' is {target_name!r}; expected a column name"
        )
    estimator = kinds[kind].load(args.model)
    if estimator.out_activation_ == "logistic" and estimator.n_outputs_ > 1:
        raise ValueError(
            f"{args.model}: a multilabel classifier; 'memograd predict' gives one label per row "
            "(use MLPClassifier.load(path).predict in Python)"
        )
    names = meta.get("feature_names")
    if names is not None and (
        not isinstance(names, list)
        or len(names) != estimator.n_features_in_
        or not all(isinstance(name, str) for name in names)
    ):
        raise ValueError(
            f"{args.model}: metadata field 'feature_names' must be {estimator.n_features_in_} "
            f"column names, one per input of the network, got {names!r}"
        )
    X, y, first_line = _features(args.data, estimator.n_features_in_, names, target_name)
    result: dict[str, Any] = {"model": args.model, "data": args.data, "rows": int(len(X))}
    if isinstance(estimator, MLPClassifier) and y is not None:
        # before predicting: a label the model never saw is the file's error
        check_labels_in_classes(y, estimator.classes_.tolist(), f"{args.data}: target", first_line)
    with warnings.catch_warnings():
        # The columns were matched by name above: an estimator fitted on a DataFrame would
        # otherwise warn that the array it gets has no column names.
        warnings.filterwarnings("ignore", message="X does not have valid feature names")
        result.update(_predictions(estimator, X, y))
    if args.json:
        _common.emit_json(result)
    else:
        _print_rows(result)
    return 0


def _predictions(estimator: Any, X: np.ndarray, y: Any) -> dict[str, Any]:
    if hasattr(estimator, "classes_"):
        probabilities = estimator.predict_proba(X)
        return {
            "classes": estimator.classes_.tolist(),
            "predictions": estimator.classes_[probabilities.argmax(axis=1)].tolist(),
            "confidence": probabilities.max(axis=1).tolist(),
            "probabilities": probabilities.tolist(),
            "accuracy": None if y is None else estimator.score(X, y),
        }
    return {
        "predictions": estimator.predict(X).tolist(),
        "r2": None if y is None else estimator.score(X, y),
    }


def _features(
    path: str, n_features: int, wanted: list[str] | None, target_name: str | None
) -> tuple[np.ndarray, Any, int | None]:
    """The model's features from ``path`` (CSV columns matched by the ``wanted`` names), the
    targets if present, and the first data line.

    The line number (2 for a CSV: line 1 is the header) lets label errors point into the file.
    """
    from memograd.data import DataError, detect_format, load_file
    from memograd.data.loading import AUTO

    kind = detect_format(path)
    if kind == "csv":
        header = _csv_header(path)
        target = target_name if target_name in header else None
        dataset = load_file(path, target=target)
    elif kind == "npy":
        dataset = load_file(path, target=None)
    else:
        dataset = load_file(path, target=AUTO)
    X, names = dataset.X, list(dataset.feature_names)
    if wanted and kind == "csv" and all(name in names for name in wanted):
        X = X[:, [names.index(name) for name in wanted]]
    elif X.shape[1] != n_features:
        missing = [n for n in (wanted or []) if n not in names] if kind == "csv" else []
        hint = f"; missing columns: {', '.join(missing[:10])}" if missing else ""
        raise DataError(
            f"{path}: rows have {X.shape[1]} features, the model expects {n_features}{hint}"
        )
    return X, dataset.y, 2 if kind == "csv" else None


def _csv_header(path: str) -> list[str]:
    with Path(path).open(encoding="utf-8-sig", newline="") as handle:
        row = next(csv.reader(handle), [])
    return [cell.strip() for cell in row]


def _print_rows(result: dict[str, Any]) -> None:
    classifier = "confidence" in result
    out = sys.stdout
    out.write("row\tprediction" + ("\tconfidence" if classifier else "") + "\n")
    for i, prediction in enumerate(result["predictions"]):
        if classifier:
            out.write(f"{i}\t{_tsv_cell(prediction)}\t{result['confidence'][i]:.4f}\n")
        else:
            value = ", ".join(f"{v:.6g}" for v in np.ravel(prediction))
            out.write(f"{i}\t{value}\n")
    if result.get("accuracy") is not None:
        print(f"accuracy {result['accuracy']:.4f} on {result['rows']} rows", file=sys.stderr)
    if result.get("r2") is not None:
        print(f"R^2 {result['r2']:.4f} on {result['rows']} rows", file=sys.stderr)


def _tsv_cell(value: Any) -> str:
    """A label as one TSV cell: a tab, line break or backslash inside is written escaped."""
    return str(value).translate(_TSV_ESCAPES)


_TSV_ESCAPES = str.maketrans(
    {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)
