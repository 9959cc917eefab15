"""``keyarch bench``: parameters, operations, memory, latency and throughput of every model
on the user's own hardware, as Canziani, Paszke and Culurciello (2016) measured them.

Per model: parameters, MACs, depth, the activations a training forward pass keeps per
image, and for each batch size the inference memory (weights plus the forward pass's peak
of activations, counted tensor by tensor: ``keyarch.analysis.memory``), the inference step
time (warm-up calls, then repeated calls: median, fastest and slowest) and, at batch sizes
of two or more (batch norm needs two values per channel in training), the time of a
training step (forward, cross-entropy, backward, an SGD step). The columns follow timm's
``benchmark.py`` (``infer_samples_per_sec``, ``infer_step_time`` in milliseconds, ...), one
row per model and batch size.

A run writes one JSON file per model into ``DIR/models`` as soon as it is measured and
rebuilds ``DIR/bench.csv`` and ``DIR/bench.json`` from them, so that an interrupted run
resumes where it stopped: a model already measured in DIR is not measured again.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import platform
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import torch
from torch import nn

from keyarch.errors import BadInput

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
# Memory is counted without computing (on the meta device): at these batch sizes always,
# so that the knee of Canziani's Fig. 5 shows whatever batch sizes were timed.
MEMORY_BATCHES = (1, 2, 4, 8, 16, 32, 64, 128, 256)

COLUMNS = (
    "model",
    "family",
    "year",
    "infer_samples_per_sec",
    "infer_step_time",
    "infer_step_time_min",
    "infer_step_time_max",
    "infer_repeats",
    "infer_batch_size",
    "infer_img_size",
    "infer_mem_mb",
    "train_samples_per_sec",
    "train_step_time",
    "train_step_time_min",
    "train_step_time_max",
    "train_repeats",
    "train_batch_size",
    "train_img_size",
    "param_count",
    "params",
    "gmacs",
    "depth",
    "size_mb",
    "train_activations_mb",
    "top1",
    "top5",
    "device",
    "dtype",
    "channels_last",
    "fused",
    "threads",
)


@dataclass(frozen=True)
class BenchSettings:
    """What a measurement depends on; a results folder holds one setting only."""

    device: str = "cpu"
    dtype: str = "float32"
    channels_last: bool = False
    fused: bool = False
    threads: int = 1
    train: bool = True
    warmup: int = 1  # calls before timing (first-call set-up: allocations, kernel choice)
    min_repeats: int = 3  # timed calls at least ...
    max_repeats: int = 20  # ... and at most, ...
    min_time: float = 1.0  # ... stopping after this many seconds once min_repeats are done

    def key(self) -> dict:
        """The fields two runs must share to sit in one table."""
        keep = ("device", "dtype", "channels_last", "fused", "threads")
        return {name: getattr(self, name) for name in keep}


@dataclass
class Timing:
    """Seconds of the timed calls of one step."""

    seconds: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def published_accuracy(name: str) -> tuple[float | None, float | None]:
    """Top-1 and top-5 of the card's first single-crop ILSVRC-2012 validation metric: the
    one setting in which published accuracies compare."""
    from keyarch.registry import model_card

    for metric in model_card(name).metrics:
        if metric.single_crop_imagenet_val and metric.top1 is not None:
            return metric.top1, metric.top5
    return None, None


def machine_description(device: str) -> dict:
    """The hardware and software a table was measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    description = {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "platform": platform.platform(),
    }
    if device.startswith("cuda") and torch.cuda.is_available():
        description["gpu"] = torch.cuda.get_device_name(torch.device(device))
    return description


def _synchronise(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_calls(step: Callable[[], object], settings: BenchSettings, device: torch.device) -> Timing:
    """Warm up, then call ``step`` at least ``min_repeats`` and at most ``max_repeats``
    times, stopping once ``min_time`` seconds have passed."""
    for _ in range(settings.warmup):
        step()
    _synchronise(device)
    timing = Timing()
    started = time.perf_counter()
    while len(timing.seconds) < settings.max_repeats:
        begin = time.perf_counter()
        step()
        _synchronise(device)
        timing.seconds.append(time.perf_counter() - begin)
        done = len(timing.seconds) >= settings.min_repeats
        if done and time.perf_counter() - started >= settings.min_time:
            break
    return timing


def training_step(model: nn.Module, x: torch.Tensor, labels: torch.Tensor) -> Callable[[], None]:
    """One SGD step with momentum on the training loss keyarch trains the model with
    (cross-entropy, plus the weighted losses of auxiliary classifiers where it has them)."""
    from keyarch.train.tasks import ClassificationTask

    optimizer = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)
    task = ClassificationTask(num_classes=getattr(model, "num_classes", 1000))

    def step() -> None:
        loss = task.loss(model(x), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step


def _build(name: str, settings: BenchSettings, device: torch.device | str) -> nn.Module:
    from keyarch.analysis.fuse import fuse
    from keyarch.registry import create_model

    model = create_model(name).to(device=device, dtype=DTYPES[settings.dtype]).eval()
    if settings.fused:
        return fuse(model, channels_last=settings.channels_last)
    if settings.channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model


def _memory_curve(name: str, settings: BenchSettings, batches: Iterable[int]) -> dict[int, float]:
    """Inference memory in MB at each batch size, counted on the meta device."""
    from keyarch.analysis.memory import inference_memory

    with torch.device("meta"):
        model = _build(name, BenchSettings(**{**asdict(settings), "fused": False}), "meta")
        size = model.card.input_size
        curve = {}
        for batch in sorted(set(batches)):
            x = torch.empty(batch, *size, dtype=DTYPES[settings.dtype])
            curve[batch] = inference_memory(model, x).total / 2**20
    return curve


def static_figures(name: str, settings: BenchSettings) -> dict:
    """What does not depend on timing: counts, depth, size, activations, accuracy."""
    from keyarch.analysis.complexity import count_depth, count_macs, count_parameters
    from keyarch.analysis.memory import saved_activations, tensor_bytes
    from keyarch.registry import create_model, model_card

    card = model_card(name)
    with torch.device("meta"):
        model = create_model(name)
        params = count_parameters(model, trainable_only=False)
        macs = count_macs(model, card.input_size)
        depth = count_depth(model)
        state = tensor_bytes([*model.parameters(), *model.buffers()])
        kept = saved_activations(
            model.to(DTYPES[settings.dtype]),
            torch.empty(2, *card.input_size, dtype=DTYPES[settings.dtype]),
        )
    top1, top5 = published_accuracy(name)
    return {
        "model": name,
        "family": card.family,
        "year": card.year,
        "params": params,
        "param_count": round(params / 1e6, 3),
        "gmacs": round(macs / 1e9, 6),
        "depth": depth,
        "size_mb": round(state / 2**20, 2),  # float32 weights file, as Keras' table gives it
        "train_activations_mb": round(kept / 2 / 2**20, 2),  # per image
        "top1": top1,
        "top5": top5,
        "img_size": card.input_size[-1],
    }


def measure_model(name: str, batch_sizes: list[int], settings: BenchSettings) -> dict:
    """Every figure of one model: the static ones, the memory curve and, per batch size,
    inference (and training) step times."""
    from keyarch.registry import model_card

    device = torch.device(settings.device)
    figures = static_figures(name, settings)
    figures["memory_mb"] = {
        str(b): round(mb, 2)
        for b, mb in _memory_curve(name, settings, [*MEMORY_BATCHES, *batch_sizes]).items()
    }
    size = model_card(name).input_size
    dtype = DTYPES[settings.dtype]
    torch.manual_seed(0)
    model = _build(name, settings, device)
    layout = torch.channels_last if settings.channels_last else torch.contiguous_format
    rows = []
    for batch in batch_sizes:
        x = torch.randn(batch, *size, device=device, dtype=dtype).contiguous(memory_format=layout)

        def infer(model=model, x=x):
            with torch.inference_mode():
                return model(x)

        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        inference = time_calls(infer, settings, device)
        row = {
            "infer_batch_size": batch,
            "infer_img_size": size[-1],
            "infer_step_time": round(inference.median * 1e3, 3),
            "infer_step_time_min": round(min(inference.seconds) * 1e3, 3),
            "infer_step_time_max": round(max(inference.seconds) * 1e3, 3),
            "infer_repeats": len(inference.seconds),
            "infer_samples_per_sec": round(batch / inference.median, 2),
            "infer_mem_mb": figures["memory_mb"][str(batch)],
        }
        if device.type == "cuda":
            row["infer_mem_measured_mb"] = round(torch.cuda.max_memory_allocated(device) / 2**20, 2)
        if settings.train and batch >= 2:
            row.update(_train_columns(name, settings, device, x))
        rows.append(row)
    figures["rows"] = rows
    return figures


def _train_columns(name: str, settings: BenchSettings, device: torch.device, x) -> dict:
    from keyarch.registry import create_model

    model = create_model(name).to(device=device, dtype=x.dtype).train()
    if settings.channels_last:
        model = model.to(memory_format=torch.channels_last)
    labels = torch.randint(0, model.num_classes, (x.shape[0],), device=device)
    timing = time_calls(training_step(model, x, labels), settings, device)
    return {
        "train_batch_size": x.shape[0],
        "train_img_size": x.shape[-1],
        "train_step_time": round(timing.median * 1e3, 3),
        "train_step_time_min": round(min(timing.seconds) * 1e3, 3),
        "train_step_time_max": round(max(timing.seconds) * 1e3, 3),
        "train_repeats": len(timing.seconds),
        "train_samples_per_sec": round(x.shape[0] / timing.median, 2),
    }


# --- a results folder -------------------------------------------------------------------


class BenchFolder:
    """``DIR/settings.json`` (the settings and the machine), ``DIR/models/NAME.json`` (one
    per measured model), and the tables rebuilt from them: ``bench.csv``, ``bench.json``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @property
    def settings_file(self) -> Path:
        return self.path / "settings.json"

    def model_file(self, name: str) -> Path:
        return self.path / "models" / f"{name}.json"

    def open(self, settings: BenchSettings) -> None:
        """Start or continue a folder; a folder of other settings is refused."""
        if self.path.exists() and not self.path.is_dir():
            raise BadInput(f"--out {self.path} is a file; give a folder")
        if self.settings_file.exists():
            earlier = self.read_settings()["settings"]
            if earlier != settings.key():
                changed = ", ".join(
                    f"{k} {earlier.get(k)} -> {v}"
                    for k, v in settings.key().items()
                    if earlier.get(k) != v
                )
                raise BadInput(
                    f"--out {self.path} holds measurements with other settings ({changed}); "
                    "give another --out folder"
                )
            return
        self._write(
            self.settings_file,
            {
                "settings": settings.key(),
                "machine": machine_description(settings.device),
                "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            },
        )

    def read_settings(self) -> dict:
        try:
            return json.loads(self.settings_file.read_text())
        except (OSError, ValueError) as error:
            raise BadInput(
                f"{self.settings_file}: not a keyarch bench settings file ({error})"
            ) from None

    def measured(self, name: str) -> dict | None:
        """The model's figures, or None when it was not measured (or its file is damaged,
        which is then measured again)."""
        try:
            return json.loads(self.model_file(name).read_text())
        except (OSError, ValueError):
            return None

    def save(self, figures: dict) -> None:
        self._write(self.model_file(figures["model"]), figures)

    def results(self) -> list[dict]:
        """Every measured model's figures, in name order."""
        found = []
        for path in sorted((self.path / "models").glob("*.json")):
            try:
                found.append(json.loads(path.read_text()))
            except ValueError:
                raise BadInput(f"{path}: damaged (not JSON); delete it to measure again") from None
        return found

    def rows(self) -> list[dict]:
        """One flat row per model and batch size, with the settings, in COLUMNS' order."""
        settings = self.read_settings()["settings"]
        table = []
        for figures in self.results():
            static = {k: v for k, v in figures.items() if k not in ("rows", "memory_mb")}
            for row in figures["rows"]:
                merged = {**static, **row, **settings}
                table.append(
                    {c: merged.get(c) for c in COLUMNS}
                    | {k: v for k, v in merged.items() if k not in COLUMNS and k != "img_size"}
                )
        return table

    def write_tables(self) -> tuple[Path, Path]:
        rows = self.rows()
        columns = list(COLUMNS) + sorted({k for row in rows for k in row} - set(COLUMNS))
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if row.get(k) is None else row.get(k) for k in columns})
        from keyarch.train.checkpoint import atomic_write

        csv_path, json_path = self.path / "bench.csv", self.path / "bench.json"
        atomic_write(csv_path, text.getvalue().encode())
        meta = self.read_settings()
        document = {**meta, "models": self.results()}
        atomic_write(json_path, (json.dumps(document, indent=1) + "\n").encode())
        return csv_path, json_path

    def _write(self, path: Path, document: dict) -> None:
        from keyarch.train.checkpoint import atomic_write

        atomic_write(path, (json.dumps(document, indent=1) + "\n").encode())


def run_bench(
    names: list[str],
    batch_sizes: list[int],
    settings: BenchSettings,
    out: str | Path,
    *,
    report: Callable[[str], None] = print,
) -> tuple[list[str], dict[str, str]]:
    """Measure ``names`` into the folder ``out``, skipping models already measured there
    at every asked batch size. Returns the models measured now and those that failed
    (name -> the error: a dtype or device the model's operations do not support, memory)."""
    from tqdm import tqdm

    folder = BenchFolder(out)
    folder.open(settings)
    torch.set_num_threads(settings.threads)
    todo = []
    for name in names:
        earlier = folder.measured(name)
        done = earlier and {r["infer_batch_size"] for r in earlier["rows"]} >= set(batch_sizes)
        if not done:
            todo.append(name)
    if len(todo) < len(names):
        report(f"{len(names) - len(todo)} of {len(names)} models already measured in {out}: kept")
    measured, failed = [], {}
    bar = tqdm(todo, desc="bench", unit="model", dynamic_ncols=True, leave=False)
    for name in bar:
        bar.set_postfix_str(name)
        try:
            figures = measure_model(name, batch_sizes, settings)
        except (RuntimeError, NotImplementedError, torch.OutOfMemoryError) as error:
            failed[name] = str(error).strip().splitlines()[0][:200]
            tqdm.write(f"{name}: not measured: {failed[name]}")
            continue
        folder.save(figures)
        folder.write_tables()
        measured.append(name)
        tqdm.write(summary_line(figures))
    bar.close()
    if not measured and todo == []:
        folder.write_tables()
    return measured, failed


def summary_line(figures: dict) -> str:
    parts = [
        f"{figures['model']:<20} {figures['param_count']:>8.2f} M params "
        f"{figures['gmacs']:>7.3f} GMACs"
    ]
    for row in figures["rows"]:
        text = f"b{row['infer_batch_size']} {row['infer_step_time']:.1f} ms"
        if row.get("train_step_time") is not None:
            text += f" (train {row['train_step_time']:.0f} ms)"
        parts.append(text)
    return "  ".join(parts)


def geometric_mean(values: Iterable[float]) -> float:
    values = list(values)
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else math.nan
