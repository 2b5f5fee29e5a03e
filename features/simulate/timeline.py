"""Calendar: index dates, censoring, RECIST assessments and the treatments table."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from features.simulate._params import MONTH_DAYS, block, days, population_preset, sort_rows


def draw_calendar(
    parameters: dict[str, Any], pt: pd.DataFrame, rng: np.random.Generator, population: str | None
) -> pd.DataFrame:
    """Index date, diagnosis date, follow-up end (last contact) and death date per patient.

    Administrative censoring at the data cut (real world) or accrual end + follow-up (trials),
    and exponential loss to follow-up (clinical-grounding §8.6).
    """
    cal = block(parameters, "calendar")
    n = len(pt)
    start = pd.Timestamp(cal["real_world_index_start"])
    preset = population_preset(parameters, population)
    if preset is None:
        span = (pd.Timestamp(cal["real_world_index_end"]) - start).days
        cut = pd.Timestamp(cal["real_world_data_cut"])
    else:
        span = int(cal["trial_accrual_months"] * MONTH_DAYS)
        cut = start + pd.Timedelta(days=round(span + _followup_months(cal, preset) * MONTH_DAYS))
    index_date = np.datetime64(start, "ns") + days(rng.uniform(0, span, n))
    admin = (np.datetime64(cut, "ns") - index_date) / np.timedelta64(1, "D") / MONTH_DAYS
    ltfu = rng.exponential(1.0 / cal["loss_to_followup_per_month"], n)
    censor = np.maximum(np.minimum(admin, ltfu), 0.5)
    os_true = pt["true_os_months"].to_numpy()
    died = os_true <= censor
    follow = np.where(died, os_true, censor)
    last_contact = index_date + days(follow * MONTH_DAYS)
    return pd.DataFrame(
        {
            "index_date": index_date,
            "diagnosis_date": index_date - days(pt["months_since_dx"].to_numpy() * MONTH_DAYS),
            "last_contact_date": last_contact,
            "death_date": pd.Series(last_contact).where(died).to_numpy(),
            "followup_days": ((last_contact - index_date) / np.timedelta64(1, "D")).astype(
                np.int64
            ),
            "died": died.astype(np.int8),
        },
        index=pt.index,
    )


def _followup_months(cal: dict[str, Any], preset: dict[str, Any]) -> float:
    """Follow-up after accrual: the preset's (final OS analysis) or the calendar default."""
    return float(
        preset.get("followup_after_accrual_months", cal["trial_followup_after_accrual_months"])
    )


def build_assessments(
    parameters: dict[str, Any], pt: pd.DataFrame, rng: np.random.Generator, population: str | None
) -> pd.DataFrame:
    """RECIST assessments of the index line, one row per visit (long), with internal columns.

    Visits every interval (+- jitter) until the first visit on or after true progression
    (PD, progression=1) or last contact. Responders show PR (some CR) from their onset visit.
    A patient without any visit gets one NE row at last contact.
    """
    a = block(parameters, "assessments")
    r = block(parameters, "response")
    trial = population_preset(parameters, population) is not None
    interval = a["trial_interval_days"] if trial else a["real_world_interval_days"]
    jitter = a["trial_jitter_days"] if trial else a["real_world_jitter_days"]
    n = len(pt)
    follow = pt["followup_days"].to_numpy().astype(float)
    prog_day = np.where(
        pt["true_progression"].to_numpy() == 1,
        pt["true_pfs_months"].to_numpy() * MONTH_DAYS,
        np.inf,
    )
    # long format: enough visits to reach last contact or the first visit after progression
    n_visits = (np.floor((np.minimum(follow, prog_day) + jitter) / interval) + 2).astype(np.int64)
    pid = np.repeat(np.arange(n), n_visits)
    k = np.arange(len(pid)) - np.repeat(np.cumsum(n_visits) - n_visits, n_visits) + 1
    t = k * interval + np.round(rng.uniform(-jitter, jitter, len(pid)))
    after_prog = t >= prog_day[pid]  # monotone in k within a patient (interval > 2 x jitter)
    first_pd = after_prog & ~np.concatenate([[False], after_prog[:-1]]) | (after_prog & (k == 1))
    keep = (t <= follow[pid]) & (~after_prog | first_pd)
    onset = (1 + (rng.random(n) < r["p_late_response"]))[pid]
    is_cr = (rng.random(n) < r["p_cr_among_responders"])[pid]
    resp = pt["responder"].to_numpy()[pid] == 1
    status = np.where(resp & (k >= onset), "PR", "SD").astype(object)
    status = np.where(resp & is_cr & (k >= onset + 1), "CR", status)
    status = np.where(rng.random(len(pid)) < r["p_not_evaluable"], "NE", status)
    status = np.where(first_pd, "PD", status)
    out = pd.DataFrame(
        {
            "pid": pid[keep],
            "visit": k[keep],
            "day": t[keep].astype(np.int64),
            "recist_response": status[keep],
            "progression": first_pd[keep].astype(np.int8),
        }
    )
    rows = out["pid"].to_numpy()
    missing = np.setdiff1d(np.arange(n), rows)
    if len(missing):
        ne = pd.DataFrame(
            {
                "pid": missing,
                "visit": 1,
                "day": np.maximum(follow[missing].astype(np.int64), 1),
                "recist_response": "NE",
                "progression": np.int8(0),
            }
        )
        out = pd.concat([out, ne], ignore_index=True)
    out["date"] = pt["index_date"].to_numpy()[out["pid"].to_numpy()] + days(out["day"].to_numpy())
    return sort_rows(out, ["pid", "day"])


def build_treatments(
    parameters: dict[str, Any],
    pt: pd.DataFrame,
    assessments: pd.DataFrame,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Treatments table: prior lines between diagnosis and index, then the index line (last)."""
    t = block(parameters, "therapy")
    n_prior = pt["n_prior"].to_numpy()
    dx = pt["diagnosis_date"].to_numpy()
    idx = pt["index_date"].to_numpy()
    span_days = (idx - dx) / np.timedelta64(1, "D")
    frames = []
    for j in range(4):
        sel = np.nonzero(n_prior > j)[0]
        frac = (j + rng.uniform(0.05, 0.6, len(sel))) / (n_prior[sel] + 0.2)
        frac_next = np.where(j + 1 < n_prior[sel], (j + 1 + 0.05) / (n_prior[sel] + 0.2), 1.0)
        start = dx[sel] + days(span_days[sel] * frac)
        end = dx[sel] + days(np.maximum(span_days[sel] * frac_next - 7, span_days[sel] * frac))
        therapy = pt[f"prior_{j + 1}"].to_numpy()[sel]
        end = np.where(np.isin(therapy, ["surgery", "liver_directed"]), start, end)
        frames.append(
            pd.DataFrame(
                {
                    "pid": sel,
                    "line": j + 1,
                    "therapy": therapy,
                    "start_date": start,
                    "end_date": end,
                }
            )
        )
    prior = pd.concat(frames, ignore_index=True)
    prior["cycles"] = pd.array(
        np.where(prior["therapy"] == "chemotherapy", 6, pd.NA), dtype="Int64"
    )
    prior["cumulative_activity_gbq"] = np.nan
    prior["dose_mg"] = prior["therapy"].map({k: v for k, v in t["dose_mg"].items()}).astype(float)
    index = _index_line(t, pt, assessments, rng)
    out = pd.concat([prior, index], ignore_index=True)
    return sort_rows(out, ["pid", "line"])


def _index_line(
    t: dict[str, Any], pt: pd.DataFrame, assessments: pd.DataFrame, rng
) -> pd.DataFrame:
    """Index line: end at observed progression, death or (open) at last contact; PRRT cycles."""
    n = len(pt)
    therapy = pt["therapy"].to_numpy()
    pd_rows = assessments.loc[assessments["progression"] == 1, ["pid", "day"]]
    stop_day = np.full(n, np.nan)
    stop_day[pd_rows["pid"].to_numpy()] = pd_rows["day"].to_numpy()
    died = pt["died"].to_numpy() == 1
    stop_day = np.where(np.isnan(stop_day) & died, pt["followup_days"].to_numpy(), stop_day)
    prrt = therapy == "prrt_lu177"
    cyc_days = t["prrt_cycle_days"]
    avail = np.where(np.isnan(stop_day), pt["followup_days"].to_numpy(), stop_day)
    cycles = np.clip(1 + np.floor(avail / cyc_days), 1, t["prrt_cycles"]).astype(np.int64)
    stop_day = np.where(prrt, (cycles - 1) * cyc_days, stop_day)
    start = pt["index_date"].to_numpy()
    end = pd.Series(start + days(np.nan_to_num(stop_day))).where(~np.isnan(stop_day)).to_numpy()
    activity = np.where(
        prrt, np.round(cycles * t["prrt_activity_gbq"] * rng.uniform(0.95, 1.02, n), 1), np.nan
    )
    months_on = np.maximum(1, np.round(avail / 28)).astype(np.int64)
    cyc = np.where(
        prrt, cycles, np.where(therapy == "chemotherapy", np.minimum(months_on, 12), months_on)
    )
    return pd.DataFrame(
        {
            "pid": np.arange(n),
            "line": pt["n_prior"].to_numpy() + 1,
            "therapy": therapy,
            "start_date": start,
            "end_date": end,
            "cycles": pd.array(cyc, dtype="Int64"),
            "cumulative_activity_gbq": activity,
            "dose_mg": pd.Series(therapy).map(t["dose_mg"]).astype(float).to_numpy(),
        }
    )
