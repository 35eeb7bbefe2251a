"""Development-only: produce ``src/memograd/data/digits.npz`` from scikit-learn's bundled copy.

memograd ships the 8x8 handwritten digits (1797 images, 10 classes) inside the package so that
``memograd train --dataset digits`` works offline, without scikit-learn. This script is how that
file was made, kept so the file can be checked and rebuilt; it is not part of the library and
nothing imports it. Run it once, in a throwaway environment that has scikit-learn::

    python3 -m venv /tmp/skl && /tmp/skl/bin/pip install scikit-learn
    /tmp/skl/bin/python tools/make_digits.py

Source: scikit-learn's ``load_digits``, a copy of the test set of the UCI "Optical Recognition of
Handwritten Digits" data set (E. Alpaydin, C. Kaynak, 1998), licensed CC BY 4.0 by the UCI
Machine Learning Repository.

The pixels are counts 0..16 and the labels 0..9, so both fit in uint8; stored compressed the file
is about 45 kB. It is written to a temporary name and renamed, so an interrupted run never leaves
half a file behind.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import numpy as np

TARGET = Path(__file__).resolve().parent.parent / "src" / "memograd" / "data" / "digits.npz"


def main() -> int:
    from sklearn.datasets import load_digits  # development-only dependency

    bunch = load_digits()
    pixels = np.asarray(bunch.data)
    labels = np.asarray(bunch.target)
    if pixels.shape != (1797, 64) or labels.shape != (1797,):
        raise SystemExit(f"unexpected shapes {pixels.shape} and {labels.shape} from scikit-learn")
    if pixels.min() < 0 or pixels.max() > 16 or not np.array_equal(pixels, np.round(pixels)):
        raise SystemExit("pixels are not whole numbers in 0..16")
    if set(np.unique(labels).tolist()) != set(range(10)):
        raise SystemExit("labels are not exactly the classes 0..9")

    fd, tmp = tempfile.mkstemp(dir=TARGET.parent, prefix=".digits-", suffix=".npz")
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez_compressed(
                handle, pixels=pixels.astype(np.uint8), labels=labels.astype(np.uint8)
            )
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; the packaged file must be readable
        os.replace(tmp, TARGET)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    print(f"wrote {TARGET.name}: {TARGET.stat().st_size} bytes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
