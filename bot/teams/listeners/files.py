"""A file consent card answered (fileConsent/invoke): on accept the document is made again from the record (the
card's context holds only the reference, or the report's period, and the document's kind), checked for the
person who accepted, put into the upload session Teams opened in their OneDrive, and shown in the chat by the
file info card; on decline a short reply. Nothing of the document is kept while the card waits."""

from __future__ import annotations

import logging

import httpx
from microsoft_teams.api import FileConsentInvokeActivity, FileUploadInfo, MessageActivityInput
from microsoft_teams.apps import ActivityContext, App

from bot.logs import describe
from bot.teams import cards
from bot.teams.services import TeamsServices
from flows import permissions as can
from flows.errors import Refused
from flows.paperwork import Document, notification_form, record_for_file
from flows.people import PersonRef
from flows.permissions import RAISING, RECEIVING
from flows.report import check_may_have_report
from flows.report_posts import ASKED, XLSX, period_of, report_documents

log = logging.getLogger(__name__)


def _document(ctx, person: PersonRef, context: dict) -> Document:
    """The document the accepted card offered, made now, for the person who accepted it (checked and audited)."""
    kind = context.get("kind")
    if kind == can.REPORT:
        period = period_of(context)
        check_may_have_report(ctx, person, period)
        return next(d for d in report_documents(ctx, period, ASKED) if d.mime_type == XLSX)
    reference = context.get("r") if isinstance(context.get("r"), str) else ""
    if kind == can.NOTIFICATION_FORM:
        return notification_form(ctx, reference, person)
    if kind == can.RECORD_FOR_FILE:
        side = context.get("side") if context.get("side") in (RAISING, RECEIVING) else None
        return record_for_file(ctx, reference, person, side)
    raise Refused("That file could not be found. Please ask for it again.")


async def upload(upload_info: FileUploadInfo, content: bytes) -> None:
    """The bytes put into the OneDrive upload session in one request (its URL is pre-authorised: no token)."""
    size = len(content)
    headers = {"Content-Range": f"bytes 0-{size - 1}/{size}", "Content-Length": str(size)}
    async with httpx.AsyncClient(timeout=60) as client:
        response = await client.put(upload_info.upload_url, content=content, headers=headers)
        response.raise_for_status()


def register(app: App, services: TeamsServices) -> None:
    @app.on_file_consent
    async def answered(turn: ActivityContext[FileConsentInvokeActivity]) -> None:
        value = turn.activity.value
        context = value.context if isinstance(value.context, dict) else {}
        if value.action != "accept":
            await turn.send("No file was sent. Ask again from the case card whenever you want it.")
            return
        person = await services.directory.person(turn)
        try:
            document = await services.call(_document, person, context)
        except Refused as refused:
            await turn.send(refused.message)
            return
        try:
            await upload(value.upload_info, document.content)
        except httpx.HTTPError as error:
            log.error("a file upload to OneDrive failed: %s", describe(error))
            await turn.send("The file could not be put in your OneDrive. Please ask for it again.")
            return
        await turn.send(MessageActivityInput().add_attachments(cards.file_info(value.upload_info)))
