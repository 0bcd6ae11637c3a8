"""The one error the lifecycle raises: its message is written to be shown to a person as it is."""

from __future__ import annotations


class Refused(Exception):
    """A lifecycle call that was refused. Nothing was changed.

    field: the input at fault, when one is (front-ends show the message there).
    reason: 'invalid' (bad input), 'not_allowed' (this person may not do this),
            'closed' (the case is no longer open), 'stale' (the case moved on since
            the person looked), 'not_found', 'immediate_risk', 'not_discussed'.
    """

    def __init__(self, message: str, *, field: str | None = None, reason: str = "invalid"):
        super().__init__(message)
        self.message = message
        self.field = field
        self.reason = reason

    def __repr__(self) -> str:  # never includes input values, only the field name
        return f"Refused(reason={self.reason!r}, field={self.field!r})"
