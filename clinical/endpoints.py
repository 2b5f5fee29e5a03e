"""The endpoints netoutcomes predicts: kind, columns, truth column, selection metric and words."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Endpoint:
    """One predicted endpoint.

    Attributes:
        name: Code in params, JSON and file names (``pfs``).
        kind: ``binary`` or ``survival``.
        target: Outcome column of the feature table (0/1 or follow-up months).
        event: Event-indicator column (survival endpoints), else ``None``.
        truth: Column of the simulator's true linear predictor (``data/truth``).
        metric: Selection metric (``auc`` or ``c_index``).
        scale: Scale of the model margin and of SHAP values (``log-odds`` / ``log-hazard``).
        label: Clinical name (``Progression-free survival``).
        short: Short name (``PFS``).
        shap_unit: SHAP unit in words (``log-hazard of progression``).
        higher_is_worse: True when a larger margin is unfavourable (a hazard).
        prognostic_truth: Column of the simulator's therapy-free prognostic log-hazard
            (survival endpoints; for the true-risk-adjusted Cox), else ``None``.
        event_free: The good outcome at a horizon in words (``alive without progression``).
    """

    name: str
    kind: str
    target: str
    event: str | None
    truth: str
    metric: str
    scale: str
    label: str
    short: str
    shap_unit: str
    higher_is_worse: bool
    prognostic_truth: str | None = None
    event_free: str = "responding"

    @property
    def is_survival(self) -> bool:
        return self.kind == "survival"


ENDPOINTS: dict[str, Endpoint] = {
    "response": Endpoint("response", "binary", "response", None, "p_response", "auc",
                         "log-odds", "Objective response", "Response", "log-odds of response",
                         False),
    "pfs": Endpoint("pfs", "survival", "pfs_months", "pfs_event", "lp_pfs", "c_index",
                    "log-hazard", "Progression-free survival", "PFS",
                    "log-hazard of progression", True, "lp_pfs_prognostic",
                    "alive without progression"),
    "os": Endpoint("os", "survival", "os_months", "os_event", "lp_os", "c_index", "log-hazard",
                   "Overall survival", "OS", "log-hazard of death", True, "lp_os_prognostic",
                   "alive"),
}
SURVIVAL_ENDPOINTS: tuple[str, ...] = tuple(n for n, e in ENDPOINTS.items() if e.is_survival)


def table_endpoint(kind: str, target: str, event: str | None = None) -> Endpoint:
    """An endpoint of a flat table (``evaluate-flat``): generic words, no simulator truth.

    Args:
        kind: ``binary`` or ``survival``.
        target: Outcome column (0/1, or follow-up time).
        event: Event-indicator column of a survival endpoint.
    """
    if kind not in ("binary", "survival"):
        raise ValueError(f"kind must be 'binary' or 'survival', got {kind!r}")
    if kind == "survival":
        return Endpoint("survival", kind, target, event, "", "c_index", "log-hazard", "Survival",
                        "Survival", "log-hazard of the event", True, None, "event-free")
    return Endpoint("response", kind, target, None, "", "auc", "log-odds", "Response",
                    "Response", "log-odds of the outcome", False)


def endpoint(name: str) -> Endpoint:
    """The endpoint of a code; ``KeyError`` naming the valid codes otherwise."""
    try:
        return ENDPOINTS[name]
    except KeyError:
        raise KeyError(f"unknown endpoint {name!r}; valid: {', '.join(ENDPOINTS)}") from None
