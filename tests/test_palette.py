"""Two-tone outputs (variants/two_tone.py): the palette read from real images, the image painted
from it, the bank's hash, and a two-tone run end to end: its bank stored with the weights, flat
backgrounds, colours from the data rather than from the digit."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import TINY, assert_one_line_process_error, run_cli, run_process
from PIL import Image
from scipy.stats import chi2_contingency
from typer.testing import CliRunner

from mnist_cyclegan.data import load_mnist
from mnist_cyclegan.domains import draw_colors, render
from mnist_cyclegan.figures import figure_map
from mnist_cyclegan.images import channels_first
from mnist_cyclegan.variants.two_tone import (
    BANK_SIZE,
    FIGURE_PRIOR,
    MAX_SHADE,
    bank_index,
    compose,
    estimate_palette,
)
from mnist_cyclegan.weights import load_generators


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    mnist = load_mnist()
    return mnist.x_test[:400], mnist.y_test[:400]


def as_model(images: np.ndarray) -> torch.Tensor:
    return channels_first(torch.from_numpy(images)).float() / 255.0


def paint(coverage: torch.Tensor, shade: torch.Tensor, palette: torch.Tensor) -> torch.Tensor:
    """compose() given the maps themselves: their logits, and an input figure of 0.5 (no
    prior either way)."""
    logits = torch.logit(torch.cat([coverage, shade / MAX_SHADE], dim=1), eps=1e-7)
    return compose(logits, palette, torch.full_like(coverage, 0.5))


def coverage_maps(grey: np.ndarray, style: str) -> torch.Tensor:
    """The coverage a renderer used: the grey value (blend) or the threshold's mask."""
    coverage = grey / 255.0 if style == "blend" else (grey >= 127.5).astype(np.float64)
    return torch.from_numpy(coverage).float()[:, None]


@pytest.mark.parametrize("style", ["threshold", "blend"])
def test_a_colored_digit_is_its_coverage_painted_with_the_palette_read_from_it(digits, style):
    grey, _ = digits
    colors = draw_colors(len(grey), seed=5)
    images = as_model(render(grey, "colored-digit", colors, style))
    palette = estimate_palette(images)
    # A tenth of MNIST's digits peak at 254, not 255: blended, their strongest pixel is a
    # 254/255 mix of the colour with white, within a grey level of the colour itself.
    exact = 0.0 if style == "threshold" else 1.0 / 255
    true_ink = torch.from_numpy(colors).float() / 255.0
    assert torch.allclose(palette[:, 0], true_ink, rtol=0, atol=exact + 1e-6)
    assert torch.equal(palette[:, 1], torch.ones(len(grey), 3))  # white paper
    shade = torch.ones_like(coverage_maps(grey, style))
    painted = paint(coverage_maps(grey, style), shade, palette)
    assert (painted - images).abs().max() <= exact + 0.5 / 255 + 1e-6  # the renderer rounds


@pytest.mark.parametrize("style", ["threshold", "blend"])
def test_a_colored_background_is_read_as_its_colour_behind_a_white_figure(digits, style):
    grey, _ = digits
    colors = draw_colors(len(grey), seed=6)
    images = as_model(render(grey, "colored-background", colors, style))
    palette = estimate_palette(images)
    assert torch.allclose(palette[:, 1], torch.from_numpy(colors).float() / 255.0)  # paper
    # The ink is the figure's brightest grey, behind every background, pale ones too (where the
    # pixel farthest from the background is a darker grey): white, or 254 for a tenth of
    # MNIST's digits (blended, a 254/255 mix of white with the background, within a grey level
    # of white).
    peak = torch.from_numpy(grey.max(axis=(1, 2))).float()[:, None] / 255
    exact = 0.0 if style == "threshold" else 1.0 / 255
    true_ink = peak.expand(-1, 3) if style == "threshold" else torch.ones(len(grey), 3)
    assert torch.allclose(palette[:, 0], true_ink, rtol=0, atol=exact + 1e-6)
    # Threshold keeps the figure's grey levels: the shade is each pixel's share of the peak.
    coverage = coverage_maps(grey, style)
    shade = torch.from_numpy(grey).float()[:, None] / 255 / peak[:, :, None, None]
    shade = shade if style == "threshold" else torch.ones_like(coverage)
    painted = paint(coverage, shade, palette)
    assert (painted - images).abs().max() <= exact + 0.5 / 255 + 1e-6


def test_a_white_digit_behind_a_pale_background_reads_white():
    """The case the farthest pixel gets wrong: MNIST's greys around a white core, on a pale
    background nearer to white than to the digit's darkest grey."""
    grey = np.zeros((1, 28, 28), dtype=np.uint8)
    grey[0, 8:20, 12:16] = 255
    grey[0, 8:20, 11] = grey[0, 8:20, 16] = 130  # the soft edge the threshold keeps
    pale = np.array([[250, 235, 245]], dtype=np.uint8)
    palette = estimate_palette(as_model(render(grey, "colored-background", pale)))
    assert torch.equal(palette[0, 0], torch.ones(3))
    assert torch.allclose(palette[0, 1], torch.from_numpy(pale[0]).float() / 255)


def test_mnist_reads_as_its_brightest_pixel_on_black(digits):
    grey, _ = digits
    palette = estimate_palette(as_model(grey))
    assert torch.equal(palette[:, 1, 0], torch.zeros(len(grey)))
    assert torch.equal(palette[:, 0, 0], torch.from_numpy(grey.max(axis=(1, 2))).float() / 255)


@pytest.mark.parametrize("domain", ["mnist", "colored-background", "colored-digit"])
def test_an_untrained_coverage_starts_from_the_input_figure(digits, domain):
    """Zero logits (what a generator starts near) cover the input's figure more than its
    background, in every domain: the painted output starts as the input's digit."""
    grey, _ = digits
    images = as_model(render(grey, domain, draw_colors(len(grey), seed=7)))
    figure = figure_map(images)
    on_figure = torch.from_numpy(grey >= 127.5)[:, None]
    assert figure[on_figure].min() > 0.5 or domain == "colored-background"
    assert figure[on_figure].mean() > 0.95 and figure[~on_figure].mean() < 0.1
    white_on_black = torch.stack([torch.ones(len(grey), 3), torch.zeros(len(grey), 3)], dim=1)
    painted = compose(torch.zeros(len(grey), 2, 28, 28), white_on_black, figure).mean(dim=1)
    inside, outside = painted[on_figure[:, 0]].mean(), painted[~on_figure[:, 0]].mean()
    assert inside > torch.sigmoid(torch.tensor(FIGURE_PRIOR)) - 0.05 > outside + 0.3


def test_the_bank_index_is_a_fixed_spread_unrelated_to_the_digit():
    mnist = load_mnist()
    images = as_model(mnist.x_test[:5000])
    index = bank_index(images, BANK_SIZE)
    assert torch.equal(index, bank_index(images.clone(), BANK_SIZE))  # the same input, the same
    assert index.min() >= 0 and index.max() < BANK_SIZE
    # 5,000 draws leave about 1 - e^(-5000/4096) = 70% of the bins in use when spread evenly.
    assert len(torch.unique(index)) > 0.68 * BANK_SIZE
    # Independence of the class: a chi-square test of class against a quarter of the bank.
    table = np.zeros((10, 4))
    np.add.at(table, (mnist.y_test[:5000], index.numpy() * 4 // BANK_SIZE), 1)
    assert chi2_contingency(table).pvalue > 0.001
    shifted = images.clone()
    shifted[:, :, 14, 14] = (shifted[:, :, 14, 14] + 1 / 255).clamp(max=1)
    assert (bank_index(shifted, BANK_SIZE) != index).float().mean() > 0.9


@pytest.fixture(scope="module")
def two_tone_run(tmp_path_factory):
    """The quick preset (two-tone) on mnist <-> colored-background, tiny: 120 steps."""
    out = tmp_path_factory.mktemp("two-tone") / "run"
    tiny = ["--gen-width", "8", "--res-blocks", "1", "--disc-width", "8", "--batch-size", "16"]
    args = ["train", "--out", out, "--preset", "quick", "--domain-b", "colored-background"]
    args += [*tiny, "--train-digits", "640", "--steps", "120", "--device", "cpu"]
    result = run_cli(CliRunner(), *args)
    assert result.exit_code == 0, result.output
    return out


def test_two_tone_runs_store_their_bank_and_paint_flat_backgrounds(runner, tmp_path, two_tone_run):
    weights = two_tone_run / "weights.safetensors"
    g_ab, _, meta = load_generators(weights)
    assert meta.net.head == "two-tone"
    # Real colored-background palettes, drawn from all 640 training images (4,096 draws leave
    # almost none out): as many distinct background colours, no empty (zero) rows.
    assert len(torch.unique(g_ab.palette_bank[:, 1], dim=0)) >= 600
    json_out = tmp_path / "scores.json"
    scored = run_cli(runner, "eval", weights, "--limit", "1000", "--json", json_out)
    assert scored.exit_code == 0, scored.output
    a2b = json.loads(json_out.read_text())["a2b"]
    # One background colour per image (the painted-everything output read 8-12 grey levels
    # after a full run), and colours that do not follow the digit: with 1,000 digits, η² of
    # colour on class is ~0.009 by chance (real colours: 0.007 here; this run 0.008).
    assert a2b["flatness"] < 2.0, a2b
    assert a2b["color_class_dependence"] < 0.03, a2b


def test_a_round_trip_comes_back_in_the_input_colours(runner, tmp_path, two_tone_run):
    """translate --cycle: colored-background -> mnist -> colored-background paints the way back
    with the input's own palette, as training does, not with one from the bank."""
    grey = load_mnist().x_test[:6]
    colors = np.array([[200, 30, 40], [20, 90, 200], [250, 240, 10]] * 2, dtype=np.uint8)
    images = render(grey, "colored-background", colors)
    inputs = tmp_path / "in"
    inputs.mkdir()
    for index, image in enumerate(images):
        Image.fromarray(image).save(inputs / f"{index}.png")
    weights = two_tone_run / "weights.safetensors"
    args = ["translate", weights, inputs, tmp_path / "out", "--direction", "b2a", "--cycle"]
    result = run_cli(runner, *args)
    assert result.exit_code == 0, result.output
    for index, color in enumerate(colors):
        back = np.asarray(Image.open(tmp_path / "out" / f"{index}.cycle.png"))
        assert back.shape == (28, 28, 3)
        corner = back[:3, :3].reshape(-1, 3).astype(int)  # background, away from the digit
        assert np.abs(corner - color.astype(int)).max() <= 2, (index, corner[0], color)


def test_a_head_is_one_name_and_an_unknown_one_is_one_line(runner, tmp_path):
    """Heads exclude each other by construction: one --head; a name that is none is refused
    before anything is written."""
    args = ["train", "--out", tmp_path / "run", "--steps", "2", *TINY, "--head", "rainbow"]
    assert_one_line_process_error(run_process(*args), "--head", "rainbow")
    assert not (tmp_path / "run").exists()
