"""Do fresh side-by-side steps repeat bit for bit? Counts the runs whose gradients differ from
the first run's, with the oneDNN weight-gradient lock (gemm_conv.py) on or off.

    python experiments/repeat_check.py --preset quick --runs 12
    python experiments/repeat_check.py --preset quick --runs 12 --no-lock

`--no-lock` replaces the lock by a no-op and gives the discriminator's first conv oneDNN's
weight gradient again: the setting in which the race was found.
"""

from __future__ import annotations

import argparse
import contextlib
from dataclasses import replace

import torch
from torch import nn

from mnist_cyclegan.cyclegan.pool import ImagePool
from mnist_cyclegan.cyclegan.step import build_optimizers
from mnist_cyclegan.fast import gemm_conv
from mnist_cyclegan.fast.halves import train_step
from mnist_cyclegan.fast.layers import FAST
from mnist_cyclegan.fast.side_by_side import run_side_by_side
from mnist_cyclegan.settings.schema import TrainSettings
from mnist_cyclegan.variants.factory import build_networks
from mnist_cyclegan.variants.step import plans_for


def one_step_grads(settings: TrainSettings, real_a, real_b, lock: bool) -> dict:
    nets = build_networks(settings.net, 1, 3, 3, torch.device("cpu"), FAST)
    for net in nets.named().values():
        net.to(memory_format=torch.channels_last)
    if not lock:  # the discriminators' first conv with oneDNN's weight gradient, as before
        for d in (nets.d_a, nets.d_b):
            d.model[1].__class__ = nn.Conv2d
    optimizers = build_optimizers(nets, settings, torch.device("cpu"))
    pools = (ImagePool(0, 0), ImagePool(0, 1))
    train_step(
        nets,
        optimizers,
        pools,
        real_a,
        real_b,
        settings,
        run_halves=run_side_by_side,
        plans=plans_for(settings),
    )
    return {
        f"{name}.{key}": p.grad.clone()
        for name, net in nets.named().items()
        for key, p in net.named_parameters()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="quick")
    parser.add_argument("--runs", type=int, default=12)
    parser.add_argument("--no-lock", action="store_true")
    args = parser.parse_args()
    settings = replace(TrainSettings.preset(args.preset), pool_size=0, batch_size=16)
    lock = not args.no_lock
    if not lock:
        gemm_conv.ONEDNN_WEIGHT_GRAD_LOCK = contextlib.nullcontext()
    torch.manual_seed(0)
    fmt = torch.channels_last
    real_a = torch.rand(16, 1, 28, 28).contiguous(memory_format=fmt)
    real_b = torch.rand(16, 3, 28, 28).contiguous(memory_format=fmt)
    first = one_step_grads(settings, real_a, real_b, lock)
    differing, names = 0, set()
    for _ in range(args.runs - 1):
        grads = one_step_grads(settings, real_a, real_b, lock)
        changed = {k for k in first if not torch.equal(first[k], grads[k])}
        differing += bool(changed)
        names |= changed
    print(f"# {args.preset}, lock {'on' if lock else 'off'}, torch {torch.__version__}, "
          f"threads {torch.get_num_threads()}")  # fmt: skip
    print(f"{differing} of {args.runs - 1} runs differ from the first; {sorted(names)}")


if __name__ == "__main__":
    main()
