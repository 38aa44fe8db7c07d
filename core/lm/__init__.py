"""Language modelling: a character-level GPT against character n-grams on one corpus.

`run_language(spec)` is the task's orchestrator; `core.experiment.run` hands it any
`LanguageExperimentSpec`, so the CLI and the app reach it through the usual entry point.
"""

from .base import LanguageModel, generate
from .compress import LM_HANDLERS, Int8GPT, LMCompressContext, LMCompressed, compress_lm
from .corpus import MAX_TEXT_BYTES, Corpus, builtin_text, load_corpus, save_text_upload
from .experiment import LanguageResult, LMCandidateResult, run_language
from .formats import LMFormatError, load_language_model, load_stored_language_model
from .gpt import GPT, GPTLanguageModel, LMHistory, fit_gpt, gpt_param_count, train_lm
from .measure import LMMetrics, measure_lm, sample_text
from .ngram import NGramLanguageModel, bits_to_perplexity

__all__ = ["LanguageModel", "generate", "LM_HANDLERS", "Int8GPT", "LMCompressContext",
           "LMCompressed", "compress_lm", "MAX_TEXT_BYTES", "Corpus", "builtin_text", "load_corpus",
           "save_text_upload", "LanguageResult", "LMCandidateResult", "run_language", "GPT",
           "GPTLanguageModel", "LMHistory", "fit_gpt", "gpt_param_count", "train_lm", "LMMetrics",
           "measure_lm", "sample_text", "NGramLanguageModel", "bits_to_perplexity", "LMFormatError",
           "load_language_model", "load_stored_language_model"]
