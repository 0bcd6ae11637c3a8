"""A child's identifiers are refused in free text and the case reference; ordinary practice notes pass."""

from datetime import date

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from flows import escalations as lifecycle
from flows import validation
from flows.context import Context
from flows.errors import Refused
from flows.escalations import ActionForm
from flows.identifiers import RULE, nhs_check_digit_valid, refuse_identifiers
from flows.policy import PolicyError, default_policy_text, load_policy
from storage.models import Escalation
from tests.conftest import MASH_WORKER, TEACHER, TEACHER_MANAGER, a_form
from tests.flows.steps import outcome

DOMAINS = load_policy().professional_email_domains


def refusal(text: str, domains=DOMAINS) -> str | None:
    """The refusal's message for `text`, or None when it passes."""
    try:
        refuse_identifiers(text, "key_dates", domains)
    except Refused as refused:
        assert refused.field == "key_dates" and refused.reason == "invalid"
        return refused.message
    return None


# Real formats of each kind, by the words the refusal uses for it.
REFUSED = {
    "an NHS number": [
        "943 476 5919",
        "9434765919",
        "943-476-5919",
        "401 023 2137",
        "4010232137",
        "NHS no. 401 023 2137 (from the GP letter)",
        "NHS:9434765919.",
        "ref NHS9434765919",
    ],
    "a postcode": [
        "CR0 1NX",
        "SW1A 1AA",
        "M1 1AE",
        "B33 8TH",
        "W1A 0AX",
        "EC1A 1BB",
        "GIR 0AA",
        "CR7 8RX",
        "SE25 6HW",
        "DN55 1PT",
        "N1C 4AG",
        "NW1W 7AA",
        "E1W 1YY",
        "BT1 1AA",
        "JE2 3AB",
        # Without the space, in lower case, inside an address.
        "CR01NX",
        "sw1a1aa",
        "cr0 1nx",
        "Lives at 12 Tamworth Road, Croydon CR0 1NX with mum.",
        # Written in capitals, an ordinal-looking inward code is a postcode.
        "S47 2ND",
        "M1 1ST",
    ],
    "a date of birth": [
        "DOB 03/04/2015",
        "DOB: 3/4/15",
        "dob 2015-04-03",
        "D.O.B. 3.4.15",
        "D.O.B 03-04-2015",
        "date of birth: 2015-04-03",
        "Date of Birth 3rd April 2015",
        "birth date 3 Apr 2015",
        "born on 3 April 2015",
        "was born on the 3rd of April 2015",
        "born 03/04/2015",
        "born at 34 weeks on 3 April 2015",
        "born at 34+2 weeks on 3.4.2015",
        "born in Croydon on 3 April 2015",
        "born at home on 3 May 2024",
        "born prematurely on 3/4/15",
        "DOB is 3 April 2015",
        "born in April 2015",
        "born April 3, 2015",
        "03/04/2015 (DOB)",
        "3 April 2015, DOB",
        "her birthday is 3 April",
    ],
    "a phone number": [
        "07700 900123",
        "07700900123",
        "07700 900 123",
        "0770 090 0123",
        "+44 7700 900123",
        "+447700900123",
        "+44 (0)7700 900123",
        "0044 7700 900123",
        "020 8255 2888",
        "(020) 8255 2888",
        "020-8255-2888",
        "02082552888",
        "0208 255 2888",
        "0161 496 0000",
        "(0161) 496 0000",
        "01632 960123",
        "0300 123 4567",
        "+44 20 8255 2888",
        "Mum's mobile: 07700 900123.",
        "call 07700 900123 12 times",
    ],
    "a personal e-mail address": [
        "jo.bloggs@gmail.com",
        "Mum: mum1985@hotmail.co.uk",
        "x@croydon.gov.uk.evil.com",
        "x@evilnhs.net",
        "x@nhs.net.example",
        "x@mycroydon.sch.com",
    ],
}

# What only looks like an identifier, by why it passes.
PASSES = {
    "ten digits failing the check, or not written as one number, are another reference": [
        "943 476 5910",
        "9434765918",
        "401-023-2130",
        # 1234567890: the first nine digits give a check of 10, so no last digit makes it an NHS number.
        *[f"123456789{d}" for d in range(10)],
        "19434765919",
        "94347659190",
        "MOS-000370 2006-01-01",
        "MOS-000370 2006 review",
    ],
    "postcode shapes outside the postcode areas, and Section numbers": [
        "Y7 2nd term",
        "Year 10 (Y10) 1st half term",
        "KS2 SATs",
        "KS2 1st",
        "A1 2BB",
        "P5 3rd",
        "S47 2nd strategy meeting",
        "S20 1st review",
        "S17 1yr ago",
        "S47 2hr meeting",
        "B12 deficiency",
        "CR0",
        "COVID-19",
        "MOS-123456",
        "section 47 enquiry",
    ],
    "a date with no word for birth beside it": [
        "Referral on 20 March 2026",
        "Strategy meeting 03/04/2026",
        "ICPC 2026-04-14",
        "born in 2015",
        "the unborn baby is due on 3 May 2026",
        "newborn 3 May 2026",
        "Mum was born in Jamaica; moved to Croydon 3 May 2001",
        "Baby born at home and on 3 May 2026 the health visitor called",
        "Mum born in Ghana came here 3 May 2001",
        "The baby (born last week) was seen on 3 April 2026",
        "DOB unknown; referral 20 March 2026",
        "b. 20/03/2026 strategy meeting",
        "Dobson Road visit on 20 March 2026",
    ],
    "digits that are not a UK phone number (NHS-number-like, references, services, dates)": [
        "012 345 6780",
        "0123456780",
        "MOS-07700900123",
        "CR/02082552888",
        "077009001234",
        "0800 123 4567",
        "0909 879 0000",
        "01/02/2026 to 01-04-2026 12 sessions",
        "0930-1030",
    ],
    "work addresses at a professional domain or its subdomain": [
        "Spoke to tom.reid@croydon.gov.uk on 20 March 2026.",
        "A.Nurse@NHS.NET",
        "gp.practice@nhs.net",
        "dsl@stmarys.croydon.sch.uk",
        "head@academy.sch.uk",
        "pc.smith@met.police.uk",
        "team@education.gov.uk",
        "someone@cscp.croydon.gov.uk.",
    ],
}


@pytest.mark.parametrize("kind, text", [(kind, text) for kind, texts in REFUSED.items() for text in texts])
def test_an_identifier_is_refused_saying_which_kind(kind, text):
    message = refusal(text)
    assert message is not None, f"{text!r} was not refused"
    assert message.startswith(RULE) and f"This looks like {kind}" in message, message


@pytest.mark.parametrize("why, text", [(why, text) for why, texts in PASSES.items() for text in texts])
def test_what_only_looks_like_an_identifier_passes(why, text):
    assert refusal(text) is None, why


def test_the_modulus_11_check_digit():
    assert nhs_check_digit_valid("9434765919") and nhs_check_digit_valid("4010232137")
    # A remainder of 0 gives 11, written as a check digit of 0.
    assert nhs_check_digit_valid("1000000060")
    assert not nhs_check_digit_valid("9434765910")
    assert not any(nhs_check_digit_valid(f"123456789{d}") for d in range(10))


def test_a_personal_email_refusal_names_a_work_domain_that_is_fine():
    assert "Work addresses such as name@croydon.gov.uk are fine." in refusal("jo.bloggs@gmail.com")


def test_with_no_professional_domains_every_email_address_is_refused():
    message = refusal("tom.reid@croydon.gov.uk", domains=())
    assert message == f"{RULE} This looks like a personal e-mail address: please remove it."


# ---------------------------------------------------------------- ordinary practice notes

ORDINARY = [
    "Referral on 20 March 2026; MASH decision 25/03/2026 at 10:30. Strategy meeting 2026-04-14, 2pm.",
    "J.S. (MOS-123456) has missed 40% of sessions since 01/01/2026; attendance 62.5% this term.",
    "School paid £1,250.00 towards uniform; Early Help offered 6 sessions of 45 minutes.",
    "S47 enquiry closed 3 April 2026 with NFA; S17 assessment requested. Child aged 9, Year 5.",
    "Case refs: LCS 1234567, CRIS 5212345/26, CAD 1234/01APR26, EHA/2026/00042, 1234567890.",
    "Health visitor visited at 09:15 on Monday 2nd March and again on the 9th; ICPC 14.04.2026.",
    "Called the MASH line twice (09:30 and 16:45); 3 of 5 agencies attended; KS2 results pending.",
    "Contact with tom.reid@croydon.gov.uk and gp@nhs.net; no reply by 5pm.",
]


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_practice_notes_pass(text):
    assert refusal(text) is None


def test_the_refusal_never_repeats_what_was_typed():
    for text in ("943 476 5919", "CR0 1NX", "DOB 03/04/2015", "07700 900123", "jo.bloggs@gmail.com"):
        message = refusal(f"Seen with mum, {text}.")
        assert text not in message and text.lower() not in message.lower()


# ---------------------------------------------------------------- properties

SAFE_WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'-", min_size=1, max_size=12)
SAFE_TEXT = st.lists(SAFE_WORD, max_size=30).flatmap(
    lambda words: st.lists(
        st.sampled_from([" ", ", ", ". ", "; ", " (", ") ", "\n"]), min_size=len(words), max_size=len(words)
    ).map(lambda gaps: "".join(w + g for w, g in zip(words, gaps, strict=True)))
)
# Practice notes: words, and the numbers practitioners write (dates, times, money, percentages, references).
NOTE_TOKEN = st.one_of(
    SAFE_WORD.filter(lambda w: w.lower().strip("'-") not in {"born", "dob", "birthday"}),
    st.dates(date(2000, 1, 1), date(2030, 12, 31)).map(lambda d: d.strftime("%d/%m/%Y")),
    st.dates(date(2000, 1, 1), date(2030, 12, 31)).map(lambda d: d.strftime("%-d %B %Y")),
    st.dates(date(2000, 1, 1), date(2030, 12, 31)).map(lambda d: d.isoformat()),
    st.times().map(lambda t: t.strftime("%H:%M")),
    st.integers(0, 100).map(lambda n: f"{n}%"),
    st.integers(0, 99_999).map(lambda n: f"£{n:,}"),
    st.integers(0, 999_999).map(lambda n: f"MOS-{n:06d}"),
)
NOTES = st.lists(NOTE_TOKEN, max_size=25).map(" ".join)


def valid_nhs_numbers():
    def with_check(first_nine: str) -> str | None:
        total = sum(int(d) * w for d, w in zip(first_nine, range(10, 1, -1), strict=True))
        check = (11 - total % 11) % 11
        return None if check == 10 else first_nine + str(check)

    digits = st.text(alphabet="0123456789", min_size=9, max_size=9).map(with_check).filter(bool)
    return st.tuples(digits, st.sampled_from(["{}{}{}", "{} {} {}", "{}-{}-{}", "{} {}-{}"])).map(
        lambda pair: pair[1].format(pair[0][:3], pair[0][3:6], pair[0][6:])
    )


@settings(max_examples=300, deadline=None)
@given(SAFE_TEXT)
def test_text_in_a_safe_alphabet_never_trips_the_check(text):
    assert refusal(text) is None


@settings(max_examples=300, deadline=None)
@given(NOTES)
@example("Referral 20/03/2026 10:30 45% £1,250 MOS-123456")
@example("MOS-000370 2006-01-01")  # Hypothesis found it: six digits, a space and a year made an NHS number
def test_practice_notes_of_dates_times_money_and_references_never_trip_the_check(text):
    assert refusal(text) is None


@settings(max_examples=300, deadline=None)
@given(SAFE_TEXT, valid_nhs_numbers(), SAFE_TEXT, st.sampled_from(["", " ", ": ", " (", ", "]))
@example("Seen by", "943 476 5919", "at clinic", " ")
def test_an_nhs_number_with_a_valid_check_digit_anywhere_is_always_refused(before, number, after, gap):
    text = f"{before}{gap}{number}{gap}{after}"
    assert nhs_check_digit_valid(number.replace(" ", "").replace("-", ""))
    assert "This looks like an NHS number" in refusal(text)


# ---------------------------------------------------------------- the policy's domains


def test_the_croydon_policy_lists_the_professional_domains():
    assert DOMAINS == ["croydon.gov.uk", "croydon.sch.uk", "nhs.net", "nhs.uk", "met.police.uk", "gov.uk", "sch.uk"]


@pytest.mark.parametrize("entry", ['"gmail"', '"@nhs.net"', '"nhs net"', '"*.sch.uk"', '"https://nhs.net"', '""'])
def test_a_policy_domain_that_is_not_a_domain_name_is_refused(tmp_path, entry):
    path = tmp_path / "broken.toml"
    path.write_text(default_policy_text().replace('"nhs.net",', f"{entry},"))
    with pytest.raises(PolicyError, match="professional_email_domains.*not a domain name"):
        load_policy(path)


def test_policy_domains_are_kept_in_lower_case(tmp_path):
    path = tmp_path / "other.toml"
    path.write_text(default_policy_text().replace('"nhs.net",', '"NHS.Net ",'))
    assert "nhs.net" in load_policy(path).professional_email_domains


# ---------------------------------------------------------------- through the lifecycle


@pytest.mark.parametrize(
    "field, value, kind",
    [
        ("child_case_reference", "943 476 5919", "an NHS number"),
        ("child_case_reference", "SW1A 1AA", "a postcode"),
        ("key_dates", "Seen at home, CR0 1NX, on 20 March 2026", "a postcode"),
        ("evidence_of_need", "DOB 03/04/2015; missed school", "a date of birth"),
        ("decision_disagreed", "MASH rang mum on 07700 900123 and closed it", "a phone number"),
        ("interventions_to_date", "Emailed mum at jo.bloggs@gmail.com", "a personal e-mail address"),
        ("outcome_wanted", "Assessment at the family home, CR0 1NX", "a postcode"),
        ("raiser_role", "DSL, 020 8255 2888", "a phone number"),
    ],
)
def test_opening_a_case_refuses_an_identifier_at_its_field(ctx, field, value, kind):
    with pytest.raises(Refused) as refused:
        lifecycle.open_escalation(
            ctx, TEACHER, a_form(**{field: value}), child_at_immediate_risk=False, discussed_with_manager=True
        )
    assert refused.value.field == field and f"This looks like {kind}" in refused.value.message
    with ctx.db.transaction() as session:
        assert session.exec(select(Escalation)).all() == []


def test_every_free_text_of_a_running_case_is_checked(ctx):
    case = lifecycle.open_escalation(
        ctx,
        TEACHER,
        a_form(key_dates="Referral 20/03/2026; tom.reid@croydon.gov.uk"),
        child_at_immediate_risk=False,
        discussed_with_manager=True,
    )
    ref, v = case.reference, case.version
    calls = [
        ("note_text", lambda: lifecycle.add_note(ctx, ref, TEACHER, "Mum's number is 07700 900123")),
        (
            "reason",
            lambda: lifecycle.escalate(
                ctx, ref, TEACHER, version=v, reason="Moved to CR7 8RX", next_holders=[TEACHER_MANAGER]
            ),
        ),
        (
            "key_learning",
            lambda: lifecycle.escalate(
                ctx,
                ref,
                TEACHER,
                version=v,
                reason="r",
                key_learning="born on 3 April 2015",
                next_holders=[TEACHER_MANAGER],
            ),
        ),
        (
            "decision_outcome",
            lambda: lifecycle.resolve(
                ctx, ref, TEACHER, version=v, outcome=outcome(decision_outcome="NHS 401 023 2137 checked")
            ),
        ),
        (
            "action_1_what",
            lambda: lifecycle.resolve(
                ctx,
                ref,
                TEACHER,
                version=v,
                outcome=outcome(
                    nothing_outstanding=False, actions=[ActionForm("Ring 07700 900123", MASH_WORKER, date(2026, 4, 8))]
                ),
            ),
        ),
        ("reason", lambda: lifecycle.withdraw(ctx, ref, TEACHER, version=v, reason="jo@gmail.com asked")),
        (
            "consultation_note",
            lambda: lifecycle.request_reflective_consultation(ctx, ref, TEACHER, version=v, note="DOB 3/4/15"),
        ),
    ]
    for field, call in calls:
        with pytest.raises(Refused) as refused:
            call()
        assert refused.value.field == field, field
    # Work addresses, dates and times are what notes are made of.
    assert lifecycle.add_note(ctx, ref, TEACHER, "Spoke to gp@nhs.net on 2 April 2026 at 10:30").reference == ref


def test_the_running_policy_sets_the_professional_domains(tmp_path, database, clock):
    path = tmp_path / "other.toml"
    path.write_text(default_policy_text().replace('"nhs.net",', '"partnership.example",'))
    checks = Context(db=database, policy=load_policy(path), clock=clock).checks
    assert checks.limited_text("ask x@team.partnership.example", "note_text", "the note")
    with pytest.raises(Refused, match="personal e-mail"):
        checks.limited_text("ask x@nhs.net", "note_text", "the note")
    # The Croydon policy in another Context is not affected: nothing is shared between them.
    assert Context(db=database, policy=load_policy(), clock=clock).checks.limited_text(
        "ask x@nhs.net", "note_text", "the note"
    )
    # A check given no domains allows no address at all.
    with pytest.raises(Refused):
        validation.limited_text("ask x@nhs.net", "note_text", "the note")
