"""What every use case is given: the database, the clock and the policy new cases open under."""
from __future__ import annotations

from dataclasses import dataclass, field

from flows import validation
from flows.clock import Clock, SystemClock
from flows.policy import Policy, load_policy
from flows.people import PersonRef
from storage.db import Database


@dataclass
class Context:
    db: Database
    policy: Policy = field(default_factory=load_policy)
    clock: Clock = field(default_factory=SystemClock)
    # The partnership team (the CSCP team): they may see every case that has reached them.
    partnership_members: frozenset[tuple[str, str]] = frozenset()

    def __post_init__(self) -> None:
        # Free text is checked against the professional e-mail domains of the policy in force.
        validation.use_professional_email_domains(self.policy.professional_email_domains)

    def is_partnership_member(self, person: PersonRef) -> bool:
        return person.key in self.partnership_members
