"""Training report builders: time to accuracy, the table and the sentences built from measurement."""

import numpy as np
import torch

from core.models.neural import MLP, TorchClassifier
from core.train.report import curves_figure, regularisation_view, time_to_accuracy, training_table, verdicts


def _record(name, sps, acc, parallel="single", precision="fp32", workers=1, threads=2, vals=(0.8, 0.95)):
    epochs = [{"epoch": i + 1, "wall_seconds": 2.0 * (i + 1), "train_loss": 1.0 / (i + 1),
               "train_accuracy": v, "val_loss": 1.0, "val_accuracy": v, "lr": 1e-3,
               "samples_seen": 100 * (i + 1)} for i, v in enumerate(vals)]
    setup = {"parallel": parallel, "precision": precision, "n_workers": workers,
             "threads_per_worker": threads, "cpu_cores": 2}
    if parallel != "single":
        setup["startup_seconds"] = 4.0
    return {"name": name, "status": "done", "error": None, "accuracy": acc, "train_throughput_sps": sps,
            "history": {"epochs": epochs, "train_seconds": 4.0, "stop_reason": "completed",
                        "message": "", "setup": setup}}


def test_time_to_accuracy_is_the_first_epoch_at_the_target():
    r = _record("a", 100, 0.9, vals=(0.7, 0.91, 0.95))
    assert time_to_accuracy(r, 0.9) == 4.0
    assert time_to_accuracy(r, 0.99) is None


def test_verdicts_say_where_a_technique_did_not_help_from_the_numbers():
    records = [_record("fp32", 200.0, 0.95),
               _record("DDP x2", 120.0, 0.93, parallel="ddp", workers=2, threads=1),
               _record("bf16", 330.0, 0.95, precision="bf16"),
               {"name": "fp16", "status": "skipped", "error": "needs a CUDA device", "history": None}]
    text = " ".join(verdicts(records, target=0.9))
    assert "DDP x2 did not speed training up here: 120 samples/s, 0.60x the 200 samples/s of fp32" in text
    assert "2 processes x 1 thread(s) on 2 cores against one process with 2 threads" in text
    assert "starting the workers took another 4.0 s" in text
    assert "DDP x2 ended 2.0 points less accurate" in text
    assert "bf16 trained 1.65x as fast as fp32" in text
    assert "fp16 was skipped: needs a CUDA device" in text
    rows = training_table(records, 0.9)
    assert rows[1]["Throughput (samples/s)"] == 120 and rows[1]["Time to 90% val. accuracy (s)"] == 4.0
    assert rows[3]["Status"].startswith("skipped")
    fig = curves_figure(records, "val_accuracy", "wall_seconds")
    assert [t.name for t in fig.data] == ["fp32", "DDP x2", "bf16"]
    assert list(fig.data[0].x) == [2.0, 4.0] and list(fig.data[0].y) == [80.0, 95.0]


def test_regularisation_view_counts_near_zero_weights_and_the_gap():
    torch.manual_seed(0)
    module = MLP(4, 2, (8,))
    with torch.no_grad():
        module.net[0].weight[:, :2] = 0.0  # 16 of the 32 + 16 weights are exactly zero
    clf = TorchClassifier(module, {}, "large")
    X = np.random.default_rng(0).normal(size=(20, 4)).astype(np.float32)
    y = clf.predict(X)
    view = regularisation_view(clf, X, y, X, 1 - y)
    assert view["n_weights"] == 48 and view["near_zero_fraction"] >= 16 / 48
    assert view["train_accuracy"] == 1.0 and view["test_accuracy"] == 0.0 and view["gap_points"] == 100.0
    assert sum(view["counts"]) == 48
