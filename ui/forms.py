"""Widgets that turn a user's choices into specs: datasets, models, training, measurement."""

from __future__ import annotations

from typing import Callable

import streamlit as st

from core.data import DataError, save_upload
from core.limits import count_params
from core.models import FT_PRESETS, MLP_PRESETS, MODELS, count_mlp_params
from core.paths import uploads_dir
from core.specs import (BUILTIN_DATASETS, IMAGE_TOKENS, SYNTHETIC_DATASETS, CNNSpec, DatasetSpec,
                        FTTransformerSpec,
                        HistGradientBoostingSpec, KNeighborsSpec, LinearSVMSpec,
                        LogisticRegressionSpec, MeasureSpec, MLPSpec, ModelSpec, RandomForestSpec,
                        RBFSVMSpec, TinyMLPSpec, TrainSpec)

from .i18n import language, t



def model_label(kind: str) -> str:
    """A model kind's display name in the page's language (also the name its results carry)."""
    return t(f"models.{kind}_label")


def model_choice(kind: str) -> str:
    """Name and family, for a model picker."""
    return t("models.choice", label=model_label(kind), family=t(f"models.family_{MODELS[kind].family}"))


def model_heading(kind: str) -> str:
    """Name, family and one-line description, for a model's settings box."""
    return t("models.expander", label=model_label(kind), family=t(f"models.family_{MODELS[kind].family}"),
             description=t(f"models.{kind}_description"))


def dataset_label(name: str) -> str:
    return t(f"forms.ds_{name}")


def dataset_form(current: DatasetSpec, key: str = "data") -> DatasetSpec | None:
    """Dataset choice and its settings; None (with a message shown) when the input is unusable."""
    options = list(BUILTIN_DATASETS) + ["csv"]
    name = st.selectbox(t("forms.dataset"), options, index=options.index(current.name),
                        format_func=dataset_label, key=f"{key}-name")
    kwargs: dict = {}
    if name in SYNTHETIC_DATASETS:
        c1, c2 = st.columns(2)
        kwargs["n_samples"] = c1.slider(t("forms.samples"), 100, 5000, current.n_samples if current.name == name else 600,
                                        step=100, key=f"{key}-n")
        kwargs["noise"] = c2.slider(t("forms.noise") if name != "classification" else t("forms.label_noise"),
                                    0.0, 0.5 if name != "classification" else 0.3,
                                    min(current.noise, 0.3) if current.name == name else 0.2, 0.01,
                                    key=f"{key}-noise")
        if name == "classification":
            kwargs["n_features"] = c1.slider(t("forms.features"), 2, 100, current.n_features, key=f"{key}-f")
            kwargs["n_classes"] = c2.slider(t("forms.classes"), 2, 10, current.n_classes, key=f"{key}-c")
    if name == "csv":
        upload = st.file_uploader(t("forms.csv_file"), type=["csv", "txt", "tsv"],
                                  key=f"{key}-upload")
        if upload is None and current.name != "csv":
            st.info(t("forms.choose_csv"))
            return None
        if upload is not None:
            try:
                kwargs["csv_path"] = str(save_upload(upload.getvalue(), uploads_dir()))
            except DataError as exc:
                st.error(exc.text(language()))
                return None
        else:
            kwargs["csv_path"] = current.csv_path
        kwargs["target"] = current.target if current.name == "csv" else None
    c1, c2 = st.columns(2)
    kwargs["test_fraction"] = c1.slider(t("forms.test_fraction"), 0.1, 0.5, current.test_fraction, 0.05,
                                        key=f"{key}-test")
    kwargs["seed"] = int(c2.number_input(t("forms.split_seed"), 0, 10_000, current.seed, key=f"{key}-seed"))
    try:
        return DatasetSpec(name, **kwargs)
    except ValueError as exc:
        st.error(str(exc))
        return None


# --------------------------------------------------------------------------------------------
# Model settings: one small form per spec type, found by type (no if/elif on names).


def _mlp_form(spec: MLPSpec, key: str, n_features: int, n_classes: int) -> MLPSpec:
    if isinstance(spec, TinyMLPSpec):
        width = st.slider(t("forms.hidden_width"), 4, 128, spec.hidden[0], key=f"{key}-w")
        return TinyMLPSpec(hidden=(width,))
    labels = {k: t("forms.preset", name=k, widths="-".join(map(str, v)),
                   params=f"{count_mlp_params(n_features, n_classes, v) / 1e6:.2f}")
              for k, v in MLP_PRESETS.items()}
    names = list(MLP_PRESETS)
    default = next((k for k, v in MLP_PRESETS.items() if v == spec.hidden), "M")
    preset = st.select_slider(t("forms.size"), names, value=default, format_func=labels.get, key=f"{key}-size")
    dropout = st.slider(t("forms.dropout"), 0.0, 0.5, spec.dropout, 0.05, key=f"{key}-drop")
    return MLPSpec(hidden=MLP_PRESETS[preset], dropout=dropout)


def _cnn_form(spec: CNNSpec, key: str, *_) -> CNNSpec:
    c1, c2 = st.columns(2)
    width = c1.select_slider(t("forms.conv_channels"), [8, 16, 32, 64], spec.channels[0], key=f"{key}-ch")
    hidden = c2.select_slider(t("forms.dense_width"), [32, 64, 128, 256, 512], spec.hidden, key=f"{key}-h")
    return CNNSpec(channels=(width, 2 * width), hidden=hidden)


_C_VALUES = [0.01, 0.1, 1.0, 10.0, 100.0]


def _logreg_form(spec: LogisticRegressionSpec, key: str, *_) -> LogisticRegressionSpec:
    c1, c2 = st.columns(2)
    penalty = c1.radio(t("forms.penalty"), ["l2", "l1"], index=["l2", "l1"].index(spec.penalty), horizontal=True,
                       key=f"{key}-pen")
    C = c2.select_slider(t("forms.c_inverse"), _C_VALUES, spec.C, key=f"{key}-C")
    return LogisticRegressionSpec(penalty=penalty, C=C)


def _linear_svm_form(spec: LinearSVMSpec, key: str, *_) -> LinearSVMSpec:
    return LinearSVMSpec(C=st.select_slider("C", _C_VALUES, spec.C, key=f"{key}-C"))


def _rbf_form(spec: RBFSVMSpec, key: str, *_) -> RBFSVMSpec:
    return RBFSVMSpec(C=st.select_slider("C", _C_VALUES, spec.C, key=f"{key}-C"))


def _forest_form(spec: RandomForestSpec, key: str, *_) -> RandomForestSpec:
    c1, c2 = st.columns(2)
    n = c1.slider(t("forms.trees"), 1, 300, spec.n_estimators, key=f"{key}-n")
    depth = c2.slider(t("forms.max_depth"), 0, 30, spec.max_depth or 0, key=f"{key}-d")
    return RandomForestSpec(n_estimators=n, max_depth=depth or None)


def _hgb_form(spec: HistGradientBoostingSpec, key: str, *_) -> HistGradientBoostingSpec:
    c1, c2 = st.columns(2)
    n = c1.slider(t("forms.boosting_rounds"), 10, 500, spec.max_iter, 10, key=f"{key}-n")
    lr = c2.select_slider(t("forms.learning_rate"), [0.03, 0.05, 0.1, 0.2, 0.3], spec.learning_rate, key=f"{key}-lr")
    return HistGradientBoostingSpec(max_iter=n, learning_rate=lr)


def _ft_form(spec: FTTransformerSpec, key: str, n_features: int, n_classes: int) -> FTTransformerSpec:
    """A size preset (about 0.1 M to 5 M parameters) that the sliders below can then adjust."""
    names = list(FT_PRESETS)
    preset = st.select_slider(t("forms.ft_preset"), names, value="S", key=f"{key}-size",
                              format_func=lambda k: t("forms.ft_preset_label", name=k, width=FT_PRESETS[k][0],
                                                      depth=FT_PRESETS[k][1], heads=FT_PRESETS[k][2]))
    width0, depth0, heads0 = FT_PRESETS[preset]
    c1, c2, c3, c4 = st.columns(4)
    # keyed by preset, so that picking another preset resets the sliders to its values
    width = c1.select_slider(t("forms.ft_width"), [32, 64, 80, 96, 128, 192, 256, 384, 512],
                             width0, key=f"{key}-{preset}-w")
    depth = c2.slider(t("forms.ft_depth"), 1, 8, depth0, key=f"{key}-{preset}-d")
    heads = c3.select_slider(t("forms.ft_heads"), [1, 2, 4, 8, 16], heads0, key=f"{key}-{preset}-h")
    dropout = c4.slider(t("forms.dropout"), 0.0, 0.5, spec.dropout, 0.05, key=f"{key}-drop")
    if width % heads:
        heads = max(h for h in (1, 2, 4, 8, 16) if width % h == 0 and h <= heads)
        st.warning(t("forms.ft_heads_warning", heads=heads))
    tokens = st.radio(t("forms.ft_image_tokens"), list(IMAGE_TOKENS), horizontal=True, key=f"{key}-tok",
                      format_func=lambda k: t(f"forms.ft_tokens_{k}"))
    out = FTTransformerSpec(width=width, depth=depth, heads=heads, dropout=dropout, image_tokens=tokens,
                            patch_size=spec.patch_size)
    n_params = count_params(out, _ShapeOnly(n_features, n_classes))
    st.caption(t("forms.ft_params", n=f"{n_params:,}", n_features=n_features))
    return out


class _ShapeOnly:
    """What counting parameters needs of a dataset, for a table of numeric columns."""

    def __init__(self, n_features: int, n_classes: int):
        self.n_features, self.n_classes = n_features, n_classes
        self.image_shape = self.feature_groups = None


def _knn_form(spec: KNeighborsSpec, key: str, *_) -> KNeighborsSpec:
    return KNeighborsSpec(n_neighbors=st.slider(t("forms.neighbours"), 1, 50, spec.n_neighbors, key=f"{key}-k"))


MODEL_FORMS: dict[type, Callable[..., ModelSpec]] = {
    MLPSpec: _mlp_form, TinyMLPSpec: _mlp_form, CNNSpec: _cnn_form,
    LogisticRegressionSpec: _logreg_form, LinearSVMSpec: _linear_svm_form, RBFSVMSpec: _rbf_form,
    RandomForestSpec: _forest_form, HistGradientBoostingSpec: _hgb_form, KNeighborsSpec: _knn_form,
    FTTransformerSpec: _ft_form,
}


def model_form(kind: str, key: str, n_features: int, n_classes: int) -> ModelSpec:
    """Settings for one model kind; kinds without a form use their registry defaults."""
    default = MODELS[kind].default
    form = MODEL_FORMS.get(type(default))
    return form(default, key, n_features, n_classes) if form else default


def train_form(key: str, defaults: TrainSpec = TrainSpec(epochs=15)) -> TrainSpec:
    """The main training settings of a torch model."""
    c1, c2, c3 = st.columns(3)
    epochs = c1.slider(t("forms.epochs"), 1, 100, defaults.epochs, key=f"{key}-ep")
    lr = c2.select_slider(t("forms.learning_rate"), [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1], defaults.lr,
                          key=f"{key}-lr")
    batch = c3.select_slider(t("forms.batch_size"), [16, 32, 64, 128, 256], defaults.batch_size, key=f"{key}-bs")
    c1, c2, c3 = st.columns(3)
    optimizer = c1.selectbox(t("forms.optimiser"), ["adam", "adamw", "sgd"], key=f"{key}-opt",
                             help=t("forms.optimiser_help"))
    wd = c2.select_slider(t("forms.weight_decay"), [0.0, 1e-5, 1e-4, 1e-3, 1e-2], defaults.weight_decay,
                          key=f"{key}-wd")
    patience = c3.slider(t("forms.patience"), 0, 20, defaults.early_stopping_patience,
                         key=f"{key}-es")
    return TrainSpec(optimizer=optimizer, lr=lr, epochs=epochs, batch_size=batch, weight_decay=wd,
                     early_stopping_patience=patience, validation_fraction=0.1)


def measure_form(key: str = "measure") -> MeasureSpec:
    with st.expander(t("forms.how_to_measure")):
        c1, c2, c3 = st.columns(3)
        threads = c1.slider(t("forms.threads"), 1, 8, 2, key=f"{key}-threads",
                            help=t("forms.threads_help"))
        seconds = c2.select_slider(t("forms.seconds"), [0.2, 0.5, 1.0, 2.0], 0.5,
                                   key=f"{key}-sec")
        batch = c3.select_slider(t("forms.throughput_batch"), [32, 64, 128, 256, 512, 1024], 256, key=f"{key}-batch")
    return MeasureSpec(n_threads=threads, min_seconds=seconds, max_seconds=max(3.0, 3 * seconds),
                       batch_size=batch)
