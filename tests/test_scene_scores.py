"""What a caption says, scored against its scene: the structural scores of the synthetic
captions, and the baselines every captioning report sets beside the model."""

import pytest

from keyarch.data.synthetic_captions import Scene, SyntheticCaptions, Thing, captions
from keyarch.metrics.caption_baselines import baseline_scores, blind_caption, reversed_captions
from keyarch.metrics.scenes import read_caption, scene_scores, score_caption

CIRCLE, SQUARE = Thing("red", "circle", "small"), Thing("blue", "square", "large")
LEFT = Scene((CIRCLE, SQUARE), "left of")


def test_every_reference_is_a_whole_true_description():
    data = SyntheticCaptions("test", size=32, count=300)
    for scene, refs in zip(data.scenes, data.captions, strict=True):
        for ref in refs:
            scores = score_caption(scene, ref)
            assert scores["well_formed"] == 1 and scores["count_right"] == 1, ref
            assert scores["object_hits"] == scores["colour_hits"] == len(scene.things), ref
            assert scores["relation_right"] == scores["relations"], ref
        # the first reference states every size: an exact match
        assert score_caption(scene, refs[0])["exact"] == 1


@pytest.mark.parametrize(
    ("caption", "relation_right", "exact"),
    [
        ("a small red circle left of a large blue square", 1, 1),
        ("a large blue square right of a small red circle", 1, 1),  # the other order
        ("a red circle to the left of a blue square", 1, 0),  # true, sizes unsaid
        ("a small red circle right of a large blue square", 0, 0),  # reversed
        ("a large blue square left of a small red circle", 0, 0),  # reversed, other order
        ("a small red circle above a large blue square", 0, 0),  # wrong axis
        ("a small red circle and a large blue square", 0, 0),  # no relation stated
        ("a small red circle", 0, 0),  # one thing named
        ("a small red circle left of a large blue", 0, 0),  # cut short
    ],
)
def test_the_relation_is_judged_by_which_thing_is_where(caption, relation_right, exact):
    scores = score_caption(LEFT, caption)
    assert (scores["relation_right"], scores["exact"]) == (relation_right, exact)


def test_a_caption_outside_the_grammar_keeps_credit_for_the_things_it_names():
    reading = read_caption("a small red circle left of a large blue")
    assert not reading.well_formed and len(reading.mentions) == 1
    scores = score_caption(LEFT, "a small red circle left of a large blue")
    assert scores["object_hits"] == 1 and scores["count_right"] == 0
    one = Scene((CIRCLE,), None)
    assert score_caption(one, "a small red circle on a dark background")["exact"] == 1
    assert score_caption(one, "a small red circle on a dark")["exact"] == 0
    wrong = score_caption(LEFT, "a small green circle left of a large blue cross")
    assert (wrong["object_hits"], wrong["colour_hits"], wrong["size_hits"]) == (1, 1, 2)
    assert wrong["relation_right"] == 1 and wrong["exact"] == 0  # which is which is clear
    # naming neither thing says nothing about this scene: no relation can be right
    assert score_caption(LEFT, "a green cross left of a white triangle")["relation_right"] == 0
    alike = Scene((CIRCLE, Thing("red", "circle", "large")), "left of")
    assert score_caption(alike, "a small red circle left of a large red circle")["exact"] == 1
    assert score_caption(alike, "a large red circle left of a small red circle")["exact"] == 0
    # two alike things named alike: true either way
    assert score_caption(alike, "a red circle left of a red circle")["relation_right"] == 1
    # colours and shapes crossed: both orders agree as well; true in one only: not right
    crossed = "a small red square right of a large blue circle"
    assert score_caption(LEFT, crossed)["relation_right"] == 0


def test_the_reversed_relation_oracle_scores_zero_on_relation_and_high_on_bleu():
    data = SyntheticCaptions("test", size=32, count=400)
    flipped = reversed_captions(data.scenes)
    scores = scene_scores(data.scenes, flipped)
    assert scores["relation_accuracy"] == 0
    assert scores["object_accuracy"] == scores["colour_accuracy"] == scores["size_accuracy"] == 1
    baselines = baseline_scores(data.captions, data.scenes, "a small red circle")
    # BLEU cannot tell: the reversed captions score above the leave-one-out true ones
    assert baselines["reversed"]["bleu4"] > 0.7
    assert baselines["reversed"]["relation_accuracy"] == 0
    assert baselines["oracle"]["exact_match"] == baselines["oracle"]["relation_accuracy"] == 1


def test_the_blind_caption_is_chosen_on_training_images_and_describes_no_scene():
    train = SyntheticCaptions("train", size=32, count=600)
    caption = blind_caption(train.captions, candidates=50, images=100)
    assert caption == blind_caption(train.captions, candidates=50, images=100)
    assert caption in {c for refs in train.captions for c in refs}
    test = SyntheticCaptions("test", size=32, count=300)
    scores = baseline_scores(test.captions, test.scenes, caption)["blind"]
    assert scores["exact_match"] == 0 and 0.1 < scores["bleu4"] < 0.4


def test_scene_scores_name_mismatched_inputs():
    with pytest.raises(ValueError, match="2 scenes but 1 captions"):
        scene_scores([LEFT, LEFT], ["a small red circle"])
    assert captions(LEFT)[0] == "a small red circle left of a large blue square"
