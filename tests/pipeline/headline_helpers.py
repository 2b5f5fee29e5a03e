"""A realistic metrics.json mapping for the headline tests (three endpoints, benefit blocks)."""

from __future__ import annotations


def _stat(mean: float) -> dict:
    return {"mean": mean, "lo": mean - 0.05, "hi": mean + 0.05, "sd": 0.02, "n": 15}


def _benefit(label: str, c: float, regret: float | None) -> dict:
    block = {
        "reference": "ssa",
        "pairs": {"prrt_lu177": {"c_for_benefit": {"c": c, "lo": c - 0.1, "hi": c + 0.1}},
                  "everolimus": {"c_for_benefit": {"c": 0.51}}},
        "policy": {"model": {"dr": {"value": 0.4}}},
    }
    if regret is not None:
        block["truth"] = {"policy_regret": {"model": {"regret": regret, "true_value": 0.3},
                                            "as_treated": {"regret": 0.2}}}
    return {label: block}


def metrics_block(with_truth: bool = True) -> dict:
    pfs = {
        "metrics": {"harrell_c": _stat(0.7356112795), "uno_c": _stat(0.72),
                    "calibration_slope_24": _stat(0.9), "calibration_slope_12": _stat(1.0234567),
                    "td_auc_12": _stat(0.75)},
        "benefit": {**_benefit("12m", 0.5812345, 0.031234 if with_truth else None),
                    **_benefit("24m", 0.6, 0.02)},
    }
    response = {"metrics": {"auc": _stat(0.6986874), "calibration_slope": _stat(0.87654),
                            "brier": _stat(0.1)},
                "benefit": _benefit("response", 0.55, 0.0123 if with_truth else None)}
    if with_truth:
        pfs["oracle"] = {"ratio": _stat(0.95179058)}
        response["oracle"] = {"ratio": _stat(0.97011922)}
    os_block = {"metrics": {"harrell_c": _stat(0.75), "calibration_slope_12": _stat(float("nan"))}}
    return {"response": response, "pfs": pfs, "os": os_block}
