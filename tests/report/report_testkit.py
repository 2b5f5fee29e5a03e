"""Helpers shared by the report tests: read keyed numbers back from HTML, check tag balance."""

from __future__ import annotations

import hashlib
import hmac
from html.parser import HTMLParser

from pipeline.report.data import CohortReport, PatientReport
from pipeline.report.render import slugify

RAW_PATIENT = {"patient_id": "MRN-4471902", "birth_date": "1957-03-14", "name": "Jane Example"}
PSEUDONYM_KEY = b"test-only-key"


def pseudonymise(raw_id: str) -> str:
    """Keyed HMAC pseudonym, as the validation stage makes them (platform-notes 5.1)."""
    return (
        "P"
        + hmac.new(PSEUDONYM_KEY, raw_id.strip().upper().encode(), hashlib.sha256).hexdigest()[:16]
    )


VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "track",
    "wbr",
}


class _KeyCollector(HTMLParser):
    """Collect data-key -> data-value (list, to detect duplicates) and check tag nesting."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.keys: dict[str, list[str | None]] = {}
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if "data-key" in a:
            self.keys.setdefault(a["data-key"] or "", []).append(a.get("data-value"))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if "data-key" in a:
            self.keys.setdefault(a["data-key"] or "", []).append(a.get("data-value"))

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> (open: {self.stack[-3:]})")
            return
        self.stack.pop()


def parse_report(html: str) -> _KeyCollector:
    """Parse a page: `.keys` maps data-key to data-values; `.errors`, `.stack` show bad nesting."""
    p = _KeyCollector()
    p.feed(html)
    p.close()
    return p


def read_keys(html: str) -> dict[str, str | None]:
    """data-key -> data-value; raises AssertionError on a duplicated key."""
    keys = parse_report(html).keys
    dupes = [k for k, v in keys.items() if len(v) > 1]
    assert not dupes, f"duplicated data-key: {dupes}"
    return {k: v[0] for k, v in keys.items()}


def _prediction_keys(p) -> dict[str, float]:
    """The keyed numbers of one eligible therapy's predictions."""
    t = slugify(p.therapy)
    exp: dict[str, float] = {}
    if p.p_response is not None:
        exp[f"p_response_{t}"] = p.p_response
    if p.p_response_ci is not None:
        exp[f"p_response_lo_{t}"], exp[f"p_response_hi_{t}"] = p.p_response_ci
    for name, table in (("pfs", p.pfs_at), ("os", p.os_at)):
        for m, (est, lo, hi) in table.items():
            exp[f"{name}_{m}_{t}"] = est
            exp[f"{name}_{m}_{t}_lo"], exp[f"{name}_{m}_{t}_hi"] = lo, hi
    return exp


def expected_patient_keys(report: PatientReport) -> dict[str, float | str]:
    """The numbers a patient report must expose, straight from its input data."""
    exp: dict[str, float | str] = {
        "pseudonym": report.pseudonym,
        "index_therapy": report.index_therapy,
        "made_on": report.made_on,
    }
    for p in report.predictions:
        if p.eligible:
            exp.update(_prediction_keys(p))
    for ep, drivers in (
        ("pfs", report.drivers_pfs),
        ("response", report.drivers_response),
        ("os", report.drivers_os),
    ):
        for d in drivers:
            k = f"{ep}_{slugify(d.variable)}"
            exp[f"shap_{k}"] = d.shap
            if d.effect_pfs_12 is not None:
                exp[f"effect_pfs_12_{k}"] = d.effect_pfs_12
            if d.effect_pfs_24 is not None:
                exp[f"effect_pfs_24_{k}"] = d.effect_pfs_24
    exp.update(expected_metric_keys(report.models))
    return exp


def _first_cells(p) -> dict[str, tuple]:
    """Column key -> (estimate, lower, upper) of one therapy on the first page."""
    cells = {}
    if p.p_response is not None:
        cells["response"] = (p.p_response, *(p.p_response_ci or (None, None)))
    for name, table in (("pfs", p.pfs_at), ("os", p.os_at)):
        cells |= {f"{name}_{m}": v for m, v in table.items()}
    return cells


def expected_first_page_keys(report: PatientReport) -> dict[str, float | str]:
    """The numbers the first page must carry: glance values as the feature table holds them,
    every eligible therapy's estimates, ranges and differences to the index therapy, the rank
    by the latest PFS month and the best therapy."""
    exp: dict[str, float | str] = {}
    for g in report.at_a_glance:
        exp[f"glance_{g.variable}"] = "" if g.value is None else g.value
    eligible = [p for p in report.predictions if p.eligible]
    index = _first_cells(report.predictions[0])
    for p in eligible:
        t = slugify(p.therapy)
        for key, (est, lo, hi) in _first_cells(p).items():
            exp[f"first_{key}_{t}"] = est
            if lo is not None:
                exp[f"first_{key}_{t}_lo"], exp[f"first_{key}_{t}_hi"] = lo, hi
            if p.therapy != report.index_therapy and key in index:
                exp[f"first_diff_{key}_{t}"] = est - index[key][0]
    month = max(report.predictions[0].pfs_at)
    ranked = sorted(eligible,
                    key=lambda p: (-p.pfs_at[month][0], p.therapy != report.index_therapy))
    for rank, p in enumerate(ranked, start=1):
        exp[f"first_rank_{slugify(p.therapy)}"] = rank
    exp["best_therapy"] = ranked[0].therapy
    return exp


def expected_metric_keys(models) -> dict[str, float]:
    """Validated metrics as data keys."""
    exp: dict[str, float] = {}
    for m in models:
        for metric, (est, lo, hi) in m.validated.items():
            k = f"metric_{m.endpoint.lower()}_{slugify(metric)}"
            exp[k], exp[k + "_lo"], exp[k + "_hi"] = est, lo, hi
    return exp


def expected_cohort_keys(report: CohortReport) -> dict[str, float | str]:
    """The numbers a cohort report must expose."""
    exp: dict[str, float | str] = {"n_patients": report.n_patients, "made_on": report.made_on}
    exp.update({f"n_events_{slugify(k)}": v for k, v in report.n_events.items()})
    for i, (label, v) in enumerate(report.global_importance, start=1):
        exp[f"importance_{i}"], exp[f"importance_label_{i}"] = v, label
    exp.update(expected_metric_keys(report.models))
    return exp


def assert_keys_match(html: str, expected: dict[str, float | str]) -> None:
    """Every expected key is in the page exactly once with exactly the input value."""
    found = read_keys(html)
    missing = sorted(set(expected) - set(found))
    assert not missing, f"keys missing from the page: {missing}"
    for k, v in expected.items():
        if isinstance(v, str):
            assert found[k] == v, k
        else:
            assert float(found[k]) == float(v), f"{k}: page {found[k]} != input {v}"
