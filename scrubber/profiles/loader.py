"""Load XML payer profiles and layer them.

Layering, lowest first: the built-in defaults (:data:`DEFAULT`), then each
profile of the ``extends`` chain (a shipped name, or a path relative to the
extending file), then the profile itself; the command line's ``--select`` /
``--ignore`` go on top (:meth:`Profile.with_selection`).

A layer overrides single rules (on/off, severity, options) and single drug
fields.  A drug field set explicitly for a drug (at any layer) wins over a
``drug-defaults`` field (at any layer); otherwise the higher layer wins.
``match`` elements are not inherited: they belong to one file.
"""
from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

from ..deps import note_dir
from .model import DEFAULT, DrugPolicy, DxPattern, Match, Profile
from .xmlread import Document, ProfileError

SHIPPED_DIR = Path(__file__).with_name("shipped")
# The largest counts a <frequency> takes: a hundred years of days, a dose a
# day over them.
MAX_DAYS = 36_525
MAX_DOSES = MAX_DAYS
_POLICY_FIELDS = set(DrugPolicy._fields)


def shipped_names() -> list[str]:
    note_dir(SHIPPED_DIR)
    return sorted(p.stem for p in SHIPPED_DIR.glob("*.xml"))


def shipped_path(name: str) -> Path:
    return SHIPPED_DIR / f"{name}.xml"


def _is_file(path: Path) -> bool:
    """``path.is_file()``; when it is not, its folder is a dependency of the
    setup cache (the file appearing there later changes the answer).  A file
    that is there is recorded when it is read; its folder is not, so that
    other files written beside a profile (the run's output) leave the cache
    valid.  A path that cannot even be looked at (a folder on the way that
    may not be searched, a name too long) counts as there: reading it then
    says why it cannot be read (``Path.is_file`` raises for these)."""
    try:
        if path.is_file():
            return True
    except OSError:
        return True
    note_dir(path.parent)
    return False


def _resolved(path: Path) -> Path:
    """The path with its links followed; as given when they loop (Python
    3.11 raises RuntimeError there; reading the file then says why)."""
    try:
        return path.resolve()
    except (RuntimeError, OSError):
        return path


def _not_a_file(path: Path) -> str:
    """Why a profile path that is not a file cannot be used."""
    return "a folder, not a profile file" if path.is_dir() else "no such profile file"


def is_path(ref: str) -> bool:
    return ref.endswith(".xml") or os.sep in ref or "/" in ref


def _display(path: Path) -> str:
    """A path as the user would write it (relative to the working folder if under it)."""
    if not path.is_absolute():
        return str(path)
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive
        return str(path)
    return str(path) if rel.startswith("..") else rel


def resolve(ref: str, base_dir: Path | None = None) -> Path:
    """A profile reference: a shipped name, or a path (relative to ``base_dir``)."""
    p = Path(ref)
    if not p.is_absolute() and base_dir is not None:
        p = base_dir / p
    if is_path(ref):
        return p
    if ref in shipped_names():
        return shipped_path(ref)
    if _is_file(p):  # a file name without .xml
        return p
    raise KeyError(ref)


def load_profile(ref: str) -> Profile:
    """A fully layered profile from a shipped name or a path."""
    try:
        path = resolve(ref)
    except KeyError:
        raise ProfileError(ref, 1, 1, f"no shipped profile named {ref!r} (shipped: {', '.join(shipped_names())}; "
                                      "or give a path to an .xml file)") from None
    if not _is_file(path):
        raise ProfileError(_display(path), 1, 1, _not_a_file(path))
    return load_file(path)


def load_file(path: Path, _chain: tuple[Path, ...] = ()) -> Profile:
    path = Path(path)
    doc = Document(path, _display(path))  # (a loop of symbolic links is refused here, as unreadable)
    real = _resolved(path)
    root = doc.root
    parent = DEFAULT
    ext = root.get("extends")
    if ext:
        try:
            target = resolve(ext, path.parent)
        except KeyError:
            raise doc.error(root, f"extends {ext!r}: no shipped profile of that name "
                                  f"(shipped: {', '.join(shipped_names())}; or a path to an .xml file)",
                            "extends") from None
        if _resolved(target) == real or _resolved(target) in _chain:
            raise doc.error(root, f"extends {ext!r}: the chain of extends comes back to this file", "extends")
        if not _is_file(target):
            raise doc.error(root, f"extends {ext!r}: {_not_a_file(target)} {target}", "extends")
        parent = load_file(target, _chain + (real,))
    return _Layer(doc, parent).build()


class _Layer:
    """One document applied on top of its parent profile."""

    def __init__(self, doc: Document, parent: Profile):
        self.doc = doc
        self.parent = parent

    def build(self) -> Profile:
        from ..rules import RULES  # late: the rules import this package

        root = self.doc.root
        enabled = dict(self.parent.enabled)
        severities = dict(self.parent.severities)
        options = {k: dict(v) for k, v in self.parent.options.items()}
        for el in _children(root, "rules"):
            for rule in _children(el, "rule"):
                self._rule(rule, RULES, enabled, severities, options)
        policy_fields = {k: dict(v) for k, v in _policy_fields(self.parent).items()}
        for el in _children(root, "drug-defaults"):
            policy_fields.setdefault("*", {}).update(self._policy(el))
        seen: dict = {}
        for el in _children(root, "drug"):
            key = (el.get("hcpcs"), el.get("ndc")) if el.get("ndc") else el.get("hcpcs")
            if key in seen:
                raise self.doc.error(el, f"drug {_key_text(key)} is given twice (first on line {seen[key]})")
            seen[key] = el.sourceline
            found = self._policy(el)
            if el.get("name"):
                found["name"] = el.get("name")
            if el.get("source"):
                found["@drug"] = el.get("source") + (" (unconfirmed)" if _false(el.get("confirmed")) else "")
            policy_fields.setdefault(key, {}).update(found)
        default_drug, drugs, by_ndc = _resolve(policy_fields)
        text = lambda tag: " ".join(" ".join((e.text or "").split()) for e in _children(root, tag))  # noqa: E731
        matches = []
        for el in _children(root, "match"):
            if not (el.get("payer-id") or el.get("filing-indicator")):
                raise self.doc.error(el, "a match needs payer-id, filing-indicator or both")
            matches.append(Match(el.get("payer-id", "").strip(), el.get("filing-indicator", ""), el.sourceline))
        layer = f"{root.get('name')} ({self.doc.display})"
        return Profile(
            name=root.get("name"), source=text("source") or self.doc.display,
            enabled=enabled, severities=severities, default_drug=default_drug, drugs=drugs,
            options=options, drugs_by_ndc=by_ndc, matches=tuple(matches),
            layers=self.parent.layers + (layer,), path=self.doc.display, description=text("description"),
            policy_fields=policy_fields,
        )

    # -- rules ------------------------------------------------------------------
    def _rule(self, el, rules, enabled, severities, options) -> None:
        from ..pipeline import NOTICES
        from ..x12.envelope import CHECKS

        code = el.get("code")
        rule = rules.get(code)
        if rule is None and code not in CHECKS and code not in NOTICES and not _is_ig_check(code):
            raise self.doc.error(el, f"rule {code}: no such rule (see `scrubber rules`)", "code")
        if el.get("enabled") is not None:
            if rule is None:
                raise self.doc.error(el, f"{code} is a check of the envelope or the run, not a rule: only its "
                                         "severity can be changed", "enabled")
            enabled[code] = _true(el.get("enabled"))
        if el.get("severity"):
            severities[code] = el.get("severity")
        declared = getattr(rule, "options", None) or {}
        for opt in _children(el, "option"):
            name, value = opt.get("name"), opt.get("value")
            if name not in declared:
                known = ", ".join(sorted(declared)) or "none"
                raise self.doc.error(opt, f"rule {code}: no option {name!r} (its options: {known})", "name")
            choices = declared[name][0]
            if choices and value not in choices:
                raise self.doc.error(opt, f"rule {code}, option {name!r}: {value!r} is not one of "
                                          f"{', '.join(choices)}", "value")
            options.setdefault(code, {})[name] = value

    # -- drug policy -----------------------------------------------------------
    def _policy(self, el) -> dict:
        """The DrugPolicy fields an element sets explicitly (plus '@group' provenance)."""
        out: dict = {}
        seen: dict[str, int] = {}
        for child in el:
            if not isinstance(child.tag, str):
                continue
            tag = child.tag
            if tag in seen:
                raise self.doc.error(child, f"<{tag}> is given twice in one drug (first on line {seen[tag]})")
            seen[tag] = child.sourceline
            getattr(self, "_el_" + tag.replace("-", "_"))(child, out)
            if child.get("source") or _false(child.get("confirmed")):
                src = child.get("source") or "no source given"
                out["@" + tag] = src + (" (unconfirmed)" if _false(child.get("confirmed")) else "")
        return out

    def _el_ndc(self, el, out):
        _bool(el, "required", out, "ndc_required")
        if el.get("units") is not None:
            out["accepted_units"] = tuple(el.get("units").split())

    def _el_jw_jz(self, el, out):
        if el.get("policy"):
            out["jw_jz"] = el.get("policy")
        _bool(el, "waste-billable", out, "waste_billable")
        if el.get("exempt-facilities") is not None:
            out["jw_jz_exempt_facilities"] = tuple(el.get("exempt-facilities").split())

    def _el_units(self, el, out):
        if el.get("truth"):
            out["units_source"] = el.get("truth")
        for attr, name in (("max-per-line", "max_units_line"), ("max-per-day", "max_units_day")):
            if el.get(attr):
                out[name] = Decimal(el.get(attr))

    def _el_frequency(self, el, out):
        doses, window = el.get("max-doses"), el.get("window-days")
        if bool(doses) != bool(window):
            raise self.doc.error(el, "frequency: max-doses and window-days go together",
                                 "max-doses" if doses else "window-days")
        if doses:
            out["max_doses"] = self._count(el, "max-doses", MAX_DOSES)
            out["window_days"] = self._count(el, "window-days", MAX_DAYS)
        if el.get("min-days-between"):
            out["min_days_between"] = self._count(el, "min-days-between", MAX_DAYS)

    def _count(self, el, attr: str, limit: int) -> int:
        """A positive integer attribute (the schema checked its form) of at
        most ``limit``: a window of days must stay within the calendar's
        dates (the rules count back and forward from a date of service), and
        Python refuses to convert an integer of more than 4300 digits."""
        text = el.get(attr).strip()
        digits = text.lstrip("+0") or "0"
        value = int(digits) if len(digits) <= len(str(limit)) else limit + 1
        if value > limit:
            raise self.doc.error(el, f"{attr}: {text[:20]}{'...' if len(text) > 20 else ''} is more than "
                                     f"the largest allowed, {limit}", attr)
        return value

    def _el_diagnoses(self, el, out):
        found = []
        for dx in _children(el, "dx"):
            text = (dx.text or "").strip()
            if not DxPattern.valid(text):
                raise self.doc.error(dx, f"diagnosis {text!r} is not an ICD-10 code, prefix (C84.4x) or range "
                                         "(C84.40-C84.49, low to high)")
            found.append(DxPattern(text))
        out["diagnoses"] = tuple(found)

    def _el_prior_auth(self, el, out):
        out["prior_auth"] = (el.get("level") or "any") if _true(el.get("required")) else "none"

    def _el_attachment(self, el, out):
        _bool(el, "required", out, "attachment_required")
        for attr, name in (("types", "attachment_types"), ("transmission", "attachment_transmission")):
            if el.get(attr) is not None:
                out[name] = tuple(el.get(attr).split())
        if el.get("what") is not None:
            out["attachment_what"] = el.get("what")

    def _el_administration(self, el, out):
        out["admin_codes"] = tuple(el.get("codes").split())

    def _el_same_date(self, el, out):
        policy, mod = el.get("policy"), el.get("modifier", "")
        if policy == "modifier" and not mod:
            raise self.doc.error(el, "same-date policy 'modifier' needs modifier=\"..\" (e.g. XE)", "policy")
        out["same_date"], out["same_date_modifier"] = policy, mod

    def _el_revenue_codes(self, el, out):
        codes = tuple(el.get("codes").split())
        bad = [c for c in codes if not (len(c) == 4 and c.isdigit())]
        if bad:
            raise self.doc.error(el, f"revenue code {bad[0]!r} is not 4 digits", "codes")
        out["revenue_codes"] = codes


def _children(el, tag: str):
    return [c for c in el if isinstance(c.tag, str) and c.tag == tag]


def _bool(el, attr: str, out: dict, name: str) -> None:
    v = el.get(attr)
    if v is not None:
        out[name] = _true(v)


def _true(value: str | None) -> bool:
    """An xs:boolean that is true.  The schema collapses whitespace first
    (``required=" true "`` is valid), so the loader must too."""
    return value is not None and value.strip() in ("true", "1")


def _false(value: str | None) -> bool:
    return value is not None and value.strip() in ("false", "0")


def _key_text(key) -> str:
    return f"{key[0]} NDC {key[1]}" if isinstance(key, tuple) else key


def _policy_fields(profile: Profile) -> dict:
    return getattr(profile, "policy_fields", None) or {}


def _make(values: dict) -> DrugPolicy:
    kw = {k: v for k, v in values.items() if k in _POLICY_FIELDS}
    sources = tuple((k[1:], v) for k, v in values.items() if k.startswith("@"))
    return DrugPolicy(**kw, sources=sources)


def _resolve(policy_fields: dict) -> tuple[DrugPolicy, dict, dict]:
    """The layered policies: a drug's own fields over the defaults; an
    NDC-specific drug over its code's own fields."""
    base = policy_fields.get("*", {})
    drugs, by_ndc = {}, {}
    for key, values in policy_fields.items():
        if key == "*":
            continue
        if isinstance(key, tuple):
            by_ndc[key] = _make({**base, **policy_fields.get(key[0], {}), **values})
        else:
            drugs[key] = _make({**base, **values})
    return _make(base), drugs, by_ndc


def _is_ig_check(code: str) -> bool:
    """An IG code of the pyx12 validation (imported only when a profile
    names a code that is no rule: the validation package is heavy)."""
    from ..validate.codes import CHECKS as IG_CHECKS

    return code in IG_CHECKS
