"""Where chance, trivial strategies and a perfect captioner sit on the scores a captioner gets.

A score means little without its floor and its ceiling. For every split a captioning run
reports, keyarch scores three captioners that need no training beside the model:

* **blind**: one caption for every image, whatever it shows: the training caption with
  the best corpus BLEU-4 on training images (``blind_caption``: searched over a fixed
  sample of the training captions, scored on a fixed sample of training images). What a
  model that ignores its input can reach.
* **reversed** (scenes known, the synthetic set): for every image its first reference with
  the relation turned round ("a red circle right of a blue square" for a circle left of
  the square), every object right. What a metric blind to relations would call a good
  captioner; its relation accuracy is 0 by construction.
* **oracle**: a true caption, the first reference, scored against the other references
  (leave one out: against all of them it would score 1 trivially). What a perfect
  describer reaches given how the references vary.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Sequence

from keyarch.data.tokenizer import tokenize
from keyarch.metrics.bleu import bleu_scores


class _ConstantBleu:
    """Corpus BLEU-4 of one caption repeated for every image, against fixed references:
    the references' n-gram table counted once, so that many candidates are cheap."""

    def __init__(self, references: Sequence[Sequence[Sequence[str]]]) -> None:
        self.lengths = [sorted({len(r) for r in refs}) for refs in references]
        self.most = []  # per image: the most times each n-gram occurs in one reference
        for refs in references:
            table: Counter = Counter()
            for ref in refs:
                table |= Counter(tuple(ref[i : i + n]) for n in range(1, 5)
                                 for i in range(len(ref) - n + 1))  # fmt: skip
            self.most.append(table)

    def __call__(self, candidate: Sequence[str]) -> float:
        grams = Counter(tuple(candidate[i : i + n]) for n in range(1, 5)
                        for i in range(len(candidate) - n + 1))  # fmt: skip
        correct = [0] * 4
        reference_length = 0
        for most, lengths in zip(self.most, self.lengths, strict=True):
            for gram, count in grams.items():
                correct[len(gram) - 1] += min(count, most[gram])
            reference_length += min(lengths, key=lambda n: (abs(n - len(candidate)), n))
        images = len(self.most)
        candidate_length = len(candidate) * images
        guessed = [max(len(candidate) - n, 0) * images for n in range(4)]
        ratio = (candidate_length + 1e-9) / (reference_length + 1e-15)
        penalty = 1.0 if ratio >= 1 else math.exp(1 - 1 / ratio)
        log_sum = sum(
            math.log((c + 1e-15) / (g + 1e-9)) for c, g in zip(correct, guessed, strict=True)
        )
        return penalty * math.exp(log_sum / 4)


def blind_caption(train_references: Sequence[Sequence[str]], candidates: int = 300,
                  images: int = 300, seed: int = 0) -> str:  # fmt: skip
    """The blind captioner's one caption: of ``candidates`` distinct training captions
    (drawn with ``seed``), the one with the best corpus BLEU-4 on ``images`` training
    images (drawn likewise). Chosen on training data only: the test split is not looked at."""
    rng = random.Random(f"blind-{seed}")
    pool = sorted({c for refs in train_references for c in refs})
    chosen = rng.sample(pool, min(candidates, len(pool)))
    sample = rng.sample(range(len(train_references)), min(images, len(train_references)))
    score = _ConstantBleu([[tokenize(r) for r in train_references[i]] for i in sample])
    return max(chosen, key=lambda caption: (score(tokenize(caption)), caption))


def reversed_captions(scenes) -> list[str]:
    """For every scene, its first reference with the relation turned round (a scene of one
    thing: its first reference, which states no relation)."""
    from keyarch.data.synthetic_captions import Scene, captions, opposite

    return [captions(Scene(s.things, opposite(s.relation)) if s.relation else s)[0] for s in scenes]


def _bleu(captions: Sequence[str], references: Sequence[Sequence[str]]) -> dict[str, float]:
    return bleu_scores([tokenize(c) for c in captions], references)


def baseline_scores(references: Sequence[Sequence[str]], scenes, blind: str) -> dict[str, dict]:
    """BLEU-1..4 (and the structural scores, where ``scenes`` are known) of the blind,
    reversed and oracle captioners on one split: ``{"blind": {...}, ...}``."""
    from keyarch.metrics.scenes import scene_scores

    results = {"blind": _bleu([blind] * len(references), references)}
    if all(len(refs) > 1 for refs in references):
        results["oracle"] = _bleu(
            [refs[0] for refs in references], [refs[1:] for refs in references]
        )
    if scenes is not None:
        results["blind"].update(scene_scores(scenes, [blind] * len(scenes)))
        flipped = reversed_captions(scenes)
        results["reversed"] = {**_bleu(flipped, references), **scene_scores(scenes, flipped)}
        if "oracle" in results:
            results["oracle"].update(scene_scores(scenes, [refs[0] for refs in references]))
    return results
