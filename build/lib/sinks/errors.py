"""Exceptions for bad input: each message says which file or key, what is wrong and what to do.

The CLI prints a ``SinksError`` as one line on stderr and exits with code 2; anything else is a
bug and exits 1 with the traceback in the log file.
"""


class SinksError(Exception):
    """Base class of every error caused by the user's config or data."""


class ConfigError(SinksError):
    """The configuration file is malformed or has an invalid key or value."""


class InputDataError(SinksError):
    """An input file is missing, unreadable or has unusable content."""


class CRSMismatchError(InputDataError):
    """A raster or vector has no CRS, or one that cannot be used."""


class GridMismatchError(InputDataError):
    """Two rasters that must share the run grid do not."""


class MissingClassError(InputDataError):
    """A raster holds class codes that the legend or density table does not define."""


class EmptyDataError(InputDataError):
    """A raster is all nodata, or does not overlap the region."""


class OutputError(SinksError):
    """An output cannot be written, or fails its post-write invariant checks."""


class OutputRangeError(OutputError):
    """A map's values fall outside the valid range of its kind (sinks.io.outputs): not written."""
