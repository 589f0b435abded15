"""Choosing the profile that judges each claim.

With no forced profile, a claim is judged by the profile whose ``<match>``
fits its payer id (2010BB NM109) and claim filing indicator (SBR09) best: a
match on both beats a match on the payer id, which beats a match on the
filing indicator.  On a tie, a user profile (from a profile folder) beats a
shipped one.  A claim that no profile matches is judged by ``default`` (a
user profile named ``default`` replaces the shipped one).
"""
from __future__ import annotations

import os

from ..deps import note_dir
from .errors import ProfileError
from .model import Profile

# The loader (and with it pathlib and the XML reader) is imported where a
# profile set is built: a run whose setup comes from the setup cache
# unpickles a ProfileSelector and needs neither.


class ProfileSelector:
    """``selector(claim_context) -> Profile``, as :class:`scrubber.Scrubber` takes it.

    The answer for one payer id and filing indicator is worked out once and
    the same object returned after (the pipeline caches rules per profile)."""

    def __init__(self, candidates: list[Profile], default: Profile):
        self.candidates = list(candidates)  # in priority order
        self.default = default
        self._cache: dict[tuple[str, str], Profile] = {}

    def __call__(self, context) -> Profile:
        key = (context.payer_id or "", context.filing_indicator or "")
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self.choose(*key)
        return found

    def choose(self, payer_id: str, filing_indicator: str) -> Profile:
        best, score = self.default, 0
        for p in self.candidates:
            s = p.matches_claim(payer_id, filing_indicator)
            if s > score:
                best, score = p, s
        return best


def profile_set(dirs=()) -> list[Profile]:
    """The profiles that take part in the selection: those in ``dirs`` (each
    ``*.xml``, in name order) first, then the shipped ones they do not
    replace by name."""
    from pathlib import Path

    from .loader import load_file, shipped_names, shipped_path

    user: list[Profile] = []
    for d in dirs:
        folder = Path(d)
        note_dir(folder)  # a profile added or removed changes the set
        try:
            if not folder.is_dir():
                raise ProfileError(str(d), 1, 1, "not a folder of profiles")
            os.listdir(folder)  # glob passes over a folder it may not read, without a word
        except OSError as exc:
            raise ProfileError(str(d), 1, 1, f"cannot read the folder of profiles: {exc.strerror or exc}") from None
        for path in sorted(folder.glob("*.xml")):
            p = load_file(path)
            clash = next((q for q in user if q.name == p.name), None)
            if clash is not None:
                raise ProfileError(p.path, 1, 1, f"profile name {p.name!r} is also used by {clash.path}")
            user.append(p)
    names = {p.name for p in user}
    shipped = [load_file(shipped_path(n)) for n in shipped_names()]
    shipped = [p for p in shipped if p.name not in names]
    _no_ties(user)
    _no_ties(shipped)
    return user + shipped


def _no_ties(profiles: list[Profile]) -> None:
    seen: dict = {}
    for p in profiles:
        for m in p.matches:
            key = (m.payer_id, m.filing_indicator)
            other = seen.get(key)
            if other is not None and other is not p:
                raise ProfileError(p.path, m.line, 1, f"<match {m.describe()}> is also in profile {other.name!r} "
                                                      f"({other.path}): which one judges the claim is ambiguous")
            seen[key] = p


def build_selector(dirs=(), select=(), ignore=()) -> tuple[Profile, ProfileSelector]:
    """The ``default`` profile (for what is not a claim) and the per-claim
    selector, with the command line's ``--select``/``--ignore`` on every profile."""
    profiles = [p.with_selection(select, ignore) for p in profile_set(dirs)]
    default = next(p for p in profiles if p.name == "default")
    others = [p for p in profiles if p is not default]
    return default, ProfileSelector(others, default)
