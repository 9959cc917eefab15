"""The classifier interface every model shares, and its input checks."""

import pytest
import torch

import keyarch

# name -> smallest height/width it accepts (exact for LeNet-5, whose C5 needs 5x5 maps)
MIN_SIZES = {
    "lenet5": 32,
    "lenet5_modern": 32,
    "alexnet": 63,
    "alexnet_two_tower": 67,
    "zfnet": 47,
    "vgg11": 32,
    "vgg11_lrn": 32,
    "vgg13": 32,
    "vgg16c": 32,
    "vgg16": 32,
    "vgg19": 32,
    "vgg11_bn": 32,
    "vgg13_bn": 32,
    "vgg16c_bn": 32,
    "vgg16_bn": 32,
    "vgg19_bn": 32,
}


@pytest.mark.parametrize("name", sorted(MIN_SIZES))
def test_smallest_input_is_accepted_and_one_pixel_less_is_refused(name, meta_models):
    model = meta_models[name]
    size = MIN_SIZES[name]
    channels = model.card.input_size[0]
    out = model(torch.empty(1, channels, size, size, device="meta"))
    assert out.shape == (1, model.num_classes)
    with pytest.raises(ValueError, match=rf"{name} needs inputs of .*{size}x{size}"):
        model(torch.empty(1, channels, size - 1, size, device="meta"))


@pytest.mark.parametrize("name", sorted(MIN_SIZES))
def test_default_input_gives_one_logit_per_class(name, meta_models):
    model = meta_models[name]
    out = model(torch.empty(2, *model.card.input_size, device="meta"))
    assert out.shape == (2, model.num_classes)


def test_grey_batch_into_alexnet_names_the_model_and_what_it_expects(meta_models):
    with pytest.raises(ValueError, match=r"alexnet expects 3 input channel\(s\).*got 1"):
        meta_models["alexnet"](torch.empty(4, 1, 28, 28, device="meta"))


def test_colour_batch_into_lenet5_is_refused(meta_models):
    with pytest.raises(ValueError, match=r"lenet5 expects 1 input channel\(s\).*got 3"):
        meta_models["lenet5"](torch.empty(4, 3, 32, 32, device="meta"))


def test_lenet5_takes_exactly_32_pixels(meta_models):
    with pytest.raises(ValueError, match="exactly 32x32"):
        meta_models["lenet5"](torch.empty(1, 1, 36, 36, device="meta"))


def test_non_batch_input_is_refused(meta_models):
    with pytest.raises(ValueError, match="4-d batch"):
        meta_models["vgg11"](torch.empty(3, 224, 224, device="meta"))
    with pytest.raises(TypeError, match="torch.Tensor"):
        meta_models["vgg11"]([[0.0]])


@pytest.mark.parametrize("name", ["lenet5", "lenet5_modern", "alexnet", "zfnet", "vgg11_bn"])
def test_forward_is_forward_head_of_forward_features(name):
    torch.manual_seed(0)
    model = keyarch.create_model(name).eval()
    x = (
        torch.randn(2, *model.card.input_size)
        if name.startswith("lenet")
        else torch.randn(2, model.card.input_size[0], 96, 96)
    )
    with torch.no_grad():
        assert torch.equal(model(x), model.forward_head(model.forward_features(x)))


@pytest.mark.parametrize("name", ["lenet5_modern", "alexnet", "zfnet", "vgg16", "googlenet_paper"])
def test_reset_classifier_changes_the_number_of_outputs(name):
    with torch.device("meta"):
        model = keyarch.create_model(name)
        model.reset_classifier(7)
        out = model.eval()(torch.empty(1, *model.card.input_size))
        training = model.train()(torch.empty(2, *model.card.input_size))
    assert out.shape == (1, 7)
    for logits in getattr(training, "aux_logits", ()):  # auxiliary heads follow the reset
        assert logits.shape == (2, 7)


def test_lenet5_rbf_head_cannot_be_reset_or_resized():
    with pytest.raises(ValueError, match="fixed bitmaps of the 10 digits"):
        keyarch.create_model("lenet5").reset_classifier(5)
    with pytest.raises(ValueError, match="num_classes must be 10"):
        keyarch.create_model("lenet5", num_classes=26)
