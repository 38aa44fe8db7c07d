"""YAML spec files: the CLI's input and the app's "export settings" format."""

from __future__ import annotations

from pathlib import Path

import yaml

from . import compress as _compress  # noqa: F401  registers every compression step kind
from .specs import ExperimentSpec, LanguageExperimentSpec


def parse_spec(text: str, base_dir: Path | None = None) -> ExperimentSpec | LanguageExperimentSpec:
    """Parse a YAML experiment spec; raises ValueError with a one-line reason when it is wrong.

    A spec with a ``corpus`` instead of a ``dataset`` is a language-modelling experiment. A
    relative ``dataset.csv_path`` or ``corpus.text_path`` is resolved against ``base_dir`` (the
    spec file's folder).
    """
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ValueError(f"the spec is not valid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise ValueError("the spec must be a YAML mapping with 'dataset' (or 'corpus') and 'candidates'")
    dataset = data.get("dataset")
    if isinstance(dataset, dict) and dataset.get("csv_path") and base_dir is not None:
        path = Path(dataset["csv_path"])
        if not path.is_absolute():
            data = {**data, "dataset": {**dataset, "csv_path": str((base_dir / path).resolve())}}
    if "corpus" in data and "dataset" not in data:
        corpus = data["corpus"]
        if isinstance(corpus, dict) and corpus.get("text_path") and base_dir is not None:
            path = Path(corpus["text_path"])
            if not path.is_absolute():
                data = {**data, "corpus": {**corpus, "text_path": str((base_dir / path).resolve())}}
        try:
            return LanguageExperimentSpec.from_dict(data)
        except TypeError as exc:
            raise ValueError(f"the spec is incomplete: {exc}") from None
    try:
        return ExperimentSpec.from_dict(data)
    except TypeError as exc:  # a required field is missing
        raise ValueError(f"the spec is incomplete: {exc}") from None


def load_spec(path: Path) -> ExperimentSpec | LanguageExperimentSpec:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"cannot read spec file {path}: {exc.strerror}") from None
    return parse_spec(text, Path(path).parent)
