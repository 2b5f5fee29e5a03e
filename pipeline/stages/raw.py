"""Stage ``simulate`` with ``source: export``: bring a centre's export in as the raw tables.

The export folder is never written to: its CSV tables (docs/data-contract.md) are copied into
``data/raw`` byte for byte, and ``data/truth`` is emptied (a real cohort has no counterfactual
truth, so the evaluation's oracle figures are off). Nothing is simulated, so synthetic data can
never overwrite or mix with the export. Validation then needs a real pseudonym key: the demo key
is refused for anything but the simulator's own export (its manifest).
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from features.contract import TABLES
from pipeline.errors import InputError

log = logging.getLogger(__name__)

NO_TRUTH_NOTE = ("No simulator truth: the raw tables are a centre's export (params.yaml "
                 "source: export), so there is no counterfactual truth and no oracle figure.\n")


def import_export(export_dir: Path, raw_dir: Path, truth_dir: Path) -> list[Path]:
    """Copy the export's CSV tables into ``raw_dir``; leave ``truth_dir`` holding only a note.

    Raises:
        InputError: If the folder is missing, is the raw folder itself, or lacks a table.
    """
    export_dir, raw_dir = Path(export_dir), Path(raw_dir)
    if not export_dir.is_dir():
        raise InputError(file=str(export_dir), problem="export folder not found",
                         fix="set export_dir in params.yaml to the folder of the CSV tables")
    if export_dir.resolve() == raw_dir.resolve():
        raise InputError(file=str(export_dir), problem="export_dir is the pipeline's raw folder",
                         fix="keep the export outside data/raw (the stage rewrites data/raw)")
    missing = [t for t in TABLES if not (export_dir / f"{t}.csv").is_file()]
    if missing:
        raise InputError(file=str(export_dir), column=", ".join(f"{t}.csv" for t in missing),
                         problem="table(s) missing from the export",
                         fix="export every table of docs/data-contract.md")
    for folder in (raw_dir, Path(truth_dir)):
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
    copied = [Path(shutil.copy2(export_dir / f"{t}.csv", raw_dir / f"{t}.csv")) for t in TABLES]
    (Path(truth_dir) / "README.txt").write_text(NO_TRUTH_NOTE, encoding="utf-8")
    log.info("imported %d tables from the export into %s (no truth)", len(copied), raw_dir)
    return copied
