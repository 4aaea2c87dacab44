"""Pairs of image sets that are not our renderings, built here, to design and score the quick
preset on domains it was never tuned on (docs/measurements.md, "Your own image sets").

    python benchmarks/own_pairs.py build OUT            # writes OUT/*.npz (Keras-style)
    python benchmarks/own_pairs.py run OUT PAIR SEED [--split val|test] [-- TRAIN FLAGS]

Sets (each Keras-style: x_train, y_train, x_test, y_test, index-aligned with the embedded MNIST
where they are made from it, so the quick preset's disjoint halves keep every digit on one
side only):
- mnist-m: each MNIST digit blended into a random 28×28 crop of a colour photograph, as Ganin &
  Lempitsky build MNIST-M (|crop − digit| per channel), from the photographs scikit-image ships
  (a different photograph set than BSDS500, the same construction).
- typed: the ten digits typed in the DejaVu fonts, jittered in place, size, stroke and angle.
- shapes-flat / shapes-photo: discs, squares and triangles, filled in a random colour on white,
  or blended into photographs as mnist-m blends digits: not digits, colour <-> colour.
- mnist-m-1300 / scans-1300: sets of unequal size, a user's small set against MNIST's 60,000:
  1,300 mnist-m images (training digits 30,000-31,299; all 10,000 test ones), and 1,300 MNIST
  digits (31,300-32,599) written with a thicker pen (a 3×3 maximum, then a blur), grey <-> grey
  with another shape of stroke, as scans of other writers would come.
Pairs: mnist:mnist-m (grey <-> colour), typed:mnist (grey <-> grey), shapes-flat:shapes-photo
(colour <-> colour), colored-background:mnist-m (colour <-> colour); of unequal size,
mnist:mnist-m-1300 and scans-1300:mnist.

`run` trains `mnistgan train --preset quick` on the pair (seed SEED) and scores it with
`mnistgan eval --split SPLIT`, writing OUT/runs/PAIR-sSEED/ and printing one JSON line and one
line per direction; `table LOG...` prints BENCHMARKS.md's rows from such printouts:

    python benchmarks/own_pairs.py run OUT mnist:mnist-m 0 --split test > s0.log
    python benchmarks/own_pairs.py table s0.log s1.log s2.log
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from mnist_cyclegan.data import load_mnist
from mnist_cyclegan.evaluation.scores import Score

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field", "immunohistochemistry")
FONTS = Path("/usr/share/fonts/truetype/dejavu")
PAIRS = {
    "mnist:mnist-m": ("mnist", "mnist-m.npz"),
    "typed:mnist": ("typed.npz", "mnist"),
    "shapes-flat:shapes-photo": ("shapes-flat.npz", "shapes-photo.npz"),
    "colored-background:mnist-m": ("colored-background", "mnist-m.npz"),
    "mnist:mnist-m-1300": ("mnist", "mnist-m-1300.npz"),
    "scans-1300:mnist": ("scans-1300.npz", "mnist"),
}
SMALL_SET = slice(30_000, 31_300)  # training digits of the small mnist-m set
SCANS_SET = slice(31_300, 32_600)  # and of the thick-pen scans


def photographs() -> list[np.ndarray]:
    from skimage import data

    return [getattr(data, name)() for name in PHOTOS]


def crops(count: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """`count` random size×size RGB crops of the photographs."""
    photos = photographs()
    out = np.empty((count, size, size, 3), dtype=np.uint8)
    which = rng.integers(len(photos), size=count)
    for index, photo_index in enumerate(which):
        photo = photos[photo_index]
        top = rng.integers(photo.shape[0] - size)
        left = rng.integers(photo.shape[1] - size)
        out[index] = photo[top : top + size, left : left + size, :3]
    return out


def blended(grey: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """MNIST-M's construction: |photo crop − figure| per channel."""
    patches = crops(len(grey), grey.shape[1], rng).astype(np.int16)
    return np.abs(patches - grey[..., None].astype(np.int16)).astype(np.uint8)


def dejavu_digits(count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Digits typed in the DejaVu fonts only (the set these figures were first made on)."""
    faces = sorted(FONTS.glob("DejaVu*.ttf"))
    if not faces:
        raise SystemExit(f"{FONTS}: no DejaVu fonts (apt-get install fonts-dejavu-core)")
    from typed_digits import typed_digits  # benchmarks/, beside this script when it runs

    return typed_digits(count, rng, faces)


def shapes(count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Grey coverage of a disc, a square or a triangle (labels 0, 1, 2), 28×28."""
    labels = rng.integers(3, size=count).astype(np.uint8)
    images = np.empty((count, 28, 28), dtype=np.uint8)
    for index, label in enumerate(labels):
        canvas = Image.new("L", (112, 112), 0)
        draw = ImageDraw.Draw(canvas)
        cx, cy = rng.uniform(40, 72, size=2)
        r = rng.uniform(18, 34)
        if label == 0:
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=255)
        elif label == 1:
            draw.regular_polygon((cx, cy, r), 4, rotation=float(rng.uniform(0, 90)), fill=255)
        else:
            draw.regular_polygon((cx, cy, r), 3, rotation=float(rng.uniform(0, 120)), fill=255)
        images[index] = np.asarray(canvas.resize((28, 28), Image.Resampling.LANCZOS))
    return images, labels


def flat_colour(grey: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The figure in a random colour on white, blended by coverage."""
    colours = rng.integers(0, 255, size=(len(grey), 1, 1, 3)).astype(np.float32)
    alpha = grey[..., None].astype(np.float32) / 255.0
    return np.rint(alpha * colours + (1 - alpha) * 255.0).astype(np.uint8)


def thick_pen(grey: np.ndarray) -> np.ndarray:
    """Each digit's strokes a pixel wider on every side (3×3 maximum), their edges softened
    (Gaussian, σ 0.7): the same digits in another pen."""
    from scipy import ndimage

    wide = ndimage.maximum_filter(grey, size=(1, 3, 3))
    soft = ndimage.gaussian_filter(wide.astype(np.float32), sigma=(0, 0.7, 0.7))
    return np.clip(np.rint(soft), 0, 255).astype(np.uint8)


def save_small(path: Path, train: tuple, test: tuple) -> None:
    """A small training set beside a full test split."""
    np.savez_compressed(path, x_train=train[0], y_train=train[1], x_test=test[0], y_test=test[1])
    print(f"wrote {path} ({len(train[0])} train, {len(test[0])} test)")


def save(path: Path, images: np.ndarray, labels: np.ndarray, test: int) -> None:
    np.savez_compressed(
        path, x_train=images[:-test], y_train=labels[:-test], x_test=images[-test:],
        y_test=labels[-test:],
    )  # fmt: skip
    print(f"wrote {path} ({len(images) - test} train, {test} test, {images.shape[1:]})")


def build(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    digits = load_mnist()
    grey = np.concatenate([digits.x_train, digits.x_test])
    labels = np.concatenate([digits.y_train, digits.y_test])
    save(out / "mnist-m.npz", blended(grey, np.random.default_rng(1)), labels, len(digits.x_test))
    typed, typed_labels = dejavu_digits(70_000, np.random.default_rng(2))
    save(out / "typed.npz", typed, typed_labels, 10_000)
    figures, figure_labels = shapes(40_000, np.random.default_rng(3))
    save(
        out / "shapes-flat.npz", flat_colour(figures, np.random.default_rng(4)), figure_labels, 5000
    )
    photo = blended(figures, np.random.default_rng(5))
    save(out / "shapes-photo.npz", photo, figure_labels, 5000)
    build_small(out, digits)


def build_small(out: Path, digits) -> None:
    """The sets of unequal size: mnist-m's from the file just written, the scans from MNIST."""
    with np.load(out / "mnist-m.npz") as blend:
        train = (blend["x_train"][SMALL_SET], blend["y_train"][SMALL_SET])
        save_small(out / "mnist-m-1300.npz", train, (blend["x_test"], blend["y_test"]))
    scans = (thick_pen(digits.x_train[SCANS_SET]), digits.y_train[SCANS_SET])
    save_small(out / "scans-1300.npz", scans, (thick_pen(digits.x_test), digits.y_test))


def side(out: Path, name: str) -> str:
    return name if not name.endswith(".npz") else str(out / name)


def run(out: Path, pair: str, seed: int, split: str, minutes: float, extra: list[str]) -> None:
    data_a, data_b = (side(out, name) for name in PAIRS[pair])
    tag = "".join(extra).replace("-", "")
    folder = out / "runs" / f"{pair.replace(':', '-to-')}-s{seed}{'-' + tag if tag else ''}"
    started = time.perf_counter()
    train = [
        "mnistgan", "train", "--preset", "quick", "--data-a", data_a, "--data-b", data_b,
        "--seed", str(seed), "--out", str(folder), *extra,
    ]  # fmt: skip
    subprocess.run(train, check=True, timeout=minutes * 60 + 120)
    seconds = time.perf_counter() - started
    scores = folder / f"eval-{split}.json"
    evaluate = ["mnistgan", "eval", str(folder / "weights.safetensors"), "--split", split]
    subprocess.run([*evaluate, "--json", str(scores), "--force"], check=True)
    results = json.loads(scores.read_text())
    summary = {"pair": pair, "seed": seed, "split": split, "train_s": round(seconds)}
    print(json.dumps({**summary, "flags": extra}))
    for direction in ("a2b", "b2a"):
        print(direction, json.dumps(results[direction]))


TABLE_HEADER = (
    "| pair | seed | direction | digit acc. % (ceiling) | in target % (real) | Fréchet, reader "
    "(real) | KID, set check (real) | adaptation % (source only / target only) | round trip PSNR "
    "/ SSIM | training |\n" + "| --- " * 3 + "| ---: " * 7 + "|"
)


def percent(share: float) -> str:
    """A share as the table's percent figure, the header carrying the sign."""
    return f"{100 * share:.2f}"


def table_row(summary: dict, direction: str, scores: dict) -> str:
    """One direction of one run as a BENCHMARKS.md row; "–" where the data has no labels."""
    a, b = summary["pair"].split(":")
    arrow = f"{a} → {b}" if direction == "a2b" else f"{b} → {a}"
    labelled = Score.ACCURACY in scores
    flags = " ".join(summary.get("flags", []))
    peer = f", {summary['peer']} ({summary['steps']} steps)" if "peer" in summary else ""
    cells = [
        summary["pair"].replace(":", " ↔ ") + (f" `{flags}`" if flags else "") + peer,
        f"{summary['seed']} ({summary['split']})", arrow,
        f"{percent(scores[Score.ACCURACY])} ({percent(scores[Score.ACCURACY_CEILING])})"
        if labelled else "–",
        f"{percent(scores[Score.TARGET_DOMAIN_SHARE])} "
        f"({percent(scores[Score.TARGET_DOMAIN_SHARE_REAL])})",
        f"{scores[Score.FRECHET_CLASSIFIER_DISTANCE]:.2f} "
        f"({scores[Score.FRECHET_CLASSIFIER_DISTANCE_REAL]:.2f})" if labelled else "–",
        f"{scores[Score.KERNEL_SET_DISTANCE]:.4f} ({scores[Score.KERNEL_SET_DISTANCE_REAL]:.4f})",
        f"{percent(scores[Score.ADAPTATION_ACCURACY])} "
        f"({percent(scores[Score.ADAPTATION_SOURCE_ONLY])} "
        f"/ {percent(scores[Score.ADAPTATION_TARGET_ONLY])})" if labelled else "–",
        f"{scores[Score.CYCLE_PSNR]:.2f} dB / {scores[Score.CYCLE_SSIM]:.3f}",
        f"{summary['train_s']} s",
    ]  # fmt: skip
    return "| " + " | ".join(cells) + " |"


def table(logs: list[Path]) -> None:
    """BENCHMARKS.md's rows from the printouts of `run`: a run's summary line, then a line per
    direction (`a2b {...}`)."""
    print(TABLE_HEADER)
    for log in logs:
        summary = None
        for line in log.read_text().splitlines():
            if line.startswith("{"):
                summary = json.loads(line)
            elif summary is not None and line.startswith(("a2b ", "b2a ")):
                direction, scores = line.split(" ", 1)
                print(table_row(summary, direction, json.loads(scores)))


def split_at_dashes(argv: list[str]) -> tuple[list[str], list[str]]:
    """The script's own arguments, and the train flags after `--` (argparse would take `--`
    after an option as its own and refuse what follows)."""
    if "--" not in argv:
        return argv, []
    at = argv.index("--")
    return argv[:at], argv[at + 1 :]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("build").add_argument("out", type=Path)
    commands.add_parser("table").add_argument("logs", type=Path, nargs="+")
    runner = commands.add_parser("run", epilog="train flags after --, e.g. -- --epochs 6")
    runner.add_argument("out", type=Path)
    runner.add_argument("pair", choices=sorted(PAIRS))
    runner.add_argument("seed", type=int)
    runner.add_argument("--split", default="val", choices=("val", "test"))
    runner.add_argument("--minutes", type=float, default=10)
    argv, extra = split_at_dashes(sys.argv[1:])
    args = parser.parse_args(argv)
    if args.command == "build":
        build(args.out)
    elif args.command == "table":
        table(args.logs)
    else:
        run(args.out, args.pair, args.seed, args.split, args.minutes, extra)


if __name__ == "__main__":
    sys.exit(main())
