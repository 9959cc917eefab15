"""Readers for the file formats the datasets come in, each checking what it reads.

IDX (MNIST, Fashion-MNIST), the CIFAR binary version (no pickles), and class-per-folder image
trees. A truncated or corrupt file raises ``ValueError`` naming it; nothing is half-read.
"""

from __future__ import annotations

import gzip
import os
import re
import stat
import warnings
import zlib
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from keyarch.errors import BadInput, NotFound

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".pgm", ".tif", ".tiff", ".webp")
_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _read_bytes(path: Path) -> bytes:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as stream:
                return stream.read()
        return path.read_bytes()
    except FileNotFoundError:
        raise NotFound(f"dataset file not found: {path}") from None
    except (EOFError, OSError, zlib.error) as error:
        raise BadInput(f"{path} is truncated or corrupt: {error}") from None


def read_idx(path: str | Path) -> torch.Tensor:
    """An IDX file (optionally gzipped) as a tensor: 0x00 0x00 type ndim, then big-endian sizes."""
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_TYPES:
        raise BadInput(f"{path} is not an IDX file (bad magic number {data[:4].hex()})")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise BadInput(f"{path} is truncated: its header needs {header} bytes")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_TYPES[data[2]])
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if len(data) != expected:
        raise BadInput(
            f"{path} is truncated or padded: {len(data):,} bytes where its header {shape} "
            f"promises {expected:,}"
        )
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return torch.from_numpy(array.astype(dtype.newbyteorder("=")))


def parse_cifar_records(
    data: bytes, label_bytes: int, origin: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """CIFAR binary records: ``label_bytes`` labels (the last is the class), 3x32x32 pixels.

    Returns uint8 images (N, 3, 32, 32) and int64 labels (CIFAR-100: the fine labels).
    ``origin`` names the file in errors.
    """
    record = label_bytes + 3 * 32 * 32
    if len(data) == 0 or len(data) % record:
        raise BadInput(
            f"{origin} is truncated or corrupt: {len(data):,} bytes is not a whole number of "
            f"{record}-byte CIFAR records"
        )
    array = np.frombuffer(data, dtype=np.uint8).reshape(-1, record)
    labels = torch.from_numpy(array[:, label_bytes - 1].astype(np.int64))
    images = torch.from_numpy(array[:, label_bytes:].copy()).view(-1, 3, 32, 32)
    return images, labels


def read_cifar_binary(path: Path, label_bytes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """One CIFAR binary batch file (see ``parse_cifar_records``)."""
    return parse_cifar_records(_read_bytes(Path(path)), label_bytes, str(path))


def scan_image_folder(root: Path) -> tuple[list[tuple[Path, int]], list[str]]:
    """``root/<class>/<image>`` -> (path, class index) sorted, and the class names."""
    if not root.is_dir():
        raise NotFound(f"image folder not found: {root}")
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise BadInput(f"{root} has no class folders; expected {root}/<class>/<image>")
    samples = [
        (path, index)
        for index, name in enumerate(classes)
        for path in sorted((root / name).iterdir())
        if path.suffix.lower() in IMAGE_SUFFIXES
    ]
    if not samples:
        raise BadInput(f"{root} has class folders but no images ({', '.join(IMAGE_SUFFIXES)})")
    return samples, classes


# PIL's limit: an image declaring more pixels than twice this is a decompression bomb
# (PIL raises); between one and two times it, PIL only warns, and keyarch decodes it quietly.
BOMB_PIXELS = 2 * (Image.MAX_IMAGE_PIXELS or 89_478_485)


def check_regular_file(path: str | Path, what: str = "file") -> Path:
    """``path`` if it is a regular file this process can read; else one line saying what it
    is instead: missing (``NotFound``), a folder, a pipe or device (whose read would block
    forever), unreadable, or empty."""
    path = Path(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise NotFound(f"{what} not found: {path}") from None
    except OSError as error:
        raise BadInput(f"cannot read {path}: {error.strerror or error}") from None
    if stat.S_ISDIR(info.st_mode):
        raise BadInput(f"{path} is a folder, not {'an' if what[0] in 'aeiou' else 'a'} {what}")
    if not stat.S_ISREG(info.st_mode):
        article = "an" if what[0] in "aeiou" else "a"
        raise BadInput(f"{path} is not a regular file (a pipe, socket or device); give "
                       f"{article} {what}")  # fmt: skip
    if not os.access(path, os.R_OK):
        raise BadInput(f"cannot read {path}: permission denied")
    if info.st_size == 0:
        raise BadInput(
            f"{path} is empty (0 bytes), not {'an' if what[0] in 'aeiou' else 'a'} {what}"
        )
    return path


def _to_eight_bits(image: Image.Image, path: Path) -> Image.Image:
    """A 16-bit or 32-bit grey image as 8-bit grey, by its format's real range: 16-bit
    integers over 0-65535, floats over 0-1. Values outside the range are refused, not
    clipped (PIL's ``convert`` would read 16-bit as almost white and floats as black)."""
    array = np.asarray(image)
    if image.mode == "F":
        low, high = float(np.nanmin(array)), float(np.nanmax(array))
        if not np.isfinite(array).all() or low < 0 or high > 1:
            raise BadInput(f"{path}: a floating-point image with values from {low:g} to "
                           f"{high:g}; keyarch reads float images in the range 0 to 1")  # fmt: skip
        scaled = np.rint(array.astype(np.float64) * 255)
    else:  # I;16 variants, or I (32-bit integers) holding 16-bit data (PNG, TIFF)
        low, high = int(array.min()), int(array.max())
        if low < 0 or high > 65535:
            raise BadInput(f"{path}: an integer image with values from {low} to {high}; keyarch "
                           "reads 8-bit and 16-bit images (range 0 to 65535)")  # fmt: skip
        scaled = np.rint(array.astype(np.float64) / 257)
    return Image.fromarray(scaled.astype(np.uint8), "L")


def open_image(path: str | Path, mode: str = "RGB") -> Image.Image:
    """The one image decoder of every command: the file at ``path``, decoded in ``mode``
    ("RGB" or "L"), or one ``BadInput`` line naming it. A folder, pipe or device is refused
    before it is opened (a FIFO would hang the read); a decompression bomb is refused by its
    declared size; 16-bit and float images are converted by their real range."""
    path = Path(path)
    check_regular_file(path, "image file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                if width * height > BOMB_PIXELS:  # whatever PIL's own limit is set to
                    raise Image.DecompressionBombError(f"Image size ({width * height} pixels)")
                image.load()
                if image.mode in ("F", "I") or image.mode.startswith("I;16"):
                    image = _to_eight_bits(image, path)
                return image.convert(mode)
    except Image.DecompressionBombError as error:
        declared = re.search(r"\((\d+) pixels\)", str(error))
        size = f"{int(declared.group(1)) / 1e6:,.0f} M" if declared else "more"
        raise BadInput(f"{path} declares {size} pixels, more than keyarch decodes "
                       f"({BOMB_PIXELS / 1e6:.0f} M pixels): a decompression bomb, or an "
                       "image to shrink first") from None  # fmt: skip
    except BadInput:
        raise
    except Exception as error:  # noqa: BLE001 - a damaged file can make PIL raise anything
        raise BadInput(f"{path} is not a readable image: {error or type(error).__name__}") from None


def decode_image(path: Path, mode: str = "RGB") -> torch.Tensor:
    """One image file as a uint8 (C, H, W) tensor, decoded by ``open_image``."""
    array = np.asarray(open_image(path, mode))
    if array.ndim == 2:
        array = array[:, :, None]
    return torch.from_numpy(array.copy()).permute(2, 0, 1)
