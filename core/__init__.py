"""Tradeoff Lab's engine: data, models, training, compression, measurement, storage, reports.

Plain Python with no UI dependency: progress leaves through ``on_progress(fraction, message)``
callbacks and cancellation comes in through ``should_stop()``.
"""

from .data import Dataset, DataError, load, read_table, save_upload
from .experiment import CandidateResult, ExperimentResult, ModelCache, run
from .measure import Metrics, environment, how_measured, measure
from .specs import (CandidateSpec, CompressStep, DatasetSpec, ExperimentSpec, MeasureSpec,
                    ModelSpec, TrainSpec)
from .specfile import load_spec, parse_spec
from .store import Run, RunStore, RunSummary, data_home
from .artifacts import ImportRefused, UntrustedTypesError, evaluate_import, load_model_files, onnx_export
from .export import figure_png, html_report, metrics_csv, metrics_json
from .specs import (CorpusSpec, FTTransformerSpec, GPTSpec, LanguageExperimentSpec, LMCandidateSpec,
                    LMMeasureSpec, LMTrainSpec, NGramSpec)
from .lm import LanguageResult, run_language
from .tabular_verdict import do_we_need_deep_learning

__all__ = ["Dataset", "DataError", "load", "read_table", "save_upload", "CandidateResult",
           "ExperimentResult", "ModelCache", "run", "Metrics", "environment", "how_measured",
           "measure", "CandidateSpec", "CompressStep", "DatasetSpec", "ExperimentSpec",
           "MeasureSpec", "ModelSpec", "TrainSpec", "load_spec", "parse_spec", "Run", "RunStore",
           "RunSummary", "data_home", "ImportRefused", "UntrustedTypesError", "evaluate_import",
           "load_model_files", "onnx_export", "figure_png", "html_report", "metrics_csv", "metrics_json",
           "CorpusSpec", "FTTransformerSpec", "GPTSpec", "LanguageExperimentSpec", "LMCandidateSpec",
           "LMMeasureSpec", "LMTrainSpec", "NGramSpec", "LanguageResult", "run_language",
           "do_we_need_deep_learning"]
