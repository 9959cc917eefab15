"""The vocabulary and the Show and Tell model: encoding, teacher forcing that ignores
padding, the image read once before the words, greedy and beam-search decoding."""

import pytest
import torch

from keyarch.data.synthetic_captions import SyntheticCaptions
from keyarch.data.vocabulary import Vocabulary
from keyarch.models.captioning import CaptionerConfig, ShowAndTell


def test_vocabulary_keeps_frequent_words_and_round_trips(tmp_path):
    vocabulary = Vocabulary.build(["A red circle.", "a red square", "a blue circle"], min_count=2)
    assert vocabulary.words == ["<pad>", "<start>", "<end>", "<unk>", "a", "circle", "red"]
    encoded = vocabulary.encode("A blue circle")
    assert encoded == [1, 4, 3, 5, 2]  # <start> a <unk> circle <end>
    assert vocabulary.decode([*encoded[1:], 6, 6]) == ["a", "<unk>", "circle"]  # stops at <end>
    tokens, lengths = vocabulary.batch(["a circle", "a red red circle"])
    assert tokens.tolist() == [[1, 4, 5, 2, 0, 0], [1, 4, 6, 6, 5, 2]] and lengths.tolist() == [
        4,
        6,
    ]
    vocabulary.save(tmp_path / "vocabulary.json")
    assert Vocabulary.load(tmp_path / "vocabulary.json").words == vocabulary.words
    (tmp_path / "bad.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="not a keyarch vocabulary"):
        Vocabulary.load(tmp_path / "bad.json")


def _model(vocabulary_size: int = 20) -> ShowAndTell:
    torch.manual_seed(0)
    config = CaptionerConfig(encoder="resnet20", vocab_size=vocabulary_size, embed_size=16,
                             hidden_size=16, dropout=0.0)  # fmt: skip
    return ShowAndTell(config).eval()


def test_padding_after_a_caption_changes_none_of_its_scores():
    model = _model()
    images = torch.rand(2, 3, 32, 32)
    short = torch.tensor([[1, 5, 6, 2], [1, 7, 2, 0]])
    padded = torch.cat([short, torch.zeros(2, 3, dtype=torch.long)], dim=1)
    with torch.no_grad():
        torch.testing.assert_close(model(images, padded)[:, :3], model(images, short))
    loss = model.loss(images, short)
    # cross-entropy over the 5 real target words (w1.. <end>), none over the padding
    scores = model(images, short)
    targets = short[:, 1:]
    words = targets != 0
    expected = torch.nn.functional.cross_entropy(scores[words], targets[words])
    torch.testing.assert_close(loss, expected)


def test_the_image_is_the_first_input_and_decoding_follows_teacher_forcing():
    model = _model()
    images = torch.rand(3, 3, 32, 32)
    sentence = model.greedy(images, max_length=6)
    # feeding the greedy words back as a reference reproduces them as each step's argmax
    tokens = torch.cat([torch.ones(3, 1, dtype=torch.long), sentence], dim=1)
    with torch.no_grad():
        assert torch.equal(model(images, tokens).argmax(-1)[:, :5], sentence[:, :5])
    beams = model.beam_search(images, beam_size=1, max_length=6)
    for row, beam in zip(sentence.tolist(), beams, strict=True):
        assert beam == [w for w in row if w != 2][: len(beam)]  # beam 1 is greedy
    with pytest.raises(ValueError, match="beam size must be at least 1"):
        model.beam_search(images, beam_size=0)


def test_a_few_steps_fit_a_small_batch_of_synthetic_captions():
    data = SyntheticCaptions("val", count=8, size=32)
    vocabulary = Vocabulary.build([c for refs in data.captions for c in refs], min_count=1)
    model = _model(len(vocabulary)).train()
    tokens, _ = vocabulary.batch([refs[0] for refs in data.captions])
    images = data.images.float() / 255
    optimizer = torch.optim.Adam(model.parameters(), 1e-2)
    first = model.loss(images, tokens).item()
    for _ in range(80):
        loss = model.loss(images, tokens)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < first / 3
