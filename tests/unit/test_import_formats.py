"""Imports: hostile ONNX graphs are refused; compressed torch artifacts load back."""

import onnx
import pytest
from onnx import TensorProto, helper

from core.artifacts import ImportRefused, load_model_files


def _graph(output_shape, constant_shape):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, output_shape)
    shape = helper.make_tensor("shape", TensorProto.INT64, [len(constant_shape)], constant_shape)
    node = helper.make_node("ConstantOfShape", ["shape"], ["y"])
    return helper.make_model(helper.make_graph([node], "g", [x], [y], initializer=[shape])).SerializeToString()


def test_a_declared_absurd_output_shape_is_refused_before_running():
    with pytest.raises(ImportRefused, match=r"declares tensor 'y' of shape \[1, 1000000000000\]"):
        load_model_files([_graph([1, 10 ** 12], [1, 10])])


def test_a_constant_built_absurd_tensor_is_refused():
    with pytest.raises(ImportRefused, match=r"shape \[1000000, 1000000\].*so it was not run"):
        load_model_files([_graph(["a", "b"], [10 ** 6, 10 ** 6])])


def test_symbolic_batch_dimensions_are_not_counted_against_the_graph():
    imported = load_model_files([_graph(["batch", 3], [2, 3])])
    assert imported.format == "onnx"


def test_compressed_torch_artifacts_import_back_with_identical_predictions():
    import numpy as np

    from core.compress import CompressContext, compress
    from core.data import load
    from core.specs import CompressStep, DatasetSpec, MLPSpec, TrainSpec
    from core.train import fit_neural

    data = load(DatasetSpec("iris"))
    model, _ = fit_neural(MLPSpec(hidden=(32,)), TrainSpec(epochs=3), data)
    for step in ({"kind": "quantize_dynamic"}, {"kind": "quantize_int4", "group_size": 32}):
        out = compress(model, CompressStep.from_dict(step), CompressContext(data, TrainSpec(epochs=1)))
        files = out.model.artifact()
        imported = load_model_files([files["model.safetensors"], files["architecture.json"]])
        np.testing.assert_array_equal(imported.model.predict(data.X_test), out.model.predict(data.X_test))


def test_an_ft_transformer_on_categorical_columns_reloads_from_its_artifact(tmp_path):
    import numpy as np

    from core.data import load, save_upload
    from core.specs import DatasetSpec, ModelSpec, TrainSpec
    from core.train import fit_neural

    rows = "\n".join(f"{i % 7},{['red', 'green', 'blue'][i % 3]},{i % 2}" for i in range(90))
    path = save_upload(f"size,colour,label\n{rows}\n".encode(), tmp_path)
    data = load(DatasetSpec("csv", csv_path=str(path)))
    assert data.feature_groups is not None and len(set(data.feature_groups)) == 2
    model, _ = fit_neural(ModelSpec.from_dict({"kind": "ft_transformer"}), TrainSpec(epochs=1), data)
    files = model.artifact()
    imported = load_model_files([files["model.safetensors"], files["architecture.json"]])
    np.testing.assert_array_equal(imported.model.predict(data.X_test), model.predict(data.X_test))
