"""Learning from a design matrix: encoders, outcome models, tuning, selection, what-if.

Public names are re-exported lazily (PEP 562) so that ``import models.evaluation`` does not pay
for xgboost, scikit-survival and Optuna. Evaluation (``models.evaluation``) and explanation
(``models.explain``) are imported from their own modules.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "DesignMatrix": "models.design",
    "LinearPreprocessor": "models.design",
    "LogisticResponseClassifier": "models.response",
    "XGBResponseClassifier": "models.response",
    "PenalisedCoxSurvival": "models.survival",
    "XGBAFTSurvival": "models.survival",
    "XGBCoxSurvival": "models.survival",
    "breslow_cumulative_hazard": "models.survival",
    "make_surv": "models.survival",
    "score_auc": "models.tuning",
    "score_harrell_c": "models.tuning",
    "tune": "models.tuning",
    "select_model": "models.selection",
    "PositivityModel": "models.counterfactual",
    "default_eligibility": "models.counterfactual",
    "fit_positivity": "models.counterfactual",
    "predict_what_if": "models.counterfactual",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'models' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
