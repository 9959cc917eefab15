"""Recipes: schedules, the papers' numbers and what keyarch assumes where a paper is silent."""

import math

import pytest
import torch

from keyarch.train.optimizers import RMSpropTF, renormalise_filters_
from keyarch.train.optimizers import build_optimizer as _optimizer
from keyarch.train.recipes import (
    LENET_MEAN,
    LENET_STD,
    RECIPES,
    default_recipe,
    get_recipe,
    override,
)
from keyarch.train.tasks.classification import create_for_recipe as _create


def test_step_schedule_divides_at_the_milestones():
    recipe = override(get_recipe("alexnet-paper"), schedule="step", milestones=(2, 4))
    rates = [recipe.lr_at(epoch * 10, 10) for epoch in range(6)]
    assert rates == pytest.approx([0.01, 0.01, 0.001, 0.001, 0.0001, 0.0001])


def test_warm_up_then_cosine_to_zero():
    recipe = override(get_recipe("cifar"), epochs=10, warmup_epochs=1, lr=0.1)
    assert recipe.lr_at(0, 100) == pytest.approx(0.001)
    assert recipe.lr_at(99, 100) == pytest.approx(0.1)
    assert recipe.lr_at(100, 100) == pytest.approx(0.1)
    assert recipe.lr_at(550, 100) == pytest.approx(0.05)
    assert recipe.lr_at(999, 100) < 1e-4


def test_default_recipes_follow_family_and_data():
    assert default_recipe("LeNet", "mnist").name == "lenet5-paper"
    assert default_recipe("VGG", "folder").name == "vgg-paper"
    assert default_recipe("VGG", "cifar10-jpeg").name == "cifar"
    assert default_recipe("AlexNet", "folder").tta == "tencrop"
    assert default_recipe("ResNet", "cifar10-jpeg").name == "resnet-cifar-paper"
    assert default_recipe("ResNet", "folder").milestones == (30, 60)
    assert default_recipe("DenseNet", "cifar100").milestones == (150, 225)
    assert {"alexnet-paper", "vgg-paper", "zfnet-paper", "lenet5-paper"} <= set(RECIPES)


def test_overrides_are_checked():
    with pytest.raises(ValueError, match="no field"):
        override(get_recipe("mnist"), learning_rate=1.0)
    with pytest.raises(ValueError, match="unknown recipe 'imagenet'"):
        get_recipe("imagenet")
    assert override(get_recipe("mnist"), lr=None).lr == get_recipe("mnist").lr


def test_recipes_set_the_model_options_their_paper_trains_with():
    xception = _create("xception", get_recipe("xception-paper"), num_classes=10)
    assert xception.dropout.p == 0.5
    inception = _create("inception_v3", get_recipe("inception-v3-paper"), num_classes=10)
    assert inception.AuxLogits is not None
    assert default_recipe("Inception-v4", "folder").model_options == ()
    with pytest.raises(ValueError, match="recipe inception-v3-paper sets model option.*aux_logits"):
        _create("lenet5_modern", get_recipe("inception-v3-paper"))


def test_resnet_imagenet_runs_60e4_iterations_of_256_images():
    recipe = get_recipe("resnet-paper")
    assert recipe.epochs * 1_281_167 / recipe.batch_size == pytest.approx(60e4, rel=0.002)


def test_resnet110_warms_up_at_001_for_400_iterations_on_cifar():
    recipe = default_recipe("ResNet", "cifar10", "resnet110")
    assert default_recipe("ResNet", "cifar10", "resnet20").name == "resnet-cifar-paper"
    rates = [recipe.lr_at(step, 391) for step in (0, 399, 400, 82 * 391)]
    assert rates == pytest.approx([0.01, 0.01, 0.1, 0.01])


def test_rmsprop_tf_takes_one_step_of_tensorflows_formula():
    param = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    param.grad = torch.tensor([0.5, 3.0])
    lr, decay, momentum, eps, wd = 0.045, 0.9, 0.9, 1.0, 0.1
    optimiser = RMSpropTF([param], lr, decay=decay, momentum=momentum, eps=eps, weight_decay=wd)
    optimiser.step()
    for before, grad, after in zip((1.0, -2.0), (0.5, 3.0), param.tolist(), strict=True):
        g = grad + wd * before
        mean_square = decay * 1.0 + (1 - decay) * g * g  # the mean square starts at 1
        assert after == pytest.approx(before - lr * g / math.sqrt(mean_square + eps), rel=1e-6)
    torch_step = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    torch_step.grad = torch.tensor([0.5, 3.0])
    torch.optim.RMSprop([torch_step], lr=lr, alpha=decay, eps=eps, momentum=momentum).step()
    assert not torch.allclose(torch_step, param)  # PyTorch's form: eps outside the root
    assert isinstance(_optimizer(get_recipe("inception-v3-paper"), torch.nn.Linear(2, 2)),
                      RMSpropTF)  # fmt: skip


def test_plateau_divides_after_patience_epochs_without_improvement_at_most_max_drops():
    recipe = override(get_recipe("alexnet-paper"), patience=2, max_drops=2)
    assert recipe.schedule == "plateau"
    assert recipe.plateau_drops([0.1, 0.2, 0.3]) == 0
    assert recipe.plateau_drops([0.1, 0.2, 0.2, 0.15]) == 1  # two epochs without a better one
    assert recipe.plateau_drops([0.1, 0.2, 0.2, 0.15, 0.3, 0.3, 0.3]) == 2
    assert recipe.plateau_drops([0.5] * 20) == 2  # at most max_drops
    assert recipe.lr_at(10, 10, [0.1, 0.2, 0.2, 0.15]) == pytest.approx(0.001)
    assert recipe.lr_at(10, 10, [0.1]) == pytest.approx(0.01)
    for name in ("alexnet-paper", "vgg-paper", "zfnet-paper", "resnet-paper"):
        assert get_recipe(name).schedule == "plateau", name
        assert get_recipe(name).milestones, name  # --schedule step keeps fixed milestones


def test_numbers_the_papers_do_not_give_are_marked_assumed():
    expected = {
        "googlenet-paper": {"weight_decay", "batch_size"},
        "senet-paper": {"weight_decay"},
        "xception-paper": {"batch_size", "epochs"},
        "bn-inception-paper": {"weight_decay"},
    }
    for name, fields_ in expected.items():
        assert fields_ <= set(get_recipe(name).assumed), name
    lines = get_recipe("googlenet-paper").describe()
    assert "weight_decay: 0.0002 (assumed: not in the paper)" in lines
    assert "momentum: 0.9" in lines
    with pytest.raises(ValueError, match="assumed names no recipe field"):
        override(get_recipe("mnist"), assumed=("learning_rate",))


def test_weight_decay_of_biases_and_norm_scales_is_a_recipe_field():
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2))
    kept = _optimizer(override(get_recipe("cifar"), decay_bias_and_norm=False), model)
    assert [len(g["params"]) for g in kept.param_groups] == [1, 3]
    decayed = _optimizer(override(get_recipe("cifar"), decay_bias_and_norm=True), model)
    assert [len(g["params"]) for g in decayed.param_groups] == [4, 0]


def test_lenet5_paper_scales_the_background_to_minus_01_and_the_ink_to_1175():
    assert get_recipe("lenet5-paper").normalisation == "dataset"  # measured better here
    assert (0 - LENET_MEAN) / LENET_STD == pytest.approx(-0.1)
    assert (1 - LENET_MEAN) / LENET_STD == pytest.approx(1.175)


def test_zfnet_renormalises_filters_whose_rms_exceeds_the_radius():
    assert get_recipe("zfnet-paper").renorm_radius == 0.1
    conv = torch.nn.Conv2d(2, 3, 3)
    with torch.no_grad():
        conv.weight.copy_(torch.stack([torch.full((2, 3, 3), v) for v in (0.05, 0.3, -1.0)]))
    renormalise_filters_(conv, 0.1)
    rms = conv.weight.square().mean(dim=(1, 2, 3)).sqrt()
    assert rms.tolist() == pytest.approx([0.05, 0.1, 0.1])
    assert conv.weight[2].max().item() == pytest.approx(-0.1)  # scaled, not clipped


def test_every_family_with_a_paper_recipe_gets_it_on_image_folders():
    import keyarch

    families = {
        keyarch.model_card(name).family for name in keyarch.list_models(task="image-classification")
    }
    for family in families - {"LeNet"}:
        recipe = default_recipe(family, "folder")
        assert recipe.name.endswith("-paper"), (family, recipe.name)


def test_efficient_networks_recipes_follow_their_papers():
    v2 = default_recipe("MobileNetV2", "folder")
    assert (v2.optimizer, v2.lr, v2.gamma, v2.schedule, v2.weight_decay) == (
        "rmsprop", 0.045, 0.98, "exponential", 4e-5)  # fmt: skip
    assert v2.lr_at(10 * 100, 100) == pytest.approx(0.045 * 0.98**10)
    vit = default_recipe("MobileViT", "folder")
    assert (vit.optimizer, vit.lr, vit.weight_decay, vit.label_smoothing) == (
        "adamw", 0.002, 0.01, 0.1)  # fmt: skip
    efficient = default_recipe("EfficientNet", "folder")
    assert efficient.lr_at(24 * 10, 10) == pytest.approx(0.256 * 0.97**10)
    assert efficient.rmsprop_eps == 1e-3
    assert _optimizer(efficient, torch.nn.Linear(2, 2)).defaults["eps"] == 1e-3


def test_short_names_build_the_default_width():
    import keyarch

    assert keyarch.create_model("mobilenet_v2", num_classes=0).model_name == "mobilenet_v2_100"
    assert keyarch.model_card("mobilenet_v1").name == "mobilenet_v1_100"
    assert "mobilenet_v2" not in keyarch.list_models()  # listed once, under its full name
