"""Rules for iteration: `for x in xs` is `iter(xs)` then `next_or_stop(it)` until `STOP`.

Over a tuple, list or array the forward pass iterates by index (`SeqIter`), so each element's cotangent can be
sent back to its position: the cotangent of the iterator is a sparse `SeqTangent` {index: cotangent} that
accumulates over the iterations and becomes the sequence's cotangent at `iter`.  `enumerate`, `zip` and
`reversed` of sequences produce lists whose cotangents map back element by element.  Any other iterable
(a range, a generator, a dict's keys) is iterated as it is, and must not carry derivative information.
"""
from __future__ import annotations

import numpy as np

from .. import ops
from ..errors import UnsupportedError
from .containers import container_cotangent
from .registry import rrule


class SeqIter:
    """An index-based iterator over a sequence, so `next` knows which position it read."""

    __slots__ = ("seq", "i")

    def __init__(self, seq):
        self.seq = seq
        self.i = 0

    def __iter__(self):
        return self

    def __next__(self):
        i = self.i
        if i >= len(self.seq):
            raise StopIteration
        self.i = i + 1
        return self.seq[i]


class SeqTangent:
    """Sparse cotangent of a `SeqIter`: {index: cotangent}."""

    __slots__ = ("items",)

    def __init__(self, items):
        self.items = items

    def __add__(self, other):
        from ..tangent import accum
        if not isinstance(other, SeqTangent):
            return NotImplemented
        out = dict(self.items)
        for k, v in other.items.items():
            out[k] = accum(out.get(k), v)
        return SeqTangent(out)

    __radd__ = __add__


def _carries(xs) -> bool:
    from ..runtime import has_float_data
    return has_float_data(xs)


@rrule(iter)
def iter_rrule(xs, *sentinel):
    if sentinel:
        return iter(xs, *sentinel), lambda dy: (None, None)
    if isinstance(xs, (tuple, list, np.ndarray)):
        n = len(xs)

        def iter_pullback(dy):
            if not isinstance(dy, SeqTangent):
                return (None,)
            return (container_cotangent(xs, [dy.items.get(i) for i in range(n)]),)
        return SeqIter(xs), iter_pullback
    if isinstance(xs, (SeqIter,)):
        return xs, lambda dy: (dy,)
    if isinstance(xs, dict):
        return iter(xs), lambda dy: (None,)
    if _carries(xs):
        raise UnsupportedError(
            f"iterating over a {type(xs).__name__} that holds differentiable values is not supported; "
            "iterate over a list, tuple or array (e.g. list(...) first)")
    return iter(xs), lambda dy: (None,)


@rrule(ops.next_or_stop)
def next_or_stop_rrule(it):
    if isinstance(it, SeqIter):
        i = it.i
        y = ops.next_or_stop(it)

        def next_pullback(dy):
            if dy is None or y is ops.STOP:
                return (None,)
            return (SeqTangent({i: dy}),)
        return y, next_pullback
    return ops.next_or_stop(it), lambda dy: (None,)


@rrule(enumerate)
def enumerate_rrule(xs, start=0):
    items = list(xs)
    y = list(enumerate(items, start))

    def enumerate_pullback(dy):
        if dy is None:
            return None, None
        return container_cotangent(xs, [None if d is None else d[1] for d in dy]), None
    return y, enumerate_pullback


@rrule(zip)
def zip_rrule(*seqs):
    y = list(zip(*seqs))

    def zip_pullback(dy):
        if dy is None:
            return tuple(None for _ in seqs)
        out = []
        for j, s in enumerate(seqs):
            col = [None if d is None else d[j] for d in dy]
            col += [None] * (len(s) - len(col)) if hasattr(s, "__len__") else []
            out.append(container_cotangent(s, col))
        return tuple(out)
    return y, zip_pullback


@rrule(reversed)
def reversed_rrule(xs):
    y = list(reversed(xs))

    def reversed_pullback(dy):
        if dy is None:
            return (None,)
        return (container_cotangent(xs, list(reversed(dy))),)
    return y, reversed_pullback


def _sequence_constructor_rule(make):
    """The rule of `list(xs)` / `tuple(xs)`: element cotangents go back to a tuple, list or array source."""
    def sequence_rrule(*xs):
        if not xs:
            return make(), lambda dy: ()
        src = xs[0]
        y = make(src)
        indexable = isinstance(src, (tuple, list, np.ndarray))
        if not indexable and _carries(y):
            raise UnsupportedError(f"{make.__name__}() of a {type(src).__name__} holding differentiable values")

        def sequence_pullback(dy):
            if dy is None or not indexable:
                return (None,)
            return (container_cotangent(src, list(dy)),)
        return y, sequence_pullback
    return sequence_rrule


list_rrule = rrule(list)(_sequence_constructor_rule(list))
tuple_rrule = rrule(tuple)(_sequence_constructor_rule(tuple))
