"""The finding: one record of the error log.

A finding is a small immutable record shared by every layer that reports
something (the envelope checks of the x12 layer, the claim rules, the
pipeline).  Report writers are built from :meth:`Finding.to_dict` alone.

Findings never carry patient data: a claim is named by its claim id (CLM01)
and its position in the file.
"""
from __future__ import annotations

from typing import NamedTuple

ERROR = "error"
WARNING = "warning"
INFO = "info"
SEVERITIES = (ERROR, WARNING, INFO)
SEVERITY_RANK = {ERROR: 0, WARNING: 1, INFO: 2}


# A NamedTuple rather than a frozen dataclass: as immutable and picklable, and
# far cheaper to define when the module is imported.
class Finding(NamedTuple):
    code: str
    severity: str
    message: str
    file: str = ""
    interchange: str = ""  # ISA13
    transaction: str = ""  # ST02
    claim_id: str = ""  # CLM01
    claim_index: int | None = None  # 1-based position of the claim in the file
    line_number: str = ""  # LX01 as received
    segment: str = ""  # segment id, e.g. SV1
    segment_index: int | None = None  # position of the segment in the file, ISA = 1
    element: str = ""  # X12 reference, e.g. SV104 or SV101-3
    original: str = ""
    corrected: str = ""
    fixed: bool = False
    profile: str = ""

    def to_dict(self) -> dict:
        return self._asdict()

    def with_(self, **changes) -> "Finding":
        return self._replace(**changes)

    @property
    def remains(self) -> bool:
        """An error that is still in the output."""
        return self.severity == ERROR and not self.fixed


FIELD_NAMES = Finding._fields
