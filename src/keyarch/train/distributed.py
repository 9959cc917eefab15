"""Running under ``torchrun``: process group, this process's share of the data, reductions.

Without ``torchrun`` (WORLD_SIZE unset or 1) everything here is a no-op, so one code path
serves one process and many. The global batch stays what the recipe says: each of N
processes takes batch_size / N of it, and DistributedDataParallel averages the gradients,
which gives the same update as one process with the whole batch.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from keyarch.errors import BadInput


@dataclass(frozen=True)
class Context:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")  # the training device: collectives use it

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def setup(device_type: str) -> Context:
    """Join the process group that ``torchrun`` describes in the environment."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return Context()
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device_type == "cuda" else "gloo")
    return Context(dist.get_rank(), world_size, int(os.environ.get("LOCAL_RANK", "0")))


def teardown(context: Context) -> None:
    if context.distributed and dist.is_initialized():
        dist.destroy_process_group()


def sum_across(values: torch.Tensor, context: Context) -> torch.Tensor:
    """Element-wise sum over all processes (a copy; the input is left alone).

    The tensor must be on the training device, as NCCL needs: a CPU tensor here while
    training on a GPU is a bug in the caller, reported at once in one process as in many.
    """
    if values.device != context.device:
        raise RuntimeError(
            f"keyarch bug: a collective was handed a tensor on {values.device} while training "
            f"on {context.device}"
        )
    values = values.clone()
    if context.distributed:
        dist.all_reduce(values)
    return values


def broadcast(value: object, context: Context) -> object:
    """Rank 0's ``value`` in every process (a picklable Python object)."""
    if not context.distributed:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def epoch_batches(
    length: int,
    global_batch: int,
    *,
    seed: int,
    epoch: int,
    context: Context,
    shuffle: bool,
    drop_last: bool,
) -> list[list[int]]:
    """This process's batches for one epoch, the same for any number of processes.

    The epoch's order is a permutation drawn from (seed, epoch); global batch k is
    order[k*B:(k+1)*B], and process r takes every world_size-th sample of it.
    """
    if global_batch % context.world_size:
        raise BadInput(
            f"batch size {global_batch} does not split evenly over {context.world_size} processes"
        )
    if shuffle:
        generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
        order = torch.randperm(length, generator=generator).tolist()
    else:
        order = list(range(length))
    batches = []
    for start in range(0, length, global_batch):
        batch = order[start : start + global_batch]
        if len(batch) < global_batch and drop_last:
            break
        batches.append(batch[context.rank :: context.world_size])
    return [b for b in batches if b]
