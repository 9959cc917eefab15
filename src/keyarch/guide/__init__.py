"""The guide: a page per architecture, generated from the library and its results."""

from keyarch.guide.build import FORMATS, build_guide

__all__ = ["FORMATS", "build_guide"]
