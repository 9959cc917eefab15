"""VGG's dense evaluation (section 3.2): the fully connected layers as convolutions over
the whole image, the class score map averaged."""

import contextlib

import pytest
import torch

import keyarch
from keyarch.train.evaluate import tta_probabilities


@pytest.fixture(scope="module")
def vgg11():
    torch.manual_seed(0)
    return keyarch.create_model("vgg11", num_classes=10).eval()


def _window_average(model, x: torch.Tensor) -> torch.Tensor:
    """The paper's definition, spelled out: the 224-pixel classifier on every 7x7 window of
    the last feature map (stride 1, i.e. 32 pixels), scores averaged."""
    features = model.forward_features(x)
    rows, columns = features.shape[-2] - 6, features.shape[-1] - 6
    scores = [model.forward_head(features[..., i : i + 7, j : j + 7])
              for i in range(rows) for j in range(columns)]  # fmt: skip
    return torch.stack(scores).mean(0)


def test_dense_evaluation_equals_forward_at_224_where_the_score_map_is_1x1(vgg11):
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        assert torch.allclose(vgg11.dense_forward(x), vgg11(x), atol=1e-5)


@pytest.mark.parametrize(("size", "positions"), [(256, 2), (384, 6)])
def test_dense_evaluation_averages_the_score_map_of_every_224_window(vgg11, size, positions):
    x = torch.randn(1, 3, size, size)
    with torch.no_grad():
        dense = vgg11.dense_forward(x)
        assert vgg11.forward_features(x).shape[-1] - 6 == positions
        assert dense.shape == (1, 10)
        assert torch.allclose(dense, _window_average(vgg11, x), atol=1e-5)
        assert not torch.allclose(dense, vgg11(x), atol=1e-3)  # the adaptive pool is not it


def test_dense_evaluation_uses_the_fc_weights_themselves_not_copies(vgg11):
    parameters = {name: p.data_ptr() for name, p in vgg11.named_parameters()}
    vgg11.zero_grad()
    vgg11.dense_forward(torch.randn(1, 3, 256, 256)).sum().backward()
    assert all(getattr(vgg11.classifier, f"fc{i}").weight.grad is not None for i in (6, 7, 8))
    assert parameters == {name: p.data_ptr() for name, p in vgg11.named_parameters()}
    vgg11.zero_grad()


def test_below_224_dense_evaluation_pools_to_fc6s_window_as_forward_does(vgg11):
    x = torch.randn(1, 3, 96, 96)
    with torch.no_grad():
        assert torch.allclose(vgg11.dense_forward(x), vgg11(x), atol=1e-5)


class _Probe(torch.nn.Module):
    """Says which path the test-time augmentation took."""

    def __init__(self, dense: bool) -> None:
        super().__init__()
        if dense:
            self.dense_forward = lambda x: torch.tensor([[0.0, 9.0]]).expand(len(x), 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tensor([[9.0, 0.0]]).expand(len(x), 2)


def test_multiscale_test_time_augmentation_evaluates_vgg_densely():
    images = torch.rand(3, 3, 16, 16)
    dense = tta_probabilities(_Probe(dense=True), images, "multiscale", 16, contextlib.nullcontext)
    plain = tta_probabilities(_Probe(dense=False), images, "multiscale", 16, contextlib.nullcontext)
    assert dense.argmax(1).tolist() == [1, 1, 1] and plain.argmax(1).tolist() == [0, 0, 0]


def test_vgg_card_keeps_the_papers_dense_results_out_of_the_single_crop_column():
    card = keyarch.model_card("vgg16")
    assert card.imagenet_top1 == 71.592  # torchvision's weights, one 224 crop
    dense = [m for m in card.metrics if m.crops == "dense, 3 scales"]
    assert [(m.top1, m.top5) for m in dense] == [(75.2, 92.5)]  # Table 5, 24.8 / 7.5 % error
