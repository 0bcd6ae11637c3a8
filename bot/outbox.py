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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
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
# How many messages one instance has claimed and not yet finished at most: the bound on sending side by side.
# Kept well inside what a lease allows when they all wait for one conversation's pacing (a second each).
CONCURRENCY = 32
RETRY_GAPS = [timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1)]


class DeliveryError(Exception):
    """`words_sent`: the message's words reached the person; what failed is the document that came with them."""

    def __init__(self, message: str, *, transient: bool, words_sent: bool = False):
        super().__init__(message)
        self.transient, self.words_sent = transient, words_sent


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
    escalation_id: int | None = None
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
        partly: DeliveryError | None = None
        for index, sender in enumerate(self._senders(message)):
            if index in done:
                continue
            try:
                await sender.deliver(message)
            except DeliveryError as error:
                if not error.words_sent:
                    raise
                partly = error  # its words went, only a document did not: the e-mail copy still goes
            done.add(index)
        del self._done[message.id]
        if partly is not None:
            raise partly


def conversation_of(message: Pending) -> tuple:
    """Where a message goes, as far as order matters: a person's chat, the partnership's channel, or (for every
    copy of a case's cards, updated in place) the case itself."""
    if message.audience == topics.PERSON and message.recipient is not None:
        return (topics.PERSON, message.recipient.platform, message.recipient.user_id)
    case_id = message.escalation_id if message.escalation_id is not None else message.case and message.case.id
    if message.audience == topics.CARDS and case_id is not None:
        return (topics.CARDS, case_id)
    return (message.audience,)


async def wait_for_wake(wake: asyncio.Event, timeout: float) -> None:
    """Until something is written to the outbox, or `timeout` seconds."""
    try:
        await asyncio.wait_for(wake.wait(), timeout=timeout)
    except TimeoutError:
        pass


class Outbox:
    """Delivers concurrently, at most `concurrency` messages claimed at once by this instance: different
    conversations side by side, each conversation's messages one after another in the order written (and,
    through the claim, each case's). A pass claims again as soon as a message is done, so it drains while
    anything is due; it waits (`idle_wait`, injected by tests) only when nothing can be claimed."""

    def __init__(
        self,
        ctx: Context,
        sender: Sender,
        *,
        max_attempts: int = MAX_ATTEMPTS,
        instance_id: str,
        concurrency: int = CONCURRENCY,
        idle_wait: Callable[[asyncio.Event, float], Awaitable[None]] = wait_for_wake,
    ):
        self.ctx, self.sender, self.max_attempts = ctx, sender, max_attempts
        self.concurrency, self.idle_wait = concurrency, idle_wait
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
            self._wake.clear()
            try:
                await self.deliver_pending()
            except Exception as error:  # keep delivering whatever one pass met
                log.error("outbox pass failed: %s", describe(error))
            if not self._wake.is_set():  # written while the pass ran: straight on
                await self.idle_wait(self._wake, idle_seconds)

    async def deliver_pending(self) -> int:
        """Deliver until nothing more can be claimed now; returns how many were sent. Passes never overlap in
        one process; across instances the claim keeps each case's order (see _claim). What was sent is recorded
        in the transaction of the next claim, so that claim sees it (a case's next message may go)."""
        async with self._lock:
            await asyncio.to_thread(self._take_back_lapsed_claims)
            running: set[asyncio.Task] = set()
            last_in: dict[tuple, asyncio.Task] = {}  # each conversation's latest message, to follow it
            sent, done_ids = 0, []
            try:
                while True:
                    room = self.concurrency - len(running)
                    limit = min(room, CLAIM_BATCH)
                    batch = await asyncio.to_thread(self._claim, limit, done_ids) if room > 0 or done_ids else []
                    sent, done_ids = sent + len(done_ids), []
                    for claimed in batch:
                        key = conversation_of(claimed)
                        task = asyncio.create_task(self._deliver_one(claimed, after=last_in.get(key)))
                        last_in[key] = task
                        running.add(task)
                    if not running:
                        return sent
                    done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                    done_ids = [task.result() for task in done if task.result() is not None]
                    for key in [k for k, t in last_in.items() if t.done()]:
                        del last_in[key]
            finally:
                # A pass stopped (the bot shutting down, or a fault): its sends stop with it, as one send did.
                for task in running:
                    task.cancel()
                if running:
                    await asyncio.wait(running)

    async def _deliver_one(self, claimed: Pending, after: asyncio.Task | None) -> int | None:
        """Send one message once the one before it in its conversation is done: its id when sent (recorded
        with the next claim), None when it failed (recorded here)."""
        if after is not None:
            await asyncio.wait([after])
        try:
            pending = await asyncio.to_thread(self._with_case, claimed)
        except Exception as error:
            pending, failure = claimed, (error.__class__.__name__, True, False)
            log.error("reading outbox message %s failed: %s", claimed.id, describe(error))
        else:
            failure = await self._attempt(pending)
        if failure is None:
            return pending.id
        try:
            await asyncio.to_thread(self._failed, pending, *failure)
        except Exception as error:  # the record failed: the lease lapses and the row is looked for and tried again
            log.error("recording outbox message %s failed: %s", pending.id, describe(error))
        return None

    async def _attempt(self, pending: Pending) -> tuple[str, bool, bool] | None:
        """Send one message; None when sent, else (error, whether trying again may work, whether its words went)."""
        try:
            await asyncio.wait_for(self.sender.deliver(pending), SEND_DEADLINE.total_seconds())
        except TimeoutError:
            # Cut off before the lease ends. It may have arrived: the next try looks first.
            return "timed out", True, False
        except DeliveryError as error:
            return str(error), error.transient, error.words_sent
        except Exception as error:  # an unexpected fault is treated as passing, and logged (never its values)
            log.error("delivering outbox message %s failed: %s", pending.id, describe(error))
            return error.__class__.__name__, True, False
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

    def _claim(self, limit: int = CLAIM_BATCH, sent_ids: list[int] = ()) -> list[Pending]:
        """Claim what is due now, at most one message per case and per conversation (a person's chat, the
        partnership's channel): a message is claimed only when no earlier one of its case or its conversation is
        still pending (waiting, or to be tried again) or being sent, by any instance, so a thread reply never
        overtakes its parent and a person's messages arrive in the order written. On PostgreSQL the rows are
        locked with FOR UPDATE SKIP LOCKED: instances claiming at once skip each other's rows instead of waiting, and an
        earlier row another instance is claiming still counts as pending until that claim commits. On
        SQLite the claim's write lock (BEGIN IMMEDIATE) serialises claimers. First `sent_ids` are recorded as
        sent. The claimed messages come without their case: each sender's task reads it (_with_case), outside the
        claim's short transaction."""
        now = self.ctx.clock.now()
        earlier = aliased(OutboxMessage)
        with self.ctx.db.transaction() as session:
            if sent_ids:
                session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id.in_(sent_ids))
                    .values(status=DeliveryStatus.SENT, sent_at=now, next_attempt_at=None, last_error="")
                )
            if limit <= 0:
                return []
            rows = session.exec(
                select(OutboxMessage)
                .where(
                    OutboxMessage.status == DeliveryStatus.PENDING,
                    or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now),
                    ~exists().where(
                        earlier.id < OutboxMessage.id,
                        earlier.status.in_((DeliveryStatus.PENDING, DeliveryStatus.SENDING)),
                        or_(
                            earlier.escalation_id == OutboxMessage.escalation_id,
                            # the same conversation: one person's chat, or the partnership's channel
                            and_(
                                OutboxMessage.audience == topics.PERSON,
                                earlier.audience == topics.PERSON,
                                earlier.recipient_id == OutboxMessage.recipient_id,
                            ),
                            and_(OutboxMessage.audience == topics.PARTNERSHIP, earlier.audience == topics.PARTNERSHIP),
                        ),
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
                person = session.get(Person, row.recipient_id) if row.recipient_id else None
                recipient = person_ref(person) if person is not None else None
                claimed.append(
                    Pending(
                        row.id,
                        row.topic,
                        row.audience,
                        dict(row.payload),
                        None,
                        recipient,
                        may_have_been_sent=row.attempts > 1,
                        created_at=row.created_at,
                        escalation_id=row.escalation_id,
                        copy_by_email=bool(person is not None and person.email_copies and "@" in person.email),
                    )
                )
            return claimed

    def _with_case(self, claimed: Pending) -> Pending:
        """The claimed message with its case as it is now."""
        if claimed.escalation_id is None:
            return claimed
        with self.ctx.db.read() as session:
            return replace(claimed, case=load_case(session, session.get(Escalation, claimed.escalation_id)))

    def _failed(self, pending: Pending, error: str, transient: bool, words_sent: bool = False) -> None:
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
                # Never dropped: the raiser is asked to pass it on by hand (unless its words went, and only the
                # document with them did not: the team can send that), and the partnership team is told, unless
                # that notice is what failed.
                recipient, case = pending.recipient, pending.case
                to_pass_on = {k: v for k, v in row.payload.items() if k != "document"}  # another side's record
                if (
                    row.audience == topics.PERSON
                    and not words_sent
                    and case
                    and recipient
                    and recipient.key != case.raiser.key
                ):
                    session.add(
                        OutboxMessage(
                            escalation_id=case.id,
                            topic=topics.CONTACT_BY_HAND,
                            audience=topics.PERSON,
                            recipient_id=session.get(Escalation, case.id).raiser_id,
                            payload={
                                **to_pass_on,
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
