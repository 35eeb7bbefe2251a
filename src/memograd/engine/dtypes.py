"""Dtype names as PyTorch spells them (``mg.float32``, ``mg.long``...), one way to read a dtype,
and ``mg.device("cpu")`` (the one device memograd computes on).

memograd's dtypes are NumPy's: ``mg.float32`` *is* ``np.dtype("float32")``, so
``t.dtype == mg.float32`` and ``t.dtype == np.float32`` both hold, and every NumPy spelling
(``np.float64``, ``"float32"``, Python's ``float``) is accepted wherever a dtype is.

PyTorch's default floating dtype is float32, and so is memograd's for the factories
(``mg.zeros``, ``mg.randn``...) and for Python floats given to ``mg.tensor``: NumPy's default
(float64) would silently double the memory and halve the speed of a PyTorch user's program.
"""

from __future__ import annotations

from typing import Any

import numpy as np

float16 = np.dtype("float16")
float32 = np.dtype("float32")
float64 = np.dtype("float64")
uint8 = np.dtype("uint8")
int8 = np.dtype("int8")
int16 = np.dtype("int16")
int32 = np.dtype("int32")
int64 = np.dtype("int64")
bool_ = np.dtype("bool")

DEFAULT_FLOAT = float32
"""The dtype of floating tensors made from Python numbers (PyTorch's default dtype)."""

ALIASES: dict[str, np.dtype] = {
    # PyTorch's other names for the same dtypes: torch.half, torch.float, torch.double,
    # torch.short, torch.int, torch.long, torch.bool. They shadow Python builtins, so the
    # package sets them as attributes (mg.float, mg.long) without exporting them with ``*``.
    "half": float16,
    "float": float32,
    "double": float64,
    "short": int16,
    "int": int32,
    "long": int64,
    "bool": bool_,
}


def resolve_dtype(dtype: Any, where: str) -> np.dtype:
    """``dtype`` (any NumPy spelling, or one of the names above) as a NumPy dtype, or a clear
    TypeError; only numbers and booleans (the dtypes a Tensor may hold)."""
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        raise TypeError(
            f"{where}: {dtype!r} is not a dtype; use mg.float32, mg.float64, mg.int64, mg.bool "
            "(or any NumPy dtype)"
        ) from None
    if resolved.kind not in "biuf":
        raise TypeError(f"{where}: a tensor holds real numbers or booleans, not dtype {resolved}")
    return resolved


def is_floating(dtype: np.dtype) -> bool:
    """Whether gradients can flow through values of this dtype."""
    return dtype.kind == "f"


class device:  # noqa: N801 (PyTorch's spelling: ``torch.device("cpu")``)
    """Where tensors live: ``mg.device("cpu")``, the only device (memograd computes with NumPy).

    Accepted wherever a ``device=`` argument is, so PyTorch code that names its device runs;
    any other device is refused here, when it is named, with the reason.
    """

    __slots__ = ("type",)

    def __init__(self, type: Any = "cpu", index: int | None = None) -> None:  # noqa: A002
        name = type.type if isinstance(type, device) else type
        if not isinstance(name, str) or name.split(":")[0] != "cpu":
            raise RuntimeError(
                f"device: memograd computes with NumPy on the CPU; device {name!r} is not "
                "available (use 'cpu', or cross to PyTorch for GPUs)"
            )
        self.type = "cpu"

    def __str__(self) -> str:
        return self.type

    def __repr__(self) -> str:
        return f"device(type={self.type!r})"

    def __eq__(self, other: object) -> bool:
        return str(other).split(":")[0] == self.type

    def __hash__(self) -> int:
        return hash(self.type)
