"""One person, several accounts. A person acts from Slack, Teams or e-mail; the accounts are linked by the
work e-mail address each platform's directory reports, so the same human is one person on a case and
permissions follow them, whichever platform they use.

Where a directory reports no e-mail address, that account cannot be linked: it is a person of its own
until an account with an address is seen for them (nothing is merged by name).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, select

from flows.context import Context
from flows.errors import Refused
from flows.people import EMAIL_PLATFORM, PersonRef
from flows.records import person_ref
from storage.atomic import insert_if_absent
from storage.models import Account, Person


def find_person(session: Session, ref: PersonRef) -> Person | None:
    """The person `ref` is, by its account or by its work e-mail address; None if never seen."""
    person = session.exec(
        select(Person)
        .join(Account, Account.person_id == Person.id)
        .where(Account.platform == ref.platform, Account.platform_user_id == ref.user_id)
    ).first()
    if person is None and ref.email:
        person = session.exec(
            select(Person).where(func.lower(Person.email) == ref.email.strip().lower()).order_by(Person.id)
        ).first()
    return person


def person_row(session: Session, ref: PersonRef) -> Person:
    """The stored person for `ref`, created on first sight, with this account linked; name and e-mail kept
    current. A chat account found for someone known so far only by e-mail becomes where they are messaged."""
    person = find_person(session, ref)
    if person is None:
        # Another instance may be creating the same person at this moment: one row either way.
        insert_if_absent(
            session,
            Person,
            ("platform", "platform_user_id"),
            platform=ref.platform,
            platform_user_id=ref.user_id,
            name=ref.name,
            email=ref.email,
        )
        person = session.exec(
            select(Person).where(Person.platform == ref.platform, Person.platform_user_id == ref.user_id)
        ).one()
    linked = session.exec(
        select(Account.id).where(Account.platform == ref.platform, Account.platform_user_id == ref.user_id)
    ).first()
    if linked is None:
        insert_if_absent(
            session,
            Account,
            ("platform", "platform_user_id"),
            person_id=person.id,
            platform=ref.platform,
            platform_user_id=ref.user_id,
        )
        if person.platform == EMAIL_PLATFORM and ref.platform != EMAIL_PLATFORM:
            person.platform, person.platform_user_id = ref.platform, ref.user_id
    if ref.name and ref.platform != EMAIL_PLATFORM and ref.name != person.name:
        person.name = ref.name
    elif ref.name and not person.name:
        person.name = ref.name
    if ref.email and not person.email:
        person.email = ref.email
    session.add(person)
    session.flush()
    return person


def acting_from(session: Session, ref: PersonRef) -> Person:
    """The person acting from `ref`'s account: from now on they are messaged there, on the chat platform where
    they last acted (someone in both Slack and Teams gets the bot's messages where they work with it)."""
    person = person_row(session, ref)
    if ref.platform != EMAIL_PLATFORM and (person.platform, person.platform_user_id) != (ref.platform, ref.user_id):
        person.platform, person.platform_user_id = ref.platform, ref.user_id
        session.add(person)
        session.flush()
    return person


def as_known(session: Session, ref: PersonRef) -> PersonRef:
    """`ref` as cases know the person (their row's account), or `ref` itself if never seen."""
    person = find_person(session, ref)
    return person_ref(person) if person is not None else ref


@dataclass(frozen=True)
class ChatAddress:
    """Where a platform takes a message to a person's account unprompted: for Teams, the personal chat with the
    bot (its conversation id and service URL, the tenant, and the id the bot knows the user by)."""

    conversation_id: str
    service_url: str
    tenant_id: str = ""
    chat_user_id: str = ""


def remember_chat_address(ctx: Context, ref: PersonRef, address: ChatAddress) -> PersonRef:
    """Keep where `ref`'s account is messaged (the person is created or linked by e-mail as on any first sight);
    returns the person as cases know them."""
    with ctx.db.transaction() as session:
        person = person_row(session, ref)
        account = session.exec(
            select(Account).where(Account.platform == ref.platform, Account.platform_user_id == ref.user_id)
        ).one()
        account.conversation_id, account.service_url = address.conversation_id, address.service_url
        account.tenant_id, account.chat_user_id = address.tenant_id, address.chat_user_id
        session.add(account)
        return person_ref(person)


def chat_address(ctx: Context, platform: str, user_id: str) -> ChatAddress | None:
    """Where the account is messaged, if the platform has told us (Teams: once the app is installed for them)."""
    with ctx.db.transaction() as session:
        account = session.exec(
            select(Account).where(Account.platform == platform, Account.platform_user_id == user_id)
        ).first()
        if account is None or not account.conversation_id:
            return None
        return ChatAddress(account.conversation_id, account.service_url, account.tenant_id, account.chat_user_id)


def known_account(ctx: Context, platform: str, user_id: str) -> PersonRef | None:
    """The person behind this account as last seen (name and work e-mail), or None if never seen."""
    with ctx.db.transaction() as session:
        person = session.exec(
            select(Person)
            .join(Account, Account.person_id == Person.id)
            .where(Account.platform == platform, Account.platform_user_id == user_id)
        ).first()
        if person is None:
            return None
        return PersonRef(platform, user_id, person.name, person.email)


def email_copies(ctx: Context, ref: PersonRef) -> bool | None:
    """Whether the person has chosen e-mail as well as chat; None when they cannot (e-mail is off, or their
    directory reports no work address for them)."""
    with ctx.db.read() as session:
        person = find_person(session, ref)
        email = person.email if person is not None else ref.email
        if not ctx.email_enabled or "@" not in (email or ""):
            return None
        return bool(person is not None and person.email_copies)


def choose_email_copies(ctx: Context, ref: PersonRef, wanted: bool) -> bool:
    """The person's own choice to have what the bot sends them in chat by e-mail as well; returns it as kept."""
    with ctx.db.transaction() as session:
        person = person_row(session, ref)
        if wanted and (not ctx.email_enabled or "@" not in person.email):
            raise Refused(
                "The bot cannot e-mail you: e-mail is not set up here, or your work address is not known to it.",
                field="email_copies",
            )
        person.email_copies = wanted
        session.add(person)
        return wanted
