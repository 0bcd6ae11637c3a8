"""A child's identifier typed into a form comes back as an error at its field, over signed HTTP; nothing is saved."""

import logging

from sqlmodel import select

from storage.models import AuditEvent, CaseNote, Escalation, OutboxMessage
from tests.slack.conftest import PEOPLE
from tests.slack.test_escalate_end_to_end import FORM, press, raise_case


def _rows(running, model) -> int:
    with running.ctx.db.transaction() as session:
        return len(session.exec(select(model)).all())


async def test_a_postcode_in_key_dates_is_an_inline_error_and_nothing_is_saved(running, caplog):
    caplog.set_level(logging.INFO)
    teacher = PEOPLE["teacher"].id
    form = dict(FORM, key_dates="Referral 20 March 2026; home visit at CR0 1NX on 24 March 2026.")
    reply = await raise_case(running, form=form)

    assert reply.status == 200 and reply.body["response_action"] == "errors"
    assert reply.body["errors"] == {
        "key_dates": "Initials only; no names, dates of birth, addresses or contact "
        "details. This looks like a postcode: please remove it."
    }
    # The form stays open, its hint saying a name cannot be spotted, for the person to correct.
    form_view = running.standin.open_view(teacher)
    assert form_view["callback_id"] == "escalate_form"
    assert "a name cannot be spotted automatically" in str(form_view["blocks"])
    for model in (Escalation, AuditEvent, OutboxMessage):
        assert _rows(running, model) == 0, model.__name__
    assert running.dms("teacher") == [] and running.dms("mash") == []
    assert "CR0 1NX" not in caplog.text

    # Corrected, the same form raises the case.
    reply = await running.slack.submit(teacher, dict(form, key_dates="Referral 20 March 2026; home visit 24 March."))
    await running.deliver()
    assert reply.body["response_action"] == "update"
    assert _rows(running, Escalation) == 1


async def test_a_phone_number_in_a_note_is_an_inline_error_and_no_note_is_saved(running):
    await raise_case(running)
    audit = _rows(running, AuditEvent)
    reply, _ = await press(
        running, "teacher", "case_note", {"note_kind": "call", "note_text": "Mum asked us to ring her on 07700 900123."}
    )
    assert reply.body["response_action"] == "errors"
    assert "This looks like a phone number" in reply.body["errors"]["note_text"]
    assert _rows(running, CaseNote) == 0 and _rows(running, AuditEvent) == audit
