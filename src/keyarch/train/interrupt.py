"""Ctrl-C during a run: the loop stops after the current step, writes a checkpoint and says
the exact command that resumes."""

from __future__ import annotations

import shlex
import signal
from pathlib import Path


class StopRequest:
    """Ctrl-C asks the loop to stop after the current step (a second Ctrl-C stops at
    once); the loop then writes a checkpoint."""

    def __init__(self) -> None:
        self.requested = False
        self.previous = None

    def __enter__(self) -> StopRequest:
        try:
            self.previous = signal.signal(signal.SIGINT, self._handle)
        except ValueError:  # not the main thread: Ctrl-C is not ours to take
            self.previous = None
        return self

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)


def resume_hint(checkpoint: Path, progress: dict, command: list[str] | None) -> str:
    """One line: where the checkpoint is, and the exact command that resumes."""
    position = f"epoch {progress['epoch'] + 1}, step {progress['step']}"
    if command:
        words = [w for w in command if w not in ("--overwrite", "--resume")]
        words = _without_option(_without_option(words, "--run-name"), "--out")
        words += ["--out", str(checkpoint.parent.parent), "--run-name", checkpoint.parent.name,
                  "--resume"]  # fmt: skip
        return f"interrupted at {position}; checkpoint saved in {checkpoint}. Resume with: " + (
            shlex.join(words)
        )
    return f"interrupted at {position}; checkpoint saved in {checkpoint}; resume=True continues it"


def _without_option(words: list[str], option: str) -> list[str]:
    kept, skip = [], False
    for word in words:
        if skip:
            skip = False
        elif word == option:
            skip = True
        elif not word.startswith(option + "="):
            kept.append(word)
    return kept
