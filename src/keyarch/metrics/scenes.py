"""Scores of what a caption says about a known scene: objects, colours, sizes, the relation.

BLEU counts shared word sequences, so a caption with every object right and the relation
reversed ("a red circle right of a blue square" for a circle left of the square) shares
almost every 4-gram with the references and scores nearly as well as the right one. On
keyarch's synthetic captions the scene behind every image is known, so each generated
caption is parsed back into the things it names and the relation it states, and compared
with the scene:

* the caption's things are matched to the scene's (in whichever order agrees best);
* *object accuracy*: the share of the scene's things named with the right shape;
  *colour accuracy*, *size accuracy* likewise (a size left unsaid is not right);
* *count accuracy*: the share of captions naming as many things as the scene has;
* *relation accuracy*, over the scenes of two things: the caption states the relation of
  its first thing to its second, and that is the scene's relation between the two things
  they were matched to ("B right of A" is right for "A left of B"; "A and B", or one thing
  named, states none and is wrong). Each named thing must be recognisably its thing (its
  shape or its colour right): a caption naming neither thing states nothing about this
  scene; where both orders agree equally well (colours and shapes crossed), the relation
  must hold in both; of two things named alike, in either;
* *exact match*: a well-formed caption that names every thing with its size, colour and
  shape, nothing more, and the right relation: a whole, true description;
* *well formed*: the caption is a sentence of the references' grammar.

A caption is read leniently for the per-thing scores (each "a [size] colour shape" is
found wherever it stands), strictly for well-formedness and exact match.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from keyarch.data.synthetic_captions import COLOURS, SHAPES, SIZES, Scene, opposite
from keyarch.errors import BadInput

# every phrase a reference uses for a relation, as tokens, longest first
_RELATION_WORDS = {
    ("to", "the", "left", "of"): "left of",
    ("to", "the", "right", "of"): "right of",
    ("left", "of"): "left of",
    ("right", "of"): "right of",
    ("above",): "above",
    ("below",): "below",
}
_ENDING = ("on", "a", "dark", "background")  # a single thing's third reference ends so
SCORES = ("object_accuracy", "colour_accuracy", "size_accuracy", "count_accuracy",
          "relation_accuracy", "exact_match", "well_formed")  # fmt: skip


@dataclass(frozen=True)
class Mention:
    """One thing a caption names: "a [size] colour shape" (size None when unsaid)."""

    colour: str
    shape: str
    size: str | None


@dataclass(frozen=True)
class Reading:
    """What a caption says: the things it names in order, the relation it states between
    the first two (None: none stated), and whether it is a sentence of the grammar."""

    mentions: tuple[Mention, ...]
    relation: str | None
    well_formed: bool


def _mention_at(tokens: Sequence[str], i: int) -> tuple[Mention, int] | None:
    """The mention starting at ``tokens[i]`` ("a" [size] colour shape) and where it ends."""
    if i >= len(tokens) or tokens[i] != "a":
        return None
    j = i + 1
    size = tokens[j] if j < len(tokens) and tokens[j] in SIZES else None
    j += size is not None
    if j + 1 < len(tokens) and tokens[j] in COLOURS and tokens[j + 1] in SHAPES:
        return Mention(tokens[j], tokens[j + 1], size), j + 2
    return None


def _relation_at(tokens: Sequence[str], i: int) -> tuple[str, int] | None:
    for words, relation in _RELATION_WORDS.items():
        if tuple(tokens[i : i + len(words)]) == words:
            return relation, i + len(words)
    return None


def read_caption(caption: str | Sequence[str]) -> Reading:
    """Parse a caption (a string or its tokens) into the things and the relation it states.

    Grammar of a well-formed caption: ``mention [relation mention | "on a dark
    background"]``. Outside it, every mention is still found, and the relation is the one
    phrase standing between the first two mentions, if any."""
    tokens = caption.split() if isinstance(caption, str) else list(caption)
    mentions: list[tuple[Mention, int, int]] = []  # mention, start, end
    i = 0
    while i < len(tokens):
        found = _mention_at(tokens, i)
        if found:
            mentions.append((found[0], i, found[1]))
            i = found[1]
        else:
            i += 1
    relation = None
    if len(mentions) >= 2:
        between = _relation_at(tokens, mentions[0][2])
        if between and between[1] == mentions[1][1]:
            relation = between[0]
    if len(mentions) == 1:
        end = mentions[0][2]
        well_formed = mentions[0][1] == 0 and tuple(tokens[end:]) in ((), _ENDING)
    elif len(mentions) == 2:
        well_formed = (mentions[0][1] == 0 and relation is not None
                       and mentions[1][2] == len(tokens))  # fmt: skip
    else:
        well_formed = False
    return Reading(tuple(m for m, _, _ in mentions), relation, well_formed)


def _hits(mention: Mention | None, thing) -> tuple[int, int, int]:
    """(shape right, colour right, size said and right) of a mention against a thing."""
    if mention is None:
        return 0, 0, 0
    return (
        int(mention.shape == thing.shape),
        int(mention.colour == thing.colour),
        int(mention.size == thing.size),
    )


def score_caption(scene: Scene, caption: str | Sequence[str]) -> dict[str, int]:
    """Counts for one image: things, object/colour/size hits, count right, whether a
    relation is to be judged and is right, exact and well formed (0 or 1 each)."""
    reading = read_caption(caption)
    things, mentions = scene.things, reading.mentions
    # the pairing of the caption's first mentions with the scene's things that agrees best
    # (a tie keeps the caption's order)
    orders = [(0, 1), (1, 0)] if len(things) == 2 else [(0,)]
    candidates = []  # (agreement, order, hits) of each pairing
    for order in orders:
        paired = [mentions[k] if k < len(mentions) else None for k in order]
        hits = [_hits(m, t) for m, t in zip(paired, things, strict=True)]
        candidates.append((sum(map(sum, hits)), order, hits))
    best = max(agreement for agreement, _, _ in candidates)
    best_order, best_hits = next((o, h) for a, o, h in candidates if a == best)  # ties: as said
    count_right = len(mentions) == len(things)
    relation_right = 0
    if len(things) == 2 and count_right and reading.relation is not None:
        # the caption says: mention 0 <relation> mention 1. Right when it holds under a pairing
        # that agrees best with the scene and in which every named thing is recognisably
        # its thing (its shape or its colour right): a caption naming neither thing states
        # nothing about this scene's relation; two alike things may be named either way
        verdicts = [
            (reading.relation if order == (0, 1) else opposite(reading.relation)) == scene.relation
            for agreement, order, hits in candidates
            if agreement == best and all(h[0] or h[1] for h in hits)
        ]
        # two pairings agreeing equally well (colours and shapes crossed): right only if
        # right under both; two things named alike: one statement, right under either
        alike = mentions[0] == mentions[1]
        relation_right = int(bool(verdicts) and (any(verdicts) if alike else all(verdicts)))
    every_thing = all(h == (1, 1, 1) for h in best_hits)
    exact = reading.well_formed and count_right and every_thing
    if len(things) == 2:
        exact = exact and bool(relation_right)
    return {
        "things": len(things),
        "object_hits": sum(h[0] for h in best_hits),
        "colour_hits": sum(h[1] for h in best_hits),
        "size_hits": sum(h[2] for h in best_hits),
        "count_right": int(count_right),
        "relations": int(len(things) == 2),
        "relation_right": relation_right,
        "exact": int(exact),
        "well_formed": int(reading.well_formed),
    }


def scene_scores(scenes: Sequence[Scene], captions: Sequence[str | Sequence[str]]) -> dict:
    """The structural scores (``SCORES``) of one caption per scene, each in [0, 1]."""
    if len(scenes) != len(captions):
        raise BadInput(f"scene_scores: {len(scenes)} scenes but {len(captions)} captions")
    if not scenes:
        raise BadInput("scene_scores: no scenes")
    total: dict[str, int] = {}
    for scene, caption in zip(scenes, captions, strict=True):
        for key, value in score_caption(scene, caption).items():
            total[key] = total.get(key, 0) + value
    images = len(scenes)
    return {
        "object_accuracy": total["object_hits"] / total["things"],
        "colour_accuracy": total["colour_hits"] / total["things"],
        "size_accuracy": total["size_hits"] / total["things"],
        "count_accuracy": total["count_right"] / images,
        # no scene of two things: no relation to judge
        "relation_accuracy": total["relation_right"] / total["relations"]
        if total["relations"]
        else float("nan"),
        "exact_match": total["exact"] / images,
        "well_formed": total["well_formed"] / images,
    }
