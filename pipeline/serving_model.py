"""Models-from-code pyfunc behind `netoutcomes serve` (logged as code, never pickled).

Loads the estimator's native files (xgboost UBJ/JSON + JSON sidecars) after checking their
SHA-256 against the serving config, checks every request against the feature dictionary and
answers the response probability, or the survival at the configured horizons plus the risk
score; ``params={"explain": true}`` adds per-request SHAP values (xgboost ``pred_contribs``).
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
from mlflow.pyfunc import PythonModel

from pipeline.serving import (
    RESPONSE_OUTPUT,
    RISK_OUTPUT,
    RequestError,
    check_request,
    hash_tree,
    survival_column,
)

ALLOWED_ESTIMATOR_PREFIXES = ("models.response.", "models.survival.")
BOOSTER = "xgboost.Booster"


class SafeInputError(MlflowException):
    """A 400 whose message cannot be rewritten.

    MLflow's scoring server prefixes any ``MlflowException`` raised by ``predict`` with
    ``"Failed to predict data '<the whole input>'"``; this message is set once and then kept,
    so the response names the field and never quotes a patient value.
    """

    def __init__(self, message: str):
        super().__init__(message, error_code=INVALID_PARAMETER_VALUE)

    @property
    def message(self) -> str:
        return self._safe_message

    @message.setter
    def message(self, value: str) -> None:
        if not hasattr(self, "_safe_message"):
            self._safe_message = value


class BoosterAdapter:
    """A bare xgboost Booster (``model.ubj`` + ``booster.json``) with the estimators' interface.

    ``booster.json``: ``feature_names``; for ``survival:cox`` also ``baseline_times`` and
    ``baseline_cumhazard`` (Breslow) so survival at horizons can be served.
    """

    def __init__(self, booster: Any, sidecar: dict[str, Any]):
        self.booster = booster
        self.sidecar = sidecar
        self.feature_names = list(sidecar["feature_names"])

    @classmethod
    def load(cls, folder: str | Path) -> BoosterAdapter:
        import xgboost as xgb

        folder = Path(folder)
        booster = xgb.Booster()
        booster.load_model(str(folder / "model.ubj"))
        sidecar = json.loads((folder / "booster.json").read_text(encoding="utf-8"))
        return cls(booster, sidecar)

    def _dmatrix(self, X: pd.DataFrame) -> Any:
        import xgboost as xgb

        return xgb.DMatrix(X[self.feature_names].to_numpy(float), feature_names=self.feature_names)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        p = self.booster.predict(self._dmatrix(X))
        return np.column_stack([1.0 - p, p])

    def predict_risk(self, X: pd.DataFrame) -> np.ndarray:
        return self.booster.predict(self._dmatrix(X), output_margin=True)

    def predict_survival(self, X: pd.DataFrame, times: Any) -> np.ndarray:
        t0 = np.asarray(self.sidecar["baseline_times"], float)
        h0 = np.asarray(self.sidecar["baseline_cumhazard"], float)
        h_at = np.interp(np.asarray(times, float), t0, h0, left=0.0)
        return np.exp(-np.outer(np.exp(self.predict_risk(X)), h_at))

    def shap_values(self, X: pd.DataFrame) -> pd.DataFrame:
        contrib = self.booster.predict(self._dmatrix(X), pred_contribs=True)
        cols = [f"shap_{f}" for f in self.feature_names] + ["shap_base"]
        return pd.DataFrame(contrib, columns=cols)


def load_estimator(estimator: str, folder: Path) -> Any:
    """Load through the estimator class's own ``load`` (allow-listed classes only)."""
    if estimator == BOOSTER:
        return BoosterAdapter.load(folder)
    if not estimator.startswith(ALLOWED_ESTIMATOR_PREFIXES):
        raise MlflowException(f"estimator class not allowed for serving: {estimator}")
    module_name, _, cls_name = estimator.rpartition(".")
    cls = getattr(importlib.import_module(module_name), cls_name)
    return cls.load(folder)


def design_frame(estimator: Any, X: pd.DataFrame) -> pd.DataFrame:
    """Clinical inputs -> the estimator's numeric design (its saved ``DesignMatrix``)."""
    design = getattr(estimator, "design_", None)
    return design.transform(X) if design is not None else X


def explain_frame(estimator: Any, X: pd.DataFrame) -> pd.DataFrame:
    """Per-row SHAP values on the model margin, summed per clinical variable.

    Columns ``shap_<variable>`` and ``shap_base``; base + sum = margin (log-odds, log hazard
    ratio, or log time for AFT). Trees: xgboost ``pred_contribs``; linear models: the exact
    closed form ``coef * (x - mean)``.
    """
    if isinstance(estimator, BoosterAdapter):
        return estimator.shap_values(X)
    from models.explain import group_columns, linear_shap  # shap loads only when explaining

    Xd = design_frame(estimator, X)
    design = getattr(estimator, "design_", None)
    variable_of = dict(design.variable_of_) if design is not None else {}
    if hasattr(estimator, "booster_"):
        import xgboost as xgb

        cols = list(estimator.feature_names_)
        dm = xgb.DMatrix(Xd[cols].to_numpy(np.float32, na_value=np.nan), feature_names=cols,
                         missing=np.nan)
        contrib = estimator.booster_.predict(dm, pred_contribs=True).astype(np.float64)
        values, base = pd.DataFrame(contrib[:, :-1], columns=cols), contrib[:, -1]
    elif hasattr(estimator, "coef_"):
        res = linear_shap(estimator.coef_, estimator.intercept_,
                          estimator.transform_inputs(Xd), estimator.background_mean_)
        values = res.values.reset_index(drop=True)
        base = np.full(len(values), res.base_value)
        variable_of.update({c: variable_of.get(c.removesuffix("__missing"),
                                               c.removesuffix("__missing"))
                            for c in values.columns if c.endswith("__missing")})
    else:
        raise SafeInputError("invalid request: this model cannot explain its predictions")
    grouped = group_columns(values, variable_of)
    grouped.columns = [f"shap_{c}" for c in grouped.columns]
    return grouped.assign(shap_base=base).reset_index(drop=True)


class NetOutcomeModel(PythonModel):
    """Scores one endpoint (response, PFS or OS) from the checked clinical inputs."""

    def load_context(self, context: Any) -> None:
        cfg_path = Path(context.artifacts["serving_config"])
        self.config = json.loads(cfg_path.read_text(encoding="utf-8"))
        native = Path(context.artifacts["native"])
        if hash_tree(native) != self.config["sha256"]:
            raise MlflowException("native model files do not match their recorded SHA-256")
        self.estimator = load_estimator(self.config["estimator"], native)
        self.spec = self.config["features"]
        self.horizons = [float(h) for h in self.config["horizons_months"]]

    def predict(self, context: Any, model_input: pd.DataFrame,
                params: dict[str, Any] | None = None) -> pd.DataFrame:
        try:
            X = check_request(pd.DataFrame(model_input), self.spec)
        except RequestError as err:
            raise SafeInputError(f"invalid request: {err}") from None
        out = self._score(X)
        if params and params.get("explain"):
            out = pd.concat([out, explain_frame(self.estimator, X)], axis=1)
        return out

    def _score(self, X: pd.DataFrame) -> pd.DataFrame:
        X = design_frame(self.estimator, X)
        if self.config["kind"] == "response":
            p = np.asarray(self.estimator.predict_proba(X))
            p = p[:, 1] if p.ndim == 2 else p
            return pd.DataFrame({RESPONSE_OUTPUT: p.astype(float)})
        out = {RISK_OUTPUT: np.asarray(self.estimator.predict_risk(X), float)}
        surv = np.asarray(self.estimator.predict_survival(X, self.horizons), float)
        surv = surv.reshape(len(X), len(self.horizons))
        for j, h in enumerate(self.horizons):
            out[survival_column(h)] = surv[:, j]
        return pd.DataFrame(out)


mlflow.models.set_model(NetOutcomeModel())
