"""Stage ``validate``: raw CSV export -> validated Parquet, quarantine Parquet, JSON report.

Thin I/O shell around :func:`features.validate.validate_tables`. Whole-file faults raise
:class:`pipeline.errors.InputError` (file, column, fix); row faults go to quarantine.
"""

from __future__ import annotations

import csv
import logging
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from rich.console import Console
from rich.table import Table

from features.contract import TABLES
from features.simulate.export import check_manifest
from features.validate import ContractError, validate_tables
from pipeline.errors import InputError
from pipeline.io import write_json, write_parquet
from pipeline.secrets import DEMO_KEY, KEY_ENV, KEY_FILE_ENV, MAKE_KEY, check_key

log = logging.getLogger(__name__)
DEMO_WARNING = (f"DEMO pseudonym key in use (--demo-key): the key is public, so the pseudonyms are "
                f"NOT secret. Fine only for the synthetic cohort; for real data set {KEY_ENV} or "
                f"{KEY_FILE_ENV} and drop --demo-key.")
KEY_MARK = "pseudonym_key"  # Parquet attrs of every validated/quarantine table: "demo" or "secret"


def read_raw_table(path: Path) -> pd.DataFrame:
    """Read one raw CSV (types inferred, only empty cells missing); whole-file faults raise."""
    if not path.is_file():
        raise InputError(str(path), "", f"write the {path.stem} table as {path.name} into "
                         f"{path.parent}", "required file is missing")
    try:
        with path.open("rb") as fh:
            head = fh.readline(65536).decode("utf-8-sig")
    except (OSError, UnicodeDecodeError):
        raise InputError(str(path), "", "export the file as UTF-8 text",
                         "file cannot be read as UTF-8 text") from None
    if "\x00" in head:
        raise InputError(str(path), "", "export the table as a UTF-8 CSV text file",
                         "file is binary, not CSV text")
    if not head.strip():
        raise InputError(str(path), "", "export a header row and data rows", "file is empty")
    if "," not in head and any(d in head for d in (";", "\t", "|")):
        raise InputError(str(path), "", "export the file comma-separated (',')",
                         "wrong delimiter (';', tab or '|' instead of ',')")
    try:
        table = _read_csv(path, head)
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as err:
        problem = "cannot be parsed as CSV" + (" (not UTF-8)" if "UTF8" in str(err) else
                                               " (rows with a wrong number of fields?)")
        raise InputError(str(path), "", "export a comma-separated UTF-8 file with one header "
                         "row and the same number of fields in every row", problem) from None
    for field in table.schema:
        kind = field.type.value_type if pa.types.is_dictionary(field.type) else field.type
        if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
            raise InputError(str(path), field.name, "export the file as UTF-8 text",
                             "holds text that is not UTF-8") from None
    table = _text_if_beyond_ns(table)
    return table.to_pandas(date_as_object=False, split_blocks=True, self_destruct=True)


_NS_SAFE = (date(1678, 1, 1), date(2262, 4, 11))  # days datetime64[ns] can hold


def _text_if_beyond_ns(table: pa.Table) -> pa.Table:
    """Date columns holding days datetime64[ns] cannot (``9999-12-31``) are read as text.

    The cleaning then quarantines those rows as ``out_of_range`` instead of pandas raising
    ``OutOfBoundsDatetime`` on the whole file.
    """
    for i, fld in enumerate(table.schema):
        if not (pa.types.is_date(fld.type) or pa.types.is_timestamp(fld.type)):
            continue
        span = pc.min_max(table.column(i))
        lo, hi = span["min"].as_py(), span["max"].as_py()
        if lo is None:
            continue
        lo, hi = (d.date() if hasattr(d, "date") else d for d in (lo, hi))
        if lo < _NS_SAFE[0] or hi > _NS_SAFE[1]:
            table = table.set_column(i, fld.name, pc.cast(table.column(i), pa.string()))
    return table


def _read_csv(path: Path, head: str) -> pa.Table:
    """Typed read; if a late value breaks an inferred type, re-read every column as text."""
    options = dict(null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=True)
    try:
        return pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
            auto_dict_encode=True, auto_dict_max_cardinality=1 << 30, **options))
    except pa.ArrowInvalid as err:
        if "conversion error" not in str(err).lower():
            raise
    names = next(csv.reader([head]))
    text = pa.dictionary(pa.int32(), pa.string())
    return pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
        column_types=dict.fromkeys(names, text), **options))


def check_demo_key(raw_dir: Path, key: bytes, demo_key: bool) -> tuple[bool, date | None]:
    """Refuse short keys, and the demo key for anything but the simulator's unchanged export.

    Returns ``(is_demo, export date from the simulator's manifest or None)``.
    """
    check_key(key, "pseudonym key")
    demo = bool(demo_key) or key == DEMO_KEY
    manifest = check_manifest(raw_dir)
    if demo and not manifest.synthetic:
        raise InputError(str(raw_dir), "", f"make a key with {MAKE_KEY}, set {KEY_ENV} to it and "
                         "run validate without --demo-key",
                         "the public demo pseudonym key is refused: this is not the simulator's "
                         f"export ({manifest.problem})")
    return demo, manifest.export_date if manifest.synthetic else None


def resolve_export_date(raw_dir: Path, given: date | None) -> date:
    """The export date: ``given``, else the simulator's manifest date, else today."""
    if given is not None:
        return given
    manifest = check_manifest(raw_dir)
    return (manifest.export_date if manifest.synthetic and manifest.export_date
            else date.today())


def run(raw_dir: Path, out_dir: Path, quarantine_dir: Path, report_path: Path, key: bytes,
        *, demo_key: bool, export_date: date | None = None) -> dict[str, Any]:
    """Validate ``raw_dir/<table>.csv``; write tables, quarantine and report; return the report.

    ``demo_key`` (or ``key`` equal to the demo key) is accepted only for the simulator's export
    (its ``manifest.json``); ``export_date`` (default: the manifest's, else none) bounds dates.
    """
    raw_dir = Path(raw_dir)
    demo_key, manifest_date = check_demo_key(raw_dir, key, demo_key)
    export_date = export_date or manifest_date
    raw = {t: read_raw_table(raw_dir / f"{t}.csv") for t in TABLES}
    try:
        result = validate_tables(raw, key, export_date=export_date,
                                 source_names={t: str(raw_dir / f"{t}.csv") for t in TABLES})
    except ContractError as err:
        raise InputError(err.file, err.column, err.fix, err.problem) from None
    del raw
    mark = "demo" if demo_key else "secret"
    for t in TABLES:
        entry = result.report[t]
        assert entry["rows_in"] == entry["rows_valid"] + entry["rows_quarantined"], t
        for frame, folder in ((result.tables[t], out_dir), (result.quarantine[t], quarantine_dir)):
            frame.attrs[KEY_MARK] = mark
            write_parquet(frame, Path(folder) / f"{t}.parquet")
    report = {"tables": result.report, "demo_key": bool(demo_key), KEY_MARK: mark,
              "export_date": export_date.isoformat() if export_date else None,
              "warnings": [DEMO_WARNING] if demo_key else [],
              "totals": _totals(result.report)}
    write_json(report, Path(report_path))
    tot = report["totals"]
    log.info("validated %d rows: %d valid, %d quarantined -> %s", tot["rows_in"],
             tot["rows_valid"], tot["rows_quarantined"], out_dir)
    if demo_key:
        log.warning(DEMO_WARNING)
    print_summary(report)
    return report


def _totals(tables: dict[str, dict[str, Any]]) -> dict[str, int]:
    return {k: sum(e[k] for e in tables.values())
            for k in ("rows_in", "rows_valid", "rows_quarantined")}


def print_summary(report: dict[str, Any], console: Console | None = None) -> None:
    """Human-readable summary table (stderr)."""
    console = console or Console(stderr=True)
    grid = Table(title="validation")
    for col in ("table", "rows in", "valid", "quarantined", "reasons", "dropped identifiers"):
        numeric = col.startswith(("rows", "valid", "quar"))
        grid.add_column(col, justify="right" if numeric else "left")
    for t, e in report["tables"].items():
        reasons = ", ".join(f"{k} {v}" for k, v in e["reasons"].items()) or "-"
        grid.add_row(t, f"{e['rows_in']:,}", f"{e['rows_valid']:,}", f"{e['rows_quarantined']:,}",
                     reasons, ", ".join(e["dropped_identifier_columns"]) or "-")
    console.print(grid)
    if report.get("demo_key"):
        console.print(f"[bold yellow]WARNING:[/] {DEMO_WARNING}")
