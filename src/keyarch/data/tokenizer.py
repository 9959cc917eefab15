"""Captions into words, as the COCO caption toolkit reads them before scoring.

The COCO toolkit (``pycocoevalcap``) tokenises with the Stanford PTB tokenizer, lower-cases
and drops punctuation; ``tokenize`` does the same in Python, so that the vocabulary a
captioner learns and the words BLEU counts (``keyarch.metrics.bleu``) are the toolkit's.
tests/test_bleu.py checks it against ``pycocoevalcap`` on fixtures.
"""

from __future__ import annotations

import re

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
