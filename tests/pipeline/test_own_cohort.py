"""Your own cohort end to end: ``source: export`` runs the pipeline on a centre's export.

The export is made non-synthetic: other identifier formats (so the simulator's manifest no
longer matches and the demo key is refused), creatinine in mg/dL and albumin in g/L, ISO
timestamps instead of days, and a few bad rows. The stages then run as dvc.yaml runs them:
the export is copied in (never written to), validated with a real key, featurised, trained with
a patient hold-out, evaluated without any oracle figure, and explained.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from pipeline.cli import app

pytestmark = pytest.mark.slow

KEY = "c" * 64
SMALL = {
    "seed": 11,
    "source": "export",
    "simulate": {"n_patients": 240, "messy": True},
    "train": {"cv": {"n_splits": 3, "n_repeats": 1}, "tuning": {"n_trials": 1}, "n_jobs": 1,
              "holdout_fraction": 0.2,
              "candidates": {"binary": ["logistic"], "survival": ["penalised_cox"]}},
    "evaluate": {"bootstrap_below_n": 0, "subgroup_n_boot": 5,
                 "benefit": {"min_patients_per_arm": 10, "n_boot": 5}},
    "explain": {"n_patient_reports": 1},
}


def _invoke(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _make_export(root: Path) -> tuple[Path, list[str]]:
    """A simulated export, re-coded the way another centre's system would write it."""
    sim = root / "sim"
    result = _invoke("simulate", "--out", str(sim / "raw"), "--n-patients", "240", "--seed", "3",
                     "--params", str(root / "params_sim.yaml"))
    assert result.exit_code == 0, result.output
    out = root / "centre_export"
    out.mkdir()
    tables = {p.stem: pd.read_csv(p, dtype=str, keep_default_na=False)
              for p in (sim / "raw").glob("*.csv")}
    ids = sorted(set(tables["patients"]["patient_id"]))
    recode = {old: f"H{100000 + i}X" for i, old in enumerate(ids)}
    for frame in tables.values():
        if "patient_id" in frame.columns:
            frame["patient_id"] = frame["patient_id"].map(lambda v: recode.get(v, v))
    labs = tables["labs"]
    alb = labs["analyte"].eq("albumin") & labs["unit"].eq("g/dL")
    labs.loc[alb, "value"] = (pd.to_numeric(labs.loc[alb, "value"]) * 10).round(1).astype(str)
    labs.loc[alb, "unit"] = "g/L"
    cr = labs["analyte"].eq("creatinine") & labs["unit"].isin(["µmol/L", "umol/L"])
    labs.loc[cr, "value"] = (pd.to_numeric(labs.loc[cr, "value"]) / 88.42).round(3).astype(str)
    labs.loc[cr, "unit"] = "mg/dL"
    tx = tables["treatments"]
    tx.loc[:20, "start_date"] = tx.loc[:20, "start_date"].where(
        tx.loc[:20, "start_date"].eq(""), tx.loc[:20, "start_date"] + "T09:30:00+01:00")
    path = tables["pathology"]
    path.loc[:2, "ki67_percent"] = "150"  # three impossible Ki-67 values
    for name, frame in tables.items():
        frame.to_csv(out / f"{name}.csv", index=False)
    return out, list(recode.values())


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("own")
    base = yaml.safe_load((Path(__file__).resolve().parents[2] / "params.yaml").read_text())
    (root / "params_sim.yaml").write_text(yaml.safe_dump(base))
    export, new_ids = _make_export(root)
    params = {**base, **{k: v for k, v in SMALL.items() if not isinstance(v, dict)}}
    for section, values in SMALL.items():
        if isinstance(values, dict):
            params[section] = {**base.get(section, {}), **values}
    params["export_dir"] = str(export)
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    before = _digest(export)
    mp = pytest.MonkeyPatch()
    mp.chdir(root)
    mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
    mp.delenv("NETOUTCOMES_PSEUDONYM_KEY", raising=False)
    outputs = {}
    outputs["simulate"] = _invoke("simulate", "--out", "data/raw", "--params", "params.yaml")
    outputs["demo"] = _invoke("validate", "--raw", "data/raw", "--out", "data/validated",
                              "--demo-key")
    mp.setenv("NETOUTCOMES_PSEUDONYM_KEY", KEY)
    outputs["validate"] = _invoke("validate", "--raw", "data/raw", "--out", "data/validated",
                                  "--demo-key")
    outputs["features"] = _invoke("features", "--validated", "data/validated", "--out",
                                  "data/features/cohort.parquet", "--params", "params.yaml")
    outputs["train"] = _invoke("train", "--features", "data/features/cohort.parquet", "--out",
                               "data/models", "--params", "params.yaml")
    outputs["evaluate"] = _invoke("evaluate", "--features", "data/features/cohort.parquet",
                                  "--models", "data/models", "--truth", "data/truth", "--out",
                                  "reports/metrics.json", "--plots", "reports/plots",
                                  "--params", "params.yaml")
    outputs["holdout"] = _invoke("holdout", "--out", "data/holdout", "--params", "params.yaml")
    yield root, export, before, outputs, new_ids
    mp.undo()


def test_the_export_is_copied_in_and_never_written(run):
    root, export, before, outputs, _ = run
    assert outputs["simulate"].exit_code == 0, outputs["simulate"].output
    assert _digest(export) == before
    assert _digest(root / "data" / "raw") == before  # byte for byte, nothing simulated
    assert not (root / "data" / "truth" / "truth.csv").exists()


def test_the_demo_key_is_refused_for_a_real_export(run):
    _, _, _, outputs, _ = run
    assert outputs["demo"].exit_code == 2
    assert "Traceback" not in outputs["demo"].output


def test_validation_converts_units_and_quarantines_the_bad_rows(run):
    root, _, _, outputs, new_ids = run
    assert outputs["validate"].exit_code == 0, outputs["validate"].output
    report = json.loads((root / "data/validated/validation_report.json").read_text())
    assert report["demo_key"] is False
    assert len(report["tables"]) == 7
    for name, entry in report["tables"].items():
        assert entry["rows_in"] == entry["rows_valid"] + entry["rows_quarantined"], name
    assert report["tables"]["labs"]["unit_conversions"].get(
        "creatinine: mg/dL -> µmol/L (x88.42)", 0) > 100
    q = pd.read_parquet(root / "data/quarantine/pathology.parquet")
    assert (q["quarantine_rule"] == "out_of_range").sum() >= 3
    labs = pd.read_parquet(root / "data/validated/labs.parquet")
    alb = labs.loc[labs["analyte"] == "albumin", "value"]
    assert alb.between(10, 60).mean() > 0.95  # g/L kept as g/L
    text = " ".join(p.read_bytes().decode("latin-1") for p in
                    (root / "data").rglob("*.parquet") if "raw" not in p.parts)
    assert not [i for i in new_ids[:50] if i in text]  # identifiers pseudonymised


def test_train_evaluate_on_the_export_without_oracle(run):
    root, _, _, outputs, _ = run
    for step in ("features", "train", "evaluate", "holdout"):
        assert outputs[step].exit_code == 0, (step, outputs[step].output)
    metrics = json.loads((root / "reports/metrics.json").read_text())
    for ep, block in metrics.items():
        assert "oracle" not in block, ep
        for horizon in block.get("benefit", {}).values():
            assert "truth" not in horizon  # no counterfactual truth for a real cohort
    held = pd.read_parquet(root / "data/models/holdout.parquet")
    dev = pd.read_parquet(root / "data/models/development.parquet")
    assert len(held) > 0.1 * (len(held) + len(dev))
    assert not set(held["patient_id"]) & set(dev["patient_id"])
    note = (root / "data/holdout/README.txt").read_text()
    assert "data/models/holdout.parquet" in note


def test_an_export_without_a_hold_out_fraction_is_refused(tmp_path):
    params = yaml.safe_load((Path(__file__).resolve().parents[2] / "params.yaml").read_text())
    params.update(source="export", export_dir=str(tmp_path))
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    result = CliRunner().invoke(app, ["features", "--params", str(tmp_path / "params.yaml")])
    assert result.exit_code == 2
    assert "holdout_fraction" in result.output
