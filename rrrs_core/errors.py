"""A small exception hierarchy: every error a user can see carries a message they can act on."""

from __future__ import annotations

from dataclasses import dataclass


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

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
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
