"""Parameters, operations, per-layer summaries and visualisations of models."""

from keyarch.analysis.complexity import (
    LayerRow,
    count_macs,
    count_parameters,
    format_summary,
    layer_summary,
)

__all__ = ["LayerRow", "count_macs", "count_parameters", "format_summary", "layer_summary"]
