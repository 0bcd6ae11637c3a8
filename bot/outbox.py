"""Delivers the outbox the engine writes: each message marked sent only once its platform said ok.

Rows are claimed under a row lock, so two running instances never send the same one, and in order per
case across instances (see Outbox._claim). A claim
names the instance (a stable name per running slot, e.g. the host name) and the start of it (a
nonce drawn when the Outbox is made). A restarted instance takes back its own earlier start's
claims at once; another instance's claims are released only when their short lease ends. A row
taken back, or tried before, may already have reached the platform: the sender is told so
(`may_have_been_sent`) and looks before sending again. Transient failures are tried again with
growing gaps; a permanent failure is recorded and reported to the partnership team.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import and_, exists, or_, update
from sqlalchemy.orm import aliased
from sqlmodel import select

from bot.logs import describe
from flows import topics
from flows.context import Context
from flows.people import EMAIL_PLATFORM, PersonRef
from flows.records import CaseView, load_case, person_ref
from storage.models import DeliveryStatus, Escalation, OutboxMessage, Person

log = logging.getLogger(__name__)

# A claim's lease: how long another instance waits before taking over a row whose sender may have
# died. A send is cut off well before it (SEND_DEADLINE), so a live sender never outlives its lease.
LEASE = timedelta(seconds=60)
SEND_DEADLINE = timedelta(seconds=45)
MAX_ATTEMPTS = 8
# How many messages one claim takes (at most one per case): a short transaction, a pass of a few seconds.
CLAIM_BATCH = 20
RETRY_GAPS = [timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1)]


class DeliveryError(Exception):
    def __init__(self, message: str, *, transient: bool):
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True)
class Pending:
    id: int
    topic: str
    audience: str
    payload: dict
    case: CaseView | None
    recipient: PersonRef | None
    # An earlier attempt began and its end is unknown: look for the message before sending it again.
    may_have_been_sent: bool = False
    created_at: datetime | None = None
    # The recipient chose to have it by e-mail as well as in chat (flows.persons.choose_email_copies).
    copy_by_email: bool = False


class Sender(Protocol):
    async def deliver(self, message: Pending) -> None:
        """Send one message; raise DeliveryError when it could not be sent."""


class ByChannel:
    """Sends each message by its recipient's channel (their platform), and by e-mail as well when they chose
    it. A message for no one person (the partnership's channel, every copy of the cards) goes to every chat
    platform in `shared`, in order. When one of a message's senders fails, the retry skips those that already
    have it: remembered here for retries by this process; after a restart, card and post updates are in place
    anyway and Slack looks for what it already posted."""

    def __init__(self, default: Sender, by_platform: dict[str, Sender], shared: list[Sender] | None = None):
        self.default, self.by_platform = default, by_platform
        self.shared = shared or [default]
        self._done: dict[int, set[int]] = {}

    def _senders(self, message: Pending) -> list[Sender]:
        recipient = message.recipient
        if recipient is None:
            return self.shared
        senders = [self.by_platform.get(recipient.platform) or self.default]
        by_email = self.by_platform.get(EMAIL_PLATFORM)
        if message.copy_by_email and by_email is not None and recipient.platform != EMAIL_PLATFORM:
            senders.append(by_email)
        return senders

    async def deliver(self, message: Pending) -> None:
        done = self._done.setdefault(message.id, set())
        for index, sender in enumerate(self._senders(message)):
            if index not in done:
                await sender.deliver(message)
                done.add(index)
        del self._done[message.id]


class Outbox:
    def __init__(self, ctx: Context, sender: Sender, *, max_attempts: int = MAX_ATTEMPTS, instance_id: str):
        self.ctx, self.sender, self.max_attempts = ctx, sender, max_attempts
        # The same name after a restart, so this instance knows its own unfinished claims; a new
        # nonce per start, so it knows they are from a start that has ended.
        self.instance_id, self.start = instance_id, uuid.uuid4().hex
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Deliver soon: called after a change wrote to the outbox."""
        self._wake.set()

    async def run_forever(self, idle_seconds: float = 5.0) -> None:
        while True:
            try:
                await self.deliver_pending()
            except Exception as error:  # keep delivering whatever one pass met
                log.error("outbox pass failed: %s", describe(error))
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=idle_seconds)
            except TimeoutError:
                pass
            self._wake.clear()

    async def deliver_pending(self) -> int:
        """Deliver until nothing more can be claimed now; returns how many were sent. Passes never overlap in
        one process; across instances the claim keeps each case's order (see _claim)."""
        async with self._lock:
            sent = 0
            await asyncio.to_thread(self._take_back_lapsed_claims)
            while batch := await asyncio.to_thread(self._claim):
                for pending in batch:
                    failure = await self._attempt(pending)
                    if failure is not None:
                        await asyncio.to_thread(self._failed, pending, *failure)
                        continue
                    await asyncio.to_thread(self._sent, pending.id)
                    sent += 1
            return sent

    async def _attempt(self, pending: Pending) -> tuple[str, bool] | None:
        """Send one message; None when sent, else (error, whether trying again may work)."""
        try:
            await asyncio.wait_for(self.sender.deliver(pending), SEND_DEADLINE.total_seconds())
        except TimeoutError:
            # Cut off before the lease ends. It may have arrived: the next try looks first.
            return "timed out", True
        except DeliveryError as error:
            return str(error), error.transient
        except Exception as error:  # an unexpected fault is treated as passing, and logged (never its values)
            log.error("delivering outbox message %s failed: %s", pending.id, describe(error))
            return error.__class__.__name__, True
        return None

    async def drain(self, max_passes: int = 20) -> None:
        """Deliver until nothing more is due now (used at start and by tests)."""
        for _ in range(max_passes):
            if not await self.deliver_pending():
                return

    # ---------------------------------------------------------------- database side

    def _take_back_lapsed_claims(self) -> None:
        """Claims whose sender has gone: this instance's own from an earlier start at once, anyone's when the
        lease is over."""
        now = self.ctx.clock.now()
        with self.ctx.db.transaction() as session:
            session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.status == DeliveryStatus.SENDING,
                    or_(
                        OutboxMessage.next_attempt_at < now,
                        and_(OutboxMessage.claimed_by == self.instance_id, OutboxMessage.claimed_start != self.start),
                    ),
                )
                .values(status=DeliveryStatus.PENDING, next_attempt_at=None)
            )

    def _claim(self, limit: int = CLAIM_BATCH) -> list[Pending]:
        """Claim what is due now, at most one message per case: a case's message is claimed only when no
        earlier one of that case is still pending (waiting, or to be tried again) or being sent, by any
        instance, so a thread reply never overtakes its parent. On PostgreSQL the rows are locked with FOR
        UPDATE SKIP LOCKED: instances claiming at once skip each other's rows instead of waiting, and an
        earlier row another instance is claiming still counts as pending until that claim commits. On
        SQLite the claim's write lock (BEGIN IMMEDIATE) serialises claimers."""
        now = self.ctx.clock.now()
        earlier = aliased(OutboxMessage)
        with self.ctx.db.transaction() as session:
            rows = session.exec(
                select(OutboxMessage)
                .where(
                    OutboxMessage.status == DeliveryStatus.PENDING,
                    or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now),
                    ~exists().where(
                        earlier.escalation_id == OutboxMessage.escalation_id,
                        earlier.id < OutboxMessage.id,
                        earlier.status.in_((DeliveryStatus.PENDING, DeliveryStatus.SENDING)),
                    ),
                )
                .order_by(OutboxMessage.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).all()
            claimed = []
            for row in rows:
                row.status, row.next_attempt_at, row.attempts = DeliveryStatus.SENDING, now + LEASE, row.attempts + 1
                row.claimed_by, row.claimed_start = self.instance_id, self.start
                session.add(row)
                case = None
                if row.escalation_id is not None:
                    case = load_case(session, session.get(Escalation, row.escalation_id))
                person = session.get(Person, row.recipient_id) if row.recipient_id else None
                recipient = person_ref(person) if person is not None else None
                claimed.append(
                    Pending(
                        row.id,
                        row.topic,
                        row.audience,
                        dict(row.payload),
                        case,
                        recipient,
                        may_have_been_sent=row.attempts > 1,
                        created_at=row.created_at,
                        copy_by_email=bool(person is not None and person.email_copies and "@" in person.email),
                    )
                )
            return claimed

    def _sent(self, message_id: int) -> None:
        with self.ctx.db.transaction() as session:
            row = session.get(OutboxMessage, message_id)
            row.status, row.sent_at, row.next_attempt_at, row.last_error = (
                DeliveryStatus.SENT,
                self.ctx.clock.now(),
                None,
                "",
            )
            session.add(row)

    def _failed(self, pending: Pending, error: str, transient: bool) -> None:
        now = self.ctx.clock.now()
        with self.ctx.db.transaction() as session:
            row = session.get(OutboxMessage, pending.id)
            row.last_error = error[:500]
            if transient and row.attempts < self.max_attempts:
                row.status = DeliveryStatus.PENDING
                row.next_attempt_at = now + RETRY_GAPS[min(row.attempts - 1, len(RETRY_GAPS) - 1)]
                log.warning(
                    "outbox message %s not delivered (attempt %s), will try again: %s", row.id, row.attempts, error
                )
            else:
                row.status = DeliveryStatus.FAILED
                row.next_attempt_at = None
                log.error("outbox message %s failed for good: %s", row.id, error)
                # Never dropped: the raiser is asked to pass it on by hand, and the partnership team is told,
                # unless that notice is what failed.
                recipient, case = pending.recipient, pending.case
                if row.audience == topics.PERSON and case and recipient and recipient.key != case.raiser.key:
                    session.add(
                        OutboxMessage(
                            escalation_id=case.id,
                            topic=topics.CONTACT_BY_HAND,
                            audience=topics.PERSON,
                            recipient_id=session.get(Escalation, case.id).raiser_id,
                            payload={
                                **row.payload,
                                "about": row.topic,
                                "platform": recipient.platform,
                                "person": recipient.user_id,
                                "why": row.last_error,
                            },
                            created_at=now,
                        )
                    )
                if row.topic != "delivery_failed":
                    reference = pending.case.reference if pending.case else ""
                    session.add(
                        OutboxMessage(
                            escalation_id=None,
                            topic=topics.DELIVERY_FAILED,
                            audience=topics.PARTNERSHIP,
                            payload={"reference": reference, "topic": row.topic, "error": row.last_error},
                            created_at=now,
                        )
                    )
            session.add(row)
