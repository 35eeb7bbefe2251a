"""Crossing to PyTorch and back: the layers both libraries have, with the same numbers.

``from_torch(torch_model)`` builds the memograd model of a PyTorch model made of the layers both
libraries share (``Linear``, the activations, ``Dropout``, ``Sequential``, ``Flatten``,
``Identity``, ``Embedding``, ``LayerNorm``, ``BatchNorm1d``, ``Softmax``, ``LogSoftmax``), with
copies of its weights, buffers, ``requires_grad`` flags and train/eval modes;
``model.to_torch()`` (:func:`to_torch`) goes the other way. Names are kept, so the two models'
``state_dict()`` keys are the same, and ``from_torch(state_dict)`` converts a PyTorch state dict
for ``load_state_dict`` of a memograd model of the same shape (the user's own Module subclass
included).

The one difference of layout: memograd's ``Linear.weight`` is (in_features, out_features), the
notes' W^k_ij, and PyTorch's is (out_features, in_features); each crossing transposes it (the
modules that differ say which entries in ``Module.torch_transposed``). A layer with no
counterpart (a PyTorch module with its own ``forward``, memograd's ``Standardize``) is refused,
every one of them named in one error, rather than crossed into something that computes another
function.

PyTorch is imported inside these functions only: memograd never needs it, the bridge needs the
user's own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from memograd.engine.tensor import Tensor, bump_version
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
    Tanh,
    dtype_name,
)
from memograd.nn.module import Module, TorchLayoutState, set_torch_bridge
from memograd.nn.normalization import BatchNorm1d, LayerNorm

SHARED = (
    "Linear, ReLU, Tanh, Sigmoid, LeakyReLU, GELU(approximate='tanh'), Dropout, Sequential, "
    "Flatten, Identity, Embedding, LayerNorm, BatchNorm1d, Softmax, LogSoftmax"
)


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise ModuleNotFoundError(
            "the PyTorch bridge needs PyTorch, which is not installed (pip install torch)"
        ) from None
    return torch


# --------------------------------------------------------------------------------------------
# PyTorch -> memograd
# --------------------------------------------------------------------------------------------


def from_torch(source: Any) -> Module | TorchLayoutState:
    """A PyTorch module as a memograd module, or a PyTorch state dict in memograd's terms.

    A ``torch.nn.Module`` built from the shared layers becomes the same memograd model, with
    copies of its weights (``Linear``'s transposed). A state dict (a mapping of names to
    tensors) becomes a :class:`TorchLayoutState` of NumPy copies that ``load_state_dict`` of a
    memograd model takes: ``model.load_state_dict(mg.nn.from_torch(torch_model.state_dict()))``
    fills a model written in memograd with PyTorch's weights, transposing where needed.
    """
    if isinstance(source, Mapping):
        return TorchLayoutState(
            {name: _array(value, f"state dict entry {name!r}") for name, value in source.items()}
        )
    torch = _torch()
    if not isinstance(source, torch.nn.Module):
        raise TypeError(
            f"from_torch expects a torch.nn.Module or a state dict, got {type(source).__name__}"
        )
    refused = list(_refused_from_torch(torch, source, ""))
    if refused:
        raise TypeError(
            f"from_torch: no memograd counterpart for {', '.join(refused)}; from_torch converts "
            f"models built from {SHARED}. For your own module class, write it in memograd and "
            "load the weights: model.load_state_dict(mg.nn.from_torch(torch_model.state_dict()))"
        )
    return _from_torch_module(torch, source)


def _where(path: str) -> str:
    return f"'{path}'" if path else "the model itself"


def _refused_from_torch(torch: Any, m: Any, path: str) -> Iterator[str]:
    """Each module without a counterpart, named by its path (not the modules inside it)."""
    if _from_torch_rule(torch, m) is None:
        yield f"{_where(path)} ({type(m).__name__})"
        return
    for name, child in m.named_children():
        yield from _refused_from_torch(torch, child, f"{path}.{name}" if path else name)


def _from_torch_rule(torch: Any, m: Any) -> Callable[[Any, Any], Module] | None:
    """How to convert ``m``, or None when memograd has no layer computing the same function."""
    nn = torch.nn
    kind = type(m)  # exact types: a subclass may have its own forward
    if kind is nn.GELU and m.approximate != "tanh":
        return None
    if kind is nn.Embedding and (m.max_norm is not None or m.scale_grad_by_freq or m.sparse):
        return None
    if kind in (nn.Softmax, nn.LogSoftmax) and m.dim is None:
        return None
    return _FROM_TORCH.get(kind.__name__) if kind.__module__.startswith("torch.nn") else None


def _from_torch_module(torch: Any, m: Any) -> Module:
    converted = _from_torch_rule(torch, m)(torch, m)  # type: ignore[misc]
    for name, param in m.named_parameters(recurse=False):
        converted._parameters[name].requires_grad_(param.requires_grad)
    object.__setattr__(converted, "training", bool(m.training))
    return converted


def _array(value: Any, what: str) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    array = np.array(value)
    if array.dtype == object or array.dtype.kind not in "fiub":
        raise TypeError(f"from_torch: {what} is not numeric (dtype {array.dtype})")
    return array


def _dtype_of(m: Any) -> str:
    for param in m.parameters(recurse=False):
        return dtype_name(_array(param, "a parameter").dtype)
    return "float32"


def _load(module: Module, **arrays: Any) -> Module:
    """Copy torch tensors into ``module``'s parameters and buffers of the same names."""
    for name, value in arrays.items():
        if value is None:
            continue
        target = getattr(module, name)
        array = _array(value, name)
        if isinstance(target, Tensor):
            target.data[...] = array
            bump_version(target)
        else:
            target[...] = array
    return module


def _linear(torch: Any, m: Any) -> Module:
    layer = Linear(
        m.in_features, m.out_features, bias=m.bias is not None, init="zeros", dtype=_dtype_of(m)
    )
    return _load(layer, weight=m.weight.detach().T, bias=m.bias)


def _sequential(torch: Any, m: Any) -> Module:
    return Sequential(
        {name: _from_torch_module(torch, child) for name, child in m.named_children()}
    )


def _embedding(torch: Any, m: Any) -> Module:
    return Embedding(
        m.num_embeddings,
        m.embedding_dim,
        padding_idx=m.padding_idx,
        _weight=_array(m.weight, "Embedding.weight"),
    )


def _layer_norm(torch: Any, m: Any) -> Module:
    layer = LayerNorm(
        tuple(m.normalized_shape),
        eps=m.eps,
        elementwise_affine=m.elementwise_affine,
        bias=m.bias is not None,
        dtype=_dtype_of(m),
    )
    return _load(layer, weight=m.weight, bias=m.bias)


def _batch_norm(torch: Any, m: Any) -> Module:
    dtype = _dtype_of(m) if m.affine else dtype_name(_array(m.running_mean, "running_mean").dtype)
    layer = BatchNorm1d(
        m.num_features,
        eps=m.eps,
        momentum=m.momentum,
        affine=m.affine,
        track_running_stats=m.track_running_stats,
        dtype=dtype,
        bias=m.bias is not None,
    )
    return _load(
        layer,
        weight=m.weight,
        bias=m.bias,
        running_mean=m.running_mean,
        running_var=m.running_var,
        num_batches_tracked=m.num_batches_tracked,
    )


_FROM_TORCH: dict[str, Callable[[Any, Any], Module]] = {
    "Linear": _linear,
    "Sequential": _sequential,
    "ReLU": lambda torch, m: ReLU(),  # inplace or not, the returned values are the same
    "Tanh": lambda torch, m: Tanh(),
    "Sigmoid": lambda torch, m: Sigmoid(),
    "LeakyReLU": lambda torch, m: LeakyReLU(m.negative_slope),
    "GELU": lambda torch, m: GELU(approximate=m.approximate),
    "Dropout": lambda torch, m: Dropout(m.p),
    "Identity": lambda torch, m: Identity(),
    "Flatten": lambda torch, m: Flatten(m.start_dim, m.end_dim),
    "Softmax": lambda torch, m: Softmax(m.dim),
    "LogSoftmax": lambda torch, m: LogSoftmax(m.dim),
    "Embedding": _embedding,
    "LayerNorm": _layer_norm,
    "BatchNorm1d": _batch_norm,
}


# --------------------------------------------------------------------------------------------
# memograd -> PyTorch
# --------------------------------------------------------------------------------------------


def to_torch(model: Module) -> Any:
    """The PyTorch model of a memograd model built from the shared layers, with copies of its
    weights (``Linear``'s transposed), buffers, ``requires_grad`` flags and train/eval modes.

    ``MLP`` becomes a ``torch.nn.Sequential`` holding its ``layers``, so the state dict keys stay
    the same (``layers.0.weight``).
    """
    if not isinstance(model, Module):
        raise TypeError(f"to_torch expects a memograd Module, got {type(model).__name__}")
    torch = _torch()
    refused = []
    stack = [("", model)]
    while stack:
        path, module = stack.pop()
        if type(module) not in _TO_TORCH:
            refused.append(f"{_where(path)} ({type(module).__name__})")
            continue
        stack.extend(
            (f"{path}.{name}" if path else name, child) for name, child in module.named_children()
        )
    if refused:
        raise TypeError(
            f"to_torch: no PyTorch counterpart for {', '.join(sorted(refused))}; to_torch "
            f"converts models built from {SHARED} and MLP"
        )
    return _to_torch_module(torch, model)


def _to_torch_module(torch: Any, module: Module) -> Any:
    converted = _TO_TORCH[type(module)](torch, module)
    for name, param in module.named_parameters(recurse=False):
        getattr(converted, name).requires_grad_(param.requires_grad)
    converted.training = module.training  # this module's own mode (each child sets its own)
    return converted


def _tensor(torch: Any, value: Any) -> Any:
    array = value.data if isinstance(value, Tensor) else value
    return torch.from_numpy(np.array(array, copy=True))


def _torch_dtype(torch: Any, name: str) -> Any:
    return {"float32": torch.float32, "float64": torch.float64}[name]


def _fill(torch: Any, converted: Any, **arrays: Any) -> Any:
    with torch.no_grad():
        for name, value in arrays.items():
            if value is not None:
                getattr(converted, name).copy_(_tensor(torch, value))
    return converted


def _to_linear(torch: Any, m: Linear) -> Any:
    layer = torch.nn.Linear(
        m.in_features, m.out_features, bias=m.bias is not None, dtype=_torch_dtype(torch, m.dtype)
    )
    return _fill(torch, layer, weight=m.weight.data.T, bias=m.bias)


def _to_sequential(torch: Any, m: Sequential) -> Any:
    from collections import OrderedDict

    return torch.nn.Sequential(
        OrderedDict((name, _to_torch_module(torch, child)) for name, child in m.named_children())
    )


def _to_mlp(torch: Any, m: MLP) -> Any:
    from collections import OrderedDict

    return torch.nn.Sequential(OrderedDict(layers=_to_torch_module(torch, m.layers)))


def _to_embedding(torch: Any, m: Embedding) -> Any:
    return torch.nn.Embedding(
        m.num_embeddings,
        m.embedding_dim,
        padding_idx=m.padding_idx,
        _weight=_tensor(torch, m.weight),
    )


def _to_layer_norm(torch: Any, m: LayerNorm) -> Any:
    layer = torch.nn.LayerNorm(
        m.normalized_shape,
        eps=m.eps,
        elementwise_affine=m.elementwise_affine,
        bias=m.bias is not None,
        dtype=_torch_dtype(torch, m.dtype),
    )
    return _fill(torch, layer, weight=m.weight, bias=m.bias)


def _to_batch_norm(torch: Any, m: BatchNorm1d) -> Any:
    layer = torch.nn.BatchNorm1d(
        m.num_features,
        eps=m.eps,
        momentum=m.momentum,
        affine=m.affine,
        track_running_stats=m.track_running_stats,
        dtype=_torch_dtype(torch, m.dtype),
        bias=m.bias is not None,
    )
    return _fill(
        torch,
        layer,
        weight=m.weight,
        bias=m.bias,
        running_mean=m.running_mean,
        running_var=m.running_var,
        num_batches_tracked=m.num_batches_tracked,
    )


_TO_TORCH: dict[type, Callable[[Any, Any], Any]] = {
    Linear: _to_linear,
    Sequential: _to_sequential,
    MLP: _to_mlp,
    ReLU: lambda torch, m: torch.nn.ReLU(),
    Tanh: lambda torch, m: torch.nn.Tanh(),
    Sigmoid: lambda torch, m: torch.nn.Sigmoid(),
    LeakyReLU: lambda torch, m: torch.nn.LeakyReLU(m.negative_slope),
    GELU: lambda torch, m: torch.nn.GELU(approximate=m.approximate),
    Dropout: lambda torch, m: torch.nn.Dropout(m.p),
    Identity: lambda torch, m: torch.nn.Identity(),
    Flatten: lambda torch, m: torch.nn.Flatten(m.start_dim, m.end_dim),
    Softmax: lambda torch, m: torch.nn.Softmax(dim=m.dim),
    LogSoftmax: lambda torch, m: torch.nn.LogSoftmax(dim=m.dim),
    Embedding: _to_embedding,
    LayerNorm: _to_layer_norm,
    BatchNorm1d: _to_batch_norm,
}

set_torch_bridge(to_torch)
