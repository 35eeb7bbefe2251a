"""CSV loading: ``memograd.data.load_csv`` against ``numpy.loadtxt`` and ``pandas.read_csv``.

    python benchmarks/csv_loading.py            two files of about 210 MB and 110 MB
    python benchmarks/csv_loading.py --quick    the same shapes at about 5 MB

Two shapes of data are written at run time into a temporary directory:

* ``narrow``: 10 float features and an integer label per row (a typical table, many rows);
* ``wide``: a label and 784 pixel counts per row (MNIST written as CSV, most cells "0").

Every load runs in a fresh child process (this file with ``--child``), which reports its wall
and CPU time for the call and the peak memory it added: the high-water mark of its resident set
(``ru_maxrss``) minus its resident set just before the call, after the imports. The loaders
take turns within each round, so a busy machine slows them alike; each figure is the median over
the rounds, with the fastest and slowest round beside it. What each loader returns differs a
little: memograd a float64 feature table plus checked labels, loadtxt one float64 table of
every column, pandas a DataFrame of int64 and float64 columns.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

LOADERS = ("memograd", "numpy.loadtxt", "pandas.read_csv")
ROUNDS = 3
# rows for (quick, full): about 5 MB and 210 MB (narrow), 5 MB and 110 MB (wide)
SHAPES = {
    "narrow": {"columns": 11, "rows": (60_000, 2_500_000)},
    "wide": {"columns": 785, "rows": (2_500, 60_000)},
}


def run(quick: bool) -> list[dict]:
    """Measure every loader on every shape; one dict per (shape, loader), loadtxt-relative."""
    results = []
    with tempfile.TemporaryDirectory(prefix="memograd-csv-bench-") as folder:
        for shape, spec in SHAPES.items():
            rows = spec["rows"][0 if quick else 1]
            path = Path(folder) / f"{shape}.csv"
            _write(path, shape, rows, spec["columns"])
            samples: dict[str, list[dict]] = {loader: [] for loader in LOADERS}
            for _ in range(ROUNDS):
                for loader in LOADERS:
                    samples[loader].append(_measure(loader, path))
            size = path.stat().st_size
            path.unlink()
            results.extend(_summaries(shape, rows, spec["columns"], size, samples))
    return results


def _summaries(shape, rows, columns, size, samples):
    reference = samples["numpy.loadtxt"]
    base_seconds = statistics.median(s["seconds"] for s in reference if "seconds" in s)
    base_memory = statistics.median(s["peak_bytes"] for s in reference if "seconds" in s)
    summaries = []
    for loader, runs in samples.items():
        entry = {"shape": shape, "loader": loader, "rows": rows, "columns": columns}
        entry["file_mb"] = size / 1e6
        failed = [r["skipped"] for r in runs if "skipped" in r]
        if failed:
            entry["skipped"] = failed[0]
            summaries.append(entry)
            continue
        seconds = [r["seconds"] for r in runs]
        cpu = [r["cpu_seconds"] for r in runs]
        peaks = [r["peak_bytes"] for r in runs]
        entry.update(
            seconds_median=statistics.median(seconds),
            seconds_min=min(seconds),
            seconds_max=max(seconds),
            cpu_median=statistics.median(cpu),
            peak_mb_median=statistics.median(peaks) / 1e6,
            peak_mb_max=max(peaks) / 1e6,
            time_vs_loadtxt=statistics.median(seconds) / base_seconds,
            memory_vs_loadtxt=statistics.median(peaks) / base_memory,
        )
        summaries.append(entry)
    return summaries


def _write(path: Path, shape: str, rows: int, columns: int) -> None:
    """A header and ``rows`` seeded rows; written in chunks to keep this process small."""
    rng = np.random.default_rng(0)
    with open(path, "w") as handle:
        if shape == "narrow":
            handle.write(",".join(f"x{i}" for i in range(columns - 1)) + ",label\n")
        else:
            handle.write("label," + ",".join(f"p{i}" for i in range(columns - 1)) + "\n")
        for start in range(0, rows, 50_000):
            n = min(50_000, rows - start)
            if shape == "narrow":
                table = np.column_stack([rng.normal(size=(n, columns - 1)), rng.integers(0, 3, n)])
                formats = ["%.6g"] * (columns - 1) + ["%d"]
            else:
                table = rng.integers(0, 256, size=(n, columns))
                table[:, 1:][rng.random((n, columns - 1)) < 0.8] = 0
                table[:, 0] %= 10
                formats = "%d"
            np.savetxt(handle, table, fmt=formats, delimiter=",")


def _measure(loader: str, path: Path) -> dict:
    """One load in a fresh interpreter; its JSON report, or why it could not run."""
    completed = subprocess.run(
        [sys.executable, __file__, "--child", loader, str(path)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": _python_path()},
        check=False,
    )
    if completed.returncode != 0:
        lines = (completed.stderr or completed.stdout).strip().splitlines()
        return {"skipped": lines[-1] if lines else f"exit status {completed.returncode}"}
    return json.loads(completed.stdout)


def _python_path() -> str:
    source = Path(__file__).resolve().parents[1] / "src"
    parts = [os.environ.get("PYTHONPATH", ""), str(source) if source.is_dir() else ""]
    return os.pathsep.join(p for p in parts if p)


def _child(loader: str, path: str) -> None:
    if loader == "memograd":
        from memograd.data import load_csv

        def load():
            label = "label"
            return load_csv(path, target=label)
    elif loader == "numpy.loadtxt":

        def load():
            return np.loadtxt(path, delimiter=",", skiprows=1)
    else:
        import pandas

        def load():
            return pandas.read_csv(path)

    before = _resident_bytes()
    wall, cpu = time.perf_counter(), time.process_time()
    result = load()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (
        1 if sys.platform == "darwin" else 1024
    )
    del result
    print(json.dumps({"seconds": wall, "cpu_seconds": cpu, "peak_bytes": peak - before}))


def _resident_bytes() -> int:
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:  # not Linux: the peak so far is the closest stand-in
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (
            1 if sys.platform == "darwin" else 1024
        )


def table(results: list[dict]) -> str:
    """The results as an aligned text table."""
    header = (
        f"{'shape':7} {'loader':16} {'file':>8} {'wall s (min-max)':>22} {'cpu s':>7} "
        f"{'peak MB':>9} {'time/loadtxt':>13} {'memory/loadtxt':>15}"
    )
    lines = [header, "-" * len(header)]
    for r in results:
        start = f"{r['shape']:7} {r['loader']:16} {r['file_mb']:6.0f}MB"
        if "skipped" in r:
            lines.append(f"{start} skipped: {r['skipped']}")
            continue
        spread = f"{r['seconds_median']:.2f} ({r['seconds_min']:.2f}-{r['seconds_max']:.2f})"
        lines.append(
            f"{start} {spread:>22} {r['cpu_median']:7.2f} {r['peak_mb_median']:9.0f} "
            f"{r['time_vs_loadtxt']:12.2f}x {r['memory_vs_loadtxt']:14.2f}x"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="files of about 5 MB")
    parser.add_argument("--child", nargs=2, metavar=("LOADER", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(*args.child)
        return
    rounds = f"{ROUNDS} rounds, loaders alternating, each load in a fresh process"
    print(f"CSV loading: median wall time, CPU time and peak added memory ({rounds})")
    print(table(run(quick=args.quick)))


if __name__ == "__main__":
    main()
