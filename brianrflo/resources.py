"""Memory a run will need, estimated before anything large is allocated."""

from __future__ import annotations

import math
import os

__all__ = ["available_memory", "check_memory", "run_bytes"]

#: Bytes per all-to-all synapse in Brian2: weight, trace, pending change and
#: learning rate (float64), pre/post indices (int32), plus the connect() arrays.
SYNAPSE_BYTES = 96
#: Bytes per step of one trial in a block, per input or output column: the task's
#: arrays, their TimedArray copies and the per-trial views (float64).
STEP_BYTES = 8 * 4


def available_memory() -> int:
    """Bytes of memory available to a new allocation (``MemAvailable`` on Linux)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")


def run_bytes(n_hidden: int, n_in: int, n_out: int, T: int, block_trials: int,
              rule: str = "rflo", replicas: int = 1) -> dict[str, int]:
    """Estimated bytes by what holds them, for one run (or ``replicas`` networks)."""
    n, m, k = n_hidden, n_in, n_out
    synapses = n * n + n * m + 2 * n * k
    parts = {
        "synapses": replicas * synapses * SYNAPSE_BYTES,
        "trial block": replicas * block_trials * T * (m + 2 * k) * STEP_BYTES,
    }
    if rule in ("bptt", "nonlocal-random"):  # the forward pass is kept for the backward one
        parts["the stored trial"] = replicas * T * (3 * n + 2 * k) * 8
    elif rule == "rtrl":  # sensitivities dh_a/dW_bc
        parts["RTRL's sensitivities"] = replicas * 3 * n * (n * n + n * m) * 8
    return parts


def check_memory(n_hidden: int, n_in: int, n_out: int, T: int, block_trials: int,
                 rule: str = "rflo", replicas: int = 1) -> None:
    """Refuse a run that cannot fit in memory, saying what would.

    Raises
    ------
    ValueError
        Naming the setting that dominates, the estimate, what is available and
        the largest value of that setting that fits.
    """
    parts = run_bytes(n_hidden, n_in, n_out, T, block_trials, rule, replicas)
    need = sum(parts.values())
    have = int(0.8 * available_memory())
    if need <= have:
        return
    what = max(parts, key=lambda name: parts[name])
    share = have - (need - parts[what])
    if what == "trial block":
        steps = max(share, 0) // (replicas * (n_in + 2 * n_out) * STEP_BYTES)
        fix = (f"period (T = {T}) x block_trials ({block_trials}) must stay below about "
               f"{steps:,} steps")
    else:
        power = 2 if what == "synapses" else 3
        largest = math.floor((max(share, 0) / parts[what]) ** (1 / power) * n_hidden)
        fix = f"n_hidden must be at most about {largest:,} (got {n_hidden:,})"
    raise ValueError(
        f"this run needs about {need / 2**30:,.1f} GiB ({what}: {parts[what] / 2**30:,.1f} "
        f"GiB) and {have / 2**30:,.1f} GiB are available: {fix}"
    )
