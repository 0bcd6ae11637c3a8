"""What every use case is given: the database, the clock and the policy new cases open under."""

from __future__ import annotations

from dataclasses import dataclass, field

from flows import validation
from flows.clock import Clock, SystemClock
from flows.people import PersonRef
from flows.policy import Policy, load_policy
from storage.db import Database


@dataclass
class Context:
    db: Database
    policy: Policy = field(default_factory=load_policy)
    clock: Clock = field(default_factory=SystemClock)
    # The partnership team (the CSCP team): they may see every case that has reached them.
    partnership_members: frozenset[tuple[str, str]] = frozenset()
    # Who holds the Executive's stage, and the Independent Scrutineer told when a case reaches it.
    # Set up by the deployment (each front-end contributes its own people), never by a party to a case.
    executive: tuple[PersonRef, ...] = ()
    scrutineer: PersonRef | None = None
    # People named only by e-mail are e-mailed when the deployment can send mail; otherwise the raiser is
    # asked to contact them by hand.
    email_enabled: bool = False

    @property
    def checks(self) -> validation.Checks:
        """Free text is checked against the professional e-mail domains of the policy in force."""
        return validation.Checks(self.policy.professional_email_domains, self.policy.free_text_limit)

    def set_partnership_members(self, platform: str, user_ids: set[str] | list[str]) -> None:
        """A front-end says who, on its platform, is in the partnership team; other platforms' members stay."""
        others = {key for key in self.partnership_members if key[0] != platform}
        self.partnership_members = frozenset(others | {(platform, user_id) for user_id in user_ids})

    def is_partnership_member(self, person: PersonRef) -> bool:
        return person.key in self.partnership_members
