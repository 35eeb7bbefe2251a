"""memograd's MLPClassifier against scikit-learn's, with equal settings, on the bundled digits.

The estimators are used as a scikit-learn user uses them::

    cross_validate(MLPClassifier(**SETTINGS), X, y, cv=StratifiedKFold(5, shuffle=True,
                   random_state=0))

with the same ``SETTINGS`` on both sides, spelled out (scikit-learn's defaults): one hidden
layer of 100 ReLU units, Adam at 1e-3, batches of 200, L2 alpha 1e-4, up to 200 epochs,
stopping after 10 epochs without a 1e-4 gain on the training loss, no early stopping, seed 0.
``cross_validate`` clones the estimator for each fold, and times each fold's ``fit`` itself
(``fit_time``, wall clock). The whole cross-validation runs three times per peer, the peers in
alternating order; each fold keeps the fastest of its three fits (the fits are identical: the
fastest is the one least disturbed by other jobs on the machine). The table gives, per peer,
the median fold fit time with its range over the folds, the CPU seconds of a whole
cross-validation (median of the three runs; fits and scoring, with one BLAS thread the work
done, which moves less than the wall clock when other jobs share the machine), the mean
held-out accuracy with its standard deviation over the folds, the median epochs, and
scikit-learn's time divided by memograd's. memograd runs twice: as is, and with its ``fuse=True``
keyword (the compiled batch step with fused kernels and the optimizer's update in one pass, the
``memograd[fused]`` extra; skipped with one line without numba), the same settings otherwise.
The target is judged on the fused fit where it ran.

Two cases: the digits as float64 (what both use by default) and as float32 (both train in
float32 when given float32, scikit-learn's rule, which memograd follows). A last line compares
memograd in float32 (its ``dtype="float32"`` keyword does the same on float64 input) with
scikit-learn's default float64 run: not equal settings, but the choice memograd offers.
BLAS runs on one thread for both when threadpoolctl is installed (a shared machine's second
core makes the timings noise), and memograd's allocator setting (``keep_freed_memory``) is on
for both, as in ``memograd bench``.

    python -m benchmarks.estimators_vs_sklearn            # the full run, a minute or two
    python -m benchmarks.estimators_vs_sklearn --quick    # 2 folds of 20 epochs, once: a smoke test
    python -m benchmarks.estimators_vs_sklearn --json     # the rows as JSON
    python benchmarks/run.py --only estimators            # as a case of make bench (CASES below)
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib.util
import json
import statistics
import time
import warnings
from collections.abc import Iterator
from typing import Any

from benchmarks.results import Case, CaseResult, Row, Settings

FOLDS = 5
REPEATS = 3  # each cross-validation runs this many times per peer; each fold's fastest fit counts
DTYPES = ("float64", "float32")
MEMOGRAD = ("memograd", "memograd_fused")  # as is, and with fuse=True
PEERS = (*MEMOGRAD, "scikit-learn")
FIT_SPEEDUP_TARGET = 2.0  # scikit-learn's median fold fit time over memograd's
# Equal settings, written out rather than left to two libraries' defaults.
SETTINGS: dict[str, Any] = {
    "hidden_layer_sizes": (100,),
    "activation": "relu",
    "solver": "adam",
    "alpha": 1e-4,
    "batch_size": 200,
    "learning_rate_init": 1e-3,
    "max_iter": 200,
    "tol": 1e-4,
    "n_iter_no_change": 10,
    "early_stopping": False,
    "shuffle": True,
    "random_state": 0,
}


def run(quick: bool, allocator: bool = True) -> list[dict[str, Any]]:
    """One row per (case, peer): per-fold fit seconds, accuracies and epochs, and summaries.

    ``allocator``: apply memograd's allocator setting here (the standalone script); under
    ``benchmarks/run.py`` the runner has already applied its own (or, with
    ``--system-allocator``, left malloc alone), for every case alike."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import StratifiedKFold, cross_validate
    from sklearn.neural_network import MLPClassifier as SklearnMLP

    import memograd as mg
    from memograd.engine import keep_freed_memory

    if allocator:
        keep_freed_memory()
    X, y = mg.data.load_digits()
    settings = dict(SETTINGS, max_iter=20) if quick else SETTINGS
    folds = StratifiedKFold(FOLDS, shuffle=True, random_state=0)
    if quick:  # the first two folds of the same split
        folds = list(folds.split(X, y))[:2]
    peers = {
        "memograd": mg.MLPClassifier,
        "memograd_fused": functools.partial(mg.MLPClassifier, fuse=True),
        "scikit-learn": SklearnMLP,
    }
    names = PEERS if fused_available() else tuple(p for p in PEERS if p != "memograd_fused")
    rows = []
    with _one_blas_thread(), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # quick runs stop at max_iter
        for case in DTYPES:
            data = X.astype(case)
            runs: dict[str, list[dict[str, Any]]] = {p: [] for p in names}
            for repeat in range(1 if quick else REPEATS):
                for peer in names if repeat % 2 == 0 else names[::-1]:
                    cpu = time.process_time()
                    found = cross_validate(
                        peers[peer](**settings), data, y, cv=folds, return_estimator=True
                    )
                    found["cpu"] = time.process_time() - cpu
                    runs[peer].append(found)
            summaries = {peer: _summary(case, peer, runs[peer], quick) for peer in names}
            theirs = summaries["scikit-learn"]
            for peer in names:
                mine = summaries[peer]
                if peer in MEMOGRAD:
                    mine["speedup"] = theirs["fit_median_s"] / mine["fit_median_s"]
                    mine["cpu_speedup"] = theirs["cv_cpu_median_s"] / mine["cv_cpu_median_s"]
                    mine["accuracy_within_1_sd"] = (
                        abs(mine["accuracy_mean"] - theirs["accuracy_mean"])
                        <= theirs["accuracy_sd"]
                    )
                rows.append(mine)
    return rows


def fused_available() -> bool:
    """Whether numba (the ``memograd[fused]`` extra) is installed, for the fused row."""
    return importlib.util.find_spec("numba") is not None


def _summary(case: str, peer: str, runs: list[dict[str, Any]], quick: bool) -> dict[str, Any]:
    # Each fold's fastest fit over the runs; the fits, scores and epochs are the same in each.
    seconds = [
        min(float(found["fit_time"][k]) for found in runs) for k in range(len(runs[0]["fit_time"]))
    ]
    accuracy = [float(a) for a in runs[0]["test_score"]]
    epochs = [int(est.n_iter_) for est in runs[0]["estimator"]]
    cpu = [found["cpu"] for found in runs]
    return {
        "case": case,
        "peer": peer,
        "quick": quick,
        "folds": len(seconds),
        "runs": len(runs),
        "fit_seconds": seconds,
        "cv_cpu_seconds": cpu,
        "accuracy": accuracy,
        "epochs": epochs,
        "fit_median_s": statistics.median(seconds),
        "fit_min_s": min(seconds),
        "fit_max_s": max(seconds),
        "cv_cpu_median_s": statistics.median(cpu),
        "cv_cpu_min_s": min(cpu),
        "cv_cpu_max_s": max(cpu),
        "accuracy_mean": statistics.fmean(accuracy),
        "accuracy_sd": statistics.stdev(accuracy) if len(accuracy) > 1 else 0.0,
        "epochs_median": statistics.median(epochs),
        # time per epoch: the stopping rule is the same, but not the epoch it stops at
        "fit_ms_per_epoch_median": statistics.median(
            1000 * s / e for s, e in zip(seconds, epochs, strict=True)
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
        "case     peer            fit s/fold median [min-max]  CV cpu s [min-max]     "
        "accuracy mean+-sd  epochs  fit ms/epoch  sklearn/memograd: fit, CV cpu"
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        speed = ""
        if "speedup" in row:
            speed = f"{row['speedup']:.2f}x, {row['cpu_speedup']:.2f}x"
        lines.append(
            f"{row['case']:<8} {row['peer']:<15} "
            f"{row['fit_median_s']:6.3f} [{row['fit_min_s']:.3f}-{row['fit_max_s']:.3f}]      "
            f"{row['cv_cpu_median_s']:6.2f} [{row['cv_cpu_min_s']:.2f}-{row['cv_cpu_max_s']:.2f}]  "
            f"{row['accuracy_mean']:.4f}+-{row['accuracy_sd']:.4f}  "
            f"{row['epochs_median']:>6g}  {row['fit_ms_per_epoch_median']:>12.2f}  {speed}"
        )
    find = {(row["case"], row["peer"]): row for row in rows}
    mine, theirs = find[("float32", "memograd")], find[("float64", "scikit-learn")]
    lines.append(
        "memograd float32 against scikit-learn's default float64: "
        f"{theirs['fit_median_s'] / mine['fit_median_s']:.2f}x fit, "
        f"{theirs['cv_cpu_median_s'] / mine['cv_cpu_median_s']:.2f}x CV cpu"
    )
    return "\n".join(lines)


def _run_case(settings: Settings, result: CaseResult) -> None:
    """The case as ``make bench`` runs it: the same cross-validations, judged on float64."""
    try:
        import sklearn  # noqa: F401
    except ImportError as exc:
        result.skip_peer("scikit-learn", f"not installed ({exc.name})")
        result.status = "skipped"
        return
    rows = run(settings.quick, allocator=False)
    find = {(row["case"], row["peer"]): row for row in rows}
    judged = "memograd_fused" if ("float64", "memograd_fused") in find else "memograd"
    result.columns = ("fit_range_s", "cv_cpu_s", "accuracy", "epochs")
    result.ratio_header = f"{judged} / peer (fit)"
    for row in rows:
        mine = find[(row["case"], judged)]
        result.rows.append(
            Row(
                label=f"{row['peer']} {row['case']}",
                seconds=row["fit_median_s"],
                ratio=mine["fit_median_s"] / row["fit_median_s"],
                extra={
                    "fit_range_s": f"{row['fit_min_s']:.3f}-{row['fit_max_s']:.3f}",
                    "cv_cpu_s": round(row["cv_cpu_median_s"], 2),
                    "accuracy": f"{row['accuracy_mean']:.4f}+-{row['accuracy_sd']:.4f}",
                    "epochs": row["epochs_median"],
                },
                note=f"median fold fit, {row['folds']} folds, best of {row['runs']} runs a fold",
            )
        )
    if judged == "memograd":
        result.skip_peer("memograd_fused", "numba is not installed: pip install 'memograd[fused]'")
    mine = find[("float64", judged)]
    result.met = mine["speedup"] >= FIT_SPEEDUP_TARGET and mine["accuracy_within_1_sd"]
    who = "fuse=True" if judged == "memograd_fused" else "memograd"
    result.verdict = (
        f"float64, {who}: fits {mine['speedup']:.2f}x faster than scikit-learn "
        f"({mine['cpu_speedup']:.2f}x in CPU time of the whole cross-validation), accuracy "
        + ("within" if mine["accuracy_within_1_sd"] else "NOT within")
        + " one standard deviation of scikit-learn's"
    )
    if judged == "memograd_fused":
        plain = find[("float64", "memograd")]
        result.verdict += (
            f"; without fuse {plain['speedup']:.2f}x ({plain['cpu_speedup']:.2f}x in CPU time)"
        )
    if settings.quick:
        result.notes.append("--quick: 2 folds of 20 epochs, run once (a smoke test)")


CASES: tuple[Case, ...] = (
    Case(
        name="estimators_digits",
        title="MLPClassifier fit against scikit-learn's, equal settings, 5-fold stratified "
        "cross_validate on the digits",
        target=f"fit >= {FIT_SPEEDUP_TARGET:g}x faster (float64), accuracy within one sd",
        run=_run_case,
    ),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 folds of 20 epochs, run once")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args()
    rows = run(args.quick)
    if args.json:
        print(json.dumps(rows, indent=1))
        return
    print(
        f"MLPClassifier fit on the bundled digits, {rows[0]['folds']}-fold stratified "
        f"cross_validate, equal settings, {rows[0]['runs']} runs each, one BLAS thread"
    )
    print(table(rows))


if __name__ == "__main__":
    main()
