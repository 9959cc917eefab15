import pytest
import torch

from keyarch.layers import ConvNormAct, LocalResponseNorm


def test_lrn_follows_the_papers_formula():
    torch.manual_seed(0)
    a = torch.randn(2, 7, 3, 3)
    k, n, alpha, beta = 2.0, 5, 1e-4, 0.75
    expected = torch.empty_like(a)
    for i in range(7):
        window = a[:, max(0, i - n // 2) : min(7, i + n // 2 + 1)]
        expected[:, i] = a[:, i] / (k + alpha * window.pow(2).sum(1)) ** beta
    out = LocalResponseNorm(n, k=k, alpha=alpha, beta=beta)(a)
    assert torch.allclose(out, expected, atol=1e-6)


@pytest.mark.parametrize("n", [1, 4, 5, 9])
@pytest.mark.parametrize("channels_last", [False, True])
def test_lrn_shifted_sum_equals_pytorchs_pooled_one_forward_and_backward(n, channels_last):
    """The fast window sum against nn.LocalResponseNorm's 3-D average pooling, with gradients,
    for odd and even windows and windows wider than the channels."""
    torch.manual_seed(0)
    a = torch.randn(3, 7, 5, 4) * 10
    if channels_last:
        a = a.contiguous(memory_format=torch.channels_last)
    mine = LocalResponseNorm(n, k=2.0, alpha=1e-4, beta=0.75)
    reference = torch.nn.LocalResponseNorm(n, alpha=1e-4 * n, beta=0.75, k=2.0)
    x, y = a.clone().requires_grad_(), a.clone().requires_grad_()
    out, expected = mine(x), reference(y)
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-6)
    weights = torch.randn_like(out)
    (out * weights).sum().backward()
    (expected * weights).sum().backward()
    torch.testing.assert_close(x.grad, y.grad, rtol=1e-5, atol=1e-6)
    assert out.is_contiguous(memory_format=torch.channels_last) == channels_last


def test_lrn_of_a_3d_input_is_pytorchs():
    a = torch.randn(2, 6, 5)
    expected = torch.nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0)(a)
    torch.testing.assert_close(LocalResponseNorm(5)(a), expected)


def test_lrn_strongly_damps_large_responses_with_a_big_alpha():
    a = torch.full((1, 5, 1, 1), 10.0)
    out = LocalResponseNorm(5, k=1.0, alpha=1.0, beta=1.0)(a)
    assert torch.allclose(out[0, 2], torch.tensor(10.0 / (1 + 500)))


def test_conv_norm_act_drops_the_bias_under_batch_norm_unless_asked():
    assert ConvNormAct(3, 8, 3, batch_norm=True).conv.bias is None
    assert ConvNormAct(3, 8, 3, batch_norm=True, conv_bias=True).conv.bias is not None
    block = ConvNormAct(3, 8, 3)
    assert [n for n, _ in block.named_children()] == ["conv", "act"]
    assert block(torch.zeros(1, 3, 5, 5)).shape == (1, 8, 5, 5)
