"""Checks on what people type. Each failure is a Refused naming the field, in words for the person."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date

from flows import identifiers
from flows.errors import Refused

# Free text, when no policy says otherwise (the policy's free_text_limit is what the lifecycle uses).
LONG_TEXT = 10_000

_INITIALS_ALLOWED = re.compile(r"^[A-Za-z.\s]+$")
_CASE_REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ./_-]*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def no_identifiers(text: str, field: str, domains: Iterable[str] = ()) -> str:
    """`text` unless it holds a child's identifier (flows/identifiers.py): free text and references.
    `domains`: the professionals' own e-mail domains, the only addresses allowed (none, if not given)."""
    identifiers.refuse_identifiers(text, field, domains)
    return text


def initials(value: str, field: str = "child_initials") -> str:
    text = (value or "").strip()
    if not text:
        raise Refused("Enter the child's initials, for example J.S.", field=field)
    if not _INITIALS_ALLOWED.match(text):
        raise Refused("Initials can only contain letters, for example J.S.", field=field)
    letters = [c for c in text if c.isalpha()]
    if not letters:
        raise Refused("Initials can only contain letters, for example J.S.", field=field)
    if len(letters) > 4:
        raise Refused("Use initials only, at most 4 letters, for example J.S. Never a child's full name.", field=field)
    return re.sub(r"\s+", " ", text).upper()


def case_reference(value: str, field: str = "child_case_reference", domains: Iterable[str] = ()) -> str:
    text = (value or "").strip()
    if not text:
        raise Refused("Enter your agency's case reference for the child.", field=field)
    if len(text) > 60:
        raise Refused("A case reference can be at most 60 characters.", field=field)
    if not _CASE_REFERENCE.match(text):
        raise Refused("A case reference can only contain letters, numbers, spaces and . / _ -", field=field)
    return no_identifiers(text, field, domains)


def required_text(value: str, field: str, what: str, limit: int = LONG_TEXT, domains: Iterable[str] = ()) -> str:
    text = (value or "").strip()
    if not text:
        raise Refused(f"Please fill in {what}.", field=field)
    return limited_text(text, field, what, limit, domains)


def limited_text(value: str, field: str, what: str, limit: int = LONG_TEXT, domains: Iterable[str] = ()) -> str:
    text = (value or "").strip()
    if len(text) > limit:
        raise Refused(f"{what[0].upper()}{what[1:]} can be at most {limit:,} characters.", field=field)
    return no_identifiers(text, field, domains)


def one_of(value: str, choices: list[str], field: str, what: str) -> str:
    if value not in choices:
        raise Refused(f"Choose {what} from the list.", field=field)
    return value


def some_of(values: list[str], choices: list[str], field: str, what: str) -> list[str]:
    if not values:
        raise Refused(f"Choose at least one {what}.", field=field)
    unknown = [v for v in values if v not in choices]
    if unknown:
        raise Refused(f"Choose {what} from the list.", field=field)
    return list(dict.fromkeys(values))


def email(value: str, field: str) -> str:
    text = (value or "").strip()
    if not _EMAIL.match(text) or len(text) > 255:
        raise Refused("Enter an e-mail address like name@agency.gov.uk", field=field)
    return text


def outcome_date(value: date | None, today: date, opened: date, field: str = "outcome_date") -> date:
    if value is None:
        raise Refused("Enter the date of the decision or outcome.", field=field)
    if value > today:
        raise Refused("The date cannot be in the future.", field=field)
    if value < opened:
        raise Refused("The date cannot be before the escalation was raised.", field=field)
    return value


class Checks:
    """The text checks with the e-mail domains of the policy in force, so no call forgets them."""

    def __init__(self, domains: Iterable[str], long_text: int = LONG_TEXT):
        self.domains, self.long_text = tuple(domains), long_text

    def required_text(self, value: str, field: str, what: str, limit: int | None = None) -> str:
        return required_text(value, field, what, limit or self.long_text, self.domains)

    def limited_text(self, value: str, field: str, what: str, limit: int | None = None) -> str:
        return limited_text(value, field, what, limit or self.long_text, self.domains)

    def case_reference(self, value: str, field: str = "child_case_reference") -> str:
        return case_reference(value, field, self.domains)
