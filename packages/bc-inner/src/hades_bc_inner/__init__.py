"""hades_bc_inner: the HaDES inner loop (networks, losses and the full-batch fit).

Knows nothing of evolution strategies or environments. Functions act on ONE example; the caller
vmaps.
"""

from hades_bc_inner._src.actions import categorical_action, gaussian_action
from hades_bc_inner._src.fit import (
    OPTIMIZERS,
    FitConfig,
    FitResult,
    fit,
    fit_with,
    make_lr_schedule,
    make_optimizer,
)
from hades_bc_inner._src.keys import INIT_MODES, init_keys
from hades_bc_inner._src.labels import balanced_labels
from hades_bc_inner._src.losses import cross_entropy, gaussian_nll, make_policy_loss
from hades_bc_inner._src.networks import (
    ACTIVATIONS,
    MLP,
    CategoricalPolicy,
    CNNClassifier,
    GaussianPolicy,
    MLPClassifier,
    get_activation,
    init_params,
    make_classifier,
    make_policy,
)

__version__ = "0.1.0"

__all__ = [
    "ACTIVATIONS",
    "INIT_MODES",
    "MLP",
    "OPTIMIZERS",
    "CNNClassifier",
    "CategoricalPolicy",
    "FitConfig",
    "FitResult",
    "GaussianPolicy",
    "MLPClassifier",
    "__version__",
    "balanced_labels",
    "categorical_action",
    "cross_entropy",
    "fit",
    "fit_with",
    "gaussian_action",
    "gaussian_nll",
    "get_activation",
    "init_keys",
    "init_params",
    "make_classifier",
    "make_lr_schedule",
    "make_optimizer",
    "make_policy",
    "make_policy_loss",
]
