"""Corpus BLEU-1..4 equal the COCO caption toolkit's (pycocoevalcap, with its PTB tokenizer)
and nltk's corpus BLEU on identical tokens."""

import json
import shutil
from pathlib import Path

import pytest

from keyarch.data.tokenizer import tokenize
from keyarch.metrics.bleu import corpus_bleu

CAPTIONS = {
    "1": (["A small red circle, left of a large blue square.", "a red circle beside a blue square",
           "There's a red circle and a big blue square."],
          "a small red circle left of a blue square"),
    "2": (["Two green triangles.", "two small green triangles side by side"],
          "two green triangles on the left"),
    "3": (["A man isn't riding a horse; he's walking it.", "A man walks his horse."],
          "a man is walking a horse"),
    "4": (["A yellow star above a purple circle", "the star is above the circle"],
          "a star under a circle"),
}  # fmt: skip


def _ours():
    candidates = [tokenize(c) for _, c in CAPTIONS.values()]
    references = [[tokenize(r) for r in refs] for refs, _ in CAPTIONS.values()]
    return candidates, references


FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "ptb_captions.json").read_text())


@pytest.mark.parametrize("item", FIXTURE["captions"], ids=lambda item: item["caption"][:40])
def test_tokenize_equals_the_coco_toolkits_ptb_tokens(item):
    # quotes, times, thousands, initials, abbreviations, brackets, clitics, hyphens ...
    assert tokenize(item["caption"]) == item["ptb"]


@pytest.mark.skipif(shutil.which("java") is None, reason="the PTB tokenizer needs Java")
def test_the_ptb_fixture_is_what_the_coco_toolkit_says():
    pytest.importorskip("pycocoevalcap")
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    captions = FIXTURE["captions"]
    tokens = PTBTokenizer().tokenize(
        {str(i): [{"caption": item["caption"]}] for i, item in enumerate(captions)}
    )
    assert [tokens[str(i)][0].split() for i in range(len(captions))] == [
        item["ptb"] for item in captions
    ]


def test_tokenize_lowercases_splits_clitics_and_drops_punctuation():
    assert tokenize("A man isn't riding; he's walking it.") == [
        "a", "man", "is", "n't", "riding", "he", "'s", "walking", "it"]  # fmt: skip


@pytest.mark.skipif(shutil.which("java") is None, reason="the PTB tokenizer needs Java")
def test_bleu_equals_the_coco_caption_toolkit():
    pytest.importorskip("pycocoevalcap")
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    tokenizer = PTBTokenizer()
    gts = tokenizer.tokenize(
        {k: [{"caption": r} for r in refs] for k, (refs, _) in CAPTIONS.items()}
    )
    res = tokenizer.tokenize({k: [{"caption": c}] for k, (_, c) in CAPTIONS.items()})
    candidates, references = _ours()
    keys = list(CAPTIONS)
    assert [res[k][0].split() for k in keys] == candidates  # the same tokens ...
    assert [[r.split() for r in gts[k]] for k in keys] == references
    expected, _ = Bleu(4).compute_score(gts, res, verbose=0)
    assert corpus_bleu(candidates, references) == pytest.approx(expected, rel=1e-9)  # ... scores


def test_bleu_equals_nltks_corpus_bleu_on_the_same_tokens():
    bleu = pytest.importorskip("nltk.translate.bleu_score")
    candidates, references = _ours()
    ours = corpus_bleu(candidates, references)
    for n in range(1, 5):
        weights = tuple([1 / n] * n)
        assert ours[n - 1] == pytest.approx(
            bleu.corpus_bleu(references, candidates, weights), rel=1e-9
        )


def test_perfect_and_empty_matches():
    caption = ["a", "red", "circle", "and", "a", "square"]
    assert corpus_bleu([caption], [[caption]]) == pytest.approx([1.0] * 4)
    assert corpus_bleu([["x", "y"]], [[["a", "b", "c"]]])[3] < 1e-6
    with pytest.raises(ValueError, match="2 candidates but 1 reference sets"):
        corpus_bleu([["a"], ["b"]], [[["a"]]])
