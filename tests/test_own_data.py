"""A user's own two image sets: every kind of input read, trained on and scored through the CLI;
hostile folders and arrays refused with one line; the quick preset's check of the data."""

from __future__ import annotations

import json
import os
import re
import struct
import zlib
from dataclasses import replace

import numpy as np
import pytest
import torch
from conftest import (
    assert_one_line_error,
    assert_resumes_bit_identical,
    run_cli,
    unblock_readers_later,
)
from PIL import Image

from mnist_cyclegan.api import Translator
from mnist_cyclegan.data import DomainArrays, folders, load_mnist
from mnist_cyclegan.data.sources import read_side
from mnist_cyclegan.domains import draw_colors, render
from mnist_cyclegan.evaluation.metrics import kernel_distance
from mnist_cyclegan.evaluation.scores import Score
from mnist_cyclegan.settings.own_data import adapted, flat_frame_share, two_tone_share
from mnist_cyclegan.settings.schema import TrainSettings

TINY = ["--gen-width", "8", "--res-blocks", "1", "--disc-width", "8", "--device", "cpu"]


def photo_digits(grey: np.ndarray, seed: int) -> np.ndarray:
    """MNIST-M's construction on a real photograph: |crop − digit| per channel."""
    from skimage import data

    photo = data.astronaut()
    rng = np.random.default_rng(seed)
    out = np.empty((*grey.shape, 3), dtype=np.uint8)
    for index, digit in enumerate(grey):
        top, left = rng.integers(0, photo.shape[0] - grey.shape[1], size=2)
        crop = photo[top : top + grey.shape[1], left : left + grey.shape[2]].astype(np.int16)
        out[index] = np.abs(crop - digit[..., None].astype(np.int16))
    return out


def write_class_folders(root, images: np.ndarray, labels: np.ndarray) -> None:
    for index, (image, label) in enumerate(zip(images, labels, strict=True)):
        folder = root / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(folder / f"{index:05d}.png")


@pytest.fixture(scope="module")
def digits():
    mnist = load_mnist()
    return mnist.x_train[:1400], mnist.y_train[:1400]


def test_mnist_to_photo_digits_from_a_folder_and_an_npz_translates_and_scores(
    runner, tmp_path, digits
):
    """Grey digits in class folders (labels from the folder names) against photo-blended
    digits in a Keras-style .npz: a short quick run's outputs land in the target domain by the
    check trained on the two real sets, and the labels give accuracies."""
    grey, labels = digits
    write_class_folders(tmp_path / "handwritten", grey[:700], labels[:700])
    photo = photo_digits(grey[700:], seed=1)
    np.savez(
        tmp_path / "photo.npz", x_train=photo[:600], y_train=labels[700:1300],
        x_test=photo[600:], y_test=labels[1300:],
    )  # fmt: skip
    out = tmp_path / "run"
    args = ["train", "--preset", "quick", "--data-a", tmp_path / "handwritten"]
    args += ["--data-b", tmp_path / "photo.npz", "--out", out, "--steps", "150", "--epochs", "10"]
    args += ["--eval-every", "150"]
    result = run_cli(runner, *args, "--batch-size", "16", *TINY)
    assert result.exit_code == 0, result.output
    assert "two-tone output off" in result.output, result.output[:600]
    share = re.search(r"photo: (\d+)%; needs 90%", result.output)
    assert share is not None and int(share.group(1)) < 90, result.output[:600]
    settings = json.loads((out / "config.json").read_text())["settings"]
    assert settings["net"]["head"] == "sigmoid" and settings["size"] == 28
    assert "identity term off" in result.output and settings["lambda_identity"] == 0.0
    logged = (out / "eval.csv").read_text().splitlines()
    assert logged[0].startswith("step,seconds,split,a2b_target_domain_share") and len(logged) == 2
    assert (settings["domain_a"], settings["domain_b"]) == ("handwritten", "photo")
    scores_file = tmp_path / "scores.json"
    scored = run_cli(runner, "eval", out / "weights.safetensors", "--json", scores_file)
    assert scored.exit_code == 0, scored.output
    assert "handwritten -> photo" in scored.output and "KID" in scored.output
    scores = json.loads(scores_file.read_text())
    assert scores["kind"] == "sets" and "handwritten" in scores["data"]["a"]
    named = {score.value for score in Score}  # every score is one the scores type names
    assert set(scores["a2b"]) | set(scores["b2a"]) <= named
    for direction in ("a2b", "b2a"):
        values = scores[direction]
        assert values["target_domain_share_input"] < 0.1, (direction, values)
        assert values["target_domain_share"] > 0.5, (direction, values)
        assert values["target_domain_share_real"] > 0.9, (direction, values)
        assert 0 <= values["accuracy"] <= 1 and "adaptation_accuracy" in values
        assert values["frechet_set_distance"] >= 0 and np.isfinite(values["kernel_set_distance"])
    weights = out / "weights.safetensors"
    Image.fromarray(grey[0]).save(tmp_path / "mine.png")
    args = ["translate", weights, tmp_path / "mine.png", tmp_path / "out.png", "--direction", "a2b"]
    translated = run_cli(runner, *args)
    assert translated.exit_code == 0, translated.output
    assert np.asarray(Image.open(tmp_path / "out.png")).shape == (28, 28, 3)
    back = Translator.load(weights).b2a(photo[0])
    assert back.shape == (28, 28) and back.dtype == np.uint8


@pytest.mark.parametrize("kind", ["labels-file", "cyclegan-layout", "idx", "grey-npz", "make-data"])
def test_each_kind_of_input_trains_a_few_steps(runner, tmp_path, digits, kind):
    grey, labels = digits
    spec = tmp_path / "set"
    if kind == "labels-file":
        spec.mkdir()
        lines = ["path,label"]
        for index, image in enumerate(photo_digits(grey[:60], 2)):
            Image.fromarray(image).save(spec / f"p{index}.jpg", quality=95)
            lines.append(f"p{index}.jpg,{labels[index]}")
        (spec / "labels.csv").write_text("\n".join(lines) + "\n")
    elif kind == "cyclegan-layout":
        for split, part in (("trainB", grey[:50]), ("testB", grey[50:60])):
            (spec / split).mkdir(parents=True)
            for index, image in enumerate(photo_digits(part, 3)):
                Image.fromarray(image).resize((32, 32)).save(spec / split / f"{index}.png")
    elif kind == "idx":
        spec.mkdir()
        header = struct.pack(">BBBBIII", 0, 0, 8, 3, 60, 28, 28)
        (spec / "train-images-idx3-ubyte").write_bytes(header + (255 - grey[:60]).tobytes())
    elif kind == "grey-npz":
        spec = tmp_path / "set.npz"
        np.savez(spec, x_train=(255 - grey[:60])[..., None], y_train=labels[:60])
    else:
        spec = tmp_path / "set.npz"
        made = run_cli(runner, "make-data", "--domain", "colored-digit", "--out", spec)
        assert made.exit_code == 0, made.output
    out = tmp_path / "run"
    args = ["train", "--data-a", "mnist", "--data-b", spec, "--out", out, "--steps", "2"]
    result = run_cli(runner, *args, "--batch-size", "4", "--size", "28", *TINY)
    assert result.exit_code == 0, result.output
    settings = json.loads((out / "config.json").read_text())["settings"]
    expected = {"cyclegan-layout": "set-B", "make-data": "colored-digit"}.get(kind, "set")
    assert settings["domain_b"] == expected
    arrays = read_side(str(spec), expected, "b", style="threshold", seed=0, size=28)
    assert arrays.size == 28 and len(arrays.x_test) > 0
    assert arrays.labelled == (kind in ("labels-file", "grey-npz", "make-data"))
    assert arrays.channels == (1 if kind in ("idx", "grey-npz") else 3)


def test_labels_from_class_folders_and_a_labels_file_agree(tmp_path, digits):
    grey, labels = digits
    write_class_folders(tmp_path / "classes", grey[:40], labels[:40])
    flat = tmp_path / "flat"
    flat.mkdir()
    for index, image in enumerate(grey[:40]):
        Image.fromarray(image).save(flat / f"{labels[index]}_{index:05d}.png")
    lines = [f"{labels[i]}_{i:05d}.png {labels[i]}" for i in range(40)]
    (flat / "labels.txt").write_text("\n".join(lines))
    by_folder = folders.read_folder_set(tmp_path / "classes", "a").train
    by_file = folders.read_folder_set(flat, "a").train
    assert by_folder.classes == tuple(str(d) for d in range(10))
    assert by_folder.labels == [int(path.parent.name) for path in by_folder.files]
    assert by_file.labels == [int(path.name.split("_")[0]) for path in by_file.files]
    assert sorted(by_file.labels) == sorted(by_folder.labels) == sorted(labels[:40])


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width × height pixels."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


def hostile_set(tmp_path, digits, case: str):
    grey, _ = digits
    root = tmp_path / "hostile"
    root.mkdir()
    for index, image in enumerate(grey[:20]):
        Image.fromarray(image).save(root / f"{index}.png")
    if case == "huge-claim":
        (root / "bomb.png").write_bytes(png_claiming(40_000, 40_000))
        return root, ("bomb.png", "40000×40000")
    if case == "not-an-image":
        (root / "notes.png").write_text("these are my notes, not a picture")
        return root, ("notes.png", "not an image")
    if case == "mixed-sizes":
        Image.fromarray(np.zeros((40, 30), np.uint8)).save(root / "odd.png")
        return root, ("hostile", "--size")
    if case == "labels-missing":
        (root / "labels.csv").write_text("0.png,3\n")
        return root, ("labels.csv", "no label for")
    if case == "a-pipe":
        os.mkfifo(root / "zz.png")  # reading it would wait for a writer forever
        unblock_readers_later(root / "zz.png")
        return root, ("zz.png", "not a regular file")
    if case == "a-device":
        (root / "zz.png").symlink_to("/dev/zero")  # reading it would never end
        return root, ("zz.png", "not a regular file")
    if case == "a-dead-link":
        (root / "zz.png").symlink_to(tmp_path / "gone.png")
        return root, ("zz.png", "a link to nothing")
    if case == "too-few":
        path = tmp_path / "few.npz"
        np.savez(path, x_train=grey[:3])  # fewer than a batch of 4
        return path, ("few.npz", "2 training images, fewer than --batch-size 4")  # 1 held out
    if case == "npz-huge":
        path = tmp_path / "huge.npz"
        np.savez(path, x_train=np.zeros((10, 28, 28), np.float32))
        return path, ("huge.npz", "uint8")
    raise AssertionError(case)


HOSTILE_CASES = ["huge-claim", "not-an-image", "mixed-sizes", "labels-missing", "npz-huge"]
HOSTILE_CASES += ["a-pipe", "a-device", "a-dead-link", "too-few"]


@pytest.mark.parametrize("case", HOSTILE_CASES)
def test_hostile_sets_are_refused_with_one_line(runner, tmp_path, digits, case):
    spec, fragments = hostile_set(tmp_path, digits, case)
    args = ["train", "--data-a", "mnist", "--data-b", spec, "--out", tmp_path / "run"]
    result = run_cli(runner, *args, "--steps", "1", "--batch-size", "4", *TINY)
    assert_one_line_error(result, *fragments)
    assert not (tmp_path / "run").exists()


def test_a_symlink_loop_is_walked_once_and_a_folder_too_large_is_refused(
    tmp_path, digits, monkeypatch
):
    grey, _ = digits
    root = tmp_path / "loop"
    (root / "inner").mkdir(parents=True)
    for index, image in enumerate(grey[:6]):
        Image.fromarray(image).save(root / "inner" / f"{index}.png")
    (root / "inner" / "back").symlink_to(root, target_is_directory=True)
    assert len(folders.image_files(root)) == 6
    monkeypatch.setattr(folders, "MAX_ENTRIES", 5)  # a million files, scaled down: the walk stops
    with pytest.raises(Exception, match="over 5 files and folders"):
        folders.image_files(root)


def test_a_set_mixing_grey_and_colour_is_read_in_colour(tmp_path, digits):
    grey, _ = digits
    root = tmp_path / "mixed"
    root.mkdir()
    for index, image in enumerate(grey[:14]):
        Image.fromarray(image).save(root / f"g{index}.png")
    coloured = render(grey[14:28], "colored-digit", draw_colors(14, 0))
    for index, image in enumerate(coloured):
        Image.fromarray(image).save(root / f"c{index}.png")
    arrays = read_side(str(root), "mixed", "a", style="threshold", seed=0, size=None)
    assert arrays.channels == 3 and len(arrays.x_train) + len(arrays.x_test) == 28
    images = np.concatenate([arrays.x_train, arrays.x_test])
    equal = [(image == image[..., :1]).all() for image in images]
    assert sum(equal) == 14  # the grey images, in three equal channels


def test_transparent_images_are_laid_on_white_as_a_viewer_shows_them(tmp_path, digits):
    """Dark ink on a transparent sheet (alpha, grey with alpha, a palette's transparent
    colour): dropping the alpha would read it as dark on black, an empty image."""
    grey, _ = digits
    root = tmp_path / "ink"
    root.mkdir()
    for index, image in enumerate(grey[:16]):
        ink = np.zeros_like(image)  # black everywhere; only the alpha draws the digit
        if index % 3 == 0:
            Image.fromarray(np.dstack([ink, ink, ink, image]), "RGBA").save(root / f"{index}.png")
        elif index % 3 == 1:
            Image.fromarray(np.dstack([ink, image]), "LA").save(root / f"{index}.png")
        else:
            sheet = Image.fromarray(np.where(image > 127, 1, 0).astype(np.uint8), "P")
            sheet.putpalette([0, 0, 0, 0, 0, 0])
            sheet.save(root / f"{index}.png", transparency=0)
    arrays = read_side(str(root), "ink", "a", style="threshold", seed=0, size=None)
    images = np.concatenate([arrays.x_train, arrays.x_test]).astype(np.float64)
    assert arrays.channels == 1 and len(images) == 16
    corners = images[:, [0, 0, -1, -1], [0, -1, 0, -1]]
    assert (corners == 255).all()  # the transparent sheet is white
    inked = images < 128
    expected = grey[:16] > 127
    agreement = (inked[:, None] == expected[None]).mean(axis=(2, 3)).max(axis=1)
    assert agreement.min() > 0.97  # each is a digit in dark ink, where the alpha drew it


def test_kid_matches_a_direct_implementation():
    """The unbiased MMD² with the cubic kernel, written out pair by pair (after the same
    scaling), on features small enough to use all of them at once."""
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, (30, 4)), rng.normal(0.5, 1.2, (30, 4))
    scale = np.sqrt((b**2).sum(axis=1).mean() / 4)
    x, y = a / scale, b / scale

    def k(u, v):
        return (u @ v / 4 + 1) ** 3

    n = 30
    xx = sum(k(x[i], x[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(n) for j in range(n)) / n**2
    assert kernel_distance(a, b) == pytest.approx(xx + yy - 2 * xy, rel=1e-9)
    assert kernel_distance(a, a[::-1]) < 0.1 * kernel_distance(a, b)


def test_the_checks_tell_our_renderings_from_photographs(digits):
    grey, _ = digits
    for domain in ("mnist", "colored-background", "colored-digit"):
        rendered = render(grey[:300], domain, draw_colors(300, 1), "blend")
        assert flat_frame_share(rendered) == 1.0 and two_tone_share(rendered) > 0.95, domain
    photo = photo_digits(grey[:300], 4)
    assert two_tone_share(photo) < 0.5 and flat_frame_share(photo) < 0.5


def own_side(name: str, images: np.ndarray) -> DomainArrays:
    """A user's set as the readers give it: no labels, no colours, its own name."""
    none = np.zeros(len(images), dtype=np.int64)
    return DomainArrays(name, "own", 0, images, None, images, None, none, none, none, none, None)


def test_the_identity_term_goes_only_where_a_side_is_not_flat_and_never_when_given(digits):
    """On photographs the identity term is measured to cost digits (docs/measurements.md), so
    the check drops it there; figures over flat backgrounds keep it, and so does a user's flag."""
    grey, _ = digits
    flat = own_side("flat", render(grey[:300], "colored-background", draw_colors(300, 1), "blend"))
    photo = own_side("photo", photo_digits(grey[:300], 4))
    settings = replace(TrainSettings(), lambda_identity=5.0)
    kept, lines = adapted(settings, (own_side("grey", grey[:300]), flat), set())
    assert kept.lambda_identity == 5.0 and not any("identity" in line for line in lines)
    dropped, lines = adapted(settings, (own_side("grey", grey[:300]), photo), set())
    assert dropped.lambda_identity == 0.0 and any("identity term off" in x for x in lines)
    given, _ = adapted(settings, (own_side("grey", grey[:300]), photo), {"lambda_identity"})
    assert given.lambda_identity == 5.0


def test_the_longer_schedule_goes_only_where_a_side_is_not_flat_and_never_when_given(digits):
    """Photographs are measured to need five epochs where flat figures are served by three
    (docs/measurements.md); a user's --epochs or --lr-decay-epochs keeps the whole schedule."""
    grey, _ = digits
    flat = own_side("flat", render(grey[:300], "colored-background", draw_colors(300, 1), "blend"))
    photo = own_side("photo", photo_digits(grey[:300], 4))
    settings = replace(TrainSettings(), epochs=3, lr_decay_epochs=2)
    kept, lines = adapted(settings, (own_side("grey", grey[:300]), flat), set())
    assert (kept.epochs, kept.lr_decay_epochs) == (3, 2) and not any("epochs" in x for x in lines)
    longer, lines = adapted(settings, (own_side("grey", grey[:300]), photo), set())
    assert (longer.epochs, longer.lr_decay_epochs) == (5, 3)
    assert any(x.startswith("5 epochs, the last 3 decaying") for x in lines)
    for flag in ("epochs", "lr_decay_epochs"):
        given, _ = adapted(settings, (own_side("grey", grey[:300]), photo), {flag})
        assert (given.epochs, given.lr_decay_epochs) == (3, 2)


# -- sets of unequal size ------------------------------------------------------------------


def unequal_sets(tmp_path, digits) -> tuple[object, object]:
    """400 grey digits in class folders against 64 photo digits (and 16 to test) in an .npz."""
    grey, labels = digits
    write_class_folders(tmp_path / "many", grey[:400], labels[:400])
    photo = photo_digits(grey[400:480], seed=4)
    np.savez(
        tmp_path / "few.npz", x_train=photo[:64], y_train=labels[400:464],
        x_test=photo[64:], y_test=labels[464:480],
    )  # fmt: skip
    return tmp_path / "many", tmp_path / "few.npz"


def test_sets_of_unequal_size_train_on_all_of_both_and_say_how_often(runner, tmp_path, digits):
    """The larger set sets the epoch (all 343 images the folders hold for training, the 57 others
    held out to test), the smaller is drawn again, and the first lines say how many times each
    set is seen."""
    many, few = unequal_sets(tmp_path, digits)
    args = ["train", "--data-a", many, "--data-b", few, "--out", tmp_path / "run", "--epochs", "1"]
    result = run_cli(runner, *args, "--batch-size", "16", *TINY)
    assert result.exit_code == 0, result.output
    assert "train: 21 steps, 21 per epoch" in result.output  # 343 // 16, not 64 // 16
    assert "A (many) 343 training images, each seen 1.0 times" in result.output  # 336 / 343
    assert "B (few) 64, each seen 5.2 times" in result.output  # 21 × 16 / 64 = 5.25


def test_the_smaller_side_is_drawn_in_fresh_shuffles_each_image_once_before_twice():
    from mnist_cyclegan.training.batches import stream_order

    epochs = [stream_order(10, seed=3, side=1, epoch=e, length=16) for e in range(5)]
    drawn = torch.cat(epochs)
    for start in range(0, 80, 10):
        assert sorted(drawn[start : start + 10].tolist()) == list(range(10))
    assert torch.equal(stream_order(10, 3, 1, 2, 16), epochs[2])  # from (seed, side, epoch)
    assert not torch.equal(stream_order(10, 3, 0, 2, 16), epochs[2])  # each side its own


def test_a_run_on_sets_of_unequal_size_resumes_bit_identical(runner, tmp_path, digits, two_threads):
    many, few = unequal_sets(tmp_path, digits)
    common = ["--data-a", many, "--data-b", few, "--batch-size", "16", "--seed", "2", *TINY]
    assert_resumes_bit_identical(runner, tmp_path, common, steps=30, stop_at=11)
