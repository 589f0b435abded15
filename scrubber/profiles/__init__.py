"""Payer profiles: which rules apply, at what severity, and each drug's policy.

This module holds the profile model and the built-in defaults (CMS Part B
policy).  Loading XML profiles with ``extends`` layering builds on it.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class DrugPolicy:
    """A payer's policy for one drug (or the default for every drug)."""

    ndc_required: bool = False  # a drug line without an NDC is an error (else a warning)
    accepted_units: tuple[str, ...] = ("F2", "GR", "ME", "ML", "UN")  # CTP05-1 values accepted
    jw_jz: str = "cms"  # "cms": JW/JZ required on single-dose drugs; "none": not used
    # 837I facility types (bill type digits 1-2) where JW/JZ do not apply: inpatient (11),
    # rural health clinic (71), FQHC (77).  Source: CMS JW/JZ policy FAQ (domain.md section 5).
    jw_jz_exempt_facilities: tuple[str, ...] = ("11", "71", "77")
    waste_billable: bool = True  # undocumented waste is split onto a JW line
    units_source: str = "ndc"  # "ndc": CTP04 is the truth; "billed": SV104/SV205 is
    revenue_codes: tuple[str, ...] = ("0636",)  # 837I revenue codes for coded drugs


@dataclass(frozen=True)
class Profile:
    name: str = "default"
    source: str = "built-in defaults (CMS Part B policy)"
    enabled: dict[str, bool] = field(default_factory=dict)  # rule code -> on/off
    severities: dict[str, str] = field(default_factory=dict)  # rule code -> severity
    select: tuple[str, ...] = ()  # rule code prefixes; empty = all
    ignore: tuple[str, ...] = ()
    default_drug: DrugPolicy = DrugPolicy()
    drugs: dict[str, DrugPolicy] = field(default_factory=dict)  # HCPCS -> policy

    def drug(self, hcpcs: str) -> DrugPolicy:
        return self.drugs.get(hcpcs, self.default_drug)

    def rule_enabled(self, code: str) -> bool:
        if self.select and not any(code.startswith(p) for p in self.select):
            return False
        if any(code.startswith(p) for p in self.ignore):
            return False
        return self.enabled.get(code, True)

    def severity(self, code: str, default: str) -> str:
        return self.severities.get(code, default)

    def with_selection(self, select=(), ignore=()) -> "Profile":
        return replace(self, select=tuple(select) or self.select, ignore=self.ignore + tuple(ignore))


DEFAULT = Profile()
