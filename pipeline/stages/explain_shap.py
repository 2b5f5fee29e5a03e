"""Loading the saved endpoint models for the ``explain`` stage and explaining rows with SHAP.

One :class:`EndpointModel` per endpoint holds the fitted model, its design, the margin scale, the
design-column -> clinical-variable map (one-hot and missing-indicator columns become their
variable) and a prepared TreeSHAP explainer for xgboost models. :func:`explain_rows` returns SHAP
values grouped by clinical variable and refuses to return any that do not add up to the margin.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from clinical.endpoints import ENDPOINTS
from models.design import DesignMatrix
from models.explain import (
    ShapResult,
    TreeShapExplainer,
    check_additivity,
    group_by_variable,
    linear_shap,
    make_tree_explainer,
    tree_shap,
)
from models.persist import load_model
from pipeline.catalog import registered_file_for
from pipeline.errors import InputError
from pipeline.io import read_json

log = logging.getLogger(__name__)

ENDPOINT_KINDS = {name: e.kind for name, e in ENDPOINTS.items()}  # from the vocabulary
_LINEAR_SCALE = {"binary": "log_odds", "survival": "log_hazard"}
ADDITIVITY_ATOL = 1e-6


@dataclass(frozen=True)
class EndpointModel:
    """A saved endpoint model ready to predict and explain.

    Attributes:
        endpoint: ``response``, ``pfs`` or ``os``.
        kind: ``binary`` or ``survival``.
        model: The fitted estimator (``models.persist.load_model``).
        design: Its fitted :class:`DesignMatrix`.
        scale: SHAP margin scale (``log_odds``, ``log_hazard`` or ``log_time``).
        variable_of: Explained column -> clinical variable.
        explainer: Prepared TreeSHAP explainer (xgboost models) or None (linear models).
        selection: The train stage's ``selection.json`` (empty if absent).
        name: Selected candidate and class, e.g. ``xgb_cox (XGBCoxSurvival)``.
        version: Short SHA-256 of the saved model files.
        registered: The registry record of these model files (``name``, ``version``,
            ``alias``), empty when they were not registered.
    """

    endpoint: str
    kind: str
    model: Any
    design: DesignMatrix
    scale: str
    variable_of: dict[str, str]
    explainer: TreeShapExplainer | None
    selection: dict[str, Any]
    name: str
    version: str
    registered: dict[str, str] = field(default_factory=dict)

    @property
    def is_tree(self) -> bool:
        """True for xgboost models (TreeSHAP, learnt default branch for missing values)."""
        return self.explainer is not None


def hash_model_files(model_dir: Path, length: int = 12) -> str:
    """Short SHA-256 over the names and bytes of every file in a saved model folder."""
    digest = hashlib.sha256()
    for path in sorted(p for p in Path(model_dir).rglob("*") if p.is_file()):
        digest.update(path.relative_to(model_dir).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:length]


def _variable_map(model: Any, design: DesignMatrix) -> dict[str, str]:
    """Design columns (plus ``<col>__missing`` indicators of linear models) -> variable."""
    mapping = dict(design.variable_of_)
    preprocessor = getattr(model, "preprocessor_", None)
    if preprocessor is not None:
        mapping |= {f"{c}__missing": design.variable_of_[c] for c in
                    preprocessor.indicator_columns_}
    return mapping


def load_endpoint_model(models_dir: Path, endpoint: str) -> EndpointModel:
    """Load ``<models_dir>/<endpoint>/model`` and prepare it for SHAP.

    Raises:
        InputError: If the model folder is missing or was saved without its design.
    """
    model_dir = Path(models_dir) / endpoint / "model"
    if not (model_dir / "model.json").exists():
        raise InputError(file=str(model_dir), column="", problem="no saved model",
                         fix="run `netoutcomes train` (or `dvc repro train`) first")
    model = load_model(model_dir)
    design = getattr(model, "design_", None)
    if design is None:
        raise InputError(file=str(model_dir), column="", problem="model saved without design.json",
                         fix="re-save the model with model.save(dir, design=design)")
    kind = ENDPOINT_KINDS[endpoint]
    explainer = make_tree_explainer(model.booster_) if hasattr(model, "booster_") else None
    scale = explainer.scale if explainer is not None else _LINEAR_SCALE[kind]
    selection_file = model_dir.parent / "selection.json"
    selection = read_json(selection_file) if selection_file.exists() else {}
    cls = type(model).__name__
    chosen = selection.get("selected")
    return EndpointModel(
        endpoint=endpoint, kind=kind, model=model, design=design, scale=scale or "",
        variable_of=_variable_map(model, design), explainer=explainer, selection=selection,
        name=f"{chosen} ({cls})" if chosen else cls, version=hash_model_files(model_dir),
        registered=_registered(models_dir, endpoint),
    )


def _registered(models_dir: Path, endpoint: str) -> dict[str, str]:
    """The registry record of an endpoint (``register`` stage), or {} when there is none."""
    path = registered_file_for(models_dir)
    if not path.exists():
        return {}
    record = (read_json(path).get("registered") or {}).get(endpoint) or {}
    return {k: str(record[k]) for k in ("name", "version", "alias") if k in record}


def explain_rows(em: EndpointModel, frame: pd.DataFrame) -> ShapResult:
    """SHAP values of rows of the cohort table, grouped by clinical variable.

    Args:
        em: The endpoint model.
        frame: Cohort rows (model inputs as columns).

    Returns:
        Grouped ShapResult on the model's margin scale; additivity checked (``1e-6``).

    Raises:
        ValueError: If base value + SHAP does not equal the margin.
    """
    X = em.design.transform(frame)
    if em.explainer is not None:
        result = tree_shap(em.explainer, X)
    else:
        Xt = em.model.transform_inputs(X)
        result = linear_shap(em.model.coef_, em.model.intercept_, Xt, em.model.background_mean_,
                             scale=em.scale)
    check_additivity(result, ADDITIVITY_ATOL)
    grouped = group_by_variable(result, em.variable_of)
    check_additivity(grouped, ADDITIVITY_ATOL)
    return grouped
