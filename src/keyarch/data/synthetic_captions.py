"""Synthetic captioned images: shapes with colours, sizes and positions, described in words.

Each image shows one or two shapes on a plain background; its captions say what they are
and where ("a small red circle left of a large blue square"), several phrasings per image
(the shapes named in either order, with "to the left of"/"left of", sizes given or not),
as a captioning corpus has several references per image. Every reference states the
relation: a caption that hedges ("A and B") matches none of them in full.

Because the captions are built from parts, a model can be asked to describe what it never
saw, in two ways:

* ``test`` (and ``val``) show *scenes* that never occur in training: every scene (its
  things, their sizes and the relation, "A left of B" being the same scene as "B right of
  A") belongs to exactly one of train, val and test, chosen by a hash of the scene and the
  seed (``scene_split``). Different scenes never render to the same pixels, so no test
  image equals a training image at any size. A test scene's things all occur in training,
  in other scenes: "A left of B" may be trained, "B left of A" then is not.
* ``novel`` shows at least one colour-shape pair of ``HELD_OUT``, which no training,
  validation or test image shows.

Since the scenes are known, captions are scored by what they say as well as by BLEU
(``keyarch.metrics.scenes``).

Everything is a pure function of the seed: the same seed gives the same images, captions
and splits on every machine.
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, ImageDraw

from keyarch.errors import BadInput

COLOURS = {
    "red": (220, 40, 40),
    "green": (40, 170, 60),
    "blue": (40, 80, 220),
    "yellow": (235, 205, 40),
    "purple": (140, 60, 180),
    "white": (245, 245, 245),
}
SHAPES = ("circle", "square", "triangle", "cross")
SIZES = {"small": 0.22, "large": 0.38}  # side of the shape's box, as a fraction of the image
# Colour-shape pairs that appear only in the ``novel`` split.
HELD_OUT = (("red", "triangle"), ("green", "circle"), ("blue", "cross"), ("yellow", "square"))
SPLITS = ("train", "val", "test", "novel")
# The share of all scenes (of the allowed colour-shape pairs) that each split draws from:
# disjoint pools, 100 buckets of a hash of the scene.
SCENE_POOLS = {"train": range(0, 80), "val": range(80, 86), "test": range(86, 100)}
BACKGROUND = (30, 30, 30)


@dataclass(frozen=True)
class Thing:
    colour: str
    shape: str
    size: str


@dataclass(frozen=True)
class Scene:
    """What one image shows: one thing, or two with the relation of the first to the second."""

    things: tuple[Thing, ...]
    relation: str | None  # "left of", "right of", "above", "below"


_OPPOSITE = {"left of": "right of", "right of": "left of", "above": "below", "below": "above"}
RELATIONS = tuple(_OPPOSITE)


def opposite(relation: str) -> str:
    """The relation of the second thing to the first: "left of" -> "right of"."""
    return _OPPOSITE[relation]


def canonical(scene: Scene) -> Scene:
    """One name for a scene: "B right of A" and "A left of B" are the same picture, named
    with "left of" or "above"."""
    if scene.relation in ("right of", "below"):
        first, second = scene.things
        return Scene((second, first), _OPPOSITE[scene.relation])
    return scene


def scene_split(scene: Scene, seed: int = 0) -> str:
    """The split whose pool holds ``scene`` ("train", "val" or "test"): a hash of the
    canonical scene and the seed, so that the pools are disjoint and stable."""
    key = f"{seed}|{canonical(scene)!r}".encode()
    bucket = zlib.crc32(key) % 100
    return next(name for name, pool in SCENE_POOLS.items() if bucket in pool)


def _phrase(thing: Thing, with_size: bool) -> str:
    words = [thing.size] if with_size else []
    return " ".join(["a", *words, thing.colour, thing.shape])


def captions(scene: Scene) -> list[str]:
    """Every reference caption of a scene, lower case, without punctuation."""
    if len(scene.things) == 1:
        (thing,) = scene.things
        return [_phrase(thing, True), _phrase(thing, False),
                f"{_phrase(thing, True)} on a dark background"]  # fmt: skip
    first, second = scene.things
    relation = scene.relation
    long_form = {"left of": "to the left of", "right of": "to the right of"}.get(relation, relation)
    return [
        f"{_phrase(first, True)} {relation} {_phrase(second, True)}",
        f"{_phrase(second, True)} {_OPPOSITE[relation]} {_phrase(first, True)}",
        f"{_phrase(first, False)} {long_form} {_phrase(second, False)}",
    ]


def _draw_thing(draw: ImageDraw.ImageDraw, thing: Thing, centre, side: float) -> None:
    x, y = centre
    half = side / 2
    box = (x - half, y - half, x + half, y + half)
    fill = COLOURS[thing.colour]
    if thing.shape == "circle":
        draw.ellipse(box, fill=fill)
    elif thing.shape == "square":
        draw.rectangle(box, fill=fill)
    elif thing.shape == "triangle":
        draw.polygon([(x, y - half), (x - half, y + half), (x + half, y + half)], fill=fill)
    else:  # cross
        bar = side / 3
        draw.rectangle((x - half, y - bar / 2, x + half, y + bar / 2), fill=fill)
        draw.rectangle((x - bar / 2, y - half, x + bar / 2, y + half), fill=fill)


def render(scene: Scene, size: int, rng: random.Random) -> np.ndarray:
    """The image of ``scene`` (size x size x 3, uint8), positions jittered by ``rng``."""
    image = Image.new("RGB", (size, size), BACKGROUND)
    draw = ImageDraw.Draw(image)
    sides = [SIZES[t.size] * size for t in scene.things]
    if len(scene.things) == 1:
        margin = sides[0] / 2 + 1
        centre = (rng.uniform(margin, size - margin), rng.uniform(margin, size - margin))
        _draw_thing(draw, scene.things[0], centre, sides[0])
        return np.asarray(image)
    # the first thing in one half, the second in the other, along the relation's axis
    horizontal = scene.relation in ("left of", "right of")
    first_low = scene.relation in ("left of", "above")
    centres = []
    for index, side in enumerate(sides):
        low = (index == 0) == first_low
        margin = side / 2 + 1
        # each wholly in its own half: the two never overlap
        along = (
            rng.uniform(margin, size / 2 - margin)
            if low
            else rng.uniform(size / 2 + margin, size - margin)
        )
        across = rng.uniform(margin, size - margin)
        centres.append((along, across) if horizontal else (across, along))
    for thing, centre, side in zip(scene.things, centres, sides, strict=True):
        _draw_thing(draw, thing, centre, side)
    return np.asarray(image)


def _random_thing(rng: random.Random, allowed) -> Thing:
    colour, shape = rng.choice(allowed)
    return Thing(colour, shape, rng.choice(tuple(SIZES)))


def _scene(rng: random.Random, allowed, novel: bool) -> Scene:
    """A random scene of ``allowed`` colour-shape pairs; with ``novel``, one thing is held
    out."""
    two = rng.random() < 0.75
    things = [_random_thing(rng, HELD_OUT if novel else allowed)]
    if two:
        things.append(_random_thing(rng, allowed))
        if things[0] == things[1]:
            things[1] = Thing(
                things[1].colour, things[1].shape, "small" if things[0].size == "large" else "large"
            )
        rng.shuffle(things)
        return Scene(tuple(things), rng.choice(tuple(_OPPOSITE)))
    return Scene(tuple(things), None)


class SyntheticCaptions(torch.utils.data.Dataset):
    """One split of the synthetic captioned images: ``dataset[i]`` is (uint8 image tensor
    3 x size x size, list of reference captions); ``scenes`` says what each image shows."""

    def __init__(self, split: str = "train", *, size: int = 64, count: int | None = None,
                 seed: int = 0) -> None:  # fmt: skip
        if split not in SPLITS:
            raise BadInput(
                f"synthetic captions: unknown split {split!r}; expected {', '.join(SPLITS)}"
            )
        if size < 32:
            raise BadInput(f"--image-size {size}: the synthetic captions' size must be at "
                           "least 32 pixels")  # fmt: skip
        default = {"train": 8000, "val": 500, "test": 1000, "novel": 1000}
        self.split, self.size = split, size
        count = default[split] if count is None else count
        held = set(HELD_OUT)
        allowed = [(c, s) for c in COLOURS for s in SHAPES if (c, s) not in held]
        rng = random.Random(f"{seed}-{split}")
        self.scenes = []
        while len(self.scenes) < count:
            scene = _scene(rng, allowed, split == "novel")
            # novel scenes hold a held-out pair: no other split can have them
            if split == "novel" or scene_split(scene, seed) == split:
                self.scenes.append(scene)
        self.images = torch.from_numpy(
            np.stack([render(scene, size, rng) for scene in self.scenes])
        ).permute(0, 3, 1, 2).contiguous()  # fmt: skip
        self.captions = [captions(scene) for scene in self.scenes]

    def __len__(self) -> int:
        return len(self.scenes)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, list[str]]:
        return self.images[index], self.captions[index]
