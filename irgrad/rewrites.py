"""Rewrites of the typed primal IR between inlining and the AD transform: each makes the code the AD pass sees
cheaper to run and to differentiate, and computes exactly what the user's code computes.

- `loops`: loops whose trip count the types fix are unrolled; map-reduce loops over lists of floats become
  array code (with the scalar loop kept as the fallback for what array code cannot reproduce).
- `idioms`: common compositions (sigmoid, softmax, log-softmax ...) become one operation with a fused derivative.
"""
from __future__ import annotations

from . import idioms, loops


def rewrite(ir):
    ir = loops.rewrite(ir)
    ir = idioms.rewrite(ir)
    return ir
