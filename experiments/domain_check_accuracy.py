"""How often the domain check places real images in their own domain (docs/measurements.md).

    python experiments/domain_check_accuracy.py

Every domain in both styles, in colour and turned grey, and digits turned a quarter (shapes the
check never saw), rendered from the 10,000 test digits with colours of a seed it never saw.
"""

from __future__ import annotations

import numpy as np
import torch

from mnist_cyclegan.channels import grey_to_rgb as as_rgb
from mnist_cyclegan.data import load_mnist
from mnist_cyclegan.domains import DOMAINS, STYLES, draw_colors, render
from mnist_cyclegan.evaluation.domain_check import as_grey_rgb, load_domain_check, share_in

CPU = torch.device("cpu")


def main() -> None:
    checker = load_domain_check(CPU)
    digits = load_mnist().x_test
    turned = np.ascontiguousarray(np.rot90(digits, axes=(1, 2)))
    colors = draw_colors(len(digits), 99)
    print("| real images | threshold | blend | turned grey (threshold / blend) | turned 90° |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for domain in DOMAINS:
        cells = []
        greys = []
        for style in STYLES:
            images = render(digits, domain, colors, style)
            cells.append(f"{share_in(checker, images, domain, CPU):.2%}")
            greys.append(f"{share_in(checker, as_grey_rgb(as_rgb(images)), domain, CPU):.2%}")
        grey = " / ".join(greys) if domain != "mnist" else "–"
        quarter = share_in(checker, render(turned, domain, colors, "threshold"), domain, CPU)
        print(f"| {domain} | {cells[0]} | {cells[1]} | {grey} | {quarter:.2%} |")


if __name__ == "__main__":
    main()
