"""``Parameter``: a Tensor that a Module trains, as ``torch.nn.Parameter``.

Assigning a Parameter to a Module's attribute registers it (``self.w = Parameter(...)``), so it
is returned by ``parameters()``, saved by ``state_dict()`` and updated by an optimizer. It is an
ordinary leaf Tensor otherwise: every op on it gives a plain Tensor, and gradients come from the
engine like any other leaf's. Its only differences are the default ``requires_grad=True``, that
a Module registers it even with ``requires_grad=False`` (a frozen weight is still a weight), and
its repr.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from memograd.engine.tensor import Tensor


class Parameter(Tensor):
    """A trainable leaf. ``Parameter(t)`` shares ``t``'s array (and its version counter), as in
    PyTorch; an array or a list is copied, as ``Tensor(...)`` copies it."""

    __slots__ = ()

    def __new__(cls, data: Any = None, requires_grad: bool = True) -> Parameter:
        if data is None:
            source = Tensor(np.empty(0, dtype=np.float32))
        elif isinstance(data, Tensor):
            source = data
        else:
            source = Tensor(data)
        # detach() makes the leaf that shares the data and the counter; only its class changes
        # (Parameter adds no slot, so the layout is Tensor's).
        leaf = source.detach()
        leaf.__class__ = cls
        return leaf.requires_grad_(requires_grad)

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        """Everything is done by ``__new__`` (Tensor's ``__init__`` would copy the array)."""

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()
