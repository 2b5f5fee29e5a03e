"""The cohort report's "Does the model choose the therapy well?" section, from a benefit block."""

from __future__ import annotations

from pipeline.report import CohortReport, render_cohort_report
from pipeline.stages.explain_benefit import benefit_section, rule_words


def _block(with_truth: bool = True) -> dict:
    block = {
        "reference": "ssa", "horizon_months": 12.0, "outcome": "event-free at 12 months",
        "overlap": {"ssa": {"share_below_threshold": 0.0},
                    "sunitinib": {"share_below_threshold": 0.62}},
        "pairs": {"prrt_lu177": {"n_candidate": 538, "n_reference": 143,
                                 "c_for_benefit": {"c": 0.555, "lo": 0.499, "hi": 0.644}}},
        "policy": {
            "model": {"dr": {"value": 0.779, "lo": 0.70, "hi": 0.86}},
            "as_treated": {"observed": 0.57},
            "prrt_else_everolimus": {"dr": {"value": 0.672, "lo": 0.60, "hi": 1.2}},
            "all_ssa": {"dr": {"value": 0.309, "lo": -0.1, "hi": 0.4}},
        },
    }
    if with_truth:
        block["truth"] = {"model_picks_truly_best": 0.887,
                          "truly_best_share": {"prrt_lu177": 0.88, "ssa": 0.0}}
    return block


def test_section_in_words_with_numbers(tmp_path):
    (tmp_path / "pfs").mkdir()
    section = benefit_section({"pfs": {"benefit": {"12m": _block()}}}, tmp_path, ["pfs"])
    assert section is not None
    (row,) = section.c_rows
    assert row == ("PRRT (177Lu-DOTATATE) vs Somatostatin analogue",
                   "PFS: alive without progression at 12 months", "538 / 143", "0.56 (0.50-0.64)")
    rules = {r[0]: r[2] for r in section.policy_rows}
    assert rules[rule_words("model", "ssa")] == "78% (70-86%)"
    assert rules[rule_words("as_treated", "ssa")] == "57% (observed)"
    assert rules[rule_words("prrt_else_everolimus", "ssa")] == "67% (60-100%)"  # CI capped
    assert rules[rule_words("all_ssa", "ssa")] == "31% (0-40%)"
    assert "89% of patients" in section.truth_note
    assert "Sunitinib for 62% of patients" in section.overlap_note
    assert "prrt_lu177" not in " ".join(map(str, section.policy_rows + section.c_rows))


def test_no_section_without_benefit_and_no_truth_note_on_real_data(tmp_path):
    assert benefit_section({"pfs": {"metrics": {}}}, tmp_path, ["pfs"]) is None
    section = benefit_section({"pfs": {"benefit": {"12m": _block(False)}}}, tmp_path, ["pfs"])
    assert section.truth_note == ""


def test_rendered_in_the_cohort_report(tmp_path):
    section = benefit_section({"pfs": {"benefit": {"12m": _block()}}}, tmp_path, ["pfs"])
    html = render_cohort_report(CohortReport(n_patients=10, n_events={}, made_on="2026-12-02",
                                             global_importance=[], benefit=section))
    assert "Does the model choose the therapy well?" in html
    assert 'data-key="c_for_benefit_1" data-value="0.56 (0.50-0.64)"' in html
    assert "78% (70-86%)" in html


def test_shares_outside_the_unit_interval_are_capped_not_negative(tmp_path):
    block = _block()
    block["policy"]["all_ssa"] = {"dr": {"value": -0.002, "lo": -0.03, "hi": 0.026}}
    section = benefit_section({"pfs": {"benefit": {"12m": block}}}, tmp_path, ["pfs"])
    rules = {r[0]: r[2] for r in section.policy_rows}
    assert rules[rule_words("all_ssa", "ssa")] == "0% (0-3%)"
