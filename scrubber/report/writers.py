"""Finding writers.  Each takes a text stream and is fed findings one at a time,
so a log of any length is written without holding it in memory."""
from __future__ import annotations

import json
from typing import TextIO

from ..findings import FIELD_NAMES, Finding


class JsonlWriter:
    """One JSON object per line, keys in the order of :data:`FIELD_NAMES`."""

    def __init__(self, stream: TextIO):
        self.stream = stream

    def write(self, f: Finding) -> None:
        self.stream.write(json.dumps(f.to_dict(), ensure_ascii=False) + "\n")

    def close(self) -> None:
        self.stream.flush()


class CsvWriter:
    """CSV with a header row of :data:`FIELD_NAMES`."""

    def __init__(self, stream: TextIO):
        import csv  # here: only a CSV log needs it

        self.stream = stream
        self.writer = csv.DictWriter(stream, fieldnames=FIELD_NAMES, lineterminator="\n")
        self.writer.writeheader()

    def write(self, f: Finding) -> None:
        row = f.to_dict()
        row["fixed"] = "true" if f.fixed else "false"
        self.writer.writerow(row)

    def close(self) -> None:
        self.stream.flush()


class TextWriter:
    """One human line per finding, for a terminal."""

    def __init__(self, stream: TextIO):
        self.stream = stream

    def write(self, f: Finding) -> None:
        self.stream.write(format_text(f) + "\n")

    def close(self) -> None:
        self.stream.flush()


def format_text(f: Finding) -> str:
    where = f.file or "-"
    if f.segment_index is not None:
        where += f":{f.segment_index}"
    parts = []
    if f.claim_id or f.claim_index:
        parts.append(f"claim {f.claim_id or '?'} (#{f.claim_index})")
    if f.line_number:
        parts.append(f"line {f.line_number}")
    if f.element or f.segment:
        parts.append(f.element or f.segment)
    ctx = f" [{', '.join(parts)}]" if parts else ""
    state = " (fixed)" if f.fixed else ""
    return f"{where}: {f.code} {f.severity}{state}{ctx}: {f.message}"


FORMATS = {"jsonl": JsonlWriter, "csv": CsvWriter, "text": TextWriter}


def open_writer(fmt: str, stream: TextIO):
    return FORMATS[fmt](stream)
