"""Where a run computes: the device, mixed precision, memory layout and threads."""

from __future__ import annotations

import contextlib
import os

import torch

from keyarch.errors import BadInput


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """``auto`` (this process's GPU, else the CPU) or a device name, checked."""
    if name == "auto":
        return (
            torch.device("cuda", local_rank) if torch.cuda.is_available() else torch.device("cpu")
        )
    try:
        device = torch.device(name)
    except RuntimeError:
        raise BadInput(f"--device {name!r} is not a device (cpu, cuda, cuda:1)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise BadInput(f"--device {name}: no GPU is available here; use --device cpu")
    if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
        raise BadInput(f"--device {name}: this machine has {torch.cuda.device_count()} GPU(s)")
    if device.type not in ("cpu", "cuda", "mps", "xpu"):
        raise BadInput(f"--device {name}: keyarch trains on cpu or cuda devices")
    return device


def autocast_for(amp: str, device: torch.device):
    if amp == "none":
        return contextlib.nullcontext
    if amp == "fp16" and device.type != "cuda":
        raise BadInput("fp16 mixed precision needs a GPU; use --amp bf16 on the CPU")
    dtype = torch.bfloat16 if amp == "bf16" else torch.float16
    return lambda: torch.autocast(device.type, dtype=dtype)


def use_channels_last(asked: bool | None, images: bool, device: torch.device, amp: str) -> bool:
    """Channels-last memory for image batches: as asked, else on the CPU and on GPUs with
    mixed precision; never for data that is not images."""
    if not images:
        return False
    if asked is not None:
        return asked
    return device.type == "cpu" or (device.type == "cuda" and amp != "none")


def usable_cores() -> int:
    """The cores this process may run on (its affinity), not the machine's count."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def compute_threads(asked: int | None, world_size: int, workers: int) -> int:
    """Compute threads: as asked, else this process's share of the cores less its loader
    processes."""
    if asked:
        return asked
    return max(1, usable_cores() // world_size - workers)
