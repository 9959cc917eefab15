"""MobileViT: Table 4's networks, the reference counts, the MobileViT block's unfold and
fold, keyarch's attention, and timm's converted weights."""

import pytest
import timm
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

import keyarch
from conftest import converted_logit_difference
from keyarch.analysis import count_macs, count_parameters
from keyarch.layers import InvertedResidual, MultiHeadSelfAttention, TransformerEncoderLayer
from keyarch.models.mobilevit import MobileViTBlock, fold, unfold

# Reference README: timm's counts at 256x256 (attention matrix products counted).
REFERENCE = {
    "mobilevit_xxs": (1_272_024, 0.407),
    "mobilevit_xs": (2_317_848, 1.026),
    "mobilevit_s": (5_578_632, 2.001),
}
# Table 4: output channels of layer1 .. layer5 and the MobileViT blocks' (d, L).
TABLE_4 = {
    "mobilevit_xxs": ((16, 24, 48, 64, 80), ((64, 2), (80, 4), (96, 3)), 320),
    "mobilevit_xs": ((32, 48, 64, 80, 96), ((96, 2), (120, 4), (144, 3)), 384),
    "mobilevit_s": ((32, 64, 96, 128, 160), ((144, 2), (192, 4), (240, 3)), 640),
}


def _meta(name, **options):
    with torch.device("meta"):
        return keyarch.create_model(name, **options)


@pytest.mark.parametrize("name", REFERENCE)
def test_parameter_counts_are_exactly_timms(name):
    assert count_parameters(_meta(name)) == REFERENCE[name][0]


@pytest.mark.parametrize("name", REFERENCE)
def test_macs_match_the_reference_with_attention_counted(name):
    assert count_macs(_meta(name), (3, 256, 256)) / 1e9 == pytest.approx(
        REFERENCE[name][1], abs=5e-4
    )


@pytest.mark.parametrize("name", REFERENCE)
def test_stages_have_table_4_channels_sizes_and_transformers(name):
    channels, transformers, final = TABLE_4[name]
    model = _meta(name).eval()
    x = model.stem(torch.empty(1, 3, 256, 256, device="meta"))
    assert x.shape == (1, 16, 128, 128)
    for number, (width, size) in enumerate(
        zip(channels, (128, 64, 32, 16, 8), strict=True), start=1
    ):
        x = getattr(model, f"layer{number}")(x)
        assert x.shape == (1, width, size, size)
    assert model.final_conv(x).shape == (1, final, 8, 8)
    blocks = [m for m in model.modules() if isinstance(m, MobileViTBlock)]
    assert [(b.norm.normalized_shape[0], len(b.transformer)) for b in blocks] == list(transformers)
    expansion = 2 if name == "mobilevit_xxs" else 4
    for block in (m for m in model.modules() if isinstance(m, InvertedResidual)):
        conv = block.expansion.conv
        assert conv.out_channels == expansion * conv.in_channels


def test_unfold_groups_the_same_pixel_of_every_2x2_patch_and_fold_inverts_it():
    x = torch.randn(2, 5, 6, 8)  # N x d x H x W: 3 x 4 patches of 2 x 2
    tokens = unfold(x, 2)
    assert tokens.shape == (2 * 4, 3 * 4, 5)
    # Sequence (n, i, j) holds pixel (i, j) of each patch, patch after patch, row by row.
    torch.testing.assert_close(tokens[1 * 4 + 1 * 2 + 0], x[1, :, 1::2, 0::2].flatten(1).T)
    torch.testing.assert_close(fold(tokens, 2, 6), x, rtol=0, atol=0)


def test_odd_feature_maps_are_resized_to_whole_patches_and_back():
    block = MobileViTBlock(8, 16, 1).eval()  # as at stride 32 of a 224 x 160 input
    with torch.no_grad():
        assert block(torch.randn(1, 8, 7, 5)).shape == (1, 8, 7, 5)
    model = _meta("mobilevit_xxs").eval()  # so any input size is accepted
    assert model(torch.empty(1, 3, 33, 47, device="meta")).shape == (1, 1000)


def test_attention_is_softmax_qk_v_fused_and_written_out_when_counted():
    torch.manual_seed(0)
    attention = MultiHeadSelfAttention(16, 4).eval()
    x = torch.randn(3, 10, 16)
    with torch.no_grad():
        q, k, v = attention.qkv(x).unflatten(-1, (3, 4, 4)).permute(2, 0, 3, 1, 4)
        weights = (q @ k.transpose(-2, -1) / 2.0).softmax(-1)  # sqrt(d_head) = 2
        expected = attention.projection((weights @ v).transpose(1, 2).flatten(2))
        torch.testing.assert_close(attention(x), expected)  # fused kernel
        projections = 3 * 10 * (16 * 48 + 16 * 16)  # qkv and W^O per token
        products = 2 * 3 * 4 * 10 * 10 * 4  # QK^T and AV, per head
        traced = torch.fx.symbolic_trace(attention)  # as keyarch.fuse traces it
        for module in (attention, traced):
            counter = FlopCounterMode(display=False)
            with counter:
                counted = module(x)  # written out: the counter sees both products
            torch.testing.assert_close(counted, expected)
            assert counter.get_total_flops() == 2 * (projections + products)


def test_attention_dropout_acts_in_training_only():
    torch.manual_seed(0)
    attention = MultiHeadSelfAttention(16, 4, attention_dropout=0.5)
    x = torch.randn(2, 10, 16)
    with torch.no_grad():
        assert not torch.allclose(attention(x), attention(x))  # a fresh mask each call
        attention.eval()
        torch.testing.assert_close(attention(x), attention(x))


def test_encoder_layer_is_pre_norm_with_residuals():
    torch.manual_seed(0)
    layer = TransformerEncoderLayer(16, 4, 32, activation=torch.nn.SiLU).eval()
    x = torch.randn(2, 7, 16)
    with torch.no_grad():
        middle = x + layer.attention(layer.norm1(x))
        expected = middle + layer.mlp.fc2(F.silu(layer.mlp.fc1(layer.norm2(middle))))
        torch.testing.assert_close(layer(x), expected)


def test_attention_rejects_heads_that_do_not_divide_the_width():
    with pytest.raises(ValueError, match="dim \\(10\\) must be divisible by num_heads \\(4\\)"):
        MultiHeadSelfAttention(10, 4)


# The default suite checks small inputs (at 96 the stride-32 map is 3 x 3: resized to
# whole patches); the slow one every variant at 256, and at 224 (odd maps again).
@pytest.mark.parametrize(
    ("name", "size"), [("mobilevit_xxs", 96), ("mobilevit_xs", 64), ("mobilevit_s", 64)]
)
def test_converted_timm_weights_give_the_same_logits(name, size):
    torch.manual_seed(0)
    reference = timm.create_model(name, pretrained=False)
    assert converted_logit_difference(reference, name, "timm", size) <= 1e-4


@pytest.mark.slow
@pytest.mark.parametrize("size", [256, 224])
@pytest.mark.parametrize("name", REFERENCE)
def test_converted_timm_weights_give_the_same_logits_at_full_size(name, size):
    torch.manual_seed(0)
    reference = timm.create_model(name, pretrained=False)
    assert converted_logit_difference(reference, name, "timm", size) <= 1e-4


def test_card_names_the_family_and_the_papers_accuracies():
    tops = {}
    for name in REFERENCE:
        card = keyarch.model_card(name)
        assert card.family == "MobileViT"
        assert card.input_size == (3, 256, 256)
        assert any("Transformers as convolutions" in idea for idea in card.main_ideas)
        tops[name] = card.imagenet_top1
    assert tops == {"mobilevit_xxs": 69.0, "mobilevit_xs": 74.8, "mobilevit_s": 78.4}
