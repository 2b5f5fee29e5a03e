"""Trial arms: the contract therapies plus placebo, high-dose SSA and PRRT + SSA.

An arm is what a trial randomises to. Each contract therapy is an arm of its own; the extra
arms of the ``arms`` parameter block name the therapy the raw export records (``null`` for
placebo, which it cannot record) and the therapy effects whose PFS log-HRs add up to the arm's
(e.g. PRRT + SSA = the PRRT effect plus that of the SSA given with it; clinical-grounding §3.1,
§3.4, §8.3).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from clinical.therapies import therapy_label
from features.simulate._params import block
from features.simulate.therapy import THERAPIES, compute_treatment_log_hr


def arm_spec(parameters: dict[str, Any], arm: str) -> dict[str, Any]:
    """``therapy`` (recorded therapy or ``None``), ``effects`` and ``response`` of an arm."""
    if arm in THERAPIES:
        return {"therapy": arm, "effects": [arm], "response": arm}
    extra = {k: v for k, v in parameters.get("arms", {}).items() if k != "source"}
    if arm not in extra:
        raise ValueError(
            f"unknown arm {arm!r}; expected a therapy ({', '.join(THERAPIES)}) or one of "
            f"{', '.join(sorted(extra))} (parameters block 'arms')"
        )
    spec = dict(extra[arm])
    spec.setdefault("response", spec.get("therapy") or arm)
    return spec


def arm_log_hr(parameters: dict[str, Any], pt: pd.DataFrame, arm: str) -> np.ndarray:
    """PFS log-HR of an arm versus no therapy: the sum of its therapies' effects."""
    spec = arm_spec(parameters, arm)
    out = np.zeros(len(pt))
    for therapy in spec.get("effects") or []:
        out = out + compute_treatment_log_hr(parameters, pt, therapy)
    return out + float(spec.get("extra_log_hr", 0.0))


def arm_therapy(parameters: dict[str, Any], arm: str) -> str | None:
    """The therapy the raw export records for an arm (``None`` for placebo)."""
    return arm_spec(parameters, arm)["therapy"]


def arms_eligible(eligible: pd.DataFrame, arms: list[str], parameters=None) -> np.ndarray:
    """Patients eligible for every arm (an arm is as eligible as its therapies; placebo all)."""
    ok = np.ones(len(eligible), dtype=bool)
    for arm in arms:
        therapies = [arm] if arm in THERAPIES else _arm_therapies(parameters, arm)
        for therapy in therapies:
            ok &= eligible[therapy].to_numpy()
    return ok


def _arm_therapies(parameters, arm: str) -> list[str]:
    if parameters is None:
        raise ValueError(f"arm {arm!r} needs the simulator parameters to check eligibility")
    spec = arm_spec(parameters, arm)
    return sorted({t for t in [spec.get("therapy"), *(spec.get("effects") or [])] if t})


def response_code(parameters: dict[str, Any], arm: str) -> str:
    """The response model an arm uses (a therapy code, or ``placebo``)."""
    code = arm_spec(parameters, arm)["response"]
    if code not in block(parameters, "response")["intercept"]:
        raise ValueError(f"arm {arm!r}: no response intercept for {code!r} (block 'response')")
    return code


def arm_label(parameters: dict[str, Any], arm: str) -> str:
    """Short clinical label of an arm (``PRRT``, ``Placebo``, ``PRRT + SSA``)."""
    if arm in THERAPIES:
        return therapy_label(arm, short=True)
    return str(arm_spec(parameters, arm).get("label", arm.replace("_", " ")))
