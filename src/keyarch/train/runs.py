"""Run directories and their safety: nothing a run wrote is lost.

* A taken name is never reused: a new run next to an earlier one (finished or not) goes to
  ``NAME-2``, ``NAME-3`` ... and says so, unless ``overwrite`` is asked for.
* A lock (``.lock``, held with ``flock`` for the life of the process, released by the
  kernel even when the process is killed) refuses a second live run in the same directory.
* ``--resume`` continues only the same run: the checkpoint's settings are compared with
  the new ones and any change that would alter the run is refused, naming the fields.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from keyarch.errors import BadInput, NotFound

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; the directory rules still hold
    fcntl = None

CHECKPOINT = "checkpoint.safetensors"
SUMMARY = "summary.json"
LOCK = ".lock"

# The settings that define a run: a resume must keep all of them.
RUN_DEFINING = (
    "model",
    "dataset",
    "data",
    "recipe",
    "seed",
    "train_limit",
    "test_limit",
    "image_size",
    "amp",
)


class RunLock:
    """An exclusive lock on a run directory for as long as this object lives."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / LOCK
        self.handle = open(self.path, "a+")  # noqa: SIM115 - held open for the run's life
        if fcntl is None:
            return
        try:
            fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.handle.seek(0)
            holder = self.handle.read().strip() or "another process"
            self.handle.close()
            raise BadInput(
                f"{directory} is in use by a live run ({holder}); wait for it to finish, or "
                "choose another --run-name"
            ) from None
        self.handle.seek(0)
        self.handle.truncate()
        self.handle.write(f"pid {os.getpid()}\n")
        self.handle.flush()

    def release(self) -> None:
        if not self.handle.closed:
            self.handle.close()


@dataclass
class RunDirectory:
    path: Path
    note: str | None  # said at the start when the directory is not the one asked for
    lock: RunLock | None = None

    @property
    def checkpoint(self) -> Path:
        return self.path / CHECKPOINT

    def release(self) -> None:
        if self.lock is not None:
            self.lock.release()


def _taken(directory: Path) -> bool:
    return directory.exists() and any(p.name != LOCK for p in directory.iterdir())


def choose(out: Path, name: str, *, resume: bool, overwrite: bool) -> tuple[Path, str | None]:
    """The directory for a run named ``name`` under ``out``, and a note when it differs."""
    wanted = Path(out) / name
    if resume:
        if not (wanted / CHECKPOINT).is_file():
            raise NotFound(
                f"--resume: no checkpoint to resume in {wanted} (expected {wanted / CHECKPOINT})"
            )
        return wanted, None
    if overwrite or not _taken(wanted):
        return wanted, None
    number = 2
    while _taken(wanted.with_name(f"{name}-{number}")):
        number += 1
    chosen = wanted.with_name(f"{name}-{number}")
    state = "a finished run" if (wanted / SUMMARY).is_file() else "an unfinished run"
    return chosen, (
        f"{wanted} holds {state}, kept as it is; this run goes to {chosen} "
        "(--overwrite replaces, --resume continues)"
    )


def remove_if_empty(directory: Path, made: list[Path] = ()) -> None:
    """Remove a run folder that holds nothing but its lock (a run refused as it began), and
    the folders above it in ``made`` (those the run created) that are left empty."""
    with contextlib.suppress(OSError):
        if {p.name for p in directory.iterdir()} <= {LOCK}:
            (directory / LOCK).unlink(missing_ok=True)
            directory.rmdir()
            for folder in made:  # deepest first
                folder.rmdir()


def open_run(path: Path, *, overwrite: bool) -> RunLock:
    """Create and lock ``path``; with ``overwrite``, empty it once the lock is held."""
    path.mkdir(parents=True, exist_ok=True)
    lock = RunLock(path)
    if overwrite:
        for entry in path.iterdir():
            if entry.name == LOCK:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    return lock


def with_defaults(saved: dict[str, object], settings_class: type) -> dict[str, object]:
    """Settings saved as JSON (a recipe, caption settings), with every field keyarch added
    to ``settings_class`` since they were saved filled in as its default: what the run had."""
    from dataclasses import MISSING, fields

    defaults = {f.name: f.default for f in fields(settings_class) if f.default is not MISSING}
    return {**json.loads(json.dumps(defaults)), **saved}


def refuse_changes(saved: dict[str, object], current: dict[str, object], where: Path) -> None:
    """Raise naming every run-defining setting that ``current`` changes."""
    changes = []
    for key in RUN_DEFINING:
        before, after = saved.get(key), current.get(key)
        if key == "recipe" and isinstance(before, dict) and isinstance(after, dict):
            from keyarch.train.recipes import Recipe

            before = with_defaults(before, Recipe)
            changes += [
                f"{field} {before.get(field)!r} -> {after.get(field)!r}"
                for field in sorted(set(before) | set(after))
                if field != "source" and before.get(field) != after.get(field)
            ]
        elif before != after:
            changes.append(f"{key} {before!r} -> {after!r}")
    if changes:
        raise BadInput(
            f"--resume would change the run in {where}: {'; '.join(changes)}. Resume with the "
            "run's own settings, or start a new run without --resume"
        )


def settings_of(config, task) -> dict:
    """What defines a run: a resume must keep every one of these."""
    return {
        **task.settings(),
        "model": config.model,
        "dataset": task.dataset,
        "data": task.data.title,
        "recipe": json.loads(json.dumps(asdict(task.recipe))),
        "seed": config.seed,
        "train_limit": config.train_limit,
        "test_limit": config.test_limit,
        "image_size": config.image_size,
        "amp": config.amp,
    }
