"""Population selector: which patients a trial (or a user) enrols from the simulated world.

A :class:`PopulationSelection` names the enrolment criteria of a trial in clinical terms: WHO
grade or Ki-67 range, primary site (with the trial's site mix), functional syndrome, line of
therapy, progressive or stable disease at entry, SSTR-positive disease, prior therapies. The
simulator draws patients for it in two steps: the criteria that shape the draw (site mix, Ki-67
and SSTR range, growth at entry, an SSA-refractory prior-line history) enter the generators,
and the rest screen drawn patients (:meth:`PopulationSelection.mask`). A selection that is empty
or contradicts itself is refused with a message that says which criteria clash.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pandas as pd

from clinical.grades import WHO_GRADE_CUTPOINTS, WHO_GRADES
from clinical.sites import SITES
from clinical.therapies import PRIOR_THERAPIES

LINES = ("first", "later")
DISEASE_STATES = ("progressive", "stable")
KI67_LIMITS = (0.0, 100.0)


class SelectionError(ValueError):
    """An empty, contradictory or misspelt population selection (a user can fix it)."""


def grade_ki67_range(grades: tuple[str, ...]) -> tuple[float, float]:
    """Ki-67 range (%) covered by consecutive WHO grades (G1 < 3, G2 3-20, G3 > 20)."""
    unknown = [g for g in grades if g not in WHO_GRADES]
    if unknown:
        raise SelectionError(f"unknown WHO grade {unknown[0]!r}; valid: {', '.join(WHO_GRADES)}")
    idx = sorted({WHO_GRADES.index(g) for g in grades})
    if idx != list(range(idx[0], idx[-1] + 1)):
        raise SelectionError(
            f"grades {', '.join(grades)} do not form one Ki-67 range; select consecutive grades "
            "(G1-G2 or G2-G3) or give a Ki-67 range"
        )
    edges = (KI67_LIMITS[0], *WHO_GRADE_CUTPOINTS, KI67_LIMITS[1])
    return float(edges[idx[0]]), float(edges[idx[-1] + 1])


@dataclass(frozen=True)
class PopulationSelection:
    """Enrolment criteria; ``None`` (or empty) means the criterion does not restrict.

    Attributes:
        sites: primary sites with their enrolment weights (the trial's site mix).
        grades: WHO grades (consecutive), intersected with the Ki-67 range.
        ki67_min: lowest Ki-67 (%), inclusive.
        ki67_max: highest Ki-67 (%), inclusive.
        functional: ``True`` functional syndrome only, ``False`` non-functional only.
        line: ``first`` (no prior systemic line) or ``later`` (at least one prior line).
        disease: ``progressive`` (documented progression at entry) or ``stable``.
        sstr_positive: ``True`` uptake at least that of the liver, ``False`` below it.
        prior_therapies: therapy classes every patient must have had before (e.g. ``ssa``).
    """

    sites: tuple[tuple[str, float], ...] | None = None
    grades: tuple[str, ...] | None = None
    ki67_min: float | None = None
    ki67_max: float | None = None
    functional: bool | None = None
    line: str | None = None
    disease: str | None = None
    sstr_positive: bool | None = None
    prior_therapies: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self._check_vocabulary()
        self.ki67_range()  # raises on an empty range
        if self.line == "first" and self.prior_therapies:
            raise SelectionError(
                f"line 'first' contradicts prior therapies {', '.join(self.prior_therapies)}: "
                "a first-line patient has had no prior line; drop one of the two"
            )

    def _check_vocabulary(self) -> None:
        for site, weight in self.sites or ():
            if site not in SITES:
                raise SelectionError(f"unknown site {site!r}; valid: {', '.join(SITES)}")
            if not weight > 0:
                raise SelectionError(f"site {site!r}: enrolment weight must be > 0, got {weight}")
        if self.sites is not None and not self.sites:
            raise SelectionError("no site selected; name at least one site or leave sites out")
        if self.line not in (None, *LINES):
            raise SelectionError(f"line must be one of {', '.join(LINES)}, got {self.line!r}")
        if self.disease not in (None, *DISEASE_STATES):
            raise SelectionError(
                f"disease must be one of {', '.join(DISEASE_STATES)}, got {self.disease!r}"
            )
        for t in self.prior_therapies:
            if t not in PRIOR_THERAPIES:
                raise SelectionError(
                    f"unknown prior therapy {t!r}; valid: {', '.join(PRIOR_THERAPIES)}"
                )

    def ki67_range(self) -> tuple[float, float]:
        """The selected Ki-67 range (%): grades intersected with ``ki67_min``/``ki67_max``."""
        lo, hi = KI67_LIMITS
        if self.grades:
            lo, hi = grade_ki67_range(tuple(self.grades))
        given_lo = KI67_LIMITS[0] if self.ki67_min is None else float(self.ki67_min)
        given_hi = KI67_LIMITS[1] if self.ki67_max is None else float(self.ki67_max)
        for name, v in (("ki67_min", given_lo), ("ki67_max", given_hi)):
            if not KI67_LIMITS[0] <= v <= KI67_LIMITS[1]:
                raise SelectionError(f"{name} must lie in 0-100 %, got {v}")
        lo, hi = max(lo, given_lo), min(hi, given_hi)
        if lo >= hi:
            what = f"grades {', '.join(self.grades)} and " if self.grades else ""
            raise SelectionError(
                f"empty Ki-67 range: {what}Ki-67 {given_lo:g}-{given_hi:g} % leave no patient; "
                "widen the range or change the grades"
            )
        return lo, hi

    def site_weights(self) -> dict[str, float] | None:
        """Site mix as a mapping (``None``: the world's own mix)."""
        return None if self.sites is None else dict(self.sites)

    def mask(self, pt: pd.DataFrame) -> np.ndarray:
        """Patients of the drawn frame (true covariates, prior lines) meeting every criterion."""
        ok = np.ones(len(pt), dtype=bool)
        lo, hi = self.ki67_range()
        ki = pt["ki67_true"].to_numpy()
        ok &= (ki >= lo) & (ki <= hi)
        if self.sites is not None:
            ok &= pt["site"].isin([s for s, _ in self.sites]).to_numpy()
        if self.functional is not None:
            ok &= pt["functional"].to_numpy() == int(self.functional)
        if self.sstr_positive is not None:
            ok &= (pt["tlr_true"].to_numpy() >= 1.0) == self.sstr_positive
        if self.line is not None:
            ok &= (pt["n_prior"].to_numpy() > 0) == (self.line == "later")
        if self.disease is not None and "progressive" in pt:
            ok &= pt["progressive"].to_numpy() == int(self.disease == "progressive")
        priors = pt[[c for c in pt.columns if c.startswith("prior_") and c[6:].isdigit()]]
        for t in self.prior_therapies:
            ok &= (priors.to_numpy() == t).any(axis=1)
        return ok

    def describe(self) -> str:
        """The criteria in words (for logs, errors and reports)."""
        parts = []
        if self.sites is not None:
            parts.append("site " + "/".join(s for s, _ in self.sites))
        lo, hi = self.ki67_range()
        if (lo, hi) != KI67_LIMITS:
            parts.append(f"Ki-67 {lo:g}-{hi:g} %")
        if self.functional is not None:
            parts.append("functional" if self.functional else "non-functional")
        if self.line:
            parts.append(f"{self.line} line")
        if self.disease:
            parts.append(self.disease)
        if self.sstr_positive is not None:
            parts.append("SSTR-positive" if self.sstr_positive else "SSTR-negative")
        if self.prior_therapies:
            parts.append("prior " + "/".join(self.prior_therapies))
        return ", ".join(parts) or "everyone"


_FIELDS = {f.name for f in fields(PopulationSelection)}


def _as_sites(value: Any) -> tuple[tuple[str, float], ...]:
    if isinstance(value, Mapping):
        return tuple((str(k), float(v)) for k, v in value.items())
    if isinstance(value, str):
        value = [v for v in value.replace("/", ",").split(",") if v.strip()]
    return tuple((str(s).strip(), 1.0) for s in value)


def _as_bool(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    words = {"true": True, "yes": True, "positive": True, "1": True,
             "false": False, "no": False, "negative": False, "0": False}
    try:
        return words[str(value).strip().lower()]
    except KeyError:
        raise SelectionError(f"{key}: expected yes or no, got {value!r}") from None


def selection_from_mapping(
    spec: Mapping[str, Any], where: str | None = None
) -> PopulationSelection:
    """A selection from a mapping (a preset's ``select`` block or the parsed CLI text)."""
    unknown = sorted(set(spec) - _FIELDS)
    if unknown:
        raise SelectionError(
            f"{where or 'selection'}: unknown criterion {unknown[0]!r}; "
            f"valid: {', '.join(sorted(_FIELDS))}"
        )
    kw: dict[str, Any] = {}
    for key, value in spec.items():
        if value is None:
            continue
        if key == "sites":
            kw[key] = _as_sites(value)
        elif key in ("grades", "prior_therapies"):
            items = value.replace("/", ",").split(",") if isinstance(value, str) else value
            kw[key] = tuple(str(v).strip() for v in items if str(v).strip())
        elif key in ("functional", "sstr_positive"):
            kw[key] = _as_bool(key, value)
        elif key in ("ki67_min", "ki67_max"):
            kw[key] = _as_float(key, value)
        else:
            kw[key] = str(value)
    try:
        return PopulationSelection(**kw)
    except SelectionError as err:
        raise SelectionError(f"{where}: {err}" if where else str(err)) from None


def _as_float(key: str, value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise SelectionError(f"{key}: expected a number, got {value!r}") from None


_ALIASES = {"site": "sites", "grade": "grades", "prior": "prior_therapies", "sstr": "sstr_positive",
            "prior_therapy": "prior_therapies"}


def parse_selection(text: str) -> PopulationSelection:
    """Parse ``key=value`` criteria separated by ``;`` (the CLI form).

    Example: ``site=pancreas,small_intestine; grade=G2,G3; ki67=10-55; line=first;
    disease=progressive; sstr=positive; functional=no; prior=ssa``.
    """
    spec: dict[str, Any] = {}
    for raw in text.split(";"):
        item = raw.strip()
        if not item:
            continue
        if "=" not in item:
            raise SelectionError(f"criterion {item!r} is not key=value (e.g. site=pancreas)")
        key, value = (s.strip() for s in item.split("=", 1))
        key = _ALIASES.get(key, key)
        if key == "ki67":
            lo, _, hi = value.partition("-")
            spec["ki67_min"], spec["ki67_max"] = (lo or None), (hi or None)
        else:
            spec[key] = value
    if not spec:
        raise SelectionError("empty selection; give criteria such as site=pancreas; line=first")
    return selection_from_mapping(spec)
