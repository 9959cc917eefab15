"""The `keyarch` command: what it prints, and one line with status 2 on bad input."""

import subprocess
import sys

import pytest

import keyarch
from keyarch.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_shows_every_model_with_counts(capsys):
    code, out, _ = run(capsys, "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == [
        "name",
        "family",
        "year",
        "params",
        "GMACs",
        "input",
        "ImageNet",
        "top-1",
        "task",
    ]
    vgg16 = next(line for line in lines if line.startswith("vgg16 "))
    assert vgg16.split() == ["vgg16", "VGG", "2014", "138,357,544", "15.470", "3x224x224", "71.592",
                             "image-classification"]  # fmt: skip
    assert len(lines) == 1 + len(keyarch.list_models())  # every task's models
    assert any(line.split()[:4] == ["lenet5", "LeNet", "1998", "60,000"] for line in lines)


def test_list_takes_a_wildcard(capsys):
    code, out, _ = run(capsys, "list", "vgg19*")
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()[1:]] == ["vgg19", "vgg19_bn"]


def test_info_prints_the_card_and_the_layers(capsys):
    code, out, _ = run(capsys, "info", "lenet5")
    assert code == 0
    assert "Gradient-Based Learning Applied to Document Recognition" in out
    assert "Main ideas:" in out and "Deviations from the paper:" in out
    assert "C3 (PartiallyConnectedConv)" in out
    assert "Trainable parameters: 60,000" in out


def test_info_with_another_input_size(capsys):
    code, out, _ = run(capsys, "info", "vgg11", "--input-size", "3,32,32")
    assert code == 0
    assert "pool5 (MaxPool2d)" in out and "[1, 512, 1, 1]" in out


def exit_status(capsys, argv):
    """main()'s status, whether it returns it or argparse exits with it; and stderr."""
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code
    return code, capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["info", "vgg17"], "unknown model 'vgg17'; did you mean"),
        (["info", "alexnet", "--input-size", "1,28,28"], "alexnet expects 3 input channel"),
        (["info", "lenet5", "--input-size", "3,32,32"], "lenet5 expects 1 input channel"),
        (["info", "vgg16", "--input-size", "three"], "expected C,H,W"),
        (["list", "resnext*"], "no model matches"),
        (["frobnicate"], "invalid choice"),
        (["visualize", "zfnet", "--image", "/nonexistent.png"], "image file not found"),
    ],
)
def test_bad_input_gives_one_line_and_status_2(capsys, argv, message):
    code, err = exit_status(capsys, argv)
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_console_script_exits_2_with_one_line():
    result = subprocess.run(
        [sys.executable, "-m", "keyarch", "info", "alexnett"], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert result.stderr.startswith(
        "keyarch: error: unknown model 'alexnett'; did you mean alexnet"
    )
    assert len(result.stderr.splitlines()) == 1
    assert result.stdout == ""


@pytest.fixture
def digit_png(tmp_path):
    from PIL import Image

    path = tmp_path / "digit.png"
    pixels = bytes(255 if 10 <= x <= 13 else 0 for _ in range(28) for x in range(28))
    Image.frombytes("L", (28, 28), pixels).save(path)
    return path


def test_visualize_with_trained_weights_writes_pngs(capsys, tmp_path, digit_png):
    from safetensors.torch import save_file

    import keyarch

    weights = tmp_path / "lenet.safetensors"
    save_file(keyarch.create_model("lenet5_modern").state_dict(), str(weights))
    code, out, err = run(
        capsys,
        "visualize",
        "lenet5_modern",
        "--image",
        str(digit_png),
        "--weights",
        str(weights),
        "--top",
        "4",
        "--out",
        str(tmp_path / "pictures"),
    )
    assert code == 0, err
    written = [line for line in out.splitlines() if line.endswith(".png")]
    assert len(written) == 4 and all((tmp_path / "pictures").joinpath(p).exists() for p in written)


def test_visualize_reports_corrupt_and_mismatched_weights(capsys, tmp_path, digit_png):
    from safetensors.torch import save_file

    import keyarch

    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{not json")
    code, err = exit_status(
        capsys, ["visualize", "lenet5_modern", "--image", str(digit_png), "--weights", str(corrupt)]
    )
    assert code == 2 and "is corrupt or not a keyarch safetensors file" in err
    assert len(err.strip().splitlines()) == 1

    other = tmp_path / "other.safetensors"
    save_file(keyarch.create_model("lenet5").state_dict(), str(other))
    code, err = exit_status(
        capsys, ["visualize", "lenet5_modern", "--image", str(digit_png), "--weights", str(other)]
    )
    assert code == 2 and "does not hold weights of this model" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "lenet5", "--epochs", "-1"], "argument --epochs: expected a whole number"),
        (["train", "lenet5", "--batch-size", "0"], "argument --batch-size: expected a whole"),
        (["train", "lenet5", "--lr", "nan"], "argument --lr: expected a positive number"),
        (["train", "lenet5", "--optimizer", "lbfgs"], "argument --optimizer: invalid choice"),
        (["train", "lenet5", "--threads", "0"], "argument --threads: expected a whole number"),
        (["eval", "--checkpoint", "x", "--dataset", "mnist", "--limit", "0"], "--limit"),
        (["train", "lenet5", "--resume", "--overwrite"], "--resume continues a run and"),
        (["train", "lenet5", "--device", "cuda:7"], "--device"),
    ],
)
def test_numbers_and_choices_are_checked_naming_the_flag(capsys, argv, message, tmp_path):
    code, err = exit_status(capsys, [*argv, "--out", str(tmp_path)] if argv[0] == "train" else argv)
    assert code == 2 and message in err
    assert len(err.strip().splitlines()) == 1


def test_a_recipe_checks_its_numbers_for_library_callers():
    from keyarch.train import get_recipe
    from keyarch.train.recipes import override

    with pytest.raises(ValueError, match="epochs must be a whole number of at least 1"):
        override(get_recipe("mnist"), epochs=-1)
    with pytest.raises(ValueError, match="batch_size must be"):
        override(get_recipe("mnist"), batch_size=0)


def test_an_unexpected_exception_is_reported_as_a_bug_not_as_bad_input(capsys, monkeypatch):
    from keyarch.cli import listing

    def broken(_args):
        raise TypeError("unsupported operand type(s)")

    monkeypatch.setattr(listing, "run", broken)
    code, err = exit_status(capsys, ["list"])
    assert code == 1
    assert err.strip().splitlines()[-1].startswith("keyarch: internal error: this is a bug")
    assert "TypeError: unsupported operand" in err


def test_help_and_version_answer_without_importing_torch():
    probe = (
        "import sys, keyarch.cli as c; c.build_parser().format_help(); "
        "print('torch' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr
    version = subprocess.run(
        [sys.executable, "-m", "keyarch", "--version"], capture_output=True, text=True
    )
    assert version.returncode == 0 and version.stdout.startswith("keyarch 0.")
    helped = subprocess.run(
        [sys.executable, "-m", "keyarch", "train", "--help"], capture_output=True, text=True
    )
    assert "sgd, adam, adamw, rmsprop" in helped.stdout and "crop-flip" in helped.stdout
    assert "lenet5-paper" in helped.stdout and "cosine" in helped.stdout


def test_predict_refuses_a_colour_image_for_a_grey_model(capsys, tmp_path):
    from PIL import Image
    from safetensors.torch import save_file

    import keyarch

    model = keyarch.create_model("lenet5_modern")
    weights = tmp_path / "model.safetensors"
    metadata = {
        "model": "lenet5_modern",
        "num_classes": 10,
        "in_chans": 1,
        "classes": [str(i) for i in range(10)],
        "dataset": "MNIST",
        "crop": 32,
        "resize": 32,
        "pad": True,
        "mean": [0.13],
        "std": [0.31],
        "tta": "none",
    }
    import json as json_

    save_file(model.state_dict(), str(weights), {"keyarch": json_.dumps(metadata)})
    photo = tmp_path / "photo.png"
    Image.new("RGB", (28, 28), (200, 30, 30)).save(photo)
    code, err = exit_status(capsys, ["predict", "--checkpoint", str(weights), str(photo)])
    assert code == 2 and "is a colour image, but lenet5_modern was trained on one-channel" in err
    grey = tmp_path / "grey.png"
    Image.new("L", (28, 28), 90).save(grey)
    assert exit_status(capsys, ["predict", "--checkpoint", str(weights), str(grey)])[0] == 0


def test_info_says_how_each_published_result_was_measured(capsys):
    code, out, _ = run(capsys, "info", "alexnet_two_tower", "--no-summary")
    assert code == 0
    assert "top-1 62.5 %, top-5 83.0 %; ILSVRC-2010 test, 10 crops; paper" in out
    assert "ILSVRC-2012 val, 10 crops" in out
    code, out, _ = run(capsys, "info", "vgg11_lrn", "--no-summary")
    assert "    - none recorded" in out


def test_list_leaves_out_results_that_are_not_single_crop_validation(capsys):
    code, out, _ = run(capsys, "list", "alexnet*")
    rows = {line.split()[0]: line.split()[-2] for line in out.splitlines()[1:]}
    assert rows == {"alexnet": "56.522", "alexnet_cifar": "-", "alexnet_two_tower": "-"}
