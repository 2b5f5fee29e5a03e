"""WHO grade of well-differentiated NETs from Ki-67 (WHO 2019/2022 digestive classification)."""

from __future__ import annotations

import numpy as np

WHO_GRADES: tuple[str, ...] = ("G1", "G2", "G3")
# Ki-67 (%) cut-points: G1 < 3, G2 3-20, G3 > 20.
WHO_GRADE_CUTPOINTS: tuple[float, float] = (3.0, 20.0)


def grade_from_ki67(ki67) -> np.ndarray:
    """WHO grade per value of Ki-67 (%): ``G1`` < 3, ``G2`` 3-20 (both ends), ``G3`` > 20.

    Args:
        ki67: Array-like of Ki-67 percentages; NaN/None for unknown.

    Returns:
        Object array of ``"G1"``/``"G2"``/``"G3"``, ``None`` where Ki-67 is unknown.
    """
    values = np.asarray(ki67, dtype=float)
    low, high = WHO_GRADE_CUTPOINTS
    grade = np.full(values.shape, None, dtype=object)
    grade[values < low] = "G1"
    grade[(values >= low) & (values <= high)] = "G2"
    grade[values > high] = "G3"
    return grade
