"""The escalation policy as configuration: stages, time limits, when the partnership is told.

The Croydon policy ships as the default (croydon_policy.toml). Another partnership's scheme
works by changing the file alone. A case stores a snapshot of the policy it was opened under.
"""

from __future__ import annotations

import tomllib
from datetime import time
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from flows.calendar import WorkingCalendar
from flows.identifiers import domain_name
from flows.permissions import ALL_ACTIONS, DEFAULT_PERMISSIONS, ROLES


class PolicyError(Exception):
    """The policy file cannot be used; the message names the file and the problem."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Stage(_Strict):
    number: int = Field(ge=1)
    name: str = Field(min_length=1)
    held_by: str = Field(min_length=1)
    formal: bool
    working_days: int = Field(ge=1, le=60)
    # Who holds it: each side names its own holder (the side that escalates names its own, the other is
    # asked); or the side that escalates names both; or the partnership's Executive, as configured.
    holders: Literal["each_side", "escalating_side_names_both", "executive"] = "each_side"


class CalendarSettings(_Strict):
    timezone: str = "Europe/London"
    country: str = "GB"
    subdivision: str | None = "ENG"
    working_hours_start: time = time(9, 0)
    working_hours_end: time = time(17, 0)
    close_of_business: time = time(17, 0)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @model_validator(mode="after")
    def _hours_in_order(self) -> CalendarSettings:
        import holidays

        if self.working_hours_start >= self.working_hours_end:
            raise ValueError("working_hours_start must be before working_hours_end")
        try:
            holidays.country_holidays(self.country, subdiv=self.subdivision)
        except NotImplementedError as exc:
            raise ValueError(f"no bank holidays known for {self.country}/{self.subdivision}: {exc}") from None
        return self


# A list entry is a short name; each chat tool shortens it further for display where it must.
LIST_ENTRY_LIMIT = 150


class Lists(_Strict):
    agencies: list[str] = Field(min_length=1)
    themes: list[str] = Field(min_length=1)
    levels_of_need: list[str] = Field(min_length=1)
    # The equality fields of the notification form: optional answers, used only in aggregate reports.
    age_bands: list[str] = ["Under 5", "5 to 10", "11 to 15", "16 to 17", "18 or over"]
    genders: list[str] = ["Female", "Male", "Other", "Not known", "Prefer not to say"]
    ethnicities: list[str] = [
        "Asian or Asian British",
        "Black, Black British, Caribbean or African",
        "Mixed or multiple ethnic groups",
        "White",
        "Other ethnic group",
        "Not known",
        "Prefer not to say",
    ]
    send_answers: list[str] = ["Yes", "No", "Not known"]

    @field_validator("agencies", "themes", "levels_of_need", "age_bands", "genders", "ethnicities", "send_answers")
    @classmethod
    def _unique_and_short(cls, values: list[str]) -> list[str]:
        if len(set(values)) != len(values):
            raise ValueError("has the same entry twice")
        for value in values:
            if not value.strip() or len(value) > LIST_ENTRY_LIMIT:
                raise ValueError(f"entry {value!r} must be 1 to {LIST_ENTRY_LIMIT} characters")
        return values


class Guidance(_Strict):
    guidance: str = Field(min_length=1)


class BeforeDeadline(_Strict):
    """A reminder sent on the working morning `working_days_before` the deadline day (0: on the day)."""

    kind: str = Field(pattern=r"^[a-z_]{1,30}$")
    working_days_before: int = Field(ge=0, le=20)


class Reminders(_Strict):
    """Reminders as data: when each is due. The bot works out from the cases what is due now."""

    send_at: time = time(9, 30)
    before_deadline: list[BeforeDeadline] = [
        BeforeDeadline(kind="due_soon", working_days_before=2),
        BeforeDeadline(kind="due_today", working_days_before=0),
    ]
    # Each working morning while a stage is past its deadline.
    overdue_every_working_day: bool = True

    @field_validator("before_deadline")
    @classmethod
    def _kinds_unique(cls, rules: list[BeforeDeadline]) -> list[BeforeDeadline]:
        kinds = [r.kind for r in rules]
        if len(set(kinds)) != len(kinds) or "overdue" in kinds:
            raise ValueError("each reminder needs its own kind, and 'overdue' is reserved")
        return rules


WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class DigestSettings(_Strict):
    """The weekly digest posted to the partnership's channel."""

    weekday: str = "Monday"
    at: time = time(9, 0)

    @field_validator("weekday")
    @classmethod
    def _a_weekday(cls, value: str) -> str:
        if value.capitalize() not in WEEKDAYS:
            raise ValueError(f"weekday must be one of {', '.join(WEEKDAYS)}")
        return value.capitalize()

    @property
    def weekday_number(self) -> int:
        return WEEKDAYS.index(self.weekday)


class ReportSettings(_Strict):
    """The themes report posted to the partnership's channel: every `every_months` months (0: never), on `day` of
    the month at `at` (the next working time when that is not one), covering the months before. The periods
    start in `first_month` (4: April, the financial year's quarters)."""

    every_months: int = Field(default=3, ge=0, le=12)
    first_month: int = Field(default=4, ge=1, le=12)
    day: int = Field(default=1, ge=1, le=28)
    at: time = time(9, 0)

    @field_validator("every_months")
    @classmethod
    def _divides_the_year(cls, value: int) -> int:
        if value and 12 % value:
            raise ValueError("every_months must divide the year: 1, 2, 3, 4, 6 or 12 (0 for never)")
        return value


class Retention(_Strict):
    """How long a closed case keeps what was written about the child."""

    erase_after_months: int = Field(default=24, ge=1, le=120)


class Policy(_Strict):
    name: str = Field(min_length=1)
    partnership: str = Field(min_length=1)
    partnership_email: str = ""
    partnership_informed_from_stage: int = Field(ge=1)
    notification_form_from_stage: int = Field(ge=1)
    reflective_consultation_stages: list[int] = []
    stages: list[Stage] = Field(min_length=2)
    calendar: CalendarSettings = CalendarSettings()
    reminders: Reminders = Reminders()
    digest: DigestSettings = DigestSettings()
    report: ReportSettings = ReportSettings()
    retention: Retention = Retention()
    # The longest free text the partnership accepts in one field (a chat tool may allow less).
    free_text_limit: int = Field(default=10_000, ge=500, le=100_000)
    lists: Lists
    immediate_risk: Guidance
    whistleblowing: Guidance
    principles: list[str] = Field(min_length=1)
    # Who decides at the Executive's stage, in words for cards and messages.
    executive_name: str = "the CSCP Executive Group"
    # Who may do what: action -> the roles that may take it (see flows/permissions.py).
    permissions: dict[str, list[str]]

    @field_validator("permissions")
    @classmethod
    def _known_actions_and_roles(cls, table: dict[str, list[str]]) -> dict[str, list[str]]:
        for action, roles in table.items():
            if action not in ALL_ACTIONS:
                raise ValueError(f"unknown action {action!r}; the actions are {', '.join(ALL_ACTIONS)}")
            unknown = [r for r in roles if r not in ROLES]
            if unknown:
                raise ValueError(f"{action}: unknown role {unknown[0]!r}; the roles are {', '.join(ROLES)}")
        table = {**DEFAULT_PERMISSIONS, **table}
        missing = [a for a in ALL_ACTIONS if a not in table]
        if missing:
            raise ValueError(f"say who may take every action; missing: {', '.join(missing)}")
        return table

    # E-mail addresses at these domains (and their subdomains) may appear in free text; any other is refused.
    professional_email_domains: list[str] = []

    # E-mails to these domains (and their subdomains) may carry a case's details; others carry its reference only.
    secure_mail_domains: list[str] = []

    @field_validator("professional_email_domains", "secure_mail_domains")
    @classmethod
    def _domains(cls, values: list[str]) -> list[str]:
        return [domain_name(value) for value in values]

    @model_validator(mode="after")
    def _stages_consistent(self) -> Policy:
        numbers = [stage.number for stage in self.stages]
        if numbers != list(range(1, len(numbers) + 1)):
            raise ValueError(f"stages must be numbered 1, 2, 3 … in order; found {numbers}")
        last = len(numbers)
        for key in ("partnership_informed_from_stage", "notification_form_from_stage"):
            if getattr(self, key) > last:
                raise ValueError(f"{key} is {getattr(self, key)} but there are only {last} stages")
        for number in self.reflective_consultation_stages:
            if not 1 <= number <= last:
                raise ValueError(f"reflective_consultation_stages names stage {number}, which does not exist")
        if self.stages[0].holders == "executive":
            raise ValueError("stage 1 is the practitioners' own conversation; it cannot be held by the Executive")
        for stage in self.stages[:-1]:
            if stage.holders == "executive":
                raise ValueError(
                    f"stage {stage.number}: only the final stage can be held by the Executive, "
                    "whose decision closes the case"
                )
        hours = (self.calendar.working_hours_start, self.calendar.working_hours_end)
        if not hours[0] <= self.reminders.send_at < hours[1]:
            raise ValueError("reminders.send_at must be within working hours")
        return self

    # What the lifecycle asks of a policy.
    @property
    def final_stage(self) -> int:
        return len(self.stages)

    def stage(self, number: int) -> Stage:
        return self.stages[number - 1]

    def partnership_informed_at(self, number: int) -> bool:
        return number >= self.partnership_informed_from_stage

    def notification_form_at(self, number: int) -> bool:
        return number >= self.notification_form_from_stage

    def reflective_consultation_at(self, number: int) -> bool:
        return number in self.reflective_consultation_stages

    def executive_holds(self, number: int) -> bool:
        return self.stage(number).holders == "executive"

    @cached_property
    def working_calendar(self) -> WorkingCalendar:
        c = self.calendar
        return WorkingCalendar(
            timezone=c.timezone,
            country=c.country,
            subdivision=c.subdivision,
            working_hours_start=c.working_hours_start,
            working_hours_end=c.working_hours_end,
            close_of_business=c.close_of_business,
        )

    def snapshot(self) -> str:
        """The JSON a case keeps, so it runs to the end under the policy it was opened under."""
        return self.model_dump_json()

    @classmethod
    def from_snapshot(cls, text: str) -> Policy:
        return _from_snapshot(text)


@lru_cache(maxsize=64)
def _from_snapshot(text: str) -> Policy:
    # Most cases share a snapshot; one frozen Policy (and its bank-holiday calendar) serves them all.
    return Policy.model_validate_json(text)


def _describe(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "(top level)"
        message = item["msg"].removeprefix("Value error, ")
        lines.append(f"  {where}: {message}")
    return "\n".join(lines)


def parse_policy(text: str, source: str = "policy") -> Policy:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{source} is not valid TOML: {exc}") from None
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        raise PolicyError(f"{source} has problems:\n{_describe(exc)}") from None


def default_policy_text() -> str:
    return resources.files("flows").joinpath("croydon_policy.toml").read_text(encoding="utf-8")


def load_policy(path: str | Path | None = None) -> Policy:
    """The policy at `path`, or the Croydon policy shipped with the bot."""
    if path is None:
        return parse_policy(default_policy_text(), "the built-in Croydon policy")
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"cannot read the policy file {path}: {exc.strerror}") from None
    return parse_policy(text, f"the policy file {path}")
