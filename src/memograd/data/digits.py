"""The 8x8 handwritten digits, bundled so that everything works offline.

1797 images of 8x8 pixel counts (0..16) with labels 0..9: the test set of the UCI "Optical
Recognition of Handwritten Digits" data set (E. Alpaydin, C. Kaynak, 1998; CC BY 4.0), taken once
from scikit-learn's bundled copy by ``tools/make_digits.py``. Stored as uint8 in a compressed .npz
of about 45 kB.
"""

from __future__ import annotations

from importlib import resources

import numpy as np

from memograd.data.dataset import Dataset
from memograd.data.errors import DataError

N_IMAGES = 1797
IMAGE_SHAPE = (8, 8)


def load_digits() -> Dataset:
    """Return the digits as a :class:`Dataset`: ``X`` (1797, 64) float64 in 0..16, ``y`` int64.

    Feature ``p{r}{c}`` is the pixel in row r, column c (0-based). ``X.reshape(-1, 8, 8)`` gives
    the images back.
    """
    resource = resources.files("memograd.data").joinpath("digits.npz")
    with resources.as_file(resource) as path:
        try:
            with np.load(path, allow_pickle=False) as archive:
                pixels = archive["pixels"]
                labels = archive["labels"]
        except (OSError, KeyError, ValueError) as exc:
            raise DataError(
                f"{path}: the bundled digits file is damaged ({exc}); reinstall memograd"
            ) from exc
    if pixels.shape != (N_IMAGES, 64) or labels.shape != (N_IMAGES,):
        raise DataError(
            f"{path}: the bundled digits have shapes {pixels.shape} and {labels.shape}, "
            f"expected ({N_IMAGES}, 64) and ({N_IMAGES},); reinstall memograd"
        )
    names = tuple(f"p{r}{c}" for r in range(IMAGE_SHAPE[0]) for c in range(IMAGE_SHAPE[1]))
    return Dataset(
        X=pixels.astype(np.float64),
        y=labels.astype(np.int64),
        feature_names=names,
        target_name="digit",
        source="digits",
    )
