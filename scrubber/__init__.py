"""scrubber: clean X12 837P/837I claim files before they go to a payer.

The library call is :func:`scrub`::

    from scrubber import scrub
    result = scrub(open("claims.837", "rb").read())
    result.corrected   # bytes of the corrected file
    result.findings    # list of Finding records (the error log)

An input that cannot be read as X12 (empty, binary, no ISA, truncated)
raises :class:`X12Error`, with the byte where the problem is.
"""
__version__ = "0.1.0"

from .pipeline import Result, Scrubber, X12Error, scrub  # noqa: E402

__all__ = ["scrub", "Scrubber", "Result", "X12Error", "__version__"]
