"""The Learn demos: real engine results that change with their settings."""

import json
import re

import numpy as np
import pytest
import torch

from core import learn
from core.compress.formats import int4_dequantize, int4_quantize
from core.compress.prune import saliency_scores
from core.learn._shared import digits, digits_mlp, one_thread
from core.models import count_mlp_params


def test_wider_mlp_draws_a_different_boundary_and_logistic_regression_does_not_change():
    narrow = learn.decision_boundaries("moons", 200, 0.3, width=2, depth=1, epochs=40, grid=25)
    wide = learn.decision_boundaries("moons", 200, 0.3, width=128, depth=2, epochs=40, grid=25)
    assert np.abs(narrow["large"]["proba"] - wide["large"]["proba"]).max() > 0.1
    np.testing.assert_allclose(narrow["small"]["proba"], wide["small"]["proba"])
    assert narrow["large"]["proba"].shape == (25, 25)
    assert wide["large"]["n_params"] == count_mlp_params(2, 2, (128, 128))
    assert narrow["small"]["n_params"] == 3  # two weights and a bias
    noisier = learn.decision_boundaries("moons", 200, 0.5, width=2, depth=1, epochs=40, grid=25)
    assert not np.allclose(noisier["X_train"], narrow["X_train"])
    fig = learn.boundary_figure(wide)
    assert "128x128" in fig.layout.annotations[1].text


def test_circles_are_not_linearly_separable_but_an_mlp_separates_them():
    r = learn.decision_boundaries("circles", 200, 0.05, width=32, depth=2, epochs=150, grid=20)
    assert r["small"]["train_accuracy"] < 0.75
    assert r["large"]["train_accuracy"] > 0.9


def test_averaged_worker_gradients_equal_the_full_batch_gradient_only_with_equal_shards():
    equal = learn.data_parallel_gradients(n_workers=4, batch_size=64)
    assert equal["shard_sizes"] == [16, 16, 16, 16]
    assert equal["max_error_mean"] < 1e-6
    unequal = learn.data_parallel_gradients(n_workers=4, batch_size=30)
    assert unequal["shard_sizes"] == [8, 8, 7, 7]
    assert unequal["max_error_mean"] > 1e-5 > unequal["max_error_weighted"]
    single = learn.data_parallel_gradients(n_workers=1, batch_size=64)
    np.testing.assert_allclose(single["workers"][0], single["full"], atol=1e-7)
    assert not np.allclose(equal["workers"][0], equal["workers"][1])  # workers really differ
    with pytest.raises(ValueError, match="n_workers"):
        learn.data_parallel_gradients(n_workers=0)


def test_hogwild_more_workers_do_more_updates_but_stale_updates_cost_more_each():
    r = learn.hogwild_simulation((1, 16), lr=2.0, time_units=20)
    one, many = r["curves"][1], r["curves"][16]
    assert len(many["updates"]) == 16 * len(one["updates"]) - 15
    same_updates = learn.loss_after_updates(r, 20)
    assert same_updates[16] > same_updates[1]          # staleness: worse per update
    gentle = learn.hogwild_simulation((1, 16), lr=0.25, time_units=20)
    assert gentle["curves"][16]["final_loss"] < gentle["curves"][1]["final_loss"]  # speed wins
    assert gentle["curves"][16]["loss"] != many["loss"]


def test_float_formats_come_from_torch_finfo():
    rows = {r["format"]: r for r in learn.float_formats()}
    assert rows["fp16"]["max"] == 65504.0
    assert rows["bf16"]["eps"] == torch.finfo(torch.bfloat16).eps == 2 ** -7
    assert rows["fp32"]["mantissa_bits"] == 23 and rows["bf16"]["exponent_bits"] == 8
    stored = learn.round_to_formats(70000.123)
    assert stored["fp16"] == float("inf") and stored["bf16"] == 70144.0
    assert abs(stored["fp32"] - 70000.123) < 0.01


def test_long_sum_error_is_larger_in_fewer_mantissa_bits():
    r = learn.long_sum(3000, "0.1")
    err = {k: v["final_relative_error"] for k, v in r["dtypes"].items()}
    assert err["bf16"] > err["fp16"] > err["fp32"]
    assert err["fp32"] < 1e-4 and err["bf16"] > 0.5   # bf16 stops growing at 32
    assert r["dtypes"]["bf16"]["final_sum"] == 32.0
    # torch.sum accumulates in fp32, so its error is far below the running sum's
    assert r["dtypes"]["bf16"]["torch_sum_relative_error"] < 0.01
    shorter = learn.long_sum(100, "0.1")
    assert shorter["dtypes"]["bf16"]["final_relative_error"] < err["bf16"]
    uniform = learn.long_sum(3000, "uniform")
    assert uniform["dtypes"]["fp16"]["exact_sum"] != r["dtypes"]["fp16"]["exact_sum"]


def test_fake_quantize_at_4_bits_is_the_engines_int4_format():
    w = torch.randn(16, 96, generator=torch.Generator().manual_seed(0))
    for group in (32, 64):
        ours, _ = learn.fake_quantize(w, 4, group)
        engine = int4_dequantize(*int4_quantize(w, group), 96)
        torch.testing.assert_close(ours, engine, rtol=0, atol=0)


def test_quantisation_error_grows_with_fewer_bits_and_larger_groups():
    int8 = learn.quantisation_demo(bits=8, group=32)
    int4 = learn.quantisation_demo(bits=4, group=32)
    assert int4["error"] > 4 * int8["error"] > 0
    assert len(int4["grid"]) == 16 and len(int8["grid"]) == 256
    sweep = int4["sweep"]
    for g in learn.GROUP_SIZES:
        assert all(a > b for a, b in zip(sweep[g], sweep[g][1:])), g   # more bits, less error
    at4 = learn.BITS.index(4)
    assert sweep[8][at4] < sweep[64][at4]                                # smaller groups, less error
    assert int4["accuracy"]["float32"] > 0.9
    two = learn.quantisation_demo(bits=2, group=64)
    assert two["accuracy"]["quantised"] < int8["accuracy"]["quantised"]


def test_pruning_masks_follow_the_sparsity_and_structured_removes_whole_rows():
    low, high = learn.pruning_demo(0.3), learn.pruning_demo(0.8)
    assert abs((~low["unstructured_mask"]).mean() - 0.3) < 0.01
    assert abs((~high["unstructured_mask"]).mean() - 0.8) < 0.01
    rows = high["structured_mask"]
    assert all(row.all() or not row.any() for row in rows)           # whole neurons go
    assert rows[:, 0].sum() == round(0.2 * 32)
    assert high["accuracy"]["unstructured"] < low["accuracy"]["unstructured"]
    assert high["kept"]["structured"] < low["kept"]["structured"]
    assert low["sweep"]["unstructured"][0] == low["accuracy"]["unpruned"]
    by_activation = learn.pruning_demo(0.5, "activation")
    by_l2 = learn.pruning_demo(0.5, "l2")
    assert not np.array_equal(by_activation["structured_mask"], by_l2["structured_mask"])


def test_saliency_is_weight_times_gradient_and_prunes_differently_from_magnitude():
    r = learn.saliency_demo(0.7, calibration_rows=256)
    data = digits()
    rows = np.random.default_rng(0).permutation(len(data.y_train))[:256]
    module = digits_mlp().module
    with one_thread():
        module.zero_grad()
        loss = torch.nn.functional.cross_entropy(module(torch.from_numpy(data.X_train[rows])),
                                                 torch.from_numpy(data.y_train[rows]))
        loss.backward()
    manual = (module.net[0].weight * module.net[0].weight.grad).abs().detach().flatten().numpy()
    np.testing.assert_allclose(r["saliency"], manual, rtol=1e-4, atol=1e-9)
    engine = saliency_scores(digits_mlp().module, data.X_train[rows], data.y_train[rows])
    np.testing.assert_allclose(r["saliency"], engine["net.0.weight"].flatten().numpy(), rtol=1e-6)
    assert 0.3 < r["agreement"] < 1.0
    assert abs((~r["kept_by_saliency"]).mean() - 0.7) < 0.01


def test_higher_temperature_gives_higher_entropy_soft_targets():
    cold, warm = learn.soft_targets(1.0, sample=3), learn.soft_targets(8.0, sample=3)
    assert warm["mean_entropy"] > cold["mean_entropy"]
    assert np.all(np.diff(warm["entropy_curve"]) > 0)
    assert abs(warm["probs"].sum() - 1) < 1e-5
    np.testing.assert_allclose(cold["probs"], cold["probs_t1"])
    assert warm["probs"].max() < cold["probs"].max()      # the top class gives probability away
    assert warm["teacher_accuracy"] > 0.9


def test_momentum_beats_plain_sgd_in_the_valley_and_too_large_a_step_diverges():
    slow = learn.sgd_paths(lr=0.01, momentum=0.9, steps=60)
    plain, heavy = slow["runs"]["plain SGD"], slow["runs"]["momentum 0.9"]
    assert heavy["final_loss"] < plain["final_loss"] / 10
    assert plain["path"].shape == (61, 2)
    np.testing.assert_allclose(plain["path"][0], learn.optimisation.START)
    wild = learn.sgd_paths(lr=0.11, momentum=0.5, steps=60)["runs"]["plain SGD"]
    assert wild["diverged"] or wild["final_loss"] > plain["loss"][0]   # 0.11 > 2 / curvature 20
    noisy = learn.sgd_paths(lr=0.01, momentum=0.9, steps=60, noise=2.0)
    assert not np.allclose(noisy["runs"]["plain SGD"]["path"], plain["path"])


def test_l1_leaves_more_near_zero_weights_than_l2():
    r = learn.regularisation_demo(1e-3)
    runs = r["runs"]
    assert runs["L1"]["near_zero"] > runs["L2"]["near_zero"]
    assert runs["L1"]["near_zero"] > runs["none"]["near_zero"]
    assert runs["L1"]["l1_norm"] < runs["none"]["l1_norm"]
    stronger = learn.regularisation_demo(1e-2)
    assert stronger["runs"]["L1"]["near_zero"] > runs["L1"]["near_zero"]


def test_every_demo_has_a_figure():
    figures = [learn.gradients_figure(learn.data_parallel_gradients()),
               learn.hogwild_figure(learn.hogwild_simulation((1, 2), time_units=3)),
               learn.long_sum_figure(learn.long_sum(100)),
               learn.error_figure(learn.quantisation_demo()),
               learn.histogram_figure(learn.quantisation_demo()),
               learn.pruning_figure(learn.pruning_demo()),
               learn.saliency_figure(learn.saliency_demo()),
               learn.soft_targets_figure(learn.soft_targets()),
               learn.sgd_figure(learn.sgd_paths(steps=5))]
    for fig in figures:
        assert fig.data and fig.layout.title.text


def test_every_demo_figure_is_labelled_in_the_language_asked_for():
    cjk = re.compile(r"[\u4e00-\u9fff]")
    boundaries = learn.decision_boundaries("circles", 100, 0.1, width=4, depth=1, epochs=5, grid=10)
    assert learn.model_label(boundaries["small"]) == "Logistic regression"
    assert learn.model_label(boundaries["small"], "zh") == "逻辑回归"
    assert learn.model_label(boundaries["large"], "zh") == "MLP 4"
    sgd = learn.sgd_paths(steps=5)
    pruning = learn.pruning_demo()
    builders = [
        lambda lang: learn.boundary_figure(boundaries, lang),
        lambda lang: learn.gradients_figure(learn.data_parallel_gradients(), lang),
        lambda lang: learn.hogwild_figure(learn.hogwild_simulation((1, 2), time_units=3), lang),
        lambda lang: learn.long_sum_figure(learn.long_sum(100), lang),
        lambda lang: learn.error_figure(learn.quantisation_demo(), lang),
        lambda lang: learn.histogram_figure(learn.quantisation_demo(), lang),
        lambda lang: learn.pruning_figure(pruning, lang),
        lambda lang: learn.sweep_figure(pruning["sweep"], {"structured": "s"}, "t", lang),
        lambda lang: learn.saliency_figure(learn.saliency_demo(), lang),
        lambda lang: learn.soft_targets_figure(learn.soft_targets(), lang),
        lambda lang: learn.sgd_figure(sgd, lang),
        lambda lang: learn.regularisation_figure(learn.regularisation_demo(1e-3, epochs=1), lang),
    ]
    for build in builders:
        english, chinese = (json.dumps(json.loads(build(lang).to_json()), ensure_ascii=False)
                            for lang in ("en", "zh"))
        assert not cjk.search(english)
        assert cjk.search(chinese), chinese[:200]
    legend = [trace.name for trace in learn.sgd_figure(sgd, "zh").data if trace.name]
    assert legend == ["普通 SGD", "普通 SGD", "动量 0.9", "动量 0.9"]
    assert learn.boundary_figure(boundaries, "zh").layout.title.text.startswith("同心圆数据上的决策边界")
