"""One handler per opcode, in a table keyed by opcode name, and the version facts of CPython 3.11 to 3.13.

A handler is `handler(frame, instr)`: it pops and pushes operands on `frame.stack`, appends statements with
`frame.emit(fn, *args)` and, for jumps and returns, sets the block's terminator.  The `bytecode` package already
absorbs most version differences (jump targets are blocks, names and comparison kinds are decoded); what is left
is in the table below and in the handlers registered under several names.
"""
from __future__ import annotations

import inspect
import operator
import sys

from . import ops
from .bytecode_flow import is_free as _is_free, slot_name as _name
from .ir import Const, Raise, Return

# ---------------------------------------------------------------------------------------------------------------
# Version facts: every difference between 3.11, 3.12 and 3.13 the handlers depend on, in one place.

_PY = sys.version_info[:2]
_FACTS = {
    #              NULL below callable   FOR_ITER exit keeps iterator   values END_FOR pops
    (3, 11): dict(null_below_callable=True, for_exit_keeps_iter=False, end_for_pops=0),
    (3, 12): dict(null_below_callable=True, for_exit_keeps_iter=True, end_for_pops=2),
    (3, 13): dict(null_below_callable=False, for_exit_keeps_iter=True, end_for_pops=1),
}
if _PY not in _FACTS:  # pragma: no cover - guarded by requires-python
    raise ImportError(f"irgrad supports CPython 3.11 to 3.13, not {sys.version.split()[0]}")
# On 3.11 and 3.12 a call sequence is [NULL, callable, args...]; on 3.13 it is [callable, NULL, args...].
NULL_BELOW_CALLABLE = _FACTS[_PY]["null_below_callable"]
# 3.11: FOR_ITER pops the exhausted iterator; 3.12+: it jumps to END_FOR, which pops it (3.12: END_FOR pops the
# iterator and the slot above it; 3.13: END_FOR pops one and a POP_TOP the other).
FOR_EXIT_KEEPS_ITER = _FACTS[_PY]["for_exit_keeps_iter"]
END_FOR_POPS = _FACTS[_PY]["end_for_pops"]

# Code flags that make a whole function untraceable, the construct to name, and the opcodes whose line to show.
CO_FLAGS_UNSUPPORTED = (
    (inspect.CO_GENERATOR, "yield (a generator function)", ("YIELD_VALUE",)),
    (inspect.CO_COROUTINE, "async def / await", ("GET_AWAITABLE", "SEND", "BEFORE_ASYNC_WITH", "GET_AITER")),
    (inspect.CO_ASYNC_GENERATOR, "async generator", ("YIELD_VALUE",)),
    (inspect.CO_ITERABLE_COROUTINE, "a generator-based coroutine", ("YIELD_VALUE",)),
)

# Opcodes of constructs irgrad refuses, with the construct to name in the error.
UNSUPPORTED_OPCODES = {}
for _names, _construct in [
    ("PUSH_EXC_INFO POP_EXCEPT CHECK_EXC_MATCH CHECK_EG_MATCH RERAISE WITH_EXCEPT_START CLEANUP_THROW "
     "SETUP_FINALLY SETUP_CLEANUP POP_BLOCK", "try/except/finally"),
    ("BEFORE_WITH BEFORE_ASYNC_WITH LOAD_SPECIAL SETUP_WITH", "with statement"),
    ("YIELD_VALUE RETURN_GENERATOR SEND GET_YIELD_FROM_ITER END_SEND", "yield"),
    ("GET_AWAITABLE GET_AITER GET_ANEXT END_ASYNC_FOR", "await / async for"),
    ("IMPORT_NAME IMPORT_FROM IMPORT_STAR", "import inside the function"),
    ("STORE_GLOBAL DELETE_GLOBAL", "global statement (assigning a global)"),
    ("DELETE_FAST DELETE_SUBSCR DELETE_ATTR DELETE_DEREF DELETE_NAME", "del statement"),
    ("LOAD_BUILD_CLASS", "class definition inside the function"),
    ("MATCH_CLASS MATCH_KEYS MATCH_MAPPING MATCH_SEQUENCE GET_LEN", "match statement"),
    ("LOAD_NAME STORE_NAME LOAD_LOCALS LOAD_CLASSDEREF LOAD_FROM_DICT_OR_DEREF LOAD_FROM_DICT_OR_GLOBALS "
     "SETUP_ANNOTATIONS", "module or class body code"),
]:
    for _n in _names.split():
        UNSUPPORTED_OPCODES[_n] = _construct


def unsupported(frame, ins):
    construct = UNSUPPORTED_OPCODES.get(ins.name)
    frame.unsupported(construct or f"the opcode {ins.name}")


# ---------------------------------------------------------------------------------------------------------------
# The table

HANDLERS = {}


def handles(*names):
    def register(f):
        for n in names:
            assert n not in HANDLERS, n
            HANDLERS[n] = f
        return f
    return register


def push_callable(fr, f):
    """Push a callable with its NULL slot, in the version's order (LOAD_GLOBAL and method loads)."""
    if NULL_BELOW_CALLABLE:
        fr.push(fr.NULL)
        fr.push(f)
    else:
        fr.push(f)
        fr.push(fr.NULL)


# -- no-ops ------------------------------------------------------------------------------------------------------

@handles("NOP", "RESUME", "CACHE", "PRECALL", "COPY_FREE_VARS", "EXTENDED_ARG", "TO_BOOL")
def _nop(fr, ins):
    # TO_BOOL (3.13) only feeds a conditional jump or UNARY_NOT, which take the truth of any value themselves.
    pass


# -- one-liners ----------------------------------------------------------------------------------------------------

HANDLERS.update({
    "POP_TOP": lambda fr, ins: fr.pop_raw(),
    "PUSH_NULL": lambda fr, ins: fr.push(fr.NULL),
    "KW_NAMES": lambda fr, ins: setattr(fr, "kwnames", ins.arg),  # 3.11, 3.12: names for the next CALL
    "LOAD_ASSERTION_ERROR": lambda fr, ins: fr.push(Const(ops.assert_fail)),
    "FORMAT_SIMPLE": lambda fr, ins: fr.push(fr.emit(ops.format_value, fr.pop())),
    "RETURN_VALUE": lambda fr, ins: setattr(fr.block, "term", Return(fr.pop(), line=fr.line)),
    "RETURN_CONST": lambda fr, ins: setattr(fr.block, "term", Return(Const(ins.arg), line=fr.line)),
})


# -- stack manipulation ------------------------------------------------------------------------------------------

@handles("COPY")
def _copy(fr, ins):
    fr.stack[-ins.arg] = fr.materialize(fr.stack[-ins.arg])
    fr.push(fr.stack[-ins.arg])


@handles("SWAP")
def _swap(fr, ins):
    s = fr.stack
    s[-1], s[-ins.arg] = s[-ins.arg], s[-1]


@handles("END_FOR")
def _end_for(fr, ins):
    for _ in range(END_FOR_POPS):
        fr.pop_raw()


# -- locals, cells, free variables, globals, constants ----------------------------------------------------------

@handles("LOAD_CONST")
def _load_const(fr, ins):
    v = ins.arg
    if inspect.iscode(v) and v.co_name == "<genexpr>":
        # A nested generator *function* may be defined (tracing it later is refused); a generator expression is
        # made and consumed on the spot, so it is refused here.
        fr.unsupported("generator expression")
    fr.push(Const(v))


@handles("LOAD_FAST", "LOAD_FAST_CHECK", "LOAD_CLOSURE")
def _load_fast(fr, ins):
    if _is_free(ins.arg):  # LOAD_CLOSURE of a free variable: pass the enclosing function's cell along
        fr.push(fr.load_free(ins.arg.name, cell=True))
    else:
        fr.push(fr.load_local(_name(ins.arg)))


@handles("LOAD_FAST_AND_CLEAR")
def _load_fast_and_clear(fr, ins):
    # 3.12+ inlined comprehensions save the outer slot (bound or not) and restore it with STORE_FAST afterwards.
    name = _name(ins.arg)
    fr.push(fr.peek_local(name))
    fr.locals[name] = Const(ops.UNBOUND)


@handles("STORE_FAST", "STORE_FAST_MAYBE_NULL")
def _store_fast(fr, ins):
    fr.store_local(_name(ins.arg), fr.pop())


def _slot_pair(first, second):
    """3.13's superinstructions: two loads or stores of local slots in one instruction, in order."""
    def handler(fr, ins):
        for kind, name in zip((first, second), ins.arg):
            if kind == "load":
                fr.push(fr.load_local(name))
            else:
                fr.store_local(name, fr.pop())
    return handler


HANDLERS["LOAD_FAST_LOAD_FAST"] = _slot_pair("load", "load")
HANDLERS["STORE_FAST_LOAD_FAST"] = _slot_pair("store", "load")
HANDLERS["STORE_FAST_STORE_FAST"] = _slot_pair("store", "store")


@handles("MAKE_CELL")
def _make_cell(fr, ins):
    name = _name(ins.arg)
    v = fr.peek_local(name)
    if isinstance(v, Const) and v.value is ops.UNBOUND:
        cell = fr.emit(ops.new_cell, hint=name)
    elif fr.maybe_unbound(v):
        cell = fr.emit(ops.cell_of, v, hint=name)
    else:
        cell = fr.emit(ops.new_cell, v, hint=name)
    fr.locals[name] = cell
    if not (isinstance(v, Const) and v.value is ops.UNBOUND) and not fr.maybe_unbound(v):
        fr.maybe_empty.discard(name)
    else:
        fr.maybe_empty.add(name)


@handles("LOAD_DEREF")
def _load_deref(fr, ins):
    if _is_free(ins.arg):
        fr.push(fr.load_free(ins.arg.name))
    else:
        fr.push(fr.load_cell_contents(ins.arg.name))


@handles("STORE_DEREF")
def _store_deref(fr, ins):
    if _is_free(ins.arg):
        fr.unsupported("nonlocal statement (assigning a variable of the enclosing function)")
    fr.emit(ops.cell_set, fr.load_local(ins.arg.name), fr.pop())
    fr.maybe_empty.discard(ins.arg.name)


@handles("LOAD_GLOBAL")
def _load_global(fr, ins):
    push_null, name = ins.arg
    value = fr.tracer.resolve_global(name)
    if value is None:
        value = fr.emit(ops.name_error, name)
    if push_null:
        push_callable(fr, value)
    else:
        fr.push(value)


# -- attributes and subscripts -----------------------------------------------------------------------------------

def _getattr(fr, obj, name):
    """getattr, resolved now when `obj` is a module (np.sin): module attributes are constants."""
    if isinstance(obj, Const) and inspect.ismodule(obj.value):
        ns = vars(obj.value)
        if name in ns:
            fr.tracer.ir.meta.assumptions.append((ns, name, ns[name]))
            return Const(ns[name])
    return fr.emit(getattr, obj, name)


@handles("LOAD_ATTR")
def _load_attr(fr, ins):
    method, name = ins.arg if isinstance(ins.arg, tuple) else (False, ins.arg)
    value = _getattr(fr, fr.pop(), name)
    if method:
        push_callable(fr, value)
    else:
        fr.push(value)


@handles("LOAD_METHOD")
def _load_method(fr, ins):
    push_callable(fr, _getattr(fr, fr.pop(), ins.arg))


@handles("STORE_ATTR")
def _store_attr(fr, ins):
    obj = fr.pop()
    fr.emit(setattr, obj, ins.arg, fr.pop())


@handles("BINARY_SUBSCR")
def _binary_subscr(fr, ins):
    key = fr.pop()
    fr.push(fr.emit(operator.getitem, fr.pop(), key))


@handles("STORE_SUBSCR")
def _store_subscr(fr, ins):
    key, container, value = fr.pop(), fr.pop(), fr.pop()
    fr.emit(operator.setitem, container, key, value)


@handles("BINARY_SLICE")
def _binary_slice(fr, ins):
    stop, start, container = fr.pop(), fr.pop(), fr.pop()
    fr.push(fr.emit(operator.getitem, container, fr.emit(slice, start, stop)))


@handles("STORE_SLICE")
def _store_slice(fr, ins):
    stop, start, container, value = fr.pop(), fr.pop(), fr.pop(), fr.pop()
    fr.emit(operator.setitem, container, fr.emit(slice, start, stop), value)


# -- operators -----------------------------------------------------------------------------------------------

_BINARY = {
    "ADD": operator.add, "AND": operator.and_, "FLOOR_DIVIDE": operator.floordiv, "LSHIFT": operator.lshift,
    "MATRIX_MULTIPLY": operator.matmul, "MULTIPLY": operator.mul, "REMAINDER": operator.mod,
    "OR": operator.or_, "POWER": operator.pow, "RSHIFT": operator.rshift, "SUBTRACT": operator.sub,
    "TRUE_DIVIDE": operator.truediv, "XOR": operator.xor,
}
_INPLACE = {k: getattr(operator, "i" + f.__name__.rstrip("_")) for k, f in _BINARY.items()}  # iadd, iand ...
_COMPARE = {"LT": operator.lt, "LE": operator.le, "EQ": operator.eq, "NE": operator.ne,
            "GT": operator.gt, "GE": operator.ge}


@handles("BINARY_OP")
def _binary_op(fr, ins):
    name = ins.arg.name
    fn = _INPLACE[name[len("INPLACE_"):]] if name.startswith("INPLACE_") else _BINARY.get(name)
    if fn is None:
        fr.unsupported(f"the binary operator {name}")
    b = fr.pop()
    fr.push(fr.emit(fn, fr.pop(), b))


@handles("COMPARE_OP")
def _compare_op(fr, ins):
    # 3.13's "_CAST" variants also convert to bool; the conditional jump or `not` that follows takes the truth.
    fn = _COMPARE[ins.arg.name.split("_")[0]]
    b = fr.pop()
    fr.push(fr.emit(fn, fr.pop(), b))


@handles("IS_OP")
def _is_op(fr, ins):
    b = fr.pop()
    fr.push(fr.emit(operator.is_not if ins.arg else operator.is_, fr.pop(), b))


@handles("CONTAINS_OP")
def _contains_op(fr, ins):
    container, x = fr.pop(), fr.pop()
    fr.push(fr.emit(ops.not_contains if ins.arg else ops.contains, container, x))


def _unary(fn):
    def handler(fr, ins):
        fr.push(fr.emit(fn, fr.pop()))
    return handler


HANDLERS["UNARY_NEGATIVE"] = _unary(operator.neg)
HANDLERS["UNARY_POSITIVE"] = _unary(operator.pos)
HANDLERS["UNARY_NOT"] = _unary(operator.not_)
HANDLERS["UNARY_INVERT"] = _unary(operator.invert)
HANDLERS["GET_ITER"] = _unary(iter)
HANDLERS["LIST_TO_TUPLE"] = _unary(ops.list_to_tuple)

_INTRINSIC_1 = {"INTRINSIC_UNARY_POSITIVE": operator.pos, "INTRINSIC_LIST_TO_TUPLE": ops.list_to_tuple}


@handles("CALL_INTRINSIC_1")
def _call_intrinsic_1(fr, ins):
    fn = _INTRINSIC_1.get(ins.arg.name)
    if fn is None:
        fr.unsupported(f"the intrinsic {ins.arg.name}")
    fr.push(fr.emit(fn, fr.pop()))


# -- building and unpacking --------------------------------------------------------------------------------------

def _build(fn):
    def handler(fr, ins):
        fr.push(fr.emit(fn, *fr.popn(ins.arg)))
    return handler


HANDLERS["BUILD_TUPLE"] = _build(ops.build_tuple)
HANDLERS["BUILD_LIST"] = _build(ops.build_list)
HANDLERS["BUILD_SET"] = _build(ops.build_set)
HANDLERS["BUILD_STRING"] = _build(ops.build_string)
HANDLERS["BUILD_SLICE"] = _build(slice)


@handles("BUILD_MAP")
def _build_map(fr, ins):
    fr.push(fr.emit(ops.build_dict, *fr.popn(2 * ins.arg)))


@handles("BUILD_CONST_KEY_MAP")
def _build_const_key_map(fr, ins):
    keys = fr.pop()
    values = fr.popn(ins.arg)
    if not isinstance(keys, Const):
        fr.unsupported("BUILD_CONST_KEY_MAP with computed keys")
    kvs = [x for k, v in zip(keys.value, values) for x in (Const(k), v)]
    fr.push(fr.emit(ops.build_dict, *kvs))


def _collection_update(fn, nvalues=1):
    """LIST_APPEND, SET_ADD, MAP_ADD, LIST_EXTEND ...: update the collection `arg` deep in the stack; the helper
    returns the same object, which replaces the stack slot so that SSA follows it."""
    def handler(fr, ins):
        values = fr.popn(nvalues)
        target = fr.materialize(fr.stack[-ins.arg])
        fr.stack[-ins.arg] = fr.emit(fn, target, *values)
    return handler


HANDLERS["LIST_APPEND"] = _collection_update(ops.list_append)
HANDLERS["SET_ADD"] = _collection_update(ops.set_add)
HANDLERS["MAP_ADD"] = _collection_update(ops.dict_setitem, 2)
HANDLERS["LIST_EXTEND"] = _collection_update(ops.list_extend)
HANDLERS["SET_UPDATE"] = _collection_update(ops.set_update)
HANDLERS["DICT_UPDATE"] = _collection_update(ops.dict_update)
HANDLERS["DICT_MERGE"] = _collection_update(ops.dict_merge)


@handles("UNPACK_SEQUENCE")
def _unpack_sequence(fr, ins):
    t = fr.emit(ops.unpack_sequence, fr.pop(), ins.arg)
    for i in reversed(range(ins.arg)):
        fr.push(fr.emit(operator.getitem, t, i))


@handles("UNPACK_EX")
def _unpack_ex(fr, ins):
    before, after = ins.arg & 0xFF, ins.arg >> 8
    t = fr.emit(ops.unpack_ex, fr.pop(), before, after)
    for i in reversed(range(before + 1 + after)):
        fr.push(fr.emit(operator.getitem, t, i))


# -- strings -------------------------------------------------------------------------------------------------------

_CONVERSIONS = {0: None, 1: "s", 2: "r", 3: "a"}


@handles("FORMAT_VALUE")
def _format_value(fr, ins):
    flags = ins.arg
    spec = fr.pop() if flags & 4 else Const("")
    x = fr.pop()
    conv = _CONVERSIONS[flags & 3]
    fr.push(fr.emit(ops.format_value, x, spec, conv) if conv else fr.emit(ops.format_value, x, spec))


@handles("CONVERT_VALUE")
def _convert_value(fr, ins):
    fn = {1: str, 2: repr, 3: ascii}[int(ins.arg)]
    fr.push(fr.emit(fn, fr.pop()))


@handles("FORMAT_WITH_SPEC")
def _format_with_spec(fr, ins):
    spec = fr.pop()
    fr.push(fr.emit(ops.format_value, fr.pop(), spec))


# -- functions and calls -------------------------------------------------------------------------------------------

_FUNCTION_ATTRS = ((0x08, "closure"), (0x04, "annotations"), (0x02, "kwdefaults"), (0x01, "defaults"))


@handles("MAKE_FUNCTION")
def _make_function(fr, ins):
    # 3.11, 3.12: the attributes are below the code, flagged in the argument; 3.13: SET_FUNCTION_ATTRIBUTE
    # follows, so the function object is built when it is first used.
    pending = fr.PendingFunction(fr.pop())
    flags = ins.arg if isinstance(ins.arg, int) else 0
    for bit, attr in _FUNCTION_ATTRS:
        if flags & bit:
            pending.attrs[attr] = fr.pop()
    fr.push(pending)


@handles("SET_FUNCTION_ATTRIBUTE")
def _set_function_attribute(fr, ins):
    func = fr.pop_raw()
    value = fr.pop()
    func.attrs[dict(_FUNCTION_ATTRS)[ins.arg]] = value
    fr.push(func)


def _callee(fr, nargs):
    """Pop the arguments and the [callable, NULL-or-self] pair of a CALL; returns (fn, positional, names)."""
    args = fr.popn(nargs)
    upper, lower = fr.pop(), fr.pop()
    if lower is fr.NULL:
        return upper, args
    if upper is fr.NULL:
        return lower, args
    return lower, [upper] + args  # an unbound method and its self (or AssertionError and its message)


def _call(fr, nargs, kwnames):
    fn, args = _callee(fr, nargs)
    if isinstance(fn, Const) and fn.value is super and not args and not kwnames:
        args = _implicit_super_args(fr)
    k = len(kwnames)
    pos, kw = (args[:-k], args[-k:]) if k else (args, [])
    fr.push(fr.emit(fn, *pos, kwargs=tuple(zip(kwnames, kw))))


def _implicit_super_args(fr):
    """Zero-argument `super()` reads the `__class__` cell and the first argument from the caller's frame; the IR
    has no frame, so both are made explicit: `super(__class__, first_argument)`."""
    code = fr.code
    if "__class__" not in code.co_freevars or not code.co_argcount:
        fr.unsupported("super() without arguments outside a method")
    first = code.co_varnames[0]
    obj = fr.load_cell_contents(first) if first in code.co_cellvars else fr.load_local(first)
    return [fr.load_free("__class__"), obj]


@handles("LOAD_SUPER_ATTR")
def _load_super_attr(fr, ins):
    # 3.12+: `super().name` and `super(C, x).name` with the class and the object already on the stack.
    method, two_args, name = ins.arg
    obj, cls, super_fn = fr.pop(), fr.pop(), fr.pop()
    if two_args or (isinstance(super_fn, Const) and super_fn.value is super):
        proxy = fr.emit(super_fn, cls, obj)
    else:  # `super` rebound to something else: CPython calls it with no arguments
        proxy = fr.emit(super_fn)
    value = fr.emit(getattr, proxy, name)
    if method:
        push_callable(fr, value)
    else:
        fr.push(value)


@handles("CALL")
def _call_handler(fr, ins):
    kwnames, fr.kwnames = fr.kwnames or (), None
    _call(fr, ins.arg, kwnames)


@handles("CALL_KW")
def _call_kw(fr, ins):
    names = fr.pop()
    _call(fr, ins.arg, names.value)


@handles("CALL_FUNCTION_EX")
def _call_function_ex(fr, ins):
    kwargs = fr.pop() if ins.arg & 1 else None
    args = fr.pop()
    fn, _ = _callee(fr, 0)
    fr.push(fr.emit(ops.call_ex, fn, args, kwargs) if kwargs is not None else fr.emit(ops.call_ex, fn, args))


# -- control flow --------------------------------------------------------------------------------------------------

@handles("RAISE_VARARGS")
def _raise_varargs(fr, ins):
    if ins.arg == 0:
        fr.unsupported("bare raise (re-raise outside an except block)")
    cause = fr.pop() if ins.arg == 2 else None
    exc = fr.pop()
    if isinstance(exc, Const) and exc.value is ops.assert_fail:  # `assert x` with no message
        exc = fr.emit(ops.assert_fail)
    fr.block.term = Raise(exc, cause, line=fr.line)


@handles("JUMP_FORWARD", "JUMP_BACKWARD", "JUMP_BACKWARD_NO_INTERRUPT", "JUMP", "JUMP_NO_INTERRUPT")
def _jump(fr, ins):
    fr.jump(fr.jump_target())


def _pop_jump(test):
    """POP_JUMP_IF_*: `test(frame, value)` gives (condition operand, jump when the condition is true?)."""
    def handler(fr, ins):
        cond, jump_if = test(fr, fr.pop())
        target, nxt, stack = fr.jump_target(), fr.fallthrough(), list(fr.stack)
        if jump_if:
            fr.branch(cond, target, stack, nxt, stack)
        else:
            fr.branch(cond, nxt, stack, target, stack)
    return handler


_TESTS = {
    "TRUE": lambda fr, v: (v, True),
    "FALSE": lambda fr, v: (v, False),
    "NONE": lambda fr, v: (fr.emit(operator.is_, v, None), True),
    "NOT_NONE": lambda fr, v: (fr.emit(operator.is_, v, None), False),
}
for _kind, _test in _TESTS.items():
    # 3.12+ names, and 3.11's forward/backward variants.
    for _prefix in ("POP_JUMP_IF_", "POP_JUMP_FORWARD_IF_", "POP_JUMP_BACKWARD_IF_"):
        HANDLERS[_prefix + _kind] = _pop_jump(_test)


def _jump_or_pop(jump_if):
    """3.11's JUMP_IF_TRUE_OR_POP / JUMP_IF_FALSE_OR_POP (`and`, `or` as values)."""
    def handler(fr, ins):
        v = fr.materialize(fr.stack[-1])
        keep, popped = list(fr.stack[:-1]) + [v], list(fr.stack[:-1])
        if jump_if:
            fr.branch(v, fr.jump_target(), keep, fr.fallthrough(), popped)
        else:
            fr.branch(v, fr.fallthrough(), popped, fr.jump_target(), keep)
    return handler


HANDLERS["JUMP_IF_TRUE_OR_POP"] = _jump_or_pop(True)
HANDLERS["JUMP_IF_FALSE_OR_POP"] = _jump_or_pop(False)


@handles("FOR_ITER")
def _for_iter(fr, ins):
    it = fr.materialize(fr.stack[-1])
    fr.stack[-1] = it
    v = fr.emit(ops.next_or_stop, it)
    done = fr.emit(operator.is_, v, ops.STOP)
    body = list(fr.stack) + [v]
    exit_ = list(fr.stack) + [fr.EXIT_PLACEHOLDER] if FOR_EXIT_KEEPS_ITER else list(fr.stack[:-1])
    fr.branch(done, fr.jump_target(), exit_, fr.fallthrough(), body)
