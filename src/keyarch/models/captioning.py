"""Show and Tell: a convolutional network reads the image, an LSTM writes the sentence.

Vinyals, Toshev, Bengio and Erhan, "Show and Tell: A Neural Image Caption Generator",
CVPR 2015 (https://arxiv.org/abs/1411.4555), and its journal version "Show and Tell:
Lessons learned from the 2015 MSCOCO Image Captioning Challenge" (arXiv 1609.06647).

Main ideas:
- Translate an image into a sentence as machine translation translates a sentence: an
  encoder (a CNN pretrained on ImageNet, its last hidden layer) and a decoder (an LSTM)
  trained together, end to end, to maximise the likelihood of the reference captions.
- The image embedding is the LSTM's input once, before the words (x_{-1} = W_I CNN(I),
  x_t = W_e S_t), so that the model cannot overfit to noise the image repeats at every
  step (section 3.1); the first word S_0 is a start token and the sentence ends with
  an end token.
- Words are one-hot vectors embedded by W_e into the space of the image embedding
  (512 dimensions; LSTM memory 512), dropout against overfitting, beam search at test
  time (beam size 3 in the journal version's best model).
- The CVPR paper initialises the CNN from ImageNet and keeps its weights fixed while the
  LSTM and the embeddings train; the journal version (section 5, on fine-tuning the image
  model) fine-tunes it, but only after the LSTM has trained with the CNN frozen: fine-
  tuning both from the start gave worse models (the LSTM's early, noisy gradients spoil
  the CNN). ``set_encoder_frozen`` switches the encoder between the two phases; the
  training recipe's ``freeze_encoder_epochs`` says when.

Here the encoder is any keyarch image classifier, read through its pre-logits
(``create_model(name, num_classes=0)``: pooled, after the last hidden layer), projected to
the embedding size; the LSTM is keyarch's own (``keyarch.layers.recurrent``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from keyarch.errors import BadInput
from keyarch.layers.recurrent import LSTM
from keyarch.registry import IMAGE_CAPTIONING, ModelCard

CARD = ModelCard(
    name="show_and_tell",
    family="Show and Tell",
    title="Show and Tell: A Neural Image Caption Generator (CVPR 2015); journal version "
    "Show and Tell: Lessons learned from the 2015 MSCOCO Image Captioning Challenge (2016)",
    authors="Oriol Vinyals, Alexander Toshev, Samy Bengio, Dumitru Erhan",
    year=2015,
    url="https://arxiv.org/abs/1411.4555 (journal version https://arxiv.org/abs/1609.06647)",
    main_ideas=(
        "Captioning as translation: a CNN encodes the image, an LSTM decodes the sentence, "
        "one network trained to maximise the likelihood of the reference captions.",
        "The image embedding is the LSTM's input once, before the words (not at every step).",
        "Words embedded into the image embedding's space (512); beam search at test time.",
        "Journal version: fine-tune the CNN only after the LSTM has trained with it frozen; "
        "a better image model, scheduled sampling, ensembles and a beam of 3 won the 2015 "
        "COCO challenge.",
    ),
    importance="The CNN-LSTM encoder-decoder that made neural captioning the standard "
    "approach (COCO BLEU-4 27.7 in the CVPR paper), and the baseline attention models "
    "(Show, Attend and Tell) were built on.",
    description="Any keyarch image classifier (its pooled pre-logits) projected to the "
    "512-dimensional embedding, keyarch's own LSTM (memory 512), word scores over the "
    "vocabulary; greedy or beam-search decoding",
    input_size=(3, 64, 64),
    deviations=(
        "The encoder is any keyarch classifier (the papers: GoogLeNet in 2015, the batch-"
        "normalised Inception in the journal version, Inception-v3 in im2txt); offline, "
        "EfficientNet-Lite0 is the one with ImageNet weights.",
        "Beam size 3 by default (the journal version's best; the CVPR paper used 20); "
        "--beam-size changes it.",
        "No ensembling and no scheduled sampling (both in the journal version's challenge "
        "entry); BLEU and structural scores only (no METEOR or CIDEr).",
        "On the synthetic set: Adam at 2e-3 with a cosine decay for 12 epochs (recipe "
        "show-and-tell-synthetic, assumed) instead of SGD at 2.0; the encoder at 0.1x the "
        "rate when trained (im2txt fine-tunes Inception at 0.0005 against 2.0).",
        "Fine-tuning from the first step is the default of `keyarch caption train`; the "
        "journal version's two phases are --freeze-encoder-epochs N, the CVPR paper's frozen "
        "CNN --freeze-encoder.",
    ),
    task=IMAGE_CAPTIONING,
)


@dataclass(frozen=True)
class CaptionerConfig:
    """Sizes of the decoder (Show and Tell's, journal version section 4.3.1)."""

    encoder: str = "resnet18"  # any keyarch image classifier
    vocab_size: int = 10_000
    embed_size: int = 512  # image and word embeddings
    hidden_size: int = 512  # LSTM memory
    num_layers: int = 1
    dropout: float = 0.3  # on the LSTM's inputs and outputs (im2txt: keep probability 0.7)
    max_length: int = 20  # words a generated caption may have
    freeze_encoder: bool = False  # the CNN as a fixed feature extractor (eval mode, no grads)
    encoder_lr_scale: float = 1.0  # the encoder's learning rate / the decoder's
    pretrained_encoder: bool = False  # the CNN starts from its ImageNet weights


class ShowAndTell(nn.Module):
    """The captioning model: ``encoder`` -> image embedding -> LSTM -> word scores."""

    def __init__(self, config: CaptionerConfig, encoder: nn.Module | None = None) -> None:
        super().__init__()
        from keyarch.registry import create_model

        self.config = config
        if encoder is None:
            encoder = create_model(
                config.encoder, num_classes=0, pretrained=config.pretrained_encoder
            )
        self.encoder = encoder
        self.encoder_frozen = False
        self.set_encoder_frozen(config.freeze_encoder)
        features = getattr(self.encoder, "head_hidden_size", None)
        if not isinstance(features, int):
            raise BadInput(
                f"{config.encoder}: not a keyarch image classifier (no head_hidden_size)"
            )
        self.image_embedding = nn.Linear(features, config.embed_size)  # W_I
        self.word_embedding = nn.Embedding(
            config.vocab_size, config.embed_size, padding_idx=0
        )  # W_e
        self.lstm = LSTM(config.embed_size, config.hidden_size, config.num_layers, batch_first=True,
                         dropout=config.dropout if config.num_layers > 1 else 0.0)  # fmt: skip
        self.dropout = nn.Dropout(config.dropout)
        self.word_scores = nn.Linear(config.hidden_size, config.vocab_size)

    def set_encoder_frozen(self, frozen: bool) -> None:
        """Freeze the encoder (no gradients, evaluation mode: its batch norms keep their
        statistics, as im2txt's Inception while it is not trained) or release it."""
        self.encoder_frozen = bool(frozen)
        self.encoder.requires_grad_(not frozen)
        self.train(self.training)

    def train(self, mode: bool = True) -> ShowAndTell:
        """A frozen encoder stays in evaluation mode."""
        super().train(mode)
        if self.encoder_frozen:
            self.encoder.eval()
        return self

    def learning_rate_scale(self, name: str) -> float:
        """The factor on the run's learning rate of the parameter ``name``: the encoder
        learns at ``encoder_lr_scale`` times the decoder's rate."""
        return self.config.encoder_lr_scale if name.startswith("encoder.") else 1.0

    def embed_images(self, images: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, embed_size): x_{-1}, the LSTM's first input."""
        if self.encoder_frozen:
            with torch.no_grad():
                features = self.encoder(images)
        else:
            features = self.encoder(images)
        return self.image_embedding(features)

    def forward(
        self, images: torch.Tensor, tokens: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Teacher forcing: word scores (B, L - 1, vocab) for the words after the start token
        of ``tokens`` (B, L: ``<start> w1 .. wn <end> <pad>..``), given the image and the
        reference words before each one."""
        image = self.embed_images(images)[:, None]  # B x 1 x E
        words = self.word_embedding(tokens[:, :-1])  # B x (L-1) x E: <start> w1 .. wn
        inputs = self.dropout(torch.cat([image, words], dim=1))  # B x L x E
        outputs, _ = self.lstm(inputs)  # B x L x H
        return self.word_scores(self.dropout(outputs[:, 1:]))  # B x (L-1) x V: predicts w1 .. <end>

    def loss(self, images: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """Cross-entropy of the reference words (padding ignored), averaged over words."""
        scores = self(images, tokens)
        return F.cross_entropy(scores.flatten(0, 1), tokens[:, 1:].flatten(), ignore_index=0)

    def _start(self, images: torch.Tensor):
        """The LSTM state after reading the image, and the input of the first word step."""
        _, state = self.lstm(self.embed_images(images)[:, None])
        first = torch.full((images.shape[0],), 1, dtype=torch.long, device=images.device)  # <start>
        return state, first

    def _step(self, words: torch.Tensor, state):
        """Log-probabilities of the next word after ``words`` (B,), and the new state."""
        out, state = self.lstm(self.word_embedding(words)[:, None], state)
        return F.log_softmax(self.word_scores(out[:, 0]), dim=-1), state

    @torch.no_grad()
    def greedy(self, images: torch.Tensor, max_length: int | None = None) -> torch.Tensor:
        """The most likely word at each step: (B, T) word indices, ``<end>`` included."""
        state, words = self._start(images)
        sequence = []
        finished = torch.zeros_like(words, dtype=torch.bool)
        for _ in range(max_length or self.config.max_length):
            log_probs, state = self._step(words, state)
            words = log_probs.argmax(-1)
            words = torch.where(finished, torch.zeros_like(words), words)
            sequence.append(words)
            finished |= words == 2
            if finished.all():
                break
        return torch.stack(sequence, dim=1)

    @torch.no_grad()
    def beam_search(self, images: torch.Tensor, beam_size: int = 3, max_length: int | None = None,
                    length_penalty: float = 0.0) -> list[list[int]]:  # fmt: skip
        """The best sentence of a beam search per image (``<end>`` excluded).

        At every step each live sentence is extended by its ``beam_size`` most likely next
        words; extensions ending in ``<end>`` are finished, the ``beam_size`` best others
        stay live. The search goes on until no sentence is live (each ended or reached
        ``max_length`` words, which then counts as finished). Finished sentences are
        ranked by their log-probability divided by ``(words + 1) ** length_penalty`` (0:
        the plain log-probability, as Show and Tell; larger values favour longer ones)."""
        if isinstance(beam_size, bool) or not isinstance(beam_size, int) or beam_size < 1:
            raise BadInput(f"beam size must be a whole number of at least 1, got {beam_size!r}")
        if beam_size > self.config.vocab_size:
            raise BadInput(
                f"beam size {beam_size} is wider than the vocabulary ({self.config.vocab_size} "
                "words): a beam can be at most as wide as the vocabulary"
            )
        steps = max_length or self.config.max_length
        return [self._beam_one(image[None], beam_size, steps, length_penalty) for image in images]

    def _beam_one(self, image, beam_size: int, max_length: int, penalty: float) -> list[int]:
        def rank(sentence: list[int], score: float) -> float:
            return score / (len(sentence) + 1) ** penalty

        state, first = self._start(image)
        beams = [([], 0.0, state, int(first[0]))]  # (words, log-probability, state, last word)
        done: list[tuple[list[int], float]] = []
        for step in range(max_length):
            words = torch.tensor([b[3] for b in beams], device=image.device)
            states = tuple(torch.cat([b[2][k] for b in beams], dim=1) for k in range(2))
            log_probs, new_states = self._step(words, states)
            top = log_probs.topk(beam_size, dim=-1)
            candidates = [
                (score + lp, i, w, sentence)
                for i, (sentence, score, _, _) in enumerate(beams)
                for lp, w in zip(top.values[i].tolist(), top.indices[i].tolist(), strict=True)
            ]
            candidates.sort(key=lambda c: -c[0])
            beams = []
            for score, i, word, sentence in candidates:
                if word == 2:  # <end>
                    done.append((sentence, score))
                elif step + 1 == max_length:  # the length limit: finished without <end>
                    done.append(([*sentence, word], score))
                elif len(beams) < beam_size:
                    state_i = tuple(s[:, i : i + 1] for s in new_states)
                    beams.append(([*sentence, word], score, state_i, word))
            if not beams:
                break
            # log-probabilities only fall: with no length penalty, a finished sentence at
            # least as likely as every live one can no longer be beaten
            if penalty == 0 and done and max(d[1] for d in done) >= beams[0][1]:
                break
        return max(done, key=lambda item: rank(*item))[0]


@torch.no_grad()
def generate(model: ShowAndTell, images: torch.Tensor, beam_size: int = 1,
             length_penalty: float = 0.0) -> list[list[int]]:  # fmt: skip
    """Word indices of one caption per image: greedy (beam 1) or beam search."""
    model.eval()
    if beam_size == 1:
        return [row.tolist() for row in model.greedy(images)]
    return model.beam_search(images, beam_size=beam_size, length_penalty=length_penalty)
