"""DenseNet: Table 1, DenseNet-BC for CIFAR, the memory-efficient option, torchvision."""

import importlib.util
from pathlib import Path

import pytest
import torch
import torchvision

import keyarch
from conftest import converted_logit_difference
from keyarch.analysis import count_macs, count_parameters

REFERENCE = {"densenet121": (7_978_856, 2.834), "densenet169": (14_149_480, 3.360),
             "densenet201": (20_013_928, 4.291), "densenet161": (28_681_000, 7.728)}  # fmt: skip


def _meta(name, **options):
    with torch.device("meta"):
        return keyarch.create_model(name, **options)


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_counts_match_torchvision(name):
    model = _meta(name)
    assert count_parameters(model) == REFERENCE[name][0]
    assert count_macs(model, (3, 224, 224)) / 1e9 == pytest.approx(REFERENCE[name][1], rel=0.01)


def test_cifar_densenet_bc_has_about_0_8_million_parameters():
    model = _meta("densenet_bc_100")
    assert round(count_parameters(model) / 1e6, 1) == 0.8  # Table 2: 0.8 M
    growth_layers = [m for m in model.modules() if type(m).__name__ == "DenseLayer"]
    assert len(growth_layers) == 48  # (100 - 4) / 6 = 16 bottleneck layers per block


def test_each_layer_sees_all_earlier_maps_and_adds_k():
    model = _meta("densenet121")
    block = model.features.denseblock1
    widths = [layer.norm1.num_features for layer in block.values()]
    assert widths == [64 + 32 * i for i in range(6)]
    assert model.features.transition1.conv.out_channels == (64 + 6 * 32) // 2  # compression


def test_memory_efficient_densenet_gives_the_same_outputs_and_gradients():
    torch.manual_seed(0)
    standard = keyarch.create_model("densenet_bc_100").train()
    lean = keyarch.create_model("densenet_bc_100", memory_efficient=True).train()
    lean.load_state_dict(standard.state_dict())
    x = torch.randn(4, 3, 32, 32)
    out_standard, out_lean = standard(x), lean(x)
    out_standard.square().sum().backward()
    out_lean.square().sum().backward()
    assert torch.allclose(out_standard, out_lean, atol=1e-5)
    grads = zip(standard.parameters(), lean.parameters(), strict=True)
    assert all(torch.allclose(a.grad, b.grad, atol=1e-4) for a, b in grads)


def test_memory_efficient_densenet_saves_activation_memory():
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "densenet_memory.py"
    spec = importlib.util.spec_from_file_location("densenet_memory", path)
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    x = torch.randn(2, 3, 32, 32)
    standard = benchmark.saved_bytes(keyarch.create_model("densenet_bc_100"), x)
    lean = benchmark.saved_bytes(keyarch.create_model("densenet_bc_100", memory_efficient=True), x)
    assert lean < 0.7 * standard


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_converted_torchvision_weights_give_the_same_logits(name):
    torch.manual_seed(0)
    reference = getattr(torchvision.models, name)()
    assert converted_logit_difference(reference, name, "torchvision", 224) <= 1e-4
