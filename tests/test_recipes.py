import pytest

from keyarch.train.recipes import RECIPES, default_recipe, get_recipe, override


def test_step_schedule_divides_at_the_milestones():
    recipe = override(get_recipe("alexnet-paper"), milestones=(2, 4))
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
