"""A labels file beside a folder of images: `labels.csv` as a spreadsheet writes it, or
`labels.txt` as a script writes it. Each row pairs an image's path (relative to the folder)
with its label: a class number (ASCII digits, 0 to MAX_CLASSES - 1) or a class name.

- Either is text in UTF-8, UTF-16 with its byte-order mark, or Windows-1252, the encodings
  spreadsheets save in.
- `labels.csv` is read as CSV (Python's `csv` module): a UTF-8 byte-order mark is dropped,
  quoted fields may hold the separator, spaces and quotes, the separator is the comma, or the
  semicolon or tab where a spreadsheet wrote those, and a header row is passed over.
- `labels.txt` takes one `path label` pair a line. The label is the last field: after the last
  tab where the line has one, else after the last comma, else after the last run of spaces. So
  a path may hold spaces (`scan 00 (copy).png 3`) but no tab or comma.

In both, blank lines and lines starting with `#` are comments. A row whose path names no image
of the folder is a header where it is the first row, and otherwise a label for an image that is
not there (passed over, so a list can outlive a deleted image); an image listed twice with two
labels is refused, and so is an image with none.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
from pathlib import Path

from mnist_cyclegan.errors import MnistganError

MAX_LABEL_FILE_BYTES = 64 << 20
MAX_CLASSES = 1_000
LABEL_FILES = ("labels.csv", "labels.txt")
CSV_SEPARATORS = ",;\t"


def read_label_rows(label_file: Path) -> list[tuple[int, str, str]]:
    """(line number, normalised relative path, label) for each row of the file, in order."""
    if label_file.stat().st_size > MAX_LABEL_FILE_BYTES:
        raise MnistganError(f"{label_file}: over {MAX_LABEL_FILE_BYTES >> 20} MB")
    text = decoded(label_file, label_file.read_bytes())
    pairs = csv_pairs(label_file, text) if label_file.suffix == ".csv" else txt_pairs(text)
    rows = []
    for number, fields in pairs:
        if not fields or not "".join(fields).strip() or fields[0].lstrip().startswith("#"):
            continue
        if len(fields) != 2 or not fields[0].strip() or not fields[1].strip():
            raise MnistganError(f"{label_file}: line {number} is not `path,label`")
        rows.append((number, os.path.normpath(fields[0].strip()), canonical(fields[1].strip())))
    return rows


def decoded(label_file: Path, data: bytes) -> str:
    """The file's text in the encodings spreadsheets save in: UTF-8 (with or without a
    byte-order mark), UTF-16 with its mark (Excel's "Unicode text"), else Windows-1252 (Excel's
    "CSV" on Windows)."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encodings = ("utf-16",)
    else:
        encodings = ("utf-8-sig", "cp1252")
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise MnistganError(
        f"{label_file}: not text in UTF-8, UTF-16 or Windows-1252; save it as UTF-8"
    )


def csv_pairs(label_file: Path, text: str) -> list[tuple[int, list[str]]]:
    """Each CSV record with the line it starts on; the separator the file's first line uses
    outside its quoted fields."""
    first_line = re.sub(r'"[^"]*"', "", text.split("\n", 1)[0])
    separator = next((s for s in CSV_SEPARATORS if s in first_line), ",")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
    pairs = []
    try:
        line = 1
        for record in reader:
            pairs.append((line, record))
            line = reader.line_num + 1
    except csv.Error as error:
        raise MnistganError(f"{label_file}: line {reader.line_num}: {error}") from None
    return pairs


def txt_pairs(text: str) -> list[tuple[int, list[str]]]:
    """Each line split at its last tab, else its last comma, else its last run of spaces."""
    pairs = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        separator = next((s for s in ("\t", ",") if s in stripped), None)
        fields = stripped.rsplit(separator, 1) if separator else stripped.rsplit(None, 1)
        pairs.append((number, fields))
    return pairs


def is_class_number(label: str) -> bool:
    """A label that numbers its class: ASCII digits only (`²` and `①` are digits to
    `str.isdigit` and not to `int`: such a label is a class name)."""
    return label.isascii() and label.isdigit()


def canonical(label: str) -> str:
    """A class number without its leading zeros (`03` is class 3); a name as it is. Without
    `int`, which refuses over 4,300 digits."""
    return (label.lstrip("0") or "0") if is_class_number(label) else label


def labels_by_path(label_file: Path, images: set[str]) -> dict[str, str]:
    """The label of each listed image (`images`: normalised relative paths of the folder's)."""
    labels: dict[str, str] = {}
    for number, path, label in read_label_rows(label_file):
        if path not in images:
            continue  # a header (the first row), or an image that is not there
        if labels.get(path, label) != label:
            raise MnistganError(
                f"{label_file}: line {number} labels {path} {label!r}, an earlier line "
                f"{labels[path]!r}"
            )
        labels[path] = label
    return labels


def class_names(label_file: Path, values: list[str]) -> tuple[str, ...]:
    """Numbers label as themselves (0-9 stay digits, as MNIST's labels are); names, or a mix
    of names and numbers, are numbered in sorted order."""
    if all(is_class_number(value) for value in values):
        top = max(values, key=lambda value: (len(value), value))  # canonical: no leading 0
        if len(top) > len(str(MAX_CLASSES - 1)) or int(top) >= MAX_CLASSES:
            raise MnistganError(f"{label_file}: label {top[:12]} is over {MAX_CLASSES - 1}")
        top = int(top)
        return tuple(str(number) for number in range(top + 1))
    return tuple(sorted(set(values)))
