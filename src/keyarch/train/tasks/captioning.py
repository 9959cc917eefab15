"""Image captioning: the task of a Show and Tell run, plugged into the training engine.

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
  captions are also scored by what they say (``keyarch.metrics.scenes``: object,
  colour, size and relation accuracy, exact match), and every final split is reported
  beside its floor and ceiling (``keyarch.metrics.caption_baselines``: a blind captioner,
  the references with the relation reversed, a leave-one-out oracle).
* ``build_captioner``: the model; its vocabulary is saved with it in ``model.safetensors``
  (``captioner_metadata``; ``keyarch.train.trained_captioner`` loads them).
* ``Captioning``: the plug-in the engine runs.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace

import torch
import torch.nn.functional as F

from keyarch.data.captions import (
    MAX_CAPTION_LENGTH,
    CaptionSplit,
    caption_provenance,
    encode_split,
    load_split,
    normalise,
    split_names,
)
from keyarch.data.images import IMAGENET_MEAN, IMAGENET_STD
from keyarch.data.vocabulary import MIN_WORD_COUNT, SPECIALS, Vocabulary
from keyarch.errors import BadInput
from keyarch.metrics.caption_baselines import blind_caption
from keyarch.metrics.captions import baseline_keys, caption_scores, final_split_line
from keyarch.models.captioning import CaptionerConfig, ShowAndTell, generate
from keyarch.train.distributed import Context, epoch_batches, sum_across
from keyarch.train.recipes import Recipe, default_recipe
from keyarch.train.tasks.base import Task


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
        name: encode_split(name, images.to(device), refs, scenes, vocabulary)
        for name, (images, refs, scenes) in splits.items()
    }
    finals = [encoded[n] for n in ("test", "novel") if n in encoded] or [encoded["val"]]
    return CaptionData(
        name=dataset,
        title=f"{'synthetic captions' if dataset == 'synthetic' else dataset} "
        f"{settings.image_size}px",
        provenance=caption_provenance(dataset, config.data_dir),
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

        from keyarch.data.tokenizer import tokenize

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


class _Nth:
    """Stands in for a random generator: always the k-th reference."""

    def __init__(self, k: int) -> None:
        self.k = k

    def choice(self, items):
        return items[self.k]


class Captioning(Task):
    """A Show and Tell captioner, ``config.model`` its image encoder, on a caption dataset
    (``keyarch caption train``)."""

    name = "captioning"

    def plan(self) -> tuple[str, Recipe]:
        config = self.config
        self.settings_ = config.caption or CaptionSettings()
        self.config = config = replace(config, caption=self.settings_)
        dataset = config.dataset or "synthetic"
        recipe = config.recipe or default_recipe("captioning", dataset, config.model)
        if os.environ.get("WORLD_SIZE", "1") != "1":
            raise BadInput("captioning trains in one process (not under torchrun)")
        if recipe.freeze_encoder_epochs and self.settings_.freeze_encoder:
            raise BadInput(
                "--freeze-encoder-epochs with --freeze-encoder: the encoder is either frozen "
                "throughout or frozen for the first epochs, not both"
            )
        if recipe.ema_decay:
            raise BadInput(
                "ema_decay (weight averaging) is for classification runs; captioning does "
                "not average its weights"
            )
        return dataset, recipe

    def input_shape(self) -> tuple[int, ...] | None:
        side = self.settings_.image_size
        return (3, side, side)

    def prepare(self, context: Context, device: torch.device) -> CaptionData:
        self.data = prepare_caption_data(self.config, self.recipe, context, device)
        return self.data

    def build_model(self) -> ShowAndTell:
        return build_captioner(self.config.model, self.settings_, self.data.vocabulary)

    def run_name(self) -> str:
        return f"caption-{self.config.model}-{self.dataset}"

    def settings(self) -> dict[str, object]:
        return {"task": self.name, "caption": asdict(self.settings_)}

    def start(self) -> CaptioningTask:
        self.objective = CaptioningTask(self.data, self.settings_)
        return self.objective

    def evaluate(self, network, *, last: bool, autocast, context: Context,
                 device: torch.device) -> dict[str, float]:  # fmt: skip
        """The validation split: teacher-forced loss and greedy captions' BLEU."""
        return self.objective.evaluate(network, self.data.test, context=context, device=device,
                                       autocast=autocast)  # fmt: skip

    def weights_metadata(self, model: ShowAndTell) -> dict[str, object]:
        return captioner_metadata(model, self.data.vocabulary, self.data)

    def before_epoch(self, model: ShowAndTell, epoch: int, first: bool) -> str | None:
        """Two-phase fine-tuning (recipe ``freeze_encoder_epochs``): the encoder is frozen for
        the first epochs and trains with the decoder after; decided by the epoch alone, so
        a resumed run is in the phase an uninterrupted one would be."""
        frozen_epochs = self.recipe.freeze_encoder_epochs
        if not frozen_epochs:
            return None
        model.set_encoder_frozen(epoch < frozen_epochs)
        if not (epoch == frozen_epochs or (first and epoch < frozen_epochs)):
            return None
        return f"epoch {epoch + 1}: the encoder is " + (
            f"frozen until epoch {frozen_epochs} (phase 1: the LSTM alone)"
            if epoch < frozen_epochs
            else f"trained from now on at {model.config.encoder_lr_scale}x the rate "
            "(phase 2: fine-tuning)"
        )
