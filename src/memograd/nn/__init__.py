"""Networks on the memograd engine: layers, losses, training, saving, estimators.

``mg.nn.MLP([64, 32, 10])`` builds a network, ``mg.nn.functional.cross_entropy`` scores it,
``mg.nn.fit`` trains it (or write the loop: ``opt.zero_grad(); loss.backward(); opt.step()``),
``model.save(path)`` / ``mg.nn.load(path)`` keep it. Only NumPy is needed; the progress bar
uses rich when it is installed and a terminal is attached.
"""

from __future__ import annotations

from memograd.nn import functional
from memograd.nn.estimators import MLPClassifier, MLPRegressor
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
    build_module,
)
from memograd.nn.module import Module, register_module
from memograd.nn.recompute import (
    CheckpointedSequential,
    ScheduleRun,
    checkpoint_sequential,
    run_schedule,
)
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
    "CheckpointedSequential",
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
    "ScheduleRun",
    "Sequential",
    "Sigmoid",
    "Standardize",
    "Tanh",
    "build_module",
    "checkpoint_sequential",
    "evaluate",
    "fit",
    "functional",
    "load",
    "load_checkpoint",
    "manual_seed",
    "predict_outputs",
    "register_module",
    "run_schedule",
    "save",
]
