"""Indexing rules: scatter-adds for repeated indices, the fast path for basic indices, the cotangents of tuples,
lists, dicts and strings, bound `x.__getitem__`, and the refusal of `x[i] = v` on differentiable data."""
import operator

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import irgrad.rules  # noqa: F401  (registers every rule)
from irgrad import UnsupportedError
from irgrad.rules.registry import lookup
from irgrad.testing import check_rrule

getitem = lookup(operator.getitem)[0]
setitem = lookup(operator.setitem)[0]


def test_repeated_indices_accumulate():
    _, back = getitem(np.zeros(4), [0, 0, 2, 0])
    dx, didx = back(np.array([1.0, 2.0, 3.0, 4.0]))
    assert np.array_equal(dx, [7.0, 0.0, 3.0, 0.0]) and didx is None


def test_repeated_pairs_in_two_dimensions_accumulate():
    _, back = getitem(np.zeros((2, 3)), (np.array([1, 1, 0]), np.array([2, 2, 2])))
    dx, _ = back(np.array([1.0, 10.0, 100.0]))
    assert np.array_equal(dx, [[0, 0, 100.0], [0, 0, 11.0]])


@pytest.mark.parametrize("idx", [
    1, -1, slice(1, None), (1, slice(None, None, -1)), (Ellipsis, 0), (None, 1), (slice(None), None, 2),
    np.array([True, False, True]), (np.array([False, True, True]), slice(0, 2)),
])
def test_basic_indices_and_masks_scatter_like_add_at(idx):
    x = np.arange(12.0).reshape(3, 4)
    y, back = getitem(x, idx)
    dy = np.random.default_rng(0).standard_normal(np.shape(y))
    expected = np.zeros_like(x)
    np.add.at(expected, idx, dy)
    assert np.array_equal(back(dy)[0], expected)


def test_zero_cotangent_and_integer_arrays():
    _, back = getitem(np.ones(3), 1)
    assert back(None) == (None, None)
    _, back = getitem(np.arange(3), 1)
    assert back(5.0) == (None, None)


def test_float32_array_with_float64_cotangent():
    _, back = getitem(np.ones(3, dtype=np.float32), [0, 0])
    dx, _ = back(np.array([1.0, 2.0]))
    assert dx.shape == (3,) and dx[0] == 3.0


def test_tuple_gives_a_tuple_with_dy_at_the_position():
    y, back = getitem((1.0, np.ones(2), 3), 1)
    assert back(np.array([5.0, 6.0]))[0][0] is None
    dx, _ = back(np.array([5.0, 6.0]))
    assert type(dx) is tuple and len(dx) == 3 and np.array_equal(dx[1], [5.0, 6.0]) and dx[2] is None


def test_negative_index_and_slices_of_lists():
    y, back = getitem([1.0, 2.0, 3.0, 4.0], -1)
    assert back(0.5) == ([None, None, None, 0.5], None)
    y, back = getitem([1.0, 2.0, 3.0, 4.0], slice(None, None, -2))
    assert y == [4.0, 2.0]
    assert back([10.0, 20.0]) == ([None, 20.0, None, 10.0], None)
    y, back = getitem((1.0, 2.0, 3.0), slice(0, 2))
    assert back((1.0, None)) == ((1.0, None, None), None)


def test_dicts_and_strings():
    y, back = getitem({"w": 2.0, "name": "layer"}, "w")
    assert y == 2.0 and back(3.0) == ({"w": 3.0}, None)
    y, back = getitem("abc", 1)
    assert y == "b" and back(None) == (None, None)


def test_bound_getitem_reaches_the_rule():
    x = np.arange(6.0).reshape(2, 3)
    rule, self = lookup(x.__getitem__)
    assert rule is getitem and self is x
    check_rrule(x.__getitem__, (slice(None), [2, 2]))


def test_unknown_container_is_refused_with_its_type_named():
    class Bag:
        def __getitem__(self, i):
            return 1.0
    with pytest.raises(UnsupportedError, match="Bag"):
        getitem(Bag(), 0)


@pytest.mark.parametrize("container, value", [
    (np.zeros(3), 1.0), (np.arange(3), 2.5), ([1.0, 2.0], 3), ([1, 2], 3.0), ({"a": np.ones(2)}, 1),
])
def test_setitem_on_differentiable_data_is_refused(container, value):
    with pytest.raises(UnsupportedError, match="not differentiated"):
        setitem(container, 0 if not isinstance(container, dict) else "a", value)


def test_setitem_message_suggests_a_functional_form():
    with pytest.raises(UnsupportedError, match="np.where"):
        setitem(np.zeros(2), 0, 1.0)
    with pytest.raises(UnsupportedError, match=r"xs\[:i\]"):
        setitem([0.5], 0, 1.0)


def test_setitem_without_differentiable_data_runs():
    xs, d, ints = [1, "a"], {"k": "v"}, np.zeros(3, dtype=int)
    for c, k, v in ((xs, 0, 5), (d, "j", None), (ints, 1, 7)):
        y, back = setitem(c, k, v)
        assert y is None and back(None) == (None, None, None)
    assert xs == [5, "a"] and d == {"k": "v", "j": None} and ints[1] == 7


@pytest.mark.parametrize("method, args", [
    ("sort", ()), ("fill", (1.0,)), ("put", ([0], 2.0)), ("resize", ((4,),)),
])
def test_in_place_methods_on_float_arrays_are_refused(method, args):
    x = np.ones((2, 2))
    rule, self = lookup(getattr(x, method))
    with pytest.raises(UnsupportedError, match="in place"):
        rule(self, *args)
    assert np.array_equal(x, np.ones((2, 2)))      # refused before it wrote anything


@pytest.mark.parametrize("fn, args", [
    (np.add.at, ([0], 1.0)), (np.copyto, (np.zeros((2, 2)),)), (np.fill_diagonal, (3.0,)),
    (np.put, ([1], 5.0)), (np.place, (np.eye(2, dtype=bool), [2.0])),
])
def test_in_place_functions_on_float_arrays_are_refused(fn, args):
    x = np.ones((2, 2))
    rule, self = lookup(fn)
    with pytest.raises(UnsupportedError, match="in place"):
        rule(*(() if self is None else (self,)), x, *args)
    assert np.array_equal(x, np.ones((2, 2)))


def test_sorting_an_integer_array_in_place_runs():
    x = np.array([3, 1, 2])
    rule, self = lookup(x.sort)
    y, back = rule(self)
    assert y is None and list(x) == [1, 2, 3] and back(None) == (None,)


def test_take_with_repeats_and_clip_accumulates():
    _, back = lookup(np.take)[0](np.zeros(4), [9, -3, 3], mode="clip")
    dx, _ = back(np.array([1.0, 2.0, 4.0]))
    assert np.array_equal(dx, [2.0, 0.0, 0.0, 5.0])


@given(st.lists(st.integers(1, 4), min_size=1, max_size=3), st.data())
def test_random_integer_array_indices(shape, data):
    x = np.random.default_rng(len(shape)).standard_normal(shape)
    idx = tuple(np.array(data.draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=5)))
                for n in shape[:data.draw(st.integers(1, len(shape)))])
    n = min(len(i) for i in idx)
    check_rrule(operator.getitem, x, tuple(i[:n] for i in idx))
