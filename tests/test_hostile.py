"""Hostile inputs: every command, fed forged, damaged or odd files, paths and flags, exits
non-zero with exactly one line on stderr and no traceback, and leaves every file that was
there byte-identical."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import TINY, assert_one_line_error, run_cli, run_process, unblock_readers_later
from forge import (
    corrupt_deflate,
    gzip_bytes,
    idx_bytes,
    mnist_like,
    npz_bytes,
    replace_tensors,
    snapshot,
    unchanged,
    with_header,
    with_meta,
    write_safetensors,
)
from PIL import Image
from typer.testing import CliRunner

from mnist_cyclegan.data import load_mnist


@pytest.fixture
def user(tmp_path, tiny_run) -> Path:
    """The user's folder: weights, a run folder, a digit image, a small MNIST-like set."""
    folder = tmp_path / "user"
    shutil.copytree(tiny_run, folder / "run")
    shutil.copy(tiny_run / "weights.safetensors", folder / "w.safetensors")
    Image.fromarray(load_mnist().x_test[0]).save(folder / "digit.png")
    (folder / "mnist.npz").write_bytes(npz_bytes(mnist_like()))
    return folder


def refused(runner, folder: Path, args: list, *fragments: str):
    """Run `mnistgan args` in `folder`'s terms and check the refusal and the files."""
    before = snapshot(folder)
    result = run_cli(runner, *args)
    assert_one_line_error(result, *fragments)
    assert unchanged(folder, before) == []
    return result


# -- weights: each forgery as (name, function(user folder) -> forged path, fragment) -----------


def meta_edit(change):
    return lambda user: with_meta(user / "w.safetensors", user / "forged.safetensors", change)


def header_edit(change):
    return lambda user: with_header(user / "w.safetensors", user / "forged.safetensors", change)


def first_tensor(header: dict) -> str:
    return next(k for k in header if k != "__metadata__")


def tensor_swap(name: str, value):
    def forge(user):
        return replace_tensors(user / "w.safetensors", user / "forged.safetensors", {name: value})

    return forge


def raw(text: bytes):
    def forge(user):
        write_safetensors(user / "forged.safetensors", None, b"", raw_header=text)
        return user / "forged.safetensors"

    return forge


WEIGHTS = {
    "entry-is-an-int": (header_edit(lambda h: h.update({first_tensor(h): 5})), "tensor entry"),
    "no-data-offsets": (
        header_edit(lambda h: h[first_tensor(h)].pop("data_offsets")),
        "tensor entry",
    ),
    "metadata-a-list": (header_edit(lambda h: h.update({"__metadata__": [1]})), "__metadata__"),
    "metadata-not-strings": (
        header_edit(lambda h: h["__metadata__"].update({"x": 3})),
        "__metadata__",
    ),
    "unknown-dtype": (header_edit(lambda h: h[first_tensor(h)].update({"dtype": "F8"})), "dtype"),
    "shape-not-its-bytes": (
        header_edit(lambda h: h[first_tensor(h)].update({"shape": [7, 7, 7]})),
        "bytes for shape",
    ),
    "offsets-overlap": (
        header_edit(lambda h: h[first_tensor(h)].update({"data_offsets": [0, 0], "shape": [0]})),
        "overlaps",
    ),
    "deep-json": (raw(b"[" * 100_000 + b"]" * 100_000), "nested"),
    "header-not-utf8": (raw(b"\xff\xfe{}"), "not a valid safetensors"),
    "nan-width": (meta_edit(lambda m: m["net"].update({"gen_width": float("nan")})), "NaN"),
    "float-width": (meta_edit(lambda m: m["net"].update({"gen_width": 8.5})), "gen-width"),
    "infinite-width": (meta_edit(lambda m: m["net"].update({"gen_width": float("inf")})), "Inf"),
    "huge-width": (meta_edit(lambda m: m["net"].update({"gen_width": 10**6})), "gen-width"),
    "negative-eps": (meta_edit(lambda m: m["net"].update({"norm_eps": -1.0})), "norm_eps"),
    "string-blocks": (meta_edit(lambda m: m["net"].update({"res_blocks": "6"})), "res-blocks"),
    "many-blocks": (meta_edit(lambda m: m["net"].update({"res_blocks": 10_000})), "res-blocks"),
    "bool-switch-as-int": (meta_edit(lambda m: m["net"].update({"long_skip": 2})), "booleans"),
    "missing-channels": (meta_edit(lambda m: m.pop("channels_a")), "channels_a"),
    "two-channel-model": (meta_edit(lambda m: m.update({"channels_a": 2})), "channels"),
    "channels-as-bool": (meta_edit(lambda m: m.update({"channels_a": True})), "channels"),
    "unknown-domain": (meta_edit(lambda m: m.update({"domain_b": "purple"})), "purple"),
    "net-not-a-map": (meta_edit(lambda m: m.update({"net": [1, 2]})), "net settings"),
    "settings-a-string": (meta_edit(lambda m: m.update({"settings": "abc"})), "settings"),
    "meta-a-list": (
        header_edit(lambda h: h["__metadata__"].update({"meta": "[1, 2]"})),
        "JSON object",
    ),
    "other-norm": (meta_edit(lambda m: m["net"].update({"norm": "group"})), "--norm"),
    "missing-tensor": (tensor_swap("G_ab.model.1.weight", None), "missing G_ab.model.1.weight"),
    "wrong-shape": (tensor_swap("G_ab.model.1.weight", np.zeros((3, 3), np.float32)), "G_ab"),
    "wrong-dtype": (
        tensor_swap("G_ab.model.1.bias", np.zeros(8, np.float64)),
        "G_ab.model.1.bias is float64",
    ),
    "extra-tensor": (tensor_swap("G_ab.extra", np.zeros(1, np.float32)), "unexpected tensor"),
}


@pytest.mark.parametrize("case", sorted(WEIGHTS))
def test_forged_weights_are_refused_by_translate(runner, user, case):
    forge, fragment = WEIGHTS[case]
    forged = forge(user)
    args = ["translate", forged, user / "digit.png", user / "out.png"]
    refused(runner, user, args, forged.name, fragment)
    assert not (user / "out.png").exists()


@pytest.mark.parametrize("case", ["huge-width", "wrong-shape", "deep-json"])
def test_forged_weights_are_refused_by_eval(runner, user, case):
    forged = WEIGHTS[case][0](user)
    refused(runner, user, ["eval", forged, "--limit", "20"], forged.name, WEIGHTS[case][1])


# -- checkpoints: train --resume -------------------------------------------------------------


def checkpoint_edit(edit):
    def forge(user):
        path = user / "run" / "checkpoint.safetensors"
        forged = user / "forged.safetensors"
        edit(path, forged)
        shutil.copy(forged, path)
        forged.unlink()
        return path

    return forge


def checkpoint_settings(change):
    return checkpoint_edit(lambda p, out: with_meta(p, out, lambda m: change(m["settings"])))


def checkpoint_tensor(name, value):
    return checkpoint_edit(lambda p, out: replace_tensors(p, out, {name: value}))


CHECKPOINTS = {
    "moments-one-element": (
        checkpoint_tensor("opt_g.0.exp_avg", np.zeros(1, np.float32)),
        "opt_g.0.exp_avg",
    ),
    "settings-wrong-type": (checkpoint_settings(lambda s: s.update({"batch_size": "16"})), "batch"),
    "settings-no-net": (checkpoint_settings(lambda s: s.update({"net": 3})), "settings"),
    "settings-huge-width": (
        checkpoint_settings(lambda s: s["net"].update({"disc_width": 10**6})),
        "disc-width",
    ),
    "settings-negative-seed": (checkpoint_settings(lambda s: s.update({"seed": -1})), "seed"),
    "history-columns": (checkpoint_tensor("history", np.zeros((2, 3))), "history"),
    "epoch-sums-shape": (checkpoint_tensor("epoch_sums", np.zeros(3, np.float32)), "epoch_sums"),
    "pool-image-size": (
        checkpoint_tensor("pool_a.images", np.zeros((2, 1, 5, 5), np.float32)),
        "pool_a.images",
    ),
    "pool-too-many": (
        checkpoint_tensor("pool_a.images", np.zeros((9, 1, 28, 28), np.float32)),
        "pool_a",
    ),
    "rng-size": (checkpoint_tensor("rng.torch", np.zeros(7, np.uint8)), "rng.torch"),
    "nonfinite-dtype": (checkpoint_tensor("nonfinite", np.zeros(1, np.float64)), "nonfinite"),
    "net-missing": (checkpoint_tensor("net.D_a.model.1.weight", None), "net.D_a.model.1.weight"),
    "unknown-tensor": (checkpoint_tensor("opt_g.999.exp_avg", np.zeros(1, np.float32)), "999"),
    "step-not-a-count": (
        checkpoint_edit(lambda p, out: with_meta(p, out, lambda m: m.update({"step": -4}))),
        "step",
    ),
    "optimizer-groups-empty": (
        checkpoint_edit(lambda p, out: with_meta(p, out, lambda m: m.update({"opt_g_groups": []}))),
        "opt_g groups",
    ),
    "optimizer-betas-not-numbers": (
        checkpoint_edit(
            lambda p, out: with_meta(
                p, out, lambda m: m["opt_d_groups"][0].update({"betas": ["a", None]})
            )
        ),
        "betas",
    ),
    "loss-columns-not-names": (
        checkpoint_edit(
            lambda p, out: with_meta(p, out, lambda m: m.update({"loss_columns": [1, 2]}))
        ),
        "loss columns",
    ),
    "loss-columns-twice": (
        checkpoint_edit(
            lambda p, out: with_meta(p, out, lambda m: m.update({"loss_columns": ["d_a"] * 7}))
        ),
        "loss columns",
    ),
    "loss-columns-beside-history": (
        checkpoint_edit(
            lambda p, out: with_meta(p, out, lambda m: m.update({"loss_columns": ["d_a", "d_b"]}))
        ),
        "history",
    ),
    "not-a-checkpoint": (
        checkpoint_edit(lambda p, out: shutil.copy(p.parent / "weights.safetensors", out)),
        "mnistgan-checkpoint",
    ),
}


@pytest.mark.parametrize("case", sorted(CHECKPOINTS))
def test_forged_checkpoints_are_refused_by_resume(runner, user, case):
    forge, fragment = CHECKPOINTS[case]
    forge(user)
    args = ["train", "--out", user / "run", "--resume", "--steps", "5", "--device", "cpu"]
    refused(runner, user, args, fragment)


# -- data files ------------------------------------------------------------------------------


def npz_case(arrays: dict, compress: bool = True):
    def forge(user):
        (user / "forged.npz").write_bytes(npz_bytes(arrays, compress))
        return user / "forged.npz"

    return forge


def with_images(images: np.ndarray, **more) -> dict:
    arrays = {**mnist_like(), "x_train": images, **more}
    if images.ndim and len(images) != len(arrays["y_train"]) and "y_train" not in more:
        arrays["y_train"] = np.zeros(len(images), np.uint8)
    return arrays


def idx_case(files: dict[str, bytes]):
    def forge(user):
        folder = user / "idx"
        folder.mkdir()
        stems = {
            "x_train": "train-images-idx3-ubyte",
            "y_train": "train-labels-idx1-ubyte",
            "x_test": "t10k-images-idx3-ubyte",
            "y_test": "t10k-labels-idx1-ubyte",
        }
        good = mnist_like()
        for key, stem in stems.items():
            data = files.get(key, idx_bytes(good[key].shape, good[key].tobytes()))
            (folder / stem).write_bytes(data)
        return folder

    return forge


DATA = {
    "rgba-images": (npz_case(with_images(np.zeros((40, 28, 28, 4), np.uint8))), "28×28"),
    "32x32-images": (npz_case(with_images(np.zeros((40, 32, 32), np.uint8))), "28×28"),
    "1x1-images": (npz_case(with_images(np.zeros((40, 1, 1), np.uint8))), "28×28"),
    "float-images": (npz_case(with_images(np.zeros((40, 28, 28), np.float32))), "uint8"),
    "scalar-images": (npz_case(with_images(np.zeros((), np.uint8))), "x_train"),
    "labels-out-of-range": (
        npz_case({**mnist_like(), "y_train": np.full(40, 12, np.uint8)}),
        "0-9",
    ),
    "labels-count": (npz_case({**mnist_like(), "y_train": np.zeros(3, np.uint8)}), "y_train"),
    "object-array": (
        npz_case({**mnist_like(), "y_test": np.array([{"a": 1}] * 10, dtype=object)}),
        "y_test",
    ),
    "missing-key": (
        npz_case({k: v for k, v in mnist_like().items() if k != "y_test"}),
        "missing y_test",
    ),
    "corrupt-deflate": (
        lambda user: (
            (user / "forged.npz").write_bytes(corrupt_deflate(npz_bytes(mnist_like()))),
            user / "forged.npz",
        )[1],
        "forged.npz",
    ),
    "an-npy": (
        lambda user: (
            np.save(user / "forged.npy", np.zeros((4, 28, 28), np.uint8)),
            user / "forged.npy",
        )[1],
        ".npz",
    ),
    "idx-overflow": (
        idx_case({"x_train": idx_bytes((2**31, 2**31, 2**31), b"")}),
        "over the limit",
    ),
    "idx-truncated": (idx_case({"x_train": idx_bytes((40, 28, 28), b"\0" * 100)}), "promises"),
    "idx-bad-magic": (idx_case({"x_train": b"\x01\x02\x03\x04" + b"\0" * 50}), "magic"),
}


def a_pipe(user, name: str = "forged.npz") -> Path:
    """A pipe named as a data file: a reader that opened it would wait for a writer forever."""
    os.mkfifo(user / name)
    unblock_readers_later(user / name)
    return user / name


def idx_folder_with_a_pipe(user) -> Path:
    folder = idx_case({})(user)
    (folder / "train-images-idx3-ubyte").unlink()
    a_pipe(folder, "train-images-idx3-ubyte")
    return folder


def a_device(user) -> Path:
    (user / "forged.npz").symlink_to("/dev/zero")  # a read of it would never end
    return user / "forged.npz"


DATA["a-pipe"] = (a_pipe, "forged.npz: not a regular file (a pipe)")
DATA["a-device"] = (a_device, "forged.npz: not a regular file (a device)")
DATA["idx-a-pipe"] = (idx_folder_with_a_pipe, "train-images-idx3-ubyte: not a regular file")


def corrupt_gzip_folder(user):
    folder = idx_case({})(user)
    stem = folder / "train-images-idx3-ubyte"
    data = bytearray(gzip_bytes(stem.read_bytes()))
    data[20:40] = bytes(20)
    stem.unlink()
    (folder / "train-images-idx3-ubyte.gz").write_bytes(bytes(data))
    return folder


DATA["idx-corrupt-gzip"] = (corrupt_gzip_folder, "train-images-idx3-ubyte.gz")


@pytest.mark.parametrize("case", sorted(DATA))
def test_bad_data_files_are_refused_by_make_data(runner, user, case):
    forge, fragment = DATA[case]
    source = forge(user)
    args = ["make-data", "--domain", "mnist", "--mnist", source, "--out", user / "out.npz"]
    refused(runner, user, args, fragment)
    assert not (user / "out.npz").exists()


def domain_file(user, change) -> Path:
    """A make-data file of 40 digits for colored-background, with `change` applied."""
    source = user / "mnist.npz"
    result = run_cli(
        CliRunner(), "make-data", "--domain", "colored-background", "--mnist", source,
        "--out", user / "domain.npz",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    with np.load(user / "domain.npz", allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    change(arrays)
    (user / "domain.npz").write_bytes(npz_bytes(arrays))
    return user / "domain.npz"


DOMAIN_FILES = {
    "other-domain": (lambda a: None, "holds domain"),
    "settings-not-json": (lambda a: a.update({"settings": np.array("{oops")}), "settings"),
    "settings-unknown-style": (
        lambda a: a.update(
            {"settings": np.array(json.dumps({"domain": "mnist", "style": "x", "seed": 0}))}
        ),
        "settings",
    ),  # fmt: skip
    "colors-shape": (lambda a: a.update({"colors_train": np.zeros((40, 4), np.uint8)}), "colors"),
    "grey-images": (lambda a: a.update({"x_train": np.zeros((40, 28, 28), np.uint8)}), "28×28×3"),
}


@pytest.mark.parametrize("case", sorted(DOMAIN_FILES))
def test_bad_domain_files_are_refused_by_train(runner, user, case):
    change, fragment = DOMAIN_FILES[case]
    data = domain_file(user, change)
    domain = "mnist" if case == "other-domain" else "colored-background"
    args = ["train", "--out", user / "new", "--domain-a", domain, "--data-a", data, *TINY]
    refused(runner, user, args, fragment)
    assert not (user / "new").exists()


# -- images ------------------------------------------------------------------------------------


def image_case(write):
    def forge(user):
        path = user / "forged"
        write(path)
        return path

    return forge


IMAGES = {
    "fuzzed-tiff": (
        image_case(lambda p: p.write_bytes(b"II*\x00" + np.random.default_rng(3).bytes(3000))),
        "forged",
    ),
    "truncated-jpeg": (
        image_case(
            lambda p: (
                Image.fromarray(np.zeros((64, 64), np.uint8)).save(p, format="JPEG"),
                p.write_bytes(p.read_bytes()[:300]),
            )
        ),
        "forged",
    ),
    "text": (image_case(lambda p: p.write_text("a digit, honestly")), "not an image"),
    "tiny": (
        image_case(lambda p: Image.fromarray(np.zeros((4, 4), np.uint8)).save(p, format="PNG")),
        "too small",
    ),
    "a-folder-named-png": (image_case(lambda p: p.mkdir()), "no image files"),
}


@pytest.mark.parametrize("case", sorted(IMAGES))
def test_bad_images_are_refused_by_translate(runner, user, case):
    forge, fragment = IMAGES[case]
    source = forge(user)
    refused(runner, user, ["translate", user / "w.safetensors", source, user / "o.png"], fragment)
    assert not (user / "o.png").exists()


# -- outputs that would replace inputs, and odd paths --------------------------------------------


def test_translate_output_is_its_input(runner, user):
    args = ["translate", user / "w.safetensors", user / "digit.png", user / "digit.png"]
    refused(runner, user, [*args, "--force"], "is one of the inputs")


def test_translate_output_is_the_weights(runner, user):
    args = ["translate", user / "w.safetensors", user / "digit.png", user / "w.safetensors"]
    refused(runner, user, [*args, "--force"], "is one of the inputs")


def test_translate_folder_onto_itself(runner, user):
    folder = user / "digits"
    folder.mkdir()
    shutil.copy(user / "digit.png", folder / "a.png")
    refused(runner, user, ["translate", user / "w.safetensors", folder, folder], "own folder")


def test_translate_inputs_with_one_stem(runner, user):
    folder = user / "digits"
    folder.mkdir()
    shutil.copy(user / "digit.png", folder / "a.png")
    Image.open(user / "digit.png").save(folder / "a.jpg")
    args = ["translate", user / "w.safetensors", folder, user / "out"]
    refused(runner, user, args, "two outputs")
    assert not (user / "out").exists()


def test_translate_refuses_an_existing_output_without_force(runner, user):
    (user / "o.png").write_bytes(b"the user's own picture")
    args = ["translate", user / "w.safetensors", user / "digit.png", user / "o.png"]
    refused(runner, user, args, "already exists")


def test_eval_json_onto_the_weights(runner, user):
    args = ["eval", user / "w.safetensors", "--json", user / "w.safetensors", "--force"]
    refused(runner, user, args, "is an input")


def test_eval_json_and_report_onto_one_file(runner, user):
    args = ["eval", user / "w.safetensors", "--json", user / "x", "--report", user / "x"]
    refused(runner, user, args, "two outputs")


def test_make_data_out_and_preview_onto_one_file(runner, user):
    args = ["make-data", "--domain", "mnist", "--out", user / "x", "--preview", user / "x"]
    refused(runner, user, [*args, "--mnist", user / "mnist.npz"], "two outputs")


def test_make_data_out_onto_its_input(runner, user):
    args = ["make-data", "--domain", "mnist", "--mnist", user / "mnist.npz"]
    refused(runner, user, [*args, "--out", user / "mnist.npz", "--force"], "is an input")


def test_train_refuses_a_folder_holding_other_things(runner, user):
    (user / "notes").mkdir()
    (user / "notes" / "todo.txt").write_text("mine")
    refused(runner, user, ["train", "--out", user / "notes", *TINY], "not a mnistgan run")


def test_train_refuses_a_file_as_its_folder(runner, user):
    refused(runner, user, ["train", "--out", user / "digit.png", *TINY], "is a file")


@pytest.mark.parametrize("name", ["[final]", ":smile:", "[bold red]x[/]"])
def test_markup_in_names_is_shown_as_is(runner, user, name):
    result = refused(runner, user, ["translate", user / name, user / "digit.png", user / "o"])
    assert name in result.stderr and "😄" not in result.stderr


def test_a_literal_name_with_brackets_is_not_a_glob(runner, user):
    """'[ab].png' names a file; as a glob it would match a.png, another file."""
    shutil.copy(user / "digit.png", user / "a.png")
    (user / "[ab].png").write_text("not an image")
    args = ["translate", user / "w.safetensors", str(user / "[ab].png"), user / "o.png"]
    refused(runner, user, args, "[ab].png", "not an image")


# -- flags and environment -------------------------------------------------------------------


@pytest.mark.parametrize("seed", ["-1", str(2**63 - 1), str(2**32)])
def test_train_seeds_out_of_range(runner, user, seed):
    refused(runner, user, ["train", "--out", user / "new", "--seed", seed, *TINY], "--seed")
    assert not (user / "new").exists()


def test_make_data_negative_seed(runner, user):
    args = ["make-data", "--domain", "mnist", "--seed", "-5", "--out", user / "x.npz"]
    refused(runner, user, args, "--seed")


def test_malformed_world_size(runner, user, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "two")
    refused(runner, user, ["train", "--out", user / "new", *TINY], "WORLD_SIZE")


def test_an_unwritable_classifier_cache_fails_before_training(runner, user, monkeypatch):
    monkeypatch.setenv("MNISTGAN_HOME", str(user / "digit.png" / "cache"))
    monkeypatch.setenv("MNISTGAN_CLASSIFIER_DIGITS", "123")  # nothing cached for this size
    refused(runner, user, ["eval", user / "w.safetensors", "--limit", "20"], "not writable")


# -- the worst cases of the report, by name ------------------------------------------------------


def test_segfault_one_element_adam_moments_is_one_line_in_a_real_process(user):
    """Every Adam moment replaced by a 1-element tensor (the report's exit 139)."""
    path = user / "run" / "checkpoint.safetensors"
    from safetensors.torch import load_file

    names = [k for k in load_file(str(path)) if ".exp_avg" in k]
    replace_tensors(path, user / "forged", {n: np.zeros(1, np.float32) for n in names})
    shutil.move(user / "forged", path)
    before = snapshot(user)
    result = run_process("train", "--out", user / "run", "--resume", "--steps", "5")
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "exp_avg" in lines[0] and "Traceback" not in result.stderr
    assert unchanged(user, before) == []


def test_deletion_train_leaves_others_tmp_files_alone(runner, tmp_path):
    """A run folder's cleanup removes only temporaries of ours whose process is gone."""
    out = tmp_path / "D"
    (out / ".git").mkdir(parents=True)
    (out / ".git" / ".index.tmp").write_text("git's")
    (out / ".notes.tmp").write_text("the user's")
    result = run_cli(runner, "train", "--out", out, "--steps", "2", *TINY)
    assert_one_line_error(result, "not a mnistgan run")
    assert (out / ".git" / ".index.tmp").read_text() == "git's"
    assert (out / ".notes.tmp").read_text() == "the user's"


def test_stale_temporaries_of_dead_processes_are_removed_and_live_ones_kept(runner, tmp_path):
    import os
    import subprocess
    import sys

    out = tmp_path / "run"
    assert run_cli(runner, "train", "--out", out, "--steps", "2", *TINY).exit_code == 0
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()  # fmt: skip
    stale = out / f".weights.safetensors.mnistgan-{dead}-abc123.tmp"
    live = out / f".losses.csv.mnistgan-{os.getpid()}-def456.tmp"
    stale.write_text("left by a killed run")
    live.write_text("being written right now")
    result = run_cli(runner, "train", "--out", out, "--resume", "--steps", "3", "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert not stale.exists() and live.read_text() == "being written right now"


# The process's own peak resident memory (ru_maxrss would carry pytest's over the exec).
PEAK_MB = (
    "print(next(int(line.split()[1]) // 1024 for line in open('/proc/self/status') "
    "if line.startswith('VmHWM')))"
)


def test_width_of_a_million_is_refused_fast_and_small(user):
    forged = with_meta(
        user / "w.safetensors",
        user / "wide.safetensors",
        lambda m: (
            m["net"].update({"gen_width": 10**6}),
            m["settings"]["net"].update({"gen_width": 10**6}),
        ),
    )
    code = (
        "import time\n"
        "from mnist_cyclegan.errors import MnistganError\n"
        "from mnist_cyclegan.weights import WeightsMeta, load_generators\n"
        "from mnist_cyclegan.tensor_files import open_tensor_file\n"
        "started = time.perf_counter()\n"
        "try:\n"
        f"    load_generators({str(forged)!r})\n"
        "except MnistganError as error:\n"
        "    print(time.perf_counter() - started, error)\n"
        f"{PEAK_MB}\n"
    )
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    seconds, message = result.stdout.splitlines()[0].split(" ", 1)
    assert "gen-width" in message, result.stdout + result.stderr
    assert float(seconds) < 1.0
    assert int(result.stdout.splitlines()[1]) < 300  # MB resident, the Python and torch in it


def test_npz_with_a_huge_unused_member_is_read_within_300_mb(tmp_path):
    """2 GB of zeros compress to a few MB; only the four MNIST keys are ever decompressed."""
    import subprocess
    import sys
    import zipfile

    path = tmp_path / "huge.npz"
    (tmp_path / "base.npz").write_bytes(npz_bytes(mnist_like()))
    shutil.copy(tmp_path / "base.npz", path)
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("unused.npy", "w", force_zip64=True) as member:
            header = "{'descr': '|u1', 'fortran_order': False, 'shape': (2000000000,), }"
            member.write(b"\x93NUMPY\x01\x00v\x00" + header.ljust(117).encode() + b"\n")
            block = bytes(1 << 24)
            for _ in range(2_000_000_000 // len(block) + 1):
                member.write(block)
    assert path.stat().st_size < 8 << 20
    code = (
        "from mnist_cyclegan.data import load_mnist\n"
        f"digits = load_mnist({str(path)!r})\n"
        f"print(len(digits.x_train), end=' ')\n{PEAK_MB}\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    count, megabytes = map(int, result.stdout.split())
    assert count == 40 and megabytes < 300, result.stdout + result.stderr


def test_two_writers_on_one_run_folder(runner, tmp_path):
    """A second train on a folder a running train holds is refused, naming the holder; the
    first run goes on undisturbed."""
    import os
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "run"
    command = [sys.executable, "-m", "mnist_cyclegan", "train", "--out", str(out)]
    first = subprocess.Popen(
        [*command, "--device", "cpu", *TINY, "--epochs", "1000", "--seed", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not (out / "checkpoint.safetensors").exists():
        assert first.poll() is None and time.monotonic() < deadline, first.communicate()
        time.sleep(0.1)
    second = run_cli(runner, "train", "--out", out, *TINY, "--seed", "2", "--steps", "3")
    assert_one_line_error(second, "another mnistgan train", str(first.pid))
    resumed = run_cli(runner, "train", "--out", out, "--resume", "--steps", "3000")
    assert_one_line_error(resumed, "another mnistgan train")
    first.send_signal(signal.SIGTERM)
    _, stderr = first.communicate(timeout=60)
    assert first.returncode == 130, stderr
    config = json.loads((out / "config.json").read_text())
    assert config["settings"]["seed"] == 1
    assert os.path.exists(out / "checkpoint.safetensors")
