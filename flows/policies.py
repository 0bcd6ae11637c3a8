"""The policies the cases were opened under, found by name (the snapshot's digest), each read and parsed once.

Every case keeps a copy of its policy, but open cases share two or three: reading the digests (64 characters, from
an index) and one snapshot per digest never seen before costs nothing like reading every case's snapshot.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import bindparam, func, update
from sqlmodel import Session, select

from flows.context import Context
from flows.policy import Policy
from storage.models import Escalation, policy_digest

# Policies already parsed, by digest. A deployment sees a handful in its life (one per change of the file).
_known: dict[str, Policy] = {}
_KEEP = 64


def policies_named(session: Session, digests: Iterable[str]) -> dict[str, Policy]:
    """The policy of each digest: one query for any not parsed before (one row each), none otherwise."""
    wanted = set(digests)
    missing = [d for d in wanted if d not in _known]
    if missing:
        first = (
            select(func.min(Escalation.id))
            .where(Escalation.policy_digest.in_(missing))
            .group_by(Escalation.policy_digest)
        )
        rows = session.exec(
            select(Escalation.policy_digest, Escalation.policy_snapshot).where(Escalation.id.in_(first))
        ).all()
        if len(_known) + len(rows) > _KEEP:
            _known.clear()
        for digest, snapshot in rows:
            _known[digest] = Policy.from_snapshot(snapshot)
    return {d: _known[d] for d in wanted if d in _known}


def name_unnamed_policies(ctx: Context) -> int:
    """Give a digest to any case written without one (rows copied in SQL rather than through the lifecycle).
    The lifecycle names every case it opens, so this finds nothing in a running bot."""
    named = 0
    while True:
        with ctx.db.transaction() as session:
            rows = session.exec(
                # In id order: two passes naming at once (the reminders and the card redraw run side by side)
                # lock the rows in the same order, so neither deadlocks the other.
                select(Escalation.id, Escalation.policy_snapshot)
                .where(Escalation.policy_digest == "")
                .order_by(Escalation.id)
                .limit(500)
            ).all()
            if rows:
                table = Escalation.__table__
                session.execute(
                    update(table).where(table.c.id == bindparam("row_id")).values(policy_digest=bindparam("digest")),
                    [{"row_id": escalation_id, "digest": policy_digest(snapshot)} for escalation_id, snapshot in rows],
                )
        named += len(rows)
        if len(rows) < 500:
            return named
