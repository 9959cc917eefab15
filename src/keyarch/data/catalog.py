"""The names of the datasets keyarch reads (no PyTorch needed to list them)."""

DATASETS = ("mnist", "fashion-mnist", "cifar10", "cifar100", "cifar10-jpeg", "folder")  # images
SEQUENCE_DATASETS = ("task-2c",)  # generated (keyarch.data.sequences)

# the augmentations a recipe names (``Recipe.augment``; keyarch.data.transforms and
# keyarch.data.batch_augment implement them)
AUGMENTATIONS = (
    "none",
    "pad",
    "distort",
    "crop-flip",
    "alexnet",
    "alexnet-crops",  # AlexNet's crops and flips without its PCA colour noise (ablations)
    "vgg",
    "inception",
    "inception-light",
    "resized-crop",
)
