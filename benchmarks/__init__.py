"""memograd's benchmark: a folder of the repository, not part of the installed package.

``python benchmarks/run.py`` (or ``make bench``) runs it; README.md says how to add a case family.
"""
