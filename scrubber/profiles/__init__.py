"""Payer profiles: which rules apply, at what severity, and each drug's policy.

:mod:`.model` holds the profile model and the built-in defaults (CMS Part B
policy); :mod:`.loader` reads XML profiles (checked against ``profile.xsd``
with lxml) and layers them with ``extends``; :mod:`.select` chooses a
profile per claim; :mod:`.render` shows a layered profile.  The shipped
profiles are in ``shipped/`` (the same files as the top-level
``payer_profiles/``).
"""
from __future__ import annotations

from .loader import SHIPPED_DIR, load_file, load_profile, resolve, shipped_names
from .model import DEFAULT, DrugPolicy, DxPattern, Match, Profile
from .select import ProfileSelector, build_selector, profile_set
from .xmlread import ProfileError

__all__ = [
    "DEFAULT", "DrugPolicy", "DxPattern", "Match", "Profile", "ProfileError", "SHIPPED_DIR",
    "load_file", "load_profile", "resolve", "shipped_names",
    "ProfileSelector", "build_selector", "profile_set",
]
