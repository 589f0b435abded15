"""Payer profiles: which rules apply, at what severity, and each drug's policy.

:mod:`.model` holds the profile model and the built-in defaults (CMS Part B
policy); :mod:`.loader` reads XML profiles (checked against ``profile.xsd``
with lxml) and layers them with ``extends``; :mod:`.select` chooses a
profile per claim; :mod:`.render` shows a layered profile.  The shipped
profiles are in ``shipped/`` (the same files as the top-level
``payer_profiles/``).
"""
from __future__ import annotations

from .errors import ProfileError
from .model import DEFAULT, DrugPolicy, DxPattern, Match, Profile
from .select import ProfileSelector, build_selector, profile_set

_FROM_LOADER = frozenset({"SHIPPED_DIR", "load_file", "load_profile", "resolve", "shipped_names"})


def __getattr__(name: str):
    """The loader's names, imported on first use: a run whose setup comes
    from the setup cache reads no profile, and the loader brings pathlib and
    the XML reader with it."""
    if name in _FROM_LOADER:
        from . import loader

        return getattr(loader, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _FROM_LOADER)

__all__ = [
    "DEFAULT", "DrugPolicy", "DxPattern", "Match", "Profile", "ProfileError", "SHIPPED_DIR",
    "load_file", "load_profile", "resolve", "shipped_names",
    "ProfileSelector", "build_selector", "profile_set",
]
