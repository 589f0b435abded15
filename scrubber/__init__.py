"""scrubber: clean X12 837P/837I claim files before they go to a payer.

The library call is :func:`scrub`::

    from scrubber import scrub
    result = scrub(open("claims.837", "rb").read())
    result.corrected   # bytes of the corrected file
    result.findings    # list of Finding records (the error log)
"""
__version__ = "0.1.0"

from .pipeline import Result, Scrubber, scrub  # noqa: E402

__all__ = ["scrub", "Scrubber", "Result", "__version__"]
