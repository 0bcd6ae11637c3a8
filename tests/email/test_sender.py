"""The e-mail sender against a real SMTP server on 127.0.0.1 (aiosmtpd)."""

import socket
from dataclasses import replace

import pytest

from bot.email.inbox import Inbox
from bot.email.sender import EmailSender, SmtpSettings
from bot.outbox import DeliveryError, Pending
from flows import topics
from flows.people import PersonRef
from tests.flows.steps import open_case

GP = PersonRef.by_email("Dr Gita Rao", "gita.rao@nhs.net")
HOSTILE = "<script>alert('x')</script> & <b>bold</b>"


@pytest.fixture
async def inbox():
    server = Inbox()
    server.port = await server.start()
    yield server
    await server.stop()


def sender_for(ctx, port: int) -> EmailSender:
    return EmailSender(
        ctx, SmtpSettings(host="127.0.0.1", port=port, starttls=False, mail_from="escalations@cscp.example")
    )


def invitation(ctx, outbox_id: int = 41) -> Pending:
    case = open_case(ctx, professionals=[GP], evidence_of_need=f"Absence. {HOSTILE}")
    return Pending(outbox_id, topics.INVITED_TO_TALK, topics.PERSON, {"stage": 1}, case, GP)


async def test_an_email_has_plain_text_and_escaped_html_and_says_it_is_automatic(ctx, inbox):
    await sender_for(ctx, inbox.port).deliver(invitation(ctx))
    (arrived,) = inbox.to("gita.rao@nhs.net")
    mail = arrived.mail
    assert mail["Subject"] == "ESC-2026-0001: invitation to talk a disagreement through (Stage 1)"
    assert mail["From"] == "escalations@cscp.example"
    assert mail["To"] == "Dr Gita Rao <gita.rao@nhs.net>"
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["Message-ID"] == "<escalation-bot.outbox-41@cscp.example>"
    assert mail.get_content_type() == "multipart/alternative"
    # nhs.net is a secure domain: the details go, as typed in the plain part and escaped in the HTML.
    assert HOSTILE in arrived.plain and "Child's initials: J.S." in arrived.plain
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in arrived.html
    assert "<script>" not in arrived.html and "<b>bold" not in arrived.html


async def test_the_same_outbox_message_sent_again_has_the_same_message_id(ctx, inbox):
    pending = invitation(ctx)
    sender = sender_for(ctx, inbox.port)
    await sender.deliver(pending)
    await sender.deliver(replace(pending, may_have_been_sent=True))  # a try again after a crash
    ids = [m.mail["Message-ID"] for m in inbox.arrived]
    assert len(ids) == 2 and len(set(ids)) == 1
    await sender.deliver(replace(pending, id=42))
    assert inbox.arrived[-1].mail["Message-ID"] == "<escalation-bot.outbox-42@cscp.example>"


class Refusing(Inbox):
    def __init__(self, reply: str):
        super().__init__()
        self.reply = reply

    async def handle_DATA(self, server, session, envelope):
        return self.reply


@pytest.mark.parametrize(
    "reply, transient",
    [
        ("451 4.3.0 Try again later", True),
        ("421 4.4.2 Closing connection", True),
        ("550 5.1.1 No such mailbox", False),
        ("554 5.7.1 Rejected", False),
    ],
)
async def test_4xx_replies_are_tried_again_and_5xx_are_permanent(ctx, reply, transient):
    server = Refusing(reply)
    port = await server.start()
    try:
        with pytest.raises(DeliveryError) as raised:
            await sender_for(ctx, port).deliver(invitation(ctx))
    finally:
        await server.stop()
    assert raised.value.transient is transient
    assert str(raised.value) == f"smtp {reply[:3]}"


async def test_no_server_listening_is_tried_again(ctx):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(DeliveryError) as raised:
        await sender_for(ctx, port).deliver(invitation(ctx))
    assert raised.value.transient


async def test_someone_with_no_address_is_a_permanent_failure(ctx, inbox):
    pending = invitation(ctx)
    with pytest.raises(DeliveryError) as raised:
        await sender_for(ctx, inbox.port).deliver(replace(pending, recipient=PersonRef("slack", "U1", "Someone")))
    assert not raised.value.transient and not inbox.arrived
