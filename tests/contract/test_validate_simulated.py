"""The messy simulated export (features.simulate, messy=True) end to end through the stage.

Every messiness kind of the simulator ends where the contract says; no raw identifier or name
reaches any output file, log record or console line; the feature builder runs on the result.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from features.contract import LAB_UNITS, TABLES
from features.pseudonym import pseudonymise
from features.simulate import DEFAULT_PARAMETERS, simulate_cohort, write_cohort
from pipeline.stages.validate import run

KEY = b"simulated-test-key-simulated-test-key"
N_PATIENTS = 500


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    """Simulate, write CSVs, run the stage; keep raw tables, outputs, logs and console text."""
    root = tmp_path_factory.mktemp("sim")
    params = yaml.safe_load(Path(DEFAULT_PARAMETERS).read_text(encoding="utf-8"))
    cohort = simulate_cohort(params, N_PATIENTS, np.random.default_rng(11), mode="real_world",
                             messy=True)
    raw = {t: f.copy() for t, f in cohort.tables.items()}
    write_cohort(cohort, root / "raw", root / "truth")
    handler, logger = _Collect(), logging.getLogger()
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    console = io.StringIO()
    try:
        with contextlib.redirect_stderr(console), contextlib.redirect_stdout(console):
            report = run(root / "raw", root / "out", root / "quarantine",
                         root / "out" / "validation_report.json", KEY, demo_key=True)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    out = {t: pd.read_parquet(root / "out" / f"{t}.parquet") for t in TABLES}
    quar = {t: pd.read_parquet(root / "quarantine" / f"{t}.parquet") for t in TABLES}
    return dict(root=root, raw=raw, report=report, out=out, quar=quar,
                logs="\n".join(handler.lines), console=console.getvalue())


def _by_column(sim, table):
    return sim["report"]["tables"][table]["reasons_by_column"]


def test_accounting_holds_for_every_table(sim):
    for t in TABLES:
        e = sim["report"]["tables"][t]
        assert e["rows_in"] == len(sim["raw"][t]) == e["rows_valid"] + e["rows_quarantined"]
        assert len(sim["out"][t]) == e["rows_valid"]
        assert len(sim["quar"][t]) == e[
            "rows_quarantined"]
        assert sum(e["reasons"].values()) == e["rows_quarantined"]
    assert sim["report"]["demo_key"] is True


def test_unit_variants_are_converted(sim):
    conv = sim["report"]["tables"]["labs"]["unit_conversions"]
    for label in ("cga: µg/L -> ng/mL (x1)", "cga: nmol/L -> ng/mL (x48.9)",
                  "albumin: g/dL -> g/L (x10)", "creatinine: mg/dL -> µmol/L (x88.42)"):
        assert conv.get(label, 0) > 0, conv
    labs = sim["out"]["labs"]
    canon = {a: u for a, (u, _, _) in LAB_UNITS.items()}
    assert (labs["unit"].astype(str) == labs["analyte"].astype(str).map(canon)).all()
    alb = labs.loc[labs["analyte"] == "albumin", "value"]
    assert alb.between(5, 70).all()
    assert alb.median() > 25
    raw = sim["raw"]["labs"]
    nmol = raw[(raw["analyte"] == "cga") & (raw["unit"] == "nmol/L")].iloc[0]
    got = labs[(labs["patient_id"].astype(str) == pseudonymise(pd.Series([nmol["patient_id"]]),
                                                               KEY)[0])
               & (labs["date"] == nmol["date"]) & (labs["analyte"] == "cga")]
    np.testing.assert_allclose(got["value"], nmol["value"] * 48.9, rtol=1e-9)


def test_spelling_variants_are_canonical(sim):
    out = sim["out"]
    assert set(out["patients"]["sex"].astype(str)) == {"F", "M"}
    assert set(out["patients"]["primary_site"].dropna().astype(str)) <= {
        "small_intestine", "pancreas", "lung", "rectum", "stomach", "colon", "unknown", "other"}
    assert set(out["assessments"]["recist_response"].astype(str)) <= {"CR", "PR", "SD", "PD",
                                                                      "NE"}
    assert "ct" in set(out["imaging_studies"]["modality"].astype(str))
    for t in ("patients", "treatments", "imaging_studies", "assessments"):
        assert "unknown_category" not in sim["report"]["tables"][t]["reasons"], t


def test_duplicates_are_quarantined_once(sim):
    for t in ("labs", "lesions", "assessments"):
        raw = sim["raw"][t]
        expected = int(raw.astype(str).duplicated().sum())
        assert expected > 0
        assert sim["report"]["tables"][t]["reasons"]["duplicate"] == expected, t


def test_typos_are_out_of_range(sim):
    raw = sim["raw"]
    assert _by_column(sim, "pathology")["out_of_range:ki67_percent"] == int(
        (raw["pathology"]["ki67_percent"] == 150).sum())
    assert _by_column(sim, "patients")["out_of_range:ecog"] == int((raw["patients"]["ecog"] == 7)
                                                                   .sum())
    les = raw["lesions"]
    assert _by_column(sim, "lesions")["out_of_range:volume_ml"] == int(
        ((les["volume_ml"] < 0) & ~les.astype(str).duplicated()).sum())
    assert (sim["out"]["lesions"]["volume_ml"].dropna() >= 0).all()
    assert (sim["out"]["pathology"]["ki67_percent"].dropna() <= 100).all()


def test_impossible_date_orders_never_reach_the_output(sim):
    out = sim["out"]
    pat = out["patients"]
    assert _by_column(sim, "patients").get("date_order:death_date", 0) >= 1
    assert not (pat["death_date"] < pat["diagnosis_date"]).any()
    tx = out["treatments"].merge(pat[["patient_id", "diagnosis_date"]], on="patient_id")
    assert len(tx) == len(out["treatments"])
    assert not (tx["start_date"] < tx["diagnosis_date"]).any()
    raw = sim["raw"]
    bad = raw["treatments"].merge(raw["patients"][["patient_id", "diagnosis_date"]])
    n_bad = int((bad["start_date"] < bad["diagnosis_date"]).sum())
    assert n_bad > 0
    assert sim["report"]["tables"]["treatments"]["rows_quarantined"] >= n_bad


def test_unknown_patients_and_their_studies(sim):
    raw_labs = sim["raw"]["labs"]
    strangers = raw_labs["patient_id"].isin(set(raw_labs["patient_id"]) -
                                            set(sim["raw"]["patients"]["patient_id"]))
    assert strangers.sum() > 0
    assert _by_column(sim, "labs")["unknown_patient:patient_id"] >= strangers.sum()
    valid_ids = set(sim["out"]["patients"]["patient_id"].astype(str))
    for t in ("pathology", "treatments", "labs", "imaging_studies", "assessments"):
        assert set(sim["out"][t]["patient_id"].astype(str)) <= valid_ids, t
    assert set(sim["out"]["lesions"]["study_id"].astype(str)) <= set(
        sim["out"]["imaging_studies"]["study_id"].astype(str))


def test_identifier_columns_dropped_and_named(sim):
    e = sim["report"]["tables"]["patients"]
    assert e["dropped_identifier_columns"] == ["patient_name", "mrn"]
    for frame in (*sim["out"].values(), *sim["quar"].values()):
        assert not {"patient_name", "mrn"} & set(frame.columns)
        if "patient_id" in frame.columns:
            assert frame["patient_id"].dropna().astype(str).str.fullmatch(r"P[0-9a-f]{16}").all()


def test_no_raw_identifier_anywhere(sim):
    pat = sim["raw"]["patients"]
    ids = set(pat["patient_id"]) | set(sim["raw"]["labs"]["patient_id"])
    secrets = ids | set(pat["patient_name"]) | set(pat["mrn"])
    names = {w for n in pat["patient_name"] for w in n.split()}
    texts = {"logs": sim["logs"], "console": sim["console"]}
    for path in sim["root"].rglob("*"):
        if path.parent.name in ("raw", "truth") or not path.is_file():
            continue
        if path.suffix == ".parquet":
            frame = pd.read_parquet(path)
            texts[str(path)] = frame.astype(str).to_csv() + " ".join(map(str, frame.columns))
            cells = set(np.unique(frame.astype(str).to_numpy().ravel()))
            assert not cells & secrets, path
        else:
            texts[str(path)] = path.read_text(encoding="utf-8")
    id_like = re.compile(r"NET-\d|MRN\d")
    for where, text in texts.items():
        assert not id_like.search(text), where
        for word in names:
            assert word not in text, (where, word)


def test_build_features_runs_on_the_validated_output(sim):
    from features.build import FeatureConfig, build_features

    cohort, dictionary = build_features(sim["out"], FeatureConfig())
    assert len(cohort) > 0.5 * len(sim["out"]["patients"])
    assert cohort["patient_id"].astype(str).str.fullmatch(r"P[0-9a-f]{16}").all()
    assert len(dictionary["features"]) > 10
    assert cohort["ki67_percent"].dropna().between(0, 100).all()
