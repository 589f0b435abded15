"""Reading reference tables: sources, comments, and typed cells.

Every reference file goes through here, so a bad file always ends in a
`RefDataError` naming the file and the line, never in a bare traceback.
"""
from __future__ import annotations

import io
import os
import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import IO, TYPE_CHECKING, Iterator, NamedTuple, Union

from ..deps import note_file, note_untracked

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

# A table can come from a path, a file object (text or bytes), or a
# package resource (importlib.resources Traversable: has read_bytes()).
TableSource = Union[str, os.PathLike, IO[str], IO[bytes], "Traversable"]

DATA_DIR = os.path.join(os.path.dirname(__file__), "data")


class RefDataError(ValueError):
    """A reference file could not be read: which file, which line, and why."""

    def __init__(self, path: str, line: int | None, message: str):
        self.path = str(path)
        self.line = line
        self.message = message
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {message}")


def bundled(name: str) -> str:
    """The path of a data file shipped inside this package (in its data folder,
    as the shipped profiles are in theirs)."""
    return os.path.join(DATA_DIR, name)


def source_name(src: TableSource) -> str:
    if isinstance(src, (str, os.PathLike)):
        return os.fspath(src)
    name = getattr(src, "name", None)
    return str(name) if name else "<stream>"


def read_text(src: TableSource, encoding: str | None = "utf-8") -> str:
    """Whole text of a table.  encoding=None means: UTF-8 when the bytes start
    with a UTF-8 byte-order mark, else latin-1 (what CMS publishes)."""
    name = source_name(src)
    if isinstance(src, (str, os.PathLike)):
        note_file(src)  # a dependency of the setup cache
    else:
        note_untracked()  # a stream or a resource: nothing to check it by later
    try:
        if hasattr(src, "read"):
            data = src.read()  # type: ignore[union-attr]
        elif hasattr(src, "read_bytes"):
            data = src.read_bytes()  # type: ignore[union-attr]
        else:
            with open(src, "rb") as fh:  # type: ignore[arg-type]
                data = fh.read()
    except OSError as exc:
        raise RefDataError(name, None, f"cannot read file: {exc.strerror or exc}") from exc
    if isinstance(data, str):
        return data
    if encoding is None:
        if data.startswith(b"\xef\xbb\xbf"):
            encoding = "utf-8-sig"
        else:
            encoding = "latin-1"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise RefDataError(name, line, f"not valid {encoding} text ({exc.reason})") from exc


def csv_rows(text: str, name: str) -> Iterator[tuple[int, list[str]]]:
    """(first line number, cells) for every CSV record; csv errors become RefDataError."""
    import csv  # here: a run whose reference data comes from the setup cache reads no CSV

    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise RefDataError(name, start, f"malformed CSV in the record starting here: {exc}") from exc
        yield start, row


def is_blank(row: list[str]) -> bool:
    return all(not cell.strip() for cell in row)


class Record(NamedTuple):
    """One data row of a commented table, cells by lower-case column name."""

    line: int
    cells: dict[str, str]

    def get(self, column: str) -> str:
        return self.cells.get(column, "").strip()


def commented_table(src: TableSource, required: tuple[str, ...]) -> tuple[str, list[Record]]:
    """Read one of this package's own tables: UTF-8, `#` comment lines
    anywhere, then a header row, then records.  Blank lines are skipped."""
    name = source_name(src)
    header: list[str] | None = None
    records: list[Record] = []
    for line, row in csv_rows(read_text(src, "utf-8-sig"), name):
        if is_blank(row) or row[0].lstrip().startswith("#"):
            continue
        if header is None:
            header = [cell.strip().lower() for cell in row]
            missing = [col for col in required if col not in header]
            if missing:
                raise RefDataError(name, line, f"header lacks column(s): {', '.join(missing)}")
            continue
        if len(row) > len(header) and not is_blank(row[len(header):]):
            raise RefDataError(name, line, f"{len(row)} cells but the header has {len(header)}")
        records.append(Record(line, dict(zip(header, row))))
    if header is None:
        raise RefDataError(name, None, "no header row (file is empty or only comments)")
    return name, records


# --- typed cells ---------------------------------------------------------

_NUMBER = re.compile(r"^\d+(\.\d*)?$|^\.\d+$")


def parse_decimal(text: str, name: str, line: int, column: str) -> Decimal | None:
    """A non-negative number such as "20", "2.4" or "1,000"; blank is None."""
    cleaned = text.strip().replace(",", "").replace(" ", "")
    if not cleaned:
        return None
    if not _NUMBER.match(cleaned):
        raise RefDataError(name, line, f"{column}: {text.strip()!r} is not a number")
    try:
        return Decimal(cleaned)
    except InvalidOperation as exc:  # pragma: no cover - the regex already vets it
        raise RefDataError(name, line, f"{column}: {text.strip()!r} is not a number") from exc


def parse_date(text: str, name: str, line: int, column: str) -> date | None:
    cleaned = text.strip()
    if not cleaned:
        return None
    try:
        return date.fromisoformat(cleaned)
    except ValueError as exc:
        raise RefDataError(name, line, f"{column}: {cleaned!r} is not a YYYY-MM-DD date") from exc


def parse_flag(text: str, name: str, line: int, column: str, blank: bool | None = None) -> bool | None:
    """Y/N (also yes/no/true/false); blank gives `blank`."""
    cleaned = text.strip().upper()
    if not cleaned:
        return blank
    if cleaned in ("Y", "YES", "TRUE", "1"):
        return True
    if cleaned in ("N", "NO", "FALSE", "0"):
        return False
    raise RefDataError(name, line, f"{column}: {text.strip()!r} is not Y or N")
