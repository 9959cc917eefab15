"""Flickr8k and COCO captions read from small fixture files written in their exact formats;
malformed files are reported with their path and line."""

import json

import pytest
import torch
from PIL import Image

from keyarch.data.caption_corpora import load_coco_captions, load_flickr8k


def _photo(path, colour=(200, 30, 30)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (40, 30), colour).save(path)


@pytest.fixture
def flickr(tmp_path):
    for name in ("1000268201_693b08cb0e.jpg", "1001773457_577c3a7d70.jpg"):
        _photo(tmp_path / "Flicker8k_Dataset" / name)
    (tmp_path / "Flickr8k.token.txt").write_text(
        "1000268201_693b08cb0e.jpg#0\tA child in a pink dress is climbing up a set of stairs .\n"
        "1000268201_693b08cb0e.jpg#1\tA girl going into a wooden building .\n"
        "1001773457_577c3a7d70.jpg#0\tA black dog and a spotted dog are fighting\n"
        "1001773457_577c3a7d70.jpg#1\tTwo dogs on pavement moving toward each other .\n"
    )
    (tmp_path / "Flickr_8k.trainImages.txt").write_text("1001773457_577c3a7d70.jpg\n")
    (tmp_path / "Flickr_8k.devImages.txt").write_text("")
    (tmp_path / "Flickr_8k.testImages.txt").write_text("1000268201_693b08cb0e.jpg\n")
    return tmp_path


def test_flickr8k_reads_captions_per_image_and_split(flickr):
    train = load_flickr8k(flickr, "train")
    assert len(train) == 1 and train.title == "Flickr8k train"
    image, captions = train[0]
    assert image.shape == (3, 30, 40) and image.dtype == torch.uint8
    assert captions == ["A black dog and a spotted dog are fighting",
                        "Two dogs on pavement moving toward each other ."]  # fmt: skip
    assert load_flickr8k(flickr, "test").captions[0][1] == "A girl going into a wooden building ."


def test_flickr8k_errors_name_the_file_and_line(flickr):
    with open(flickr / "Flickr8k.token.txt", "a") as handle:
        handle.write("no tab here\n")
    with pytest.raises(ValueError, match=r"Flickr8k.token.txt:5: expected IMAGE.jpg#N<TAB>caption"):
        load_flickr8k(flickr)
    with pytest.raises(ValueError, match="unknown split 'dev'"):
        load_flickr8k(flickr, "dev")
    with pytest.raises(ValueError, match="Flickr8k.token.txt: not found"):
        load_flickr8k(flickr / "elsewhere")


def test_coco_captions_group_annotations_by_image(tmp_path):
    _photo(tmp_path / "val2014" / "COCO_val2014_000000000042.jpg")
    _photo(tmp_path / "val2014" / "COCO_val2014_000000000073.jpg", (0, 0, 200))
    document = {
        "info": {}, "licenses": [],
        "images": [{"id": i, "file_name": f"COCO_val2014_{i:012d}.jpg", "width": 40, "height": 30}
                   for i in (73, 42)],
        "annotations": [{"image_id": 42, "id": 1, "caption": "A red square. "},
                        {"image_id": 73, "id": 2, "caption": "A blue square"},
                        {"image_id": 42, "id": 3, "caption": "Something red"}],
    }  # fmt: skip
    (tmp_path / "annotations").mkdir()
    (tmp_path / "annotations" / "captions_val2014.json").write_text(json.dumps(document))
    corpus = load_coco_captions(tmp_path, "val")
    assert [f.name for f in corpus.files] == ["COCO_val2014_000000000042.jpg",
                                              "COCO_val2014_000000000073.jpg"]  # fmt: skip
    assert corpus.captions == [["A red square.", "Something red"], ["A blue square"]]
    image, _ = corpus[1]
    assert image[2].float().mean() == 200
    del document["images"][0]
    (tmp_path / "annotations" / "captions_val2014.json").write_text(json.dumps(document))
    with pytest.raises(ValueError, match="captions of image ids not in 'images', e.g. 73"):
        load_coco_captions(tmp_path, "val")
