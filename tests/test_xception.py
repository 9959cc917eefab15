"""Xception: Figure 5's flows, the paper's parameter count, timm's legacy weights."""

import pytest
import timm
import torch

import keyarch
from conftest import converted_logit_difference
from keyarch.analysis import count_macs, count_parameters
from keyarch.layers import SeparableConv2d


def _meta():
    with torch.device("meta"):
        return keyarch.create_model("xception")


def test_xception_has_22_855_952_parameters_as_the_paper_says():
    assert count_parameters(_meta()) == 22_855_952


def test_xception_macs_within_one_percent_of_the_reference():
    assert count_macs(_meta(), (3, 299, 299)) / 1e9 == pytest.approx(8.357, rel=0.01)


def test_figure_5_has_36_separable_convolutions_in_14_blocks():
    model = _meta()
    separable = [m for m in model.modules() if isinstance(m, SeparableConv2d)]
    assert len(separable) == 34  # plus the two plain stem convolutions: 36 conv layers
    assert len(model.middle_flow) == 8
    assert len([n for n, _ in model.named_modules() if n.count(".") == 1 and ".block" in n]) == 12


def test_feature_maps_have_figure_5_sizes():
    model = _meta().eval()
    x = torch.empty(1, 3, 299, 299, device="meta")
    entry = model.entry_flow(x)
    assert entry.shape == (1, 728, 19, 19)
    assert model.exit_flow(model.middle_flow(entry)).shape == (1, 2048, 10, 10)


def test_converted_timm_legacy_xception_gives_the_same_logits():
    torch.manual_seed(0)
    reference = timm.create_model("legacy_xception", pretrained=False)
    assert converted_logit_difference(reference, "xception", "timm", 299) <= 1e-4


def test_card_counts_36_convolutional_layers_in_14_modules():
    # Section 3: 36 convolutional layers structured into 14 modules, all with linear residual
    # connections around them except the first and last.
    model = _meta()
    separable = [m for m in model.modules() if isinstance(m, SeparableConv2d)]
    inside = {id(c) for s in separable for c in s.modules()}
    plain = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)
             and id(m) not in inside and m.kernel_size == (3, 3)]  # fmt: skip
    assert len(separable) == 34 and len(plain) == 2  # the 1x1 shortcuts are not counted
    card = keyarch.model_card("xception")
    assert any("36 convolutional layers" in idea and "14 modules" in idea
               for idea in card.main_ideas)  # fmt: skip
