"""`translate`: apply trained generators to users' image files of any size and mode.

Every input is opened, checked and decoded before anything is written, so one bad file in a
folder leaves the output untouched. Images are reflect-padded to a multiple of 4 (the
generator halves the size twice) and cropped back, so outputs have their input's size.
"""

from __future__ import annotations

import glob
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch.nn import functional as F

from mnist_cyclegan.cyclegan.pixels import to_model, to_pixels
from mnist_cyclegan.errors import MnistganError
from mnist_cyclegan.images import channels_first, save_png
from mnist_cyclegan.weights import WeightsMeta

MAX_PIXELS = 4096 * 4096  # refuse anything larger: a 16-megapixel digit is a mistake or an attack
MIN_SIDE = 8  # the generator reflect-pads by 3, which needs more than 3 pixels after downsampling
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm"}
GREY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}


@dataclass
class LoadedImage:
    source: Path
    pixels: np.ndarray  # uint8 H×W (grey) or H×W×3

    @property
    def channels(self) -> int:
        return 1 if self.pixels.ndim == 2 else 3


def read_image(path: Path) -> LoadedImage:
    """Decode any image Pillow reads into 8-bit grey or RGB, refusing oversized or broken files."""
    if not path.exists():
        raise MnistganError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise MnistganError(f"{path}: empty file")
    previous_limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise MnistganError(
                        f"{path}: {width}×{height} pixels is over the limit of {MAX_PIXELS} pixels"
                    )
                if min(width, height) < MIN_SIDE:
                    raise MnistganError(f"{path}: {width}×{height} is too small (min {MIN_SIDE})")
                image.load()
                pixels = to_8bit(image)
    except MnistganError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise MnistganError(f"{path}: refused as a decompression bomb (too many pixels)") from None
    except UnidentifiedImageError:
        raise MnistganError(f"{path}: not an image Pillow can read") from None
    except (OSError, ValueError, SyntaxError) as error:
        raise MnistganError(f"{path}: broken image ({str(error).splitlines()[0]})") from None
    finally:
        Image.MAX_IMAGE_PIXELS = previous_limit
    return LoadedImage(path, pixels)


def to_8bit(image: Image.Image) -> np.ndarray:
    """Grey modes (incl. 16-bit and float) → uint8 H×W; everything else → uint8 H×W×3."""
    if image.mode in GREY_MODES:
        if image.mode.startswith("I") or image.mode == "F":
            values = np.asarray(image, dtype=np.float64)
            top = 65535.0 if values.max() > 255 else 255.0  # 16-bit data in an I image
            return np.clip(np.rint(values / top * 255.0), 0, 255).astype(np.uint8)
        return np.asarray(image.convert("L"), dtype=np.uint8)
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


def expand_inputs(spec: str) -> tuple[list[Path], bool]:
    """A file, a folder (its images) or a glob. Returns the files and whether output is a folder."""
    path = Path(spec)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise MnistganError(f"{path}: no image files in this folder")
        return files, True
    if any(char in spec for char in "*?["):
        files = sorted(Path(p) for p in glob.glob(spec) if Path(p).is_file())
        if not files:
            raise MnistganError(f"{spec}: no files match")
        return files, True
    return [path], False


def choose_direction(meta: WeightsMeta, channels: int, direction: str | None, source: Path) -> str:
    """a2b or b2a: what the user asked, else the side whose channel count the input has."""
    if direction is not None:
        if direction not in ("a2b", "b2a"):
            raise MnistganError(f"--direction {direction}: choose a2b or b2a")
        return direction
    channels_a, channels_b = meta.channels_a, meta.channels_b
    if channels_a == channels_b:
        raise MnistganError(
            f"{source}: both sides of this model ({meta.domain_a}, {meta.domain_b}) take "
            f"{channels_a}-channel images; say --direction a2b or b2a"
        )
    return "a2b" if channels == channels_a else "b2a"


def match_channels(pixels: np.ndarray, channels: int) -> np.ndarray:
    if channels == 3 and pixels.ndim == 2:
        return np.repeat(pixels[..., None], 3, axis=-1)
    if channels == 1 and pixels.ndim == 3:
        weights = np.array([0.299, 0.587, 0.114])
        return np.clip(np.rint(pixels @ weights), 0, 255).astype(np.uint8)
    return pixels


@torch.no_grad()
def run_batch(generator, stack: np.ndarray, output: str, device: torch.device) -> np.ndarray:
    """Same-size images in one batch: reflect-pad to a multiple of 4, translate, crop back."""
    tensor = channels_first(stack)
    height, width = tensor.shape[-2:]
    pad_h, pad_w = (-height) % 4, (-width) % 4
    x = to_model(tensor.to(device), output)
    if pad_h or pad_w:
        x = F.pad(x, (0, pad_w, 0, pad_h), mode="reflect")
    return to_pixels(generator(x)[..., :height, :width], output)


def translate_files(
    g_ab, g_ba, meta: WeightsMeta, inputs: str, output: Path, *, direction: str | None, cycle: bool,
    device: torch.device, batch_size: int = 64,
) -> dict:  # fmt: skip
    """Translate every input; write outputs (and round trips) only once all inputs decoded."""
    started = time.perf_counter()
    files, folder_mode = expand_inputs(inputs)
    if folder_mode and output.exists() and not output.is_dir():
        raise MnistganError(f"{output}: exists and is not a folder (several inputs need a folder)")
    if not folder_mode and output.is_dir():
        raise MnistganError(f"{output}: is a folder; give an output file name")
    loaded = [read_image(path) for path in files]
    net_output = meta.output
    plans = []
    for image in loaded:
        way = choose_direction(meta, image.channels, direction, image.source)
        forward, backward = (g_ab, g_ba) if way == "a2b" else (g_ba, g_ab)
        wanted = meta.channels_a if way == "a2b" else meta.channels_b
        plans.append((image, way, forward, backward, match_channels(image.pixels, wanted)))
    results: list[tuple[Path, np.ndarray]] = []
    groups: dict[tuple, list[int]] = {}
    for i, (_, way, _, _, pixels) in enumerate(plans):
        groups.setdefault((way, pixels.shape), []).append(i)
    for members in groups.values():
        forward, backward = plans[members[0]][2], plans[members[0]][3]
        for start in range(0, len(members), batch_size):
            chunk = members[start : start + batch_size]
            stack = np.stack([plans[i][4] for i in chunk])
            translated = run_batch(forward, stack, net_output, device)
            round_trip = run_batch(backward, translated, net_output, device) if cycle else None
            for j, i in enumerate(chunk):
                target = output / f"{plans[i][0].source.stem}.png" if folder_mode else output
                results.append((target, translated[j]))
                if round_trip is not None:
                    results.append((target.with_name(f"{target.stem}.cycle.png"), round_trip[j]))
    for target, pixels in results:
        save_png(target, pixels)
    return {
        "images": len(loaded),
        "written": len(results),
        "seconds": time.perf_counter() - started,
        "directions": sorted({plan[1] for plan in plans}),
    }
