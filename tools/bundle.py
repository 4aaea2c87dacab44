"""Write what ships inside the package: the eval classifiers and the pretrained models.

    python tools/bundle.py classifiers
    python tools/bundle.py model --weights runs/quick/weights.safetensors \
        --name mnist-colored-background --command "mnistgan train --preset quick --out runs/quick"

`classifiers` trains each domain's judging classifier on all 60,000 training digits (threshold
style, the colours of seed 0 for domain A and 1 for B, as `mnistgan train` renders them) and
stores it in half precision under mnist_cyclegan/classifiers/, with the domain check
(evaluation/domain_check.py). `model` stores a run's
generators in half precision under mnist_cyclegan/models/NAME/, scores them with `mnistgan
eval` on the test digits (all 10,000, and the first 500 that tests/test_bundled.py re-measures)
and writes card.json and the model card README.md.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from mnist_cyclegan.data import domain_arrays
from mnist_cyclegan.evaluation import classifier, domain_check
from mnist_cyclegan.evaluation.evaluate import evaluate
from mnist_cyclegan.evaluation.model_cache import bundled_folder
from mnist_cyclegan.pretrained import models_folder
from mnist_cyclegan.tensor_files import open_tensor_file, save_tensors
from mnist_cyclegan.weights import WEIGHTS_FORMAT, load_generators

CARD_LIMIT = 500
SEEDS = {"mnist": 0, "colored-background": 1, "colored-digit": 1}


def bundle_classifiers() -> None:
    folder = bundled_folder()
    folder.mkdir(exist_ok=True)
    for domain, seed in SEEDS.items():
        arrays = domain_arrays(domain, style="threshold", seed=seed)
        model = classifier.train_classifier(arrays, device=torch.device("cpu"))
        name = f"classifier-{domain}-threshold-v{classifier.CLASSIFIER_VERSION}.safetensors"
        meta = {"channels": arrays.channels, "domain": domain, "style": "threshold", "seed": seed}
        half = {k: v.half() for k, v in model.state_dict().items()}
        save_tensors(folder / name, half, classifier.CLASSIFIER_FORMAT, meta)
        print(f"wrote {folder / name}")


def bundle_domain_check() -> None:
    model = domain_check.train_domain_check(device=torch.device("cpu"))
    path = bundled_folder() / domain_check.check_name()
    half = {k: v.half() for k, v in model.state_dict().items()}
    save_tensors(path, half, domain_check.CHECK_FORMAT, domain_check.CHECK_META)
    print(f"wrote {path}")


def half_precision_copy(weights: Path, out: Path) -> None:
    file = open_tensor_file(weights, WEIGHTS_FORMAT)
    tensors = {k: v.half() if v.is_floating_point() else v for k, v in file.load().items()}
    save_tensors(out, tensors, WEIGHTS_FORMAT, file.meta)


def scores(weights: Path, limit: int) -> dict:
    g_ab, g_ba, meta = load_generators(weights)
    results, _ = evaluate(g_ab, g_ba, meta, limit=limit, device=torch.device("cpu"))
    return results


def bundle_model(weights: Path, name: str, command: str) -> None:
    folder = models_folder() / name
    folder.mkdir(parents=True, exist_ok=True)
    half_precision_copy(weights, folder / "weights.safetensors")
    full, half = scores(weights, 10_000), scores(folder / "weights.safetensors", 10_000)
    _, _, meta = load_generators(folder / "weights.safetensors")
    card = {
        "name": name,
        "domain_a": meta.domain_a,
        "domain_b": meta.domain_b,
        "command": command,
        "settings": meta.settings.to_dict() if meta.settings else None,
        "test": half,
        "test_float32": full,
        "first_digits": CARD_LIMIT,
        "test_first_digits": scores(folder / "weights.safetensors", CARD_LIMIT),
        "date": time.strftime("%Y-%m-%d"),
        "torch_version": torch.__version__,
    }
    (folder / "card.json").write_text(json.dumps(card, indent=2, sort_keys=True) + "\n")
    (folder / "README.md").write_text(model_card(card))
    print(f"wrote {folder}")


def row(label: str, key: str, card: dict, fmt: str) -> str:
    cells = [
        fmt.format(card["test"][d][key]) if key in card["test"][d] else "-" for d in ("a2b", "b2a")
    ]
    return f"| {label} | {cells[0]} | {cells[1]} |"


def model_card(card: dict) -> str:
    a, b = card["domain_a"], card["domain_b"]
    lines = [
        f"# {card['name']}: {a} ↔ {b}",
        "",
        f"Two CycleGAN generators, {a} → {b} and {b} → {a}, stored in half precision "
        "(they load into float32 networks).",
        "",
        "## How it was made",
        "",
        f"    {card['command']}",
        "",
        f"then `python tools/bundle.py model` ({card['date']}, torch {card['torch_version']}). "
        "Settings (the quick preset, seed 0):",
        "",
        f"    {json.dumps(card['settings'], sort_keys=True)}",
        "",
        "## Scores on the 10,000 MNIST test digits (`mnistgan eval`, the bundled classifiers)",
        "",
        f"| metric | {a} → {b} | {b} → {a} |",
        "| --- | ---: | ---: |",
        row("digit accuracy", "accuracy", card, "{:.2%}"),
        row("classifier on real images (ceiling)", "accuracy_ceiling", card, "{:.2%}"),
        row("PSNR against the true translation (dB)", "psnr", card, "{:.2f}"),
        row("SSIM against the true translation", "ssim", card, "{:.3f}"),
        row("background std (0-255)", "flatness", card, "{:.2f}"),
        row("colour W1 (0-255)", "color_w1", card, "{:.2f}"),
        row(
            "Fréchet distance in classifier features", "frechet_classifier_distance", card, "{:.2f}"
        ),
        row("cycle PSNR (dB)", "cycle_psnr", card, "{:.2f}"),
        "",
        "The float32 weights this half-precision copy came from read "
        f"{card['test_float32']['a2b']['accuracy']:.2%} and "
        f"{card['test_float32']['b2a']['accuracy']:.2%} "
        f"(PSNR {card['test_float32']['b2a']['psnr']:.2f} dB B → A). A → B fidelity compares "
        "the output with the true digit re-rendered in the output's own colour, so it is not "
        "comparable with B → A's.",
        "",
        "## Data and licence",
        "",
        "Trained on the MNIST training digits (Yann LeCun, Corinna Cortes, Christopher J. C. "
        "Burges; CC BY-SA 3.0) rendered into the two domains; these weights are released under "
        "the same licence terms as the package (MIT) where the data's licence allows.",
        "",
        "## Intended use and limits",
        "",
        f"- Translating 28×28-style handwritten digits between {a} and {b}; any image size "
        "works, but the model has only seen MNIST digits at 28×28.",
        "- Not for other pairs of domains, other writing systems, or photos of real scenes.",
        "- Colours come from the model's own choice per image: they are varied but not the "
        "colours of any particular input.",
        "- Figures are one training seed; BENCHMARKS.md reports how far seeds spread.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["classifiers", "model"])
    parser.add_argument("--weights", type=Path)
    parser.add_argument("--name")
    parser.add_argument("--command", default="mnistgan train --preset quick --out runs/quick")
    args = parser.parse_args()
    if args.what == "classifiers":
        bundle_classifiers()
        bundle_domain_check()
    else:
        bundle_model(args.weights, args.name, args.command)


if __name__ == "__main__":
    main()
