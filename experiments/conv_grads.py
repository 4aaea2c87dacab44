"""Per-layer convolution timings of the reference design: forward, input gradient, and the weight
gradient by oneDNN against the GEMM form in mnist_cyclegan/fast/gemm_conv.py; then the two
upsampling layers as PyTorch's transposed conv against the sub-pixel form in nets.py; then
the convs with few channels (phase_conv.py) and the discriminator convs that skip zero rows
(padded_conv.py) as PyTorch's conv against mnistgan's module; last, for the layers with zero
("same") padding, the share of their multiply-adds that read a zero.

    python experiments/conv_grads.py [--precision bf16|fp32] [--batch 64]

Each row is one convolution shape of the reference step (input already padded, as the networks
pad it), with channels-last tensors; medians of 15 calls after 3 warm-up calls, milliseconds.
"""

from __future__ import annotations

import argparse
import statistics
import time
from functools import partial

import torch
from torch import nn
from torch.nn import functional as F

from mnist_cyclegan.cyclegan.layers import SamePad, UpsampleSame
from mnist_cyclegan.fast.gemm_conv import GemmGradConv2d, LockedGradConv2d, weight_grad_by_gemm
from mnist_cyclegan.fast.layers import PhaseUpsample
from mnist_cyclegan.fast.padded_conv import SamePaddedConv2d

# (in channels, out channels, kernel, padded input size, stride, where in the design)
SHAPES = [
    (128, 128, 3, 9, 1, "residual block"),
    (64, 128, 3, 15, 2, "generator down 2"),
    (32, 64, 3, 29, 2, "generator down 1"),
    (64, 128, 4, 16, 2, "discriminator 2"),
    (128, 256, 4, 10, 2, "discriminator 3"),
    (256, 512, 4, 7, 1, "discriminator 4"),
    (512, 1, 4, 7, 1, "discriminator 5"),
    (1, 32, 7, 34, 1, "generator stem (1 ch)"),
    (32, 3, 7, 34, 1, "generator head (3 ch)"),
]


# (map size before padding, kernel, stride, where in the design) for the zero-padded layers
ZERO_PADDED = [
    (28, 3, 2, "generator down 1"),
    (14, 3, 2, "generator down 2"),
    (28, 4, 2, "discriminator 1"),
    (14, 4, 2, "discriminator 2"),
    (7, 4, 2, "discriminator 3"),
    (4, 4, 1, "discriminator 4"),
    (4, 4, 1, "discriminator 5"),
]


def padding_share(size: int, kernel: int, stride: int) -> float:
    """The share of a "same"-padded conv's input reads (hence multiply-adds) that hit padding."""
    valid = SamePad(kernel, stride)(torch.ones(1, 1, size, size))
    taps = F.conv2d(valid, torch.ones(1, 1, kernel, kernel), stride=stride)
    return 1.0 - float(taps.sum()) / (taps.numel() * kernel * kernel)


def median_ms(fn, calls: int = 15) -> float:
    for _ in range(3):
        fn()
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e3


# (in, out, kernel, input size, stride, module, where): convs with few channels (phase_conv.py)
# and the discriminator convs that skip their padding's zero rows (padded_conv.py)
AS_TRAINED = [
    (32, 3, 7, 34, 1, LockedGradConv2d, "generator head (3 ch)"),
    (32, 1, 7, 34, 1, LockedGradConv2d, "generator head (1 ch)"),
    (3, 32, 7, 34, 1, LockedGradConv2d, "generator stem (3 ch)"),
    (128, 256, 4, 7, 2, SamePaddedConv2d, "discriminator 3"),
    (256, 512, 4, 4, 1, SamePaddedConv2d, "discriminator 4"),
    (512, 1, 4, 7, 1, GemmGradConv2d, "discriminator 5"),
]


def few_channel_and_padded_rows(batch: int, dtype: torch.dtype):
    """Each layer of AS_TRAINED under autocast, as PyTorch's `nn.Conv2d` (after the same
    zero padding) and as mnistgan's module; forward, and forward with both gradients."""
    fmt = torch.channels_last
    for cin, cout, kernel, size, stride, module, name in AS_TRAINED:
        ours = module(cin, cout, kernel, stride=stride).to(memory_format=fmt)
        plain = nn.Conv2d(cin, cout, kernel, stride=stride).to(memory_format=fmt)
        plain.load_state_dict(ours.state_dict())
        pad = SamePad(kernel, stride) if module is SamePaddedConv2d else nn.Identity()
        x = torch.randn(batch, cin, size, size).contiguous(memory_format=fmt)
        row = []
        for conv in (nn.Sequential(pad, plain), ours):
            row += forward_and_backward_ms(conv, x, dtype)
        yield name, row


def forward_and_backward_ms(forward, x: torch.Tensor, dtype: torch.dtype) -> list[float]:
    """Milliseconds of `forward(x)` under autocast, then of it with all gradients."""

    def run(backward=False):
        with torch.autocast("cpu", torch.bfloat16, enabled=dtype == torch.bfloat16):
            y = forward(x.detach().requires_grad_(backward))
        if backward:
            y.float().sum().backward()

    return [median_ms(run), median_ms(lambda: run(backward=True))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--precision", default="bf16", choices=["bf16", "fp32"])
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args()
    dtype = torch.bfloat16 if args.precision == "bf16" else torch.float32
    print(f"# torch {torch.__version__}, {args.precision}, batch {args.batch}, channels-last, ms")
    print(f"{'layer':<24} {'fwd':>7} {'in-grad':>8} {'w-grad':>8} {'both':>8} {'w GEMM':>8}")
    torch.manual_seed(0)
    for cin, cout, kernel, size, stride, name in SHAPES:
        fmt = torch.channels_last
        x = torch.randn(args.batch, cin, size, size).to(dtype).contiguous(memory_format=fmt)
        w = (torch.randn(cout, cin, kernel, kernel) * 0.02).to(dtype).contiguous(memory_format=fmt)
        grad = torch.randn_like(F.conv2d(x, w, stride=stride))

        def backward(mask, x=x, w=w, grad=grad, stride=stride):
            return torch.ops.aten.convolution_backward(
                grad, x, w, None, [stride, stride], [0, 0], [1, 1], False, [0, 0], 1, mask
            )

        row = [
            median_ms(lambda x=x, w=w, stride=stride: F.conv2d(x, w, stride=stride)),
            median_ms(lambda backward=backward: backward([True, False, False])),
            median_ms(lambda backward=backward: backward([False, True, False])),
            median_ms(lambda backward=backward: backward([True, True, False])),
            median_ms(lambda x=x, w=w, g=grad, s=stride: weight_grad_by_gemm(x, g, w.shape, s)),
        ]
        print(f"{name:<24} " + " ".join(f"{value:>8.2f}" for value in row), flush=True)
    print(f"\n{'upsampling layer':<24} {'transposed fwd':>15} {'fwd+bwd':>8} {'sub-pixel fwd':>14} "
          f"{'fwd+bwd':>8}")  # fmt: skip
    for cin, cout, size in ((128, 64, 7), (64, 32, 14)):
        layer = PhaseUpsample(cin, cout).to(memory_format=torch.channels_last)
        x = torch.randn(args.batch, cin, size, size).contiguous(memory_format=torch.channels_last)
        row = []
        for forward in (partial(UpsampleSame.forward, layer), layer.forward):
            row += forward_and_backward_ms(forward, x, dtype)
        name = f"{cin} -> {cout} at {size}x{size}"
        print(f"{name:<24} {row[0]:>15.2f} {row[1]:>8.2f} {row[2]:>14.2f} {row[3]:>8.2f}")
    print(f"\n{'layer as trained':<24} {'PyTorch fwd':>12} {'fwd+bwd':>8} {'mnistgan fwd':>13} "
          f"{'fwd+bwd':>8}")  # fmt: skip
    for name, row in few_channel_and_padded_rows(args.batch, dtype):
        print(f"{name:<24} {row[0]:>12.2f} {row[1]:>8.2f} {row[2]:>13.2f} {row[3]:>8.2f}")
    print(f"\n{'zero-padded layer':<24} {'map':>5} {'multiply-adds on padding':>25}")
    for size, kernel, stride, name in ZERO_PADDED:
        share = padding_share(size, kernel, stride)
        print(f"{name:<24} {size:>5} {share:>25.1%}")


if __name__ == "__main__":
    main()
