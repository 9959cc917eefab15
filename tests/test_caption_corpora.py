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


COLOURS = {"red": (200, 30, 30), "green": (30, 180, 30), "blue": (30, 30, 200)}


def _karpathy_coco(root, per_split=None):
    """COCO in its real layout: train2014/ and val2014/ photos, Karpathy's dataset_coco.json."""
    per_split = per_split or {"train": 6, "restval": 2, "val": 2, "test": 3}
    entries, number = [], 0
    for split, count in per_split.items():
        for _ in range(count):
            number += 1
            folder = "train2014" if split == "train" else "val2014"
            name = f"COCO_{folder}_{number:012d}.jpg"
            colour = list(COLOURS)[number % 3]
            _photo(root / folder / name, COLOURS[colour])
            sentences = [f"A {colour} square on a photo.", f"a {colour} square on a table"]
            entry = {"filepath": folder, "filename": name, "split": split, "cocoid": number}
            entries.append({**entry, "sentences": [{"raw": r, "tokens": []} for r in sentences]})
    (root / "dataset_coco.json").write_text(json.dumps({"images": entries, "dataset": "coco"}))
    return root


def test_coco_reads_karpathys_split_with_restval_in_training(tmp_path):
    from keyarch.data.caption_corpora import coco_splits

    root = _karpathy_coco(tmp_path)
    assert coco_splits(root) == ("train", "val", "test")
    sizes = {split: len(load_coco_captions(root, split)) for split in ("train", "val", "test")}
    assert sizes == {"train": 8, "val": 2, "test": 3}  # train and restval
    test = load_coco_captions(root, "test")
    assert all(f.parent.name == "val2014" and f.is_file() for f in test.files)
    assert test.captions[0][0].startswith("A ") and len(test.captions[0]) == 2
    (root / "dataset_coco.json").unlink()
    with pytest.raises(ValueError, match="test split is Karpathy's 5,000 images: put dataset_coco"):
        load_coco_captions(root, "test")
    (root / "dataset_coco.json").write_text('{"images": [{"split": "test"}]}')
    with pytest.raises(ValueError, match="not Karpathy's dataset_coco.json format"):
        load_coco_captions(root, "test")


def test_image_files_are_read_batch_by_batch(tmp_path, monkeypatch):
    from keyarch.data import caption_corpora
    from keyarch.data.caption_corpora import ImageFiles

    root = _karpathy_coco(tmp_path)
    files = ImageFiles(load_coco_captions(root, "train").files, 16)
    reads = []
    real = caption_corpora.read_rgb
    monkeypatch.setattr(caption_corpora, "read_rgb", lambda path: reads.append(path) or real(path))
    assert len(files) == 8 and not reads  # nothing read until a batch is asked for
    batch = files[torch.tensor([3, 1])]
    assert batch.shape == (2, 3, 16, 16) and batch.dtype == torch.uint8
    assert reads == [files.files[3], files.files[1]]
    assert files[0].shape == (3, 16, 16) and files[2:5].shape == (3, 3, 16, 16)
    assert len(reads) == 6  # read again each time: no copy kept
    assert files[torch.tensor(1)].shape == (3, 16, 16)
    files.files[0].unlink()
    with pytest.raises(ValueError, match="1 image file.s. not found, e.g. .*COCO_train2014"):
        ImageFiles(files.files, 16)


@pytest.mark.parametrize("dataset", ["flickr8k", "coco"])
def test_a_captioner_trains_on_a_corpus_in_its_real_layout(tmp_path, dataset, monkeypatch):
    from keyarch.data.caption_corpora import ImageFiles
    from keyarch.train import TrainConfig, get_recipe, train
    from keyarch.train.recipes import override
    from keyarch.train.tasks import captioning as task_module
    from keyarch.train.tasks.captioning import CaptionSettings

    root = tmp_path / "data"
    if dataset == "coco":
        _karpathy_coco(root)
    else:
        names = [f"{1000 + i}_abc.jpg" for i in range(12)]
        lines = []
        for i, name in enumerate(names):
            colour = list(COLOURS)[i % 3]
            _photo(root / "Flicker8k_Dataset" / name, COLOURS[colour])
            lines += [f"{name}#{k}\tA {colour} photo number {k} ." for k in range(5)]
        (root / "Flickr8k.token.txt").write_text("\n".join(lines) + "\n")
        for split, chosen in (("train", names[:8]), ("dev", names[8:10]), ("test", names[10:])):
            (root / f"Flickr_8k.{split}Images.txt").write_text("\n".join(chosen) + "\n")
    prepared = []
    prepare = task_module.prepare_caption_data

    def keep(*args):
        prepared.append(prepare(*args))
        return prepared[-1]

    monkeypatch.setattr("keyarch.train.tasks.captioning.prepare_caption_data", keep)
    recipe = override(get_recipe("show-and-tell-synthetic"), epochs=1, batch_size=4)
    settings = CaptionSettings(image_size=32, embed_size=16, hidden_size=16, min_count=1,
                               beam_size=2)  # fmt: skip
    summary = train(TrainConfig(model="resnet20", task="captioning", dataset=dataset,
                                data_dir=str(root), caption=settings, recipe=recipe, threads=1,
                                out=tmp_path / "runs", progress=False))  # fmt: skip
    data = prepared[0]
    assert isinstance(data.train.images, ImageFiles)  # read from disk, not held
    assert [s.name for s in data.finals] == ["test"]
    assert 0 <= summary["test_bleu4"] <= 1 and 0 <= summary["blind_test_bleu4"] <= 1
    assert summary["oracle_test_bleu4"] > 0.1
    assert "test_exact_match" not in summary  # no scenes: no structural scores
