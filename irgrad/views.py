"""The `irdump` views that come after the typed IR: `--adjoint` (forward and adjoint IR) and `--python` (the
generated source of the primal, forward and adjoint)."""
from __future__ import annotations

from .adjoint import transform, type_may_carry
from .codegen import source
from .derive import specialised_ir
from .dump import view
from .pipeline import typed_ir


def transform_for_types(func, argtypes):
    """The AD transform of `func` at entry-argument types `argtypes` (None: all Any), every argument that may
    carry a cotangent taken as active: from the same specialised IR (inlined, rewritten) that a call runs."""
    ir = specialised_ir(func, typed_ir(func, argtypes).entry.argtypes)
    return transform(ir, [type_may_carry(t) for t in ir.entry.argtypes])


@view("adjoint", "print the forward and adjoint IR that reverse mode derives")
def render_adjoint(func, argtypes) -> str:
    t = transform_for_types(func, argtypes)
    return f"# forward\n{t.forward!r}\n\n# adjoint\n{t.adjoint!r}"


@view("python", "print the generated Python source of the primal, forward and adjoint IR")
def render_python(func, argtypes) -> str:
    t = transform_for_types(func, argtypes)
    return "\n\n".join([f"# primal\n{source(t.primal)}", f"# forward\n{source(t.forward)}",
                        f"# adjoint\n{source(t.adjoint)}"])
