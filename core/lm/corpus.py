"""Text corpora for language modelling: Python's own pydoc topics, or a user's UTF-8 file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data import DataError
from ..paths import store_by_content
from ..specs import CorpusSpec

MAX_TEXT_BYTES = 5 * 1024 * 1024   # uploads above this are refused with a message
MIN_TEXT_CHARS = 2_000             # below this there is nothing to validate on


@dataclass(frozen=True)
class Corpus:
    name: str
    vocab: tuple[str, ...]        # every character of the text, sorted; index = token id
    train_ids: np.ndarray         # (n_train,) int64 character ids, the first part of the text
    val_ids: np.ndarray           # (n_val,) int64, the held-out last part
    n_chars: int                  # characters used (after max_chars)
    decisions: tuple[str, ...]    # what the loader did, in plain words

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def encode(self, text: str) -> np.ndarray:
        """Character ids of ``text``; characters outside the vocabulary are dropped."""
        return encode(self.vocab, text)

    def decode(self, ids) -> str:
        return "".join(self.vocab[int(i)] for i in ids)

    def summary(self) -> dict:
        return {"name": self.name, "n_chars": self.n_chars, "n_train_chars": len(self.train_ids),
                "n_val_chars": len(self.val_ids), "vocab_size": self.vocab_size,
                "split": "the last share of the text is held out (contiguous, no shuffling)",
                "decisions": list(self.decisions)}


def encode(vocab: tuple[str, ...], text: str) -> np.ndarray:
    """Ids of ``text``'s characters in ``vocab`` (a model's saved vocabulary); others are dropped."""
    index = {c: i for i, c in enumerate(vocab)}
    return np.asarray([index[c] for c in text if c in index], dtype=np.int64)


def builtin_text() -> str:
    """The text of ``pydoc_data.topics`` (the help pages shipped with Python), topics in name order."""
    from pydoc_data.topics import topics

    return "\n\n".join(topics[key].strip() for key in sorted(topics)) + "\n"


def save_text_upload(data: bytes, directory: Path) -> Path:
    """Check an uploaded text file and store it under a name derived from its content."""
    if len(data) > MAX_TEXT_BYTES:
        raise DataError(f"The text file is {len(data) / 1e6:.1f} MB; the limit is "
                        f"{MAX_TEXT_BYTES / 1e6:.1f} MB. Upload a shorter excerpt.")
    _decode_text(data)
    return store_by_content(data, directory, ".txt")


def _decode_text(data: bytes) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"The file is not UTF-8 text (byte {exc.start} cannot be decoded). Save it "
                        "as UTF-8 and upload it again.") from None
    if len(text) < MIN_TEXT_CHARS:
        raise DataError(f"The text has {len(text)} characters; at least {MIN_TEXT_CHARS} are needed "
                        "to train and validate a language model.")
    return text


def load_corpus(spec: CorpusSpec) -> Corpus:
    """Load the text, cut it to max_chars, build the character vocabulary and split it."""
    decisions: list[str] = []
    if spec.name == "text":
        try:
            raw = Path(spec.text_path).read_bytes()
        except OSError as exc:
            raise DataError(f"Cannot read the text file ({exc.strerror}). Upload it again.") from None
        if len(raw) > MAX_TEXT_BYTES:
            raise DataError(f"The text file is {len(raw) / 1e6:.1f} MB; the limit is "
                            f"{MAX_TEXT_BYTES / 1e6:.1f} MB. Upload a shorter excerpt.")
        text = _decode_text(raw)
        decisions.append(f"Uploaded UTF-8 text: {len(text):,} characters.")
    else:
        text = builtin_text()
        decisions.append(f"Built-in corpus: Python's pydoc_data.topics, {len(text):,} characters.")
    if spec.max_chars and len(text) > spec.max_chars:
        text = text[:spec.max_chars]
        decisions.append(f"Used the first {spec.max_chars:,} characters.")
    # The vocabulary covers the whole text so that no validation character is out of vocabulary;
    # both model kinds still spread probability over every vocabulary entry.
    vocab = tuple(sorted(set(text)))
    index = {c: i for i, c in enumerate(vocab)}
    ids = np.fromiter((index[c] for c in text), dtype=np.int64, count=len(text))
    n_val = max(1, int(round(len(ids) * spec.validation_fraction)))
    decisions.append(f"{len(vocab)} distinct characters form the vocabulary; the last "
                     f"{n_val:,} characters ({spec.validation_fraction:.0%}) are held out.")
    return Corpus("pydoc_topics" if spec.name != "text" else "text", vocab, ids[:-n_val],
                  ids[-n_val:], len(ids), tuple(decisions))


__all__ = ["Corpus", "MAX_TEXT_BYTES", "builtin_text", "encode", "load_corpus", "save_text_upload"]
