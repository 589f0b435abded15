"""Report writers: the error log (JSON Lines or CSV) and the text summary,
all built from the same :class:`~scrubber.findings.Finding` records."""
from .writers import FORMATS, CsvWriter, JsonlWriter, TextWriter, open_writer  # noqa: F401
from .summary import summary_lines  # noqa: F401
