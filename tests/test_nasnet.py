"""NASNet-A: Figure 4's cells as data, the "N @ F" networks' counts, timm's nasnetalarge."""

import pytest
import timm
import torch

import keyarch
from conftest import randomise_batch_norm
from keyarch.analysis import count_macs, count_parameters
from keyarch.compat import convert_state_dict
from keyarch.models.nasnet import (
    LARGE,
    NORMAL_CELL,
    REDUCTION_CELL,
    Cell,
    FactorizedReduction,
    NASNetA,
    NASNetConfig,
    pad_same,
)


def _meta(name):
    with torch.device("meta"):
        return keyarch.create_model(name)


def test_nasnet_a_mobile_has_5_289_978_parameters_as_the_tf_slim_network():
    assert count_parameters(_meta("nasnet_a_mobile")) == 5_289_978


def test_nasnet_a_large_has_88_753_150_parameters_as_timm_nasnetalarge():
    assert count_parameters(_meta("nasnet_a_large")) == 88_753_150


def test_parameters_and_batch_norm_statistics_add_up_to_keras_counts():
    # Keras's NASNetMobile and NASNetLarge (ports of the same TF-slim models) count the
    # running means and variances too: an independent check of Mobile's wiring.
    for name, keras in (("nasnet_a_mobile", 5_326_716), ("nasnet_a_large", 88_949_818)):
        model = _meta(name)
        statistics = sum(b.numel() for key, b in model.named_buffers() if "running_" in key)
        assert count_parameters(model) + statistics == keras


def test_macs_match_the_reference_and_the_papers_mult_adds():
    mobile = count_macs(_meta("nasnet_a_mobile"), (3, 224, 224)) / 1e6
    large = count_macs(_meta("nasnet_a_large"), (3, 331, 331)) / 1e9
    assert mobile == pytest.approx(568, rel=0.01)  # the reference table
    assert mobile == pytest.approx(564, rel=0.002)  # Table 3: 564 M mult-adds
    assert large == pytest.approx(23.783, rel=0.001)  # timm; Table 2: 23.8 B


def test_every_cell_is_the_one_generic_cell_reading_figure_4():
    for name, stacks, normal in (("nasnet_a_mobile", 4, 12), ("nasnet_a_large", 6, 18)):
        cells = _meta(name).cells
        assert all(isinstance(cell, Cell) for cell in cells.values())
        specs = [cell.spec for cell in cells.values()]
        assert specs.count(NORMAL_CELL) == normal == 3 * stacks
        assert specs.count(REDUCTION_CELL) == 4  # two in the stem, two between stacks
        assert list(cells)[:3] == ["cell_stem_0", "cell_stem_1", "cell_0"]
    for spec in (NORMAL_CELL, REDUCTION_CELL):
        assert len(spec.blocks) == 5 and {b.combine for b in spec.blocks} == {"add"}


def test_normal_cells_give_6_and_reduction_cells_4_times_their_filters():
    model = _meta("nasnet_a_large")
    assert model.cells["cell_0"].out_channels == 6 * 168
    assert model.cells["reduction_cell_0"].out_channels == 4 * 336
    assert model.cells["cell_stem_0"].out_channels == 4 * 42
    assert model.num_features == 4032


def test_feature_maps_have_the_released_models_sizes():
    for name, size, shapes in (
        ("nasnet_a_large", 331, {"cell_stem_0": (168, 83), "cell_stem_1": (336, 42),
                                 "cell_5": (1008, 42), "cell_11": (2016, 21),
                                 "cell_17": (4032, 11)}),
        ("nasnet_a_mobile", 224, {"cell_stem_0": (44, 56), "cell_stem_1": (88, 28),
                                  "cell_3": (264, 28), "cell_7": (528, 14),
                                  "cell_11": (1056, 7)}),
    ):  # fmt: skip
        model = _meta(name).eval()
        seen = {}
        for cell_name in shapes:
            model.cells[cell_name].register_forward_hook(
                lambda module, args, out, cell_name=cell_name, seen=seen: seen.update(
                    {cell_name: (out.shape[1], out.shape[2])}
                )
            )
        model(torch.empty(1, 3, size, size, device="meta"))
        assert seen == shapes


def test_large_takes_the_reduction_cells_h_prev_after_a_reduction_and_mobile_does_not():
    # skip_reduction_layer_input in TF-slim: cell_6(reduction_cell_0, cell_4) in Large.
    assert _meta("nasnet_a_large").h_prev_index["cell_6"] == -3
    assert _meta("nasnet_a_mobile").h_prev_index["cell_4"] == -2
    assert _meta("nasnet_a_large").h_prev_index["cell_7"] == -2


def test_pad_same_puts_the_odd_pixel_at_the_end_like_tensorflow():
    odd, even = torch.ones(1, 1, 5, 5), torch.ones(1, 1, 6, 6)
    assert (pad_same(odd, 3, 2)[0, 0].sum(1) == 0).tolist() == [1, 0, 0, 0, 0, 0, 1]
    assert (pad_same(even, 3, 2)[0, 0].sum(1) == 0).tolist() == [0] * 6 + [1]


def test_factorized_reduction_sees_both_the_even_and_the_odd_pixels():
    reduction = FactorizedReduction(1, 2).eval()
    with torch.no_grad():
        reduction.path1_conv.weight.fill_(1)
        reduction.path2_conv.weight.fill_(1)
    x = torch.arange(1.0, 26.0).reshape(1, 1, 5, 5)
    with torch.no_grad():
        out = reduction(x) * (1 + 1e-3) ** 0.5  # undo the batch norm's eps
    torch.testing.assert_close(out[0, 0], x[0, 0, ::2, ::2])
    odd = torch.zeros(3, 3)
    odd[:2, :2] = x[0, 0, 1::2, 1::2]
    torch.testing.assert_close(out[0, 1], odd)


def test_too_small_input_is_refused_naming_the_model():
    model = keyarch.create_model("nasnet_a_mobile", num_classes=4).eval()
    assert model(torch.randn(1, 3, 3, 3)).shape == (1, 4)
    with pytest.raises(ValueError, match=r"nasnet_a_mobile needs inputs of at least 3x3"):
        model(torch.randn(1, 3, 2, 2))


def test_card_gives_the_papers_single_crop_results_and_the_deviations():
    large, mobile = keyarch.model_card("nasnet_a_large"), keyarch.model_card("nasnet_a_mobile")
    assert (large.metrics[0].top1, large.metrics[0].top5) == (82.7, 96.2)
    assert (mobile.metrics[0].top1, mobile.metrics[0].top5) == (74.0, 91.6)
    assert large.input_size == (3, 331, 331) and mobile.input_size == (3, 224, 224)
    assert any("Proximal Policy Optimisation" in idea for idea in large.main_ideas)
    assert any("Drop path" in deviation for deviation in large.deviations)


def _timm_nasnet_with_variance_kept(**options) -> torch.nn.Module:
    # timm's default initialisation shrinks the signal cell by cell until the logits no
    # longer depend on the image; He initialisation keeps it, so that a misplaced weight
    # shows in the logits.
    torch.manual_seed(0)
    reference = timm.create_model("nasnetalarge", pretrained=False, **options)
    with torch.no_grad():
        for module in reference.modules():
            if isinstance(module, torch.nn.Conv2d):
                torch.nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
    randomise_batch_norm(reference)
    return reference.eval()


def _logit_difference(reference, config: NASNetConfig, size: int) -> float:
    with torch.device("meta"):
        ours = NASNetA(config)
    state = convert_state_dict("nasnet_a_large", reference.state_dict(), "timm")
    ours.load_state_dict(state, strict=True, assign=True)
    x = torch.randn(2, 3, size, size)  # 64 and 97: both odd and even sizes in the cells
    with torch.no_grad():
        expected, got = reference(x), ours.eval()(x)
    assert (expected[0] - expected[1]).abs().max() > 1e-2  # the logits see the image
    return (expected - got).abs().max().item()


def test_narrow_nasnet_a_large_matches_timm_logits():
    # The same network (6 @ 4032's cells and wiring) at 1/21 of the width, so that it runs
    # in a second; the full width is the slow test below.
    reference = _timm_nasnet_with_variance_kept(num_features=192, stem_size=12)
    narrow = NASNetConfig(normal_cells=6, penultimate_filters=192, stem_filters=12,
                          skip_reduction_input=True)  # fmt: skip
    assert _logit_difference(reference, narrow, 64) <= 1e-4


@pytest.mark.slow
def test_converted_timm_nasnetalarge_gives_the_same_logits():
    reference = _timm_nasnet_with_variance_kept()
    assert _logit_difference(reference, LARGE, 97) <= 1e-4


def test_drop_path_is_optional_grows_with_depth_and_is_off_in_evaluation():
    with torch.device("meta"):
        mobile = keyarch.create_model("nasnet_a_mobile", drop_path=0.3)
    assert mobile.cells["cell_11"].block5.drop_path.drop_rate == 0.3  # the last cell's
    torch.manual_seed(0)
    tiny = NASNetConfig(normal_cells=2, penultimate_filters=96, stem_filters=8,
                        skip_reduction_input=False)  # fmt: skip
    model = NASNetA(tiny, num_classes=5, drop_path=0.3)
    rates = [cell.block1.drop_path.drop_rate for cell in model.cells.values()]
    assert rates[0] == pytest.approx(0.3 / 10) and rates[-1] == pytest.approx(0.3)
    assert rates == sorted(rates)
    plain = NASNetA(tiny, num_classes=5)
    plain.load_state_dict(model.state_dict())
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(model.eval()(x), plain.eval()(x))
        assert not torch.allclose(model.train()(x), plain.train()(x))
        traced = torch.fx.symbolic_trace(model)  # the random mask traces too
        assert traced(x).shape == (4, 5)
        model.schedule_drop_path(0.0)  # the start of training: nothing dropped yet
        torch.testing.assert_close(model.train()(x), plain.train()(x))
