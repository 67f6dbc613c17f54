"""irgrad: source-to-source automatic differentiation of plain Python and NumPy code, in the manner of Zygote.jl."""
from . import rules  # noqa: F401  (registers the rule library)
from .api import cache_info, clear_cache, code_adjoint, gradient, jacobian, pullback, withgradient
from .errors import IrgradError, IRVerifyError, NoRuleError, TypeSpecError, UnsupportedError
from .rules.registry import non_differentiable, rrule
from .tangent import Tangent
from .pipeline import code_ir

__all__ = [
    "gradient", "withgradient", "pullback", "jacobian", "code_ir", "code_adjoint", "cache_info", "clear_cache",
    "rrule", "non_differentiable", "Tangent",
    "IrgradError", "IRVerifyError", "NoRuleError", "TypeSpecError", "UnsupportedError",
]
