"""Reference data for drug claim scrubbing: HCPCS drug codes, the NDC-HCPCS
crosswalk, NDC formats and unit conversion.

Facts live in data files (data/*.csv) with their sources; unconfirmed facts
are marked there.  `load_refdata()` gives the bundled data, with any user
crosswalks (the real quarterly CMS file, as downloaded) layered on top.
"""
from __future__ import annotations

import os
from types import MappingProxyType
from typing import Iterable, Mapping

from ..deps import memo
from .crosswalk import (
    CrosswalkEntry, CrosswalkNote, apply_crosswalk_notes, load_crosswalk, load_crosswalk_notes,
)
from .hcpcs import DrugCode, load_drug_codes
from .ndc import NdcForm, NdcResolution, normalize_ndc, resolve_ndc
from .tables import RefDataError, TableSource, bundled, source_name
from .units import (
    UnitConversionError, conversion_problem, convert_ndc_quantity, ndc_quantity_to_hcpcs_units,
    round_up_units, units_per_package,
)

__all__ = [
    "CrosswalkEntry", "CrosswalkNote", "DrugCode", "NdcForm", "NdcResolution", "RefData",
    "RefDataError", "UnitConversionError", "apply_crosswalk_notes", "conversion_problem",
    "convert_ndc_quantity", "load_crosswalk", "load_crosswalk_notes", "load_drug_codes",
    "load_refdata", "ndc_quantity_to_hcpcs_units", "normalize_ndc", "resolve_ndc",
    "round_up_units", "units_per_package",
]

CROSSWALK_FILE = "asp_crosswalk_excerpt.csv"
CROSSWALK_NOTES_FILE = "asp_crosswalk_excerpt.notes.csv"
DRUG_CODES_FILE = "hcpcs_drugs.csv"


class RefData:
    """Drug codes and crosswalk rows, indexed for lookup.  Immutable."""

    def __init__(self, entries: Iterable[CrosswalkEntry], drugs: Mapping[str, DrugCode]):
        by_key: dict[tuple[str, str], CrosswalkEntry] = {}
        for entry in entries:  # a later row with the same (NDC, HCPCS) wins
            by_key.pop(entry.key, None)
            by_key[entry.key] = entry
        self._entries = tuple(by_key.values())
        by_ndc: dict[str, list[CrosswalkEntry]] = {}
        by_code: dict[str, list[CrosswalkEntry]] = {}
        for entry in self._entries:
            if entry.ndc11 is not None:
                by_ndc.setdefault(entry.ndc11, []).append(entry)
            by_code.setdefault(entry.hcpcs, []).append(entry)
        self._by_ndc = {k: tuple(v) for k, v in by_ndc.items()}
        self._by_code = {k: tuple(v) for k, v in by_code.items()}
        self._drugs = MappingProxyType(dict(drugs))

    def __getstate__(self) -> dict:
        """Pickled with its indexes (the setup cache); the read-only view as a dict."""
        return {**self.__dict__, "_drugs": dict(self._drugs)}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state, _drugs=MappingProxyType(state["_drugs"]))

    @property
    def entries(self) -> tuple[CrosswalkEntry, ...]:
        return self._entries

    @property
    def drugs(self) -> Mapping[str, DrugCode]:
        return self._drugs

    def ndc_entries(self, ndc11: str) -> tuple[CrosswalkEntry, ...]:
        """Crosswalk rows for an 11-digit NDC (several when it maps to several codes)."""
        return self._by_ndc.get(ndc11, ())

    def knows_ndc(self, ndc11: str) -> bool:
        return ndc11 in self._by_ndc

    def entries_for_code(self, code: str) -> tuple[CrosswalkEntry, ...]:
        """Crosswalk rows billed under a HCPCS code (alternate-ID rows included)."""
        return self._by_code.get(code.strip().upper(), ())

    def drug(self, code: str) -> DrugCode | None:
        return self._drugs.get(code.strip().upper())

    def resolve_ndc(self, raw: str | None) -> NdcResolution:
        """resolve_ndc() against the NDCs this reference data knows."""
        return resolve_ndc(raw, self.knows_ndc)

    def layered(self, entries: Iterable[CrosswalkEntry] = (),
                drugs: Mapping[str, DrugCode] | None = None) -> "RefData":
        """A new RefData: these rows over this one's ((NDC, HCPCS) replaces),
        these drug codes over this one's (code replaces)."""
        merged = dict(self._drugs)
        merged.update(drugs or {})
        return RefData((*self._entries, *entries), merged)


@memo(maxsize=1)
def bundled_refdata() -> RefData:
    """The data shipped with the package, loaded once per process."""
    notes_file = bundled(CROSSWALK_NOTES_FILE)
    entries = apply_crosswalk_notes(
        load_crosswalk(bundled(CROSSWALK_FILE)),
        load_crosswalk_notes(notes_file),
        source_name(notes_file),
    )
    return RefData(entries, load_drug_codes(bundled(DRUG_CODES_FILE)))


@memo(maxsize=16)
def _user_crosswalk(path: str, _mtime_ns: int, _size: int) -> tuple[CrosswalkEntry, ...]:
    return tuple(load_crosswalk(path))


def _load_user_crosswalk(src: TableSource) -> tuple[CrosswalkEntry, ...]:
    if isinstance(src, (str, os.PathLike)):
        path = os.path.abspath(os.fspath(src))
        try:
            st = os.stat(path)
        except OSError as exc:
            raise RefDataError(os.fspath(src), None, f"cannot read file: {exc.strerror or exc}") from exc
        return _user_crosswalk(path, st.st_mtime_ns, st.st_size)  # cached while the file is unchanged
    return tuple(load_crosswalk(src))


def load_refdata(extra_crosswalks: Iterable[TableSource] = (),
                 extra_drug_codes: Iterable[TableSource] = ()) -> RefData:
    """Bundled reference data, then each user crosswalk (CMS ASP NDC-HCPCS CSV as
    published) layered on top in order: a user's row for the same (NDC, HCPCS)
    replaces the bundled one.  extra_drug_codes: tables in the layout of
    data/hcpcs_drugs.csv whose rows replace bundled codes."""
    base = bundled_refdata()
    crosswalks = tuple(extra_crosswalks)
    drug_tables = tuple(extra_drug_codes)
    if not crosswalks and not drug_tables:
        return base
    entries = [entry for src in crosswalks for entry in _load_user_crosswalk(src)]
    drugs: dict[str, DrugCode] = {}
    for src in drug_tables:
        drugs.update(load_drug_codes(src))
    return base.layered(entries, drugs)
