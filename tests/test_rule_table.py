"""Every rule spec passes `check_rrule`, and every differentiable callable in the registry has a spec."""
import importlib.util

import pytest

import irgrad.rules  # noqa: F401  (registers every rule)
from irgrad.rules.registry import NONDIFF, lookup, registered
from irgrad.testing import check_rrule
from rule_specs import COVERED_BY_GRADIENT_TESTS, SPECS, fn_name, merge_tables

_tables = [SPECS]
if importlib.util.find_spec("rule_specs_shapes") is not None:
    from rule_specs_shapes import SPECS as SHAPE_SPECS
    _tables.append(SHAPE_SPECS)
ALL_SPECS = merge_tables(*_tables)


def _key(fn):
    try:
        hash(fn)
        return fn
    except TypeError:
        return id(fn)


@pytest.mark.parametrize("s", ALL_SPECS, ids=lambda s: s.id)
def test_rule_matches_finite_differences(s):
    check_rrule(s.fn, *s.make_args(), **s.tol, **s.kwargs)


def test_every_differentiable_rule_has_a_spec():
    covered = {_key(s.fn) for s in ALL_SPECS} | {_key(fn) for fn in COVERED_BY_GRADIENT_TESTS}
    missing = sorted(fn_name(fn) if not isinstance(fn, int) else repr(fn)
                     for fn, rule in registered().items() if rule is not NONDIFF and fn not in covered)
    assert not missing, f"rules with no entry in tests/rule_specs*.py: {missing}"


def test_rules_said_to_be_covered_elsewhere_exist():
    table = registered()
    stale = [fn_name(fn) for fn in COVERED_BY_GRADIENT_TESTS if table.get(_key(fn)) in (None, NONDIFF)]
    assert not stale, f"COVERED_BY_GRADIENT_TESTS names callables with no rule: {stale}"


@pytest.mark.parametrize("s", ALL_SPECS, ids=lambda s: s.id)
def test_zero_cotangent_gives_zeros(s):
    """`None` is zero: every pullback takes it and returns one None per positional argument."""
    rule, self = lookup(s.fn)
    if rule is NONDIFF:
        return
    args = ((self,) if self is not None else ()) + s.make_args()
    y, pullback = rule(*args, **s.kwargs)
    assert pullback(None) == (None,) * len(args)
