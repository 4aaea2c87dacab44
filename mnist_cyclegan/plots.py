"""Loss curves drawn with Pillow alone: three panels as the reference plots them.

Matplotlib would be a large dependency for three line charts; this draws axes, min/max ticks, a
legend and the lines, which is all a loss plot needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PIL import Image, ImageDraw

from mnist_cyclegan.atomic import write_atomic

COLOURS = ((31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189))


def panel(
    steps: Sequence[float],
    series: dict[str, Sequence[float]],
    title: str,
    size: tuple[int, int] = (420, 300),
    x_label: str = "step",
) -> Image.Image:
    """One line chart: x = step (or what `x_label` names), one line per named series."""
    width, height = size
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    left, right, top, bottom = 58, width - 12, 28, height - 34
    draw.text((left, 8), title, fill="black")
    draw.rectangle((left, top, right, bottom), outline="black")
    values = [v for line in series.values() for v in line if v == v]
    if not steps or not values:
        draw.text((left + 10, top + 10), "no data yet", fill="black")
        return image
    low, high = min(values), max(values)
    if high - low < 1e-12:
        low, high = low - 0.5, high + 0.5
    first, last = min(steps), max(steps)
    span = max(last - first, 1)

    def point(step: float, value: float) -> tuple[float, float]:
        x = left + (step - first) / span * (right - left)
        y = bottom - (value - low) / (high - low) * (bottom - top)
        return x, y

    for text, y in ((f"{high:.3g}", top), (f"{low:.3g}", bottom - 10)):
        draw.text((4, y), text, fill="black")
    draw.text((left, bottom + 6), f"{first:g}", fill="black")
    draw.text((right - 40, bottom + 6), f"{last:g}", fill="black")
    draw.text(((left + right) // 2 - 3 * len(x_label), bottom + 18), x_label, fill="black")
    for i, (name, line) in enumerate(series.items()):
        colour = COLOURS[i % len(COLOURS)]
        points = [point(s, v) for s, v in zip(steps, line, strict=True) if v == v]
        if len(points) > 1:
            draw.line(points, fill=colour, width=2)
        elif points:
            x, y = points[0]
            draw.ellipse((x - 2, y - 2, x + 2, y + 2), fill=colour)
        draw.text((right - 110, top + 6 + 14 * i), name, fill=colour)
    return image


def in_a_row(panels: Sequence[Image.Image]) -> Image.Image:
    width = sum(p.width for p in panels)
    height = max(p.height for p in panels)
    sheet = Image.new("RGB", (width, height), "white")
    x = 0
    for picture in panels:
        sheet.paste(picture, (x, 0))
        x += picture.width
    return sheet


def save_image(path: Path, image: Image.Image) -> None:
    write_atomic(path, lambda tmp: image.save(tmp, format="PNG"))
