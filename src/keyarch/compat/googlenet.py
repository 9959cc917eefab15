"""torchvision's GoogLeNet to keyarch's: the same stem, head and auxiliary names; the
branches of each Inception module are named after Figure 2 instead of numbered.

torchvision's pretrained weights expect ``transform_input=True`` (inputs re-normalised to
[-1, 1]); keyarch's model takes the usual ImageNet normalisation, so give it inputs
prepared that way when using those weights.
"""

from keyarch.models.googlenet import INCEPTION_TABLE

BRANCHES = {"branch1": "branch1x1", "branch2": "branch3x3", "branch3": "branch5x5",
            "branch4": "branch_pool"}  # fmt: skip


def torchvision_tables() -> dict[str, dict[str, str]]:
    table = {name: name for name in ("conv1", "conv2", "conv3", "fc", "aux1", "aux2")}
    for module in INCEPTION_TABLE:
        for theirs, ours in BRANCHES.items():
            table[f"{module}.{theirs}"] = f"{module}.{ours}"
    return {"googlenet": table}
