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
