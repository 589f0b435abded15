"""Show a layered profile: as a dict (JSON) or as readable text.

Used by ``scrubber profiles`` and ``scrubber profiles check``.
"""
from __future__ import annotations

from decimal import Decimal

from .model import DrugPolicy, Profile

_LABELS = {
    "ndc_required": "NDC required",
    "accepted_units": "NDC units accepted (CTP05)",
    "jw_jz": "JW/JZ policy",
    "jw_jz_exempt_facilities": "JW/JZ not on 837I facility types",
    "waste_billable": "waste billable on a JW line",
    "units_source": "units: source of truth",
    "revenue_codes": "837I revenue codes",
    "name": "name",
    "max_units_line": "max units per line",
    "max_units_day": "max units per day",
    "max_doses": "max doses",
    "window_days": "per window of days",
    "min_days_between": "min days between doses",
    "diagnoses": "supporting diagnoses",
    "prior_auth": "prior authorization (REF*G1)",
    "attachment_required": "attachment required (PWK)",
    "attachment_types": "attachment report types (PWK01)",
    "attachment_transmission": "attachment sent as (PWK02)",
    "attachment_what": "attachment documents",
    "admin_codes": "administration code on the same date",
    "same_date": "same drug, NDC and date twice",
    "same_date_modifier": "modifier for a repeat",
}


def _plain(value):
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, tuple):
        return [getattr(v, "text", v) for v in value]
    return value


def policy_dict(policy: DrugPolicy) -> dict:
    out = {name: _plain(getattr(policy, name)) for name in DrugPolicy._fields if name != "sources"}
    out["sources"] = {group: text for group, text in policy.sources}
    return out


def rule_rows(profile: Profile) -> list[dict]:
    """Every rule and check with its effective state under the profile."""
    from ..rules import RULES
    from ..x12.envelope import CHECKS

    rows = []
    for r in RULES:
        rows.append(dict(code=r.code, name=r.name, enabled=profile.rule_enabled(r.code),
                         severity=profile.severity(r.code, r.severity), default_severity=r.severity,
                         options={k: profile.option(r.code, k, spec[1]) for k, spec in _options(r).items()},
                         default_options={k: spec[1] for k, spec in _options(r).items()}))
    for c in CHECKS.values():
        rows.append(dict(code=c.code, name=c.name, enabled=True, severity=profile.severity(c.code, c.severity),
                         default_severity=c.severity, options={}, default_options={}))
    return sorted(rows, key=lambda r: r["code"])


def _options(rule) -> dict:
    return getattr(rule, "options", None) or {}


def profile_dict(profile: Profile) -> dict:
    drugs = {code: policy_dict(p) for code, p in sorted(profile.drugs.items())}
    for (code, ndc), p in sorted(profile.drugs_by_ndc.items()):
        drugs[f"{code} NDC {ndc}"] = policy_dict(p)
    return {
        "name": profile.name,
        "description": profile.description,
        "source": profile.source,
        "path": profile.path,
        "layers": list(profile.layers),
        "matches": [dict(payer_id=m.payer_id, filing_indicator=m.filing_indicator) for m in profile.matches],
        "select": list(profile.select),
        "ignore": list(profile.ignore),
        "rules": rule_rows(profile),
        "drug_defaults": policy_dict(profile.default_drug),
        "drugs": drugs,
    }


def _show(value) -> str:
    value = _plain(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return " ".join(value) if value else "(any)"
    if value is None or value == "":
        return "-"
    return str(value)


def profile_text(profile: Profile) -> list[str]:
    d = profile_dict(profile)
    out = [f"profile {d['name']}" + (f"  ({d['path']})" if d["path"] else "")]
    if d["description"]:
        out.append(f"  {d['description']}")
    out.append(f"  source: {d['source']}")
    out.append("  layers, lowest first: " + " < ".join(d["layers"] + (["command line"] if d["select"] or d["ignore"]
                                                                          else [])))
    out.append("  matches: " + ("; ".join(m.describe() for m in profile.matches) or "none (forced or fallback only)"))
    out.append("rules (changed from the built-in defaults; every other rule is on at its default severity):")
    changed = [r for r in d["rules"] if not r["enabled"] or r["severity"] != r["default_severity"]
               or r["options"] != r["default_options"]]
    for r in changed:
        state = "on " if r["enabled"] else "off"
        sev = r["severity"] + ("" if r["severity"] == r["default_severity"] else f" (default {r['default_severity']})")
        opts = " ".join(f"{k}={v}" for k, v in r["options"].items())
        out.append(f"  {r['code']:<7} {state} {sev}" + (f"  {opts}" if opts else ""))
    if not changed:
        out.append("  (none)")
    base = d["drug_defaults"]
    out.append("drug defaults:")
    out += [f"  {_LABELS[k]}: {_show(v)}" for k, v in base.items() if k in _LABELS and k != "name"]
    for key, pol in d["drugs"].items():
        out.append(f"drug {key}" + (f" ({pol['name']})" if pol["name"] else "") + ":")
        diff = [k for k, v in pol.items() if k in _LABELS and k != "name" and v != base.get(k)]
        out += [f"  {_LABELS[k]}: {_show(pol[k])}" for k in diff] or ["  (as the drug defaults)"]
        for group, text in pol["sources"].items():
            if text != base["sources"].get(group):
                out.append(f"  source ({group}): {text}")
    return out


def listing(profiles: list[Profile]) -> list[str]:
    """One line a profile: name, what it extends, what it matches, its description."""
    out = []
    for p in profiles:
        parent = p.layers[-2].split(" ", 1)[0] if len(p.layers) > 1 else "-"
        matches = "; ".join(m.describe() for m in p.matches) or "-"
        out.append(f"{p.name:<12} extends {parent:<10} matches {matches:<28} {p.description}")
    return out
