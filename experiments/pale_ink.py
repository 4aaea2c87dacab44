"""What a white digit's ink read as grey cost a generator into colored-background (issue 18,
fourth part), on the validation digits.

    python experiments/pale_ink.py RUN/weights.safetensors [--split val|test]

A two-tone generator paints with a palette it does not see. Up to commit ae79c1c a palette's
ink was its image's pixel farthest from the background, which behind a pale background is one
of a white digit's darker greys: 6% of colored-background's images. For a run
into colored-background (B of colored-digit <-> colored-background, or of mnist <->
colored-background, either way round) this prints the share of its bank with such an ink, and
the outputs' share in the target domain and digit accuracy with the bank's palettes as stored
and with every ink set to white (what `estimate_palette` reads for those images now).
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from mnist_cyclegan.data import domain_arrays, split_view
from mnist_cyclegan.evaluation.classifier import load_or_train_classifier, predict
from mnist_cyclegan.evaluation.domain_check import load_domain_check, share_in
from mnist_cyclegan.images import channels_first
from mnist_cyclegan.variants.two_tone import bank_index
from mnist_cyclegan.weights import load_generators

DIM_INK = 0.9  # an ink whose mean channel is below this is not a white digit's


def paint_all(generator: torch.nn.Module, inputs: torch.Tensor, palettes: torch.Tensor):
    """uint8 N×H×W×C outputs, a batch at a time."""
    with torch.no_grad():
        out = torch.cat(
            [
                generator(inputs[i : i + 500], palettes[i : i + 500])
                for i in range(0, len(inputs), 500)
            ]
        )
    return (out.clamp(0, 1) * 255).round().byte().permute(0, 2, 3, 1).numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("weights")
    parser.add_argument("--split", default="val", choices=["val", "test"])
    args = parser.parse_args()
    g_ab, g_ba, meta = load_generators(args.weights)
    if meta.domain_b == "colored-background":
        generator, source, seed = g_ab.eval(), meta.domain_a, meta.seed
    elif meta.domain_a == "colored-background":
        generator, source, seed = g_ba.eval(), meta.domain_b, meta.seed + 1
    else:
        raise SystemExit(f"{args.weights}: neither domain is colored-background")
    cpu = torch.device("cpu")
    inputs = split_view(domain_arrays(source, seed=seed), args.split)
    target = split_view(domain_arrays("colored-background", seed=meta.seed), args.split)
    bank = generator.palette_bank
    dim = (bank[:, 0].mean(dim=1) < DIM_INK).float()
    print(f"bank: {int(dim.sum())} of {len(bank)} inks dimmer than white ({float(dim.mean()):.1%})")
    x = channels_first(torch.from_numpy(inputs.x_test)).float() / 255
    palettes = bank[bank_index(x, len(bank))]
    white = torch.stack([torch.ones_like(palettes[:, 0]), palettes[:, 1]], dim=1)
    check, reader = load_domain_check(cpu), load_or_train_classifier(target, cpu)
    for name, chosen in (("the bank's inks", palettes), ("every ink white", white)):
        out = paint_all(generator, x, chosen)
        read, _ = predict(reader, out, cpu)
        share = share_in(check, out, "colored-background", cpu)
        accuracy = float(np.mean(read == inputs.y_test))
        print(f"{name:>16}: {share:.2%} in colored-background, digit accuracy {accuracy:.2%}")


if __name__ == "__main__":
    main()
