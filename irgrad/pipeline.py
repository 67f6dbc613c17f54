"""The named passes in order, from a function to its typed IR:

    frontend.trace -> passes.simplify -> infer.infer -> passes.dce -> verify.verify

`typed_ir(func, argtypes)` is that chain; `code_ir(f, *args, **kwargs)` specialises it to example arguments,
like IRTools' `@code_ir` (a `Type` such as `irgrad.types.ndarray("float64", 2)` can stand in for a value).
"""
from __future__ import annotations

from . import frontend, infer, passes
from .errors import IrgradError
from .ir import IR
from .types import ANY, typeof
from .verify import verify

__all__ = ["typed_ir", "code_ir"]


def typed_ir(func, argtypes=None, raw: bool = False) -> IR:
    """The typed IR of `func` for entry arguments of types `argtypes` (see `frontend.bind_args` for their order;
    None: all `Any`).  With `raw`, the IR straight from the frontend (argument types set, nothing inferred)."""
    ir = frontend.trace(func)
    argtypes = [ANY] * len(ir.entry.args) if argtypes is None else list(argtypes)
    if len(argtypes) != len(ir.entry.args):
        raise IrgradError(f"{ir.where()}: {len(argtypes)} argument types given, but the IR takes "
                          f"{len(ir.entry.args)} arguments {tuple(ir.meta.argnames)}")
    if raw:
        ir.entry.argtypes = argtypes
        return ir
    passes.simplify(ir)
    infer.infer(ir, argtypes)
    passes.dce(ir)  # again: with types known, more reads are provably pure
    return verify(ir)


def code_ir(f, /, *args, **kwargs) -> IR:
    """The typed IR of `f` specialised to the types of the example arguments.  Bound methods and callable objects
    work (self becomes the first argument); a `Type` can stand in for a value."""
    bound = frontend.bind_args(f, args, kwargs)
    return typed_ir(f, [typeof(v) for v in bound])
