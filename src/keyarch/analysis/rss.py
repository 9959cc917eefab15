"""Memory measured, beside memory counted: the peak a forward pass really takes.

``keyarch.analysis.memory`` counts the tensors a forward pass creates; the process pays
more (the allocator's rounding and caching, oneDNN's scratch space and prepacked weights,
the framework's own state) or, where a library reuses buffers in place, less. Canziani et
al. (2016, Figs. 5 and 6) plotted what the process used. ``measure_memory`` measures it
for one model in a fresh process, so that nothing another model left behind (freed memory
a C allocator keeps, cached kernels) is counted or reused:

- on the CPU, the growth of the resident set: the peak (``VmHWM``, reset before each batch
  by writing 5 to ``/proc/self/clear_refs``) over the resident set before the model was
  built, so the weights count, as in the count;
- on CUDA, the caching allocator's peak (``torch.cuda.max_memory_allocated``) over what
  was allocated before the model: tensors only, as the count has them, without the CUDA
  context or the allocator's cached blocks.

Batches run in increasing order, one forward pass each (in inference mode), after one pass
at batch 1 that pays for one-time set-up the same for every batch.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

MB = 2**20


def _status(field: str) -> int:
    """A /proc/self/status figure in bytes."""
    text = Path("/proc/self/status").read_text()
    return int(re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE).group(1)) * 1024


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _measure(request: dict) -> dict:
    """In the measuring process: the peak memory of each batch, in MB."""
    import torch

    from keyarch.analysis.bench import DTYPES, BenchSettings, build_model, input_size

    torch.set_num_threads(request["threads"])
    settings = BenchSettings(**request["settings"])
    device = torch.device(settings.device)
    cuda = device.type == "cuda"
    torch.manual_seed(0)
    if cuda:
        torch.cuda.init()
        before = torch.cuda.memory_allocated(device)
    else:
        before = _status("VmRSS")
    model = build_model(request["name"], settings, device)
    size = input_size(request["name"], settings)
    layout = torch.channels_last if settings.channels_last else torch.contiguous_format
    dtype = DTYPES[settings.dtype]
    autocast = settings.autocast()

    def forward(batch: int) -> None:
        x = torch.randn(batch, *size, device=device, dtype=dtype).contiguous(memory_format=layout)
        with torch.inference_mode(), autocast:
            model(x)
        del x

    forward(1)  # one-time set-up, then each batch measured on its own
    peaks, resettable = {}, True
    for batch in sorted(request["batches"]):
        if cuda:
            torch.cuda.synchronize(device)
            torch.cuda.reset_peak_memory_stats(device)
        else:
            resettable = _reset_peak() and resettable
        forward(batch)
        if cuda:
            torch.cuda.synchronize(device)
            peak = torch.cuda.max_memory_allocated(device)
        else:
            peak = _status("VmHWM")
        peaks[str(batch)] = round((peak - before) / MB, 2)
    how = "cuda-allocator-peak" if cuda else "rss-growth" if resettable else "rss-growth-unreset"
    return {"measured_mb": peaks, "how": how}


def measure_memory(name: str, batches: list[int], settings, *, timeout: float = 1800) -> dict:
    """``{"measured_mb": {batch: MB}, "how": ...}`` for ``name`` under ``settings`` (a
    ``BenchSettings``), measured in a fresh Python process."""
    from dataclasses import asdict

    request = {
        "name": name,
        "batches": sorted(set(batches)),
        "threads": settings.threads,
        "settings": asdict(settings),
    }
    done = subprocess.run(
        [sys.executable, "-m", "keyarch.analysis.rss"],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise RuntimeError(f"{name}: measuring its memory failed ({last[:200]})")
    return json.loads(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    print(json.dumps(_measure(json.loads(sys.stdin.read()))))
