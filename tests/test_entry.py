"""The steady-state entry: after the first call, `gradient` finds its derivation through a generated guard
(`derive.probe`) instead of computing cache keys.  Each test takes that path first, then changes the world and
checks the next call sees the change: a stale or wrong gradient must never come out of the guard."""
import dataclasses
import threading

import numpy as np
import pytest

import irgrad
from irgrad import derive
from irgrad.errors import IrgradError

import test_cache as tc  # its functions of globals: rebinding `tc.SCALE`, `tc.helper` is what they see


@pytest.fixture
def no_keys(monkeypatch):
    """Make computing a cache key fail: a call that passes is served by a guard.  Use as `with no_keys():`."""
    import contextlib

    @contextlib.contextmanager
    def forbid():
        def boom(*a, **k):
            raise AssertionError("the keyed path was taken")
        with monkeypatch.context() as m:
            m.setattr(derive, "fast_key", boom)
            m.setattr(derive, "closure_key", boom)
            yield
    return forbid


def steady(f, *args):
    """Call gradient until its guard serves it; returns the gradient."""
    irgrad.gradient(f, *args)
    return irgrad.gradient(f, *args)


def test_steady_state_takes_the_guard_and_counts_hits(no_keys):
    irgrad.clear_cache()
    steady(tc.scaled, 1.0)
    hits = irgrad.cache_info()["hits"]
    with no_keys():
        for x in (1.0, 2.0, 3.0):
            assert irgrad.gradient(tc.scaled, x) == (2 * tc.SCALE * x,)
            assert irgrad.withgradient(tc.scaled, x) == (tc.SCALE * x * x, (2 * tc.SCALE * x,))
    info = irgrad.cache_info()
    assert info["hits"] == hits + 6 and info["traces"] == 1


def test_rebinding_a_global_after_the_guard_served_retraces(no_keys, monkeypatch):
    irgrad.clear_cache()
    steady(tc.scaled, 1.0)
    with no_keys():
        assert irgrad.gradient(tc.scaled, 1.0) == (4.0,)
    with monkeypatch.context() as m:
        m.setattr(tc, "SCALE", 5.0)
        assert irgrad.gradient(tc.scaled, 1.0) == (10.0,)
        assert irgrad.cache_info()["traces"] == 2
        with no_keys():  # the new derivation has its own guard
            assert irgrad.gradient(tc.scaled, 1.0) == (10.0,)
    assert irgrad.gradient(tc.scaled, 1.0) == (4.0,)


def test_redefining_a_called_function_after_the_guard_served_retraces(monkeypatch):
    steady(tc.uses_helper, 1.0)
    with monkeypatch.context() as m:
        m.setattr(tc, "helper", lambda x: x * 7.0)
        assert irgrad.gradient(tc.uses_helper, 1.0) == (7.0,)
    assert irgrad.gradient(tc.uses_helper, 1.0) == (3.0,)


@pytest.fixture
def registered(monkeypatch):
    """Register a rule for the length of a test: `registered(fn, rule)`."""
    from irgrad.rules import registry
    done = []

    def register(fn, rule):
        irgrad.rrule(fn)(rule)
        done.append(fn)
    yield register
    for fn in done:
        registry._rules.pop(fn)
    registry._version[0] += 1


def test_a_rule_registered_later_is_used(registered):
    double = lambda x: x * 2.0  # noqa: E731
    f = lambda x: double(x) + 1.0  # noqa: E731
    assert steady(f, 1.0) == (2.0,)
    registered(double, lambda x: (x * 2.0, lambda dy: (dy * 100.0,)))
    assert irgrad.gradient(f, 1.0) == (100.0,)


def test_a_rule_for_one_function_object_is_not_taken_for_another_with_its_code(registered):
    def make():
        return lambda x: x * x

    plain, ruled = make(), make()
    assert plain.__code__ is ruled.__code__
    assert steady(plain, 3.0) == (6.0,)
    registered(ruled, lambda x: (x * x, lambda dy: (dy * -1.0,)))
    assert irgrad.gradient(ruled, 3.0) == (-1.0,)
    assert steady(plain, 3.0) == (6.0,)  # a guard for the code, made after the rule was registered
    assert irgrad.gradient(ruled, 3.0) == (-1.0,)


def test_closures_made_afresh_share_the_derivation_and_see_their_values(no_keys):
    irgrad.clear_cache()

    def make(c, data):
        return lambda x: c * np.sum(x * data)

    x = np.ones(3)
    steady(make(1.0, np.arange(3.0)), x)
    with no_keys():
        for c in (2.0, 3.0, -1.5):
            data = np.arange(3.0) * c
            (g,) = irgrad.gradient(make(c, data), x)
            np.testing.assert_allclose(g, c * data)
    assert irgrad.cache_info()["traces"] == 1


def test_a_captured_value_of_another_type_retraces():
    def make(c):
        return lambda x: np.sum(c * x)

    irgrad.clear_cache()
    x = np.ones(2)
    steady(make(2.0), x)
    np.testing.assert_allclose(irgrad.gradient(make(np.array([3.0, 4.0])), x)[0], [3.0, 4.0])
    np.testing.assert_allclose(irgrad.gradient(make(np.array([[3.0, 4.0]])), x)[0], [3.0, 4.0])
    assert irgrad.cache_info()["traces"] == 3


def test_a_cell_rebound_to_another_type_retraces():
    irgrad.clear_cache()
    c = 2.0
    f = lambda x: c * x  # noqa: E731
    assert steady(f, 1.0) == (2.0,)
    c = np.float32(5.0)
    assert irgrad.gradient(f, 1.0) == (5.0,)
    assert irgrad.cache_info()["traces"] == 2
    c = 3.0
    assert irgrad.gradient(f, 1.0) == (3.0,)  # the first derivation again, through its guard
    assert irgrad.cache_info()["traces"] == 2


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # NumPy 2.5 deprecates setting .shape; it still works
def test_an_array_reshaped_in_place_retraces():
    irgrad.clear_cache()
    x = np.arange(6.0)

    def f(v):
        return np.sum(v[0] * v[0])

    (g,) = steady(f, x)
    np.testing.assert_allclose(g, [0.0] * 6)
    x.shape = (2, 3)  # same object, another ndim
    (g,) = irgrad.gradient(f, x)
    np.testing.assert_allclose(g, [[0.0, 2.0, 4.0], [0.0, 0.0, 0.0]])
    assert irgrad.cache_info()["traces"] == 2


def test_other_dtypes_and_ndims_retrace():
    irgrad.clear_cache()
    f = lambda v: np.sum(v * v)  # noqa: E731
    steady(f, np.ones(3))
    steady(f, np.ones((2, 2)))
    steady(f, np.ones(3, dtype=np.float32))
    assert irgrad.cache_info()["traces"] == 3
    (g,) = irgrad.gradient(f, np.ones(3, dtype=np.float32))
    assert g.dtype == np.float32


@dataclasses.dataclass(frozen=True)
class Model:
    scale: object
    name: str = "m"


def test_a_captured_object_whose_attribute_changes_type_retraces():
    irgrad.clear_cache()
    m = Model(2.0)
    f = lambda x: np.sum(m.scale * x)  # noqa: E731
    np.testing.assert_allclose(steady(f, np.ones(2))[0], [2.0, 2.0])
    object.__setattr__(m, "scale", np.array([5.0, 7.0]))  # the same object, another attribute type
    np.testing.assert_allclose(irgrad.gradient(f, np.ones(2))[0], [5.0, 7.0])
    assert irgrad.cache_info()["traces"] == 2
    object.__setattr__(m, "extra", 1)  # another attribute: another key
    np.testing.assert_allclose(irgrad.gradient(f, np.ones(2))[0], [5.0, 7.0])
    assert irgrad.cache_info()["traces"] == 3


def test_a_captured_list_that_gains_an_int_retraces():
    irgrad.clear_cache()
    xs = [1.0, 2.0]

    def f(c):
        total = 0.0
        for v in xs:
            total = total + c * v
        return total
    assert steady(f, 1.0) == (3.0,)
    xs.append(4)
    assert irgrad.gradient(f, 1.0) == (7.0,)
    assert irgrad.cache_info()["traces"] == 2


def test_the_same_code_with_other_globals_after_the_guard():
    import types
    f1, f2 = (types.FunctionType(tc.scaled.__code__, dict(tc.__dict__, SCALE=s)) for s in (1.0, 10.0))
    assert steady(f1, 1.0) == (2.0,)
    assert steady(f2, 1.0) == (20.0,)
    assert irgrad.gradient(f1, 1.0) == (2.0,)


def test_clear_cache_clears_the_guards():
    irgrad.clear_cache()
    steady(tc.scaled, 1.0)
    irgrad.clear_cache()
    assert irgrad.gradient(tc.scaled, 1.0) == (4.0,)
    assert irgrad.cache_info() == {"entries": 1, "hits": 0, "misses": 1, "traces": 1}


def test_errors_are_the_same_before_and_after_the_guard():
    f = lambda x: x * np.ones(3)  # noqa: E731
    for _ in range(3):
        with pytest.raises(IrgradError, match="to return a real scalar, but it returned ndarray of shape"):
            irgrad.gradient(f, 1.0)
    steady(tc.scaled, 1.0)
    for _ in range(2):
        with pytest.raises(TypeError):
            irgrad.gradient(tc.scaled, 1.0, 2.0)

    def raising(x):
        if x > 0.0:
            raise KeyError("mine")
        return x

    steady(raising, -1.0)
    with pytest.raises(KeyError, match="mine"):
        irgrad.gradient(raising, 2.0)


def test_integer_output_and_pullbacks_on_the_steady_path():
    g = lambda x: 3  # noqa: E731
    assert steady(g, 1.0) == (None,)
    assert irgrad.withgradient(g, 1.0) == (3, (None,))
    f = lambda x: x * np.array([1.0, 2.0])  # noqa: E731
    for _ in range(3):
        y, back = irgrad.pullback(f, 2.0)
        np.testing.assert_allclose(y, [2.0, 4.0])
        assert back(np.array([1.0, 1.0])) == (3.0,)
        assert back(None) == (None,)
    np.testing.assert_allclose(irgrad.jacobian(f, 2.0)[0], [1.0, 2.0])


def test_a_closure_writing_its_cell_after_the_guard():
    # The cell store (runtime.cell_cotangents): reads of `c` add to it, the write takes it.
    def f(x):
        c = x

        def g():
            return c * c
        a = g()
        c = 3.0 * x
        return a + g()

    for _ in range(3):
        assert irgrad.gradient(f, 2.0) == (2 * 2.0 + 18 * 2.0,)


def test_defaults_of_functions_sharing_code_are_their_own():
    def make(k):
        def f(x, s=k):
            return s * x * x
        return f

    irgrad.clear_cache()
    assert [irgrad.gradient(make(k), 1.0)[0] for k in (1.0, 2.0, 3.0, 2.0)] == [2.0, 4.0, 6.0, 4.0]
    f = make(1.0)
    steady(f, 1.0)
    f.__defaults__ = (5.0,)
    assert irgrad.gradient(f, 1.0) == (10.0,)

    def h(x, *, s=2.0):
        return s * x * x
    assert steady(h, 1.0) == (4.0,)
    h.__kwdefaults__["s"] = 4.0  # changed in place
    assert irgrad.gradient(h, 1.0) == (8.0,)


def test_keyword_arguments_and_methods_take_the_general_path():
    class Scaler:
        def __init__(self, s):
            self.s = s

        def __call__(self, x):
            return self.s * x * x

        def loss(self, x, w=1.0):
            return w * self.s * x

    for s in (1.0, 2.0):
        assert irgrad.gradient(Scaler(s), 1.0) == (2.0 * s,)
        assert irgrad.gradient(Scaler(s).loss, 1.0, w=3.0) == (3.0 * s,)
        assert irgrad.gradient(tc.scaled, x=1.0) == ()


def test_threads_with_different_signatures_agree():
    irgrad.clear_cache()
    W = np.random.default_rng(0).standard_normal((4, 4))

    def f(x):
        return np.sum(np.tanh(W @ x) ** 2)

    inputs = [np.ones(4), np.ones((4, 2)), np.ones(4, dtype=np.float32), np.ones((4, 3))]
    expected = [irgrad.gradient(f, x)[0] for x in inputs]
    irgrad.clear_cache()
    errors = []

    def work(k):
        try:
            for i in range(40):
                j = (i + k) % len(inputs)
                g = irgrad.gradient(f, inputs[j])[0]
                assert np.allclose(g, expected[j]) and np.shape(g) == np.shape(expected[j])
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert irgrad.cache_info()["traces"] == 3  # (4, 2) and (4, 3) share a signature


def test_a_captured_object_with_its_attributes_in_another_order():
    class Box:
        pass

    def make(*names):
        b = Box()
        for name in names:
            setattr(b, name, {"a": 2.0, "v": np.array([1.0, 3.0])}[name])
        return lambda x: np.sum(b.a * b.v * x)

    x = np.ones(2)
    np.testing.assert_allclose(steady(make("a", "v"), x)[0], [2.0, 6.0])
    np.testing.assert_allclose(steady(make("v", "a"), x)[0], [2.0, 6.0])


def test_many_signatures_of_one_function_stay_right():
    irgrad.clear_cache()
    f = lambda v: np.sum(v * v)  # noqa: E731
    shapes = [(2,) * n for n in range(1, derive.MAX_GUARDS + 4)]
    for _ in range(2):
        for s in shapes:
            np.testing.assert_allclose(irgrad.gradient(f, np.ones(s))[0], 2 * np.ones(s))
    info = irgrad.cache_info()
    assert info["traces"] == len(shapes) and info["hits"] == len(shapes)
    assert sum(len(gs) for gs in derive._guards.values()) == derive.MAX_GUARDS


class Affine:
    def __init__(self, w):
        self.w = w

    def loss(self, x):
        return np.sum(self.w * x * x)

    def __call__(self, x):
        return np.sum(self.w * x)


def test_bound_methods_and_callable_objects_on_the_steady_path(no_keys):
    irgrad.clear_cache()
    a = Affine(2.0)
    x = np.array([1.0, 3.0])
    steady(a.loss, x)
    steady(a, x)
    with no_keys():
        for w in (2.0, 5.0):
            b = Affine(w)
            np.testing.assert_allclose(irgrad.gradient(b.loss, x)[0], 2 * w * x)
            np.testing.assert_allclose(irgrad.gradient(b, x)[0], [w, w])
            y, back = irgrad.pullback(b.loss, x)
            assert y == w * 10.0
            np.testing.assert_allclose(back(1.0)[0], 2 * w * x)
    a.w = np.array([1.0, -1.0])  # self's attribute changes type
    np.testing.assert_allclose(irgrad.gradient(a.loss, x)[0], [2.0, -6.0])
    np.testing.assert_allclose(irgrad.gradient(a, x)[0], [1.0, -1.0])
    assert irgrad.cache_info()["traces"] == 4


def test_a_rule_for_one_callable_object_is_not_taken_for_another_of_its_class(registered):
    plain, ruled = Affine(1.0), Affine(1.0)
    x = np.array([2.0])
    np.testing.assert_allclose(steady(plain, x)[0], [1.0])
    registered(ruled, lambda x: (np.sum(x), lambda dy: (dy * np.array([-7.0]),)))
    np.testing.assert_allclose(irgrad.gradient(ruled, x)[0], [-7.0])
    np.testing.assert_allclose(steady(plain, x)[0], [1.0])
    np.testing.assert_allclose(irgrad.gradient(ruled, x)[0], [-7.0])
