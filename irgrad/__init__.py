"""irgrad: source-to-source automatic differentiation of plain Python and NumPy code, in the manner of Zygote.jl."""
from .errors import IrgradError, IRVerifyError, NoRuleError, TypeSpecError, UnsupportedError
from .rules.registry import non_differentiable, rrule
from .tangent import Tangent

__all__ = [
    "IrgradError", "IRVerifyError", "NoRuleError", "TypeSpecError", "UnsupportedError",
    "Tangent", "rrule", "non_differentiable",
]
