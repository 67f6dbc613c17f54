"""Interleaved timing: every row takes its turn in each round, so a burst of load from elsewhere on the machine
lands on all rows alike instead of on whichever happened to run then.

A sample is `number` back-to-back calls (calibrated so one sample lasts about `sample_s`), and its per-call time
is the sample's time over `number`.  A row reports the median of its samples.  A slow row (JAX tracing a Python
loop without jit, or a first call that compiles) gets fewer samples, spread evenly over the rounds, so that no
row spends more than `row_budget_s`.  The garbage collector stays on, as in a user's program.
"""
from __future__ import annotations

import gc
import statistics
import time
from dataclasses import dataclass


@dataclass
class Timing:
    median_s: float  # per call
    min_s: float
    samples: int
    number: int  # calls per sample


def calibrate(fn, sample_s: float) -> tuple[int, float]:
    """(calls per sample, estimated seconds per call): double the count until a run lasts a fifth of a sample.

    Each count is tried three times and the fastest kept: on a shared core one preemption (a 4 ms time slice
    given to another process) would otherwise pass for a slow call and leave the row with one call per sample.
    """
    number = 1
    while True:
        elapsed = min(_sample(fn, number) for _ in range(3)) * number
        if elapsed >= sample_s / 5 or number >= 1 << 20:
            per_call = elapsed / number
            return max(1, round(sample_s / per_call)), per_call
        number *= 2


def spread(count: int, rounds: int) -> set[int]:
    """`count` of the round indices 0..rounds-1, spread evenly."""
    return {j * rounds // count for j in range(count)}


def round_robin(rows, rounds: int, sample_s: float, row_budget_s: float) -> dict[str, Timing]:
    """Time every row of `rows` (peers.Row: name, call, reset, first_call, estimate_s); a Timing per row name.

    Steady-state rows are interleaved.  First-call rows come after them, one after the other: their `reset`
    clears caches that the steady rows rely on (`jax.clear_caches()` drops every jitted executable), and a
    steady sample that included a re-trace would be wrong.
    """
    samples: dict[str, list[float]] = {row.name: [] for row in rows}
    plans = {}
    for row in rows:
        if row.estimate_s >= row_budget_s:
            # One call already exceeds the budget: the warm call timed while checking (for a first-call row,
            # the first call after a reset) is its only sample.
            samples[row.name].append(row.estimate_s)
            plans[row.name] = (1, set())
    steady = [r for r in rows if not r.first_call and r.name not in plans]
    for row in steady:
        row.call()  # warm again: checking a first-call row cleared the caches (jax.clear_caches drops them all)
        if row.estimate_s > sample_s:  # one call per sample: no need to calibrate
            number, per_call = 1, row.estimate_s
        else:
            number, per_call = calibrate(row.call, sample_s)
        plans[row.name] = (number, spread(_count(per_call * number, rounds, row_budget_s), rounds))
    for r in range(rounds):
        gc.collect()
        shift = r % max(1, len(steady))
        for row in steady[shift:] + steady[:shift]:  # rotate the order too, so no row always follows another
            number, chosen = plans[row.name]
            if r in chosen:
                samples[row.name].append(_sample(row.call, number))
    for row in rows:
        if row.first_call and row.name not in plans:
            plans[row.name] = (1, set())
            for _ in range(_count(row.estimate_s, rounds, row_budget_s)):
                gc.collect()
                row.reset()
                samples[row.name].append(_sample(row.call, 1))
    return {name: Timing(statistics.median(s), min(s), len(s), plans[name][0]) for name, s in samples.items()}


def _count(sample_time: float, rounds: int, row_budget_s: float) -> int:
    """How many samples a row gets: as many rounds as its budget allows, at least one."""
    return max(1, min(rounds, int(row_budget_s / max(sample_time, 1e-9))))


def _sample(call, number: int) -> float:
    started = time.perf_counter()
    for _ in range(number):
        call()
    return (time.perf_counter() - started) / number
