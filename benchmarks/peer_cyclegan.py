"""The canonical PyTorch CycleGAN beside ours: its model, trained on the same pair, the same
training images and the same wall time on this machine, scored by our eval's own readers.

    git clone https://github.com/junyanz/pytorch-CycleGAN-and-pix2pix PEER   # you fetch it
    python benchmarks/peer_cyclegan.py PEER OUT PAIR SEED [--minutes 10] [--split val|test]

PAIR is one of benchmarks/own_pairs.py's (built in OUT by `own_pairs.py build OUT`). Its
`CycleGANModel` and `optimize_parameters` run as they are, with its CycleGAN defaults (ResNet
generator with 6 blocks, 70×70 PatchGAN, instance norm, least-squares GAN, cycle weight 10,
identity 0.5 where both sides have the same channels, a history pool of 50, Adam 2e-4, β1 0.5),
the generator at the seed's size (ngf 32) and batch 64. Nothing of it is copied here: it is
imported from the folder you give. Its generators are scored through `evaluate` as a tanh
model, so both tools' figures come from the same code. Prints a summary line (its steps and
training seconds) and one JSON line per direction: `own_pairs.py table LOG` makes them rows.
BENCHMARKS.md's peer rows ran upstream commit c3268ed (2024-03-22), whose models/ and
util/image_pool.py differ from 2020's only by a typo and lint fixes.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from argparse import Namespace
from pathlib import Path

import torch

from mnist_cyclegan.evaluation.evaluate import evaluate
from mnist_cyclegan.settings.resolve import Given, settings_for_new_run
from mnist_cyclegan.settings.schema import NetSettings, TrainSettings
from mnist_cyclegan.training.batches import training_data
from mnist_cyclegan.weights import WeightsMeta

sys.path.insert(0, str(Path(__file__).parent))
from own_pairs import PAIRS, side  # noqa: E402


def peer_options(input_nc: int, output_nc: int, batch: int) -> Namespace:
    """The peer's CycleGAN training defaults (its options/*.py), with ngf 32 and `batch`."""
    return Namespace(
        isTrain=True, gpu_ids=[], checkpoints_dir="/tmp/peer-checkpoints", name="peer",
        preprocess="none", input_nc=input_nc, output_nc=output_nc, ngf=32, ndf=64,
        netD="basic", netG="resnet_6blocks", n_layers_D=3, norm="instance", init_type="normal",
        init_gain=0.02, no_dropout=True, lambda_A=10.0, lambda_B=10.0,
        lambda_identity=0.5 if input_nc == output_nc else 0.0, pool_size=50, gan_mode="lsgan",
        lr=2e-4, beta1=0.5, direction="AtoB", lr_policy="linear", epoch_count=1, n_epochs=100,
        n_epochs_decay=100, continue_train=False, verbose=False, load_iter=0, epoch="latest",
        model="cycle_gan", batch_size=batch, device=torch.device("cpu"),
    )  # fmt: skip


def to_peer(batch: torch.Tensor) -> torch.Tensor:
    """uint8 N×C×H×W → float in [-1, 1], as the peer's transforms give images."""
    return batch.float() / 127.5 - 1.0


def train_peer(peer: Path, settings: TrainSettings, minutes: float):
    sys.path.insert(0, str(peer))
    from models.cycle_gan_model import CycleGANModel  # the peer's, from the folder given

    torch.manual_seed(settings.seed)
    data = training_data(settings, torch.device("cpu"))
    channels = (data.train_a.shape[1], data.train_b.shape[1])
    model = CycleGANModel(peer_options(*channels, settings.batch_size))
    model.setup(peer_options(*channels, settings.batch_size))
    started, steps, epoch = time.perf_counter(), 0, 0
    while time.perf_counter() - started < minutes * 60:
        order = data.epoch_order(settings.seed, epoch)
        for index in range(data.steps_per_epoch):
            batch_a, batch_b = data.batch(order, index)
            model.set_input({"A": to_peer(batch_a), "B": to_peer(batch_b), "A_paths": []})
            model.optimize_parameters()
            steps += 1
            if time.perf_counter() - started >= minutes * 60:
                break
        epoch += 1
    seconds = time.perf_counter() - started
    return model.netG_A.eval(), model.netG_B.eval(), channels, steps, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("peer", type=Path, help="a clone of pytorch-CycleGAN-and-pix2pix")
    parser.add_argument("out", type=Path, help="the folder own_pairs.py build wrote")
    parser.add_argument("pair", choices=sorted(PAIRS))
    parser.add_argument("seed", type=int)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--split", default="val", choices=("val", "test"))
    args = parser.parse_args()
    data_a, data_b = (side(args.out, name) for name in PAIRS[args.pair])
    given = {"data_a": str(data_a), "data_b": str(data_b), "seed": args.seed, "size": 28}
    flags = Given(train=given, net={})
    settings = settings_for_new_run("quick", flags)  # our run's images, names and pairing
    g_ab, g_ba, channels, steps, seconds = train_peer(args.peer, settings, args.minutes)
    meta = WeightsMeta(
        net=NetSettings(head="tanh"), channels_a=channels[0], channels_b=channels[1],
        domain_a=settings.domain_a, domain_b=settings.domain_b, settings=settings,
    )  # fmt: skip
    cpu = torch.device("cpu")
    results, _ = evaluate(g_ab, g_ba, meta, limit=10_000, device=cpu, split=args.split)
    print(json.dumps({"peer": "pytorch-CycleGAN-and-pix2pix", "pair": args.pair, "seed": args.seed,
                      "split": args.split, "steps": steps, "train_s": round(seconds)}))  # fmt: skip
    for direction in ("a2b", "b2a"):
        print(direction, json.dumps(results[direction]))


if __name__ == "__main__":
    main()
