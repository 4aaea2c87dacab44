"""The layer forms weighed for phase_conv.py, padded_conv.py and PhaseUpsample, timed on one core.

    python experiments/layer_forms.py [--threads 1]

1. oneDNN's channel blocks: a 7×7 conv from 32 channels to 1, 3 and 16 channels takes about
   the same time, so a 1- or 3-channel conv wastes most of it (why phase_conv.py exists).
2. Depth-to-space of the upsampling phases: `F.pixel_shuffle` (channel-major phases) against
   the phase-major copy `depth_to_space`, forward and backward, channels-last.
3. The upsampling kernel built by advanced indexing (last round's form) against slicing the
   flipped weight, forward and backward.
4. Discriminator layer 4's forward: oneDNN on the padded map, the row form of padded_conv.py,
   and one GEMM per output position (all zeros skipped, 64-row GEMMs).
5. Discriminator layer 2 (14% zeros), forward and both gradients: padding then the GEMM-weight-
   gradient conv, against the row form (it does not pay there, so layer 2 keeps its conv).
Medians of 15 calls after 3 warm-up calls, bf16, batch 64, milliseconds.
"""

from __future__ import annotations

import argparse

import torch
from conv_grads import median_ms
from torch.nn import functional as F

from mnist_cyclegan.cyclegan.layers import SamePad
from mnist_cyclegan.fast.gemm_conv import GemmGradConv2d
from mnist_cyclegan.fast.padded_conv import SamePaddedConv2d, row_skipping_conv
from mnist_cyclegan.fast.phase_conv import depth_to_space

CL = torch.channels_last


def bf16(*shape: int, scale: float = 1.0) -> torch.Tensor:
    return (torch.randn(*shape) * scale).bfloat16().contiguous(memory_format=CL)


def channel_blocks() -> None:
    x = bf16(64, 32, 34, 34)
    for out in (1, 3, 16):
        weight = bf16(out, 32, 7, 7, scale=0.05)
        spent = median_ms(lambda w=weight: F.conv2d(x, w))
        print(f"  7x7 conv 32 -> {out:>2} channels, forward: {spent:6.2f}")


def shuffles() -> None:
    for out, size in ((64, 7), (32, 14)):
        phases = bf16(64, 4 * out, size, size).requires_grad_()

        def both(arrange, phases=phases):
            y = arrange(phases)
            y.backward(torch.ones_like(y))

        shuffle = median_ms(lambda: both(lambda p: F.pixel_shuffle(p, 2)))
        copy = median_ms(lambda: both(lambda p: depth_to_space(p, 2)))
        print(f"  {4 * out} phases at {size}x{size}: pixel_shuffle {shuffle:6.2f}, "
              f"depth_to_space {copy:6.2f}")  # fmt: skip


def indexed_kernel(weight: torch.Tensor) -> torch.Tensor:
    """An earlier PhaseUpsample.phase_kernel: advanced indexing with PHASE_TAPS."""
    padded = F.pad(weight, (0, 1, 0, 1))
    taps = torch.tensor(((2, 0), (3, 1)))
    kernel = padded[:, :, taps[:, :, None, None], taps[None, None, :, :]]
    cin, cout = padded.shape[:2]
    return kernel.permute(1, 2, 4, 0, 3, 5).reshape(4 * cout, cin, 2, 2)


def sliced_kernel(weight: torch.Tensor) -> torch.Tensor:
    flipped = F.pad(weight, (0, 1, 0, 1)).flip(2, 3)
    phases = [flipped[:, :, 1 - a :: 2, 1 - b :: 2] for a in range(2) for b in range(2)]
    return torch.cat(phases, dim=1).transpose(0, 1)


def kernels() -> None:
    for cin, cout in ((128, 64), (64, 32)):
        weight = torch.randn(cin, cout, 3, 3, requires_grad=True)

        def both(build, weight=weight):
            kernel = build(weight)
            kernel.backward(torch.ones_like(kernel))

        print(f"  {cin} -> {cout}: indexing {median_ms(lambda: both(indexed_kernel)):6.2f}, "
              f"slicing {median_ms(lambda: both(sliced_kernel)):6.2f}")  # fmt: skip


def per_position_forward(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Layer 4 with every zero skipped: one GEMM per output position over its data taps."""
    n, out = x.shape[0], weight.shape[0]
    pixels, taps = x.permute(0, 2, 3, 1), weight.permute(2, 3, 1, 0)  # N,4,4,C and k,k,C,O
    result = torch.empty(n, 4, 4, out, dtype=x.dtype)
    for i in range(4):
        first_row, last_row = max(0, 1 - i), min(3, 4 - i)
        for j in range(4):
            first_col, last_col = max(0, 1 - j), min(3, 4 - j)
            rows = slice(i + first_row - 1, i + last_row)
            cols = slice(j + first_col - 1, j + last_col)
            patch = pixels[:, rows, cols, :].reshape(n, -1)
            kernel = taps[first_row : last_row + 1, first_col : last_col + 1].reshape(-1, out)
            result[:, i, j, :] = patch @ kernel
    return result


def fourth_layer() -> None:
    x, weight = bf16(64, 256, 4, 4), bf16(512, 256, 4, 4, scale=0.02)
    padded = F.pad(x, (1, 2, 1, 2))
    pixels = padded.permute(0, 2, 3, 1).contiguous()
    taps = weight.permute(0, 2, 3, 1).reshape(512, -1).t()
    print(f"  oneDNN on the padded map {median_ms(lambda: F.conv2d(padded, weight)):6.2f}, "
          f"row form {median_ms(lambda: row_skipping_conv(pixels, taps, 4, None, 1, 1, 2)):6.2f}, "
          f"per position {median_ms(lambda: per_position_forward(x, weight)):6.2f}")  # fmt: skip


def second_layer() -> None:
    torch.manual_seed(0)
    rows = SamePaddedConv2d(64, 128, 4, stride=2).to(memory_format=CL)
    plain = GemmGradConv2d(64, 128, 4, stride=2).to(memory_format=CL)
    plain.load_state_dict(rows.state_dict())
    pad = SamePad(4, 2)
    x = bf16(64, 64, 14, 14).requires_grad_()

    def both(conv):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            y = conv(x)
        y.backward(torch.ones_like(y))

    print(f"  pad + GEMM-gradient conv {median_ms(lambda: both(lambda v: plain(pad(v)))):6.2f}, "
          f"row form {median_ms(lambda: both(rows)):6.2f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"# torch {torch.__version__}, {args.threads} thread(s), bf16, batch 64, ms")
    for title, part in (
        ("1. channel blocks", channel_blocks),
        ("2. depth-to-space, forward + backward", shuffles),
        ("3. upsampling kernel, forward + backward", kernels),
        ("4. discriminator layer 4, forward", fourth_layer),
        ("5. discriminator layer 2, forward + both gradients", second_layer),
    ):
        print(title)
        part()


if __name__ == "__main__":
    main()
