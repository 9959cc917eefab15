"""Channel counts under a width multiplier, as the released MobileNet code rounds them."""

from __future__ import annotations

from keyarch.errors import BadInput


def round_channels(channels: float, divisor: int = 8) -> int:
    """``channels`` rounded to the nearest multiple of ``divisor`` (at least ``divisor``),
    one step up where rounding would lose more than 10 % of them.

    MobileNetV2's width multiplier (and timm's MobileNet v1, EfficientNet) scale every layer
    this way, so that channel counts suit vector hardware: 0.35 * 32 = 11.2 gives 16, not 8.
    """
    if channels <= 0:
        raise BadInput(f"round_channels: channels must be positive, got {channels}")
    rounded = max(divisor, int(channels + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * channels:
        rounded += divisor
    return rounded
