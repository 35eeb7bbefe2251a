"""``Embedding``: a table of learned vectors, one row per index (token, category, user id).

The forward pass is the engine's indexing (``weight[indices]``), whose backward pass adds each
row's gradients up however often the row was picked; the layer holds the table and checks the
indices (NumPy would quietly read a negative index from the end of the table).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from memograd.engine.tensor import Tensor, from_numpy
from memograd.nn import functional as F
from memograd.nn.layers import check_device, dtype_name
from memograd.nn.module import Module, register_module
from memograd.nn.parameter import Parameter
from memograd.seeding import Seed, generator


@register_module
class Embedding(Module):
    """``num_embeddings`` vectors of ``embedding_dim`` numbers, drawn from N(0, 1) as PyTorch's.

    ``padding_idx``: that row starts at zero and never receives a gradient (a padding token).
    PyTorch's ``max_norm``, ``scale_grad_by_freq`` and ``sparse`` change the table or its
    gradient in ways memograd does not do, and are refused rather than ignored.
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
        _weight: Any = None,
        _freeze: bool = False,
        device: Any = None,
        dtype: Any = None,
        *,
        rng: Seed = None,
    ) -> None:
        super().__init__()
        check_device(device)
        for name, value in (("num_embeddings", num_embeddings), ("embedding_dim", embedding_dim)):
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                raise ValueError(f"Embedding: {name} must be an int >= 1, got {value!r}")
        for name, value, default in (
            ("max_norm", max_norm, None),
            ("scale_grad_by_freq", scale_grad_by_freq, False),
            ("sparse", sparse, False),
        ):
            if value != default:
                raise ValueError(f"Embedding: {name}={value!r} is not supported by memograd")
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        self.padding_idx = self._padding(padding_idx)
        shape = (self.num_embeddings, self.embedding_dim)
        if _weight is None:
            name = dtype_name(dtype)
            table = generator(rng).standard_normal(shape).astype(name)
            if self.padding_idx is not None:
                table[self.padding_idx] = 0
        else:
            table = np.array(_weight.data if isinstance(_weight, Tensor) else _weight)
            if table.shape != shape:
                raise ValueError(f"Embedding: _weight has shape {table.shape}, expected {shape}")
            table = table.astype(dtype_name(table.dtype if dtype is None else dtype))
        self.weight = Parameter(from_numpy(table), requires_grad=not _freeze)

    def _padding(self, padding_idx: Any) -> int | None:
        if padding_idx is None:
            return None
        count = self.num_embeddings
        if isinstance(padding_idx, bool) or not isinstance(padding_idx, int | np.integer):
            raise TypeError(f"Embedding: padding_idx must be an int or None, got {padding_idx!r}")
        if not -count <= padding_idx < count:
            raise ValueError(
                f"Embedding: padding_idx={padding_idx} is outside the table of {count} rows"
            )
        return int(padding_idx) % count

    @classmethod
    def from_pretrained(
        cls, embeddings: Any, freeze: bool = True, padding_idx: int | None = None
    ) -> Embedding:
        """An Embedding holding a copy of the (num_embeddings, embedding_dim) ``embeddings``;
        ``freeze`` (the default, as in PyTorch) keeps it out of training."""
        table = np.asarray(embeddings.data if isinstance(embeddings, Tensor) else embeddings)
        if table.ndim != 2:
            raise ValueError(f"Embedding.from_pretrained: expected a 2-D table, got {table.shape}")
        return cls(*table.shape, padding_idx=padding_idx, _weight=table, _freeze=freeze)

    @property
    def dtype(self) -> str:
        return self.weight.data.dtype.name

    def forward(self, indices: Any) -> Tensor:
        return F.embedding(indices, self.weight, self.padding_idx)

    def config(self) -> dict[str, Any]:
        return {
            "num_embeddings": self.num_embeddings,
            "embedding_dim": self.embedding_dim,
            "padding_idx": self.padding_idx,
            "dtype": self.dtype,
        }

    def extra_repr(self) -> str:
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            text += f", padding_idx={self.padding_idx}"
        return text
