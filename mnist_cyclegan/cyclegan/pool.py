"""The CycleGAN paper's history pool of generated images (Shrivastava et al., 2017)."""

from __future__ import annotations

import torch


class ImagePool:
    """The CycleGAN paper's history of generated images (Shrivastava et al.).

    D is shown, for each fake in a batch, with probability ½ an older fake from the pool (which
    the new one replaces), so it does not chase the generator's latest move. Randomness comes
    from the pool's own generator so that a resumed run draws exactly what it would have drawn.
    """

    def __init__(self, size: int, seed: int) -> None:
        self.size = size
        self.images: torch.Tensor | None = None
        self.generator = torch.Generator().manual_seed(seed)

    def query(self, fakes: torch.Tensor) -> torch.Tensor:
        if self.size == 0:
            return fakes
        fakes = fakes.detach()
        if self.images is None:
            self.images = fakes[: self.size].clone()
            kept = len(self.images)
            if kept == len(fakes):
                return fakes
            return torch.cat([fakes[:kept], self._swap(fakes[kept:])])
        return self._swap(fakes)

    def _swap(self, fakes: torch.Tensor) -> torch.Tensor:
        if len(self.images) < self.size:
            room = self.size - len(self.images)
            self.images = torch.cat([self.images, fakes[:room].clone()])
            if room >= len(fakes):
                return fakes
            return torch.cat([fakes[:room], self._swap(fakes[room:])])
        count = len(fakes)
        use_old = torch.rand(count, generator=self.generator) < 0.5
        slots = torch.randint(0, self.size, (count,), generator=self.generator)
        out = fakes.clone()
        for i in torch.nonzero(use_old).flatten().tolist():  # ≤ batch items, sequential on purpose
            slot = int(slots[i])
            out[i] = self.images[slot]
            self.images[slot] = fakes[i]
        return out

    def state(self, prefix: str) -> dict[str, torch.Tensor]:
        state = {f"{prefix}.rng": self.generator.get_state()}
        if self.images is not None:
            state[f"{prefix}.images"] = self.images.detach().cpu().contiguous()
        return state

    def load_state(self, tensors: dict[str, torch.Tensor], prefix: str, device) -> None:
        self.generator.set_state(tensors[f"{prefix}.rng"])
        images = tensors.get(f"{prefix}.images")
        self.images = images.to(device) if images is not None else None
