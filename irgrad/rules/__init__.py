"""The rule library, in modules by domain.  Importing this package registers every rule."""
from .registry import NONDIFF, lookup, non_differentiable, rrule  # noqa: F401
from . import shapes  # noqa: F401  (shapes: reshapes, transposes, joins, repeats)
