"""Corpus BLEU-1 to BLEU-4 as the captioning literature reports them.

Papineni et al. (2002): the geometric mean of the clipped n-gram precisions of the whole
corpus (n = 1..N), times a brevity penalty ``exp(1 - r / c)`` when the candidates' total
length ``c`` is below the references' ``r`` (for each candidate, the length of the
reference closest to it; on a tie, the shorter). The figures papers give (Show and Tell's
BLEU-4 on COCO) come from the COCO caption toolkit (``pycocoevalcap``), which first
tokenises with the Stanford PTB tokenizer, lower-cases and drops punctuation, and counts
precisions with tiny constants (``(correct + 1e-15) / (guessed + 1e-9)``) so that a corpus
without any matching 4-gram scores about 0 instead of failing. ``tokenize`` and
``corpus_bleu`` do the same in Python; tests/test_bleu.py checks them against
``pycocoevalcap`` and ``nltk`` on fixtures.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

from keyarch.errors import BadInput

# What the COCO toolkit removes after PTB tokenisation (pycocoevalcap's PUNCTUATIONS). Its
# bracket names are upper case, and the tokenizer runs with -lowerCase: "(" becomes
# "-lrb-", which the toolkit keeps. So does keyarch.
_PUNCTUATION = {"''", "'", "``", "`", "-LRB-", "-RRB-", "-LCB-", "-RCB-", ".", "?", "!",
                ",", ":", "-", "--", "...", ";", '"'}  # fmt: skip
_BRACKETS = {"(": "-lrb-", ")": "-rrb-", "[": "-lsb-", "]": "-rsb-", "{": "-lcb-", "}": "-rcb-"}
# Abbreviations whose period the PTB tokenizer (Stanford CoreNLP 3.4.1, as pycocoevalcap
# ships it) keeps, in the middle of a caption and at its end: measured here, one by one, on
# the ones captions use (it splits "yrs.", "no.", "approx.", "min.", "oz.", "lb." ...).
_ABBREVIATIONS = ("mr mrs ms dr st ave jr sr prof gen rep sen gov lt col sgt capt mt ft co "
                  "corp inc ltd bros vs etc rd blvd jan feb aug sept oct nov dec mon tue fri "
                  "dept est").split()  # fmt: skip
_TOKEN = re.compile(
    r"\d+(?::\d+)+"  # times and ratios: 12:30, 3:2 ("10:15pm" -> 10:15, pm)
    r"|\d{1,3}(?:,\d{3})+(?:\.\d+)?"  # thousands: 1,000 and 1,000,000.50
    r"|(?:[a-z]\.){2,}"  # initials: u.s. p.m. e.g.
    r"|(?:" + "|".join(_ABBREVIATIONS) + r")\.(?![a-z0-9])"  # titles and the like: mr.
    r"|'n'"  # rock 'n' roll
    r"|(?:n't|'s|'re|'ve|'m|'ll|'d)(?![a-z0-9])"  # clitics, split off their word
    r"|\.\.\.|--"
    r"|[a-z0-9]+(?:[-./@][a-z0-9]+)*"  # words, numbers, t-shirt, 3.50, a@b.com
    r"|[^\sa-z0-9]"  # any other character on its own
)
_CONTRACTIONS = re.compile(r"(n't|'s|'re|'ve|'m|'ll|'d)(?![a-z0-9])")


def tokenize(text: str) -> list[str]:
    """A caption as the COCO toolkit's PTB tokenisation leaves it: lower case, words and
    clitics ("isn't" -> "is", "n't"), times (12:30), thousands (1,000), initials (u.s.) and
    the abbreviations the PTB tokenizer knows (mr.) whole, brackets named ("-lrb-"),
    quotes and other punctuation removed. Equal to the toolkit's tokens on the fixture of
    tests/fixtures/ptb_captions.json. Where the PTB lexer has rules this does not, the two
    differ: rare abbreviations, "cannot" (PTB: "can not"), "gonna", "o'clock", "'90s",
    "'tis", URLs, and "&" inside a capitalised word (PTB keeps "AT&T" whole; lower-cased
    first, keyarch splits it, as PTB splits "black&white")."""
    text = text.lower().replace("\n", " ")
    tokens = _TOKEN.findall(_CONTRACTIONS.sub(r" \1", text))
    return [_BRACKETS.get(t, t) for t in tokens if t not in _PUNCTUATION]


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
