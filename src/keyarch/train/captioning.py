"""Captioning in the training engine: the data, the task and the model of a Show and Tell run.

``train(TrainConfig(model="efficientnet_lite0", task="captioning", dataset="synthetic"))``
runs the same loop as classification (checkpoints, resume, Ctrl-C, metrics.csv, curves,
summary.json); what differs is here:

* ``CaptionData``: images (the synthetic set's uint8 in memory on the training device, a
  corpus's read from disk batch by batch: ``ImageFiles``) with their reference
  captions encoded by a ``Vocabulary`` built from the training captions. Each epoch shows
  every training image once, with one of its references drawn from (seed, epoch, batch)
  (im2txt shows every image-caption pair; with 3-5 references per image that is the same
  data in more steps). Images are not flipped or cropped: "left of" must stay left.
* ``CaptioningTask``: teacher-forced cross-entropy over the words (padding ignored),
  next-word accuracy while training; after each epoch the validation split is decoded
  greedily and scored with corpus BLEU-1..4; at the end the test splits (for the synthetic
  set ``test``, scenes never seen in training, and ``novel``, the held-out colour-shape
  pairs) are decoded with beam search. Where the scenes are known (the synthetic set) the
  captions are also scored by what they say (``keyarch.data.scene_scores``: object,
  colour, size and relation accuracy, exact match), and every final split is reported
  beside its floor and ceiling (``keyarch.train.caption_baselines``: a blind captioner,
  the references with the relation reversed, a leave-one-out oracle).
* ``build_captioner`` / ``load_captioner``: the model and its vocabulary, saved together in
  ``model.safetensors`` (the vocabulary and sizes in its metadata).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

from keyarch.data.images import IMAGENET_MEAN, IMAGENET_STD
from keyarch.data.vocabulary import MIN_WORD_COUNT, SPECIALS, Vocabulary
from keyarch.errors import BadInput
from keyarch.models.captioning import CaptionerConfig, ShowAndTell
from keyarch.train.bleu import bleu_scores
from keyarch.train.caption_baselines import baseline_scores, blind_caption
from keyarch.train.distributed import Context, epoch_batches, sum_across

MAX_CAPTION_LENGTH = 200  # words; COCO's and Flickr8k's longest captions are under 60

CAPTION_DATASETS = ("synthetic", "flickr8k", "coco")


@dataclass(frozen=True)
class CaptionSettings:
    """What a captioning run adds to a classification one (``keyarch caption train``)."""

    embed_size: int = 512  # Show and Tell: word and image embeddings 512
    hidden_size: int = 512  # Show and Tell: LSTM memory 512
    num_layers: int = 1
    dropout: float = 0.3  # im2txt: LSTM dropout keep probability 0.7
    freeze_encoder: bool = False  # True: the CNN is a fixed feature extractor
    encoder_lr_scale: float = 0.1  # the encoder's learning rate / the decoder's (assumed)
    pretrained_encoder: bool = False  # start the CNN from ImageNet weights (keyarch's)
    min_count: int = MIN_WORD_COUNT  # rarer words in the training captions become <unk>
    max_length: int = 20  # words a generated caption may have
    beam_size: int = 3  # the final evaluation's beam (the journal version's best model)
    length_penalty: float = 0.0
    image_size: int = 64  # synthetic images' side; corpus images are resized to it

    def __post_init__(self) -> None:
        for name in ("embed_size", "hidden_size", "num_layers", "min_count", "max_length",
                     "beam_size", "image_size"):  # fmt: skip
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise BadInput(f"{name} must be a whole number of at least 1, got {value!r}")
        if not 0 <= self.dropout < 1:
            raise BadInput(f"dropout must be in [0, 1), got {self.dropout!r}")
        if not self.encoder_lr_scale >= 0:
            raise BadInput(f"encoder_lr_scale must be at least 0, got {self.encoder_lr_scale!r}")
        if self.length_penalty < 0:
            raise BadInput(f"length_penalty must be at least 0, got {self.length_penalty!r}")
        if self.max_length > MAX_CAPTION_LENGTH:
            raise BadInput(f"--max-length {self.max_length}: longer than {MAX_CAPTION_LENGTH} "
                           "words (no caption corpus has a caption that long)")  # fmt: skip


@dataclass
class CaptionSplit:
    """Images (uint8, N x 3 x S x S) and the encoded references of each."""

    name: str
    images: torch.Tensor
    references: list[list[str]]  # raw captions, several per image
    encoded: list[list[list[int]]]  # per image, per reference: <start> .. <end>
    scenes: list | None = None  # what each image shows, where known (the synthetic set)

    def __len__(self) -> int:
        return len(self.references)


@dataclass
class CaptionData:
    """The data side of a captioning run, with the attributes the engine reads."""

    name: str  # synthetic, flickr8k or coco
    title: str
    provenance: str
    vocabulary: Vocabulary
    train: CaptionSplit
    test: CaptionSplit  # evaluated after every epoch (the validation split)
    finals: list[CaptionSplit]  # evaluated once at the end, with beam search
    blind: str  # the blind baseline's one caption (chosen on training images)
    batch_size: int
    seed: int
    context: Context
    device: torch.device
    crop: int
    embedded: bool = False
    workers: int = 0
    classes: tuple[str, ...] = ()
    channels: int = 3
    notes: list[str] = field(default_factory=list)

    def steps_per_epoch(self) -> int:
        return len(self.train) // self.batch_size

    def normalise(self, images: torch.Tensor) -> torch.Tensor:
        return normalise(images, IMAGENET_MEAN, IMAGENET_STD)

    def tokens(self, split: CaptionSplit, indices: list[int], rng: random.Random) -> torch.Tensor:
        """One reference of each image, drawn by ``rng``, padded: (B, L) on the device."""
        chosen = [rng.choice(split.encoded[i]) for i in indices]
        tokens = torch.zeros(len(chosen), max(map(len, chosen)), dtype=torch.long)
        for row, sequence in enumerate(chosen):
            tokens[row, : len(sequence)] = torch.tensor(sequence)
        return tokens.to(self.device)

    def train_batches(self, epoch: int, start: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        order = epoch_batches(len(self.train), self.batch_size, seed=self.seed, epoch=epoch,
                              context=self.context, shuffle=True, drop_last=True)  # fmt: skip
        for number, indices in enumerate(order[start:], start):
            rng = random.Random(f"{self.seed}-{epoch}-{number}")
            index = torch.tensor(indices, device=self.train.images.device)
            yield (
                self.normalise(self.train.images[index]),
                self.tokens(self.train, indices, rng),
            )

    def split_batches(self, split: CaptionSplit) -> Iterator[tuple[torch.Tensor, list[int]]]:
        """This process's share of ``split``: (normalised images, their indices)."""
        batch = max(self.batch_size, 256) - max(self.batch_size, 256) % self.context.world_size
        order = epoch_batches(len(split), batch, seed=0, epoch=0, context=self.context,
                              shuffle=False, drop_last=False)  # fmt: skip
        for indices in order:
            index = torch.tensor(indices, device=split.images.device)
            yield self.normalise(split.images[index]), indices

    def test_batches(self) -> CaptionSplit:
        return self.test

    def weights_metadata(self, model: str, tta: str) -> dict[str, object]:
        return {"task": "captioning", "dataset": self.title, "caption_dataset": self.name,
                "image_size": self.crop, "mean": list(IMAGENET_MEAN),
                "std": list(IMAGENET_STD)}  # fmt: skip


def _encode(name: str, images: torch.Tensor, references, scenes,
            vocabulary: Vocabulary) -> CaptionSplit:  # fmt: skip
    encoded = [[vocabulary.encode(c) for c in refs] for refs in references]
    return CaptionSplit(name, images, references, encoded, scenes)


def split_names(dataset: str, data_dir: str | None = None) -> tuple[str, ...]:
    """The splits a caption dataset has: the synthetic set's ``novel`` shows the held-out
    colour-shape pairs; COCO has a test split with Karpathy's split file in ``data_dir``
    (``keyarch.data.caption_corpora``), else the official train and val only."""
    if dataset not in CAPTION_DATASETS:
        raise BadInput(f"--dataset {dataset!r}: captioning trains on {', '.join(CAPTION_DATASETS)}")
    if dataset == "coco" and data_dir:
        from keyarch.data.caption_corpora import coco_splits

        return coco_splits(data_dir)
    return {"synthetic": ("train", "val", "test", "novel"), "flickr8k": ("train", "val", "test"),
            "coco": ("train", "val", "test")}[dataset]  # fmt: skip


def load_split(
    dataset: str, split: str, size: int, data_dir: str | None = None, limit: int | None = None
) -> tuple[torch.Tensor, list[list[str]], list | None]:
    """(uint8 images N x 3 x size x size, the references of each, the scenes they show or
    None where unknown) of one split; ``limit``: its first N images."""
    if dataset != "synthetic":
        from keyarch.data.sources import check_data_dir

        if data_dir is None:
            raise BadInput(f"--dataset {dataset} needs --data-dir, the folder it is in")
        check_data_dir(data_dir, must_exist=True)
    if split not in split_names(dataset, data_dir):
        raise BadInput(
            f"{dataset} has no {split!r} split; it has {', '.join(split_names(dataset, data_dir))}"
            + (" (COCO's test split needs Karpathy's dataset_coco.json)" if split == "test" else "")
        )
    if dataset == "synthetic":
        from keyarch.data.synthetic_captions import SyntheticCaptions

        data = SyntheticCaptions(split, size=size, count=limit, seed=0)
        return data.images, data.captions, data.scenes
    if not data_dir:
        raise BadInput(f"--dataset {dataset} needs --data-dir (the folder holding its files)")
    from keyarch.data.caption_corpora import ImageFiles, load_coco_captions, load_flickr8k

    corpus = (load_flickr8k if dataset == "flickr8k" else load_coco_captions)(data_dir, split)
    if limit and limit < len(corpus):
        corpus.files, corpus.captions = corpus.files[:limit], corpus.captions[:limit]
    return ImageFiles(corpus.files, size), corpus.captions, None


def _provenance(dataset: str, data_dir: str | None) -> str:
    if dataset == "synthetic":
        return ("keyarch.data.synthetic_captions (generated, seed 0; test scenes never occur "
                "in training; colour-shape pairs held out of train, val and test, the novel "
                "split shows them)")  # fmt: skip
    return f"{dataset} from {data_dir}"


def prepare_caption_data(config, recipe, context: Context, device) -> CaptionData:
    settings = config.caption or CaptionSettings()
    dataset = config.dataset or "synthetic"
    splits = {
        split: load_split(
            dataset,
            split,
            settings.image_size,
            config.data_dir,
            config.train_limit if split == "train" else config.test_limit,
        )
        for split in split_names(dataset, config.data_dir)
    }
    vocabulary = Vocabulary.build(
        (c for refs in splits["train"][1] for c in refs), min_count=settings.min_count
    )
    check_vocabulary(vocabulary, settings, splits["train"][1])
    encoded = {
        name: _encode(name, images.to(device), refs, scenes, vocabulary)
        for name, (images, refs, scenes) in splits.items()
    }
    finals = [encoded[n] for n in ("test", "novel") if n in encoded] or [encoded["val"]]
    return CaptionData(
        name=dataset,
        title=f"{'synthetic captions' if dataset == 'synthetic' else dataset} "
        f"{settings.image_size}px",
        provenance=_provenance(dataset, config.data_dir),
        vocabulary=vocabulary,
        train=encoded["train"],
        test=encoded["val"],
        finals=finals,
        blind=blind_caption(splits["train"][1]),  # one baseline, whatever the run's seed
        batch_size=recipe.batch_size,
        seed=config.seed,
        context=context,
        device=device,
        crop=settings.image_size,
        notes=[
            f"vocabulary: {len(vocabulary)} words (seen at least {settings.min_count} times "
            "in the training captions, with <pad> <start> <end> <unk>)"
        ],
    )


def check_vocabulary(vocabulary: Vocabulary, settings: CaptionSettings, references) -> None:
    """Refuse, before training, a vocabulary of no word (``--min-count`` above every word's
    count) or a final beam wider than the vocabulary."""
    if len(vocabulary) <= len(SPECIALS):
        from collections import Counter

        from keyarch.train.bleu import tokenize

        counts = Counter(w for refs in references for c in refs for w in tokenize(c))
        word, count = counts.most_common(1)[0] if counts else ("", 0)
        raise BadInput(f"--min-count {settings.min_count}: no word of the training captions is "
                       f"seen that often (the most frequent, {word!r}, {count} times); the "
                       "vocabulary would hold no word")  # fmt: skip
    check_beam(settings.beam_size, vocabulary)


def check_beam(beam_size: int, vocabulary: Vocabulary) -> None:
    if beam_size > len(vocabulary):
        raise BadInput(f"--beam-size {beam_size}: wider than the vocabulary ({len(vocabulary)} "
                       "words); a beam keeps at most one sentence per word")  # fmt: skip


def build_captioner(encoder: str, settings: CaptionSettings, vocabulary: Vocabulary) -> ShowAndTell:
    config = CaptionerConfig(
        encoder=encoder,
        vocab_size=len(vocabulary),
        embed_size=settings.embed_size,
        hidden_size=settings.hidden_size,
        num_layers=settings.num_layers,
        dropout=settings.dropout,
        max_length=settings.max_length,
        freeze_encoder=settings.freeze_encoder,
        encoder_lr_scale=settings.encoder_lr_scale,
        pretrained_encoder=settings.pretrained_encoder,
    )
    return ShowAndTell(config)


def captioner_metadata(model: ShowAndTell, vocabulary: Vocabulary, data: CaptionData) -> dict:
    """What ``load_captioner`` rebuilds the model from, saved beside its weights."""
    return {
        **data.weights_metadata(model.config.encoder, "none"),
        "model": "show_and_tell",
        "captioner": asdict(model.config),
        "vocabulary": vocabulary.words,
        "blind_caption": data.blind,  # the baseline caption_eval reports beside the model
    }


def load_captioner(path: str | Path) -> tuple[ShowAndTell, Vocabulary, dict]:
    """A trained captioner, its vocabulary and its metadata from ``model.safetensors`` (or a
    run's checkpoint)."""
    from keyarch.train.checkpoint import load_weights

    tensors, metadata = load_weights(path)
    if metadata.get("task") != "captioning" or "captioner" not in metadata:
        raise BadInput(
            f"{path}: not a keyarch captioning model (train one with keyarch caption train)"
        )
    config = CaptionerConfig(**{**metadata["captioner"], "pretrained_encoder": False})
    model = ShowAndTell(config)
    try:
        model.load_state_dict(tensors, strict=True)
    except RuntimeError as error:
        raise BadInput(f"{path}: weights do not fit: {str(error).splitlines()[0]}") from None
    return model.eval(), Vocabulary(metadata["vocabulary"]), metadata


@torch.no_grad()
def generate(model: ShowAndTell, images: torch.Tensor, beam_size: int = 1,
             length_penalty: float = 0.0) -> list[list[int]]:  # fmt: skip
    """Word indices of one caption per image: greedy (beam 1) or beam search."""
    model.eval()
    if beam_size == 1:
        return [row.tolist() for row in model.greedy(images)]
    return model.beam_search(images, beam_size=beam_size, length_penalty=length_penalty)


def caption_scores(generated: list[list[str]], references: list[list[str]],
                   scenes: list | None) -> dict[str, float]:  # fmt: skip
    """BLEU-1..4, and where the scenes are known the structural scores
    (``keyarch.data.scene_scores.SCORES``)."""
    scores = bleu_scores(generated, references)
    if scenes is not None:
        from keyarch.data.scene_scores import scene_scores

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


def caption_split(model, data: CaptionData, split: CaptionSplit, beam_size: int,
                  length_penalty: float = 0.0) -> tuple[list[str], dict[str, float]]:  # fmt: skip
    """Captions of every image of ``split`` (this process's share) and their BLEU."""
    captions: dict[int, list[str]] = {}
    for images, indices in data.split_batches(split):
        for index, words in zip(
            indices, generate(model, images, beam_size, length_penalty), strict=True
        ):
            captions[index] = data.vocabulary.decode(words)
    order = sorted(captions)
    scenes = None if split.scenes is None else [split.scenes[i] for i in order]
    scores = caption_scores([captions[i] for i in order],
                            [split.references[i] for i in order], scenes)  # fmt: skip
    return [" ".join(captions[i]) for i in order], scores


@dataclass(frozen=True)
class CaptioningTask:
    """Teacher-forced word cross-entropy (padding ignored) and next-word accuracy while
    training; corpus BLEU of generated captions in evaluation."""

    data: CaptionData
    settings: CaptionSettings
    metric_names: tuple[str, ...] = ("loss", "word_accuracy")
    headline: str = "bleu4"
    evaluated: str = "val"  # after each epoch, greedy; the test splits at the end, beam

    def forward(self, network, images: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        return network(images, tokens)

    def loss(self, scores: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        words = tokens[:, 1:].flatten()  # w1 .. <end>, padded with 0
        return F.cross_entropy(scores.flatten(0, 1).float(), words, ignore_index=0)

    def new_totals(self, device: torch.device) -> torch.Tensor:
        return torch.zeros(3, dtype=torch.float64, device=device)  # loss x words, hits, words

    def accumulate(self, totals, scores, tokens, loss) -> None:
        targets = tokens[:, 1:]
        real = targets != 0
        words = real.sum().double()
        hits = ((scores.detach().argmax(-1) == targets) & real).sum().double()
        totals += torch.stack([loss.detach().double() * words, hits, words])

    def summarise(self, totals: torch.Tensor) -> dict[str, float]:
        loss, hits, words = totals.tolist()
        words = max(words, 1.0)
        return {"loss": loss / words, "word_accuracy": hits / words}

    @torch.no_grad()
    def evaluate(self, network, split: CaptionSplit, *, context: Context, device, autocast,
                 **_) -> dict[str, float]:  # fmt: skip
        """Teacher-forced loss and word accuracy on ``split`` (every reference), and the
        BLEU of greedy captions: what the engine logs after each epoch."""
        from keyarch.train.checkpoint import unwrap

        model = unwrap(network).eval()
        totals = self.new_totals(device)
        for images, indices in self.data.split_batches(split):
            for k in range(max(len(split.encoded[i]) for i in indices)):
                chosen = [i for i in indices if k < len(split.encoded[i])]
                rows = [indices.index(i) for i in chosen]
                tokens = self.data.tokens(split, chosen, _Nth(k))
                with autocast():
                    scores = model(images[rows], tokens)
                self.accumulate(totals, scores, tokens, self.loss(scores, tokens))
        result = self.summarise(sum_across(totals, context))
        if context.world_size == 1:  # BLEU needs every caption in one place
            result.update(caption_split(model, self.data, split, beam_size=1)[1])
        return result

    def finish(self, network, context: Context) -> dict[str, float]:
        """BLEU-1..4 of beam-search captions on the final splits (``test_*``, ``novel_*``)."""
        from keyarch.train.checkpoint import unwrap

        if context.world_size > 1:
            return {}
        model = unwrap(network).eval()
        result: dict[str, object] = {"blind_caption": self.data.blind}
        for split in self.data.finals:
            _, scores = caption_split(model, self.data, split, self.settings.beam_size,
                                      self.settings.length_penalty)  # fmt: skip
            result.update({f"{split.name}_{k}": v for k, v in scores.items()})
            result[f"{split.name}_images"] = len(split)
            result.update(baseline_keys(split.name, split.references, split.scenes,
                                        self.data.blind))  # fmt: skip
        return result

    def epoch_line(self, row: dict[str, float], epochs: int) -> str:
        return (
            f"epoch {row['epoch']}/{epochs}: train loss {row['train_loss']:.4f} word accuracy "
            f"{row['train_word_accuracy']:.4f}, val loss {row['val_loss']:.4f} BLEU-1..4 "
            + " ".join(f"{row[f'val_bleu{n}']:.3f}" for n in range(1, 5))
            + (
                f", relation {row['val_relation_accuracy']:.3f}, exact match "
                f"{row['val_exact_match']:.3f}"
                if "val_exact_match" in row
                else ""
            )
            + f" (greedy), {row['images_per_second']:.0f} img/s"
        )

    def final_line(self, summary: dict[str, object]) -> str:
        return "\n".join(
            final_split_line(summary, split.name, self.settings.beam_size)
            for split in self.data.finals
            if f"{split.name}_bleu4" in summary
        )


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


class _Nth:
    """Stands in for a random generator: always the k-th reference."""

    def __init__(self, k: int) -> None:
        self.k = k

    def choice(self, items):
        return items[self.k]


def normalise(images: torch.Tensor, mean, std) -> torch.Tensor:
    """uint8 images (N, 3, H, W) as the encoder reads them: scaled to [0, 1], then
    standardised per channel (what training used, saved in the weights' metadata)."""
    mean = torch.tensor(mean, device=images.device).view(1, 3, 1, 1)
    std = torch.tensor(std, device=images.device).view(1, 3, 1, 1)
    return (images.float() / 255 - mean) / std


def caption_files(
    model: ShowAndTell,
    vocabulary: Vocabulary,
    metadata: dict,
    paths: list[str],
    beam_size: int = 3,
    length_penalty: float = 0.0,
) -> list[tuple[str, str]]:
    """(path, caption) of each image file, resized to the size the model was trained at."""
    from torchvision.transforms.v2 import functional as TF

    from keyarch.data.caption_corpora import read_rgb

    size = int(metadata["image_size"])
    check_beam(beam_size, vocabulary)
    results = []
    for path in paths:
        image = TF.resize(read_rgb(Path(path)), [size, size], antialias=True)
        (words,) = generate(
            model,
            normalise(image[None], metadata["mean"], metadata["std"]),
            beam_size,
            length_penalty,
        )
        results.append((path, " ".join(vocabulary.decode(words))))
    return results


def evaluate_weights(
    weights: str | Path,
    *,
    split: str = "test",
    dataset: str | None = None,
    data_dir: str | None = None,
    limit: int | None = None,
    beam_size: int = 3,
    length_penalty: float = 0.0,
    grid: str | Path | None = None,
) -> dict:
    """BLEU-1..4 of a trained captioner on one split (and the structural scores where the
    scenes are known), beside the blind, reversed-relation and oracle baselines (flat keys
    ``blind_{split}_bleu4``, ...), with every caption; ``grid``: a PNG of the first images
    with their generated and first reference captions."""
    import time

    model, vocabulary, metadata = load_captioner(weights)
    check_beam(beam_size, vocabulary)
    dataset = dataset or metadata.get("caption_dataset", "synthetic")
    size = int(metadata["image_size"])
    images, references, scenes = load_split(dataset, split, size, data_dir, limit)
    blind = metadata.get("blind_caption")
    if blind is None:  # weights saved before keyarch kept the blind caption beside them
        blind = blind_caption(
            load_split(
                dataset,
                "train",
                32 if dataset == "synthetic" else size,
                data_dir,
                None if dataset == "synthetic" else 2000,
            )[1]
        )
    started = time.perf_counter()
    captions = []
    for begin in range(0, len(images), 256):
        batch = normalise(images[begin : begin + 256], metadata["mean"], metadata["std"])
        captions += [
            vocabulary.decode(w) for w in generate(model, batch, beam_size, length_penalty)
        ]
    scores = caption_scores(captions, references, scenes)
    baselines = baseline_keys(split, references, scenes, blind)
    if grid:
        from keyarch.analysis.caption_grid import draw_caption_grid

        draw_caption_grid(
            grid, images[:16], [" ".join(c) for c in captions[:16]],
            [refs[0] for refs in references[:16]],
            f"{Path(weights).parent.name}: the first 16 of the {len(images)} {dataset} {split} "
            f"images; beam {beam_size}; BLEU-4 over all {scores['bleu4']:.3f}",
        )  # fmt: skip
    return {
        "weights": str(weights),
        "dataset": dataset,
        "split": split,
        "images": len(images),
        "beam_size": beam_size,
        "length_penalty": length_penalty,
        "scores": scores,
        "baselines": baselines,
        "blind_caption": blind,
        "seconds": round(time.perf_counter() - started, 2),
        "captions": [
            {"generated": " ".join(c), "references": refs}
            for c, refs in zip(captions, references, strict=True)
        ],
    }
