"""Targets of each prediction: objective response, disease control, PFS and OS.

These are the only columns allowed to use information dated after the index date.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.index import KEYS, as_float, months_between

TARGET_COLUMNS = ("response", "disease_control", "pfs_months", "pfs_event", "os_months", "os_event")


def derive_targets(
    patients: pd.DataFrame, assessments: pd.DataFrame, index: pd.DataFrame
) -> pd.DataFrame:
    """Outcomes of each index line.

    - ``response``: 1 if the best RECIST response of the line is CR/PR, 0 if the line was
      evaluable otherwise (SD/PD), NaN if it has no evaluable assessment (only NE, or none).
    - ``disease_control``: 1 for CR/PR/SD, 0 for PD only, NaN as above.
    - ``pfs_months``/``pfs_event``: index date to the first assessment of the line with
      ``progression == 1`` or death, whichever comes first; else censored at last contact.
    - ``os_months``/``os_event``: index date to death; else censored at last contact.
    Months = days / 30.4375; negative intervals (inconsistent dates) are set to 0.

    Args:
        patients: validated patients table.
        assessments: validated assessments table.
        index: output of ``select_index_lines``.

    Returns:
        One row per prediction (MultiIndex ``patient_id``, ``line``).
    """
    out = pd.DataFrame(index=pd.MultiIndex.from_frame(index[KEYS]))
    ass = assessments[["patient_id", "treatment_line", "date", "recist_response", "progression"]]
    ass = ass.rename(columns={"treatment_line": "line"})
    ass = ass.merge(index[["patient_id", "line", "index_date"]], on=KEYS, how="inner")
    resp = ass["recist_response"].astype(object)
    scored = ass.assign(
        obj=np.where(resp.isin(["CR", "PR"]), 1.0, np.where(resp.isin(["SD", "PD"]), 0.0, np.nan)),
        dc=np.where(resp.isin(["CR", "PR", "SD"]), 1.0, np.where(resp.eq("PD"), 0.0, np.nan)),
    )
    g = scored.groupby(KEYS, sort=False)
    out["response"] = g["obj"].max()
    out["disease_control"] = g["dc"].max()
    progressed = ass.loc[
        (as_float(ass["progression"]) == 1.0) & (ass["date"] >= ass["index_date"]).to_numpy()
    ]
    first_prog = progressed.groupby(KEYS, sort=False)["date"].min()

    pat = index.merge(
        patients[["patient_id", "last_contact_date", "death_date"]], on="patient_id", how="left"
    )
    pat = pat.set_index(KEYS)
    death = pat["death_date"]
    last = pat["last_contact_date"]
    prog = first_prog.reindex(pat.index)
    pfs_end = pd.concat([prog, death], axis=1).min(axis=1)
    pfs_event = pfs_end.notna()
    pfs_end = pfs_end.where(pfs_event, last)
    os_event = death.notna()
    os_end = death.where(os_event, last)
    out["pfs_months"] = months_between(pat["index_date"], pfs_end).clip(lower=0.0)
    out["pfs_event"] = pfs_event.astype(float)
    out["os_months"] = months_between(pat["index_date"], os_end).clip(lower=0.0)
    out["os_event"] = os_event.astype(float)
    return out[list(TARGET_COLUMNS)]
