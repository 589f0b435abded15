"""Payer-policy rules: what one payer (not CMS) wants for a drug.

Each rule reads the drug's policy from the profile that judges the claim
(``ctx.profile.drug(code, ndc)``) and is silent when the profile sets no such
policy, as the built-in defaults do.  None of them is fixed: prior
authorization numbers, attachments, diagnoses and doses are facts only the
provider has.

The frequency rules (POL006, POL007), which look across the claims of one
patient, are in :mod:`.frequency`.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from ...claims.model import Ref
from ...findings import WARNING
from ..base import Issue, Rule, register
from ..drug import claim_facts, x12_decimal


def _policy(f, ctx):
    return ctx.profile.drug(f.code, f.ndc11)


def _drug_lines(claim, ctx):
    """(facts, policy) of every service line with a procedure code (read once per claim and profile)."""
    key = ("policy lines", id(ctx.profile))
    found = claim.cache.get(key)
    if found is None:
        found = claim.cache[key] = [(f, _policy(f, ctx)) for f in claim_facts(claim, ctx.refdata)
                                    if f.code and f.line.service is not None]
    return found


def _label(f, policy) -> str:
    name = policy.name or (f.drug.descriptor if f.drug is not None else "")
    return f"{f.code} ({name})" if name else f.code


def _dotted(code: str) -> str:
    return code if len(code) <= 3 or "." in code else f"{code[:3]}.{code[3:]}"


def _day(d: date | None) -> str:
    return d.isoformat() if d else "(no date)"


@register
class DiagnosisSupportsDrug(Rule):
    """A drug line points to a diagnosis that the payer accepts for the drug.

    Bad:  ``SV1*HC:J9307*...***1`` with ``HI*ABK:I10`` (hypertension only)
    Good: ``SV1*HC:J9307*...***1`` with ``HI*ABK:C8440`` (PTCL, in the
    profile's pralatrexate list)
    837P: the diagnoses the line's SV107 pointers name; 837I (no pointers):
    the claim's HI codes.  Option ``scope="claim"`` checks the claim's HI codes
    on 837P too.  Only where the profile lists the drug's diagnoses.
    Prevents CO-11 / CO-50.
    """

    code = "POL001"
    policy_fields = ('diagnoses',)
    name = "diagnosis-supports-drug"
    options = {"scope": (("line", "claim"), "line", "line: the SV107 pointers; claim: any HI code")}

    def check(self, claim, ctx):
        scope = ctx.profile.option(self.code, "scope", "line")
        for f, policy in _drug_lines(claim, ctx):
            if not policy.diagnoses:
                continue
            by_line = scope == "line" and f.line.kind == "837P"
            codes = f.line.dx_codes if by_line else claim.diagnoses
            if policy.supports(codes):
                continue
            listed = ", ".join(p.text for p in policy.diagnoses[:8]) + (", ..." if len(policy.diagnoses) > 8 else "")
            where = "the line's diagnosis pointers (SV107) name" if by_line else "the claim's diagnoses are"
            have = ", ".join(_dotted(c) for c in codes) or "none"
            yield Issue(f"{_label(f, policy)}: {where} {have}; the payer covers the drug only for {listed}",
                        ref=Ref(f.line.service, 7) if by_line else f.line.code.ref, line=f.line,
                        original=" ".join(codes))


@register
class PriorAuthorization(Rule):
    """A drug that needs prior authorization carries its number (REF*G1).

    Bad:  a claim with ``SV1*HC:J9307*...`` and no ``REF*G1`` (claim, 2300,
    or line, 2400)
    Good: ``REF*G1*PA20260301`` in loop 2300 (or in the line's 2400)
    The profile says whether the number may be at claim level, line level or
    either.  Only where the profile requires prior authorization for the drug.
    """

    code = "POL002"
    policy_fields = ('prior_auth',)
    name = "prior-authorization"

    def check(self, claim, ctx):
        claim_pa = any(v.text.strip() for v in claim.prior_auth)
        for f, policy in _drug_lines(claim, ctx):
            level = policy.prior_auth
            if level == "none":
                continue
            g1 = f.line.line_refs.get("G1")
            line_pa = g1 is not None and bool(g1.text.strip())
            ok = {"any": claim_pa or line_pa, "claim": claim_pa, "line": line_pa}.get(level, True)
            if ok:
                continue
            where = {"any": "in loop 2300 or on the line (2400)", "claim": "in loop 2300",
                     "line": "on the line (loop 2400)"}[level]
            yield Issue(f"{_label(f, policy)} needs a prior authorization number (REF*G1 {where}) and there "
                        "is none", ref=f.line.code.ref, line=f.line)


def _attachments(claim, line) -> list:
    """PWK segments of the claim (2300) and of the line (2400, before its 2410)."""
    found = list(claim.attachments)
    for seg in line.segments:
        if seg is line.lin:
            break
        if seg.tag == "PWK":
            found.append(seg)
    return found


@register
class AttachmentRequired(Rule):
    """A drug that needs documentation has an attachment (PWK).

    Bad:  a belantamab line with no ``PWK`` segment (the payer wants the eye
    exam before each dose documented)
    Good: ``PWK*09*EL***AC*EYEEXAM0302`` in loop 2300 or on the line
    The profile may restrict the report type (PWK01) and how it is sent
    (PWK02).  Only where the profile requires an attachment for the drug.
    """

    code = "POL003"
    policy_fields = ('attachment_required',)
    name = "attachment-required"

    def check(self, claim, ctx):
        for f, policy in _drug_lines(claim, ctx):
            if not policy.attachment_required:
                continue
            found = [s for s in _attachments(claim, f.line)
                     if (not policy.attachment_types or s.element(1) in policy.attachment_types)
                     and (not policy.attachment_transmission or s.element(2) in policy.attachment_transmission)]
            if found:
                continue
            what = f": {policy.attachment_what};" if policy.attachment_what else ":"
            kinds = []
            if policy.attachment_types:
                kinds.append(f"report type {'/'.join(policy.attachment_types)}")
            if policy.attachment_transmission:
                kinds.append(f"sent {'/'.join(policy.attachment_transmission)}")
            yield Issue(f"{_label(f, policy)} needs an attachment{what} no PWK"
                        + (f" with {' and '.join(kinds)}" if kinds else "") + " on the claim or the line",
                        ref=f.line.code.ref, line=f.line)


@register
class MaxUnitsPerLine(Rule):
    """A drug line bills no more units than the payer's cap per line.

    Bad:  ``SV1*HC:J9307*...*UN*100`` where the profile caps J9307 at 80 a line
    Good: ``SV1*HC:J9307*...*UN*60``
    Only where the profile sets ``max-per-line``.  Not fixed: the dose is the
    provider's.
    """

    code = "POL004"
    policy_fields = ('max_units_line',)
    name = "max-units-per-line"

    def check(self, claim, ctx):
        for f, policy in _drug_lines(claim, ctx):
            cap = policy.max_units_line
            if cap is None or f.billed is None or f.billed <= cap:
                continue
            yield Issue(f"{x12_decimal(f.billed)} units of {_label(f, policy)} on one line; the payer allows "
                        f"at most {x12_decimal(cap)}", ref=f.line.units.ref, line=f.line, original=f.line.units.text)


@register
class MaxUnitsPerDay(Rule):
    """The units of a drug on one date, summed over the claim's lines, stay under the payer's daily cap.

    Bad:  ``SV1*HC:J9307*...*UN*60`` and ``SV1*HC:J9307*...*UN*40`` on 2026-03-02,
    where the profile caps J9307 at 80 a day
    Good: 60 + 17 units, and a JW line of 3 (80 in all)
    JW (discarded) units count, as they are billed; option
    ``include-waste="false"`` leaves them out.  Only where the profile sets
    ``max-per-day``.
    """

    code = "POL005"
    policy_fields = ('max_units_day',)
    name = "max-units-per-day"
    options = {"include-waste": (("true", "false"), "true", "count the units on JW lines")}

    def check(self, claim, ctx):
        waste = ctx.profile.option(self.code, "include-waste", "true") == "true"
        groups: dict[tuple, list] = {}
        for f, policy in _drug_lines(claim, ctx):
            if policy.max_units_day is None or f.billed is None or (f.is_jw and not waste):
                continue
            groups.setdefault((f.code, f.line.service_date), []).append((f, policy))
        for (_, day), members in groups.items():
            cap = members[0][1].max_units_day
            total = sum((f.billed for f, _ in members), Decimal(0))
            if total <= cap:
                continue
            f, policy = members[-1]
            lines = ", ".join(m.line.received_number for m, _ in members)
            lines = f"line{'s' if len(members) > 1 else ''} {lines}"
            yield Issue(f"{x12_decimal(total)} units of {_label(f, policy)} on {_day(day)} ({lines}); the "
                        f"payer allows at most {x12_decimal(cap)} a day", ref=f.line.units.ref, line=f.line,
                        original=x12_decimal(total))


@register
class AdministrationCode(Rule):
    """A drug the payer bundles with its administration has the administration code on the same date.

    Bad:  ``SV1*HC:J9307*...`` on 2026-03-02 and no 96409 / 96413 line that day
    Good: ``SV1*HC:96409*250*UN*1`` on 2026-03-02 beside the drug line
    Only where the profile lists administration codes for the drug.  A
    warning: the administration may be billed on another claim.
    """

    code = "POL008"
    policy_fields = ('admin_codes',)
    name = "administration-code"
    severity = WARNING

    def check(self, claim, ctx):
        days: dict[date | None, set] = {}
        for line in claim.lines:
            days.setdefault(line.service_date, set()).add(line.code.text.strip().upper())
        done = set()
        for f, policy in _drug_lines(claim, ctx):
            if not policy.admin_codes or f.is_jw or (f.code, f.line.service_date) in done:
                continue
            done.add((f.code, f.line.service_date))
            if days.get(f.line.service_date, set()) & set(policy.admin_codes):
                continue
            yield Issue(f"{_label(f, policy)} on {_day(f.line.service_date)} without an administration code "
                        f"({' or '.join(policy.admin_codes)}) on the same date", ref=f.line.code.ref, line=f.line)


from . import frequency  # noqa: E402,F401  (POL006, POL007)
