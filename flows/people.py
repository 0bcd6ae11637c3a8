"""People, identified the same way whatever chat platform they use."""

from __future__ import annotations

from dataclasses import dataclass

# People who are not in the chat workspace are identified by their email address.
EMAIL_PLATFORM = "email"


@dataclass(frozen=True)
class PersonRef:
    """Someone in an escalation: the platform ('slack', 'teams', 'email') plus its user id."""

    platform: str
    user_id: str
    name: str = ""
    email: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return (self.platform, self.user_id)

    @classmethod
    def by_email(cls, name: str, email: str) -> PersonRef:
        return cls(platform=EMAIL_PLATFORM, user_id=email.strip().lower(), name=name.strip(), email=email.strip())


def by_email(field_id: str) -> str:
    """The id of the field beside a person field where people can be named by e-mail address instead."""
    return f"{field_id}_by_email"


def field_naming(ref: PersonRef, field_id: str) -> str:
    """Where a form named this person: the person picker `field_id`, or the e-mail field beside it."""
    return by_email(field_id) if ref.platform == EMAIL_PLATFORM else field_id
