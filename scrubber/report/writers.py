"""Finding writers.  Each takes a text stream and is fed findings one at a time,
so a log of any length is written without holding it in memory."""
from __future__ import annotations

import json
import re
from typing import TextIO

from ..findings import FIELD_NAMES, Finding

# Characters that must never reach a terminal or a log raw: C0 controls (tab and
# newline included), DEL, C1 controls and the Unicode line/paragraph separators.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _escape(match: re.Match) -> str:
    return repr(match.group())[1:-1]  # '\n', '\x1b', '\x00', '\u2028' as Python writes them


# What json.dumps(ensure_ascii=False) leaves raw but some line readers take as a break
_LINE_BREAKING = re.compile("[\x7f-\x9f\u2028\u2029]")


def _json_escape(match: re.Match) -> str:
    return f"\\u{ord(match.group()):04x}"


def printable(text: str) -> str:
    """*text* with every control character written as a visible backslash escape
    (as :func:`repr` does, without the quotes), so it stays one line and cannot
    drive a terminal.  Printable text, non-ASCII included, is returned as is."""
    if text.isprintable():  # the usual case: one fast scan, no copy
        return text
    return _CONTROL.sub(_escape, text)  # (other unprintables, e.g. surrogates, are left to the stream)


class JsonlWriter:
    """One JSON object per line, keys in the order of :data:`FIELD_NAMES`."""

    def __init__(self, stream: TextIO):
        self.stream = stream

    def write(self, f: Finding) -> None:
        line = json.dumps(f.to_dict(), ensure_ascii=False)
        if not line.isprintable():  # DEL, C1 or U+2028/9 (JSON leaves them raw): escaped, so that
            line = _LINE_BREAKING.sub(_json_escape, line)  # no line reader splits a record
        self.stream.write(line + "\n")

    def close(self) -> None:
        self.stream.flush()


class CsvWriter:
    """CSV with a header row of :data:`FIELD_NAMES`; control characters in a
    field (from a file name or segment contents) are escaped with :func:`printable`."""

    def __init__(self, stream: TextIO):
        import csv  # here: only a CSV log needs it

        self.stream = stream
        self.writer = csv.DictWriter(stream, fieldnames=FIELD_NAMES, lineterminator="\n")
        self.writer.writeheader()

    def write(self, f: Finding) -> None:
        row = f.to_dict()
        row["fixed"] = "true" if f.fixed else "false"
        for key, value in row.items():
            if value.__class__ is str:
                row[key] = printable(value)
        self.writer.writerow(row)

    def close(self) -> None:
        self.stream.flush()


class TextWriter:
    """One human line per finding, for a terminal (control characters escaped)."""

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
    return printable(f"{where}: {f.code} {f.severity}{state}{ctx}: {f.message}")


FORMATS = {"jsonl": JsonlWriter, "csv": CsvWriter, "text": TextWriter}


def open_writer(fmt: str, stream: TextIO):
    return FORMATS[fmt](stream)
