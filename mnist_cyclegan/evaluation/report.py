"""The eval report sheet: per direction, input / output / cycle / ground truth for 16 test
digits, and the metric table beside them, as one PNG."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from mnist_cyclegan.atomic import Staged
from mnist_cyclegan.evaluation.scores import SHOWN, Score
from mnist_cyclegan.images import grid, to_rgb, upscale

ROWS = ("input", "output", "cycle", "truth")


def metric_text(scores: dict) -> list[str]:
    return [
        f"{shown.label:<24}{shown.format.format(scores[score])}"
        for score, shown in SHOWN.items()
        if score in scores
    ]


def direction_panel(title: str, rows: dict[str, np.ndarray], scores: dict) -> Image.Image:
    stacked = np.concatenate([to_rgb(rows[name][:16]) for name in ROWS])
    picture = Image.fromarray(upscale(grid(stacked, columns=16), 2))
    height = max(picture.height, 48 + 15 * len(SHOWN))
    panel = Image.new("RGB", (picture.width + 300, height + 24), "white")
    draw = ImageDraw.Draw(panel)
    draw.text((6, 4), title, fill="black")
    panel.paste(picture, (0, 24))
    for i, name in enumerate(ROWS):
        draw.text((picture.width + 8, 24 + 8 + i * 60), name, fill=(90, 90, 90))
    lines = metric_text(scores)
    for i, line in enumerate(lines):
        draw.text((picture.width + 70, 30 + i * 15), line, fill="black")
    note = "PSNR/SSIM: truth in the output's colour" if Score.COLOR_W1 in scores else None
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
