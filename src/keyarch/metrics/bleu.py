"""Corpus BLEU-1 to BLEU-4 as the captioning literature reports them.

Papineni et al. (2002): the geometric mean of the clipped n-gram precisions of the whole
corpus (n = 1..N), times a brevity penalty ``exp(1 - r / c)`` when the candidates' total
length ``c`` is below the references' ``r`` (for each candidate, the length of the
reference closest to it; on a tie, the shorter). The figures papers give (Show and Tell's
BLEU-4 on COCO) come from the COCO caption toolkit (``pycocoevalcap``), which first
tokenises with the Stanford PTB tokenizer, lower-cases and drops punctuation, and counts
precisions with tiny constants (``(correct + 1e-15) / (guessed + 1e-9)``) so that a corpus
without any matching 4-gram scores about 0 instead of failing. ``keyarch.data.tokenizer.tokenize``
and ``corpus_bleu`` do the same in Python; tests/test_bleu.py checks them against
``pycocoevalcap`` and ``nltk`` on fixtures.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

from keyarch.data.tokenizer import tokenize
from keyarch.errors import BadInput


def bleu_scores(generated: Sequence[Sequence[str]],
                references: Sequence[Sequence[str]]) -> dict[str, float]:  # fmt: skip
    """``{"bleu1": .., "bleu4": ..}`` of tokenised captions against raw reference texts,
    which are tokenised as the COCO toolkit tokenises them."""
    scores = corpus_bleu(generated, [[tokenize(r) for r in refs] for refs in references])
    return {f"bleu{n + 1}": s for n, s in enumerate(scores)}


def _ngrams(tokens: Sequence[str], n: int) -> Counter:
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def corpus_bleu(
    candidates: Sequence[Sequence[str]],
    references: Sequence[Sequence[Sequence[str]]],
    max_n: int = 4,
) -> list[float]:
    """BLEU-1 .. BLEU-``max_n`` of tokenised ``candidates`` (one per image) against their
    ``references`` (several per image), counted over the whole corpus as the COCO toolkit
    counts them."""
    if len(candidates) != len(references):
        raise BadInput(
            f"corpus_bleu: {len(candidates)} candidates but {len(references)} reference sets"
        )
    if not candidates:
        raise BadInput("corpus_bleu: no candidates")
    correct, guessed = [0] * max_n, [0] * max_n
    candidate_length = reference_length = 0
    for candidate, refs in zip(candidates, references, strict=True):
        if not refs:
            raise BadInput("corpus_bleu: every candidate needs at least one reference")
        candidate_length += len(candidate)
        reference_length += min((len(r) for r in refs), key=lambda n: (abs(n - len(candidate)), n))
        for n in range(1, max_n + 1):
            counts = _ngrams(candidate, n)
            most = Counter()
            for ref in refs:
                most |= _ngrams(ref, n)  # the most times each n-gram occurs in one reference
            correct[n - 1] += sum(min(c, most[g]) for g, c in counts.items())
            guessed[n - 1] += max(len(candidate) - n + 1, 0)
    ratio = (candidate_length + 1e-9) / (reference_length + 1e-15)
    penalty = 1.0 if ratio >= 1 else math.exp(1 - 1 / ratio)
    scores, log_sum = [], 0.0
    for n in range(max_n):
        log_sum += math.log((correct[n] + 1e-15) / (guessed[n] + 1e-9))
        scores.append(penalty * math.exp(log_sum / (n + 1)))
    return scores
