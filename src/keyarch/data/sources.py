"""Where datasets come from: finding local copies, verifying them, downloading them.

Search order: an explicit ``data_dir``, then ``$KEYARCH_DATA``, then the cache directory
(``$KEYARCH_CACHE`` or ``~/.cache/keyarch``), then a download into the cache with the
official checksums. A local copy is verified against a ``SHA256SUMS`` manifest beside its
files when there is one (a rebuilt file cannot match the official checksum), otherwise
against the official MD5; which one was used is reported, and a mismatch is an error.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path

from keyarch.errors import BadInput, NotFound


def cache_dir() -> Path:
    """keyarch's cache: ``$KEYARCH_CACHE``, else ``$XDG_CACHE_HOME/keyarch``, else ~/.cache."""
    if os.environ.get("KEYARCH_CACHE"):
        return Path(os.environ["KEYARCH_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "keyarch"


def check_data_dir(data_dir: str | Path | None, flag: str = "--data-dir", *,
                   must_exist: bool = False) -> None:  # fmt: skip
    """Refuse a ``data_dir`` (or ``$KEYARCH_DATA``) that is a file, not a folder, and with
    ``must_exist`` a ``data_dir`` that does not exist: where a missing dataset would fall
    back to another copy (the embedded subset), a typo must not do so unsaid."""
    named = [(flag, data_dir)] if data_dir else []
    if os.environ.get("KEYARCH_DATA"):
        named.append(("$KEYARCH_DATA", os.environ["KEYARCH_DATA"]))
    for what, where in named:
        path = Path(where)
        hint = "give the folder that holds the datasets" + (
            ", or unset it" if what.startswith("$") else ""
        )
        if not path.exists():
            if must_exist and what == flag:
                raise NotFound(f"{what} {where}: no such folder; {hint}")
            continue  # searched, and said among the places looked in when nothing is found
        if not path.is_dir():
            raise BadInput(f"{what} {where} is a file, not a folder; {hint}")


def search_roots(data_dir: str | Path | None) -> list[Path]:
    """The folders searched for datasets, in order; one that was named but is not a folder
    is refused (``check_data_dir``)."""
    check_data_dir(data_dir, must_exist=True)
    roots = [Path(data_dir)] if data_dir else []
    if os.environ.get("KEYARCH_DATA"):
        roots.append(Path(os.environ["KEYARCH_DATA"]))
    roots.append(cache_dir() / "datasets")
    return roots


@dataclass(frozen=True)
class Source:
    """The files of one dataset: names, official MD5s and where to download them."""

    title: str
    folders: tuple[str, ...]  # folder names under a search root that may hold the files
    files: dict[str, str]  # file name -> official MD5
    mirrors: tuple[str, ...]  # base URLs the files are downloaded from


def _digest(path: Path, algorithm: str) -> str:
    hasher = hashlib.new(algorithm)
    with open(path, "rb") as stream:
        while chunk := stream.read(1 << 20):
            hasher.update(chunk)
    return hasher.hexdigest()


def _manifest(folder: Path) -> dict[str, str]:
    path = folder / "SHA256SUMS"
    if not path.is_file():
        return {}
    entries = {}
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2:
            entries[parts[1].lstrip("*")] = parts[0].lower()
    return entries


def verify(folder: Path, source: Source) -> str:
    """Check every file of ``source`` in ``folder``; return how they were verified."""
    manifest = _manifest(folder)
    for name, md5 in source.files.items():
        path = folder / name
        if not path.is_file():
            raise NotFound(f"{source.title}: {path} is missing")
        if name in manifest:
            expected, actual = manifest[name], _digest(path, "sha256")
            against = f"the manifest {folder / 'SHA256SUMS'}"
        else:
            expected, actual = md5, _digest(path, "md5")
            against = "the official MD5"
        if actual != expected:
            raise BadInput(
                f"{path} does not match {against} (expected {expected}, got {actual}): the file "
                "is truncated, corrupt or another version; delete it, or put a SHA256SUMS "
                "manifest beside a copy you trust"
            )
    return (
        f"verified against {folder / 'SHA256SUMS'}"
        if all(name in manifest for name in source.files)
        else "verified against the official MD5 checksums"
    )


def find(source: Source, data_dir: str | Path | None) -> Path | None:
    """The first folder, in search order, that holds all of ``source``'s files."""
    for root in search_roots(data_dir):
        for candidate in (root, *(root / folder for folder in source.folders)):
            if all((candidate / name).is_file() for name in source.files):
                return candidate
    return None


def download(source: Source, timeout: float = 20.0) -> Path:
    """Download ``source`` into the cache, verifying each file's MD5 before keeping it."""
    from torchvision.datasets.utils import download_url

    target = cache_dir() / "datasets" / source.folders[0]
    target.mkdir(parents=True, exist_ok=True)
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout)
    try:
        for name, md5 in source.files.items():
            if (target / name).is_file():
                continue
            errors = []
            for mirror in source.mirrors:
                with tempfile.TemporaryDirectory(dir=target) as scratch:
                    try:
                        download_url(mirror + name, scratch, name, md5)
                    except Exception as error:  # network errors come in many types
                        errors.append(f"{mirror}: {error}")
                        continue
                    shutil.move(Path(scratch) / name, target / name)  # only verified files
                    break
            else:
                raise ConnectionError(f"could not download {name}: " + "; ".join(errors))
    finally:
        socket.setdefaulttimeout(previous)
    return target


def not_found_message(source: Source, data_dir: str | Path | None, reason: str) -> str:
    places = ", ".join(str(r) for r in search_roots(data_dir))
    return (
        f"{source.title} not found in {places} ({reason}); put {', '.join(source.files)} in "
        f"one of them (or a subfolder {source.folders[0]}/), or pass --data-dir"
    )
