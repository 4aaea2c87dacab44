"""The eval report sheet: per direction, input / output / cycle / ground truth for 16 test
digits, and the metric table beside them, as one PNG."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from mnist_cyclegan.atomic import Staged
from mnist_cyclegan.images import grid, to_rgb, upscale

ROWS = ("input", "output", "cycle", "truth")
METRIC_LINES = (
    ("target_domain_share", "in target domain", "{:.2%}"),
    ("target_domain_share_real", "  real target images", "{:.2%}"),
    ("target_domain_share_input", "  inputs (a copy)", "{:.2%}"),
    ("source_domain_share", "in source domain", "{:.2%}"),
    ("accuracy", "digit accuracy", "{:.2%}"),
    ("accuracy_ceiling", "  classifier on real", "{:.2%}"),
    ("accuracy_batch_stats", "  with batch statistics", "{:.2%}"),
    ("psnr", "PSNR vs truth (dB)", "{:.2f}"),
    ("ssim", "SSIM vs truth", "{:.3f}"),
    ("flatness", "background std (0-255)", "{:.2f}"),
    ("color_w1", "colour W1 (0-255)", "{:.2f}"),
    ("color_sliced_w1", "colour W1 joint RGB", "{:.2f}"),
    ("color_sliced_w1_real", "  real vs real", "{:.2f}"),
    ("color_class_dependence", "colour ~ class (eta^2)", "{:.3f}"),
    ("color_class_dependence_real", "  real", "{:.3f}"),
    ("frechet_classifier_distance", "Frechet dist. (classifier)", "{:.2f}"),
    ("frechet_classifier_distance_real", "  real vs real", "{:.2f}"),
    ("frechet_set_distance", "Frechet dist. (A/B check)", "{:.3f}"),
    ("frechet_set_distance_real", "  real vs real", "{:.3f}"),
    ("kernel_set_distance", "KID (A/B check)", "{:.4f}"),
    ("kernel_set_distance_real", "  real vs real", "{:.4f}"),
    ("adaptation_accuracy", "trained on outputs", "{:.2%}"),
    ("adaptation_source_only", "  on the source", "{:.2%}"),
    ("adaptation_target_only", "  on the target", "{:.2%}"),
    ("cycle_l1", "cycle L1", "{:.4f}"),
    ("cycle_psnr", "cycle PSNR (dB)", "{:.2f}"),
    ("cycle_ssim", "cycle SSIM", "{:.3f}"),
)


def metric_text(scores: dict) -> list[str]:
    return [
        f"{label:<24}{fmt.format(scores[key])}" for key, label, fmt in METRIC_LINES if key in scores
    ]


def direction_panel(title: str, rows: dict[str, np.ndarray], scores: dict) -> Image.Image:
    stacked = np.concatenate([to_rgb(rows[name][:16]) for name in ROWS])
    picture = Image.fromarray(upscale(grid(stacked, columns=16), 2))
    height = max(picture.height, 48 + 15 * len(METRIC_LINES))
    panel = Image.new("RGB", (picture.width + 300, height + 24), "white")
    draw = ImageDraw.Draw(panel)
    draw.text((6, 4), title, fill="black")
    panel.paste(picture, (0, 24))
    for i, name in enumerate(ROWS):
        draw.text((picture.width + 8, 24 + 8 + i * 60), name, fill=(90, 90, 90))
    lines = metric_text(scores)
    for i, line in enumerate(lines):
        draw.text((picture.width + 70, 30 + i * 15), line, fill="black")
    note = "PSNR/SSIM: truth in the output's colour" if "color_w1" in scores else None
    if note is not None:  # the two directions' fidelity figures do not compare
        draw.text((picture.width + 70, 30 + len(lines) * 15), note, fill=(90, 90, 90))
    return panel


def report_sheet(panels: list[Image.Image]) -> Image.Image:
    """The direction panels stacked into one sheet."""
    width = max(p.width for p in panels)
    sheet = Image.new("RGB", (width, sum(p.height for p in panels)), "white")
    top = 0
    for panel in panels:
        sheet.paste(panel, (0, top))
        top += panel.height
    return sheet


def write_eval_outputs(results, samples, meta, *, json_out: Path | None, report: Path | None):
    """The JSON scores and the report sheet, written as one set."""
    with Staged() as stage:
        if json_out is not None:
            text = json.dumps(results, indent=2) + "\n"
            stage.write(json_out, lambda tmp: tmp.write_text(text, encoding="utf-8"))
        if report is not None:
            a, b = meta.domain_a, meta.domain_b
            sheet = report_sheet(
                [
                    direction_panel(f"{a} -> {b}", samples["a2b"], results["a2b"]),
                    direction_panel(f"{b} -> {a}", samples["b2a"], results["b2a"]),
                ]
            )
            stage.write(report, lambda tmp: sheet.save(tmp, format="PNG"))
