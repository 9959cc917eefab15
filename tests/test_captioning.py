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
    with pytest.raises(ValueError, match="beam size must be a whole number of at least 1"):
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


def _log_probability(
    model: ShowAndTell, image: torch.Tensor, words: list[int], ended: bool
) -> float:
    """log P(words [, <end>] | image) by teacher forcing: a path independent of decoding."""
    tokens = torch.tensor([[1, *words, *([2] if ended else [])]])
    if tokens.shape[1] == 1:  # no word at all: nothing is predicted
        return 0.0
    scores = torch.log_softmax(model(image[None], torch.cat([tokens, tokens[:, :1]], 1)), -1)
    targets = tokens[0, 1:]
    return float(scores[0, torch.arange(len(targets)), targets].sum().detach())


def _exhaustive(model, image, vocabulary_size: int, max_length: int) -> list[int]:
    """The most likely sentence of at most ``max_length`` words, every one tried."""
    import itertools

    words = [w for w in range(vocabulary_size) if w != 2]
    sentences = [
        (list(s), True) for n in range(max_length) for s in itertools.product(words, repeat=n)
    ]
    sentences += [(list(s), False) for s in itertools.product(words, repeat=max_length)]
    return max(sentences, key=lambda s: _log_probability(model, image, *s))[0]


@torch.no_grad()
def _beam_by_definition(model, image, beam: int, max_length: int) -> list[int]:
    """The beam rule spelt out one sentence at a time: each live sentence's ``beam`` best
    next words; ended ones finish, the ``beam`` best others stay live; at the length limit
    every one finishes."""
    live, done = [([], 0.0)], []
    for step in range(max_length):
        candidates = []
        for words, score in live:
            tokens = torch.tensor([[1, *words, 0]])
            log_probs = torch.log_softmax(model(image[None], tokens)[0, -1], -1)
            top = log_probs.topk(beam)
            candidates += [(score + float(lp), words, int(w)) for lp, w in zip(*top, strict=True)]
        candidates.sort(key=lambda c: -c[0])
        live = []
        for score, words, w in candidates:
            if w == 2:
                done.append((words, score))
            elif step + 1 == max_length:
                done.append(([*words, w], score))
            elif len(live) < beam:
                live.append(([*words, w], score))
    return max(done, key=lambda d: d[1])[0]


def test_beam_search_equals_exhaustive_search_on_a_tiny_vocabulary():
    model = _model(vocabulary_size=8)
    torch.manual_seed(1)
    with torch.no_grad():  # word scores far from uniform: greedy's choices can mislead it
        torch.nn.init.normal_(model.word_scores.weight, std=1.0)
        torch.nn.init.normal_(model.word_scores.bias, std=1.0)
    images = torch.rand(2, 3, 32, 32)
    differ = 0
    for image in images:
        exhaustive2 = _exhaustive(model, image, 8, 2)
        # beam 8 over 8 words and 2 steps keeps every sentence: it is exhaustive
        assert model.beam_search(image[None], beam_size=8, max_length=2)[0] == exhaustive2
        greedy = [w for w in model.greedy(image[None], max_length=3)[0].tolist()]
        greedy = greedy[: greedy.index(2)] if 2 in greedy else greedy
        assert model.beam_search(image[None], beam_size=1, max_length=3)[0] == greedy
        for beam in (3, 8):
            assert model.beam_search(image[None], beam_size=beam, max_length=3)[0] == (
                _beam_by_definition(model, image, beam, 3)
            )
        exhaustive3 = _exhaustive(model, image, 8, 3)
        differ += greedy != exhaustive3
    # longer sentences and a likelier <end>: sentences end early while better ones are still
    # live, which a search that stops at beam_size ended sentences gets wrong
    with torch.no_grad():
        model.word_scores.bias[2] += 1.5
    for image in torch.rand(4, 3, 32, 32):
        assert model.beam_search(image[None], beam_size=3, max_length=6)[0] == (
            _beam_by_definition(model, image, 3, 6)
        )
    assert differ  # the search has something to find: greedy misses the best sentence
    with pytest.raises(ValueError, match="beam size 9 is wider than the vocabulary"):
        model.beam_search(images[:1], beam_size=9)


def test_keyarch_info_shows_the_captioners_card(capsys):
    import keyarch
    from conftest import cli_status

    card = keyarch.model_card("show_and_tell")
    assert card.task == "image-captioning" and card.year == 2015
    assert any("beam size 3" in d.lower() and "20" in d for d in card.deviations)
    assert any("scheduled sampling" in d for d in card.deviations)
    assert "show_and_tell" not in keyarch.list_models()  # built by keyarch caption train
    code, out, err = cli_status(capsys, ["info", "show_and_tell"])
    assert code == 0, err
    assert "Vinyals" in out and "image-captioning" in out and "keyarch caption train" in out
