"""CycleGAN's losses as the reference uses them: least-squares GAN for D and G, L1 for the cycle.

(Further generator terms are additions: variants/identity.py, variants/shape_term.py.)"""

from __future__ import annotations

import torch


def discriminator_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """LSGAN for D: (D(real) − 1)² + D(fake)², each averaged over the score map and batch."""
    return (real_scores - 1).square().mean() + fake_scores.square().mean()


def generator_gan_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """LSGAN for G: (D(G(x)) − 1)²: the generator wants its fakes scored as real."""
    return (fake_scores - 1).square().mean()


def l1(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute error: the cycle loss, x ≈ F(G(x))."""
    return (output - target).abs().mean()
