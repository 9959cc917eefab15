"""Every model with published weights: ``create_model(name, pretrained=True)`` builds the
network those weights were trained as, and gives the reference network's outputs (the fetch
faked offline with a random reference's weights; the package's real weights for
EfficientNet-Lite0)."""

from __future__ import annotations

import pytest
import torch
import torchvision

import keyarch
from keyarch import pretrained
from keyarch.analysis.against import randomise_batch_norm
from keyarch.cli import main
from keyarch.compat import convert_state_dict

# Weights shipped in a package have no network of their own: the reference is timm's
# implementation, loaded with the package's weights.
PACKAGE_REFERENCES = {"efficientnet_lite0": "tf_efficientnet_lite0"}


def _reference(record: pretrained.PretrainedWeights) -> torch.nn.Module:
    """The source's own network, random weights and batch-norm statistics, eval mode."""
    torch.manual_seed(0)
    if record.source == "torchvision":
        name = _torchvision_name(record)
        # torchvision's GoogLeNet and Inception-v3: built with their auxiliary heads and
        # their own initialisation, as the weights are (keyarch drops the heads' keys)
        options = {"init_weights": True} if name in ("googlenet", "inception_v3") else {}
        reference = torchvision.models.get_model(name, weights=None, **options)
    else:
        timm = pytest.importorskip("timm")
        reference = timm.create_model(PACKAGE_REFERENCES.get(record.model, record.reference))
    with torch.no_grad():
        randomise_batch_norm(reference)
    return reference.eval()


def _torchvision_name(record: pretrained.PretrainedWeights) -> str:
    from torchvision.models import get_model_weights, list_models

    enum_name = record.reference.partition(".")[0]
    return next(n for n in list_models() if get_model_weights(n).__name__ == enum_name)


@pytest.mark.parametrize("name", pretrained.available())
def test_pretrained_builds_the_network_its_weights_were_trained_as(name, monkeypatch):
    record = pretrained.pretrained_weights(name)
    reference = _reference(record)
    if record.source in ("torchvision", "timm"):
        fetch = f"_{record.source}_state_dict"
        monkeypatch.setattr(pretrained, fetch, lambda _: reference.state_dict())
        ours = keyarch.create_model(name, pretrained=True).eval()
    else:  # the package's real weights, copied into the reference under its own names
        ours = keyarch.create_model(name, pretrained=True).eval()
        theirs = reference.state_dict()
        renamed = convert_state_dict(name, theirs, "timm")
        mine = ours.state_dict()
        reference.load_state_dict(
            {key: mine[new] for key, new in zip(theirs, renamed, strict=True)}, strict=True
        )
    assert ours.pretrained_cfg["builder_options"] == dict(record.builder_options)
    torch.manual_seed(1)
    size = ours.card.input_size[-1]
    x = torch.randn(1, 3, size, size)
    with torch.no_grad():
        expected, got = reference(x), ours(x)
    scale = expected.abs().max().item()
    assert (expected - got).abs().max().item() <= 1e-4 * max(1.0, scale)


def test_mobilenet_v1_weights_build_relu6_and_refuse_relu(monkeypatch):
    """timm trained MobileNet v1 with ReLU6; keyarch's default is the paper's ReLU."""
    record = pretrained.pretrained_weights("mobilenet_v1_100")
    assert record.builder_options == (("activation", "relu6"),)
    reference = _reference(record)
    monkeypatch.setattr(pretrained, "_timm_state_dict", lambda _: reference.state_dict())
    model = keyarch.create_model("mobilenet_v1_100", pretrained=True)
    assert {type(m) for m in model.modules()} >= {torch.nn.ReLU6}
    assert not any(type(m) is torch.nn.ReLU for m in model.modules())
    with pytest.raises(ValueError, match="trained with activation='relu6'; activation='relu'"):
        keyarch.create_model("mobilenet_v1_100", pretrained=True, activation="relu")
    same = keyarch.create_model("mobilenet_v1_100", pretrained=True, activation="relu6")
    assert same.pretrained_cfg["builder_options"] == {"activation": "relu6"}


def test_predict_says_which_options_the_weights_built(monkeypatch, tmp_path, capsys):
    from PIL import Image

    reference = _reference(pretrained.pretrained_weights("mobilenet_v1_100"))
    monkeypatch.setattr(pretrained, "_timm_state_dict", lambda _: reference.state_dict())
    photo = tmp_path / "grey.png"
    Image.new("RGB", (64, 64), (128, 128, 128)).save(photo)
    assert main(["predict", "--model", "mobilenet_v1_100", "--pretrained", str(photo)]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith(str(photo) + ": ")
    assert "built with activation='relu6'" in captured.err and "timm" in captured.err
