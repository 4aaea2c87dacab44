"""Time rendering all 70,000 digits per domain: vectorised `render` against a per-image loop.

Run: python experiments/bench_make_data.py   (prints one row per domain and style)
The loop baseline is the natural per-image numpy code (one np.where per image), not a pixel loop.
"""

from __future__ import annotations

import platform
import time

import numpy as np
import torch

from mnist_cyclegan.data import load_mnist
from mnist_cyclegan.domains import draw_colors, render


def per_image_loop(grey: np.ndarray, domain: str, colors: np.ndarray) -> np.ndarray:
    out = np.empty((*grey.shape, 3), dtype=np.uint8)
    for i in range(len(grey)):
        rgb = np.stack([grey[i]] * 3, axis=-1)
        ink = rgb >= 127.5
        if domain == "colored-background":
            out[i] = np.where(ink, rgb, colors[i])
        else:
            out[i] = np.where(ink, colors[i], 255)
    return out


def per_pixel_python(grey: np.ndarray, domain: str, colors: np.ndarray) -> np.ndarray:
    """The rule as plain Python over every pixel: what a first draft without numpy would be."""
    out = np.empty((*grey.shape, 3), dtype=np.uint8)
    for i, image in enumerate(grey.tolist()):
        color = colors[i].tolist()
        out[i] = [
            [
                [v if v >= 127.5 else color[c] for c in range(3)]
                if domain == "colored-background"
                else [color[c] if v >= 127.5 else 255 for c in range(3)]
                for v in row
            ]
            for row in image
        ]
    return out


def best_of(repeats: int, function, *args) -> tuple[float, np.ndarray]:
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = function(*args)
        times.append(time.perf_counter() - started)
    return min(times), result


def main() -> None:
    mnist = load_mnist()
    grey = np.concatenate([mnist.x_train, mnist.x_test])
    colors = draw_colors(len(grey), seed=0)
    print(f"# {platform.processor() or platform.machine()}, numpy {np.__version__}, "
          f"torch {torch.__version__}, {len(grey)} digits")  # fmt: skip
    print("times in seconds for all 70,000 digits; pixel-loop time extrapolated from 2,000")
    header = f"{'domain':<20} {'style':<10} {'vectorised':>10} {'numpy loop':>10} {'ratio':>6}"
    print(f"{header} {'pixel loop':>10} {'ratio':>7}")
    for domain in ("colored-background", "colored-digit"):
        fast_s, fast = best_of(3, render, grey, domain, colors, "threshold")
        loop_s, slow = best_of(1, per_image_loop, grey, domain, colors)
        assert np.array_equal(fast, slow)
        sample = 2000
        pixel_s, exact = best_of(1, per_pixel_python, grey[:sample], domain, colors[:sample])
        assert np.array_equal(fast[:sample], exact)
        pixel_s *= len(grey) / sample
        print(
            f"{domain:<20} {'threshold':<10} {fast_s:>10.3f} {loop_s:>10.3f} "
            f"{loop_s / fast_s:>5.1f}x {pixel_s:>10.1f} {pixel_s / fast_s:>6.0f}x"
        )
        blend_s, _ = best_of(3, render, grey, domain, colors, "blend")
        print(f"{domain:<20} {'blend':<10} {blend_s:>10.3f}")


if __name__ == "__main__":
    main()
