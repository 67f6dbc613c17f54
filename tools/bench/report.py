"""docs/performance.md: one table per workload, the command, the machine, issue 4's figures beside ours."""
from __future__ import annotations

import datetime

# Issue 4, "What must show": one run on a 2-core machine, per call, as a ratio to hand-written.
REFERENCE = {
    "handwritten": {"moons": "54 µs", "spiral": "157 µs", "autoencoder": "2.1 ms", "scalar-poly": "16 µs"},
    "autograd": {"moons": "8.6×", "spiral": "4.0×", "autoencoder": "1.55×", "scalar-poly": "920×"},
    "torch": {"moons": "2.3×", "spiral": "1.46×", "autoencoder": "0.92×", "scalar-poly": "280×"},
    "jax-jit": {"moons": "0.88×", "spiral": "0.69×", "autoencoder": "1.21×", "scalar-poly": "1.36×"},
    "jax-first": {"moons": "245 ms compiling", "spiral": "325 ms compiling", "autoencoder": "144 ms compiling",
                  "scalar-poly": "895 ms compiling"},
    "irgrad": {"moons": "target ≤ 1.2×", "spiral": "target ≤ 1.2×", "autoencoder": "target ≤ 1.2×",
               "scalar-poly": "target ≤ 2.5×"},
    "irgrad-first": {"moons": "target < 50 ms"},
}
TARGET_RATIO = {"moons": 1.2, "spiral": 1.2, "autoencoder": 1.2, "scalar-poly": 2.5}
FIRST_CALL_TARGET_S = {"moons": 0.050}


def fmt_time(s: float) -> str:
    if s >= 1.0:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.3g} ms"
    return f"{s * 1e6:.3g} µs"


def fmt_ratio(r: float) -> str:
    return f"{r:.3g}×" if r < 1000 else f"{r:,.0f}×"


def workload_table(workload, result) -> list[str]:
    """Markdown lines for one workload.  `result` has rows, timings (name -> Timing), skipped."""
    base = next(t for r in result.rows if r.kind == "handwritten" for t in [result.timings.get(r.name)] if t)
    lines = [f"### {workload.name}", "", workload.description + ".", "",
             "| implementation | per call (median) | × hand-written | issue 4 | fastest sample | samples × calls | note |",
             "|---|--:|--:|--:|--:|--:|---|"]
    for row in result.rows:
        ref = REFERENCE.get(row.kind, {}).get(workload.name, "")
        if row.error:
            lines.append(f"| {row.name} | failed | | {ref} | | | {row.error.replace('|', '/')} |")
            continue
        t = result.timings[row.name]
        lines.append(f"| {row.name} | {fmt_time(t.median_s)} | {fmt_ratio(t.median_s / base.median_s)} | {ref} "
                     f"| {fmt_time(t.min_s)} | {t.samples} × {t.number} | {row.note} |")
    lines.append("")
    verdict = irgrad_verdict(workload, result)
    if verdict:
        lines += verdict + [""]
    for s in result.skipped:
        lines.append(f"- skipped: {s}")
    if result.skipped:
        lines.append("")
    return lines


def _medians_by_kind(result) -> dict[str, float]:
    out = {}
    for row in result.rows:
        if not row.error and row.name in result.timings:
            out.setdefault(row.kind, result.timings[row.name].median_s)
    return out


def summary_table(workloads_results) -> list[str]:
    """One line per workload: hand-written time, then each implementation as a ratio to it."""
    columns = [("irgrad", "irgrad"), ("autograd", "autograd"), ("torch", "PyTorch eager"),
               ("jax-jit", "JAX jit"), ("irgrad-first", "irgrad first call"), ("jax-first", "JAX jit first call")]
    lines = ["| workload | hand-written | " + " | ".join(label for _, label in columns) + " |",
             "|---|--:|" + "--:|" * len(columns)]
    for workload, result in workloads_results:
        by_kind = _medians_by_kind(result)
        base = by_kind.get("handwritten")
        if base is None:
            continue
        cells = []
        for kind, _ in columns:
            t = by_kind.get(kind)
            if t is None:
                cells.append("—")
            elif kind.endswith("-first"):
                cells.append(fmt_time(t))
            else:
                cells.append(fmt_ratio(t / base))
        lines.append(f"| {workload.name} | {fmt_time(base)} | " + " | ".join(cells) + " |")
    return lines + ["", "Ratios are to the hand-written time of the same run; first calls are in time.  "
                    "The tables below have every row, issue 4's figures and the samples.", ""]


def irgrad_verdict(workload, result) -> list[str]:
    """The issue's targets for irgrad, checked against this run."""
    by_kind = _medians_by_kind(result)
    if "irgrad" not in by_kind or "handwritten" not in by_kind:
        return []
    ratio = by_kind["irgrad"] / by_kind["handwritten"]
    limit = TARGET_RATIO[workload.name]
    out = [f"- irgrad at {ratio:.2f}× hand-written: target ≤ {limit}× {'met' if ratio <= limit else 'NOT met'}."]
    for kind, label in (("autograd", "autograd"), ("torch", "PyTorch eager")):
        if kind in by_kind:
            faster = by_kind["irgrad"] < by_kind[kind]
            out.append(f"- irgrad {'faster' if faster else 'NOT faster'} than {label} "
                       f"({fmt_time(by_kind['irgrad'])} against {fmt_time(by_kind[kind])}).")
    if "jax-jit" in by_kind:
        out.append(f"- irgrad at {by_kind['irgrad'] / by_kind['jax-jit']:.2f}× JAX jit.")
    first_limit = FIRST_CALL_TARGET_S.get(workload.name)
    if first_limit and "irgrad-first" in by_kind:
        first = by_kind["irgrad-first"]
        out.append(f"- irgrad first call {fmt_time(first)}: target < {fmt_time(first_limit)} "
                   f"{'met' if first < first_limit else 'NOT met'}.")
    return out


def document(command: str, facts: dict, settings: str, loads: tuple, workloads_results, errors_seen: bool) -> str:
    started, ended = loads
    busiest = max(started + ended)
    loaded = busiest > 1.5  # this benchmark itself keeps one of the two cores busy
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Performance",
        "",
        "irgrad's gradients against hand-written NumPy and against its peers, on the four workloads of issue 4.",
        "This file is written by `tools/bench/run.py`; do not edit it by hand (see `tools/bench/README.md`).",
        "",
        "## The run",
        "",
        "```",
        command,
        "```",
        "",
        f"- made {when}, {settings}",
        f"- CPU: {facts['cpu']}",
        f"- {facts['python']}, NumPy {facts['numpy']}, BLAS: {facts['blas']}",
        "- OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE: "
        + (", ".join(f"{k}={v}" for k, v in facts["openblas_overrides"].items())
           or "not set (the current kernel for this CPU ran)"),
        "- malloc: " + (", ".join(f"{k}={v}" for k, v in facts["malloc"].items())
                        or "glibc defaults (`--no-malloc-tuning`)"),
        f"- load average (1, 5, 15 min) at the start {_loads(started)}, at the end {_loads(ended)}",
        "",
    ]
    if loaded:
        lines += [
            "**This run was made on a loaded machine**: other jobs shared its two cores (the load average above "
            "counts this benchmark as one).  Interleaving spreads that noise over all rows alike, so the ratios "
            "hold better than the absolute times; read differences of 10% or so as noise.",
            "",
        ]
    lines += [
        "## How it is measured",
        "",
        "- The same data for every implementation, float64 throughout (JAX with `jax_enable_x64`).",
        "- Before anything is timed, the hand-written gradient is checked against central finite differences "
        "(in random directions), and every other row's gradient against the hand-written one "
        "(relative tolerance 1e-6); a row that fails shows `failed` and is not timed.",
        "- One BLAS thread (environment set before NumPy starts, then threadpoolctl), one thread in PyTorch and "
        "in XLA, the process pinned to one core with `os.sched_setaffinity`.  JAX dispatches synchronously "
        "(`jax_cpu_enable_async_dispatch` off): on one core its asynchronous hand-over to a worker thread "
        "only adds a context switch per call (scalar-poly under jit ran five times slower with it).",
        "- Rows are interleaved: each round times every row once, in a rotated order; a sample is enough "
        "back-to-back calls to last the sample time; the table gives the median per-call time over the samples "
        "and its ratio to the hand-written row of the same run.  The fastest sample is shown too: on a shared "
        "machine it is the better guess at what a call costs when nothing else runs.",
        "- First-call rows clear the cache (`irgrad.clear_cache()`, `jax.clear_caches()`) before each sample and "
        "time one call: tracing, transforming or compiling, and one run.",
        "- irgrad differentiates `lambda params: loss(params, data)`, the loss exactly as written in "
        "`tools/bench/workloads.py`; autograd and JAX run the same functions with `np` rebound to "
        "`autograd.numpy` or `jax.numpy`; PyTorch runs ports in `tools/bench/torch_ports.py` "
        "(`torch.relu`, `torch.sigmoid`), scalar-poly unchanged on 0-d tensors.",
        "- glibc's malloc keeps 64 MB of padding at the top of its heap (MALLOC_TOP_PAD_), for every row alike: "
        "with the defaults each call that frees a few hundred kilobytes hands them back to the kernel and "
        "faults them in again, which on this VM costs about 2 µs a page and made the spiral loss 2.5 times "
        "slower than its arithmetic.",
        "",
        "## The workloads",
        "",
        "The losses are in `tools/bench/workloads.py`, written as a user writes them; the hand-written gradients "
        "in `tools/bench/handwritten.py`.",
        "",
        "- moons: three `Dense` layers, each `relu(W @ x + b)` as in seed 001 (the output layer too), then "
        "`mean(-sum(Y * logsoftmax(out), axis=0))`; 200 noisy moons, columns are samples.",
        "- spiral: CS231n's `np.maximum(0, X @ W1 + b1) @ W2 + b2`, softmax probabilities picked with "
        "`probs[np.arange(n), y]`, plus `0.5 * REG * np.sum(W * W)` for both weights.",
        "- autoencoder: `sigmoid(z) = 1 / (1 + np.exp(-z))`, `np.sum((X - reconstructed) ** 2)`; X is 784 x 64 "
        "uniform random numbers (MNIST's shape), weights drawn from N(0, 0.1²).",
        "- scalar-poly: `horner(coeffs, x)` loops over the five coefficients, `poly_loss` over 100 Python floats "
        "summing `(horner(coeffs, x) - y) ** 2`.  The hand-written row is vectorised NumPy (the 100 floats "
        "become one array); the plain-loop row shows the same gradient as one fused Python loop.",
        "",
        "## Results",
        "",
    ]
    lines += summary_table(workloads_results)
    for workload, result in workloads_results:
        lines += workload_table(workload, result)
    if errors_seen:
        lines += ["Rows marked `failed` raised or returned a wrong gradient; their note says what happened.", ""]
    return "\n".join(lines).rstrip() + "\n"


def _loads(values) -> str:
    return ", ".join(f"{v:.2f}" for v in values)
