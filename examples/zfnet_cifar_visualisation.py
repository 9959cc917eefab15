"""Train ZFNet briefly on a class-per-folder dataset, then look inside it as Zeiler & Fergus did.

Random weights make noise pictures; this example trains the network first, so that the
first-layer filters, the strongest feature maps and their deconvnet projections show what a
trained ZFNet responds to. It is meant for a GPU (about two minutes on one H100 for ten
epochs of CIFAR-10 at 112x112); on a CPU use fewer --epochs and a smaller --size.

    python examples/zfnet_cifar_visualisation.py --data ../shared/datasets/cifar10-jpeg \
        --image photo.jpg --out zfnet_pictures

The recipe is the paper's (section 3.1): SGD with momentum 0.9, learning rate 1e-2,
mini-batches of 128, dropout 0.5, and the renormalisation of every convolution filter whose
RMS exceeds 0.1 back to 0.1 after each step. Augmentation: random crops and flips.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from torchvision.datasets import ImageFolder
from torchvision.transforms.v2.functional import pil_to_tensor

import keyarch
from keyarch.analysis.visualize import save_visualisations
from keyarch.data import IMAGENET_MEAN, IMAGENET_STD, load_image


def load_folder(root: Path) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """Every image of an ImageFolder tree as one uint8 (N, 3, H, W) tensor, and labels."""
    folder = ImageFolder(str(root))
    images = torch.stack([pil_to_tensor(folder.loader(path)) for path, _ in folder.samples])
    return images, torch.tensor(folder.targets), folder.classes


def renormalise_filters(model: torch.nn.Module, radius: float = 0.1) -> None:
    """Section 3.1: filters whose RMS exceeds ``radius`` are scaled back to it."""
    for module in model.modules():
        if isinstance(module, torch.nn.Conv2d):
            weight = module.weight.data
            rms = weight.flatten(1).pow(2).mean(1).sqrt().view(-1, 1, 1, 1)
            weight.mul_(torch.where(rms > radius, radius / rms, torch.ones_like(rms)))


def init_filters_as_in_paper(model: torch.nn.Module, layers: str) -> None:
    """Section 3.1: weights drawn with scale 1e-2, biases 0 (``layers``: "conv1" or "all")."""
    for name, module in model.features.named_children():
        if isinstance(module, torch.nn.Conv2d) and (layers == "all" or name == layers):
            torch.nn.init.normal_(module.weight, std=1e-2)
            torch.nn.init.zeros_(module.bias)


def batches(images, labels, size, batch_size, device, train):
    mean = torch.tensor(IMAGENET_MEAN, device=device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=device).view(1, 3, 1, 1)
    order = torch.randperm(len(images)) if train else torch.arange(len(images))
    for start in range(0, len(images), batch_size):
        index = order[start : start + batch_size]
        x = images[index].to(device, non_blocking=True).float().div_(255)
        if train:  # random crop (pad 4) and horizontal flip, at the stored resolution
            x = F.pad(x, (4, 4, 4, 4), mode="reflect")
            top, left = torch.randint(0, 9, (2,)).tolist()
            x = x[:, :, top : top + images.shape[2], left : left + images.shape[3]]
            flip = torch.rand(len(x), device=device) < 0.5
            x = torch.where(flip.view(-1, 1, 1, 1), x.flip(3), x)
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
        yield (x - mean) / std, labels[index].to(device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="folder with train/ and test/")
    parser.add_argument("--image", type=Path, required=True, help="the image to look at")
    parser.add_argument("--out", type=Path, default=Path("zfnet_pictures"))
    parser.add_argument("--weights", type=Path, default=Path("zfnet_cifar.safetensors"))
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--size", type=int, default=112)
    parser.add_argument("--layer", default="conv2")
    parser.add_argument(
        "--paper-init",
        choices=("none", "conv1", "all"),
        default="conv1",
        help="which convolutions start from the paper's N(0, 1e-2); the others keep "
        "PyTorch's default, whose high-frequency noise a short run on small images never "
        "removes from the 7x7 filters (default: conv1)",
    )
    args = parser.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(0)

    train_x, train_y, classes = load_folder(args.data / "train")
    test_x, test_y, _ = load_folder(args.data / "test")
    model = keyarch.create_model("zfnet", num_classes=len(classes))
    if args.paper_init != "none":
        init_filters_as_in_paper(model, args.paper_init)
    model = model.to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-2, momentum=0.9, weight_decay=5e-4)
    steps = args.epochs * -(-len(train_x) // 128)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, 1e-2, total_steps=steps)
    for epoch in range(args.epochs):
        model.train()
        started, seen, correct = time.time(), 0, 0
        for x, y in batches(train_x, train_y, args.size, 128, device, train=True):
            with torch.autocast(device, dtype=torch.bfloat16):
                logits = model(x)
            loss = F.cross_entropy(logits.float(), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            renormalise_filters(model)
            seen += len(y)
            correct += (logits.argmax(1) == y).sum().item()
        model.eval()
        hits = 0
        with torch.no_grad(), torch.autocast(device, dtype=torch.bfloat16):
            for x, y in batches(test_x, test_y, args.size, 500, device, train=False):
                hits += (model(x).argmax(1) == y).sum().item()
        print(
            f"epoch {epoch + 1}: train acc {correct / seen:.3f}, test acc "
            f"{hits / len(test_x):.4f}, {time.time() - started:.0f} s",
            flush=True,
        )
    model = model.float().cpu().eval()
    save_file(model.state_dict(), str(args.weights))
    image = load_image(args.image, (3, args.size, args.size))
    for path in save_visualisations(model, image, args.out, layer=args.layer, top=16):
        print(path)
    save_visualisations(model, image, args.out, layer="conv5", top=16)


if __name__ == "__main__":
    main()
