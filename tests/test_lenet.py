"""LeNet-5's parts behave as section II-B and Appendix A describe."""

import pytest
import torch

import keyarch
from keyarch.models.lenet import (
    C3_CONNECTIONS,
    EuclideanRBF,
    PartiallyConnectedConv,
    ScaledTanh,
    Subsampling,
    digit_prototypes,
)


def test_scaled_tanh_maps_plus_minus_one_to_itself():
    f = ScaledTanh()
    values = f(torch.tensor([-1.0, 0.0, 1.0]))
    assert torch.allclose(values, torch.tensor([-1.0, 0.0, 1.0]), atol=1e-4)
    assert f(torch.tensor(100.0)).item() == pytest.approx(1.7159)


def test_c3_connection_table_is_table_one():
    assert len(C3_CONNECTIONS) == 16
    assert [len(c) for c in C3_CONNECTIONS] == [3] * 6 + [4] * 9 + [6]
    assert all(len(set(c)) == len(c) and set(c) <= set(range(6)) for c in C3_CONNECTIONS)


def test_c3_output_maps_depend_only_on_their_connected_inputs():
    torch.manual_seed(0)
    c3 = PartiallyConnectedConv(C3_CONNECTIONS, 5, in_channels=6)
    x = torch.randn(1, 6, 14, 14, requires_grad=True)
    out = c3(x)
    for map_index, inputs in enumerate(C3_CONNECTIONS):
        (grad,) = torch.autograd.grad(out[0, map_index].sum(), x, retain_graph=True)
        touched = {j for j in range(6) if grad[0, j].abs().sum() > 0}
        assert touched == set(inputs), f"C3 map {map_index}"


def test_subsampling_is_sum_of_four_times_coefficient_plus_bias():
    layer = Subsampling(2)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([0.5, -2.0]))
        layer.bias.copy_(torch.tensor([1.0, 0.0]))
    x = torch.arange(32.0).view(1, 2, 4, 4)
    out = layer(x)
    first_block = x[0, 0, :2, :2].sum()
    assert out[0, 0, 0, 0].item() == pytest.approx(0.5 * first_block.item() + 1.0)
    assert out[0, 1, 1, 1].item() == pytest.approx(-2.0 * x[0, 1, 2:, 2:].sum().item())


def test_prototypes_are_distinct_plus_minus_one_bitmaps():
    prototypes = digit_prototypes()
    assert prototypes.shape == (10, 84)
    assert set(prototypes.unique().tolist()) == {-1.0, 1.0}
    distances = torch.cdist(prototypes, prototypes)
    assert (distances + torch.eye(10) * 99).min() > 0  # no two digits alike


def test_rbf_output_is_the_negated_squared_distance_to_each_prototype():
    prototypes = digit_prototypes()
    rbf = EuclideanRBF(prototypes)
    x = prototypes[[3, 7]].clone()
    x[0, 0] += 0.5
    scores = rbf(x)
    assert scores[0, 3].item() == pytest.approx(-0.25)
    assert scores[1, 7].item() == 0.0
    assert scores.argmax(dim=1).tolist() == [3, 7]
    assert scores[0, 5].item() == pytest.approx(-((x[0] - prototypes[5]) ** 2).sum().item())


def test_prototypes_are_not_trained():
    model = keyarch.create_model("lenet5")
    assert all(p is not model.output.prototypes for p in model.parameters())
    assert "output.prototypes" in model.state_dict()
