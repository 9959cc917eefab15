"""BN-Inception: Figure 5's modules, batch norm everywhere, the derived count."""

import pytest
import torch

import keyarch
from keyarch.analysis import count_macs, count_parameters
from keyarch.models.bn_inception import FIGURE_5


def _meta():
    with torch.device("meta"):
        return keyarch.create_model("bn_inception")


def test_every_convolution_is_followed_by_batch_norm_and_has_no_bias():
    model = _meta()
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert len(convs) == len(norms) and all(c.bias is None for c in convs)
    assert not any(isinstance(m, (torch.nn.Dropout, torch.nn.LocalResponseNorm))
                   for m in model.modules())  # fmt: skip


def test_five_by_five_is_factorised_into_two_3x3():
    model = _meta()
    kernels = {m.kernel_size for m in model.modules() if isinstance(m, torch.nn.Conv2d)}
    assert (5, 5) not in kernels and kernels == {(7, 7), (1, 1), (3, 3)}


def test_stride_2_modules_halve_the_grid_and_pass_the_input_through():
    model = _meta().eval()
    x = torch.empty(1, 3, 224, 224, device="meta")
    assert model.forward_features(x).shape == (1, 1024, 7, 7)
    widths = [m.out_channels for m in model.inception_modules]
    assert widths == [256, 320, 576, 576, 576, 608, 608, 1056, 1024, 1024]
    assert FIGURE_5["inception3c"].stride == 2 and FIGURE_5["inception4e"].pool_proj == 0


def test_derived_parameter_count_and_macs():
    model = _meta()
    assert count_parameters(model) == 11_285_224
    assert count_macs(model, (3, 224, 224)) / 1e9 == pytest.approx(2.033, rel=0.01)


def test_smallest_input_is_31_pixels():
    model = _meta().eval()
    assert model(torch.empty(1, 3, 31, 31, device="meta")).shape == (1, 1000)
    with pytest.raises(ValueError, match="bn_inception needs inputs of at least 31x31"):
        model(torch.empty(1, 3, 30, 30, device="meta"))


def test_separable_stem_is_the_appendix_depth_multiplier_8_convolution():
    # Appendix: "separable convolution with depth multiplier 8 on the first convolutional
    # layer": a 7x7/2 depthwise convolution giving 8 maps per input channel, then 1x1 to 64.
    with torch.device("meta"):
        model = keyarch.create_model("bn_inception", separable_stem=True)
    separable = model.conv1.conv
    assert separable.depthwise.groups == 3 and separable.depthwise.out_channels == 24
    assert separable.depthwise.kernel_size == (7, 7) and separable.depthwise.stride == (2, 2)
    assert separable.pointwise.out_channels == 64
    assert count_parameters(model) == 11_285_224 - 3 * 64 * 49 + 3 * 8 * 49 + 24 * 64
    assert model.eval()(torch.empty(1, 3, 224, 224, device="meta")).shape == (1, 1000)


def test_card_sets_the_papers_13_6_million_parameters_against_ours():
    card = keyarch.model_card("bn_inception")
    assert "13.6 M" in card.description and "11,285,224" in card.description
    assert any("separable_stem=True" in d for d in card.deviations)
