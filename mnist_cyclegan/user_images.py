"""Users' image files: finding them, and decoding any image Pillow reads into 8-bit pixels.

Whatever goes wrong inside a decoder (a truncated file, a fuzzed TIFF, a decompression bomb)
becomes one line naming the file. Images are turned upright by their EXIF orientation, as a
viewer shows them.
"""

from __future__ import annotations

import glob
import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from mnist_cyclegan.data.files import regular_file
from mnist_cyclegan.errors import MnistganError

MAX_PIXELS = 4096 * 4096  # refuse anything larger: a 16-megapixel digit is a mistake or an attack
MIN_SIDE = 8  # the generator reflect-pads by 3, which needs more than 3 pixels after downsampling
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm"}
GREY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}
ALPHA_MODES = {"LA", "La", "PA", "RGBA", "RGBa"}
COMPOSITED_MODES = ALPHA_MODES | {"L", "P", "RGB"}  # those whose transparency is laid on white


@dataclass(frozen=True)
class ImageInfo:
    """What a first, checking pass learns of an image: enough to plan its translation."""

    source: Path
    height: int
    width: int
    channels: int  # 1 grey, 3 RGB

    @property
    def pixels(self) -> int:
        return self.height * self.width


def read_image(path: Path) -> np.ndarray:
    """Decode any image Pillow reads into uint8 H×W (grey) or H×W×3 (anything else), upright,
    refusing oversized, tiny or broken files with one line."""
    if not path.exists() and not path.is_symlink():
        raise MnistganError(f"{path}: no such file")
    if regular_file(path).stat().st_size == 0:
        raise MnistganError(f"{path}: empty file")
    return decode(path, str(path))


def read_image_bytes(data: bytes, name: str) -> np.ndarray:
    """An image sent rather than stored (the demo page's uploads), checked as a file is;
    `name` stands for it in messages."""
    if not data:
        raise MnistganError(f"{name}: empty file")
    return decode(io.BytesIO(data), name)


def decode(source: Path | io.BytesIO, name: str) -> np.ndarray:
    """The checked decode behind read_image: the size from the header before any pixel."""
    previous_limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a decoder's complaints are not the user's output
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source) as image:
                check_size(name, *image.size)
                image.load()
                upright = ImageOps.exif_transpose(image)
                return to_8bit(upright)
    except MnistganError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise MnistganError(f"{name}: refused as a decompression bomb (too many pixels)") from None
    except UnidentifiedImageError:
        raise MnistganError(f"{name}: not an image Pillow can read") from None
    except MemoryError:
        raise MnistganError(f"{name}: too large to decode in this machine's memory") from None
    except Exception as error:  # any decoder failure: OSError, ValueError, SyntaxError, ...
        raise MnistganError(f"{name}: broken image ({describe(error)})") from None
    finally:
        Image.MAX_IMAGE_PIXELS = previous_limit


def check_size(name: Path | str, width: int, height: int) -> None:
    if width * height > MAX_PIXELS:
        raise MnistganError(f"{name}: {width}×{height} pixels is over the limit of {MAX_PIXELS}")
    if min(width, height) < MIN_SIDE:
        raise MnistganError(f"{name}: {width}×{height} is too small (min {MIN_SIDE})")


def describe(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0][:120] if lines else type(error).__name__


def to_8bit(image: Image.Image) -> np.ndarray:
    """Grey modes (incl. 16-bit and float) → uint8 H×W; everything else → uint8 H×W×3.
    A transparent image is first laid on white, as a viewer shows it on a page: dropping the
    alpha instead would turn dark ink on a transparent sheet into dark ink on black."""
    image = onto_white(image)
    if image.mode in GREY_MODES:
        if image.mode.startswith("I") or image.mode == "F":
            values = np.nan_to_num(np.asarray(image, dtype=np.float64), posinf=0.0, neginf=0.0)
            top = 65535.0 if values.max(initial=0.0) > 255 else 255.0  # 16-bit data in an I image
            return np.clip(np.rint(values / top * 255.0), 0, 255).astype(np.uint8)
        return np.asarray(image.convert("L"), dtype=np.uint8)
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


def onto_white(image: Image.Image) -> Image.Image:
    """`image` composited over an opaque white sheet where it has any transparency (an alpha
    channel, or a palette or grey image's transparent colour); as it was otherwise."""
    transparent = image.mode in ALPHA_MODES or "transparency" in image.info
    if not transparent or image.mode not in COMPOSITED_MODES:
        return image
    sheet = Image.new("RGBA", image.size, (255, 255, 255, 255))
    sheet.alpha_composite(image.convert("RGBA"))
    return sheet.convert("L" if image.mode in {"L", "LA", "La"} else "RGB")


def inspect(path: Path) -> ImageInfo:
    """Decode `path` fully (so a broken file is found before anything is written) and keep
    only its size and channels: the pixels are decoded again when their batch comes."""
    pixels = read_image(path)
    height, width = pixels.shape[:2]
    return ImageInfo(path, height, width, 1 if pixels.ndim == 2 else 3)


def is_image_name(name: str) -> bool:
    """A visible file with an image's suffix."""
    return not name.startswith(".") and Path(name).suffix.lower() in IMAGE_SUFFIXES


def expand_inputs(spec: str) -> tuple[list[Path], bool]:
    """A file, a folder (its images) or a glob; a path that exists is taken literally, even
    with glob characters in its name. Returns the files and whether output is a folder.
    Hidden files are passed over, as a glob and an own set's folder pass them (macOS leaves a
    `._name.png` of metadata beside each image it copies), and so are subfolders; a pipe or
    dead link named as an image is kept, so that read_image refuses it by name rather than
    the run skipping it without a word."""
    path = Path(spec)
    if path.is_dir():
        named = sorted(p for p in path.iterdir() if is_image_name(p.name))
        files = [p for p in named if not p.is_dir()]
        if not files:
            raise MnistganError(f"{path}: no image files in this folder")
        return files, True
    if path.exists() or not any(char in spec for char in "*?["):
        return [path], False
    files = sorted(Path(p) for p in glob.glob(spec) if not Path(p).is_dir())
    if not files:
        raise MnistganError(f"{spec}: no files match")
    return files, True
