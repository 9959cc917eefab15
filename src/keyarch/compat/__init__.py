"""Convert reference implementations' state dicts to keyarch's parameter names.

``convert_state_dict("vgg16", torchvision_model.state_dict(), "torchvision")`` returns a
state dict that ``keyarch.create_model("vgg16").load_state_dict(..., strict=True)``
accepts, with the same tensors under keyarch's (the paper's) names. Each family keeps its
own table of names in a module here.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from keyarch.compat import (
    alexnet,
    densenet,
    efficientnet,
    googlenet,
    inception,
    inception_v4,
    mobilenet,
    mobilevit,
    nasnet,
    resnet,
    vgg,
    xception,
)
from keyarch.compat.tables import rename_keys
from keyarch.errors import BadInput, BadType

SOURCES = ("torchvision", "timm", efficientnet.WEIGHTS_PACKAGE)

# (source, model name) -> {source key prefix: keyarch key prefix}
_TABLES: dict[tuple[str, str], dict[str, str]] = {
    **{("timm", name): table for name, table in xception.timm_tables().items()},
    **{("timm", name): table for name, table in inception_v4.TIMM.items()},
    **{("timm", name): table for name, table in resnet.timm_se_tables().items()},
    **{("timm", name): table for name, table in mobilevit.timm_tables().items()},
    **{("timm", name): table for name, table in mobilenet.timm_tables().items()},
    **{("timm", name): table for name, table in nasnet.timm_tables().items()},
    **{("torchvision", name): table for name, table in mobilenet.torchvision_tables().items()},
    **{("torchvision", name): table for name, table in alexnet.TORCHVISION.items()},
    **{("torchvision", name): table for name, table in inception.TORCHVISION.items()},
    **{("torchvision", name): table for name, table in vgg.torchvision_tables().items()},
    **{("torchvision", name): table for name, table in googlenet.torchvision_tables().items()},
    **{("torchvision", name): table for name, table in resnet.torchvision_tables().items()},
    **{("torchvision", name): table for name, table in densenet.TORCHVISION.items()},
    **{("timm", name): table for name, table in efficientnet.timm_tables().items()},
    **{
        (efficientnet.WEIGHTS_PACKAGE, name): table
        for name, table in efficientnet.package_tables().items()
    },
}


# (source, model name) -> the builder options the source's network (and weights) needs
_OPTIONS: dict[tuple[str, str], dict[str, object]] = {
    **{("timm", name): options for name, options in mobilenet.timm_builder_options().items()},
}


def builder_options(name: str, source: str) -> dict[str, object]:
    """The options ``create_model(name, ...)`` needs to build the network whose weights
    ``source`` publishes (timm's MobileNet v1: ``activation="relu6"``); usually none."""
    return dict(_OPTIONS.get((source, name), {}))


def supported(source: str | None = None) -> list[str]:
    """Model names with a converter (from ``source``, or from any source)."""
    return sorted({name for src, name in _TABLES if source in (None, src)})


def convert_state_dict(
    name: str, state_dict: Mapping[str, torch.Tensor], source: str
) -> dict[str, torch.Tensor]:
    """Rename a reference implementation's ``state_dict`` for keyarch's model ``name``.

    Raises ``ValueError`` for an unknown source, a model without a converter from that
    source, or keys the table does not know (a state dict of another model).
    """
    if source not in SOURCES:
        raise BadInput(f"unknown source {source!r}; expected one of {', '.join(SOURCES)}")
    if (source, name) not in _TABLES:
        raise BadInput(
            f"no converter for {name!r} from {source}; available: {', '.join(supported(source))}"
        )
    if not isinstance(state_dict, Mapping):
        raise BadType(
            f"state_dict must be a mapping of names to tensors, got {type(state_dict).__name__}"
        )
    return rename_keys(state_dict, _TABLES[source, name], model=f"{source} {name}")


__all__ = ["SOURCES", "convert_state_dict", "supported"]
