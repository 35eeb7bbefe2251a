"""memograd's MLPClassifier against scikit-learn's, with equal settings, on the bundled digits.

5-fold stratified cross-validation (shuffled, seed 0) of ``MLPClassifier(random_state=fold)``
with scikit-learn's defaults on both sides: one hidden layer of 100 ReLU units, Adam at 1e-3,
batches of 200, L2 alpha 1e-4, up to 200 epochs, stopping after 10 epochs without a 1e-4 gain.
Each fold fits both estimators on the same rows, in alternating order, three times each (the
fits are identical: the fastest of the three is the one least disturbed by other jobs), and
times ``fit`` alone, in wall-clock and in CPU seconds (with one BLAS thread the CPU time is the
work done, and it moves less than the wall clock when other jobs share the machine). The table
gives the medians with the range over folds, the mean held-out accuracy with its standard
deviation, the time per epoch, and scikit-learn's medians divided by memograd's.

Two cases: the digits as float64 (what both use by default) and as float32 (both train in
float32 when given float32, scikit-learn's rule, which memograd follows). A last line compares
memograd in float32 (its ``dtype="float32"`` keyword does the same on float64 input) with
scikit-learn's default float64 run: not equal settings, but the choice memograd offers.
BLAS runs on one thread for both when threadpoolctl is installed (a shared machine's second
core makes the timings noise), and memograd's allocator setting (``keep_freed_memory``) is on
for both, as in ``memograd bench``.

    python benchmarks/estimators_vs_sklearn.py            # the full run, about two minutes
    python benchmarks/estimators_vs_sklearn.py --quick    # 2 folds of 20 epochs: a smoke test
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
import warnings
from collections.abc import Iterator
from typing import Any

FOLDS = 5
REPEATS = 3  # each fold is fitted this many times per peer; the fastest fit counts
CASES = ("float64", "float32")
PEERS = ("memograd", "scikit-learn")


def run(quick: bool) -> list[dict[str, Any]]:
    """One row per (case, peer): per-fold fit seconds, accuracies and epochs, and summaries."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import StratifiedKFold
    from sklearn.neural_network import MLPClassifier as SklearnMLP

    import memograd as mg
    from memograd.engine import keep_freed_memory

    keep_freed_memory()
    X, y = mg.data.load_digits()
    splits = list(StratifiedKFold(FOLDS, shuffle=True, random_state=0).split(X, y))
    settings: dict[str, Any] = {"max_iter": 20} if quick else {}
    if quick:
        splits = splits[:2]
    peers = {"memograd": mg.MLPClassifier, "scikit-learn": SklearnMLP}
    rows = []
    with _one_blas_thread(), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # quick runs stop at max_iter
        for case in CASES:
            data = X.astype(case)
            found = {p: {"s": [], "cpu": [], "acc": [], "ep": []} for p in PEERS}
            for fold, (train, test) in enumerate(splits):
                times: dict[str, list[tuple[float, float]]] = {p: [] for p in PEERS}
                fitted = {}
                for repeat in range(1 if quick else REPEATS):
                    order = PEERS if (fold + repeat) % 2 == 0 else PEERS[::-1]
                    for peer in order:
                        fitted[peer] = peers[peer](random_state=fold, **settings)
                        started, cpu = time.perf_counter(), time.process_time()
                        fitted[peer].fit(data[train], y[train])
                        times[peer].append(
                            (time.perf_counter() - started, time.process_time() - cpu)
                        )
                for peer in PEERS:  # the least disturbed of the repeats (the fits are equal)
                    wall, cpu = min(times[peer])
                    found[peer]["s"].append(wall)
                    found[peer]["cpu"].append(cpu)
                    found[peer]["acc"].append(float(fitted[peer].score(data[test], y[test])))
                    found[peer]["ep"].append(int(fitted[peer].n_iter_))
            for peer in PEERS:
                rows.append(_summary(case, peer, found[peer], quick))
            mine, theirs = rows[-2], rows[-1]
            mine["speedup"] = theirs["fit_median_s"] / mine["fit_median_s"]
            mine["cpu_speedup"] = theirs["cpu_median_s"] / mine["cpu_median_s"]
            mine["epoch_speedup"] = (
                theirs["cpu_ms_per_epoch_median"] / mine["cpu_ms_per_epoch_median"]
            )
            mine["accuracy_within_1_sd"] = (
                abs(mine["accuracy_mean"] - theirs["accuracy_mean"]) <= theirs["accuracy_sd"]
            )
    return rows


def _summary(case: str, peer: str, found: dict[str, list], quick: bool) -> dict[str, Any]:
    seconds, cpu, accuracy = found["s"], found["cpu"], found["acc"]
    return {
        "case": case,
        "peer": peer,
        "quick": quick,
        "folds": len(seconds),
        "fit_seconds": seconds,
        "cpu_seconds": cpu,
        "accuracy": accuracy,
        "epochs": found["ep"],
        "fit_median_s": statistics.median(seconds),
        "fit_min_s": min(seconds),
        "fit_max_s": max(seconds),
        "cpu_median_s": statistics.median(cpu),
        "cpu_min_s": min(cpu),
        "cpu_max_s": max(cpu),
        "accuracy_mean": statistics.fmean(accuracy),
        "accuracy_sd": statistics.stdev(accuracy) if len(accuracy) > 1 else 0.0,
        "epochs_median": statistics.median(found["ep"]),
        # time per epoch: the stopping rule is the same, but not the epoch it stops at
        "cpu_ms_per_epoch_median": statistics.median(
            1000 * c / e for c, e in zip(cpu, found["ep"], strict=True)
        ),
    }


@contextlib.contextmanager
def _one_blas_thread() -> Iterator[None]:
    try:
        from threadpoolctl import threadpool_limits
    except ModuleNotFoundError:
        yield
        return
    with threadpool_limits(1):
        yield


def table(rows: list[dict[str, Any]]) -> str:
    """The rows as an aligned text table, and the float32-against-float64 line."""
    header = (
        "case     peer          wall s/fold [min-max]    cpu s/fold [min-max]     "
        "accuracy mean+-sd  epochs  cpu ms/epoch  sklearn/memograd: wall, cpu, cpu/epoch"
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        speed = ""
        if "speedup" in row:
            speed = f"{row['speedup']:.2f}x, {row['cpu_speedup']:.2f}x, {row['epoch_speedup']:.2f}x"
        lines.append(
            f"{row['case']:<8} {row['peer']:<13} "
            f"{row['fit_median_s']:6.3f} [{row['fit_min_s']:.3f}-{row['fit_max_s']:.3f}]  "
            f"{row['cpu_median_s']:6.3f} [{row['cpu_min_s']:.3f}-{row['cpu_max_s']:.3f}]  "
            f"{row['accuracy_mean']:.4f}+-{row['accuracy_sd']:.4f}  "
            f"{row['epochs_median']:>6g}  {row['cpu_ms_per_epoch_median']:>12.2f}  {speed}"
        )
    find = {(row["case"], row["peer"]): row for row in rows}
    mine, theirs = find[("float32", "memograd")], find[("float64", "scikit-learn")]
    lines.append(
        "memograd float32 against scikit-learn's default float64: "
        f"{theirs['fit_median_s'] / mine['fit_median_s']:.2f}x wall, "
        f"{theirs['cpu_median_s'] / mine['cpu_median_s']:.2f}x cpu"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 folds of 20 epochs")
    args = parser.parse_args()
    rows = run(args.quick)
    folds = rows[0]["folds"]
    print(f"MLPClassifier fit on the bundled digits, {folds}-fold stratified CV, equal settings")
    print(table(rows))


if __name__ == "__main__":
    main()
