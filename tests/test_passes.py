"""Control-flow analysis and the clean-up passes: each on hand-built IR with a known answer, then the whole
pipeline on the round-trip corpus (same result as a direct call, verifier clean after every pass)."""
import math
import operator
import types

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, strategies as st

from irgrad import cfg, ops, passes
from irgrad.frontend import bind_args, trace
from irgrad.interpret import run
from irgrad.ir import IR, Br, CondBr, Const, Return
from irgrad.pipeline import code_ir
from irgrad.printer import format_ir
from irgrad.types import ndarray
from irgrad.verify import verify

from corpus import CASES
from test_roundtrip import outcome, same


def diamond():
    """1 -> 2 | 3 -> 4, block 4 takes one argument: %x + 1 from 2, %x * 2 from 3."""
    ir = IR()
    b1, b2, b3, b4 = (ir.new_block() for _ in range(4))
    x = b1.add_arg(hint="x")
    c = b1.push(operator.gt, x, 0)
    b1.term = CondBr(c, b2, (), b3, ())
    y2 = b2.push(operator.add, x, 1)
    b2.term = Br(b4, (y2,))
    y3 = b3.push(operator.mul, x, 2)
    b3.term = Br(b4, (y3,))
    r = b4.add_arg(hint="r")
    b4.term = Return(r)
    return ir


def counting_loop():
    """while i < n: s += i; i += 1 -- header 2, body 3, exit 4."""
    ir = IR()
    b1, b2, b3, b4 = (ir.new_block() for _ in range(4))
    n = b1.add_arg(hint="n")
    b1.term = Br(b2, (Const(0), Const(0), n))
    i, s, n2 = b2.add_arg(), b2.add_arg(), b2.add_arg()
    c = b2.push(operator.lt, i, n2)
    b2.term = CondBr(c, b3, (), b4, ())
    s2 = b3.push(operator.add, s, i)
    i2 = b3.push(operator.add, i, 1)
    b3.term = Br(b2, (i2, s2, n2))
    b4.term = Return(s)
    return ir


# ---------------------------------------------------------------------------------------------------------------
# cfg

def test_diamond_dominators_and_orders():
    ir = diamond()
    b1, b2, b3, b4 = ir.blocks
    idom = cfg.immediate_dominators(ir)
    assert idom[b2] is b1 and idom[b3] is b1 and idom[b4] is b1 and idom[b1] is b1
    dom = cfg.Dominance(ir)
    assert dom.dominates(b1, b4) and not dom.dominates(b2, b4) and dom.dominates(b4, b4)
    assert cfg.reverse_postorder(ir)[0] is b1 and cfg.reverse_postorder(ir)[-1] is b4
    assert cfg.predecessors(ir)[b4] == [b2, b3]
    assert [p for p, _ in cfg.incoming(ir)[b4]] == [b2, b3]
    assert cfg.back_edges(ir) == [] and cfg.natural_loops(ir) == []
    assert set(cfg.dominator_tree(ir).successors(b1)) == {b2, b3, b4}


def test_loop_back_edge_and_body():
    ir = counting_loop()
    b1, b2, b3, b4 = ir.blocks
    assert cfg.back_edges(ir) == [(b3, b2)]
    (loop,) = cfg.natural_loops(ir)
    assert loop.header is b2 and loop.body == {b2, b3} and loop.latches == (b3,)
    assert cfg.is_reducible(ir)
    assert run(ir, 5) == 10


def test_nested_loops_from_the_frontend():
    def f(n):
        s = 0
        for i in range(n):
            j = 0
            while j < i:
                s += j
                j += 1
        return s

    ir = code_ir(f, 4)
    loops = cfg.natural_loops(ir)
    assert len(loops) == 2
    outer, inner = loops
    assert inner.body < outer.body and inner.header in outer.body
    assert run(ir, *bind_args(f, (6,))) == f(6)


def test_unreachable_blocks_and_irreducible_graph():
    ir = IR()
    b1, b2, b3, dead = (ir.new_block() for _ in range(4))
    c = b1.add_arg()
    b1.term = CondBr(c, b2, (), b3, ())
    b2.term = Br(b3, ())
    b3.term = Br(b2, ())  # 2 <-> 3 entered from both sides: no single header
    dead.term = Return(Const(0))
    assert cfg.reachable(ir) == {b1, b2, b3}
    assert not cfg.is_reducible(ir)
    passes.remove_unreachable(ir)
    assert dead not in ir.blocks and len(ir.blocks) == 3


@st.composite
def random_cfgs(draw):
    n = draw(st.integers(1, 8))
    succ = [draw(st.lists(st.integers(0, n - 1), max_size=2)) for _ in range(n)]
    ir = IR()
    blocks = [ir.new_block() for _ in range(n)]
    for b, ss in zip(blocks, succ):
        if not ss:
            b.term = Return(Const(None))
        elif len(ss) == 1:
            b.term = Br(blocks[ss[0]], ())
        else:
            b.term = CondBr(Const(True), blocks[ss[0]], (), blocks[ss[1]], ())
    return ir


@given(random_cfgs())
def test_dominance_agrees_with_its_definition(ir):
    """a dominates b  <=>  b is unreachable from the entry once a is removed (a != entry)."""
    g = cfg.graph(ir)
    live = cfg.reachable(ir)
    dom = cfg.Dominance(ir)
    entry = ir.blocks[0]
    assert live == set(nx.descendants(g, entry)) | {entry}
    for a in live:
        for b in live:
            if a is entry or a is b:
                expected = True
            else:
                h = g.subgraph([x for x in g if x is not a])
                expected = b is not entry and b not in nx.descendants(h, entry)
            assert dom.dominates(a, b) == expected
    order = cfg.topological_order(ir)
    assert set(order) == live and order[0] is entry
    pos = {b: i for i, b in enumerate(order)}
    for a in live:  # dominators come first
        for b in live:
            if a is not b and dom.dominates(a, b):
                assert pos[a] < pos[b]


# ---------------------------------------------------------------------------------------------------------------
# passes on hand-built IR

def test_prune_removes_trivial_arguments_and_keeps_real_phis():
    ir = counting_loop()
    verify(passes.prune_args(ir))
    b2 = ir.blocks[1]
    assert len(b2.args) == 2  # i and s are real phis; n is the same on both edges (n, or itself)
    assert "n" not in [v.hint for v in b2.args]
    assert run(ir, 7) == 21


def test_prune_follows_chains():
    ir = IR()
    b1, b2, b3 = (ir.new_block() for _ in range(3))
    x = b1.add_arg()
    b1.term = Br(b2, (x,))
    y = b2.add_arg()
    b2.term = Br(b3, (y, Const(1)))
    z, one = b3.add_arg(), b3.add_arg()
    b3.term = Return(b3.push(operator.add, z, one))
    verify(passes.prune_args(ir))
    assert [len(b.args) for b in ir.blocks] == [1, 0, 0]
    assert "operator.add(%1, 1)" in format_ir(ir)


def test_dce_removes_dead_pure_code_and_dead_arguments_only():
    log = []
    ir = IR()
    b1, b2, b3 = (ir.new_block() for _ in range(3))
    x = b1.add_arg(ndarray("float64", 1))
    b1.push(operator.mul, x, 2.0)  # dead, pure
    b1.push(operator.mul, x, x)  # dead, but two arrays may fail to broadcast
    b1.push(operator.floordiv, 2.0, b1.push(operator.neg, 2))  # dead, but division may raise
    b1.push(np.sin, x)  # dead ufunc
    b1.push(log.append, x)  # dead value, but a side effect
    b1.push(np.sin, x, kwargs=(("out", x),))  # writes into x
    kept = b1.push(operator.add, x, 1)
    b1.term = Br(b2, (kept, Const(0)))
    a, unused = b2.add_arg(), b2.add_arg()
    c = b2.push(operator.gt, a, 10)
    b2.term = CondBr(c, b3, (), b2, (b2.push(operator.add, a, 1), unused))
    b3.term = Return(a)
    verify(passes.dce(ir))
    text = format_ir(ir)
    assert "operator.mul(%1, 2.0)" not in text and "operator.mul(%1, %1)" in text and "floordiv" in text
    assert text.count("numpy.sin") == 1 and "append" in text
    assert len(ir.blocks[1].args) == 1
    assert run(ir, np.array(0.5)) == pytest.approx(np.sin(0.5) + 10) and len(log) == 1


def test_fold_module_attributes_and_constant_branches():
    ir = IR()
    b1, b2, b3 = (ir.new_block() for _ in range(3))
    x = b1.add_arg()
    sin = b1.push(getattr, np, "sin")
    linalg = b1.push(getattr, np, "linalg")
    norm = b1.push(getattr, linalg, "norm")
    k = b1.push(operator.mul, 3, 4)
    c = b1.push(operator.gt, k, 10)
    b1.term = CondBr(c, b2, (b1.push(sin, x),), b3, ())
    y = b2.add_arg()
    b2.term = Return(b2.push(norm, y))
    b3.term = Return(Const(None))
    verify(passes.simplify(ir))
    text = format_ir(ir)
    assert len(ir.blocks) == 1 and "getattr" not in text
    assert "numpy.sin(%1)" in text and "numpy.linalg.norm" in text
    assert (np.__dict__, "sin", np.sin) in ir.meta.assumptions
    assert (np.linalg.__dict__, "norm", np.linalg.norm) in ir.meta.assumptions
    assert run(ir, np.array([3.0, 4.0])) == pytest.approx(np.linalg.norm(np.sin([3.0, 4.0])))


def test_fold_leaves_what_raises_or_mutates():
    lazy = types.ModuleType("lazy")
    lazy.__getattr__ = lambda name: 42  # served by a module __getattr__: cannot be checked later, stays dynamic
    ir = IR()
    b = ir.new_block()
    b.add_arg()
    z = b.push(operator.truediv, 1, 0)
    lst = b.push(operator.add, [1], [2])  # a list is mutable: never a constant
    dyn = b.push(getattr, lazy, "anything")
    m = b.push(math.sqrt, 16.0)
    b.term = Return(b.push(ops.build_tuple, z, lst, dyn, m))
    passes.fold_constants(ir)
    text = format_ir(ir)
    assert "operator.truediv(1, 0)" in text and "operator.add([1], [2])" in text and "getattr" in text
    assert "4.0" in text and "sqrt" not in text
    with pytest.raises(ZeroDivisionError):
        run(ir, None)


def test_fold_len_of_a_value_whose_type_fixes_it():
    from irgrad.types import List, Scalar, Tuple
    ir = IR()
    b = ir.new_block()
    t, lst = b.add_arg(Tuple((Scalar(float),) * 3)), b.add_arg(List(Scalar(float)))
    n = b.push(len, t, type=Scalar(int))
    m = b.push(len, lst, type=Scalar(int))
    b.term = Return(b.push(ops.build_tuple, b.push(operator.sub, n, 1), m))
    verify(passes.simplify(ir))
    text = format_ir(ir)
    assert "len(%1)" not in text and "len(%2)" in text  # a list's length is a run-time value
    assert run(ir, (1.0, 2.0, 3.0), [1.0]) == (2, 1)


def test_order_blocks_restores_a_topological_order():
    ir = diamond()
    b1, b2, b3, b4 = ir.blocks
    ir.blocks = [b1, b4, b3, b2]
    passes.order_blocks(ir)
    assert ir.blocks == [b1, b3, b2, b4]  # b3 and b2 are free: the current order wins
    verify(ir)


# ---------------------------------------------------------------------------------------------------------------
# the corpus, through every pass

@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_passes_keep_the_behaviour(case):
    ir = trace(case.fn)
    verify(ir)
    for p in (passes.remove_unreachable, passes.fold_constants, passes.prune_args, passes.merge_blocks, passes.dce,
              passes.order_blocks):
        verify(p(ir))
    args = bind_args(case.fn, case.args, case.kwargs)
    expected = outcome(lambda: case.fn(*case.args, **case.kwargs))
    got = outcome(lambda: run(ir, *bind_args(case.fn, case.args, case.kwargs)))
    assert expected[0] == got[0], (expected, got)
    if expected[0] == "value":
        assert same(got[1], expected[1]), (got, expected)
    else:
        assert got[1] == expected[1]
    assert len(args) == len(ir.entry.args)


def test_passes_shrink_the_corpus():
    """Pruning and dead code do real work: the raw corpus has many more block arguments than the simplified one."""
    raw = simplified = 0
    for case in CASES:
        ir = trace(case.fn)
        raw += sum(len(b.args) for b in ir.blocks[1:])
        simplified += sum(len(b.args) for b in passes.simplify(ir).blocks[1:])
    assert simplified < raw / 2
