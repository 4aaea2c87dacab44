"""A user's own sets as users and attackers hand them over: labels files as spreadsheets and
scripts write them, labels that look like digits and are not, arrays bounded together and read
without a second copy, CycleGAN layouts that are not one, and one set named on both sides."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import TINY_NET, assert_one_line_error, run_cli, unblock_readers_later
from PIL import Image

from mnist_cyclegan.data import folders, load_mnist
from mnist_cyclegan.data.files import MAX_ARRAY_BYTES

PEAK_MB = (
    "print(next(int(line.split()[1]) // 1024 for line in open('/proc/self/status') "
    "if line.startswith('VmHWM')))"
)
NAMES = ["scan 00 (copy).png", "b.png", "c, d.png", 'say "7".png']


@pytest.fixture(scope="module")
def digits():
    mnist = load_mnist()
    return mnist.x_train[:200], mnist.y_train[:200]


def named_digits(root: Path, digits, names: list[str]) -> list[int]:
    """Real digits saved under `names` (repeated with a number where more are asked for);
    their true labels, in the sorted order a folder is read in."""
    grey, labels = digits
    root.mkdir(parents=True)
    for index, name in enumerate(names):
        Image.fromarray(grey[index]).save(root / name)
    order = sorted(range(len(names)), key=lambda i: names[i])
    return [int(labels[i]) for i in order]


def train_args(tmp_path, data_a, data_b="mnist") -> list:
    return ["train", "--data-a", data_a, "--data-b", data_b, "--out", tmp_path / "run",
            "--steps", "1", "--batch-size", "2", *TINY_NET, "--device", "cpu"]  # fmt: skip


# -- labels files -----------------------------------------------------------------------------


def spreadsheet_csv(names: list[str], labels: list[int], separator: str) -> bytes:
    """As a spreadsheet saves a CSV: a byte-order mark, a header, quotes where a field needs
    them (a separator, a quote), a space after the separator."""

    def cell(text: str) -> str:
        needs = separator in text or '"' in text
        return '"' + text.replace('"', '""') + '"' if needs else text

    rows = [f"filename{separator}label"]
    rows += [f"{cell(n)}{separator} {label}" for n, label in zip(names, labels, strict=True)]
    return ("\ufeff" + "\r\n".join(rows) + "\r\n").encode("utf-8")


@pytest.mark.parametrize("separator", [",", ";", "\t"])
def test_a_spreadsheets_csv_labels_every_image(tmp_path, digits, separator):
    root = tmp_path / "scans"
    truth = named_digits(root, digits, NAMES)
    by_name = dict(zip(sorted(NAMES), truth, strict=True))
    labels = [by_name[name] for name in NAMES]
    (root / "labels.csv").write_bytes(spreadsheet_csv(NAMES, labels, separator))
    split = folders.read_folder_set(root, "a").train
    assert [path.name for path in split.files] == sorted(NAMES)
    assert [int(split.classes[label]) for label in split.labels] == truth


def test_a_labels_txt_takes_the_last_field_so_names_may_hold_spaces(tmp_path, digits):
    names = ["scan 00 (copy).png", "b.png", "two  spaces.png"]
    root = tmp_path / "scans"
    truth = named_digits(root, digits, names)
    by_name = dict(zip(sorted(names), truth, strict=True))
    lines = ["# path label", f"{names[0]} {by_name[names[0]]}", f"{names[1]}\t{by_name[names[1]]}"]
    lines.append(f"{names[2]},{by_name[names[2]]}")
    (root / "labels.txt").write_text("\n".join(lines) + "\n")
    split = folders.read_folder_set(root, "a").train
    assert [int(split.classes[label]) for label in split.labels] == truth


@pytest.mark.parametrize("encoding", ["utf-16", "cp1252", "utf-8"])
def test_labels_files_in_the_encodings_spreadsheets_save_in(tmp_path, digits, encoding):
    names = ["café.png", "naïve scan.png", "b.png"]
    root = tmp_path / "scans"
    truth = named_digits(root, digits, names)
    by_name = dict(zip(sorted(names), truth, strict=True))
    text = "".join(f'"{name}",{by_name[name]}\r\n' for name in names)
    (root / "labels.csv").write_bytes(text.encode(encoding))  # utf-16 writes its mark
    split = folders.read_folder_set(root, "a").train
    assert [int(split.classes[label]) for label in split.labels] == truth


def test_labels_that_are_digits_to_isdigit_but_not_to_int_are_class_names(runner, tmp_path, digits):
    """`²` and `①` pass str.isdigit and fail int(): they name classes; a run trains."""
    names = [f"{i}.png" for i in range(8)]
    root = tmp_path / "odd-labels"
    named_digits(root, digits, names)
    marks = ["²", "①", "٣", "03"]
    rows = [f"{name},{marks[i % len(marks)]}" for i, name in enumerate(names)]
    (root / "labels.csv").write_text("\n".join(rows))
    split = folders.read_folder_set(root, "a").train
    assert split.classes == ("3", "²", "٣", "①")  # 03 is class 3; the rest names, sorted
    result = run_cli(runner, *train_args(tmp_path, root))
    assert result.exit_code == 0, result.output


def hostile_labels(root: Path, case: str) -> tuple[str, ...]:
    """Write a labels file of the kind `case` names into `root`; the fragments of its refusal."""
    if case == "two-labels-for-one-image":
        (root / "labels.csv").write_text("0.png,3\n1.png,4\n2.png,5\n3.png,6\n0.png,7\n")
        return ("labels.csv", "line 5", "0.png")
    if case == "a-number-of-5000-digits":
        rows = ["0.png,1", "1.png,2", "2.png,3", "3.png," + "9" * 5000]
        (root / "labels.csv").write_text("\n".join(rows))
        return ("labels.csv", "over 999")
    if case == "an-unclosed-quote-too-long":
        (root / "labels.csv").write_text('0.png,1\n"1.png,' + "x" * 200_000 + "\n")
        return ("labels.csv", "line")
    if case == "not-text":
        (root / "labels.csv").write_bytes(b"0.png,\x81\x8d\xc3\n")  # nor UTF-8, nor cp1252
        return ("labels.csv", "UTF-8")
    if case == "a-row-without-a-label":
        (root / "labels.txt").write_text("0.png 1\n1.png\n")
        return ("labels.txt", "line 2")
    if case == "a-pipe":
        os.mkfifo(root / "labels.csv")
        unblock_readers_later(root / "labels.csv")
        return ("labels.csv", "not a regular file")
    if case == "a-dead-link":
        (root / "labels.csv").symlink_to(root / "gone.csv")
        return ("labels.csv", "a link to nothing")
    raise AssertionError(case)


LABEL_CASES = ["two-labels-for-one-image", "a-number-of-5000-digits", "an-unclosed-quote-too-long"]
LABEL_CASES += ["not-text", "a-row-without-a-label", "a-pipe", "a-dead-link"]


@pytest.mark.parametrize("case", LABEL_CASES)
def test_hostile_labels_files_are_refused_with_one_line(runner, tmp_path, digits, case):
    root = tmp_path / "scans"
    named_digits(root, digits, [f"{i}.png" for i in range(4)])
    fragments = hostile_labels(root, case)
    result = run_cli(runner, *train_args(tmp_path, root))
    assert_one_line_error(result, *fragments)
    assert not (tmp_path / "run").exists()


# -- arrays -----------------------------------------------------------------------------------


def zero_member(archive: zipfile.ZipFile, name: str, count: int) -> None:
    """An .npy member of `count` zero bytes, streamed (nothing of its size held here)."""
    with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
        header = f"{{'descr': '|u1', 'fortran_order': False, 'shape': ({count // 784}, 28, 28), }}"
        member.write(b"\x93NUMPY\x01\x00v\x00" + header.ljust(117).encode() + b"\n")
        block = bytes(1 << 24)
        for start in range(0, count // 784 * 784, len(block)):
            member.write(block[: min(len(block), count // 784 * 784 - start)])


def test_members_each_within_the_bound_but_not_together_are_refused_unread(tmp_path):
    """Two members of 60% of the bound each: refused from their headers, memory untouched."""
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name in ("x_train", "x_test"):
            zero_member(archive, name, MAX_ARRAY_BYTES * 6 // 10)
    assert path.stat().st_size < 16 << 20
    code = (
        "from pathlib import Path\n"
        "from mnist_cyclegan.data.own_sets import npz_splits\n"
        "from mnist_cyclegan.errors import MnistganError\n"
        "try:\n"
        f"    npz_splits(Path({str(path)!r}))\n"
        "except MnistganError as error:\n"
        "    print(error)\n"
        f"{PEAK_MB}\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    message, megabytes = result.stdout.splitlines()
    assert "together, over" in message and "bomb.npz" in message, result.stdout + result.stderr
    assert int(megabytes) < 300


def test_a_member_is_read_into_its_array_without_a_second_copy(tmp_path):
    """A 400 MB member: the read's peak is the array and the interpreter, not twice the array."""
    path = tmp_path / "big.npz"
    size = 400 << 20
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        zero_member(archive, "x_train", size)
    code = (
        "from pathlib import Path\n"
        "from mnist_cyclegan.data.files import read_npz\n"
        f"arrays = read_npz(Path({str(path)!r}), ('x_train',))\n"
        "print(arrays['x_train'].nbytes >> 20)\n"
        f"{PEAK_MB}\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    array_mb, peak_mb = map(int, result.stdout.split())
    assert array_mb == size // 784 * 784 >> 20, result.stderr
    assert peak_mb < array_mb + 150, (array_mb, peak_mb)  # a second copy would be + 400


def test_idx_files_each_within_the_bound_but_not_together_are_refused(runner, tmp_path):
    folder = tmp_path / "idx"
    folder.mkdir()
    count = MAX_ARRAY_BYTES * 6 // 10 // 784
    header = bytes([0, 0, 8, 3]) + b"".join(d.to_bytes(4, "big") for d in (count, 28, 28))
    for name in ("train-images-idx3-ubyte", "t10k-images-idx3-ubyte"):
        (folder / name).write_bytes(header + bytes(16))  # promises 600 MB, holds 16 bytes
    result = run_cli(runner, *train_args(tmp_path, folder))
    assert_one_line_error(result, "idx", "together, over")


# -- layouts and one set on both sides --------------------------------------------------------


def layout(root: Path, digits, *parts: str) -> Path:
    for part in parts:
        named_digits(root / part, digits, [f"{i}.png" for i in range(8)])
    return root


LAYOUT_CASES = {
    "trainA-testA-on-both-sides": (("trainA", "testA"), "same", ("no trainB/", "side b")),
    "testA-only": (("testA",), "mnist", ("no trainA/", "side a")),
    "testB-trainA-on-both-sides": (("trainA", "testB"), "same", ("no trainB/",)),
    "test-without-train": (("test", "x"), "mnist", ("test/", "no train/")),
    "one-plain-folder-on-both-sides": (("x",), "same", ("the same folder on both sides",)),
    "a-split-folder-and-its-train": (("train", "test"), "train", ("on both sides",)),
}


@pytest.mark.parametrize("case", sorted(LAYOUT_CASES))
def test_a_layout_that_is_not_one_is_refused_with_what_it_needs(runner, tmp_path, digits, case):
    parts, other, fragments = LAYOUT_CASES[case]
    root = layout(tmp_path / "set", digits, *parts)
    data_b = {"same": root, "mnist": "mnist", "train": root / "train"}[other]
    result = run_cli(runner, *train_args(tmp_path, root, data_b))
    assert_one_line_error(result, *fragments)
    assert not (tmp_path / "run").exists()


def test_one_domain_on_both_sides_is_refused(runner, tmp_path):
    args = ["train", "--domain-a", "colored-digit", "--domain-b", "colored-digit", "--steps", "1"]
    result = run_cli(runner, *args, "--out", tmp_path / "run")
    assert_one_line_error(result, "colored-digit", "same domain on both sides")


def test_a_true_cyclegan_layout_on_both_sides_still_trains(runner, tmp_path, digits):
    root = layout(tmp_path / "set", digits, "trainA", "testA", "trainB", "testB")
    result = run_cli(runner, *train_args(tmp_path, root, root))
    assert result.exit_code == 0, result.output
