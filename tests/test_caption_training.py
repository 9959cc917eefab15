"""Captioning in the engine and on the command line: ``keyarch caption train|predict|eval``
on a small slice of the synthetic captions (a random-weight ResNet-20 encoder at 32 px)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from conftest import cli_status
from keyarch.train import TrainConfig, get_recipe, train
from keyarch.train.recipes import override
from keyarch.train.tasks.captioning import CaptionSettings
from keyarch.train.trained_captioner import load_captioner

SMALL = CaptionSettings(image_size=32, embed_size=32, hidden_size=32, min_count=1, beam_size=2)


def small_config(out: Path, name: str, **changes) -> TrainConfig:
    settings = changes.pop("caption", SMALL)
    recipe = changes.pop("recipe", override(get_recipe("show-and-tell-synthetic"), epochs=2,
                                            batch_size=32))  # fmt: skip
    return TrainConfig(model="resnet20", task="captioning", caption=settings, recipe=recipe,
                       train_limit=96, test_limit=24, threads=1, out=out, run_name=name,
                       progress=False, **changes)  # fmt: skip


def test_a_caption_run_is_saved_like_a_classification_run_and_its_model_reloads(tmp_path):
    summary = train(small_config(tmp_path, "run"))
    run = tmp_path / "run"
    for name in ("model.safetensors", "checkpoint.safetensors", "metrics.csv", "curves.png",
                 "summary.json"):  # fmt: skip
        assert (run / name).is_file(), name
    saved = json.loads((run / "summary.json").read_text())
    for split in ("val", "test", "novel"):  # val after each epoch; test and novel at the end
        for n in range(1, 5):
            assert 0 <= saved[f"{split}_bleu{n}"] <= 1, (split, n)
    assert saved["epochs"] == 2 and summary["novel_bleu4"] == saved["novel_bleu4"]
    header = (run / "metrics.csv").read_text().splitlines()[0].split(",")
    assert {"train_loss", "train_word_accuracy", "val_loss", "val_bleu4"} <= set(header)
    model, vocabulary, metadata = load_captioner(run / "model.safetensors")
    assert metadata["image_size"] == 32 and metadata["caption_dataset"] == "synthetic"
    assert vocabulary.words[:4] == ["<pad>", "<start>", "<end>", "<unk>"]
    assert "circle" in vocabulary.words and model.word_scores.out_features == len(vocabulary)
    weights = load_file(str(run / "model.safetensors"))
    assert all(torch.equal(weights[k], v) for k, v in model.state_dict().items())


def test_eval_scores_the_split_as_the_run_did_and_predict_captions_files(tmp_path, capsys):
    summary = train(small_config(tmp_path, "run"))
    weights = str(tmp_path / "run" / "model.safetensors")
    out, grid = tmp_path / "eval.json", tmp_path / "grid.png"
    code, stdout, err = cli_status(
        capsys,
        ["caption", "eval", "--weights", weights, "--split", "novel", "--limit", "24",
         "--beam-size", "2", "--out", str(out), "--grid", str(grid)],
    )  # fmt: skip
    assert code == 0, err
    result = json.loads(out.read_text())
    assert result["images"] == 24 and len(result["captions"]) == 24
    # the same images, model and beam as the run's final evaluation: the same BLEU
    assert result["scores"]["bleu4"] == pytest.approx(summary["novel_bleu4"], abs=1e-12)
    assert result["scores"]["bleu1"] == pytest.approx(summary["novel_bleu1"], abs=1e-12)
    assert "BLEU-4" in stdout and grid.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    code, _, err = cli_status(capsys, ["predict", "x.png", "--checkpoint", weights])
    assert code == 2 and "is a captioning model: use keyarch caption" in err

    from PIL import Image

    from keyarch.data.synthetic_captions import SyntheticCaptions

    image = SyntheticCaptions("test", size=32, count=1).images[0]
    path = tmp_path / "shapes.png"
    Image.fromarray(image.permute(1, 2, 0).numpy()).save(path)
    code, stdout, err = cli_status(
        capsys, ["caption", "predict", str(path), "--weights", weights, "--beam-size", "1"]
    )
    assert code == 0, err
    line = stdout.strip()
    assert line.startswith(f"{path}: ") and len(line.split(": ", 1)[1].split()) >= 1


def test_resume_after_a_crash_gives_the_weights_of_an_uninterrupted_run(tmp_path, monkeypatch):
    from keyarch.train.tasks.captioning import CaptioningTask

    train(small_config(tmp_path, "whole"))
    evaluate = CaptioningTask.evaluate
    calls = []

    class Crash(Exception):
        pass

    def crash_second(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise Crash  # killed while evaluating the second epoch
        return evaluate(self, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(CaptioningTask, "evaluate", crash_second)
        with pytest.raises(Crash):
            train(small_config(tmp_path, "crashed", checkpoint_every=3))
    assert not (tmp_path / "crashed" / "model.safetensors").exists()
    train(small_config(tmp_path, "crashed", checkpoint_every=3, resume=True))
    whole = load_file(str(tmp_path / "whole" / "model.safetensors"))
    again = load_file(str(tmp_path / "crashed" / "model.safetensors"))
    assert whole.keys() == again.keys()
    assert all(torch.equal(whole[k], again[k]) for k in whole)


def test_a_frozen_encoder_is_not_trained_and_a_fine_tuned_one_learns_at_its_own_rate(tmp_path):
    from keyarch.data.vocabulary import Vocabulary
    from keyarch.train.optimizers import build_optimizer as _optimizer
    from keyarch.train.tasks.captioning import build_captioner

    frozen = CaptionSettings(**{**SMALL.__dict__, "freeze_encoder": True})
    train(small_config(tmp_path, "frozen", caption=frozen, seed=3))
    trained = load_file(str(tmp_path / "frozen" / "model.safetensors"))
    vocabulary = Vocabulary(load_captioner(tmp_path / "frozen" / "model.safetensors")[1].words)
    torch.manual_seed(3)  # the run's initial weights: the same seed, the same builder
    initial = build_captioner("resnet20", frozen, vocabulary).state_dict()
    encoder = [k for k in initial if k.startswith("encoder.")]
    assert encoder and all(torch.equal(initial[k], trained[k]) for k in encoder)
    decoder = [k for k in initial if k.startswith("lstm.")]
    assert not all(torch.equal(initial[k], trained[k]) for k in decoder)

    model = build_captioner("resnet20", CaptionSettings(encoder_lr_scale=0.1), vocabulary)
    model.train()
    groups = _optimizer(get_recipe("show-and-tell-synthetic"), model).param_groups
    scales = {id(p): g["lr_scale"] for g in groups for p in g["params"]}
    assert all(scales[id(p)] == 0.1 for p in model.encoder.parameters())
    assert all(scales[id(p)] == 1.0 for p in model.lstm.parameters())
    frozen_model = build_captioner("resnet20", frozen, vocabulary).train()
    assert not frozen_model.encoder.training and frozen_model.lstm.training
    frozen_ids = {id(p) for g in _optimizer(get_recipe("show-and-tell"), frozen_model).param_groups
                  for p in g["params"]}  # fmt: skip
    assert not frozen_ids & {id(p) for p in frozen_model.encoder.parameters()}


def test_the_caption_cli_names_what_is_wrong_in_one_line(tmp_path, capsys):
    classifier = tmp_path / "classifier.safetensors"
    from keyarch.registry import create_model
    from keyarch.train.checkpoint import save_weights

    save_weights(classifier, create_model("lenet5"), {"model": "lenet5"})
    for argv, message in (
        (["caption", "train", "--encoder", "resnt20"], "unknown model 'resnt20'"),
        (
            [
                "caption",
                "train",
                "--encoder",
                "resnet20",
                "--dataset",
                "flickr8k",
                "--out",
                str(tmp_path),
            ],
            "needs --data-dir",
        ),  # fmt: skip
        (["caption", "eval", "--weights", str(classifier)], "not a keyarch captioning model"),
        (
            ["caption", "predict", "x.png", "--weights", str(tmp_path / "none.safetensors")],
            "not found",
        ),  # fmt: skip
        (
            [
                "caption",
                "train",
                "--encoder",
                "resnet20",
                "--dropout",
                "1.5",
                "--out",
                str(tmp_path),
            ],
            "dropout must be in [0, 1)",
        ),  # fmt: skip
    ):
        code, _, err = cli_status(capsys, argv)
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, (argv, err)


def test_the_show_and_tell_recipe_is_im2txts():
    recipe = get_recipe("show-and-tell")
    assert (recipe.optimizer, recipe.lr, recipe.momentum) == ("sgd", 2.0, 0.0)
    assert recipe.batch_size == 32
    assert recipe.clip_grad == 5.0 and recipe.gamma == 0.5 and recipe.milestones[:2] == (8, 16)
    assert CaptionSettings().dropout == pytest.approx(1 - 0.7)  # im2txt's keep probability
    assert (CaptionSettings().embed_size, CaptionSettings().hidden_size) == (512, 512)


def test_a_run_reports_what_its_captions_say_beside_the_blind_and_reversed_baselines(tmp_path):
    summary = train(small_config(tmp_path, "run"))
    for split in ("test", "novel"):
        for key in ("relation_accuracy", "exact_match", "object_accuracy", "colour_accuracy",
                    "size_accuracy", "count_accuracy", "well_formed", "bleu4"):  # fmt: skip
            assert 0 <= summary[f"{split}_{key}"] <= 1, (split, key)
            assert 0 <= summary[f"blind_{split}_{key}"] <= 1, (split, key)
        # the references with the relation turned round: every relation wrong, BLEU high
        assert summary[f"reversed_{split}_relation_accuracy"] == 0
        assert summary[f"reversed_{split}_object_accuracy"] == 1
        assert summary[f"reversed_{split}_bleu4"] > 0.7
        assert summary[f"oracle_{split}_exact_match"] == 1
        assert summary[f"blind_{split}_exact_match"] == 0
    assert isinstance(summary["blind_caption"], str) and summary["blind_caption"].startswith("a ")
    header = (tmp_path / "run" / "metrics.csv").read_text().splitlines()[0].split(",")
    assert {"val_exact_match", "val_relation_accuracy"} <= set(header)
    _, _, metadata = load_captioner(tmp_path / "run" / "model.safetensors")
    assert metadata["blind_caption"] == summary["blind_caption"]


def test_caption_eval_prints_the_structural_scores_and_the_baselines(tmp_path, capsys):
    summary = train(small_config(tmp_path, "run"))
    weights = str(tmp_path / "run" / "model.safetensors")
    out = tmp_path / "eval.json"
    code, stdout, err = cli_status(
        capsys, ["caption", "eval", "--weights", weights, "--split", "test", "--limit", "24",
                 "--beam-size", "2", "--out", str(out)],
    )  # fmt: skip
    assert code == 0, err
    result = json.loads(out.read_text())
    assert result["scores"]["exact_match"] == pytest.approx(summary["test_exact_match"])
    assert result["baselines"]["reversed_test_relation_accuracy"] == 0
    assert result["baselines"]["blind_test_bleu4"] == pytest.approx(summary["blind_test_bleu4"])
    assert "exact match" in stdout and "blind" in stdout and "reversed" in stdout


def two_phase_config(out: Path, name: str, caption=None, **changes) -> TrainConfig:
    recipe = override(get_recipe("show-and-tell-synthetic"), epochs=3, batch_size=32,
                      freeze_encoder_epochs=1)  # fmt: skip
    settings = caption or CaptionSettings(**{**SMALL.__dict__, "encoder_lr_scale": 0.5})
    return small_config(out, name, recipe=recipe, caption=settings, **changes)


def test_two_phase_fine_tuning_freezes_the_encoder_first_and_resumes_in_its_phase(
    tmp_path, monkeypatch
):
    from keyarch.train import engine

    seen = []
    step = engine.train_one_epoch

    def record(run, epoch):
        encoder = run.model.encoder
        before = {k: v.clone() for k, v in encoder.state_dict().items()}
        stats = step(run, epoch)  # the encoder's mode, as the epoch trained it
        after = encoder.state_dict()
        # batch-norm statistics and weights alike: frozen means untouched
        changed = any(not torch.equal(before[k], after[k]) for k in before)
        seen.append((epoch, run.model.encoder_frozen, encoder.training,
                     any(p.requires_grad for p in encoder.parameters()), changed))  # fmt: skip
        return stats

    monkeypatch.setattr(engine, "train_one_epoch", record)
    train(two_phase_config(tmp_path, "whole"))
    assert seen == [(0, True, False, False, False), (1, False, True, True, True),
                    (2, False, True, True, True)]  # fmt: skip

    # stopped after the frozen epoch and resumed: the same weights as the whole run
    seen.clear()
    from keyarch.train.tasks.captioning import CaptioningTask

    evaluate, calls = CaptioningTask.evaluate, []

    class Crash(Exception):
        pass

    def crash_second(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise Crash
        return evaluate(self, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(CaptioningTask, "evaluate", crash_second)
        with pytest.raises(Crash):
            train(two_phase_config(tmp_path, "resumed"))
    train(two_phase_config(tmp_path, "resumed", resume=True))
    whole = load_file(str(tmp_path / "whole" / "model.safetensors"))
    again = load_file(str(tmp_path / "resumed" / "model.safetensors"))
    assert all(torch.equal(whole[k], again[k]) for k in whole)


def test_two_phase_settings_that_cannot_hold_are_named(tmp_path):
    with pytest.raises(ValueError, match="freeze_encoder_epochs must be a whole number from 0"):
        override(get_recipe("show-and-tell-synthetic"), freeze_encoder_epochs=12)
    frozen = CaptionSettings(**{**SMALL.__dict__, "freeze_encoder": True})
    with pytest.raises(ValueError, match="frozen throughout or frozen for the first epochs"):
        train(two_phase_config(tmp_path, "both", caption=frozen))
    recipe = override(get_recipe("cifar"), epochs=2, freeze_encoder_epochs=1)
    with pytest.raises(ValueError, match="freeze_encoder_epochs is a captioning recipe field"):
        train(TrainConfig(model="resnet20", recipe=recipe, out=tmp_path, progress=False))
