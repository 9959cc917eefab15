"""``keyarch bench``: parameters, operations, memory, latency and throughput of every model
on the user's own hardware, as Canziani, Paszke and Culurciello (2016) measured them.

Per model: parameters, multiply-accumulates and activations (timm's ``infer_gmacs`` and
``infer_macts``), depth, the activations a training forward pass keeps per image, and for
each batch size:

- the inference step time: warm-up calls, then timed calls in visits spread over several
  passes in which every cell (model, batch size, inference or training) of the run is
  visited once, in a new random order each pass; the median, fastest and slowest call and
  a bootstrap interval of the median (``keyarch.analysis.timing``);
- memory counted tensor by tensor (``keyarch.analysis.memory``) and measured in a fresh
  process (``keyarch.analysis.rss``: the resident set's growth on the CPU, the allocator's
  peak on CUDA);
- the multiply-accumulates per second achieved, as a fraction of the machine's peak (a
  large matrix product, measured once per run), and the arithmetic intensity (MACs per
  byte of weights and activations): the roofline;
- energy per step where the machine exposes a counter (``keyarch.analysis.energy``);
- at the training batch sizes (two or more: batch norm needs two values per channel), a
  training step: forward, loss, backward, an SGD step, of the unfused model in train mode.

The columns follow timm's ``benchmark.py`` (``infer_samples_per_sec``, ``infer_step_time``
in milliseconds, ...), one row per model and batch size, each with the time it was
measured. A run writes each model's timings into ``DIR/models`` after every visit and
rebuilds ``DIR/bench.csv`` and ``DIR/bench.json`` after every pass: an interrupted run
resumes where it stopped, in a folder of the same settings, machine and torch only.
"""

from __future__ import annotations

import contextlib
import csv
import gc
import io
import json
import math
import os
import platform
import random
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timezone
from pathlib import Path

import torch
from torch import nn

from keyarch.analysis import timing as timing_
from keyarch.errors import BadInput

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
# Memory is counted without computing (on the meta device): at these batch sizes always,
# so that the knee of Canziani's Fig. 5 shows whatever batch sizes were timed.
MEMORY_BATCHES = (1, 2, 4, 8, 16, 32, 64, 128, 256)
# seconds: a visit to a faster inference step starts with one untimed call, which pays for
# what the models visited since evicted (oneDNN's cached kernels, the caches' contents);
# above it that is a few percent of one call (ResNet-50: 53 convolutions' kernels, tens of
# milliseconds) and the extra call would cost more time than it corrects
RE_WARM_BELOW = 2.0

COLUMNS = (
    "model",
    "family",
    "year",
    "infer_samples_per_sec",
    "infer_step_time",
    "infer_step_time_low",
    "infer_step_time_high",
    "infer_step_time_min",
    "infer_step_time_max",
    "infer_repeats",
    "infer_batch_size",
    "infer_img_size",
    "infer_gmacs",
    "infer_macts",
    "infer_mem_mb",
    "infer_mem_measured_mb",
    "infer_gmacs_per_sec",
    "infer_peak_fraction",
    "infer_intensity",
    "infer_energy_j",
    "infer_model",
    "infer_measured_at",
    "train_samples_per_sec",
    "train_step_time",
    "train_step_time_low",
    "train_step_time_high",
    "train_step_time_min",
    "train_step_time_max",
    "train_repeats",
    "train_batch_size",
    "train_img_size",
    "train_model",
    "train_measured_at",
    "param_count",
    "params",
    "depth",
    "size_mb",
    "train_activations_mb",
    "top1",
    "top5",
    "device",
    "dtype",
    "amp",
    "channels_last",
    "fused",
    "threads",
)


@dataclass(frozen=True)
class BenchSettings:
    """What a measurement depends on; a results folder holds one setting only."""

    device: str = "cpu"
    dtype: str = "float32"
    amp: bool = False  # autocast: bfloat16 on the CPU, float16 on CUDA
    img_size: int | None = None  # square input side; None: each model's own
    channels_last: bool = False
    fused: bool = False  # inference timed on keyarch.fuse(model)
    threads: int = 1
    train: bool = True
    train_batch_sizes: tuple[int, ...] = (8,)  # training steps timed at these batch sizes
    warmup: int = 3  # untimed calls before a step's first timed visit (at most ~1 s of them)
    repeats: int = 10  # timed calls per step at least, unless that is longer than min_time:
    min_time: float = 1.0  # then as many as fill min_time, never fewer than one per pass
    max_repeats: int = 200  # timed calls per step at most
    passes: int = 5  # every step is visited once per pass, in a new random order
    seed: int = 0  # of the visiting order
    measure_memory: bool = True  # also measure each model's memory in a fresh process

    def key(self) -> dict:
        """The fields two runs must share to sit in one table."""
        return {f.name: getattr(self, f.name) for f in fields(self)} | {
            "train_batch_sizes": list(self.train_batch_sizes)
        }

    def autocast(self):
        if not self.amp:
            return contextlib.nullcontext()
        kind = torch.device(self.device).type
        return torch.autocast(kind, dtype=torch.bfloat16 if kind == "cpu" else torch.float16)

    def check(self) -> None:
        """Refuse settings that cannot be measured, naming the setting."""
        if self.dtype not in DTYPES:
            raise BadInput(f"dtype {self.dtype}: expected one of {', '.join(DTYPES)}")
        if self.amp and self.dtype != "float32":
            raise BadInput(f"--amp autocasts float32 models; --dtype is {self.dtype}")
        if any(b < 2 for b in self.train_batch_sizes):
            raise BadInput("--train-batch-sizes: a training step needs batch 2 or more")
        if self.img_size is not None and self.img_size < 8:
            raise BadInput(f"--img-size {self.img_size}: expected 8 pixels or more")
        for name in ("warmup", "repeats", "max_repeats", "passes"):
            if getattr(self, name) < (0 if name == "warmup" else 1):
                raise BadInput(f"--{name.replace('_', '-')} {getattr(self, name)}: too small")


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


def input_size(name: str, settings: BenchSettings) -> tuple[int, int, int]:
    """(C, H, W) the model is measured at: its card's, or --img-size square."""
    from keyarch.registry import model_card

    size = model_card(name).input_size
    return size if settings.img_size is None else (size[0], settings.img_size, settings.img_size)


def training_step(
    model: nn.Module, x: torch.Tensor, labels: torch.Tensor, autocast=None
) -> Callable[[], None]:
    """One SGD step with momentum on the training loss keyarch trains the model with
    (cross-entropy, plus the weighted losses of auxiliary classifiers where it has them)."""
    from keyarch.train.tasks import ClassificationTask

    optimizer = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)
    task = ClassificationTask(num_classes=getattr(model, "num_classes", 1000))

    def step() -> None:
        with autocast or contextlib.nullcontext():
            loss = task.loss(model(x), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step


def build_model(name: str, settings: BenchSettings, device: torch.device | str) -> nn.Module:
    """The model inference is timed on: in eval mode, in the run's dtype and layout,
    folded by ``keyarch.fuse`` with ``fused``."""
    from keyarch.models.fuse import fuse
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

    size = input_size(name, settings)
    with torch.device("meta"):
        model = build_model(name, BenchSettings(**{**asdict(settings), "fused": False}), "meta")
        curve = {}
        for batch in sorted(set(batches)):
            x = torch.empty(batch, *size, dtype=DTYPES[settings.dtype])
            curve[batch] = inference_memory(model, x).total / 2**20
    return curve


def static_figures(name: str, settings: BenchSettings) -> dict:
    """What does not depend on timing: counts, depth, size, activations, accuracy."""
    from keyarch.analysis.complexity import (
        count_activations,
        count_depth,
        count_macs,
        count_matrix_vector_macs,
        count_parameters,
    )
    from keyarch.analysis.memory import saved_activations, tensor_bytes
    from keyarch.registry import create_model, model_card

    card = model_card(name)
    size = input_size(name, settings)
    with torch.device("meta"):
        model = create_model(name)
        params = count_parameters(model, trainable_only=False)
        macs = count_macs(model, size)
        activations = count_activations(model, size)
        matrix_vector = count_matrix_vector_macs(model, size)
        depth = count_depth(model)
        state = tensor_bytes([*model.parameters(), *model.buffers()])
        kept = saved_activations(
            model.to(DTYPES[settings.dtype]), torch.empty(2, *size, dtype=DTYPES[settings.dtype])
        )
    top1, top5 = published_accuracy(name)
    return {
        "model": name,
        "family": card.family,
        "year": card.year,
        "params": params,
        "param_count": round(params / 1e6, 3),
        "infer_gmacs": round(macs / 1e9, 6),
        "infer_macts": round(activations / 1e6, 4),
        "matrix_vector_share": round(matrix_vector / macs, 5),
        "depth": depth,
        "size_mb": round(state / 2**20, 2),  # float32 weights file, as Keras' table gives it
        "train_activations_mb": round(kept / 2 / 2**20, 2),  # per image
        "top1": top1,
        "top5": top5,
        "img_size": size[-1],
    }


# --- timing: cells visited in passes ------------------------------------------------------


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def cell_key(kind: str, batch: int) -> str:
    return f"{kind}/{batch}"


def cells_of(batch_sizes: list[int], settings: BenchSettings) -> list[str]:
    """The steps one model is timed at: inference at every batch size, training at the
    training batch sizes."""
    cells = [cell_key("infer", b) for b in batch_sizes]
    if settings.train:
        cells += [cell_key("train", b) for b in settings.train_batch_sizes]
    return cells


class _Steps:
    """The callables a run times, built once per model (inference) or per visit
    (training: a fresh model and optimiser, so that no model's gradients and momentum
    stay in memory beside the others)."""

    def __init__(self, settings: BenchSettings, device: torch.device) -> None:
        self.settings, self.device = settings, device
        self.models: dict[str, nn.Module] = {}
        self.inputs: dict[tuple[tuple[int, int, int], int], torch.Tensor] = {}

    def _input(self, name: str, batch: int) -> torch.Tensor:
        """The batch of random images, shared by the models of the same input size."""
        size = input_size(name, self.settings)
        key = (size, batch)
        if key not in self.inputs:
            layout = torch.channels_last if self.settings.channels_last else torch.contiguous_format
            generator = torch.Generator().manual_seed(batch)
            x = torch.randn(batch, *size, generator=generator, dtype=DTYPES[self.settings.dtype])
            self.inputs[key] = x.to(self.device).contiguous(memory_format=layout)
        return self.inputs[key]

    def step(self, name: str, cell: str) -> Callable[[], object]:
        kind, batch = cell.split("/")
        x = self._input(name, int(batch))
        autocast = self.settings.autocast
        if kind == "infer":
            if name not in self.models:
                torch.manual_seed(0)
                self.models[name] = build_model(name, self.settings, self.device)
            model = self.models[name]

            def infer() -> object:
                with torch.inference_mode(), autocast():
                    return model(x)

            return infer
        from keyarch.registry import create_model

        torch.manual_seed(0)
        model = create_model(name).to(device=self.device, dtype=x.dtype).train()
        if self.settings.channels_last:
            model = model.to(memory_format=torch.channels_last)
        labels = torch.randint(0, model.num_classes, (x.shape[0],), device=self.device)
        return training_step(model, x, labels, autocast())

    def forget(self, name: str) -> None:
        self.models.pop(name, None)


def visit(
    step: Callable[[], object],
    record: dict,
    settings: BenchSettings,
    device: torch.device,
    *,
    fresh: bool = False,
) -> None:
    """One visit of a cell: on the first, warm up and plan the timed calls; then time this
    visit's share of them back to back. A later visit starts with one untimed call where
    ``fresh`` (a training step's model and optimiser are built anew each visit: the first
    step allocates the gradients and the momentum) or where the step is faster than
    RE_WARM_BELOW seconds."""
    from keyarch.analysis.energy import EnergyMeter

    if not record.get("visits"):
        seconds = timing_.warm_up(step, settings.warmup, device, budget=settings.min_time)
        record["planned"] = timing_.planned_calls(
            seconds,
            repeats=settings.repeats,
            min_time=settings.min_time,
            passes=settings.passes,
            most=settings.max_repeats,
        )
        record["visits"] = []
    elif fresh or record["estimate"] < RE_WARM_BELOW:
        step()
        timing_.synchronise(device)
    calls = math.ceil(record["planned"] / settings.passes)
    meter = EnergyMeter.for_device(device)
    before = meter.read() if meter else None
    seconds = timing_.timed_visit(step, calls, device)
    entry = {"at": _now(), "seconds": [round(s, 7) for s in seconds]}
    if meter and before is not None:
        after = meter.read()
        if after is not None:
            entry["joules"] = round(meter.difference(before, after) / calls, 6)
    record["visits"].append(entry)
    record["estimate"] = min(seconds)


def _summary(record: dict, prefix: str, batch: int) -> dict:
    """The timing columns of one cell from its visits."""
    timed = timing_.Timing([s for v in record["visits"] for s in v["seconds"]])
    low, high = timed.interval()
    columns = {
        f"{prefix}_step_time": round(timed.median * 1e3, 4),
        f"{prefix}_step_time_low": round(low * 1e3, 4),
        f"{prefix}_step_time_high": round(high * 1e3, 4),
        f"{prefix}_step_time_min": round(min(timed.seconds) * 1e3, 4),
        f"{prefix}_step_time_max": round(max(timed.seconds) * 1e3, 4),
        f"{prefix}_repeats": len(timed.seconds),
        f"{prefix}_samples_per_sec": round(batch / timed.median, 3),
        f"{prefix}_measured_at": record["visits"][-1]["at"],
    }
    joules = [v["joules"] for v in record["visits"] if "joules" in v]
    if prefix == "infer" and joules:
        columns["infer_energy_j"] = round(sorted(joules)[len(joules) // 2], 6)
    return columns


def rows_of(figures: dict, settings: dict, peak: float | None) -> list[dict]:
    """One row per inference batch size from a model's timings (complete cells only)."""
    timings = figures.get("timings", {})
    measured = (figures.get("measured_memory") or {}).get("measured_mb", {})
    element = torch.tensor([], dtype=DTYPES[settings["dtype"]]).element_size()
    rows = []
    for key, record in sorted(timings.items(), key=lambda kv: int(kv[0].split("/")[1])):
        kind, batch = key.split("/")
        if kind != "infer" or len(record.get("visits", [])) < settings["passes"]:
            continue
        batch = int(batch)
        row = {
            "infer_batch_size": batch,
            "infer_img_size": figures["img_size"],
            "infer_mem_mb": figures["memory_mb"].get(str(batch)),
            "infer_mem_measured_mb": measured.get(str(batch)),
            "infer_model": "keyarch.fuse(model)" if settings["fused"] else "model",
            **_summary(record, "infer", batch),
        }
        macs = figures["infer_gmacs"] * 1e9 * batch
        achieved = macs / (row["infer_step_time"] / 1e3)
        row["infer_gmacs_per_sec"] = round(achieved / 1e9, 3)
        if peak:
            row["infer_peak_fraction"] = round(achieved / peak, 4)
        moved = figures["params"] * element + batch * figures["infer_macts"] * 1e6 * element
        row["infer_intensity"] = round(macs / moved, 2)
        trained = timings.get(cell_key("train", batch))
        if trained and len(trained.get("visits", [])) >= settings["passes"]:
            row |= {
                "train_batch_size": batch,
                "train_img_size": figures["img_size"],
                "train_model": "model (train mode, unfused)",
                **_summary(trained, "train", batch),
            }
        rows.append(row)
    return rows


# --- a results folder -------------------------------------------------------------------


class BenchFolder:
    """``DIR/settings.json`` (the settings, the machine, and a log of the runs that filled
    the folder: command, load, measured peak), ``DIR/models/NAME.json`` (one per model:
    counts and every visit's timings), and the tables rebuilt from them: ``bench.csv``,
    ``bench.json``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @property
    def settings_file(self) -> Path:
        return self.path / "settings.json"

    def model_file(self, name: str) -> Path:
        return self.path / "models" / f"{name}.json"

    def open(self, settings: BenchSettings, batch_sizes: list[int] | None = None) -> None:
        """Start or continue a folder; a folder of other settings, other batch sizes,
        another machine or another torch is refused, naming what differs."""
        if self.path.exists() and not self.path.is_dir():
            raise BadInput(f"--out {self.path} is a file; give a folder")
        machine = machine_description(settings.device)
        if self.settings_file.exists():
            earlier = self.read_settings()
            then = {**earlier["settings"], **_comparable(earlier.get("machine", {}))}
            now = {**settings.key(), **_comparable(machine)}
            changed = [f"{k} {then.get(k)} -> {v}" for k, v in now.items() if then.get(k) != v]
            runs = earlier.get("runs", [])
            earlier_sizes = sorted({b for r in runs for b in r.get("batch_sizes", [])})
            if batch_sizes is not None and earlier_sizes and earlier_sizes != sorted(batch_sizes):
                changed.append(f"batch sizes {','.join(map(str, earlier_sizes))} -> "
                               f"{','.join(map(str, sorted(batch_sizes)))}")  # fmt: skip
            if changed:
                raise BadInput(
                    f"--out {self.path} holds measurements taken otherwise "
                    f"({', '.join(changed)}); give another --out folder"
                )
            return
        self._write(
            self.settings_file,
            {"settings": settings.key(), "machine": machine, "started": _now(), "runs": []},
        )

    def log_run(self, entry: dict) -> None:
        """Add (or, with the same ``started``, update) a run's entry in settings.json."""
        document = self.read_settings()
        runs = [r for r in document.get("runs", []) if r.get("started") != entry["started"]]
        document["runs"] = [*runs, entry]
        self._write(self.settings_file, document)

    def read_settings(self) -> dict:
        try:
            document = json.loads(self.settings_file.read_text())
            document["settings"]  # noqa: B018 - checks the shape
            return document
        except (OSError, ValueError, KeyError, TypeError) as error:
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

    def forget(self, name: str) -> None:
        self.model_file(name).unlink(missing_ok=True)

    def peak(self) -> float | None:
        """The machine's measured peak (MACs per second): the highest of the runs'."""
        peaks = [r["peak_macs_per_sec"] for r in self.read_settings().get("runs", [])]
        return max(peaks) if peaks else None

    def results(self) -> list[dict]:
        """Every measured model's figures with its rows, in name order."""
        settings, peak = self.read_settings()["settings"], self.peak()
        found = []
        for path in sorted((self.path / "models").glob("*.json")):
            try:
                figures = json.loads(path.read_text())
            except ValueError:
                raise BadInput(f"{path}: damaged (not JSON); delete it to measure again") from None
            figures["rows"] = rows_of(figures, settings, peak)
            found.append(figures)
        return found

    def rows(self, results: list[dict] | None = None) -> list[dict]:
        """One flat row per model and batch size, with the settings, in COLUMNS' order
        (from ``results`` where the caller has read them already)."""
        settings = self.read_settings()["settings"]
        table = []
        for figures in self.results() if results is None else results:
            static = {
                k: v
                for k, v in figures.items()
                if k not in ("rows", "memory_mb", "timings", "measured_memory", "img_size")
            }
            for row in figures["rows"]:
                merged = {**static, **row, **settings}
                table.append({c: merged.get(c) for c in COLUMNS})
        return table

    def write_tables(self) -> tuple[Path, Path]:
        from keyarch.outputs import atomic_write

        results = self.results()
        rows = self.rows(results)
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if row.get(k) is None else row.get(k) for k in COLUMNS})
        csv_path, json_path = self.path / "bench.csv", self.path / "bench.json"
        atomic_write(csv_path, text.getvalue().encode())
        models = [{k: v for k, v in m.items() if k != "timings"} for m in results if m["rows"]]
        document = {**self.read_settings(), "peak_macs_per_sec": self.peak(), "models": models}
        atomic_write(json_path, (json.dumps(document, indent=1) + "\n").encode())
        return csv_path, json_path

    def _write(self, path: Path, document: dict) -> None:
        from keyarch.outputs import atomic_write

        atomic_write(path, (json.dumps(document, indent=1) + "\n").encode())


def _comparable(machine: dict) -> dict:
    """What of a machine description a resumed run must share."""
    keep = ("cpu", "cores", "torch", "gpu")
    return {k: machine.get(k) for k in keep if k in machine or k != "gpu"}


def _complete(figures: dict | None, cells: list[str], settings: BenchSettings) -> bool:
    if not figures:
        return False
    timings = figures.get("timings", {})
    timed = all(len(timings.get(c, {}).get("visits", [])) >= settings.passes for c in cells)
    return timed and (figures.get("measured_memory") is not None or not settings.measure_memory)


def run_bench(
    names: list[str],
    batch_sizes: list[int],
    settings: BenchSettings,
    out: str | Path,
    *,
    report: Callable[[str], None] = print,
    command: str = "",
) -> tuple[list[str], dict[str, str]]:
    """Measure ``names`` into the folder ``out``: every cell (model, batch size, inference
    or training) visited once per pass, in a new random order each pass, then each model's
    memory measured in a fresh process. Models already complete there are kept; an
    interrupted model continues from its last visit. Returns the models completed now and
    those that failed (name -> the error: a dtype or device the model's operations do not
    support, memory)."""
    from tqdm import tqdm

    settings.check()
    untimed = [b for b in settings.train_batch_sizes if settings.train and b not in batch_sizes]
    if untimed:
        raise BadInput(
            f"--train-batch-sizes {','.join(map(str, untimed))}: not among --batch-sizes "
            f"{','.join(map(str, batch_sizes))}; a training time sits in its batch size's row"
        )
    folder = BenchFolder(out)
    folder.open(settings, batch_sizes)
    torch.set_num_threads(settings.threads)
    device = torch.device(settings.device)
    cells = cells_of(batch_sizes, settings)
    todo = [n for n in names if not _complete(folder.measured(n), cells, settings)]
    if len(todo) < len(names):
        report(f"{len(names) - len(todo)} of {len(names)} models already measured in {out}: kept")
    failed: dict[str, str] = {}
    run = {
        "started": _now(),
        "command": command,
        "models": len(todo),
        "batch_sizes": batch_sizes,
        "load_start": timing_.load_average(),
        "peak_macs_per_sec": round(
            timing_.peak_macs_per_second(DTYPES[settings.dtype], device), -6
        ),
    }
    folder.log_run(run)
    figures = {}
    for name in todo:
        try:
            figures[name] = folder.measured(name) or _new_figures(name, settings, batch_sizes)
        except (RuntimeError, NotImplementedError, BadInput) as error:
            failed[name] = _first_line(error)
    steps = _Steps(settings, device)
    visits = [(n, c, p) for p in range(settings.passes) for n in figures for c in cells]
    bar = tqdm(total=len(visits), desc="bench", unit="visit", dynamic_ncols=True, leave=False)
    for number in range(settings.passes):
        order = [(n, c) for n, c, p in visits if p == number]
        random.Random(settings.seed * 1000 + number).shuffle(order)
        for name, cell in order:
            bar.update()
            if name in failed:
                continue
            record = figures[name].setdefault("timings", {}).setdefault(cell, {})
            if len(record.get("visits", [])) > number:
                continue  # visited in an earlier run
            bar.set_postfix_str(f"pass {number + 1} {name} {cell}")
            try:
                fresh = cell.startswith("train/")
                visit(steps.step(name, cell), record, settings, device, fresh=fresh)
            except (RuntimeError, NotImplementedError, torch.OutOfMemoryError) as error:
                failed[name] = _first_line(error)
                tqdm.write(f"{name}: not measured: {failed[name]}")
                steps.forget(name)
                folder.forget(name)
                continue
            folder.save(figures[name])
        folder.write_tables()
    bar.close()
    steps.models.clear()
    steps.inputs.clear()
    gc.collect()
    done = []
    for name in figures:
        if name in failed:
            continue
        if settings.measure_memory and figures[name].get("measured_memory") is None:
            from keyarch.analysis.rss import measure_memory

            try:
                figures[name]["measured_memory"] = measure_memory(name, batch_sizes, settings)
            except (RuntimeError, OSError, ValueError, subprocess.SubprocessError) as error:
                failed[name] = _first_line(error)
                tqdm.write(f"{name}: memory not measured: {failed[name]}")
                continue
            folder.save(figures[name])
        done.append(name)
    run |= {"finished": _now(), "load_end": timing_.load_average(), "failed": failed}
    folder.log_run(run)
    folder.write_tables()
    for result in folder.results():
        if result["model"] in done:
            report(summary_line(result))
    return done, failed


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:200]


def _new_figures(name: str, settings: BenchSettings, batch_sizes: list[int]) -> dict:
    figures = static_figures(name, settings)
    figures["memory_mb"] = {
        str(b): round(mb, 2)
        for b, mb in _memory_curve(name, settings, [*MEMORY_BATCHES, *batch_sizes]).items()
    }
    figures["timings"] = {}
    return figures


def summary_line(figures: dict) -> str:
    parts = [
        f"{figures['model']:<20} {figures['param_count']:>8.2f} M params "
        f"{figures['infer_gmacs']:>7.3f} GMACs"
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
