"""The `two-tone` head: a figure in one colour over a flat background of another.

Every domain this tool renders is a grey figure composited over two colours: white on black
(mnist), white on a colour (colored-background), a colour on white (colored-digit), with the
grey value as a hard mask (`threshold`) or as coverage (`blend`). A generator that paints all
pixels itself must learn that structure and falls short of it in three ways (docs/measurements.md):
the background comes out mottled, the colours it invents depend on the digit's class (it has
nothing else to draw them from), and a generator into grey hides the input's colour in faint
pixel values so the cycle can rebuild it, which costs the grey output its fidelity.

With the two-tone head (not in the reference) the generator draws only the figure: per pixel a
coverage m and a shade s, and the output is m · min(s · ink, 1) + (1 − m) · paper, for a
*palette* (ink, paper) given from outside. In training the palette of a translation is that of
a real image of the target domain from the same batch (unpaired with the input, so the colour
cannot depend on the digit), and the way back uses the input's own palette, which the cycle
then need not hide anywhere. After training a generator draws palettes from a bank of its
target domain's real palettes, picked by a hash of the input's pixels: colours spread as the
data's do, independent of the digit, and the same input always gets the same colour.

The quick preset's head (docs/measurements.md, "Every pair of domains (second round)": flat
backgrounds, colours as the data's, independent of the digit); `flat_figures` drops the shade into a
domain whose figures are two flat colours (tests/test_palette.py and tests/test_flat_figures.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import nn

from mnist_cyclegan.figures import WholeImage, figure_map, frame_median
from mnist_cyclegan.settings.fields import ADDITIONS, Flag, boolean, setting
from mnist_cyclegan.variants.generator import GeneratorWithAdditions
from mnist_cyclegan.variants.variant import Variant

if TYPE_CHECKING:
    from mnist_cyclegan.settings.schema import NetSettings

BANK_SIZE = 4096  # palettes a generator keeps of its target domain's real images (96 KB)
MAX_SHADE = 2.0  # s ∈ [0, 2]: 1 at a zero logit, and room to brighten a dim ink to white
# The coverage starts from the input's own figure: logit ± FIGURE_PRIOR where the input's figure
# is or is not (sigmoid(1) = 0.73), which the network then corrects. Without it a generator
# into a mostly white domain can first learn to paint nothing at all, the discriminator then
# wins outright and the saturated sigmoid gives no way back: a tiny mnist -> colored-digit run
# did so for 1 seed in 3, none with the prior. 4 cost the default pair 1.3 points of accuracy
# and 8 dB of PSNR on validation digits; 1 costs nothing measurable (docs/measurements.md).
FIGURE_PRIOR = 1.0
# A domain's figures are flat when its figure pixels (those over FIGURE_STEP off the paper in
# a channel, 0-255) lie within FLAT_WITHIN (mean, 0-255) of the line from each image's paper to
# its ink: then coverage alone draws them (figures_are_flat). Blended ones read 0.4, a
# thresholded colored-digit 0, a thresholded colored-background 22 (its digit keeps its greys).
FIGURE_STEP, FLAT_WITHIN = 4.0, 2.0
# Odd multipliers per pixel position for the bank's hash: any fixed spread of integers will do.
HASH_MULTIPLIER, HASH_MODULUS = 40_503, 1_000_003
HASH_SLICE = 1 << 20  # values hashed at a time (a 28×28 digit is one slice)


@torch.no_grad()
def estimate_palette(images: torch.Tensor) -> torch.Tensor:
    """Each image's (ink, paper) colours, N×2×C in the images' own values: paper is the
    per-channel median of the frame; ink is the end of the figure's colours, which compose()
    scales by the shade. For a flat figure (its pixels on the line from the paper to one
    colour: colored-digit, any blend, mnist) that is the pixel farthest from the paper; for a
    shaded one (colored-background's thresholded digit keeps MNIST's greys, off that line) it
    is the pixel that reaches farthest from black towards the figure's typical colour (the
    median of its figure pixels): white for a white digit, whatever the background.

    A generator does not see the palette it paints with, so an ink must mean the same in every
    image of a domain. The pixel farthest from the paper does not: behind a pale background a
    white digit's farthest pixel is one of its darker greys (down to 128), for 6% of
    colored-background's images, and colored-digit -> colored-background then drew those
    digits grey and dotted (98.7% in the target domain; 100% given a white ink:
    docs/measurements.md, "Every pair of domains (fourth round)")."""
    images = images.float()
    paper = frame_median(images)  # N×C
    pixels = images.flatten(2)  # N×C×HW
    offset = pixels - paper[:, :, None]
    farthest = pick_pixel(pixels, offset.square().sum(dim=1))
    figure = offset.abs().amax(dim=1) * 255.0 > FIGURE_STEP  # N×HW
    typical = torch.where(figure[:, None], pixels, torch.nan).nanmedian(dim=2).values.nan_to_num(0)
    reach = (pixels * typical[:, :, None]).sum(dim=1).masked_fill(~figure, -torch.inf)
    strongest = pick_pixel(pixels, reach)
    line = torch.stack([farthest, paper], dim=1)
    away = off_the_line(images, line).flatten(1) * 255.0  # N×HW
    shaded = (away * figure).sum(dim=1) > FLAT_WITHIN * figure.sum(dim=1)
    ink = torch.where(shaded[:, None], strongest, farthest)
    return torch.stack([ink, paper], dim=1)


def pick_pixel(pixels: torch.Tensor, score: torch.Tensor) -> torch.Tensor:
    """Each image's pixel (N×C) where `score` (N×HW) is highest."""
    best = score.argmax(dim=1)
    return pixels.gather(2, best[:, None, None].expand(-1, pixels.shape[1], 1))[..., 0]


def compose(
    logits: torch.Tensor,
    palette: torch.Tensor,
    figure: torch.Tensor,
    shaded: torch.Tensor | None = None,
) -> torch.Tensor:
    """The image from the generator's two logit maps, a palette N×2×C and the input's figure
    map: m · min(s · ink, 1) + (1 − m) · paper, with coverage m = σ(logit + FIGURE_PRIOR ·
    (2 · figure − 1)) and shade s = MAX_SHADE · σ(logit); s = 1 where `shaded` (a 0-d 0/1
    tensor) is 0, for a target domain whose figures are flat."""
    prior = FIGURE_PRIOR * (2 * figure.to(logits.dtype) - 1)
    coverage = torch.sigmoid(logits[:, :1] + prior)
    shade = MAX_SHADE * torch.sigmoid(logits[:, 1:2])
    if shaded is not None:
        shaded = shaded.to(logits.dtype)
        shade = shaded * shade + (1 - shaded)
    ink = palette[:, 0, :, None, None].to(logits.dtype)
    paper = palette[:, 1, :, None, None].to(logits.dtype)
    return coverage * (shade * ink).clamp(max=1.0) + (1 - coverage) * paper


def bank_index(images: torch.Tensor, bank_size: int) -> torch.Tensor:
    """A palette index per image from a hash of its pixels as uint8 values, in integers (the
    same on every device): unrelated to the digit's class, fixed for a given input. A large
    image is hashed in slices of HASH_SLICE values, so it takes no eight-byte copy of itself;
    integer sums do not depend on their order, so the index is the one sum's."""
    values = images.flatten(1)
    if torch.onnx.is_in_onnx_export() or values.shape[1] <= HASH_SLICE:  # a graph: one sum
        return hash_sum(values, 0) % bank_size
    slices = range(0, values.shape[1], HASH_SLICE)
    return sum(hash_sum(values[:, start : start + HASH_SLICE], start) for start in slices) % (
        bank_size
    )


def hash_sum(values: torch.Tensor, start: int) -> torch.Tensor:
    """Σ pixel · weight(position) over N×P model values whose first position is `start`."""
    pixels = (values.float().clamp(0, 1) * 255).round().to(torch.int64)
    positions = torch.arange(values.shape[1], device=values.device, dtype=torch.int64) + start
    weights = (positions * HASH_MULTIPLIER + 1) % HASH_MODULUS
    return (pixels * weights).sum(dim=1)


def with_palette(
    generator: torch.nn.Module, images: torch.Tensor, palette: torch.Tensor | None
) -> torch.Tensor:
    """generator(images), given `palette` if there is one (any other generator takes none)."""
    return generator(images) if palette is None else generator(images, palette)


def painted_like(
    generator: torch.nn.Module, images: torch.Tensor, originals: torch.Tensor | None
) -> torch.Tensor:
    """generator(images), a two-tone one painting in the colours of `originals` (model values,
    one per image) where given: the way back of a round trip returns the input's own colours,
    as in training, instead of the bank's."""
    if originals is None or not isinstance(generator, TwoToneGenerator):
        return generator(images)
    return generator(images, estimate_palette(originals))


@torch.no_grad()
def bank_from(pixels: torch.Tensor, seed: int) -> torch.Tensor:
    """BANK_SIZE palettes of real images (N×C×H×W uint8), drawn by `seed`, in [0, 1]; with
    fewer images than that, they repeat."""
    generator = torch.Generator().manual_seed(seed)
    picks = torch.randint(len(pixels), (BANK_SIZE,), generator=generator).to(pixels.device)
    return estimate_palette(pixels[picks].float() / 255.0)


@torch.no_grad()
def off_the_line(images: torch.Tensor, palette: torch.Tensor | None = None) -> torch.Tensor:
    """Each pixel's distance (0-1 per channel, Euclidean over channels) from the segment
    between its palette's paper and ink colours (N×2×C; read from each image if not given),
    N×H×W: 0 wherever the image is a mix of those two colours, as a coverage draws it."""
    palette = estimate_palette(images) if palette is None else palette.float()
    ink, paper = palette.unbind(dim=1)  # N×C each
    span = (ink - paper)[:, :, None, None]
    offset = images.float() - paper[:, :, None, None]
    length = span.square().sum(dim=1, keepdim=True).clamp(min=1e-12)
    along = ((offset * span).sum(dim=1, keepdim=True) / length).clamp(0, 1)
    return (offset - along * span).square().sum(dim=1).sqrt()


@torch.no_grad()
def figures_are_flat(pixels: torch.Tensor) -> bool:
    """Whether a domain's real images (N×C×H×W uint8, C = 3) are each a mix of two colours
    only, so that a coverage draws them and a shade has nothing to add: a thresholded or
    blended colored-digit, a blended colored-background. Not a thresholded colored-background,
    whose digit keeps MNIST's grey levels, nor a grey domain, where coverage and shade are one
    freedom (the generator keeps both, as before this check existed). With the shade free, a
    generator into flat figures can carry what the way back needs in its figure's shading (the
    grey levels colored-digit erases), a signal too strong for noise on the fakes to drown,
    and the figure's colour strays from the data's (docs/measurements.md, "Every pair of
    domains (third round)")."""
    if pixels.shape[1] == 1:
        return False
    sample = pixels[: min(len(pixels), 1024)].float() / 255.0
    paper = estimate_palette(sample)[:, 1, :, None, None]
    figure = (sample - paper).abs().amax(dim=1) * 255.0 > FIGURE_STEP
    if not figure.any():
        return False
    return float(off_the_line(sample)[figure].mean()) * 255.0 <= FLAT_WITHIN


@torch.no_grad()
def fill_banks(generators: dict[str, torch.nn.Module], pixels: dict[str, torch.Tensor], seed: int):
    """Give each two-tone generator the palettes of its target domain's training images
    (`pixels` by the same keys), and with `flat_figures` whether to keep its shade;
    generators without a bank are left as they are."""
    for offset, (name, generator) in enumerate(generators.items()):
        if isinstance(generator, TwoToneGenerator):
            generator.palette_bank.copy_(bank_from(pixels[name], seed + offset))
            if generator.shaded is not None:
                generator.shaded.fill_(0.0 if figures_are_flat(pixels[name]) else 1.0)


class TwoToneGenerator(GeneratorWithAdditions):
    """Draws a coverage and a shade; paints them with a palette, given or from its bank. The
    stem's features also read the palette, as a bias per channel (the figure's shade depends on
    its ink: a mid-grey one is brightened)."""

    def add_head(self, out_channels: int, settings: NetSettings) -> None:
        self.output = settings.output
        self.register_buffer("palette_bank", torch.zeros(BANK_SIZE, 2, out_channels))
        self.palette_in = nn.Linear(2 * out_channels, settings.gen_width)
        # 1: keep the shade; 0: coverage only (figures_are_flat); None: always shaded
        self.register_buffer("shaded", torch.ones(()) if settings.flat_figures else None)

    def head_outputs(self, out_channels: int) -> int:
        return 2  # coverage and shade

    def activation(self) -> nn.Module | None:
        return None  # compose() takes the logits

    def palette_for(self, image: torch.Tensor, palette: torch.Tensor | None) -> torch.Tensor:
        if palette is not None:
            return palette
        return self.palette_bank[bank_index(image, len(self.palette_bank))]

    def condition(self, stem: torch.Tensor, palette: torch.Tensor | None) -> torch.Tensor:
        return stem + self.palette_bias(palette).to(stem.dtype)[:, :, None, None]

    def finish(
        self,
        y: torch.Tensor,
        image: torch.Tensor,
        palette: torch.Tensor | None,
        whole: WholeImage | None = None,
    ) -> torch.Tensor:
        figure = figure_map(image) if whole is None else figure_map(image, whole.frame, whole.peak)
        return compose(y, palette, figure, self.shaded)

    def palette_bias(self, palette: torch.Tensor) -> torch.Tensor:
        """`palette_in` applied in fp32 as a sum of products, not a matmul: a step's two halves
        run it at once on two threads, where the matmul's weight gradient was not the same
        from run to run (tests/test_side_by_side.py). N×2×C → N×width."""
        weight, bias = self.palette_in.weight, self.palette_in.bias
        return (palette.flatten(1).float()[:, None, :] * weight[None]).sum(dim=2) + bias


@dataclass(frozen=True)
class TwoToneSettings:
    flat_figures: bool = setting(
        False, boolean(), Flag("Two-tone: no shade where the target's figures are flat.", ADDITIONS)
    )


def flat_figures_problem(net: NetSettings) -> str | None:
    if net.flat_figures and net.head != "two-tone":
        return "--flat-figures decides a two-tone output's shade: it needs --head two-tone"
    return None


VARIANT = Variant(
    name="two-tone head",
    net_settings=TwoToneSettings,
    net_problem=flat_figures_problem,
    head=("two-tone", TwoToneGenerator),
    prepare=fill_banks,
    is_on=lambda settings: settings.net.head == "two-tone",
    changes_step=True,  # palettes of real images for each half-cycle (step.py)
)
