"""The words a captioning model knows: built from training captions with a frequency
threshold, with padding, start, end and unknown tokens, saved beside the weights.

Words seen fewer than ``MIN_WORD_COUNT`` (4) times in the training captions become
``<unk>``: the threshold of im2txt, the authors' Show and Tell code (its data builder's
``min_word_count``). The one place keyarch states it; ``--min-count`` changes it.
Sentences are encoded ``<start> w1 ... wn <end>`` and padded with ``<pad>`` (index 0,
which the loss ignores).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import torch

from keyarch.data.tokenizer import tokenize
from keyarch.errors import BadInput

PAD, START, END, UNKNOWN = "<pad>", "<start>", "<end>", "<unk>"
MIN_WORD_COUNT = 4
SPECIALS = (PAD, START, END, UNKNOWN)


class Vocabulary:
    """Word <-> index; indices 0-3 are ``<pad>``, ``<start>``, ``<end>``, ``<unk>``."""

    def __init__(self, words: Sequence[str]) -> None:
        words = list(words)
        if words[: len(SPECIALS)] != list(SPECIALS) or len(set(words)) != len(words):
            raise BadInput(
                "a vocabulary starts with <pad>, <start>, <end>, <unk> and has no repeats"
            )
        self.words = words
        self.index = {w: i for i, w in enumerate(words)}

    pad, start, end, unknown = 0, 1, 2, 3

    @classmethod
    def build(cls, captions: Iterable[str], min_count: int = MIN_WORD_COUNT) -> Vocabulary:
        """The words of ``captions`` (tokenised as BLEU tokenises them) that occur at least
        ``min_count`` times, most frequent first (ties alphabetically)."""
        if min_count < 1:
            raise BadInput(f"min_count must be at least 1, got {min_count}")
        counts = Counter(token for caption in captions for token in tokenize(caption))
        kept = sorted(
            (w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w)
        )
        return cls([*SPECIALS, *kept])

    def __len__(self) -> int:
        return len(self.words)

    def encode(self, caption: str) -> list[int]:
        """``<start>`` + the caption's word indices (``<unk>`` for unknown words) + ``<end>``."""
        body = [self.index.get(token, self.unknown) for token in tokenize(caption)]
        return [self.start, *body, self.end]

    def decode(self, indices: Iterable[int]) -> list[str]:
        """The words of a generated sequence, up to its ``<end>``, without special tokens
        other than ``<unk>``."""
        words = []
        for i in indices:
            i = int(i)
            if i == self.end:
                break
            if i not in (self.pad, self.start):
                words.append(self.words[i])
        return words

    def batch(self, captions: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Encoded captions padded to one length: (tokens (B, L), lengths (B,))."""
        encoded = [self.encode(c) for c in captions]
        lengths = torch.tensor([len(e) for e in encoded])
        tokens = torch.full((len(encoded), int(lengths.max())), self.pad, dtype=torch.long)
        for row, sequence in enumerate(encoded):
            tokens[row, : len(sequence)] = torch.tensor(sequence)
        return tokens, lengths

    def to_json(self) -> str:
        return json.dumps({"words": self.words})

    @classmethod
    def from_json(cls, text: str, source: str = "vocabulary") -> Vocabulary:
        try:
            words = json.loads(text)["words"]
        except (ValueError, KeyError, TypeError):
            raise BadInput(
                f"{source}: not a keyarch vocabulary (JSON with a 'words' list)"
            ) from None
        return cls(words)

    def save(self, path: str | Path) -> None:
        from keyarch.outputs import atomic_write

        atomic_write(Path(path), self.to_json().encode())

    @classmethod
    def load(cls, path: str | Path) -> Vocabulary:
        try:
            text = Path(path).read_text()
        except OSError as error:
            raise BadInput(f"{path}: cannot read the vocabulary ({error.strerror})") from None
        return cls.from_json(text, str(path))
