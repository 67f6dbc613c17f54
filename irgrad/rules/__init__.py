"""The rule library, in modules by domain.  Importing this package registers every rule."""
from .registry import NONDIFF, lookup, non_differentiable, rrule  # noqa: F401
from . import elementwise  # noqa: F401  (NumPy ufuncs, where, clip, elementwise array methods)
from . import operators  # noqa: F401  (Python operators and builtins)
from . import pymath  # noqa: F401  (the math module)
from . import reductions  # noqa: F401  (sum, mean, prod, max, min, std, var, norm, scans)
from . import shapes  # noqa: F401  (shapes: reshapes, transposes, joins, repeats)
from . import containers  # noqa: F401  (the IR's own container, attribute and closure operations)
from . import iteration  # noqa: F401  (for loops, enumerate, zip)
from . import indexing  # noqa: F401  (getitem, take, setitem)
from . import linalg  # noqa: F401  (products, diagonals, np.linalg, polyval)
from . import creation  # noqa: F401  (constructors, ranges, random draws, positions)
from . import fused  # noqa: F401  (fused operations put in place of idioms: sigmoid, softmax ...)
from . import sequences  # noqa: F401  (operations of loops rewritten as array code)
