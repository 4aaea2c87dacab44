"""Which domain an image looks like: the check that tells a translation from a copy.

A generator can make good digits and still not translate: mnist → colored-digit that returns
the white digit on black, colored-digit → mnist that returns the dark digit on white. Digit
accuracy cannot see it. A small CNN trained on real renders of the three domains (both styles,
colours drawn as the domains draw them) says which domain each image belongs to; `eval` reports
the share of outputs it places in the target domain, next to the same share for real target
images (the ceiling) and for the untranslated inputs (what a copy would score), and `train`
checks its logged samples with it.

Grey images are read as RGB with equal channels. So that outputs into `mnist` (one channel)
can be judged, the colour domains are also shown in grey (ITU-R 601 luma) under their own label:
a colored-digit image turned grey is still a dark digit on white, not an mnist digit.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from mnist_cyclegan.channels import grey_to_rgb, rgb_to_grey
from mnist_cyclegan.data import load_mnist
from mnist_cyclegan.domains import DOMAINS, STYLES, draw_colors, render
from mnist_cyclegan.evaluation.model_cache import load_or_train
from mnist_cyclegan.images import channels_first

CHECK_FORMAT = "mnistgan-domain-check"
CHECK_VERSION = 1
CHECK_META = {"domains": ",".join(DOMAINS)}
TRAIN_DIGITS = 6_000  # per domain and style; the check reads colours and layout, not digits


class DomainCheck(nn.Module):
    """Three 3×3 convs and a linear read of their mean and max over the image: it sees the
    background's colour, the figure's colour and how they sit, wherever the figure is."""

    def __init__(self, classes: int = len(DOMAINS)) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(16, 32, 3, stride=2, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(32, 32, 3, stride=2, padding=1),
            nn.ReLU(inplace=True),
        )
        self.head = nn.Linear(64, classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The pooled features the head reads: what a distance between image sets compares."""
        hidden = self.body(x)
        return torch.cat([hidden.mean(dim=(2, 3)), hidden.amax(dim=(2, 3))], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def as_grey_rgb(images: np.ndarray) -> np.ndarray:
    """RGB images as a one-channel generator would see them, repeated back into RGB."""
    return grey_to_rgb(rgb_to_grey(images))


def training_set(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Real renders of every domain in both styles, colour domains also in grey: (images N×28×28×3
    uint8, domain index per image)."""
    digits = load_mnist().x_train[:TRAIN_DIGITS]
    images, labels = [], []
    for index, domain in enumerate(DOMAINS):
        for offset, style in enumerate(STYLES):
            colors = draw_colors(len(digits), seed + 10 * index + offset)
            rendered = grey_to_rgb(render(digits, domain, colors, style))
            images.append(rendered)
            if domain != "mnist":
                images.append(as_grey_rgb(rendered))
            labels += [index] * (len(images[-1]) * (1 if domain == "mnist" else 2))
    return np.concatenate(images), np.array(labels, dtype=np.int64)


def train_domain_check(*, device: torch.device, steps: int = 600, seed: int = 0) -> DomainCheck:
    """Adam on shuffled batches of 128 real renders: about ten seconds on a CPU."""
    images, labels = training_set(seed)
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = DomainCheck().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    images_t, labels_t = torch.from_numpy(images), torch.from_numpy(labels)
    for _ in range(steps):
        index = torch.randint(len(images_t), (128,), generator=generator)
        logits = model(to_input(images_t[index], device))
        loss = F.cross_entropy(logits, labels_t[index].to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return model.eval()


def check_name() -> str:
    return f"domain-check-v{CHECK_VERSION}.safetensors"


def load_domain_check(device: torch.device) -> DomainCheck:
    """The domain check: shipped with the package, else trained once and cached."""
    return load_or_train(
        check_name(), file_format=CHECK_FORMAT, meta=CHECK_META, build=DomainCheck,
        train=lambda: train_domain_check(device=device), device=device,
    )  # fmt: skip


def to_input(images: np.ndarray | torch.Tensor, device: torch.device) -> torch.Tensor:
    """uint8 N×H×W×3 → float N×3×H×W in [0, 1] on `device`."""
    return channels_first(images).to(device).float() / 255.0


@torch.no_grad()
def domain_of(model: DomainCheck, images: np.ndarray, device: torch.device) -> np.ndarray:
    """The domain index (into DOMAINS) each uint8 image (grey or RGB) looks like."""
    rgb = grey_to_rgb(images)
    found = [
        model(to_input(rgb[start : start + 1000], device)).argmax(1).cpu().numpy()
        for start in range(0, len(rgb), 1000)
    ]
    return np.concatenate(found) if found else np.zeros(0, dtype=np.int64)


def share_in(model: DomainCheck, images: np.ndarray, domain: str, device: torch.device) -> float:
    """The share of `images` the check places in `domain`."""
    return float((domain_of(model, images, device) == DOMAINS.index(domain)).mean())
