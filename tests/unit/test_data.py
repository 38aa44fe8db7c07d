import numpy as np
import pytest

from core.data import DataError, load, read_table, save_upload
from core.specs import DatasetSpec


@pytest.mark.parametrize("name, n_features, n_classes", [
    ("digits", 64, 10), ("breast_cancer", 30, 2), ("wine", 13, 3), ("iris", 4, 3),
    ("moons", 2, 2), ("circles", 2, 2)])
def test_builtin_datasets_load_offline_with_expected_shapes(name, n_features, n_classes):
    data = load(DatasetSpec(name, n_samples=300))
    assert data.n_features == n_features and data.n_classes == n_classes
    assert data.X_train.dtype == np.float32 and data.y_train.dtype == np.int64
    assert len(data.X_train) == len(data.y_train) and len(data.X_test) == len(data.y_test)


def test_digits_keeps_its_image_shape():
    data = load(DatasetSpec("digits"))
    assert data.image_shape == (1, 8, 8)
    assert data.X_train.reshape(-1, *data.image_shape).shape[1:] == (1, 8, 8)


def test_split_is_stratified_seeded_and_scaled_on_train_only():
    spec = DatasetSpec("wine", test_fraction=0.3, seed=7)
    a, b = load(spec), load(spec)
    np.testing.assert_array_equal(a.X_test, b.X_test)
    n = len(a.y_train) + len(a.y_test)
    assert len(a.y_test) == pytest.approx(0.3 * n, abs=1)
    train_share = np.bincount(a.y_train) / len(a.y_train)
    test_share = np.bincount(a.y_test) / len(a.y_test)
    np.testing.assert_allclose(train_share, test_share, atol=0.05)
    np.testing.assert_allclose(a.X_train.mean(axis=0), 0, atol=1e-5)  # fitted on train...
    assert np.abs(a.X_test.mean(axis=0)).max() > 1e-3                # ...not on test
    assert a.summary()["split"] == {"test_fraction": 0.3, "seed": 7, "stratified": True}


def test_make_classification_respects_user_settings():
    data = load(DatasetSpec("classification", n_samples=500, n_features=12, n_classes=4, noise=0.05))
    assert data.n_features == 12 and data.n_classes == 4
    assert len(data.y_train) + len(data.y_test) == 500


def _csv(tmp_path, text, name="data.csv"):
    path = save_upload(text.encode() if isinstance(text, str) else text, tmp_path)
    return DatasetSpec("csv", csv_path=str(path), target="label")


def test_csv_encodes_categoricals_imputes_missing_values_and_says_so(tmp_path):
    rows = ["size,colour,id,label"]
    for i in range(60):
        size = "" if i % 10 == 0 else str(i % 7)
        colour = ["red", "green", "blue"][i % 3] if i % 11 else ""
        rows.append(f"{size},{colour},row{i},{'yes' if i % 2 else 'no'}")
    data = load(_csv(tmp_path, "\n".join(rows)))
    assert data.class_names == ("no", "yes")
    # size (numeric) + three one-hot colour levels; the identifier column is dropped
    assert data.n_features == 4
    assert any("colour" in n for n in data.feature_names)
    text = " ".join(data.decisions)
    assert "'id': dropped" in text and "identifier" in text
    assert "'colour': categorical with 3 levels, one-hot encoded" in text
    assert "missing values imputed with the training median" in text
    assert not np.isnan(data.X_train).any()


def test_csv_with_semicolons_and_bom_is_sniffed(tmp_path):
    body = "\ufeffa;b;label\n" + "\n".join(f"{i * 7 % 23};{i * 2 % 5};{i % 2}" for i in range(40))
    data = load(_csv(tmp_path, body.encode("utf-8")))
    assert data.n_features == 2
    frame, target, notes = read_table(_csv(tmp_path, body.encode("utf-8")))
    assert list(frame.columns) == ["a", "b", "label"] and any("';'" in n for n in notes)


@pytest.mark.parametrize("text, match", [
    ("", "The file is empty"),
    ("a,b,label\n", "header but no data rows"),
    ("a,b,label\n" + "\n".join(f"{i},{i},x" for i in range(20)), "single class"),
    ("a,b,label\n" + "\n".join(f"{i},{i}," for i in range(20)), "has no values"),
    ("a,b,label\n" + "\n".join(f",,{i % 2}" for i in range(20)), "No usable feature columns"),
    ("a,b,label\n" + "\n".join(f"{i},{i},{i}.5" for i in range(300)), "distinct values"),
])
def test_malformed_csvs_get_a_message_saying_what_to_do(tmp_path, text, match):
    with pytest.raises(DataError, match=match):
        load(_csv(tmp_path, text))


def test_missing_target_column_lists_the_columns(tmp_path):
    path = save_upload(b"a,b,c\n1,2,3\n4,5,6\n", tmp_path)
    with pytest.raises(DataError, match="Target column 'label' is not in the file. Columns are: a, b, c"):
        load(DatasetSpec("csv", csv_path=str(path), target="label"))


def test_uploads_are_stored_by_content_not_by_name(tmp_path):
    p1 = save_upload(b"x,y\n1,2\n", tmp_path)
    p2 = save_upload(b"x,y\n1,2\n", tmp_path)
    assert p1 == p2 and p1.parent == tmp_path and p1.read_bytes() == b"x,y\n1,2\n"
