"""Structure of the simulated export: data contract columns, dates, imaging, copula, determinism."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
from simtools import simulate

from features.simulate import write_cohort
from features.simulate.export import TABLES

COLUMNS = {
    "patients": [
        "patient_id",
        "centre_id",
        "sex",
        "birth_year",
        "diagnosis_date",
        "primary_site",
        "functional_syndrome",
        "ecog",
        "last_contact_date",
        "death_date",
    ],
    "pathology": [
        "patient_id",
        "sample_date",
        "specimen",
        "ki67_percent",
        "differentiation",
        "sstr2_ihc",
        "egfr_ihc",
        "cmet_ihc",
        "igf1r_ihc",
        "daxx_atrx_loss",
    ],
    "treatments": [
        "patient_id",
        "line",
        "therapy",
        "start_date",
        "end_date",
        "cycles",
        "cumulative_activity_gbq",
        "dose_mg",
    ],
    "labs": ["patient_id", "date", "analyte", "value", "unit"],
    "imaging_studies": [
        "study_id",
        "patient_id",
        "date",
        "modality",
        "tracer",
        "liver_suvmean",
        "spleen_suvmean",
        "liver_volume_ml",
    ],
    "lesions": [
        "study_id",
        "lesion_id",
        "organ",
        "suvmax",
        "suvmean",
        "volume_ml",
        "longest_diameter_mm",
    ],
    "assessments": ["patient_id", "date", "treatment_line", "recist_response", "progression"],
}
CATEGORIES = {
    ("patients", "primary_site"): {
        "small_intestine",
        "pancreas",
        "lung",
        "rectum",
        "stomach",
        "colon",
        "unknown",
        "other",
    },
    ("patients", "sex"): {"F", "M"},
    ("treatments", "therapy"): {
        "prrt_lu177",
        "everolimus",
        "sunitinib",
        "ssa",
        "chemotherapy",
        "liver_directed",
        "surgery",
    },
    ("imaging_studies", "modality"): {"sstr_pet", "fdg_pet", "ct", "mri"},
    ("lesions", "organ"): {"liver", "lymph_node", "bone", "lung", "peritoneum", "primary", "other"},
    ("assessments", "recist_response"): {"CR", "PR", "SD", "PD", "NE"},
    ("pathology", "specimen"): {"primary", "metastasis"},
}
UNITS = {
    "cga": "ng/mL",
    "alp": "U/L",
    "albumin": "g/L",
    "creatinine": "µmol/L",
    "haemoglobin": "g/dL",
}


@pytest.fixture(scope="module")
def cohort(parameters):
    return simulate(parameters, 1500, 7)


@pytest.fixture(scope="module")
def index_lines(cohort):
    tx = cohort.tables["treatments"]
    return (
        tx.sort_values(["patient_id", "line"])
        .drop_duplicates("patient_id", keep="last")
        .set_index("patient_id")
    )


def test_contract_columns_and_categories(cohort):
    assert list(cohort.tables) == list(TABLES)
    for name, cols in COLUMNS.items():
        assert list(cohort.tables[name].columns) == cols, name
    for (name, col), allowed in CATEGORIES.items():
        assert set(cohort.tables[name][col].dropna()) <= allowed, (name, col)
    labs = cohort.tables["labs"]
    for analyte, unit in UNITS.items():
        assert set(labs.loc[labs["analyte"] == analyte, "unit"]) == {unit}
    assert cohort.tables["patients"]["patient_id"].str.fullmatch(r"NET-\d{7}").all()
    assert cohort.tables["patients"]["patient_id"].is_unique
    path = cohort.tables["pathology"]["ki67_percent"].dropna()
    assert path.between(0, 100).all()
    assert cohort.tables["patients"]["ecog"].dropna().between(0, 4).all()


def test_keys_unique(cohort):
    keys = {
        "pathology": ["patient_id", "sample_date"],
        "treatments": ["patient_id", "line"],
        "labs": ["patient_id", "date", "analyte"],
        "imaging_studies": ["study_id"],
        "lesions": ["study_id", "lesion_id"],
        "assessments": ["patient_id", "date"],
    }
    for name, key in keys.items():
        assert not cohort.tables[name].duplicated(key).any(), name


def test_date_order_clean(cohort, index_lines):
    pat = cohort.tables["patients"].set_index("patient_id")
    tx = cohort.tables["treatments"].join(
        pat[["diagnosis_date", "last_contact_date"]], on="patient_id"
    )
    assert (tx["start_date"] >= tx["diagnosis_date"]).all()
    assert (tx["end_date"].dropna() >= tx.loc[tx["end_date"].notna(), "start_date"]).all()
    assert (tx["start_date"] <= tx["last_contact_date"]).all()
    dead = pat["death_date"].notna()
    assert (pat.loc[dead, "death_date"] == pat.loc[dead, "last_contact_date"]).all()
    assert (pat["birth_year"] < pat["diagnosis_date"].dt.year).all()
    assert 0.2 < dead.mean() < 0.9


def test_index_line_last_with_assessments_after_start(cohort, index_lines):
    ass = cohort.tables["assessments"].join(index_lines[["line", "start_date"]], on="patient_id")
    assert (ass["treatment_line"] == ass["line"]).all()
    assert (ass["date"] > ass["start_date"]).all()
    assert set(ass["patient_id"]) == set(index_lines.index)
    # progression=1 at most once, and it is the last assessment of the line, coded PD
    prog = ass.loc[ass["progression"] == 1]
    assert prog["patient_id"].is_unique
    assert (prog["recist_response"] == "PD").all()
    last = ass.groupby("patient_id")["date"].max()
    assert (
        prog.set_index("patient_id")["date"] == last.reindex(prog["patient_id"]).to_numpy()
    ).all()
    pat = cohort.tables["patients"].set_index("patient_id")
    assert (
        ass["date"].to_numpy() <= pat.loc[ass["patient_id"], "last_contact_date"].to_numpy()
    ).all()
    gaps = ass.groupby("patient_id")["date"].diff().dt.days.dropna()
    assert 75 <= gaps.median() <= 105  # about every 3 months


@pytest.mark.parametrize(
    ("table", "date_col"),
    [("labs", "date"), ("pathology", "sample_date"), ("imaging_studies", "date")],
)
def test_rows_before_and_after_index(cohort, index_lines, table, date_col):
    rows = cohort.tables[table].join(index_lines[["start_date"]], on="patient_id")
    after = rows[date_col] > rows["start_date"]
    assert after.any()
    assert (~after).any()
    assert 0.02 < after.mean() < 0.8


def test_imaging_before_index(cohort, index_lines):
    st = cohort.tables["imaging_studies"].join(index_lines[["start_date"]], on="patient_id")
    delta = (st["start_date"] - st["date"]).dt.days
    sstr = st.loc[st["modality"] == "sstr_pet"]
    assert sstr["patient_id"].is_unique
    assert len(sstr) == len(index_lines)
    assert delta[sstr.index].between(0, 120).all()
    assert (sstr["tracer"] == "68Ga-DOTATATE").all()
    assert sstr["liver_suvmean"].notna().all()
    anat = st["modality"].isin(["ct", "mri"])
    pre = st.loc[anat & (delta > 0)]
    pre_n = pre.groupby("patient_id").size().reindex(index_lines.index)
    assert pre_n.isin([1, 2]).all()  # a baseline CT/MRI for everyone, an older one for some
    assert 0.35 <= (pre_n == 1).mean() <= 0.65  # only one pre-index scan (no TGR) ~40-60 %
    first = index_lines["line"] == 1
    assert (pre_n[first] == 1).mean() > (pre_n[~first] == 1).mean() + 0.15  # first line: more
    mri = (pre["modality"] == "mri").groupby(pre["patient_id"]).any().mean()
    assert 0.10 <= mri <= 0.20  # ~15 % staged by MRI
    assert pre["tracer"].isna().all()
    post_ct = st.loc[(st["modality"] == "ct") & (delta < 0)]
    assert post_ct["patient_id"].nunique() > 0.8 * len(index_lines)
    fdg_share = (st["modality"] == "fdg_pet").groupby(st["patient_id"]).any().mean()
    assert 0.2 < fdg_share < 0.8


def test_liver_lesions_imply_hepatic_burden(cohort):
    st = cohort.tables["imaging_studies"]
    les = cohort.tables["lesions"].merge(st.loc[st["modality"] == "sstr_pet"], on="study_id")
    liver = (
        les.loc[les["organ"] == "liver"]
        .groupby("patient_id")
        .agg(vol=("volume_ml", "sum"), liver=("liver_volume_ml", "first"))
    )
    truth = cohort.truth["truth"].set_index("patient_id")["hepatic_burden_true"]
    burden = (liver["vol"] / liver["liver"]).reindex(truth.index).fillna(0.0)
    assert np.allclose(burden, truth, atol=2e-3)
    assert 0.7 < (truth > 0).mean() < 0.95


def test_ct_growth_rate_recovers_latent(cohort, index_lines):
    st = cohort.tables["imaging_studies"].join(index_lines[["start_date"]], on="patient_id")
    ct = st.loc[st["modality"].isin(["ct", "mri"]) & (st["date"] < st["start_date"])]
    ct = ct.loc[ct.groupby("patient_id")["study_id"].transform("size") == 2]
    assert ct["patient_id"].nunique() > 0.3 * len(index_lines)
    sld = cohort.tables["lesions"].groupby("study_id")["longest_diameter_mm"].sum()
    ct = ct.assign(sld=sld.reindex(ct["study_id"]).to_numpy()).sort_values(["patient_id", "date"])
    g = ct.groupby("patient_id")
    d0, d1 = g["sld"].first(), g["sld"].last()
    months = (g["date"].last() - g["date"].first()).dt.days / 30.4375
    tgr = 100 * np.expm1(3 * np.log(d1 / d0) / months)
    truth = cohort.truth["truth"].set_index("patient_id")["tgr0_true"].reindex(tgr.index)
    assert np.corrcoef(tgr, truth)[0, 1] > 0.8
    assert abs(np.median(tgr - truth)) < 0.5


def test_copula_directions(parameters):
    t = simulate(parameters, 4000, 3).truth["truth"]
    log_ki = np.log(t["ki67_true"])
    corr = lambda a, b: np.corrcoef(a, b)[0, 1]  # noqa: E731
    assert corr(log_ki, t["sstr_density"]) < -0.15
    assert corr(log_ki, np.log(t["nlr_true"])) > 0.15
    assert corr(log_ki, t["fdg_positive"]) > 0.15
    liver = t["hepatic_burden_true"] > 0
    assert corr(t.loc[liver, "hepatic_burden_true"], np.log(t.loc[liver, "cga_true"])) > 0.3
    assert corr(t["hepatic_burden_true"], np.log(t["alp_true"])) > 0.15
    assert corr(t["hepatic_burden_true"], t["albumin_true"]) < -0.1
    assert (
        np.log(t.loc[t["bone_mets"] == 1, "alp_true"]).mean()
        > np.log(t.loc[t["bone_mets"] == 0, "alp_true"]).mean() + 0.3
    )
    pan, si = t["site"] == "pancreas", t["site"] == "small_intestine"
    assert t.loc[pan, "ki67_true"].median() > t.loc[si, "ki67_true"].median()
    assert t.loc[pan, "fdg_positive"].mean() > t.loc[si, "fdg_positive"].mean()


def _digest(paths: dict) -> dict:
    return {k: hashlib.sha256(p.read_bytes()).hexdigest() for k, p in paths.items()}


def test_determinism(parameters, tmp_path):
    a = write_cohort(
        simulate(parameters, 300, 5, messy=True), tmp_path / "a" / "raw", tmp_path / "a" / "truth"
    )
    b = write_cohort(
        simulate(parameters, 300, 5, messy=True), tmp_path / "b" / "raw", tmp_path / "b" / "truth"
    )
    c = write_cohort(
        simulate(parameters, 300, 6, messy=True), tmp_path / "c" / "raw", tmp_path / "c" / "truth"
    )
    assert set(a) == {*TABLES, "truth", "counterfactual", "manifest"}
    assert _digest(a) == _digest(b)
    assert _digest(a)["patients"] != _digest(c)["patients"]
    assert _digest(a)["labs"] != _digest(c)["labs"]
    back = pd.read_csv(a["patients"])
    assert back["diagnosis_date"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    truth = pd.read_csv(a["truth"])
    assert {
        "patient_id",
        "index_line",
        "therapy",
        "lp_pfs",
        "lp_os",
        "p_response",
        "true_pfs_months",
        "true_os_months",
        "sstr_density",
        "ki67_true",
        "hepatic_burden_true",
        "lp_pfs_prognostic",
        "lp_os_prognostic",
    } <= set(truth.columns)
    # the prognostic part is therapy-free: the counterfactual log-hazards of one patient differ
    # from it only by the therapy effect, and that of the received therapy is the truth's lp_pfs
    cf = pd.read_csv(a["counterfactual"]).merge(
        truth[["patient_id", "therapy", "lp_pfs", "lp_pfs_prognostic"]],
        on="patient_id", suffixes=("", "_received"))
    received = cf[cf["therapy"] == cf["therapy_received"]]
    assert len(received) == len(truth)
    np.testing.assert_allclose(received["lp_pfs"], received["lp_pfs_received"], atol=1e-9)
    effect = (cf["lp_pfs"] - cf["lp_pfs_prognostic"]).groupby(cf["therapy"]).mean()
    assert effect["ssa"] < 0.25
    assert effect["prrt_lu177"] < effect["ssa"] - 0.5


def test_inputs_not_mutated_and_errors(parameters):
    before = repr(parameters)
    simulate(parameters, 50, 1)
    assert repr(parameters) == before
    with pytest.raises(ValueError, match="mode"):
        simulate(parameters, 10, 1, mode="observational")
    with pytest.raises(ValueError, match="population"):
        simulate(parameters, 10, 1, population="netter9")
    with pytest.raises(ValueError, match="n_patients"):
        simulate(parameters, 0, 1)


@pytest.mark.parametrize("population", [None, "netter1", "radiant3", "sunitinib_pnet"])
@pytest.mark.parametrize("mode", ["rct", "real_world"])
def test_tiny_cohorts_all_presets(parameters, population, mode):
    for n in (1, 3):
        cohort = simulate(parameters, n, n, mode=mode, population=population, messy=True)
        assert len(cohort.tables["patients"]) == n
        assert len(cohort.truth["truth"]) == n


def test_population_presets_restrict_cohort(parameters):
    t = simulate(parameters, 400, 2, mode="rct", population="netter1").truth["truth"]
    assert (t["site"] == "small_intestine").all()
    assert (t["ki67_true"] <= 20).all()
    assert (t["tlr_true"] >= 1).all()
    assert (t["prior_ssa"] == 1).all()
    for preset, arm in (("radiant3", "everolimus"), ("sunitinib_pnet", "sunitinib")):
        t = simulate(parameters, 400, 2, mode="rct", population=preset).truth["truth"]
        assert (t["site"] == "pancreas").all()
        assert set(t["therapy"]) == {arm, "ssa"}
