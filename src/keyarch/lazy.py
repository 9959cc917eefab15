"""Names a package exports, imported on first use (PEP 562), so that ``keyarch --help``
and ``import keyarch`` do not wait for PyTorch."""

from __future__ import annotations

import importlib


def lazy_exports(package: str, exports: dict[str, str]):
    """``__getattr__`` and ``__dir__`` for ``package``: ``exports`` maps a name to the
    module that defines it."""

    def get_attribute(name: str):
        if name in exports:
            return getattr(importlib.import_module(exports[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def names() -> list[str]:
        return sorted({*importlib.import_module(package).__dict__, *exports})

    return get_attribute, names
