"""How IR is run: generated Python (fast) or the reference interpreter.  `IRGRAD_EXECUTE=interpret` (or
`set_mode("interpret")`) runs everything through the interpreter; the test suite checks both agree."""
from __future__ import annotations

import os

_mode = [os.environ.get("IRGRAD_EXECUTE", "codegen")]


def set_mode(mode: str) -> None:
    if mode not in ("codegen", "interpret"):
        raise ValueError(f"unknown execution mode {mode!r}")
    _mode[0] = mode


def get_mode() -> str:
    return _mode[0]


def executable(ir):
    """A Python callable that runs `ir`."""
    if _mode[0] == "codegen":
        try:
            from .codegen import compile_ir
        except ImportError:
            compile_ir = None
        if compile_ir is not None:
            return compile_ir(ir)
    from .interpret import run

    def interpreted(*args):
        return run(ir, *args)
    interpreted.ir = ir
    return interpreted
