"""Do the bundled models keep digits they never saw? Digits typed in fonts (not MNIST), both
ways through every bundled model, read by the target domain's classifier.

    python benchmarks/typed_digits.py [--count 10000] [--seed 0] [--models NAME ...]
        [--reader mixed|mnist-only]

For each model and direction the typed digits are rendered into the source domain by the
domains' rule (domains.render, threshold style, per-image colours drawn as `make-data` draws
them) and translated; the outputs are read by a reader of the target domain trained here on
other typed digits and MNIST digits rendered by the rule (eval's own classifiers, trained on
MNIST alone, read typed digits at about 65%; this one at about 99%). The bar is that reader's
accuracy on the same typed digits rendered into the target domain by the rule: a translation
should lose at most 3 points against it. tests/test_typed_digits.py checks the
bar on a sample of these digits.

`--reader mnist-only` reads with eval's bundled classifiers instead, trained on real MNIST
digits alone rendered into each domain: a reader that never saw a typed digit asks whether a
translation into `mnist` turns a foreign digit into one MNIST's own readers take for what it
is (thin strokes dimmed, serifs read as other digits), where the mixed reader forgives both.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from mnist_cyclegan import Translator
from mnist_cyclegan.data import DomainArrays, load_mnist
from mnist_cyclegan.domains import draw_colors, get_domain, render
from mnist_cyclegan.evaluation import classifier
from mnist_cyclegan.evaluation.model_cache import bundled_folder
from mnist_cyclegan.pretrained import bundled_models

FONT_FOLDERS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/truetype/liberation"),
)
ALLOWED_LOSS = 0.03  # points of accuracy a translation may lose against the rule


def fonts() -> list[Path]:
    found = sorted(path for folder in FONT_FOLDERS for path in folder.glob("*.ttf"))
    if not found:
        raise SystemExit("no DejaVu or Liberation fonts (apt-get install fonts-dejavu-core)")
    return found


def typed_digits(
    count: int, rng: np.random.Generator, faces: list[Path] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Digits typed in `faces` (default: every font found), white on black, 28×28, jittered
    in size, stroke, angle and place."""
    faces = faces or fonts()
    labels = rng.integers(10, size=count).astype(np.uint8)
    images = np.empty((count, 28, 28), dtype=np.uint8)
    for index, label in enumerate(labels):
        face = faces[rng.integers(len(faces))]
        font = ImageFont.truetype(str(face), int(rng.integers(18, 25)))
        canvas = Image.new("L", (56, 56), 0)
        ImageDraw.Draw(canvas).text(
            (28, 28), str(label), fill=255, font=font, anchor="mm",
            stroke_width=int(rng.integers(0, 2)), stroke_fill=255,
        )  # fmt: skip
        canvas = canvas.rotate(float(rng.uniform(-12, 12)), resample=Image.Resampling.BILINEAR)
        shift = rng.integers(-2, 3, size=2)
        box = (14 + shift[0], 14 + shift[1], 42 + shift[0], 42 + shift[1])
        images[index] = np.asarray(canvas.crop(tuple(int(v) for v in box)))
    return images, labels


def reader(domain: str, count: int, seed: int) -> classifier.DigitClassifier:
    """A digit reader of `domain` that reads typed digits too: eval's classifier (its network
    and training) trained on `count` typed digits of another draw than the ones checked and
    `count` MNIST training digits, both rendered into the domain by the rule. It knows
    nothing of the generators, so it reads their outputs as it reads any image."""
    typed, typed_labels = typed_digits(count, np.random.default_rng(seed + 1000))
    mnist = load_mnist()
    grey = np.concatenate([typed, mnist.x_train[:count]])
    labels = np.concatenate([typed_labels, mnist.y_train[:count]])
    colours = draw_colors(len(grey), seed + 2000)
    images = render(grey, domain, colours)
    arrays = DomainArrays(
        domain=domain, style="threshold", seed=seed, x_train=images, y_train=labels,
        x_test=images[:0], y_test=labels[:0], colors_train=colours, colors_test=colours[:0],
        index_train=np.arange(len(grey)), index_test=np.arange(0), source=None,
    )  # fmt: skip
    return classifier.train_classifier(arrays, device=torch.device("cpu"), seed=seed)


def mnist_only_reader(domain: str) -> classifier.DigitClassifier:
    """eval's bundled classifier of `domain`: trained on MNIST's 60,000 training digits
    rendered into it by the rule, no typed digit among them."""
    path = next(bundled_folder().glob(f"classifier-{domain}-threshold-v*.safetensors"))
    return classifier.read_classifier(path, get_domain(domain).channels)


def accuracy(model: classifier.DigitClassifier, images: np.ndarray, labels: np.ndarray) -> float:
    predicted, _ = classifier.predict(model, images, torch.device("cpu"))
    return float((predicted == labels).mean())


def check_model(
    name: str, typed: np.ndarray, labels: np.ndarray, seed: int, readers: dict
) -> list[dict]:
    """One row per direction: the outputs' accuracy, the rule's, and the loss; `readers`
    maps a domain to its reader."""
    translator = Translator.load(name)
    a, b = translator.meta.domain_a, translator.meta.domain_b
    rows = []
    for direction, source, target in (("a2b", a, b), ("b2a", b, a)):
        inputs = render(typed, source, draw_colors(len(typed), seed))
        by_rule = render(typed, target, draw_colors(len(typed), seed + 1))
        translated = np.concatenate([
            translator.translate_uint8(inputs[i : i + 500], direction)
            for i in range(0, len(inputs), 500)
        ])  # fmt: skip
        model = accuracy(readers[target], translated, labels)
        rule = accuracy(readers[target], by_rule, labels)
        rows.append({"model": name, "direction": f"{source} -> {target}", "translated": model,
                     "rule": rule, "loss": rule - model, "count": len(typed)})  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reader-digits", type=int, default=20_000)
    parser.add_argument("--models", nargs="*")
    parser.add_argument("--reader", choices=("mixed", "mnist-only"), default="mixed")
    args = parser.parse_args()
    typed, labels = typed_digits(args.count, np.random.default_rng(args.seed))
    names = args.models or [model.name for model in bundled_models()]
    domains = {"mnist", "colored-background", "colored-digit"}
    if args.reader == "mnist-only":
        readers = {d: mnist_only_reader(d) for d in sorted(domains)}
    else:
        readers = {d: reader(d, args.reader_digits, args.seed) for d in sorted(domains)}
    print("| model | direction | translated, read | rule, read | loss (points) |")
    print("| --- | --- | ---: | ---: | ---: |")
    for name in names:
        for row in check_model(name, typed, labels, args.seed, readers):
            print(f"| {row['model']} | {row['direction']} | {row['translated']:.2%} | "
                  f"{row['rule']:.2%} | {100 * row['loss']:+.2f} |", flush=True)  # fmt: skip
            print(json.dumps(row), file=sys.stderr)


if __name__ == "__main__":
    main()
