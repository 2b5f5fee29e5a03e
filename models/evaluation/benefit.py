"""Treatment-benefit metrics: does a model rank and size the difference between two therapies?

Definitions follow the PATH statement's validation toolbox (shared/benefit-notes.md):

- **c-for-benefit** (van Klaveren et al., J Clin Epidemiol 2018;94:59-68): patients who received
  therapy A are matched 1:1 with patients who received the reference B; a pair's observed benefit
  is the difference of their outcomes (-1, 0, +1 for a binary outcome), its predicted benefit the
  mean of the two patients' predicted benefits; c-for-benefit is the concordance of predicted with
  observed benefit over all pairs of pairs with unequal observed benefit (ties in predicted benefit
  count one half). Matching ``"benefit"`` sorts both arms by predicted benefit and pairs equal
  ranks (the larger arm thinned to the smaller at evenly spaced ranks, deterministic); matching
  ``"covariates"`` is optimal 1:1 Mahalanobis matching (``scipy.optimize.linear_sum_assignment``).
- **E-for-benefit** (Maas et al. 2022): the observed pair benefit smoothed (lowess) against the
  predicted pair benefit; Eavg / E50 / E90 are the mean, median and 90th percentile of the
  absolute distance between the smoothed observed and the predicted benefit.
- **calibration-for-benefit by group**: patients grouped by quantile of predicted benefit; the
  observed benefit of a group is the (inverse-propensity weighted) difference between arms of the
  response rate, or, for a censored endpoint, of the weighted Kaplan-Meier survival at the horizon.
- **policy value** of a treatment rule estimated off-policy: self-normalised inverse propensity
  weighting (IPW) and augmented IPW (doubly robust, DR), with Wald intervals from the estimators'
  influence functions (nuisance models held fixed; they are cross-fitted by the caller).
- **average effects**: the model's standardised (marginal) effect, an IPTW-weighted Cox model
  (lifelines, robust sandwich variance) and, for randomised data, the unadjusted estimate.
- **overlap**: propensity distribution per therapy, the share of patients below the positivity
  threshold and the effective sample size after weighting.

Censored endpoints are dichotomised at a horizon ``h`` where a binary outcome is needed: a patient
with an event before ``h`` had the event, one followed beyond ``h`` did not, one censored before
``h`` is unknown and carries no weight; the known ones are re-weighted by the inverse probability of
remaining uncensored (Kaplan-Meier of the censoring times), so the weighted mean is the
Kaplan-Meier estimate (IPCW).

All functions are pure: arrays in, numbers or DataFrames out. ``benefit`` means "better outcome on
A than on B": higher response probability, or higher event-free survival.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from scipy.stats import norm

from models.evaluation._checks import _as_rng, _check_positive_int, _check_survival
from models.evaluation.calibration import _fit_cox_1d, _lowess

__all__ = [
    "MATCHING",
    "c_for_benefit",
    "calibration_for_benefit",
    "e_for_benefit",
    "effect_agreement",
    "effective_sample_size",
    "horizon_outcome",
    "inverse_propensity_weights",
    "iptw_cox",
    "marginal_effect",
    "match_pairs",
    "ordinal_concordance",
    "overlap_summary",
    "pairwise_propensity",
    "policy_value",
    "therapy_cox",
    "unadjusted_cox",
    "weighted_km_at",
]

#: How c-for-benefit pairs patients.
MATCHING = ("benefit", "covariates")
_Z = float(norm.ppf(0.975))


# ---------------------------------------------------------------------------------------------
# outcomes


def weighted_km_at(event: np.ndarray, time: np.ndarray, t: float,
                   weights: np.ndarray | None = None) -> float:
    """Weighted Kaplan-Meier survival at ``t`` (product-limit with case weights)."""
    event = np.asarray(event, dtype=bool)
    time = np.asarray(time, dtype=float)
    w = np.ones(time.size) if weights is None else np.asarray(weights, dtype=float)
    if time.size == 0 or w.sum() <= 0:
        return float("nan")
    uniq, inverse = np.unique(time, return_inverse=True)
    deaths = np.bincount(inverse, weights=w * event, minlength=uniq.size)
    removed = np.bincount(inverse, weights=w, minlength=uniq.size)
    at_risk = removed[::-1].cumsum()[::-1]
    keep = (uniq <= t) & (deaths > 0)
    return float(np.prod(1.0 - deaths[keep] / at_risk[keep]))


def _censoring_survival_before(event: np.ndarray, time: np.ndarray) -> np.ndarray:
    """G(t-) of every subject: Kaplan-Meier of the censoring times, just before its own time."""
    uniq, inverse = np.unique(time, return_inverse=True)
    censored = np.bincount(inverse, weights=(~event).astype(float), minlength=uniq.size)
    removed = np.bincount(inverse, minlength=uniq.size).astype(float)
    at_risk = removed[::-1].cumsum()[::-1]
    step = 1.0 - censored / at_risk
    after = np.cumprod(step)
    before = np.concatenate(([1.0], after[:-1]))
    return before[inverse]


def horizon_outcome(y: np.ndarray, horizon: float) -> tuple[np.ndarray, np.ndarray]:
    """Event-free status at ``horizon`` with its inverse-probability-of-censoring weight.

    Returns:
        ``(event_free, weight)``: ``event_free`` is 1 if followed beyond ``horizon`` without the
        event, 0 if the event came first (NaN if censored before ``horizon``); ``weight`` is
        ``1 / G(min(T, horizon)-)`` for the known ones and 0 for the unknown, so the weighted mean
        of ``event_free`` is the Kaplan-Meier survival at ``horizon``.
    """
    event, time = _check_survival(y)
    if not np.isfinite(horizon) or horizon <= 0:
        raise ValueError(f"horizon must be a positive number of months, got {horizon!r}")
    had_event = event & (time <= horizon)
    beyond = time > horizon
    known = had_event | beyond
    status = np.where(had_event, 0.0, np.where(beyond, 1.0, np.nan))
    g_before = _censoring_survival_before(event, time)
    # a subject beyond the horizon is weighted by the censoring survival at the horizon
    g = np.where(beyond, _censoring_at(event, time, horizon), g_before)
    weight = np.where(known & (g > 0), 1.0 / np.where(g > 0, g, 1.0), 0.0)
    return status, weight


def _censoring_at(event: np.ndarray, time: np.ndarray, t: float) -> float:
    """Censoring survival G(t): the Kaplan-Meier estimate with censorings as the events, at t."""
    return weighted_km_at(~event, time, t)


# ---------------------------------------------------------------------------------------------
# c-for-benefit and E-for-benefit


def ordinal_concordance(predicted: np.ndarray, observed: np.ndarray) -> tuple[float, int]:
    """Concordance of ``predicted`` with an ordinal ``observed`` over pairs with unequal observed.

    Returns:
        ``(c, n_pairs)``; ties in ``predicted`` count one half. O(m log m) per observed level.
    """
    predicted = np.asarray(predicted, dtype=float)
    observed = np.asarray(observed, dtype=float)
    levels = np.unique(observed)
    concordant = 0.0
    pairs = 0
    for i, low in enumerate(levels[:-1]):
        lower = np.sort(predicted[observed == low])
        higher = predicted[observed > levels[i]]
        below = np.searchsorted(lower, higher, side="left")
        tied = np.searchsorted(lower, higher, side="right") - below
        concordant += float(below.sum() + 0.5 * tied.sum())
        pairs += lower.size * higher.size
    if pairs == 0:
        return float("nan"), 0
    return concordant / pairs, int(pairs)


def _rank_match(benefit_a: np.ndarray, benefit_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order_a = np.argsort(benefit_a, kind="mergesort")
    order_b = np.argsort(benefit_b, kind="mergesort")
    m = min(order_a.size, order_b.size)

    def thin(order: np.ndarray) -> np.ndarray:
        if order.size == m:
            return order
        picks = np.round((np.arange(m) + 0.5) * order.size / m - 0.5).astype(int)
        return order[np.clip(picks, 0, order.size - 1)]

    return thin(order_a), thin(order_b)


def _mahalanobis_match(xa: np.ndarray, xb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    both = np.vstack([xa, xb])
    centre = both.mean(axis=0)
    cov = np.atleast_2d(np.cov(both, rowvar=False))
    inv = np.linalg.pinv(cov)
    da, db = xa - centre, xb - centre
    quad_a = np.einsum("ij,jk,ik->i", da, inv, da)
    quad_b = np.einsum("ij,jk,ik->i", db, inv, db)
    cost = quad_a[:, None] + quad_b[None, :] - 2.0 * da @ inv @ db.T
    rows, cols = linear_sum_assignment(np.maximum(cost, 0.0))
    return rows, cols


def match_pairs(benefit: np.ndarray, treated: np.ndarray, *, on: str = "benefit",
                covariates: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """1:1 pairs of a treated (A) and an untreated (B) patient.

    Args:
        benefit: Predicted benefit of A over B of every patient.
        treated: True for patients who received A, False for B.
        on: ``"benefit"`` (rank matching on predicted benefit) or ``"covariates"`` (optimal
            Mahalanobis matching on ``covariates``).
        covariates: Numeric matrix (n, p) for covariate matching.

    Returns:
        ``(index_of_treated, index_of_untreated)`` positions into the inputs, one entry a pair.
    """
    if on not in MATCHING:
        raise ValueError(f"matching must be one of {MATCHING}, got {on!r}")
    treated = np.asarray(treated, dtype=bool)
    ia, ib = np.flatnonzero(treated), np.flatnonzero(~treated)
    if ia.size == 0 or ib.size == 0:
        raise ValueError("c-for-benefit needs patients on both therapies")
    if on == "benefit":
        ra, rb = _rank_match(np.asarray(benefit, float)[ia], np.asarray(benefit, float)[ib])
    else:
        if covariates is None:
            raise ValueError("matching on covariates needs the covariates matrix")
        x = np.asarray(covariates, dtype=float)
        ra, rb = _mahalanobis_match(x[ia], x[ib])
    return ia[ra], ib[rb]


def _pair_values(outcome: np.ndarray, benefit: np.ndarray, pa: np.ndarray, pb: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    observed = outcome[pa] - outcome[pb]
    predicted = 0.5 * (benefit[pa] + benefit[pb])
    return predicted, observed


def _check_benefit_inputs(outcome, treated, benefit) -> tuple[np.ndarray, ...]:
    """Clean arrays of the patients with a known outcome and benefit, and that mask."""
    outcome = np.asarray(outcome, dtype=float)
    treated = np.asarray(treated, dtype=bool)
    benefit = np.asarray(benefit, dtype=float)
    if not (outcome.shape == treated.shape == benefit.shape) or outcome.ndim != 1:
        raise ValueError(f"outcome, treated and benefit must be 1-d of one length, got "
                         f"{outcome.shape}, {treated.shape}, {benefit.shape}")
    keep = np.isfinite(outcome) & np.isfinite(benefit)
    return outcome[keep], treated[keep], benefit[keep], keep


def e_for_benefit(predicted: np.ndarray, observed: np.ndarray, span: float = 0.75
                  ) -> dict[str, float]:
    """Eavg / E50 / E90-for-benefit of matched pairs (lowess of observed on predicted benefit)."""
    predicted = np.asarray(predicted, dtype=float)
    observed = np.asarray(observed, dtype=float)
    if predicted.size < 3:
        raise ValueError(f"E-for-benefit needs at least 3 pairs, got {predicted.size}")
    smooth = _lowess(predicted, observed, predicted, span)
    gap = np.abs(smooth - predicted)
    return {"eavg": float(gap.mean()), "e50": float(np.median(gap)),
            "e90": float(np.quantile(gap, 0.9))}


def c_for_benefit(outcome, treated, benefit, *, matching: str = "benefit",
                  covariates: np.ndarray | None = None, n_boot: int = 200, seed: int = 0,
                  level: float = 0.95) -> dict[str, Any]:
    """c-for-benefit with a bootstrap interval (patients resampled within arm, re-matched).

    Args:
        outcome: Good outcome 0/1 of every patient (response, or event-free at the horizon;
            NaN = unknown, left out).
        treated: True for therapy A, False for the reference B.
        benefit: Predicted benefit of A over B (e.g. p_A - p_B, or S_A(h) - S_B(h)).
        matching: ``"benefit"`` or ``"covariates"`` (see :func:`match_pairs`).
        covariates: Matrix for covariate matching (rows as ``outcome``).
        n_boot: Bootstrap resamples (0: no interval).

    Returns:
        ``{"c", "lo", "hi", "n_pairs", "n_pairs_of_pairs", "matching", "eavg", "e50", "e90"}``.
    """
    outcome, treated, benefit, keep = _check_benefit_inputs(outcome, treated, benefit)
    x = None if covariates is None else np.asarray(covariates, dtype=float)[keep]
    pa, pb = match_pairs(benefit, treated, on=matching, covariates=x)
    pred, obs = _pair_values(outcome, benefit, pa, pb)
    c, n_pp = ordinal_concordance(pred, obs)
    out: dict[str, Any] = {"c": c, "lo": float("nan"), "hi": float("nan"),
                           "n_pairs": int(pa.size), "n_pairs_of_pairs": n_pp,
                           "matching": matching}
    if pa.size >= 3:
        out.update(e_for_benefit(pred, obs))
    if n_boot:
        _check_positive_int(n_boot, "n_boot")
        rng = _as_rng(seed)
        ia, ib = np.flatnonzero(treated), np.flatnonzero(~treated)
        draws = np.full(n_boot, np.nan)
        for b in range(n_boot):  # loop over resamples: each re-matches its own draw
            idx = np.concatenate([rng.choice(ia, ia.size), rng.choice(ib, ib.size)])
            xb = None if x is None else x[idx]
            qa, qb = match_pairs(benefit[idx], treated[idx], on=matching, covariates=xb)
            draws[b] = ordinal_concordance(*_pair_values(outcome[idx], benefit[idx], qa, qb))[0]
        good = draws[np.isfinite(draws)]
        if good.size >= 2:
            out["lo"], out["hi"] = (float(v) for v in np.quantile(
                good, [(1 - level) / 2, (1 + level) / 2]))
    return out


# ---------------------------------------------------------------------------------------------
# calibration-for-benefit by quantile group


def _arm_difference(good: np.ndarray, treated: np.ndarray, weights: np.ndarray) -> float:
    wa, wb = weights * treated, weights * ~treated
    if wa.sum() <= 0 or wb.sum() <= 0:
        return float("nan")
    return float(np.sum(wa * good) / wa.sum() - np.sum(wb * good) / wb.sum())


def _group_observed(kind: str, y: Any, treated: np.ndarray, weights: np.ndarray,
                    horizon: float | None) -> float:
    if kind == "binary":
        return _arm_difference(np.asarray(y, float), treated, weights)
    event, time = _check_survival(y)
    sa = weighted_km_at(event[treated], time[treated], horizon, weights[treated])
    sb = weighted_km_at(event[~treated], time[~treated], horizon, weights[~treated])
    return sa - sb


def _take_y(y: Any, idx: np.ndarray) -> Any:
    return y[idx] if isinstance(y, np.ndarray) else np.asarray(y)[idx]


def calibration_for_benefit(y: Any, treated, benefit, *, kind: str, horizon: float | None = None,
                            weights=None, n_groups: int = 5, n_boot: int = 200, seed: int = 0,
                            level: float = 0.95) -> pd.DataFrame:
    """Observed against predicted benefit by quantile group of predicted benefit.

    The observed benefit of a group is the difference between arms of the weighted response rate
    (``kind="binary"``) or of the weighted Kaplan-Meier survival at ``horizon`` (``"survival"``);
    pass inverse-propensity weights for observational data. The interval is a percentile
    bootstrap within the group (patients resampled within arm).

    Returns:
        One row per group: ``group``, ``n_treated``, ``n_reference``, ``predicted`` (mean predicted
        benefit), ``observed``, ``lo``, ``hi``.
    """
    if kind not in ("binary", "survival"):
        raise ValueError(f"kind must be 'binary' or 'survival', got {kind!r}")
    if kind == "survival" and horizon is None:
        raise ValueError("a survival calibration-for-benefit needs the horizon")
    treated = np.asarray(treated, dtype=bool)
    benefit = np.asarray(benefit, dtype=float)
    w = np.ones(benefit.size) if weights is None else np.asarray(weights, dtype=float)
    _check_positive_int(n_groups, "n_groups")
    ranks = pd.Series(benefit).rank(method="first").to_numpy()
    group = np.minimum(((ranks - 1) * n_groups / benefit.size).astype(int), n_groups - 1)
    rng = _as_rng(seed)
    rows = []
    for g in range(n_groups):  # loop over groups
        sel = np.flatnonzero(group == g)
        t = treated[sel]
        observed = _group_observed(kind, _take_y(y, sel), t, w[sel], horizon)
        draws = []
        ia, ib = sel[t], sel[~t]
        if ia.size and ib.size:
            for _ in range(n_boot):  # loop over resamples
                idx = np.concatenate([rng.choice(ia, ia.size), rng.choice(ib, ib.size)])
                draws.append(_group_observed(kind, _take_y(y, idx), treated[idx], w[idx], horizon))
        draws_arr = np.asarray(draws, dtype=float)
        draws_arr = draws_arr[np.isfinite(draws_arr)]
        lo, hi = (np.quantile(draws_arr, [(1 - level) / 2, (1 + level) / 2])
                  if draws_arr.size >= 2 else (np.nan, np.nan))
        rows.append({"group": g + 1, "n_treated": int(ia.size), "n_reference": int(ib.size),
                     "predicted": float(benefit[sel].mean()), "observed": observed,
                     "lo": float(lo), "hi": float(hi)})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# policy value


def _wald(psi: np.ndarray) -> dict[str, float]:
    n = psi.size
    est = float(psi.mean())
    se = float(psi.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
    return {"value": est, "lo": est - _Z * se, "hi": est + _Z * se, "se": se}


def policy_value(policy: Sequence[str], received: Sequence[str], propensity: pd.DataFrame,
                 good: np.ndarray, *, censoring_weight: np.ndarray | None = None,
                 predicted: pd.DataFrame | None = None, clip: float = 0.01
                 ) -> dict[str, dict[str, float]]:
    """Off-policy value of a treatment rule: expected good outcome if everyone followed it.

    Args:
        policy: Therapy the rule gives each patient.
        received: Therapy each patient received.
        propensity: P(therapy | covariates), one column per therapy (cross-fitted).
        good: Good outcome 0/1 (response; event-free at the horizon, NaN if unknown).
        censoring_weight: IPCW weight of each patient (0 for unknown status); None = all 1.
        predicted: Model's predicted good-outcome probability under each therapy (columns as
            ``propensity``); with it the doubly robust (AIPW) value is returned as well.
        clip: Propensities are floored at ``clip`` (reported weights stay bounded).

    Returns:
        ``{"ipw": {value, lo, hi, se}, "dr": {...}}`` (``dr`` only with ``predicted``). IPW is
        self-normalised (Hajek), and so are the weights of the DR augmentation term (the
        stabilised AIPW); intervals are Wald intervals of the influence functions.
    """
    policy = np.asarray(policy, dtype=object)
    received = np.asarray(received, dtype=object)
    good = np.asarray(good, dtype=float)
    n = good.size
    if not (policy.size == received.size == n == len(propensity)):
        raise ValueError("policy, received, propensity and outcome must have one row a patient")
    missing = sorted(set(map(str, policy)) - set(propensity.columns))
    if missing:
        raise ValueError(f"no propensity column for therapies {missing}")
    cw = np.where(np.isfinite(good), 1.0, 0.0) if censoring_weight is None else np.asarray(
        censoring_weight, dtype=float)
    cw = np.where(np.isfinite(good), cw, 0.0)
    y = np.nan_to_num(good, nan=0.0)
    cols = {c: i for i, c in enumerate(propensity.columns)}
    pi_idx = np.array([cols[p] for p in policy])
    e = np.maximum(propensity.to_numpy(dtype=float)[np.arange(n), pi_idx], clip)
    follows = (received == policy).astype(float)
    w = follows * cw / e
    if w.sum() <= 0:
        raise ValueError("no patient received the therapy the rule recommends")
    ipw = float(np.sum(w * y) / np.sum(w))
    psi_ipw = ipw + w * (y - ipw) / w.mean()
    out = {"ipw": _wald(psi_ipw) | {"value": ipw}}
    if predicted is not None:
        mu = predicted.reindex(columns=propensity.columns).to_numpy(dtype=float)
        mu = mu[np.arange(n), pi_idx]
        # augmentation with self-normalised weights (stabilised AIPW): bounded by the outcome
        # range even where a few propensities are small
        psi = mu + w * (y - mu) / w.mean()
        out["dr"] = _wald(psi)
    return out


# ---------------------------------------------------------------------------------------------
# average effects


def marginal_effect(surv_a: np.ndarray, surv_b: np.ndarray, times: Sequence[float],
                    horizon: float) -> dict[str, float]:
    """Standardised (marginal) effect of A vs B from predicted survival curves of every patient.

    The survival curves are averaged over the cohort (the same patients under A and under B); the
    marginal hazard ratio is the ratio of the cumulative hazards of the averaged curves at the
    horizon (exact under proportional hazards), the RMST difference integrates the averaged curves
    from 0 to the horizon (trapezoid on ``times``, with S(0) = 1).
    """
    grid = np.asarray(times, dtype=float)
    if horizon not in set(grid.tolist()):
        raise ValueError(f"horizon {horizon} is not one of the prediction times {grid.tolist()}")
    upto = grid <= horizon
    sa = np.asarray(surv_a, dtype=float)[:, upto].mean(axis=0)
    sb = np.asarray(surv_b, dtype=float)[:, upto].mean(axis=0)
    t = np.concatenate(([0.0], grid[upto]))
    rmst_a = float(np.trapezoid(np.concatenate(([1.0], sa)), t))
    rmst_b = float(np.trapezoid(np.concatenate(([1.0], sb)), t))
    h_a, h_b = -np.log(np.clip(sa[-1], 1e-12, 1.0)), -np.log(np.clip(sb[-1], 1e-12, 1.0))
    hr = float(h_a / h_b) if h_b > 0 else float("nan")
    return {"hr": hr, "rmst_difference": rmst_a - rmst_b, "survival_a": float(sa[-1]),
            "survival_b": float(sb[-1])}


def effective_sample_size(weights: np.ndarray) -> float:
    """Kish's effective sample size (sum w)^2 / sum w^2."""
    w = np.asarray(weights, dtype=float)
    return float(w.sum() ** 2 / np.sum(w**2)) if np.sum(w**2) > 0 else 0.0


def _cox_hr(frame: pd.DataFrame, *, weights: bool, robust: bool) -> dict[str, float]:
    from lifelines import CoxPHFitter

    model = CoxPHFitter()
    model.fit(frame, duration_col="time", event_col="event",
              weights_col="w" if weights else None, robust=robust)
    row = model.summary.loc["treated"]
    return {"hr": float(row["exp(coef)"]), "lo": float(row["exp(coef) lower 95%"]),
            "hi": float(row["exp(coef) upper 95%"])}


def pairwise_propensity(propensity_a, propensity_b, clip: float) -> np.ndarray:
    """P(A | A or B, x) from a multinomial model's pA and pB, clipped to [clip, 1 - clip]."""
    pa, pb = np.asarray(propensity_a, float), np.asarray(propensity_b, float)
    return np.clip(pa / np.maximum(pa + pb, 1e-12), clip, 1 - clip)


def inverse_propensity_weights(treated: np.ndarray, e: np.ndarray, *,
                               stabilised: bool = False) -> np.ndarray:
    """1 / P(own arm); ``stabilised`` multiplies each arm by its share (weights average ~1)."""
    share = treated.mean() if stabilised else 1.0
    other = 1 - treated.mean() if stabilised else 1.0
    return np.where(treated, share / e, other / (1 - e))


def _bootstrap_iptw_hr(event: np.ndarray, time: np.ndarray, treated: np.ndarray, e: np.ndarray,
                       n_boot: int, seed: int) -> tuple[float, float]:
    """Percentile 95% interval of the IPTW hazard ratio (patients resampled, propensity fixed)."""
    rng = _as_rng(seed)
    n = time.size
    draws = np.full(n_boot, np.nan)
    for b in range(n_boot):  # loop over resamples
        i = rng.integers(0, n, n)
        if treated[i].all() or not treated[i].any() or not event[i].any():
            continue
        w = inverse_propensity_weights(treated[i], e[i], stabilised=True)
        draws[b] = _fit_cox_1d(treated[i].astype(float), event[i], time[i], weights=w)
    ok = np.exp(draws[np.isfinite(draws)])
    if ok.size < 2:
        return float("nan"), float("nan")
    lo, hi = np.quantile(ok, [0.025, 0.975])
    return float(lo), float(hi)


def iptw_cox(y: np.ndarray, treated, propensity_a, propensity_b, *, clip: float = 0.01,
             adjust: np.ndarray | None = None, n_boot: int = 0, seed: int = 0
             ) -> dict[str, float]:
    """IPTW-weighted Cox hazard ratio of A vs B (stabilised weights, robust 95% interval).

    With ``n_boot`` a percentile bootstrap interval (``boot_lo``/``boot_hi``: patients
    resampled, propensities held fixed, weighted Breslow partial likelihood) is added.

    Args:
        y: Survival outcome of the patients who received A or B.
        treated: True for A.
        propensity_a, propensity_b: P(A | x) and P(B | x) of each patient (generalised
            propensity of a multinomial model); the pairwise propensity is ``pA / (pA + pB)``.
        adjust: Optional extra covariate (e.g. a true prognostic score) in the Cox model.

    Returns:
        ``{"hr", "lo", "hi", "ess_treated", "ess_reference"}``.
    """
    event, time = _check_survival(y)
    treated = np.asarray(treated, dtype=bool)
    e = pairwise_propensity(propensity_a, propensity_b, clip)
    w = inverse_propensity_weights(treated, e, stabilised=True)
    frame = pd.DataFrame({"time": time, "event": event.astype(int), "treated": treated.astype(int),
                          "w": w})
    if adjust is not None:
        frame["adjust"] = np.asarray(adjust, dtype=float)
    out = _cox_hr(frame, weights=True, robust=True)
    out.update({"ess_treated": effective_sample_size(w[treated]),
                "ess_reference": effective_sample_size(w[~treated])})
    if n_boot and adjust is None:
        out["boot_lo"], out["boot_hi"] = _bootstrap_iptw_hr(event, time, treated, e, n_boot, seed)
    return out


def unadjusted_cox(y: np.ndarray, treated, adjust: np.ndarray | None = None) -> dict[str, float]:
    """Cox hazard ratio of A vs B (model-based 95% interval), optionally adjusted for one score."""
    event, time = _check_survival(y)
    frame = pd.DataFrame({"time": time, "event": event.astype(int),
                          "treated": np.asarray(treated, dtype=bool).astype(int)})
    if adjust is not None:
        frame["adjust"] = np.asarray(adjust, dtype=float)
    return _cox_hr(frame, weights=False, robust=False)


def therapy_cox(y: np.ndarray, received: Sequence[str], reference: str,
                adjust: np.ndarray | None = None) -> dict[str, dict[str, float]]:
    """Cox model of the outcome on indicators of every therapy vs ``reference`` (+ one score).

    With ``adjust`` = the simulator's true therapy-free prognostic log-hazard this is the
    true-risk-adjusted Cox: the practical ceiling of any model fitted to observed outcomes.

    Returns:
        therapy -> ``{"hr", "lo", "hi"}`` (model-based 95% interval).
    """
    from lifelines import CoxPHFitter

    event, time = _check_survival(y)
    received = np.asarray(received, dtype=object)
    others = [t for t in dict.fromkeys(received.tolist()) if t != reference]
    frame = pd.DataFrame({"time": time, "event": event.astype(int)})
    for t in others:  # loop over therapies: one indicator each
        frame[f"t_{t}"] = (received == t).astype(int)
    if adjust is not None:
        frame["adjust"] = np.asarray(adjust, dtype=float)
    summary = CoxPHFitter().fit(frame, duration_col="time", event_col="event").summary
    return {t: {"hr": float(summary.loc[f"t_{t}", "exp(coef)"]),
                "lo": float(summary.loc[f"t_{t}", "exp(coef) lower 95%"]),
                "hi": float(summary.loc[f"t_{t}", "exp(coef) upper 95%"])} for t in others}


# ---------------------------------------------------------------------------------------------
# overlap and agreement with the truth


def overlap_summary(propensity: pd.DataFrame, received: Sequence[str], *, threshold: float,
                    clip: float = 0.01) -> dict[str, dict[str, float]]:
    """Per therapy: propensity quantiles among its receivers, share below ``threshold``, ESS."""
    received = np.asarray(received, dtype=object)
    out = {}
    for therapy in propensity.columns:  # loop over therapies
        p = propensity[therapy].to_numpy(dtype=float)
        got = received == therapy
        q = np.quantile(p[got], [0.05, 0.25, 0.5, 0.75, 0.95]) if got.any() else [np.nan] * 5
        w = 1.0 / np.maximum(p[got], clip)
        out[str(therapy)] = {
            "n_received": int(got.sum()),
            "propensity_received": dict(zip(("p05", "p25", "p50", "p75", "p95"),
                                            map(float, q), strict=True)),
            "share_below_threshold": float(np.mean(p < threshold)),
            "ess_after_weighting": effective_sample_size(w) if got.any() else 0.0,
        }
    return out


def effect_agreement(predicted: np.ndarray, true: np.ndarray) -> dict[str, float]:
    """Pearson r, root-mean-square error (PEHE) and SD ratio of predicted vs true effects."""
    p, t = np.asarray(predicted, dtype=float), np.asarray(true, dtype=float)
    ok = np.isfinite(p) & np.isfinite(t)
    p, t = p[ok], t[ok]
    if p.size < 3:
        raise ValueError(f"need at least 3 patients with both effects, got {p.size}")
    r = float(np.corrcoef(p, t)[0, 1]) if p.std() > 0 and t.std() > 0 else float("nan")
    return {"pearson_r": r, "rmse": float(np.sqrt(np.mean((p - t) ** 2))),
            "sd_ratio": float(p.std() / t.std()) if t.std() > 0 else float("nan"),
            "mean_predicted": float(p.mean()), "mean_true": float(t.mean()), "n": int(p.size)}
