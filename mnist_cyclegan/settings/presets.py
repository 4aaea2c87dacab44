"""The presets `train --preset` names, and what a preset changes for a pair of domains.

Plain dictionaries of settings (schema.py turns them into `TrainSettings`), so that every
choice a preset makes sits in one place with the measurement behind it (docs/measurements.md).
"""

from __future__ import annotations

# `reference` is the reference design and schedule, `TrainSettings()`: all training digits in
# both domains, 937 steps an epoch at batch 64, 100 epochs. `quick` is our fastest way to a good
# translator on a CPU: each choice below says what it does and why, in one line; the runs that
# chose it are in docs/measurements.md under the heading named.
PRESETS: dict[str, dict] = {
    "reference": {},  # TrainSettings() is the reference
    "quick": {
        "pairing": "disjoint",  # A and B from disjoint halves of the training digits
        "validation": True,  # design choices are made on the validation digits it leaves out
        "batch_size": 64,
        # A higher rate, decayed to zero over the last two of three epochs: minutes, not days
        # ("The quick preset").
        "lr": 1e-3,
        "epochs": 3,
        "lr_decay_epochs": 2,
        # The identity term ties outputs to the input's pixels ("The quick preset").
        "lambda_identity": 5.0,
        # Noise above the faint patterns a generator hides erased grey levels in for the cycle
        # ("Every pair of domains (third round)").
        "cycle_noise": 0.1,
        # The exported generators are a weight average: late live weights swing into hiding
        # dots in the background ("Every pair of domains (fifth round)").
        "average_generators": 0.995,
        "net": {
            # Narrower and shallower than the reference: the step is several times cheaper.
            "gen_width": 16,
            "res_blocks": 3,
            "disc_width": 24,
            # No norm on the last layer, so the sigmoid reaches pure black and white at once.
            "final_norm": False,
            # The stem's features carried past the bottleneck keep strokes in place.
            "long_skip": True,
            # The stem reads each pixel's distance from the background: a digit on a pale one.
            "median_offset": True,
            # The generator draws the figure, in a real target image's colours: flat
            # backgrounds, colours independent of the digit ("Every pair of domains (second
            # round)").
            "head": "two-tone",
            # Within the seeds' spread of the reference's ReLU; kept as its figures were made.
            "residual_relu": False,
        },
    },
}


# What the quick preset changes on a pair it was not designed on (it was on mnist ↔
# colored-background, where copying the input's digit is most of the answer).
# - Into or out of colored-digit, a copy is wrong (the figure changes colour, the background
#   turns white): no identity term ("Every pair of domains (first round)").
# - Into colored-digit every grey level must go: the figure is drawn by coverage alone, no
#   shade to carry them in (`flat_figures`; "Every pair of domains (third round)").
# - colored-background ↔ colored-digit also weighs the shape term 2, which ties each figure to
#   the input's: without it one seed in three drew another digit ("Every pair of domains
#   (fourth round)").
WITHOUT_COPYING = {"lambda_identity": 0.0}
PAIR_PRESETS: dict[tuple[str, frozenset[str]], dict] = {
    ("quick", frozenset({"mnist", "colored-digit"})): {
        **WITHOUT_COPYING,
        "net": {"flat_figures": True},
    },
    ("quick", frozenset({"colored-background", "colored-digit"})): {
        **WITHOUT_COPYING,
        "lambda_shape": 2.0,
        "net": {"flat_figures": True},
    },
}


def pair_preset(name: str, domain_a: str, domain_b: str) -> dict:
    """The preset's changes for this pair of domains (either way round); none if it has none."""
    return PAIR_PRESETS.get((name, frozenset({domain_a, domain_b})), {})
