"""The training loop: ``train(TrainConfig(model="lenet5"))`` trains, evaluates, checkpoints.

A run directory holds ``checkpoint.safetensors`` (resumable state, written atomically every
``checkpoint_every`` steps and after every epoch), ``metrics.csv``, ``tensorboard/``,
``curves.png``, and at the end ``model.safetensors`` and ``summary.json``. Under
``torchrun`` the same loop runs DistributedDataParallel; only rank 0 writes.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm import tqdm

from keyarch.analysis import count_parameters
from keyarch.models.base import AuxiliaryOutputs
from keyarch.registry import create_model, model_card
from keyarch.train import checkpoint, distributed, reporting
from keyarch.train.data import RunData, prepare_data
from keyarch.train.evaluate import evaluate
from keyarch.train.recipes import Recipe, default_recipe


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""


@dataclass
class TrainConfig:
    model: str
    dataset: str | None = None  # default: "mnist" for one-channel models, else "cifar10"
    data_dir: str | None = None
    recipe: Recipe | None = None  # default: keyarch.train.recipes.default_recipe
    out: Path = Path("runs")
    run_name: str | None = None  # default: "<model>-<dataset>"
    seed: int = 0
    amp: str = "none"  # "bf16" (CPU or GPU) or "fp16" (GPU)
    channels_last: bool = False
    compile: bool = False
    deterministic: bool = False
    workers: int = 0  # DataLoader worker processes
    checkpoint_every: int = 0  # steps between checkpoints (0: only after each epoch)
    resume: bool = False
    train_limit: int | None = None  # a fixed random subset of N training images
    test_limit: int | None = None
    download: bool = True
    allow_embedded: bool = False  # fall back to the MNIST subset shipped in the package
    image_size: int | None = None  # network input size (default: from model and data)
    progress: bool = True
    device: str = "auto"
    log: list[str] = field(default_factory=list)  # what the run said, for callers


def _device(config: TrainConfig, context: distributed.Context) -> torch.device:
    if config.device != "auto":
        return torch.device(config.device)
    if torch.cuda.is_available():
        return torch.device("cuda", context.local_rank)
    return torch.device("cpu")


def _autocast(amp: str, device: torch.device):
    if amp == "none":
        return contextlib.nullcontext
    if amp not in ("bf16", "fp16"):
        raise ValueError(f"amp must be none, bf16 or fp16, got {amp!r}")
    if amp == "fp16" and device.type != "cuda":
        raise ValueError("fp16 mixed precision needs a GPU; use --amp bf16 on the CPU")
    dtype = torch.bfloat16 if amp == "bf16" else torch.float16
    return lambda: torch.autocast(device.type, dtype=dtype)


def _optimizer(recipe: Recipe, model: torch.nn.Module) -> torch.optim.Optimizer:
    decay, no_decay = [], []
    for parameter in model.parameters():
        if parameter.requires_grad:  # no weight decay on biases and norm scales
            (no_decay if parameter.ndim <= 1 else decay).append(parameter)
    groups = [
        {"params": decay, "weight_decay": recipe.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    if recipe.optimizer == "sgd":
        return torch.optim.SGD(
            groups, lr=recipe.lr, momentum=recipe.momentum, nesterov=recipe.nesterov
        )
    if recipe.optimizer == "adam":
        return torch.optim.Adam(groups, lr=recipe.lr)
    if recipe.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=recipe.lr)
    if recipe.optimizer == "rmsprop":  # Inception-v3: decay 0.9, epsilon 1.0
        return torch.optim.RMSprop(
            groups, lr=recipe.lr, alpha=0.9, eps=1.0, momentum=recipe.momentum
        )
    raise ValueError(f"unknown optimizer {recipe.optimizer!r}; expected sgd, adam, adamw, rmsprop")


def _loss(outputs, labels: torch.Tensor, smoothing: float) -> torch.Tensor:
    """Cross-entropy; with auxiliary classifiers, plus their weighted losses (GoogLeNet)."""
    if not isinstance(outputs, AuxiliaryOutputs):
        return F.cross_entropy(outputs.float(), labels, label_smoothing=smoothing)
    loss = F.cross_entropy(outputs.logits.float(), labels, label_smoothing=smoothing)
    for aux in outputs.aux_logits:
        loss = loss + outputs.aux_weight * F.cross_entropy(
            aux.float(), labels, label_smoothing=smoothing
        )
    return loss


def _say(config: TrainConfig, context: distributed.Context, message: str) -> None:
    if context.is_main:
        config.log.append(message)
        print(message, flush=True)


def train(config: TrainConfig) -> dict[str, object]:
    """Train, evaluate and save; return the summary (also written to summary.json)."""
    started = time.time()
    card = model_card(config.model)
    dataset = config.dataset or ("mnist" if card.input_size[0] == 1 else "cifar10")
    recipe = config.recipe or default_recipe(card.family, dataset)
    device_type = "cuda" if config.device == "auto" and torch.cuda.is_available() else "cpu"
    context = distributed.setup(device_type if config.device == "auto" else config.device)
    try:
        return _train(config, card, dataset, recipe, context, started)
    finally:
        distributed.teardown(context)


def _train(config, card, dataset, recipe, context, started) -> dict[str, object]:
    device = _device(config, context)
    torch.manual_seed(config.seed)
    if config.deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
    run_dir = Path(config.out) / (config.run_name or f"{config.model}-{dataset}")
    data: RunData = prepare_data(config, card, dataset, recipe, context)
    for line in data.notes:
        _say(config, context, line)
    model = create_model(config.model, num_classes=len(data.classes), in_chans=data.channels)
    model = model.to(device)
    if config.channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = _optimizer(recipe, model)
    steps_per_epoch = len(data.train_batches(0, 0))
    if steps_per_epoch == 0:
        raise ValueError(f"{len(data.train)} training images make no batch of {recipe.batch_size}")
    progress = {"epoch": 0, "batch": 0, "step": 0, "sums": [0.0, 0.0, 0.0], "history": []}
    checkpoint_path = run_dir / "checkpoint.safetensors"
    if config.resume and checkpoint_path.is_file():
        progress = checkpoint.load_checkpoint(checkpoint_path, model, optimizer)
        _say(
            config,
            context,
            f"resumed from {checkpoint_path} at epoch {progress['epoch'] + 1}, "
            f"step {progress['step']}",
        )
    elif config.resume:
        _say(config, context, f"no checkpoint in {run_dir}: starting from scratch")
    network = model
    if context.distributed:
        network = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )
    if config.compile:
        network = torch.compile(network)
    autocast = _autocast(config.amp, device)
    scaler = torch.amp.GradScaler(device.type, enabled=config.amp == "fp16")
    weights_metadata = data.weights_metadata(config.model)
    board = reporting.TensorBoard(run_dir) if context.is_main else None
    _say(
        config,
        context,
        f"training {config.model} ({count_parameters(model):,} parameters) on "
        f"{data.title} with recipe {recipe.name}: {recipe.epochs} epochs of "
        f"{steps_per_epoch} steps, batch {recipe.batch_size}, on {device}"
        + (f" x {context.world_size} processes" if context.distributed else ""),
    )

    def save_checkpoint() -> None:
        if context.is_main:
            checkpoint.save_checkpoint(
                checkpoint_path, model, optimizer, progress, weights_metadata
            )

    seen_images, train_seconds = 0, 0.0
    for epoch in range(progress["epoch"], recipe.epochs):
        network.train()
        data.train.epoch = epoch
        batches = data.train_batches(epoch, progress["batch"])
        loader = data.loader(data.train, batches)
        bar = tqdm(
            total=steps_per_epoch,
            initial=progress["batch"],
            desc=f"epoch {epoch + 1}",
            disable=not (config.progress and context.is_main and sys.stderr.isatty()),
            leave=False,
        )
        epoch_start = time.time()
        for images, labels in loader:
            learning_rate = recipe.lr_at(progress["step"], steps_per_epoch)
            for group in optimizer.param_groups:
                group["lr"] = learning_rate
            images, labels = images.to(device, non_blocking=True), labels.to(device)
            if config.channels_last:
                images = images.contiguous(memory_format=torch.channels_last)
            with autocast():
                outputs = network(images)
            loss = _loss(outputs, labels, recipe.label_smoothing)
            logits = outputs.logits if isinstance(outputs, AuxiliaryOutputs) else outputs
            bad = torch.tensor([0.0 if torch.isfinite(loss) else 1.0])
            if distributed.sum_across(bad, context).item():
                raise TrainingDiverged(
                    f"the loss became {loss.item()} at epoch {epoch + 1}, step {progress['step']}"
                    f"; the last good checkpoint is kept in {checkpoint_path}. Lower the "
                    "learning rate (--lr) or clip gradients (--clip-grad)"
                )
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if recipe.clip_grad:
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(model.parameters(), recipe.clip_grad)
            scaler.step(optimizer)
            scaler.update()
            sums = progress["sums"]
            sums[0] += loss.item() * len(labels)
            sums[1] += (logits.argmax(1) == labels).sum().item()
            sums[2] += len(labels)
            progress["batch"] += 1
            progress["step"] += 1
            seen_images += len(labels) * context.world_size
            rate = seen_images / max(train_seconds + time.time() - epoch_start, 1e-9)
            bar.set_postfix(
                loss=f"{sums[0] / sums[2]:.4f}", acc=f"{sums[1] / sums[2]:.4f}", img_s=f"{rate:.0f}"
            )
            bar.update()
            if config.checkpoint_every and progress["step"] % config.checkpoint_every == 0:
                save_checkpoint()
        bar.close()
        train_seconds += time.time() - epoch_start
        totals = distributed.sum_across(
            torch.tensor(progress["sums"], dtype=torch.float64), context
        )
        row = {
            "epoch": epoch + 1,
            "train_loss": totals[0].item() / totals[2].item(),
            "train_accuracy": totals[1].item() / totals[2].item(),
            "lr": learning_rate,
        }
        last = epoch + 1 == recipe.epochs  # test-time augmentation is costly: last epoch only
        row.update(
            evaluate(
                network,
                data.loader(data.test, data.test_batches()),
                crop=data.crop,
                tta=recipe.tta if last else "none",
                device=device,
                autocast=autocast,
                context=context,
            )
        )
        row["images_per_second"] = seen_images / max(train_seconds, 1e-9)
        progress.update(epoch=epoch + 1, batch=0, sums=[0.0, 0.0, 0.0])
        progress["history"].append(row)
        save_checkpoint()
        if context.is_main:
            reporting.write_csv(run_dir / "metrics.csv", progress["history"])
            reporting.plot_curves(
                run_dir / "curves.png",
                progress["history"],
                f"{config.model} on {data.title} ({recipe.name})",
            )
            board.log(row)
        extra = "".join(
            f", {k.removeprefix('test_accuracy_')} {v:.4f}"
            for k, v in row.items()
            if k.startswith("test_accuracy_")
        )
        _say(
            config,
            context,
            f"epoch {epoch + 1}/{recipe.epochs}: train loss {row['train_loss']:.4f}"
            f" acc {row['train_accuracy']:.4f}, test loss {row['test_loss']:.4f}"
            f" acc {row['test_accuracy']:.4f}{extra}, "
            f"{row['images_per_second']:.0f} img/s",
        )
    final = progress["history"][-1] if progress["history"] else {}
    summary = {
        "model": config.model,
        "dataset": data.title,
        "data": data.provenance,
        "recipe": asdict(recipe),
        "epochs": recipe.epochs,
        "test_accuracy": final.get("test_accuracy"),
        **{k: v for k, v in final.items() if k.startswith("test_accuracy_")},
        "wall_seconds": round(time.time() - started, 2),
        "parameters": count_parameters(model),
        "world_size": context.world_size,
        "device": str(device),
        "seed": config.seed,
    }
    summary = json.loads(json.dumps(summary))  # what summary.json holds, tuples as lists
    if context.is_main:
        checkpoint.save_weights(run_dir / "model.safetensors", model, weights_metadata)
        checkpoint.atomic_write(run_dir / "summary.json", json.dumps(summary, indent=2).encode())
        board.close()
        _say(
            config,
            context,
            f"test accuracy {summary['test_accuracy']:.4f} after "
            f"{recipe.epochs} epochs, {summary['wall_seconds']:.0f} s; "
            f"run saved in {run_dir}",
        )
    return summary
