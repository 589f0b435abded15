"""The CMS ASP NDC-HCPCS crosswalk, read as CMS publishes it.

The quarterly "Section 508" CSV is latin-1, has a few title lines above the
header row, heads its code column `_<YEAR>_CODE` and its NDC column `NDC2`
(some releases: `NDC`), writes numbers like "1,000", and holds a few alternate
IDs that are not NDCs.  One NDC may map to several HCPCS codes.
"""
from __future__ import annotations

import re
from decimal import Decimal
from typing import Iterable, NamedTuple

from .ndc import normalize_ndc
from .tables import (
    RefDataError, TableSource, commented_table, csv_rows, is_blank, parse_decimal, parse_flag,
    read_text, source_name,
)

HCPCS_CODE = re.compile(r"^[A-Z0-9]\d{3}[A-Z0-9]$")

# field -> predicate on the normalized header cell (upper case, no spaces/underscores)
_COLUMNS = {
    "hcpcs": lambda k: bool(re.fullmatch(r"\d{4}CODE|HCPCS|HCPCSCODE|HCPCSLEVELIICODE.*", k)),
    "ndc": lambda k: k in ("NDC2", "NDC", "NDC11"),
    "short_description": lambda k: k.startswith("SHORTDESC"),
    "labeler": lambda k: k.startswith("LABELER"),
    "drug_name": lambda k: k == "DRUGNAME",
    "hcpcs_dosage": lambda k: k in ("HCPCSDOSAGE", "HCPCSCODEDOSAGE", "DOSAGE"),
    "pkg_size": lambda k: k in ("PKGSIZE", "PACKAGESIZE"),
    "pkg_qty": lambda k: k in ("PKGQTY", "PACKAGEQTY", "PACKAGEQUANTITY"),
    "billunits": lambda k: k in ("BILLUNITS", "BILLUNIT"),
    "billunitspkg": lambda k: k in ("BILLUNITSPKG", "BILLUNITSPERPKG", "BILLUNITSPACKAGE"),
}
_NUMERIC = {"pkg_size": "PKG SIZE", "pkg_qty": "PKG QTY", "billunits": "BILLUNITS", "billunitspkg": "BILLUNITSPKG"}


class CrosswalkEntry(NamedTuple):
    """One crosswalk row: this NDC is billed under this HCPCS code."""

    hcpcs: str
    short_description: str
    labeler: str
    ndc11: str | None  # 11 digits, or None when the row holds an alternate ID
    ndc_raw: str  # the cell as written (e.g. 72893-0005-01)
    drug_name: str
    hcpcs_dosage: str  # e.g. "1 MG"; blank for NOC codes
    pkg_size: Decimal | None  # amount in one item (2 for a 2 mL vial)
    pkg_qty: Decimal | None  # items in the package
    billunits: Decimal | None  # HCPCS units in one item
    billunitspkg: Decimal | None  # HCPCS units in the whole package
    confirmed: bool
    source: str
    note: str

    @property
    def alternate_id(self) -> bool:
        """True when the row holds an ID that is not an 11-digit NDC."""
        return self.ndc11 is None

    @property
    def key(self) -> tuple[str, str]:
        """(NDC, HCPCS): a later crosswalk's row with the same key replaces this one."""
        ident = self.ndc11 or re.sub(r"[^0-9A-Za-z]", "", self.ndc_raw)
        return ident, self.hcpcs


def _header_key(cell: str) -> str:
    return re.sub(r"[\s_]+", "", cell).upper()


def _header_map(row: list[str]) -> dict[str, int] | None:
    """Column index per field when `row` is the header row, else None."""
    found: dict[str, int] = {}
    for index, cell in enumerate(row):
        key = _header_key(cell)
        for field, matches in _COLUMNS.items():
            if field not in found and matches(key):
                found[field] = index
                break
    return found if "hcpcs" in found and "ndc" in found else None


def load_crosswalk(
    src: TableSource,
    *,
    encoding: str | None = None,
    confirmed: bool = True,
    source: str | None = None,
) -> list[CrosswalkEntry]:
    """Read an ASP NDC-HCPCS crosswalk CSV in the CMS format.

    encoding=None: latin-1 (as CMS publishes), or UTF-8 when the file starts
    with a byte-order mark.  Rows are `confirmed` (a CMS file is a source);
    `source` defaults to "<file> line <n>".  Raises RefDataError on a bad file.
    """
    name = source_name(src)
    text = read_text(src, encoding)
    columns: dict[str, int] | None = None
    entries: list[CrosswalkEntry] = []
    for line, row in csv_rows(text, name):
        if is_blank(row):
            continue
        if columns is None:
            columns = _header_map(row)
            continue
        entry = _entry(row, columns, name, line, confirmed, source)
        if entry is not None:
            entries.append(entry)
    if columns is None:
        if not text.strip():
            raise RefDataError(name, None, "the file is empty")
        raise RefDataError(name, None, "no header row with a HCPCS code column (_<YEAR>_CODE) and an "
                                       "NDC2/NDC column: is this the ASP NDC-HCPCS crosswalk CSV?")
    return entries


def _entry(row: list[str], columns: dict[str, int], name: str, line: int,
           confirmed: bool, source: str | None) -> CrosswalkEntry | None:
    def cell(field: str) -> str:
        index = columns.get(field)
        return row[index].strip() if index is not None and index < len(row) else ""

    code = cell("hcpcs").upper()
    ndc_raw = cell("ndc")
    others = [cell(f) for f in columns if f not in ("hcpcs", "ndc")]
    if not ndc_raw and not HCPCS_CODE.match(code) and not any(others):
        return None  # a trailing note or total line, not a mapping
    if not HCPCS_CODE.match(code):
        raise RefDataError(name, line, f"HCPCS code {code!r} is not a 5-character code")
    numbers = {f: parse_decimal(cell(f), name, line, label) for f, label in _NUMERIC.items()}
    form = normalize_ndc(ndc_raw)
    if form.valid and not form.ambiguous:
        ndc11, note = form.candidates[0], ""
    else:
        why = "10 digits without hyphens are ambiguous" if form.ambiguous else form.reason
        ndc11, note = None, f"alternate ID, not an NDC ({why})"
    return CrosswalkEntry(
        hcpcs=code,
        short_description=cell("short_description"),
        labeler=cell("labeler"),
        ndc11=ndc11,
        ndc_raw=ndc_raw,
        drug_name=cell("drug_name"),
        hcpcs_dosage=cell("hcpcs_dosage"),
        confirmed=confirmed,
        source=source or f"{name} line {line}",
        note=note,
        **numbers,
    )


# --- provenance sidecar ----------------------------------------------------

class CrosswalkNote(NamedTuple):
    confirmed: bool
    source: str
    note: str


def load_crosswalk_notes(src: TableSource) -> dict[tuple[str, str], CrosswalkNote]:
    """Read a provenance sidecar (ndc, hcpcs, confirmed, source, note), keyed like
    CrosswalkEntry.key."""
    name, records = commented_table(src, ("ndc", "hcpcs", "confirmed", "source", "note"))
    notes: dict[tuple[str, str], CrosswalkNote] = {}
    for rec in records:
        form = normalize_ndc(rec.get("ndc"))
        if form.valid and not form.ambiguous:
            ident = form.candidates[0]
        else:
            ident = re.sub(r"[^0-9A-Za-z]", "", rec.get("ndc"))
        key = (ident, rec.get("hcpcs").upper())
        if key in notes:
            raise RefDataError(name, rec.line, f"a second note for NDC {key[0]} / {key[1]}")
        flag = parse_flag(rec.get("confirmed"), name, rec.line, "confirmed", blank=False)
        notes[key] = CrosswalkNote(bool(flag), rec.get("source"), rec.get("note"))
    return notes


def apply_crosswalk_notes(entries: Iterable[CrosswalkEntry],
                          notes: dict[tuple[str, str], CrosswalkNote],
                          notes_name: str = "notes") -> list[CrosswalkEntry]:
    """Merge provenance into crosswalk rows.  Every row needs a note and every
    note a row, so the excerpt and its sidecar cannot drift apart."""
    merged, used = [], set()
    for entry in entries:
        extra = notes.get(entry.key)
        if extra is None:
            raise RefDataError(notes_name, None, f"no provenance row for NDC {entry.key[0]} / {entry.hcpcs}")
        used.add(entry.key)
        text = "; ".join(t for t in (extra.note, entry.note) if t)
        merged.append(entry._replace(confirmed=extra.confirmed, source=extra.source, note=text))
    unused = sorted(set(notes) - used)
    if unused:
        raise RefDataError(notes_name, None, f"provenance for rows not in the crosswalk: {unused}")
    return merged
