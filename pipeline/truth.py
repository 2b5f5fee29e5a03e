"""The simulator's ground truth, joined to the pseudonymised cohort (oracle comparison only).

Truth files carry the raw simulated identifiers; they are pseudonymised here with the same key
the validation stage used, so the join never needs a raw identifier downstream. Nothing but the
evaluation's oracle comparison reads the truth.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from clinical.endpoints import ENDPOINTS
from features.pseudonym import pseudonymise

log = logging.getLogger(__name__)

#: Endpoint -> truth column holding the true risk (higher = worse for survival; p for response).
TRUTH_SCORE = {name: e.truth for name, e in ENDPOINTS.items()}


def pseudonymise_truth(truth: pd.DataFrame, key: bytes) -> pd.DataFrame:
    """Replace raw simulated ids by the pseudonyms the validated tables carry."""
    out = truth.copy()
    out["patient_id"] = pseudonymise(out["patient_id"].astype(str), key)
    return out


def truth_scores(frame: pd.DataFrame, truth: pd.DataFrame, endpoint: str) -> np.ndarray | None:
    """True risk of each row of ``frame`` (NaN where unknown); None when nothing matches."""
    column = TRUTH_SCORE[endpoint]
    if column not in truth.columns:
        return None
    keyed = truth.drop_duplicates("patient_id").set_index("patient_id")[column]
    scores = frame["patient_id"].map(keyed).to_numpy(dtype=float)
    matched = np.isfinite(scores).mean()
    if matched < 0.5:
        log.warning("truth matches %.0f%% of %s rows: oracle comparison skipped", 100 * matched,
                    endpoint)
        return None
    return scores
