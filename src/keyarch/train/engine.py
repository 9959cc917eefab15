"""The training loop: ``train(TrainConfig(model="lenet5"))`` trains, evaluates, checkpoints.

A run directory holds ``checkpoint.safetensors`` (resumable state, written atomically every
``checkpoint_every`` steps, after every epoch and on Ctrl-C), ``metrics.csv``,
``tensorboard/``, ``curves.png``, and at the end ``model.safetensors`` and
``summary.json``. Under ``torchrun`` the same loop runs DistributedDataParallel; only rank
0 writes. What is trained (loss, metrics, evaluation) is the task's business
(``keyarch.train.tasks``); this module only runs steps and keeps the run safe.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shlex
import signal
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch
from tqdm import tqdm

from keyarch.analysis import count_parameters
from keyarch.errors import BadInput, RunStopped
from keyarch.registry import builder_options, create_model, model_card
from keyarch.train import checkpoint, distributed, reporting, runs
from keyarch.train.averaging import WeightAverage
from keyarch.train.captioning import (
    CaptioningTask,
    CaptionSettings,
    build_captioner,
    captioner_metadata,
    prepare_caption_data,
)
from keyarch.train.data import RunData, prepare_data, usable_cores
from keyarch.train.optimizers import RMSpropTF, renormalise_filters_
from keyarch.train.recipes import Recipe, default_recipe
from keyarch.train.tasks import ClassificationTask, Task

TASKS = ("classification", "captioning")


class TrainingDiverged(RunStopped):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


class TrainingInterrupted(RunStopped):
    """Ctrl-C (SIGINT): a checkpoint was written; the message says how to resume."""

    exit_status = 130


class CheckpointNotWritten(RunStopped):
    """A checkpoint could not be written (a full disk); the earlier one is intact."""


@dataclass
class TrainConfig:
    model: str
    dataset: str | None = None  # default: "mnist" for one-channel models, else "cifar10"
    data_dir: str | None = None
    recipe: Recipe | None = None  # default: keyarch.train.recipes.default_recipe
    out: Path = Path("runs")
    run_name: str | None = None  # default: "<model>-<dataset>" ("-embedded" on the subset)
    overwrite: bool = False  # replace a run of the same name instead of choosing NAME-2
    seed: int = 0
    amp: str = "none"  # "bf16" (CPU or GPU) or "fp16" (GPU)
    # None: on for the CPU (measured faster for convolutions here: 1.1-1.3x for LeNet-5 and
    # ResNet-20) and for GPUs with mixed precision; off otherwise
    channels_last: bool | None = None
    compile: bool = False
    deterministic: bool = False
    threads: int | None = None  # compute threads (default: this process's cores)
    workers: int | None = None  # loader processes (default: 0 in memory, half the cores)
    checkpoint_every: int = 0  # steps between checkpoints (0: only after each epoch)
    resume: bool = False
    train_limit: int | None = None  # a fixed random subset of N training images
    test_limit: int | None = None
    download: bool = True
    allow_embedded: bool = False  # fall back to the MNIST subset shipped in the package
    image_size: int | None = None  # network input size (default: from model and data)
    progress: bool = True
    device: str = "auto"
    command: list[str] | None = None  # the command line, for the resume hint
    log: list[str] = field(default_factory=list)  # what the run said, for callers
    # "captioning": ``model`` is the image encoder of a Show and Tell captioner, ``dataset``
    # "synthetic" (default), "flickr8k" or "coco" (keyarch.train.captioning)
    task: str = "classification"
    caption: CaptionSettings | None = None  # captioning's sizes and options

    def __post_init__(self) -> None:
        for name in ("threads", "train_limit", "test_limit", "image_size"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise BadInput(f"{name} must be a whole number of at least 1, got {value!r}")
        for name in ("workers", "checkpoint_every", "seed"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 0):
                raise BadInput(f"{name} must be a whole number of at least 0, got {value!r}")
        if self.amp not in ("none", "bf16", "fp16"):
            raise BadInput(f"amp must be none, bf16 or fp16, got {self.amp!r}")
        if self.resume and self.overwrite:
            raise BadInput("--resume continues a run and --overwrite replaces it: choose one")
        if self.task not in TASKS:
            raise BadInput(f"task must be one of {', '.join(TASKS)}, got {self.task!r}")
        if self.caption is not None and self.task != "captioning":
            raise BadInput("caption settings go with task='captioning'")


@dataclass(frozen=True)
class EpochStats:
    """One epoch of training, as the task's metrics and the loop's own figures."""

    metrics: dict[str, float]  # e.g. loss, top1, top5 (averaged over the epoch's images)
    images: int  # over all processes
    seconds: float
    lr: float  # the rate of the epoch's last step

    @property
    def images_per_second(self) -> float:
        return self.images / max(self.seconds, 1e-9)


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


def _optimizer(recipe: Recipe, model: torch.nn.Module) -> torch.optim.Optimizer:
    """Parameter groups: with and without weight decay, and for a model that scales the
    rate of some parameters (``model.learning_rate_scale(name)``: a captioner's encoder)
    one more pair per scale; the loop sets each group's rate to ``lr_scale`` x the rate."""
    scale_of = getattr(model, "learning_rate_scale", lambda name: 1.0)
    # depthwise filters: their own decay where the recipe gives one (MobileNet, 3.2)
    depthwise = set()
    if recipe.depthwise_weight_decay is not None:
        depthwise = {id(m.weight) for m in model.modules() if _is_depthwise(m)}
    decay_of = {"decay": recipe.weight_decay, "exempt": 0.0,
                "depthwise": recipe.depthwise_weight_decay}  # fmt: skip
    grouped: dict[tuple[float, str], list[torch.nn.Parameter]]
    grouped = {(1.0, "decay"): [], (1.0, "exempt"): []}  # the groups' order is saved
    for name, parameter in model.named_parameters():
        if parameter.requires_grad:  # biases and norm scales: as recipe.decay_bias_and_norm
            kind = "decay"
            if parameter.ndim <= 1 and not recipe.decay_bias_and_norm:
                kind = "exempt"
            elif id(parameter) in depthwise:
                kind = "depthwise"
            grouped.setdefault((float(scale_of(name)), kind), []).append(parameter)
    groups = [
        {"params": params, "weight_decay": decay_of[kind], "lr_scale": scale}
        for (scale, kind), params in grouped.items()
        if params or scale == 1.0
    ]
    # foreach: one multi-tensor update per group (PyTorch's default only on GPUs)
    if recipe.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=recipe.lr, momentum=recipe.momentum,
                               nesterov=recipe.nesterov, foreach=True)  # fmt: skip
    if recipe.optimizer == "adam":
        return torch.optim.Adam(groups, lr=recipe.lr, foreach=True)
    if recipe.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=recipe.lr, foreach=True)
    # RMSProp as the Inception papers used it: TensorFlow's form, decay 0.9, epsilon 1.0
    return RMSpropTF(groups, lr=recipe.lr, decay=0.9, eps=recipe.rmsprop_eps,
                     momentum=recipe.momentum)  # fmt: skip


def _is_depthwise(module: torch.nn.Module) -> bool:
    """A depthwise convolution: one filter (or several) per input channel."""
    return (
        isinstance(module, torch.nn.Conv2d)
        and module.groups > 1
        and module.groups == module.in_channels
    )


class _StopRequest:
    """Ctrl-C asks the loop to stop after the current step (a second Ctrl-C stops at
    once); the loop then writes a checkpoint."""

    def __init__(self) -> None:
        self.requested = False
        self.previous = None

    def __enter__(self) -> _StopRequest:
        try:
            self.previous = signal.signal(signal.SIGINT, self._handle)
        except ValueError:  # not the main thread: Ctrl-C is not ours to take
            self.previous = None
        return self

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)


@dataclass
class _Run:
    """What the steps of a run share."""

    config: TrainConfig
    recipe: Recipe
    task: Task
    data: RunData
    model: torch.nn.Module
    network: torch.nn.Module  # the model as stepped: DDP and compile wrappers
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    autocast: object
    context: distributed.Context
    device: torch.device
    progress: dict  # epoch, batch, step, totals, history: what a checkpoint restores
    save: object  # () -> None: write the checkpoint
    stop: _StopRequest
    steps_per_epoch: int
    channels_last: bool
    average: WeightAverage | None = None  # recipe.ema_decay: the weights' moving average


def _diverged(run: _Run, bad_step: torch.Tensor) -> None:
    """Raise when any process saw a non-finite loss (``bad_step`` >= 0 holds its step)."""
    step = int(distributed.sum_across(bad_step.clamp(min=-1).double(), run.context).item())
    if step > -run.context.world_size:
        epoch = run.progress["epoch"] + 1
        raise TrainingDiverged(
            f"the loss became nan or infinite at epoch {epoch} (by step "
            f"{run.progress['step']}); the last good checkpoint is kept in "
            f"{run.save.path}. Lower the learning rate (--lr) or clip gradients (--clip-grad)"
        )


def _stop_requested(run: _Run) -> bool:
    if not run.context.distributed:
        return run.stop.requested
    flag = torch.tensor([1.0 if run.stop.requested else 0.0], device=run.device)
    return bool(distributed.sum_across(flag, run.context).item())


def train_one_epoch(run: _Run, epoch: int) -> EpochStats:
    """Steps over this process's batches of ``epoch`` from the saved position on; running
    sums stay on the device and are read when a checkpoint is taken and at the end."""
    run.network.train()
    progress = run.progress
    totals = run.task.new_totals(run.device)
    if progress["totals"]:
        totals += torch.tensor(progress["totals"], dtype=totals.dtype, device=run.device)
    bad_step = torch.full((), -1, dtype=torch.long, device=run.device)
    # the device is asked (a host synchronisation) only this often; the CPU costs nothing
    check_every = 1 if run.device.type == "cpu" and not run.context.distributed else 50
    bar = tqdm(
        total=run.steps_per_epoch,
        initial=progress["batch"],
        desc=f"epoch {epoch + 1}",
        disable=not (run.config.progress and run.context.is_main and sys.stderr.isatty()),
        leave=False,
    )
    started, images = time.perf_counter(), 0
    # for the "plateau" schedule
    scores = [row[f"{run.task.evaluated}_{run.task.headline}"] for row in progress["history"]]
    learning_rate = run.recipe.lr_at(max(progress["step"] - 1, 0), run.steps_per_epoch, scores)
    total_steps = run.recipe.epochs * run.steps_per_epoch
    drop_path = getattr(run.model, "schedule_drop_path", None)
    for inputs, targets in run.data.train_batches(epoch, progress["batch"]):
        learning_rate = run.recipe.lr_at(progress["step"], run.steps_per_epoch, scores)
        for group in run.optimizer.param_groups:
            group["lr"] = learning_rate * group.get("lr_scale", 1.0)
        if drop_path is not None:  # NASNet's ScheduledDropPath: the rate grows with training
            drop_path(progress["step"] / total_steps)
        if run.channels_last:
            inputs = inputs.contiguous(memory_format=torch.channels_last)
        with run.autocast():
            outputs = run.task.forward(run.network, inputs, targets)
        loss = run.task.loss(outputs, targets)
        bad_step = torch.where((bad_step < 0) & ~torch.isfinite(loss), progress["step"], bad_step)
        run.optimizer.zero_grad(set_to_none=True)
        run.scaler.scale(loss).backward()
        if run.recipe.clip_grad:
            run.scaler.unscale_(run.optimizer)
            torch.nn.utils.clip_grad_norm_(run.model.parameters(), run.recipe.clip_grad)
        run.scaler.step(run.optimizer)
        run.scaler.update()
        if run.recipe.renorm_radius:
            renormalise_filters_(run.model, run.recipe.renorm_radius)
        run.task.accumulate(totals, outputs, targets, loss)
        progress["batch"] += 1
        progress["step"] += 1
        if run.average is not None:
            run.average.update(run.model, progress["step"])
        images += len(targets) * run.context.world_size
        bar.update()
        every = progress["step"] % check_every == 0
        checkpoint_due = run.config.checkpoint_every and (
            progress["step"] % run.config.checkpoint_every == 0
        )
        if every or checkpoint_due:
            _diverged(run, bad_step)
        if not bar.disable and progress["step"] % 25 == 0:
            shown = run.task.summarise(totals)
            rate = images / max(time.perf_counter() - started, 1e-9)
            bar.set_postfix({k: f"{v:.4f}" for k, v in shown.items()} | {"img/s": f"{rate:.0f}"})
        if checkpoint_due:
            progress["totals"] = totals.tolist()
            run.save()
        if (every or not run.context.distributed) and _stop_requested(run):
            progress["totals"] = totals.tolist()
            bar.close()
            _diverged(run, bad_step)
            run.save()
            raise TrainingInterrupted(_resume_hint(run))
    bar.close()
    _diverged(run, bad_step)
    seconds = time.perf_counter() - started
    summed = distributed.sum_across(totals, run.context)
    return EpochStats(run.task.summarise(summed), images, seconds, learning_rate)


def _resume_hint(run: _Run) -> str:
    """One line: where the checkpoint is, and the exact command that resumes."""
    where = run.save.path
    position = f"epoch {run.progress['epoch'] + 1}, step {run.progress['step']}"
    if run.config.command:
        words = [w for w in run.config.command if w not in ("--overwrite", "--resume")]
        words = _without_option(_without_option(words, "--run-name"), "--out")
        words += ["--out", str(where.parent.parent), "--run-name", where.parent.name, "--resume"]
        return f"interrupted at {position}; checkpoint saved in {where}. Resume with: " + (
            shlex.join(words)
        )
    return f"interrupted at {position}; checkpoint saved in {where}; resume=True continues it"


def _without_option(words: list[str], option: str) -> list[str]:
    kept, skip = [], False
    for word in words:
        if skip:
            skip = False
        elif word == option:
            skip = True
        elif not word.startswith(option + "="):
            kept.append(word)
    return kept


def _say(config: TrainConfig, context: distributed.Context, message: str) -> None:
    if context.is_main:
        config.log.append(message)
        print(message, flush=True)


def run_settings(config: TrainConfig, recipe: Recipe, dataset: str, data: RunData) -> dict:
    """What defines a run: a resume must keep every one of these."""
    captioning = {}
    if config.task == "captioning":
        captioning = {"task": config.task, "caption": asdict(config.caption)}
    return {
        **captioning,
        "model": config.model,
        "dataset": dataset,
        "data": data.title,
        "recipe": json.loads(json.dumps(asdict(recipe))),
        "seed": config.seed,
        "train_limit": config.train_limit,
        "test_limit": config.test_limit,
        "image_size": config.image_size,
        "amp": config.amp,
    }


def train(config: TrainConfig) -> dict[str, object]:
    """Train, evaluate and save; return the summary (also written to summary.json)."""
    started = time.time()
    card = model_card(config.model)
    if config.task == "captioning":
        config = replace(config, caption=config.caption or CaptionSettings())
        dataset = config.dataset or "synthetic"
        recipe = config.recipe or default_recipe("captioning", dataset, config.model)
        if os.environ.get("WORLD_SIZE", "1") != "1":
            raise BadInput("captioning trains in one process (not under torchrun)")
        if recipe.freeze_encoder_epochs and config.caption.freeze_encoder:
            raise BadInput(
                "--freeze-encoder-epochs with --freeze-encoder: the encoder is either frozen "
                "throughout or frozen for the first epochs, not both"
            )
        if recipe.ema_decay:
            raise BadInput(
                "ema_decay (weight averaging) is for classification runs; captioning does "
                "not average its weights"
            )
    else:
        dataset = config.dataset or ("mnist" if card.input_size[0] == 1 else "cifar10")
        recipe = config.recipe or default_recipe(card.family, dataset, config.model)
        if recipe.freeze_encoder_epochs:
            raise BadInput(
                f"freeze_encoder_epochs is a captioning recipe field (keyarch caption train); "
                f"{config.model} trains as a classifier"
            )
    _check_before_work(config, card, recipe)
    device_type = "cuda" if config.device == "auto" and torch.cuda.is_available() else "cpu"
    context = distributed.setup(device_type if config.device == "auto" else config.device)
    try:
        return _train(config, card, dataset, recipe, context, started)
    finally:
        distributed.teardown(context)


def _check_before_work(config: TrainConfig, card, recipe: Recipe) -> None:
    """What can be refused before any data is read: the model's kind, threads and loader
    processes beyond the cores, an image size the network cannot take or this machine
    cannot hold, a --out folder keyarch cannot write."""
    from keyarch.analysis.inputs import check_input_size, check_threads
    from keyarch.outputs import check_folder

    if card.task != "image-classification":
        raise BadInput(f"{card.name} is a {card.task} model, and keyarch train trains image "
                       "models (keyarch list --task image-classification); the sequence models "
                       "train in keyarch experiment lstm-vs-rnn")  # fmt: skip
    if config.workers is not None and config.workers > usable_cores():
        raise BadInput(f"--workers {config.workers}: more loader processes than the "
                       f"{usable_cores()} cores this process may run on")  # fmt: skip
    check_threads(config.threads, workers=config.workers or 0)
    side = config.caption.image_size if config.task == "captioning" else config.image_size
    if side is not None:
        channels = 3 if config.task == "captioning" else card.input_size[0]
        on_cpu = config.device == "cpu" or (config.device == "auto"
                                            and not torch.cuda.is_available())  # fmt: skip
        check_input_size(card.name, (channels, side, side), "--image-size", shown=str(side),
                         batch=recipe.batch_size, training=True, memory=on_cpu)  # fmt: skip
    if os.environ.get("RANK", "0") == "0":  # the main process writes the run
        check_folder(config.out, "--out")


def _threads(config: TrainConfig, context: distributed.Context, workers: int) -> int:
    """Compute threads: this process's share of the cores, less its loader processes."""
    if config.threads:
        return config.threads
    return max(1, usable_cores() // context.world_size - workers)


def _create(name: str, recipe: Recipe, **arguments) -> torch.nn.Module:
    """The model with the options its recipe trains it with (Xception's dropout 0.5,
    Inception-v3's auxiliary classifier); an option the model lacks is named."""
    options = dict(recipe.model_options)
    builder = builder_options(name)
    unknown = sorted(set(options) - set(builder))
    if unknown:
        raise BadInput(
            f"recipe {recipe.name} sets model option(s) {', '.join(unknown)}, which {name} "
            f"does not take (it takes {', '.join(sorted(set(builder) - set(arguments)))})"
        )
    return create_model(name, **arguments, **options)


def _train(config, card, dataset, recipe, context, started) -> dict[str, object]:
    device = resolve_device(config.device, context.local_rank)
    context = replace(context, device=device)
    if config.task == "captioning":
        data = prepare_caption_data(config, recipe, context, device)
    else:
        data = prepare_data(config, card, dataset, recipe, context, device)
    threads = _threads(config, context, data.workers)
    torch.set_num_threads(threads)
    torch.manual_seed(config.seed)
    if config.deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
    name = config.run_name or (
        f"caption-{config.model}-{dataset}"
        if config.task == "captioning"
        else f"{config.model}-{dataset}" + ("-embedded" if data.embedded else "")
    )
    directory, note = (None, None)
    if context.is_main:
        directory, note = runs.choose(
            config.out, name, resume=config.resume, overwrite=config.overwrite
        )
    directory = Path(distributed.broadcast(str(directory), context))
    fresh = not directory.exists()
    made = [p for p in directory.parents if not p.exists()]  # --out's folders this run makes
    lock = runs.open_run(directory, overwrite=config.overwrite) if context.is_main else None
    try:
        return _train_in(
            config, card, dataset, recipe, context, started, data, directory, note, threads
        )
    except BadInput:
        if lock is not None and fresh:
            runs.remove_if_empty(directory, made)  # a refused run leaves no folder behind
        raise
    finally:
        if lock is not None:
            lock.release()


def _train_in(config, card, dataset, recipe, context, started, data, directory, note, threads):
    device = context.device
    settings = run_settings(config, recipe, dataset, data)
    checkpoint_path = directory / runs.CHECKPOINT
    if note:
        _say(config, context, note)
    for line in data.notes:
        _say(config, context, line)
    if config.task == "captioning":
        model = build_captioner(config.model, config.caption, data.vocabulary)
    else:
        model = _create(config.model, recipe, num_classes=len(data.classes), in_chans=data.channels)
    model = model.to(device)
    channels_last = config.channels_last
    if channels_last is None:
        channels_last = device.type == "cpu" or (device.type == "cuda" and config.amp != "none")
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = _optimizer(recipe, model)
    average = None
    if recipe.ema_decay:
        average = WeightAverage(model, recipe.ema_decay, warmup=recipe.ema_warmup)
    steps_per_epoch = data.steps_per_epoch()
    if steps_per_epoch == 0:
        raise BadInput(
            f"{len(data.train)} training images make no batch of {recipe.batch_size} "
            "(--batch-size, --train-limit)"
        )
    progress = {"epoch": 0, "batch": 0, "step": 0, "totals": [], "history": []}
    if config.resume:
        runs.refuse_changes(checkpoint.read_settings(checkpoint_path), settings, directory)
        progress = checkpoint.load_checkpoint(checkpoint_path, model, optimizer, average)
        if progress["epoch"] >= recipe.epochs and (directory / runs.SUMMARY).is_file():
            raise BadInput(
                f"the run in {directory} has finished its {recipe.epochs} epochs: "
                "nothing to resume (start a new run without --resume)"
            )
        _say(
            config,
            context,
            f"resumed from {checkpoint_path} at epoch {progress['epoch'] + 1}, "
            f"step {progress['step']}",
        )
    network = model
    if context.distributed:
        network = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )
    if config.compile:
        network = torch.compile(network)
    if config.task == "captioning":
        task = CaptioningTask(data, config.caption)
        weights_metadata = captioner_metadata(model, data.vocabulary, data)
    else:
        task = ClassificationTask(len(data.classes), recipe.label_smoothing)
        weights_metadata = data.weights_metadata(config.model, recipe.tta)

    def save() -> None:
        if not context.is_main:
            return
        try:
            checkpoint.save_checkpoint(
                checkpoint_path, model, optimizer, progress, weights_metadata, settings, average
            )
        except OSError as error:
            earlier = (
                f"the earlier checkpoint {checkpoint_path} is intact"
                if checkpoint_path.is_file()
                else "no earlier checkpoint exists"
            )
            raise CheckpointNotWritten(
                f"could not write the checkpoint in {directory} ({error.strerror or error}); "
                f"{earlier} and no partial file is left. Free space, then resume (--resume)"
            ) from None

    save.path = checkpoint_path
    board = reporting.TensorBoard(directory) if context.is_main else None
    if board is not None and board.writer is None:
        _say(config, context, "no TensorBoard logs: tensorboard is not installed (pip "
             "install 'keyarch[tensorboard]'); metrics.csv and curves.png are written")  # fmt: skip
    _say(
        config,
        context,
        f"training {config.model} ({count_parameters(model):,} parameters) on {data.title} "
        f"with recipe {recipe.name}: {recipe.epochs} epochs of {steps_per_epoch} steps, batch "
        f"{recipe.batch_size}, on {device}"
        + (f" x {context.world_size} processes" if context.distributed else "")
        + f"; {threads} compute thread{'s' * (threads > 1)}, "
        + (
            f"{data.workers} loader process{'es' * (data.workers > 1)}"
            if data.workers
            else "batches augmented on the device, no loader process"
        )
        + ("; channels-last" if channels_last else "")
        + f"; run directory {directory}",
    )
    run = _Run(
        config,
        recipe,
        task,
        data,
        model,
        network,
        optimizer,
        torch.amp.GradScaler(device.type, enabled=config.amp == "fp16"),
        autocast_for(config.amp, device),
        context,
        device,
        progress,
        save,
        _StopRequest(),
        steps_per_epoch,
        channels_last,
        average,
    )
    train_seconds = 0.0
    try:
        with run.stop:
            first_epoch = progress["epoch"]  # of this invocation (a resumed run starts later)
            for epoch in range(first_epoch, recipe.epochs):
                _encoder_phase(run, epoch, first=epoch == first_epoch)
                stats = train_one_epoch(run, epoch)
                train_seconds += stats.seconds
                last = epoch + 1 == recipe.epochs  # test-time augmentation: last epoch only
                weights_of = {"": network}  # the trained weights, then their average
                if average is not None:
                    weights_of["ema_"] = average.model
                row = {
                    "epoch": epoch + 1,
                    **{f"train_{k}": v for k, v in stats.metrics.items()},
                    "lr": stats.lr,
                }
                for prefix, weights in weights_of.items():
                    tested = task.evaluate(
                        weights,
                        data.test_batches(),
                        crop=data.crop,
                        tta=recipe.tta if last else "none",
                        autocast=run.autocast,
                        context=context,
                        device=device,
                    )
                    row |= {f"{prefix}{task.evaluated}_{k}": v for k, v in tested.items()}
                row["images_per_second"] = stats.images_per_second
                progress.update(epoch=epoch + 1, batch=0, totals=[])
                progress["history"].append(row)
                save()
                if context.is_main:
                    _report(
                        directory,
                        progress["history"],
                        board,
                        f"{config.model} on {data.title} ({recipe.name})",
                    )
                _say(config, context, task.epoch_line(row, recipe.epochs))
                if epoch + 1 < recipe.epochs and _stop_requested(run):  # during evaluation
                    raise TrainingInterrupted(_resume_hint(run))
    finally:
        if board is not None:
            board.close()
    final = task.finish(network, context)  # the final splits (captioning's beam search)
    summary = _summary(run, dataset, threads, started, train_seconds) | final
    if context.is_main:
        kept = average.model if average is not None and recipe.ema_result else model
        checkpoint.save_weights(directory / "model.safetensors", kept, weights_metadata)
        checkpoint.atomic_write(directory / runs.SUMMARY, json.dumps(summary, indent=2).encode())
        averaged = ""
        if summary.get("saved_weights") == "average":
            trained = summary[f"trained_{task.evaluated}_{task.headline}"]
            averaged = f" with the averaged weights (the trained weights: {trained:.4f})"
        _say(
            config,
            context,
            f"{task.final_line(summary)}{averaged} after {recipe.epochs} epochs, "
            f"{summary['wall_seconds']:.0f} s; run saved in {directory}",
        )
    return summary


def _encoder_phase(run: _Run, epoch: int, first: bool) -> None:
    """Two-phase fine-tuning (recipe ``freeze_encoder_epochs``): a captioner's encoder is
    frozen for the first epochs and trains with the decoder after; decided by the epoch
    alone, so a resumed run is in the phase an uninterrupted one would be."""
    frozen_epochs = run.recipe.freeze_encoder_epochs
    if not frozen_epochs:
        return
    run.model.set_encoder_frozen(epoch < frozen_epochs)
    if epoch == frozen_epochs or (first and epoch < frozen_epochs):
        _say(run.config, run.context,
             f"epoch {epoch + 1}: the encoder is "
             + (f"frozen until epoch {frozen_epochs} (phase 1: the LSTM alone)"
                if epoch < frozen_epochs else
                f"trained from now on at {run.model.config.encoder_lr_scale}x the rate "
                "(phase 2: fine-tuning)"))  # fmt: skip


def _report(directory: Path, history: list[dict], board, title: str) -> None:
    reporting.write_csv(directory / "metrics.csv", history)
    reporting.plot_curves(directory / "curves.png", history, title)
    board.log(history[-1])


def _final_scores(row: dict, evaluated: str, average_kept: bool) -> dict:
    """The last epoch's test scores for the summary. The unprefixed ones (``test_top1``)
    are those of the saved weights: with the average kept (recipe ``ema_result``), the
    average's, and the trained weights' move to ``trained_test_*``; ``ema_test_*`` are the
    average's in either case. ``saved_weights`` says which model.safetensors holds."""
    trained = {k: v for k, v in row.items() if k.startswith(f"{evaluated}_")}
    averaged = {k: v for k, v in row.items() if k.startswith(f"ema_{evaluated}_")}
    if not averaged:
        return trained
    if not average_kept:
        return trained | averaged | {"saved_weights": "trained"}
    return (
        {k.removeprefix("ema_"): v for k, v in averaged.items()}
        | averaged
        | {f"trained_{k}": v for k, v in trained.items()}
        | {"saved_weights": "average"}
    )


def _summary(run: _Run, dataset: str, threads: int, started: float, train_seconds: float) -> dict:
    import torchvision

    from keyarch import __version__

    config, recipe, data, progress = run.config, run.recipe, run.data, run.progress
    model, context, channels_last = run.model, run.context, run.channels_last
    final = progress["history"][-1] if progress["history"] else {}
    arguments = {k: v for k, v in asdict(config).items() if k not in ("log", "recipe")}
    summary = {
        "model": config.model,
        "task": config.task,
        "dataset": data.title,
        "data": {
            "name": dataset,
            "provenance": data.provenance,
            "embedded": data.embedded,
            "train_images": len(data.train),
            f"{run.task.evaluated}_images": len(data.test),
        },
        "recipe": asdict(recipe),
        "epochs": recipe.epochs,
        **_final_scores(final, run.task.evaluated, run.average is not None and recipe.ema_result),
        "train_images_per_second": sum(r["images_per_second"] for r in progress["history"])
        / max(len(progress["history"]), 1),
        "wall_seconds": round(time.time() - started, 2),
        "train_seconds_this_process": round(train_seconds, 2),
        "parameters": count_parameters(model),
        "arguments": arguments,
        "versions": {
            "keyarch": __version__,
            "torch": torch.__version__,
            "torchvision": torchvision.__version__,
            "python": platform.python_version(),
        },
        "device": str(context.device),
        "world_size": context.world_size,
        "threads": threads,
        "channels_last": channels_last,
        "loader_processes": data.workers,
        "seed": config.seed,
    }
    return json.loads(json.dumps(summary, default=str))  # what summary.json holds
