"""Named artefacts and their paths, declared once (mirrors the outs/deps of ``dvc.yaml``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from features.contract import TABLES

RAW_TABLES = TABLES  # the data contract's tables (features.contract)


@dataclass(frozen=True)
class Catalog:
    """Paths of every artefact, relative to one project root."""

    root: Path

    @property
    def raw_dir(self) -> Path:
        return self.root / "data" / "raw"

    @property
    def truth_dir(self) -> Path:
        return self.root / "data" / "truth"

    @property
    def validated_dir(self) -> Path:
        return self.root / "data" / "validated"

    @property
    def quarantine_dir(self) -> Path:
        return self.root / "data" / "quarantine"

    @property
    def features_file(self) -> Path:
        return self.root / "data" / "features" / "cohort.parquet"

    @property
    def dictionary_file(self) -> Path:
        return self.root / "data" / "features" / "dictionary.json"

    @property
    def models_dir(self) -> Path:
        return self.root / "data" / "models"

    @property
    def registered_file(self) -> Path:
        return self.root / "data" / "registry" / "registered.json"

    @property
    def reports_dir(self) -> Path:
        return self.root / "reports"

    @property
    def metrics_file(self) -> Path:
        return self.reports_dir / "metrics.json"

    @property
    def plots_dir(self) -> Path:
        return self.reports_dir / "plots"

    @property
    def patients_report_dir(self) -> Path:
        return self.reports_dir / "patients"

    @property
    def cohort_report_file(self) -> Path:
        return self.reports_dir / "cohort.html"


def catalog_for(root: Path | str = ".") -> Catalog:
    """Return the catalog rooted at ``root`` (default: the current directory)."""
    return Catalog(Path(root))


def truth_dir_for(raw_dir: Path) -> Path:
    """The truth folder kept apart from a raw export folder: ``<raw_dir>/../truth``."""
    return raw_dir.parent / "truth"


def registered_file_for(models_dir: Path) -> Path:
    """The registry record beside a models folder: ``<models_dir>/../registry/registered.json``."""
    return Path(models_dir).parent / "registry" / "registered.json"


def dictionary_path_for(features_file: Path) -> Path:
    """The feature dictionary lives beside the feature table."""
    return features_file.parent / "dictionary.json"


def quarantine_dir_for(validated_dir: Path) -> Path:
    """Quarantine tables live beside the validated folder: ``<validated>/../quarantine``."""
    return validated_dir.parent / "quarantine"
