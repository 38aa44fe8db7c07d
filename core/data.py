"""Datasets: the built-in ones and a user's CSV, split and scaled the same way.

Every decision the loader takes about a user's file (a dropped column, an imputed value, a
one-hot encoding) is recorded in ``Dataset.decisions`` so the page can show it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn import datasets as skdata
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from .specs import DatasetSpec

MAX_CSV_BYTES = 50 * 1024 * 1024
MAX_CLASSES = 100
MAX_CATEGORY_LEVELS = 50
_SNIFF_CHARS = 64 * 1024
_MAX_ABS_VALUE = 1e30


class DataError(ValueError):
    """A problem with the user's data: the message says what is wrong and what to do."""


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
        }


TARGET = "target"


def save_upload(data: bytes, directory: Path) -> Path:
    """Store uploaded bytes under a name derived from their content (never the user's file name)."""
    if len(data) > MAX_CSV_BYTES:
        raise DataError(f"The file is {len(data) / 1e6:.1f} MB; the limit is "
                        f"{MAX_CSV_BYTES / 1e6:.0f} MB. Upload a sample of the rows instead.")
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{hashlib.sha256(data).hexdigest()[:24]}.csv"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    return path


def read_table(spec: DatasetSpec) -> tuple[pd.DataFrame, str, tuple[str, ...]]:
    """The raw table (features and target column) before encoding, its target name, and notes."""
    if spec.name == "csv":
        return _read_csv(Path(spec.csv_path), spec.target)
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
    decisions = [f"Built-in dataset '{spec.name}': {X.shape[0]} rows, {X.shape[1]} numeric features.",
                 "Features standardised with mean and variance of the training split only."]
    return Dataset(spec.name, scaler.transform(X_tr).astype(np.float32), y_tr.astype(np.int64),
                   scaler.transform(X_te).astype(np.float32), y_te.astype(np.int64),
                   tuple(frame.columns.drop(TARGET)), tuple(str(c) for c in classes), image_shape,
                   tuple(decisions), spec.test_fraction, spec.seed)


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


def _split(X, y, spec: DatasetSpec):
    counts = np.bincount(y)
    n_test = math.ceil(len(y) * spec.test_fraction)
    if counts.min() < 2 or n_test < len(counts) or len(y) - n_test < len(counts):
        raise DataError(
            f"Cannot make a stratified split: {len(y)} rows, {len(counts)} classes, smallest class "
            f"has {counts.min()} rows, test fraction {spec.test_fraction}. Every class needs at least "
            "2 rows and one row on each side; add rows or change the test fraction.")
    return train_test_split(X, y, test_size=spec.test_fraction, random_state=spec.seed, stratify=y)


def _refuse_binary(raw: bytes) -> None:
    head = raw[:4096]
    if head.startswith(b"PK\x03\x04"):
        raise DataError("This is a zip archive (an Excel .xlsx file is one), not a CSV. Save it as "
                        "CSV (comma-separated values) and upload that.")
    if b"\x00" in head:
        raise DataError("The file contains NUL bytes: it is binary, or text in UTF-16. Save it as "
                        "CSV in UTF-8 and upload it again.")


def _decode(raw: bytes) -> tuple[str, list[str]]:
    try:
        return raw.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        return raw.decode("latin-1"), ["The file is not valid UTF-8; it was read as Latin-1."]


def _read_csv(path: Path, target: str | None) -> tuple[pd.DataFrame, str, tuple[str, ...]]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"Cannot read the CSV file ({exc.strerror}). Upload it again.") from None
    if len(raw) > MAX_CSV_BYTES:
        raise DataError(f"The file is {len(raw) / 1e6:.1f} MB; the limit is "
                        f"{MAX_CSV_BYTES / 1e6:.0f} MB. Upload a sample of the rows instead.")
    _refuse_binary(raw)
    text, notes = _decode(raw)
    if not text.strip():
        raise DataError("The file is empty. Upload a CSV with a header row and at least a few rows.")
    delimiter = _sniff_delimiter(text)
    if delimiter != ",":
        notes.append(f"Columns are separated by {delimiter!r}, detected from the file.")
    try:
        frame = pd.read_csv(io.StringIO(text), sep=delimiter, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"The file could not be parsed as CSV ({first}). Check that every row has "
                        "the same number of separators and that quotes are closed.") from None
    header = next(csv.reader(io.StringIO(text), delimiter=delimiter), [])
    seen: set[str] = set()
    for name in (h.strip() for h in header):  # pandas silently renames duplicates to "a.1"
        if name in seen:
            raise DataError(f"Column name {name!r} appears more than once. Give every column a "
                            "unique name.")
        seen.add(name)
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = frame.dropna(how="all")
    if frame.empty:
        raise DataError("The file has a header but no data rows. Add rows and upload it again.")
    if frame.shape[1] < 2:
        raise DataError("The file has only one column. A dataset needs at least one feature column "
                        "and a target column; check the separator.")
    target = target if target is not None else frame.columns[-1]
    if target not in frame.columns:
        raise DataError(f"Target column {target!r} is not in the file. Columns are: "
                        f"{', '.join(map(str, frame.columns[:20]))}.")
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
                   decisions: list[str]) -> Dataset:
    y_raw = frame[target]
    missing_target = int(y_raw.isna().sum())
    if missing_target == len(frame):
        raise DataError(f"Target column {target!r} has no values. Pick the column that holds the "
                        "class labels.")
    if missing_target:
        frame = frame[y_raw.notna()]
        decisions.append(f"Dropped {missing_target} rows whose target {target!r} is missing.")
    y_str = frame[target].astype(str).str.strip()
    counts = y_str.value_counts()
    if len(counts) < 2:
        raise DataError(f"Target column {target!r} has a single class ({counts.index[0]!r}). "
                        "A classifier needs at least two classes; pick another target column.")
    if len(counts) > MAX_CLASSES:
        raise DataError(f"Target column {target!r} has {len(counts)} distinct values; the limit is "
                        f"{MAX_CLASSES} classes. It looks like a continuous value or an identifier; "
                        "pick a column of class labels (regression is not supported).")
    rare = counts[counts < 2]
    if len(rare):
        frame, y_str = frame[~y_str.isin(rare.index)], y_str[~y_str.isin(rare.index)]
        decisions.append(f"Dropped {len(rare)} classes with a single row ({', '.join(map(str, rare.index[:5]))}"
                         f"{'…' if len(rare) > 5 else ''}): a stratified split needs two rows per class.")
        if y_str.nunique() < 2:
            raise DataError("After dropping classes with a single row, fewer than two classes remain. "
                            "Add rows or pick another target column.")

    features = frame.drop(columns=target)
    numeric, categorical = [], []
    for col in features.columns:
        kind, series, note = _classify_column(features[col], len(features))
        if note:
            decisions.append(f"Column {col!r}: {note}")
        if kind == "numeric":
            features[col] = series
            numeric.append(col)
        elif kind == "categorical":
            features[col] = series
            categorical.append(col)
    if not numeric and not categorical:
        raise DataError("No usable feature columns remain (every column is empty, constant or an "
                        "identifier). Upload a file with at least one informative feature column.")

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
    decisions.append(f"{len(numeric)} numeric columns (missing values imputed with the training median, "
                     f"then standardised) and {len(categorical)} categorical columns (missing values "
                     f"imputed with the most frequent level, then one-hot encoded) give {len(names)} "
                     "features; every statistic was fitted on the training split only.")
    return Dataset("csv", Xt_tr, y_tr.astype(np.int64), Xt_te, y_te.astype(np.int64), names,
                   tuple(str(c) for c in classes), None, tuple(decisions), spec.test_fraction, spec.seed,
                   groups)


def _leak_warnings(features: pd.DataFrame, y: pd.Series) -> list[str]:
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
            how = f"each of its {levels} values belongs to one class"
        elif pd.api.types.is_numeric_dtype(values) and levels > len(values) // 2:
            ordered = labels[np.argsort(values.to_numpy(), kind="stable")]
            leak = int((ordered[1:] != ordered[:-1]).sum()) == n_classes - 1
            how = "sorted by it, the rows fall into one block per class"
        else:
            continue
        if leak:
            notes.append(f"Warning: column {col!r} alone predicts the target perfectly ({how}). If it "
                         "is derived from the label (an ID or a code), remove it from the file: it "
                         "makes every model look perfect.")
    return notes


def _classify_column(s: pd.Series, n_rows: int) -> tuple[str, pd.Series, str]:
    """Decide how to use one feature column: ('numeric'|'categorical'|'drop', values, note)."""
    if s.isna().all():
        return "drop", s, "dropped: every value is missing."
    if pd.api.types.is_bool_dtype(s):
        s = s.astype(float)
    if not pd.api.types.is_numeric_dtype(s):
        as_num = pd.to_numeric(s, errors="coerce")
        parsed, present = as_num.notna().sum(), s.notna().sum()
        if parsed >= 0.95 * present:
            note = (f"read as numbers; {present - parsed} value(s) that are not numbers treated as missing."
                    if parsed < present else "")
            s = as_num
        else:
            s = s.astype("string").str.strip()
            levels = s.nunique(dropna=True)
            if levels <= 1:
                return "drop", s, "dropped: a single value in every row."
            if levels == s.notna().sum() and n_rows > 20:
                return "drop", s, "dropped: every value is different, so it looks like an identifier."
            if levels > MAX_CATEGORY_LEVELS:
                return "drop", s, (f"dropped: text with {levels} distinct values (more than "
                                   f"{MAX_CATEGORY_LEVELS}) is too many levels to one-hot encode.")
            missing = int(s.isna().sum())
            tail = f"; {missing} missing values imputed" if missing else ""
            return "categorical", s.astype(object).where(s.notna(), np.nan), \
                f"categorical with {levels} levels, one-hot encoded{tail}."
    else:
        note = ""
    s = s.astype(float)
    infinite = int(np.isinf(s).sum())
    if infinite:
        s = s.replace([np.inf, -np.inf], np.nan)
        note = (note + " " if note else "") + f"{infinite} infinite values treated as missing."
    huge = int((s.abs() > _MAX_ABS_VALUE).sum())
    if huge:  # squaring these for the variance overflows float64; float32 cannot hold them at all
        s = s.where(s.abs() <= _MAX_ABS_VALUE)
        note = (note + " " if note else "") + (f"{huge} values beyond ±{_MAX_ABS_VALUE:.0e} treated "
                                               "as missing.")
    if s.isna().all():
        return "drop", s, "dropped: no finite numeric values."
    if s.nunique(dropna=True) <= 1:
        return "drop", s, "dropped: the same value in every row."
    whole = s.dropna()
    if (len(whole) == n_rows > 20 and (whole == whole.round()).all() and whole.is_unique
            and whole.max() - whole.min() + 1 == n_rows):
        return "drop", s, "dropped: consecutive whole numbers, one per row, so it looks like a row number."
    missing = int(s.isna().sum())
    if missing:
        note = (note + " " if note else "") + f"{missing} missing values imputed with the training median."
    return "numeric", s, note
