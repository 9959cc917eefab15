"""The efficient families' recipes and cards, read against their papers (appendices
included): MobileNet, MobileNetV2, NASNet-A, MobileViT, EfficientNet-Lite0."""

from __future__ import annotations

import math

import pytest
import torch

import keyarch
from keyarch.data.batch_augment import _resized_crop_windows
from keyarch.models.base import AuxiliaryOutputs
from keyarch.registry import list_models, model_card
from keyarch.train.optimizers import build_optimizer as _optimizer
from keyarch.train.recipes import default_recipe, get_recipe
from keyarch.train.tasks.classification import create_for_recipe as _create


def _depthwise(model: torch.nn.Module) -> list[torch.nn.Conv2d]:
    return [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)
            and m.groups > 1 and m.groups == m.in_channels]  # fmt: skip


def test_mobilenet_decays_no_depthwise_filter():
    """Section 3.2: "very little or no weight decay ... on the depthwise filters"."""
    recipe = get_recipe("mobilenet-paper")
    assert recipe.depthwise_weight_decay == 0.0 and recipe.weight_decay == 4e-5
    model = keyarch.create_model("mobilenet_v1_025")
    optimizer = _optimizer(recipe, model)
    decay = {id(p): group["weight_decay"] for group in optimizer.param_groups
             for p in group["params"]}  # fmt: skip
    depthwise = _depthwise(model)
    assert len(depthwise) == 13
    assert all(decay[id(conv.weight)] == 0.0 for conv in depthwise)
    pointwise = model.features.separable1.pointwise.conv.weight
    assert decay[id(pointwise)] == 4e-5
    # every other recipe decays them like any weight
    plain = _optimizer(get_recipe("mobilenetv2-paper"), model)
    assert {g["weight_decay"] for g in plain.param_groups} == {4e-5, 0.0}
    assert all(id(conv.weight) in {id(p) for p in plain.param_groups[0]["params"]}
               for conv in depthwise)  # fmt: skip


def test_mobilenet_limits_its_small_crops():
    recipe = get_recipe("mobilenet-paper")
    assert recipe.min_crop_area == 0.25 and "min_crop_area" in recipe.assumed
    assert get_recipe("googlenet-paper").min_crop_area == 0.08
    generator = torch.Generator().manual_seed(0)
    windows = _resized_crop_windows(100, 100, 2000, generator, 0.25)
    areas = windows[:, 2] * windows[:, 3] / 100**2
    assert areas.min() >= 0.25 - 1e-9
    inception = _resized_crop_windows(100, 100, 2000, torch.Generator().manual_seed(0))
    assert (inception[:, 2] * inception[:, 3] / 100**2).min() < 0.12


def test_mobilenet_v1_and_v2_follow_v2s_rate():
    """MobileNetV2, section 6.1: 0.045 decayed by 0.98 per epoch, "following MobileNetV1"."""
    for name in ("mobilenet-paper", "mobilenetv2-paper"):
        recipe = get_recipe(name)
        assert (recipe.lr, recipe.schedule, recipe.gamma) == (0.045, "exponential", 0.98)
        assert recipe.lr_at(10 * 100, 100) == pytest.approx(0.045 * 0.98**10)
    assert "momentum" in get_recipe("mobilenet-paper").assumed
    assert "rmsprop_eps" in get_recipe("mobilenetv2-paper").assumed


def test_nasnet_follows_appendix_a7():
    recipe = get_recipe("nasnet-paper")
    assert recipe.augment == "inception" and recipe.label_smoothing == 0.1
    assert recipe.optimizer == "rmsprop" and recipe.rmsprop_eps == 1.0
    assert recipe.ema_decay == 0.9999
    assert dict(recipe.model_options) == {"aux_logits": True, "dropout": 0.5}
    for field in ("lr", "batch_size", "weight_decay", "clip_grad", "momentum", "gamma"):
        assert field in recipe.assumed
    assert "Appendix A.7" in recipe.source
    model = _create("nasnet_a_mobile", recipe, num_classes=10).train()
    outputs = model(torch.randn(2, 3, 224, 224))
    assert isinstance(outputs, AuxiliaryOutputs) and outputs.aux_weight == 0.4
    assert outputs.aux_logits[0].shape == (2, 10)
    assert model.aux_head.conv[0].kernel_size == (4, 4)  # covers the 4x4 map at 224
    assert model(torch.randn(2, 3, 160, 160)).aux_logits[0].shape == (2, 10)
    assert model.eval()(torch.randn(1, 3, 224, 224)).shape == (1, 10)


def test_nasnet_large_trains_with_its_own_numbers():
    large = default_recipe("NASNet", "imagefolder", "nasnet_a_large")
    mobile = default_recipe("NASNet", "imagefolder", "nasnet_a_mobile")
    assert (large.name, mobile.name) == ("nasnet-large-paper", "nasnet-paper")
    assert (large.lr, large.batch_size, large.weight_decay) == (1.5, 1600, 5e-5)
    assert dict(large.model_options)["drop_path"] == 0.3
    assert (mobile.lr, mobile.weight_decay) == (2.0, 4e-5)
    with torch.device("meta"):
        model = keyarch.create_model("nasnet_a_large", aux_logits=True)
    assert model.aux_head.conv[0].kernel_size == (6, 6)  # 21 -> 6 at 331


def test_the_training_loop_grows_nasnets_drop_path(tmp_path, monkeypatch):
    from keyarch.models.lenet import LeNet5Modern
    from keyarch.models.nasnet import DropPath
    from keyarch.train.engine import train
    from test_training import small_config

    model = keyarch.create_model("nasnet_a_mobile", drop_path=0.3)
    model.schedule_drop_path(0.5)
    rates = [m.progress for m in model.modules() if isinstance(m, DropPath)]
    assert rates and all(r == 0.5 for r in rates)
    seen = []  # the loop calls a model's schedule_drop_path with the fraction done
    monkeypatch.setattr(LeNet5Modern, "schedule_drop_path",
                        lambda self, fraction: seen.append(fraction), raising=False)  # fmt: skip
    train(small_config(tmp_path, "scheduled"))  # 1 epoch of 10 steps
    assert seen == pytest.approx([step / 10 for step in range(10)])


def test_mobilevit_warms_up_for_3000_steps():
    recipe = get_recipe("mobilevit-paper")
    assert recipe.warmup_steps == 3000 and recipe.ema_decay == 0.9995
    steps = 1250  # 1.28 M images / 1024
    assert recipe.lr_at(1499, steps) == pytest.approx(0.001)
    assert recipe.lr_at(2999, steps) == pytest.approx(0.002)
    assert recipe.lr_at(3000, steps) == pytest.approx(0.002)
    assert recipe.lr_at(3000 + (300 * steps - 3000) // 2, steps) == pytest.approx(0.001, 1e-3)
    assert "section 3.2" in recipe.source and "3.3" not in recipe.source
    assert get_recipe("resnet110-cifar-paper").warmup_steps == 400


def test_efficientnet_says_whose_batch_and_how_long():
    recipe = get_recipe("efficientnet-paper")
    assert (recipe.batch_size, recipe.lr) == (4096, 0.256)
    assert "2048 at 0.128" in recipe.source and "minival" in recipe.source
    assert recipe.ema_decay == 0.9999 and "ema_decay" in recipe.assumed


def test_cards_say_what_the_papers_say():
    v2 = " ".join(model_card("mobilenet_v2_100").deviations)
    assert "section 4 uses dropout" in v2 and "no 1x1 expansion" in v2
    nasnet = model_card("nasnet_a_mobile")
    deviations = " ".join(nasnet.deviations)
    assert "applied twice" not in deviations  # Appendix A.4 states it: not a deviation
    assert "A.5 drops each path" in deviations
    assert any("A.4" in idea for idea in nasnet.main_ideas)
    assert "aux_logits=False" in " ".join(model_card("googlenet_cifar").deviations)
    from keyarch.models import mobilevit

    doc = mobilevit.__doc__.replace("\n", " ")
    left_open = doc.split("Details the paper leaves open")[1].split("  ")[0]
    assert "MLP to 2d" in doc and "MLP" not in left_open


TF_INITIALISED = ("MobileNet", "MobileNetV2", "EfficientNet", "NASNet", "Xception")


@pytest.mark.parametrize(
    "name", [n for n in list_models() if model_card(n).family in TF_INITIALISED]
)
def test_depthwise_filters_start_at_tensorflows_fan_out(name):
    """N(0, 2 / (k x k)) for a depthwise k x k filter, as TensorFlow counts its fan-out
    (PyTorch's kaiming_normal_ would give 2 / (C x k x k))."""
    torch.manual_seed(0)
    model = keyarch.create_model(name)
    depthwise = _depthwise(model)
    assert depthwise
    scaled = [conv.weight.flatten() / math.sqrt(2 / (conv.kernel_size[0] * conv.kernel_size[1]
              * (conv.out_channels // conv.groups))) for conv in depthwise]  # fmt: skip
    assert torch.cat(scaled).std().item() == pytest.approx(1.0, rel=0.05)
