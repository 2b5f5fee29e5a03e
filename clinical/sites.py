"""Primary tumour sites of the data contract with clinical labels."""

from __future__ import annotations

SITE_LABELS: dict[str, str] = {
    "small_intestine": "Small intestine (midgut)",
    "pancreas": "Pancreas",
    "lung": "Lung (bronchopulmonary)",
    "rectum": "Rectum",
    "stomach": "Stomach",
    "colon": "Colon",
    "unknown": "Unknown primary (CUP)",
    "other": "Other site",
}
SITES: tuple[str, ...] = tuple(SITE_LABELS)


def site_label(code: object) -> str:
    """Clinical label of a site code; "not recorded" for a missing value."""
    if code is None or (isinstance(code, float) and code != code):
        return "not recorded"
    return SITE_LABELS.get(str(code), str(code).replace("_", " "))
