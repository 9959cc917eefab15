"""The bad-input promise, cause by cause, over the commands the CLI's own parser declares:
every output flag (``-o``, ``--out``, ``--results``, ``--grid``, ``--to``) and every image
argument is found by walking the parser, so a command added later is covered (or this test
names it, asking for its invocation).

1. outputs are checked before the work and written whole (keyarch.outputs);
2. nothing earlier is replaced without --overwrite;
3. one safe image decoder (keyarch.data.formats.open_image);
4. arguments are checked against what they configure (keyarch.analysis.inputs);
5. fallbacks are said (an experiment's --data-dir, $KEYARCH_DATA);
6. messages name the real problem.
"""

from __future__ import annotations

import argparse
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import cli_status, embedded_train_args
from keyarch.cli import build_parser
from keyarch.data.datasets import _embedded_mnist
from keyarch.data.formats import decode_image, open_image
from keyarch.errors import BadInput
from keyarch.outputs import (
    CannotWrite,
    atomic_write,
    check_file,
    check_folder,
    staged_file,
    staged_folder,
)

OUTPUT_FLAGS = {"-o", "--output", "--out", "--results", "--grid", "--to"}
IMAGE_DESTS = {"images", "image"}


def commands(parser=None, path=()):
    """(command words, its parser) for every leaf command of ``keyarch``."""
    parser = parser or build_parser()
    found = False
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found = True
            for name, sub in action.choices.items():
                yield from commands(sub, (*path, name))
    if not found and path:
        yield path, parser


def output_flags():
    found = []
    for words, parser in commands():
        for action in parser._actions:
            flags = [f for f in action.option_strings if f in OUTPUT_FLAGS]
            if flags:
                found.append((words, flags[0]))
    return sorted(found)


def image_readers():
    return sorted(words for words, parser in commands()
                  if any(a.dest in IMAGE_DESTS for a in parser._actions))  # fmt: skip


# --- fixtures: a trained LeNet, a small captioner, a bench folder, images -------------------


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    root = tmp_path_factory.mktemp("promise")
    from keyarch.cli import main

    assert main(embedded_train_args(root / "runs", "lenet", "lenet5_modern", "--threads", "1")) == 0
    assert main(["caption", "train", "--encoder", "resnet20", "--image-size", "32",
                 "--embed-size", "16", "--hidden-size", "16", "--min-count", "1", "--epochs", "1",
                 "--train-limit", "32", "--test-limit", "8", "--no-progress", "--threads", "1",
                 "--out", str(root / "runs"), "--run-name", "caption", "--beam-size", "2",
                 "--batch-size", "16"]) == 0  # fmt: skip
    assert main(["bench", "lenet5", "--batch-sizes", "1", "--passes", "1", "--repeats", "1",
                 "--min-time", "0.01", "--no-memory", "--no-train", "--threads", "1",
                 "--out", str(root / "bench")]) == 0  # fmt: skip
    images = root / "images"
    images.mkdir()
    grey = (np.arange(32 * 32).reshape(32, 32) % 251).astype(np.uint8)
    Image.fromarray(grey).save(images / "grey8.png")
    Image.fromarray(grey.astype(np.uint16) * 257).save(images / "grey16.png")
    Image.fromarray(grey.astype(np.float32) / 255).save(images / "float.tif")
    Image.fromarray(grey.astype(np.float32) * 10).save(images / "float-wide.tif")
    bomb_png(images / "bomb.png", 30000, 30000)
    (images / "text.png").write_text("not an image\n")
    (images / "folder.png").mkdir()
    return {"root": root, "lenet": root / "runs" / "lenet" / "model.safetensors",
            "caption": root / "runs" / "caption" / "model.safetensors",
            "bench": root / "bench", "images": images}  # fmt: skip


def bomb_png(path: Path, width: int, height: int) -> None:
    """A PNG header declaring ``width`` x ``height`` pixels: a decompression bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
                     + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))  # fmt: skip


def invocation(words, flag, made, target: str) -> list[str]:
    """The smallest real use of ``keyarch WORDS`` writing to ``target`` with ``flag``."""
    lenet, caption = str(made["lenet"]), str(made["caption"])
    image = str(made["images"] / "grey8.png")
    train = embedded_train_args(target, "r", "lenet5_modern", "--threads", "1")
    caption_eval = ["caption", "eval", "--weights", caption, "--limit", "4", "--beam-size", "1"]
    table = {
        (("draw",), "-o"): ["draw", "lenet5", "-o", target + ".svg"],
        (("export",), "-o"): ["export", "lenet5", "-o", target + ".onnx", "--no-check"],
        (("visualize",), "--out"): [
            "visualize",
            "lenet5_modern",
            "--image",
            image,
            "--out",
            target,
        ],  # fmt: skip
        (("caption", "eval"), "--out"): [*caption_eval, "--out", target + ".json"],
        (("caption", "eval"), "--grid"): [*caption_eval, "--grid", target + ".png"],
        (("eval",), "--results"): [
            "eval",
            "--checkpoint",
            lenet,
            "--dataset",
            "mnist",
            "--data-dir",
            str(_embedded_mnist()),
            "--limit",
            "32",
            "--results",
            target + ".json",
        ],  # fmt: skip
        (("bench",), "--out"): [
            "bench",
            "lenet5",
            "--batch-sizes",
            "1",
            "--passes",
            "1",
            "--repeats",
            "1",
            "--min-time",
            "0.01",
            "--no-memory",
            "--no-train",
            "--threads",
            "1",
            "--out",
            target,
        ],  # fmt: skip
        (("bench",), "--to"): ["bench", "--report", str(made["bench"]), "--to", target],
        (("guide",), "--out"): ["guide", "--out", target],
        (("experiment",), "--out"): [
            "experiment",
            "lstm-vs-rnn",
            "--seeds",
            "1",
            "--out",
            target,
        ],  # fmt: skip
        (("train",), "--out"): train,
        (("caption", "train"), "--out"): [
            "caption",
            "train",
            "--encoder",
            "resnet20",
            "--image-size",
            "32",
            "--epochs",
            "1",
            "--train-limit",
            "32",
            "--test-limit",
            "8",
            "--no-progress",
            "--out",
            target,
        ],  # fmt: skip
    }
    key = (tuple(words), flag)
    assert key in table, f"keyarch {' '.join(words)} {flag}: add its invocation to this test"
    return table[key]


def test_the_parser_declares_the_outputs_and_image_readers_this_test_covers():
    """The walk finds what the commands have today; a new one fails ``invocation``."""
    assert ("draw",) in {w for w, _ in output_flags()} and len(output_flags()) >= 11
    assert {("predict",), ("caption", "predict"), ("visualize",)} <= set(image_readers())


# --- 1. outputs checked before the work, written whole ---------------------------------------


@pytest.mark.parametrize(("words", "flag"), output_flags())
def test_an_output_under_a_file_is_refused_before_the_work(words, flag, made, tmp_path, capsys):
    (tmp_path / "file").write_text("a file\n")
    target = str(tmp_path / "file" / "x")
    code, _, err = cli_status(capsys, invocation(words, flag, made, target))
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert flag in err and "is a file, not a folder" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]  # nothing was made


@pytest.mark.parametrize(("words", "flag"), output_flags())
def test_a_command_that_writes_offers_overwrite(words, flag):
    parser = dict(commands())[tuple(words)]
    assert any("--overwrite" in a.option_strings for a in parser._actions), words


FILE_OUTPUTS = [(w, f) for w, f in output_flags() if f in ("-o", "--grid")
                or w == ("caption", "eval")]  # fmt: skip


@pytest.mark.parametrize(("words", "flag"), FILE_OUTPUTS)
def test_an_existing_output_file_is_kept(words, flag, made, tmp_path, capsys):
    argv = invocation(words, flag, made, str(tmp_path / "taken"))
    path = Path(argv[argv.index(flag) + 1])
    path.write_text("earlier\n")
    code, _, err = cli_status(capsys, argv)
    assert code == 2 and "exists" in err and "--overwrite" in err, err
    assert path.read_text() == "earlier\n" and len(list(tmp_path.iterdir())) == 1


def test_check_file_names_each_problem(tmp_path):
    (tmp_path / "file").write_text("")
    (tmp_path / "taken.svg").write_text("")
    (tmp_path / "m.onnx.data").write_text("")
    cases = [
        (tmp_path / "no" / "x.svg", "the folder"),
        (tmp_path / "file" / "x.svg", "is a file, not a folder"),
        (tmp_path, "is a folder"),
        (tmp_path / "taken.svg", "exists"),
        (tmp_path / "x.txt", "ending in .svg"),
    ]
    for path, words in cases:
        with pytest.raises(BadInput, match=words):
            check_file(path, "-o", suffixes=(".svg",) if path.suffix else ())
    with pytest.raises(BadInput, match="m.onnx.data exists"):
        check_file(tmp_path / "m.onnx", "-o", companions=(".data",))
    assert check_file(tmp_path / "taken.svg", "-o", overwrite=True) == tmp_path / "taken.svg"


def test_a_full_disk_is_refused_before_the_work(tmp_path, monkeypatch):
    import shutil

    real = shutil.disk_usage
    monkeypatch.setattr(shutil, "disk_usage", lambda p: real(p)._replace(free=4096))
    with pytest.raises(BadInput, match="only 4 KiB of space left"):
        check_file(tmp_path / "x.json", "--out")
    with pytest.raises(BadInput, match="only 4 KiB of space left"):
        check_folder(tmp_path / "new", "--out")


def test_a_write_that_fails_leaves_the_earlier_file_and_no_scratch(tmp_path, monkeypatch):
    import keyarch.outputs as outputs

    path = tmp_path / "r.json"
    path.write_text("earlier")

    def no_space(descriptor, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(outputs.os, "write", no_space)
    with pytest.raises(CannotWrite, match=r"--out .*r.json: No space left on device"):
        atomic_write(path, b"new", "--out")
    assert path.read_text() == "earlier" and os.listdir(tmp_path) == ["r.json"]


def test_an_interrupted_writer_leaves_nothing(tmp_path):
    with pytest.raises(KeyboardInterrupt), staged_file(tmp_path / "d.svg") as scratch:
        scratch.write_text("half")
        raise KeyboardInterrupt
    assert os.listdir(tmp_path) == []


def test_a_report_folder_is_complete_or_absent(tmp_path):
    out = tmp_path / "new" / "report"
    with pytest.raises(OSError), staged_folder(out) as scratch:
        (scratch / "results.csv").write_text("a,b\n")
        (scratch / "figures").mkdir()
        (scratch / "figures" / "x.png").write_bytes(b"png")
        raise OSError(28, "No space left on device")
    assert not (tmp_path / "new").exists()  # the folders it made went with it
    with staged_folder(out) as scratch:
        (scratch / "report.md").write_text("# r\n")
        (scratch / "figures").mkdir()
        (scratch / "figures" / "x.png").write_bytes(b"png")
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*")) == [
        "figures", "figures/x.png", "report.md"]  # fmt: skip
    with pytest.raises(BadInput, match="already holds"), staged_folder(out) as scratch:
        (scratch / "report.md").write_text("# another\n")
    assert (out / "report.md").read_text() == "# r\n"


def test_an_experiment_report_appears_with_its_figures_or_not_at_all(tmp_path, monkeypatch):
    from keyarch.experiments.report import PENDING, Report, pyplot, save_figure

    plt = pyplot()
    name = save_figure(plt.figure(), tmp_path, "curve.png")
    assert not (tmp_path / name).exists()  # set aside until its report is written
    report = Report("x", "c", "s", "setup", "quick", 1, [{"a": 1}], "r", "reproduced", "why",
                    figures=[name])  # fmt: skip
    import keyarch.outputs as outputs

    real = outputs.os.replace

    def fail_on_report(source, target):
        if str(target).endswith("report.md"):
            raise OSError(28, "No space left on device")
        return real(source, target)

    monkeypatch.setattr(outputs.os, "replace", fail_on_report)
    with pytest.raises(CannotWrite):
        report.write(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [PENDING]  # no CSV without report.md
    monkeypatch.setattr(outputs.os, "replace", real)
    report.write(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curve.png", "report.json",
                                                          "report.md", "results.csv"]  # fmt: skip


def test_visualize_with_a_bad_layer_writes_no_picture(made, tmp_path, capsys):
    image = str(made["images"] / "grey8.png")
    code, _, err = cli_status(capsys, ["visualize", "lenet5_modern", "--image", image, "--out",
                                       str(tmp_path / "vis"), "--layer", "conv99"])  # fmt: skip
    assert code == 2 and "--layer conv99" in err and not (tmp_path / "vis").exists(), err


def test_a_refused_run_leaves_no_run_folder(tmp_path, capsys):
    argv = embedded_train_args(tmp_path, "r", "lenet5_modern", "--batch-size", "100000")
    code, _, err = cli_status(capsys, argv)
    assert code == 2 and "make no batch" in err, err
    assert not (tmp_path / "r").exists()


def test_a_bench_folder_refuses_other_batch_sizes(made, tmp_path, capsys):
    import shutil

    shutil.copytree(made["bench"], tmp_path / "bench")
    before = {p: p.read_bytes() for p in (tmp_path / "bench").rglob("*") if p.is_file()}
    code, _, err = cli_status(capsys, ["bench", "lenet5", "--batch-sizes", "2", "--no-train",
                                       "--no-memory", "--threads", "1", "--out",
                                       str(tmp_path / "bench")])  # fmt: skip
    assert code == 2 and "batch sizes 1 -> 2" in err, err
    assert before == {p: p.read_bytes() for p in (tmp_path / "bench").rglob("*") if p.is_file()}


# --- 3. one safe image decoder ---------------------------------------------------------------


def test_16_bit_and_float_images_are_read_by_their_real_range(made):
    images = made["images"]
    eight = decode_image(images / "grey8.png", "L")
    assert torch.equal(decode_image(images / "grey16.png", "L"), eight)
    assert torch.equal(decode_image(images / "float.tif", "L"), eight)
    with pytest.raises(BadInput, match="values from 0 to 2500.*range 0 to 1"):
        decode_image(images / "float-wide.tif", "L")


@pytest.mark.timeout(20)
def test_the_decoder_refuses_what_is_not_an_image(made, tmp_path):
    os.mkfifo(tmp_path / "fifo.png")
    (tmp_path / "empty.png").write_bytes(b"")
    images = made["images"]
    for path, words in ((images / "bomb.png", "900 M pixels.*decompression bomb"),
                        (tmp_path / "fifo.png", "not a regular file"),
                        (images / "folder.png", "is a folder"),
                        (tmp_path / "empty.png", "is empty"),
                        (images / "text.png", "not a readable image")):  # fmt: skip
        with pytest.raises(BadInput, match=words):
            open_image(path)


def test_a_photo_over_pils_warning_size_decodes_quietly(tmp_path):
    import warnings

    Image.new("1", (10000, 9000)).save(tmp_path / "big.png")  # 90 M pixels: PIL warns
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert open_image(tmp_path / "big.png", "L").size == (10000, 9000)


def reader_argv(words, made, image: str, tmp_path) -> list[str]:
    table = {
        ("predict",): ["predict", image, "--checkpoint", str(made["lenet"])],
        ("caption", "predict"): [
            "caption",
            "predict",
            image,
            "--weights",
            str(made["caption"]),
            "--beam-size",
            "1",
        ],  # fmt: skip
        ("visualize",): [
            "visualize",
            "lenet5_modern",
            "--image",
            image,
            "--out",
            str(tmp_path / "vis"),
        ],  # fmt: skip
    }
    assert tuple(words) in table, f"keyarch {' '.join(words)}: add its invocation to this test"
    return table[tuple(words)]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("words", image_readers())
@pytest.mark.parametrize("kind", ["bomb.png", "fifo.png", "text.png", "folder.png"])
def test_every_image_reader_refuses_a_bad_image_in_one_line(words, kind, made, tmp_path, capsys):
    if kind == "fifo.png":
        os.mkfifo(tmp_path / kind)
        image = str(tmp_path / kind)
    else:
        image = str(made["images"] / kind)
    code, out, err = cli_status(capsys, reader_argv(words, made, image, tmp_path))
    assert code == 2 and len(err.strip().splitlines()) == 1 and kind in err, err
    assert not (tmp_path / "vis").exists()


@pytest.mark.parametrize("words", image_readers())
def test_every_image_reader_takes_a_16_bit_png(words, made, tmp_path, capsys):
    image = str(made["images"] / "grey16.png")
    code, out, err = cli_status(capsys, reader_argv(words, made, image, tmp_path))
    assert code == 0 and "Warning" not in err, err


def test_a_training_folder_names_its_bad_image(made, tmp_path, capsys):
    import shutil

    for split in ("train", "test"):
        for label in ("a", "b"):
            (tmp_path / "data" / split / label).mkdir(parents=True)
            for i in range(2):
                shutil.copy(made["images"] / "grey8.png", tmp_path / "data" / split / label /
                            f"{i}.png")  # fmt: skip
    shutil.copy(made["images"] / "bomb.png", tmp_path / "data" / "train" / "a" / "bad.png")
    code, _, err = cli_status(capsys, ["train", "lenet5_modern", "--dataset", "folder",
                                       "--data-dir", str(tmp_path / "data"), "--image-size",
                                       "32", "--epochs", "1", "--no-progress", "--threads", "1",
                                       "--out", str(tmp_path / "runs")])  # fmt: skip
    assert code == 2 and "bad.png" in err and "decompression bomb" in err, err


# --- 4. arguments checked against what they configure ----------------------------------------


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["export", "resnet18", "-o", "{tmp}/m.onnx", "--input-size", "1,224,224"],
         "--input-size 1,224,224: resnet18 takes 3-channel images"),
        (["export", "lenet5", "-o", "{tmp}/m.onnx", "--input-size", "1,8,8"],
         "--input-size 1,8,8: lenet5 cannot take"),
        (["draw", "resnet18", "-o", "{tmp}/m.svg", "--input-size", "3,100000,100000"],
         None),  # drawing allocates nothing: any size a network takes is drawn
        (["train", "lenet5", "--image-size", "7", "--out", "{tmp}"],
         "--image-size 7: lenet5 cannot take"),
        (["train", "resnet20", "--image-size", "20000", "--out", "{tmp}"],
         "GiB of activations"),
        (["train", "lenet5", "--threads", "1000", "--out", "{tmp}"], "--threads 1000"),
        (["bench", "lenet5", "--threads", "1000", "--out", "{tmp}/b"], "--threads 1000"),
        (["bench", "resnet18", "--batch-sizes", "100000000", "--out", "{tmp}/b"],
         "--batch-sizes 100000000: a batch of 100000000"),
        (["bench", "lenet5", "--warmup", "-1", "--out", "{tmp}/b"], "--warmup"),
        (["caption", "train", "--encoder", "resnet20", "--image-size", "100000", "--out",
          "{tmp}"], "--image-size 100000"),
        (["caption", "train", "--encoder", "resnet20", "--max-length", "1000000", "--out",
          "{tmp}"], "--max-length 1000000"),
    ],
)  # fmt: skip
def test_arguments_are_checked_before_the_work(argv, words, tmp_path, capsys):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    code, _, err = cli_status(capsys, argv)
    if words is None:
        assert code == 0, err
        return
    assert code == 2 and words in err and len(err.strip().splitlines()) == 1, err
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def test_a_beam_wider_than_the_vocabulary_is_refused_first(made, tmp_path, capsys):
    image = str(made["images"] / "grey8.png")
    for argv in (["caption", "predict", image, "--weights", str(made["caption"]), "--beam-size",
                  "100000"],
                 ["caption", "eval", "--weights", str(made["caption"]), "--beam-size", "100000",
                  "--out", str(tmp_path / "e.json")]):  # fmt: skip
        code, _, err = cli_status(capsys, argv)
        assert code == 2 and "--beam-size 100000: wider than the vocabulary" in err, err
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(("flag", "value", "words"), [
    ("--beam-size", "100000", "--beam-size 100000: wider than the vocabulary"),
    ("--min-count", "100000", "--min-count 100000: no word"),
])  # fmt: skip
def test_caption_train_refuses_its_vocabulary_before_training(flag, value, words, tmp_path,
                                                              capsys):  # fmt: skip
    code, out, err = cli_status(capsys, ["caption", "train", "--encoder", "resnet20",
                                         "--image-size", "32", "--epochs", "1", "--train-limit",
                                         "32", "--test-limit", "8", "--no-progress", "--out",
                                         str(tmp_path), "--batch-size", "16", flag,
                                         value])  # fmt: skip
    assert code == 2 and words in err and "epoch 1" not in out, err
    assert list(tmp_path.iterdir()) == []


def test_predict_top_k_beyond_the_classes_is_refused(made, capsys):
    image = str(made["images"] / "grey8.png")
    code, _, err = cli_status(capsys, ["predict", image, "--checkpoint", str(made["lenet"]),
                                       "--top-k", "11"])  # fmt: skip
    assert code == 2 and "--top-k 11: lenet5_modern was trained on 10 classes" in err, err


# --- 5. fallbacks are said ----------------------------------------------------------------------


def test_an_experiment_data_dir_that_is_not_there_is_refused(tmp_path, capsys):
    (tmp_path / "file").write_text("")
    for where, words in ((tmp_path / "none", "no such folder"), (tmp_path / "file", "is a file")):
        code, _, err = cli_status(capsys, ["experiment", "lenet5-mnist", "--data-dir", str(where),
                                           "--out", str(tmp_path / "exp")])  # fmt: skip
        assert code == 2 and f"--data-dir {where}" in err and words in err, err
    code, _, err = cli_status(capsys, ["experiment", "lstm-vs-rnn", "--data-dir", str(tmp_path),
                                       "--out", str(tmp_path / "exp")])  # fmt: skip
    assert code == 2 and "generates its data" in err, err
    assert not (tmp_path / "exp").exists()


def test_keyarch_data_pointing_to_a_file_is_refused(tmp_path, capsys, monkeypatch):
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("KEYARCH_DATA", str(tmp_path / "file"))
    code, _, err = cli_status(capsys, embedded_train_args(tmp_path, "r"))
    assert code == 2 and "$KEYARCH_DATA" in err and "is a file" in err, err


# --- 6. messages name the real problem ------------------------------------------------------


@pytest.mark.timeout(30)
def test_weights_that_are_not_a_file_say_what_they_are(made, tmp_path, capsys):
    os.mkfifo(tmp_path / "w.safetensors")
    (tmp_path / "run").mkdir()
    image = str(made["images"] / "grey8.png")
    for weights, words in ((tmp_path / "run", "is a folder"),
                           (tmp_path / "w.safetensors", "not a regular file")):  # fmt: skip
        code, _, err = cli_status(capsys, ["predict", image, "--checkpoint", str(weights)])
        assert code == 2 and words in err, err


def test_sequence_models_are_named_as_such(tmp_path, capsys):
    code, _, err = cli_status(capsys, ["train", "rnn", "--dataset", "mnist", "--out",
                                       str(tmp_path)])  # fmt: skip
    assert code == 2 and "rnn is a sequence-classification model" in err, err
    assert "in_chans" not in err
    code, _, err = cli_status(capsys, ["visualize", "lstm", "--image", "x.png"])
    assert code == 2 and "sequence-classification" in err, err


def test_weights_of_another_model_are_named(made, tmp_path, capsys):
    image = str(made["images"] / "grey8.png")
    out = str(tmp_path / "v")
    code, _, err = cli_status(capsys, ["visualize", "alexnet", "--image", image, "--out", out,
                                       "--weights", str(made["lenet"])])  # fmt: skip
    assert code == 2 and "holds the weights of lenet5_modern, not alexnet" in err, err
    code, _, err = cli_status(capsys, ["visualize", "resnet20", "--image", image, "--out", out,
                                       "--weights", str(made["caption"])])  # fmt: skip
    assert code == 2 and "captioning model" in err, err


def test_help_points_only_to_commands_that_exist(capsys):
    code, out, _ = cli_status(capsys, ["list", "--pretrained"])
    assert code == 0 and "efficientnet_lite0" in out and "lenet5 " not in out


def test_a_failed_replacement_puts_every_earlier_file_back(tmp_path, monkeypatch):
    import keyarch.outputs as outputs

    (tmp_path / "a.csv").write_text("earlier a")
    (tmp_path / "report.md").write_text("earlier report")
    real = outputs.os.replace

    def fail_on_report(source, target):
        landing = ".partial-" in str(source) and ".earlier" not in str(source)
        if landing and str(target).endswith("report.md"):  # the new report fails to land
            raise OSError(28, "No space left on device")
        return real(source, target)

    monkeypatch.setattr(outputs.os, "replace", fail_on_report)
    with pytest.raises(CannotWrite), staged_folder(tmp_path, overwrite=True) as scratch:
        (scratch / "a.csv").write_text("new a")
        (scratch / "report.md").write_text("new report")
    assert (tmp_path / "a.csv").read_text() == "earlier a"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "report.md"]


def test_a_missing_extra_is_named_in_one_line(monkeypatch, tmp_path, capsys):
    import keyarch.extras as extras

    real = extras.importlib.util.find_spec
    missing = {"onnxscript", "timm"}

    def find_spec(name, *rest):
        return None if name in missing else real(name, *rest)

    monkeypatch.setattr(extras.importlib.util, "find_spec", find_spec)
    for argv, extra in ((["export", "lenet5", "-o", str(tmp_path / "m.onnx")], "onnx"),
                        (["bench", "resnet18", "--against", "timm"], "timm")):  # fmt: skip
        code, _, err = cli_status(capsys, argv)
        assert code == 2 and f"pip install 'keyarch[{extra}]'" in err, err
        assert len(err.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir())
