"""The presets `train --preset` names, and what a preset changes for a pair of domains.

Plain dictionaries of settings (config.py turns them into `TrainSettings`), so that every
choice a preset makes sits in one place with the measurement behind it (docs/measurements.md).
"""

from __future__ import annotations

# Presets: `reference` is the reference design and schedule (`TrainSettings()`): all training
# digits in both domains (`shuffled`), so an epoch is 937 steps at batch 64, for 100 epochs.
# `quick` is our
# fastest way to a good translator on a CPU (see docs/measurements.md): narrower networks, fewer
# residual blocks, no norm on the generator's last layer (so a sigmoid can reach pure black and
# white without waiting for a batch-norm scale to grow at lr-sized steps), a long skip that
# carries the full-resolution stem past the bottleneck (stroke placement), an input channel
# that reads each pixel's distance from the image's background colour (a digit on a pale
# background), a two-tone output (the generator draws the figure; the colours are a real
# target image's, so backgrounds are flat and colours do not depend on the digit: issue 18,
# variants/two_tone.py), the CycleGAN paper's identity term (ties outputs to the pixels the
# input shows), noise on the fakes before the way back (a grey level a domain erases cannot be
# hidden in faint pixels for the cycle: the runs that went wrong did that; issue 18, third
# part), batch 64 at a learning rate of 1e-3 decayed linearly to zero over the last two of
# three epochs, bf16 autocast, and the generators' weight average as the run's result.
PRESETS: dict[str, dict] = {
    "reference": {},  # TrainSettings() is the reference
    "quick": {
        "pairing": "disjoint",  # A and B from disjoint halves of the training digits
        "validation": True,  # design choices are made on the validation digits it leaves out
        "batch_size": 64,
        "lr": 1e-3,
        "epochs": 3,
        "lr_decay_epochs": 2,
        "lambda_identity": 5.0,
        # std 0.1 of the [0, 1] range (25 grey levels): above the dot patterns the runs that went
        # wrong hid shading in (background std 5-20 grey levels); chosen on validation digits
        # (docs/measurements.md, pairs, third round).
        "cycle_noise": 0.1,
        # The run leaves its generators' weight average, not their last step (training/
        # averaging.py): late in a run the live weights swing into and out of hiding dots in the
        # background; chosen on validation digits (docs/measurements.md, pairs, fifth round).
        "average_generators": 0.995,
        # No shape term on the default pair: at weight 2 it ended seed 1's dots (background std
        # 4.9 -> 0.1) but seed 2 went wrong outright (a discriminator pulled ahead, 96% read;
        # docs/measurements.md, pairs, fourth round).
        "net": {
            "gen_width": 16,
            "res_blocks": 3,
            "disc_width": 24,
            "final_norm": False,
            "long_skip": True,
            "median_offset": True,
            # Two-tone replaced the attention mask (AttentionGAN's copy of input pixels, the
            # preset's choice before issue 18): docs/measurements.md, pairs, second round.
            "head": "two-tone",
            # Measured on validation digits over seeds 0-2 (docs/measurements.md): with the
            # reference's ReLU, means within the seeds' spread of these (accuracy 0.1 point
            # lower, PSNR ±0.3 dB); the preset keeps the form its published figures have.
            "residual_relu": False,
        },
    },
}


# What a preset changes for a pair of domains its choices were not made on (issue 18). The quick
# preset was designed on mnist <-> colored-background, where the digit keeps its place and its
# white: copying the input's digit is most of the answer, which the identity term (and the
# attention mask it had then) rewards. Into or out of colored-digit the figure changes its
# colour and the background turns white, so a copy is wrong: they held each generator at its
# input (mnist <-> colored-digit: the discriminators won outright and nothing translated) or
# let the cycle be met by drawing another digit (colored-background <-> colored-digit).
# Without them both pairs translate (docs/measurements.md, issue 18).
# mnist -> colored-digit must drop every grey level, which the cycle asks back: with a shade
# the generator carried them in the digit's colour (colours off the data's, joint W1 13 against
# real 1.8), so there the figure is drawn by coverage alone (`flat_figures`: joint W1 2.3, the
# accuracy within 0.2 points). colored-background -> colored-digit, without the shade, carried
# that digit's greys in background dots instead (std 4-5, accuracy -1 point), so it kept the
# shade (docs/measurements.md, pairs, third round; validation digits) and went wrong in one seed of
# three even so. Two changes fixed that pair (fourth part, validation digits, seeds 0-2): a
# shaded figure's ink read as its strongest pixel (two_tone.py, `estimate_palette`: behind a pale
# background colored-digit -> colored-background had drawn grey, dotted digits), and the shape
# term at weight 2, which ties each translation's figure to the input's: with both, flat
# figures into colored-digit keep the data's colours (joint W1 1.8-2.2 against 8.6-8.7 with
# the shade) and no seed went wrong (at weight 1 seed 1 did, with either ink; at weight 2 with
# the old ink its pale-background digits left the target domain).
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
