"""``Module``: the base of every layer and network, PyTorch's surface on memograd Tensors.

A module owns three kinds of attributes, registered automatically when assigned:

* **parameters**: :class:`Parameter` objects and other Tensors with ``requires_grad=True``
  (weights, biases), trained by an optimizer;
* **buffers**: state that is saved but not trained (a standardiser's mean, a batch norm's
  running statistics), registered with :meth:`Module.register_buffer`: NumPy arrays or Tensors;
* **submodules**: other Modules, whose parameters and buffers are reached with dotted names
  (``layers.0.weight``), exactly as in ``torch.nn``.

``state_dict()`` is the flat name -> array mapping of parameters and buffers, in PyTorch's order,
and is what :mod:`memograd.nn.serialization` writes to disk. A saved file is rebuilt from JSON
alone, without pickling and without running any code from the file: each module is described by
its class name and its constructor's arguments. Built-in layers write theirs in ``config()``; a
user's subclass records the arguments it was built with (:mod:`memograd.nn.arguments`), and is
found again by its qualified name among the classes the program has defined, never imported
because a file names it.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

from memograd.engine.compiler import host_call
from memograd.engine.tensor import Tensor, bump_version, from_numpy
from memograd.nn.arguments import RECORD, call_with, record_arguments
from memograd.nn.model_file import write_model
from memograd.nn.parameter import Parameter

# Class name -> class, for the built-in layers and the classes decorated with register_module:
# a file names them by their bare name.
MODULE_REGISTRY: dict[str, type[Module]] = {}
# "module:qualname" -> every Module subclass defined in this program, held weakly. A file names a
# user's class this way; loading looks it up here and never imports anything.
DEFINED_MODULES: weakref.WeakValueDictionary[str, type[Module]] = weakref.WeakValueDictionary()

FLOAT_DTYPES = ("float32", "float64")


def register_module(cls: type[Module]) -> type[Module]:
    """Class decorator: name a Module subclass in saved files by its bare class name.

    Optional: every subclass is loadable by its qualified name once the program has defined it.
    The decorator keeps files written by earlier versions (which named classes this way) loading.
    """
    if not (isinstance(cls, type) and issubclass(cls, Module)):
        raise TypeError(f"register_module expects a Module subclass, got {cls!r}")
    existing = MODULE_REGISTRY.get(cls.__name__)
    if existing is not None and existing is not cls:
        raise ValueError(
            f"a different module class named {cls.__name__!r} is already registered "
            f"({existing.__module__}.{existing.__qualname__})"
        )
    MODULE_REGISTRY[cls.__name__] = cls
    return cls


def type_name(cls: type[Module]) -> str:
    """What a saved file calls ``cls``: its bare name if registered, else ``module:qualname``."""
    if MODULE_REGISTRY.get(cls.__name__) is cls:
        return cls.__name__
    return f"{cls.__module__}:{cls.__qualname__}"


def module_class(kind: str) -> type[Module]:
    """The class a file's ``type`` names, among classes already defined; ValueError otherwise.

    ``module:qualname`` is looked up exactly; if the class was defined under another module name
    (a script saved it as ``__main__:Net``, a program importing that script loads it), the one
    defined class with that qualified name is taken, and two or more are refused as ambiguous.
    """
    cls = MODULE_REGISTRY.get(kind)
    if cls is not None:
        return cls
    if ":" in kind:
        cls = DEFINED_MODULES.get(kind)
        if cls is not None:
            return cls
        qualname = kind.partition(":")[2]
        candidates = sorted(
            name for name, c in list(DEFINED_MODULES.items()) if c.__qualname__ == qualname
        )
        if len(candidates) == 1:
            return DEFINED_MODULES[candidates[0]]
        if candidates:
            raise ValueError(
                f"module type {kind!r} is ambiguous: this program defines {', '.join(candidates)}"
            )
        raise ValueError(
            f"unknown module type {kind!r}: this program has not defined a Module class "
            f"{qualname!r}; define or import it before loading (a model file never imports code)"
        )
    raise ValueError(
        f"unknown module type {kind!r}; built-in types are {', '.join(sorted(MODULE_REGISTRY))}, "
        "and a file names any other class as 'module:QualifiedName'"
    )


def build_module(description: Mapping[str, Any]) -> Module:
    """Rebuild a module from ``{"type": ..., "config": {...}}`` using defined classes only."""
    if not isinstance(description, Mapping):
        raise ValueError(
            f"a module description must be an object, got {type(description).__name__}"
        )
    kind = description.get("type")
    config = description.get("config", {})
    if not isinstance(kind, str):
        raise ValueError(f"a module type must be a string, got {kind!r}")
    cls = module_class(kind)
    if not isinstance(config, Mapping):
        raise ValueError(f"the config of a {kind} must be an object, got {type(config).__name__}")
    try:
        return cls.from_config(config)
    except TypeError as exc:
        raise ValueError(f"bad config for {kind}: {exc}") from None


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict(strict=False)`` left out, as PyTorch returns it."""

    missing_keys: list[str]
    unexpected_keys: list[str]

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return (
            f"IncompatibleKeys(missing_keys={self.missing_keys}, "
            f"unexpected_keys={self.unexpected_keys})"
        )


class TorchLayoutState(dict):
    """A state dict of NumPy arrays in PyTorch's layout, as ``mg.nn.from_torch(state_dict)``
    returns it. ``load_state_dict`` puts each entry a module stores differently (``Linear``'s
    weight is (out, in) in PyTorch, (in, out) here) into memograd's layout before loading."""


class Module:
    """Base class: subclasses set attributes in ``__init__`` and define ``forward``."""

    # Parameter names whose array PyTorch stores transposed (Linear: weight); read by the bridge
    # and by load_state_dict for a TorchLayoutState.
    torch_transposed: tuple[str, ...] = ()
    # State a loaded dict may lack (it then keeps its value), as PyTorch lets old checkpoints
    # lack BatchNorm's num_batches_tracked.
    optional_state: tuple[str, ...] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        DEFINED_MODULES[f"{cls.__module__}:{cls.__qualname__}"] = cls
        # A class that writes its own __init__ but not its own config() is described by the
        # arguments each instance was built with.
        if "__init__" in cls.__dict__ and "config" not in cls.__dict__:
            record_arguments(cls)

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "training", True)

    # ---- registration ----------------------------------------------------------------------------

    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"{type(self).__name__}.__init__ must call super().__init__() before setting "
                f"attribute {name!r}"
            )
        # Reassigning keeps a buffer a buffer, and a parameter slot set to None stays a slot
        # (Linear(bias=False) has bias None), as in torch.
        if name in self._buffers and (value is None or isinstance(value, np.ndarray | Tensor)):
            self._buffers[name] = value
            object.__setattr__(self, name, value)
            return
        if name in self._parameters and value is None:
            self._parameters[name] = None
            object.__setattr__(self, name, value)
            return
        for table in (self._parameters, self._buffers, self._modules):
            table.pop(name, None)
        self._non_persistent.discard(name)
        if isinstance(value, Module):
            self._modules[name] = value
        elif isinstance(value, Parameter) or (isinstance(value, Tensor) and value.requires_grad):
            self._parameters[name] = value
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        for table in (self._parameters, self._buffers, self._modules):
            table.pop(name, None)
        self._non_persistent.discard(name)
        object.__delattr__(self, name)

    def _check_new_name(self, name: Any, what: str) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"{type(self).__name__}.__init__ must call super().__init__() before "
                f"registering {what} {name!r}"
            )
        if not isinstance(name, str):
            raise TypeError(f"{what} name must be a string, got {type(name).__name__}")
        if not name or "." in name:
            raise KeyError(f'{what} name must be a non-empty string without ".", got {name!r}')
        known = name in self._parameters or name in self._buffers or name in self._modules
        if hasattr(self, name) and not known:
            raise KeyError(f"attribute {name!r} already exists")

    def register_buffer(self, name: str, tensor: Any, persistent: bool = True) -> None:
        """Keep ``tensor`` (an array, a Tensor or None) as state that is saved but not trained.

        ``persistent=False`` keeps it out of ``state_dict()`` (a cache that can be recomputed).
        """
        self._check_new_name(name, "buffer")
        if tensor is not None and not isinstance(tensor, Tensor):
            tensor = np.asarray(tensor)
            if tensor.dtype.kind not in "fiub":
                raise TypeError(f"buffer {name!r} must be numbers, got dtype {tensor.dtype}")
        for table in (self._parameters, self._modules):
            table.pop(name, None)
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent.discard(name)
        else:
            self._non_persistent.add(name)
        object.__setattr__(self, name, tensor)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a parameter (or a None slot for one, as ``bias`` without a bias) under ``name``."""
        self._check_new_name(name, "parameter")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"cannot register a {type(param).__name__} as parameter {name!r} "
                "(memograd.nn.Parameter or None expected)"
            )
        for table in (self._buffers, self._modules):
            table.pop(name, None)
        self._parameters[name] = param
        object.__setattr__(self, name, param)

    def add_module(self, name: str, module: Module | None) -> None:
        """Add a submodule under ``name`` (what ``self.name = module`` does)."""
        self._check_new_name(name, "module")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        setattr(self, name, module)

    # ---- traversal -------------------------------------------------------------------------------

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """The direct submodules with their attribute names (each shared one once)."""
        seen: set[int] = set()
        for name, child in self._modules.items():
            if child is not None and id(child) not in seen:
                seen.add(id(child))
                yield name, child

    def children(self) -> Iterator[Module]:
        for _, child in self.named_children():
            yield child

    def named_modules(
        self, memo: set[int] | None = None, prefix: str = "", remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Module]]:
        """This module and every descendant, depth first, with dotted names ("" for self)."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                path = f"{prefix}.{name}" if prefix else name
                yield from child.named_modules(memo, path, remove_duplicate)

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Tensor]]:
        """Every parameter with its dotted name, in registration order (each shared one once)."""
        seen: set[int] = set()
        modules = self.named_modules(prefix=prefix) if recurse else iter([(prefix, self)])
        for module_name, module in modules:
            for name, param in module._parameters.items():
                if param is None or (remove_duplicate and id(param) in seen):
                    continue
                seen.add(id(param))
                yield (f"{module_name}.{name}" if module_name else name), param

    def parameters(self, recurse: bool = True) -> list[Tensor]:
        """The trainable Tensors, in a list ready for an optimizer."""
        return [param for _, param in self.named_parameters(recurse=recurse)]

    def named_buffers(
        self, prefix: str = "", recurse: bool = True
    ) -> Iterator[tuple[str, np.ndarray | Tensor]]:
        modules = self.named_modules(prefix=prefix) if recurse else iter([(prefix, self)])
        for module_name, module in modules:
            for name, buffer in module._buffers.items():
                if buffer is not None:
                    yield (f"{module_name}.{name}" if module_name else name), buffer

    def buffers(self, recurse: bool = True) -> list[np.ndarray | Tensor]:
        return [buffer for _, buffer in self.named_buffers(recurse=recurse)]

    def num_parameters(self) -> int:
        """How many trainable numbers the module has."""
        return sum(int(p.data.size) for p in self.parameters())

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call ``fn`` on every submodule (children first) and then on this module; returns self.

        The usual use is initialisation: ``model.apply(init_weights)``.
        """
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # ---- training switches -----------------------------------------------------------------------

    @host_call  # a compiled step replays it whole
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Drop every parameter's gradient (None, as ``optimizer.zero_grad()``), or zero it."""
        for param in self.parameters():
            if set_to_none or param.grad is None:
                param.grad = None
            else:
                param.grad = np.zeros_like(param.grad)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Set ``requires_grad`` on every parameter (``False`` freezes the module); returns self."""
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def train(self, mode: bool = True) -> Module:
        """Switch this module and all descendants to training (or, with False, eval) mode."""
        if not isinstance(mode, bool):
            raise ValueError(f"training mode is expected to be a bool, got {mode!r}")
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode: dropout off, batch norm on its running statistics. Returns self."""
        return self.train(False)

    # ---- dtype -----------------------------------------------------------------------------------

    def to(self, *args: Any, **kwargs: Any) -> Module:
        """Cast every floating parameter and buffer to a dtype, in place; returns self.

        Takes ``to(dtype)``, ``to(tensor)`` (its dtype), ``to("cpu")``, ``to("cpu", dtype)`` and
        ``device=``/``dtype=`` as PyTorch does. memograd runs on the CPU: any other device is
        refused. The Parameter objects stay the same (an optimizer keeps pointing at them).
        """
        dtype = _target_dtype(args, kwargs)
        if dtype is not None:
            self._cast(dtype)
        return self

    def float(self) -> Module:
        """Cast floating parameters and buffers to float32 (``to(float32)``)."""
        return self.to(np.float32)

    def double(self) -> Module:
        """Cast floating parameters and buffers to float64 (``to(float64)``)."""
        return self.to(np.float64)

    def cpu(self) -> Module:
        """Returns self: memograd's arrays are always in the CPU's memory."""
        return self

    def _cast(self, dtype: np.dtype) -> None:
        for module in self.modules():
            for param in module._parameters.values():
                if param is not None and param.data.dtype.kind == "f" and param.dtype != dtype:
                    param.data = param.data.astype(dtype)
                    if param.grad is not None:
                        param.grad = param.grad.astype(dtype)
            for name, buffer in module._buffers.items():
                if isinstance(buffer, Tensor) and buffer.data.dtype.kind == "f":
                    if buffer.dtype != dtype:
                        buffer.data = buffer.data.astype(dtype)
                elif isinstance(buffer, np.ndarray) and buffer.dtype.kind == "f":
                    module._buffers[name] = buffer.astype(dtype)
                    object.__setattr__(module, name, module._buffers[name])

    # ---- state -----------------------------------------------------------------------------------

    def _state_items(self, prefix: str = "") -> Iterator[tuple[str, Tensor | np.ndarray]]:
        """(name, parameter or buffer) in PyTorch's state_dict order: each module's parameters,
        then its persistent buffers, then its children's. A tied weight is listed under each
        of its names, as in PyTorch."""
        for name, param in self._parameters.items():
            if param is not None:
                yield prefix + name, param
        for name, buffer in self._buffers.items():
            if buffer is not None and name not in self._non_persistent:
                yield prefix + name, buffer
        for name, child in self._modules.items():
            if child is not None:
                yield from child._state_items(f"{prefix}{name}.")

    def state_dict(self, *, prefix: str = "", keep_vars: bool = False) -> dict[str, Any]:
        """Name -> copy of every parameter and buffer array (copies: later training won't leak).

        ``keep_vars=True`` returns the Tensors (and buffer arrays) themselves instead.
        """
        if keep_vars:
            return dict(self._state_items(prefix))
        return {
            name: (value.data if isinstance(value, Tensor) else value).copy()
            for name, value in self._state_items(prefix)
        }

    def load_state_dict(
        self, state_dict: Mapping[str, Any], strict: bool = True
    ) -> IncompatibleKeys:
        """Copy arrays from ``state_dict`` into this module's parameters and buffers, in place.

        Every mismatch is reported at once: missing names, unexpected names (both only when
        ``strict``), and each shape that differs, e.g. ``layers.0.weight: expected shape
        (64, 32), got (32, 64)``. Nothing is changed unless everything matches. A state dict of
        torch tensors is refused (convert it with ``mg.nn.from_torch``, which knows their layout).
        Returns the missing and unexpected names, as PyTorch does.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"expected a mapping of names to arrays, got {type(state_dict)}")
        if isinstance(state_dict, TorchLayoutState):
            state_dict = self._from_torch_layout(state_dict)
        targets = dict(self._state_items())
        optional = {
            f"{path}.{name}" if path else name
            for path, module in self.named_modules()
            for name in module.optional_state
        }
        missing = [n for n in targets if n not in state_dict and n not in optional]
        unexpected = [n for n in state_dict if n not in targets]
        problems: list[str] = []
        if strict and missing:
            problems.append("missing " + ", ".join(missing))
        if strict and unexpected:
            problems.append("unexpected " + ", ".join(unexpected))
        updates: list[tuple[Tensor | np.ndarray, np.ndarray]] = []
        for name, target in targets.items():
            if name not in state_dict:
                continue
            value = state_dict[name]
            if type(value).__module__.startswith("torch"):
                raise TypeError(
                    f"load_state_dict: {name!r} is a torch tensor; convert a PyTorch state dict "
                    "with mg.nn.from_torch(state_dict), which puts each Linear weight in "
                    "memograd's (in_features, out_features) layout"
                )
            source = np.asarray(value.data if isinstance(value, Tensor) else value)
            array = target.data if isinstance(target, Tensor) else target
            if source.shape != array.shape:
                problems.append(f"{name}: expected shape {array.shape}, got {source.shape}")
            elif source.dtype.kind not in "fiub":
                problems.append(f"{name}: expected numbers, got dtype {source.dtype}")
            else:
                updates.append((target, source))
        if problems:
            raise ValueError(
                f"cannot load state into {type(self).__name__}: " + "; ".join(problems)
            )
        for target, source in updates:
            if isinstance(target, Tensor):
                target.data[...] = source
                bump_version(target)  # a graph that saved the old values must not use the new
            else:
                target[...] = source
        return IncompatibleKeys(missing, unexpected)

    def _from_torch_layout(self, state: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """``state`` with the entries PyTorch stores transposed put in memograd's layout."""
        converted = dict(state)
        for module_name, module in self.named_modules():
            for name in module.torch_transposed:
                key = f"{module_name}.{name}" if module_name else name
                if key in converted:
                    converted[key] = np.asarray(converted[key]).T
        return converted

    # ---- describing and rebuilding ---------------------------------------------------------------

    def config(self) -> dict[str, Any]:
        """Constructor keyword arguments as JSON values; what a saved file stores for this module.

        Built-in modules write theirs; a subclass that defines ``__init__`` (and not ``config``)
        gets the arguments each instance was built with.
        """
        recorded = self.__dict__.get(RECORD)
        if recorded is None:
            if _defines(type(self), "__init__") is Module:
                return {}  # built by Module.__init__ itself: no arguments to record
            raise NotImplementedError(
                f"{type(self).__name__} does not describe its architecture: give it an __init__ "
                "taking plain values, or implement config() returning its constructor arguments"
            )
        config, problem = recorded
        if config is None:
            raise TypeError(
                f"cannot save a {type(self).__name__}: its constructor's {problem}; a saved "
                "model is rebuilt from plain values only (implement config() and from_config() "
                "to describe it yourself, or save its state_dict() with its code)"
            )
        return dict(config)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Module:
        """Rebuild an (untrained) module from :meth:`config`; containers override this."""
        return call_with(cls, config)

    def describe(self) -> dict[str, Any]:
        """``{"type": class name, "config": {...}}``: the JSON architecture of this module."""
        cls = type(self)
        config_owner = _defines(cls, "config")
        if config_owner is not Module and issubclass(config_owner, _defines(cls, "__init__")):
            config = self.config()  # written for this constructor (or one it inherits)
        else:
            config = Module.config(self)  # the arguments this instance was built with
        return {"type": type_name(cls), "config": config}

    def save(self, path: str, metadata: Mapping[str, Any] | None = None) -> None:
        """Write architecture and weights to one .npz file (see :func:`memograd.nn.save`)."""
        write_model(path, self.describe(), self.state_dict(), metadata)

    def to_torch(self) -> Any:
        """The same model as a ``torch.nn.Module``, with the same weights (needs PyTorch).

        See :func:`memograd.nn.bridge.to_torch`: ``Linear`` weights are transposed to PyTorch's
        (out_features, in_features) and the outputs agree to float precision.
        """
        if _TORCH_BRIDGE is None:  # pragma: no cover - memograd.nn always installs it
            raise RuntimeError("the PyTorch bridge (memograd.nn.bridge) is not loaded")
        return _TORCH_BRIDGE(self)

    # ---- calling ---------------------------------------------------------------------------------

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    # ---- printing --------------------------------------------------------------------------------

    def extra_repr(self) -> str:
        """This module's own settings for its repr (one line, or several)."""
        return ""

    def __repr__(self) -> str:
        """As PyTorch prints a module: settings, then each child indented under ``(name): ``."""
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [
            f"({name}): " + repr(child).replace("\n", "\n  ")
            for name, child in self._modules.items()
        ]
        lines = extra_lines + child_lines
        body = ""
        if len(extra_lines) == 1 and not child_lines:
            body = extra_lines[0]
        elif lines:
            body = "\n  " + "\n  ".join(lines) + "\n"
        return f"{type(self).__name__}({body})"


def _defines(cls: type, name: str) -> type:
    """The class of ``cls``'s method resolution order that defines ``name``."""
    return next(c for c in cls.__mro__ if name in c.__dict__)


_TORCH_BRIDGE: Callable[[Module], Any] | None = None


def set_torch_bridge(convert: Callable[[Module], Any]) -> None:
    """Install ``Module.to_torch``'s converter (``memograd.nn.bridge`` does, on import)."""
    global _TORCH_BRIDGE
    _TORCH_BRIDGE = convert


def _target_dtype(args: tuple[Any, ...], kwargs: dict[str, Any]) -> np.dtype | None:
    """The dtype ``Module.to``'s arguments ask for (None: keep), refusing any device but the CPU."""
    unknown = set(kwargs) - {"device", "dtype", "non_blocking", "copy"}
    if unknown:
        raise TypeError(f"to() got an unexpected keyword argument {sorted(unknown)[0]!r}")
    dtype = kwargs.get("dtype")
    devices = [kwargs["device"]] if kwargs.get("device") is not None else []
    for arg in args:
        if isinstance(arg, Tensor):
            dtype = arg.dtype
        elif isinstance(arg, str) and arg.split(":")[0] in ("cpu", "cuda", "mps", "meta", "xpu"):
            devices.append(arg)
        else:
            dtype = arg
    for device in devices:
        if str(device).split(":")[0] != "cpu":
            raise ValueError(f"memograd runs on the CPU only; cannot move a module to {device!r}")
    if dtype is None:
        return None
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"to(): {dtype!r} is neither a dtype nor a device") from None
    if resolved.name not in FLOAT_DTYPES:
        raise TypeError(f"to(): modules hold float32 or float64 numbers, not {resolved.name}")
    return resolved


def as_tensor(x: Any, dtype: np.dtype | None = None) -> Tensor:
    """A Tensor for a layer's input: arrays are shared, not copied (cast to ``dtype`` if given)."""
    if isinstance(x, Tensor):
        return x
    array = np.asarray(x, dtype=dtype)
    if array.dtype.kind not in "fiub":
        raise TypeError(f"expected numbers for a layer's input, got dtype {array.dtype}")
    return from_numpy(array)
