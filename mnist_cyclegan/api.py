"""Translate from your own code: `Translator.load(weights_or_name).a2b(image)`.

    from mnist_cyclegan import Translator
    translator = Translator.load("mnist-colored-background")  # or a weights.safetensors path
    coloured = translator.a2b(Image.open("digit.png"))           # a PIL image back
    grey = translator.b2a(np.asarray(coloured))                   # uint8 H×W back
    orange = translator.a2b(Image.open("digit.png"), color="#ff8800")  # a chosen colour

Each call takes what it gets and gives back the same kind: a PIL image, a numpy array (H×W or
H×W×3, uint8, or float in [0, 1]) or a batch tensor (N×C×H×W, uint8, or float in [0, 1]), of
any size (reflect-padded to a multiple of 4 inside, cropped back). A grey input to an RGB side
is repeated into RGB, an RGB input to a grey side turned grey (mnist_cyclegan/channels.py), as
`mnistgan translate` does. A model with a two-tone output (the quick preset's) takes a colour
for the side that has one: the background into colored-background, the digit into
colored-digit (colour_request.py); the default, "random", is the model's own pick.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn
from torch.nn import functional as F

from mnist_cyclegan.channels import match_channels, match_tensor_channels
from mnist_cyclegan.colour_request import Colour, parse_colour, requested_palette
from mnist_cyclegan.cyclegan.pixels import to_model, to_pixels
from mnist_cyclegan.errors import MnistganError
from mnist_cyclegan.images import channels_first
from mnist_cyclegan.pretrained import resolve_weights
from mnist_cyclegan.settings.run_options import resolve_device
from mnist_cyclegan.tiles import translate_large
from mnist_cyclegan.user_images import to_8bit
from mnist_cyclegan.variants.two_tone import estimate_palette
from mnist_cyclegan.weights import WeightsMeta, load_generators

DIRECTIONS = ("a2b", "b2a")


class Translator:
    """Both generators of a model, in eval mode, and what they expect."""

    def __init__(self, g_ab: nn.Module, g_ba: nn.Module, meta: WeightsMeta, device: torch.device):
        self.g_ab, self.g_ba, self.meta, self.device = g_ab, g_ba, meta, device

    @classmethod
    def load(cls, source: str | Path, device: str | torch.device = "cpu") -> Translator:
        """A weights file, or the name of a model that ships with the package
        (`mnistgan models` lists them)."""
        device = resolve_device(str(device)) if not isinstance(device, torch.device) else device
        g_ab, g_ba, meta = load_generators(resolve_weights(source), device)
        return cls(g_ab, g_ba, meta, device)

    def a2b(self, images, color: Colour = None):
        """Domain A → domain B, same kind of value back; `color` '#rrggbb', (r, g, b) or
        'random' where the model paints with a palette."""
        return self.translate(images, "a2b", color)

    def b2a(self, images, color: Colour = None):
        """Domain B → domain A, same kind of value back (`color` as for a2b)."""
        return self.translate(images, "b2a", color)

    def target_domain(self, direction: str) -> str:
        return self.meta.domain_b if direction == "a2b" else self.meta.domain_a

    def check_colour(self, direction: str, color: Colour) -> None:
        """Raise, naming the side, where `color` is a colour this direction cannot paint."""
        colour = parse_colour(color)
        if colour is not None:
            requested_palette(self.generator(direction), colour, 1, self.target_domain(direction))

    def palette(self, direction: str, color: Colour, count: int) -> torch.Tensor | None:
        """The palettes of `count` images painted in `color`, None for the model's own."""
        colour = parse_colour(color)
        if colour is None:
            return None
        side = self.target_domain(direction)
        return requested_palette(self.generator(direction), colour, count, side).to(self.device)

    def input_channels(self, direction: str) -> int:
        return self.meta.channels_a if direction == "a2b" else self.meta.channels_b

    def generator(self, direction: str) -> nn.Module:
        if direction not in DIRECTIONS:
            raise MnistganError(f"direction {direction!r}: choose a2b or b2a")
        return self.g_ab if direction == "a2b" else self.g_ba

    def translate(self, images, direction: str, color: Colour = None):
        self.check_colour(direction, color)
        if isinstance(images, Image.Image):
            return self._pil(images, direction, color)
        if isinstance(images, np.ndarray):
            return self._array(images, direction, color)
        if isinstance(images, torch.Tensor):
            return self._tensor(images, direction, color)
        raise MnistganError(f"cannot translate a {type(images).__name__}: give a PIL image, "
                            "a numpy array or a tensor")  # fmt: skip

    def translate_uint8(
        self,
        stack: np.ndarray,
        direction: str,
        colours_of: np.ndarray | None = None,
        color: Colour = None,
    ) -> np.ndarray:
        """uint8 N×H×W or N×H×W×3 images of one size → the translations, uint8 likewise.
        A two-tone model paints in the colours of `colours_of` (uint8 images of the target
        domain, one per image: a round trip's originals) where given, else in `color`, else
        in its own."""
        stack = match_channels(stack, self.input_channels(direction))
        x = to_model(channels_first(stack).to(self.device), self.meta.output)
        palette = self.palette(direction, color, len(stack))
        if colours_of is not None and self.meta.net.head == "two-tone":
            target = self.meta.channels_b if direction == "a2b" else self.meta.channels_a
            originals = channels_first(match_channels(colours_of, target)).to(self.device)
            palette = estimate_palette(originals.float() / 255)
        return to_pixels(self._forward(x, direction, palette), self.meta.output)

    @torch.no_grad()
    def _forward(
        self, x: torch.Tensor, direction: str, palette: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Model values N×C×H×W of any size: reflect-pad to a multiple of 4, translate (a large
        image in tiles, tiles.py), crop."""
        height, width = x.shape[-2:]
        pad_h, pad_w = (-height) % 4, (-width) % 4
        if pad_h or pad_w:
            x = F.pad(x, (0, pad_w, 0, pad_h), mode="reflect")
        generator = self.generator(direction)
        return translate_large(generator, x, palette, self.meta.net)[..., :height, :width]

    def _pil(self, image: Image.Image, direction: str, color: Colour) -> Image.Image:
        pixels = to_8bit(image)  # as translate reads files: 16-bit and float grey scaled
        out = self.translate_uint8(pixels[None], direction, color=color)[0]
        return Image.fromarray(out, mode="L" if out.ndim == 2 else "RGB")

    def _array(self, array: np.ndarray, direction: str, color: Colour) -> np.ndarray:
        if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[-1] != 3):
            raise MnistganError(f"an array of shape {array.shape}: give H×W or H×W×3")
        if array.dtype == np.uint8:
            return self.translate_uint8(array[None], direction, color=color)[0]
        if array.dtype.kind != "f":
            raise MnistganError(f"an array of {array.dtype}: give uint8, or float in [0, 1]")
        tensor = torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))[None]
        tensor = tensor[:, None] if array.ndim == 2 else tensor.permute(0, 3, 1, 2)
        out = self._tensor(tensor, direction, color)[0]
        return (out[0] if out.shape[0] == 1 else out.permute(1, 2, 0)).numpy()

    def _tensor(self, images: torch.Tensor, direction: str, color: Colour) -> torch.Tensor:
        if images.ndim != 4 or images.shape[1] not in (1, 3):
            raise MnistganError(f"a tensor of shape {tuple(images.shape)}: give N×C×H×W, C 1 or 3")
        if images.dtype == torch.uint8:
            pixels = images.permute(0, 2, 3, 1).cpu().numpy()
            pixels = pixels[..., 0] if pixels.shape[-1] == 1 else pixels
            translated = self.translate_uint8(pixels, direction, color=color)
            return channels_first(translated).to(images.device)
        x = match_tensor_channels(images.float().to(self.device), self.input_channels(direction))
        x = x * 2 - 1 if self.meta.output == "tanh" else x
        y = self._forward(x, direction, self.palette(direction, color, len(x)))
        y = (y + 1) / 2 if self.meta.output == "tanh" else y
        return y.clamp(0, 1).to(images.device, images.dtype)
