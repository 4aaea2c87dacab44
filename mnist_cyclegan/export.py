"""`mnistgan export`: one generator as an ONNX graph that takes images as users hold them.

The graph holds the preprocessing, so a user cannot get it wrong: it takes N×H×W×C images
(uint8, or float in [0, 1], as `--io` says) of any batch size and any height and width, pads
them to a multiple of 4 inside, and gives back the same kind, N×H×W×C'. It is built from the
reference's plain layers. Before the file is written, onnxruntime runs it on real test digits
(at 28×28 and at another size) and its outputs are compared with PyTorch's: float32 graphs must
agree to 1e-4, uint8 graphs to one grey level (where a value lies within rounding of a half).
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from mnist_cyclegan.api import Translator
from mnist_cyclegan.atomic import write_atomic
from mnist_cyclegan.channels import match_channels
from mnist_cyclegan.data import domain_arrays
from mnist_cyclegan.data.sources import read_side
from mnist_cyclegan.domains import DOMAINS
from mnist_cyclegan.errors import MnistganError

IO_KINDS = ("uint8", "float32")
FLOAT_TOLERANCE = 1e-4
CHECK_DIGITS = 256


class ImagesToImages(nn.Module):
    """A generator between images as files hold them: N×H×W×C in, N×H×W×C' out."""

    def __init__(self, generator: nn.Module, output: str, io_kind: str) -> None:
        super().__init__()
        self.generator, self.output, self.io_kind = generator, output, io_kind

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images.permute(0, 3, 1, 2).float()
        x = x / 255.0 if self.io_kind == "uint8" else x
        x = x * 2 - 1 if self.output == "tanh" else x
        height, width = x.shape[-2], x.shape[-1]
        x = F.pad(x, (0, (4 - width % 4) % 4, 0, (4 - height % 4) % 4), mode="reflect")
        y = self.generator(x)[:, :, :height, :width]
        y = (y + 1) / 2 if self.output == "tanh" else y
        y = y.clamp(0, 1)
        if self.io_kind == "uint8":
            y = (y * 255.0).round().to(torch.uint8)
        return y.permute(0, 2, 3, 1)


def check_digits(translator: Translator, direction: str, io_kind: str) -> list[np.ndarray]:
    """Real test digits of the direction's source domain, at 28×28 and at 44×36, as the graph
    takes them."""
    meta = translator.meta
    domain, seed = (
        (meta.domain_a, meta.seed) if direction == "a2b" else (meta.domain_b, meta.seed + 1)
    )
    digits = source_images(meta, direction, domain, seed)[:CHECK_DIGITS]
    digits = match_channels(digits, translator.input_channels(direction))
    digits = digits[..., None] if digits.ndim == 3 else digits
    other = np.stack([np.asarray(_resized(d, (36, 44))) for d in digits[:16]])
    other = other[..., None] if other.ndim == 3 else other
    batches = [digits, other]
    if io_kind == "float32":
        batches = [(b / 255.0).astype(np.float32) for b in batches]
    return batches


def source_images(meta, direction: str, domain: str, seed: int) -> np.ndarray:
    """Test images of the direction's source: ours rendered, or the run's own data."""
    settings = meta.settings
    spec = None
    if settings is not None:
        spec = settings.data_a if direction == "a2b" else settings.data_b
    if spec is None and domain in DOMAINS:
        return domain_arrays(domain, style=meta.style, seed=seed).x_test
    if spec is None:
        raise MnistganError(f"the model names no data for {domain}: nothing to check the graph on")
    side = "a" if direction == "a2b" else "b"
    size = settings.size if settings is not None else None
    return read_side(spec, domain, side, style=meta.style, seed=seed, size=size).x_test


def _resized(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    from PIL import Image

    picture = Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)
    return np.asarray(picture.resize(size))


def onnx_bytes(module: nn.Module, example: torch.Tensor) -> bytes:
    """The module as ONNX with dynamic batch, height and width, the exporter kept quiet."""
    batch, height, width = (
        torch.export.Dim("batch"),
        torch.export.Dim("height", min=8),
        torch.export.Dim("width", min=8),
    )
    quiet = contextlib.redirect_stdout(io.StringIO())
    with quiet, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.disable(logging.WARNING)
        try:
            program = torch.onnx.export(
                module,
                (example,),
                dynamo=True,
                verbose=False,
                dynamic_shapes={"images": {0: batch, 1: height, 2: width}},
            )
        finally:
            logging.disable(logging.NOTSET)
    return program.model_proto.SerializeToString()


def verify(model: bytes, module: nn.Module, batches: list[np.ndarray], io_kind: str) -> float:
    """The largest difference between onnxruntime's outputs and PyTorch's; raises if too big."""
    import onnxruntime

    session = onnxruntime.InferenceSession(model, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    worst = 0.0
    for batch in batches:
        got = session.run(None, {name: batch})[0]
        with torch.no_grad():
            want = module(torch.from_numpy(batch)).numpy()
        if got.shape != want.shape:
            raise MnistganError(f"the exported graph gives {got.shape}, PyTorch {want.shape}")
        difference = np.abs(got.astype(np.float64) - want.astype(np.float64))
        worst = max(worst, float(difference.max()))
        if io_kind == "float32" and worst > FLOAT_TOLERANCE:
            raise MnistganError(f"onnxruntime differs from PyTorch by {worst:.2e} (> 1e-4)")
        if io_kind == "uint8" and (worst > 1 or (difference > 0).mean() > 1e-3):
            raise MnistganError("onnxruntime differs from PyTorch by more than rounding")
    return worst


def export_onnx(translator: Translator, direction: str, io_kind: str, out: Path) -> dict:
    """Export, verify in onnxruntime, then write `out`; return what was checked."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        raise MnistganError(
            "export needs onnx and onnxruntime: pip install 'mnistgan[onnx]'"
        ) from None
    if io_kind not in IO_KINDS:
        raise MnistganError(f"--io {io_kind}: choose uint8 or float32")
    module = ImagesToImages(translator.generator(direction).cpu(), translator.meta.output, io_kind)
    batches = check_digits(translator, direction, io_kind)
    model = onnx_bytes(module.eval(), torch.from_numpy(batches[0][:2]))
    worst = verify(model, module, batches, io_kind)
    write_atomic(out, lambda tmp: tmp.write_bytes(model))
    return {"checked": sum(len(b) for b in batches), "worst": worst, "bytes": len(model)}
