"""The measuring conditions: one BLAS thread, one core, a steady allocator; and the machine facts for the report.

Import this before NumPy: `prepare_process()` may re-execute the interpreter, because glibc reads its malloc
settings and OpenBLAS its thread count only at start-up.  Nothing here imports NumPy at module level.
"""
from __future__ import annotations

import os
import platform
import sys

# Read by the libraries at start-up.  One thread everywhere: OpenBLAS/MKL (numpy, torch), OpenMP (torch),
# Eigen inside XLA (JAX).
THREAD_ENV = {
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
    "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
    "JAX_PLATFORMS": "cpu",
}

# glibc hands freed memory at the top of the heap back to the kernel once more than the trim threshold is free,
# so a loop that allocates and frees a few hundred kilobytes each call (X @ W1 + b1 on spiral is 240 KB) faults
# every page in again on every call.  In this VM a fault costs about 2 us, which made the spiral loss 250 us
# slower than its arithmetic.  Keeping 64 MB of padding at the top of the heap removes that for every row alike.
MALLOC_ENV = {"MALLOC_TOP_PAD_": str(64 << 20), "MALLOC_TRIM_THRESHOLD_": str(256 << 20)}

# Set on some processors of this workplace for old OpenBLAS builds; they force an older, slower kernel on a
# current numpy.  The benchmark command unsets them (see README.md); the report says which kernel ran.
OPENBLAS_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")

_MARK = "IRGRAD_BENCH_PREPARED"


def prepare_process(malloc_tuning: bool = True) -> None:
    """Re-execute once with the thread and malloc settings in the environment, then pin to one core."""
    wanted = dict(THREAD_ENV)
    if malloc_tuning:
        wanted.update(MALLOC_ENV)
    if os.environ.get(_MARK) != "1":
        env = dict(os.environ)
        env.update(wanted)
        env[_MARK] = "1"
        sys.stdout.flush()
        os.execve(sys.executable, [sys.executable] + sys.argv, env)
    pin_to_one_core()


def pin_to_one_core() -> int:
    """Pin this process (and threads it starts later) to the last core we may run on; return its number."""
    cores = sorted(os.sched_getaffinity(0))
    core = cores[-1]
    os.sched_setaffinity(0, {core})
    return core


def limit_library_threads() -> list[dict]:
    """After NumPy (and the peers) are imported: cap every thread pool threadpoolctl knows at one thread.

    Returns threadpoolctl's description of the pools (which BLAS, which kernel), or [] without threadpoolctl.
    """
    try:
        import threadpoolctl
    except ImportError:
        return []
    threadpoolctl.threadpool_limits(1)
    return threadpoolctl.threadpool_info()


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load_average() -> tuple[float, float, float]:
    return os.getloadavg()


def facts(pools: list[dict]) -> dict:
    """What the report states about the machine and the software."""
    import numpy as np

    blas = [p for p in pools if p.get("user_api") == "blas"]
    blas_text = ", ".join(
        f"{p.get('internal_api')} {p.get('version')} (kernel {p.get('architecture')}, {p.get('num_threads')} thread)"
        for p in blas) or "unknown (threadpoolctl not installed)"
    return {
        "cpu": f"{cpu_model()}, {os.cpu_count()} cores, pinned to core {sorted(os.sched_getaffinity(0))}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "numpy": np.__version__,
        "blas": blas_text,
        "openblas_overrides": {k: os.environ[k] for k in OPENBLAS_OVERRIDES if k in os.environ},
        "malloc": {k: os.environ[k] for k in MALLOC_ENV if k in os.environ},
    }
