"""The recurrent networks in the registry: a task field, sequence inputs, exact counts."""

from __future__ import annotations

import pytest
import torch

import keyarch
from conftest import cli_status
from keyarch.errors import BadInput


def test_every_model_has_a_task_and_the_tasks_partition_the_registry():
    images = keyarch.list_models(task="image-classification")
    sequences = keyarch.list_models(task="sequence-classification")
    assert sequences == ["lstm", "rnn"]
    assert sorted(images + sequences) == keyarch.list_models()
    assert "resnet50" in images and not set(images) & set(sequences)
    with pytest.raises(BadInput, match="task 'video' is not one of"):
        keyarch.list_models(task="video")


@pytest.mark.parametrize("name", keyarch.list_models(task="sequence-classification"))
def test_sequence_models_have_cards_and_exact_counts(name):
    card = keyarch.model_card(name)
    assert card.year in (1990, 1997) and card.deviations and card.input_size == (50, 2)
    assert card.input_description == "50x2 (time steps x features)"
    model = keyarch.create_model(name, num_classes=3, hidden_size=16)
    gates = 4 if name == "lstm" else 1
    expected = gates * (16 * (2 + 16) + 2 * 16) + 16 * 3 + 3  # W_ih, W_hh, b_ih, b_hh; head
    assert sum(p.numel() for p in model.parameters()) == expected
    assert model(torch.randn(5, 50, 2)).shape == (5, 3)
    features = keyarch.create_model(name, num_classes=0, hidden_size=16)
    assert features(torch.randn(5, 50, 2)).shape == (5, 16) and features.num_features == 16


@pytest.mark.parametrize("name", ["rnn", "lstm"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_a_batch_of_different_lengths_reads_each_sequence_at_its_own_end(name, bidirectional):
    torch.manual_seed(0)
    model = keyarch.create_model(name, hidden_size=8, num_layers=2, bidirectional=bidirectional)
    x, lengths = torch.randn(3, 7, 2), torch.tensor([7, 4, 1])
    batched = model(x, lengths)
    for i, n in enumerate(lengths.tolist()):
        alone = model(x[i : i + 1, :n])
        torch.testing.assert_close(batched[i : i + 1], alone, atol=1e-6, rtol=1e-5)


def test_list_info_and_bench_handle_sequence_models(capsys, tmp_path):
    code, out, _ = cli_status(capsys, ["list", "--task", "sequence-classification"])
    assert code == 0 and [line.split()[0] for line in out.splitlines()[1:]] == ["lstm", "rnn"]
    assert "50x2" in out and "sequence-classification" in out
    code, out, _ = cli_status(capsys, ["info", "rnn"])
    assert code == 0 and "Input:       50x2 (time steps x features)" in out
    assert "Elman" in out and "Input size: (1, 50, 2)" in out
    code, _, err = cli_status(capsys, ["bench", "rnn", "--out", str(tmp_path)])
    assert code == 2 and "measures image classifiers" in err


def test_a_sequence_model_names_a_wrong_input():
    model = keyarch.create_model("lstm")
    with pytest.raises(BadInput, match=r"expected sequences \(batch, time, 2\)"):
        model.check_input(torch.randn(2, 3, 32, 32))
