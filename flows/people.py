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
