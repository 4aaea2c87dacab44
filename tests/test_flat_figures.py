"""Flat figures: a two-tone generator into a domain of two flat colours
draws by coverage alone, decided from its target's training images; a shaded target is left
exactly as it was."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import TINY, assert_one_line_error, run_cli

from mnist_cyclegan.data import domain_arrays
from mnist_cyclegan.images import channels_first
from mnist_cyclegan.settings.resolve import Given, settings_for_new_run
from mnist_cyclegan.variants.two_tone import FIGURE_PRIOR, compose, figures_are_flat, off_the_line

FLAT = {
    ("mnist", "threshold"): False,  # one channel: coverage and shade are one freedom
    ("mnist", "blend"): False,
    ("colored-background", "threshold"): False,  # the digit keeps MNIST's grey levels
    ("colored-background", "blend"): True,  # white blended over the colour by the grey
    ("colored-digit", "threshold"): True,
    ("colored-digit", "blend"): True,
}


@pytest.mark.parametrize(("domain", "style"), FLAT)
def test_each_domain_and_style_is_read_as_flat_or_shaded(domain, style):
    images = channels_first(domain_arrays(domain, seed=3, style=style).x_train[:1024])
    assert figures_are_flat(images) == FLAT[domain, style]


def test_a_shaded_colored_background_stays_shaded_when_its_greys_are_faint():
    """The rule reads figure pixels only, so a set with few of them (digits thinned to their
    brightest core) is not taken for flat merely because most of its pixels are background."""
    arrays = domain_arrays("colored-background", seed=3)
    grey = domain_arrays("mnist").x_train[:1024]
    background = np.broadcast_to(arrays.colors_train[:1024, None, None, :], (1024, 28, 28, 3))
    thin = np.where((grey < 200)[..., None], background, arrays.x_train[:1024])
    assert not figures_are_flat(channels_first(thin))


def test_without_shade_every_pixel_is_a_mix_of_ink_and_paper():
    generator = torch.Generator().manual_seed(0)
    logits = 3 * torch.randn(64, 2, 28, 28, generator=generator)
    palette = torch.rand(64, 2, 3, generator=generator)
    figure = torch.rand(64, 1, 28, 28, generator=generator)
    flat = compose(logits, palette, figure, torch.zeros(()))
    ink, paper = palette[:, 0, :, None, None], palette[:, 1, :, None, None]
    coverage = torch.sigmoid(logits[:, :1] + FIGURE_PRIOR * (2 * figure - 1))
    torch.testing.assert_close(flat, coverage * ink + (1 - coverage) * paper)
    shaded = compose(logits, palette, figure, torch.ones(()))
    assert torch.equal(shaded, compose(logits, palette, figure))  # no buffer: as before
    assert off_the_line(flat, palette).amax() < 1e-5 < 0.1 < off_the_line(shaded, palette).amax()


def test_flat_figures_needs_the_two_tone_output(runner, tmp_path):
    args = ["train", "--out", tmp_path / "run", "--steps", "2", *TINY]
    result = run_cli(runner, *args, "--head", "sigmoid", "--flat-figures")
    assert_one_line_error(result, "needs --head two-tone")


def test_the_pair_presets_flat_figures_yield_to_a_two_tone_output_turned_off():
    pair = {"domain_a": "mnist", "domain_b": "colored-digit"}
    assert settings_for_new_run("quick", Given(pair, {})).net.flat_figures
    plain = settings_for_new_run("quick", Given(pair, {"head": "sigmoid"}))
    assert plain.net.head == "sigmoid" and not plain.net.flat_figures
    assert plain.net.problem() is None
