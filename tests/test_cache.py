"""The derivation cache: one trace per signature, never a stale derivative (rebinding a global, redefining a
function, registering a rule, a closure over other values), safe under threads."""
import threading
import types

import numpy as np

import irgrad

SCALE = 2.0


def scaled(x):
    return SCALE * x * x


def helper(x):
    return x * 3.0


def uses_helper(x):
    return helper(x) + 1.0


def test_one_trace_per_signature():
    irgrad.clear_cache()
    for x in (1.0, 2.0, 3.0):
        assert irgrad.gradient(scaled, x) == (2 * SCALE * x,)
    assert irgrad.cache_info()["traces"] == 1
    irgrad.gradient(scaled, np.ones(3).sum())  # np.float64: another signature
    irgrad.gradient(lambda v: np.sum(scaled(v)), np.ones(3))
    assert irgrad.cache_info()["traces"] == 3


def test_rebinding_a_global_retraces():
    global SCALE
    irgrad.clear_cache()
    assert irgrad.gradient(scaled, 1.0) == (4.0,)
    old = SCALE
    SCALE = 5.0
    try:
        assert irgrad.gradient(scaled, 1.0) == (10.0,)
    finally:
        SCALE = old
    assert irgrad.gradient(scaled, 1.0) == (4.0,)


def test_redefining_a_called_function_retraces():
    global helper
    assert irgrad.gradient(uses_helper, 1.0) == (3.0,)
    old = helper

    def helper(x):  # noqa: F811 - a redefinition is the point
        return x * 7.0
    try:
        assert irgrad.gradient(uses_helper, 1.0) == (7.0,)
    finally:
        helper = old


def test_closures_over_different_values_share_a_trace_not_values():
    irgrad.clear_cache()

    def make(c):
        return lambda x: c * x * x

    fs = [make(float(c)) for c in range(1, 6)]
    assert [irgrad.gradient(f, 1.0)[0] for f in fs] == [2.0 * c for c in range(1, 6)]
    assert irgrad.cache_info()["traces"] == 1


def test_the_same_code_with_other_globals_is_not_confused():
    code = scaled.__code__
    g1 = dict(scaled.__globals__, SCALE=1.0)
    g2 = dict(scaled.__globals__, SCALE=10.0)
    f1 = types.FunctionType(code, g1)
    f2 = types.FunctionType(code, g2)
    assert irgrad.gradient(f1, 1.0) == (2.0,)
    assert irgrad.gradient(f2, 1.0) == (20.0,)
    assert irgrad.gradient(f1, 1.0) == (2.0,)


def test_threads_agree():
    irgrad.clear_cache()
    W = np.random.default_rng(0).standard_normal((8, 8))

    def f(x):
        return np.sum(np.tanh(W @ x) ** 2)

    x = np.ones(8)
    expected = irgrad.gradient(f, x)[0]
    irgrad.clear_cache()
    results, errors = [], []

    def work():
        try:
            for _ in range(20):
                results.append(irgrad.gradient(f, x)[0])
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) == 80 and all(np.allclose(r, expected) for r in results)


def test_training_loop_traces_each_function_once():
    from irgrad.datasets import make_moons
    from irgrad.nn import Chain, Dense, logit_cross_entropy, onehot, relu
    from irgrad.optim import Descent, update

    X, y = make_moons(200, noise=0.1, rng=0)
    Y = onehot(y, 2)
    model = Chain(Dense(2, 16, relu, rng=1), Dense(16, 16, relu, rng=2), Dense(16, 2, relu, rng=3))
    opt = Descent(0.9)
    irgrad.clear_cache()
    for _ in range(1000):
        (g,) = irgrad.gradient(lambda m: logit_cross_entropy(m(X), Y), model)
        update(opt, model, g)
    info = irgrad.cache_info()
    assert info["traces"] == info["entries"] <= 3
    assert info["hits"] >= 999


def test_a_name_missing_at_trace_time_does_not_retrace_every_call():
    def f(x):
        if x > 100.0:
            return not_defined_anywhere(x)  # noqa: F821 - never reached
        return x * 2.0

    irgrad.clear_cache()
    for _ in range(3):
        assert irgrad.gradient(f, 1.0) == (2.0,)
    assert irgrad.cache_info()["traces"] == 1
