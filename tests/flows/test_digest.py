"""The weekly digest's figures, checked against a known set of cases; posted once, even after downtime."""

from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta

from sqlmodel import select

from flows import escalations as lifecycle
from flows.digest import Digest, build_digest, digest_text, digest_week_due, record_due_digest
from storage.models import DigestSent, OutboxMessage
from tests.conftest import SERVICE_MANAGER, TEACHER, TEACHER_MANAGER, a_form
from tests.flows.steps import outcome, to_stage

UTC = UTC


def opened(ctx, **changes):
    return lifecycle.open_escalation(
        ctx, TEACHER, a_form(**changes), child_at_immediate_risk=False, discussed_with_manager=True
    )


def up(ctx, case, stages):
    return to_stage(ctx, case, case.current_stage + stages)


def known_cases(ctx, clock):
    """Five cases, opened Wednesday 1 April 2026 and moved on as the comments say."""
    a = up(ctx, opened(ctx, themes=["Information sharing"]), 2)  # Stage 3
    b = opened(
        ctx, raiser_agency="Health: GP", other_agency="Early Help", themes=["Information sharing", "Service provision"]
    )
    d = opened(ctx, themes=["Criteria for referrals"])  # stays at Stage 1: not the partnership's
    e = up(ctx, opened(ctx), 1)
    lifecycle.withdraw(ctx, e.reference, TEACHER_MANAGER, version=e.version, reason="Agreed.")  # withdrawn at Stage 2
    clock.set(datetime(2026, 4, 8, 10, 0, tzinfo=UTC))  # Wednesday 8 April
    b = up(ctx, b, 3)  # Stage 4, due Friday 17 April
    c = up(ctx, opened(ctx, other_agency="Metropolitan Police", themes=["Timeliness of interventions"]), 2)
    c = lifecycle.resolve(
        ctx,
        c.reference,
        SERVICE_MANAGER,
        version=c.version,
        outcome=outcome(
            3,
            decision_outcome="Joint strategy meeting.",
            key_learning="Invite police early.",
            outcome_date=date(2026, 4, 8),
        ),
    )
    return a, b, c, d, e


def test_the_digest_figures_match_a_known_set_of_cases(ctx, clock):
    a, b, c, d, e = known_cases(ctx, clock)
    now = datetime(2026, 4, 13, 8, 0, tzinfo=UTC)  # Monday 13 April, 09:00 BST
    clock.set(now)
    digest = build_digest(ctx, covers_from=datetime(2026, 4, 6, 8, 0, tzinfo=UTC), now=now)
    assert digest.open_by_stage == [(3, "Service managers", 1), (4, "Directors", 1), (5, "CSCP Executive", 0)]
    # a: Stage 3 since 1 April, due Tuesday 14 April: due this week, not overdue. b: Stage 4 due Friday 17.
    assert digest.overdue == []
    assert [(line.reference, line.stage, line.due_on, line.working_days) for line in digest.due_this_week] == [
        (a.reference, 3, "2026-04-14", 1),
        (b.reference, 4, "2026-04-17", 4),
    ]
    assert [(o.reference, o.stage, o.outcome, o.key_learning) for o in digest.closed] == [
        (c.reference, 3, "Action was agreed", "Invite police early.")
    ]
    # Only the cases the partnership may see count: a, b and c (not d at Stage 1, not e withdrawn at 2).
    assert dict(digest.by_theme) == {"Information sharing": 2, "Service provision": 1, "Timeliness of interventions": 1}
    assert dict(digest.by_agency_raising) == {"School or college": 2, "Health: GP": 1}
    assert dict(digest.by_agency_receiving) == {
        "Children's Social Care (MASH)": 1,
        "Early Help": 1,
        "Metropolitan Police": 1,
    }
    text = digest_text(digest)
    assert d.reference not in text and e.reference not in text
    assert Digest.from_payload(digest.to_payload()) == digest
    assert digest.to_payload() == asdict(digest)  # built by hand, for speed

    later = datetime(2026, 4, 16, 8, 0, tzinfo=UTC)  # Thursday: a is now overdue by 2 working days
    overdue = build_digest(ctx, covers_from=now, now=later).overdue
    assert [(line.reference, line.working_days) for line in overdue] == [(a.reference, 2)]


def test_the_digest_is_due_monday_9am_and_after_a_bank_holiday_the_next_working_morning(ctx):
    assert digest_week_due(ctx, datetime(2026, 4, 13, 7, 59, tzinfo=UTC)) == date(2026, 4, 6)
    assert digest_week_due(ctx, datetime(2026, 4, 13, 8, 0, tzinfo=UTC)) == date(2026, 4, 13)
    # Easter Monday, 6 April 2026: the digest goes on Tuesday at 9:00.
    assert digest_week_due(ctx, datetime(2026, 4, 6, 12, 0, tzinfo=UTC)) == date(2026, 3, 30)
    assert digest_week_due(ctx, datetime(2026, 4, 7, 8, 0, tzinfo=UTC)) == date(2026, 4, 6)


def test_no_digest_is_posted_for_a_week_before_the_first_case(ctx, clock):
    # Monday 13 April, 9:30 in London: the digest is due, but nothing has ever been raised.
    clock.set(datetime(2026, 4, 13, 8, 30, tzinfo=UTC))
    assert record_due_digest(ctx) is False
    # The first case, on Tuesday: that Monday's digest (due before it) is still not posted, later or after a restart.
    clock.set(datetime(2026, 4, 14, 10, 0, tzinfo=UTC))
    opened(ctx)
    assert record_due_digest(ctx) is False
    clock.set(datetime(2026, 4, 17, 15, 0, tzinfo=UTC))
    assert record_due_digest(ctx) is False
    with ctx.db.transaction() as session:
        assert not session.exec(select(DigestSent)).all()
        assert not session.exec(select(OutboxMessage).where(OutboxMessage.topic == "digest")).all()
    # The next Monday's is the first, with the case in it.
    clock.set(datetime(2026, 4, 20, 8, 30, tzinfo=UTC))
    assert record_due_digest(ctx) is True
    with ctx.db.transaction() as session:
        assert [d.week_of for d in session.exec(select(DigestSent)).all()] == [date(2026, 4, 20)]


def test_a_digest_missed_while_the_bot_was_down_is_posted_once(ctx, clock):
    opened(ctx)  # on Wednesday 1 April: the digests from then on are due
    clock.set(datetime(2026, 4, 13, 8, 30, tzinfo=UTC))
    assert record_due_digest(ctx) is True
    assert record_due_digest(ctx) is False
    # Down from Sunday 19 April to Wednesday 22 April: Monday 20's digest goes once, on return.
    clock.set(datetime(2026, 4, 22, 11, 0, tzinfo=UTC))
    assert record_due_digest(ctx) is True
    clock.advance(timedelta(hours=2))
    assert record_due_digest(ctx) is False
    with ctx.db.transaction() as session:
        weeks = [d.week_of for d in session.exec(select(DigestSent).order_by(DigestSent.id)).all()]
        posts = session.exec(select(OutboxMessage).where(OutboxMessage.topic == "digest")).all()
    assert weeks == [date(2026, 4, 13), date(2026, 4, 20)]
    assert len(posts) == 2
    # The second covers from when the first was made.
    assert posts[1].payload["covers_from"] == datetime(2026, 4, 13, 8, 30, tzinfo=UTC).isoformat()
