"""Exceptions and warnings raised by empathy-metrics.

Every error a user can cause carries enough context to fix it: the file, the row and the
column where the problem is, and a hint saying what to do. The CLI turns these into a short
message and exit code 2; library users can catch :class:`EmpathyMetricsError`.
"""

from __future__ import annotations

__all__ = [
    "EmpathyMetricsError",
    "InputError",
    "InstrumentError",
    "DataError",
    "DegenerateDataError",
    "DegenerateDataWarning",
    "DataQualityWarning",
    "ResultKeyError",
    "ScaleColumnWarning",
    "DroppedCodesWarning",
]


class EmpathyMetricsError(Exception):
    """Base class of every error empathy-metrics raises on purpose.

    Parameters
    ----------
    message
        What is wrong, in plain words.
    file, row, column
        Where it is wrong, when known. ``row`` is the 1-based line number as a user sees it in
        a spreadsheet or text editor (the header is row 1), unless documented otherwise.
    index
        For data given in memory (a DataFrame not read from a file): the index label of the
        offending row, as ``df.loc[label]`` finds it.
    hint
        What to do about it.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
        hint: str | None = None,
        index: object = None,
    ) -> None:
        self.message = message
        if type(index).__module__ == "numpy" and hasattr(index, "item"):
            index = index.item()  # np.int64(539) -> 539, as a user writes it
        self.index = index
        self.file = None if file is None else str(file)
        self.row = row
        self.column = column
        self.hint = hint
        super().__init__(self.__str__())

    def location(self) -> str:
        """``file, row R, index L, column 'C'`` for the parts that are known ('' when none
        are)."""
        parts = []
        if self.file is not None:
            parts.append(self.file)
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.index is not None:
            parts.append(f"index {self.index!r}")
        if self.column is not None:
            parts.append(f"column '{self.column}'")
        return ", ".join(parts)

    def __str__(self) -> str:
        where = self.location()
        text = f"{where}: {self.message}" if where else self.message
        if self.hint:
            text += f" ({self.hint})"
        return text


class InputError(EmpathyMetricsError, ValueError):
    """A data file cannot be read or does not fit the instrument."""


class InstrumentError(EmpathyMetricsError, ValueError):
    """An instrument definition is missing, malformed or inconsistent."""


class DataError(EmpathyMetricsError, ValueError):
    """Data passed to a statistic cannot support it (too few cases, no variance, ...)."""


class DegenerateDataError(DataError):
    """The data make a statistic undefined (e.g. a constant item, a singular matrix)."""


class DegenerateDataWarning(UserWarning):
    """A statistic was computed, but the data make it unreliable (e.g. a Heywood case)."""


class DataQualityWarning(UserWarning):
    """Responses were flagged (out of range, straightlining, ...) but kept."""


class ResultKeyError(EmpathyMetricsError, KeyError):
    """A look-up in a result (``rel["Agreeableness"]``) with a key it does not have; the
    message names the valid keys."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return EmpathyMetricsError.__str__(self)


class ColumnNameWarning(UserWarning):
    """A column name given by the user matched a data column only after trimming spaces or
    ignoring case (`` student_id `` or ``STUDENT_ID`` for ``student_id``); the warning names
    the column used."""


class ScaleColumnWarning(UserWarning):
    """The data carry a column named like a scale; it is ignored and the scale is scored from
    the items."""


class DroppedCodesWarning(DataQualityWarning):
    """Out-of-range codes were set to missing before a statistic was computed."""
