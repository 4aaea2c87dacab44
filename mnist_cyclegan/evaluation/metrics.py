"""Translation quality as numbers: fidelity (PSNR, SSIM), realism (flatness, colour diversity),
Fréchet distance and cycle reconstruction. Pure functions of uint8 image arrays.

Every test digit exists in every domain, so the true translation of a test image is known up to
its colour; where the colour is free we estimate it from the output and render the truth in it.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from mnist_cyclegan.domains import render
from mnist_cyclegan.evaluation.scores import Score

# Background std (0-255) of outputs where their inputs show background, above which they are
# mottled (train's watch and eval both say so): real data 0, eval's target 2, the quick preset's
# runs that hid shading in dots 5-20 (docs/measurements.md).
MOTTLED_ABOVE = 4.0

PSNR_CAP = 100.0  # dB: a perfect match is reported as this instead of infinity
BACKGROUND_GREY = 0  # pixels the digit does not touch at all, in every style
CORE_GREY = 250  # pixels fully covered by the digit, in every style


def as_float(images: np.ndarray) -> np.ndarray:
    """uint8 N×H×W or N×H×W×3 → float64 N×H×W×C on the 0–255 scale."""
    values = images.astype(np.float64)
    return values[..., None] if values.ndim == 3 else values


def psnr(output: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Per-image PSNR in dB on the 0–255 scale, capped at PSNR_CAP for exact matches."""
    mse = ((as_float(output) - as_float(truth)) ** 2).mean(axis=(1, 2, 3))
    with np.errstate(divide="ignore"):
        values = 10.0 * np.log10(255.0**2 / mse)
    return np.minimum(values, PSNR_CAP)


def ssim(output: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Per-image SSIM (Wang et al. 2004: 11×11 Gaussian window, σ 1.5), averaged over channels."""
    x = torch.from_numpy(as_float(output)).permute(0, 3, 1, 2)
    y = torch.from_numpy(as_float(truth)).permute(0, 3, 1, 2)
    channels = x.shape[1]
    coords = torch.arange(11, dtype=torch.float64) - 5
    gauss = torch.exp(-(coords**2) / (2 * 1.5**2))
    gauss = gauss / gauss.sum()
    window = (gauss[:, None] * gauss[None, :]).expand(channels, 1, 11, 11).contiguous()

    def blur(z: torch.Tensor) -> torch.Tensor:
        return F.conv2d(z, window, groups=channels)

    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x**2
    var_y = blur(y * y) - mu_y**2
    cov = blur(x * y) - mu_x * mu_y
    index = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / (
        (mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2)
    )
    return index.mean(dim=(1, 2, 3)).numpy()


def estimate_colors(images: np.ndarray, grey: np.ndarray, domain: str) -> np.ndarray:
    """The free colour of each image (N×3, 0–255): the median of its background pixels for
    colored-background, of its digit's core pixels for colored-digit."""
    values = as_float(images)
    if domain == "colored-background":
        mask = grey <= BACKGROUND_GREY
    else:
        mask = grey >= CORE_GREY
        empty = ~mask.any(axis=(1, 2))
        mask[empty] = grey[empty] >= 128  # faint digits: fall back to the threshold rule
    colors = np.empty((len(images), 3))
    for i in range(len(images)):  # a median per image; masks differ in size
        pixels = values[i][mask[i]]
        colors[i] = np.median(pixels, axis=0) if len(pixels) else np.nan
    return colors


def far_background(grey: np.ndarray, margin: int = 2) -> np.ndarray:
    """Background pixels at least `margin` pixels from any ink: texture, not stroke width."""
    ink = grey > BACKGROUND_GREY
    padded = np.pad(ink, ((0, 0), (margin, margin), (margin, margin)))
    near = np.zeros_like(ink)
    height, width = ink.shape[1:]
    for dy in range(2 * margin + 1):
        for dx in range(2 * margin + 1):
            near |= padded[:, dy : dy + height, dx : dx + width]
    return ~near


def background_flatness(images: np.ndarray, grey: np.ndarray) -> float:
    """Mean within-image standard deviation of the background (0–255; 0 in real data).

    Only pixels two or more pixels away from the true digit count, so a stroke drawn a little
    thicker is PSNR's business, and this measures texture and blotches in the background.
    """
    return background_spread(images, far_background(grey))


def background_spread(images: np.ndarray, background: np.ndarray) -> float:
    """Mean within-image standard deviation (0–255) of the pixels `background` (N×H×W bool)
    marks, averaged over channels; images with no such pixel are left out."""
    values = as_float(images)
    stds = [
        values[i][background[i]].std(axis=0).mean()
        for i in range(len(images))
        if background[i].any()
    ]
    return float(np.mean(stds)) if stds else float("nan")


def wasserstein_1d(u: np.ndarray, v: np.ndarray) -> float:
    """Exact W1 between two empirical 1-D distributions: the area between their CDFs."""
    u, v = np.sort(u[~np.isnan(u)]), np.sort(v[~np.isnan(v)])
    if len(u) == 0 or len(v) == 0:
        return float("nan")
    points = np.sort(np.concatenate([u, v]))
    widths = np.diff(points)
    cdf_u = np.searchsorted(u, points[:-1], side="right") / len(u)
    cdf_v = np.searchsorted(v, points[:-1], side="right") / len(v)
    return float(np.sum(np.abs(cdf_u - cdf_v) * widths))


def color_diversity(estimated: np.ndarray, real: np.ndarray) -> tuple[float, list[float]]:
    """Per-channel W1 between output colours and real colours (0–255); mean and per channel.

    A generator that paints every image the same colour scores about the spread of the real
    colours (uniform on 0–254: ≈ 64), however good its digits are.
    """
    per_channel = [wasserstein_1d(estimated[:, c], real[:, c].astype(np.float64)) for c in range(3)]
    return float(np.mean(per_channel)), per_channel


SLICES = 64  # projections for the sliced W1; its value moves ~1% between direction sets


def slice_directions(count: int = SLICES) -> np.ndarray:
    """Fixed unit directions in RGB (count×3), the same in every eval so scores compare."""
    directions = np.random.default_rng(0).normal(size=(count, 3))
    return directions / np.linalg.norm(directions, axis=1, keepdims=True)


def sliced_wasserstein(colors: np.ndarray, reference: np.ndarray) -> float:
    """Joint colour distance (0-255 scale): the mean exact W1 of the two colour clouds projected
    on fixed directions in RGB.

    Per-channel W1 cannot see how channels go together: grey outputs (v, v, v) with v uniform
    match every channel of colours uniform in the cube, yet every projection across the grey
    diagonal tells them apart.
    """
    colors = np.asarray(colors, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    colors = colors[~np.isnan(colors).any(axis=1)]
    projections = [
        wasserstein_1d(colors @ direction, reference @ direction)
        for direction in slice_directions()
    ]
    return float(np.mean(projections))


def class_dependence(colors: np.ndarray, labels: np.ndarray) -> float:
    """Share of the colours' variance that the digit's class explains (η², pooled over R, G, B):
    0 when colour and class are independent, 1 when the class fixes the colour.

    Real data draws colours independently of the digit, so there it is (classes − 1)/N or so;
    a generator that paints each digit class its own colour can still match the colour
    distribution (W1) while scoring high here.
    """
    colors = np.asarray(colors, dtype=np.float64)
    keep = ~np.isnan(colors).any(axis=1)
    colors, labels = colors[keep], np.asarray(labels)[keep]
    total = ((colors - colors.mean(axis=0)) ** 2).sum()
    if len(colors) == 0 or total == 0:
        return float("nan")
    between = sum(
        (labels == label).sum()
        * ((colors[labels == label].mean(axis=0) - colors.mean(axis=0)) ** 2).sum()
        for label in np.unique(labels)
    )
    return float(between / total)


def frechet_distance(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """‖μa − μb‖² + Tr(Σa + Σb − 2(Σa Σb)^½), the FID formula, in float64.

    The trace of the matrix square root comes from the eigenvalues of √Σa Σb √Σa, which are real
    and non-negative, so no general (complex) sqrtm is needed.
    """
    a = torch.from_numpy(np.asarray(features_a, dtype=np.float64))
    b = torch.from_numpy(np.asarray(features_b, dtype=np.float64))
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = torch.cov(a.T), torch.cov(b.T)
    eigvals, eigvecs = torch.linalg.eigh(cov_a)
    sqrt_a = eigvecs @ torch.diag(eigvals.clamp(min=0).sqrt()) @ eigvecs.T
    middle = torch.linalg.eigvalsh(sqrt_a @ cov_b @ sqrt_a).clamp(min=0)
    value = (mu_a - mu_b).square().sum() + cov_a.trace() + cov_b.trace() - 2 * middle.sqrt().sum()
    return float(value.clamp(min=0))


def true_translation(grey: np.ndarray, domain: str, style: str, colors: np.ndarray) -> np.ndarray:
    """The ground truth of a translation into `domain`, in the given (or estimated) colours."""
    safe = np.nan_to_num(colors, nan=0.0).clip(0, 255).round().astype(np.uint8)
    return render(grey, domain, safe, style)


def cycle_scores(inputs: np.ndarray, cycled: np.ndarray) -> dict[str, float]:
    l1 = np.abs(as_float(inputs) - as_float(cycled)).mean() / 255.0
    return {Score.CYCLE_L1: float(l1), Score.CYCLE_PSNR: float(psnr(cycled, inputs).mean())}


def kernel_distance(
    features_a: np.ndarray, features_b: np.ndarray, *, subset: int = 1000, subsets: int = 50
) -> float:
    """The kernel distance (KID, Bińkowski et al. 2018): the unbiased estimate of the squared
    MMD with the cubic polynomial kernel k(x, y) = (x·y / d + 1)³, averaged over `subsets`
    random subsets of `subset` features from each side (all of them where fewer), drawn from a
    fixed seed, both sets scaled by one number so that the second's features have unit mean
    square. Unlike the Fréchet distance it has no bias from the sample size."""
    a = np.asarray(features_a, dtype=np.float64)
    b = np.asarray(features_b, dtype=np.float64)
    # One scale for both sets, so that x·x / d is about 1 on the second (the reference): the
    # cubic kernel was made for Inception's features, of that scale; ours are not.
    scale = np.sqrt((b**2).sum(axis=1).mean() / b.shape[1]) if len(b) else 1.0
    a, b = a / (scale or 1.0), b / (scale or 1.0)
    size = min(subset, len(a), len(b))
    if size < 2:
        return float("nan")
    rng = np.random.default_rng(0)
    rounds = 1 if size == len(a) == len(b) else subsets
    estimates = [
        unbiased_mmd2(
            a[rng.choice(len(a), size, replace=False)], b[rng.choice(len(b), size, replace=False)]
        )
        for _ in range(rounds)
    ]
    return float(np.mean(estimates))


def unbiased_mmd2(x: np.ndarray, y: np.ndarray) -> float:
    """MMD² between two equal-sized samples with the cubic kernel, diagonals left out."""
    n, dims = len(x), x.shape[1]
    k_xx = (x @ x.T / dims + 1) ** 3
    k_yy = (y @ y.T / dims + 1) ** 3
    k_xy = (x @ y.T / dims + 1) ** 3
    within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (n * (n - 1))
    return float(within - 2 * k_xy.mean())
