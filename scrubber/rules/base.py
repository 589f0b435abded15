"""The rule contract and the rule table.

A rule is a small class with a stable ``code`` (e.g. ``NDC001``), a ``name``,
a docstring whose first line is its summary and which shows a bad and a good
example, a default ``severity`` and a ``fixable`` flag.  ``check`` looks at a
claim and yields :class:`Issue` records, each with the edits that would fix
it.  Rules never build bytes: :mod:`scrubber.fixes` applies the edits.
"""
from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, ClassVar, Iterable

from ..claims.model import Claim, Ref, ServiceLine
from ..findings import ERROR, INFO, WARNING
from ..record import Frozen, Record, set_field
from ..x12.tokenizer import Segment

if TYPE_CHECKING:  # pragma: no cover
    from ..profiles import Profile
    from ..refdata import RefData


class Issue(Frozen):
    """What a rule found, where, and the edits that fix it (if any)."""

    __slots__ = ("message", "ref", "line", "segment", "original", "corrected", "edits", "severity")

    def __init__(self, message: str, ref: Ref | None = None, line: ServiceLine | None = None,
                 segment: Segment | None = None, original: str = "", corrected: str = "", edits: tuple = (),
                 severity: str | None = None):
        set_field(self, "message", message)
        set_field(self, "ref", ref)
        set_field(self, "line", line)
        set_field(self, "segment", segment)  # when the issue is about a whole segment
        set_field(self, "original", original)
        set_field(self, "corrected", corrected)
        set_field(self, "edits", edits)
        set_field(self, "severity", severity)  # overrides the rule's default (e.g. from the profile)

    @property
    def where(self) -> Segment | None:
        if self.ref is not None:
            return self.ref.segment
        if self.segment is not None:
            return self.segment
        return self.line.service if self.line is not None else None


class Context(Record):
    """What rules may consult besides the claim: reference data, the payer
    profile that judges this claim, and ``state``: a dict that lives for one
    scrub of one file, for rules that look across claims (e.g. dose
    frequency per patient).  A claim may be checked several times while its
    fixes settle, so a rule that records into ``state`` must key its records
    by the claim (``claim.ordinal``) so a re-check replaces, not adds."""

    __slots__ = ("refdata", "profile", "state")

    def __init__(self, refdata: "RefData", profile: "Profile", state: dict | None = None):
        self.refdata = refdata
        self.profile = profile
        self.state = {} if state is None else state


class Rule:
    code: ClassVar[str] = ""
    name: ClassVar[str] = ""
    severity: ClassVar[str] = ERROR
    fixable: ClassVar[bool] = False
    # A payer-policy rule names the drug-policy fields it reads; when none of
    # them is set for any drug of a profile, the rule has nothing to say under
    # that profile and is not run.
    policy_fields: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def applies_to(cls, profile) -> bool:
        if not cls.policy_fields:
            return True
        policies = [profile.default_drug, *profile.drugs.values(), *getattr(profile, "drugs_by_ndc", {}).values()]
        unset = (None, (), "none", False)
        return any(getattr(p, f, None) not in unset for p in policies for f in cls.policy_fields)

    def check(self, claim: Claim, ctx: Context) -> Iterable[Issue]:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- documentation --------------------------------------------------------
    @classmethod
    def summary(cls) -> str:
        doc = inspect.getdoc(cls) or ""
        return doc.splitlines()[0] if doc else ""

    @classmethod
    def doc(cls) -> str:
        return inspect.getdoc(cls) or ""

    @classmethod
    def family(cls) -> str:
        return cls.code.rstrip("0123456789")

    @classmethod
    def describe(cls) -> dict:
        return {
            "code": cls.code,
            "name": cls.name,
            "severity": cls.severity,
            "fixable": cls.fixable,
            "summary": cls.summary(),
            "doc": cls.doc(),
        }


class RuleTable:
    """The explicit table of rules; a duplicate code is refused."""

    def __init__(self) -> None:
        self._rules: dict[str, type[Rule]] = {}

    def register(self, cls: type[Rule]) -> type[Rule]:
        if not cls.code or not cls.name:
            raise ValueError(f"rule {cls.__name__} has no code or name")
        if cls.code in self._rules:
            raise ValueError(f"duplicate rule code {cls.code}: {cls.__name__} and {self._rules[cls.code].__name__}")
        if cls.severity not in (ERROR, WARNING, INFO):
            raise ValueError(f"rule {cls.code} has an unknown severity {cls.severity!r}")
        if not cls.summary():
            raise ValueError(f"rule {cls.code} has no docstring")
        self._rules[cls.code] = cls
        return cls

    def __iter__(self):
        return iter(sorted(self._rules.values(), key=lambda r: r.code))

    def __len__(self) -> int:
        return len(self._rules)

    def get(self, code: str) -> type[Rule] | None:
        return self._rules.get(code)

    def codes(self) -> list[str]:
        return sorted(self._rules)


RULES = RuleTable()
register = RULES.register
