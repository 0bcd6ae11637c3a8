"""Sends outbox messages to people by e-mail, over SMTP (aiosmtplib).

Each e-mail has one Message-ID drawn from its outbox id, so a send tried again after a crash carries
the same id (a mail system or reader that sees it twice can tell). A 4xx reply, a dropped connection
or a timeout is tried again later by the outbox; a 5xx reply is a permanent failure.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

import aiosmtplib

from bot.outbox import DeliveryError, Pending
from flows.context import Context
from flows.notices import Notice, person_notice, plain_text

# Below the outbox's send deadline, so a send is never cut off by the outbox mid-conversation.
SMTP_TIMEOUT = 30


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 587
    username: str = ""
    password: str = ""
    starttls: bool = True
    mail_from: str = ""


def message_id(outbox_id: int, mail_from: str) -> str:
    """The same for every try of one outbox message."""
    domain = mail_from.rpartition("@")[2] or "escalation-bot.invalid"
    return f"<escalation-bot.outbox-{outbox_id}@{domain}>"


def html_body(notice: Notice) -> str:
    """The notice as HTML: everything in it escaped."""
    e = html.escape
    rows = "".join(
        f'<tr><th align="left" valign="top">{e(label)}</th><td>{e(value)}</td></tr>' for label, value in notice.facts
    )
    return (
        f"<!DOCTYPE html><html><body><p>{e(notice.lead)}</p><table>{rows}</table>"
        f"<p><strong>What is asked of you:</strong> {e(notice.asked)}</p>"
        f"<p><strong>Who to contact:</strong> {e(notice.contact)}</p></body></html>"
    )


def compose(notice: Notice, *, to_name: str, to_email: str, mail_from: str, outbox_id: int, now) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = mail_from
    mail["To"] = formataddr((to_name, to_email))
    mail["Subject"] = notice.subject
    mail["Date"] = format_datetime(now)
    mail["Message-ID"] = message_id(outbox_id, mail_from)
    # Sent by a program: out-of-office replies and other robots should not answer it (RFC 3834).
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content(plain_text(notice))
    mail.add_alternative(html_body(notice), subtype="html")
    return mail


class EmailSender:
    def __init__(self, ctx: Context, settings: SmtpSettings):
        self.ctx, self.settings = ctx, settings

    async def deliver(self, message: Pending) -> None:
        recipient = message.recipient
        if message.audience != "person" or recipient is None or message.case is None or "@" not in recipient.email:
            raise DeliveryError("no e-mail address to send to", transient=False)
        now = self.ctx.clock.now()
        notice = person_notice(message.topic, message.case, message.payload, now, recipient, self.ctx.policy)
        mail = compose(
            notice,
            to_name=recipient.name,
            to_email=recipient.email,
            mail_from=self.settings.mail_from,
            outbox_id=message.id,
            now=now,
        )
        s = self.settings
        try:
            await aiosmtplib.send(
                mail,
                hostname=s.host,
                port=s.port,
                username=s.username or None,
                password=s.password or None,
                start_tls=s.starttls,
                timeout=SMTP_TIMEOUT,
            )
        except aiosmtplib.SMTPRecipientsRefused as error:
            codes = [refused.code for refused in error.recipients]
            raise DeliveryError(f"smtp {codes}", transient=all(400 <= c < 500 for c in codes)) from None
        except aiosmtplib.SMTPResponseException as error:
            raise DeliveryError(f"smtp {error.code}", transient=400 <= error.code < 500) from None
        except (OSError, TimeoutError) as error:  # connection refused or dropped, timeouts (aiosmtplib's too)
            raise DeliveryError(f"connection: {error.__class__.__name__}", transient=True) from None
        except aiosmtplib.SMTPException as error:  # e.g. STARTTLS asked for and not offered: settings to fix
            raise DeliveryError(f"smtp: {error.__class__.__name__}", transient=False) from None
