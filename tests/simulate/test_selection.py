"""Population selector: criteria restrict the cohort; empty or contradictory ones are refused."""

from __future__ import annotations

import pytest
from simtools import simulate

from features.simulate import PopulationSelection, SelectionError, parse_selection
from features.simulate.selection import grade_ki67_range, selection_from_mapping


def test_grades_map_to_ki67_ranges():
    assert grade_ki67_range(("G1",)) == (0.0, 3.0)
    assert grade_ki67_range(("G2", "G3")) == (3.0, 100.0)
    sel = PopulationSelection(grades=("G2", "G3"), ki67_min=10.0, ki67_max=55.0)
    assert sel.ki67_range() == (10.0, 55.0)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("grade=G1,G3", "consecutive"),
        ("grade=G1; ki67=10-55", "empty Ki-67 range"),
        ("ki67=30-10", "empty Ki-67 range"),
        ("line=first; prior=ssa", "contradicts prior therapies"),
        ("site=liver", "unknown site 'liver'"),
        ("line=third", "line must be one of first, later"),
        ("disease=dormant", "disease must be one of progressive, stable"),
        ("prior=radiotherapy", "unknown prior therapy"),
        ("colour=blue", "unknown criterion 'colour'"),
        ("sstr=maybe", "expected yes or no"),
        ("pancreas", "not key=value"),
        (" ; ", "empty selection"),
    ],
)
def test_bad_selections_refused_with_reason(text, match):
    with pytest.raises(SelectionError, match=match):
        parse_selection(text)


def test_parse_full_selection():
    sel = parse_selection(
        "site=pancreas,small_intestine; grade=G2,G3; ki67=10-55; line=first; disease=progressive;"
        " sstr=positive; functional=no"
    )
    assert sel.site_weights() == {"pancreas": 1.0, "small_intestine": 1.0}
    assert sel.ki67_range() == (10.0, 55.0)
    assert (sel.line, sel.disease, sel.sstr_positive, sel.functional) == (
        "first", "progressive", True, False)
    assert "Ki-67 10-55 %" in sel.describe()
    assert "first line" in sel.describe()


def test_selection_restricts_cohort(parameters):
    sel = parse_selection(
        "site=pancreas,lung; ki67=10-55; functional=no; line=later; prior=ssa; sstr=positive;"
        " disease=stable"
    )
    t = simulate(parameters, 300, 4, mode="rct", selection=sel).truth["truth"]
    assert len(t) == 300
    assert set(t["site"]) == {"pancreas", "lung"}
    assert t["ki67_true"].between(10, 55).all()
    assert (t["tlr_true"] >= 1).all()
    assert (t["prior_ssa"] == 1).all()
    assert (t["n_prior"] >= 1).all()
    first = simulate(parameters, 200, 5, selection=parse_selection("line=first")).truth["truth"]
    assert (first["n_prior"] == 0).all()
    assert (first["prior_ssa"] == 0).all()


def test_stable_selection_grows_slower_than_progressive(parameters):
    prog = simulate(parameters, 1500, 6, selection=parse_selection("disease=progressive"))
    stable = simulate(parameters, 1500, 6, selection=parse_selection("disease=stable"))
    g_prog = prog.truth["truth"]["tgr0_true"].median()
    g_stable = stable.truth["truth"]["tgr0_true"].median()
    assert g_stable < g_prog


def test_presets_use_the_selector(parameters):
    sel = selection_from_mapping(parameters["populations"]["netter1"]["select"])
    assert sel.prior_therapies == ("ssa",)
    assert sel.sstr_positive
    assert sel.disease == "progressive"
    with pytest.raises(SelectionError, match="not both"):
        simulate(parameters, 10, 1, population="netter1", selection=sel)


def test_unsatisfiable_selection_names_the_criteria(parameters):
    # the world's Ki-67 ends at 55 %; a 99-100 % range keeps none
    sel = PopulationSelection(ki67_min=99.0, ki67_max=100.0)
    with pytest.raises(SelectionError, match=r"Ki-67 99-100 %.*widen the selection"):
        simulate(parameters, 20, 1, selection=sel)
    # SSTR-negative patients are never eligible for PRRT: a PRRT-only trial of them is empty
    params = {**parameters, "populations": {**parameters["populations"], "empty": {
        "select": {"sstr_positive": False}, "arms": ["prrt_lu177"], "crossover": 0.0}}}
    msg = r"SSTR-negative and eligible for every arm \(prrt_lu177\)\) kept 0 of"
    with pytest.raises(SelectionError, match=msg):
        simulate(params, 20, 1, mode="rct", population="empty")
