"""Where irgrad's time goes on one workload: cProfile of its steady state or of its first call.

    python tools/bench/profile_irgrad.py moons [--first] [--calls 200] [--top 25]

Prints the functions with the most time of their own, then the same sorted by cumulative time.  For finding
what to speed up; the figures to quote come from run.py.
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
from pathlib import Path

import machine  # before NumPy, as in run.py

REPO = Path(__file__).resolve().parents[2]


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("workload", choices=["moons", "spiral", "autoencoder", "scalar-poly"])
    p.add_argument("--first", action="store_true", help="profile first calls (the cache cleared before each)")
    p.add_argument("--calls", type=int, default=None, help="calls to profile (default 200, or 10 with --first)")
    p.add_argument("--top", type=int, default=25)
    args = p.parse_args(argv)
    machine.prepare_process()
    sys.path.append(str(REPO))

    import irgrad
    from workloads import WORKLOADS

    w = WORKLOADS[args.workload]
    params, data = w.data()

    def loss_of_params(q):
        return w.loss(q, data)

    def call():
        if args.first:
            irgrad.clear_cache()
        return irgrad.gradient(loss_of_params, params)

    call()  # imports and, for the steady state, the trace happen here, outside the profile
    calls = args.calls or (10 if args.first else 200)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        call()
    profiler.disable()
    stats = pstats.Stats(profiler)
    print(f"irgrad {'first call' if args.first else 'steady state'} on {w.name}, {calls} calls")
    stats.sort_stats("tottime").print_stats(args.top)
    stats.sort_stats("cumulative").print_stats(args.top)


if __name__ == "__main__":
    main()
