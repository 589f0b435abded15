"""The profile model: which rules apply, at what severity, and each drug's policy.

A :class:`Profile` is immutable.  The built-in defaults (:data:`DEFAULT`) are
CMS Part B policy; XML profiles (:mod:`scrubber.profiles.loader`) are layered
on top of them.  Every payer-policy field of :class:`DrugPolicy` defaults to
"no policy", so a rule that reads it stays silent under the defaults.
"""
from __future__ import annotations

import re
from decimal import Decimal
from typing import NamedTuple

from ..record import Frozen, ValueEq, set_field

SAME_DATE_POLICIES = ("report", "merge", "modifier", "allow")
PRIOR_AUTH_LEVELS = ("none", "any", "claim", "line")

_DX = re.compile(r"[A-Z][0-9][0-9A-Z][0-9A-Z]{0,4}\Z")


def normalize_dx(code: str) -> str:
    """An ICD-10 code as sent in HI (no dot, upper case)."""
    return code.replace(".", "").strip().upper()


class DxPattern(NamedTuple):
    """One entry of a diagnosis list: an exact code, a prefix (``C84.4x``)
    or an inclusive range (``C84.40-C84.49``), as written in the profile."""

    text: str

    @property
    def kind(self) -> str:
        if "-" in self.text:
            return "range"
        return "prefix" if self.text[-1:] in ("x", "X", "*") else "code"

    def bounds(self) -> tuple[str, str]:
        t = self.text
        if "-" in t:
            lo, hi = t.split("-", 1)
            return normalize_dx(lo), normalize_dx(hi)
        if t[-1:] in ("x", "X", "*"):
            p = normalize_dx(t[:-1])
            return p, p
        c = normalize_dx(t)
        return c, c

    def matches(self, code: str) -> bool:
        c = normalize_dx(code)
        lo, hi = self.bounds()
        kind = self.kind
        if kind == "code":
            return c == lo
        if kind == "prefix":
            return c.startswith(lo) and len(c) > len(lo)
        return lo <= c and c[: len(hi)] <= hi

    @classmethod
    def valid(cls, text: str) -> bool:
        p = cls(text)
        try:
            lo, hi = p.bounds()
        except ValueError:
            return False
        if p.kind == "prefix":
            return bool(re.fullmatch(r"[A-Z][0-9A-Z]{1,6}", lo))
        return bool(_DX.match(lo) and _DX.match(hi) and lo <= hi)


class DrugPolicy(NamedTuple):
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
    # -- payer policy (None / empty / False = no policy) ---------------------
    name: str = ""  # the drug's name, for messages
    max_units_line: Decimal | None = None
    max_units_day: Decimal | None = None
    max_doses: int | None = None  # doses (dates of service) ...
    window_days: int | None = None  # ... per rolling window of this many days
    min_days_between: int | None = None
    diagnoses: tuple[DxPattern, ...] = ()  # ICD-10 codes that support the drug; empty = not checked
    prior_auth: str = "none"  # none | any (claim or line REF*G1) | claim | line
    attachment_required: bool = False  # PWK (claim or line)
    attachment_types: tuple[str, ...] = ()  # PWK01 report types accepted; empty = any
    attachment_transmission: tuple[str, ...] = ()  # PWK02 codes accepted; empty = any
    attachment_what: str = ""  # what the attachment documents, for messages
    admin_codes: tuple[str, ...] = ()  # an administration code expected on the same date
    same_date: str = "report"  # same drug, NDC and date twice: report | merge | modifier | allow
    same_date_modifier: str = ""  # with same_date = modifier, e.g. XE
    sources: tuple[tuple[str, str], ...] = ()  # (field group, source text) as the profile cites them

    def supports(self, dx_codes) -> bool:
        return any(p.matches(c) for c in dx_codes for p in self.diagnoses)


class Match(NamedTuple):
    """A claim matches when every given attribute equals the claim's (an AND);
    a profile's matches are alternatives (an OR)."""

    payer_id: str = ""
    filing_indicator: str = ""
    line: int = 0  # where the profile says it (for messages; two profiles tie on the other two fields)

    @property
    def specificity(self) -> int:
        """Payer id and filing indicator (3) beat payer id (2) beat filing indicator (1)."""
        return (2 if self.payer_id else 0) + (1 if self.filing_indicator else 0)

    def matches(self, payer_id: str, filing_indicator: str) -> bool:
        if self.payer_id and self.payer_id != payer_id.strip():
            return False
        if self.filing_indicator and self.filing_indicator != filing_indicator.strip():
            return False
        return bool(self.payer_id or self.filing_indicator)

    def describe(self) -> str:
        parts = []
        if self.payer_id:
            parts.append(f"payer-id={self.payer_id}")
        if self.filing_indicator:
            parts.append(f"filing-indicator={self.filing_indicator}")
        return " and ".join(parts)


class Profile(Frozen, ValueEq):
    """Which rules apply, at what severity, and each drug's policy.  Immutable
    (:meth:`_replace` makes a changed copy); compared field by field."""

    __slots__ = ("name", "source", "enabled", "severities", "select", "ignore", "default_drug", "drugs", "options",
                 "drugs_by_ndc", "matches", "layers", "path", "description", "policy_fields")
    _hidden = ("policy_fields",)

    def __init__(self, name: str = "default", source: str = "built-in defaults (CMS Part B policy)",
                 enabled: dict[str, bool] | None = None, severities: dict[str, str] | None = None,
                 select: tuple[str, ...] = (), ignore: tuple[str, ...] = (), default_drug: DrugPolicy = DrugPolicy(),
                 drugs: dict[str, DrugPolicy] | None = None, options: dict[str, dict[str, str]] | None = None,
                 drugs_by_ndc: dict[tuple[str, str], DrugPolicy] | None = None, matches: tuple[Match, ...] = (),
                 layers: tuple[str, ...] = (), path: str = "", description: str = "",
                 policy_fields: dict | None = None):
        set_field(self, "name", name)
        set_field(self, "source", source)
        set_field(self, "enabled", {} if enabled is None else enabled)  # rule code -> on/off
        set_field(self, "severities", {} if severities is None else severities)  # rule code -> severity
        set_field(self, "select", select)  # rule code prefixes; empty = all
        set_field(self, "ignore", ignore)
        set_field(self, "default_drug", default_drug)
        set_field(self, "drugs", {} if drugs is None else drugs)  # HCPCS -> policy
        # -- from XML profiles ---------------------------------------------------
        set_field(self, "options", {} if options is None else options)  # rule code -> option -> value
        set_field(self, "drugs_by_ndc", {} if drugs_by_ndc is None else drugs_by_ndc)  # (HCPCS, NDC11) -> policy
        set_field(self, "matches", matches)
        set_field(self, "layers", layers)  # where each layer came from, lowest first
        set_field(self, "path", path)  # the file this profile was read from ("" for the built-in defaults)
        set_field(self, "description", description)
        # explicit drug fields, for layering (not in repr)
        set_field(self, "policy_fields", {} if policy_fields is None else policy_fields)

    def drug(self, hcpcs: str, ndc: str | None = None) -> DrugPolicy:
        """The policy for a drug; an NDC-specific policy (e.g. a NOC code for
        one product) wins over the code's own."""
        if ndc and self.drugs_by_ndc:
            policy = self.drugs_by_ndc.get((hcpcs, ndc))
            if policy is not None:
                return policy
        return self.drugs.get(hcpcs, self.default_drug)

    def rule_enabled(self, code: str) -> bool:
        if code in self.select and code not in self.ignore:
            return True  # named exactly on the command line (the top layer)
        if self.select and not any(code.startswith(p) for p in self.select):
            return False
        if any(code.startswith(p) for p in self.ignore):
            return False
        return self.enabled.get(code, True)

    def severity(self, code: str, default: str) -> str:
        return self.severities.get(code, default)

    def option(self, code: str, name: str, default: str = "") -> str:
        return self.options.get(code, {}).get(name, default)

    def with_selection(self, select=(), ignore=()) -> "Profile":
        return self._replace(select=tuple(select) or self.select, ignore=self.ignore + tuple(ignore))

    def matches_claim(self, payer_id: str, filing_indicator: str) -> int:
        """The specificity of the best match (0 = no match)."""
        return max((m.specificity for m in self.matches if m.matches(payer_id, filing_indicator)), default=0)


DEFAULT = Profile(layers=("built-in defaults (CMS Part B policy)",))
