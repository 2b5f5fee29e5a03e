"""The clinical vocabulary every package shares: therapies, sites, grades, endpoints, measures.

Plain data and pure functions. This package imports nothing of the project, so ``features``,
``models`` and ``pipeline`` may all import it; it is the one home of each code and its words.
"""

from clinical.endpoints import ENDPOINTS, SURVIVAL_ENDPOINTS, Endpoint, endpoint, table_endpoint
from clinical.grades import WHO_GRADE_CUTPOINTS, WHO_GRADES, grade_from_ki67
from clinical.measures import KRENNING_WORDS, NOT_MEASURED, NOT_RECORDED, krenning_text
from clinical.sites import SITE_LABELS, SITES, site_label
from clinical.therapies import (
    INDEX_THERAPIES,
    PRIOR_THERAPIES,
    THERAPIES,
    Therapy,
    therapy,
    therapy_colour,
    therapy_label,
)

__all__ = [
    "ENDPOINTS",
    "INDEX_THERAPIES",
    "KRENNING_WORDS",
    "NOT_MEASURED",
    "NOT_RECORDED",
    "PRIOR_THERAPIES",
    "SITES",
    "SITE_LABELS",
    "SURVIVAL_ENDPOINTS",
    "THERAPIES",
    "WHO_GRADES",
    "WHO_GRADE_CUTPOINTS",
    "Endpoint",
    "Therapy",
    "endpoint",
    "grade_from_ki67",
    "krenning_text",
    "site_label",
    "table_endpoint",
    "therapy",
    "therapy_colour",
    "therapy_label",
]
