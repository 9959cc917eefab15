"""How much activation memory the memory-efficient DenseNet saves, and what it costs.

Counts the bytes of the tensors autograd saves for the backward pass during one training
forward (each storage once), with and without ``memory_efficient=True``, and times a
forward-backward step of each; reports the ratios measured in the same run.

    python benchmarks/densenet_memory.py --model densenet121 --batch 8 --size 224
"""

from __future__ import annotations

import argparse
import time

import torch

import keyarch


def saved_bytes(model: torch.nn.Module, x: torch.Tensor) -> int:
    """Bytes of the distinct storages autograd keeps for backward after one forward."""
    storages: dict[int, int] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        storages[storage.data_ptr()] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        model(x).sum().backward()
    return sum(storages.values())


def step_seconds(model: torch.nn.Module, x: torch.Tensor, repeats: int) -> float:
    model(x).sum().backward()  # warm-up
    started = time.perf_counter()
    for _ in range(repeats):
        model(x).sum().backward()
    return (time.perf_counter() - started) / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="densenet121")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    torch.manual_seed(0)
    x = torch.randn(args.batch, 3, args.size, args.size)
    results = {}
    for efficient in (False, True):
        model = keyarch.create_model(args.model, memory_efficient=efficient).train()
        results[efficient] = (saved_bytes(model, x), step_seconds(model, x, args.repeats))
    (plain_bytes, plain_time), (lean_bytes, lean_time) = results[False], results[True]
    print(f"{args.model}, batch {args.batch} x {args.size}px, training step on "
          f"{'GPU' if x.is_cuda else 'CPU'}:")  # fmt: skip
    print(f"  saved for backward: standard {plain_bytes / 2**20:,.0f} MiB, memory-efficient "
          f"{lean_bytes / 2**20:,.0f} MiB, ratio {lean_bytes / plain_bytes:.2f}")  # fmt: skip
    print(f"  time per step: standard {plain_time:.2f} s, memory-efficient {lean_time:.2f} s, "
          f"ratio {lean_time / plain_time:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
