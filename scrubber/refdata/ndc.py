"""NDC shapes: from what a user typed to the 11-digit 5-4-2 form of LIN03.

The segment layouts come from data/ndc_formats.csv, never from code, so the
2033 move to 12-digit NDCs is a data change.
"""
from __future__ import annotations

import re
from datetime import date
from typing import Callable, NamedTuple

from ..deps import memo
from .tables import RefDataError, TableSource, bundled, commented_table, parse_date, parse_flag

ROLES = ("source", "target", "future")
STATUSES = ("ok", "normalized", "ambiguous", "unknown", "invalid")


class NdcLayout(NamedTuple):
    """One hyphenated layout, e.g. 4-4-2 (a 10-digit label form)."""

    layout: str
    segments: tuple[int, ...]
    role: str  # source | target | future
    pad_segment: int | None  # 1-based segment that gets the leading 0 (source rows)
    valid_from: date | None
    confirmed: bool
    note: str

    @property
    def digits(self) -> int:
        return sum(self.segments)

    def pad(self, parts: tuple[str, ...]) -> str:
        """The 11-digit form of a value split into this layout's segments."""
        if self.pad_segment is None:
            return "".join(parts)
        i = self.pad_segment - 1
        return "".join(parts[:i]) + "0" + "".join(parts[i:])

    def split(self, digits: str) -> tuple[str, ...]:
        out, at = [], 0
        for size in self.segments:
            out.append(digits[at:at + size])
            at += size
        return tuple(out)


class NdcFormats(NamedTuple):
    sources: tuple[NdcLayout, ...]
    target: NdcLayout
    future: tuple[NdcLayout, ...]

    def by_segments(self, segments: tuple[int, ...]) -> NdcLayout | None:
        for layout in (*self.sources, self.target, *self.future):
            if layout.segments == segments:
                return layout
        return None

    def future_for(self, digits: int) -> NdcLayout | None:
        return next((f for f in self.future if f.digits == digits), None)

    def described(self) -> str:
        return ", ".join(layout.layout for layout in (*self.sources, self.target))


def load_ndc_formats(src: TableSource) -> NdcFormats:
    name, records = commented_table(src, ("layout", "digits", "role", "pad_segment"))
    sources, targets, future = [], [], []
    for rec in records:
        where = (name, rec.line)
        text = rec.get("layout")
        if not re.fullmatch(r"\d+(-\d+)+", text):
            raise RefDataError(*where, f"layout {text!r} is not like 5-4-2")
        segments = tuple(int(part) for part in text.split("-"))
        if rec.get("digits") != str(sum(segments)):
            raise RefDataError(*where, f"digits {rec.get('digits')!r} does not match layout {text}")
        role = rec.get("role").lower()
        if role not in ROLES:
            raise RefDataError(*where, f"role {role!r} is not one of {', '.join(ROLES)}")
        pad_text = rec.get("pad_segment")
        pad = int(pad_text) if pad_text.isdigit() else None
        if role == "source" and (pad is None or not 1 <= pad <= len(segments)):
            raise RefDataError(*where, f"a source layout needs pad_segment 1..{len(segments)}")
        layout = NdcLayout(
            layout=text, segments=segments, role=role,
            pad_segment=pad if role == "source" else None,
            valid_from=parse_date(rec.get("valid_from"), *where, "valid_from"),
            confirmed=bool(parse_flag(rec.get("confirmed"), *where, "confirmed", blank=False)),
            note=rec.get("note"),
        )
        {"source": sources, "target": targets, "future": future}[role].append(layout)
    if len(targets) != 1:
        raise RefDataError(name, None, f"exactly one target layout is needed, found {len(targets)}")
    target = targets[0]
    for src_layout in sources:
        padded = list(src_layout.segments)
        padded[src_layout.pad_segment - 1] += 1  # type: ignore[operator]
        if tuple(padded) != target.segments:
            raise RefDataError(name, None, f"padding {src_layout.layout} does not give {target.layout}")
    return NdcFormats(tuple(sources), target, tuple(future))


@memo(maxsize=1)
def bundled_ndc_formats() -> NdcFormats:
    return load_ndc_formats(bundled("ndc_formats.csv"))


class NdcForm(NamedTuple):
    """The 11-digit readings of a raw NDC value (no lookup involved)."""

    raw: str
    layout: str | None  # the hyphenated layout seen, None when unsegmented or invalid
    candidates: tuple[str, ...]  # 11-digit forms; empty when invalid
    reason: str = ""  # why the value is not an NDC ("" when it is)

    @property
    def valid(self) -> bool:
        return bool(self.candidates)

    @property
    def ambiguous(self) -> bool:
        return len(self.candidates) > 1


def normalize_ndc(raw: str | None, formats: NdcFormats | None = None) -> NdcForm:
    """Strip hyphens and spaces and list the 11-digit forms the value can stand for.

    11 digits -> itself; hyphenated 10 digits (4-4-2, 5-3-2, 5-4-1) -> exactly one;
    unhyphenated 10 digits -> one per 10-digit layout (ambiguous); else invalid.
    """
    fmt = formats or bundled_ndc_formats()
    text = (raw or "").strip()
    if not text:
        return NdcForm(text, None, (), "empty NDC")
    parts = tuple(re.split(r"[-\s]+", text))
    if not all(part.isdigit() and part.isascii() for part in parts):
        return NdcForm(text, None, (), "an NDC holds only digits, hyphens and spaces")
    digits = "".join(parts)
    target = fmt.target
    if len(parts) == 1:
        if len(digits) == target.digits:
            return NdcForm(text, None, (digits,))
        shapes = [s for s in fmt.sources if s.digits == len(digits)]
        if shapes:
            found = tuple(dict.fromkeys(s.pad(s.split(digits)) for s in shapes))
            return NdcForm(text, None, found)
        return NdcForm(text, None, (), _wrong_length(len(digits), fmt))
    layout = fmt.by_segments(tuple(len(part) for part in parts))
    if layout is None:
        shape = "-".join(str(len(part)) for part in parts)
        return NdcForm(text, None, (), f"segment layout {shape} is not one of {fmt.described()}")
    if layout.role == "future":
        return NdcForm(text, layout.layout, (), _future_reason(layout))
    return NdcForm(text, layout.layout, (layout.pad(parts),))


def _wrong_length(n: int, fmt: NdcFormats) -> str:
    future = fmt.future_for(n)
    if future is not None:
        return _future_reason(future)
    lengths = sorted({s.digits for s in fmt.sources} | {fmt.target.digits})
    return f"{n} digits; an NDC has {' or '.join(map(str, lengths))}"


def _future_reason(layout: NdcLayout) -> str:
    since = f" (from {layout.valid_from.isoformat()})" if layout.valid_from else ""
    return f"{layout.digits}-digit {layout.layout} NDC{since} is not accepted: {layout.note}"


class NdcResolution(NamedTuple):
    """What a raw NDC value resolves to, given which NDCs are known.

    status: ok (already the 11 digits, and known), normalized (one known
    11-digit form, but the raw text differs), ambiguous (unhyphenated 10 digits
    with several possible forms), unknown (well-formed, one form, not known;
    ndc11 still holds that form), invalid (not an NDC shape).
    candidates: the 11-digit readings still in play (for ambiguous with known
    matches: only the known ones).
    """

    status: str
    ndc11: str | None
    candidates: tuple[str, ...]
    raw: str = ""
    reason: str = ""

    @property
    def changed(self) -> bool:
        """True when the raw text must be rewritten to send ndc11."""
        return self.ndc11 is not None and self.ndc11 != self.raw


def resolve_ndc(
    raw: str | None,
    known: Callable[[str], bool] | None = None,
    formats: NdcFormats | None = None,
) -> NdcResolution:
    """Resolve a raw NDC against `known` (None: every well-formed NDC counts as known)."""
    form = normalize_ndc(raw, formats)
    if not form.valid:
        return NdcResolution("invalid", None, (), form.raw, form.reason)
    is_known = known or (lambda _ndc: True)
    if len(form.candidates) == 1:
        ndc11 = form.candidates[0]
        if not is_known(ndc11):
            return NdcResolution("unknown", ndc11, form.candidates, form.raw, f"{ndc11} is not in the reference data")
        if form.raw == ndc11:
            return NdcResolution("ok", ndc11, form.candidates, form.raw)
        return NdcResolution("normalized", ndc11, form.candidates, form.raw,
                             f"{form.raw!r} is NDC {ndc11} in 11-digit form")
    hits = tuple(c for c in form.candidates if is_known(c))
    if len(hits) == 1:
        return NdcResolution("normalized", hits[0], form.candidates, form.raw,
                             f"of {', '.join(form.candidates)} only {hits[0]} is known")
    if hits:
        return NdcResolution("ambiguous", None, hits, form.raw,
                             f"10 digits without hyphens; known forms: {', '.join(hits)}")
    return NdcResolution("ambiguous", None, form.candidates, form.raw,
                         f"10 digits without hyphens could be {', '.join(form.candidates)}; none is known")
