"""The verifier accepts well-formed IR and rejects each kind of fault with the IR around it."""
import operator

import pytest

from irgrad import IRVerifyError
from irgrad.ir import IR, Br, CondBr, Const, Return, Stmt, Var
from irgrad.pipeline import code_ir
from irgrad.verify import verify


def diamond(use_then_value_in_join=False):
    ir = IR()
    ir.meta.name = "diamond"
    b1, b2, b3, b4 = (ir.new_block() for _ in range(4))
    x = b1.add_arg()
    c = b1.push(operator.gt, x, 0)
    b1.term = CondBr(c, b2, (), b3, ())
    y2 = b2.push(operator.add, x, 1)
    b2.term = Br(b4, (y2,))
    y3 = b3.push(operator.mul, x, 2)
    b3.term = Br(b4, (y3,))
    r = b4.add_arg()
    b4.term = Return(b4.push(operator.add, r, y2 if use_then_value_in_join else x))
    return ir


def test_well_formed_ir_passes():
    ir = diamond()
    assert verify(ir) is ir


def test_traced_loops_pass():
    def f(xs, n):
        s = 0.0
        for x in xs:
            i = 0
            while i < n:
                if i == 3:
                    break
                s += x * i
                i += 1
        return s

    verify(code_ir(f, [1.0, 2.0], 5))


def test_use_not_dominated_shows_the_ir_around_it():
    with pytest.raises(IRVerifyError) as e:
        verify(diamond(use_then_value_in_join=True))
    msg = str(e.value)
    assert "%3 is used in block 4 but its definition in block 2 does not dominate it" in msg
    assert "in diamond" in msg
    marked = [line for line in msg.splitlines() if line.startswith(">>>")]
    assert marked == [">>>   %6 = operator.add(%5, %3) :: Any"]


def test_branch_arity():
    ir = diamond()
    ir.blocks[1].term = Br(ir.blocks[3], ())
    with pytest.raises(IRVerifyError, match="block 2 passes 0 arguments to block 4, which takes 1"):
        verify(ir)


def test_missing_terminator():
    ir = diamond()
    ir.blocks[2].term = None
    with pytest.raises(IRVerifyError, match="block 3 has no terminator") as e:
        verify(ir)
    assert ">>>   <no terminator>" in str(e.value)


def test_terminator_among_statements():
    ir = diamond()
    ir.blocks[3].stmts.append(Return(Const(0)))
    with pytest.raises(IRVerifyError, match="holds Return among its statements"):
        verify(ir)


def test_branch_to_a_foreign_block():
    ir = diamond()
    other = IR().new_block()
    other.term = Return(Const(0))
    ir.blocks[1].term = Br(other, ())
    with pytest.raises(IRVerifyError, match="branches to a block that is not part of this IR"):
        verify(ir)


def test_double_definition():
    ir = diamond()
    s = ir.blocks[1].stmts[0]
    ir.blocks[2].stmts.insert(0, Stmt(s.var, Const(operator.neg), (ir.args[0],)))
    with pytest.raises(IRVerifyError, match="defined twice"):
        verify(ir)


def test_use_before_definition_in_the_same_block():
    ir = diamond()
    b = ir.blocks[1]
    late = Var()
    b.stmts.insert(0, Stmt(Var(), Const(operator.neg), (late,)))
    b.stmts.append(Stmt(late, Const(operator.neg), (ir.args[0],)))
    with pytest.raises(IRVerifyError, match="used in block 2 before its definition"):
        verify(ir)


def test_undefined_variable_and_bad_operands():
    ir = diamond()
    ir.blocks[3].term = Return(Var("ghost"))
    with pytest.raises(IRVerifyError, match=r"Var\(ghost\)\) is used in block 4 but defined nowhere"):
        verify(ir)
    ir = diamond()
    ir.blocks[3].stmts[0].args = (42,)
    with pytest.raises(IRVerifyError, match="operand 42 is neither a Var nor a Const"):
        verify(ir)


def test_argtypes_parallel_to_args():
    ir = diamond()
    ir.blocks[3].argtypes = []
    with pytest.raises(IRVerifyError, match="block 4 has 1 arguments but 0 argument types"):
        verify(ir)


def test_definition_in_unreachable_block_does_not_dominate():
    ir = diamond()
    dead = ir.new_block()
    v = dead.push(operator.neg, 1)
    dead.term = Br(ir.blocks[3], (v,))
    verify(ir)  # an unreachable block is well formed on its own
    ir.blocks[3].term = Return(v)
    with pytest.raises(IRVerifyError, match="does not dominate"):
        verify(ir)


def test_empty_ir():
    with pytest.raises(IRVerifyError, match="no blocks"):
        verify(IR())
