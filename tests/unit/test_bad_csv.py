"""Every awkward CSV either loads with its decisions shown or is refused with a clear message."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.data import MAX_CSV_BYTES, DataError, load, save_upload
from core.specs import DatasetSpec

CORPUS = Path(__file__).resolve().parents[1] / "data" / "bad_csv"

# file -> None when it must load, else a phrase the refusal must contain
EXPECTED = {
    "all_text.csv": "No usable feature columns",
    "binary_garbage.csv": "NUL bytes",
    "boolean_columns.csv": None,
    "class_with_one_row.csv": None,
    "constant_features.csv": "No usable feature columns",
    "duplicate_columns.csv": "appears more than once",
    "empty.csv": "The file is empty",
    "five_hundred_classes.csv": "500 distinct values",
    "header_only.csv": "no data rows",
    "html_page.csv": "only one column",
    "id_leaks_label.csv": None,
    "latin1.csv": None,
    "many_missing.csv": None,
    "mixed_types.csv": None,
    "mostly_text_numbers.csv": None,
    "nan_and_inf.csv": None,
    "one_class.csv": "single class",
    "one_row.csv": "single class",
    "only_target.csv": "only one column",
    "pipe_separated.csv": None,
    "quoted_newlines.csv": None,
    "ragged_rows.csv": "could not be parsed as CSV",
    "regression_target.csv": "regression is not supported",
    "row_number_column.csv": None,
    "semicolon.csv": None,
    "tab_separated.csv": None,
    "target_all_missing.csv": "has no values",
    "thousands_of_rows_text_target.csv": None,
    "tiny_two_classes.csv": "fewer than two classes remain",
    "unclosed_quote.csv": "quotes are closed",
    "utf16.csv": "UTF-16",
    "utf8_bom.csv": None,
    "whitespace_only.csv": "The file is empty",
    "zip_renamed.csv": "zip archive",
}

# decisions the loader must report for files that load
DECISIONS = {
    "class_with_one_row.csv": "Dropped 1 classes with a single row",
    "id_leaks_label.csv": "'patient_id' alone predicts the target perfectly",
    "latin1.csv": "read as Latin-1",
    "many_missing.csv": "missing values imputed with the training median",
    "mixed_types.csv": "not numbers treated as missing",
    "nan_and_inf.csv": "infinite values treated as missing",
    "pipe_separated.csv": "separated by '|'",
    "row_number_column.csv": "looks like a row number",
    "semicolon.csv": "separated by ';'",
    "tab_separated.csv": "separated by '\\t'",
}


def test_the_corpus_is_complete():
    assert sorted(p.name for p in CORPUS.glob("*.csv")) == sorted(EXPECTED)
    assert len(EXPECTED) >= 25


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_file_loads_with_decisions_or_is_refused_with_a_message(name):
    spec = DatasetSpec("csv", csv_path=str(CORPUS / name))
    expected = EXPECTED[name]
    if expected is None:
        data = load(spec)
        assert data.n_classes >= 2 and data.n_features >= 1
        assert np.isfinite(data.X_train).all() and np.isfinite(data.X_test).all()
        if name in DECISIONS:
            assert any(DECISIONS[name] in d for d in data.decisions), data.decisions
    else:
        with pytest.raises(DataError, match=None) as err:
            load(spec)
        assert expected in str(err.value)
        assert str(err.value).rstrip().endswith(".")  # a full sentence, ending with what to do


def test_a_file_over_the_size_limit_is_refused_before_parsing(tmp_path):
    big = tmp_path / "big.csv"
    line = b"1.2345678,2.3456789,3.4567891,yes\n"
    with open(big, "wb") as f:
        f.write(b"a,b,c,label\n")
        f.write(line * (60 * 1024 * 1024 // len(line)))
    assert big.stat().st_size > MAX_CSV_BYTES
    with pytest.raises(DataError, match="the limit is 52 MB"):
        load(DatasetSpec("csv", csv_path=str(big)))
    with pytest.raises(DataError, match="Upload a sample of the rows"):
        save_upload(big.read_bytes(), tmp_path / "uploads")


def test_two_thousand_columns_load(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(60, 2000)), columns=[f"f{i}" for i in range(2000)])
    frame["label"] = np.arange(60) % 3
    path = tmp_path / "wide.csv"
    frame.to_csv(path, index=False)
    data = load(DatasetSpec("csv", csv_path=str(path)))
    assert data.n_features == 2000 and data.n_classes == 3


# A cell is a number, a word, an empty string, or something awkward.
cells = st.one_of(st.integers(-1000, 1000).map(str), st.floats(allow_nan=True, allow_infinity=True).map(repr),
                  st.sampled_from(["", "NA", "red", "green", "blue", "inf", "-", '"q,uoted"', " spaced "]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n_cols=st.integers(1, 5), rows=st.lists(st.lists(cells, min_size=6, max_size=6), min_size=0, max_size=40),
       labels=st.lists(st.sampled_from(["a", "b", "c", ""]), min_size=40, max_size=40))
def test_any_table_loads_cleanly_or_raises_a_data_error(tmp_path, n_cols, rows, labels):
    header = ",".join([f"c{i}" for i in range(n_cols)] + ["label"])
    body = "\n".join(",".join(r[:n_cols] + [labels[i]]) for i, r in enumerate(rows))
    path = save_upload(f"{header}\n{body}\n".encode(), tmp_path)
    try:
        data = load(DatasetSpec("csv", csv_path=str(path)))
    except DataError as exc:
        assert str(exc)  # refused, with a message
        return
    assert np.isfinite(data.X_train).all() and np.isfinite(data.X_test).all()
    assert data.X_train.shape[1] == data.X_test.shape[1] == len(data.feature_names)
    assert set(np.unique(data.y_train)) <= set(range(data.n_classes))
