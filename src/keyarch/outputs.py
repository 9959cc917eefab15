"""One way to write what a command produces: checked before the work, written whole or not
at all, and never over an earlier file unless asked.

* ``check_file`` / ``check_folder`` run before any work starts: the path is one keyarch can
  write (its folder exists, or for a folder output can be made; it is not under a file; the
  disk takes files and has room), and nothing there would be replaced without
  ``overwrite``. Each refusal is one ``BadInput`` line naming the flag and the path.
* ``atomic_write`` and ``staged_file`` write to a scratch name in the same folder, then
  rename: a kill or a full disk leaves the earlier file (or none), never half of one.
* ``staged_folder`` builds a report folder's files in a scratch folder and moves them into
  place only when all are written (the main file, ``report.md``, last): a report folder is
  complete or absent.
* ``CannotWrite``: a write that failed anyway (the disk filled during the work), named in
  one line with its flag.

Nothing here imports PyTorch.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from keyarch.errors import BadInput

MIN_FREE = 1 << 20  # a command starts only with at least 1 MiB free where it writes
# what a write can meet: no space, no quota, no permission, a read-only disk, a folder in the
# way; other errors a writer raises (a missing input, say) are its own, passed on as they are
_WRITE_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS,
                 errno.EISDIR, errno.ENOTDIR, errno.EEXIST, errno.EFBIG}  # fmt: skip


class CannotWrite(BadInput, OSError):
    """An output could not be written (no space, no permission): the earlier file, if any,
    is untouched and no partial file is left."""


def _describe(error: OSError) -> str:
    return error.strerror or str(error)  # "No space left on device", "Permission denied"


def _where(flag: str | None, path: Path) -> str:
    return f"{flag} {path}" if flag else str(path)


def _writable_folder(folder: Path, flag: str | None, path: Path, need: int) -> None:
    """Refuse ``path`` unless files can be created in ``folder`` (its nearest existing
    folder) and its disk has ``need`` bytes free."""
    try:
        handle, probe = tempfile.mkstemp(prefix=".keyarch-probe-", dir=folder)
    except OSError as error:
        raise BadInput(f"{_where(flag, path)}: cannot write in {folder} ({_describe(error)}); "
                       "choose a folder you can write to") from None  # fmt: skip
    os.close(handle)
    os.unlink(probe)
    free = shutil.disk_usage(folder).free
    if free < need:
        raise BadInput(f"{_where(flag, path)}: only {free // 1024} KiB of space left on the "
                       f"disk of {folder}; keyarch needs at least {need // 1024} KiB")  # fmt: skip


def _nearest_existing(path: Path, flag: str | None, target: Path) -> Path:
    """The nearest folder above (or at) ``path`` that exists; a file on the way is named."""
    current = path
    while not current.exists() and current != current.parent:
        current = current.parent
    if not current.is_dir():
        raise BadInput(f"{_where(flag, target)}: {current} is a file, not a folder")
    return current


def check_file(
    path: str | Path,
    flag: str | None = None,
    *,
    suffixes: Iterable[str] = (),
    overwrite: bool = False,
    companions: Iterable[str] = (),
    need: int = MIN_FREE,
) -> Path:
    """``path`` as a file keyarch may write, checked before any work: it ends in one of
    ``suffixes``, is not a folder, does not exist (unless ``overwrite``), nor do its
    ``companions`` (names beside it that the writer also makes, such as ``X.onnx.data``);
    its folder exists, takes files and has ``need`` bytes free."""
    if str(path) == "":
        raise BadInput(f"{flag or 'the output'}: give a file name")
    path = Path(path)
    suffixes = tuple(suffixes)
    if suffixes and path.suffix.lower() not in suffixes:
        raise BadInput(f"{_where(flag, path)}: expected a file ending in "
                       f"{' or '.join(suffixes)}")  # fmt: skip
    if path.is_dir():
        raise BadInput(f"{_where(flag, path)} is a folder; give a file name")
    folder = _nearest_existing(path.parent, flag, path)
    if folder != path.parent:
        raise BadInput(f"{_where(flag, path)}: the folder {path.parent} does not exist")
    for taken in (path, *(path.with_name(path.name + c) for c in companions)):
        if (taken.exists() or taken.is_symlink()) and not overwrite:
            which = _where(flag, path) + ("" if taken == path else f": {taken}")
            raise BadInput(f"{which} exists; keyarch does not overwrite it (choose another "
                           "name, or --overwrite)")  # fmt: skip
        if taken.exists() and not taken.is_file():
            raise BadInput(f"{_where(flag, path)}: {taken} is not a regular file")
    _writable_folder(folder, flag, path, need)
    return path


def check_folder(
    path: str | Path,
    flag: str | None = None,
    *,
    names: Iterable[str] = (),
    overwrite: bool = False,
    empty: bool = False,
    need: int = MIN_FREE,
) -> Path:
    """``path`` as a folder keyarch may write into (made, with its parents, when the work
    writes): not a file nor under one, takes files, has room; none of ``names`` (paths
    inside it, a trailing ``/*.png`` pattern allowed) exists there unless ``overwrite``;
    with ``empty``, it holds nothing at all (unless ``overwrite``)."""
    if str(path) == "":
        raise BadInput(f"{flag or 'the output'}: give a folder")
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise BadInput(f"{_where(flag, path)} is a file; give a folder")
    folder = _nearest_existing(path, flag, path)
    if path.is_dir() and not overwrite:
        taken = [p for name in names for p in sorted(path.glob(name))]
        if empty:
            taken = [p for p in sorted(path.iterdir()) if p.name != ".lock"][:3]
        if taken:
            shown = ", ".join(str(p.relative_to(path)) for p in taken[:3])
            raise BadInput(f"{_where(flag, path)} already holds {shown}; keyarch does not "
                           "overwrite (choose another folder, or --overwrite)")  # fmt: skip
    _writable_folder(folder, flag, path, need)
    return path


def _sync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every file system lets a folder be synced
        directory = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


def _scratch_name(path: Path) -> Path:
    # the suffix stays last, so that writers choosing a format by it (matplotlib) still can
    return path.with_name(f".{path.stem}.{os.getpid()}.partial{path.suffix}")


def atomic_write(path: str | Path, data: bytes, flag: str | None = None) -> None:
    """Write ``data`` to ``path`` so that ``path`` is always either old or new, never half.

    A failed write (a full disk, say) leaves the earlier ``path`` as it was, removes its
    partial scratch file and raises ``CannotWrite`` naming ``flag`` and the path.
    """
    path = Path(path)
    with staged_file(path, flag) as scratch:
        descriptor = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            view, written = memoryview(data), 0
            while written < len(view):
                written += os.write(descriptor, view[written:])
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


@contextlib.contextmanager
def staged_file(path: str | Path, flag: str | None = None) -> Iterator[Path]:
    """A scratch path beside ``path`` for a writer to fill; renamed to ``path`` when the
    block ends normally, removed when it raises (``OSError`` becomes ``CannotWrite``)."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CannotWrite(f"cannot write {_where(flag, path)}: {_describe(error)}") from None
    scratch = _scratch_name(path)
    try:
        yield scratch
        os.replace(scratch, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            os.unlink(scratch)
        if isinstance(error, CannotWrite) or error.errno not in _WRITE_ERRORS:
            raise
        raise CannotWrite(f"cannot write {_where(flag, path)}: {_describe(error)}; nothing "
                          "was left there") from None  # fmt: skip
    except BaseException:  # Ctrl-C, or the writer's own error: no partial file is left
        with contextlib.suppress(OSError):
            os.unlink(scratch)
        raise
    _sync_folder(path.parent)


@contextlib.contextmanager
def staged_folder(
    folder: str | Path,
    flag: str | None = None,
    *,
    overwrite: bool = False,
    last: Iterable[str] = ("report.md",),
    what: str | None = None,
) -> Iterator[Path]:
    """A scratch folder inside ``folder`` to write a set of files into; when the block ends
    normally every file moves into ``folder`` (subfolders kept), ``last`` ones last, and
    the scratch folder goes. When it raises, or a file would replace an earlier one without
    ``overwrite``, nothing moves and the scratch folder goes: the set is complete or absent.
    ``what`` names the set in a failure's message (default: the flag and the folder).
    """
    folder = Path(folder)
    what = what or _where(flag, folder)
    last = tuple(last)
    made = [p for p in (folder, *folder.parents) if not p.exists()]  # deepest first
    try:
        folder.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=".partial-", dir=folder))
    except OSError as error:
        raise CannotWrite(f"cannot write {what}: {_describe(error)}") from None
    try:
        yield scratch
        files = sorted(p for p in scratch.rglob("*") if p.is_file())
        files.sort(key=lambda p: p.name in last)
        targets = [folder / p.relative_to(scratch) for p in files]
        taken = [t for t in targets if t.exists()]
        if taken and not overwrite:
            raise BadInput(f"{_where(flag, folder)} already holds {taken[0].relative_to(folder)}; "
                           "keyarch does not overwrite (choose another folder, or "
                           "--overwrite)")  # fmt: skip
        blocked = [t for t in taken if t.is_dir()]
        if blocked:
            raise CannotWrite(f"cannot write {what}: {blocked[0]} is a folder where a file "
                              "goes; nothing was changed there")  # fmt: skip
        earlier = scratch.with_name(scratch.name + ".earlier")  # the replaced files, kept
        moved: list[tuple[Path, Path | None]] = []  # (target, where its earlier file went)
        try:
            for source, target in zip(files, targets, strict=True):
                target.parent.mkdir(parents=True, exist_ok=True)
                kept = None
                if target.exists():
                    kept = earlier / target.relative_to(folder)
                    kept.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(target, kept)
                moved.append((target, kept))
                os.replace(source, target)
        except BaseException:  # a set half moved is no set: put every earlier file back
            lost = []
            for target, kept in reversed(moved):
                try:
                    if kept is not None:
                        os.replace(kept, target)
                    elif target.exists():
                        target.unlink()
                except OSError:
                    lost.append(target)
            if lost:  # never delete the only copy: say where the earlier files wait
                raise CannotWrite(f"cannot write {what}, nor put back {len(lost)} earlier "
                                  f"file(s): they are in {earlier}") from None  # fmt: skip
            shutil.rmtree(earlier, ignore_errors=True)
            raise
        shutil.rmtree(earlier, ignore_errors=True)
        _sync_folder(folder)
    except OSError as error:
        if isinstance(error, CannotWrite) or error.errno not in _WRITE_ERRORS:
            raise
        raise CannotWrite(f"cannot write {what}: {_describe(error)}; nothing was left "
                          "there") from None  # fmt: skip
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        for empty in made:
            with contextlib.suppress(OSError):
                empty.rmdir()  # only those still empty: a refused or failed set leaves none
