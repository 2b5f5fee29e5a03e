"""IPCW metrics stop at a truncation time where the censoring survival is clearly positive.

On a fixed-length study (integer weeks, every survivor censored at the study end) the censoring
survival is zero at the end: scikit-survival refuses the IPCW metrics there, and dropping the
test rows at the last training time (the survivors) biases them. Truncated at tau they agree
with scikit-survival's on the truncated data.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import typer
from fixed_study import STUDY_WEEKS, fixed_length_study
from sksurv.metrics import integrated_brier_score
from sksurv.nonparametric import CensoringDistributionEstimator, kaplan_meier_estimator
from typer.testing import CliRunner

from models.crossval import cross_validate
from models.evaluation import repeated_stratified_kfold
from models.evaluation.summary import cv_metrics, surv_columns, truncate
from models.flat import censoring_survival, evaluation_times, infer_dictionary, truncation_time
from models.survival import make_surv
from pipeline.cli_flat import evaluate_flat
from pipeline.params import load_params
from pipeline.stages.evaluate_flat import SURVIVAL
from pipeline.stages.train import candidates_for


def test_censoring_survival_matches_sksurv():
    rng = np.random.default_rng(0)
    time = rng.exponential(10, 300).round(3)
    event = rng.random(300) < 0.6
    times, g = censoring_survival(time, event)
    ref = CensoringDistributionEstimator().fit(make_surv(time, event))
    probe = times[times < times.max()]
    np.testing.assert_allclose(g[: probe.size], ref.predict_proba(probe), atol=1e-12)


def test_fixed_study_tau_is_the_study_end():
    frame = fixed_length_study()
    tr = truncation_time(frame["week"], frame["arrest"])
    assert tr["tau"] == STUDY_WEEKS
    assert tr["censoring_survival_before_tau"] >= tr["min_censoring_survival"]
    horizons, grid = evaluation_times(frame["week"], frame["arrest"], tau=tr["tau"])
    assert max(grid) < STUDY_WEEKS
    assert max(horizons) < STUDY_WEEKS
    # scikit-survival itself refuses the untruncated data: G is zero at the study end
    y = make_surv(frame["week"].to_numpy(float), frame["arrest"].to_numpy(bool))
    with pytest.raises(ValueError, match="censoring survival function is zero"):
        CensoringDistributionEstimator().fit(y).predict_ipcw(y)


def test_tau_where_censoring_survival_gets_small():
    rng = np.random.default_rng(1)
    time = rng.uniform(0, 100, 2000)  # staggered entry: G falls linearly to zero
    event = rng.random(2000) < 0.3
    tr = truncation_time(time, event, floor=0.1)
    times, g = censoring_survival(time, event)
    assert g[times < tr["tau"]].min() >= 0.1
    assert g[times == tr["tau"]][0] < 0.1
    assert 80 < tr["tau"] < 100


@pytest.fixture(scope="module")
def fixed_cv(tiny_params):
    frame = fixed_length_study()
    y = make_surv(frame["week"].to_numpy(float), frame["arrest"].to_numpy(bool))
    tau = truncation_time(y["time"], y["event"])["tau"]
    horizons, grid = evaluation_times(y["time"], y["event"], tau=tau)
    dictionary = infer_dictionary(frame, ["week", "arrest"])
    train = load_params(tiny_params).train
    cands = [c for c in candidates_for(SURVIVAL, train) if c.name == "penalised_cox"]
    splits = repeated_stratified_kfold(y, 4, 1, seed=0)
    cv = cross_validate(cands, frame, dictionary, y, splits, kind="survival", n_splits=4,
                        horizons=grid, seed=0)
    return y, tau, horizons, cv.predictions, splits


def _sksurv_ibs(y, tau, predictions, splits, km: bool = False) -> float:
    """Mean over folds of scikit-survival's IBS on the data truncated at tau."""
    values = []
    for fold, (train, test) in enumerate(splits):
        pred = predictions[predictions["fold"] == fold].set_index("row").loc[test]
        y_train, y_test = truncate(y[train], tau), truncate(y[test], tau)
        cols = surv_columns(pred)
        times = np.array([t for t in cols if y_test["time"].min() < t < y_test["time"].max()])
        if km:
            t_km, s_km = kaplan_meier_estimator(y[train]["event"], y[train]["time"])
            at = s_km[np.searchsorted(t_km, times, side="right") - 1]
            matrix = np.tile(at, (len(test), 1))
        else:
            matrix = np.column_stack([pred[cols[t]].to_numpy() for t in times])
        values.append(integrated_brier_score(y_train, y_test, matrix, times))
    return float(np.mean(values))


def test_ibs_matches_sksurv_on_truncated_data_and_beats_km(fixed_cv):
    y, tau, horizons, predictions, splits = fixed_cv
    result = cv_metrics(predictions, y, kind="survival", horizons=horizons, tau=tau)
    m = result["metrics"]
    assert result["n_folds"] == 4
    reference = _sksurv_ibs(y, tau, predictions, splits)
    km = _sksurv_ibs(y, tau, predictions, splits, km=True)
    assert abs(m["ibs"]["mean"] - reference) < 0.02
    assert m["ibs"]["mean"] <= km
    # Uno's C agrees with Harrell's (no survivor dropped); every time-dependent AUC informative
    assert abs(m["uno_c"]["mean"] - m["harrell_c"]["mean"]) < 0.03
    assert all(m[f"td_auc_{h:g}"]["mean"] > 0.6 for h in horizons)


def test_without_truncation_the_survivors_are_dropped(fixed_cv):
    """The old behaviour (tau=None): test rows at the last training time are left out."""
    y, tau, horizons, predictions, _ = fixed_cv
    old = cv_metrics(predictions, y, kind="survival", horizons=horizons)["metrics"]
    new = cv_metrics(predictions, y, kind="survival", horizons=horizons, tau=tau)["metrics"]
    assert old["ibs"]["mean"] > new["ibs"]["mean"] + 0.02


def test_cli_reports_the_truncation(tmp_path, tiny_params):
    path = tmp_path / "fixed.csv"
    fixed_length_study().to_csv(path, index=False)
    app = typer.Typer()
    app.command()(evaluate_flat)
    result = CliRunner().invoke(app, ["--csv", str(path), "--time", "week", "--event", "arrest",
                                      "--folds", "3", "--repeats", "1", "--params",
                                      str(tiny_params), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    m = json.loads((tmp_path / "out" / "metrics.json").read_text())
    tr = m["ipcw_truncation"]
    assert tr["tau"] == STUDY_WEEKS
    assert tr["min_censoring_survival"] == 0.1
    assert tr["censoring_survival_before_tau"] > 0.5
    assert max(m["horizons"]) < tr["tau"]
    assert max(m["time_grid"]) < tr["tau"]
    assert "tau" in tr["rule"]
