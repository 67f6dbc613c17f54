"""Plain attribute reads of objects as planned adjoint bookkeeping (adjoint._attr_facts, reverse_pass.SymTangent):
no rule closure in the forward, the object's cotangent kept field by field, the Tangent built when needed.  The
gradients are checked against central finite differences and against the rule path (getattr_rrule), which must
give the same Tangent structure."""
import copy

import numpy as np
import pytest

import irgrad
from irgrad import Tangent, adjoint, derive, nn
from irgrad.codegen import source


# ---------------------------------------------------------------------------------------------------------------
# Helpers

def _flatten(x, path=()):
    """(path, leaf) for the float leaves of a model (objects, tuples, lists, arrays, floats)."""
    if isinstance(x, np.ndarray):
        yield path, x
    elif isinstance(x, (tuple, list)):
        for i, v in enumerate(x):
            yield from _flatten(v, path + (i,))
    elif isinstance(x, float):
        yield path, x
    elif hasattr(x, "__dict__"):
        for k, v in vars(x).items():
            yield from _flatten(v, path + (k,))


def _get(x, path):
    for p in path:
        x = x[p] if isinstance(p, int) else getattr(x, p)
    return x


def _set(x, path, value):
    *head, last = path
    parent = _get(x, head)
    if isinstance(last, int):
        parent[last] = value
    else:
        setattr(parent, last, value)


def _grad_leaf(g, path):
    for p in path:
        if g is None:
            return None
        g = g[p] if isinstance(p, int) else getattr(g, p)
    return g


def check_fd(f, model, eps=1e-6, rtol=1e-5, atol=1e-7):
    """The gradient irgrad gives for model against central differences, leaf by leaf."""
    (g,) = irgrad.gradient(f, model)
    for path, leaf in list(_flatten(model)):
        got = _grad_leaf(g, path)
        if isinstance(leaf, float):
            _set(model, path, leaf + eps)
            hi = f(model)
            _set(model, path, leaf - eps)
            lo = f(model)
            _set(model, path, leaf)
            want = (hi - lo) / (2 * eps)
            assert abs((0.0 if got is None else got) - want) <= atol + rtol * abs(want) + 1e-6, path
            continue
        want = np.zeros_like(leaf)
        for i in np.ndindex(leaf.shape):
            old = leaf[i]
            leaf[i] = old + eps
            hi = f(model)
            leaf[i] = old - eps
            lo = f(model)
            leaf[i] = old
            want[i] = (hi - lo) / (2 * eps)
        got = np.zeros_like(leaf) if got is None else got
        np.testing.assert_allclose(got, want, rtol=rtol, atol=1e-6, err_msg=str(path))
    return g


def rule_path_gradient(monkeypatch, f, *args):
    """The gradient with every attribute read through getattr_rrule (the planned path switched off)."""
    irgrad.clear_cache()
    with monkeypatch.context() as m:
        m.setattr(adjoint, "_attr_facts", lambda s, typemap: None)
        out = irgrad.gradient(f, *args)
    irgrad.clear_cache()
    return out


def same_structure(a, b):
    """Equal cotangents with equal structure: Tangent fields (names and order), tuples, None where None."""
    if isinstance(a, Tangent) or isinstance(b, Tangent):
        assert isinstance(a, Tangent) and isinstance(b, Tangent), (a, b)
        assert list(a.fields()) == list(b.fields()), (a, b)
        for k in a.fields():
            same_structure(a.fields()[k], b.fields()[k])
    elif isinstance(a, (tuple, list)) or isinstance(b, (tuple, list)):
        assert type(a) is type(b) and len(a) == len(b), (a, b)
        for x, y in zip(a, b):
            same_structure(x, y)
    elif a is None or b is None:
        assert a is None and b is None, (a, b)
    else:
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def generated(f, *args):
    irgrad.clear_cache()
    irgrad.gradient(f, *args)
    return "\n".join(source(d.transform.forward) + source(d.transform.adjoint) for d in derive._cache.values())


# ---------------------------------------------------------------------------------------------------------------
# Models and objects

class Box:
    def __init__(self, a, b, c=2.0):
        self.a, self.b, self.c = a, b, c


class Slotted:
    __slots__ = ("a", "b")

    def __init__(self, a, b):
        self.a, self.b = a, b


class WithProperty:
    def __init__(self, a):
        self.a = a

    @property
    def twice(self):
        return 2 * self.a


class Pair:
    def __init__(self, left, right):
        self.left, self.right = left, right


def _moons_model():
    from irgrad.examples import moons
    return moons.build_model(np.random.default_rng(1))


def _data(rng=3):
    from irgrad import datasets
    X, y = datasets.make_moons(20, noise=0.1, rng=np.random.default_rng(rng))
    return X, nn.onehot(y, 2)


def test_chain_gradient_finite_differences_and_rule_structure(monkeypatch):
    X, Y = _data()
    model = nn.Chain(nn.Dense(2, 4, rng=0), nn.Dense(4, 3, activation=nn.tanh, rng=1),
                     nn.Dense(3, 2, activation=nn.identity, rng=2))
    f = lambda m: nn.logit_cross_entropy(m(X), Y)
    irgrad.clear_cache()
    (g,) = irgrad.gradient(f, model)
    code = generated(f, model)
    assert "getattr_rrule" not in code and "tangent_of" in code
    check_fd(f, model)
    (r,) = rule_path_gradient(monkeypatch, f, model)
    same_structure(g, r)
    assert isinstance(g.layers, tuple) and list(g.layers[0].fields()) == list(r.layers[0].fields())


def test_moons_model_matches_rule_path(monkeypatch):
    X, Y = _data()
    model = _moons_model()
    f = lambda m: nn.logit_cross_entropy(m(X), Y)
    irgrad.clear_cache()
    (g,) = irgrad.gradient(f, model)
    (r,) = rule_path_gradient(monkeypatch, f, model)
    same_structure(g, r)


def test_plain_object_untouched_fields_and_twice_read(monkeypatch):
    def f(o):
        return np.sum(o.a * o.a) + np.sum(o.a) * 3.0  # o.a read three times, o.b and o.c never
    o = Box(np.array([1.0, -2.0, 0.5]), np.array([4.0]))
    (g,) = irgrad.gradient(f, o)
    assert list(g.fields()) == ["a"] and g.b is None
    np.testing.assert_allclose(g.a, 2 * o.a + 3.0)
    same_structure(g, rule_path_gradient(monkeypatch, f, o)[0])
    check_fd(f, o)


def test_float_attributes_and_nested_objects(monkeypatch):
    def f(p):
        return p.left.c * np.sum(p.left.a * p.right.b) + p.right.c ** 2 + p.left.c
    p = Pair(Box(np.array([1.0, 2.0]), None, 1.5), Box(None, np.array([0.5, -1.0]), -0.25))
    (g,) = irgrad.gradient(f, p)
    same_structure(g, rule_path_gradient(monkeypatch, f, p)[0])
    check_fd(f, p)


def test_object_read_in_a_loop(monkeypatch):
    def f(o, n):
        s = 0.0
        for i in range(n):
            s = s + np.sum(o.a * o.b) * o.c
            if i % 2:
                s = s - np.sum(o.b)
        return s
    o = Box(np.array([1.0, 2.0]), np.array([-0.5, 3.0]), 0.7)
    for n in (0, 1, 4):
        g = irgrad.gradient(f, o, n)[0]
        r = rule_path_gradient(monkeypatch, f, o, n)[0]
        same_structure(g, r)
        check_fd(lambda o: f(o, n), o)


def test_object_read_in_branches(monkeypatch):
    def f(o, flag):
        if flag:
            y = np.sum(o.a) * o.c
        else:
            y = np.sum(o.b ** 2)
        return y + o.c
    o = Box(np.array([1.0, 2.0]), np.array([-0.5, 3.0]), 0.7)
    for flag in (True, False):
        g = irgrad.gradient(f, o, flag)[0]
        same_structure(g, rule_path_gradient(monkeypatch, f, o, flag)[0])
        check_fd(lambda o: f(o, flag), o)


def test_returned_object_cotangent_and_passed_to_a_rule(monkeypatch):
    def f(p):
        q = p.left
        return np.sum(q.a) + np.sum(getattr(p, "right").b)
    p = Pair(Box(np.array([1.0, 2.0]), None), Box(None, np.array([3.0])))
    g = irgrad.gradient(f, p)[0]
    same_structure(g, rule_path_gradient(monkeypatch, f, p)[0])
    y, back = irgrad.pullback(lambda p: p.left, p)
    assert back(Tangent(a=np.ones(2))) == (Tangent(left=Tangent(a=np.ones(2))),)


class Empty:
    pass


def test_attribute_written_then_read(monkeypatch):
    def f(x, box):
        o = Empty()
        o.a = x * box.c
        s = np.sum(o.a * box.a)
        o.a = o.a * 3.0 + box.a
        return s + np.sum(o.a * o.a) + box.c * np.sum(o.a)
    box = Box(np.array([1.0, -2.0]), np.array([0.5, 4.0]), 1.25)
    x = np.array([0.3, 0.7])
    g = irgrad.gradient(f, x, box)
    r = rule_path_gradient(monkeypatch, f, x, box)
    np.testing.assert_allclose(g[0], r[0])
    same_structure(g[1], r[1])
    check_fd(lambda b: f(x, b), box)


def test_slots_and_properties_keep_the_rule(monkeypatch):
    def fs(o):
        return np.sum(o.a * o.b)
    o = Slotted(np.array([1.0, 2.0]), np.array([3.0, -1.0]))
    g = irgrad.gradient(fs, o)[0]
    np.testing.assert_allclose(g.a, o.b)
    np.testing.assert_allclose(g.b, o.a)
    assert "getattr_rrule" in generated(fs, o)
    same_structure(g, rule_path_gradient(monkeypatch, fs, o)[0])

    def fp(w):
        return np.sum(w.twice * w.a)
    w = WithProperty(np.array([1.0, 3.0]))
    g = irgrad.gradient(fp, w)[0]  # the property's read keeps getattr_rrule, which derives through the getter
    assert "getattr_rrule" in generated(fp, w)
    np.testing.assert_allclose(g.a, 4 * w.a)  # d/da sum(2a * a): the getter's own derivative included
    same_structure(g, rule_path_gradient(monkeypatch, fp, w)[0])


@pytest.mark.parametrize("mode", ["codegen", "interpret"])
def test_property_getters_are_differentiated(mode):
    from irgrad.execute import get_mode, set_mode
    old = get_mode()
    set_mode(mode)
    irgrad.clear_cache()
    try:
        w = WithProperty(np.array([0.5, -1.5, 2.0]))
        for f in (lambda w: np.sum(w.twice * w.a), lambda w: np.sum(np.sin(w.twice)), lambda w: float(w.twice[1])):
            g = irgrad.gradient(f, w)[0]
            check_fd(f, w)
            assert g.a is not None
    finally:
        set_mode(old)
        irgrad.clear_cache()


def test_attributes_computed_by_user_code_other_than_properties_are_refused():
    class Lazy:
        def __init__(self, a):
            self.a = a

        def __getattr__(self, name):
            return 3 * self.a

    class Doubling:
        def __get__(self, obj, cls=None):
            return 2 * obj.a

    class WithDescriptor:
        d = Doubling()

        def __init__(self, a):
            self.a = a
    with pytest.raises(irgrad.IrgradError, match="__getattr__"):
        irgrad.gradient(lambda o: np.sum(o.tripled), Lazy(np.ones(2)))
    with pytest.raises(irgrad.IrgradError, match="descriptor"):
        irgrad.gradient(lambda o: np.sum(o.d), WithDescriptor(np.ones(2)))


def test_method_reads_are_not_planned():
    class Scaled:
        def __init__(self, w):
            self.w = w

        def apply(self, x):
            return self.w * x
    s = Scaled(np.array([2.0, 3.0]))
    f = lambda s: np.sum(s.apply(np.array([1.0, 1.0])) ** 2)
    g = irgrad.gradient(f, s)[0]
    np.testing.assert_allclose(g.w, 2 * s.w)


def test_optim_update_sees_the_same_structure():
    from irgrad import optim
    X, Y = _data()
    model = _moons_model()
    f = lambda m: nn.logit_cross_entropy(m(X), Y)
    loss0 = f(model)
    opt = optim.Descent(0.1)
    for _ in range(20):
        (g,) = irgrad.gradient(f, model)
        optim.update(opt, model, g)
    assert f(model) < loss0
