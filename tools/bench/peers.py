"""The rows of each table: every implementation of a workload's gradient, ready to check and to time.

A `Row` holds `call`, one gradient evaluation exactly as timed; `to_numpy` turns what it returns, in any
library's containers, into NumPy values for the check against the hand-written gradient.  A row whose library is
missing is not built; `skipped` says why, and the report prints it.  A row that raises while it is built or
checked is kept with its error, so the table shows what failed rather than hiding it.
"""
from __future__ import annotations

import time
import traceback
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

import handwritten
import workloads
from workloads import Workload


@dataclass
class Row:
    name: str
    kind: str  # which reference figure of issue 4 it is compared with (report.REFERENCE)
    call: Callable[[], Any]
    reset: Callable[[], None] | None = None  # run untimed before each sample: a first-call row clears caches
    first_call: bool = False  # timed one call per sample, after `reset`
    check: bool = True  # compare the gradient with the hand-written one
    estimate_s: float = 0.0  # one warm call, timed while checking: the timer plans with it
    note: str = ""
    error: str = ""


@dataclass
class Rows:
    rows: list[Row] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def to_numpy(g) -> tuple:
    """A gradient in any library's containers as a tuple of NumPy arrays / floats."""
    if isinstance(g, (tuple, list)):
        return tuple(to_numpy(v) for v in g)
    if hasattr(g, "detach"):  # torch
        return g.detach().cpu().numpy()
    if isinstance(g, (float, int)):
        return float(g)
    a = np.asarray(g)
    return float(a) if a.ndim == 0 else a


def rebind_numpy(module: types.ModuleType, np_module) -> dict:
    """The functions of `module` again, reading `np_module` wherever they read the global `np`.

    This is how autograd and JAX users write such code (`import autograd.numpy as np`), and it runs the very same
    bytecode as the NumPy row.  Helpers called by name (relu, horner ...) are rebound too, since each copy looks
    its globals up in the new namespace.
    """
    namespace = dict(vars(module))
    namespace["np"] = np_module
    for name, value in list(namespace.items()):
        if isinstance(value, types.FunctionType) and value.__module__ == module.__name__:
            copy = types.FunctionType(value.__code__, namespace, value.__name__, value.__defaults__,
                                      value.__closure__)
            copy.__kwdefaults__ = value.__kwdefaults__
            namespace[name] = copy
    return namespace


def _loss_name(w: Workload) -> str:
    return w.loss.__name__


# ---------------------------------------------------------------------------------------------------------------
# NumPy: the loss alone, the hand-written gradients
# ---------------------------------------------------------------------------------------------------------------


def numpy_rows(w: Workload, params, data, quick: bool) -> Rows:
    grad = handwritten.HANDWRITTEN[w.name]
    out = Rows([
        Row("NumPy, loss alone (no gradient)", "loss", lambda: w.loss(params, data), check=False),
        Row("hand-written NumPy forward + backward", "handwritten", lambda: grad(params, data), check=False,
            note="the reference: every ratio is to this row"),
    ])
    for name, row_name, fn in handwritten.HANDWRITTEN_EXTRA:
        if name == w.name:
            out.rows.append(Row(row_name, "extra", lambda fn=fn: fn(params, data)))
    return out


# ---------------------------------------------------------------------------------------------------------------
# irgrad
# ---------------------------------------------------------------------------------------------------------------


def irgrad_rows(w: Workload, params, data, quick: bool) -> Rows:
    try:
        import irgrad
    except ImportError as e:
        return Rows(skipped=[f"irgrad: not importable ({e})"])
    if not hasattr(irgrad, "gradient"):
        return Rows(skipped=["irgrad: `irgrad.gradient` does not exist yet, so its rows are left out"])
    loss = w.loss

    # Gradient with respect to the parameters only, as a user writes it: the data is closed over.
    def loss_of_params(p):
        return loss(p, data)

    def steady():
        return irgrad.gradient(loss_of_params, params)[0]

    rows = [Row("irgrad, steady state", "irgrad", steady)]
    if hasattr(irgrad, "clear_cache"):
        rows.append(Row("irgrad, first call (trace, transform, codegen, one run)", "irgrad-first", steady,
                        reset=irgrad.clear_cache, first_call=True))
        skipped = []
    else:
        skipped = ["irgrad: no `irgrad.clear_cache`, so the first-call row is left out"]
    return Rows(rows, skipped)


# ---------------------------------------------------------------------------------------------------------------
# autograd
# ---------------------------------------------------------------------------------------------------------------


def autograd_rows(w: Workload, params, data, quick: bool) -> Rows:
    try:
        import autograd
        import autograd.numpy as anp
    except ImportError:
        return Rows(skipped=["autograd: not installed"])
    loss = rebind_numpy(workloads, anp)[_loss_name(w)]
    grad = autograd.grad(loss)
    return Rows([Row(f"autograd {autograd_version()}", "autograd", lambda: grad(params, data))])


def autograd_version() -> str:
    from importlib.metadata import version
    return version("autograd")


# ---------------------------------------------------------------------------------------------------------------
# PyTorch eager, CPU
# ---------------------------------------------------------------------------------------------------------------


def torch_rows(w: Workload, params, data, quick: bool) -> Rows:
    try:
        import torch
    except ImportError:
        return Rows(skipped=["PyTorch: not installed"])
    torch.set_num_threads(1)
    from torch_ports import TORCH_LOSSES

    if w.scalar_params:
        tparams = tuple(torch.tensor(c, dtype=torch.float64, requires_grad=True) for c in params)
        tdata = data  # Python floats stay Python floats; the loss runs unchanged on 0-d tensors
        loss = w.loss
    else:
        tparams = tuple(torch.from_numpy(p.copy()).requires_grad_() for p in params)
        tdata = tuple(torch.from_numpy(d) for d in data) if isinstance(data, tuple) else torch.from_numpy(data)
        loss = TORCH_LOSSES[w.name]

    def call():
        for p in tparams:
            p.grad = None
        loss(tparams, tdata).backward()
        return tuple(p.grad for p in tparams)

    return Rows([Row(f"PyTorch {torch.__version__} eager (CPU)", "torch", call)])


# ---------------------------------------------------------------------------------------------------------------
# JAX, without and with jit
# ---------------------------------------------------------------------------------------------------------------


def jax_rows(w: Workload, params, data, quick: bool) -> Rows:
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return Rows(skipped=["JAX: not installed"])
    jax.config.update("jax_enable_x64", True)
    notes = []
    try:
        # Pinned to one core, asynchronous dispatch only adds a hand-over to XLA's worker thread on every call
        # (5x slower on scalar-poly under jit); every other row is synchronous anyway.
        jax.config.update("jax_cpu_enable_async_dispatch", False)
    except AttributeError:  # a JAX without the option
        notes.append("asynchronous dispatch (this JAX cannot turn it off)")
    loss = rebind_numpy(workloads, jnp)[_loss_name(w)]
    jparams = jax.tree_util.tree_map(lambda a: jnp.asarray(a, dtype=jnp.float64), params)
    # Arrays go to the device once; scalar-poly's floats become two arrays, which JAX's loop then indexes.
    jdata = jax.tree_util.tree_map(jnp.asarray, data if not w.scalar_params else tuple(np.array(d) for d in data))
    grad = jax.grad(loss)
    jitted = jax.jit(grad)

    def eager():
        return jax.block_until_ready(grad(jparams, jdata))

    def compiled():
        return jax.block_until_ready(jitted(jparams, jdata))

    def first_compiled():
        return jax.block_until_ready(jax.jit(jax.grad(loss))(jparams, jdata))

    v = jax.__version__
    note = "; ".join(notes)
    out = Rows([
        Row(f"JAX {v}, no jit", "jax", eager, note=note),
        Row(f"JAX {v}, jit", "jax-jit", compiled, note=note),
        Row(f"JAX {v}, jit first call (trace, compile, one run)", "jax-first", first_compiled,
            reset=jax.clear_caches, first_call=True, note=note),
    ])
    if quick and w.scalar_params:
        out.rows.pop(0)
        out.skipped.append("JAX without jit: left out of --quick runs (seconds per call on a Python loop)")
    return out


BUILDERS = {"numpy": numpy_rows, "irgrad": irgrad_rows, "autograd": autograd_rows, "torch": torch_rows,
            "jax": jax_rows}


def build_rows(w: Workload, params, data, quick: bool = False, without=()) -> Rows:
    """Every row for one workload; a builder that raises becomes a row with its error.

    `quick` leaves out rows that take seconds per call (JAX without jit on scalar-poly); `without` names
    implementations to leave out (keys of BUILDERS).
    """
    out = Rows()
    for name, build in BUILDERS.items():
        if name in without:
            out.skipped.append(f"{name}: left out (--without)")
            continue
        try:
            got = build(w, params, data, quick)
        except Exception as e:  # a peer that cannot even set up is reported, not fatal
            got = Rows([Row(name, "error", lambda: None, error=_describe(e))])
        out.rows += got.rows
        out.skipped += got.skipped
    return out


def check_row(row: Row, expected: tuple, rtol=1e-6) -> None:
    """Run the row; unless it is exempt, compare its gradient with the hand-written one.

    A failure is recorded in `row.error` and the row is then not timed.  `row.estimate_s` is set to the time of
    one warm call, or of the first call for a first-call row.
    """
    try:
        if row.reset is not None:
            row.reset()
        started = time.perf_counter()
        out = row.call()
        row.estimate_s = time.perf_counter() - started
        # The first call warmed caches or compiled (JAX without jit compiles each primitive on first use, which
        # takes seconds; a jitted function is slow once more on its second call): take the fastest of up to
        # three more, stopping after two seconds.
        if not row.first_call:
            warm, spent = [], 0.0
            while len(warm) < 3 and spent < 2.0:
                started = time.perf_counter()
                row.call()
                warm.append(time.perf_counter() - started)
                spent += warm[-1]
            row.estimate_s = min(warm)
        got = to_numpy(out)
    except Exception as e:
        row.error = _describe(e)
        return
    if row.check:
        problem = compare(got, expected, rtol)
        if problem:
            row.error = f"wrong gradient: {problem}"


def compare(got, expected, rtol) -> str:
    if isinstance(expected, tuple):
        if not isinstance(got, tuple) or len(got) != len(expected):
            return f"expected {len(expected)} items, got {type(got).__name__}"
        for k, (a, e) in enumerate(zip(got, expected)):
            problem = compare(a, e, rtol)
            if problem:
                return f"[{k}] {problem}"
        return ""
    a, e = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    if a.shape != e.shape:
        return f"shape {a.shape} instead of {e.shape}"
    scale = max(1.0, float(np.max(np.abs(e)))) if e.size else 1.0
    err = float(np.max(np.abs(a - e))) if e.size else 0.0
    if err > rtol * scale:
        return f"max abs error {err:.3g} (tolerance {rtol * scale:.3g})"
    return ""


def _describe(e: BaseException) -> str:
    """The exception in one line, with where it was raised (for the lead reading the table)."""
    first = str(e).strip().splitlines()[0] if str(e).strip() else ""
    frames = traceback.extract_tb(e.__traceback__)
    where = f" (raised at {Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
    return f"{type(e).__name__}: {first[:240]}{where}"
