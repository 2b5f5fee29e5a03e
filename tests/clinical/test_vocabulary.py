"""The clinical vocabulary: one definition of therapies, sites, grades and endpoints."""

from __future__ import annotations

import numpy as np
import pytest

from clinical import (
    ENDPOINTS,
    INDEX_THERAPIES,
    SITES,
    THERAPIES,
    endpoint,
    grade_from_ki67,
    site_label,
    therapy,
    therapy_colour,
    therapy_label,
)


def test_index_therapies_are_the_five_candidates_in_contract_order():
    assert INDEX_THERAPIES == ("prrt_lu177", "everolimus", "sunitinib", "ssa", "chemotherapy")
    assert tuple(THERAPIES)[:5] == INDEX_THERAPIES


def test_therapy_colours_are_distinct_and_fixed():
    colours = [t.colour for t in THERAPIES.values()]
    assert len(set(colours)) == len(colours)
    assert therapy_colour("prrt_lu177") == "#0072B2"
    assert therapy_colour("nonsense") == "#666666"


def test_labels_never_show_codes():
    assert therapy_label("prrt_lu177") == "PRRT (177Lu-DOTATATE)"
    assert therapy_label("prrt_lu177", short=True) == "PRRT"
    assert therapy_label("new_drug") == "new drug"
    assert site_label("unknown") == "Unknown primary (CUP)"
    assert site_label(float("nan")) == "not recorded"
    assert len(SITES) == 8


def test_unknown_codes_name_the_valid_ones():
    with pytest.raises(KeyError, match="valid: prrt_lu177"):
        therapy("prrt")
    with pytest.raises(KeyError, match="valid: response, pfs, os"):
        endpoint("dfs")


@pytest.mark.parametrize(
    ("ki67", "grade"),
    [(0.5, "G1"), (2.99, "G1"), (3.0, "G2"), (20.0, "G2"), (20.01, "G3"), (80.0, "G3")],
)
def test_who_grade_cut_points(ki67, grade):
    assert grade_from_ki67([ki67])[0] == grade


def test_unknown_ki67_has_no_grade():
    assert grade_from_ki67(np.array([np.nan]))[0] is None


def test_endpoint_registry_columns():
    assert ENDPOINTS["pfs"].target == "pfs_months"
    assert ENDPOINTS["pfs"].event == "pfs_event"
    assert ENDPOINTS["response"].kind == "binary"
    assert ENDPOINTS["response"].event is None
    assert ENDPOINTS["os"].truth == "lp_os"
    assert ENDPOINTS["os"].higher_is_worse
    assert [e.metric for e in ENDPOINTS.values()] == ["auc", "c_index", "c_index"]
