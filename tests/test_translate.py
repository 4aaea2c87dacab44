"""`mnistgan translate` on real image files of every kind, and every bad input refused cleanly."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
from conftest import TINY_NET, assert_one_line_error, run_cli, unblock_readers_later
from PIL import Image
from safetensors.torch import save_file
from typer.testing import CliRunner

from mnist_cyclegan.data import load_mnist

TINY = [*TINY_NET, "--batch-size", "16", "--train-digits", "64", "--device", "cpu"]


@pytest.fixture(scope="session")
def colour_weights(tmp_path_factory):
    """A model whose both sides take 3 channels: the direction must be given."""
    out = tmp_path_factory.mktemp("colour") / "run"
    args = ["--domain-a", "colored-digit", "--domain-b", "colored-background", "--steps", "2"]
    result = run_cli(CliRunner(), "train", "--out", out, *args, *TINY)
    assert result.exit_code == 0, result.output
    return out / "weights.safetensors"


def digit(index: int = 0) -> np.ndarray:
    return load_mnist().x_test[index]


def write_inputs(folder) -> dict[str, tuple[int, int]]:
    """One file per kind a user may hand us; returns name → (width, height)."""
    folder.mkdir(exist_ok=True)
    grey = digit()
    rgb = np.stack([grey, 255 - grey, grey // 2], axis=-1).astype(np.uint8)
    Image.fromarray(grey).save(folder / "grey.png")
    Image.fromarray(rgb).save(folder / "rgb.png")
    Image.fromarray(np.dstack([rgb, np.full_like(grey, 200)])).save(folder / "rgba.png")
    Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE).save(folder / "palette.png")
    Image.fromarray(grey.astype(np.uint16) * 257).save(folder / "sixteen.png")
    Image.fromarray(rgb).save(folder / "photo.jpg", quality=90)
    Image.fromarray(np.pad(grey, 1)).save(folder / "odd30.png")
    Image.fromarray(np.resize(grey, (64, 40))).save(folder / "wide.png")
    return {
        "grey": (28, 28), "rgb": (28, 28), "rgba": (28, 28), "palette": (28, 28),
        "sixteen": (28, 28), "photo": (28, 28), "odd30": (30, 30), "wide": (40, 64),
    }  # fmt: skip


def test_every_image_kind_translates_at_its_own_size(runner, tmp_path, weights):
    sizes = write_inputs(tmp_path / "in")
    assert Image.open(tmp_path / "in" / "sixteen.png").mode.startswith("I")
    for name, size in sizes.items():
        source = next((tmp_path / "in").glob(f"{name}.*"))
        target = tmp_path / f"{name}-out.png"
        result = run_cli(runner, "translate", weights, source, target, "--cycle")
        assert result.exit_code == 0, (name, result.output)
        out = Image.open(target)
        assert out.size == size, name
        grey_input = name in ("grey", "sixteen", "odd30", "wide")
        assert out.mode == ("RGB" if grey_input else "L"), name  # grey goes to the 1-channel side
        assert Image.open(tmp_path / f"{name}-out.cycle.png").size == size
        assert "translated 1 image" in result.output


def test_folder_and_glob_modes(runner, tmp_path, weights):
    sizes = write_inputs(tmp_path / "in")
    result = run_cli(runner, "translate", weights, tmp_path / "in", tmp_path / "out")
    assert result.exit_code == 0, result.output
    written = sorted(p.stem for p in (tmp_path / "out").glob("*.png"))
    assert written == sorted(sizes)
    assert f"translated {len(sizes)} image(s)" in result.output
    globbed = run_cli(runner, "translate", weights, str(tmp_path / "in" / "*.png"), tmp_path / "g")
    assert globbed.exit_code == 0, globbed.output
    assert len(list((tmp_path / "g").glob("*.png"))) == len(sizes) - 1  # the .jpg is left out


def test_direction_is_required_when_both_sides_take_colour(runner, tmp_path, colour_weights):
    write_inputs(tmp_path / "in")
    source = tmp_path / "in" / "rgb.png"
    result = run_cli(runner, "translate", colour_weights, source, tmp_path / "x.png")
    assert_one_line_error(result, "--direction")
    assert not (tmp_path / "x.png").exists()
    ok = run_cli(
        runner, "translate", colour_weights, source, tmp_path / "x.png", "--direction", "b2a"
    )
    assert ok.exit_code == 0, ok.output
    assert Image.open(tmp_path / "x.png").mode == "RGB"


def bad_images(folder) -> dict[str, str]:
    """name → a fragment the error line must contain."""
    folder.mkdir()
    (folder / "notes.png").write_text("this is text, not a picture")
    (folder / "empty.png").write_bytes(b"")
    whole = folder / "whole.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64), np.uint8)).save(whole)
    (folder / "truncated.png").write_bytes(whole.read_bytes()[:200])
    whole.unlink()
    # a valid PNG signature and IHDR chunk claiming 100,000 × 100,000 pixels, and no data
    import struct
    import zlib

    def png_chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 0, 0, 0, 0)
    bomb = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr)
    bomb += png_chunk(b"IDAT", zlib.compress(bytes(100_001 * 50)))  # 50 rows of zeros
    bomb += png_chunk(b"IEND", b"")
    (folder / "bomb.png").write_bytes(bomb)
    return {"notes.png": "not an image", "empty.png": "empty", "truncated.png": "broken",
            "bomb.png": "pixels", "missing.png": "no such file"}  # fmt: skip


def test_bad_images_fail_with_one_line_and_write_nothing(runner, tmp_path, weights):
    cases = bad_images(tmp_path / "bad")
    for name, fragment in cases.items():
        target = tmp_path / "out.png"
        result = run_cli(runner, "translate", weights, tmp_path / "bad" / name, target)
        assert_one_line_error(result, name, fragment)
        assert not target.exists(), name
    # one bad file in a folder: nothing at all is written
    good = tmp_path / "mixed"
    good.mkdir()
    Image.fromarray(digit()).save(good / "a.png")
    (good / "b.png").write_text("oops")
    result = run_cli(runner, "translate", weights, good, tmp_path / "mixed-out")
    assert_one_line_error(result, "b.png")
    assert not (tmp_path / "mixed-out").exists()


def not_an_image_file(folder, kind: str) -> str:
    """Put a zz.png in `folder` that is no plain file; returns the error fragment it must give."""
    if kind == "a-pipe":
        os.mkfifo(folder / "zz.png")  # reading it would wait for a writer forever
        unblock_readers_later(folder / "zz.png")
        return "not a regular file (a pipe)"
    if kind == "a-device":
        (folder / "zz.png").symlink_to("/dev/zero")  # reading it would never end
        return "not a regular file (a device)"
    (folder / "zz.png").symlink_to(folder / "gone.png")
    return "a link to nothing"


@pytest.mark.parametrize("kind", ["a-pipe", "a-device", "a-dead-link"])
@pytest.mark.parametrize("form", ["folder", "glob"])
def test_a_pipe_device_or_dead_link_among_inputs_is_named_not_skipped(
    runner, tmp_path, weights, kind, form
):
    inputs = tmp_path / "in"
    inputs.mkdir()
    Image.fromarray(digit()).save(inputs / "a.png")
    (inputs / "sub.png").mkdir()  # a folder with an image's name is passed over, not refused
    fragment = not_an_image_file(inputs, kind)
    spec = inputs if form == "folder" else inputs / "*.png"
    result = run_cli(runner, "translate", weights, spec, tmp_path / "out")
    assert_one_line_error(result, "zz.png", fragment)
    assert not (tmp_path / "out").exists()
    (inputs / "zz.png").unlink()
    result = run_cli(runner, "translate", weights, spec, tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["a.png"]


def test_hidden_files_in_a_folder_are_passed_over_as_a_glob_passes_them(runner, tmp_path, weights):
    inputs = tmp_path / "in"
    inputs.mkdir()
    Image.fromarray(digit()).save(inputs / "a.png")
    (inputs / "._a.png").write_bytes(b"\x00\x05\x16\x07 macOS metadata, not an image")
    for form, spec in (("folder", inputs), ("glob", inputs / "*.png")):
        out = tmp_path / f"out-{form}"
        result = run_cli(runner, "translate", weights, spec, out)
        assert result.exit_code == 0, result.output
        assert sorted(path.name for path in out.iterdir()) == ["a.png"]
    result = run_cli(runner, "translate", weights, inputs / "._a.png", tmp_path / "one.png")
    assert_one_line_error(result, "._a.png", "not an image")  # named, it is read and refused


def bad_weights(folder, weights) -> dict[str, str]:
    folder.mkdir()
    (folder / "empty.safetensors").write_bytes(b"")
    (folder / "random.safetensors").write_bytes(np.random.default_rng(1).bytes(5000))
    (folder / "truncated.safetensors").write_bytes(weights.read_bytes()[:50_000])
    (folder / "huge.safetensors").write_bytes((2**62).to_bytes(8, "little") + b"{}" * 10)
    import torch

    save_file({"w": torch.zeros(3)}, str(folder / "other.safetensors"), metadata={"x": "y"})
    with open(folder / "pickle.safetensors", "wb") as handle:
        pickle.dump({"weights": [1, 2, 3]}, handle)
    return {"empty.safetensors": "too short", "random.safetensors": "not a safetensors",
            "truncated.safetensors": "truncated", "huge.safetensors": "header claims",
            "other.safetensors": "not an mnistgan-generators file",
            "pickle.safetensors": "not a safetensors"}  # fmt: skip


def test_bad_weights_fail_with_one_line_and_never_unpickle(runner, tmp_path, weights, monkeypatch):
    cases = bad_weights(tmp_path / "w", weights)
    source = tmp_path / "in.png"
    Image.fromarray(digit()).save(source)

    def forbidden(*args, **kwargs):
        raise AssertionError("something tried to unpickle")

    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(pickle, "loads", forbidden)
    for name, fragment in cases.items():
        target = tmp_path / "out.png"
        result = run_cli(runner, "translate", tmp_path / "w" / name, source, target)
        assert_one_line_error(result, name, fragment)
        assert not target.exists(), name


def test_grey_and_colour_inputs_of_one_size_in_one_direction(runner, tmp_path, weights):
    """With --direction given, grey and RGB files of the same size go the same way."""
    folder = tmp_path / "mixed"
    folder.mkdir()
    Image.fromarray(digit()).save(folder / "grey.png")
    Image.fromarray(np.repeat(digit(1)[..., None], 3, axis=-1)).save(folder / "rgb.png")
    args = ["translate", weights, folder, tmp_path / "out", "--direction", "a2b"]
    result = run_cli(runner, *args)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["grey.png", "rgb.png"]
