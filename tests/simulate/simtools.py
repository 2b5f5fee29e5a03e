"""Helpers for the simulator tests (a uniquely named module: ``conftest`` clashes across areas)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.simulate import simulate_cohort

DAYS_PER_MONTH = 30.4375


def observed_outcomes(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per patient: index therapy, observed PFS/OS (months, event) and best response (CR/PR).

    Index line = last line in treatments; PFS = index start to the first progression=1
    assessment of that line or death, censored at last contact.
    """
    tx = (
        tables["treatments"]
        .sort_values(["patient_id", "line"])
        .drop_duplicates("patient_id", keep="last")
    )
    pat = tables["patients"].set_index("patient_id")
    out = tx.set_index("patient_id")[["line", "therapy", "start_date"]].join(
        pat[["last_contact_date", "death_date"]]
    )
    ass = tables["assessments"].merge(
        tx[["patient_id", "line"]],
        left_on=["patient_id", "treatment_line"],
        right_on=["patient_id", "line"],
    )
    first_pd = ass.loc[ass["progression"] == 1].groupby("patient_id")["date"].min()
    out["pd_date"] = first_pd
    death = pd.to_datetime(out["death_date"])
    start = pd.to_datetime(out["start_date"])
    last = pd.to_datetime(out["last_contact_date"])
    event_date = pd.concat([pd.to_datetime(out["pd_date"]), death], axis=1).min(axis=1)
    out["pfs_event"] = event_date.notna().astype(int)
    out["pfs_months"] = ((event_date.fillna(last) - start).dt.days / DAYS_PER_MONTH).clip(lower=0)
    out["os_event"] = death.notna().astype(int)
    out["os_months"] = ((death.fillna(last) - start).dt.days / DAYS_PER_MONTH).clip(lower=0)
    evaluable = ass.loc[ass["recist_response"].isin(["CR", "PR", "SD", "PD"])]
    out["response"] = (
        evaluable.assign(r=evaluable["recist_response"].isin(["CR", "PR"]).astype(float))
        .groupby("patient_id")["r"]
        .max()
    )
    return out.reset_index()


def simulate(parameters: dict, n: int, seed: int, **kwargs):
    """Simulate a cohort with a fixed seed."""
    return simulate_cohort(parameters, n, np.random.default_rng(seed), **kwargs)
