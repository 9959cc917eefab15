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
- The encoder is first frozen, then fine-tuned together with the LSTM (journal version,
  section 4.3.1: fine-tuning too early hurts).

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
        if config.freeze_encoder:
            self.encoder.requires_grad_(False)
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

    def train(self, mode: bool = True) -> ShowAndTell:
        """A frozen encoder stays in evaluation mode (its batch norms keep their ImageNet
        statistics, as im2txt's Inception while it is not trained)."""
        super().train(mode)
        if self.config.freeze_encoder:
            self.encoder.eval()
        return self

    def learning_rate_scale(self, name: str) -> float:
        """The factor on the run's learning rate of the parameter ``name``: the encoder
        learns at ``encoder_lr_scale`` times the decoder's rate."""
        return self.config.encoder_lr_scale if name.startswith("encoder.") else 1.0

    def embed_images(self, images: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, embed_size): x_{-1}, the LSTM's first input."""
        if self.config.freeze_encoder:
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
        """The best sentence of a beam search per image (``<end>`` excluded). Sentences are
        ranked by their log-probability divided by ``length ** length_penalty`` (0: the
        plain log-probability, as Show and Tell; larger values favour longer sentences)."""
        if beam_size < 1:
            raise BadInput(f"beam size must be at least 1, got {beam_size}")
        steps = max_length or self.config.max_length
        return [self._beam_one(image[None], beam_size, steps, length_penalty) for image in images]

    def _beam_one(self, image, beam_size: int, max_length: int, penalty: float) -> list[int]:
        state, first = self._start(image)
        beams = [([], 0.0, state, int(first[0]))]  # (words, log-probability, state, last word)
        done: list[tuple[list[int], float]] = []
        for _ in range(max_length):
            words = torch.tensor([b[3] for b in beams], device=image.device)
            states = tuple(torch.cat([b[2][k] for b in beams], dim=1) for k in range(2))
            log_probs, new_states = self._step(words, states)
            candidates = []
            for i, (sentence, score, _, _) in enumerate(beams):
                top = log_probs[i].topk(beam_size)
                for lp, w in zip(top.values.tolist(), top.indices.tolist(), strict=True):
                    candidates.append((score + lp, i, w, sentence))
            candidates.sort(key=lambda c: -c[0])
            beams = []
            for score, i, word, sentence in candidates:
                if word == 2:  # <end>
                    done.append((sentence, score))
                else:
                    state_i = tuple(s[:, i : i + 1] for s in new_states)
                    beams.append(([*sentence, word], score, state_i, word))
                if len(beams) == beam_size:
                    break
            if len(done) >= beam_size or not beams:
                break
        done += [(b[0], b[1]) for b in beams]

        def rank(item):
            sentence, score = item
            return score / max(len(sentence) + 1, 1) ** penalty

        return max(done, key=rank)[0]
