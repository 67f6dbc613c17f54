"""The one registry of rules.  A rule for `fn` is called with `fn`'s arguments and returns `(y, pullback)`;
`pullback(dy)` returns a tuple with one cotangent per positional argument (None for zero).  Keyword arguments
(axis=, keepdims=, dtype= ...) take no cotangent.  A rule that must take a differentiable value by keyword
names it as a parameter: the AD binds keyword arguments to the rule's own parameters before calling it.

Rules are keyed by the callable itself.  Methods of built-in types (`ndarray.sum`, `list.append`) are keyed
by their descriptor (`np.ndarray.sum`) and called with `self` first; `lookup` resolves a bound method
(`x.sum` for an ndarray `x`) to that descriptor.
"""
from __future__ import annotations

import types

NONDIFF = object()  # marker: the callable is non-differentiable (its pullback is all zeros)

_rules: dict = {}
_version = [0]  # bumped on every registration, so caches of derived pullbacks can notice a new rule


def _key(fn):
    try:
        hash(fn)
        return fn
    except TypeError:
        return id(fn)


def rrule(fn):
    """Decorator: `@rrule(np.sin)` registers the decorated function as the reverse rule of `np.sin`."""
    def register(rule):
        _rules[_key(fn)] = rule
        _version[0] += 1
        return rule
    return register


def non_differentiable(*fns):
    """Declare callables whose outputs carry no derivative (comparisons, `len`, `np.zeros` ...)."""
    for fn in fns:
        _rules[_key(fn)] = NONDIFF
    _version[0] += 1


def version() -> int:
    return _version[0]


_BUILTIN_BOUND = (types.BuiltinMethodType, types.MethodWrapperType)


def lookup(fn):
    """(rule, self_or_None) for a callable: the rule (a function or NONDIFF) and, when `fn` is a bound method of a
    built-in type resolved to its descriptor's rule, the object it is bound to (to pass first).  (None, None) when
    there is no rule."""
    try:
        r = _rules.get(fn)
    except TypeError:
        r = _rules.get(id(fn))
    if r is not None:
        return r, None
    if isinstance(fn, _BUILTIN_BOUND):
        self = getattr(fn, "__self__", None)
        if self is not None and not isinstance(self, types.ModuleType):
            desc = getattr(type(self), getattr(fn, "__name__", ""), None)
            if desc is not None:
                try:
                    r = _rules.get(desc)
                except TypeError:
                    r = None
                if r is not None:
                    return r, self
    return None, None


def has_rule(fn) -> bool:
    return lookup(fn)[0] is not None


def registered() -> dict:
    """A copy of the table: callable -> rule or NONDIFF."""
    return dict(_rules)
