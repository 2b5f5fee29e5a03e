"""Plain data the clinician reports are rendered from.

The explain stage fills these dataclasses from the models; the renderers in `patient.py` and
`cohort.py` only format them. Nothing here knows about models, MLflow or files, so the report layout
can be tested with hand-written numbers.

Conventions:
    * Probabilities are floats in [0, 1]; intervals are (estimate, lower, upper) or (lower, upper).
    * Times are months from the index date (start of the index therapy line).
    * SHAP values are in model-output units: log-odds for response, log-hazard for PFS and OS, so a
      positive survival SHAP value raises the risk of progression or death.
    * Every text field is plain text; the renderer escapes it. No field may hold a raw identifier,
      a name or a date of birth: `pseudonym` is the study pseudonym assigned at validation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

# An image for the cohort report: PNG bytes, a path to a PNG file, or an inline "<svg ...>" string.
Image = bytes | Path | str


@dataclass(frozen=True)
class Curve:
    """A predicted survival curve with an optional pointwise interval.

    Attributes:
        times: Months from the index date, increasing, starting at or after 0.
        surv: Survival probability at each time (non-increasing, in [0, 1]).
        lo: Lower bound of the interval at each time, or None.
        hi: Upper bound of the interval at each time, or None.
    """

    times: list[float]
    surv: list[float]
    lo: list[float] | None = None
    hi: list[float] | None = None


@dataclass(frozen=True)
class TherapyPrediction:
    """Predictions for one patient under one therapy.

    Attributes:
        therapy: Therapy code (`prrt_lu177`, `everolimus`, `sunitinib`, `ssa`, `chemotherapy`).
        label: Clinical name, e.g. "PRRT (177Lu-DOTATATE)".
        eligible: False when the therapy is outside the model's support for this patient.
        ineligible_reason: Why it is not eligible (shown instead of numbers).
        positivity_note: Caveat on sparse support (few similar patients got this therapy).
        p_response: Predicted probability of objective response.
        p_response_ci: (lower, upper) interval of `p_response`.
        pfs: Predicted progression-free survival curve.
        os: Predicted overall survival curve.
        pfs_at: Months -> (estimate, lower, upper) PFS probability, e.g. {12: (...), 24: (...)}.
        os_at: Months -> (estimate, lower, upper) OS probability.
        diff_ranges: Column (``response``, ``pfs_12``, ``os_24``, ...) -> (lower, upper)
            recalibration range of this therapy's difference to the index therapy (both
            recalibrated with the same slope); empty for the index therapy or without slopes.
    """

    therapy: str
    label: str
    eligible: bool = True
    ineligible_reason: str | None = None
    positivity_note: str | None = None
    p_response: float | None = None
    p_response_ci: tuple[float, float] | None = None
    pfs: Curve | None = None
    os: Curve | None = None
    pfs_at: dict[int, tuple[float, float, float]] = field(default_factory=dict)
    os_at: dict[int, tuple[float, float, float]] = field(default_factory=dict)
    diff_ranges: dict[str, tuple[float, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class Driver:
    """One clinical variable's contribution to one patient's prediction.

    Attributes:
        variable: Variable code from the feature dictionary, e.g. `ki67_percent`.
        label: Clinical name, e.g. "Ki-67 index".
        value_text: Value in clinical units and words (``models.explain_text.format_value``), e.g.
            "15 % (G2)", "31.6 × ULN (about 3,160 ng/mL)", "PRRT (177Lu-DOTATATE)"; a missing
            value reads "not measured" (or "not recorded") with what the model assumed, e.g.
            "not measured (assumed 3.8 % (G2))". Never a code or a log value.
        shap: Grouped SHAP value in model-output units (log-odds or log-hazard).
        sentence: One plain sentence, e.g. "Ki-67 index 15 % (G2) raises the risk of progression
            (1.38 × the hazard of an average patient)."
        effect_pfs_12: Change of the predicted 12-month PFS probability due to this variable
            (probability difference, e.g. -0.04), or None.
        effect_pfs_24: Same at 24 months.
    """

    variable: str
    label: str
    value_text: str
    shap: float
    sentence: str
    effect_pfs_12: float | None = None
    effect_pfs_24: float | None = None


@dataclass(frozen=True)
class GlanceItem:
    """One input of the "patient at a glance" panel, as the feature table holds it and in words.

    Attributes:
        variable: Column of the feature table, e.g. ``cga_log10_uln``.
        label: Clinical label from the dictionary, e.g. "Chromogranin A".
        value_text: The value in the dictionary's display unit
            (``models.explain_text.format_value``), e.g. "31.6 × ULN (about 3,160 ng/mL)"; a
            missing value reads "not measured" or the entry's own missing text.
        value: The stored number or code (None when missing), kept so a test can compare the
            text with the feature table; never shown as such.
    """

    variable: str
    label: str
    value_text: str
    value: float | str | None = None


@dataclass(frozen=True)
class ModelInfo:
    """One model's identity and validated performance.

    Attributes:
        endpoint: "response", "pfs" or "os".
        name: Registered model name.
        version: Registered version (or a content hash).
        validated: Metric name -> (estimate, lower, upper), e.g. {"C-index": (0.72, 0.69, 0.75)}.
        method: How it was validated, e.g. "5-fold cross-validation, 200 bootstrap resamples".
        alias: Registry alias being served (e.g. "champion"), "" when not known.
    """

    endpoint: str
    name: str
    version: str
    validated: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    method: str = ""
    alias: str = ""


@dataclass(frozen=True)
class PatientReport:
    """Everything one patient report shows.

    Attributes:
        pseudonym: Study pseudonym assigned at validation (never the centre's identifier).
        index_therapy: Therapy code of the index line; its prediction comes first in `predictions`.
        made_on: Date the report was made (ISO date string; not a patient date).
        intended_use: One paragraph on what the report is for.
        limitations: Short sentences on what it must not be used for.
        predictions: One entry per therapy, index therapy first.
        drivers_response: Top drivers of the response prediction for the index therapy.
        drivers_pfs: Top drivers of the PFS prediction (log-hazard).
        drivers_os: Top drivers of the OS prediction (log-hazard).
        base_text: Endpoint -> sentence on the starting point of the explanation, e.g.
            {"pfs": "An average patient in the training cohort has a 12-month PFS of 71 %."}.
        missing: (input label, how it was handled) for every missing input.
        models: The models behind the numbers.
        waterfall_svg: Optional ready-made waterfall (inline "<svg" or "data:image/png;base64,...");
            when None the renderer draws one from the drivers.
        at_a_glance: The patient's key inputs in clinical units (first page).
        observed: (what, observed text) of what actually happened on the index line, when the
            feature table holds it, e.g. ("Progression-free survival", "progression or death
            at 11.4 months").
        in_sample: True when the patient was among the rows the models were trained on (the
            prediction is then in-sample, optimistic); None when not known.
    """

    pseudonym: str
    index_therapy: str
    made_on: str
    intended_use: str
    limitations: list[str]
    predictions: list[TherapyPrediction]
    drivers_response: list[Driver] = field(default_factory=list)
    drivers_pfs: list[Driver] = field(default_factory=list)
    drivers_os: list[Driver] = field(default_factory=list)
    base_text: dict[str, str] = field(default_factory=dict)
    missing: list[tuple[str, str]] = field(default_factory=list)
    models: list[ModelInfo] = field(default_factory=list)
    waterfall_svg: str | None = None
    at_a_glance: list[GlanceItem] = field(default_factory=list)
    observed: list[tuple[str, str]] = field(default_factory=list)
    in_sample: bool | None = None


@dataclass(frozen=True)
class BenefitSection:
    """"Does the model choose the therapy well?": treatment-benefit validation in words.

    Attributes:
        intro: What the section measures and against what (plain words).
        c_rows: (therapy vs reference, endpoint and horizon, patients, c-for-benefit with 95% CI).
        policy_rows: (treatment rule in words, outcome, estimated share with the outcome and its
            95% CI, or "-").
        figures: (caption, image) calibration-for-benefit and overlap plots.
        overlap_note: Positivity in words (share of patients for whom a therapy was rare).
        truth_note: On simulated data: how often the model picked the truly best therapy.
    """

    intro: str
    c_rows: list[tuple[str, str, str, str]] = field(default_factory=list)
    policy_rows: list[tuple[str, str, str]] = field(default_factory=list)
    figures: list[tuple[str, Image]] = field(default_factory=list)
    overlap_note: str = ""
    truth_note: str = ""


@dataclass(frozen=True)
class CohortReport:
    """Everything the cohort report shows.

    Attributes:
        n_patients: Patients explained.
        n_events: Endpoint label -> event count, e.g. {"progression": 412, "death": 205}.
        made_on: Date the report was made (ISO date string).
        global_importance: (variable label, mean |SHAP|), most important first.
        importance_unit: What mean |SHAP| is measured in (shown under the chart).
        beeswarm_png: Beeswarm plot (PNG bytes, PNG path or inline SVG), or None.
        dependence_pngs: (title, image) for the top variables.
        calibration_pngs: (title, image) calibration plots.
        subgroup_table: Rows of subgroup performance; columns are the keys of the first row.
        patient_links: (pseudonym, relative href to the patient report).
        models: The models behind the numbers.
        intended_use: One paragraph on what the report is for.
    """

    n_patients: int
    n_events: dict[str, int]
    made_on: str
    global_importance: list[tuple[str, float]]
    importance_unit: str = "mean |SHAP| (log-hazard of progression)"
    beeswarm_png: Image | None = None
    dependence_pngs: list[tuple[str, Image]] = field(default_factory=list)
    calibration_pngs: list[tuple[str, Image]] = field(default_factory=list)
    subgroup_table: list[dict[str, object]] = field(default_factory=list)
    patient_links: list[tuple[str, str]] = field(default_factory=list)
    models: list[ModelInfo] = field(default_factory=list)
    intended_use: str = ""
    benefit: BenefitSection | None = None
