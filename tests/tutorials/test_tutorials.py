"""PyTorch's "Learning PyTorch with Examples" programs and a classification loop on the digits,
run twice: as PyTorch's authors write them (``programs/torch_*.py``) and with only their import
lines changed to memograd's (``programs/memograd_*.py``). torch is the oracle: both versions must
print the same losses.

The same initial weights: in the torch run, torch's random draws (``randn``, ``randperm``,
``nn.Linear``'s initialisation, dropout masks, the shuffled order) are replaced by memograd's,
drawn from memograd's generator in the same order as the memograd run draws them. Everything
else (the forward pass, autograd, the in-place updates, the optimizers, the losses) is torch's own.
"""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import numpy as np
import pytest

import memograd as mg
from memograd.seeding import global_generator

torch = pytest.importorskip("torch")

PROGRAMS = Path(__file__).parent / "programs"
NAMES = [
    "polynomial_autograd",
    "two_layer_net",
    "polynomial_nn",
    "polynomial_optim",
    "polynomial_module",
    "digits_classifier",
]
# The mechanical translation: these import lines, and nothing else, differ.
TRANSLATION = {
    "import torch": "import memograd as torch",
    "import torch.nn as nn": "import memograd.nn as nn",
    "import torch.nn.functional as F": "import memograd.nn.functional as F",
    "import torch.optim as optim": "import memograd.optim as optim",
    "from torch.utils.data import DataLoader, TensorDataset": (
        "from memograd.data import DataLoader, TensorDataset"
    ),
}
# Both versions compute in float32, and NumPy and torch sum in different orders: the first loss
# agrees to float32 rounding, later ones drift apart as training amplifies the rounding. The
# two-layer net's loss falls to 1e-7 of its start (cancellation); RMSprop moves every weight by
# about lr per step whatever its gradient, so the two near-zero coefficients of the optim
# program jitter by +-lr and their sign is rounding noise.
FIRST_LINES_RTOL = 1e-5
TOLERANCE = {"two_layer_net": (2e-3, 1e-6), "polynomial_optim": (1e-2, 2e-3)}
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?")


@pytest.mark.parametrize("name", NAMES)
def test_the_memograd_version_differs_only_in_its_imports(name: str) -> None:
    torch_lines = (PROGRAMS / f"torch_{name}.py").read_text().splitlines()
    memograd_lines = (PROGRAMS / f"memograd_{name}.py").read_text().splitlines()
    assert len(torch_lines) == len(memograd_lines)
    changed = [(a, b) for a, b in zip(torch_lines, memograd_lines, strict=True) if a != b]
    assert changed, "the memograd version must import memograd"
    for torch_line, memograd_line in changed:
        assert TRANSLATION.get(torch_line) == memograd_line
    assert not any(re.match(r"(import|from) torch\b", line) for line in memograd_lines)


@pytest.fixture(autouse=True)
def one_blas_thread():
    """Both libraries' BLAS on one thread: on a busy machine a second BLAS thread that waits for
    a core makes these 2000-step loops ten times slower (and the numbers do not depend on it)."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpoolctl.threadpool_limits(1):
        yield
    torch.set_num_threads(threads)


def _torch_draws_from_memograd(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make torch's random draws memograd's (same generator, same order, same values)."""

    def manual_seed(seed: int) -> None:
        mg.manual_seed(seed)

    def randn(*size, dtype=None, requires_grad=False, device=None):
        values = mg.randn(*size, dtype=np.float64 if dtype == torch.float64 else np.float32)
        return torch.tensor(values.numpy(), requires_grad=requires_grad)

    def randperm(n, **kwargs):
        return torch.from_numpy(mg.randperm(n).numpy())

    def reset_parameters(self):
        twin = mg.nn.Linear(self.in_features, self.out_features, bias=self.bias is not None)
        with torch.no_grad():
            self.weight.copy_(torch.from_numpy(twin.weight.numpy().T.copy()))  # (in, out) -> torch
            if self.bias is not None:
                self.bias.copy_(torch.from_numpy(twin.bias.numpy()))

    def dropout(input, p=0.5, training=True, inplace=False):  # noqa: A002
        if not training or p == 0:
            return input
        scale = mg.nn.functional.dropout(mg.ones(*input.shape), p)  # memograd's mask draw
        return input * torch.from_numpy(scale.numpy())

    def shuffled(self):
        return iter(global_generator().permutation(len(self.data_source)).tolist())

    monkeypatch.setattr(torch, "manual_seed", manual_seed)
    monkeypatch.setattr(torch, "randn", randn)
    monkeypatch.setattr(torch, "randperm", randperm)
    monkeypatch.setattr(torch.nn.Linear, "reset_parameters", reset_parameters)
    monkeypatch.setattr(torch.nn.functional, "dropout", dropout)
    monkeypatch.setattr(torch.utils.data.RandomSampler, "__iter__", shuffled)


def _printed(path: Path, capsys: pytest.CaptureFixture) -> list[str]:
    mg.manual_seed(0)
    runpy.run_path(str(path), run_name="__main__")
    return capsys.readouterr().out.splitlines()


def _numbers(lines: list[str]) -> list[float]:
    return [float(n) for line in lines for n in NUMBER.findall(line)]


@pytest.mark.parametrize("name", NAMES)
def test_the_memograd_version_prints_the_losses_torch_prints(
    name: str, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    ours = _printed(PROGRAMS / f"memograd_{name}.py", capsys)
    with monkeypatch.context() as patch:
        _torch_draws_from_memograd(patch)
        theirs = _printed(PROGRAMS / f"torch_{name}.py", capsys)
    assert len(ours) == len(theirs) > 3
    words = [NUMBER.sub("#", line) for line in ours]
    assert words == [NUMBER.sub("#", line) for line in theirs]
    np.testing.assert_allclose(_numbers(ours[:1]), _numbers(theirs[:1]), rtol=FIRST_LINES_RTOL)
    rtol, atol = TOLERANCE.get(name, (1e-4, 1e-6))
    np.testing.assert_allclose(_numbers(ours), _numbers(theirs), rtol=rtol, atol=atol)
