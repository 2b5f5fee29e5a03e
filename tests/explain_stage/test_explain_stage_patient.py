"""Patient reports from real trained models: numbers equal the models, SHAP adds up, privacy."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from explain_stage_helpers import MADE_ON, read_keys, visible_text

from models.explain import survival_effect_of_drivers
from pipeline.errors import InputError
from pipeline.stages.explain import explain_patient, patient_row, write_patient_report
from pipeline.stages.explain_predict import recalibrate
from pipeline.stages.explain_shap import explain_rows

# the page holds the batch (what-if) prediction; a one-row call may differ in the last bits
EXACT = 1e-12


def _first(cohort: pd.DataFrame, mask: pd.Series) -> str:
    rows = cohort.loc[mask, "patient_id"]
    if rows.empty:
        pytest.skip("no such patient in the simulated cohort")
    return str(rows.iloc[0])


@pytest.fixture(scope="module")
def non_pancreatic(cohort) -> str:
    """A patient with a non-pancreatic primary and only one index line."""
    once = cohort.groupby("patient_id")["line"].transform("size") == 1
    return _first(cohort, (cohort["primary_site"] != "pancreas") & once
                  & cohort["primary_site"].notna())


@pytest.fixture(scope="module")
def page(ctx, non_pancreatic, tmp_path_factory) -> tuple[str, dict[str, str]]:
    """One rendered patient report and its keyed numbers."""
    out = tmp_path_factory.mktemp("patient") / "report.html"
    write_patient_report(ctx, non_pancreatic, out, made_on=MADE_ON)
    html = out.read_text(encoding="utf-8")
    return html, read_keys(html)


def _design_for(em, row: pd.DataFrame, therapy: str) -> pd.DataFrame:
    return em.design.transform(row.assign(therapy=therapy))


def test_header_keys(page, non_pancreatic, ctx):
    _, keys = page
    row = patient_row(ctx.cohort, non_pancreatic)
    assert keys["pseudonym"] == non_pancreatic
    assert keys["index_therapy"] == row["therapy"].iloc[0]
    assert keys["made_on"] == MADE_ON


def test_predictions_equal_model_outputs(page, non_pancreatic, ctx):
    _, keys = page
    row = patient_row(ctx.cohort, non_pancreatic)
    checked = 0
    for therapy in ["prrt_lu177", "everolimus", "ssa", "chemotherapy"]:
        key = f"p_response_{therapy}"
        if key not in keys:  # ineligible (e.g. PRRT with Krenning < 2)
            assert f"ineligible_{therapy}" in keys
            continue
        em = ctx.models["response"]
        p = em.model.predict_proba(_design_for(em, row, therapy))[0]
        assert float(keys[key]) == pytest.approx(p, rel=EXACT, abs=EXACT)
        for ep in ("pfs", "os"):
            em = ctx.models[ep]
            surv = em.model.predict_survival(_design_for(em, row, therapy), [12, 24])[0]
            assert float(keys[f"{ep}_12_{therapy}"]) == pytest.approx(surv[0], rel=EXACT)
            assert float(keys[f"{ep}_24_{therapy}"]) == pytest.approx(surv[1], rel=EXACT)
            lo, hi = float(keys[f"{ep}_12_{therapy}_lo"]), float(keys[f"{ep}_12_{therapy}_hi"])
            assert lo <= surv[0] <= hi
            assert hi - lo > 0
        checked += 1
    assert checked >= 2


def test_interval_is_the_validated_slope_range(ctx):
    surv = np.array([[1.0, 0.8, 0.5]])
    pivot = np.log(-np.log(np.array([1 - 1e-12, 0.7, 0.4])))
    lo, hi = recalibrate(surv, pivot, (0.8, 1.1), "survival")
    z = np.log(-np.log(surv[0, 1]))
    expected = [np.exp(-np.exp(pivot[1] + b * (z - pivot[1]))) for b in (0.8, 1.1)]
    assert lo[0, 1] == pytest.approx(min(expected + [0.8]))
    assert hi[0, 1] == pytest.approx(max(expected + [0.8]))
    assert lo[0, 0] == hi[0, 0] == 1.0
    assert recalibrate(surv, pivot, None, "survival") is None


def test_ineligible_sunitinib_is_listed_with_reason(page):
    html, keys = page
    assert "ineligible_sunitinib" in keys
    assert not any(k.endswith("_sunitinib") and k != "ineligible_sunitinib" for k in keys)
    assert "sunitinib only for pancreatic primaries" in html


def test_pancreatic_patient_gets_sunitinib(ctx, cohort, tmp_path):
    pid = _first(cohort, cohort["primary_site"] == "pancreas")
    out = write_patient_report(ctx, pid, tmp_path / "p.html", made_on=MADE_ON)
    keys = read_keys(out.read_text(encoding="utf-8"))
    row = patient_row(ctx.cohort, pid)
    krenning = row["krenning_score"].iloc[0]
    assert "ineligible_sunitinib" not in keys
    em = ctx.models["pfs"]
    s12 = em.model.predict_survival(_design_for(em, row, "sunitinib"), [12])[0, 0]
    assert float(keys["pfs_12_sunitinib"]) == pytest.approx(s12, rel=EXACT)
    assert ("ineligible_prrt_lu177" in keys) == bool(not krenning >= 2)


def test_drivers_equal_shap_and_add_up(page, non_pancreatic, ctx):
    _, keys = page
    row = patient_row(ctx.cohort, non_pancreatic)
    for ep, em in ctx.models.items():
        result = explain_rows(em, row)
        values = result.values.iloc[0]
        shown = {k.removeprefix(f"shap_{ep}_"): float(v) for k, v in keys.items()
                 if k.startswith(f"shap_{ep}_")}
        assert len(shown) == 5
        top = values.abs().sort_values(ascending=False, kind="stable").index[:5]
        assert set(shown) == set(top)
        for variable, value in shown.items():
            assert value == values[variable]
        assert result.base_value + values.sum() == pytest.approx(result.margin[0], abs=1e-6)
        if ep == "pfs":
            effects = survival_effect_of_drivers(em.model.predict_survival_from_margin,
                                                 float(result.margin[0]), result, (12, 24), 5)
            for r in effects.itertuples(index=False):
                assert float(keys[f"effect_pfs_12_pfs_{r.variable}"]) == r.effect_12
                assert float(keys[f"effect_pfs_24_pfs_{r.variable}"]) == r.effect_24


@pytest.mark.parametrize("endpoint", ["response", "pfs", "os"])
def test_cohort_shap_adds_up_to_the_models_margin(ctx, endpoint):
    em = ctx.models[endpoint]
    result = explain_rows(em, ctx.cohort)
    total = result.base_value + result.values.to_numpy().sum(axis=1)
    np.testing.assert_allclose(total, result.margin, rtol=0, atol=1e-6)
    own = em.model.predict_margin(em.design.transform(ctx.cohort))
    tol = 1e-4 if em.is_tree else 1e-9  # xgboost's own margin is float32
    np.testing.assert_allclose(result.margin, own, rtol=0, atol=tol)
    assert set(result.values.columns) <= set(em.design.variables_)


def test_missing_inputs_are_listed(page, non_pancreatic, ctx):
    html, keys = page
    row = patient_row(ctx.cohort, non_pancreatic)
    variables = dict.fromkeys(v for em in ctx.models.values() for v in em.design.variables_)
    n_missing = sum(bool(pd.isna(row[v].iloc[0])) for v in variables)
    assert sum(k.startswith("missing_") for k in keys) == n_missing
    assert n_missing > 0  # seed 0: this patient lacks e.g. IHC markers
    assert "Response and OS models: replaced by the training median" in html
    assert "PFS model: not imputed: follows the branch learnt for missing values" in html


def test_validated_metrics_come_from_metrics_json(page, files):
    import json

    _, keys = page
    metrics = json.loads(files.metrics_file.read_text())
    c = metrics["pfs"]["metrics"]["harrell_c"]
    assert float(keys["metric_pfs_c_index"]) == c["mean"]
    assert float(keys["metric_pfs_c_index_lo"]) == c["lo"]
    assert float(keys["metric_response_auc_hi"]) == metrics["response"]["metrics"]["auc"]["hi"]


def test_no_raw_identifier_or_birth_date(page, files):
    html, _ = page
    text = visible_text(html)
    assert not any(raw in text for raw in files.raw_ids)
    assert "birth" not in text.lower()


def test_explain_patient_writes_the_file(files, non_pancreatic, tmp_path):
    out = explain_patient(non_pancreatic, files.features_file, files.models_dir,
                          files.metrics_file, tmp_path / "x" / "one.html")
    keys = read_keys(out.read_text(encoding="utf-8"))
    assert keys["pseudonym"] == non_pancreatic
    assert math.isfinite(float(keys["pfs_12_" + keys["index_therapy"]]))


def test_unknown_pseudonym_is_a_clear_error_without_echo(files, tmp_path):
    with pytest.raises(InputError, match="pseudonym not found") as err:
        explain_patient("PDOESNOTEXIST0000", files.features_file, files.models_dir,
                        files.metrics_file, tmp_path / "none.html")
    assert "PDOESNOTEXIST0000" not in str(err.value)
    assert not (tmp_path / "none.html").exists()


def test_without_metrics_no_interval_is_invented(files, cohort, tmp_path):
    pid = str(cohort["patient_id"].iloc[0])
    out = explain_patient(pid, files.features_file, files.models_dir, tmp_path / "absent.json",
                          tmp_path / "no_metrics.html")
    keys = read_keys(out.read_text(encoding="utf-8"))
    therapy = keys["index_therapy"]
    assert math.isfinite(float(keys[f"pfs_12_{therapy}"]))
    assert keys[f"pfs_12_{therapy}_lo"] == keys[f"pfs_12_{therapy}_hi"] == ""
    assert f"p_response_lo_{therapy}" not in keys
    assert not any(k.startswith("metric_") for k in keys)
