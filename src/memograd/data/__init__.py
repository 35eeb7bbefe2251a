"""Data for memograd: seeded toy sets, the bundled digits, loaders for a user's own files.

Everything here needs NumPy alone and works offline. Loaders return a :class:`Dataset`, which
unpacks as ``X, y``; every problem with the data raises :class:`DataError` naming the file (or
array), the row and the column. Every loader reads the target by one rule (:mod:`.targets`:
text and whole numbers are classes, other numbers regression values) and checks a file's sizes
against a memory budget before reading it (:func:`memograd._budget.check_memory`).
``TensorDataset`` and ``DataLoader`` are torch.utils.data's minibatch loop, yielding memograd
Tensors.
"""

from __future__ import annotations

from memograd.data import targets
from memograd.data.csv_loader import load_csv
from memograd.data.dataset import Dataset
from memograd.data.digits import load_digits
from memograd.data.errors import DataError
from memograd.data.idx import load_idx, read_idx
from memograd.data.loader import DataLoader, TensorDataset, default_collate, default_convert
from memograd.data.loading import detect_format, load_file
from memograd.data.npy_loader import load_npy, load_npz
from memograd.data.split import BatchIterator, Standardizer, batches, train_test_split
from memograd.data.synthetic import blobs, circles, moons, spirals
from memograd.data.validation import as_class_labels, as_feature_matrix, check_labels_in_classes

__all__ = [
    "BatchIterator",
    "DataError",
    "DataLoader",
    "Dataset",
    "Standardizer",
    "TensorDataset",
    "as_class_labels",
    "as_feature_matrix",
    "batches",
    "blobs",
    "check_labels_in_classes",
    "circles",
    "default_collate",
    "default_convert",
    "detect_format",
    "load_csv",
    "load_digits",
    "load_file",
    "load_idx",
    "load_npy",
    "load_npz",
    "moons",
    "read_idx",
    "spirals",
    "targets",
    "train_test_split",
]
