"""Replicate the published NET trials in the simulated world: simulated vs published endpoints.

Each trial of the ``trials`` parameter block is drawn with the simulator's own code: the
population (a preset's selection, or a selection for a real-world cohort), lesions and
prognosis, 1:1 randomisation between the arms, :func:`draw_outcomes`, the calendar and the
RECIST assessments (12-weekly in trials, ~3-monthly in the real world). PFS is read off those
scans (first PD visit or death), as a trial reads it; ORR is the share with CR/PR on any scan.
The endpoints are estimated as the trials did: a Cox HR (first arm vs last), Kaplan-Meier
medians and landmark PFS, ORR with a Wilson interval.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.utils import median_survival_times

from features.simulate._params import MONTH_DAYS, apply_world, block, population_preset
from features.simulate.arms import arm_label, arm_log_hr
from features.simulate.imaging import draw_lesions
from features.simulate.outcomes import add_lesion_size_and_prognosis, draw_outcomes
from features.simulate.population import draw_population
from features.simulate.selection import selection_from_mapping
from features.simulate.timeline import build_assessments, draw_calendar

log = logging.getLogger(__name__)

ENDPOINT_LABELS = {
    "pfs_hr": "PFS HR",
    "os_hr": "OS HR",
    "median_pfs": "median PFS (months)",
    "median_os": "median OS (months)",
    "pfs_at": "PFS at {months} months",
    "orr": "ORR",
}
RELATIVE_TOLERANCE = 0.2  # where no CI is published: within 20 % of the published value


def trial_names(parameters: dict[str, Any]) -> list[str]:
    """Trials of the parameter file, in file order."""
    return [k for k in block(parameters, "trials") if k != "source"]


def trial_spec(parameters: dict[str, Any], name: str) -> dict[str, Any]:
    """One trial's entry, with a clear error naming the valid trials."""
    trials = block(parameters, "trials")
    if name == "source" or name not in trials:
        valid = ", ".join(trial_names(parameters))
        raise ValueError(f"unknown trial {name!r}; expected one of {valid}")
    return trials[name]


def _arms(parameters: dict[str, Any], spec: dict[str, Any]) -> list[str]:
    preset = population_preset(parameters, spec.get("population"))
    return list(preset["arms"] if preset is not None else spec["arms"])


def simulate_trial(
    parameters: dict[str, Any], name: str, n_patients: int, rng: np.random.Generator
) -> pd.DataFrame:
    """Per patient of one simulated trial: arm, observed PFS/OS (months, event), response."""
    spec = trial_spec(parameters, name)
    population = spec.get("population")
    arms = _arms(parameters, spec)
    selection = None if population else selection_from_mapping(spec["select"], f"trials.{name}")
    pt, _ = draw_population(parameters, n_patients, rng, population, selection, arms)
    lesions = draw_lesions(parameters, pt, rng)
    add_lesion_size_and_prognosis(parameters, pt, lesions)
    arm = np.asarray(arms, dtype=object)[rng.permutation(len(pt)) % len(arms)]
    pt["arm"] = arm
    pt["therapy"] = arm
    trt = np.zeros(len(pt))
    for a in arms:
        sel = arm == a
        trt[sel] = arm_log_hr(parameters, pt.loc[sel], a)
    pt["trt_log_hr"] = trt
    pt["lp_pfs"] = pt["lp_pfs_cov"].to_numpy() + trt
    pt = pd.concat([pt, draw_outcomes(parameters, pt, trt, rng, population)], axis=1)
    pt = pd.concat([pt, draw_calendar(parameters, pt, rng, population)], axis=1)
    return _observed(pt, build_assessments(parameters, pt, rng, population))


def _observed(pt: pd.DataFrame, ass: pd.DataFrame) -> pd.DataFrame:
    """Observed PFS (first PD scan or death), OS and best response, as a trial reads them."""
    n = len(pt)
    pd_day = np.full(n, np.inf)
    prog = ass.loc[ass["progression"] == 1]
    np.minimum.at(pd_day, prog["pid"].to_numpy(), prog["day"].to_numpy().astype(float))
    follow = pt["followup_days"].to_numpy().astype(float)
    died = pt["died"].to_numpy() == 1
    event_day = np.minimum(pd_day, np.where(died, follow, np.inf))
    pfs_event = np.isfinite(event_day)
    resp = np.zeros(n, dtype=bool)
    cr_pr = ass.loc[ass["recist_response"].isin(["CR", "PR"]), "pid"].to_numpy()
    resp[cr_pr] = True
    return pd.DataFrame(
        {
            "arm": pt["arm"].to_numpy(),
            "pfs_months": np.where(pfs_event, event_day, follow) / MONTH_DAYS,
            "pfs_event": pfs_event.astype(int),
            "os_months": follow / MONTH_DAYS,
            "os_event": died.astype(int),
            "response": resp.astype(int),
        }
    )


def _cox_hr(obs: pd.DataFrame, arms: list[str], which: str) -> tuple[float, float, float]:
    data = obs.loc[obs["arm"].isin([arms[0], arms[-1]])]
    frame = pd.DataFrame(
        {
            "t": data[f"{which}_months"].to_numpy(),
            "e": data[f"{which}_event"].to_numpy(),
            "x": (data["arm"] == arms[0]).astype(int).to_numpy(),
        }
    )
    cox = CoxPHFitter().fit(frame, "t", "e")
    ci = np.exp(cox.confidence_intervals_.loc["x"].to_numpy())
    return float(np.exp(cox.params_["x"])), float(ci[0]), float(ci[1])


def _km(obs: pd.DataFrame, arm: str, which: str) -> KaplanMeierFitter:
    g = obs.loc[obs["arm"] == arm]
    return KaplanMeierFitter().fit(g[f"{which}_months"], g[f"{which}_event"])


def _km_median(obs: pd.DataFrame, arm: str, which: str) -> tuple[float, float, float]:
    km = _km(obs, arm, which)
    ci = median_survival_times(km.confidence_interval_).to_numpy().ravel()
    return float(km.median_survival_time_), float(ci[0]), float(ci[1])


def _km_landmark(obs: pd.DataFrame, arm: str, months: float) -> tuple[float, float, float]:
    km = _km(obs, arm, "pfs")
    ci = km.confidence_interval_survival_function_
    row = ci.loc[ci.index <= months].iloc[-1]
    value = float(km.survival_function_at_times(months).iloc[0])
    return value, float(row.iloc[0]), float(row.iloc[1])


def wilson(p: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson 95 % interval of a proportion ``p`` observed in ``n``."""
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def _simulated(
    obs: pd.DataFrame, arms: list[str], ep: dict[str, Any]
) -> tuple[float, float, float]:
    kind = ep["endpoint"]
    if kind in ("pfs_hr", "os_hr"):
        return _cox_hr(obs, arms, kind[:3].rstrip("_"))
    if kind in ("median_pfs", "median_os"):
        return _km_median(obs, ep["arm"], kind.split("_")[1])
    if kind == "pfs_at":
        return _km_landmark(obs, ep["arm"], float(ep["months"]))
    if kind == "orr":
        r = obs.loc[obs["arm"] == ep["arm"], "response"]
        lo, hi = wilson(float(r.mean()), len(r))
        return float(r.mean()), lo, hi
    raise ValueError(f"unknown endpoint {kind!r}; expected one of {', '.join(ENDPOINT_LABELS)}")


def published_interval(ep: dict[str, Any]) -> tuple[float | None, float | None]:
    """The published 95 % CI: given, Wilson from the arm size for ORR, else none."""
    if ep.get("ci") is not None:
        lo, hi = ep["ci"]
        return (None if lo is None else float(lo)), (None if hi is None else float(hi))
    if ep["endpoint"] == "orr" and ep.get("n"):
        return wilson(float(ep["published"]), int(ep["n"]))
    return None, None


def agrees(value: float, ep: dict[str, Any]) -> bool:
    """Simulated point inside the published CI, or within 20 % where none is published."""
    if not np.isfinite(value):
        return False
    lo, hi = published_interval(ep)
    if lo is None and hi is None:
        return abs(value - ep["published"]) <= RELATIVE_TOLERANCE * abs(ep["published"])
    return (lo is None or value >= lo) and (hi is None or value <= hi)


def endpoint_label(parameters: dict[str, Any], ep: dict[str, Any], arms: list[str]) -> str:
    """Endpoint in words, with its arm (or the two arms compared)."""
    text = ENDPOINT_LABELS[ep["endpoint"]].format(months=ep.get("months"))
    if ep.get("arm"):
        return f"{text}, {arm_label(parameters, ep['arm'])}"
    return f"{text}, {arm_label(parameters, arms[0])} vs {arm_label(parameters, arms[-1])}"


def trial_rows(
    parameters: dict[str, Any], name: str, obs: pd.DataFrame, seed: int
) -> list[dict[str, Any]]:
    """One row per endpoint of a trial: published (with CI) vs simulated (with CI)."""
    spec = trial_spec(parameters, name)
    arms = _arms(parameters, spec)
    rows = []
    for ep in spec["endpoints"]:
        value, lo, hi = _simulated(obs, arms, ep)
        p_lo, p_hi = published_interval(ep)
        rows.append(
            {
                "trial": name,
                "label": spec.get("label", name),
                "endpoint": ep["endpoint"],
                "arm": ep.get("arm"),
                "description": endpoint_label(parameters, ep, arms),
                "published": float(ep["published"]),
                "published_lo": p_lo,
                "published_hi": p_hi,
                "simulated": value,
                "simulated_lo": lo,
                "simulated_hi": hi,
                "agrees": bool(agrees(value, ep)),
                "n_patients": len(obs),
                "seed": seed,
            }
        )
    return rows


def simulate_trials(
    parameters: dict[str, Any],
    n_patients: int,
    seed: int,
    trials: list[str] | None = None,
    world: str = "published",
) -> list[dict[str, Any]]:
    """Replicate every trial (or the named ones): rows of published vs simulated endpoints.

    ``world``: ``published`` or ``equipoise`` (the equipoise world is not meant to match the
    published effects; its table shows how far it departs from them).
    """
    parameters = apply_world(parameters, world)
    names = trials or trial_names(parameters)
    for name in names:
        trial_spec(parameters, name)
    rows: list[dict[str, Any]] = []
    for i, name in enumerate(names):
        rng = np.random.default_rng([seed, i])
        obs = simulate_trial(parameters, name, n_patients, rng)
        rows.extend(trial_rows(parameters, name, obs, seed))
        log.info("trial %s: %d patients simulated", name, len(obs))
    return rows


def _fmt(value: float | None, endpoint: str) -> str:
    if value is None or not np.isfinite(value):
        return "NR" if value is not None else "-"
    return f"{100 * value:.1f} %" if endpoint in ("orr", "pfs_at") else f"{value:.2f}"


def _interval(lo: float | None, hi: float | None, endpoint: str) -> str:
    if lo is None and hi is None:
        return "(no CI: within 20 %)"
    hi_txt = "NE" if hi is None else _fmt(hi, endpoint)
    return f"({_fmt(lo, endpoint)}-{hi_txt})"


def trials_markdown(rows: list[dict[str, Any]]) -> str:
    """The table as Markdown: one row per endpoint, simulated vs published with intervals."""
    lines = [
        "| trial | endpoint | published (95 % CI) | simulated (95 % CI) | agrees |",
        "|---|---|---|---|---|",
    ]
    last = None
    for r in rows:
        e = r["endpoint"]
        trial = r["label"] if r["trial"] != last else ""
        last = r["trial"]
        lines.append(
            f"| {trial} | {r['description']} | {_fmt(r['published'], e)} "
            f"{_interval(r['published_lo'], r['published_hi'], e)} | {_fmt(r['simulated'], e)} "
            f"{_interval(r['simulated_lo'], r['simulated_hi'], e)} | "
            f"{'yes' if r['agrees'] else 'no'} |"
        )
    n_ok = sum(r["agrees"] for r in rows)
    lines.append("")
    lines.append(f"{n_ok} of {len(rows)} endpoints agree with the published figures.")
    return "\n".join(lines) + "\n"
