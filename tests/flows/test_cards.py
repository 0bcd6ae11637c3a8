"""A reader's copy of the card: current for those who hold the case, settled for those it has moved on from."""

from flows import escalations as lifecycle
from flows import permissions as can
from flows.cards import reader_card
from tests.conftest import DIRECTOR, MASH_MANAGER, MASH_WORKER, SERVICE_MANAGER, TEACHER, TEACHER_MANAGER
from tests.flows.steps import open_case, outcome, to_stage


def test_the_holders_copies_are_current_and_the_others_settle_and_stay_as_they_are(ctx):
    case = open_case(ctx)
    now = ctx.clock.now()
    assert not reader_card(ctx, case, TEACHER, now).settled
    assert not reader_card(ctx, case, MASH_WORKER, now).settled

    case = to_stage(ctx, case, 2)
    at_two = {who: reader_card(ctx, case, who, now) for who in (TEACHER, MASH_WORKER, TEACHER_MANAGER)}
    assert not at_two[TEACHER_MANAGER].settled and at_two[TEACHER_MANAGER].version == case.version
    raiser, worker = at_two[TEACHER], at_two[MASH_WORKER]
    assert raiser.settled and worker.settled and raiser.version is None and raiser.deadline is None
    assert "You raised it and held Stage 1 (Frontline practitioners)" in str(raiser.sections)
    assert "You held Stage 1 (Frontline practitioners)" in str(worker.sections)
    # The same buttons whatever the stage: a note, the details, the raiser's corrections, the record; no decision.
    assert [a.id for a in raiser.actions] == [
        can.NOTE,
        can.CORRECT_DETAILS,
        can.DETAILS,
        "history",
        can.RECORD_FOR_FILE,
    ]
    assert can.CORRECT_DETAILS not in [a.id for a in worker.actions]

    # Two stages on, and closed: the settled copies say exactly what they said, so they are never redrawn.
    case = to_stage(ctx, case, 4)
    assert reader_card(ctx, case, TEACHER, now) == raiser
    assert reader_card(ctx, case, MASH_WORKER, now) == worker
    assert reader_card(ctx, case, MASH_MANAGER, now).settled
    assert "You held Stage 3 (Service managers)" in str(reader_card(ctx, case, SERVICE_MANAGER, now).sections)
    assert not reader_card(ctx, case, DIRECTOR, now).settled
    case = lifecycle.resolve(ctx, case.reference, DIRECTOR, version=case.version, outcome=outcome(4))
    assert not case.is_open
    assert reader_card(ctx, case, TEACHER, now) == raiser
    closed = reader_card(ctx, case, DIRECTOR, now)  # who held the last stage: the outcome, no decisions left
    assert not closed.settled and "Resolved at Stage 4" in str(closed.sections)
    assert can.ESCALATE not in [a.id for a in closed.actions]
