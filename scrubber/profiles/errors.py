"""The one error a profile can raise, in a module of its own: the command line
and the selector catch it without importing the XML reader (or pathlib)."""
from __future__ import annotations


class ProfileError(Exception):
    """A profile that cannot be used: one message with file, line and column."""

    def __init__(self, file: str, line: int | None, column: int | None, message: str):
        super().__init__(message)
        self.file = file
        self.line = line or 1
        self.column = column or 1
        self.message = message

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"

    def __reduce__(self):  # pickled whole (e.g. from a worker process), not as Exception(message)
        return (type(self), (self.file, self.line, self.column, self.message))
