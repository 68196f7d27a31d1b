"""What part of the clinic a caller may see; every query for identified data takes one.

Scoping lives in the data layer (not in hidden widgets) so a page cannot leak another therapist's dyad
by accident: the query itself filters by the scope's therapist ids.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scope:
    """Therapists whose dyads are visible; `None` means the whole clinic. `supervisor_id` is set for a
    supervisor's scope (their own dyads plus those of everyone they supervise), so views can tell the
    supervisor's own cases from their trainees' and staff's."""

    therapist_ids: frozenset[str] | None = None
    label: str = "Whole clinic"
    supervisor_id: str | None = None

    @classmethod
    def clinic(cls) -> Scope:
        return cls(None, "Whole clinic")

    @classmethod
    def therapists(cls, ids: set[str] | frozenset[str] | list[str], label: str,
                   supervisor_id: str | None = None) -> Scope:
        return cls(frozenset(ids), label, supervisor_id)

    @property
    def is_clinic(self) -> bool:
        return self.therapist_ids is None

    def sql(self, column: str = "therapist_id") -> tuple[str, list[object]]:
        """A WHERE fragment and its parameters; the column name is ours, never user text."""
        if self.therapist_ids is None:
            return "true", []
        return f"{column} IN (SELECT unnest(?::VARCHAR[]))", [sorted(self.therapist_ids)]

    def allows(self, therapist_id: str) -> bool:
        return self.therapist_ids is None or therapist_id in self.therapist_ids

    def within(self, other: Scope) -> Scope:
        """This scope cut down to `other` (keeping this label): a choice made earlier, narrowed to what the
        user may read now."""
        if other.therapist_ids is None:
            return self
        ids = other.therapist_ids if self.therapist_ids is None else self.therapist_ids & other.therapist_ids
        return Scope(frozenset(ids), self.label, self.supervisor_id)


CLINIC = Scope.clinic()
