"""Reference points for reading eval's numbers on the 10,000 test digits.

    python benchmarks/metric_bounds.py

1. PSNR of colored-background → mnist if a translator recovered every pixel the threshold
   rendering keeps and guessed 0 for the anti-aliasing it erases (grey < 127.5).
2. Colour diversity (W1, 0–255) of a translator that paints every image one colour, for the
   best single colour and a few others, against the real colours.
"""

from __future__ import annotations

import numpy as np

from mnist_cyclegan import metrics
from mnist_cyclegan.data import domain_arrays, load_mnist


def main() -> None:
    grey = load_mnist().x_test
    kept_only = np.where(grey >= 127.5, grey, 0).astype(np.uint8)
    print(f"PSNR, erased anti-aliasing guessed as 0: {metrics.psnr(kept_only, grey).mean():.2f} dB")
    real = domain_arrays("colored-background", seed=1).colors_test.astype(np.float64)
    for value in (0, 64, 127, 191, 254):
        constant = np.full_like(real, value)
        mean, _ = metrics.color_diversity(constant, real)
        print(f"colour W1, every image ({value},{value},{value}): {mean:.1f}")


if __name__ == "__main__":
    main()
