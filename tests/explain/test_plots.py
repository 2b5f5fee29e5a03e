"""SHAP figures are written, non-empty and labelled in clinical words."""

from __future__ import annotations

from models.explain import global_importance, group_by_variable, tree_shap
from models.explain_plots import shap_plots

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_shap_plots_write_png_and_svg(cohort, xgb_models, dictionary, tmp_path):
    grouped = group_by_variable(
        tree_shap(xgb_models["booster_cox"], cohort.design), cohort.variable_of
    )
    missing_position = int(cohort.frame["ki67_percent"].isna().to_numpy().argmax())
    paths = shap_plots(
        grouped,
        cohort.frame,
        dictionary,
        tmp_path / "figs",
        patient_row=missing_position,
        top_k=6,
        formats=("png", "svg"),
        max_points=300,
    )
    png = {k for k in paths if not k.endswith("_svg")}
    assert {"waterfall", "beeswarm", "bar"} <= png
    assert len([k for k in png if k.startswith("dependence_")]) == 5
    top_five = global_importance(grouped)["variable"].head(5)
    assert {f"dependence_{v}" for v in top_five} == {k for k in png if k.startswith("dependence_")}
    for key in png:
        data = paths[key].read_bytes()
        assert data.startswith(PNG_MAGIC), key
        assert len(data) > 5_000, key
    waterfall_svg = paths["waterfall_svg"].read_text()
    assert waterfall_svg.lstrip().startswith("<?xml")
    assert "<svg" in waterfall_svg
    bar_svg = paths["bar_svg"].read_text()
    assert "Ki-67 index" in bar_svg  # clinical label, not the column name
    assert "Ki-67 index not measured" in waterfall_svg


def test_shap_plots_for_one_patient_without_frame(cohort, xgb_models, tmp_path):
    result = tree_shap(xgb_models["booster_binary"], cohort.design.iloc[:1])
    paths = shap_plots(result, None, None, tmp_path, patient_row=0)
    assert "waterfall" in paths
    assert "beeswarm" not in paths
    assert all(p.stat().st_size > 1_000 for p in paths.values())
