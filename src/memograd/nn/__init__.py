"""Networks on the memograd engine: layers, losses, training, saving, estimators.

``mg.nn.MLP([64, 32, 10])`` builds a network, ``mg.nn.functional.cross_entropy`` scores it,
``mg.nn.fit`` trains it (or write the loop: ``opt.zero_grad(); loss.backward(); opt.step()``),
``model.save(path)`` / ``mg.nn.load(path)`` keep it. Only NumPy is needed; the progress bar
uses rich when it is installed and a terminal is attached. ``MLPClassifier`` and
``MLPRegressor`` are scikit-learn estimators: they are imported on first use, with
scikit-learn (the ``[sklearn]`` extra).
"""

from __future__ import annotations

from memograd.nn import functional, utils
from memograd.nn.layers import (
    GELU,
    MLP,
    Dropout,
    LeakyReLU,
    Linear,
    ReLU,
    Sequential,
    Sigmoid,
    Standardize,
    Tanh,
)
from memograd.nn.module import Module, build_module, register_module
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
    "Checkpoint",
    "Dropout",
    "History",
    "TrainingDivergedError",
    "LeakyReLU",
    "Linear",
    "MLPClassifier",
    "MLPRegressor",
    "ModelFileError",
    "Module",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Standardize",
    "Tanh",
    "build_module",
    "evaluate",
    "fit",
    "functional",
    "load",
    "load_checkpoint",
    "manual_seed",
    "predict_outputs",
    "register_module",
    "save",
    "utils",
]


ESTIMATORS = ("MLPClassifier", "MLPRegressor")


def __getattr__(name: str) -> object:
    """Import the scikit-learn estimators (and scikit-learn) on first use only."""
    if name in ESTIMATORS:
        from memograd.nn import estimators

        return getattr(estimators, name)
    raise AttributeError(f"module 'memograd.nn' has no attribute {name!r}")
