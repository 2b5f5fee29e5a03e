"""A fresh `make run` leaves dvc.lock unchanged only if every output is the same bytes each run.

The SHAP beeswarm was the one figure that was not (shap jitters with NumPy's global RNG); a
scratch clone run twice from scratch (simulate .. explain, 300 patients) gave identical dvc.lock
files once it was seeded.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.explain import ShapResult
from models.explain_plots import shap_plots


def _result(n: int = 120) -> ShapResult:
    rng = np.random.default_rng(3)
    values = pd.DataFrame(rng.normal(size=(n, 4)), columns=["ki67", "sstr", "age", "alp"])
    return ShapResult(values=values, base_value=0.1, margin=values.sum(axis=1).to_numpy(),
                      feature_names=tuple(values.columns), scale="log_hazard")


def test_beeswarm_is_the_same_bytes_twice_and_leaves_the_global_rng_alone(tmp_path):
    result = _result()
    frame = pd.DataFrame(np.random.default_rng(4).normal(size=(120, 4)),
                         columns=list(result.values.columns))
    np.random.seed(123)
    before = np.random.random()
    np.random.seed(123)
    first = shap_plots(result, frame, None, tmp_path / "a", top_k=4)["beeswarm"].read_bytes()
    after = np.random.random()
    second = shap_plots(result, frame, None, tmp_path / "b", top_k=4)["beeswarm"].read_bytes()
    assert first == second
    assert after == before  # the caller's global RNG stream is untouched
