"""The other model kinds the train stage can select: calibrated xgboost response, xgboost AFT."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from explain_stage_helpers import MADE_ON, read_keys

from models import XGBAFTSurvival, XGBResponseClassifier, make_surv
from models.design import DesignMatrix
from pipeline.stages.explain import load_context, patient_row, write_patient_report
from pipeline.stages.explain_shap import explain_rows


@pytest.fixture(scope="module")
def tree_ctx(files, tmp_path_factory):
    """The fixture pipeline with the response model -> xgboost and the PFS model -> AFT."""
    models_dir = tmp_path_factory.mktemp("tree_models")
    shutil.copytree(files.models_dir / "os", models_dir / "os")
    cohort = load_context(files.features_file, files.models_dir, files.metrics_file).cohort
    dictionary = json.loads((files.features_file.parent / "dictionary.json").read_text())
    tree = {"n_estimators": 40, "early_stopping_rounds": None}
    rows = cohort[cohort["response"].notna()].reset_index(drop=True)
    design = DesignMatrix().fit(rows, dictionary)
    XGBResponseClassifier(**tree, calibration_folds=3).fit(
        design.transform(rows), rows["response"].to_numpy(float)
    ).save(models_dir / "response" / "model", design=design)
    rows = cohort[cohort["pfs_months"] > 0].reset_index(drop=True)
    design = DesignMatrix().fit(rows, dictionary)
    y = make_surv(rows["pfs_months"].to_numpy(float), rows["pfs_event"].to_numpy(bool))
    XGBAFTSurvival(**tree).fit(design.transform(rows), y).save(models_dir / "pfs" / "model",
                                                               design=design)
    return load_context(files.features_file, models_dir, files.metrics_file)


def test_scales_and_additivity(tree_ctx):
    assert tree_ctx.models["response"].scale == "log_odds"
    assert tree_ctx.models["pfs"].scale == "log_time"
    for em in tree_ctx.models.values():
        result = explain_rows(em, tree_ctx.cohort)
        total = result.base_value + result.values.to_numpy().sum(axis=1)
        np.testing.assert_allclose(total, result.margin, rtol=0, atol=1e-6)


def test_report_numbers_and_aft_effect_signs(tree_ctx, tmp_path):
    pid = str(tree_ctx.cohort["patient_id"].iloc[1])
    out = write_patient_report(tree_ctx, pid, tmp_path / "tree.html", made_on=MADE_ON)
    keys = read_keys(out.read_text(encoding="utf-8"))
    row = patient_row(tree_ctx.cohort, pid)
    therapy = keys["index_therapy"]
    em = tree_ctx.models["response"]
    p = em.model.predict_proba(em.design.transform(row))[0]
    assert float(keys[f"p_response_{therapy}"]) == pytest.approx(p, rel=1e-12)
    shap = {k.removeprefix("shap_pfs_"): float(v) for k, v in keys.items()
            if k.startswith("shap_pfs_")}
    assert shap
    for variable, value in shap.items():  # AFT: positive SHAP = longer time = higher PFS
        effect = float(keys[f"effect_pfs_12_pfs_{variable}"])
        assert np.sign(effect) == np.sign(value) or abs(effect) < 1e-12
