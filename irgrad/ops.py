"""Plain Python callables for the operations that have no callable of their own in `operator` or `builtins`.

The frontend turns each bytecode operation into a call of one of these (or of `operator.*`, `getattr`, `iter` ...),
so the IR has one kind of statement and the AD pass has one question per statement: is there a rule?
Each function here does exactly what the interpreter loop would do for its opcode.
"""
import types as _types


class _Stop:
    """Returned by `next_or_stop` when an iterator is exhausted (FOR_ITER's exit)."""

    __slots__ = ()

    def __repr__(self):
        return "STOP"


STOP = _Stop()


def next_or_stop(it):
    return next(it, STOP)


def build_tuple(*xs):
    return xs


def build_list(*xs):
    return list(xs)


def build_set(*xs):
    return set(xs)


def build_dict(*kvs):
    """build_dict(k1, v1, k2, v2, ...)"""
    return {kvs[i]: kvs[i + 1] for i in range(0, len(kvs), 2)}


def build_string(*parts):
    return "".join(parts)


def format_value(x, spec="", conversion=None):
    if conversion == "s":
        x = str(x)
    elif conversion == "r":
        x = repr(x)
    elif conversion == "a":
        x = ascii(x)
    return format(x, spec)


def unpack_sequence(x, n):
    """`a, b = x`: a tuple of exactly n items, raising what Python raises otherwise."""
    items = tuple(x)
    if len(items) != n:
        if len(items) > n:
            raise ValueError(f"too many values to unpack (expected {n})")
        raise ValueError(f"not enough values to unpack (expected {n}, got {len(items)})")
    return items


def unpack_ex(x, before, after):
    """`a, *b, c = x`: a tuple of `before` items, a list, and `after` items."""
    items = list(x)
    if len(items) < before + after:
        raise ValueError(f"not enough values to unpack (expected at least {before + after}, got {len(items)})")
    return tuple(items[:before]) + (items[before:len(items) - after],) + tuple(items[len(items) - after:])


def list_append(lst, x):
    """LIST_APPEND (comprehensions): appends and returns the same list, so SSA can follow it."""
    lst.append(x)
    return lst


def list_extend(lst, xs):
    lst.extend(xs)
    return lst


def set_add(s, x):
    s.add(x)
    return s


def set_update(s, xs):
    s.update(xs)
    return s


def dict_setitem(d, k, v):
    """MAP_ADD (dict comprehensions): sets and returns the same dict."""
    d[k] = v
    return d


def dict_update(d, other):
    d.update(other)
    return d


def dict_merge(d, other):
    """DICT_MERGE (`f(**a, **b)`): like update, but a repeated key is an error."""
    for k in other:
        if k in d:
            raise TypeError(f"got multiple values for keyword argument '{k}'")
    d.update(other)
    return d


def list_to_tuple(lst):
    return tuple(lst)


def call_ex(f, args, kwargs=None):
    """CALL_FUNCTION_EX: `f(*args, **kwargs)`."""
    return f(*args, **(kwargs or {}))


def not_contains(container, x):
    return x not in container


def contains(container, x):
    return x in container


def new_cell(*value):
    """MAKE_CELL: a fresh closure cell, empty or holding `value`."""
    return _types.CellType(*value)


def cell_get(cell):
    return cell.cell_contents


def cell_set(cell, value):
    cell.cell_contents = value
    return None


def freevar(func, index):
    """LOAD_DEREF of a free variable: the contents of the function's own closure cell number `index`."""
    try:
        return func.__closure__[index].cell_contents
    except ValueError:
        raise NameError(f"cannot access free variable '{func.__code__.co_freevars[index]}' where it is not "
                        "associated with a value in enclosing scope") from None


def make_function(code, globals_, defaults=None, kwdefaults=None, closure=None, annotations=None):
    """MAKE_FUNCTION: a new function object from a code object (nested functions, lambdas, comprehensions)."""
    f = _types.FunctionType(code, globals_, code.co_name, defaults, closure)
    if kwdefaults:
        f.__kwdefaults__ = kwdefaults
    if annotations:
        # The compiler builds annotations as a flat tuple (name, value, name, value, ...).
        f.__annotations__ = annotations if isinstance(annotations, dict) else dict(
            zip(annotations[::2], annotations[1::2]))
    f.__qualname__ = code.co_qualname if hasattr(code, "co_qualname") else code.co_name
    return f


def assert_fail(msg=None):
    """AssertionError with an optional message (the `assert` statement's failure)."""
    return AssertionError(msg) if msg is not None else AssertionError()


# ---------------------------------------------------------------------------------------------------------------
# Unbound locals and unresolved names (the frontend emits these only where the code may fail this way)

class _Unbound:
    """The value of a local slot that holds nothing (CPython's NULL in a fast local)."""

    __slots__ = ()

    def __repr__(self):
        return "UNBOUND"


UNBOUND = _Unbound()


def check_bound(value, name):
    """Loading a local that may be unbound: the value, or UnboundLocalError as CPython raises it."""
    if value is UNBOUND:
        raise UnboundLocalError(f"cannot access local variable '{name}' where it is not associated with a value")
    return value


def name_error(name):
    """Loading a global found neither in the globals nor in the builtins while tracing."""
    raise NameError(f"name '{name}' is not defined", name=name)


def freecell(func, index):
    """LOAD_CLOSURE of a free variable: the enclosing function's own closure cell number `index` (passed on to a
    nested closure)."""
    return func.__closure__[index]


def cell_of(value):
    """MAKE_CELL of a slot that may be unbound: an empty cell when it is."""
    return _types.CellType() if value is UNBOUND else _types.CellType(value)


def check_cell(cell, name):
    """Reading a closure cell of this function that may still be empty: the cell, or UnboundLocalError as CPython
    raises it."""
    try:
        cell.cell_contents
    except ValueError:
        raise UnboundLocalError(
            f"cannot access local variable '{name}' where it is not associated with a value") from None
    return cell
