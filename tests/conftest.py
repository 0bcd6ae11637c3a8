from __future__ import annotations

from datetime import UTC, datetime

import pytest

from flows import topics
from flows.clock import ManualClock
from flows.context import Context
from flows.escalations import EscalationForm
from flows.people import PersonRef
from flows.policy import load_policy
from storage.db import Database
from storage.models import OutboxMessage
from tests.databases import POSTGRESQL, SQLITE, TestDatabases

# Wednesday 1 April 2026, 10:00 London (BST): Good Friday and Easter Monday follow.
WED_1_APRIL_2026 = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)

TEACHER = PersonRef("slack", "U0TEACHER", "Tess Teacher", "tess@school.example")
MASH_WORKER = PersonRef("slack", "U0MASH", "Sam Social", "sam@mash.example")
TEACHER_MANAGER = PersonRef("slack", "U0HEAD", "Hari Head", "hari@school.example")
MASH_MANAGER = PersonRef("slack", "U0MASHMGR", "Mo Manager", "mo@mash.example")
SERVICE_MANAGER = PersonRef("slack", "U0SERVICE", "Sue Service", "sue@croydon.example")
DIRECTOR = PersonRef("slack", "U0DIRECTOR", "Dee Director", "dee@croydon.example")
MASH_SERVICE = PersonRef("slack", "U0MASHSM", "Mia Service", "mia@mash.example")
MASH_DIRECTOR = PersonRef("slack", "U0MASHDIR", "Max Director", "max@mash.example")
EXECUTIVE = PersonRef("teams", "29:exec", "Eve Executive", "eve@cscp.example")
SCRUTINEER = PersonRef("slack", "U0SCRUT", "Ian Scrutineer", "ian@cscp.example")
CSCP_MEMBER = PersonRef("slack", "U0CSCP", "Cat CSCP", "cat@cscp.example")
STRANGER = PersonRef("slack", "U0STRANGER", "Stan Stranger", "stan@else.example")


def a_form(**changes) -> EscalationForm:
    values = dict(
        child_initials="J.S.",
        child_case_reference="MOS-123456",
        level_of_need="Child in Need",
        raiser_role="Designated safeguarding lead",
        raiser_agency="School or college",
        other_agency="Children's Social Care (MASH)",
        themes=["Levels of safeguarding or protection need"],
        key_dates="Referral to MASH on 20 March 2026; decision 25 March 2026.",
        evidence_of_need="Repeated absence and disclosures to the class teacher.",
        decision_disagreed="MASH did not accept the referral (no further action).",
        interventions_to_date="Early Help assessment; school nurse involved.",
        outcome_wanted="A Child and Family assessment.",
        professionals=[MASH_WORKER],
    )
    values.update(changes)
    return EscalationForm(**values)


def pytest_addoption(parser):
    parser.addoption(
        "--database",
        choices=(SQLITE, POSTGRESQL),
        default=SQLITE,
        help="run the tests on SQLite files (default) or on a PostgreSQL server the tests start themselves",
    )


@pytest.fixture(scope="session")
def databases(request):
    """The kind of database this run tests, and where fresh ones come from (see tests/databases.py)."""
    made = TestDatabases(request.config.getoption("--database"))
    yield made
    made.stop()


@pytest.fixture
def new_database_url(databases, tmp_path):
    """Make fresh databases for one test: `new_database_url()` a migrated one, `(empty=True)` one with no schema."""
    yield lambda empty=False: databases.new(tmp_path, empty=empty)
    if databases.server is not None:
        databases.drop_made()


@pytest.fixture
def database_url(new_database_url) -> str:
    return new_database_url()


@pytest.fixture
def database(database_url) -> Database:
    db = Database(database_url)
    yield db
    db.dispose()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(WED_1_APRIL_2026)


@pytest.fixture
def ctx(database, clock) -> Context:
    return Context(
        db=database,
        policy=load_policy(),
        clock=clock,
        partnership_members=frozenset({CSCP_MEMBER.key}),
        executive=(EXECUTIVE,),
        scrutineer=SCRUTINEER,
    )


def redraw_every_copy(ctx: Context, escalation_id: int) -> None:
    """What the daily redraw writes to the outbox: every copy of the case's card and post, drawn again."""
    with ctx.db.transaction() as session:
        session.add(
            OutboxMessage(
                escalation_id=escalation_id,
                topic=topics.CASE_UPDATED,
                audience=topics.CARDS,
                payload={},
                created_at=ctx.clock.now(),
            )
        )
