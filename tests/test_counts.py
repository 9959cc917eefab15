"""Parameter and operation counts against ../shared/reference/README.md and the papers."""

import pytest
import torch

from keyarch.analysis import count_macs, count_parameters, layer_summary

# name -> (parameters, GMACs at the default input or None), from the reference table
REFERENCE = {
    "lenet5": (60_000, None),
    "alexnet": (61_100_840, 0.714),
    "alexnet_two_tower": (60_965_224, None),
    "vgg11": (132_863_336, 7.609),
    "vgg13": (133_047_848, 11.308),
    "vgg16": (138_357_544, 15.470),
    "vgg19": (143_667_240, 19.632),
    "vgg16_bn": (138_365_992, 15.470),
    # derived in the module docstrings
    "zfnet": (62_357_608, None),
    "lenet5_modern": (61_706, None),
    "alexnet_cifar": (946_906, None),
}


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_parameter_count_matches_the_reference(name, meta_models):
    assert count_parameters(meta_models[name]) == REFERENCE[name][0]


def test_vgg16_has_138_357_544_parameters(meta_models):
    assert count_parameters(meta_models["vgg16"]) == 138_357_544


def test_vgg16_bn_has_138_365_992_parameters(meta_models):
    assert count_parameters(meta_models["vgg16_bn"]) == 138_365_992


def test_lenet5_has_60_000_trainable_parameters_and_fixed_prototypes(meta_models):
    model = meta_models["lenet5"]
    assert count_parameters(model) == 60_000
    assert count_parameters(model, trainable_only=False) == 60_000  # prototypes are buffers
    assert model.output.prototypes.shape == (10, 84)


def test_lenet5_layers_have_the_papers_parameter_counts(meta_models):
    # Section II-B: C1 156, S2 12, C3 1,516, S4 32, C5 48,120, F6 10,164.
    rows = {row.name: row.parameters for row in layer_summary(meta_models["lenet5"], (1, 32, 32))}
    assert [rows[f"features.{n}"] for n in ("C1", "S2", "C3", "S4", "C5")] == [
        156,
        12,
        1_516,
        32,
        48_120,
    ]
    assert rows["F6"] == 10_164


@pytest.mark.parametrize("name", [n for n, (_, g) in sorted(REFERENCE.items()) if g])
def test_macs_within_one_percent_of_the_reference(name, meta_models):
    model = meta_models[name]
    gmacs = count_macs(model, model.card.input_size) / 1e9
    assert gmacs == pytest.approx(REFERENCE[name][1], rel=0.01)


def test_vgg_c_sits_between_b_and_d(meta_models):
    # Table 2 of the paper: B 133 M, C 134 M, D 138 M parameters.
    b, c, d = (count_parameters(meta_models[n]) for n in ("vgg13", "vgg16c", "vgg16"))
    assert b < c < d
    assert round(c / 1e6) == 134


def test_layer_summary_totals_equal_the_model_totals(meta_models):
    model = meta_models["alexnet"]
    rows = layer_summary(model, (3, 224, 224))
    top_level = [r for r in rows if r.depth == 0]
    assert sum(r.parameters for r in top_level) == count_parameters(model)
    assert sum(r.macs for r in top_level) == count_macs(model, (3, 224, 224))
    conv1 = next(r for r in rows if r.name == "features.conv1")
    assert conv1.output_shape == (1, 64, 55, 55)
    assert conv1.macs == 64 * 3 * 11 * 11 * 55 * 55


def test_zfnet_maps_have_the_sizes_of_figure_3(meta_models):
    rows = {r.name: r.output_shape for r in layer_summary(meta_models["zfnet"], (3, 224, 224))}
    sizes = [
        rows[f"features.{n}"][-1] for n in ("conv1", "pool1", "conv2", "pool2", "conv5", "pool5")
    ]
    assert sizes == [110, 55, 26, 13, 13, 6]


# The 32x32 (CIFAR-10) adaptations of the efficiency-frontier experiment: parameters
# derived from the ImageNet network's count (checked above or in the family's tests) and
# the feature map a 32x32 image leaves (what each card's deviation promises).
FC_1000_TO_10 = {channels: channels * 990 + 990 for channels in (320, 1024, 1280)}
CIFAR_ADAPTATIONS = {
    # conv1_1 .. conv5_2 of configuration A 9,220,480; batch norm 2 x 2,752; fc6, fc7
    # 2 x (512 x 512 + 512); fc8 512 x 10 + 10
    "vgg11_cifar": (9_220_480 + 5_504 + 525_312 + 5_130, (512, 1, 1)),
    # torchvision's 6,624,904, the paper's 5x5 kernels where torchvision has 3x3 (16 more
    # weights per reduce x output pair: 23,808 pairs over the nine modules), 10 classes
    "googlenet_cifar": (6_624_904 + 16 * 23_808 - FC_1000_TO_10[1024], (1024, 2, 2)),
    "mobilenet_v1_cifar": (4_231_976 - FC_1000_TO_10[1024], (1024, 2, 2)),
    "mobilenet_v2_cifar": (3_504_872 - FC_1000_TO_10[1280], (1280, 4, 4)),
    "mobilevit_xxs_cifar": (1_272_024 - FC_1000_TO_10[320], (320, 4, 4)),
}


@pytest.mark.parametrize("name", sorted(CIFAR_ADAPTATIONS))
def test_cifar_adaptations_keep_the_papers_layers_and_leave_the_promised_map(name, meta_models):
    parameters, feature_map = CIFAR_ADAPTATIONS[name]
    model = meta_models[name].eval()
    assert count_parameters(model) == parameters
    assert model.card.input_size == (3, 32, 32) and model.num_classes == 10
    features = model.forward_features(torch.zeros(1, 3, 32, 32, device="meta"))
    assert tuple(features.shape[1:]) == feature_map
