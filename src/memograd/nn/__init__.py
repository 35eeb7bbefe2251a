"""Networks on the memograd engine: layers, losses, training, saving, estimators.

``mg.nn.MLP([64, 32, 10])`` builds a network (or subclass ``mg.nn.Module`` as in PyTorch),
``mg.nn.CrossEntropyLoss()`` or ``mg.nn.functional.cross_entropy`` scores it, ``mg.nn.fit``
trains it (or write the loop: ``opt.zero_grad(); loss.backward(); opt.step()``),
``model.save(path)`` / ``mg.nn.load(path)`` keep it, and ``mg.nn.from_torch`` /
``model.to_torch()`` cross to PyTorch and back. Only NumPy is needed; the progress bar uses rich
when it is installed and a terminal is attached, the bridge the user's own torch.
``MLPClassifier`` and ``MLPRegressor`` are scikit-learn estimators: they are imported on first
use, with scikit-learn (the ``[sklearn]`` extra).
"""

from __future__ import annotations

from memograd.nn import functional, utils
from memograd.nn.bridge import from_torch, to_torch
from memograd.nn.embedding import Embedding
from memograd.nn.layers import (
    GELU,
    MLP,
    Dropout,
    Flatten,
    Identity,
    LeakyReLU,
    Linear,
    LogSoftmax,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Standardize,
    Tanh,
)
from memograd.nn.loss_modules import (
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
)
from memograd.nn.module import Module, build_module, register_module
from memograd.nn.normalization import BatchNorm1d, LayerNorm
from memograd.nn.parameter import Parameter
from memograd.nn.serialization import Checkpoint, ModelFileError, load, load_checkpoint, save
from memograd.nn.training import (
    History,
    TrainingDivergedError,
    evaluate,
    fit,
    predict_outputs,
)
from memograd.seeding import manual_seed

__all__ = [
    "GELU",
    "MLP",
    "BCEWithLogitsLoss",
    "BatchNorm1d",
    "Checkpoint",
    "CrossEntropyLoss",
    "Dropout",
    "Embedding",
    "Flatten",
    "History",
    "HuberLoss",
    "Identity",
    "L1Loss",
    "LayerNorm",
    "LeakyReLU",
    "Linear",
    "LogSoftmax",
    "MLPClassifier",
    "MLPRegressor",
    "MSELoss",
    "ModelFileError",
    "Module",
    "NLLLoss",
    "Parameter",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Standardize",
    "Tanh",
    "TrainingDivergedError",
    "build_module",
    "evaluate",
    "fit",
    "from_torch",
    "functional",
    "load",
    "load_checkpoint",
    "manual_seed",
    "predict_outputs",
    "register_module",
    "save",
    "to_torch",
    "utils",
]


ESTIMATORS = ("MLPClassifier", "MLPRegressor")


def __getattr__(name: str) -> object:
    """Import the scikit-learn estimators (and scikit-learn) on first use only."""
    if name in ESTIMATORS:
        from memograd.nn import estimators

        return getattr(estimators, name)
    raise AttributeError(f"module 'memograd.nn' has no attribute {name!r}")
