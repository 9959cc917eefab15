"""keyarch.fuse: batch norms folded into the convolutions before them, outputs unchanged."""

import pytest
import torch
from torch import nn

import keyarch
from keyarch.models.fuse import count_batch_norms, fuse


def _size_class(name: str):
    with torch.device("meta"):
        model = keyarch.create_model(name)
    large = sum(p.numel() for p in model.parameters()) > 30_000_000
    return pytest.param(name, marks=pytest.mark.slow) if large else name


MODELS = [_size_class(name) for name in keyarch.list_models(task="image-classification")]


def _with_random_statistics(model: nn.Module) -> nn.Module:
    generator = torch.Generator().manual_seed(0)
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            for tensor, (low, high) in (
                (module.running_mean, (-0.5, 0.5)),
                (module.running_var, (0.5, 2.0)),
                (module.weight, (0.5, 1.5)),
                (module.bias, (-0.5, 0.5)),
            ):
                with torch.no_grad():
                    tensor.copy_(torch.empty_like(tensor).uniform_(low, high, generator=generator))
    return model.eval()


@pytest.mark.parametrize("name", MODELS)
def test_fused_model_gives_the_same_outputs_with_fewer_batch_norms(name):
    torch.manual_seed(0)
    # in float64: the deepest networks' random-weight activations grow large enough
    # (ResNet-152: logits near 1e7) that float32 rounding alone moves the logits
    model = _with_random_statistics(keyarch.create_model(name)).double()
    size = model.min_input_size if model.fixed_input_size else max(model.min_input_size, 64)
    x = torch.randn(2, model.in_chans, size, size, dtype=torch.float64)
    fused = keyarch.fuse(model)
    with torch.no_grad():
        expected, got = model(x), fused(x)
    assert (got - expected).abs().max() <= 1e-4 * max(expected.abs().max().item(), 1.0)
    before = count_batch_norms(model)
    assert count_batch_norms(fused) < before or before == 0
    assert fused.model_name == model.model_name and fused.num_classes == model.num_classes


def test_fuse_leaves_the_model_alone_and_keeps_the_input_check():
    model = _with_random_statistics(keyarch.create_model("resnet20"))
    model.train()
    fused = keyarch.fuse(model, channels_last=False)
    assert model.training and count_batch_norms(model) == 19
    with pytest.raises(ValueError, match="resnet20 expects 3 input channel"):
        fused(torch.randn(1, 1, 32, 32))
    with pytest.raises(TypeError, match="fuse takes a torch.nn.Module"):
        keyarch.fuse("resnet20")


class _Wrong(torch.nn.Module):
    """Stands in for a frozen graph that computes something else."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(x) * 1.5


def test_a_frozen_graph_that_changes_the_outputs_is_refused_and_the_shape_runs_eagerly():
    from keyarch.models.fuse import _Frozen

    fused = fuse(keyarch.create_model("lenet5_modern").eval())
    frozen = _Frozen(_Wrong(fused), fused)
    x = torch.randn(2, 1, 32, 32)
    with torch.inference_mode():
        with pytest.warns(UserWarning, match="lenet5_modern differs from the eager one by 5.0e-01"):
            first = frozen(x)
        assert torch.equal(first, fused(x)) and torch.equal(frozen(x), fused(x))
    assert frozen.differences[((2, 1, 32, 32), torch.float32)] == pytest.approx(0.5, rel=1e-6)
    assert frozen.eager_shapes == {((2, 1, 32, 32), torch.float32)}
    right = _Frozen(fused, fused)
    with torch.inference_mode():
        right(x)
    assert right.differences[((2, 1, 32, 32), torch.float32)] == 0.0 and not right.eager_shapes
