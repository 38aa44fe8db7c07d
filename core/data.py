"""Datasets: the built-in ones and a user's CSV, split and scaled the same way.

Every decision the loader takes about a user's file (a dropped column, an imputed value, a
one-hot encoding) is recorded in ``Dataset.decisions`` so the page can show it.

Decisions and refusals are `Message`s: a key under ``data_load`` in locales/ and its values.
A dataset is loaded once and shared (cached, stored with every run), so it keeps the messages
rather than sentences in one language, and a page renders them in its own language when it
shows them (`Dataset.decisions_in`, `decisions_in`, `DataError.text`). ``Dataset.decisions``
stays the English text that the CLI, exports and older stored runs use.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn import datasets as skdata
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from .i18n import translate
from .paths import store_by_content
from .specs import DatasetSpec

MAX_CSV_BYTES = 50 * 1024 * 1024
MAX_CLASSES = 100
MAX_CATEGORY_LEVELS = 50
_SNIFF_CHARS = 64 * 1024
_MAX_ABS_VALUE = 1e30


@dataclass(frozen=True)
class Message:
    """One decision or refusal of the loader, renderable in any language."""
    key: str                              # under ``data_load.`` in locales/<lang>/engine.yaml
    values: tuple[tuple[str, Any], ...]   # placeholder -> value; a value may be a Message

    @classmethod
    def of(cls, key: str, **values) -> "Message":
        return cls(key, tuple(values.items()))

    def text(self, lang: str = "en") -> str:
        filled = {k: v.text(lang) if isinstance(v, Message) else v for k, v in self.values}
        return translate(lang, f"data_load.{self.key}", **filled)

    def to_dict(self) -> dict:
        return {"key": self.key, "values": {k: v.to_dict() if isinstance(v, Message) else v
                                            for k, v in self.values}}

    @classmethod
    def from_dict(cls, data: dict) -> "Message":
        return cls(data["key"], tuple((k, cls.from_dict(v) if isinstance(v, dict) else v)
                                      for k, v in data["values"].items()))


class DataError(ValueError):
    """A problem with the user's data: the message says what is wrong and what to do.

    ``str(exc)`` is English; `text` gives it in another language when it was raised from a
    `Message` (plain-string errors of other loaders read the same in every language).
    """

    def __init__(self, message: "str | Message"):
        self.message = message if isinstance(message, Message) else None
        super().__init__(message.text("en") if isinstance(message, Message) else message)

    def text(self, lang: str = "en") -> str:
        return self.message.text(lang) if self.message is not None else str(self)


@dataclass(frozen=True)
class Dataset:
    name: str
    X_train: np.ndarray            # (n_train, n_features) float32, standardised on the train split
    y_train: np.ndarray            # (n_train,) int64 class indices
    X_test: np.ndarray             # (n_test, n_features) float32, same transform as train
    y_test: np.ndarray             # (n_test,) int64
    feature_names: tuple[str, ...]
    class_names: tuple[str, ...]
    image_shape: tuple[int, int, int] | None  # (channels, height, width) when rows are images
    decisions: tuple[str, ...]     # what the loader did, in plain words
    test_fraction: float
    seed: int
    # Source column of each encoded feature: the one-hot levels of a categorical column share
    # one group. None means every feature is its own column (the built-in datasets).
    feature_groups: tuple[int, ...] | None = None
    # The decisions as messages, one per entry of ``decisions``, for other languages.
    decision_messages: tuple[Message, ...] = ()

    @property
    def n_features(self) -> int:
        return self.X_train.shape[1]

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    def summary(self) -> dict:
        return {
            "name": self.name, "n_train": len(self.y_train), "n_test": len(self.y_test),
            "n_features": self.n_features, "n_classes": self.n_classes,
            "split": {"test_fraction": self.test_fraction, "seed": self.seed, "stratified": True},
            "image_shape": list(self.image_shape) if self.image_shape else None,
            "decisions": list(self.decisions),
            "decision_messages": [m.to_dict() for m in self.decision_messages],
        }

    def decisions_in(self, lang: str = "en") -> tuple[str, ...]:
        """The loader's decisions in ``lang``."""
        if len(self.decision_messages) != len(self.decisions):
            return self.decisions
        return tuple(m.text(lang) for m in self.decision_messages)


def decisions_in(summary: dict, lang: str = "en") -> list[str]:
    """The decisions of a stored `Dataset.summary()` in ``lang`` (as stored when it has no messages)."""
    stored = [str(d) for d in summary.get("decisions") or []]
    messages = summary.get("decision_messages") or []
    if len(messages) != len(stored):  # older runs, and corpora, store English sentences only
        return stored
    try:
        return [Message.from_dict(m).text(lang) for m in messages]
    except (KeyError, TypeError, ValueError, AttributeError):  # a key this version does not know
        return stored


TARGET = "target"


def save_upload(data: bytes, directory: Path) -> Path:
    """Store uploaded bytes under a name derived from their content (never the user's file name)."""
    if len(data) > MAX_CSV_BYTES:
        raise DataError(_too_large(len(data)))
    return store_by_content(data, directory, ".csv")


def read_table(spec: DatasetSpec, lang: str = "en") -> tuple[pd.DataFrame, str, tuple[str, ...]]:
    """The raw table (features and target column) before encoding, its target name, and notes."""
    if spec.name == "csv":
        frame, target, notes = _read_csv(Path(spec.csv_path), spec.target)
        return frame, target, tuple(n.text(lang) for n in notes)
    frame, image_shape = _builtin_frame(spec)
    return frame, TARGET, ()


def load(spec: DatasetSpec) -> Dataset:
    """Load, split (stratified) and scale a dataset as the spec says."""
    if spec.name == "csv":
        frame, target, notes = _read_csv(Path(spec.csv_path), spec.target)
        return _prepare_table(spec, frame, target, list(notes))
    frame, image_shape = _builtin_frame(spec)
    X = frame.drop(columns=TARGET).to_numpy(dtype=np.float64)
    classes, y = np.unique(frame[TARGET].to_numpy(), return_inverse=True)
    X_tr, X_te, y_tr, y_te = _split(X, y, spec)
    scaler = StandardScaler().fit(X_tr)
    decisions = [Message.of("builtin", name=spec.name, n_rows=int(X.shape[0]),
                            n_features=int(X.shape[1])),
                 Message.of("standardised")]
    return Dataset(spec.name, scaler.transform(X_tr).astype(np.float32), y_tr.astype(np.int64),
                   scaler.transform(X_te).astype(np.float32), y_te.astype(np.int64),
                   tuple(frame.columns.drop(TARGET)), tuple(str(c) for c in classes), image_shape,
                   tuple(m.text() for m in decisions), spec.test_fraction, spec.seed,
                   decision_messages=tuple(decisions))


# --------------------------------------------------------------------------------------------


def _builtin_frame(spec: DatasetSpec) -> tuple[pd.DataFrame, tuple[int, int, int] | None]:
    image_shape = None
    if spec.name in ("digits", "breast_cancer", "wine", "iris"):
        bunch = getattr(skdata, f"load_{spec.name}")()
        X, names = bunch.data, list(bunch.feature_names)
        y = np.asarray(bunch.target_names)[bunch.target] if spec.name != "digits" else bunch.target
        if spec.name == "digits":
            image_shape = (1, 8, 8)
    elif spec.name == "moons":
        X, y = skdata.make_moons(spec.n_samples, noise=spec.noise, random_state=spec.seed)
        names = ["x1", "x2"]
    elif spec.name == "circles":
        X, y = skdata.make_circles(spec.n_samples, noise=spec.noise, factor=0.5, random_state=spec.seed)
        names = ["x1", "x2"]
    else:
        informative = min(spec.n_features, max(2, spec.n_features // 2,
                                               math.ceil(math.log2(2 * spec.n_classes))))
        X, y = skdata.make_classification(
            spec.n_samples, spec.n_features, n_informative=informative,
            n_redundant=min(2, spec.n_features - informative), n_classes=spec.n_classes,
            flip_y=spec.noise, random_state=spec.seed)
        names = [f"f{i}" for i in range(spec.n_features)]
    frame = pd.DataFrame(X, columns=names)
    frame[TARGET] = [str(v) for v in y]
    return frame, image_shape


def _too_large(n_bytes: int) -> Message:
    return Message.of("too_large", size_mb=n_bytes / 1e6, limit_mb=MAX_CSV_BYTES / 1e6)


def _split(X, y, spec: DatasetSpec):
    counts = np.bincount(y)
    n_test = math.ceil(len(y) * spec.test_fraction)
    if counts.min() < 2 or n_test < len(counts) or len(y) - n_test < len(counts):
        raise DataError(Message.of("no_split", n_rows=len(y), n_classes=len(counts),
                                   smallest=int(counts.min()), test_fraction=spec.test_fraction))
    return train_test_split(X, y, test_size=spec.test_fraction, random_state=spec.seed, stratify=y)


def _refuse_binary(raw: bytes) -> None:
    head = raw[:4096]
    if head.startswith(b"PK\x03\x04"):
        raise DataError(Message.of("zip_archive"))
    if b"\x00" in head:
        raise DataError(Message.of("nul_bytes"))


def _decode(raw: bytes) -> tuple[str, list[Message]]:
    try:
        return raw.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        return raw.decode("latin-1"), [Message.of("latin1")]


def _read_csv(path: Path, target: str | None) -> tuple[pd.DataFrame, str, tuple[Message, ...]]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(Message.of("unreadable", reason=str(exc.strerror))) from None
    if len(raw) > MAX_CSV_BYTES:
        raise DataError(_too_large(len(raw)))
    _refuse_binary(raw)
    text, notes = _decode(raw)
    if not text.strip():
        raise DataError(Message.of("empty"))
    delimiter = _sniff_delimiter(text)
    if delimiter != ",":
        notes.append(Message.of("separator", delimiter=delimiter))
    try:
        frame = pd.read_csv(io.StringIO(text), sep=delimiter, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(Message.of("unparsable", detail=first)) from None
    header = next(csv.reader(io.StringIO(text), delimiter=delimiter), [])
    seen: set[str] = set()
    for name in (h.strip() for h in header):  # pandas silently renames duplicates to "a.1"
        if name in seen:
            raise DataError(Message.of("duplicate_column", name=name))
        seen.add(name)
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = frame.dropna(how="all")
    if frame.empty:
        raise DataError(Message.of("no_rows"))
    if frame.shape[1] < 2:
        raise DataError(Message.of("one_column"))
    target = target if target is not None else frame.columns[-1]
    if target not in frame.columns:
        raise DataError(Message.of("target_not_found", target=target,
                                   columns=", ".join(map(str, frame.columns[:20]))))
    return frame, target, tuple(notes)


def _sniff_delimiter(text: str) -> str:
    import clevercsv  # imported here: its dialect search is only needed for uploads

    sample = text[:_SNIFF_CHARS]
    try:
        dialect = clevercsv.Sniffer().sniff(sample, delimiters=[",", ";", "\t", "|"])
    except Exception:  # clevercsv raises its own Error types on hopeless samples
        dialect = None
    return dialect.delimiter if dialect is not None and dialect.delimiter else ","


def _prepare_table(spec: DatasetSpec, frame: pd.DataFrame, target: str,
                   decisions: list[Message]) -> Dataset:
    y_raw = frame[target]
    missing_target = int(y_raw.isna().sum())
    if missing_target == len(frame):
        raise DataError(Message.of("target_empty", target=target))
    if missing_target:
        frame = frame[y_raw.notna()]
        decisions.append(Message.of("dropped_missing_target", n=missing_target, target=target))
    y_str = frame[target].astype(str).str.strip()
    counts = y_str.value_counts()
    if len(counts) < 2:
        raise DataError(Message.of("single_class", target=target, label=str(counts.index[0])))
    if len(counts) > MAX_CLASSES:
        raise DataError(Message.of("too_many_classes", target=target, n=len(counts),
                                   limit=MAX_CLASSES))
    rare = counts[counts < 2]
    if len(rare):
        frame, y_str = frame[~y_str.isin(rare.index)], y_str[~y_str.isin(rare.index)]
        names = ", ".join(map(str, rare.index[:5])) + ("…" if len(rare) > 5 else "")
        decisions.append(Message.of("dropped_rare_classes", n=len(rare), names=names))
        if y_str.nunique() < 2:
            raise DataError(Message.of("too_few_classes_left"))

    features = frame.drop(columns=target)
    numeric, categorical = [], []
    for col in features.columns:
        kind, series, note = _classify_column(features[col], len(features))
        if note is not None:
            decisions.append(Message.of("column", col=str(col), note=note))
        if kind == "numeric":
            features[col] = series
            numeric.append(col)
        elif kind == "categorical":
            features[col] = series
            categorical.append(col)
    if not numeric and not categorical:
        raise DataError(Message.of("no_features"))

    decisions.extend(_leak_warnings(features[numeric + categorical], y_str))
    classes, y = np.unique(y_str.to_numpy(), return_inverse=True)
    X_tr, X_te, y_tr, y_te = _split(features[numeric + categorical], y, spec)
    transform = ColumnTransformer([
        ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
        ("categorical", make_pipeline(SimpleImputer(strategy="most_frequent"),
                                      OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
         categorical),
    ])
    Xt_tr = transform.fit_transform(X_tr).astype(np.float32)
    Xt_te = transform.transform(X_te).astype(np.float32)
    names = tuple(str(n).split("__", 1)[1] for n in transform.get_feature_names_out())
    levels = transform.named_transformers_["categorical"][-1].categories_ if categorical else []
    groups = tuple(range(len(numeric))) + tuple(
        len(numeric) + j for j, cats in enumerate(levels) for _ in cats)
    decisions.append(Message.of("encoded", n_numeric=len(numeric), n_categorical=len(categorical),
                                n_features=len(names)))
    return Dataset("csv", Xt_tr, y_tr.astype(np.int64), Xt_te, y_te.astype(np.int64), names,
                   tuple(str(c) for c in classes), None, tuple(m.text() for m in decisions),
                   spec.test_fraction, spec.seed, groups, tuple(decisions))


def _leak_warnings(features: pd.DataFrame, y: pd.Series) -> list[Message]:
    """Columns whose values each belong to a single class: suspicious unless they are the label.

    Such a column is kept (it may be a genuinely decisive feature) but flagged, because an ID
    or a code derived from the label makes every model look perfect.
    """
    notes = []
    n_classes = y.nunique()
    labels = y.to_numpy()
    for col in features.columns:
        values = features[col]
        if values.isna().any() or len(values) < 20:
            continue
        levels = values.nunique()
        if n_classes <= levels <= len(values) // 2:
            leak = bool((y.groupby(values.to_numpy()).nunique() == 1).all())
            how = Message.of("leak_values", levels=int(levels))
        elif pd.api.types.is_numeric_dtype(values) and levels > len(values) // 2:
            ordered = labels[np.argsort(values.to_numpy(), kind="stable")]
            leak = int((ordered[1:] != ordered[:-1]).sum()) == n_classes - 1
            how = Message.of("leak_sorted")
        else:
            continue
        if leak:
            notes.append(Message.of("leak", col=str(col), how=how))
    return notes


def _classify_column(s: pd.Series, n_rows: int) -> tuple[str, pd.Series, Message | None]:
    """Decide how to use one feature column: ('numeric'|'categorical'|'drop', values, note)."""
    if s.isna().all():
        return "drop", s, Message.of("col_all_missing")
    if pd.api.types.is_bool_dtype(s):
        s = s.astype(float)
    parts: list[Message] = []
    if not pd.api.types.is_numeric_dtype(s):
        as_num = pd.to_numeric(s, errors="coerce")
        parsed, present = as_num.notna().sum(), s.notna().sum()
        if parsed >= 0.95 * present:
            if parsed < present:
                parts.append(Message.of("col_not_numbers", n=int(present - parsed)))
            s = as_num
        else:
            s = s.astype("string").str.strip()
            levels = s.nunique(dropna=True)
            if levels <= 1:
                return "drop", s, Message.of("col_single_text")
            if levels == s.notna().sum() and n_rows > 20:
                return "drop", s, Message.of("col_identifier")
            if levels > MAX_CATEGORY_LEVELS:
                return "drop", s, Message.of("col_too_many_levels", levels=int(levels),
                                             limit=MAX_CATEGORY_LEVELS)
            missing = int(s.isna().sum())
            note = (Message.of("col_categorical_missing", levels=int(levels), missing=missing)
                    if missing else Message.of("col_categorical", levels=int(levels)))
            return "categorical", s.astype(object).where(s.notna(), np.nan), note
    s = s.astype(float)
    infinite = int(np.isinf(s).sum())
    if infinite:
        s = s.replace([np.inf, -np.inf], np.nan)
        parts.append(Message.of("col_infinite", n=infinite))
    huge = int((s.abs() > _MAX_ABS_VALUE).sum())
    if huge:  # squaring these for the variance overflows float64; float32 cannot hold them at all
        s = s.where(s.abs() <= _MAX_ABS_VALUE)
        parts.append(Message.of("col_huge", n=huge, limit=_MAX_ABS_VALUE))
    if s.isna().all():
        return "drop", s, Message.of("col_no_finite")
    if s.nunique(dropna=True) <= 1:
        return "drop", s, Message.of("col_constant")
    whole = s.dropna()
    if (len(whole) == n_rows > 20 and (whole == whole.round()).all() and whole.is_unique
            and whole.max() - whole.min() + 1 == n_rows):
        return "drop", s, Message.of("col_row_number")
    missing = int(s.isna().sum())
    if missing:
        parts.append(Message.of("col_missing_median", n=missing))
    return "numeric", s, _joined(parts)


def _joined(parts: list[Message]) -> Message | None:
    """Several notes on one column as one message (each language joins sentences its own way)."""
    if not parts:
        return None
    note = parts[0]
    for part in parts[1:]:
        note = Message.of("then", first=note, second=part)
    return note
