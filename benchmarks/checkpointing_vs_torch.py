"""Store or recompute on a deep MLP: memory and time of each schedule, beside PyTorch's.

The network is ``memograd.nn.checkpoint_costs``'s chain: ``DEPTH`` blocks ``Linear(WIDTH,
WIDTH) -> ReLU``, a float32 batch of ``BATCH`` rows, cross-entropy over WIDTH classes; PyTorch
trains the same network from the same weights. Rows: plain backprop (store-all),
``checkpoint_sequential`` with sqrt(DEPTH) segments (memograd's and
``torch.utils.checkpoint.checkpoint_sequential``, the same split), and memograd's revolve with a
few slot counts (``mg.nn.run_schedule``; PyTorch has no revolve).

Memory, three ways, each the same instrument for every row it fills:

* ``held_MB``: what memograd's engine holds for the backward pass, counted exactly from the
  graph (``mg.engine.graph_memory``): at the end of the forward pass for plain and
  checkpoint_sequential rows, the peak over the plan's actions for revolve;
* ``tracemalloc_peak_MB``: the peak of one step above its start, as tracemalloc sees it (NumPy
  reports its arrays; PyTorch does not, so its rows have none); it includes the parameters'
  gradients, the same for every schedule;
* ``rss_after_forward_MB``: the resident set's rise over the forward pass, measured as below:
  what each library's graph keeps (a plan's passes interleave, so its rows have none);
* ``rss_peak_MB``: the resident set's high-water mark during one step above where it started,
  measured in a fresh process per row (Linux resets the mark through ``/proc/self/clear_refs``)
  for both libraries, with glibc's mmap threshold fixed at 64 kB (``MALLOC_MMAP_THRESHOLD_``) so
  that a freed array goes back to the system at once and the mark follows the live memory.

Times: one training step (forward, recomputation, backward), the rows timed in alternation by
``memograd.timing.compare``; ``time_vs_store_all`` is each row's median over its own library's
store-all, ``spread`` the rounds' (max - min) / median. Every memograd row's gradients must
equal plain backprop's bit for bit and PyTorch's checkpointed ones its plain ones; that the
twins compute the same function is checked in float64 (in float32 the two BLAS libraries'
rounding grows through 64 layers to about 1% of the first layer's gradient). The forward
evaluations are counted by the blocks themselves (a counter in memograd, a forward pre-hook in
PyTorch).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.environment import peer_threads
from benchmarks.results import Case, CaseResult, Row, Settings
from memograd.engine.schedules import schedule
from memograd.nn.checkpoint_costs import (
    Measured,
    chain_batch,
    chain_model,
    measure_checkpoint_sequential,
    measure_plans,
)

ROOT = Path(__file__).resolve().parent.parent
FULL = {"depth": 64, "width": 512, "batch": 256, "slots": (4, 8, 16), "rss": True, "torch_ck": True}
# The quick run's network is too small for the resident set to say anything (a fresh process
# and one library's first checkpoint weigh more), so it skips those subprocesses; and it skips
# PyTorch's checkpoint_sequential, whose first call imports torch's compiler (5 s and more).
QUICK = {"depth": 12, "width": 32, "batch": 16, "slots": (2, 4), "rss": False, "torch_ck": False}
MB = 1e6
MMAP_THRESHOLD = 65536


def sizes(settings: Settings) -> dict[str, Any]:
    chosen = dict(QUICK if settings.quick else FULL)
    chosen["segments"] = schedule(chosen["depth"], kind="sqrt").slots + 1
    return chosen


# --------------------------------------------------------------------------------------------
# The PyTorch twin
# --------------------------------------------------------------------------------------------


def torch_chain(
    depth: int, width: int, seed: int = 0, dtype: str = "float32"
) -> tuple[Any, Any, Any, list[int]]:
    """memograd's chain in PyTorch from the same weights: the torch model, the torch module,
    memograd's chain and a counter of block evaluations."""
    import torch

    torch.set_num_threads(peer_threads())
    reference = chain_model(depth, width, seed, dtype=dtype)
    blocks = []
    for block in reference:
        linear = torch.nn.Linear(width, width, dtype=getattr(torch, dtype))
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(block[0].weight.data.T.copy()))
            linear.bias.copy_(torch.from_numpy(block[0].bias.data))
        blocks.append(torch.nn.Sequential(linear, torch.nn.ReLU()))
    model = torch.nn.Sequential(*blocks)
    calls = [0]

    def count(*_: Any) -> None:
        calls[0] += 1

    for block in model:
        block.register_forward_pre_hook(count)  # before: an early-stopped rerun still counts
    return model, torch, reference, calls


def torch_forward(torch: Any, model: Any, X: Any, y: Any, segments: int | None) -> Any:
    """The loss, its graph recorded; checkpointed in ``segments`` when given."""
    from torch.utils.checkpoint import checkpoint_sequential

    for p in model.parameters():
        p.grad = None
    if segments is None:
        out = model(X)
    else:
        out = checkpoint_sequential(model, segments, X, use_reentrant=False)
    return torch.nn.functional.cross_entropy(out, y)


def torch_step(torch: Any, model: Any, X: Any, y: Any, segments: int | None) -> Any:
    """One step: the loss, backpropagated."""
    loss = torch_forward(torch, model, X, y, segments)
    loss.backward()
    return loss


# --------------------------------------------------------------------------------------------
# The resident set's peak, in a fresh process per row
# --------------------------------------------------------------------------------------------


def _status() -> dict[str, int]:
    values = {}
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":")
                values[key] = int(value.split()[0]) * 1024
    return values


def rss_child(config_text: str) -> None:
    """In a fresh process: build the row's network, reset the high-water mark, run one step
    and print, in bytes, as JSON, the resident set's rise after the forward pass and the
    mark's rise during the step, above the resident set at the start."""
    config = json.loads(config_text)
    depth, width, batch = config["depth"], config["width"], config["batch"]
    row = config["row"]
    X, y = chain_batch(width, batch)
    if row.startswith("torch"):
        model, torch, _, _ = torch_chain(depth, width)
        segments = config["segments"] if row == "torch checkpoint_sequential" else None
        tiny, _, _, _ = torch_chain(2, 8)  # a first step of the same kind loads the library
        small = (torch.zeros((2, 8)), torch.zeros(2, dtype=torch.long))
        torch_step(torch, tiny, *small, None if segments is None else 2)
        Xt, yt = torch.from_numpy(X), torch.from_numpy(y)

        def forward() -> Any:
            return torch_forward(torch, model, Xt, yt, segments)

    else:
        import memograd as mg
        from memograd.nn import checkpoint_sequential, run_schedule

        model = chain_model(depth, width)
        tiny = checkpoint_sequential(chain_model(2, 8), 2)  # a first step loads the library
        mg.cross_entropy(tiny(np.ones((2, 8), np.float32)), [0, 1]).backward()

        def loss_fn(out: Any) -> Any:
            return mg.cross_entropy(out, y)

        wrapped = checkpoint_sequential(model, config["segments"])
        plan = schedule(depth, config.get("slots") or 1, "revolve")

        def forward() -> Any:
            if row == "store-all":
                return loss_fn(model(X))
            if row == "checkpoint_sequential":
                return loss_fn(wrapped(X))
            run_schedule(plan, model, X, loss_fn)  # forward and backward are interleaved
            return None

    with open("/proc/self/clear_refs", "w", encoding="ascii") as handle:
        handle.write("5")
    start = _status()["VmRSS"]
    loss = forward()
    held = None if loss is None else _status()["VmRSS"] - start
    if loss is not None:
        loss.backward()
    print(json.dumps({"rss_peak": _status()["VmHWM"] - start, "rss_held": held}))


def rss_peak(config: dict[str, Any]) -> dict[str, int | None]:
    """The row's resident-set peak during a step and rise after its forward pass (None for a
    plan, whose passes interleave), measured by :func:`rss_child`; Nones where Linux's
    clear_refs is missing."""
    if not Path("/proc/self/clear_refs").exists():
        return {"rss_peak": None, "rss_held": None}
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); "
        "from benchmarks.checkpointing_vs_torch import rss_child; rss_child(sys.argv[2])"
    )
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": str(MMAP_THRESHOLD)}
    completed = subprocess.run(
        [sys.executable, "-c", code, str(ROOT), json.dumps(config)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"the memory of {config['row']} was not measured: {completed.stderr}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------------------------
# The case
# --------------------------------------------------------------------------------------------


def _label(m: Measured) -> str:
    if m.kind == "all":
        return "store-all"
    if m.kind == "checkpoint_sequential":
        return "checkpoint_sequential"
    return f"revolve {m.slots} slots"


def _run(settings: Settings, result: CaseResult) -> None:
    from memograd.timing import compare

    size = sizes(settings)
    depth, width, batch, segments = size["depth"], size["width"], size["batch"], size["segments"]
    result.label_header = "schedule"
    result.columns = (
        "library",
        "forward_evaluations",
        "held_MB",
        "rss_after_forward_MB",
        "tracemalloc_peak_MB",
        "rss_peak_MB",
        "time_vs_store_all",
        "spread",
    )
    plans = [schedule(depth, kind="all")] + [schedule(depth, s, "revolve") for s in size["slots"]]
    measured = measure_plans(plans, width, batch, repeats=0)
    measured.insert(1, measure_checkpoint_sequential(depth, width, batch, segments, repeats=0))
    problems = [f"memograd {_label(m)} != plain backprop" for m in measured if not m.same_gradients]
    steps = _memograd_steps(depth, width, batch, segments, size["slots"])
    try:
        torch_rows = _torch_steps(
            depth, width, batch, segments if size["torch_ck"] else None, problems
        )
        if not size["torch_ck"]:
            result.skip_peer(
                "torch checkpoint_sequential",
                "the quick run skips it: its first call imports torch's compiler, 5 s or more",
            )
    except ModuleNotFoundError as exc:
        result.skip_peer("torch", f"{exc.name} is not installed")
        torch_rows = {}
    steps.update(torch_rows)
    timing = compare(steps, settings.plan(), reference="store-all")

    config = {"depth": depth, "width": width, "batch": batch, "segments": segments}
    rows: list[tuple[str, str, dict[str, Any]]] = [
        (_label(m), "memograd", {
            "forward_evaluations": m.forward_evaluations,
            "held_MB": round(m.held_bytes / MB, 2),
            "tracemalloc_peak_MB": round(m.traced_peak_bytes / MB, 2),
        })
        for m in measured
    ]  # fmt: skip
    rows += [
        (label, "torch", {"forward_evaluations": step.evaluations})
        for label, step in torch_rows.items()
    ]
    for label, library, extra in rows:
        slots = next((m.slots for m in measured if _label(m) == label), None)
        rss = rss_peak({**config, "row": label, "slots": slots}) if size["rss"] else {}
        own = "store-all" if library == "memograd" else "torch store-all"
        result.rows.append(
            Row(
                label=label,
                seconds=timing.timings[label].median,
                extra={
                    "library": library,
                    **extra,
                    "rss_after_forward_MB": _mb(rss.get("rss_held")),
                    "rss_peak_MB": _mb(rss.get("rss_peak")),
                    "time_vs_store_all": round(
                        timing.timings[label].median / timing.timings[own].median, 2
                    ),
                    "spread": timing.timings[label].spread,
                },
            )
        )
    result.met = not problems
    result.verdict = _verdict(result, depth, problems)
    result.notes.append(
        f"{depth} blocks Linear({width}, {width}) -> ReLU, batch {batch}, float32; "
        f"checkpoint_sequential in {segments} segments; tracemalloc's peak includes "
        f"{measured[0].gradient_bytes / MB:.1f} MB of parameter gradients"
    )


def _mb(count: int | None) -> float | None:
    return None if count is None else round(count / MB, 1)


class _Steps:
    """A step callable that also reports the blocks it evaluated on its first call."""

    def __init__(self, step: Any, counter: list[int]) -> None:
        self.step, self.counter = step, counter
        self.counter[0] = 0
        self.step()
        self.evaluations = self.counter[0]

    def __call__(self) -> Any:
        return self.step()


def _memograd_steps(
    depth: int, width: int, batch: int, segments: int, slots: tuple[int, ...]
) -> dict[str, Any]:
    import memograd as mg
    from memograd.nn import checkpoint_sequential, run_schedule

    X, y = chain_batch(width, batch)
    model = chain_model(depth, width)
    wrapped = checkpoint_sequential(model, segments)

    def loss_fn(out: Any) -> Any:
        return mg.cross_entropy(out, y)

    def plain() -> None:
        model.zero_grad()
        loss_fn(model(X)).backward()

    def checkpointed() -> None:
        model.zero_grad()
        loss_fn(wrapped(X)).backward()

    steps: dict[str, Any] = {"store-all": plain, "checkpoint_sequential": checkpointed}
    for s in slots:
        plan = schedule(depth, s, "revolve")

        def revolve(plan: Any = plan) -> None:
            model.zero_grad()
            run_schedule(plan, model, X, loss_fn)

        steps[f"revolve {s} slots"] = revolve
    return steps


def _torch_steps(
    depth: int, width: int, batch: int, segments: int | None, problems: list[str]
) -> dict[str, _Steps]:
    """PyTorch's store-all step and, unless ``segments`` is None, its checkpoint_sequential."""
    model, torch, reference, calls = torch_chain(depth, width)
    X, y = chain_batch(width, batch)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    rows = {
        "torch store-all": _Steps(lambda: torch_step(torch, model, Xt, yt, None), calls),
    }
    plain = [p.grad.numpy().copy() for p in model.parameters()]
    if segments is not None:
        rows["torch checkpoint_sequential"] = _Steps(
            lambda: torch_step(torch, model, Xt, yt, segments), calls
        )
        checkpointed = [p.grad.numpy() for p in model.parameters()]
        if not all(np.array_equal(a, b) for a, b in zip(plain, checkpointed, strict=True)):
            problems.append("torch checkpoint_sequential != torch store-all")
    if not _same_function(depth, width, batch):
        problems.append("torch's gradients != memograd's")
    return rows


def _same_function(depth: int, width: int, batch: int) -> bool:
    """Both twins compute the same gradients, checked in float64: in float32 the rounding of
    two BLAS libraries grows through 64 layers to about 1% of the first layer's gradient."""
    import memograd as mg

    model, torch, reference, _ = torch_chain(depth, width, dtype="float64")
    X, y = chain_batch(width, batch)
    torch_step(torch, model, torch.from_numpy(X.astype(np.float64)), torch.from_numpy(y), None)
    mg.cross_entropy(reference(X.astype(np.float64)), y).backward()
    theirs = [p.grad.numpy() for p in model.parameters()]
    ours = [p.grad.T if p.grad.ndim == 2 else p.grad for p in reference.parameters()]
    return all(np.allclose(a, b, rtol=1e-9, atol=1e-12) for a, b in zip(theirs, ours, strict=True))


def _verdict(result: CaseResult, depth: int, problems: list[str]) -> str:
    if problems:
        return "gradients differ: " + "; ".join(problems)
    rows = {row.label: row.extra for row in result.rows}
    ours, plain = rows["checkpoint_sequential"], rows["store-all"]
    text = (
        f"identical gradients; at depth {depth} memograd's checkpoint_sequential holds "
        f"{ours['held_MB']} MB against store-all's {plain['held_MB']} MB "
        f"({plain['held_MB'] / ours['held_MB']:.1f}x less) for {ours['time_vs_store_all']}x "
        "the time"
    )
    theirs, torch_plain = rows.get("torch checkpoint_sequential"), rows.get("torch store-all")
    if theirs and torch_plain and theirs["rss_peak_MB"] and torch_plain["rss_peak_MB"]:
        text += (
            f"; resident peak {ours['rss_peak_MB']} MB vs {plain['rss_peak_MB']} MB, PyTorch's "
            f"{theirs['rss_peak_MB']} MB vs {torch_plain['rss_peak_MB']} MB for "
            f"{theirs['time_vs_store_all']}x its time"
        )
    return text


CASES: tuple[Case, ...] = (
    Case(
        name="checkpoint_memory",
        title="Store or recompute: a deep MLP's step by schedule, memory and time, beside torch",
        target="identical gradients (no speed target: the trade is the point)",
        run=_run,
    ),
)
