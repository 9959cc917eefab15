"""keyarch's RNN and LSTM, written from their equations, give nn.RNN's and nn.LSTM's outputs
and gradients with the same weights: stacked, bidirectional, batch-first or not, and for
batches of sequences of different lengths (packed or given as lengths)."""

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from keyarch.layers.recurrent import LSTM, RNN, LSTMCell, RNNCell


@pytest.fixture(autouse=True)
def _double():
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


PAIRS = [(RNN, nn.RNN), (LSTM, nn.LSTM)]
SHAPES = [
    {"num_layers": 1, "bidirectional": False, "batch_first": False},
    {"num_layers": 2, "bidirectional": False, "batch_first": True},
    {"num_layers": 2, "bidirectional": True, "batch_first": True},
    {"num_layers": 3, "bidirectional": True, "batch_first": False},
]


def _pair(ours_type, reference_type, **options):
    torch.manual_seed(0)
    reference = reference_type(5, 7, **options)
    ours = ours_type(5, 7, **options)
    ours.load_state_dict(reference.state_dict(), strict=True)  # the same names and shapes
    return ours, reference


def _grads(module):
    return {n: p.grad.clone() for n, p in module.named_parameters()}


@pytest.mark.parametrize("options", SHAPES)
@pytest.mark.parametrize(("ours_type", "reference_type"), PAIRS)
def test_outputs_states_and_gradients_equal_pytorchs(ours_type, reference_type, options):
    ours, reference = _pair(ours_type, reference_type, **options)
    shape = (3, 6, 5) if options["batch_first"] else (6, 3, 5)
    x = torch.randn(*shape, requires_grad=True)
    results = []
    for module in (ours, reference):
        x.grad = None
        out, state = module(x)
        states = state if isinstance(state, tuple) else (state,)
        (out.square().sum() + sum(s.sum() for s in states)).backward()
        results.append((out, states, x.grad.clone(), _grads(module)))
    (o1, s1, g1, w1), (o2, s2, g2, w2) = results
    torch.testing.assert_close(o1, o2)
    for a, b in zip(s1, s2, strict=True):
        torch.testing.assert_close(a, b)
    torch.testing.assert_close(g1, g2)
    for name in w2:
        torch.testing.assert_close(w1[name], w2[name], msg=name)


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize(("ours_type", "reference_type"), PAIRS)
def test_variable_lengths_packed_or_as_lengths_equal_pytorchs_packed(
    ours_type, reference_type, bidirectional
):
    ours, reference = _pair(ours_type, reference_type, num_layers=2, batch_first=True,
                            bidirectional=bidirectional)  # fmt: skip
    lengths = torch.tensor([4, 7, 2, 7])  # unsorted, with a tie
    x = torch.randn(4, 7, 5)
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    expected, expected_state = reference(packed)
    got, got_state = ours(packed)
    torch.testing.assert_close(got.data, expected.data)
    assert torch.equal(got.batch_sizes, expected.batch_sizes)
    for a, b in zip(got_state if isinstance(got_state, tuple) else (got_state,),
                    expected_state if isinstance(expected_state, tuple) else (expected_state,),
                    strict=True):  # fmt: skip
        torch.testing.assert_close(a, b)
    padded, _ = pad_packed_sequence(expected, batch_first=True)
    masked, masked_state = ours(x, lengths=lengths)
    torch.testing.assert_close(masked, padded)  # zeros past each sequence's end
    torch.testing.assert_close(masked_state, got_state)


def test_the_cells_are_one_step_of_the_layers():
    torch.manual_seed(0)
    for cell_type, reference_type in ((RNNCell, nn.RNNCell), (LSTMCell, nn.LSTMCell)):
        reference = reference_type(5, 7)
        cell = cell_type(5, 7)
        cell.load_state_dict(reference.state_dict(), strict=True)
        x, h = torch.randn(3, 5), torch.randn(3, 7)
        state = h if cell_type is RNNCell else (h, torch.randn(3, 7))
        got, expected = cell(x, state), reference(x, state)
        torch.testing.assert_close(got, expected)


def test_the_forget_gate_starts_open():
    lstm = LSTM(5, 7, num_layers=2)
    for layer in range(2):
        forget = slice(7, 14)
        total = (
            getattr(lstm, f"bias_ih_l{layer}")[forget] + getattr(lstm, f"bias_hh_l{layer}")[forget]
        )
        assert torch.equal(total, torch.ones(7))


def test_bad_shapes_are_named():
    with pytest.raises(ValueError, match=r"LSTM: expected input \(batch, time, 5\)"):
        LSTM(5, 7)(torch.randn(3, 4, 6))
    with pytest.raises(ValueError, match=r"initial state must have shape \(2, 3, 7\)"):
        RNN(5, 7, num_layers=2)(torch.randn(4, 3, 5), torch.zeros(1, 3, 7))
    with pytest.raises(ValueError, match="num_layers must be a positive int"):
        LSTM(5, 7, num_layers=0)


@pytest.mark.parametrize("kind", ["rnn", "lstm"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_the_fused_kernel_path_gives_the_step_loops_outputs_and_gradients(kind, bidirectional):
    torch.manual_seed(0)
    layer = (LSTM if kind == "lstm" else RNN)(3, 5, 2, batch_first=True,
                                              bidirectional=bidirectional)  # fmt: skip
    fused = (LSTM if kind == "lstm" else RNN)(3, 5, 2, batch_first=True,
                                              bidirectional=bidirectional, fused=True)  # fmt: skip
    fused.load_state_dict(layer.state_dict())
    x = torch.randn(4, 7, 3)
    outputs = []
    for model in (layer, fused):
        out, final = model(x)
        finals = final if isinstance(final, tuple) else (final,)
        loss = out.square().sum() + sum(f.sum() for f in finals)
        loss.backward()
        outputs.append((out, finals, [p.grad.clone() for p in model.parameters()]))
    (out, finals, grads), (fout, ffinals, fgrads) = outputs
    torch.testing.assert_close(fout, out, atol=1e-5, rtol=1e-5)
    for a, b in zip(ffinals, finals, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    for a, b in zip(fgrads, grads, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    assert not list(fused.children())  # the kernel lends our parameters: it owns none


def test_the_1997_cell_follows_the_papers_equations_and_never_forgets():
    """Hochreiter and Schmidhuber 1997, section 4 and appendix A.1: s_t = s_{t-1} + y_in g,
    y_c = y_out h(s_t), g in [-2, 2], h in [-1, 1]; no forget gate, so with no recurrent
    weights the cell state carries its start to the end exactly (d s_T / d s_0 = 1)."""
    from keyarch.layers.recurrent import LSTM1997

    torch.manual_seed(0)
    layer = LSTM1997(5, 3, batch_first=True, bias=False)
    assert [name for name, _ in layer.named_parameters()] == ["weight_ih_l0", "weight_hh_l0"]
    assert all(p.abs().max() <= 0.2 for p in layer.parameters())  # the paper's [-0.2, 0.2]
    x = torch.randn(4, 7, 5)
    out, (h, s) = layer(x)
    w_in, w_c, w_out = layer.weight_ih_l0.chunk(3)
    u_in, u_c, u_out = layer.weight_hh_l0.chunk(3)
    y, state = torch.zeros(4, 3), torch.zeros(4, 3)
    for t in range(7):  # the paper's update, written out again
        gate_in = torch.sigmoid(x[:, t] @ w_in.T + y @ u_in.T)
        g = 4 / (1 + torch.exp(-(x[:, t] @ w_c.T + y @ u_c.T))) - 2
        gate_out = torch.sigmoid(x[:, t] @ w_out.T + y @ u_out.T)
        state = state + gate_in * g
        y = gate_out * (2 / (1 + torch.exp(-state)) - 1)
        torch.testing.assert_close(out[:, t], y)
    torch.testing.assert_close((h[0], s[0]), (y, state))
    with torch.no_grad():
        layer.weight_hh_l0.zero_()
    start = torch.randn(1, 4, 3, requires_grad=True)
    _, (_, s) = layer(torch.randn(4, 50, 5), (torch.zeros(1, 4, 3), start))
    (gradient,) = torch.autograd.grad(s.sum(), start)
    torch.testing.assert_close(gradient, torch.ones_like(gradient))  # nothing forgotten
    forgetting = LSTM(5, 3, batch_first=True)  # today's cell forgets: its gate is below 1
    with torch.no_grad():
        forgetting.weight_hh_l0.zero_()
    start = torch.randn(1, 4, 3, requires_grad=True)
    _, (_, c) = forgetting(torch.randn(4, 50, 5), (torch.zeros(1, 4, 3), start))
    assert torch.autograd.grad(c.sum(), start)[0].abs().max() < 1e-3


def test_the_1997_lstm_as_a_model_and_its_bad_options():
    from keyarch.errors import BadInput, BadType
    from keyarch.registry import create_model

    model = create_model("lstm", forget_gate=False, bias=False, hidden_size=2, input_size=54)
    # experiment 2c's network for p = 50: two cells, input and output gates, no biases
    assert model.recurrent.weight_ih_l0.shape == (6, 54) and model.recurrent.bias is False
    x, lengths = torch.randn(3, 9, 54), torch.tensor([9, 4, 2])
    scores = model(x, lengths)  # read at each sequence's own last step, as if cut there
    for row, length in enumerate(lengths.tolist()):
        torch.testing.assert_close(scores[row], model(x[row : row + 1, :length])[0])
    with pytest.raises(BadInput, match="forget_bias needs the forget gate"):
        create_model("lstm", forget_gate=False, forget_bias=3.0)
    with pytest.raises(BadInput, match="no fused kernel"):
        create_model("lstm", forget_gate=False, fused=True)
    with pytest.raises(BadType, match="forget_gate and bias must be True or False"):
        create_model("lstm", forget_gate="no")
