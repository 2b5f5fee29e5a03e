"""``netoutcomes what-if``: the batch what-if table on real (small) trained models."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from models.counterfactual import predict_what_if
from pipeline.cli import app
from pipeline.stages.what_if import what_if_table


@pytest.fixture(scope="module")
def table(files) -> pd.DataFrame:
    return what_if_table(files.features_file, files.models_dir, files.metrics_file)


def test_one_row_per_patient_and_therapy_with_the_models_numbers(table, ctx, cohort):
    therapies = list(ctx.models["response"].design.levels_["therapy"])
    assert len(table) == len(cohort) * len(therapies)
    assert table.groupby(["patient_id", "line"])["therapy"].nunique().eq(len(therapies)).all()
    em = ctx.models["response"]
    direct = predict_what_if(em.model, em.design, cohort.reset_index(drop=True), therapies)
    merged = table.reset_index(drop=True)
    np.testing.assert_allclose(merged["response_prob"].to_numpy(),
                               direct["response_prob"].to_numpy(), equal_nan=True)
    assert (merged["eligible"].to_numpy() == direct["eligible"].to_numpy()).all()
    assert merged.loc[~merged["eligible"], "response_prob"].isna().all()


def test_differences_against_the_reference(table):
    ref = table[table["therapy"] == "ssa"]
    assert ref["response_prob_diff"].abs().max() == 0
    assert ref["pfs_survival_12_diff"].abs().max() == 0
    wide = table.pivot_table(index=["patient_id", "line"], columns="therapy",
                             values="pfs_survival_12")
    hand = (wide["prrt_lu177"] - wide["ssa"]).dropna()
    got = table[table["therapy"] == "prrt_lu177"].set_index(["patient_id", "line"])[
        "pfs_survival_12_diff"].dropna()
    np.testing.assert_allclose(got.loc[hand.index].to_numpy(), hand.to_numpy())
    ok = table["pfs_survival_24_diff"].notna()
    if "pfs_survival_24_diff_recal_lo" in table:
        assert (table.loc[ok, "pfs_survival_24_diff_recal_lo"]
                <= table.loc[ok, "pfs_survival_24_diff"] + 1e-12).all()
        assert (table.loc[ok, "pfs_survival_24_diff_recal_hi"]
                >= table.loc[ok, "pfs_survival_24_diff"] - 1e-12).all()
    assert table["interval"].str.contains("not a confidence interval").all()


def test_no_raw_identifier_in_the_table(table, files):
    text = table.astype(str).to_csv()
    assert not [r for r in files.raw_ids if r in text]


def test_cli_writes_parquet_and_rejects_bad_input(files, tmp_path):
    out = tmp_path / "wi.parquet"
    base = ["what-if", "--features", str(files.features_file), "--models", str(files.models_dir),
            "--metrics", str(files.metrics_file)]
    ok = CliRunner().invoke(app, [*base, "--out", str(out)])
    assert ok.exit_code == 0, ok.output
    assert pd.read_parquet(out)["therapy"].nunique() >= 4
    bad_out = CliRunner().invoke(app, [*base, "--out", str(tmp_path / "wi.csv")])
    assert bad_out.exit_code == 2
    assert "parquet" in bad_out.output
    bad_ref = CliRunner().invoke(app, [*base, "--out", str(out), "--reference", "aspirin"])
    assert bad_ref.exit_code == 2
    assert "aspirin" in bad_ref.output
    missing = CliRunner().invoke(app, ["what-if", "--features", str(tmp_path / "none.parquet"),
                                       "--models", str(files.models_dir), "--out", str(out)])
    assert missing.exit_code == 2
    assert "feature table not found" in missing.output
    cut = pd.read_parquet(files.features_file).drop(columns=["ki67_percent"])
    cut_file = tmp_path / "cut.parquet"
    cut.to_parquet(cut_file)
    (tmp_path / "dictionary.json").write_text(
        (files.features_file.parent / "dictionary.json").read_text())
    no_col = CliRunner().invoke(app, ["what-if", "--features", str(cut_file), "--models",
                                      str(files.models_dir), "--out", str(out)])
    assert no_col.exit_code == 2
    assert "ki67_percent" in no_col.output
    assert "Traceback" not in no_col.output


def test_reports_name_the_registered_version_and_alias(files, tmp_path):
    """With the register stage's record beside the models, reports show name, version, alias."""
    import json
    import shutil

    from pipeline.stages.explain import load_models
    from pipeline.stages.explain_patient import model_info

    models_dir = tmp_path / "data" / "models"
    shutil.copytree(files.models_dir, models_dir)
    registry = tmp_path / "data" / "registry"
    registry.mkdir(parents=True)
    (registry / "registered.json").write_text(json.dumps({"registered": {
        "pfs": {"name": "net-pfs", "version": "3", "alias": "champion"}}}))
    models = load_models(models_dir)
    info = model_info(models["pfs"], {})
    assert info.name.startswith("net-pfs (")
    assert info.version.startswith("3 (files ")
    assert info.alias == "champion"
    assert model_info(models["os"], {}).alias == ""  # not registered: no alias claimed
