"""A small exception hierarchy: every error a user can see carries a message they can act on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


class RrrsError(Exception):
    """Base of every error rrrs raises on purpose; the CLI and pages show its message, never a traceback."""


class NotFoundError(RrrsError):
    """An id that does not exist, or that the current user may not see (deliberately the same message)."""


class ConflictError(RrrsError):
    """A write that would silently overwrite someone else's work or an existing coding."""


class DatabaseBusyError(RrrsError):
    """The DuckDB file is locked by another process (usually the running app)."""


class SchemaTooNewError(RrrsError):
    """The database was upgraded by a newer rrrs than this one: refuse to start rather than misread it."""


class EncryptionKeyError(RrrsError):
    """The database is encrypted and the key ($RRRS_DB_KEY) is missing or wrong."""


class PermissionDeniedError(RrrsError):
    """The current principal's role does not allow this action."""


@dataclass(frozen=True)
class Problem:
    """One finding about an input file, precise enough to fix it without guessing."""

    severity: str  # "error" blocks the import; "warning" is shown but does not block
    file: str
    row: int | None
    column: str | None
    value: str | None
    message: str

    PLACE: ClassVar[str] = "row"  # what `row` counts in the message: a table's rows, or a text file's lines

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", {self.PLACE} {self.row}"
        if self.column:
            where += f", column '{self.column}'"
        val = "" if self.value is None else f" (value '{self.value}')"
        return f"{self.severity.upper()}: {where}{val}: {self.message}"


class ValidationError(RrrsError):
    """Input that cannot be imported; holds every problem found in one pass."""

    def __init__(self, problems: list[Problem]):
        self.problems = [p for p in problems if p.severity == "error"]
        self.warnings = [p for p in problems if p.severity != "error"]
        n = len(self.problems)
        super().__init__(f"{n} error{'s' if n != 1 else ''} found; nothing was imported")


@dataclass(frozen=True)
class LineProblem(Problem):
    """A problem in a text file (a transcript), placed by line rather than by table row."""

    PLACE: ClassVar[str] = "line"


class TranscriptError(ValidationError):
    """A transcript that cannot be attached: each problem names file, line, column and value; nothing stored.
    A ValidationError, so the CLI lists every problem and exits 2; its own message is the first problem."""

    def __init__(self, problems: list[Problem]):
        super().__init__(problems)
        first = self.problems[0] if self.problems else None
        more = len(self.problems) - 1
        text = str(first).removeprefix("ERROR: ") if first else "the transcript cannot be read"
        if more > 0:
            text += f" (and {more} more problem{'s' if more != 1 else ''})"
        self.args = (f"{text}; nothing was stored",)
