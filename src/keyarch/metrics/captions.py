"""A captioner's scores: corpus BLEU-1..4 and, where the scenes are known, what its captions
say (``keyarch.metrics.scenes``), with the baselines beside them
(``keyarch.metrics.caption_baselines``)."""

from __future__ import annotations

from keyarch.metrics.bleu import bleu_scores
from keyarch.metrics.caption_baselines import baseline_scores


def caption_scores(generated: list[list[str]], references: list[list[str]],
                   scenes: list | None) -> dict[str, float]:  # fmt: skip
    """BLEU-1..4, and where the scenes are known the structural scores
    (``keyarch.metrics.scenes.SCORES``)."""
    scores = bleu_scores(generated, references)
    if scenes is not None:
        from keyarch.metrics.scenes import scene_scores

        scores.update(scene_scores(scenes, generated))
    return scores


def baseline_keys(split: str, references, scenes, blind: str) -> dict[str, float]:
    """The baselines of one split as flat keys: ``blind_test_bleu4``,
    ``reversed_test_relation_accuracy``, ``oracle_novel_exact_match``, ..."""
    return {
        f"{who}_{split}_{key}": value
        for who, scores in baseline_scores(references, scenes, blind).items()
        for key, value in scores.items()
    }


def final_split_line(scores: dict, split: str, beam_size: int) -> str:
    """One split's scores beside its baselines: what the run and ``caption eval`` print."""

    def part(who: str) -> str:
        prefix = f"{who}_{split}_" if who else f"{split}_"
        if f"{prefix}bleu4" not in scores:
            return ""
        text = f"BLEU-4 {scores[f'{prefix}bleu4']:.3f}"
        if f"{prefix}exact_match" in scores:
            text += (f", relation {scores[f'{prefix}relation_accuracy']:.3f}, exact match "
                     f"{scores[f'{prefix}exact_match']:.3f}")  # fmt: skip
        return f"{who or 'model'} {text}"

    parts = [part(who) for who in ("", "blind", "reversed", "oracle")]
    return f"{split} (beam {beam_size}): " + "; ".join(p for p in parts if p)
