"""A zoo of whole functions with example arguments: every construct the frontend traces, plain arithmetic, NumPy,
control flow, closures, methods and callable objects, recursion, and code that raises.

`CASES` is a list of `Case(name, fn, args, kwargs, differentiable)`.  `differentiable=True` marks the cases whose
result is a float depending smoothly on float (or float-array) arguments at the given point, with no in-place
mutation of arrays: the AD tests check their gradients against finite differences.
"""
from __future__ import annotations

import functools
import math
import operator
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Case:
    name: str
    fn: object
    args: tuple
    kwargs: dict = field(default_factory=dict)
    differentiable: bool = False

    def __repr__(self):
        return f"Case({self.name})"


CASES: list = []


def case(*args, kwargs=None, diff=False, name=None):
    """Register the decorated function with example arguments."""
    def register(fn):
        CASES.append(Case(name or fn.__name__, fn, args, dict(kwargs or {}), diff))
        return fn
    return register


def add_case(name, fn, *args, kwargs=None, diff=False):
    CASES.append(Case(name, fn, args, dict(kwargs or {}), diff))


_rng = np.random.default_rng(0)
V3 = _rng.standard_normal(3)
V5 = _rng.standard_normal(5)
M23 = _rng.standard_normal((2, 3))
M33 = _rng.standard_normal((3, 3)) + 3 * np.eye(3)
M34 = _rng.standard_normal((3, 4))
POS5 = np.abs(_rng.standard_normal(5)) + 0.5
SCALE = 2.5
OFFSET = np.array([0.5, -1.0, 2.0])


# ---------------------------------------------------------------------------------------------------------------
# Scalar arithmetic

@case(1.3, 0.7, diff=True)
def add_mul(x, y):
    return x * y + x - y / 3.0


@case(1.3, 0.7, diff=True)
def poly2(x, y):
    return 3.0 * x ** 2 + 2.0 * x * y - y ** 3 + 1.0


@case(0.4, diff=True)
def unary_ops(x):
    return -x + (+x) * 2.0 - abs(-x)


@case(2.7, 0.9, diff=True)
def division(x, y):
    return x / y + y / x


@case(7, 3)
def integer_ops(a, b):
    return a // b, a % b, a ** b, -a // b, divmod(a, b)


@case(0b1101, 0b0110)
def bitwise(a, b):
    return a & b, a | b, a ^ b, ~a, a << 2, b >> 1


@case(1.2, 0.5, diff=True)
def inplace_scalars(x, y):
    z = x
    z += y
    z *= x
    z -= 0.5
    z /= y
    z **= 2
    return z


@case(17, 5)
def inplace_ints(a, b):
    a //= b
    b %= 3
    a <<= 2
    a >>= 1
    a |= 8
    a &= 12
    a ^= 5
    return a, b


@case(1.5, 2.5)
def comparisons(x, y):
    return x < y, x <= y, x == y, x != y, x > y, x >= y


@case(3, None)
def identity_tests(a, b):
    return a is None, b is None, a is not None, b is not None


@case(2, [1, 2, 3])
def membership(x, xs):
    return x in xs, x not in xs, 5 in xs, "a" in {"a": 1}


@case(0.3, diff=True)
def math_module(x):
    return math.sin(x) + math.cos(x) * math.exp(x) - math.log(1.0 + x) + math.sqrt(x + 1.0) + math.tanh(x)


@case(0.3, 0.8, diff=True)
def math_two_args(x, y):
    return math.atan2(x, y) + math.hypot(x, y) + math.pow(y, x)


@case(1.7, diff=True)
def chained_comparison_branch(x):
    if 0.0 < x < 2.0:
        return x * x
    return -x


@case(5, 2)
def chained_comparison_value(a, b):
    return 0 < b < a, a < b < 10, 1 <= b <= a <= 5


@case(3.0, diff=True)
def builtins_numeric(x):
    return float(max(x, 1.0)) + min(x, 10.0) + pow(x, 2) + sum([x, x, 1.0])


@case(3.7)
def builtins_round(x):
    return round(x), int(x), round(x, 1), abs(-x), bool(x), str(int(x)), len("abc")


@case(True, False)
def boolean_ops(p, q):
    return p and q, p or q, not p, not q, (p and not q) or (q and not p)


@case(0, "", [1])
def short_circuit_values(a, b, c):
    return a or b or c, a and b, c and a, c or a


@case(2.0, 3.0, diff=True)
def conditional_expression(x, y):
    return x * y if x < y else x + y


@case(-1.5, diff=True)
def nested_conditional_expression(x):
    return x * x if x > 1.0 else (-x if x < -1.0 else 2.0 * x)


# ---------------------------------------------------------------------------------------------------------------
# Branches

@case(0.8, diff=True)
def if_else(x):
    if x > 0.5:
        y = x * 2.0
    else:
        y = x / 2.0
    return y + 1.0


@case(1.2, diff=True)
def if_elif_else(x):
    if x < 0.0:
        r = -x
    elif x < 1.0:
        r = x * x
    elif x < 2.0:
        r = 2.0 * x - 1.0
    else:
        r = x + 1.0
    return r


@case(0.6, 1.5, diff=True)
def nested_ifs(x, y):
    if x > 0.0:
        if y > 1.0:
            return x * y
        return x + y
    if y > 0.0:
        return x - y
    return x / y


@case(2.0, diff=True)
def early_return(x):
    if x > 1.0:
        return x * 3.0
    x = x + 1.0
    return x * x


@case(0.5, 0.25, diff=True)
def and_or_in_if(x, y):
    if x > 0.0 and y > 0.0 or x < -1.0:
        return x * y
    return x + y


@case(None, 2.0)
def none_checks(a, b):
    out = []
    if a is None:
        out.append("a")
    if b is not None:
        out.append(b)
    if not a:
        out.append(0)
    return out


@case(0.0)
def if_not(x):
    if not x:
        return "zero"
    return "nonzero"


# ---------------------------------------------------------------------------------------------------------------
# Loops

@case(0.9, 5, diff=True)
def for_range(x, n):
    s = 0.0
    for i in range(n):
        s = s + x ** i
    return s


@case(1.1, 6, diff=True)
def while_loop(x, n):
    i = 0
    y = x
    while i < n:
        y = y * 0.9 + 0.1
        i += 1
    return y


@case(0.5, diff=True)
def while_data_dependent(x):
    y = x
    k = 0
    while y < 10.0:
        y = y * 1.7 + 0.2
        k += 1
    return y + k


@case(0.8, 10, diff=True)
def for_with_break(x, n):
    s = 0.0
    for i in range(n):
        if i > 4:
            break
        s += x * i
    return s


@case(0.8, 10, diff=True)
def for_with_continue(x, n):
    s = 0.0
    for i in range(n):
        if i % 3 == 0:
            continue
        s += x * i
    return s


@case(0.7, 4, 3, diff=True)
def nested_loops(x, n, m):
    s = 0.0
    for i in range(n):
        for j in range(m):
            s = s + x * (i + 1) / (j + 1)
    return s


@case(0.7, 5, diff=True)
def nested_loops_break_continue(x, n):
    s = 0.0
    for i in range(n):
        j = 0
        while True:
            j += 1
            if j > i:
                break
            if (i + j) % 2:
                continue
            s += x * j
    return s


@case(1.5, diff=True)
def for_else(x):
    for i in range(3):
        if i > 5:
            break
    else:
        x = x * 2.0
    return x


@case(1.5, diff=True)
def while_else(x):
    i = 0
    while i < 3:
        i += 1
    else:
        x = x + i
    return x


@case(2.0, 4, diff=True)
def return_inside_loop(x, n):
    for i in range(n):
        if i == 2:
            return x * i
    return x


@case([3.0, 1.0, 2.0])
def for_over_list(xs):
    out = 0.0
    for v in xs:
        out = out * 2.0 + v
    return out


@case({"a": 1, "b": 2})
def for_over_dict(d):
    keys, total = [], 0
    for k in d:
        keys.append(k)
        total += d[k]
    for k, v in d.items():
        total += v
    return keys, total


@case("hello")
def for_over_string(s):
    out = ""
    for ch in s:
        out = ch + out
    return out


@case([1.0, 2.0, 3.0], [4.0, 5.0, 6.0])
def for_zip_enumerate(xs, ys):
    s = 0.0
    for i, (a, b) in enumerate(zip(xs, ys)):
        s += i * a * b
    return s


@case(V3, diff=True)
def for_over_array(v):
    s = 0.0
    for x in v:
        s = s + x * x
    return s


@case(6)
def loop_defined_variable(n):
    for i in range(n):
        last = i * i
    return last


@case(0)
def loop_variable_unbound(n):
    for i in range(n):
        last = i
    return last


@case(3)
def while_true_break(n):
    k = 0
    while True:
        k += n
        if k > 10:
            break
    return k


@case(1.3, 3, diff=True)
def loop_carried_tuple(x, n):
    a, b = x, 1.0
    for _ in range(n):
        a, b = b, a + b
    return a * b


@case(2, 3)
def triple_nested_loops(n, m):
    out = []
    for i in range(n):
        for j in range(m):
            for k in range(2):
                if k == 1 and j == 1:
                    continue
                out.append((i, j, k))
    return out


# ---------------------------------------------------------------------------------------------------------------
# Containers, unpacking, subscripts and slices

@case(1.0, 2.0, diff=True)
def tuples(x, y):
    t = (x, y, x * y)
    a, b, c = t
    return a + b * c + t[2]


@case(1.0, 2.0)
def lists_build(x, y):
    a = [x, y]
    a.append(x + y)
    a.extend([1, 2])
    b = [*a, *a[:2]]
    return a, b, a.pop(), len(b)


@case("k", 3)
def dicts_build(k, v):
    d = {k: v, "z": 0}
    d["y"] = v * 2
    e = {**d, "w": 1}
    return d, e, d.get("q", -1), sorted(e)


@case(1, 2)
def sets_build(a, b):
    s = {a, b, a}
    t = {*s, 7}
    return s, t, s | t, s & t


@case([1, 2, 3, 4, 5])
def star_unpack(xs):
    first, *middle, last = xs
    a, *rest = xs
    *init, z = xs
    return first, middle, last, a, rest, init, z


@case((1, (2, 3)))
def nested_unpack(t):
    a, (b, c) = t
    return a + b * c


@case([1, 2])
def unpack_wrong_length(xs):
    a, b, c = xs
    return a


@case(list(range(10)))
def slicing(xs):
    return xs[2:5], xs[::2], xs[-3:], xs[:-1:3], xs[5], xs[-1], xs[::-1]


@case([0, 1, 2, 3, 4, 5])
def slice_assign(xs):
    xs = list(xs)
    xs[1:3] = [9, 9, 9]
    xs[0] = -1
    xs[::2] = [7] * len(xs[::2])
    return xs


@case(M34, diff=True)
def array_indexing(m):
    return m[0, 1] + m[1:, 2].sum() + m[:, ::2].mean() + m[-1][-1]


@case(M34)
def array_setitem(m):
    m = m.copy()
    m[0, :] = 1.0
    m[:, 1] = m[:, 2] * 2.0
    m[1:2, 0:2] = 0.0
    return m


@case(V5, diff=True)
def fancy_indexing(v):
    idx = np.array([0, 2, 4, 2])
    return (v[idx] ** 2).sum() + v[v > 0.0].sum() + v[[1, 3]].prod()


@case(3, 4)
def list_of_lists(n, m):
    grid = [[i * m + j for j in range(m)] for i in range(n)]
    grid[1][2] = -1
    return grid, grid[2][-1]


@case({"a": [1, 2], "b": {"c": 3}})
def nested_subscripts(d):
    d = {"a": list(d["a"]), "b": dict(d["b"])}
    d["a"][0] += 10
    d["b"]["c"] *= 2
    return d


# ---------------------------------------------------------------------------------------------------------------
# Comprehensions

@case(4)
def list_comprehension(n):
    return [i * i for i in range(n) if i % 2 == 0]


@case(4)
def dict_comprehension(n):
    return {i: str(i) for i in range(n)}


@case(5)
def set_comprehension(n):
    return {i % 3 for i in range(n)}


@case(3)
def nested_comprehension(n):
    return [(i, j) for i in range(n) for j in range(i) if (i + j) % 2]


@case(1.5, 4, diff=True)
def comprehension_sum(x, n):
    return sum([x ** k / (k + 1) for k in range(n)])


@case(2.0, diff=True)
def comprehension_closure(x):
    scale = x * 2.0
    return sum([scale * v for v in [1.0, 2.0, 3.0]])


@case(3)
def comprehension_variable_shadow(n):
    i = "outer"
    squares = [i * i for i in range(n)]
    return i, squares


@case(3)
def comprehension_in_loop(n):
    out = []
    for k in range(n):
        out.append([k * j for j in range(k + 1)])
    return out


@case(V5, diff=True)
def comprehension_over_array(v):
    return sum([x * x for x in v]) + max([x for x in v])


# ---------------------------------------------------------------------------------------------------------------
# Calls: keywords, defaults, *args, **kwargs

def _kw_target(a, b=2.0, *, c=3.0, d=4.0):
    return a + 2.0 * b + 3.0 * c + 4.0 * d


def _var_target(*args, **kwargs):
    return sum(args) + sum(kwargs.values())


@case(1.5, diff=True)
def call_keywords(x):
    return _kw_target(x, c=x * 2.0) + _kw_target(x, x, d=1.0) + _kw_target(a=x)


@case(1.5, diff=True)
def call_star_args(x):
    args = (x, x * 2.0)
    kwargs = {"c": x, "d": 0.5}
    return _kw_target(*args, **kwargs) + _var_target(*args, x, **kwargs)


@case(1.0, 2.0, 3.0, kwargs=dict(scale=2.0, shift=0.5), diff=True)
def varargs_kwargs(x, *rest, scale=1.0, **options):
    s = x
    for r in rest:
        s = s + r
    return s * scale + options["shift"]


@case(2.0, kwargs=dict(b=5.0), diff=True)
def defaults_and_kwargs(a, b=1.0, c=2.0):
    return a * b + c


@case(3)
def positional_only(a, /, b=4):
    return a * 10 + b


@case(1, 2)
def keyword_only_default(a, b, *, flag=False, scale=3):
    return (a + b) * scale if not flag else a - b


@case([3, 1, 2])
def builtin_keyword_calls(xs):
    return sorted(xs, reverse=True), max(xs, key=lambda v: -v), sorted(xs, key=abs)


@case(1, 2)
def call_ex_merge(a, b):
    return dict(**{"a": a}, **{"b": b}), _var_target(*[a, b], *(a,))


@case(M23, diff=True)
def method_keyword_call(m):
    return m.sum(axis=0).dot(np.arange(3.0)) + m.mean(axis=1, keepdims=True).sum()


# ---------------------------------------------------------------------------------------------------------------
# Closures, nested functions, lambdas

@case(1.5, diff=True)
def nested_function(x):
    def square(v):
        return v * v
    return square(x) + square(2.0)


@case(1.5, diff=True)
def closure_over_local(x):
    k = x * 3.0

    def f(v):
        return v * k
    return f(x) + f(1.0)


@case(2.0, diff=True)
def lambda_closure(x):
    g = lambda v: v * x + 1.0  # noqa: E731
    return g(x) + g(3.0)


@case(3)
def closures_over_loop_variable(n):
    fs = []
    for i in range(n):
        fs.append(lambda: i)
    return [f() for f in fs]


@case(3)
def closures_over_loop_variable_default(n):
    fs = []
    for i in range(n):
        fs.append(lambda i=i: i * 10)
    return [f() for f in fs]


@case(3)
def comprehension_of_lambdas(n):
    return [f() for f in [lambda: i for i in range(n)]]


@case(2.0, diff=True)
def closure_modified_after_creation(x):
    y = x

    def get():
        return y * 2.0
    y = x * x
    return get()


def _make_adder(c):
    def add(v):
        return v + c
    return add


def _make_counter():
    count = [0]

    def tick():
        count[0] += 1
        return count[0]
    return tick


@case(1.0, diff=True)
def closure_factory(x):
    return _make_adder(x)(2.0) * _make_adder(0.5)(x)


@case(5)
def closure_mutable_state(n):
    t = _make_counter()
    for _ in range(n):
        t()
    return t()


@case(2.0, diff=True)
def doubly_nested_closure(x):
    def outer(a):
        def inner(b):
            return a * b * x
        return inner(a + 1.0)
    return outer(x)


@case(1.5, diff=True)
def higher_order(x):
    def apply_twice(f, v):
        return f(f(v))
    return apply_twice(lambda v: v * v + 0.1, x)


@case(0.5, diff=True)
def function_with_defaults_defined_inside(x):
    def f(v, p=2.0, *, q=1.0):
        return v ** p + q
    return f(x) + f(x, 3.0, q=x)


# ---------------------------------------------------------------------------------------------------------------
# Recursion

def factorial(n):
    return 1 if n <= 1 else n * factorial(n - 1)


def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


def power_rec(x, n):
    if n == 0:
        return 1.0
    half = power_rec(x, n // 2)
    return half * half * (x if n % 2 else 1.0)


def horner_rec(coeffs, x):
    if len(coeffs) == 1:
        return coeffs[0]
    return coeffs[0] + x * horner_rec(coeffs[1:], x)


add_case("factorial", factorial, 6)
add_case("fib", fib, 10)
add_case("power_rec", power_rec, 1.1, 7, diff=True)
add_case("horner_rec", horner_rec, (1.0, -2.0, 0.5, 0.25), 0.7)


@case(0.9, diff=True)
def calls_recursive(x):
    return power_rec(x, 5) + horner_rec((1.0, 2.0, 3.0), x)


# ---------------------------------------------------------------------------------------------------------------
# Methods, attributes and callable objects

class Dense:
    def __init__(self, n_in, n_out, seed=0):
        rng = np.random.default_rng(seed)
        self.weight = rng.standard_normal((n_out, n_in)) * 0.5
        self.bias = rng.standard_normal((n_out, 1)) * 0.1
        self.activation = np.tanh

    def __call__(self, x):
        return self.activation(self.weight @ x + self.bias)


class Chain:
    def __init__(self, *layers):
        self.layers = layers

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


class Polynomial:
    def __init__(self, coeffs):
        self.coeffs = list(coeffs)

    def __call__(self, x):
        return self.evaluate(x)

    def evaluate(self, x):
        y = 0.0
        for c in reversed(self.coeffs):
            y = y * x + c
        return y

    @property
    def degree(self):
        return len(self.coeffs) - 1

    @staticmethod
    def describe(n):
        return f"degree {n}"

    @classmethod
    def constant(cls, c):
        return cls([c])


class Accumulator:
    def __init__(self):
        self.total = 0.0
        self.items = []

    def add(self, v):
        self.total += v
        self.items.append(v)
        return self


DENSE = Dense(3, 2)
CHAIN = Chain(Dense(3, 4, 1), Dense(4, 2, 2))
POLY = Polynomial([1.0, -0.5, 0.25])
X31 = _rng.standard_normal((3, 1))


@case(DENSE, X31)
def dense_layer(layer, x):
    return layer(x)


@case(X31, diff=True)
def dense_loss(x):
    return float(np.sum(DENSE(x) ** 2))


@case(X31, diff=True)
def chain_loss(x):
    return float(np.sum(CHAIN(x)))


@case(POLY, 0.5)
def method_call(p, x):
    return p.evaluate(x), p(x), p.degree, p.describe(2), Polynomial.constant(3.0).coeffs


@case(0.5, diff=True)
def method_on_global_object(x):
    return POLY(x) + POLY.evaluate(x * 2.0)


@case(1.0, 2.0)
def object_mutation(a, b):
    acc = Accumulator()
    acc.add(a).add(b)
    acc.label = "done"
    return acc.total, acc.items, acc.label


@case(1.5, diff=True)
def attribute_of_module(x):
    return np.pi * x + math.e * x + np.float64(x) * 2.0


@case(complex(1.0, 2.0))
def attributes_of_values(z):
    return z.real, z.imag, z.conjugate(), "abc".upper(), [3, 1, 2].index(1)


add_case("bound_method", POLY.evaluate, 0.25, diff=True)
add_case("callable_object", POLY, 0.75, diff=True)
add_case("callable_dense", DENSE, X31)


# ---------------------------------------------------------------------------------------------------------------
# NumPy

@case(V5, diff=True)
def np_elementwise(v):
    return np.sum(np.sin(v) * np.exp(-v * v) + np.cos(v) ** 2 + np.tanh(v))


@case(POS5, diff=True)
def np_logs(v):
    return np.sum(np.log(v) + np.sqrt(v) + np.log1p(v) - 1.0 / v)


@case(M23, M34, diff=True)
def np_matmul(a, b):
    return np.sum((a @ b) ** 2)


@case(M23, V3, diff=True)
def np_dot(a, v):
    return np.dot(a, v).sum() + a.dot(v).mean() + np.inner(v, v)


@case(M34, diff=True)
def np_reductions(m):
    return m.sum() + m.mean(axis=0).sum() + m.max() + np.min(m, axis=1).sum() + m.std() + np.var(m)


@case(M34, diff=True)
def np_shapes(m):
    r = m.reshape(2, 6)
    t = m.T
    return np.sum(r[0] * 2.0) + np.sum(t[1]) + np.sum(np.transpose(m) @ m) + m.ravel()[3]


@case(V5, diff=True)
def np_where_maximum(v):
    return np.sum(np.where(v > 0.0, v * v, -v) + np.maximum(v, 0.1) + np.minimum(v, -0.1))


@case(M23, V3, diff=True)
def np_broadcasting(m, v):
    return np.sum((m + v) * (m - 1.0) / (2.0 + v ** 2))


@case(M23, diff=True)
def np_concatenate_stack(m):
    c = np.concatenate([m, 2.0 * m], axis=0)
    s = np.stack([m, m * m])
    return np.sum(c) + np.sum(s[1]) + np.sum(np.vstack([m, m])[3])


@case(V3, diff=True)
def np_outer_trace(v):
    return np.trace(np.outer(v, v)) + np.sum(np.diag(np.outer(v, v + 1.0)))


@case(M33, diff=True)
def np_linalg(m):
    return np.linalg.det(m) + np.sum(np.linalg.inv(m)) + np.linalg.norm(m)


@case(V5, diff=True)
def np_softmax(v):
    e = np.exp(v - np.max(v))
    p = e / np.sum(e)
    return float(-np.sum(p * np.log(p)))


@case(M23, diff=True)
def np_logsumexp(m):
    mx = np.max(m, axis=1, keepdims=True)
    return float(np.sum(mx + np.log(np.sum(np.exp(m - mx), axis=1, keepdims=True))))


@case(V5, diff=True)
def np_clip_abs(v):
    return np.sum(np.clip(v, -0.5, 0.5) * 2.0 + np.abs(v) + np.square(v))


@case(V5, diff=True)
def np_cumulative_loop(v):
    acc = 0.0
    for i in range(v.shape[0]):
        acc = acc * 0.5 + v[i]
    return acc


@case(V3, diff=True)
def np_global_constants(v):
    return np.sum((v - OFFSET) ** 2) * SCALE


@case(M23, diff=True)
def np_einsum(m):
    return np.einsum("ij,ij->", m, m) + np.einsum("ij->i", m).sum()


@case(V5, diff=True)
def np_expand_squeeze(v):
    e = np.expand_dims(v, 0)
    return np.sum(e * e.T) + np.squeeze(e)[1]


@case(4, 3)
def np_creation(n, m):
    return np.zeros((n, m)), np.ones(m), np.arange(n), np.eye(2), np.full((2, 2), 7.0), np.linspace(0, 1, 3)


@case(M34)
def np_shape_attributes(m):
    n, k = m.shape
    return n, k, m.ndim, m.size, m.dtype.name, len(m)


@case(V5)
def np_argmax_sort(v):
    return int(np.argmax(v)), np.sort(v), np.argsort(v), np.cumsum(v)


@case(M23, diff=True)
def np_mse_loss(m):
    target = np.ones_like(m)
    return float(np.mean((m - target) ** 2))


@case(np.array([0.2, -0.4, 1.3]), diff=True)
def np_sigmoid_bce(z):
    p = 1.0 / (1.0 + np.exp(-z))
    y = np.array([1.0, 0.0, 1.0])
    return float(-np.mean(y * np.log(p) + (1.0 - y) * np.log(1.0 - p)))


@case(np.array([1.0, 2.0, 3.0]), 0.5, diff=True)
def np_polyval_horner(c, x):
    y = 0.0
    for k in range(len(c) - 1, -1, -1):
        y = y * x + c[k]
    return y


@case(V5, diff=True)
def np_inplace_on_fresh_copy(v):
    w = v * 1.0
    w = w + 1.0
    w = w * v
    return np.sum(w)


@case(V3)
def np_inplace_mutation(v):
    w = v.copy()
    w += 1.0
    w *= 2.0
    w[0] = 0.0
    return w


@case(M23, diff=True)
def np_mlp_forward(x):
    w = np.array([[0.5, -0.3], [0.1, 0.8], [-0.6, 0.2]])
    h = np.maximum(w @ x, 0.0) + 0.1 * (w @ x)
    return float(np.sum(np.tanh(h)))


@case(0.3, diff=True)
def np_scalar_functions(x):
    return float(np.sin(x) + np.exp(x) * np.cos(2.0 * x) + np.sqrt(x + 1.0) + np.arctan(x))


@case(V3, V3 + 1.0, diff=True)
def np_distance(a, b):
    d = a - b
    return float(np.sqrt(np.dot(d, d) + 1e-3))


@case(V5, 3, diff=True)
def np_power_iteration_like(v, steps):
    x = v
    for _ in range(steps):
        x = np.tanh(x * 1.1 + 0.1)
    return float(x.sum())


# ---------------------------------------------------------------------------------------------------------------
# Strings, f-strings, assert

@case(3.14159, "pi")
def fstrings(x, name):
    return f"{name}={x:.2f}", f"{name!r}", f"{x!s:>10}", f"[{name:^7}]", f"{x!a}", f"{{literal}} {len(name)}"


@case(42)
def fstring_nested_spec(n):
    width = 6
    return f"{n:>{width}}|{n:<{width}d}|{n:0{width}x}"


@case(1.5, diff=True)
def assert_passes(x):
    assert x > 0.0
    assert x < 10.0, "too large"
    return x * x


@case(-1.0)
def assert_fails(x):
    assert x > 0.0
    return x


@case(-1.0)
def assert_fails_message(x):
    assert x > 0.0, f"x must be positive, got {x}"
    return x


@case("a", 3)
def string_ops(s, n):
    t = s * n + "-" + s.upper()
    return t, t.split("-"), ",".join([s, s]), t.replace("a", "b"), t[1:], len(t)


# ---------------------------------------------------------------------------------------------------------------
# Exceptions raised by the user's code

@case(-1.0)
def raises_value_error(x):
    if x < 0.0:
        raise ValueError(f"negative input: {x}")
    return x


@case(0)
def raises_zero_division(n):
    return 10 / n


@case({"a": 1})
def raises_key_error(d):
    return d["missing"]


@case([1, 2])
def raises_index_error(xs):
    return xs[5]


@case(1)
def raises_type_error(x):
    return x + "a"


@case(None)
def raises_attribute_error(x):
    return x.shape


@case(2)
def raises_from_cause(x):
    raise RuntimeError("outer") from ValueError("inner")


@case(2)
def raises_from_none(x):
    raise KeyError("k") from None


@case(1)
def raises_class(x):
    raise NotImplementedError


@case(3)
def raises_in_loop(n):
    for i in range(n):
        if i == 2:
            raise IndexError(i)
    return n


@case(5)
def raises_in_callee(n):
    return factorial(n) + _raise_helper(n)


def _raise_helper(n):
    raise ArithmeticError(f"n={n}")


@case(1)
def name_error_at_run_time(x):
    if x > 5:
        return undefined_name_for_corpus  # noqa: F821
    return x


@case(10)
def name_error_raised(x):
    if x > 5:
        return undefined_name_for_corpus  # noqa: F821
    return x


@case(False)
def unbound_local_raised(flag):
    if flag:
        value = 1
    return value  # noqa: F821 - unbound when flag is false


@case(V3, np.ones(4))
def numpy_shape_error(a, b):
    return a + b


@case(np.array([1.0, -1.0]))
def ambiguous_truth_value(v):
    if v > 0:
        return 1
    return 0


@case([3])
def unpack_too_many(xs):
    (a,) = xs + [1]
    return a


# ---------------------------------------------------------------------------------------------------------------
# Globals, builtins and functools

COUNT = 3


@case(2.0, diff=True)
def uses_global_constant(x):
    return x * COUNT + SCALE


@case([4, 2, 9])
def builtins_misc(xs):
    return (len(xs), list(reversed(xs)), list(map(str, xs)), list(filter(None, [0, *xs])), any(xs), all(xs),
            isinstance(xs, list), list(range(1, 7, 2)), tuple(zip(xs, xs)), dict(a=1), min(xs), max(*xs))


@case([1.0, 2.0, 3.0], diff=False)
def functools_reduce(xs):
    return functools.reduce(operator.mul, xs, 1.0)


@case(1.2, diff=True)
def calls_corpus_function(x):
    return add_mul(x, 2.0) + poly2(x, x) + if_elif_else(x)


@case(0.4, 2.0, diff=True)
def operator_module_calls(x, y):
    return operator.add(x, y) * operator.mul(x, y) - operator.truediv(x, y)


@case(5)
def walrus(n):
    out = []
    i = 0
    while (i := i + 1) < n:
        out.append(i)
    return out, i


@case(3)
def swap_and_rotate(n):
    a, b, c = 1, 2, 3
    for _ in range(n):
        a, b, c = b, c, a
    a, b = b, a
    return a, b, c


@case(2.0, diff=True)
def long_expression(x):
    return ((x + 1.0) * (x - 1.0) / (x * x + 1.0)) ** 2 + (3.0 * x - 2.0) * (x / 4.0) - ((x * 0.5) ** 3) / 7.0


@case(0.5, diff=True)
def many_locals(x):
    a = x + 1.0
    b = a * x
    c = b - a
    d = c / (a + 1.0)
    e = d * d
    f = e + b
    g = f * 0.5
    h = g - c
    return a + b + c + d + e + f + g + h


@case(1.3, 5, diff=True)
def loop_with_conditional_update(x, n):
    y = x
    for i in range(n):
        if y > 2.0:
            y = y * 0.5
        elif y < 1.0:
            y = y * 3.0
        else:
            y = y + 0.3
    return y


@case(0.25, diff=True)
def while_with_counter_and_branch(x):
    y = x
    k = 0
    while k < 8:
        k += 1
        if k % 2 == 0:
            y = np.sin(y) + x
            continue
        y = y * 1.1
    return float(y)


@case([1.0, 2.0, 3.0, 4.0])
def list_append_pop_loop(xs):
    stack = []
    for v in xs:
        stack.append(v)
        if len(stack) > 2:
            stack.pop(0)
    return stack


@case(1.1, 6, diff=True)
def list_accumulate_then_sum(x, n):
    vals = []
    for i in range(n):
        vals.append(x * i)
    return sum(vals)


@case(0.3, diff=True)
def tuple_returning_helper(x):
    def both(v):
        return v * 2.0, v + 1.0
    a, b = both(x)
    return a * b


@case(2)
def dict_iteration_order(n):
    d = {}
    for i in range(n * 3):
        d[str(i)] = i * i
    return list(d.items())[::2]


@case(M23, diff=True)
def array_loop_over_rows(m):
    s = 0.0
    for row in m:
        s = s + np.sum(row * row)
    return s


@case(0.6, 0.2, diff=True)
def newton_fixed_iterations(a, x0):
    x = x0 + 1.0
    for _ in range(6):
        x = x - (x * x - a - 1.0) / (2.0 * x)
    return x


@case(1.0, 3, diff=True)
def ode_euler(y0, steps):
    y = y0
    h = 0.1
    t = 0.0
    for _ in range(steps):
        y = y + h * (-0.5 * y + math.sin(t))
        t += h
    return y


@case(V5, diff=True)
def piecewise_with_elif_on_elements(v):
    s = 0.0
    for x in v:
        if x > 0.5:
            s += x * x
        elif x > -0.5:
            s += 0.5 * x
        else:
            s -= x
    return s


@case(M33, V3, diff=True)
def np_solve(a, b):
    return float(np.sum(np.linalg.solve(a, b)))


@case(V3, diff=True)
def np_hstack_tile(v):
    return float(np.sum(np.hstack([v, v * 2.0])) + np.sum(np.tile(v, 2) ** 2))


@case(np.array([[1.0, 2.0], [3.0, 4.0]]), diff=True)
def np_prod_norm(m):
    return float(np.prod(m) + np.linalg.norm(m, axis=0).sum())


@case(2.0, 3, diff=True)
def lambda_in_loop_applied(x, n):
    total = 0.0
    for k in range(n):
        f = lambda v, k=k: v ** (k + 1)  # noqa: E731
        total = total + f(x)
    return total


@case(0.8, diff=True)
def closure_in_loop_called_later(x):
    fs = [(lambda v, c=c: v * c) for c in (1.0, 2.0, 3.0)]
    return sum([f(x) for f in fs])


@case(1.2, diff=True)
def nested_function_with_loop(x):
    def iterate(v, n):
        for _ in range(n):
            v = 0.5 * (v + 2.0 / v)
        return v
    return iterate(x, 4)


@case(0.7, diff=True)
def global_function_calls_global(x):
    return calls_recursive(x) + nested_function(x)


@case(3.0, diff=True)
def mixed_int_float(x):
    n = 3
    k = n * 2 + 1
    return x * k + float(n) / 2.0


@case([1, 2, 3])
def list_mutation_aliasing(xs):
    a = list(xs)
    b = a
    b.append(4)
    a[0] = 100
    return a, b, a is b


@case(2)
def conditional_import_free_code(n):
    # `del`-free, `global`-free bookkeeping with a dict as a namespace
    ns = {"count": 0}
    for _ in range(n):
        ns["count"] += 1
    return ns


@case(np.float64(1.5), diff=True)
def numpy_scalar_argument(x):
    return x * x + np.sin(x)


@case(0.5, kwargs=dict(n=3), diff=True)
def keyword_only_loop(x, *, n):
    y = x
    for _ in range(n):
        y = y * y + 0.1
    return y


@case(1.0, diff=True)
def deep_call_chain(x):
    return _level1(x)


def _level1(x):
    return _level2(x * 2.0) + 1.0


def _level2(x):
    return _level3(x) * x


def _level3(x):
    return math.sin(x) + 1.0


# ---------------------------------------------------------------------------------------------------------------
# Less common shapes of the same constructs

@case(3)
def nested_def_with_annotations(x):
    def g(a: int, *, b: float = 2.0) -> float:
        """A docstring."""
        return a * b
    return g(x), sorted(g.__annotations__), g.__kwdefaults__, g.__name__, g.__doc__


@case(6)
def recursive_closure(n):
    def fact(k):
        return 1 if k <= 1 else k * fact(k - 1)
    return fact(n)


@case(1.5, True, diff=True)
def conditional_argument(x, flag):
    return max(x if flag else -x, 0.5) + min(1.0, x * 2.0 if not flag else x)


@case(V5, False, diff=True)
def conditional_method_argument(v, wide):
    return float(np.sum(v.clip(-2.0 if wide else -0.5, 0.75) * v))


@case(2.0, 1, diff=True)
def conditional_keyword_argument(x, k):
    return _kw_target(x, c=x if k > 0 else 1.0, d=(x * x if k > 1 else 0.5))


@case(7, "v")
def fstring_debug_specifier(n, name):
    return f"{n=}", f"{name=!s:>4}", f"{n * 2 = }"


@case([1.0, 2.0, 3.0], 2)
def while_else_with_break(xs, target):
    i = 0
    while i < len(xs):
        if xs[i] == target:
            break
        i += 1
    else:
        i = -1
    return i


@case([[1, 2], [3], []])
def nested_comprehension_shadowing(rows):
    x = "kept"
    flat = [x for row in rows for x in row]
    sizes = {len(row): [x * 2 for x in row] for row in rows}
    return x, flat, sizes


@case(3)
def comprehension_captured_in_lambda(n):
    offset = 10
    fs = [lambda y, i=i: y + i + offset for i in range(n)]
    return [f(1) for f in fs]


@case(0.5, 3, diff=True)
def closure_over_loop_variable_mutated(x, n):
    total = 0.0
    for i in range(n):
        scale = x * (i + 1)

        def term(v):
            return v * scale
        total = total + term(x)
    return total


@case({"w": 1.0}, 2.0)
def augmented_attribute_and_item(d, x):
    acc = Accumulator()
    acc.total += x
    acc.total *= 3.0
    d = dict(d)
    d["w"] += x
    d["w"] **= 2
    return acc.total, d


@case(5)
def ternary_chain_in_loop(n):
    out = []
    for i in range(n):
        out.append("fizz" if i % 3 == 0 else "buzz" if i % 5 == 0 else i)
    return out


@case(2.0, diff=True)
def unary_not_and_invert(x):
    flags = [not (x > 1.0), not x, ~3]
    return x * (1.0 if flags[0] else 2.0) + flags[2]


@case((1.0, 2.0), {"scale": 3.0}, diff=False)
def star_call_of_builtin(pair, options):
    return max(*pair, **{}) * options["scale"], complex(*pair), dict(options, extra=1)


@case(0)
def closure_cell_read_before_assignment(n):
    for i in range(n):
        g = lambda: i  # noqa: E731,F841
    return i  # noqa: F821 - unbound (an empty cell) when n == 0


@case(0)
def closure_reads_empty_free_variable(n):
    g = lambda: later  # noqa: E731
    r = g() if n == 0 else 0
    later = 1
    return r, later


@case(2)
def closure_cell_filled_on_one_branch(n):
    if n > 1:
        y = n * 10
    f = lambda: y  # noqa: E731
    return f() + y


@case(4)
def nested_generator_function_consumed_natively(n):
    def countdown(k):
        while k > 0:
            yield k
            k -= 1
    return list(countdown(n)), sum(countdown(2))


# ---------------------------------------------------------------------------------------------------------------
# Small numeric programs of the kind irgrad exists for

W_RNN = _rng.standard_normal((3, 3)) * 0.4
U_RNN = _rng.standard_normal((3, 2)) * 0.4
XS_RNN = _rng.standard_normal((4, 2))


@case(V3, diff=True)
def rnn_unrolled_by_loop(h0):
    h = h0
    for t in range(XS_RNN.shape[0]):
        h = np.tanh(W_RNN @ h + U_RNN @ XS_RNN[t])
    return float(np.sum(h * h))


@case(V5, 0.3, 1.2, diff=True)
def gaussian_log_likelihood(x, mu, sigma):
    z = (x - mu) / sigma
    n = x.shape[0]
    return float(-0.5 * np.sum(z * z) - n * np.log(sigma) - 0.5 * n * np.log(2.0 * np.pi))


@case(V5, 0.8, diff=True)
def huber_loss(r, delta):
    total = 0.0
    for v in r:
        a = abs(v)
        if a <= delta:
            total = total + 0.5 * v * v
        else:
            total = total + delta * (a - 0.5 * delta)
    return total


@case(V5, diff=True)
def softplus_mean(v):
    return float(np.mean(np.log1p(np.exp(-np.abs(v))) + np.maximum(v, 0.0)))


@case(V3, V3 * 2.0 + 0.5, diff=True)
def cosine_similarity(a, b):
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


@case(0.7, 4, diff=True)
def polynomial_features_fit(x, degree):
    feats = np.array([x ** k for k in range(degree)])
    weights = np.linspace(1.0, 0.25, degree)
    return float(feats @ weights)


class ScaledPolynomial(Polynomial):
    def __init__(self, coeffs, scale):
        super().__init__(coeffs)
        self.scale = scale

    def evaluate(self, x):
        return self.scale * super().evaluate(x) + super(ScaledPolynomial, self).evaluate(0.0)

    def describe_all(self):
        return super().describe(self.degree), super().__class__.__name__


SCALED = ScaledPolynomial([0.5, 1.0, -0.25], 2.0)
add_case("method_with_super", SCALED.evaluate, 0.75)  # AD has no rule for super() yet
