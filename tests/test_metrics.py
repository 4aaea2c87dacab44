"""Every metric against an independent implementation, at values where a wrong constant, window,
square root or formula would show (scikit-image and scipy are test extras)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import scipy.stats
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from mnist_cyclegan.data import load_mnist
from mnist_cyclegan.evaluation import metrics


def noisy_pairs(channels: int | None, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Real digits and a degraded copy: noise, a shift and a contrast change."""
    rng = np.random.default_rng(seed)
    digits = load_mnist().x_test[:6].astype(np.float64)
    if channels == 3:
        digits = np.stack([digits, 255 - digits, digits * 0.5], axis=-1)
    degraded = 0.8 * np.roll(digits, 1, axis=2) + rng.normal(0, 20, digits.shape) + 10
    return digits.round().astype(np.uint8), degraded.clip(0, 255).round().astype(np.uint8)


@pytest.mark.parametrize("channels", [None, 3])
def test_psnr_matches_scikit_image(channels):
    truth, output = noisy_pairs(channels)
    ours = metrics.psnr(output, truth)
    theirs = [
        peak_signal_noise_ratio(t, o, data_range=255) for t, o in zip(truth, output, strict=True)
    ]
    assert 5 < min(theirs) < max(theirs) < 40
    np.testing.assert_allclose(ours, theirs, rtol=1e-10)


@pytest.mark.parametrize("channels", [None, 3])
def test_ssim_matches_scikit_images_gaussian_ssim(channels):
    """Wang et al.'s settings: Gaussian window σ 1.5 (11×11), population statistics,
    K1 0.01 and K2 0.03 of the 255 range, averaged over the valid window positions."""
    truth, output = noisy_pairs(channels, seed=1)
    ours = metrics.ssim(output, truth)
    axis = None if channels is None else -1
    theirs = [
        structural_similarity(
            t,
            o,
            data_range=255,
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
            channel_axis=axis,
        )  # fmt: skip
        for t, o in zip(truth, output, strict=True)
    ]
    assert 0.05 < min(theirs) < max(theirs) < 0.95
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-9)


def test_frechet_distance_matches_scipy_with_unequal_covariances():
    rng = np.random.default_rng(2)
    a = rng.normal(size=(400, 6)) @ rng.normal(size=(6, 6))
    b = rng.normal(size=(300, 6)) @ rng.normal(size=(6, 6)) + 0.7
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = scipy.linalg.sqrtm(cov_a @ cov_b).real
    expected = ((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * root)
    assert expected > 1
    assert metrics.frechet_distance(a, b) == pytest.approx(expected, rel=1e-8)
    assert metrics.frechet_distance(a, a) == pytest.approx(0, abs=1e-8)


def test_wasserstein_1d_matches_scipy_on_unlike_distributions():
    rng = np.random.default_rng(3)
    for u, v in [
        (rng.uniform(0, 255, 500), rng.normal(100, 30, 700)),
        (rng.integers(0, 255, 64).astype(float), np.full(40, 17.0)),  # one colour everywhere
        (rng.exponential(20, 300), rng.uniform(0, 10, 10)),
    ]:
        expected = scipy.stats.wasserstein_distance(u, v)
        assert metrics.wasserstein_1d(u, v) == pytest.approx(expected, rel=1e-10)


def test_one_colour_everywhere_scores_about_a_quarter_of_the_range():
    """The README's figure: W1 between one fixed colour and uniform colours on 0–254 is ≥ 63."""
    rng = np.random.default_rng(4)
    real = rng.integers(0, 255, (10_000, 3))
    constant = np.full((10_000, 3), 127.0)
    mean, per_channel = metrics.color_diversity(constant, real)
    expected = [scipy.stats.wasserstein_distance(constant[:, c], real[:, c]) for c in range(3)]
    np.testing.assert_allclose(per_channel, expected, rtol=1e-10)
    assert 63 <= mean <= 65


def test_sliced_wasserstein_is_the_mean_of_scipys_w1_over_the_directions():
    rng = np.random.default_rng(3)
    colors = rng.integers(0, 255, (400, 3)).astype(np.float64)
    other = rng.normal(120, 40, (300, 3))
    expected = np.mean(
        [
            scipy.stats.wasserstein_distance(colors @ d, other @ d)
            for d in metrics.slice_directions()
        ]
    )
    assert 10 < expected < 60
    assert metrics.sliced_wasserstein(colors, other) == pytest.approx(expected, rel=1e-10)


def test_grey_outputs_pass_per_channel_w1_but_not_the_joint_colour_measure():
    """(v, v, v) with v uniform matches each channel of colours uniform in the cube."""
    rng = np.random.default_rng(4)
    real = rng.integers(0, 255, (4000, 3)).astype(np.float64)
    grey = np.repeat(rng.integers(0, 255, (4000, 1)), 3, axis=1).astype(np.float64)
    fresh = rng.integers(0, 255, (4000, 3)).astype(np.float64)
    per_channel, _ = metrics.color_diversity(grey, real)
    assert per_channel < 4  # the per-channel measure is fooled
    assert metrics.sliced_wasserstein(grey, real) > 5 * metrics.sliced_wasserstein(fresh, real)


def test_class_dependence_is_the_r2_of_colour_on_class():
    """η² pooled over channels equals 1 − RSS/TSS of a least-squares fit of the colours on the
    one-hot class (an independent computation)."""
    rng = np.random.default_rng(5)
    labels = rng.integers(0, 10, 1000)
    colors = rng.normal(0, 30, (1000, 3)) + labels[:, None] * np.array([8.0, -3.0, 1.0])
    one_hot = np.eye(10)[labels]
    fitted = one_hot @ np.linalg.lstsq(one_hot, colors, rcond=None)[0]
    expected = 1 - ((colors - fitted) ** 2).sum() / ((colors - colors.mean(0)) ** 2).sum()
    assert 0.1 < expected < 0.9
    assert metrics.class_dependence(colors, labels) == pytest.approx(expected, rel=1e-10)


def test_class_dependence_tells_colours_tied_to_the_class_from_independent_ones():
    rng = np.random.default_rng(6)
    labels = rng.integers(0, 10, 2000)
    palette = rng.integers(0, 255, (10, 3)).astype(np.float64)
    independent = rng.integers(0, 255, (2000, 3)).astype(np.float64)
    assert metrics.class_dependence(palette[labels], labels) == pytest.approx(1.0)
    assert metrics.class_dependence(independent, labels) < 0.02
