"""What keyarch raises on purpose.

``BadInput``, ``BadType`` and ``NotFound`` are bad input: a model name, a file, a flag or a
shape that is not what keyarch expects. They subclass ``ValueError``, ``TypeError`` and
``FileNotFoundError`` so that library callers can catch the usual types, and the command
line turns them (and only them) into one line on stderr with exit status 2. Any other
exception escaping keyarch is a bug.

``RunStopped`` ends a training run that was started correctly: divergence, Ctrl-C, a
checkpoint that could not be written. Its ``exit_status`` is what the command returns.
"""

from __future__ import annotations


class KeyarchError(Exception):
    """Bad input, reported on purpose."""


class BadInput(KeyarchError, ValueError):
    """A value keyarch cannot use: the message names it and says what is expected."""


class BadType(KeyarchError, TypeError):
    """An argument of the wrong type."""


class NotFound(KeyarchError, FileNotFoundError):
    """A file or dataset that is not where keyarch was told (or knows) to look."""


class RunStopped(RuntimeError):
    """A training run stopped before its end; its state is kept (the message says where)."""

    exit_status = 1
