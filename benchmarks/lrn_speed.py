"""What keyarch's local response normalisation saves over PyTorch's, and where it shows.

Times a forward-backward pass of keyarch's ``LocalResponseNorm`` (the window sum as shifted
slices added) against ``torch.nn.LocalResponseNorm`` (3-D average pooling) with the same
constants, alone and inside a training step of a model that uses it (``alexnet_cifar`` by
default: the model with its own LRN layers against the same model, same weights, with
PyTorch's). The two are timed in turns, ``--rounds`` times, and the ratio of the medians is
reported (above 1: keyarch's is faster). Checks that the outputs agree first.

    python benchmarks/lrn_speed.py --threads 2
    python benchmarks/lrn_speed.py --threads 2 --model googlenet_paper --batch 16 --size 224
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time

import torch
from torch import nn

import keyarch
from keyarch.layers import LocalResponseNorm
from keyarch.models.base import AuxiliaryOutputs


def with_pytorchs_lrn(model: nn.Module) -> nn.Module:
    """A copy of ``model`` whose keyarch LRN layers are PyTorch's, constants unchanged."""
    model = copy.deepcopy(model)
    for name, module in list(model.named_modules()):
        if isinstance(module, LocalResponseNorm):
            parent, _, child = name.rpartition(".")
            swap = nn.LocalResponseNorm(module.size, module.alpha, module.beta, module.k)
            setattr(model.get_submodule(parent) if parent else model, child, swap)
    return model


def step_seconds(module: nn.Module, x: torch.Tensor) -> float:
    started = time.perf_counter()
    out = module(x)
    if isinstance(out, AuxiliaryOutputs):  # GoogLeNet in training: the heads' losses too
        out = torch.cat([out.logits, *out.aux_logits], 1)
    out.sum().backward()
    return time.perf_counter() - started


def compare(label: str, ours: nn.Module, theirs: nn.Module, x: torch.Tensor, rounds: int) -> None:
    with torch.no_grad():  # in evaluation mode: dropout would differ
        torch.testing.assert_close(ours.eval()(x), theirs.eval()(x), rtol=1e-4, atol=1e-5)
    ours.train(), theirs.train()
    x = x.requires_grad_()
    step_seconds(ours, x), step_seconds(theirs, x)  # warm-up
    times: dict[str, list[float]] = {"keyarch": [], "pytorch": []}
    for _ in range(rounds):
        times["keyarch"].append(step_seconds(ours, x))
        times["pytorch"].append(step_seconds(theirs, x))
    mine, reference = statistics.median(times["keyarch"]), statistics.median(times["pytorch"])
    print(f"  {label}: keyarch {mine * 1000:.1f} ms, PyTorch {reference * 1000:.1f} ms, "
          f"speed-up {reference / mine:.2f}x")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="alexnet_cifar")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--threads", type=int, required=True, help="compute threads")
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = keyarch.create_model(args.model).train()
    layers = [m for m in model.modules() if isinstance(m, LocalResponseNorm)]
    if not layers:
        raise SystemExit(f"{args.model} has no LocalResponseNorm layer")
    x = torch.randn(args.batch, 3, args.size, args.size).contiguous(
        memory_format=torch.channels_last
    )
    print(f"{args.model}, batch {args.batch} x {args.size}px, channels-last, "
          f"{args.threads} thread(s), forward + backward, medians of {args.rounds}:")  # fmt: skip
    shapes = []
    layers[0].register_forward_hook(lambda m, i, o: shapes.append(i[0].shape))
    with torch.no_grad():
        model(x[:1])
    first = layers[0]
    inner = torch.randn(args.batch, *shapes[0][1:]).contiguous(memory_format=torch.channels_last)
    pytorchs = nn.LocalResponseNorm(first.size, first.alpha, first.beta, first.k)
    compare(f"first LRN alone, {tuple(inner.shape)}", first, pytorchs, inner * 10, args.rounds)
    compare("training step of the model", model, with_pytorchs_lrn(model), x, args.rounds)


if __name__ == "__main__":
    main()
