"""Readers for the file formats the datasets come in, each checking what it reads.

IDX (MNIST, Fashion-MNIST), the CIFAR binary version (no pickles), and class-per-folder image
trees. A truncated or corrupt file raises ``ValueError`` naming it; nothing is half-read.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

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


def decode_image(path: Path, mode: str = "RGB") -> torch.Tensor:
    """One image file as a uint8 (C, H, W) tensor; a corrupt file is named in the error."""
    try:
        with Image.open(path) as image:
            image.load()
            array = np.asarray(image.convert(mode))
    except FileNotFoundError:
        raise NotFound(f"image file not found: {path}") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise BadInput(f"{path} is not a readable image: {error}") from None
    if array.ndim == 2:
        array = array[:, :, None]
    return torch.from_numpy(array.copy()).permute(2, 0, 1)
