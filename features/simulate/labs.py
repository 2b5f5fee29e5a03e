"""Laboratory values (long, repeated over time) and pathology samples.

Labs: a baseline draw within 60 days before the index date, an older draw (CgA, ALP, albumin,
PPI flag) 4-13 months before, and two follow-up draws after the index date (while in
follow-up). Values = truth x multiplicative noise; CgA adds the PPI artefact (§8.7); clean
values are kept inside the data contract's plausible ranges (only messy typos leave them).
Pathology: a diagnostic sample and, for some patients, a re-biopsy before or after the index
date; recorded Ki-67 = true x log-normal noise, sometimes from an older specimen (§8.7).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from features.simulate._params import block, days

CANONICAL_UNITS = {
    "cga": "ng/mL",
    "alp": "U/L",
    "albumin": "g/L",
    "neutrophils": "10^9/L",
    "lymphocytes": "10^9/L",
    "platelets": "10^9/L",
    "haemoglobin": "g/dL",
    "creatinine": "µmol/L",
    "bilirubin": "µmol/L",
    "nse": "ng/mL",
    "5hiaa": "µmol/24h",
    "ppi_use": "flag",
}
_DECIMALS = {
    "cga": 1,
    "alp": 0,
    "albumin": 1,
    "neutrophils": 2,
    "lymphocytes": 2,
    "platelets": 0,
    "haemoglobin": 1,
    "creatinine": 0,
    "bilirubin": 1,
    "nse": 1,
    "5hiaa": 1,
    "ppi_use": 0,
}
_OLD = ("cga", "alp", "albumin", "ppi_use")
_FOLLOW = (
    "cga",
    "alp",
    "albumin",
    "neutrophils",
    "lymphocytes",
    "platelets",
    "haemoglobin",
    "creatinine",
)


def build_labs(
    parameters: dict[str, Any], pt: pd.DataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    """Long lab table with internal ``pid`` and ``day`` (relative to the index date)."""
    lab = block(parameters, "labs")
    n = len(pt)
    ppi_add = pt["ppi_use"].to_numpy() * rng.gamma(2.0, lab["ppi_cga_mean"] / 2.0, n)
    follow = pt["followup_days"].to_numpy()
    timepoints = [
        ("baseline", -rng.integers(0, 61, n), tuple(CANONICAL_UNITS)),
        ("old", -rng.integers(120, 400, n), _OLD),
        ("fu1", rng.integers(20, 46, n), _FOLLOW),
        ("fu2", rng.integers(80, 111, n), _OLD[:3]),
    ]
    missing = {
        a: rng.random(n) < lab.get(f"p_missing_{a}", lab["p_missing_other"])
        for a in CANONICAL_UNITS
    }
    progressing = pt["true_pfs_months"].to_numpy() < 4
    frames = []
    for name, day, analytes in timepoints:
        present = (day <= follow) if name.startswith("fu") else np.ones(n, bool)
        for a in analytes:
            sel = present & ~missing[a]
            value = _lab_value(a, pt, ppi_add, lab, rng, name, progressing)[sel]
            value = np.clip(value, *lab["plausible_range"][a])  # contract §1 ranges
            frames.append(
                pd.DataFrame(
                    {
                        "pid": np.nonzero(sel)[0],
                        "day": day[sel],
                        "analyte": a,
                        "value": np.round(value, _DECIMALS[a]),
                    }
                )
            )
    out = pd.concat(frames, ignore_index=True)
    out["unit"] = out["analyte"].map(CANONICAL_UNITS)
    out["date"] = pt["index_date"].to_numpy()[out["pid"].to_numpy()] + days(out["day"].to_numpy())
    return out[["pid", "day", "date", "analyte", "value", "unit"]]


def _lab_value(a, pt, ppi_add, lab, rng, timepoint, progressing) -> np.ndarray:
    n = len(pt)
    if a == "ppi_use":
        return pt["ppi_use"].to_numpy().astype(float)
    truth = {"5hiaa": "hiaa_true"}.get(a, f"{a}_true")
    noise = np.exp(lab["noise_cv"] * rng.standard_normal(n))
    value = pt[truth].to_numpy() * noise
    drift = 1.0
    if timepoint == "old":
        drift = np.exp(-0.15 * pt["fast_growth"].to_numpy())
    elif timepoint.startswith("fu"):
        drift = np.where(progressing, 1.2, np.where(pt["responder"].to_numpy() == 1, 0.7, 1.0))
        if a == "platelets":
            drift = np.where(pt["therapy"].to_numpy() == "prrt_lu177", 0.8, 1.0)
        if a not in ("cga", "alp", "platelets"):
            drift = 1.0
    value = value * drift
    if a == "cga":
        value = value + ppi_add
    return value


def build_pathology(
    parameters: dict[str, Any], pt: pd.DataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    """Pathology samples with internal ``pid`` and a ``sample_date`` (some after the index date)."""
    p = block(parameters, "pathology")
    n = len(pt)
    dx = pt["diagnosis_date"].to_numpy()
    idx = pt["index_date"].to_numpy()
    span = (idx - dx) / np.timedelta64(1, "D")
    diag = pd.DataFrame(
        {
            "pid": np.arange(n),
            "sample_date": dx + days(rng.uniform(0, np.minimum(20, span))),
            "specimen": np.where(rng.random(n) < 0.6, "primary", "metastasis"),
            "older": rng.random(n) < p["p_older_specimen"],
        }
    )
    re = np.nonzero(rng.random(n) < p["p_rebiopsy"])[0]
    after = rng.random(len(re)) < p["p_rebiopsy_after_index"]
    offset = np.where(after, rng.uniform(30, 300, len(re)), -rng.uniform(10, 200, len(re)) * 1.0)
    offset = np.where(
        after, np.minimum(offset, pt["followup_days"].to_numpy()[re]), np.maximum(offset, -span[re])
    )
    rebi = pd.DataFrame(
        {"pid": re, "sample_date": idx[re] + days(offset), "specimen": "metastasis", "older": False}
    )
    out = pd.concat([diag, rebi], ignore_index=True).sort_values(
        ["pid", "sample_date"], kind="stable"
    )
    out = out.drop_duplicates(["pid", "sample_date"]).reset_index(drop=True)
    _add_sample_values(out, pt, p, rng)
    return out


def _add_sample_values(out: pd.DataFrame, pt: pd.DataFrame, p: dict[str, Any], rng) -> None:
    m = len(out)
    pid = out["pid"].to_numpy()
    ki = pt["ki67_true"].to_numpy()[pid] * np.exp(p["ki67_noise_cv"] * rng.standard_normal(m))
    ki = ki * np.where(out["older"].to_numpy(), p["older_specimen_factor"], 1.0)
    ki = np.clip(np.round(ki, 1), 0.1, 100.0)
    out["ki67_percent"] = np.where(rng.random(m) < p["p_ki67_missing"], np.nan, ki)
    poor = (ki > 20) & (rng.random(m) < p["p_poor_differentiation_g3"])
    out["differentiation"] = np.where(poor, "poor", "well")
    has_markers = rng.random(m) < p["p_tissue_markers"]
    out["sstr2_ihc"] = np.where(
        rng.random(m) < p["p_sstr2_ihc"], pt["sstr2_ihc_true"].to_numpy()[pid], np.nan
    )
    for marker in ("egfr_ihc", "cmet_ihc", "igf1r_ihc"):
        out[marker] = np.where(has_markers, pt[f"{marker}_true"].to_numpy()[pid], np.nan)
    daxx_obs = (pt["pancreas"].to_numpy()[pid] == 1) & (rng.random(m) < p["p_daxx_pancreas"])
    out["daxx_atrx_loss"] = np.where(daxx_obs, pt["daxx_atrx_loss_true"].to_numpy()[pid], np.nan)
    out.drop(columns=["older"], inplace=True)
