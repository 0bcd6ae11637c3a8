"""Where the bot's messages about a case were posted, on each platform, so they can be updated in place."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlmodel import select

from flows.context import Context
from flows.people import PersonRef
from flows.records import person_ref
from storage.models import ChatMessage, Person

CARD, PARTNERSHIP_POST = "card", "partnership_post"


@dataclass(frozen=True)
class Post:
    kind: str  # CARD (a person's copy) or PARTNERSHIP_POST
    channel: str
    message_id: str
    lead: str  # the words above a card in a direct message, kept so an update keeps them
    reader: PersonRef | None  # whose copy a card is
    content_hash: str = ""  # what it last said (content_hash), "" when not known


def content_hash(content: Any) -> str:
    """A hash of what a message (or a view) says, as sent: equal when sending it again would change nothing."""
    drawn = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(drawn.encode()).hexdigest()


def remember_post(
    ctx: Context,
    escalation_id: int,
    platform: str,
    kind: str,
    channel: str,
    message_id: str,
    reader: PersonRef | None = None,
    lead: str = "",
    said: str = "",
) -> None:
    """`said`: the content_hash of what was posted."""
    with ctx.db.transaction() as session:
        # Already there when an earlier attempt recorded it and died before the message was marked sent.
        if session.exec(
            select(ChatMessage.id).where(
                ChatMessage.platform == platform, ChatMessage.channel == channel, ChatMessage.message_id == message_id
            )
        ).first():
            return
        person_id = None
        if reader is not None:
            person_id = session.exec(
                select(Person.id).where(Person.platform == reader.platform, Person.platform_user_id == reader.user_id)
            ).first()
        session.add(
            ChatMessage(
                escalation_id=escalation_id,
                platform=platform,
                kind=kind,
                channel=channel,
                message_id=message_id,
                person_id=person_id,
                lead=lead,
                content_hash=said,
            )
        )


def remember_content(ctx: Context, platform: str, channel: str, message_id: str, said: str) -> None:
    """What the message at (`channel`, `message_id`) says now, after an update: its content_hash."""
    with ctx.db.transaction() as session:
        session.execute(
            update(ChatMessage)
            .where(
                ChatMessage.platform == platform, ChatMessage.channel == channel, ChatMessage.message_id == message_id
            )
            .values(content_hash=said)
        )


def posts_of(ctx: Context, escalation_id: int, platform: str) -> list[Post]:
    """Every message about the case on `platform`, oldest first."""
    with ctx.db.read() as session:
        rows = session.exec(
            select(ChatMessage, Person)
            .join(Person, Person.id == ChatMessage.person_id, isouter=True)
            .where(ChatMessage.escalation_id == escalation_id, ChatMessage.platform == platform)
            .order_by(ChatMessage.id)
        ).all()
        return [
            Post(m.kind, m.channel, m.message_id, m.lead, person_ref(p) if p else None, m.content_hash) for m, p in rows
        ]
