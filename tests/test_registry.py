import pytest
import torch

import keyarch
from keyarch.registry import IMAGENET_VAL, SINGLE_CROP, Metric, Paper, register_model

ISSUE_2_MODELS = {
    "lenet5",
    "lenet5_modern",
    "alexnet",
    "alexnet_two_tower",
    "zfnet",
    "vgg11",
    "vgg11_lrn",
    "vgg13",
    "vgg16c",
    "vgg16",
    "vgg19",
    "vgg11_bn",
    "vgg13_bn",
    "vgg16c_bn",
    "vgg16_bn",
    "vgg19_bn",
}


def test_every_classic_cnn_is_registered():
    assert ISSUE_2_MODELS <= set(keyarch.list_models())


def test_list_models_filters_with_wildcards_and_sorts():
    assert keyarch.list_models("vgg1?") == ["vgg11", "vgg13", "vgg16", "vgg19"]
    assert keyarch.list_models("lenet*") == ["lenet5", "lenet5_modern"]
    assert keyarch.list_models("nothing*") == []
    everything = keyarch.list_models()
    assert everything == sorted(everything)


def test_unknown_model_name_suggests_close_names():
    with pytest.raises(ValueError, match=r"unknown model 'vgg17'.*did you mean.*vgg1"):
        keyarch.create_model("vgg17")
    with pytest.raises(ValueError, match="did you mean"):
        keyarch.model_card("alexnett")


def test_num_classes_must_be_an_int_of_at_least_zero():
    with pytest.raises(TypeError, match=r"alexnet: num_classes must be an int >= 0.*got 'ten'"):
        keyarch.create_model("alexnet", num_classes="ten")
    with pytest.raises(ValueError, match="num_classes must be an int >= 0.*got -1"):
        keyarch.create_model("lenet5_modern", num_classes=-1)
    with pytest.raises(TypeError, match="in_chans"):
        keyarch.create_model("lenet5_modern", in_chans=True)


def test_unknown_builder_option_names_the_accepted_ones():
    with pytest.raises(TypeError, match=r"vgg16 does not take depth; it accepts: .*dropout"):
        keyarch.create_model("vgg16", depth=3)


def test_overrides_change_the_head_and_the_stem():
    with torch.device("meta"):
        model = keyarch.create_model("vgg11", num_classes=10, in_chans=1)
    assert model.classifier.fc8.out_features == 10
    assert model.features.conv1_1.conv.in_channels == 1
    assert model(torch.empty(2, 1, 32, 32, device="meta")).shape == (2, 10)


def test_registering_a_name_twice_is_rejected():
    keyarch.list_models()  # every family is registered by now
    paper = Paper("t", "a", 2000, "u", ("i",), "m")
    decorate = register_model(
        family="VGG", paper=paper, input_size=(3, 8, 8), description="d", name="vgg16"
    )
    with pytest.raises(ValueError, match="'vgg16' is registered twice"):
        decorate(lambda: None)


@pytest.mark.parametrize("name", sorted(ISSUE_2_MODELS))
def test_every_card_names_its_paper_and_ideas(name):
    card = keyarch.model_card(name)
    assert card.name == name
    assert card.title and card.authors and card.url.startswith("http")
    assert 1990 <= card.year <= 2030
    assert 2 <= len(card.main_ideas) <= 4
    assert card.importance and card.description
    assert len(card.input_size) == 3


def test_created_models_carry_their_card():
    with torch.device("meta"):
        model = keyarch.create_model("zfnet")
    assert model.card is keyarch.model_card("zfnet")
    assert model.card.year == 2013


def _all_metrics():
    return [(name, metric) for name in keyarch.list_models()
            for metric in keyarch.model_card(name).metrics]  # fmt: skip


def test_every_published_metric_says_its_split_crops_and_source():
    for name, metric in _all_metrics():
        assert metric.split and metric.crops and metric.source, name
        assert metric.top1 is not None or metric.top5 is not None, name


def test_single_crop_imagenet_validation_is_spelled_one_way():
    # Otherwise a "single crop" or "ILSVRC 2012 val" figure would silently leave the list.
    for name, metric in _all_metrics():
        if "2012" in metric.split and "val" in metric.split:
            assert metric.split == IMAGENET_VAL, name
        if metric.crops.lower().startswith(("single", "one", "1 ")):
            assert metric.crops == SINGLE_CROP, name


def test_list_column_compares_only_single_crop_imagenet_validation_accuracy():
    for name in keyarch.list_models():
        card = keyarch.model_card(name)
        same_setting = [
            m.top1 for m in card.metrics if (m.split, m.crops) == (IMAGENET_VAL, SINGLE_CROP)
        ]
        assert card.imagenet_top1 == (same_setting[0] if same_setting else None), name
    assert keyarch.model_card("alexnet_two_tower").imagenet_top1 is None  # 10 crops, 2010 test
    assert keyarch.model_card("googlenet_paper").imagenet_top1 is None  # top-5 only
    assert keyarch.model_card("vgg19").imagenet_top1 == 72.376  # not Table 5's dense 75.2


def test_metrics_need_their_split_and_crops():
    with pytest.raises(TypeError, match="split"):
        Metric("ImageNet", 70.0, 90.0, "somewhere")
