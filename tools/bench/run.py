"""Benchmark irgrad against hand-written NumPy, autograd, PyTorch and JAX; write docs/performance.md.

    python tools/bench/run.py [--workloads moons spiral ...] [--quick] [--output PATH]

Run it in the benchmark environment (tools/bench/README.md) to get the peers' rows; with the project's own Python
the missing peers are skipped with a note.  --quick runs in well under a minute and is for trying the harness,
not for figures.
"""
from __future__ import annotations

import argparse
import os
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

import machine  # before NumPy: it may restart the interpreter with the thread and malloc settings

REPO = Path(__file__).resolve().parents[2]
WORKLOAD_NAMES = ["moons", "spiral", "autoencoder", "scalar-poly"]


@dataclass(frozen=True)
class Settings:
    rounds: int
    sample_s: float  # how long one sample (a batch of back-to-back calls) lasts
    row_budget_s: float  # at most this much timing per row and workload

    def describe(self) -> str:
        return (f"{self.rounds} rounds, samples of about {self.sample_s * 1e3:.0f} ms, "
                f"at most {self.row_budget_s:g} s of samples per row")


FULL = Settings(rounds=21, sample_s=0.05, row_budget_s=4.0)
QUICK = Settings(rounds=5, sample_s=0.01, row_budget_s=0.25)


@dataclass
class Result:
    rows: list = field(default_factory=list)
    timings: dict = field(default_factory=dict)
    skipped: list = field(default_factory=list)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--workloads", nargs="+", choices=WORKLOAD_NAMES, default=WORKLOAD_NAMES)
    p.add_argument("--quick", action="store_true", help="a short run (under a minute) to try the harness")
    p.add_argument("--output", type=Path, default=REPO / "docs" / "performance.md")
    p.add_argument("--without", nargs="+", default=[], choices=["irgrad", "autograd", "torch", "jax"],
                   help="leave these implementations out")
    p.add_argument("--seed", type=int, default=0, help="seed of the workloads' data")
    p.add_argument("--no-malloc-tuning", action="store_true",
                   help="keep glibc's malloc defaults (see machine.MALLOC_ENV for why they are changed)")
    return p.parse_args(argv)


def check_handwritten(w, params, data, grad, rng, directions=3) -> None:
    """The hand-written gradient against central finite differences of the loss, in random directions.

    A relu input can lie within a step of its kink (spiral has pre-activations 1e-6 from zero), where a central
    difference straddles the kink; so a direction passes if one of three shrinking steps agrees.
    """
    import numpy as np

    for _ in range(directions):
        v = tuple(float(rng.standard_normal()) if w.scalar_params else rng.standard_normal(np.shape(p))
                  for p in params)
        analytic = sum(float(np.sum(np.asarray(g) * np.asarray(d))) for g, d in zip(grad, v))
        numerics = []
        for eps in (1e-6, 1e-7, 1e-8):
            plus = tuple(p + eps * d for p, d in zip(params, v))
            minus = tuple(p - eps * d for p, d in zip(params, v))
            numerics.append(float(w.loss(plus, data) - w.loss(minus, data)) / (2 * eps))
            if abs(numerics[-1] - analytic) <= 1e-5 * max(abs(analytic), 1e-3):
                break
        else:
            raise SystemExit(f"hand-written gradient of {w.name} disagrees with finite differences: "
                             f"{analytic!r} against {numerics!r}")


def run_workload(w, settings: Settings, seed: int, quick: bool, without) -> Result:
    import numpy as np

    import handwritten
    import peers
    import timing

    params, data = w.data(seed)
    expected = handwritten.HANDWRITTEN[w.name](params, data)
    check_handwritten(w, params, data, expected, np.random.default_rng(seed + 1))
    built = peers.build_rows(w, params, data, quick, without)
    machine.limit_library_threads()  # again: the peers just loaded their own thread pools
    expected = peers.to_numpy(expected)
    for row in built.rows:
        if not row.error:
            peers.check_row(row, expected)
        if row.error:
            print(f"  {row.name}: {row.error}", file=sys.stderr)
    timed = [r for r in built.rows if not r.error]
    timings = timing.round_robin(timed, settings.rounds, settings.sample_s, settings.row_budget_s)
    return Result(built.rows, timings, built.skipped)


def print_summary(w, result: Result) -> None:
    import report

    base = next(result.timings[r.name].median_s for r in result.rows if r.kind == "handwritten")
    print(f"\n{w.name}")
    for row in result.rows:
        if row.error:
            print(f"  {row.name:60s} failed: {row.error}")
        else:
            t = result.timings[row.name].median_s
            print(f"  {row.name:60s} {report.fmt_time(t):>10s} {report.fmt_ratio(t / base):>10s}")
    for s in result.skipped:
        print(f"  skipped: {s}")
    sys.stdout.flush()


def main(argv=None) -> None:
    args = parse_args(argv)
    machine.prepare_process(malloc_tuning=not args.no_malloc_tuning)
    sys.path.append(str(REPO))  # irgrad from this checkout when it is not installed (an installed one wins)

    import report
    from workloads import WORKLOADS

    settings = QUICK if args.quick else FULL
    pools = machine.limit_library_threads()
    load_start = machine.load_average()
    results = []
    for name in args.workloads:
        w = WORKLOADS[name]
        print(f"{name}: checking and timing ...", file=sys.stderr, flush=True)
        result = run_workload(w, settings, args.seed, args.quick, args.without)
        print_summary(w, result)
        results.append((w, result))
    load_end = machine.load_average()
    pools = machine.limit_library_threads() or pools
    command = shlex.join([sys.executable, os.path.relpath(__file__, REPO)] + sys.argv[1:])
    errors_seen = any(r.error for _, res in results for r in res.rows)
    text = report.document(command, machine.facts(pools),
                           ("quick mode: " if args.quick else "") + settings.describe(),
                           (load_start, load_end), results, errors_seen)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    # Keep the section tools/bench_train_step.py writes (training steps of the examples) across runs.
    old = args.output.read_text() if args.output.exists() else ""
    begin, end = "<!-- train-step: begin -->", "<!-- train-step: end -->"
    if begin in old and end in old:
        text = text.rstrip("\n") + "\n\n" + old[old.index(begin):old.index(end) + len(end)] + "\n"
    args.output.write_text(text)
    print(f"\nwrote {args.output}")


if __name__ == "__main__":
    main()
