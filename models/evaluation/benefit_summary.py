"""Does a model choose the therapy well? Treatment-benefit figures from out-of-fold what-if scores.

Input: the what-if predictions of the outer cross-validation (every test patient scored under every
candidate therapy by a model that never saw them), the observed outcome and received therapy of
each patient, and cross-fitted propensities. Output: one JSON-ready block per endpoint with

- ``overlap``: propensity distribution per therapy, share below the positivity threshold, ESS;
- ``pairs``: for every candidate therapy with enough patients beside the reference therapy:
  c-for-benefit (with E-for-benefit), calibration-for-benefit by quintile of predicted benefit,
  and the average effect three ways (the model's standardised effect, an IPTW-weighted Cox model,
  and on randomised data the unadjusted estimate);
- ``policy``: off-policy value (IPW and doubly robust) of "the best predicted eligible therapy",
  "as treated", each therapy for everyone eligible (the reference for the others) and the simple
  rule "PRRT if eligible, else everolimus";
- ``truth`` (synthetic data only): agreement of predicted with true individual effects, average
  effects against the truth and against a Cox model adjusted for the true prognostic risk (the
  practical ceiling), and the regret of each policy against the oracle.

Survival endpoints are read at one horizon (``horizon``): the predicted benefit of A over B is
``S_A(h) - S_B(h)``, the observed outcome "event-free at h" (IPCW-weighted, see
:mod:`models.evaluation.benefit`). For the individual log-hazard effect the complementary log-log of
the predicted survival at the horizon is used (``log(-log S_A(h)) - log(-log S_B(h))``: the log
hazard ratio under proportional hazards), so every model family is read on the same scale.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from models.evaluation._checks import _as_rng
from models.evaluation.benefit import (
    c_for_benefit,
    calibration_for_benefit,
    effect_agreement,
    horizon_outcome,
    inverse_propensity_weights,
    iptw_cox,
    marginal_effect,
    overlap_summary,
    pairwise_propensity,
    policy_value,
    unadjusted_cox,
)

__all__ = ["BenefitConfig", "SIMPLE_RULE", "benefit_summary", "survival_times", "what_if_matrix"]

#: The fixed rule every model must beat: PRRT where eligible, otherwise everolimus.
SIMPLE_RULE = ("prrt_lu177", "everolimus")


@dataclass(frozen=True)
class BenefitConfig:
    """Knobs of the benefit evaluation (``evaluate.benefit`` in params.yaml)."""

    reference: str = "ssa"
    min_patients_per_arm: int = 30
    n_boot: int = 100
    n_groups: int = 5
    matching: str = "benefit"
    positivity_threshold: float = 0.05
    propensity_clip: float = 0.01
    randomised: bool = False
    time_unit: str = "months"


def survival_times(what_if: pd.DataFrame) -> dict[float, str]:
    """Horizon (months) -> what-if column of predicted survival (``survival_<h>``), sorted."""
    cols = {float(m.group(1)): c for c in what_if.columns
            if (m := re.fullmatch(r"survival_([0-9.]+(?:e[+-]?[0-9]+)?)", c))}
    return dict(sorted(cols.items()))


def what_if_matrix(what_if: pd.DataFrame, column: str, n_rows: int,
                   therapies: Sequence[str]) -> pd.DataFrame:
    """One column of the long what-if table as a (row x therapy) matrix (NaN = not eligible)."""
    wide = what_if.pivot(index="row", columns="therapy", values=column)
    return wide.reindex(index=range(n_rows), columns=list(therapies)).astype(float)


def _good_outcome(kind: str, y: Any, horizon: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Good outcome (response / event-free at h) and its IPCW weight."""
    if kind == "binary":
        good = np.asarray(y, dtype=float)
        return good, np.ones(good.size)
    return horizon_outcome(y, horizon)


def _predicted_good(kind: str, what_if: pd.DataFrame, n: int, therapies: Sequence[str],
                    horizon: float | None) -> pd.DataFrame:
    if kind == "binary":
        return what_if_matrix(what_if, "response_prob", n, therapies)
    return what_if_matrix(what_if, survival_times(what_if)[horizon], n, therapies)


def _log_hazard_effect(s_a: np.ndarray, s_b: np.ndarray) -> np.ndarray:
    clip = lambda s: np.clip(s, 1e-9, 1 - 1e-9)  # noqa: E731
    return np.log(-np.log(clip(s_a))) - np.log(-np.log(clip(s_b)))


def _bootstrap_mean(fn, n: int, n_boot: int, seed: int) -> tuple[float, float]:
    rng = _as_rng(seed)
    draws = np.array([fn(rng.integers(0, n, n)) for _ in range(n_boot)], dtype=float)
    draws = draws[np.isfinite(draws)]
    if draws.size < 2:
        return float("nan"), float("nan")
    lo, hi = np.quantile(draws, [0.025, 0.975])
    return float(lo), float(hi)


def _model_average(kind: str, what_if: pd.DataFrame, n: int, a: str, b: str,
                   horizon: float | None, cfg: BenefitConfig, seed: int) -> dict[str, Any]:
    """The model's standardised effect over the patients eligible for both therapies."""
    if kind == "binary":
        p = what_if_matrix(what_if, "response_prob", n, [a, b]).dropna()
        pa, pb = p[a].to_numpy(), p[b].to_numpy()
        diff = float(pa.mean() - pb.mean())
        lo, hi = _bootstrap_mean(lambda i: pa[i].mean() - pb[i].mean(), pa.size, cfg.n_boot, seed)
        return {"risk_difference": diff, "lo": lo, "hi": hi, "n": int(pa.size),
                "interval": "bootstrap over patients, fitted models held fixed"}
    times = survival_times(what_if)
    grid = list(times)
    sa = np.column_stack([what_if_matrix(what_if, times[t], n, [a])[a] for t in grid])
    sb = np.column_stack([what_if_matrix(what_if, times[t], n, [b])[b] for t in grid])
    both = np.isfinite(sa).all(axis=1) & np.isfinite(sb).all(axis=1)
    sa, sb = sa[both], sb[both]
    est = marginal_effect(sa, sb, grid, horizon)
    rng = _as_rng(seed)
    draws = [marginal_effect(sa[i], sb[i], grid, horizon)
             for i in (rng.integers(0, sa.shape[0], sa.shape[0]) for _ in range(cfg.n_boot))]
    hr = np.array([d["hr"] for d in draws])
    rmst = np.array([d["rmst_difference"] for d in draws])
    est.update({"hr_lo": float(np.nanquantile(hr, 0.025)),
                "hr_hi": float(np.nanquantile(hr, 0.975)),
                "rmst_lo": float(np.nanquantile(rmst, 0.025)),
                "rmst_hi": float(np.nanquantile(rmst, 0.975)), "n": int(both.sum()),
                "interval": "bootstrap over patients, fitted models held fixed"})
    return est


def _observed_average(kind: str, y: Any, received: np.ndarray, propensity: pd.DataFrame,
                      a: str, b: str, cfg: BenefitConfig, seed: int) -> dict[str, Any]:
    """IPTW estimate (and the unadjusted one on randomised data) among receivers of A or B."""
    sel = np.isin(received, [a, b])
    treated = received[sel] == a
    if kind == "binary":
        good = np.asarray(y, dtype=float)[sel]
        w = inverse_propensity_weights(treated, pairwise_propensity(
            propensity[a].to_numpy()[sel], propensity[b].to_numpy()[sel], cfg.propensity_clip))
        diff = (np.sum(w * good * treated) / np.sum(w * treated)
                - np.sum(w * good * ~treated) / np.sum(w * ~treated))
        out: dict[str, Any] = {"iptw": {"risk_difference": float(diff)}}
        if cfg.randomised:
            out["randomised"] = {"risk_difference": float(good[treated].mean()
                                                          - good[~treated].mean())}
        return out
    ys = y[sel]
    out = {"iptw_cox": iptw_cox(ys, treated, propensity[a].to_numpy()[sel],
                                propensity[b].to_numpy()[sel], clip=cfg.propensity_clip,
                                n_boot=cfg.n_boot, seed=seed)}
    if cfg.randomised:
        out["randomised_cox"] = unadjusted_cox(ys, treated)
    return out


def _pair(kind: str, what_if: pd.DataFrame, y: Any, received: np.ndarray,
          propensity: pd.DataFrame, a: str, horizon: float | None, cfg: BenefitConfig,
          seed: int, observed: dict[str, dict[str, Any]]) -> dict[str, Any]:
    b = cfg.reference
    n = received.size
    pred = _predicted_good(kind, what_if, n, [a, b], horizon)
    benefit = (pred[a] - pred[b]).to_numpy()
    good, ipcw = _good_outcome(kind, y, horizon)
    sel = np.isin(received, [a, b]) & np.isfinite(benefit)
    treated = received[sel] == a
    iptw = inverse_propensity_weights(treated, pairwise_propensity(
        propensity[a].to_numpy()[sel], propensity[b].to_numpy()[sel], cfg.propensity_clip))
    y_sel = y[sel] if kind == "survival" else good[sel]
    calibration = calibration_for_benefit(
        y_sel, treated, benefit[sel], kind=kind, horizon=horizon, weights=iptw,
        n_groups=cfg.n_groups, n_boot=cfg.n_boot, seed=seed)
    if a not in observed:  # the observed effects do not depend on the horizon
        observed[a] = _observed_average(kind, y, received, propensity, a, b, cfg, seed)
    return {
        "n_candidate": int(treated.sum()),
        "n_reference": int((~treated).sum()),
        "c_for_benefit": c_for_benefit(good[sel], treated, benefit[sel], matching=cfg.matching,
                                       n_boot=cfg.n_boot, seed=seed),
        "calibration_for_benefit": calibration.to_dict(orient="records"),
        "calibration_weights": "inverse propensity of the received therapy (A vs B)",
        "mean_predicted_benefit": float(np.nanmean(benefit[sel])),
        "ipcw_known_share": float(np.mean(ipcw[sel] > 0)),
        "average_effect": {"model": _model_average(kind, what_if, n, a, b, horizon, cfg, seed),
                           **observed[a]},
    }


def _policies(pred: pd.DataFrame, eligible: pd.DataFrame, received: np.ndarray,
              therapies: Sequence[str], reference: str) -> dict[str, np.ndarray]:
    """Treatment rules: best predicted eligible, as treated, one therapy for all, simple rule."""
    scores = pred.where(eligible.to_numpy(), -np.inf).to_numpy()
    best = np.asarray(therapies, dtype=object)[np.argmax(scores, axis=1)]
    out = {"model": best, "as_treated": received.astype(object)}
    for t in therapies:  # loop over therapies
        out[f"all_{t}"] = np.where(eligible[t].to_numpy(), t, reference).astype(object)
    first, second = SIMPLE_RULE
    if first in eligible.columns and second in eligible.columns:
        out["prrt_else_everolimus"] = np.where(eligible[first].to_numpy(), first,
                                               second).astype(object)
    return out


def _policy_block(pred: pd.DataFrame, policies: Mapping[str, np.ndarray], received: np.ndarray,
                  propensity: pd.DataFrame, good: np.ndarray, ipcw: np.ndarray,
                  cfg: BenefitConfig) -> dict[str, Any]:
    mu = pred.fillna(0.0)
    out: dict[str, Any] = {}
    for name, rule in policies.items():  # loop over rules
        if name == "as_treated":
            known = ipcw > 0
            value = float(np.sum(ipcw[known] * good[known]) / np.sum(ipcw[known]))
            out[name] = {"observed": value}
            continue
        try:
            out[name] = policy_value(rule, received, propensity, good, censoring_weight=ipcw,
                                     predicted=mu, clip=cfg.propensity_clip)
        except ValueError as exc:  # e.g. nobody received what the rule recommends
            out[name] = {"error": str(exc)}
        out[name]["share"] = {t: float(np.mean(rule == t)) for t in pred.columns}
    return out


def _truth_block(kind: str, pred: pd.DataFrame, eligible: pd.DataFrame, true: pd.DataFrame,
                 policies: Mapping[str, np.ndarray], n: int, reference: str,
                 adjusted: Mapping[str, float] | None
                 ) -> dict[str, Any]:
    """Agreement with the simulator's counterfactual truth (``true``: row x therapy)."""
    therapies = list(pred.columns)
    higher_better = kind == "binary"  # truth: p_response, or log-hazard (lower is better)
    out: dict[str, Any] = {"scale": "probability" if higher_better else "log_hazard"}
    effects = {}
    for a in therapies:  # loop over candidate therapies
        if a == reference:
            continue
        both = eligible[a].to_numpy() & eligible[reference].to_numpy()
        true_eff = (true[a] - true[reference]).to_numpy()[both]
        if higher_better:
            pred_eff = (pred[a] - pred[reference]).to_numpy()[both]
        else:
            pred_eff = _log_hazard_effect(pred[a].to_numpy(), pred[reference].to_numpy())[both]
        if np.sum(np.isfinite(pred_eff) & np.isfinite(true_eff)) < 3:
            continue
        agree = effect_agreement(pred_eff, true_eff)
        if not higher_better:
            agree["true_average_hr"] = float(np.exp(np.nanmean(true_eff)))
            agree["model_average_hr"] = float(np.exp(np.nanmean(pred_eff)))
            agree["log_hr_error"] = float(np.nanmean(pred_eff) - np.nanmean(true_eff))
            if adjusted and a in adjusted:
                agree["true_risk_adjusted_cox_hr"] = adjusted[a]
                agree["true_risk_adjusted_log_hr_error"] = float(
                    np.log(adjusted[a]) - np.nanmean(true_eff))
        effects[a] = agree
    out["individual_effects"] = effects
    t = true.where(eligible.to_numpy()).to_numpy()
    oracle = np.nanmax(t, axis=1) if higher_better else np.nanmin(t, axis=1)
    cols = {c: i for i, c in enumerate(therapies)}
    regret = {}
    for name, rule in policies.items():  # loop over rules
        idx = np.array([cols.get(r, -1) for r in rule])
        ok = idx >= 0
        value = np.full(n, np.nan)
        value[ok] = true.to_numpy()[np.flatnonzero(ok), idx[ok]]
        gap = (oracle - value) if higher_better else (value - oracle)
        regret[name] = {"regret": float(np.nanmean(gap)), "true_value": float(np.nanmean(value))}
    out["policy_regret"] = regret
    best_true = np.asarray(therapies, dtype=object)[
        np.nanargmax(np.where(np.isnan(t), -np.inf, t), axis=1) if higher_better
        else np.nanargmin(np.where(np.isnan(t), np.inf, t), axis=1)]
    out["model_picks_truly_best"] = float(np.mean(policies["model"] == best_true))
    out["truly_best_share"] = {c: float(np.mean(best_true == c)) for c in therapies}
    out["model_pick_share"] = {c: float(np.mean(policies["model"] == c)) for c in therapies}
    out["oracle_value"] = float(np.nanmean(oracle))
    return out


def benefit_summary(what_if: pd.DataFrame, y: Any, received: Sequence[str],
                    propensity: pd.DataFrame, *, kind: str, horizon: float | None = None,
                    config: BenefitConfig | None = None, truth: pd.DataFrame | None = None,
                    adjusted_cox: Mapping[str, float] | None = None, seed: int = 0,
                    observed_cache: dict[str, dict[str, Any]] | None = None
                    ) -> dict[str, Any]:
    """Every benefit figure of one endpoint (one horizon for survival).

    Args:
        what_if: Long out-of-fold what-if table: ``row``, ``therapy``, ``eligible`` and
            ``response_prob`` (binary) or ``survival_<t>`` columns (survival).
        y: Observed outcome of each row (0/1, or a structured survival array).
        received: Therapy each row received.
        propensity: Cross-fitted P(therapy | covariates), one column per therapy.
        kind: ``"binary"`` or ``"survival"``.
        horizon: Months (survival), one of the what-if survival times.
        config: :class:`BenefitConfig`.
        truth: Synthetic data only: true outcome score of each row under each therapy (row x
            therapy; ``p_response`` for binary, log-hazard for survival).
        adjusted_cox: Synthetic data only: therapy -> HR vs the reference from a Cox model
            adjusted for the true prognostic log-hazard.
        observed_cache: The observed (IPTW, randomised) effects depend on the therapies, not on
            the horizon: pass one dict to every horizon's call of an endpoint to compute them
            once (filled here).
    """
    cfg = config or BenefitConfig()
    received = np.asarray(received, dtype=object)
    n = received.size
    if kind == "survival" and horizon not in survival_times(what_if):
        raise ValueError(f"horizon {horizon} has no survival column in the what-if table")
    therapies = [t for t in dict.fromkeys(what_if["therapy"]) if t in propensity.columns]
    if cfg.reference not in therapies:
        raise ValueError(f"reference therapy {cfg.reference!r} is not among {therapies}")
    pred = _predicted_good(kind, what_if, n, therapies, horizon)
    eligible = what_if_matrix(what_if, "eligible", n, therapies).fillna(0).astype(bool)
    good, ipcw = _good_outcome(kind, y, horizon)
    counts = pd.Series(received).value_counts()
    pairs = {}
    skipped = {}
    for a in therapies:  # loop over candidate therapies
        if a == cfg.reference:
            continue
        n_a, n_b = int(counts.get(a, 0)), int(counts.get(cfg.reference, 0))
        if min(n_a, n_b) < cfg.min_patients_per_arm:
            skipped[a] = f"{n_a} vs {n_b} patients (< {cfg.min_patients_per_arm} per arm)"
            continue
        pairs[a] = _pair(kind, what_if, y, received, propensity, a, horizon, cfg, seed,
                         {} if observed_cache is None else observed_cache)
    policies = _policies(pred, eligible, received, therapies, cfg.reference)
    out: dict[str, Any] = {
        "reference": cfg.reference,
        "horizon_months": horizon,
        "outcome": ("objective response" if kind == "binary"
                    else f"event-free at {horizon:g} {cfg.time_unit}"),
        "matching": cfg.matching,
        "randomised": cfg.randomised,
        "overlap": overlap_summary(propensity[therapies], received,
                                   threshold=cfg.positivity_threshold, clip=cfg.propensity_clip),
        "pairs": pairs,
        "skipped_pairs": skipped,
        "policy": _policy_block(pred, policies, received, propensity[therapies], good, ipcw, cfg),
    }
    if truth is not None:
        true = truth.reindex(columns=therapies).astype(float)
        out["truth"] = _truth_block(kind, pred, eligible, true, policies, n, cfg.reference,
                                    adjusted_cox)
    return out
