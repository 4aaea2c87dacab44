"""Large images in tiles: the tiles join into the translation of the whole image, for the
bundled models' additions (whole-image statistics, the palette's hash) and the reference, and
the command translating an image at the pixel limit stays within the memory README states."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import run_cli
from PIL import Image

from mnist_cyclegan import tiles
from mnist_cyclegan.api import Translator
from mnist_cyclegan.data import load_mnist
from mnist_cyclegan.settings.schema import NetSettings
from mnist_cyclegan.variants.factory import define_generator

TRANSLATE_BOUND_MB = 1500  # README, "Try the bundled models": translate's memory at the limit


def page_of_digits(height: int, width: int, seed: int = 0) -> np.ndarray:
    """Real test digits scattered over a large grey page, with some noise: strokes for the
    model to translate everywhere, across the tiles' seams."""
    rng = np.random.default_rng(seed)
    page = rng.integers(0, 25, (height, width), dtype=np.uint8)
    digits = load_mnist().x_test
    for index in range(height * width // 4000):
        top, left = rng.integers(0, height - 84), rng.integers(0, width - 84)
        digit = np.asarray(Image.fromarray(digits[index]).resize((84, 84)))
        page[top : top + 84, left : left + 84] = np.maximum(
            page[top : top + 84, left : left + 84], digit
        )
    return page


def whole_and_tiled(forward, x: torch.Tensor, monkeypatch, activations: int):
    monkeypatch.setattr(tiles, "TILE_ACTIVATIONS", 1 << 40)  # one tile: the whole image
    whole = forward(x)
    monkeypatch.setattr(tiles, "TILE_ACTIVATIONS", activations)
    return whole, forward(x)


@pytest.mark.parametrize("model", ["mnist-colored-background", "mnist-colored-digit"])
@pytest.mark.parametrize("direction", ["a2b", "b2a"])
def test_tiles_of_a_bundled_model_join_into_the_whole_translation(monkeypatch, model, direction):
    translator = Translator.load(model)
    page = page_of_digits(600, 700)
    image = (
        page if direction == "a2b" else Translator.load(model).translate_uint8(page[None], "a2b")[0]
    )
    x = torch.from_numpy(np.asarray(image, dtype=np.float32) / 255)
    x = x[None, None] if x.ndim == 2 else x.permute(2, 0, 1)[None]
    forward = lambda batch: translator._forward(batch, direction)  # noqa: E731
    whole, tiled = whole_and_tiled(forward, x, monkeypatch, 1 << 20)
    assert tiles.needs_tiles(x, translator.meta.net)
    assert (whole - tiled).abs().max() < 1e-5  # float rounding of the convolutions alone


def test_a_margin_short_of_the_receptive_field_shows_at_the_seams(monkeypatch):
    """The check above can fail: with a margin 8 pixels short, the seams differ."""
    translator = Translator.load("mnist-colored-background")
    x = torch.from_numpy(page_of_digits(600, 700).astype(np.float32) / 255)[None, None]
    margin = tiles.receptive_margin
    monkeypatch.setattr(tiles, "receptive_margin", lambda settings: margin(settings) - 8)
    forward = lambda batch: translator._forward(batch, "a2b")  # noqa: E731
    whole, tiled = whole_and_tiled(forward, x, monkeypatch, 1 << 20)
    assert (whole - tiled).abs().max() > 1e-4


def test_tiles_of_the_reference_generator_join_exactly(monkeypatch):
    """The reference at its own depth (six blocks), with batch-norm statistics set away from
    their initial values so every layer matters."""
    torch.manual_seed(0)
    settings = NetSettings(gen_width=8)
    generator = define_generator(1, 3, settings).eval()
    for module in generator.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 2.0)
    x = torch.from_numpy(page_of_digits(520, 600).astype(np.float32) / 255)[None, None]
    with torch.no_grad():
        run = lambda batch: tiles.translate_large(generator, batch, None, settings)  # noqa: E731
        whole, tiled = whole_and_tiled(run, x, monkeypatch, 1 << 19)
    assert (whole - tiled).abs().max() < 1e-5


def test_an_instance_norm_model_too_large_to_tile_is_refused_naming_the_image():
    settings = NetSettings(gen_width=64, norm="instance")
    x = torch.zeros(1, 1, 4096, 4096)
    with pytest.raises(Exception, match="the image: 4096×4096 pixels.*cannot translate in tiles"):
        tiles.translate_large(torch.nn.Identity(), x, None, settings)
    tiles.check_whole(4096, 4096, NetSettings(gen_width=64), "scan.png")  # batch norm: tiles


def test_translate_of_an_image_at_the_pixel_limit_stays_within_the_stated_memory(tmp_path):
    """The command on a 4096 × 4096 image, in its own process, its peak resident memory read
    by the kernel: within README's bound (before tiles it took 5 GB). VmHWM is the process's
    own: getrusage's maximum would also count the forking test worker's memory."""
    page = np.tile(page_of_digits(1024, 1024), (4, 4))
    Image.fromarray(page).save(tmp_path / "page.png")
    code = (
        "import sys\n"
        "from mnist_cyclegan.cli import main\n"
        "sys.argv = ['mnistgan', 'translate', 'mnist-colored-digit', "
        f"{str(tmp_path / 'page.png')!r}, {str(tmp_path / 'out.png')!r}]\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as code:\n"
        "    assert not code.code, code\n"
        "print(next(int(line.split()[1]) // 1024 for line in open('/proc/self/status') "
        "if line.startswith('VmHWM')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    peak_mb = int(result.stdout.split()[-1])
    assert peak_mb < TRANSLATE_BOUND_MB, peak_mb
    with Image.open(tmp_path / "out.png") as out:
        assert out.size == (4096, 4096) and out.mode == "RGB"


def test_translate_in_tiles_through_the_cli_writes_the_whole_translation(
    runner, tmp_path, monkeypatch
):
    page = page_of_digits(700, 900)
    Image.fromarray(page).save(tmp_path / "page.png")
    monkeypatch.setattr(tiles, "TILE_ACTIVATIONS", 1 << 40)
    expected = Translator.load("mnist-colored-digit").a2b(page)
    monkeypatch.setattr(tiles, "TILE_ACTIVATIONS", 1 << 20)
    out = tmp_path / "o.png"
    result = run_cli(runner, "translate", "mnist-colored-digit", tmp_path / "page.png", out)
    assert result.exit_code == 0, result.output
    with Image.open(tmp_path / "o.png") as out:
        assert np.abs(np.asarray(out).astype(int) - expected).max() <= 1


def test_the_palette_hash_in_slices_is_the_one_sum(monkeypatch):
    """A large image's palette is picked by the same index, hashed in slices or at once."""
    from mnist_cyclegan.variants import two_tone

    images = torch.rand(3, 3, 700, 800)
    sliced = two_tone.bank_index(images, two_tone.BANK_SIZE)
    monkeypatch.setattr(two_tone, "HASH_SLICE", 1 << 40)
    assert torch.equal(sliced, two_tone.bank_index(images, two_tone.BANK_SIZE))


def test_translate_refuses_an_image_an_instance_norm_model_cannot_take_before_any_output(
    runner, tmp_path
):
    from conftest import TINY, assert_one_line_error

    run = tmp_path / "run"
    trained = run_cli(runner, "train", "--out", run, "--steps", "1", "--norm", "instance", *TINY)
    assert trained.exit_code == 0, trained.output
    Image.fromarray(np.zeros((64, 64), np.uint8)).save(tmp_path / "a-small.png")
    Image.fromarray(np.zeros((4096, 4096), np.uint8)).save(tmp_path / "big.png")
    out = tmp_path / "out"
    result = run_cli(runner, "translate", run / "weights.safetensors", tmp_path / "*.png", out)
    assert_one_line_error(result, "big.png", "cannot translate in tiles")
    assert not out.exists() or not any(out.iterdir())
