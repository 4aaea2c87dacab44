"""A folder of a user's images as a training set: found, labelled and split without surprises.

Images are found recursively (PNG, JPEG, BMP, GIF, TIFF, WebP, PNM; hidden files and folders
skipped; a pipe, device or dead link named as one is refused). A folder reached twice through
symbolic links (a loop) is read once. The count is bounded while the folder is walked, so a
folder of a million files is refused after MAX_ENTRIES entries, not listed whole. Labels,
optional: a `labels.csv` or `labels.txt` beside the images (`relative/path,label` rows, read as
label_files.py says), else class subfolders as torchvision's `ImageFolder` reads them (every
image one level or more inside one of two or more subfolders; the classes sorted by name).
The split: the canonical CycleGAN's `trainA/` `testA/` (`trainB/` `testB/` for side B), or
`train/` `test/`, else a fixed held-out share of the images.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from mnist_cyclegan.data.files import regular_file
from mnist_cyclegan.data.label_files import LABEL_FILES, MAX_CLASSES, class_names, labels_by_path
from mnist_cyclegan.errors import MnistganError
from mnist_cyclegan.user_images import is_image_name

MAX_ENTRIES = 500_000  # files and folders walked before a folder is refused
MAX_IMAGES = 200_000  # images in one set


@dataclass(frozen=True)
class FolderSplit:
    """One split's image files, in a fixed order, with a label each (None: unlabelled)."""

    files: list[Path]
    labels: list[int] | None
    classes: tuple[str, ...] = ()


@dataclass(frozen=True)
class FolderSet:
    """A folder's training images and, where the folder has one, its own test split."""

    root: Path
    train: FolderSplit
    test: FolderSplit | None


LAYOUT_FOLDERS = ("trainA", "testA", "trainB", "testB")


def split_folders(root: Path, side: str) -> tuple[Path, Path | None]:
    """(training folder, test folder or None) as the folder lays them out for `side` (a or b):
    `trainA/ testA/` (B for side b) inside it, `train/ test/` inside it, or `root` itself named
    `trainA` beside a `testA`. A layout without the side's training folder is a mistake (a
    `testA/` alone, `trainA/` without `trainB/` for side b), refused rather than read whole."""
    letter = side.upper()
    layout = [name for name in LAYOUT_FOLDERS if (root / name).is_dir()]
    if layout and not (root / f"train{letter}").is_dir():
        raise MnistganError(
            f"{root}: holds {', '.join(f'{name}/' for name in layout)} but no train{letter}/ "
            f"for side {side}: the CycleGAN layout needs trainA/ and trainB/ (testA/ and testB/ "
            "optional)"
        )
    if (root / "test").is_dir() and not (root / "train").is_dir() and not layout:
        raise MnistganError(f"{root}: holds test/ but no train/ beside it; add train/")
    for train, test in ((f"train{letter}", f"test{letter}"), ("train", "test")):
        if (root / train).is_dir():
            return root / train, (root / test if (root / test).is_dir() else None)
    named = re.fullmatch(r"train([A-Za-z]?)", root.name)
    if named is not None:
        sibling = root.with_name(f"test{named.group(1)}")
        return root, (sibling if sibling.is_dir() else None)
    return root, None


def read_folder_set(root: Path, side: str) -> FolderSet:
    """The folder's images for `side`, labelled where it labels them, split where it splits."""
    train_folder, test_folder = split_folders(root, side)
    train = labelled_files(train_folder)
    test = labelled_files(test_folder, classes=train.classes) if test_folder else None
    if test is not None and (train.labels is None) != (test.labels is None):
        raise MnistganError(
            f"{test_folder}: labelled {'and' if test.labels is None else 'but'} "
            f"{train_folder} {'is' if test.labels is None else 'is not'}: label both or neither"
        )
    return FolderSet(root, train, test)


def image_files(folder: Path) -> list[Path]:
    """Every image file under `folder`, sorted, each folder visited once however many links
    lead to it; at most MAX_IMAGES images and MAX_ENTRIES entries walked."""
    if not folder.is_dir():
        raise MnistganError(f"{folder}: no such folder")
    found, entries, visited = [], 0, set()
    for current, folders, files in os.walk(folder, followlinks=True, onerror=_raise):
        identity = _identity(Path(current))
        if identity in visited:
            folders[:] = []  # reached again through a link: a loop, or a second way in
            continue
        visited.add(identity)
        folders[:] = sorted(name for name in folders if not name.startswith("."))
        entries += len(folders) + len(files)
        if entries > MAX_ENTRIES:
            raise MnistganError(f"{folder}: holds over {MAX_ENTRIES:,} files and folders")
        for name in files:
            if is_image_name(name):
                found.append(regular_file(Path(current) / name))
        if len(found) > MAX_IMAGES:
            raise MnistganError(f"{folder}: holds over {MAX_IMAGES:,} images, more than one set")
    if not found:
        raise MnistganError(f"{folder}: no image files (PNG, JPEG, ...) in this folder")
    return sorted(found)


def _present(path: Path) -> bool:
    """Whether anything has this name: a file, or a pipe or dead link to refuse by name."""
    return path.exists() or path.is_symlink()


def _identity(folder: Path) -> tuple[int, int]:
    status = folder.stat()
    return status.st_dev, status.st_ino


def _raise(error: OSError) -> None:
    raise MnistganError(f"{error.filename}: cannot read ({error.strerror})")


def labelled_files(folder: Path, classes: tuple[str, ...] = ()) -> FolderSplit:
    """The folder's images with their labels: from its labels file, else its class
    subfolders, else none. `classes` are a training split's, which a test split must keep."""
    files = image_files(folder)
    label_file = next((folder / n for n in LABEL_FILES if _present(folder / n)), None)
    if label_file is not None:
        return labels_from_file(regular_file(label_file), folder, files, classes)
    tops = {path.relative_to(folder).parts[0] for path in files}
    in_subfolders = all(len(path.relative_to(folder).parts) > 1 for path in files)
    if not in_subfolders or len(tops) < 2:
        return FolderSplit(files, None)
    return labels_from_classes(folder, files, classes or tuple(sorted(tops)))


def labels_from_classes(folder: Path, files: list[Path], classes: tuple[str, ...]) -> FolderSplit:
    if len(classes) > MAX_CLASSES:
        raise MnistganError(f"{folder}: {len(classes)} class folders, over {MAX_CLASSES}")
    index = {name: number for number, name in enumerate(classes)}
    labels = []
    for path in files:
        top = path.relative_to(folder).parts[0]
        if top not in index:
            raise MnistganError(f"{folder / top}: a class the training images do not have")
        labels.append(index[top])
    return FolderSplit(files, labels, classes)


def labels_from_file(
    label_file: Path, folder: Path, files: list[Path], classes: tuple[str, ...]
) -> FolderSplit:
    """Each image's label from the folder's labels file (label_files.py says how it is read);
    every image needs one. Class names are numbered in sorted order."""
    relative = [os.path.normpath(path.relative_to(folder)) for path in files]
    named = labels_by_path(label_file, set(relative))
    missing = next((path for path in relative if path not in named), None)
    if missing is not None:
        raise MnistganError(f"{label_file}: no label for {missing}")
    values = [named[path] for path in relative]
    if not classes:
        classes = class_names(label_file, values)
    return labels_from_names(label_file, files, values, classes)


def labels_from_names(
    label_file: Path, files: list[Path], values: list[str], classes: tuple[str, ...]
) -> FolderSplit:
    if len(classes) > MAX_CLASSES:
        raise MnistganError(f"{label_file}: {len(classes)} classes, over {MAX_CLASSES}")
    index = {name: number for number, name in enumerate(classes)}
    unknown = next((value for value in values if value not in index), None)
    if unknown is not None:
        raise MnistganError(
            f"{label_file}: label {unknown[:40]!r} is not among the training labels"
        )
    return FolderSplit(files, [index[value] for value in values], classes)
