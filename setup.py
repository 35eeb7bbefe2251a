"""The one compiled part of memograd: memoize's hit path in C, src/memograd/memo/_speedups.c.

Everything else is in pyproject.toml. The extension is optional: without a C compiler the install
goes on, and memoize runs its pure-Python wrapper, the same behaviour at about 1.5x the time of a
functools.cache hit instead of about 1x (docs/performance.md, "A mg.memoize hit").
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "memograd.memo._speedups",
            sources=["src/memograd/memo/_speedups.c"],
            optional=True,
        )
    ]
)
