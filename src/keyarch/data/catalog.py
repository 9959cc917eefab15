"""The names of the datasets keyarch reads (no PyTorch needed to list them)."""

DATASETS = ("mnist", "fashion-mnist", "cifar10", "cifar100", "cifar10-jpeg", "folder")
