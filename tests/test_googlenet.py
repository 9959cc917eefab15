"""GoogLeNet: Table 1, the auxiliary classifiers, torchvision's weights."""

import pytest
import torch
import torchvision

import keyarch
from conftest import converted_model
from keyarch.analysis import count_macs, count_parameters
from keyarch.models.base import AuxiliaryOutputs
from keyarch.models.googlenet import INCEPTION_TABLE


def _meta(name, **options):
    with torch.device("meta"):
        return keyarch.create_model(name, **options)


def test_googlenet_has_6_624_904_parameters_and_13_004_888_with_aux_heads():
    assert count_parameters(_meta("googlenet")) == 6_624_904
    assert count_parameters(_meta("googlenet", aux_logits=True)) == 13_004_888


def test_googlenet_macs_within_one_percent_of_the_reference():
    assert count_macs(_meta("googlenet"), (3, 224, 224)) / 1e9 == pytest.approx(1.498, rel=0.01)


def test_table_one_widths_chain_from_module_to_module():
    rows = list(INCEPTION_TABLE.values())
    assert [r.out_channels for r in rows] == [256, 480, 512, 512, 512, 528, 832, 832, 1024]
    chained = [a.out_channels == b.in_channels for a, b in zip(rows, rows[1:], strict=False)]
    assert all(chained)


def test_paper_form_uses_5x5_kernels_and_lrn():
    model = _meta("googlenet_paper")
    assert model.inception3a.branch5x5[1].conv.kernel_size == (5, 5)
    assert isinstance(model.norm1, torch.nn.LocalResponseNorm)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    assert _meta("googlenet").inception3a.branch5x5[1].conv.kernel_size == (3, 3)


def test_auxiliary_heads_speak_in_training_only():
    model = _meta("googlenet_paper")
    x = torch.empty(2, 3, 224, 224, device="meta")
    outputs = model.train()(x)
    assert isinstance(outputs, AuxiliaryOutputs) and outputs.aux_weight == 0.3
    assert [a.shape for a in outputs.aux_logits] == [(2, 1000), (2, 1000)]
    assert model.eval()(x).shape == (2, 1000)


@pytest.mark.parametrize(("name", "size"), [("googlenet", 15), ("googlenet_paper", 31)])
def test_smallest_inputs(name, size):
    model = _meta(name).eval()
    assert model(torch.empty(1, 3, size, size, device="meta")).shape == (1, 1000)
    with pytest.raises(ValueError, match=f"at least {size}x{size}"):
        model(torch.empty(1, 3, size - 1, size - 1, device="meta"))


def test_converted_torchvision_googlenet_gives_the_same_logits_and_aux_logits():
    torch.manual_seed(0)
    reference = torchvision.models.googlenet(aux_logits=True, init_weights=True)
    ours = converted_model(reference, "googlenet", "torchvision", aux_logits=True)
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        assert (reference.eval()(x) - ours.eval()(x)).abs().max() <= 1e-5
        torch.manual_seed(1)
        theirs = reference.train()(x)
        torch.manual_seed(1)
        mine = ours.train()(x)
    assert (theirs.aux_logits1 - mine.aux_logits[0]).abs().max() <= 1e-5
    assert (theirs.aux_logits2 - mine.aux_logits[1]).abs().max() <= 1e-5


def test_training_adds_the_weighted_auxiliary_losses(tmp_path):
    from keyarch.data.datasets import _embedded_mnist
    from keyarch.train import TrainConfig, get_recipe, train
    from keyarch.train.recipes import override

    recipe = override(get_recipe("mnist"), epochs=1, batch_size=16)
    config = TrainConfig(model="googlenet_paper", dataset="mnist", data_dir=str(_embedded_mnist()),
                         recipe=recipe, out=tmp_path, run_name="g", train_limit=32,
                         test_limit=16, image_size=32, progress=False)  # fmt: skip
    summary = train(config)
    assert summary["parameters"] > 10_000_000 and summary["test_top1"] is not None


def test_paper_auxiliary_heads_pool_5x5_with_stride_3():
    # Section 5: "An average pooling layer with 5x5 filter size and stride 3, resulting in
    # an 4x4x512 output for the (4a), and 4x4x528 for the (4d) stage."
    from keyarch.models.googlenet import AuxiliaryPool, auxiliary_pool

    x = torch.randn(2, 512, 14, 14)  # inception4a's output at 224
    expected = torch.nn.functional.avg_pool2d(x, 5, stride=3)
    assert expected.shape == (2, 512, 4, 4) and torch.equal(auxiliary_pool(x), expected)
    assert isinstance(_meta("googlenet_paper").aux1.pool, AuxiliaryPool)


def test_torchvision_adaptive_auxiliary_pool_is_not_the_papers_even_at_14x14():
    # Both give 4x4 from 14x14, but the adaptive pool averages windows of 4 at offsets
    # 0, 3, 7, 10 and the paper's windows of 5 at 0, 3, 6, 9: googlenet keeps torchvision's
    # (its weights must give its auxiliary logits), and its card says so.
    x = torch.randn(1, 1, 14, 14)
    adaptive = torch.nn.functional.adaptive_avg_pool2d(x, 4)
    assert torch.allclose(adaptive[..., 0, 0], x[..., :4, :4].mean((-2, -1)))
    assert torch.allclose(adaptive[..., 2, 2], x[..., 7:11, 7:11].mean((-2, -1)))
    assert not torch.allclose(adaptive, torch.nn.functional.avg_pool2d(x, 5, stride=3))
    assert isinstance(_meta("googlenet", aux_logits=True).aux1.pool, torch.nn.AdaptiveAvgPool2d)
    assert any("5x5 stride-3" in d for d in keyarch.model_card("googlenet").deviations)


def test_paper_auxiliary_heads_still_classify_inputs_too_small_for_the_5x5_pool():
    model = keyarch.create_model("googlenet_paper", num_classes=3).train()
    outputs = model(torch.randn(2, 3, 64, 64))  # inception4a gives 4x4 maps
    assert [a.shape for a in outputs.aux_logits] == [(2, 3), (2, 3)]
