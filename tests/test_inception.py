"""Inception-v3: parameter counts, the auxiliary classifier, torchvision's weights."""

import pytest
import torch
import torchvision

import keyarch
from conftest import converted_model
from keyarch.analysis import count_macs, count_parameters
from keyarch.models.base import AuxiliaryOutputs


def _meta(**options):
    with torch.device("meta"):
        return keyarch.create_model("inception_v3", **options)


def test_inception_v3_has_23_834_568_parameters_and_27_161_264_with_aux():
    assert count_parameters(_meta()) == 23_834_568
    assert count_parameters(_meta(aux_logits=True)) == 27_161_264


def test_inception_v3_macs_within_one_percent_of_the_reference():
    assert count_macs(_meta(), (3, 299, 299)) / 1e9 == pytest.approx(5.713, rel=0.01)


def test_grids_are_35_17_and_8_pixels():
    model = _meta().eval()
    x = torch.empty(1, 3, 299, 299, device="meta")
    features = model.forward_features(x)
    assert features.shape == (1, 2048, 8, 8)
    stem = model.maxpool2(
        model.Conv2d_4a_3x3(
            model.Conv2d_3b_1x1(
                model.maxpool1(model.Conv2d_2b_3x3(model.Conv2d_2a_3x3(model.Conv2d_1a_3x3(x))))
            )
        )
    )
    assert (
        stem.shape[-1] == 35
        and model.Mixed_6a(model.Mixed_5d(model.Mixed_5c(model.Mixed_5b(stem)))).shape[-1] == 17
    )


def test_inputs_below_75_pixels_are_refused_with_the_minimum():
    model = _meta().eval()
    assert model(torch.empty(1, 3, 75, 75, device="meta")).shape == (1, 1000)
    with pytest.raises(ValueError, match="inception_v3 needs inputs of at least 75x75"):
        model(torch.empty(1, 3, 74, 80, device="meta"))


def test_auxiliary_classifier_in_training_only():
    model = _meta(aux_logits=True)
    x = torch.empty(2, 3, 299, 299, device="meta")
    outputs = model.train()(x)
    assert isinstance(outputs, AuxiliaryOutputs) and outputs.aux_logits[0].shape == (2, 1000)
    assert model.eval()(x).shape == (2, 1000)


def test_converted_torchvision_inception_v3_gives_the_same_logits():
    torch.manual_seed(0)
    reference = torchvision.models.inception_v3(aux_logits=True, init_weights=True)
    ours = converted_model(reference, "inception_v3", "torchvision", aux_logits=True)
    x = torch.randn(2, 3, 299, 299)
    with torch.no_grad():
        assert (reference.eval()(x) - ours.eval()(x)).abs().max() <= 1e-4
        torch.manual_seed(1)
        theirs = reference.train()(x)
        torch.manual_seed(1)
        mine = ours.train()(x)
    assert (theirs.aux_logits - mine.aux_logits[0]).abs().max() <= 1e-4


def test_recipe_is_rmsprop_with_label_smoothing():
    from keyarch.train.recipes import default_recipe

    recipe = default_recipe("Inception", "folder")
    assert (recipe.optimizer, recipe.lr, recipe.label_smoothing) == ("rmsprop", 0.045, 0.1)
    assert recipe.lr_at(2 * 100, 100) == pytest.approx(0.045 * 0.94)


def test_card_says_the_stem_is_the_released_models_not_table_1s():
    # Table 1 after the first pool: conv 3x3/1 to 80, conv 3x3/2 to 192, conv 3x3/1 to 288;
    # released (and built): 1x1 to 80, 3x3 to 192, then a 3x3/2 max pool.
    model = _meta()
    assert model.Conv2d_3b_1x1.conv.kernel_size == (1, 1)
    assert isinstance(model.maxpool2, torch.nn.MaxPool2d)
    assert model.Mixed_5b.branch1x1.conv.in_channels == 192  # Table 1: 288
    card = keyarch.model_card("inception_v3")
    assert any("stem" in d and "288" in d for d in card.deviations)
    assert "LAYOUT" not in (keyarch.models.inception.__doc__ or "")
