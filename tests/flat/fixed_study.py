"""A fixed-length study with integer weeks: every survivor is censored at the one study end."""

from __future__ import annotations

import numpy as np
import pandas as pd

STUDY_WEEKS = 52


def fixed_length_study(n: int = 400, seed: int = 11, weeks: int = STUDY_WEEKS) -> pd.DataFrame:
    """Event in week 1..weeks, a few drop-outs, everyone else censored at ``weeks``."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    group = rng.choice(["a", "b", "c"], n)
    lp = 0.6 * x1 - 0.4 * x2 + 0.5 * (group == "c")
    t_event = np.ceil(rng.exponential(70 * np.exp(-lp)))
    t_drop = np.ceil(rng.uniform(1, 250, n))
    time = np.minimum.reduce([t_event, t_drop, np.full(n, float(weeks))])
    event = (t_event <= np.minimum(t_drop, weeks)).astype(int)
    return pd.DataFrame({"x1": x1.round(2), "x2": x2.round(2), "group": group,
                         "week": time.astype(int), "arrest": event})
