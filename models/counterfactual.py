"""What-if predictions per candidate therapy, with eligibility and a positivity note.

The therapy is a model input, so each patient row is scored once per candidate therapy with only
the therapy changed. Eligibility rules are clinical, not learned: no sunitinib unless the primary
is pancreatic; PRRT needs somatostatin-receptor uptake at least that of the liver (Krenning >= 2)
when the table has a Krenning column. The positivity model (multinomial logistic propensity of
therapy given covariates) flags therapies that were rare for similar patients: predictions there
are extrapolations.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from clinical.therapies import PRRT_MIN_KRENNING, SUNITINIB_SITE
from models.design import DesignMatrix, LinearPreprocessor

__all__ = [
    "DEFAULT_HORIZONS",
    "DEFAULT_POSITIVITY_THRESHOLD",
    "KRENNING_COLUMNS",
    "PositivityModel",
    "default_eligibility",
    "cross_fitted_propensity",
    "fit_positivity",
    "predict_what_if",
]

logger = logging.getLogger(__name__)

#: Survival horizons (months) reported by default.
DEFAULT_HORIZONS: tuple[float, ...] = (12.0, 24.0)
#: Propensity below which a therapy is flagged "rare for similar patients".
DEFAULT_POSITIVITY_THRESHOLD = 0.05
#: Columns read as the Krenning-like SSTR uptake score, first present wins.
KRENNING_COLUMNS = ("sstr_krenning", "krenning_score")
RARE_NOTE = "rare for similar patients"

Eligibility = Callable[[pd.DataFrame, str], tuple[np.ndarray, np.ndarray]]


def default_eligibility(frame: pd.DataFrame, therapy: str) -> tuple[np.ndarray, np.ndarray]:
    """Eligibility of every row for one therapy.

    Returns:
        ``(eligible bool (n,), reason str (n,))``; reason is ``""`` when eligible.
    """
    n = len(frame)
    eligible = np.ones(n, dtype=bool)
    reason = np.full(n, "", dtype=object)
    if therapy == "sunitinib":
        site = frame["primary_site"] if "primary_site" in frame.columns else pd.Series(
            [np.nan] * n, index=frame.index)
        ok = site.astype(str).eq(SUNITINIB_SITE).to_numpy() & site.notna().to_numpy()
        eligible &= ok
        reason[~ok] = "sunitinib only for pancreatic primaries"
    if therapy == "prrt_lu177":
        column = next((c for c in KRENNING_COLUMNS if c in frame.columns), None)
        if column is not None:
            score = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
            ok = score >= PRRT_MIN_KRENNING
            eligible &= ok
            reason[~ok] = np.where(np.isnan(score[~ok]), "SSTR uptake not documented",
                                   f"SSTR uptake below liver (Krenning < {PRRT_MIN_KRENNING})")
    return eligible, reason


@dataclass(frozen=True)
class PositivityModel:
    """Multinomial logistic propensity of therapy given covariates (design without therapy).

    Attributes:
        design: The fitted design encoder.
        preprocessor: Imputation/scaling of the covariate columns.
        therapies: Therapy levels (propensity columns), in order.
        coef: Coefficients, shape (n_therapies, p).
        intercept: Intercepts, shape (n_therapies,).
        threshold: Propensity below which a therapy is flagged as rare.
    """

    design: DesignMatrix
    preprocessor: LinearPreprocessor
    therapies: tuple[str, ...]
    coef: np.ndarray
    intercept: np.ndarray
    threshold: float = DEFAULT_POSITIVITY_THRESHOLD

    def predict_propensity(self, frame: pd.DataFrame) -> pd.DataFrame:
        """P(therapy | covariates), one column per therapy, rows sum to 1."""
        covariates = _covariates(self.design, frame)
        data = self.preprocessor.transform(covariates).to_numpy(dtype=np.float64)
        logits = data @ self.coef.T + self.intercept[None, :]
        logits -= logits.max(axis=1, keepdims=True)
        prob = np.exp(logits)
        prob /= prob.sum(axis=1, keepdims=True)
        return pd.DataFrame(prob, index=frame.index, columns=list(self.therapies))

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable numbers."""
        return {"kind": "PositivityModel", "design": self.design.to_dict(),
                "preprocessor": self.preprocessor.to_dict(), "therapies": list(self.therapies),
                "coef": self.coef.tolist(), "intercept": self.intercept.tolist(),
                "threshold": self.threshold}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> PositivityModel:
        """Rebuild from :meth:`to_dict` output."""
        return cls(DesignMatrix.from_dict(state["design"]),
                   LinearPreprocessor.from_dict(state["preprocessor"]),
                   tuple(state["therapies"]), np.asarray(state["coef"], dtype=np.float64),
                   np.asarray(state["intercept"], dtype=np.float64), float(state["threshold"]))


def _covariates(design: DesignMatrix, frame: pd.DataFrame) -> pd.DataFrame:
    X = design.transform(frame)
    if design.treatment_ is None:
        return X
    return X.drop(columns=design.columns_of(design.treatment_))


def fit_positivity(frame: pd.DataFrame, design: DesignMatrix, *,
                   threshold: float = DEFAULT_POSITIVITY_THRESHOLD,
                   C: float = 1.0) -> PositivityModel:
    """Fit the propensity of the received therapy given covariates (training rows only).

    Raises:
        ValueError: If the design has no treatment variable or fewer than two therapies occur.
    """
    if design.treatment_ is None:
        raise ValueError("the design has no treatment variable")
    received = frame[design.treatment_]
    known = received.notna().to_numpy()
    labels = received[known].astype(str).to_numpy()
    if np.unique(labels).size < 2:
        raise ValueError("need at least two therapies to model positivity")
    covariates = _covariates(design, frame.loc[known])
    prep = LinearPreprocessor().fit(covariates)
    data = prep.transform(covariates).to_numpy(dtype=np.float64)
    model = LogisticRegression(C=C, max_iter=2000).fit(data, labels)
    seen = list(map(str, model.classes_))
    if len(seen) == 2:  # binary sklearn fit: expand to one column per class
        coef = np.vstack([-model.coef_[0] / 2, model.coef_[0] / 2])
        intercept = np.array([-model.intercept_[0] / 2, model.intercept_[0] / 2])
    else:
        coef, intercept = model.coef_, model.intercept_
    # therapies never received get propensity 0 (a very negative logit)
    levels = design.levels_.get(design.treatment_, seen)
    full_coef = np.zeros((len(levels), data.shape[1]))
    full_intercept = np.full(len(levels), -1e3)
    for i, name in enumerate(seen):  # loop over therapies
        j = levels.index(name) if name in levels else None
        if j is not None:
            full_coef[j], full_intercept[j] = coef[i], intercept[i]
    return PositivityModel(design, prep, tuple(levels), full_coef, full_intercept,
                           float(threshold))


def cross_fitted_propensity(frame: pd.DataFrame, dictionary: dict[str, Any],
                            folds: np.ndarray, *,
                            threshold: float = DEFAULT_POSITIVITY_THRESHOLD) -> pd.DataFrame:
    """Out-of-fold propensity of every therapy: fold ``k``'s rows scored by a model fitted on the
    other folds (design and propensity both fitted there), so no row informs its own weight.

    Args:
        frame: Cohort rows with the received therapy.
        dictionary: Feature dictionary (decides the design, names the treatment variable).
        folds: Fold number of each row.

    Returns:
        One column per therapy level, rows as ``frame``, each row summing to 1.
    """
    folds = np.asarray(folds)
    if folds.shape != (len(frame),):
        raise ValueError(f"folds must give one fold per row ({len(frame)}), got {folds.shape}")
    parts = []
    for k in np.unique(folds):  # loop over folds
        test = folds == k
        train = frame.loc[~test]
        design = DesignMatrix().fit(train, dictionary)
        model = fit_positivity(train, design, threshold=threshold)
        parts.append(model.predict_propensity(frame.loc[test]))
    return pd.concat(parts).reindex(frame.index).fillna(0.0)


def _predictions(model: Any, X: pd.DataFrame, horizons: Sequence[float]) -> pd.DataFrame:
    if hasattr(model, "predict_survival"):
        surv = model.predict_survival(X, horizons)
        out = {"risk": model.predict_risk(X)}
        out.update({f"survival_{h:g}": surv[:, i] for i, h in enumerate(horizons)})
        return pd.DataFrame(out, index=X.index)
    return pd.DataFrame({"response_prob": model.predict_proba(X)}, index=X.index)


def predict_what_if(model: Any, design: DesignMatrix, frame: pd.DataFrame,
                    therapies: Sequence[str], *, eligibility: Eligibility = default_eligibility,
                    positivity: PositivityModel | None = None,
                    horizons: Sequence[float] = DEFAULT_HORIZONS) -> pd.DataFrame:
    """Score every row of ``frame`` once per candidate therapy.

    Args:
        model: A fitted response model (``predict_proba``) or survival model
            (``predict_risk``/``predict_survival``).
        design: The fitted design encoder the model was trained on.
        frame: Patient rows (model inputs; the received therapy is ignored).
        therapies: Candidate therapies.
        eligibility: ``rule(frame, therapy) -> (eligible, reason)``.
        positivity: Optional fitted :class:`PositivityModel` for the rarity note.
        horizons: Survival horizons in months.

    Returns:
        One row per (patient row, therapy): ``row`` (position in ``frame``), ``therapy``,
        ``eligible``, ``reason``, predictions (``response_prob``, or ``risk`` and
        ``survival_<h>``; NaN where not eligible), ``propensity`` and ``positivity_note``.
    """
    if design.treatment_ is None:
        raise ValueError("the design has no treatment variable to vary")
    unknown = [t for t in therapies if t not in design.levels_.get(design.treatment_, [])]
    if unknown:
        raise ValueError(f"therapies not known to the design: {unknown}")
    n, k = len(frame), len(therapies)
    rows = np.tile(np.arange(n), k)
    candidate = np.repeat(np.asarray(therapies, dtype=object), n)
    stacked = frame.iloc[rows].reset_index(drop=True).assign(**{design.treatment_: candidate})
    preds = _predictions(model, design.transform(stacked), horizons)
    rules = [eligibility(frame, t) for t in therapies]  # loop over therapies
    eligible = np.concatenate([r[0] for r in rules])
    reason = np.concatenate([r[1] for r in rules])
    preds = preds.where(np.broadcast_to(eligible[:, None], preds.shape), np.nan)
    out = pd.DataFrame({"row": rows, "therapy": candidate, "eligible": eligible,
                        "reason": reason})
    out = pd.concat([out, preds.reset_index(drop=True)], axis=1)
    if positivity is not None:
        prop = positivity.predict_propensity(frame).reindex(columns=list(therapies))
        out["propensity"] = prop.to_numpy().T.ravel()
        rare = out["propensity"].to_numpy() < positivity.threshold
        out["positivity_note"] = np.where(rare & eligible, RARE_NOTE, "")
    else:
        out["propensity"] = np.nan
        out["positivity_note"] = ""
    out = out.sort_values(["row", "therapy"], kind="stable", key=_therapy_order(therapies))
    return out.reset_index(drop=True)


def _therapy_order(therapies: Sequence[str]) -> Callable[[pd.Series], pd.Series]:
    rank = {t: i for i, t in enumerate(therapies)}

    def key(col: pd.Series) -> pd.Series:
        return col.map(rank) if col.name == "therapy" else col

    return key
