"""The training loop: ``train(TrainConfig(model="lenet5"))`` trains, evaluates, checkpoints.

A run directory holds ``checkpoint.safetensors`` (resumable state, written atomically every
``checkpoint_every`` steps, after every epoch and on Ctrl-C), ``metrics.csv``,
``tensorboard/``, ``curves.png``, and at the end ``model.safetensors`` and
``summary.json``. Under ``torchrun`` the same loop runs DistributedDataParallel; only rank
0 writes. What is trained (the data, the model, the loss, the metrics, the evaluation) is
the task's business (``keyarch.train.tasks``); this module only runs steps and keeps the
run safe.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch
from tqdm import tqdm

from keyarch.errors import BadInput
from keyarch.registry import model_card
from keyarch.train import checkpoint, distributed, reporting, runs
from keyarch.train.averaging import WeightAverage
from keyarch.train.checks import check_before_work
from keyarch.train.config import TrainConfig
from keyarch.train.devices import compute_threads, resolve_device, use_channels_last
from keyarch.train.interrupt import StopRequest
from keyarch.train.optimizers import build_optimizer, renormalise_filters_
from keyarch.train.state import (
    CheckpointNotWritten,
    EpochStats,
    RunState,
    TrainingDiverged,
    TrainingInterrupted,
)
from keyarch.train.tasks import Task, task_class

__all__ = ["CheckpointNotWritten", "EpochStats", "TrainConfig", "TrainingDiverged",
           "TrainingInterrupted", "train", "train_one_epoch"]  # fmt: skip


def _diverged(run: RunState, bad_step: torch.Tensor) -> None:
    """Raise when any process saw a non-finite loss (``bad_step`` >= 0 holds its step)."""
    step = int(distributed.sum_across(bad_step.clamp(min=-1).double(), run.context).item())
    if step > -run.context.world_size:
        raise TrainingDiverged(
            f"the loss became nan or infinite at epoch {run.progress['epoch'] + 1} (by step "
            f"{run.progress['step']}); the last good checkpoint is kept in "
            f"{run.checkpoint_path}. Lower the learning rate (--lr) or clip gradients "
            "(--clip-grad)"
        )


def _stop_requested(run: RunState) -> bool:
    if not run.context.distributed:
        return run.stop.requested
    flag = torch.tensor([1.0 if run.stop.requested else 0.0], device=run.context.device)
    return bool(distributed.sum_across(flag, run.context).item())


def _step(run: RunState, inputs, targets: torch.Tensor, totals: torch.Tensor) -> torch.Tensor:
    """One optimisation step; the loss (its metrics added to ``totals``)."""
    if run.channels_last:
        inputs = inputs.contiguous(memory_format=torch.channels_last)
    with run.autocast():
        outputs = run.objective.forward(run.network, inputs, targets)
    loss = run.objective.loss(outputs, targets)
    run.optimizer.zero_grad(set_to_none=True)
    run.scaler.scale(loss).backward()
    if run.recipe.clip_grad:
        run.scaler.unscale_(run.optimizer)
        torch.nn.utils.clip_grad_norm_(run.model.parameters(), run.recipe.clip_grad)
    run.scaler.step(run.optimizer)
    run.scaler.update()
    if run.recipe.renorm_radius:
        renormalise_filters_(run.model, run.recipe.renorm_radius)
    run.objective.accumulate(totals, outputs, targets, loss)
    return loss


def train_one_epoch(run: RunState, epoch: int) -> EpochStats:
    """Steps over this process's batches of ``epoch`` from the saved position on; running
    sums stay on the device and are read when a checkpoint is taken and at the end."""
    run.network.train()
    progress, recipe, objective = run.progress, run.recipe, run.objective
    totals = objective.new_totals(run.context.device)
    if progress["totals"]:
        totals += torch.tensor(progress["totals"], dtype=totals.dtype, device=totals.device)
    bad_step = torch.full((), -1, dtype=torch.long, device=totals.device)
    shown = run.config.progress and run.context.is_main and sys.stderr.isatty()
    bar = tqdm(total=run.steps_per_epoch, initial=progress["batch"], desc=f"epoch {epoch + 1}",
               disable=not shown, leave=False)  # fmt: skip
    started, images = time.perf_counter(), 0
    scores = [row[f"{objective.evaluated}_{objective.headline}"] for row in progress["history"]]
    rate = recipe.lr_at(max(progress["step"] - 1, 0), run.steps_per_epoch, scores)
    drop_path = getattr(run.model, "schedule_drop_path", None)  # NASNet's ScheduledDropPath
    for inputs, targets in run.task.data.train_batches(epoch, progress["batch"]):
        rate = recipe.lr_at(progress["step"], run.steps_per_epoch, scores)
        for group in run.optimizer.param_groups:
            group["lr"] = rate * group.get("lr_scale", 1.0)
        if drop_path is not None:  # the rate grows with training
            drop_path(progress["step"] / (recipe.epochs * run.steps_per_epoch))
        loss = _step(run, inputs, targets, totals)
        bad_step = torch.where((bad_step < 0) & ~torch.isfinite(loss), progress["step"], bad_step)
        progress["batch"] += 1
        progress["step"] += 1
        if run.average is not None:
            run.average.update(run.model, progress["step"])
        images += len(targets) * run.context.world_size
        bar.update()
        _after_step(run, totals, bad_step, bar)
        if not bar.disable and progress["step"] % 25 == 0:
            speed = images / max(time.perf_counter() - started, 1e-9)
            bar.set_postfix({k: f"{v:.4f}" for k, v in objective.summarise(totals).items()}
                            | {"img/s": f"{speed:.0f}"})  # fmt: skip
    bar.close()
    _diverged(run, bad_step)
    summed = distributed.sum_across(totals, run.context)
    return EpochStats(objective.summarise(summed), images, time.perf_counter() - started, rate)


def _after_step(run: RunState, totals: torch.Tensor, bad_step: torch.Tensor, bar) -> None:
    """Divergence checks, the periodic checkpoint, and a Ctrl-C's checkpoint and stop."""
    step = run.progress["step"]
    every = step % run.check_every == 0
    checkpoint_due = run.config.checkpoint_every and step % run.config.checkpoint_every == 0
    if every or checkpoint_due:
        _diverged(run, bad_step)
    if checkpoint_due:
        run.progress["totals"] = totals.tolist()
        run.save()
    if (every or not run.context.distributed) and _stop_requested(run):
        run.progress["totals"] = totals.tolist()
        bar.close()
        _diverged(run, bad_step)
        run.save()
        raise run.interrupted()


def _say(config: TrainConfig, context: distributed.Context, message: str) -> None:
    if context.is_main:
        config.log.append(message)
        print(message, flush=True)


def train(config: TrainConfig) -> dict[str, object]:
    """Train, evaluate and save; return the summary (also written to summary.json)."""
    started = time.time()
    task = task_class(config.task)(config, model_card(config.model))
    config = task.config  # with the task's own defaults filled in
    check_before_work(config, task)
    device_type = "cuda" if config.device == "auto" and torch.cuda.is_available() else "cpu"
    context = distributed.setup(device_type if config.device == "auto" else config.device)
    try:
        return _train(config, task, context, started)
    finally:
        distributed.teardown(context)


def _train(config: TrainConfig, task: Task, context, started: float) -> dict[str, object]:
    """Prepare the data, open the run's folder (a refused run leaves none), train in it."""
    device = resolve_device(config.device, context.local_rank)
    context = replace(context, device=device)
    data = task.prepare(context, device)
    threads = compute_threads(config.threads, context.world_size, data.workers)
    torch.set_num_threads(threads)
    torch.manual_seed(config.seed)
    if config.deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
    directory, note = (None, None)
    if context.is_main:
        directory, note = runs.choose(config.out, config.run_name or task.run_name(),
                                      resume=config.resume, overwrite=config.overwrite)  # fmt: skip
    directory = Path(distributed.broadcast(str(directory), context))
    fresh = not directory.exists()
    made = [p for p in directory.parents if not p.exists()]  # --out's folders this run makes
    lock = runs.open_run(directory, overwrite=config.overwrite) if context.is_main else None
    try:
        for line in ([note] if note else []) + data.notes:
            _say(config, context, line)
        run = _start(config, task, context, directory, threads)
        return _epochs(run, started)
    except BadInput:
        if lock is not None and fresh:
            runs.remove_if_empty(directory, made)  # a refused run leaves no folder behind
        raise
    finally:
        if lock is not None:
            lock.release()


def _start(config: TrainConfig, task: Task, context, directory: Path, threads: int) -> RunState:
    """The model, its optimiser and average, restored from the checkpoint on a resume."""
    device, recipe, data = context.device, task.recipe, task.data
    model = task.build_model().to(device)
    channels_last = use_channels_last(config.channels_last, task.images, device, config.amp)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = build_optimizer(recipe, model)
    average = WeightAverage(model, recipe.ema_decay, warmup=recipe.ema_warmup) \
        if recipe.ema_decay else None  # fmt: skip
    steps_per_epoch = data.steps_per_epoch()
    if steps_per_epoch == 0:
        raise BadInput(f"{len(data.train)} training examples make no batch of "
                       f"{recipe.batch_size} (--batch-size, --train-limit)")  # fmt: skip
    settings = runs.settings_of(config, task)
    progress = {"epoch": 0, "batch": 0, "step": 0, "totals": [], "history": []}
    if config.resume:
        path = directory / runs.CHECKPOINT
        runs.refuse_changes(checkpoint.read_settings(path), settings, directory)
        progress = checkpoint.load_checkpoint(path, model, optimizer, average)
        if progress["epoch"] >= recipe.epochs and (directory / runs.SUMMARY).is_file():
            raise BadInput(f"the run in {directory} has finished its {recipe.epochs} epochs: "
                           "nothing to resume (start a new run without --resume)")  # fmt: skip
        _say(config, context, f"resumed from {path} at epoch {progress['epoch'] + 1}, "
             f"step {progress['step']}")  # fmt: skip
    network = model
    if context.distributed:
        network = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None)  # fmt: skip
    if config.compile:
        network = torch.compile(network)
    return RunState(config=config, task=task, objective=task.start(), model=model,
                network=network, optimizer=optimizer, average=average, context=context,
                progress=progress, directory=directory,
                weights_metadata=task.weights_metadata(model), settings=settings,
                threads=threads, channels_last=channels_last,
                steps_per_epoch=steps_per_epoch, stop=StopRequest())  # fmt: skip


def _epochs(run: RunState, started: float) -> dict[str, object]:
    """Every remaining epoch: train, evaluate, checkpoint, report; then the result."""
    config, recipe, task, progress = run.config, run.recipe, run.task, run.progress
    board = reporting.TensorBoard(run.directory) if run.context.is_main else None
    if board is not None and board.writer is None:
        _say(config, run.context, "no TensorBoard logs: tensorboard is not installed (pip "
             "install 'keyarch[tensorboard]'); metrics.csv and curves.png are written")  # fmt: skip
    _say(config, run.context, reporting.opening_line(run))
    train_seconds = 0.0
    try:
        with run.stop:
            first_epoch = progress["epoch"]  # of this invocation (a resumed run starts later)
            for epoch in range(first_epoch, recipe.epochs):
                line = task.before_epoch(run.model, epoch, first=epoch == first_epoch)
                if line:
                    _say(config, run.context, line)
                stats = train_one_epoch(run, epoch)
                train_seconds += stats.seconds
                _end_of_epoch(run, epoch, stats, board)
                if epoch + 1 < recipe.epochs and _stop_requested(run):  # during evaluation
                    raise run.interrupted()
    finally:
        if board is not None:
            board.close()
    return _finish(run, started, train_seconds)


def _end_of_epoch(run: RunState, epoch: int, stats: EpochStats, board) -> None:
    """Evaluate the trained weights (and their average), checkpoint, report the epoch."""
    recipe, objective, context = run.recipe, run.objective, run.context
    weights_of = {"": run.network}  # the trained weights, then their average
    if run.average is not None:
        weights_of["ema_"] = run.average.model
    row = {"epoch": epoch + 1, **{f"train_{k}": v for k, v in stats.metrics.items()},
           "lr": stats.lr}  # fmt: skip
    for prefix, weights in weights_of.items():
        tested = run.task.evaluate(weights, last=epoch + 1 == recipe.epochs,
                                   autocast=run.autocast, context=context,
                                   device=context.device)  # fmt: skip
        row |= {f"{prefix}{objective.evaluated}_{k}": v for k, v in tested.items()}
    row["images_per_second"] = stats.images_per_second
    run.progress.update(epoch=epoch + 1, batch=0, totals=[])
    run.progress["history"].append(row)
    run.save()
    if context.is_main:
        title = f"{run.config.model} on {run.task.data.title} ({recipe.name})"
        reporting.report_epoch(run.directory, run.progress["history"], board, title)
    _say(run.config, context, objective.epoch_line(row, recipe.epochs))


def _finish(run: RunState, started: float, train_seconds: float) -> dict[str, object]:
    """The task's final evaluation; the weights and summary.json, written once."""
    final = run.objective.finish(run.network, run.context)  # splits scored only at the end
    summary = reporting.run_summary(run, started, train_seconds) | final
    if run.context.is_main:
        kept = run.average.model if run.average is not None and run.recipe.ema_result \
            else run.model  # fmt: skip
        checkpoint.save_weights(run.directory / "model.safetensors", kept, run.weights_metadata)
        checkpoint.atomic_write(run.directory / runs.SUMMARY,
                                json.dumps(summary, indent=2).encode())  # fmt: skip
        averaged = ""
        if summary.get("saved_weights") == "average":
            trained = summary[f"trained_{run.objective.evaluated}_{run.objective.headline}"]
            averaged = f" with the averaged weights (the trained weights: {trained:.4f})"
        _say(run.config, run.context,
             f"{run.objective.final_line(summary)}{averaged} after {run.recipe.epochs} epochs, "
             f"{summary['wall_seconds']:.0f} s; run saved in {run.directory}")  # fmt: skip
    return summary
