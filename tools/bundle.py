"""Write what ships inside the package: the eval classifiers and the pretrained models.

    python tools/bundle.py classifiers
    python tools/bundle.py models [--runs runs/bundle] [--only NAME ...]
    python tools/bundle.py cards

`classifiers` trains each domain's judging classifier on all 60,000 training digits (threshold
style, the colours of seed 0 for domain A and 1 for B, as `mnistgan train` renders them) and
stores it in half precision under mnist_cyclegan/classifiers/, with the domain check
(evaluation/domain_check.py). `models` trains each pair of domains with the quick preset
(seed 0; a run already in RUNS/NAME is kept, with the time and commit recorded beside it when
it was made), stores its generators in half precision under mnist_cyclegan/models/NAME/,
scores them with `mnistgan eval`'s code on all 10,000 test digits (and on the first 500, which
tests/test_bundled.py re-measures) and writes card.json and the model card README.md.
`cards` writes each model card again from its card.json (after a change to the card's text).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import time
from pathlib import Path

import torch

from mnist_cyclegan.data import domain_arrays
from mnist_cyclegan.evaluation import classifier, domain_check
from mnist_cyclegan.evaluation.evaluate import evaluate
from mnist_cyclegan.evaluation.model_cache import bundled_folder
from mnist_cyclegan.evaluation.scores import Score
from mnist_cyclegan.pretrained import models_folder
from mnist_cyclegan.tensor_files import open_tensor_file, save_tensors
from mnist_cyclegan.weights import WEIGHTS_FORMAT, load_generators

ROOT = Path(__file__).resolve().parents[1]
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


PAIRS = (
    ("mnist", "colored-background"),
    ("mnist", "colored-digit"),
    ("colored-background", "colored-digit"),
)
TRAIN_SEED = 0
# What a bundled model adds to the quick preset, by pair. The shape term (weight 2, as the
# preset gives colored-background <-> colored-digit) keeps the backgrounds into a coloured
# domain flat: without it, 22% (mnist -> colored-background) and 12% (mnist -> colored-digit)
# of validation digits came back with a background std over 1.5 of 255, mottled patches where
# the generator hid the input's grey levels, and drawn digits on the demo page too; with it
# 0% and 0.4%, accuracy within 0.06 points (docs/measurements.md, "Flat backgrounds for drawn
# digits").
PAIR_FLAGS = {
    ("mnist", "colored-background"): ["--lambda-shape", "2"],
    ("mnist", "colored-digit"): ["--lambda-shape", "2"],
}
# The card's table: (label, key in eval's results, format); a row is left out where neither
# direction has the key (no colour into mnist).
CARD_ROWS = (
    ("digit accuracy", Score.ACCURACY, "{:.2%}"),
    ("the same classifier on real target images (ceiling)", Score.ACCURACY_CEILING, "{:.2%}"),
    ("outputs the domain check puts in the target domain", Score.TARGET_DOMAIN_SHARE, "{:.2%}"),
    ("background std, 0-255 (real target images)", Score.FLATNESS, "{:.2f}"),
    ("colour W1 per channel, 0-255", Score.COLOR_W1, "{:.2f}"),
    ("joint colour W1, 0-255 (real against real)", Score.COLOR_SLICED_W1, "{:.2f}"),
    ("η²: share of colour variance explained by the digit", Score.COLOR_CLASS_DEPENDENCE, "{:.3f}"),
    ("PSNR against the rule's translation (dB)", Score.PSNR, "{:.2f}"),
    ("round trip PSNR (dB)", Score.CYCLE_PSNR, "{:.2f}"),
)
REAL_OF = {Score.FLATNESS: Score.FLATNESS_REAL, Score.COLOR_SLICED_W1: Score.COLOR_SLICED_W1_REAL,
           Score.COLOR_CLASS_DEPENDENCE: Score.COLOR_CLASS_DEPENDENCE_REAL}  # fmt: skip


def model_name(a: str, b: str) -> str:
    return f"{a}-{b}"


def train_command(a: str, b: str, run: Path) -> list[str]:
    return ["mnistgan", "train", "--preset", "quick", "--domain-a", a, "--domain-b", b,
            *PAIR_FLAGS.get((a, b), []), "--seed", str(TRAIN_SEED), "--out", str(run)]  # fmt: skip


def machine() -> str:
    """The CPU's model name and core count (and the GPU's name where training used one)."""
    name = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    return f"{name}, {len(os.sched_getaffinity(0))} cores, {platform.system()}"


def commit() -> str:
    return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True, check=True, cwd=ROOT).stdout.strip()  # fmt: skip


def trained(a: str, b: str, runs: Path) -> tuple[Path, dict]:
    """The run folder of a pair and how it was made: trained now unless RUNS/NAME has weights
    and NAME.made.json (its seconds, commit, machine and date)."""
    run = runs / model_name(a, b)
    made_file = runs / f"{model_name(a, b)}.made.json"
    if not (run / "weights.safetensors").is_file() or not made_file.is_file():
        if run.exists():
            raise SystemExit(f"{run}: exists without a record of how it was made; remove it")
        runs.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        subprocess.run(train_command(a, b, run), check=True)
        made = {"seconds": round(time.perf_counter() - started), "commit": commit(),
                "machine": machine(), "date": time.strftime("%Y-%m-%d"),
                "torch_version": torch.__version__}  # fmt: skip
        made_file.write_text(json.dumps(made, indent=2) + "\n")
    return run, json.loads(made_file.read_text())


def half_precision_copy(weights: Path, out: Path) -> None:
    file = open_tensor_file(weights, WEIGHTS_FORMAT)
    tensors = {k: v.half() if v.is_floating_point() else v for k, v in file.load().items()}
    save_tensors(out, tensors, WEIGHTS_FORMAT, file.meta)


def scores(weights: Path, limit: int) -> dict:
    g_ab, g_ba, meta = load_generators(weights)
    results, _ = evaluate(g_ab, g_ba, meta, limit=limit, device=torch.device("cpu"))
    return results


def bundle_model(a: str, b: str, runs: Path) -> None:
    run, made = trained(a, b, runs)
    name = model_name(a, b)
    folder = models_folder() / name
    folder.mkdir(parents=True, exist_ok=True)
    half_precision_copy(run / "weights.safetensors", folder / "weights.safetensors")
    _, _, meta = load_generators(folder / "weights.safetensors")
    command = " ".join(train_command(a, b, Path("runs") / name))
    card = {
        "name": name,
        "domain_a": a,
        "domain_b": b,
        "command": command,
        "made": made,
        "settings": meta.settings.to_dict(),
        "test": scores(folder / "weights.safetensors", 10_000),
        "test_float32": scores(run / "weights.safetensors", 10_000),
        "first_digits": CARD_LIMIT,
        "test_first_digits": scores(folder / "weights.safetensors", CARD_LIMIT),
        "size_bytes": (folder / "weights.safetensors").stat().st_size,
        "bundled": time.strftime("%Y-%m-%d"),
    }
    (folder / "card.json").write_text(json.dumps(card, indent=2, sort_keys=True) + "\n")
    (folder / "README.md").write_text(model_card(card))
    print(f"wrote {folder}")


def settings_list(settings: dict, indent: str = "") -> list[str]:
    """Settings as a bullet list, nested settings (the networks') indented under their name."""
    lines = []
    for key, value in sorted(settings.items()):
        if isinstance(value, dict):
            lines.append(f"{indent}- {key}:")
            lines.extend(settings_list(value, indent + "  "))
        else:
            lines.append(f"{indent}- {key}: `{json.dumps(value)}`")
    return lines


def score_rows(card: dict) -> list[str]:
    rows = []
    for label, key, fmt in CARD_ROWS:
        cells = []
        for direction in ("a2b", "b2a"):
            scores_of = card["test"][direction]
            value = scores_of.get(key)
            cell = "–" if value is None or value != value else fmt.format(value)
            real = scores_of.get(REAL_OF.get(key, ""))
            cells.append(cell if real is None or cell == "–" else f"{cell} ({fmt.format(real)})")
        if any(cell != "–" for cell in cells):
            rows.append(f"| {label} | {cells[0]} | {cells[1]} |")
    return rows


def model_card(card: dict) -> str:
    a, b, made = card["domain_a"], card["domain_b"], card["made"]
    palette = {"colored-background": "the background's", "colored-digit": "the digit's"}
    colour_sides = [f"into {side}, {palette[side]}" for side in (b, a) if side in palette]
    minutes = made["seconds"] / 60
    note = f" ({made['note']})" if made.get("note") else ""
    lines = [
        f"# {card['name']}: {a} ↔ {b}",
        "",
        f"Two CycleGAN generators, {a} → {b} and {b} → {a} (`mnistgan translate "
        f"{card['name']} in.png out.png`), stored in half precision "
        f"({card['size_bytes'] / 1e6:.1f} MB; they load into float32 networks).",
        "",
        "## How it was made",
        "",
        f"    {card['command']}",
        "",
        f"at commit {made['commit']} ({made['date']}, torch {made['torch_version']}), "
        f"{made['seconds']} s of training ({minutes:.1f} min, data rendering included) on "
        f"{made['machine']}{note}; then `python tools/bundle.py models` ({card['bundled']}). "
        "The settings, as the weights file records them:",
        "",
        *settings_list(card["settings"]),
        "",
        "## Scores on the 10,000 MNIST test digits",
        "",
        f"`mnistgan eval {card['name']}`, with the classifiers that ship with mnistgan (each "
        "trained on one domain's real training images). In brackets: the same measure on "
        "real target images against real ones, the best a translation can expect.",
        "",
        f"| measure | {a} → {b} | {b} → {a} |",
        "| --- | ---: | ---: |",
        *score_rows(card),
        "",
        "The float32 weights this copy came from read "
        f"{card['test_float32']['a2b'][Score.ACCURACY]:.2%} and "
        f"{card['test_float32']['b2a'][Score.ACCURACY]:.2%}. Accuracy: the share of outputs a "
        "classifier of the target domain reads as the input's digit. Background std: how far "
        "the background strays from one flat colour. Colour W1: the Wasserstein-1 distance "
        "between the outputs' colours and real images' colours. PSNR against the rule: the "
        "output against the same digit rendered into the target domain by the rule, in the "
        "output's own colour.",
        "",
        "## Data and licence",
        "",
        "Trained on 55,000 of the MNIST training digits (Yann LeCun, Corinna Cortes, "
        "Christopher J. C. Burges; CC BY-SA 3.0), the other 5,000 held out for validation, "
        "rendered into the two domains; the weights are released under the package's "
        "licence (MIT) as far as the data's licence allows.",
        "",
        "## Intended use and limits",
        "",
        f"- Translating images of single handwritten or typed digits between {a} and {b}, "
        "at 28×28 (any size runs, but the model only saw 28×28 digits).",
        "- Colour: "
        + (
            "; ".join(colour_sides) + " is yours to choose (`--color '#ff8800'`); "
            "by default a colour of the training data, picked by a hash of the "
            "input"
            if colour_sides
            else "none to choose"
        )
        + ".",
        "- Not for other domains, letters or other writing systems, or photographs.",
        *known_limits(card),
        "- One training seed; BENCHMARKS.md reports how far seeds 0-2 spread.",
        "",
    ]
    return "\n".join(lines)


def known_limits(card: dict) -> list[str]:
    """What the card's own scores show a user will meet, one line each."""
    lines = []
    for direction, (source, target) in (("a2b", (card["domain_a"], card["domain_b"])),
                                        ("b2a", (card["domain_b"], card["domain_a"]))):  # fmt: skip
        scores = card["test"][direction]
        if target == "mnist":
            lines.append(
                f"- Into mnist, grey levels that {source} does not keep are the model's guess: "
                f"{scores[Score.PSNR]:.1f} dB PSNR against the true grey digit."
            )
        spread = scores.get(Score.FLATNESS)
        if spread is not None and spread == spread and spread >= 0.1:
            lines.append(
                f"- Into {target} some backgrounds carry faint dots beside the digit "
                f"(background std {spread:.2f} of 255; real images 0)."
            )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["classifiers", "models", "cards"])
    parser.add_argument("--runs", type=Path, default=Path("runs/bundle"))
    parser.add_argument("--only", nargs="+", help="bundle these models alone (by name)")
    args = parser.parse_args()
    if args.what == "classifiers":
        bundle_classifiers()
        bundle_domain_check()
    elif args.what == "cards":  # the model cards again from card.json, after editing the text
        for a, b in PAIRS:
            folder = models_folder() / model_name(a, b)
            card = json.loads((folder / "card.json").read_text())
            (folder / "README.md").write_text(model_card(card))
    else:
        for a, b in PAIRS:
            if args.only is None or model_name(a, b) in args.only:
                bundle_model(a, b, args.runs)


if __name__ == "__main__":
    main()
