"""AlexNet's two-tower network and ZFNet read against their papers: dropout, the order of
pooling and normalisation, initialisation, the published results."""

import torch

import keyarch
from keyarch.layers import LocalResponseNorm
from keyarch.train.optimizers import renormalise_filters_


def _children(sequential: torch.nn.Sequential) -> list[str]:
    return [name for name, _ in sequential.named_children()]


def test_two_tower_drops_the_outputs_of_fc6_and_fc7():
    # Section 4.2: "We use dropout in the first two fully-connected layers", which sets the
    # output of each hidden neuron to zero with probability 0.5.
    model = keyarch.create_model("alexnet_two_tower")
    assert _children(model.classifier) == ["fc6", "relu6", "drop6", "fc7", "relu7", "drop7", "fc8"]


def test_one_tower_alexnet_keeps_torchvision_layout_so_its_weights_give_its_outputs():
    model = keyarch.create_model("alexnet")
    assert _children(model.classifier) == ["drop6", "fc6", "relu6", "drop7", "fc7", "relu7", "fc8"]


def test_two_tower_biases_are_one_in_conv2_conv4_conv5_and_the_hidden_layers_only():
    # Section 5: biases 1 in conv2, conv4, conv5 and the fully connected hidden layers, 0 in
    # the remaining layers (conv1, conv3 and the output layer fc8).
    model = keyarch.create_model("alexnet_two_tower")
    layers = {**dict(model.features.named_children()), **dict(model.classifier.named_children())}
    biases = {name: set(layers[name].bias.tolist()) for name in
              ("conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8")}  # fmt: skip
    assert biases == {"conv1": {0.0}, "conv2": {1.0}, "conv3": {0.0}, "conv4": {1.0},
                      "conv5": {1.0}, "fc6": {1.0}, "fc7": {1.0}, "fc8": {0.0}}  # fmt: skip


def test_zfnet_rectifies_then_pools_then_normalises():
    # Figure 3: "(i) passed through a rectified linear function, (ii) pooled ... and
    # (iii) contrast normalized across feature maps".
    names = _children(keyarch.create_model("zfnet").features)
    assert names[:8] == ["conv1", "relu1", "pool1", "norm1", "conv2", "relu2", "pool2", "norm2"]
    alexnet = _children(keyarch.create_model("alexnet_two_tower").features)
    assert alexnet[:4] == ["conv1", "relu1", "norm1", "pool1"]  # AlexNet normalises first


def test_zfnet_drops_the_outputs_of_fc6_and_fc7():
    model = keyarch.create_model("zfnet")
    assert _children(model.classifier) == ["fc6", "relu6", "drop6", "fc7", "relu7", "drop7", "fc8"]


def test_zfnet_weights_start_from_n_0_0_01_and_biases_from_0():
    torch.manual_seed(0)
    model = keyarch.create_model("zfnet")
    weighted = [m for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    assert len(weighted) == 8
    assert all(not m.bias.any() for m in weighted)
    assert abs(model.classifier.fc6.weight.std().item() - 0.01) < 1e-4


def test_zfnet_filters_over_the_radius_are_scaled_back_to_it_and_the_others_kept():
    # Section 3: "renormalize each filter in the convolutional layers whose RMS value
    # exceeds a fixed radius of 10^-1 to this fixed radius" (after each update).
    torch.manual_seed(0)
    model = keyarch.create_model("zfnet")
    conv1 = model.features.conv1.weight
    with torch.no_grad():
        conv1[0] *= 100  # RMS about 1: over the radius
    before = conv1.detach().clone()
    renormalise_filters_(model, 0.1)
    rms = conv1.detach().square().mean(dim=(1, 2, 3)).sqrt()
    assert abs(rms[0].item() - 0.1) < 1e-6
    assert torch.equal(conv1[1:], before[1:])  # RMS about 0.01: untouched
    assert "renormalise_filters_" in " ".join(keyarch.model_card("zfnet").deviations)


def test_zfnet_published_result_is_table_2_of_arxiv_v3():
    (metric,) = keyarch.model_card("zfnet").metrics
    assert (metric.top1, metric.top5) == (61.6, 83.5)  # 38.4 / 16.5 % error
    assert metric.split == "ILSVRC-2012 val" and "Table 2" in metric.source
    assert keyarch.model_card("zfnet").imagenet_top1 is None  # not a single-crop figure


def test_alexnet_cifar_switches_one_choice_at_a_time_with_the_same_map_sizes():
    x = torch.randn(2, 3, 32, 32)
    full = keyarch.create_model("alexnet_cifar").eval()
    pools = [m for m in full.features if isinstance(m, torch.nn.MaxPool2d)]
    assert [(p.kernel_size, p.stride) for p in pools] == [(3, 2)] * 3  # overlapping, 3.4
    assert isinstance(full.features.norm1, LocalResponseNorm)
    flat = keyarch.create_model("alexnet_cifar", overlapping=False).eval()
    assert [m.kernel_size for m in flat.features if isinstance(m, torch.nn.MaxPool2d)] == [2] * 3
    no_lrn = keyarch.create_model("alexnet_cifar", lrn=False)
    assert isinstance(no_lrn.features.norm1, torch.nn.Identity)
    for model in (full, flat, no_lrn.eval()):  # 32 -> 16 -> 8 -> 4 either way
        assert model.forward_features(x).shape == (2, 64, 4, 4)
    assert _children(full.classifier) == ["fc6", "relu6", "drop6", "fc7", "relu7", "drop7", "fc8"]
    paper = keyarch.create_model("alexnet_cifar", paper_init=True)
    assert paper.classifier.fc6.bias.unique().tolist() == [1.0]  # section 5's initialisation
    assert full.classifier.fc6.bias.abs().max() == 0  # He's initialisation by default
