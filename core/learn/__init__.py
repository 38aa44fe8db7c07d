"""The computations behind the Learn page: one small, real demo per idea.

Every function runs engine code (data loading, the training loop, compression handlers) on
small data in about a second and returns plain data; the ``*_figure`` functions turn that data
into plotly figures, labelled in the language passed as ``lang``. Nothing here imports streamlit.
"""

from .boundaries import SHAPES, boundary_figure, decision_boundaries, model_label
from .distillation import TEMPERATURES, soft_targets, soft_targets_figure
from .distributed import (data_parallel_gradients, gradients_figure, hogwild_figure,
                          hogwild_simulation, loss_after_updates)
from .optimisation import (regularisation_demo, regularisation_figure, sgd_figure, sgd_paths,
                           valley_loss)
from .precision import DTYPES, float_formats, long_sum, long_sum_figure, round_to_formats
from .pruning import (CRITERIA, SPARSITIES, pruning_demo, pruning_figure, saliency_demo, saliency_figure,
                      sweep_figure)
from .quantisation import (BITS, GROUP_SIZES, error_figure, fake_quantize, histogram_figure,
                           quantisation_demo)

__all__ = ["SHAPES", "decision_boundaries", "model_label", "boundary_figure", "data_parallel_gradients",
           "gradients_figure", "hogwild_simulation", "loss_after_updates", "hogwild_figure",
           "DTYPES", "float_formats", "round_to_formats", "long_sum", "long_sum_figure", "BITS",
           "GROUP_SIZES", "fake_quantize", "quantisation_demo", "histogram_figure", "error_figure",
           "SPARSITIES", "CRITERIA", "pruning_demo", "pruning_figure", "sweep_figure", "saliency_demo",
           "saliency_figure", "TEMPERATURES", "soft_targets", "soft_targets_figure", "valley_loss",
           "sgd_paths", "sgd_figure", "regularisation_demo", "regularisation_figure"]
