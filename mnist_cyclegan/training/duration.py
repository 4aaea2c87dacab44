"""How long the reference schedule takes on a CPU, said before it starts.

The reference design trains 100 epochs over all digits; with no preset that is what `train`
does, and on a CPU it runs for days. A user who typed `mnistgan train` to try the tool should
hear that, with the way to a good model in minutes, before the first step rather than from an
ETA column after the first minutes.
"""

from __future__ import annotations

import os

from mnist_cyclegan.settings.schema import TrainSettings

# The reference networks' training speed on a CPU, per core: 42.7 pairs/s on the 2-core AMD
# EPYC machine in bf16 (docs/measurements.md, "The reference run"); a step scales about with cores.
REFERENCE_PAIRS_PER_CORE_SECOND = 42.7 / 2
SAY_ABOVE_SECONDS = 3600.0  # shorter runs need no warning


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def estimated_seconds(settings: TrainSettings, total_steps: int, core_count: int) -> float:
    return total_steps * settings.batch_size / (REFERENCE_PAIRS_PER_CORE_SECOND * core_count)


def describe(seconds: float) -> str:
    hours = seconds / 3600
    return f"{hours / 24:.1f} days" if hours >= 48 else f"{hours:.0f} h"


def reference_notice(settings: TrainSettings, total_steps: int) -> str | None:
    """A line on how long this CPU run of the reference networks will take, None if short."""
    core_count = max(1, cores() or 1)
    seconds = estimated_seconds(settings, total_steps, core_count)
    if seconds < SAY_ABOVE_SECONDS:
        return None
    return (
        f"the reference schedule ({settings.epochs} epochs, {total_steps:,} steps of "
        f"{settings.batch_size} pairs) takes about {describe(seconds)} on this machine's "
        f"{core_count} CPU cores (estimated from {REFERENCE_PAIRS_PER_CORE_SECOND:.0f} pairs/s "
        "per core); for a good model in minutes use --preset quick, or train on a GPU with "
        "--device cuda"
    )
