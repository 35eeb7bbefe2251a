"""The compiler: a training step traced once per signature and replayed as a flat plan.

``trace`` records one eager run through the engine's hooks; ``lower`` turns the record into a
program (the forward ops, the backward as the engine's own sweep emits it, the optimizer's
step); ``kernels`` is the library of out=-style kernels it uses for the rows of a training step;
``plan`` gives every buffer its place in one arena (liveness, in-place reuse); ``codegen`` writes
the replay as one Python function; ``step`` is ``mg.compile`` itself and its cache of plans.
"""

from memograd.engine.compiler.step import CacheInfo, CompiledPlan, CompiledStep, compile
from memograd.engine.compiler.trace import TraceError, host_call

__all__ = ["CacheInfo", "CompiledPlan", "CompiledStep", "TraceError", "compile", "host_call"]
