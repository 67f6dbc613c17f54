"""`irdump`: print the IR of a function, as `dis` prints bytecode.

    irdump path/to/file.py:func --types "ndarray[float64, 2], float"
    irdump package.module:Class.method --types "Dense, ndarray[float64, 2]" --format dot
    python -m irgrad.dump ...

`--raw` shows the IR straight from the frontend; `--format dot` the control-flow graph as Graphviz DOT with the
statements in its nodes.  Other views (the adjoint IR, the generated Python) plug in with `@view(...)`: a view
becomes a flag of its own, and the module defining it is listed in `VIEW_MODULES` so that it is imported first.
Bad input prints one line to stderr and exits with status 2.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
from dataclasses import dataclass
from typing import Callable

from . import cfg
from .errors import IrgradError
from .ir import IR, CondBr
from .printer import Namer, format_ir

__all__ = ["main", "view", "to_dot", "load_target"]


# ---------------------------------------------------------------------------------------------------------------
# Views

@dataclass
class View:
    name: str
    help: str
    render: Callable  # render(func, argtypes) -> str; argtypes as for pipeline.typed_ir


VIEWS: dict = {}
# Modules that define views with @view; imported (when present) before the command line is parsed.
VIEW_MODULES: tuple = ("irgrad.views",)


def view(name: str, help: str):
    """Decorator: `@view("adjoint", "the adjoint IR")` on `render(func, argtypes) -> str` adds `--adjoint`."""
    def register(render):
        VIEWS[name] = View(name, help, render)
        return render
    return register


def _load_views() -> None:
    for mod in VIEW_MODULES:
        if importlib.util.find_spec(mod) is not None:
            importlib.import_module(mod)


# ---------------------------------------------------------------------------------------------------------------
# Targets

class DumpError(IrgradError):
    """Bad input on the `irdump` command line (no such file, module, function or attribute)."""


def load_target(target: str):
    """(function, namespace) for `path/to/file.py:qualname` or `package.module:qualname`."""
    where, sep, qualname = target.rpartition(":")
    if not sep or not where or not qualname:
        raise DumpError(f"expected FILE.py:FUNCTION or MODULE:FUNCTION, got {target!r}")
    if where.endswith(".py") or os.sep in where or "/" in where:
        module = _load_file(where)
    else:
        try:
            module = importlib.import_module(where)
        except ImportError as e:
            raise DumpError(f"cannot import module {where!r}: {e}") from None
    obj = module
    for part in qualname.split("."):
        if not hasattr(obj, part):
            owner = where if obj is module else getattr(obj, "__qualname__", type(obj).__name__)
            raise DumpError(f"{owner} has no attribute {part!r} (looking up {qualname!r} in {where})")
        obj = getattr(obj, part)
    return obj, vars(module)


def _load_file(path: str):
    if not os.path.isfile(path):
        raise DumpError(f"no such file: {path}")
    name = "_irdump_" + "".join(c if c.isalnum() else "_" for c in os.path.splitext(os.path.basename(path))[0])
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    try:
        spec.loader.exec_module(module)
    except Exception as e:
        raise DumpError(f"error running {path}: {type(e).__name__}: {e}") from None
    finally:
        sys.path.pop(0)
    return module


def entry_types(func, types):
    """The entry argument types for `types` given for `func`'s parameters: defaults fill the rest, `*args` and
    `**kwargs` are packed, the function itself comes first when it has free variables."""
    from .frontend import resolve_callable
    from .infer import bind_types
    from .types import Constant
    fn, lead = resolve_callable(func)
    if lead:
        from .types import typeof
        types = [typeof(x) for x in lead] + list(types)
    out = bind_types(fn, list(types), {})
    if out is None:
        import inspect
        raise DumpError(f"{len(types)} type(s) do not fit the parameters of {fn.__qualname__}"
                        f"{inspect.signature(fn)}")
    return fn, ([Constant(fn)] if fn.__code__.co_freevars else []) + out


# ---------------------------------------------------------------------------------------------------------------
# DOT

def _dot_escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace('"', '\\"')


def to_dot(ir: IR) -> str:
    """Graphviz DOT of the control-flow graph: one box per block with its statements; back edges dashed."""
    names = Namer(ir)
    chunks, current = [], None
    for line in format_ir(ir).split("\n"):
        if not line.startswith(" "):
            current = []
            chunks.append(current)
        current.append(line)
    back = {(id(a), id(b)) for a, b in cfg.back_edges(ir)}
    out = [f'digraph "{_dot_escape(ir.meta.name)}" {{',
           '  node [shape=box, fontname="monospace", fontsize=10];',
           '  edge [fontname="monospace", fontsize=9];']
    for b, chunk in zip(ir.blocks, chunks):
        label = "".join(_dot_escape(line) + "\\l" for line in chunk)
        out.append(f'  b{names.block(b)} [label="{label}"];')
    for b in ir.blocks:
        t = b.term
        for k, (target, args) in enumerate(t.edges() if t is not None else ()):
            text = "(" + ", ".join(names(a) for a in args) + ")" if args else ""
            if isinstance(t, CondBr):
                text = (f"if {names(t.cond)} " if k == 0 else f"unless {names(t.cond)} ") + text
            attrs = [f'label="{_dot_escape(text.strip())}"'] if text else []
            if (id(b), id(target)) in back:
                attrs.append("style=dashed")
            out.append(f"  b{names.block(b)} -> b{names.block(target)}" + (f" [{', '.join(attrs)}]" if attrs else "")
                       + ";")
    out.append("}")
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------------------------
# The command line

def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="irdump", description="Print the irgrad IR of a Python function.")
    p.add_argument("target", help="path/to/file.py:func or package.module:func (also Class.method)")
    p.add_argument("--types", default=None,
                   help='argument types, e.g. "ndarray[float64, 2], float" (default: Any for each)')
    p.add_argument("--format", choices=("text", "dot"), default="text", help="text (default) or Graphviz dot")
    p.add_argument("--raw", action="store_true", help="the IR straight from the frontend, before the passes")
    p.add_argument("--lines", action="store_true", help="show the source line of each statement")
    for v in VIEWS.values():
        p.add_argument(f"--{v.name}", action="store_true", help=v.help)
    return p


def render(target: str, types: str | None = None, fmt: str = "text", raw: bool = False, lines: bool = False,
           views: tuple = ()) -> str:
    """What `irdump` prints, as a string (raises `IrgradError` on bad input)."""
    from .pipeline import typed_ir
    from .typespec import parse
    func, namespace = load_target(target)
    if not callable(func):
        raise DumpError(f"{target} is a {type(func).__name__}, not a function")
    argtypes = None
    if types is not None:
        func, argtypes = entry_types(func, parse(types, namespace))
    out = [VIEWS[name].render(func, argtypes) for name in views]
    if not views:
        ir = typed_ir(func, argtypes, raw=raw)
        out.append(to_dot(ir) if fmt == "dot" else format_ir(ir, lines=lines))
    return "\n\n".join(out)


def main(argv=None) -> int:
    _load_views()
    args = _parser().parse_args(argv)
    chosen = tuple(name for name in VIEWS if getattr(args, name.replace("-", "_"), False))
    try:
        text = render(args.target, args.types, args.format, args.raw, args.lines, chosen)
    except IrgradError as e:
        print(f"irdump: error: {str(e).splitlines()[0]}", file=sys.stderr)
        return 2
    print(text)
    return 0


if __name__ == "__main__":
    # Run the package's own module, not this __main__ copy: views register themselves on `irgrad.dump`.
    from irgrad.dump import main as _main
    sys.exit(_main())
