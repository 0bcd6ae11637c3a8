"""A mail server on 127.0.0.1 that keeps what arrives (aiosmtpd): the sandbox's inbox, and the tests'.

It speaks real SMTP, so the bot's sender is exercised as it is against a real server. It can refuse a
share of messages with 451 (try again later), drawn from a seeded generator, to test retries.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage

from aiosmtpd.smtp import SMTP


@dataclass(frozen=True)
class Arrived:
    recipients: tuple[str, ...]
    mail: EmailMessage

    @property
    def plain(self) -> str:
        return self.mail.get_body(("plain",)).get_content()

    @property
    def html(self) -> str:
        return self.mail.get_body(("html",)).get_content()


class Inbox:
    """An aiosmtpd handler that keeps every message it accepts, in order."""

    def __init__(self, *, failure_rate: float = 0.0, seed: int = 0):
        self.arrived: list[Arrived] = []
        self.failure_rate, self.failures_injected = failure_rate, 0
        self.random = random.Random(seed)
        self._server: asyncio.AbstractServer | None = None

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.failure_rate and self.random.random() < self.failure_rate:
            self.failures_injected += 1
            return "451 4.3.0 Try again later"
        mail = message_from_bytes(envelope.original_content or envelope.content, policy=email_policy.default)
        self.arrived.append(Arrived(tuple(address.lower() for address in envelope.rcpt_tos), mail))
        return "250 OK"

    def to(self, address: str) -> list[Arrived]:
        return [m for m in self.arrived if address.lower() in m.recipients]

    async def start(self, port: int = 0) -> int:
        """Listen on 127.0.0.1 in the running event loop; returns the port."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: SMTP(self, hostname="inbox.localhost"), "127.0.0.1", port)
        return self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
