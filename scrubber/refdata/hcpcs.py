"""HCPCS drug codes: descriptor, billing unit, validity dates, what to bill instead.

The facts live in data/hcpcs_drugs.csv (or a user's file of the same layout).
"""
from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from .tables import RefDataError, TableSource, commented_table, parse_date, parse_decimal, parse_flag

COLUMNS = (
    "code", "descriptor", "short_descriptor", "unit_amount", "unit", "single_dose",
    "effective", "terminated", "noc", "drug", "bill_instead", "confirmed", "source", "note",
)
REQUIRED = ("code", "descriptor", "unit_amount", "unit", "noc")
HCPCS_CODE = re.compile(r"^[A-Z0-9]\d{3}[A-Z0-9]$")


class DrugCode(NamedTuple):
    code: str
    descriptor: str
    short_descriptor: str
    unit_amount: Decimal | None  # amount of drug in one billing unit (None for NOC)
    unit: str  # MG, MCG, G, ML, IU, UNITS, EA ... ("" for NOC)
    single_dose: bool | None  # None = not known
    effective: date | None  # first valid day; None = not known
    terminated: date | None  # last valid day; None = still valid / not known
    noc: bool
    drug: str
    bill_instead: str
    confirmed: bool
    source: str
    note: str

    def is_valid_on(self, d: date) -> bool:
        """Whether the code may be billed for a service on `d` (inclusive dates)."""
        if self.effective is not None and d < self.effective:
            return False
        return self.terminated is None or d <= self.terminated

    @property
    def billing_unit(self) -> str:
        """The descriptor unit as text, e.g. '0.5 MG'; '' for NOC codes."""
        if self.unit_amount is None:
            return ""
        return f"{self.unit_amount} {self.unit}".strip()


def load_drug_codes(src: TableSource) -> dict[str, DrugCode]:
    """Read a drug code table (layout of data/hcpcs_drugs.csv), keyed by code."""
    name, records = commented_table(src, REQUIRED)
    codes: dict[str, DrugCode] = {}
    for rec in records:
        where = (name, rec.line)
        code = rec.get("code").upper()
        if not HCPCS_CODE.match(code):
            raise RefDataError(*where, f"code {code!r} is not a 5-character HCPCS code")
        if code in codes:
            raise RefDataError(*where, f"code {code} appears twice")
        noc = parse_flag(rec.get("noc"), *where, "noc", blank=False)
        amount = parse_decimal(rec.get("unit_amount"), *where, "unit_amount")
        unit = rec.get("unit").upper()
        if not noc and (amount is None or amount <= 0 or not unit):
            raise RefDataError(*where, f"{code} is not NOC, so it needs a positive unit_amount and a unit")
        if (amount is None) != (not unit):
            raise RefDataError(*where, "unit_amount and unit go together (both or neither)")
        effective = parse_date(rec.get("effective"), *where, "effective")
        terminated = parse_date(rec.get("terminated"), *where, "terminated")
        if effective and terminated and terminated < effective:
            raise RefDataError(*where, f"terminated {terminated} is before effective {effective}")
        codes[code] = DrugCode(
            code=code,
            descriptor=rec.get("descriptor"),
            short_descriptor=rec.get("short_descriptor"),
            unit_amount=amount,
            unit=unit,
            single_dose=parse_flag(rec.get("single_dose"), *where, "single_dose", blank=None),
            effective=effective,
            terminated=terminated,
            noc=bool(noc),
            drug=rec.get("drug"),
            bill_instead=rec.get("bill_instead"),
            confirmed=bool(parse_flag(rec.get("confirmed"), *where, "confirmed", blank=False)),
            source=rec.get("source") or name,
            note=rec.get("note"),
        )
    return codes
