"""torchvision's DenseNets use the paper's own names (denseblock, denselayer, transition),
as keyarch does, so the table maps the two top-level parts to themselves."""

TORCHVISION: dict[str, dict[str, str]] = {
    f"densenet{depth}": {"features": "features", "classifier": "classifier"}
    for depth in (121, 161, 169, 201)
}
