"""Frequency rules: doses of one drug for one patient, across the claims of the file.

A dose is a date with an administered (not JW) line of the drug.  The rules
record each claim's doses in ``ctx.state`` under a one-way hash of the
patient (payer id and member id), keyed by the claim's position so that a
re-check (while fixes settle) replaces, not adds.  While streaming, only the
earlier claims and the current one are known: the claim that goes over the
payer's limit is the one flagged.
"""
from __future__ import annotations

from datetime import date, timedelta

from ...findings import WARNING
from ..base import Issue, Rule, register
from . import _drug_lines, _label

_DOSES = "POL.doses"  # ctx.state key: patient hash -> HCPCS -> claim ordinal -> dates


def _patient(claim) -> str | None:
    """A one-way key for the patient (payer id and member id, or the patient
    key for a dependent); never printed."""
    c = claim.context
    who = c.patient_key or c.member_id
    if not (c.member_id and who):
        return None
    import hashlib  # here: only claims under a frequency limit need it

    return hashlib.sha256(f"{c.payer_id}\x1f{who}".encode("utf-8")).hexdigest()


def _doses(claim, ctx) -> dict[str, dict[int, set]] | None:
    """Record this claim's dose dates (replacing an earlier check of the same
    claim) and return every known dose of this patient: HCPCS -> claim
    ordinal -> dates.  Only earlier claims of the file and this one are known."""
    if "doses" in claim.cache:  # both frequency rules ask; the answer is the same
        return claim.cache["doses"]
    key = _patient(claim)
    if key is None:
        return None
    mine: dict[str, set] = {}
    for f, policy in _drug_lines(claim, ctx):
        if f.is_jw or f.line.service_date is None or (f.billed is not None and f.billed <= 0):
            continue
        if policy.max_doses or policy.min_days_between:
            mine.setdefault(f.code, set()).add(f.line.service_date)
    store = ctx.state.setdefault(_DOSES, {})
    patient = store.get(key)
    if patient is None:
        if not mine:  # no dose under a frequency policy: nothing to remember (memory stays flat)
            claim.cache["doses"] = None
            return None
        patient = store[key] = {}
    for by_claim in patient.values():
        by_claim.pop(claim.ordinal, None)
    for code, dates in mine.items():
        patient.setdefault(code, {})[claim.ordinal] = dates
    claim.cache["doses"] = patient
    return patient


def _first_line(claim, ctx, code: str, day: date):
    for f, policy in _drug_lines(claim, ctx):
        if f.code == code and f.line.service_date == day and not f.is_jw:
            return f, policy
    return None, None



def _claim_doses(claim, ctx, limit: str):
    """For each drug of this claim whose policy sets ``limit``: (code, this
    claim's dose days, the patient's other dose days, first line facts, policy)."""
    patient = _doses(claim, ctx)
    for code, by_claim in (patient or {}).items():
        mine = by_claim.get(claim.ordinal)
        if not mine:
            continue
        f, policy = _first_line(claim, ctx, code, min(mine))
        if policy is None or not getattr(policy, limit):
            continue
        others = set().union(*(d for o, d in by_claim.items() if o != claim.ordinal))
        yield code, mine, others, f, policy

@register
class DosesInWindow(Rule):
    """A patient gets no more doses of a drug in a rolling window than the payer allows.

    Bad:  a 7th weekly J9307 dose inside 49 days, where the profile allows 6
    per 49 days ("weekly x 6 doses in a 7-week cycle")
    Good: 6 weekly doses, a week's rest, then the next cycle
    A dose is a date with an administered (not JW) line.  Counted across the
    claims of the same patient (payer and member id) in the file, as far as
    they are read: the claim that goes over is flagged.
    """

    code = "POL006"
    policy_fields = ('max_doses',)
    name = "doses-in-window"

    def check(self, claim, ctx):
        for code, mine, others, f, policy in _claim_doses(claim, ctx, "max_doses"):
            n, w = policy.max_doses, policy.window_days
            every = sorted(mine | others)
            for day in sorted(mine):
                end = self._over(every, day, w, n, others)
                if end is None:
                    continue
                start = end - timedelta(days=w - 1)
                count = sum(1 for d in every if start <= d <= end)
                f, policy = _first_line(claim, ctx, code, day)
                yield Issue(f"the dose of {_label(f, policy)} on {day.isoformat()} makes {count} doses for this "
                            f"patient in the {w} days {start.isoformat()} to {end.isoformat()}; the payer allows "
                            f"{n} per {w} days", ref=f.line.service_date_value.ref or f.line.code.ref, line=f.line,
                            original=day.isoformat())
                break

    @staticmethod
    def _over(every: list[date], day: date, w: int, n: int, others: set) -> date | None:
        """The end of a window holding ``day`` with more than ``n`` doses: the
        window ending on ``day``, or one ending on a later dose of another claim."""
        def count(end):
            return sum(1 for d in every if end - timedelta(days=w - 1) <= d <= end)

        if count(day) > n:
            return day
        for end in every:
            if day < end <= day + timedelta(days=w - 1) and end in others and count(end) > n:
                return end
        return None


@register
class DosesTooClose(Rule):
    """Two doses of a drug for one patient are at least the payer's minimum days apart.

    Bad:  J9307 on 2026-03-02 and again on 2026-03-05 (weekly: 7 days apart)
    Good: 2026-03-02, then 2026-03-09
    Counted across the claims of the same patient in the file, as far as they
    are read.  A warning by default: a dose a day early may be allowed.
    """

    code = "POL007"
    policy_fields = ('min_days_between',)
    name = "doses-too-close"
    severity = WARNING

    def check(self, claim, ctx):
        for code, mine, others, f, policy in _claim_doses(claim, ctx, "min_days_between"):
            gap = policy.min_days_between
            for day in sorted(mine):
                near = sorted((abs((day - d).days), d) for d in (mine | others)
                              if d != day and (d < day or d in others - mine))
                if not near or near[0][0] >= gap:
                    continue
                days, other = near[0]
                f, policy = _first_line(claim, ctx, code, day)
                yield Issue(f"the dose of {_label(f, policy)} on {day.isoformat()} is {days} day(s) from the dose on "
                            f"{other.isoformat()}; the payer wants at least {gap} days between doses",
                            ref=f.line.service_date_value.ref or f.line.code.ref, line=f.line,
                            original=day.isoformat())
