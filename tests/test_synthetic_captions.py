"""The synthetic captioned images: deterministic, captions true to the pixels, held-out
colour-shape pairs absent from training and present in every novel image."""

import random

import numpy as np
import pytest
import torch

from keyarch.data.synthetic_captions import (
    COLOURS,
    HELD_OUT,
    Scene,
    SyntheticCaptions,
    Thing,
    captions,
    render,
)


def test_the_same_seed_gives_the_same_images_and_captions():
    a, b = SyntheticCaptions("val", count=50, seed=3), SyntheticCaptions("val", count=50, seed=3)
    assert torch.equal(a.images, b.images) and a.captions == b.captions
    assert not torch.equal(a.images, SyntheticCaptions("val", count=50, seed=4).images)
    image, refs = a[0]
    assert image.shape == (3, 64, 64) and image.dtype == torch.uint8 and len(refs) >= 3


def test_held_out_pairs_appear_only_in_the_novel_split():
    held = set(HELD_OUT)
    for split in ("train", "val", "test"):
        data = SyntheticCaptions(split, count=400)
        assert not {(t.colour, t.shape) for s in data.scenes for t in s.things} & held
    novel = SyntheticCaptions("novel", count=200)
    assert all({(t.colour, t.shape) for t in s.things} & held for s in novel.scenes)


def _centroid(image: np.ndarray, colour) -> np.ndarray:
    ys, xs = np.nonzero((image == np.array(colour)).all(axis=-1))
    return np.array([xs.mean(), ys.mean()])


@pytest.mark.parametrize("relation", ["left of", "right of", "above", "below"])
def test_the_caption_says_where_the_shapes_are(relation):
    rng = random.Random(0)
    scene = Scene((Thing("red", "circle", "small"), Thing("blue", "square", "large")), relation)
    for _ in range(20):
        image = render(scene, 64, rng)
        red, blue = _centroid(image, COLOURS["red"]), _centroid(image, COLOURS["blue"])
        dx, dy = blue - red
        assert {"left of": dx > 0, "right of": dx < 0, "above": dy > 0, "below": dy < 0}[relation]
        # the two never overlap: all of both shapes is visible
        assert (image == np.array(COLOURS["red"])).all(-1).sum() > 0.6 * (0.22 * 64) ** 2


def test_captions_name_both_orders_and_the_relation():
    scene = Scene((Thing("red", "circle", "small"), Thing("blue", "square", "large")), "left of")
    refs = captions(scene)
    assert refs[0] == "a small red circle left of a large blue square"
    assert "a large blue square right of a small red circle" in refs
    assert "a red circle to the left of a blue square" in refs


def test_bad_splits_and_sizes_are_named():
    with pytest.raises(ValueError, match="unknown split 'training'"):
        SyntheticCaptions("training")
    with pytest.raises(ValueError, match="size must be at least 32"):
        SyntheticCaptions("val", size=16)


def test_every_reference_states_the_relation_of_a_two_thing_scene():
    from keyarch.data.synthetic_captions import RELATIONS

    for scene in SyntheticCaptions("train", size=32, count=300).scenes:
        for ref in captions(scene):
            if len(scene.things) == 2:
                assert " and " not in ref and any(r.split()[0] in ref.split() for r in RELATIONS)


def test_no_test_scene_occurs_in_training():
    from keyarch.data.synthetic_captions import canonical, scene_split

    train = SyntheticCaptions("train", size=32)
    seen = {canonical(s) for s in train.scenes}
    assert all(scene_split(s) == "train" for s in train.scenes)
    for split in ("val", "test", "novel"):
        data = SyntheticCaptions(split, size=32)
        assert not seen & {canonical(s) for s in data.scenes}, split
    # "B right of A" is the scene "A left of B": the two names fall in one split
    a, b = Thing("red", "circle", "small"), Thing("blue", "square", "large")
    assert canonical(Scene((b, a), "right of")) == Scene((a, b), "left of")
    assert scene_split(Scene((b, a), "right of"), 5) == scene_split(Scene((a, b), "left of"), 5)
    # yet the test split is made of things the training split shows, in other scenes
    things = {t for s in train.scenes for t in s.things}
    assert {t for s in SyntheticCaptions("test", size=32).scenes for t in s.things} <= things


@pytest.mark.parametrize(("size", "train_count"), [(32, None), (64, None), (224, 2000)])
def test_no_test_or_novel_image_equals_a_training_image(size, train_count):
    import hashlib

    def digests(data):
        return {hashlib.sha1(image.numpy().tobytes()).hexdigest() for image in data.images}

    train = digests(SyntheticCaptions("train", size=size, count=train_count))
    for split in ("val", "test", "novel"):
        count = None if train_count is None else 500
        assert not train & digests(SyntheticCaptions(split, size=size, count=count)), split
